//! `Remove-ActiveSyncDeviceAccessRule`: deletes a rule; quarantined devices it matched are
//! released, devices it blocked stay blocked (reference/exchange.md 1.1).

use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::BoundParameters;
use crate::exchange::cmdlets::{Cmdlet, CmdletError, NoOutput};

/// `Remove-ActiveSyncDeviceAccessRule -Identity "<query> (<characteristic>)" -Confirm:$false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveActiveSyncDeviceAccessRule {
    pub identity: String,
    /// Whether PowerShell would prompt; the typed cmdlet sends `-Confirm:$false` (`false`).
    pub confirm: bool,
}

impl RemoveActiveSyncDeviceAccessRule {
    pub fn identity(identity: &str) -> RemoveActiveSyncDeviceAccessRule {
        RemoveActiveSyncDeviceAccessRule { identity: identity.to_string(), confirm: false }
    }
}

impl Cmdlet for RemoveActiveSyncDeviceAccessRule {
    const NAME: &'static str = "Remove-ActiveSyncDeviceAccessRule";
    type Output = NoOutput;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME).text("Identity", &self.identity).switch("Confirm", self.confirm)
    }

    fn from_call(call: &CmdletCall) -> Result<RemoveActiveSyncDeviceAccessRule, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity", "Confirm"])?;
        Ok(RemoveActiveSyncDeviceAccessRule {
            identity: parameters.required_text("Identity")?,
            confirm: parameters.confirm()?,
        })
    }
}
