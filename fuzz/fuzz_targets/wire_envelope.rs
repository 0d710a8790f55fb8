//! libFuzzer target: WS-Management envelope bytes -> parsed envelope (header, body, fault).
#![no_main]

use easgate::wsman::parse::parse_envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = parse_envelope(data)
        && let Some(fault) = envelope.body.fault
    {
        let _ = fault.to_exchange_error();
    }
});
