//! `Get-ActiveSyncDeviceStatistics`: per-partnership statistics kept in the mailbox (last sync,
//! remote wipe status). Expensive on a real server: one mailbox access per call.

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
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject};

/// `Get-ActiveSyncDeviceStatistics -Identity <device> | -Mailbox <mailbox>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetActiveSyncDeviceStatistics {
    pub identity: Option<String>,
    pub mailbox: Option<String>,
}

impl GetActiveSyncDeviceStatistics {
    pub fn identity(identity: &str) -> GetActiveSyncDeviceStatistics {
        GetActiveSyncDeviceStatistics { identity: Some(identity.to_string()), mailbox: None }
    }

    /// Pass the mailbox's Identity string, never a deserialised object.
    pub fn mailbox(mailbox: &str) -> GetActiveSyncDeviceStatistics {
        GetActiveSyncDeviceStatistics { identity: None, mailbox: Some(mailbox.to_string()) }
    }
}

impl Cmdlet for GetActiveSyncDeviceStatistics {
    const NAME: &'static str = "Get-ActiveSyncDeviceStatistics";
    type Output = ActiveSyncDeviceStatistics;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .optional_text("Identity", self.identity.as_deref())
            .optional_text("Mailbox", self.mailbox.as_deref())
    }

    fn from_call(call: &CmdletCall) -> Result<GetActiveSyncDeviceStatistics, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity", "Mailbox"])?;
        let cmdlet = GetActiveSyncDeviceStatistics {
            identity: parameters.text("Identity")?,
            mailbox: parameters.text("Mailbox")?,
        };
        match (&cmdlet.identity, &cmdlet.mailbox) {
            (Some(_), Some(_)) => Err(parameters.conflict("Identity", "Mailbox")),
            (None, None) => Err(parameters.missing("Identity")),
            _ => Ok(cmdlet),
        }
    }
}

/// `DeviceRemoteWipeStatus`, derived by Exchange from the wipe times.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WipeStatus {
    #[default]
    DeviceOk,
    /// A wipe was requested but the device does not support it.
    DeviceBlocked,
    DeviceWipePending,
    DeviceWipeSucceeded,
    Other(String),
}

const WIPE_STATUSES: [(WipeStatus, &str); 4] = [
    (WipeStatus::DeviceOk, "DeviceOk"),
    (WipeStatus::DeviceBlocked, "DeviceBlocked"),
    (WipeStatus::DeviceWipePending, "DeviceWipePending"),
    (WipeStatus::DeviceWipeSucceeded, "DeviceWipeSucceeded"),
];

impl WipeStatus {
    pub fn as_str(&self) -> &str {
        match self {
            WipeStatus::Other(text) => text,
            known => WIPE_STATUSES.iter().find(|(status, _)| status == known).map(|(_, name)| *name).unwrap_or(""),
        }
    }

    pub fn parse(text: &str) -> WipeStatus {
        WIPE_STATUSES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(status, _)| status.clone())
            .unwrap_or_else(|| WipeStatus::Other(text.to_string()))
    }

    fn number(&self) -> Option<i32> {
        WIPE_STATUSES.iter().position(|(status, _)| status == self).map(|position| position as i32)
    }
}

/// An `ActiveSyncDeviceConfiguration` object (what the statistics cmdlet returns).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActiveSyncDeviceStatistics {
    pub identity: String,
    pub guid: Option<Uuid>,
    pub device_id: String,
    pub device_type: String,
    pub device_model: String,
    pub device_os: String,
    pub device_user_agent: String,
    pub device_friendly_name: String,
    pub first_sync_time: Option<DateTime<Utc>>,
    pub last_policy_update_time: Option<DateTime<Utc>>,
    pub last_sync_attempt_time: Option<DateTime<Utc>>,
    pub last_success_sync: Option<DateTime<Utc>>,
    pub device_wipe_request_time: Option<DateTime<Utc>>,
    pub device_wipe_sent_time: Option<DateTime<Utc>>,
    pub device_wipe_ack_time: Option<DateTime<Utc>>,
    pub last_device_wipe_requestor: String,
    pub is_remote_wipe_supported: bool,
    pub status: WipeStatus,
    pub device_access_state: ExchangeState,
    pub device_access_state_reason: ExchangeReason,
    pub device_access_control_rule: Option<String>,
    pub client_type: String,
}

