//! `Get-ActiveSyncMailboxPolicy`: the mobile device mailbox policies (reference/exchange.md 1.8).

use crate::clixml::value::PsValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::objects::{ObjectBuilder, ObjectReader};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject};

/// `Get-ActiveSyncMailboxPolicy [-Identity <policy>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetActiveSyncMailboxPolicy {
    pub identity: Option<String>,
}

impl Cmdlet for GetActiveSyncMailboxPolicy {
    const NAME: &'static str = "Get-ActiveSyncMailboxPolicy";
    type Output = ActiveSyncMailboxPolicy;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME).optional_text("Identity", self.identity.as_deref())
    }

    fn from_call(call: &CmdletCall) -> Result<GetActiveSyncMailboxPolicy, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity"])?;
        Ok(GetActiveSyncMailboxPolicy { identity: parameters.text("Identity")? })
    }
}

/// An `ActiveSyncMailboxPolicy` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSyncMailboxPolicy {
    pub identity: String,
    pub name: String,
    /// The organisation's default policy (`IsDefault`; Exchange 2010 says `IsDefaultPolicy`).
    pub is_default: bool,
    /// When false, devices that cannot enforce every setting are blocked (reason Policy).
    pub allow_non_provisionable_devices: bool,
    pub device_password_enabled: bool,
}

const TYPE_NAME: &str = "Microsoft.Exchange.Data.Directory.SystemConfiguration.ActiveSyncMailboxPolicy";

impl ExchangeObject for ActiveSyncMailboxPolicy {
    fn into_object(self) -> PsValue {
        ObjectBuilder::new(&[
            TYPE_NAME,
            "Microsoft.Exchange.Data.Directory.SystemConfiguration.MailboxPolicy",
            "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
            "Microsoft.Exchange.Data.ConfigurableObject",
        ])
        .with_to_string(self.name.clone())
        .text("Identity", self.identity)
        .text("Name", self.name)
        .bool("IsDefault", self.is_default)
        .bool("AllowNonProvisionableDevices", self.allow_non_provisionable_devices)
        .bool("DevicePasswordEnabled", self.device_password_enabled)
        .build()
    }

    fn take_from(value: &mut PsValue) -> Result<ActiveSyncMailboxPolicy, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        let name = object.required_text("Name")?;
        let is_default_policy = object.bool("IsDefaultPolicy", false)?;
        Ok(ActiveSyncMailboxPolicy {
            identity: object.optional_text("Identity").unwrap_or_else(|| name.clone()),
            name,
            is_default: object.bool("IsDefault", is_default_policy)?,
            allow_non_provisionable_devices: object.bool("AllowNonProvisionableDevices", false)?,
            device_password_enabled: object.bool("DevicePasswordEnabled", false)?,
        })
    }
}
