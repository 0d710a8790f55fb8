//! `Get-ActiveSyncOrganizationSettings`: the organisation's ActiveSync singleton, with the
//! `DefaultAccessLevel` every device without a list entry or rule gets (reference/exchange.md 1.6).

use crate::clixml::value::PsValue;
use crate::domain::vocabulary::AccessLevel;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::objects::{DEVICE_ACCESS_LEVEL, ObjectBuilder, ObjectReader, access_level_number};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject};

/// The singleton's default Identity.
pub const ORGANIZATION_SETTINGS_IDENTITY: &str = "Mobile Mailbox Settings";

/// `Get-ActiveSyncOrganizationSettings [-Identity <id>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetActiveSyncOrganizationSettings {
    pub identity: Option<String>,
}

impl Cmdlet for GetActiveSyncOrganizationSettings {
    const NAME: &'static str = "Get-ActiveSyncOrganizationSettings";
    type Output = ActiveSyncOrganizationSettings;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME).optional_text("Identity", self.identity.as_deref())
    }

    fn from_call(call: &CmdletCall) -> Result<GetActiveSyncOrganizationSettings, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity"])?;
        Ok(GetActiveSyncOrganizationSettings { identity: parameters.text("Identity")? })
    }
}

/// An `ActiveSyncOrganizationSettings` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSyncOrganizationSettings {
    pub identity: String,
    pub name: String,
    pub default_access_level: AccessLevel,
    /// Footer of the quarantine mail, at most 256 characters.
    pub user_mail_insert: String,
    pub admin_mail_recipients: Vec<String>,
    pub ota_notification_mail_insert: String,
}

const TYPE_NAME: &str = "Microsoft.Exchange.Data.Directory.SystemConfiguration.ActiveSyncOrganizationSettings";

impl ExchangeObject for ActiveSyncOrganizationSettings {
    fn into_object(self) -> PsValue {
        ObjectBuilder::new(&[
            TYPE_NAME,
            "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
            "Microsoft.Exchange.Data.Directory.ADObject",
            "Microsoft.Exchange.Data.ConfigurableObject",
        ])
        .with_to_string(self.name.clone())
        .text("Identity", self.identity)
        .text("Name", self.name)
        .enumeration(
            "DefaultAccessLevel",
            DEVICE_ACCESS_LEVEL,
            self.default_access_level.exchange_name(),
            Some(access_level_number(self.default_access_level)),
        )
        .text("UserMailInsert", self.user_mail_insert)
        .multi_valued("AdminMailRecipients", self.admin_mail_recipients)
        .text("OtaNotificationMailInsert", self.ota_notification_mail_insert)
        .build()
    }

    fn take_from(value: &mut PsValue) -> Result<ActiveSyncOrganizationSettings, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        Ok(ActiveSyncOrganizationSettings {
            identity: object.optional_text("Identity").unwrap_or_else(|| ORGANIZATION_SETTINGS_IDENTITY.to_string()),
            name: object.text("Name"),
            default_access_level: object.access_level("DefaultAccessLevel")?,
            user_mail_insert: object.text("UserMailInsert"),
            admin_mail_recipients: object.multi_valued("AdminMailRecipients"),
            ota_notification_mail_insert: object.text("OtaNotificationMailInsert"),
        })
    }
}