const TYPE_NAME: &str = "Microsoft.Exchange.Management.Tasks.ActiveSyncDeviceConfiguration";

impl ExchangeObject for ActiveSyncDeviceStatistics {
    fn into_object(self) -> PsValue {
        let mut object =
            ObjectBuilder::new(&[TYPE_NAME, "Microsoft.Exchange.Management.Tasks.MobileDeviceConfiguration"])
                .with_to_string(self.identity.clone())
                .text("Identity", self.identity);
        if let Some(guid) = self.guid {
            object = object.guid("Guid", guid);
        }
        object
            .text("DeviceID", self.device_id)
            .text("DeviceType", self.device_type)
            .text("DeviceModel", self.device_model)
            .text("DeviceOS", self.device_os)
            .text("DeviceUserAgent", self.device_user_agent)
            .text("DeviceFriendlyName", self.device_friendly_name)
            .date_time("FirstSyncTime", self.first_sync_time)
            .date_time("LastPolicyUpdateTime", self.last_policy_update_time)
            .date_time("LastSyncAttemptTime", self.last_sync_attempt_time)
            .date_time("LastSuccessSync", self.last_success_sync)
            .date_time("DeviceWipeRequestTime", self.device_wipe_request_time)
            .date_time("DeviceWipeSentTime", self.device_wipe_sent_time)
            .date_time("DeviceWipeAckTime", self.device_wipe_ack_time)
            .text("LastDeviceWipeRequestor", self.last_device_wipe_requestor)
            .bool("IsRemoteWipeSupported", self.is_remote_wipe_supported)
            .enumeration(
                "Status",
                "Microsoft.Exchange.Management.Tasks.DeviceRemoteWipeStatus",
                self.status.as_str(),
                self.status.number(),
            )
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
            .text("ClientType", self.client_type)
            .build()
    }

    fn take_from(value: &mut PsValue) -> Result<ActiveSyncDeviceStatistics, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        let device_id = object.optional_text("DeviceID").or_else(|| object.optional_text("DeviceId"));
        Ok(ActiveSyncDeviceStatistics {
            identity: object.required_text("Identity")?,
            guid: object.guid("Guid"),
            device_id: device_id.unwrap_or_default(),
            device_type: object.text("DeviceType"),
            device_model: object.text("DeviceModel"),
            device_os: object.text("DeviceOS"),
            device_user_agent: object.text("DeviceUserAgent"),
            device_friendly_name: object.text("DeviceFriendlyName"),
            first_sync_time: object.date_time("FirstSyncTime")?,
            last_policy_update_time: object.date_time("LastPolicyUpdateTime")?,
            last_sync_attempt_time: object.date_time("LastSyncAttemptTime")?,
            last_success_sync: object.date_time("LastSuccessSync")?,
            device_wipe_request_time: object.date_time("DeviceWipeRequestTime")?,
            device_wipe_sent_time: object.date_time("DeviceWipeSentTime")?,
            device_wipe_ack_time: object.date_time("DeviceWipeAckTime")?,
            last_device_wipe_requestor: object.text("LastDeviceWipeRequestor"),
            is_remote_wipe_supported: object.bool("IsRemoteWipeSupported", true)?,
            status: object.optional_text("Status").map(|text| WipeStatus::parse(&text)).unwrap_or_default(),
            device_access_state: object.exchange_state("DeviceAccessState"),
            device_access_state_reason: object.exchange_reason("DeviceAccessStateReason"),
            device_access_control_rule: object.optional_text("DeviceAccessControlRule"),
            client_type: object.text("ClientType"),
        })
    }
}
