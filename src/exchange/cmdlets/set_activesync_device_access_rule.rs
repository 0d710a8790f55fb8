//! `Set-ActiveSyncDeviceAccessRule`: changes a rule's access level (its query and characteristic
//! are its identity and cannot change).

use crate::domain::vocabulary::AccessLevel;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, NoOutput};

/// `Set-ActiveSyncDeviceAccessRule -Identity "<query> (<characteristic>)" [-AccessLevel <level>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetActiveSyncDeviceAccessRule {
    pub identity: String,
    pub access_level: Option<AccessLevel>,
}

impl Cmdlet for SetActiveSyncDeviceAccessRule {
    const NAME: &'static str = "Set-ActiveSyncDeviceAccessRule";
    type Output = NoOutput;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .text("Identity", &self.identity)
            .optional_text("AccessLevel", self.access_level.map(AccessLevel::exchange_name))
    }

    fn from_call(call: &CmdletCall) -> Result<SetActiveSyncDeviceAccessRule, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity", "AccessLevel"])?;
        Ok(SetActiveSyncDeviceAccessRule {
            identity: parameters.required_text("Identity")?,
            access_level: parameters.access_level("AccessLevel")?,
        })
    }
}
