//! Real WS-Management/PSRP captures (pypsrp's fixtures, recorded against Windows): every
//! envelope parses, every fragment reassembles, every message decodes; the client state machine
//! replays them to the same outputs, states and errors; and the envelopes and messages easgate
//! builds have the captures' shape.
//!
//! GUID caveat (fixtures README): the captures predate pypsrp's GUID byte-order fix, so the
//! RPID/PID inside their messages are the big-endian bytes of the ShellId/CommandId. Tests that
//! compare GUIDs normalise with `Uuid::from_bytes(id.to_bytes_le())`; byte comparisons of
//! messages start at byte 40.

use std::collections::HashMap;
use std::path::PathBuf;

use easgate::clixml::read::parse_value;
use easgate::clixml::value::PsValue;
use easgate::domain::cmdlet_call::CmdletCall;
use easgate::exchange::ExchangeError;
use easgate::psrp::capability::{ProtocolVersion, RunspacePoolState, parse_runspace_pool_state};
use easgate::psrp::client::{PipelineOutcome, RunspacePoolClient};
use easgate::psrp::fragment::{Defragmenter, DefragmenterLimits, parse_fragments};
use easgate::psrp::message::{Message, MessageType};
use easgate::psrp::pipeline::{PipelineCommand, create_pipeline_value};
use easgate::psrp::records::{PipelineState, error_record_from_value, parse_pipeline_state};
use easgate::wsman::names;
use easgate::wsman::parse::{Envelope, parse_envelope};
use easgate::wsman::request::RequestContext;
use uuid::Uuid;

struct Exchange {
    request: String,
    response: String,
}

fn fixtures_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/pypsrp")
}

fn load(name: &str) -> Vec<Exchange> {
    let path = fixtures_directory().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let documents = yaml_rust2::YamlLoader::load_from_str(&text).unwrap_or_else(|error| panic!("{name}: {error}"));
    documents[0]["messages"]
        .as_vec()
        .unwrap_or_else(|| panic!("{name}: no messages list"))
        .iter()
        .map(|item| Exchange {
            request: item["request"].as_str().unwrap_or_default().to_string(),
            response: item["response"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

fn all_fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_directory())
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".yml"))
        .collect();
    names.sort();
    names
}

fn envelope(xml: &str) -> Envelope {
    parse_envelope(xml.as_bytes()).unwrap_or_else(|error| panic!("{error}\n{xml}"))
}

fn short_action(envelope: &Envelope) -> &str {
    envelope.header.action.rsplit('/').next().unwrap_or_default()
}

