//! CREATE_PIPELINE (MS-PSRP 2.2.2.10): a cmdlet with typed, named parameters, never script
//! text. Building (client) writes only the Merge fields the negotiated protocol version knows;
//! parsing (server) turns the pipeline back into a `CmdletCall` and refuses scripts the way
//! Exchange's NoLanguage endpoint does.

use crate::clixml::value::{Container, PsObject, PsValue};
use crate::domain::cmdlet_call::{CmdletCall, ListEdit, ParamValue, Parameters};
use crate::exchange::ErrorRecord;
use crate::psrp::capability::{ProtocolVersion, null_host_info};
use crate::psrp::error::PsrpError;
use crate::psrp::message::MessageType;
use crate::psrp::values::{
    HASHTABLE_TYPE_NAMES, OBJECT_ARRAY_TYPE_NAMES, enum_value, member_object, top_object, typed_dictionary, typed_list,
};

const COMMAND_LIST_TYPE_NAMES: [&str; 2] = [
    "System.Collections.Generic.List`1[[System.Management.Automation.PSObject, System.Management.Automation, Version=1.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]",
    "System.Object",
];
const RESULT_TYPES: &str = "System.Management.Automation.Runspaces.PipelineResultTypes";

/// One command of a pipeline as PSRP carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineCommand {
    pub name: String,
    pub is_script: bool,
    /// (parameter name or `None` for a positional argument, value).
    pub arguments: Vec<(Option<String>, PsValue)>,
}

impl PipelineCommand {
    /// The command for a cmdlet call: every parameter named, every value typed.
    pub fn from_call(call: &CmdletCall) -> PipelineCommand {
        let arguments =
            call.parameters.0.iter().map(|(name, value)| (Some(name.clone()), parameter_value(value))).collect();
        PipelineCommand { name: call.cmdlet.clone(), is_script: false, arguments }
    }
}

/// A parameter value as PowerShell binds it: Text -> `<S>`, Bool -> `<B>`, Int -> `<I32>` when
/// it fits else `<I64>`, List -> `System.Object[]`, Edit -> a Hashtable `@{Add=..;Remove=..}`.
pub fn parameter_value(value: &ParamValue) -> PsValue {
    let string_list =
        |items: &[String]| typed_list(&OBJECT_ARRAY_TYPE_NAMES, items.iter().map(PsValue::string).collect());
    match value {
        ParamValue::Text(text) => PsValue::string(text),
        ParamValue::Bool(value) => PsValue::Bool(*value),
        ParamValue::Int(value) => i32::try_from(*value).map(PsValue::I32).unwrap_or(PsValue::I64(*value)),
        ParamValue::List(items) => string_list(items),
        ParamValue::Edit(edit) => {
            let mut entries = Vec::new();
            if !edit.add.is_empty() || edit.remove.is_empty() {
                entries.push((PsValue::string("Add"), string_list(&edit.add)));
            }
            if !edit.remove.is_empty() {
                entries.push((PsValue::string("Remove"), string_list(&edit.remove)));
            }
            typed_dictionary(&HASHTABLE_TYPE_NAMES, entries)
        }
    }
}

/// CREATE_PIPELINE data for `commands`, shaped for `version` (2.1 knows three Merge fields,
/// 2.2 adds Error/Warning/Verbose/Debug, 2.3 adds Information).
pub fn create_pipeline_value(commands: &[PipelineCommand], version: ProtocolVersion, no_input: bool) -> PsValue {
    let commands_value =
        typed_list(&COMMAND_LIST_TYPE_NAMES, commands.iter().map(|command| command_value(command, version)).collect());
    let power_shell = member_object(vec![
        ("IsNested", PsValue::Bool(false)),
        ("ExtraCmds", PsValue::Null),
        ("Cmds", commands_value),
        ("History", PsValue::Null),
        ("RedirectShellErrorOutputPipe", PsValue::Bool(false)),
    ]);
    member_object(vec![
        ("NoInput", PsValue::Bool(no_input)),
        ("ApartmentState", enum_value("System.Management.Automation.Runspaces.ApartmentState", "UNKNOWN", 2)),
        (
            "RemoteStreamOptions",
            enum_value("System.Management.Automation.Runspaces.RemoteStreamOptions", "AddInvocationInfo", 15),
        ),
        ("AddToHistory", PsValue::Bool(false)),
        ("HostInfo", null_host_info()),
        ("PowerShell", power_shell),
        ("IsNested", PsValue::Bool(false)),
    ])
}

