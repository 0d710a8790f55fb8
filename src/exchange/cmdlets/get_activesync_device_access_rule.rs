//! `Get-ActiveSyncDeviceAccessRule`: the organisation's device access rules (exact match on one
//! characteristic; Identity `"<QueryString> (<Characteristic>)"`, reference/exchange.md 1.7).

use crate::clixml::value::PsValue;
use crate::domain::event::DeviceAccessRule;
use crate::domain::exchange_rules::rule_identity;
use crate::domain::vocabulary::{AccessLevel, Characteristic};
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::objects::{
    DEVICE_ACCESS_CHARACTERISTIC, DEVICE_ACCESS_LEVEL, ObjectBuilder, ObjectReader, access_level_number,
    characteristic_number,
};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject};

/// `Get-ActiveSyncDeviceAccessRule [-Identity <id>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetActiveSyncDeviceAccessRule {
    pub identity: Option<String>,
}

impl Cmdlet for GetActiveSyncDeviceAccessRule {
    const NAME: &'static str = "Get-ActiveSyncDeviceAccessRule";
    type Output = ActiveSyncDeviceAccessRule;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME).optional_text("Identity", self.identity.as_deref())
    }

    fn from_call(call: &CmdletCall) -> Result<GetActiveSyncDeviceAccessRule, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity"])?;
        Ok(GetActiveSyncDeviceAccessRule { identity: parameters.text("Identity")? })
    }
}

/// An `ActiveSyncDeviceAccessRule` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSyncDeviceAccessRule {
    /// `"<QueryString> (<Characteristic>)"`.
    pub identity: String,
    pub name: String,
    pub query_string: String,
    pub characteristic: Characteristic,
    pub access_level: AccessLevel,
}

const TYPE_NAME: &str = "Microsoft.Exchange.Data.Directory.SystemConfiguration.ActiveSyncDeviceAccessRule";

impl ActiveSyncDeviceAccessRule {
    /// The rule as Exchange names and shows it.
    pub fn from_rule(rule: &DeviceAccessRule) -> ActiveSyncDeviceAccessRule {
        let identity = rule_identity(&rule.query, rule.characteristic);
        ActiveSyncDeviceAccessRule {
            name: identity.clone(),
            identity,
            query_string: rule.query.clone(),
            characteristic: rule.characteristic,
            access_level: rule.access,
        }
    }

    /// The domain's view of the rule.
    pub fn to_rule(&self) -> DeviceAccessRule {
        DeviceAccessRule {
            query: self.query_string.clone(),
            characteristic: self.characteristic,
            access: self.access_level,
        }
    }
}

impl ExchangeObject for ActiveSyncDeviceAccessRule {
    fn into_object(self) -> PsValue {
        ObjectBuilder::new(&[
            TYPE_NAME,
            "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
            "Microsoft.Exchange.Data.Directory.ADObject",
            "Microsoft.Exchange.Data.ConfigurableObject",
        ])
        .with_to_string(self.identity.clone())
        .text("Identity", self.identity)
        .text("Name", self.name)
        .text("QueryString", self.query_string)
        .enumeration(
            "Characteristic",
            DEVICE_ACCESS_CHARACTERISTIC,
            self.characteristic.exchange_name(),
            Some(characteristic_number(self.characteristic)),
        )
        .enumeration(
            "AccessLevel",
            DEVICE_ACCESS_LEVEL,
            self.access_level.exchange_name(),
            Some(access_level_number(self.access_level)),
        )
        .bool("IsValid", true)
        .build()
    }

    fn take_from(value: &mut PsValue) -> Result<ActiveSyncDeviceAccessRule, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        let query_string = object.required_text("QueryString")?;
        let characteristic = object.characteristic("Characteristic")?;
        let identity = object.optional_text("Identity").unwrap_or_else(|| rule_identity(&query_string, characteristic));
        Ok(ActiveSyncDeviceAccessRule {
            name: object.optional_text("Name").unwrap_or_else(|| identity.clone()),
            identity,
            query_string,
            characteristic,
            access_level: object.access_level("AccessLevel")?,
        })
    }
}
