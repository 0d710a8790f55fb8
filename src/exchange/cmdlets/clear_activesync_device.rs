//! `Clear-ActiveSyncDevice`: asks the device to wipe itself at its next sync (or cancels a
//! pending wipe with `-Cancel`). The status shows in Get-ActiveSyncDeviceStatistics.

use crate::domain::cmdlet_call::ParamValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, NoOutput};

/// `Clear-ActiveSyncDevice -Identity <device> [-Cancel] [-NotificationEmailAddresses <smtp,...>] -Confirm:$false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearActiveSyncDevice {
    pub identity: String,
    pub cancel: bool,
    pub notification_email_addresses: Vec<String>,
    /// Whether PowerShell would prompt; the typed cmdlet sends `-Confirm:$false` (`false`).
    pub confirm: bool,
}

impl ClearActiveSyncDevice {
    pub fn identity(identity: &str) -> ClearActiveSyncDevice {
        ClearActiveSyncDevice {
            identity: identity.to_string(),
            cancel: false,
            notification_email_addresses: Vec::new(),
            confirm: false,
        }
    }
}

impl Cmdlet for ClearActiveSyncDevice {
    const NAME: &'static str = "Clear-ActiveSyncDevice";
    type Output = NoOutput;

    fn into_call(&self) -> CmdletCall {
        let addresses = (!self.notification_email_addresses.is_empty())
            .then(|| ParamValue::List(self.notification_email_addresses.clone()));
        CmdletCall::new(Self::NAME)
            .text("Identity", &self.identity)
            .optional("Cancel", self.cancel.then_some(ParamValue::Bool(true)))
            .optional("NotificationEmailAddresses", addresses)
            .switch("Confirm", self.confirm)
    }

    fn from_call(call: &CmdletCall) -> Result<ClearActiveSyncDevice, CmdletError> {
        let parameters =
            BoundParameters::new(call, Self::NAME, &["Identity", "Cancel", "NotificationEmailAddresses", "Confirm"])?;
        Ok(ClearActiveSyncDevice {
            identity: parameters.required_text("Identity")?,
            cancel: parameters.bool("Cancel")?.unwrap_or(false),
            notification_email_addresses: parameters.list("NotificationEmailAddresses")?.unwrap_or_default(),
            confirm: parameters.confirm()?,
        })
    }
}
