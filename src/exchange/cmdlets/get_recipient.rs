//! `Get-Recipient`: resolves a user to its mailbox (primary SMTP address, which must equal the
//! UPN for the original connector to see the user's devices).

use uuid::Uuid;

use crate::clixml::value::PsValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::objects::{ObjectBuilder, ObjectReader};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject, ResultSize};

/// `Get-Recipient [-Identity <id>] [-Filter <OPATH>] [-ResultSize <n|Unlimited>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetRecipient {
    pub identity: Option<String>,
    pub filter: Option<String>,
    pub result_size: Option<ResultSize>,
}

impl GetRecipient {
    pub fn identity(identity: &str) -> GetRecipient {
        GetRecipient { identity: Some(identity.to_string()), ..GetRecipient::default() }
    }
}

impl Cmdlet for GetRecipient {
    const NAME: &'static str = "Get-Recipient";
    type Output = Recipient;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME)
            .optional_text("Identity", self.identity.as_deref())
            .optional_text("Filter", self.filter.as_deref())
            .optional("ResultSize", self.result_size.map(ResultSize::to_param))
    }

    fn from_call(call: &CmdletCall) -> Result<GetRecipient, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity", "Filter", "ResultSize"])?;
        Ok(GetRecipient {
            identity: parameters.text("Identity")?,
            filter: parameters.text("Filter")?,
            result_size: parameters.result_size("ResultSize")?,
        })
    }
}

/// A `ReducedRecipient` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub identity: String,
    pub name: String,
    pub alias: String,
    pub display_name: String,
    pub primary_smtp_address: String,
    /// e.g. `UserMailbox`.
    pub recipient_type: String,
    pub recipient_type_details: String,
    /// Proxy addresses, `SMTP:` for the primary one.
    pub email_addresses: Vec<String>,
    pub guid: Option<Uuid>,
}

const TYPE_NAME: &str = "Microsoft.Exchange.Data.Directory.Management.ReducedRecipient";

impl ExchangeObject for Recipient {
    fn into_object(self) -> PsValue {
        let mut object = ObjectBuilder::new(&[
            TYPE_NAME,
            "Microsoft.Exchange.Data.Directory.Management.ADPresentationObject",
            "Microsoft.Exchange.Data.ConfigurableObject",
        ])
        .with_to_string(self.name.clone())
        .text("Identity", self.identity)
        .text("Name", self.name)
        .text("Alias", self.alias)
        .text("DisplayName", self.display_name)
        .text("PrimarySmtpAddress", self.primary_smtp_address)
        .text("RecipientType", self.recipient_type)
        .text("RecipientTypeDetails", self.recipient_type_details)
        .multi_valued("EmailAddresses", self.email_addresses);
        if let Some(guid) = self.guid {
            object = object.guid("Guid", guid);
        }
        object.build()
    }

    fn take_from(value: &mut PsValue) -> Result<Recipient, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        Ok(Recipient {
            identity: object.required_text("Identity")?,
            name: object.text("Name"),
            alias: object.text("Alias"),
            display_name: object.text("DisplayName"),
            primary_smtp_address: object.text("PrimarySmtpAddress"),
            recipient_type: object.text("RecipientType"),
            recipient_type_details: object.text("RecipientTypeDetails"),
            email_addresses: object.multi_valued("EmailAddresses"),
            guid: object.guid("Guid"),
        })
    }
}