/// Every message of every capture, decoded: (direction, message).
fn decode_all_messages(name: &str) -> Vec<(&'static str, Message)> {
    let mut defragmenters: HashMap<(&'static str, Option<String>), Defragmenter> = HashMap::new();
    let mut messages = Vec::new();
    for exchange in load(name) {
        for (direction, xml) in [("to server", &exchange.request), ("to client", &exchange.response)] {
            let parsed = envelope(xml);
            let mut payloads: Vec<(Option<String>, Vec<u8>)> = Vec::new();
            payloads.extend(parsed.body.creation_data.clone().map(|data| (None, data)));
            payloads.extend(parsed.body.arguments.clone().map(|data| (parsed.body.command_id.clone(), data)));
            payloads.extend(parsed.body.streams.iter().map(|stream| (stream.command_id.clone(), stream.data.clone())));
            for (command_id, data) in payloads {
                let defragmenter = defragmenters
                    .entry((direction, command_id))
                    .or_insert_with(|| Defragmenter::new(DefragmenterLimits::default()));
                for message in defragmenter.push(&data).unwrap_or_else(|error| panic!("{name}: {error}")) {
                    message.value().unwrap_or_else(|error| panic!("{name} {:?}: {error}", message.message_type));
                    messages.push((direction, message));
                }
            }
        }
    }
    messages
}

#[test]
fn every_capture_parses_and_every_message_decodes() {
    let names = all_fixture_names();
    assert!(names.len() >= 17, "expected the pypsrp captures, found {names:?}");
    let mut message_count = 0;
    for name in &names {
        for exchange in load(name) {
            let request = envelope(&exchange.request);
            let response = envelope(&exchange.response);
            assert!(!request.header.action.is_empty(), "{name}: request without an action");
            let expected_response_action = format!("{}Response", request.header.action);
            assert!(
                response.header.action == expected_response_action || response.body.fault.is_some(),
                "{name}: {} answered by {}",
                request.header.action,
                response.header.action
            );
        }
        message_count += decode_all_messages(name).len();
    }
    assert!(message_count > 200, "decoded only {message_count} messages");
}

#[test]
fn message_guids_are_the_fixtures_big_endian_shell_id() {
    let exchanges = load("test_psrp_open_runspace.yml");
    let create = envelope(&exchanges[0].request);
    let shell_id = Uuid::parse_str(create.body.shell_id.as_deref().unwrap()).unwrap();
    let to_server = decode_all_messages("test_psrp_open_runspace.yml")
        .into_iter()
        .filter(|(direction, _)| *direction == "to server");
    for (_, message) in to_server {
        assert_eq!(Uuid::from_bytes(message.runspace_pool_id.to_bytes_le()), shell_id);
    }
}

/// Replays a capture through the client state machine: pool Receives until Opened, then the
/// first pipeline's Receives. Returns the pipeline's output and outcome.
fn replay_first_pipeline(name: &str) -> (RunspacePoolClient, easgate::exchange::CmdletOutput, Option<PipelineOutcome>) {
    let exchanges = load(name);
    let mut pool = RunspacePoolClient::new(Uuid::new_v4(), DefragmenterLimits::default());
    pool.open_data();
    let mut pipeline = None;
    for exchange in &exchanges {
        let request = envelope(&exchange.request);
        let response = envelope(&exchange.response);
        if short_action(&request) == "Command" && pipeline.is_none() {
            pipeline = Some(pool.start_pipeline(Uuid::new_v4(), &CmdletCall::new("Get-Anything")));
        }
        if short_action(&request) != "Receive" || response.body.fault.is_some() {
            continue;
        }
        for stream in &response.body.streams {
            match (&mut pipeline, &stream.command_id) {
                (Some(pipeline), Some(_)) if pipeline.outcome().is_none() => pipeline.receive(&stream.data).unwrap(),
                (_, None) => {
                    pool.receive_pool_data(&stream.data).unwrap();
                }
                _ => {}
            }
        }
    }
    let (output, outcome) = pipeline.expect("the capture runs a pipeline").finish();
    (pool, output, outcome)
}

#[test]
fn a_pipeline_replays_to_its_outputs_and_completed_state() {
    let (pool, output, outcome) = replay_first_pipeline("test_client_execute_ps.yml");
    assert_eq!(pool.state(), RunspacePoolState::Opened);
    assert_eq!(pool.protocol_version(), ProtocolVersion::V2_3);
    assert_eq!(outcome, Some(PipelineOutcome::Completed));
    let texts: Vec<String> = output.objects.iter().filter_map(PsValue::as_text).collect();
    assert_eq!(&texts[..2], &["winrm", "Running"]);
    assert!(texts.iter().any(|text| text.starts_with("Running  winrm")));
}

#[test]
fn a_failed_pipeline_carries_its_terminating_error_record() {
    for name in ["test_psrp_error_failed.yml", "test_client_execute_ps_failure.yml"] {
        let (_, _, outcome) = replay_first_pipeline(name);
        let Some(PipelineOutcome::Failed(error)) = outcome else { panic!("{name}: {outcome:?}") };
        assert!(!error.message.is_empty(), "{name}: {error:?}");
        assert!(!error.fully_qualified_error_id.is_empty(), "{name}: {error:?}");
    }
    let (_, output, outcome) = replay_first_pipeline("test_psrp_error_failed.yml");
    assert_eq!(output.objects, vec![PsValue::string("before")]);
    assert!(matches!(outcome, Some(PipelineOutcome::Failed(_))));
}

#[test]
fn a_no_language_endpoint_refuses_scripts_with_error_record_and_failed_state() {
    let messages = decode_all_messages("test_psrp_with_jea_configuration.yml");
    let error_record = messages.iter().find(|(_, message)| message.message_type == MessageType::ErrorRecord).unwrap();
    let error = error_record_from_value(&error_record.1.value().unwrap());
    assert_eq!(error.message, "Cannot find a provider with the name 'FileSystem'.");
    assert_eq!(error.fully_qualified_error_id, "ProviderNotFound,Microsoft.PowerShell.Commands.GetItemCommand");
    assert_eq!(error.category, "ProviderNotFoundException");
    assert_eq!(error.target.as_deref(), Some("FileSystem"));
    let last_state =
        messages.iter().rev().find(|(_, message)| message.message_type == MessageType::PipelineState).unwrap();
    let (state, error) = parse_pipeline_state(&last_state.1.value().unwrap()).unwrap();
    assert_eq!(state, PipelineState::Failed);
    let error = error.unwrap();
    assert!(error.message.contains("no-language mode"));
    assert_eq!(error.fully_qualified_error_id, "ScriptsNotAllowed");
}

#[test]
fn the_operation_timeout_fault_means_receive_again() {
    let exchanges = load("test_psrp_long_running_cmdlet.yml");
    let faults: Vec<_> = exchanges.iter().filter_map(|exchange| envelope(&exchange.response).body.fault).collect();
    assert_eq!(faults.len(), 2);
    for fault in &faults {
        assert_eq!(fault.code, Some(names::fault_code::OPERATION_TIMED_OUT));
        assert!(fault.is_receive_timeout());
        assert_eq!(fault.subcode.as_deref(), Some("w:TimedOut"));
    }
    let (_, output, outcome) = replay_first_pipeline("test_psrp_long_running_cmdlet.yml");
    assert_eq!(output.objects, vec![PsValue::string("hi")]);
    assert_eq!(outcome, Some(PipelineOutcome::Completed));
}

#[test]
fn the_invalid_selectors_fault_means_the_shell_is_gone() {
    for name in ["test_psrp_is_alive_invalid_selectors.yml", "test_psrp_receive_failure.yml"] {
        let fault = load(name).iter().find_map(|exchange| envelope(&exchange.response).body.fault).unwrap();
        assert_eq!(fault.code, Some(names::fault_code::SHELL_NOT_FOUND));
        assert!(!fault.is_receive_timeout());
        assert!(matches!(fault.to_exchange_error(), ExchangeError::ShellGone { .. }), "{name}");
    }
}

#[test]
fn a_message_larger_than_an_envelope_reassembles_from_command_and_send() {
    let exchanges = load("test_psrp_small_msg_size.yml");
    let command = exchanges
        .iter()
        .map(|exchange| envelope(&exchange.request))
        .find(|request| short_action(request) == "Command")
        .unwrap();
    let first = parse_fragments(command.body.arguments.as_deref().unwrap()).unwrap();
    assert_eq!((first.len(), first[0].start, first[0].end), (1, true, false));
    let messages = decode_all_messages("test_psrp_small_msg_size.yml");
    let create_pipeline =
        messages.iter().find(|(_, message)| message.message_type == MessageType::CreatePipeline).unwrap();
    assert!(create_pipeline.1.data.len() > 30_000, "the CREATE_PIPELINE spans Command and Send");
    let outputs: Vec<PsValue> = messages
        .iter()
        .filter(|(_, message)| message.message_type == MessageType::PipelineOutput)
        .map(|(_, message)| message.value().unwrap())
        .collect();
    assert_eq!(outputs[0], PsValue::string("input"));
    assert!(
        outputs[1..]
            .iter()
            .all(|output| output.as_text().is_some_and(|text| text.len() >= 10_000 && text.chars().all(|c| c == 'a')))
    );
}

#[test]
fn protocol_version_2_1_is_negotiated_like_exchange_2010() {
    let (pool, _, _) = replay_first_pipeline("test_psrp_run_protocol_version_2.1.yml");
    assert_eq!(pool.protocol_version(), ProtocolVersion::V2_1);
    let (pool, _, _) = replay_first_pipeline("test_psrp_run_protocol_version_2.2.yml");
    assert_eq!(pool.protocol_version(), ProtocolVersion::V2_2);
}

#[test]
fn escaped_strings_and_surrogate_pairs_decode() {
    let messages = decode_all_messages("test_psrp_multiple_commands.yml");
    let texts: Vec<String> = messages
        .iter()
        .filter(|(_, message)| message.message_type == MessageType::PipelineOutput)
        .filter_map(|(_, message)| message.value().unwrap().as_text())
        .collect();
    assert!(texts.contains(&"こんにちは - actual_x000A_string\nnewline: \u{10437}".to_string()), "{texts:?}");
    assert!(texts.contains(&"hi\"".to_string()));
}

#[test]
fn runspace_pool_states_decode() {
    let messages = decode_all_messages("test_psrp_open_runspace.yml");
    let states: Vec<RunspacePoolState> = messages
        .iter()
        .filter(|(_, message)| message.message_type == MessageType::RunspacePoolState)
        .map(|(_, message)| parse_runspace_pool_state(&message.value().unwrap()).unwrap().0)
        .collect();
    assert_eq!(states, vec![RunspacePoolState::Opened]);
}

/// The sequence of element local names with their attribute names: an envelope's shape.
fn skeleton(xml: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut shape = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(start) | quick_xml::events::Event::Empty(start) => {
                let mut attributes: Vec<String> = start
                    .attributes()
                    .filter_map(Result::ok)
                    .map(|attribute| attribute.key.local_name().as_ref().to_string())
                    .filter(|key| !key.starts_with("xmlns") && key != "rsp" && key != "s")
                    .collect();
                attributes.sort();
                shape.push(format!("{}{attributes:?}", start.local_name().as_ref()));
            }
            quick_xml::events::Event::Eof => return shape,
            _ => {}
        }
    }
}

