//! libFuzzer target: CLIXML bytes -> `PsValue`, and a parsed value back through the writer and
//! reader (which must agree), and through the CREATE_PIPELINE decoder.
#![no_main]

use easgate::clixml::read::{parse_value, parse_value_bytes};
use easgate::clixml::write::write_value;
use easgate::psrp::pipeline::{call_from_commands, parse_create_pipeline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = parse_value_bytes(data) {
        let rewritten = write_value(&value);
        let reparsed = parse_value(&rewritten).expect("our own output must parse");
        // NaN is never equal to itself; compare the text form instead.
        assert_eq!(write_value(&reparsed), rewritten);
        if let Ok(commands) = parse_create_pipeline(&value) {
            let _ = call_from_commands(&commands);
        }
    }
});
