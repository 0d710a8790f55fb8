//! `Get-ActiveSyncDeviceClass`: the (DeviceType, DeviceModel) pairs seen in the organisation,
//! for platform exceptions and to check rule query strings.

use chrono::{DateTime, Utc};

use crate::clixml::value::PsValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::get_activesync_device::NAME_SEPARATOR;
use crate::exchange::cmdlets::objects::{ObjectBuilder, ObjectReader};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject, ResultSize};

/// `Get-ActiveSyncDeviceClass [-Identity <class>] [-ResultSize <n|Unlimited>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetActiveSyncDeviceClass {
    pub identity: Option<String>,
    pub result_size: Option<ResultSize>,
}

impl GetActiveSyncDeviceClass {
    pub fn all() -> GetActiveSyncDeviceClass {
        GetActiveSyncDeviceClass { identity: None, result_size: Some(ResultSize::Unlimited) }
    }
}

impl Cmdlet for GetActiveSyncDeviceClass {
    const NAME: &'static str = "Get-ActiveSyncDeviceClass";
    type Output = ActiveSyncDeviceClass;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .optional_text("Identity", self.identity.as_deref())
            .optional("ResultSize", self.result_size.map(ResultSize::to_param))
    }

    fn from_call(call: &CmdletCall) -> Result<GetActiveSyncDeviceClass, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity", "ResultSize"])?;
        Ok(GetActiveSyncDeviceClass {
            identity: parameters.text("Identity")?,
            result_size: parameters.result_size("ResultSize")?,
        })
    }
}

/// An `ActiveSyncDeviceClass` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSyncDeviceClass {
    /// `<DeviceType>§<DeviceModel>`.
    pub identity: String,
    pub device_type: String,
    pub device_model: String,
    pub last_update_time: Option<DateTime<Utc>>,
}

const TYPE_NAME: &str = "Microsoft.Exchange.Data.Directory.SystemConfiguration.ActiveSyncDeviceClass";

impl ActiveSyncDeviceClass {
    pub fn new(
        device_type: &str,
        device_model: &str,
        last_update_time: Option<DateTime<Utc>>,
    ) -> ActiveSyncDeviceClass {
        ActiveSyncDeviceClass {
            identity: format!("{device_type}{NAME_SEPARATOR}{device_model}"),
            device_type: device_type.to_string(),
            device_model: device_model.to_string(),
            last_update_time,
        }
    }
}

impl ExchangeObject for ActiveSyncDeviceClass {
    fn into_object(self) -> PsValue {
        ObjectBuilder::new(&[
            TYPE_NAME,
            "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
            "Microsoft.Exchange.Data.ConfigurableObject",
        ])
        .with_to_string(self.identity.clone())
        .text("Identity", self.identity.clone())
        .text("Name", self.identity)
        .text("DeviceType", self.device_type)
        .text("DeviceModel", self.device_model)
        .date_time("LastUpdateTime", self.last_update_time)
        .build()
    }

    fn take_from(value: &mut PsValue) -> Result<ActiveSyncDeviceClass, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        Ok(ActiveSyncDeviceClass {
            identity: object.required_text("Identity")?,
            device_type: object.text("DeviceType"),
            device_model: object.text("DeviceModel"),
            last_update_time: object.date_time("LastUpdateTime")?,
        })
    }
}
