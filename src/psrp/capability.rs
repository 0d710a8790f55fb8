//! Opening a runspace pool: SESSION_CAPABILITY (protocol version negotiation),
//! INIT_RUNSPACEPOOL, APPLICATION_PRIVATE_DATA and RUNSPACEPOOL_STATE.

use crate::clixml::value::PsValue;
use crate::exchange::ErrorRecord;
use crate::psrp::error::PsrpError;
use crate::psrp::message::MessageType;
use crate::psrp::records::{error_record_from_value, error_record_value};
use crate::psrp::values::{
    enum_value, member_object, required_i64, required_text, top_object, typed_dictionary, typed_list,
};

/// A PSRP protocol version. 2.1 = PowerShell 2 (Exchange 2010 on Windows 2008 R2), 2.2 =
/// PowerShell 3-4, 2.3 = PowerShell 5+. It decides which CREATE_PIPELINE fields exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProtocolVersion {
    pub major: u32,
    pub minor: u32,
}

impl ProtocolVersion {
    pub const V2_1: ProtocolVersion = ProtocolVersion { major: 2, minor: 1 };
    pub const V2_2: ProtocolVersion = ProtocolVersion { major: 2, minor: 2 };
    pub const V2_3: ProtocolVersion = ProtocolVersion { major: 2, minor: 3 };

    /// Parses `2.3`; versions below 2.0 are refused (no PowerShell speaks them).
    pub fn parse(text: &str) -> Option<ProtocolVersion> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().unwrap_or("0").parse().ok()?;
        (major >= 2).then_some(ProtocolVersion { major, minor })
    }

    /// The version both sides speak: the lower one, capped at the newest this code knows.
    pub fn negotiate(ours: ProtocolVersion, theirs: ProtocolVersion) -> ProtocolVersion {
        ours.min(theirs).min(ProtocolVersion::V2_3)
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}.{}", self.major, self.minor)
    }
}

/// SESSION_CAPABILITY data.
pub fn session_capability_value(protocol_version: ProtocolVersion) -> PsValue {
    member_object(vec![
        ("protocolversion", PsValue::Version(protocol_version.to_string())),
        ("PSVersion", PsValue::Version("2.0".to_string())),
        ("SerializationVersion", PsValue::Version("1.1.0.1".to_string())),
    ])
}

/// The protocol version a SESSION_CAPABILITY announces.
pub fn parse_session_capability(value: &PsValue) -> Result<ProtocolVersion, PsrpError> {
    let message_type = MessageType::SessionCapability;
    let object = top_object(message_type, value)?;
    let text = required_text(message_type, object, "protocolversion")?;
    ProtocolVersion::parse(&text).ok_or_else(|| PsrpError::BadField {
        message_type,
        field: "protocolversion",
        detail: format!("{text:?} is not a PSRP version this client speaks (2.x)"),
    })
}

/// `HostInfo` saying there is no host: the server must not call back for input.
pub fn null_host_info() -> PsValue {
    member_object(vec![
        ("_isHostNull", PsValue::Bool(true)),
        ("_isHostUINull", PsValue::Bool(true)),
        ("_isHostRawUINull", PsValue::Bool(true)),
        ("_useRunspaceHost", PsValue::Bool(true)),
    ])
}

/// INIT_RUNSPACEPOOL data for a pool of exactly one runspace (the shape pypsrp and PowerShell send).
pub fn init_runspace_pool_value() -> PsValue {
    member_object(vec![
        ("MinRunspaces", PsValue::I32(1)),
        ("MaxRunspaces", PsValue::I32(1)),
        ("PSThreadOptions", enum_value("System.Management.Automation.Runspaces.PSThreadOptions", "Default", 0)),
        ("ApartmentState", enum_value("System.Management.Automation.Runspaces.ApartmentState", "UNKNOWN", 2)),
        ("HostInfo", null_host_info()),
        ("ApplicationArguments", PsValue::Null),
    ])
}

