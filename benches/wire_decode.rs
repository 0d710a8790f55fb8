//! Decoding a Get-ActiveSyncDevice-shaped reply of 100,000 objects: CLIXML to `PsValue`s
//! (objects/s, MB/s) against a raw quick-xml event scan of the same bytes in the same run, and
//! whole ReceiveResponse envelopes (base64, fragments, messages, CLIXML) through the client.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use easgate::clixml::read::parse_value;
use easgate::clixml::value::{PsObject, PsValue};
use easgate::clixml::write::write_value;
use easgate::domain::cmdlet_call::CmdletCall;
use easgate::psrp::client::RunspacePoolClient;
use easgate::psrp::fragment::{DefragmenterLimits, OutgoingQueue};
use easgate::psrp::message::{Destination, Message, MessageType};
use easgate::wsman::parse::parse_envelope;
use easgate::wsman::response::receive_response;
use quick_xml::Reader;
use quick_xml::events::Event;
use uuid::Uuid;

const OBJECT_COUNT: usize = 100_000;

fn enum_value(type_name: &str, text: &str, number: i32) -> PsValue {
    PsValue::Object(Box::new(PsObject {
        type_names: vec![
            format!("Deserialized.{type_name}"),
            "Deserialized.System.Enum".to_string(),
            "Deserialized.System.ValueType".to_string(),
            "Deserialized.System.Object".to_string(),
        ]
        .into(),
        to_string: Some(text.to_string()),
        value: Some(PsValue::I32(number)),
        ..PsObject::default()
    }))
}

/// One MobileDevice as Exchange serialises it (property list from exchange.md 1.3).
fn device(index: usize) -> PsValue {
    let text = |value: String| PsValue::String(value);
    let ns = "Microsoft.Exchange.Data.Directory.SystemConfiguration";
    PsValue::Object(Box::new(PsObject {
        type_names: vec![
            format!("Deserialized.{ns}.MobileDevice"),
            "Deserialized.Microsoft.Exchange.Data.Directory.ADConfigurationObject".to_string(),
            "Deserialized.Microsoft.Exchange.Data.Directory.ADObject".to_string(),
            "Deserialized.Microsoft.Exchange.Data.Directory.ConfigurableObject".to_string(),
            "Deserialized.System.Object".to_string(),
        ]
        .into(),
        to_string: Some(format!("ExchangeActiveSyncDevices\\Android§ANDROIDC{index:010}")),
        properties: vec![
            ("FriendlyName".to_string(), text(format!("Pixel {}", index % 9))),
            ("DeviceId".to_string(), text(format!("ANDROIDC{index:010}"))),
            ("DeviceImei".to_string(), PsValue::Null),
            ("DeviceMobileOperator".to_string(), text("Contoso Mobile".to_string())),
            ("DeviceOS".to_string(), text("Android 14.0.0".to_string())),
            ("DeviceOSLanguage".to_string(), text("en-US".to_string())),
            ("DeviceType".to_string(), text("Android".to_string())),
            ("DeviceUserAgent".to_string(), text("Android-Mail/2024.01.07.599219401.Release".to_string())),
            ("DeviceModel".to_string(), text("Pixel 8".to_string())),
            ("FirstSyncTime".to_string(), PsValue::DateTime("2024-03-17T10:57:23.1578277+00:00".to_string())),
            ("UserDisplayName".to_string(), text(format!("contoso.com/Users/User {index}"))),
            ("DeviceAccessState".to_string(), enum_value(&format!("{ns}.DeviceAccessState"), "Allowed", 1)),
            (
                "DeviceAccessStateReason".to_string(),
                enum_value(&format!("{ns}.DeviceAccessStateReason"), "Individual", 2),
            ),
            ("DeviceAccessControlRule".to_string(), PsValue::Null),
            ("ClientType".to_string(), enum_value(&format!("{ns}.MobileClientType"), "EAS", 0)),
            ("IsManaged".to_string(), PsValue::Bool(false)),
            (
                "Identity".to_string(),
                text(format!("contoso.com/Users/User {index}/ExchangeActiveSyncDevices/Android§ANDROIDC{index:010}")),
            ),
            ("Guid".to_string(), PsValue::Guid(Uuid::from_u128(index as u128 * 7_919))),
        ],
        ..PsObject::default()
    }))
}

fn raw_scan(xml: &str) -> usize {
    let mut reader = Reader::from_str(xml);
    let mut events = 0;
    while let Ok(event) = reader.read_event() {
        if matches!(event, Event::Eof) {
            break;
        }
        events += 1;
    }
    events
}

