//! PSRP messages (MS-PSRP 2.2.1): a 40-byte little-endian header (destination, type, runspace
//! pool id, pipeline id) followed by CLIXML. GUIDs are in Windows byte order (.NET
//! `Guid.ToByteArray()`: the first three fields little-endian).

use uuid::Uuid;

use crate::clixml::read::{ClixmlError, parse_value, utf8_text};
use crate::clixml::value::PsValue;
use crate::psrp::error::PsrpError;

/// The UTF-8 byte-order mark Windows puts before every CLIXML it sends.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Length of the message header.
pub const MESSAGE_HEADER_LEN: usize = 40;

/// Who a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    Client,
    Server,
}

macro_rules! message_types {
    ($($name:ident = $value:literal,)*) => {
        /// Every message type MS-PSRP 2.2.1 defines.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MessageType { $($name,)* }

        impl MessageType {
            pub fn value(self) -> u32 {
                match self { $(MessageType::$name => $value,)* }
            }

            pub fn from_value(value: u32) -> Result<MessageType, PsrpError> {
                match value {
                    $($value => Ok(MessageType::$name),)*
                    value => Err(PsrpError::UnknownMessageType { value }),
                }
            }
        }
    };
}

message_types! {
    SessionCapability = 0x0001_0002,
    InitRunspacePool = 0x0001_0004,
    PublicKey = 0x0001_0005,
    EncryptedSessionKey = 0x0001_0006,
    PublicKeyRequest = 0x0001_0007,
    ConnectRunspacePool = 0x0001_0008,
    SetMaxRunspaces = 0x0002_1002,
    SetMinRunspaces = 0x0002_1003,
    RunspaceAvailability = 0x0002_1004,
    RunspacePoolState = 0x0002_1005,
    CreatePipeline = 0x0002_1006,
    GetAvailableRunspaces = 0x0002_1007,
    UserEvent = 0x0002_1008,
    ApplicationPrivateData = 0x0002_1009,
    GetCommandMetadata = 0x0002_100A,
    RunspacePoolInitData = 0x0002_100B,
    ResetRunspaceState = 0x0002_100C,
    RunspacePoolHostCall = 0x0002_1100,
    RunspacePoolHostResponse = 0x0002_1101,
    PipelineInput = 0x0004_1002,
    EndOfPipelineInput = 0x0004_1003,
    PipelineOutput = 0x0004_1004,
    ErrorRecord = 0x0004_1005,
    PipelineState = 0x0004_1006,
    DebugRecord = 0x0004_1007,
    VerboseRecord = 0x0004_1008,
    WarningRecord = 0x0004_1009,
    ProgressRecord = 0x0004_1010,
    InformationRecord = 0x0004_1011,
    PipelineHostCall = 0x0004_1100,
    PipelineHostResponse = 0x0004_1101,
}

/// One PSRP message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub destination: Destination,
    pub message_type: MessageType,
    /// RPID: the runspace pool (= the WS-Man ShellId).
    pub runspace_pool_id: Uuid,
    /// PID: the pipeline (= the WS-Man CommandId), or nil for pool messages.
    pub pipeline_id: Uuid,
    /// The CLIXML payload, without a byte-order mark.
    pub data: Vec<u8>,
}

impl Message {
    /// A message whose payload is `value` serialised as CLIXML.
    pub fn with_value(
        destination: Destination,
        message_type: MessageType,
        runspace_pool_id: Uuid,
        pipeline_id: Uuid,
        value: &PsValue,
    ) -> Message {
        let data = crate::clixml::write::write_value(value).into_bytes();
        Message { destination, message_type, runspace_pool_id, pipeline_id, data }
    }

