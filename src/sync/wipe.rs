//! Remote wipe: an admin asks easgate to wipe a device; easgate issues Clear-ActiveSyncDevice
//! (as a durable intent, like every cmdlet) and confirms the wipe when Exchange reports it.

use crate::clixml::value::PsValue;
use crate::domain::Event;
use crate::domain::cmdlet_call::CmdletCall;
use crate::domain::event::{DeviceRef, WipeConfirmed, WipeRequested};
use crate::domain::plan::{PlannedCall, device_identity};
use crate::domain::projection::{DeviceView, key_of};
use crate::domain::vocabulary::SyncKind;
use crate::sync::engine::{Engine, EngineError, PhaseError, Run, read_failed};

/// Wipes issued per sync at most.
pub const WIPES_PER_SYNC_MAX: usize = 1_000;

/// What `request_wipe` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WipeReport {
    pub partnerships: usize,
    pub confirmed: usize,
}

impl Engine {
    /// Wipes every current partnership of `device_id` now. Unknown ids wipe nothing.
    pub async fn request_wipe(&mut self, device_id: &str, requested_by: &str) -> Result<WipeReport, EngineError> {
        let correlation = self.journal.new_id();
        let devices: Vec<DeviceView> = self
            .journal
            .projection()
            .devices_with_id(device_id)
            .into_iter()
            .filter(|device| !device.removed)
            .cloned()
            .collect();
        let events = devices
            .iter()
            .map(|device| {
                Event::WipeRequested(WipeRequested {
                    mailbox: device.mailbox.to_string(),
                    device_id: device.device_id.to_string(),
                    requested_by: requested_by.to_string(),
                })
            })
            .collect();
        self.journal.record(Some(correlation), events)?;
        let mut run = Run::new(correlation, SyncKind::Quick);
        let outcome = self.run_pending_wipes(&mut run).await;
        self.pool.close_idle().await;
        self.journal.commit()?;
        match outcome {
            Ok(()) | Err(PhaseError::Failed { .. }) => {}
            Err(PhaseError::Engine(error)) => return Err(error),
        }
        let confirmed = devices
            .iter()
            .filter(|device| {
                self.journal
                    .projection()
                    .device(&device.mailbox, &device.device_id)
                    .and_then(|device| device.wipe.as_ref())
                    .is_some_and(|wipe| wipe.confirmed)
            })
            .count();
        Ok(WipeReport { partnerships: devices.len(), confirmed })
    }

    /// Issues Clear-ActiveSyncDevice for wipes requested and not confirmed, then confirms them.
    pub(crate) async fn run_pending_wipes(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let projection = self.journal.projection();
        let mut wanted: Vec<&DeviceView> = projection
            .devices
            .values()
            .map(Box::as_ref)
            .filter(|device| !device.removed && device.wipe.as_ref().is_some_and(|wipe| !wipe.confirmed))
            .collect();
        wanted
            .sort_unstable_by(|left, right| (&left.mailbox, &left.device_id).cmp(&(&right.mailbox, &right.device_id)));
        wanted.truncate(WIPES_PER_SYNC_MAX);
        let planned: Vec<PlannedCall> = wanted
            .iter()
            .map(|device| PlannedCall {
                call: CmdletCall::new("Clear-ActiveSyncDevice")
                    .text(
                        "Identity",
                        &device_identity(projection.mailboxes.get(key_of(&device.mailbox).as_str()), device),
                    )
                    .switch("Confirm", false),
                devices: vec![DeviceRef {
                    mailbox: device.mailbox.to_string(),
                    device_id: device.device_id.to_string(),
                }],
            })
            .collect();
        if planned.is_empty() {
            return Ok(());
        }
        let targets: Vec<(String, String, String)> = wanted
            .iter()
            .map(|device| {
                let requested_by = device.wipe.as_ref().map(|wipe| wipe.requested_by.clone()).unwrap_or_default();
                (device.mailbox.to_string(), device.device_id.to_string(), requested_by)
            })
            .collect();
        self.act(run, planned).await?;
        for (mailbox, device_id, requested_by) in targets {
            if self.wipe_reported(run, &mailbox, &device_id).await? {
                let event = Event::WipeConfirmed(WipeConfirmed { mailbox, device_id, requested_by });
                self.journal.record(Some(run.run_id), vec![event])?;
            }
        }
        Ok(())
    }

    /// Whether Get-ActiveSyncDeviceStatistics shows the wipe requested or done for the device.
    async fn wipe_reported(&mut self, run: &mut Run, mailbox: &str, device_id: &str) -> Result<bool, PhaseError> {
        let call = CmdletCall::new("Get-ActiveSyncDeviceStatistics").text("Mailbox", mailbox);
        let output = self.read(run, &call).await.map_err(|error| read_failed("device statistics", error))?;
        Ok(output.objects.iter().filter_map(PsValue::as_object).any(|statistics| {
            let same_device = statistics
                .text("DeviceID")
                .or_else(|| statistics.text("DeviceId"))
                .is_some_and(|id| id.eq_ignore_ascii_case(device_id));
            let status = statistics.text("Status").unwrap_or_default();
            let wiped = statistics.text("DeviceWipeAckTime").is_some_and(|time| !time.is_empty())
                || statistics.text("DeviceWipeRequestTime").is_some_and(|time| !time.is_empty())
                || status.contains("Wipe");
            same_device && wiped
        }))
    }
}
