//! `easgate audit DEVICE_ID`: the device's partnerships as they stand, why (the inputs of the
//! last decision), and every event about it, decisions with their reasons and inputs.

use serde_json::{Value, json};

use crate::cli::describe::{describe, inputs};
use crate::cli::open::{open_with_projection, store_error};
use crate::cli::output::{Format, Table, print};
use crate::cli::views::device_json;
use crate::cli::{AuditArgs, Cli, CliError};
use crate::domain::Event;
use crate::domain::projection::flow::step_name;
use crate::store::json_lines::format_recorded_at;

pub fn run(cli: &Cli, args: &AuditArgs) -> Result<(), CliError> {
    let (store, projection) = open_with_projection(&cli.data_dir())?;
    let history = store.device_history(&args.device_id).map_err(store_error)?;
    let partnerships = projection.devices_with_id(&args.device_id);
    if history.is_empty() && partnerships.is_empty() {
        return Err(CliError::Input(format!("no event in the log is about device {:?}", args.device_id)));
    }
    match cli.format {
        Format::Json => {
            let events: Vec<Value> = history
                .iter()
                .map(|event| {
                    let line: Value = serde_json::from_str(&crate::store::to_json_line(event)).unwrap_or(Value::Null);
                    json!({"seq": event.seq, "at": format_recorded_at(event.recorded_at_us), "type": event.event.name(), "detail": describe(&event.event), "event": line})
                })
                .collect();
            let devices: Vec<Value> = partnerships.iter().map(|device| device_json(&projection, device)).collect();
            print(&format!("{}\n", json!({"device_id": args.device_id, "partnerships": devices, "events": events})));
        }
        Format::Table => {
            let mut text = String::new();
            for device in &partnerships {
                let step = step_name(device.flow_step)
                    .map(|name| format!("step {} {name}", device.flow_step))
                    .unwrap_or_else(|| "no step".into());
                let access = device.access.map(|access| access.as_str()).unwrap_or("undecided");
                let reason = device.reason.map(|reason| reason.as_str()).unwrap_or("-");
                let removed = if device.removed { " (partnership removed)" } else { "" };
                text.push_str(&format!(
                    "{} on {}{removed}: {access} ({reason}), {step}, Exchange {} ({})\n",
                    device.device_id,
                    device.mailbox,
                    device.exchange_state.as_str(),
                    device.exchange_reason.as_str()
                ));
                if let Some(decision_inputs) = &device.inputs {
                    text.push_str(&format!("  why: {}\n", inputs(decision_inputs)));
                }
            }
            text.push('\n');
            let mut table = Table::new(&["SEQ", "AT", "EVENT", "DETAIL"]);
            for event in &history {
                let marker = if matches!(event.event, Event::AccessDecided(_)) { "* " } else { "" };
                table.row(vec![
                    event.seq.to_string(),
                    format_recorded_at(event.recorded_at_us),
                    format!("{marker}{}", event.event.name()),
                    describe(&event.event),
                ]);
            }
            text.push_str(&table.render());
            print(&text);
        }
    }
    Ok(())
}