    /// The wire form. Messages to the client get the UTF-8 BOM Windows servers send.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(MESSAGE_HEADER_LEN + UTF8_BOM.len() + self.data.len());
        let destination: u32 = match self.destination {
            Destination::Client => 1,
            Destination::Server => 2,
        };
        bytes.extend_from_slice(&destination.to_le_bytes());
        bytes.extend_from_slice(&self.message_type.value().to_le_bytes());
        bytes.extend_from_slice(&self.runspace_pool_id.to_bytes_le());
        bytes.extend_from_slice(&self.pipeline_id.to_bytes_le());
        if self.destination == Destination::Client && !self.data.is_empty() {
            bytes.extend_from_slice(UTF8_BOM);
        }
        bytes.extend_from_slice(&self.data);
        bytes
    }

    /// Parses the wire form, reusing the buffer for the payload (which keeps no BOM).
    pub fn decode_owned(mut bytes: Vec<u8>) -> Result<Message, PsrpError> {
        let header = Message::decode_header(&bytes)?;
        let payload_start = if bytes[MESSAGE_HEADER_LEN..].starts_with(UTF8_BOM) {
            MESSAGE_HEADER_LEN + UTF8_BOM.len()
        } else {
            MESSAGE_HEADER_LEN
        };
        bytes.drain(..payload_start);
        Ok(Message { data: bytes, ..header })
    }

    /// Parses the wire form; the payload keeps no BOM.
    pub fn decode(bytes: &[u8]) -> Result<Message, PsrpError> {
        let header = Message::decode_header(bytes)?;
        let payload = &bytes[MESSAGE_HEADER_LEN..];
        Ok(Message { data: payload.strip_prefix(UTF8_BOM).unwrap_or(payload).to_vec(), ..header })
    }

    /// The header fields, with an empty payload.
    fn decode_header(bytes: &[u8]) -> Result<Message, PsrpError> {
        if bytes.len() < MESSAGE_HEADER_LEN {
            return Err(PsrpError::MessageTooShort { length: bytes.len() });
        }
        let destination = match read_u32_le(&bytes[0..4]) {
            1 => Destination::Client,
            2 => Destination::Server,
            value => return Err(PsrpError::UnknownDestination { value }),
        };
        let message_type = MessageType::from_value(read_u32_le(&bytes[4..8]))?;
        let runspace_pool_id = guid_le(&bytes[8..24]);
        let pipeline_id = guid_le(&bytes[24..40]);
        Ok(Message { destination, message_type, runspace_pool_id, pipeline_id, data: Vec::new() })
    }

    /// The payload as one CLIXML value (`Nil` for an empty payload such as END_OF_PIPELINE_INPUT).
    pub fn value(&self) -> Result<PsValue, PsrpError> {
        if self.data.is_empty() {
            return Ok(PsValue::Null);
        }
        let clixml = |source: ClixmlError| PsrpError::Clixml { message_type: self.message_type, source };
        parse_value(utf8_text(&self.data).map_err(clixml)?).map_err(clixml)
    }
}

fn read_u32_le(bytes: &[u8]) -> u32 {
    let mut array = [0u8; 4];
    array.copy_from_slice(bytes);
    u32::from_le_bytes(array)
}

fn guid_le(bytes: &[u8]) -> Uuid {
    let mut array = [0u8; 16];
    array.copy_from_slice(bytes);
    Uuid::from_bytes_le(array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_little_endian_with_windows_guid_order() {
        let runspace_pool_id = Uuid::parse_str("0533352D-95C5-4715-BF50-1F449FF1FC9B").unwrap();
        let message = Message {
            destination: Destination::Server,
            message_type: MessageType::CreatePipeline,
            runspace_pool_id,
            pipeline_id: Uuid::nil(),
            data: b"<S>x</S>".to_vec(),
        };
        let bytes = message.encode();
        assert_eq!(&bytes[0..8], &[2, 0, 0, 0, 0x06, 0x10, 0x02, 0x00]);
        assert_eq!(&bytes[8..12], &[0x2D, 0x35, 0x33, 0x05]);
        assert_eq!(Message::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        assert_eq!(Message::decode(&[0; 10]), Err(PsrpError::MessageTooShort { length: 10 }));
        let mut bytes = vec![0u8; 40];
        bytes[0] = 1;
        bytes[4..8].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        assert_eq!(Message::decode(&bytes), Err(PsrpError::UnknownMessageType { value: 0x1234_5678 }));
        bytes[0] = 7;
        assert_eq!(Message::decode(&bytes), Err(PsrpError::UnknownDestination { value: 7 }));
    }
}
