//! libFuzzer target: stream bytes (fragments) -> reassembled messages -> the client and server
//! state machines.
#![no_main]

use easgate::domain::cmdlet_call::CmdletCall;
use easgate::psrp::capability::ProtocolVersion;
use easgate::psrp::client::RunspacePoolClient;
use easgate::psrp::fragment::DefragmenterLimits;
use easgate::psrp::server::RunspacePoolServer;
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    let limits = DefragmenterLimits { max_message_bytes: 1 << 20, max_open_messages: 4 };
    // Split the input in two to exercise reassembly across stream elements.
    let (first, second) = data.split_at(data.len() / 2);
    let mut pool = RunspacePoolClient::new(Uuid::nil(), limits);
    let _ = pool.receive_pool_data(first).and_then(|_| pool.receive_pool_data(second));
    let mut pipeline = pool.start_pipeline(Uuid::nil(), &CmdletCall::new("Get-Fuzz"));
    let _ = pipeline.receive(first).and_then(|_| pipeline.receive(second));
    let mut server = RunspacePoolServer::new(Uuid::nil(), ProtocolVersion::V2_1, limits);
    let _ = server.receive_pool_data(data);
    let mut server_pipeline = server.start_pipeline(Uuid::nil());
    let _ = server_pipeline.receive(first).and_then(|_| server_pipeline.receive(second));
});
