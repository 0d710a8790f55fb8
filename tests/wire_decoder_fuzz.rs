//! Fuzzing every decoder with proptest: arbitrary bytes, and real captured envelopes and
//! fragments with bytes flipped, cut or lengths lying. Each decoder must return a value or a
//! typed error, never panic. `WIRE_FUZZ_CASES` raises the case count (default 512 per target).

use std::path::PathBuf;
use std::sync::OnceLock;

use easgate::clixml::read::parse_value_bytes;
use easgate::domain::cmdlet_call::CmdletCall;
use easgate::psrp::capability::ProtocolVersion;
use easgate::psrp::client::RunspacePoolClient;
use easgate::psrp::fragment::{Defragmenter, DefragmenterLimits};
use easgate::psrp::message::Message;
use easgate::psrp::pipeline::{call_from_commands, parse_create_pipeline};
use easgate::psrp::server::RunspacePoolServer;
use easgate::wsman::parse::parse_envelope;
use proptest::prelude::*;
use uuid::Uuid;

fn cases() -> u32 {
    std::env::var("WIRE_FUZZ_CASES").ok().and_then(|text| text.parse().ok()).unwrap_or(512)
}

/// Request and response envelopes of a few captures, as seeds for mutation.
fn seed_envelopes() -> &'static Vec<Vec<u8>> {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/pypsrp");
        let mut seeds = Vec::new();
        for name in [
            "test_client_execute_ps.yml",
            "test_psrp_small_msg_size.yml",
            "test_psrp_long_running_cmdlet.yml",
            "test_psrp_with_jea_configuration.yml",
        ] {
            let text = std::fs::read_to_string(directory.join(name)).unwrap();
            let documents = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
            for item in documents[0]["messages"].as_vec().unwrap() {
                for key in ["request", "response"] {
                    seeds.push(item[key].as_str().unwrap().as_bytes().to_vec());
                }
            }
        }
        seeds
    })
}

/// Decoded stream payloads (concatenated fragments) of the seeds.
fn seed_fragments() -> &'static Vec<Vec<u8>> {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut fragments = Vec::new();
        for envelope in seed_envelopes() {
            let parsed = parse_envelope(envelope).unwrap();
            fragments.extend(parsed.body.creation_data);
            fragments.extend(parsed.body.arguments);
            fragments.extend(parsed.body.streams.into_iter().map(|stream| stream.data));
        }
        fragments
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: prop::sample::Index, byte: u8 },
    Cut { at: prop::sample::Index },
    Insert { at: prop::sample::Index, bytes: Vec<u8> },
    Remove { at: prop::sample::Index, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        any::<prop::sample::Index>().prop_map(|at| Mutation::Cut { at }),
        (any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<prop::sample::Index>(), 1..64usize).prop_map(|(at, len)| Mutation::Remove { at, len }),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        if bytes.is_empty() {
            break;
        }
        match mutation {
            Mutation::Flip { at, byte } => {
                let index = at.index(bytes.len());
                bytes[index] = *byte;
            }
            Mutation::Cut { at } => bytes.truncate(at.index(bytes.len())),
            Mutation::Insert { at, bytes: inserted } => {
                let index = at.index(bytes.len());
                bytes.splice(index..index, inserted.iter().copied());
            }
            Mutation::Remove { at, len } => {
                let index = at.index(bytes.len());
                let end = (index + len).min(bytes.len());
                bytes.drain(index..end);
            }
        }
    }
    bytes
}

/// Runs every decoder on `data` seen as each kind of input.
fn decode_everything(data: &[u8]) {
    let _ = parse_envelope(data);
    let _ = parse_value_bytes(data);
    let _ = Message::decode(data);
    let mut defragmenter = Defragmenter::new(DefragmenterLimits { max_message_bytes: 1 << 20, max_open_messages: 4 });
    if let Ok(messages) = defragmenter.push(data) {
        for message in messages {
            if let Ok(value) = message.value()
                && let Ok(commands) = parse_create_pipeline(&value)
            {
                let _ = call_from_commands(&commands);
            }
        }
    }
    let mut pool = RunspacePoolClient::new(Uuid::nil(), DefragmenterLimits::default());
    let _ = pool.receive_pool_data(data);
    let mut pipeline = pool.start_pipeline(Uuid::nil(), &CmdletCall::new("Get-Fuzz"));
    let _ = pipeline.receive(data);
    let mut server = RunspacePoolServer::new(Uuid::nil(), ProtocolVersion::V2_3, DefragmenterLimits::default());
    let _ = server.receive_pool_data(data);
    let _ = server.start_pipeline(Uuid::nil()).receive(data);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder(data in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&data);
    }

    #[test]
    fn mutated_captured_envelopes_never_panic(seed in any::<prop::sample::Index>(), mutations in prop::collection::vec(mutation(), 1..6)) {
        let seeds = seed_envelopes();
        let data = mutate(seeds[seed.index(seeds.len())].clone(), &mutations);
        decode_everything(&data);
    }

    #[test]
    fn mutated_captured_fragments_never_panic(seed in any::<prop::sample::Index>(), mutations in prop::collection::vec(mutation(), 1..6)) {
        let seeds = seed_fragments();
        let data = mutate(seeds[seed.index(seeds.len())].clone(), &mutations);
        decode_everything(&data);
    }
}
