//! `Get-ActiveSyncDevice`: the ActiveSync partnerships (reference/exchange.md section 1.3). Read
//! from AD, so cheap; `-ResultSize` defaults to 1000, hence `Unlimited` whenever easgate means all.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::clixml::value::PsValue;
use crate::domain::vocabulary::{ExchangeReason, ExchangeState};
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::objects::{
    DEVICE_ACCESS_STATE, DEVICE_ACCESS_STATE_REASON, ObjectBuilder, ObjectReader, exchange_reason_number,
    exchange_state_number,
};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject, ResultSize};

/// The container of a user's partnerships, between the user's canonical name and the device.
pub const DEVICES_CONTAINER: &str = "/ExchangeActiveSyncDevices/";
/// Exchange separates DeviceType and DeviceId in a partnership's name with U+00A7.
pub const NAME_SEPARATOR: char = '§';

/// `Get-ActiveSyncDevice [-Identity <id> | -Mailbox <id>] [-Filter <OPATH>] [-ResultSize <n|Unlimited>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetActiveSyncDevice {
    pub identity: Option<String>,
    pub mailbox: Option<String>,
    pub filter: Option<String>,
    pub result_size: Option<ResultSize>,
}

impl GetActiveSyncDevice {
    /// Every partnership: `-ResultSize Unlimited`.
    pub fn all() -> GetActiveSyncDevice {
        GetActiveSyncDevice { result_size: Some(ResultSize::Unlimited), ..GetActiveSyncDevice::default() }
    }

    /// Every partnership matching an OPATH filter (see `opath`), unlimited.
    pub fn filtered(filter: String) -> GetActiveSyncDevice {
        GetActiveSyncDevice { filter: Some(filter), ..GetActiveSyncDevice::all() }
    }

    /// The partnerships of one mailbox.
    pub fn mailbox(mailbox: &str) -> GetActiveSyncDevice {
        GetActiveSyncDevice { mailbox: Some(mailbox.to_string()), ..GetActiveSyncDevice::all() }
    }

    /// One partnership by its Identity.
    pub fn identity(identity: &str) -> GetActiveSyncDevice {
        GetActiveSyncDevice { identity: Some(identity.to_string()), ..GetActiveSyncDevice::default() }
    }
}

impl Cmdlet for GetActiveSyncDevice {
    const NAME: &'static str = "Get-ActiveSyncDevice";
    type Output = ActiveSyncDevice;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .optional_text("Identity", self.identity.as_deref())
            .optional_text("Mailbox", self.mailbox.as_deref())
            .optional_text("Filter", self.filter.as_deref())
            .optional("ResultSize", self.result_size.map(ResultSize::to_param))
    }

    fn from_call(call: &CmdletCall) -> Result<GetActiveSyncDevice, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity", "Mailbox", "Filter", "ResultSize"])?;
        let cmdlet = GetActiveSyncDevice {
            identity: parameters.text("Identity")?,
            mailbox: parameters.text("Mailbox")?,
            filter: parameters.text("Filter")?,
            result_size: parameters.result_size("ResultSize")?,
        };
        if cmdlet.identity.is_some() && cmdlet.mailbox.is_some() {
            return Err(parameters.conflict("Identity", "Mailbox"));
        }
        Ok(cmdlet)
    }
}

/// An `ActiveSyncDevice` object: one partnership of a device with a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActiveSyncDevice {
    /// `<canonical user name>/ExchangeActiveSyncDevices/<DeviceType>§<DeviceId>`; opaque for
    /// round-tripping (see `mailbox_identity`).
    pub identity: String,
    pub guid: Option<Uuid>,
    pub device_id: String,
    pub device_type: String,
    pub device_model: String,
    pub device_os: String,
    pub device_user_agent: String,
    pub friendly_name: String,
    pub device_imei: String,
    pub device_mobile_operator: String,
    pub device_os_language: String,
    pub device_telephone_number: String,
    pub device_active_sync_version: String,
    pub user_display_name: String,
    pub first_sync_time: Option<DateTime<Utc>>,
    pub device_access_state: ExchangeState,
    pub device_access_state_reason: ExchangeReason,
    /// The matching rule's identity when the reason is DeviceRule.
    pub device_access_control_rule: Option<String>,
    pub device_policy_applied: Option<String>,
    /// Unknown, NotApplied, AppliedInFull, PartiallyApplied, ExternallyManaged.
    pub device_policy_application_status: String,
    /// EAS, MOWA...
    pub client_type: String,
    pub is_managed: bool,
    pub is_compliant: bool,
    pub is_disabled: bool,
    pub when_created: Option<DateTime<Utc>>,
    pub when_changed: Option<DateTime<Utc>>,
}

const TYPE_NAME: &str = "Microsoft.Exchange.Data.Directory.SystemConfiguration.ActiveSyncDevice";
const POLICY_STATUSES: [&str; 5] = ["Unknown", "NotApplied", "AppliedInFull", "PartiallyApplied", "ExternallyManaged"];

