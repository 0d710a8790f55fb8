//! `New-ActiveSyncDeviceAccessRule`: full sync pushes the policy's platform exceptions as rules
//! (family = DeviceType, model = DeviceModel). Returns the new rule.

use crate::domain::event::DeviceAccessRule;
use crate::domain::vocabulary::{AccessLevel, Characteristic};
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::BoundParameters;
use crate::exchange::cmdlets::{ActiveSyncDeviceAccessRule, Cmdlet, CmdletError};

/// `New-ActiveSyncDeviceAccessRule -QueryString <text> -Characteristic <c> -AccessLevel <level>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActiveSyncDeviceAccessRule {
    pub query_string: String,
    pub characteristic: Characteristic,
    pub access_level: AccessLevel,
}

impl NewActiveSyncDeviceAccessRule {
    pub fn from_rule(rule: &DeviceAccessRule) -> NewActiveSyncDeviceAccessRule {
        NewActiveSyncDeviceAccessRule {
            query_string: rule.query.clone(),
            characteristic: rule.characteristic,
            access_level: rule.access,
        }
    }
}

impl Cmdlet for NewActiveSyncDeviceAccessRule {
    const NAME: &'static str = "New-ActiveSyncDeviceAccessRule";
    type Output = ActiveSyncDeviceAccessRule;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .text("QueryString", &self.query_string)
            .text("Characteristic", self.characteristic.exchange_name())
            .text("AccessLevel", self.access_level.exchange_name())
    }

    fn from_call(call: &CmdletCall) -> Result<NewActiveSyncDeviceAccessRule, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["QueryString", "Characteristic", "AccessLevel"])?;
        Ok(NewActiveSyncDeviceAccessRule {
            query_string: parameters.required_text("QueryString")?,
            characteristic: parameters
                .characteristic("Characteristic")?
                .ok_or_else(|| parameters.missing("Characteristic"))?,
            access_level: parameters.access_level("AccessLevel")?.ok_or_else(|| parameters.missing("AccessLevel"))?,
        })
    }
}