fn command_value(command: &PipelineCommand, version: ProtocolVersion) -> PsValue {
    let none = || enum_value(RESULT_TYPES, "None", 0);
    let arguments = command
        .arguments
        .iter()
        .map(|(name, value)| {
            member_object(vec![("N", name.clone().map(PsValue::String).unwrap_or(PsValue::Null)), ("V", value.clone())])
        })
        .collect();
    let mut members = vec![
        ("Cmd", PsValue::string(&command.name)),
        ("IsScript", PsValue::Bool(command.is_script)),
        ("UseLocalScope", PsValue::Null),
        ("MergeMyResult", none()),
        ("MergeToResult", none()),
        ("MergePreviousResults", none()),
        ("Args", typed_list(&COMMAND_LIST_TYPE_NAMES, arguments)),
    ];
    if version >= ProtocolVersion::V2_2 {
        members.extend([
            ("MergeError", none()),
            ("MergeWarning", none()),
            ("MergeVerbose", none()),
            ("MergeDebug", none()),
        ]);
    }
    if version >= ProtocolVersion::V2_3 {
        members.push(("MergeInformation", none()));
    }
    member_object(members)
}

/// The commands of a CREATE_PIPELINE (server side).
pub fn parse_create_pipeline(value: &PsValue) -> Result<Vec<PipelineCommand>, PsrpError> {
    let message_type = MessageType::CreatePipeline;
    let bad =
        |field: &'static str, detail: &str| PsrpError::BadField { message_type, field, detail: detail.to_string() };
    let root = top_object(message_type, value)?;
    let power_shell = root
        .get("PowerShell")
        .and_then(PsValue::as_object)
        .ok_or_else(|| PsrpError::missing(message_type, "PowerShell"))?;
    let commands = power_shell.get("Cmds").ok_or_else(|| PsrpError::missing(message_type, "Cmds"))?;
    commands
        .items()
        .into_iter()
        .map(|command| {
            let command = command.as_object().ok_or_else(|| bad("Cmds", "a command is not an <Obj>"))?;
            let name = command.text("Cmd").ok_or_else(|| bad("Cmd", "missing"))?;
            let is_script = command.bool("IsScript").unwrap_or(false);
            let arguments = match command.get("Args") {
                Some(arguments) => arguments.items().into_iter().map(argument).collect::<Result<Vec<_>, _>>()?,
                None => Vec::new(),
            };
            Ok(PipelineCommand { name, is_script, arguments })
        })
        .collect()
}

fn argument(value: &PsValue) -> Result<(Option<String>, PsValue), PsrpError> {
    let object = value.as_object().ok_or_else(|| PsrpError::BadField {
        message_type: MessageType::CreatePipeline,
        field: "Args",
        detail: "an argument is not an <Obj> with N and V".to_string(),
    })?;
    let name = object.get("N").and_then(PsValue::as_text);
    Ok((name, object.get("V").cloned().unwrap_or(PsValue::Null)))
}

/// Why a server refuses a pipeline. Reported to the client as a Failed pipeline, like PowerShell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineRejection {
    /// Script text on a NoLanguage endpoint. **Handling:** send commands, never scripts.
    #[error("The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.")]
    ScriptNotAllowed { script: String },
    /// Not exactly one command. **Handling:** send one cmdlet per pipeline.
    #[error("a pipeline must hold exactly one command; this one holds {count}")]
    NotOneCommand { count: usize },
    /// An argument without a parameter name. **Handling:** name every parameter.
    #[error("{cmdlet}: positional arguments are not supported; name the parameter")]
    PositionalArgument { cmdlet: String },
    /// The same parameter twice. **Handling:** bind each parameter once.
    #[error("{cmdlet}: the parameter {parameter} is bound twice")]
    DuplicateParameter { cmdlet: String, parameter: String },
    /// A value that is none of the shapes a `ParamValue` can take.
    /// **Handling:** send strings, booleans, integers, string lists or @{Add=..;Remove=..}.
    #[error("{cmdlet}: the value of -{parameter} is not supported: {detail}")]
    UnsupportedValue { cmdlet: String, parameter: String, detail: String },
}

impl PipelineRejection {
    /// The ErrorRecord a PowerShell server would send for this refusal.
    pub fn to_error_record(&self) -> ErrorRecord {
        let (fully_qualified_error_id, category, target) = match self {
            PipelineRejection::ScriptNotAllowed { script } => {
                ("ScriptsNotAllowed", "ParseException", Some(script.clone()))
            }
            PipelineRejection::NotOneCommand { .. } => ("NotOneCommand", "InvalidOperation", None),
            PipelineRejection::PositionalArgument { cmdlet } => {
                ("PositionalParameterNotFound", "ParameterBindingException", Some(cmdlet.clone()))
            }
            PipelineRejection::DuplicateParameter { parameter, .. } => {
                ("ParameterAlreadyBound", "ParameterBindingException", Some(parameter.clone()))
            }
            PipelineRejection::UnsupportedValue { parameter, .. } => {
                ("CannotConvertArgument", "ParameterBindingException", Some(parameter.clone()))
            }
        };
        ErrorRecord {
            message: self.to_string(),
            fully_qualified_error_id: fully_qualified_error_id.to_string(),
            category: category.to_string(),
            target,
        }
    }
}

