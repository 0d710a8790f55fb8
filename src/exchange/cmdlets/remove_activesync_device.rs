//! `Remove-ActiveSyncDevice`: deletes a partnership. The mailbox's allow and block lists keep
//! their entries; the device makes a new partnership at its next sync.

use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::BoundParameters;
use crate::exchange::cmdlets::{Cmdlet, CmdletError, NoOutput};

/// `Remove-ActiveSyncDevice -Identity <device> -Confirm:$false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveActiveSyncDevice {
    pub identity: String,
    /// Whether PowerShell would prompt; the typed cmdlet sends `-Confirm:$false` (`false`).
    pub confirm: bool,
}

impl RemoveActiveSyncDevice {
    pub fn identity(identity: &str) -> RemoveActiveSyncDevice {
        RemoveActiveSyncDevice { identity: identity.to_string(), confirm: false }
    }
}

impl Cmdlet for RemoveActiveSyncDevice {
    const NAME: &'static str = "Remove-ActiveSyncDevice";
    type Output = NoOutput;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME).text("Identity", &self.identity).switch("Confirm", self.confirm)
    }

    fn from_call(call: &CmdletCall) -> Result<RemoveActiveSyncDevice, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity", "Confirm"])?;
        Ok(RemoveActiveSyncDevice { identity: parameters.required_text("Identity")?, confirm: parameters.confirm()? })
    }
}