/// The MaxRunspaces an INIT_RUNSPACEPOOL asks for.
pub fn parse_init_runspace_pool(value: &PsValue) -> Result<i64, PsrpError> {
    let message_type = MessageType::InitRunspacePool;
    required_i64(message_type, top_object(message_type, value)?, "MaxRunspaces")
}

/// APPLICATION_PRIVATE_DATA as a server sends it: a PSVersionTable.
pub fn application_private_data_value(protocol_version: ProtocolVersion) -> PsValue {
    const DICTIONARY: [&str; 3] =
        ["System.Management.Automation.PSPrimitiveDictionary", "System.Collections.Hashtable", "System.Object"];
    let version = |text: &str| PsValue::Version(text.to_string());
    let key = |text: &str| PsValue::string(text);
    let version_table = typed_dictionary(
        &DICTIONARY,
        vec![
            (key("PSVersion"), version("5.1.17763.1")),
            (key("PSEdition"), PsValue::string("Desktop")),
            (
                key("PSCompatibleVersions"),
                typed_list(
                    &["System.Version[]", "System.Array", "System.Object"],
                    vec![version("1.0"), version("2.0")],
                ),
            ),
            (key("SerializationVersion"), version("1.1.0.1")),
            (key("PSRemotingProtocolVersion"), version(&protocol_version.to_string())),
            (key("WSManStackVersion"), version("3.0")),
        ],
    );
    member_object(vec![(
        "ApplicationPrivateData",
        typed_dictionary(&DICTIONARY, vec![(key("PSVersionTable"), version_table)]),
    )])
}

/// RunspacePoolState values (MS-PSRP 2.2.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunspacePoolState {
    BeforeOpen,
    Opening,
    Opened,
    Closed,
    Closing,
    Broken,
    NegotiationSent,
    NegotiationSucceeded,
    Connecting,
    Disconnected,
}

impl RunspacePoolState {
    pub fn from_value(value: i64) -> Option<RunspacePoolState> {
        use RunspacePoolState::*;
        [
            BeforeOpen,
            Opening,
            Opened,
            Closed,
            Closing,
            Broken,
            NegotiationSent,
            NegotiationSucceeded,
            Connecting,
            Disconnected,
        ]
        .get(usize::try_from(value).ok()?)
        .copied()
    }

    pub fn value(self) -> i32 {
        self as i32
    }
}

/// RUNSPACEPOOL_STATE data.
pub fn runspace_pool_state_value(state: RunspacePoolState, error: Option<&ErrorRecord>) -> PsValue {
    let mut members = vec![("RunspaceState", PsValue::I32(state.value()))];
    if let Some(error) = error {
        members.push(("ExceptionAsErrorRecord", error_record_value(error, false)));
    }
    member_object(members)
}

/// The state a RUNSPACEPOOL_STATE reports, with the error that broke the pool if any.
pub fn parse_runspace_pool_state(value: &PsValue) -> Result<(RunspacePoolState, Option<ErrorRecord>), PsrpError> {
    let message_type = MessageType::RunspacePoolState;
    let object = top_object(message_type, value)?;
    let number = required_i64(message_type, object, "RunspaceState")?;
    let state = RunspacePoolState::from_value(number).ok_or_else(|| PsrpError::BadField {
        message_type,
        field: "RunspaceState",
        detail: format!("{number} is not a RunspacePoolState"),
    })?;
    let error =
        object.get("ExceptionAsErrorRecord").filter(|value| **value != PsValue::Null).map(error_record_from_value);
    Ok((state, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_negotiate_down_to_the_older_side() {
        let server = ProtocolVersion::parse("2.1").unwrap();
        assert_eq!(ProtocolVersion::negotiate(ProtocolVersion::V2_3, server), ProtocolVersion::V2_1);
        assert_eq!(
            ProtocolVersion::negotiate(ProtocolVersion::V2_3, ProtocolVersion::parse("2.5").unwrap()),
            ProtocolVersion::V2_3
        );
        assert_eq!(ProtocolVersion::parse("1.0"), None);
        assert_eq!(ProtocolVersion::parse("x"), None);
    }
}
