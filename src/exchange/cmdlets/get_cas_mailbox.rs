//! `Get-CASMailbox`: a mailbox's client access settings, among them its ActiveSync allow and
//! block lists (reference/exchange.md section 1.5).

use uuid::Uuid;

use crate::clixml::value::PsValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::objects::{ObjectBuilder, ObjectReader};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject, ResultSize, opath};

/// `Get-CASMailbox [-Identity <id>] [-Filter <OPATH>] [-ResultSize <n|Unlimited>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetCasMailbox {
    pub identity: Option<String>,
    pub filter: Option<String>,
    pub result_size: Option<ResultSize>,
}

impl GetCasMailbox {
    /// One mailbox, by SMTP address, UPN, alias or Identity.
    pub fn identity(identity: &str) -> GetCasMailbox {
        GetCasMailbox { identity: Some(identity.to_string()), ..GetCasMailbox::default() }
    }

    /// Every mailbox with an ActiveSync partnership:
    /// `-Filter "HasActiveSyncDevicePartnership -eq $true" -ResultSize Unlimited`.
    pub fn with_partnerships() -> GetCasMailbox {
        GetCasMailbox {
            identity: None,
            filter: Some(opath::has_activesync_device_partnership()),
            result_size: Some(ResultSize::Unlimited),
        }
    }
}

impl Cmdlet for GetCasMailbox {
    const NAME: &'static str = "Get-CASMailbox";
    type Output = CasMailbox;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .optional_text("Identity", self.identity.as_deref())
            .optional_text("Filter", self.filter.as_deref())
            .optional("ResultSize", self.result_size.map(ResultSize::to_param))
    }

    fn from_call(call: &CmdletCall) -> Result<GetCasMailbox, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity", "Filter", "ResultSize"])?;
        Ok(GetCasMailbox {
            identity: parameters.text("Identity")?,
            filter: parameters.text("Filter")?,
            result_size: parameters.result_size("ResultSize")?,
        })
    }
}

/// A `CASMailbox` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasMailbox {
    /// The canonical name of the user, e.g. `contoso.com/Users/alice`: the prefix of the
    /// Identity of its devices.
    pub identity: String,
    pub name: String,
    pub display_name: String,
    pub sam_account_name: String,
    pub primary_smtp_address: String,
    pub guid: Option<Uuid>,
    pub activesync_enabled: bool,
    pub activesync_allowed_device_ids: Vec<String>,
    pub activesync_blocked_device_ids: Vec<String>,
    pub activesync_mailbox_policy: String,
    pub activesync_mailbox_policy_is_defaulted: bool,
    pub has_activesync_device_partnership: bool,
}

const TYPE_NAME: &str = "Microsoft.Exchange.Data.Directory.Management.CASMailbox";

impl ExchangeObject for CasMailbox {
    fn into_object(self) -> PsValue {
        let mut object = ObjectBuilder::new(&[
            TYPE_NAME,
            "Microsoft.Exchange.Data.Directory.Management.ADPresentationObject",
            "Microsoft.Exchange.Data.Directory.ADObject",
            "Microsoft.Exchange.Data.ConfigurableObject",
        ])
        .with_capacity(13)
        .with_to_string(self.name.clone())
        .text("Identity", self.identity)
        .text("Name", self.name)
        .text("DisplayName", self.display_name)
        .text("SamAccountName", self.sam_account_name)
        .text("PrimarySmtpAddress", self.primary_smtp_address);
        if let Some(guid) = self.guid {
            object = object.guid("Guid", guid);
        }
        object
            .bool("ActiveSyncEnabled", self.activesync_enabled)
            .multi_valued("ActiveSyncAllowedDeviceIDs", self.activesync_allowed_device_ids)
            .multi_valued("ActiveSyncBlockedDeviceIDs", self.activesync_blocked_device_ids)
            .text("ActiveSyncMailboxPolicy", self.activesync_mailbox_policy)
            .bool("ActiveSyncMailboxPolicyIsDefaulted", self.activesync_mailbox_policy_is_defaulted)
            .bool("HasActiveSyncDevicePartnership", self.has_activesync_device_partnership)
            .build()
    }

    fn take_from(value: &mut PsValue) -> Result<CasMailbox, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        Ok(CasMailbox {
            identity: object.required_text("Identity")?,
            name: object.text("Name"),
            display_name: object.text("DisplayName"),
            sam_account_name: object.text("SamAccountName"),
            primary_smtp_address: object.required_text("PrimarySmtpAddress")?,
            guid: object.guid("Guid"),
            activesync_enabled: object.bool("ActiveSyncEnabled", true)?,
            activesync_allowed_device_ids: object.multi_valued("ActiveSyncAllowedDeviceIDs"),
            activesync_blocked_device_ids: object.multi_valued("ActiveSyncBlockedDeviceIDs"),
            activesync_mailbox_policy: object.text("ActiveSyncMailboxPolicy"),
            activesync_mailbox_policy_is_defaulted: object.bool("ActiveSyncMailboxPolicyIsDefaulted", false)?,
            has_activesync_device_partnership: object.bool("HasActiveSyncDevicePartnership", false)?,
        })
    }
}
