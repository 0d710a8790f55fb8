//! Pipeline results other than output objects: ERROR_RECORD, WARNING_RECORD (and the other
//! informational records), PIPELINE_STATE with its terminating error, and PIPELINE_HOST_CALL.

use crate::clixml::value::{PsObject, PsValue};
use crate::exchange::ErrorRecord;
use crate::psrp::error::PsrpError;
use crate::psrp::message::MessageType;
use crate::psrp::values::{member_object, required_i64, top_object, typed_member_object};

/// PSInvocationState (MS-PSRP 2.2.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineState {
    NotStarted,
    Running,
    Stopping,
    Stopped,
    Completed,
    Failed,
    Disconnected,
}

impl PipelineState {
    pub fn from_value(value: i64) -> Option<PipelineState> {
        use PipelineState::*;
        [NotStarted, Running, Stopping, Stopped, Completed, Failed, Disconnected]
            .get(usize::try_from(value).ok()?)
            .copied()
    }

    pub fn value(self) -> i32 {
        self as i32
    }

    /// Whether the pipeline has finished and no more messages follow.
    pub fn is_terminal(self) -> bool {
        matches!(self, PipelineState::Stopped | PipelineState::Completed | PipelineState::Failed)
    }
}

/// PIPELINE_STATE data.
pub fn pipeline_state_value(state: PipelineState, error: Option<&ErrorRecord>) -> PsValue {
    let mut members = vec![("PipelineState", PsValue::I32(state.value()))];
    if let Some(error) = error {
        members.push(("ExceptionAsErrorRecord", error_record_value(error, false)));
    }
    member_object(members)
}

/// The state a PIPELINE_STATE reports and, for Failed, the terminating error.
pub fn parse_pipeline_state(value: &PsValue) -> Result<(PipelineState, Option<ErrorRecord>), PsrpError> {
    let message_type = MessageType::PipelineState;
    let object = top_object(message_type, value)?;
    let number = required_i64(message_type, object, "PipelineState")?;
    let state = PipelineState::from_value(number).ok_or_else(|| PsrpError::BadField {
        message_type,
        field: "PipelineState",
        detail: format!("{number} is not a PSInvocationState"),
    })?;
    let error =
        object.get("ExceptionAsErrorRecord").filter(|value| **value != PsValue::Null).map(error_record_from_value);
    Ok((state, error))
}

/// Reduces a serialised ErrorRecord to what easgate shows and decides on. Never fails: a
/// record with odd fields still yields whatever text it has.
pub fn error_record_from_value(value: &PsValue) -> ErrorRecord {
    let Some(object) = value.as_object() else {
        return ErrorRecord { message: value.as_text().unwrap_or_default(), ..ErrorRecord::default() };
    };
    let non_empty = |name: &str| object.text(name).filter(|text| !text.is_empty());
    let exception_message =
        object.get("Exception").and_then(PsValue::as_object).and_then(|exception| exception.text("Message"));
    let message = non_empty("ErrorDetails_Message")
        .or(exception_message)
        .or_else(|| object.to_string.clone())
        .or_else(|| non_empty("ErrorCategory_Message"))
        .unwrap_or_default();
    let category = non_empty("ErrorCategory_Reason")
        .or_else(|| object.get("ErrorCategory_Category").and_then(PsValue::as_i64).map(category_name))
        .unwrap_or_default();
    let target = object
        .get("TargetObject")
        .and_then(PsValue::as_text)
        .filter(|text| !text.is_empty())
        .or_else(|| non_empty("ErrorCategory_TargetName"));
    ErrorRecord {
        message,
        fully_qualified_error_id: object.text("FullyQualifiedErrorId").unwrap_or_default(),
        category,
        target,
    }
}

/// An ErrorRecord serialised the way PowerShell does (the members easgate and PowerShell read).
/// `for_error_stream` adds `writeErrorStream`, which ERROR_RECORD messages carry.
pub fn error_record_value(record: &ErrorRecord, for_error_stream: bool) -> PsValue {
    let exception = PsValue::Object(Box::new(PsObject {
        type_names: vec!["System.Exception".to_string(), "System.Object".to_string()].into(),
        to_string: Some(record.message.clone()),
        properties: vec![
            ("Message".to_string(), PsValue::string(&record.message)),
            ("HResult".to_string(), PsValue::I32(-2146233087)),
        ],
        ..PsObject::default()
    }));
    let target = record.target.clone().unwrap_or_default();
    let category_number = category_number(&record.category);
    let mut members = Vec::new();
    if for_error_stream {
        members.push(("writeErrorStream", PsValue::Bool(true)));
    }
    members.extend([
        ("Exception", exception),
        ("TargetObject", record.target.clone().map(PsValue::String).unwrap_or(PsValue::Null)),
        ("FullyQualifiedErrorId", PsValue::string(&record.fully_qualified_error_id)),
        ("InvocationInfo", PsValue::Null),
        ("ErrorCategory_Category", PsValue::I32(category_number)),
        ("ErrorCategory_Activity", PsValue::string("")),
        ("ErrorCategory_Reason", PsValue::string(&record.category)),
        ("ErrorCategory_TargetName", PsValue::string(&target)),
        ("ErrorCategory_TargetType", PsValue::string("String")),
        (
            "ErrorCategory_Message",
            PsValue::String(format!(
                "{}: ({target}:String) [], {}",
                category_name(i64::from(category_number)),
                record.category
            )),
        ),
        ("SerializeExtendedInfo", PsValue::Bool(false)),
    ]);
    typed_member_object(&["System.Management.Automation.ErrorRecord", "System.Object"], &record.message, members)
}