#[test]
fn envelopes_we_build_have_the_captures_shape() {
    let exchanges = load("test_psrp_multiple_invocations.yml");
    let context = RequestContext {
        to: "https://127.0.0.1:55986/wsman".to_string(),
        resource_uri: "http://schemas.microsoft.com/powershell/Microsoft.PowerShell".to_string(),
        max_envelope_size_bytes: 153600,
        operation_timeout_s: 20,
        session_id: Uuid::new_v4(),
        locale: "en-US".to_string(),
    };
    let shell = Uuid::new_v4();
    let command = Uuid::new_v4();
    let ours = [
        ("Create", context.create(shell, "2.3", b"x")),
        ("Receive", context.receive(shell, None)),
        ("Command", context.command(shell, command, b"x")),
        ("Signal", context.signal(shell, command, names::SIGNAL_TERMINATE)),
        ("Delete", context.delete(shell)),
    ];
    let mut pool_receive_seen = false;
    for (action, built) in ours {
        let capture = exchanges
            .iter()
            .map(|exchange| &exchange.request)
            .find(|request| {
                let parsed = envelope(request);
                short_action(&parsed) == action && (action != "Receive" || parsed.body.command_id.is_none())
            })
            .unwrap_or_else(|| panic!("no {action} in the capture"));
        pool_receive_seen |= action == "Receive";
        assert_eq!(skeleton(&built), skeleton(capture), "{action}");
        let (ours, theirs) = (envelope(&built), envelope(capture));
        assert_eq!(
            ours.header.options.iter().map(|option| &option.0).collect::<Vec<_>>(),
            theirs.header.options.iter().map(|option| &option.0).collect::<Vec<_>>()
        );
        assert_eq!(ours.body.first_element, theirs.body.first_element, "{action}");
    }
    assert!(pool_receive_seen);
    let send_capture = load("test_psrp_small_msg_size.yml")
        .into_iter()
        .map(|exchange| exchange.request)
        .find(|request| short_action(&envelope(request)) == "Send")
        .unwrap();
    assert_eq!(skeleton(&context.send(shell, command, b"x")), skeleton(&send_capture));
}

