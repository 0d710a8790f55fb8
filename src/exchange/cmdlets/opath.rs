//! Builders for the OPATH `-Filter` strings easgate sends. A filter is a string parameter, never
//! script: values are quoted the OPATH way (single quotes, an embedded quote doubled), so a
//! DeviceId full of PowerShell metacharacters stays a value.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::vocabulary::ExchangeState;

/// `'value'` with every `'` doubled.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `HasActiveSyncDevicePartnership -eq $true`: the mailboxes that have devices.
pub fn has_activesync_device_partnership() -> String {
    "HasActiveSyncDevicePartnership -eq $true".to_string()
}

/// `FirstSyncTime -gt '<time>'`: partnerships made after `time` (quick sync's new devices).
/// ISO 8601 with `Z` is read the same by every server culture.
pub fn first_sync_time_after(time: DateTime<Utc>) -> String {
    format!("FirstSyncTime -gt {}", quote(&time.to_rfc3339_opts(SecondsFormat::Secs, true)))
}

/// `DeviceAccessState -eq '<state>'`, e.g. every quarantined device.
pub fn device_access_state_is(state: &ExchangeState) -> String {
    format!("DeviceAccessState -eq {}", quote(state.as_str()))
}

/// `DeviceId -eq '<id>'`.
pub fn device_id_is(device_id: &str) -> String {
    format!("DeviceId -eq {}", quote(device_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_so_a_value_cannot_end_the_string() {
        assert_eq!(device_id_is("a'b"), "DeviceId -eq 'a''b'");
        let time = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z").map(|time| time.with_timezone(&Utc));
        assert_eq!(time.map(first_sync_time_after).ok().as_deref(), Some("FirstSyncTime -gt '2026-01-01T10:00:00Z'"));
    }
}
