//! How the projection is shown: the device object of DESIGN section 6 (JSON) and its table.

use serde_json::{Value, json};

use crate::cli::output::Table;
use crate::domain::projection::flow::step_name;
use crate::domain::projection::{DeviceView, Projection};

/// The device object: `{"mailbox","device_id","device_type","device_model","device_os","access",
/// "reason","flow_step","flow_step_name","exchange_state","managed_device_id","compliance",
/// "targeted","last_event_seq"}` plus a few more fields.
pub fn device_json(projection: &Projection, device: &DeviceView) -> Value {
    let managed = projection.managed_for(device);
    json!({
        "mailbox": device.mailbox,
        "device_id": device.device_id,
        "device_type": device.device_type,
        "device_model": device.device_model,
        "device_os": device.device_os,
        "access": device.access.map(|access| access.as_str()),
        "reason": device.reason.map(|reason| reason.as_str()),
        "flow_step": device.flow_step,
        "flow_step_name": step_name(device.flow_step),
        "exchange_state": device.exchange_state.as_str(),
        "exchange_reason": device.exchange_reason.as_str(),
        "managed_device_id": device.managed_device_id.as_deref().or_else(|| managed.map(|managed| managed.managed_device_id.as_str())),
        "compliance": projection.compliance_of(device).as_str(),
        "targeted": device.inputs.as_ref().map(|inputs| inputs.targeted).unwrap_or(false),
        "episode": device.episode,
        "removed": device.removed,
        "last_event_seq": device.last_event_seq,
    })
}

/// The devices as a table for people.
pub fn devices_table(projection: &Projection, devices: &[&DeviceView]) -> String {
    let mut table = Table::new(&["MAILBOX", "DEVICE_ID", "TYPE", "ACCESS", "REASON", "STEP", "EXCHANGE", "COMPLIANCE"]);
    for device in devices {
        let step = match step_name(device.flow_step) {
            Some(name) => format!("{} {}", device.flow_step, name),
            None => "-".to_string(),
        };
        table.row(vec![
            device.mailbox.to_string(),
            device.device_id.to_string(),
            device.device_type.to_string(),
            device.access.map(|access| access.as_str()).unwrap_or("-").to_string(),
            device.reason.map(|reason| reason.as_str()).unwrap_or("-").to_string(),
            step,
            device.exchange_state.as_str().to_string(),
            projection.compliance_of(device).as_str().to_string(),
        ]);
    }
    table.render()
}