/// The message of a WARNING/VERBOSE/DEBUG/INFORMATION record.
pub fn informational_record_message(value: &PsValue) -> String {
    match value.as_object() {
        Some(object) => object
            .text("InformationalRecord_Message")
            .or_else(|| object.text("MessageData"))
            .or_else(|| object.to_string.clone())
            .unwrap_or_default(),
        None => value.as_text().unwrap_or_default(),
    }
}

/// WARNING_RECORD data.
pub fn warning_record_value(message: &str) -> PsValue {
    typed_member_object(
        &[
            "System.Management.Automation.WarningRecord",
            "System.Management.Automation.InformationalRecord",
            "System.Object",
        ],
        message,
        vec![
            ("InformationalRecord_Message", PsValue::string(message)),
            ("InformationalRecord_SerializeInvocationInfo", PsValue::Bool(false)),
        ],
    )
}

/// The host method a PIPELINE_HOST_CALL asks for (`mi` member, e.g. `PromptForChoice`).
pub fn host_call_method(value: &PsValue) -> String {
    value
        .as_object()
        .and_then(|object| object.get("mi"))
        .and_then(PsValue::as_text)
        .unwrap_or_else(|| "an unknown method".to_string())
}

/// ErrorCategory names by number (System.Management.Automation.ErrorCategory).
const CATEGORY_NAMES: [&str; 32] = [
    "NotSpecified",
    "OpenError",
    "CloseError",
    "DeviceError",
    "DeadlockDetected",
    "InvalidArgument",
    "InvalidData",
    "InvalidOperation",
    "InvalidResult",
    "InvalidType",
    "MetadataError",
    "NotImplemented",
    "NotInstalled",
    "ObjectNotFound",
    "OperationStopped",
    "OperationTimeout",
    "SyntaxError",
    "ParserError",
    "PermissionDenied",
    "ResourceBusy",
    "ResourceExists",
    "ResourceUnavailable",
    "ReadError",
    "WriteError",
    "FromStdErr",
    "SecurityError",
    "ProtocolError",
    "ConnectionError",
    "AuthenticationError",
    "LimitsExceeded",
    "QuotaExceeded",
    "NotEnabled",
];

fn category_name(number: i64) -> String {
    usize::try_from(number)
        .ok()
        .and_then(|index| CATEGORY_NAMES.get(index))
        .map(|name| name.to_string())
        .unwrap_or_else(|| format!("ErrorCategory{number}"))
}

/// The ErrorCategory for a reason text: an exact category name, else a guess from the
/// exception name Exchange uses, else NotSpecified.
fn category_number(category: &str) -> i32 {
    if let Some(index) = CATEGORY_NAMES.iter().position(|name| *name == category) {
        return index as i32;
    }
    let guess = if category.contains("NotFound") {
        "ObjectNotFound"
    } else if category.contains("Argument") || category.contains("Parameter") {
        "InvalidArgument"
    } else if category.contains("Parse") || category.contains("Syntax") {
        "ParserError"
    } else {
        "NotSpecified"
    };
    CATEGORY_NAMES.iter().position(|name| *name == guess).unwrap_or(0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_record_survives_its_own_serialisation() {
        let record = ErrorRecord {
            message: "The operation couldn't be performed because object 'x' couldn't be found.".to_string(),
            fully_qualified_error_id: "[Server=CAS1,RequestId=1] 5C3B6B0A,Microsoft.Exchange.Management.X".to_string(),
            category: "ManagementObjectNotFoundException".to_string(),
            target: Some("x".to_string()),
        };
        for for_error_stream in [true, false] {
            assert_eq!(error_record_from_value(&error_record_value(&record, for_error_stream)), record);
        }
        let failed = pipeline_state_value(PipelineState::Failed, Some(&record));
        assert_eq!(parse_pipeline_state(&failed).unwrap(), (PipelineState::Failed, Some(record)));
    }
}
