//! `New-ActiveSyncMailboxPolicy`: creates a mobile device mailbox policy; returns it.

use crate::domain::cmdlet_call::ParamValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::{ActiveSyncMailboxPolicy, Cmdlet, CmdletError};

/// `New-ActiveSyncMailboxPolicy -Name <name> [-IsDefault <bool>] [-AllowNonProvisionableDevices <bool>]
/// [-DevicePasswordEnabled <bool>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewActiveSyncMailboxPolicy {
    pub name: String,
    pub is_default: Option<bool>,
    pub allow_non_provisionable_devices: Option<bool>,
    pub device_password_enabled: Option<bool>,
}

impl Cmdlet for NewActiveSyncMailboxPolicy {
    const NAME: &'static str = "New-ActiveSyncMailboxPolicy";
    type Output = ActiveSyncMailboxPolicy;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .text("Name", &self.name)
            .optional("IsDefault", self.is_default.map(ParamValue::Bool))
            .optional("AllowNonProvisionableDevices", self.allow_non_provisionable_devices.map(ParamValue::Bool))
            .optional("DevicePasswordEnabled", self.device_password_enabled.map(ParamValue::Bool))
    }

    fn from_call(call: &CmdletCall) -> Result<NewActiveSyncMailboxPolicy, CmdletError> {
        let parameters = BoundParameters::new(
            call,
            Self::NAME,
            &["Name", "IsDefault", "AllowNonProvisionableDevices", "DevicePasswordEnabled"],
        )?;
        Ok(NewActiveSyncMailboxPolicy {
            name: parameters.required_text("Name")?,
            is_default: parameters.bool("IsDefault")?,
            allow_non_provisionable_devices: parameters.bool("AllowNonProvisionableDevices")?,
            device_password_enabled: parameters.bool("DevicePasswordEnabled")?,
        })
    }
}