/// The reply as the server sends it: ReceiveResponse envelopes of at most 512000 bytes.
fn envelopes(messages: &[String]) -> Vec<String> {
    let (pool_id, command_id) = (Uuid::new_v4(), Uuid::new_v4());
    let mut queue = OutgoingQueue::new();
    for (index, data) in messages.iter().enumerate() {
        let message = Message {
            destination: Destination::Client,
            message_type: MessageType::PipelineOutput,
            runspace_pool_id: pool_id,
            pipeline_id: command_id,
            data: data.as_bytes().to_vec(),
        };
        queue.push(index as u64 + 1, message.encode());
    }
    let mut envelopes = Vec::new();
    while !queue.is_empty() {
        let mut streams = Vec::new();
        let mut used = 0;
        while used < 360_000 {
            let mut fragment = Vec::new();
            if queue.next_fragment(32_000, &mut fragment) == 0 {
                break;
            }
            used += fragment.len();
            streams.push(fragment);
        }
        envelopes.push(receive_response(None, Some(command_id), &streams, false));
    }
    envelopes
}

/// Times ours and the raw scan alternately, so that load from other processes hits both alike,
/// and prints the median of each and of their ratio.
fn paired_ratio(messages: &[String], total_bytes: usize) {
    const ROUNDS: usize = 9;
    let mut ours_s = Vec::new();
    let mut raw_s = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..ROUNDS {
        let started = std::time::Instant::now();
        let events: usize = messages.iter().map(|xml| raw_scan(xml)).sum();
        let raw = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let parsed: usize = messages.iter().map(|xml| parse_value(xml).map(|_| 1).unwrap_or(0)).sum();
        let ours = started.elapsed().as_secs_f64();
        assert_eq!(parsed, messages.len());
        assert!(events > 0);
        ours_s.push(ours);
        raw_s.push(raw);
        ratios.push(raw / ours);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (ours, raw, ratio) = (median(&mut ours_s), median(&mut raw_s), median(&mut ratios));
    let megabytes = total_bytes as f64 / 1e6;
    eprintln!(
        "paired medians over {ROUNDS} rounds: parse_value {:.0} objects/s {:.0} MB/s; raw quick-xml scan {:.0} objects/s {:.0} MB/s; parse_value runs at {:.0}% of the raw scan's speed",
        messages.len() as f64 / ours,
        megabytes / ours,
        messages.len() as f64 / raw,
        megabytes / raw,
        ratio * 100.0
    );
}

fn benchmarks(criterion: &mut Criterion) {
    let messages: Vec<String> = (0..OBJECT_COUNT).map(|index| write_value(&device(index))).collect();
    let total_bytes: usize = messages.iter().map(String::len).sum();
    eprintln!("{OBJECT_COUNT} objects, {total_bytes} bytes of CLIXML ({} bytes each)", total_bytes / OBJECT_COUNT);
    paired_ratio(&messages, total_bytes);

    for (group_name, throughput) in [
        ("clixml_objects", Throughput::Elements(OBJECT_COUNT as u64)),
        ("clixml_bytes", Throughput::Bytes(total_bytes as u64)),
    ] {
        let mut group = criterion.benchmark_group(group_name);
        group.sample_size(10).throughput(throughput);
        group.bench_function(BenchmarkId::new("parse_value", OBJECT_COUNT), |bencher| {
            bencher.iter(|| messages.iter().map(|xml| parse_value(xml).map(|_| 1).unwrap_or(0)).sum::<usize>())
        });
        group.bench_function(BenchmarkId::new("raw_quick_xml_scan", OBJECT_COUNT), |bencher| {
            bencher.iter(|| messages.iter().map(|xml| raw_scan(xml)).sum::<usize>())
        });
        group.finish();
    }

    let envelopes = envelopes(&messages);
    let envelope_bytes: usize = envelopes.iter().map(String::len).sum();
    eprintln!("{} ReceiveResponse envelopes, {envelope_bytes} bytes", envelopes.len());
    let mut group = criterion.benchmark_group("receive_envelopes");
    group.sample_size(10).throughput(Throughput::Elements(OBJECT_COUNT as u64));
    group.bench_function(BenchmarkId::new("envelope_to_objects", OBJECT_COUNT), |bencher| {
        bencher.iter(|| {
            let mut pool = RunspacePoolClient::new(Uuid::new_v4(), DefragmenterLimits::default());
            let mut pipeline = pool.start_pipeline(Uuid::new_v4(), &CmdletCall::new("Get-ActiveSyncDevice"));
            for envelope in &envelopes {
                for stream in parse_envelope(envelope.as_bytes()).unwrap().body.streams {
                    pipeline.receive(&stream.data).unwrap();
                }
            }
            pipeline.finish().0.objects.len()
        })
    });
    group.bench_function(BenchmarkId::new("raw_quick_xml_scan_of_envelopes", OBJECT_COUNT), |bencher| {
        bencher.iter(|| envelopes.iter().map(|xml| raw_scan(xml)).sum::<usize>())
    });
    group.finish();
}

criterion_group!(wire_decode, benchmarks);
criterion_main!(wire_decode);
