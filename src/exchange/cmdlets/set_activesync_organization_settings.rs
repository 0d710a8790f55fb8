//! `Set-ActiveSyncOrganizationSettings`: full sync pushes the policy's default access level here;
//! Exchange re-evaluates every device without a list entry or a rule at once.

use crate::domain::vocabulary::AccessLevel;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, MultiValuedChange, NoOutput};

/// `Set-ActiveSyncOrganizationSettings [-Identity <id>] [-DefaultAccessLevel <level>]
/// [-UserMailInsert <text>] [-AdminMailRecipients <mv>] [-OtaNotificationMailInsert <text>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetActiveSyncOrganizationSettings {
    pub identity: Option<String>,
    pub default_access_level: Option<AccessLevel>,
    pub user_mail_insert: Option<String>,
    pub admin_mail_recipients: Option<MultiValuedChange>,
    pub ota_notification_mail_insert: Option<String>,
}

impl SetActiveSyncOrganizationSettings {
    pub fn default_access_level(level: AccessLevel) -> SetActiveSyncOrganizationSettings {
        SetActiveSyncOrganizationSettings { default_access_level: Some(level), ..Default::default() }
    }
}

impl Cmdlet for SetActiveSyncOrganizationSettings {
    const NAME: &'static str = "Set-ActiveSyncOrganizationSettings";
    type Output = NoOutput;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .optional_text("Identity", self.identity.as_deref())
            .optional_text("DefaultAccessLevel", self.default_access_level.map(AccessLevel::exchange_name))
            .optional_text("UserMailInsert", self.user_mail_insert.as_deref())
            .optional("AdminMailRecipients", self.admin_mail_recipients.as_ref().map(MultiValuedChange::to_param))
            .optional_text("OtaNotificationMailInsert", self.ota_notification_mail_insert.as_deref())
    }

    fn from_call(call: &CmdletCall) -> Result<SetActiveSyncOrganizationSettings, CmdletError> {
        let parameters = BoundParameters::new(
            call,
            Self::NAME,
            &["Identity", "DefaultAccessLevel", "UserMailInsert", "AdminMailRecipients", "OtaNotificationMailInsert"],
        )?;
        Ok(SetActiveSyncOrganizationSettings {
            identity: parameters.text("Identity")?,
            default_access_level: parameters.access_level("DefaultAccessLevel")?,
            user_mail_insert: parameters.text("UserMailInsert")?,
            admin_mail_recipients: parameters.multi_valued("AdminMailRecipients")?,
            ota_notification_mail_insert: parameters.text("OtaNotificationMailInsert")?,
        })
    }
}
