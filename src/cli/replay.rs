//! `easgate replay [--until SEQ|RFC3339] [--device ID] [--trace]`: rebuilds the projection from
//! the log up to a point (from seq 1, never from a snapshot) and prints it; `--trace` prints
//! every transition of a device's access, reason, step or Exchange state on the way.

use serde_json::json;

use crate::cli::describe::describe;
use crate::cli::open::{progress_bar, store_error};
use crate::cli::output::{Format, print, print_json_line};
use crate::cli::views::{device_json, devices_table};
use crate::cli::{Cli, CliError, ReplayArgs};
use crate::domain::RecordedEvent;
use crate::domain::projection::{DeviceKey, DeviceView, Projection, evolve, key_of, touched_keys};
use crate::store::Store;
use crate::store::json_lines::format_recorded_at;

/// Where a replay stops.
enum Until {
    Seq(u64),
    Time(i64),
}

fn parse_until(text: &str) -> Result<Until, CliError> {
    if let Ok(seq) = text.parse::<u64>() {
        return Ok(Until::Seq(seq));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| Until::Time(at.timestamp_micros()))
        .map_err(|_| CliError::Input(format!("--until: `{text}` is neither a seq nor an RFC 3339 time")))
}

type Shape = (Option<&'static str>, Option<&'static str>, u8, String);

fn shape(device: Option<&DeviceView>) -> Option<Shape> {
    device.map(|device| {
        (
            device.access.map(|access| access.as_str()),
            device.reason.map(|reason| reason.as_str()),
            device.flow_step,
            device.exchange_state.as_str().to_string(),
        )
    })
}

pub fn run(cli: &Cli, args: &ReplayArgs) -> Result<(), CliError> {
    let until = args.until.as_deref().map(parse_until).transpose()?;
    let store = crate::data::open_for_reading(&cli.data_dir()).map_err(store_error)?;
    let wanted = args.device.as_deref().map(key_of);
    let projection = fold(cli, &store, until, wanted.as_deref(), args.trace)?;
    let devices: Vec<&DeviceView> = projection
        .current_devices()
        .into_iter()
        .filter(|device| wanted.as_ref().is_none_or(|wanted| key_of(&device.device_id) == *wanted))
        .collect();
    if wanted.is_some() && devices.is_empty() {
        return Err(CliError::Input(format!(
            "device {:?} has no partnership at that point of the log",
            args.device.as_deref().unwrap_or("")
        )));
    }
    match cli.format {
        Format::Json => devices.iter().for_each(|device| print_json_line(&device_json(&projection, device))),
        Format::Table => {
            print(&format!(
                "replayed to seq {} ({})\n",
                projection.last_seq,
                format_recorded_at(projection.last_recorded_at_us)
            ));
            print(&devices_table(&projection, &devices));
        }
    }
    Ok(())
}

fn fold(
    cli: &Cli,
    store: &Store,
    until: Option<Until>,
    wanted: Option<&str>,
    trace: bool,
) -> Result<Projection, CliError> {
    let last_seq = match until {
        Some(Until::Seq(seq)) => seq.min(store.last_seq()),
        _ => store.last_seq(),
    };
    let bar = progress_bar(last_seq, "replaying");
    let mut projection = Projection::default();
    for event in store.events_range(1, last_seq).map_err(store_error)? {
        let event = event.map_err(store_error)?;
        if let Some(Until::Time(at_us)) = until
            && event.recorded_at_us > at_us
        {
            break;
        }
        if trace {
            step_traced(cli.format, &mut projection, &event, wanted);
        } else {
            evolve(&mut projection, &event);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(projection)
}

/// Folds one event and prints each device whose shape it changed.
fn step_traced(format: Format, projection: &mut Projection, event: &RecordedEvent, wanted: Option<&str>) {
    let keys_before: Vec<DeviceKey> = touched_keys(projection, &event.event);
    let before: Vec<(DeviceKey, Option<Shape>)> = keys_before
        .into_iter()
        .map(|key| {
            let shape = shape(projection.devices.get(&key).map(Box::as_ref));
            (key, shape)
        })
        .collect();
    evolve(projection, event);
    let mut keys = touched_keys(projection, &event.event);
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        if wanted.is_some_and(|wanted| wanted != key.device_id) {
            continue;
        }
        let previous = before.iter().find(|(known, _)| *known == key).and_then(|(_, shape)| shape.clone());
        let Some(device) = projection.devices.get(&key) else { continue };
        let now = shape(Some(device));
        if previous == now {
            continue;
        }
        let at = format_recorded_at(event.recorded_at_us);
        match format {
            Format::Json => print_json_line(
                &json!({"seq": event.seq, "at": at, "type": event.event.name(), "device": device_json(projection, device)}),
            ),
            Format::Table => print(&format!(
                "seq {} {at} {} {} on {}: {} ({}) step {} Exchange {} <- {}\n",
                event.seq,
                event.event.name(),
                device.device_id,
                device.mailbox,
                device.access.map(|access| access.as_str()).unwrap_or("-"),
                device.reason.map(|reason| reason.as_str()).unwrap_or("-"),
                device.flow_step,
                device.exchange_state.as_str(),
                describe(&event.event)
            )),
        }
    }
}