#[test]
fn our_messages_match_the_captured_bytes() {
    let captured = decode_all_messages("test_client_execute_ps.yml");
    let data_of = |message_type: MessageType| {
        captured
            .iter()
            .find(|(direction, message)| *direction == "to server" && message.message_type == message_type)
            .unwrap()
            .1
            .data
            .clone()
    };
    let mut pool = RunspacePoolClient::new(Uuid::new_v4(), DefragmenterLimits::default());
    let mut ours = Defragmenter::default().push(&pool.open_data()).unwrap().into_iter();
    assert_eq!(ours.next().unwrap().data, data_of(MessageType::SessionCapability));
    assert_eq!(ours.next().unwrap().data, data_of(MessageType::InitRunspacePool));

    let commands = [
        PipelineCommand {
            name: "Invoke-Expression".to_string(),
            is_script: false,
            arguments: vec![(
                Some("Command".to_string()),
                PsValue::string("$serv = Get-Service -Name winrm; $serv.Name; $serv.Status; $serv"),
            )],
        },
        PipelineCommand {
            name: "Out-String".to_string(),
            is_script: false,
            arguments: vec![(Some("Stream".to_string()), PsValue::Null)],
        },
    ];
    let built = easgate::clixml::write::write_value(&create_pipeline_value(&commands, ProtocolVersion::V2_3, true));
    assert_eq!(built, String::from_utf8(data_of(MessageType::CreatePipeline)).unwrap());
    assert!(parse_value(&built).is_ok());
}
