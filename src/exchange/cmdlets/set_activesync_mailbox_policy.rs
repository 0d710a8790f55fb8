//! `Set-ActiveSyncMailboxPolicy`: changes a mobile device mailbox policy.

use crate::domain::cmdlet_call::ParamValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, NoOutput};

/// `Set-ActiveSyncMailboxPolicy -Identity <policy> [-IsDefault <bool>] [-AllowNonProvisionableDevices <bool>]
/// [-DevicePasswordEnabled <bool>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetActiveSyncMailboxPolicy {
    pub identity: String,
    pub is_default: Option<bool>,
    pub allow_non_provisionable_devices: Option<bool>,
    pub device_password_enabled: Option<bool>,
}

impl Cmdlet for SetActiveSyncMailboxPolicy {
    const NAME: &'static str = "Set-ActiveSyncMailboxPolicy";
    type Output = NoOutput;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .text("Identity", &self.identity)
            .optional("IsDefault", self.is_default.map(ParamValue::Bool))
            .optional("AllowNonProvisionableDevices", self.allow_non_provisionable_devices.map(ParamValue::Bool))
            .optional("DevicePasswordEnabled", self.device_password_enabled.map(ParamValue::Bool))
    }

    fn from_call(call: &CmdletCall) -> Result<SetActiveSyncMailboxPolicy, CmdletError> {
        let parameters = BoundParameters::new(
            call,
            Self::NAME,
            &["Identity", "IsDefault", "AllowNonProvisionableDevices", "DevicePasswordEnabled"],
        )?;
        Ok(SetActiveSyncMailboxPolicy {
            identity: parameters.required_text("Identity")?,
            is_default: parameters.bool("IsDefault")?,
            allow_non_provisionable_devices: parameters.bool("AllowNonProvisionableDevices")?,
            device_password_enabled: parameters.bool("DevicePasswordEnabled")?,
        })
    }
}
