//! Errors of the PSRP layer: framing, message headers and message contents.

use crate::clixml::read::ClixmlError;
use crate::psrp::message::MessageType;

/// Why PSRP bytes could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PsrpError {
    /// A fragment header or blob extends past the data it arrived in (the length field lies or
    /// the data was cut). **Handling:** the stream is corrupt; fail the runspace.
    #[error("PSRP fragment truncated: {detail}")]
    FragmentTruncated { detail: String },
    /// A fragment arrived that does not continue the message it belongs to (missing Start flag,
    /// a gap in FragmentId, or a new Start while the message is open).
    /// **Handling:** the stream is corrupt; fail the runspace.
    #[error("PSRP fragment {fragment_id} of object {object_id} is out of sequence: {detail}")]
    FragmentOutOfSequence { object_id: u64, fragment_id: u64, detail: &'static str },
    /// A reassembled message would exceed the configured cap.
    /// **Handling:** refuse it; fail the runspace (a peer that sends this is broken or hostile).
    #[error("PSRP message {object_id} exceeds the limit of {limit_bytes} bytes")]
    MessageTooLarge { object_id: u64, limit_bytes: usize },
    /// More messages are half-received at once than the configured cap.
    /// **Handling:** fail the runspace.
    #[error("more than {limit} PSRP messages are partially received at once")]
    TooManyOpenMessages { limit: usize },
    /// A message shorter than its 40-byte header.
    /// **Handling:** the stream is corrupt; fail the runspace.
    #[error("PSRP message of {length} bytes is shorter than its 40-byte header")]
    MessageTooShort { length: usize },
    /// A message type value MS-PSRP does not define.
    /// **Handling:** the peer speaks something else; fail the runspace.
    #[error("unknown PSRP message type 0x{value:08X}")]
    UnknownMessageType { value: u32 },
    /// A destination other than 1 (client) or 2 (server).
    /// **Handling:** the stream is corrupt; fail the runspace.
    #[error("unknown PSRP destination {value}")]
    UnknownDestination { value: u32 },
    /// The message's CLIXML could not be read.
    /// **Handling:** fail the runspace as a protocol error.
    #[error("{message_type:?} carries unreadable CLIXML: {source}")]
    Clixml { message_type: MessageType, source: ClixmlError },
    /// The message lacks a field it must have, or holds it in the wrong form.
    /// **Handling:** fail the runspace as a protocol error.
    #[error("{message_type:?} field {field}: {detail}")]
    BadField { message_type: MessageType, field: &'static str, detail: String },
    /// A message that has no place in the current state (e.g. output before the pool opened).
    /// **Handling:** fail the runspace as a protocol error.
    #[error("{message_type:?} is not expected {state}")]
    UnexpectedMessage { message_type: MessageType, state: &'static str },
}

impl PsrpError {
    pub(crate) fn missing(message_type: MessageType, field: &'static str) -> PsrpError {
        PsrpError::BadField { message_type, field, detail: "missing".to_string() }
    }
}
