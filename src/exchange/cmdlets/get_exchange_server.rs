//! `Get-ExchangeServer`: the organisation's servers; CAS failover discovers the other Client
//! Access Servers with it (DESIGN section 3).

use crate::clixml::value::PsValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::objects::{ObjectBuilder, ObjectReader};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject};

/// `Get-ExchangeServer [-Identity <server>]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetExchangeServer {
    pub identity: Option<String>,
}

impl Cmdlet for GetExchangeServer {
    const NAME: &'static str = "Get-ExchangeServer";
    type Output = ExchangeServer;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME).optional_text("Identity", self.identity.as_deref())
    }

    fn from_call(call: &CmdletCall) -> Result<GetExchangeServer, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Identity"])?;
        Ok(GetExchangeServer { identity: parameters.text("Identity")? })
    }
}

/// An `ExchangeServer` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeServer {
    pub identity: String,
    pub name: String,
    pub fqdn: String,
    /// Exchange's flags as text, e.g. `Mailbox, ClientAccess`.
    pub server_role: String,
    /// e.g. `Version 15.2 (Build 1544.4)`.
    pub admin_display_version: String,
    pub is_client_access_server: bool,
    pub site: String,
}

const TYPE_NAME: &str = "Microsoft.Exchange.Data.Directory.Management.ExchangeServer";

impl ExchangeObject for ExchangeServer {
    fn into_object(self) -> PsValue {
        ObjectBuilder::new(&[
            TYPE_NAME,
            "Microsoft.Exchange.Data.Directory.Management.ADPresentationObject",
            "Microsoft.Exchange.Data.ConfigurableObject",
        ])
        .with_to_string(self.name.clone())
        .text("Identity", self.identity)
        .text("Name", self.name)
        .text("Fqdn", self.fqdn)
        .text("ServerRole", self.server_role)
        .text("AdminDisplayVersion", self.admin_display_version)
        .bool("IsClientAccessServer", self.is_client_access_server)
        .text("Site", self.site)
        .build()
    }

    fn take_from(value: &mut PsValue) -> Result<ExchangeServer, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        let name = object.required_text("Name")?;
        let server_role = object.text("ServerRole");
        // Exchange 2016+ has no separate CAS role; older servers without the flag property are
        // Client Access Servers when their role says so.
        let role_says_cas = server_role.contains("ClientAccess");
        Ok(ExchangeServer {
            identity: object.optional_text("Identity").unwrap_or_else(|| name.clone()),
            fqdn: object.optional_text("Fqdn").unwrap_or_else(|| name.clone()),
            name,
            admin_display_version: object.text("AdminDisplayVersion"),
            is_client_access_server: object.bool("IsClientAccessServer", role_says_cas)?,
            server_role,
            site: object.text("Site"),
        })
    }
}
