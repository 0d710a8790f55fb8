//! `Remove-ActiveSyncMailboxPolicy`: deletes a mobile device mailbox policy.

use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::BoundParameters;
use crate::exchange::cmdlets::{Cmdlet, CmdletError, NoOutput};

/// `Remove-ActiveSyncMailboxPolicy -Identity <policy> -Confirm:$false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveActiveSyncMailboxPolicy {
    pub identity: String,
    /// Whether PowerShell would prompt; the typed cmdlet sends `-Confirm:$false` (`false`).
    pub confirm: bool,
}

impl RemoveActiveSyncMailboxPolicy {
    pub fn identity(identity: &str) -> RemoveActiveSyncMailboxPolicy {
        RemoveActiveSyncMailboxPolicy { identity: identity.to_string(), confirm: false }
    }
}

impl Cmdlet for RemoveActiveSyncMailboxPolicy {
    const NAME: &'static str = "Remove-ActiveSyncMailboxPolicy";
    type Output = NoOutput;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME).text("Identity", &self.identity).switch("Confirm", self.confirm)
    }

    fn from_call(call: &CmdletCall) -> Result<RemoveActiveSyncMailboxPolicy, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity", "Confirm"])?;
        Ok(RemoveActiveSyncMailboxPolicy {
            identity: parameters.required_text("Identity")?,
            confirm: parameters.confirm()?,
        })
    }
}
