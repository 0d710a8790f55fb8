//! `Set-CASMailbox`: edits a mailbox's ActiveSync settings. easgate edits the allow and block
//! lists with the incremental `@{Add=...; Remove=...}` form only.

use crate::domain::cmdlet_call::ParamValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, MultiValuedChange, NoOutput};

/// `Set-CASMailbox -Identity <id> [-ActiveSyncEnabled <bool>] [-ActiveSyncAllowedDeviceIDs <mv>]
/// [-ActiveSyncBlockedDeviceIDs <mv>] [-ActiveSyncMailboxPolicy <policy>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetCasMailbox {
    pub identity: String,
    pub activesync_enabled: Option<bool>,
    pub activesync_allowed_device_ids: Option<MultiValuedChange>,
    pub activesync_blocked_device_ids: Option<MultiValuedChange>,
    pub activesync_mailbox_policy: Option<String>,
}

impl SetCasMailbox {
    pub fn identity(identity: &str) -> SetCasMailbox {
        SetCasMailbox { identity: identity.to_string(), ..SetCasMailbox::default() }
    }

    pub fn allowed(mut self, change: MultiValuedChange) -> SetCasMailbox {
        self.activesync_allowed_device_ids = Some(change);
        self
    }

    pub fn blocked(mut self, change: MultiValuedChange) -> SetCasMailbox {
        self.activesync_blocked_device_ids = Some(change);
        self
    }
}

impl Cmdlet for SetCasMailbox {
    const NAME: &'static str = "Set-CASMailbox";
    type Output = NoOutput;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .text("Identity", &self.identity)
            .optional("ActiveSyncEnabled", self.activesync_enabled.map(ParamValue::Bool))
            .optional("ActiveSyncAllowedDeviceIDs", self.activesync_allowed_device_ids.as_ref().map(|c| c.to_param()))
            .optional("ActiveSyncBlockedDeviceIDs", self.activesync_blocked_device_ids.as_ref().map(|c| c.to_param()))
            .optional_text("ActiveSyncMailboxPolicy", self.activesync_mailbox_policy.as_deref())
    }

    fn from_call(call: &CmdletCall) -> Result<SetCasMailbox, CmdletError> {
        let parameters = BoundParameters::new(
            call,
            Self::NAME,
            &[
                "Identity",
                "ActiveSyncEnabled",
                "ActiveSyncAllowedDeviceIDs",
                "ActiveSyncBlockedDeviceIDs",
                "ActiveSyncMailboxPolicy",
            ],
        )?;
        Ok(SetCasMailbox {
            identity: parameters.required_text("Identity")?,
            activesync_enabled: parameters.bool("ActiveSyncEnabled")?,
            activesync_allowed_device_ids: parameters.multi_valued("ActiveSyncAllowedDeviceIDs")?,
            activesync_blocked_device_ids: parameters.multi_valued("ActiveSyncBlockedDeviceIDs")?,
            activesync_mailbox_policy: parameters.text("ActiveSyncMailboxPolicy")?,
        })
    }
}