/// The cmdlet call a pipeline asks for, or why it is refused.
pub fn call_from_commands(commands: &[PipelineCommand]) -> Result<CmdletCall, PipelineRejection> {
    let [command] = commands else {
        return Err(PipelineRejection::NotOneCommand { count: commands.len() });
    };
    if command.is_script {
        return Err(PipelineRejection::ScriptNotAllowed { script: command.name.clone() });
    }
    let mut parameters: Vec<(String, ParamValue)> = Vec::with_capacity(command.arguments.len());
    for (name, value) in &command.arguments {
        let Some(name) = name else {
            return Err(PipelineRejection::PositionalArgument { cmdlet: command.name.clone() });
        };
        let name = name.strip_prefix('-').unwrap_or(name);
        if parameters.iter().any(|(bound, _)| bound.eq_ignore_ascii_case(name)) {
            return Err(PipelineRejection::DuplicateParameter {
                cmdlet: command.name.clone(),
                parameter: name.to_string(),
            });
        }
        let parameter_value = param_value_from(value).map_err(|detail| PipelineRejection::UnsupportedValue {
            cmdlet: command.name.clone(),
            parameter: name.to_string(),
            detail,
        })?;
        parameters.push((name.to_string(), parameter_value));
    }
    Ok(CmdletCall { cmdlet: command.name.clone(), parameters: Parameters(parameters) })
}

/// The `ParamValue` a serialised argument value stands for.
fn param_value_from(value: &PsValue) -> Result<ParamValue, String> {
    Ok(match value {
        // A switch with no value (`-Force`) arrives as `<Nil N="V"/>`.
        PsValue::Null => ParamValue::Bool(true),
        PsValue::Bool(value) => ParamValue::Bool(*value),
        PsValue::String(text) => ParamValue::Text(text.clone()),
        PsValue::U64(value) => {
            ParamValue::Int(i64::try_from(*value).map_err(|_| format!("{value} does not fit in Int64"))?)
        }
        PsValue::I8(_) | PsValue::U8(_) | PsValue::I16(_) | PsValue::U16(_) | PsValue::I32(_) | PsValue::U32(_) => {
            ParamValue::Int(value.as_i64().unwrap_or_default())
        }
        PsValue::I64(value) => ParamValue::Int(*value),
        PsValue::Object(object) => return object_param_value(object),
        other => return Err(format!("a {other:?} value")),
    })
}

fn object_param_value(object: &PsObject) -> Result<ParamValue, String> {
    match &object.container {
        Some(Container::Dictionary(entries)) => {
            let mut edit = ListEdit::default();
            for (key, value) in entries {
                let items = string_items(value)?;
                match key.as_text().as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("add") => edit.add = items,
                    Some("remove") => edit.remove = items,
                    _ => return Err(format!("a hashtable key {key:?}; only Add and Remove are supported")),
                }
            }
            Ok(ParamValue::Edit(edit))
        }
        Some(_) => Ok(ParamValue::List(string_items(&PsValue::Object(Box::new(object.clone())))?)),
        None => match &object.value {
            Some(inner) => param_value_from(inner),
            None => Err(format!("an object of type {:?}", object.type_names.first())),
        },
    }
}

fn string_items(value: &PsValue) -> Result<Vec<String>, String> {
    value
        .items()
        .into_iter()
        .map(|item| match item {
            PsValue::String(text) => Ok(text.clone()),
            other => Err(format!("a list item {other:?} that is not a string")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_shape_survives_the_wire() {
        let call = CmdletCall::new("Set-CASMailbox")
            .text("Identity", "x\"; Remove-Mailbox -Identity *; \"")
            .switch("Confirm", false)
            .with("ResultSize", ParamValue::Int(5_000_000_000))
            .with("Count", ParamValue::Int(-3))
            .with("Ids", ParamValue::List(vec!["a".to_string(), "b".to_string()]))
            .with(
                "ActiveSyncAllowedDeviceIDs",
                ParamValue::Edit(ListEdit { add: vec!["d1".to_string()], remove: vec!["d2".to_string()] }),
            )
            .with("Empty", ParamValue::Edit(ListEdit::default()));
        for version in [ProtocolVersion::V2_1, ProtocolVersion::V2_2, ProtocolVersion::V2_3] {
            let value = create_pipeline_value(&[PipelineCommand::from_call(&call)], version, true);
            let xml = crate::clixml::write::write_value(&value);
            let parsed = crate::clixml::read::parse_value(&xml).unwrap();
            assert_eq!(call_from_commands(&parse_create_pipeline(&parsed).unwrap()), Ok(call.clone()));
            assert_eq!(xml.contains("MergeError"), version >= ProtocolVersion::V2_2);
            assert_eq!(xml.contains("MergeInformation"), version >= ProtocolVersion::V2_3);
        }
    }

    #[test]
    fn scripts_are_refused_like_a_no_language_endpoint() {
        let script =
            PipelineCommand { name: "Get-Date; Remove-Item *".to_string(), is_script: true, arguments: vec![] };
        let rejection = call_from_commands(&[script]).unwrap_err();
        assert!(rejection.to_string().contains("no-language mode"));
        assert_eq!(rejection.to_error_record().fully_qualified_error_id, "ScriptsNotAllowed");
    }
}