/// The Identity Exchange gives a partnership.
pub fn device_identity(mailbox_identity: &str, device_type: &str, device_id: &str) -> String {
    format!("{mailbox_identity}{DEVICES_CONTAINER}{device_type}{NAME_SEPARATOR}{device_id}")
}

impl ActiveSyncDevice {
    /// The Identity of the owning mailbox: the part before `/ExchangeActiveSyncDevices/`.
    pub fn mailbox_identity(&self) -> Option<&str> {
        self.identity.find(DEVICES_CONTAINER).map(|position| &self.identity[..position])
    }

    /// `<DeviceType>§<DeviceId>`.
    pub fn name(&self) -> String {
        format!("{}{NAME_SEPARATOR}{}", self.device_type, self.device_id)
    }
}

impl ExchangeObject for ActiveSyncDevice {
    fn into_object(self) -> PsValue {
        let name = self.name();
        let mut object = ObjectBuilder::new(&[
            TYPE_NAME,
            "Microsoft.Exchange.Data.Directory.SystemConfiguration.MobileDevice",
            "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
            "Microsoft.Exchange.Data.Directory.ADObject",
            "Microsoft.Exchange.Data.ConfigurableObject",
        ])
        .with_capacity(28)
        .with_to_string(name.clone())
        .text("Identity", self.identity)
        .text("Name", name);
        if let Some(guid) = self.guid {
            object = object.guid("Guid", guid);
        }
        object
            .text("DeviceId", self.device_id)
            .text("DeviceType", self.device_type)
            .text("DeviceModel", self.device_model)
            .text("DeviceOS", self.device_os)
            .text("DeviceUserAgent", self.device_user_agent)
            .text("FriendlyName", self.friendly_name)
            .text("DeviceImei", self.device_imei)
            .text("DeviceMobileOperator", self.device_mobile_operator)
            .text("DeviceOSLanguage", self.device_os_language)
            .text("DeviceTelephoneNumber", self.device_telephone_number)
            .text("DeviceActiveSyncVersion", self.device_active_sync_version)
            .text("UserDisplayName", self.user_display_name)
            .date_time("FirstSyncTime", self.first_sync_time)
            .enumeration(
                "DeviceAccessState",
                DEVICE_ACCESS_STATE,
                self.device_access_state.as_str(),
                exchange_state_number(&self.device_access_state),
            )
            .enumeration(
                "DeviceAccessStateReason",
                DEVICE_ACCESS_STATE_REASON,
                self.device_access_state_reason.as_str(),
                exchange_reason_number(&self.device_access_state_reason),
            )
            .optional_text("DeviceAccessControlRule", self.device_access_control_rule)
            .optional_text("DevicePolicyApplied", self.device_policy_applied)
            .enumeration(
                "DevicePolicyApplicationStatus",
                "Microsoft.Exchange.Data.Directory.SystemConfiguration.DevicePolicyApplicationStatus",
                &self.device_policy_application_status,
                POLICY_STATUSES.iter().position(|s| *s == self.device_policy_application_status).map(|n| n as i32),
            )
            .enumeration(
                "ClientType",
                "Microsoft.Exchange.Data.Directory.SystemConfiguration.MobileClientType",
                &self.client_type,
                ["EAS", "MOWA"].iter().position(|s| *s == self.client_type).map(|n| n as i32),
            )
            .bool("IsManaged", self.is_managed)
            .bool("IsCompliant", self.is_compliant)
            .bool("IsDisabled", self.is_disabled)
            .date_time("WhenCreated", self.when_created)
            .date_time("WhenChanged", self.when_changed)
            .build()
    }

    fn take_from(value: &mut PsValue) -> Result<ActiveSyncDevice, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        Ok(ActiveSyncDevice {
            identity: object.required_text("Identity")?,
            guid: object.guid("Guid"),
            device_id: object.required_text("DeviceId")?,
            device_type: object.text("DeviceType"),
            device_model: object.text("DeviceModel"),
            device_os: object.text("DeviceOS"),
            device_user_agent: object.text("DeviceUserAgent"),
            friendly_name: object.text("FriendlyName"),
            device_imei: object.text("DeviceImei"),
            device_mobile_operator: object.text("DeviceMobileOperator"),
            device_os_language: object.text("DeviceOSLanguage"),
            device_telephone_number: object.text("DeviceTelephoneNumber"),
            device_active_sync_version: object.text("DeviceActiveSyncVersion"),
            user_display_name: object.text("UserDisplayName"),
            first_sync_time: object.date_time("FirstSyncTime")?,
            device_access_state: object.exchange_state("DeviceAccessState"),
            device_access_state_reason: object.exchange_reason("DeviceAccessStateReason"),
            device_access_control_rule: object.optional_text("DeviceAccessControlRule"),
            device_policy_applied: object.optional_text("DevicePolicyApplied"),
            device_policy_application_status: object.text("DevicePolicyApplicationStatus"),
            client_type: object.text("ClientType"),
            is_managed: object.bool("IsManaged", false)?,
            is_compliant: object.bool("IsCompliant", false)?,
            is_disabled: object.bool("IsDisabled", false)?,
            when_created: object.date_time("WhenCreated")?,
            when_changed: object.date_time("WhenChanged")?,
        })
    }
}
