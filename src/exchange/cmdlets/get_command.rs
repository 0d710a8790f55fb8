//! `Get-Command`: which cmdlets the account may run; `easgate check` confirms every required
//! cmdlet is there (RBAC roles hide the others).

use crate::clixml::value::PsValue;
use crate::domain::cmdlet_call::ParamValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::objects::{ObjectBuilder, ObjectReader, enum_value};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, ExchangeObject};

/// `Get-Command [-Name <name,...>]`. A name that is not available gives a non-terminating
/// CommandNotFoundException.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetCommand {
    pub name: Vec<String>,
}

impl GetCommand {
    pub fn names(names: &[&str]) -> GetCommand {
        GetCommand { name: names.iter().map(|name| name.to_string()).collect() }
    }
}

impl Cmdlet for GetCommand {
    const NAME: &'static str = "Get-Command";
    type Output = CommandInfo;

    fn into_call(&self) -> CmdletCall {
        let names = (!self.name.is_empty()).then(|| ParamValue::List(self.name.clone()));
        CmdletCall::new(Self::NAME).optional("Name", names)
    }

    fn from_call(call: &CmdletCall) -> Result<GetCommand, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["Name"])?;
        Ok(GetCommand { name: parameters.list("Name")?.unwrap_or_default() })
    }
}

/// A `CmdletInfo` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandInfo {
    pub name: String,
    /// `Cmdlet`, `Function`, `Alias`.
    pub command_type: String,
    pub verb: String,
    pub noun: String,
    pub module_name: String,
}

const TYPE_NAME: &str = "System.Management.Automation.CmdletInfo";
const COMMAND_TYPES: [(&str, i32); 4] = [("Alias", 1), ("Function", 2), ("Filter", 4), ("Cmdlet", 8)];

impl CommandInfo {
    pub fn cmdlet(name: &str) -> CommandInfo {
        let (verb, noun) = name.split_once('-').unwrap_or((name, ""));
        CommandInfo {
            name: name.to_string(),
            command_type: "Cmdlet".to_string(),
            verb: verb.to_string(),
            noun: noun.to_string(),
            module_name: String::new(),
        }
    }
}

impl ExchangeObject for CommandInfo {
    fn into_object(self) -> PsValue {
        let number = COMMAND_TYPES.iter().find(|(name, _)| *name == self.command_type).map(|(_, number)| *number);
        ObjectBuilder::new(&[TYPE_NAME, "System.Management.Automation.CommandInfo"])
            .with_to_string(self.name.clone())
            .text("Name", self.name)
            .value("CommandType", enum_value("System.Management.Automation.CommandTypes", &self.command_type, number))
            .text("Verb", self.verb)
            .text("Noun", self.noun)
            .text("ModuleName", self.module_name)
            .build()
    }

    fn take_from(value: &mut PsValue) -> Result<CommandInfo, CmdletError> {
        let mut object = ObjectReader::new(value, TYPE_NAME)?;
        let name = match object.optional_text("Name") {
            Some(name) => name,
            None => object.take_to_string().ok_or_else(|| CmdletError::BadObject {
                type_name: TYPE_NAME.to_string(),
                property: "Name".to_string(),
                detail: "missing".to_string(),
            })?,
        };
        Ok(CommandInfo {
            name,
            command_type: object.text("CommandType"),
            verb: object.text("Verb"),
            noun: object.text("Noun"),
            module_name: object.text("ModuleName"),
        })
    }
}
