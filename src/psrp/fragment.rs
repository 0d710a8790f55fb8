//! PSRP fragments (MS-PSRP 2.2.4): messages cut into blobs with a 21-byte big-endian header
//! (ObjectId, FragmentId, Start/End flags, BlobLength). Several fragments may share one base64
//! blob and one message may span several WS-Man envelopes.
//!
//! [`Defragmenter`] reassembles with caps on message size and on messages open at once;
//! [`OutgoingQueue`] cuts queued messages into fragments that fit whatever room an envelope has.

use std::collections::VecDeque;

use crate::psrp::error::PsrpError;
use crate::psrp::message::Message;

/// Length of the fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 21;
const FLAG_START: u8 = 0x1;
const FLAG_END: u8 = 0x2;

/// Caps on reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragmenterLimits {
    /// The largest message accepted. One Exchange object is a few KB; 64 MiB leaves room for a
    /// huge ErrorRecord while stopping a peer that claims gigabytes.
    pub max_message_bytes: usize,
    /// How many messages may be half-received at once. PowerShell sends them one after another.
    pub max_open_messages: usize,
}

impl Default for DefragmenterLimits {
    fn default() -> DefragmenterLimits {
        DefragmenterLimits { max_message_bytes: 64 * 1024 * 1024, max_open_messages: 16 }
    }
}

/// One fragment header plus its blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub object_id: u64,
    pub fragment_id: u64,
    pub start: bool,
    pub end: bool,
    pub blob: &'a [u8],
}

impl Fragment<'_> {
    /// Appends the wire form of this fragment to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.object_id.to_be_bytes());
        out.extend_from_slice(&self.fragment_id.to_be_bytes());
        let flags = if self.start { FLAG_START } else { 0 } | if self.end { FLAG_END } else { 0 };
        out.push(flags);
        out.extend_from_slice(&(self.blob.len() as u32).to_be_bytes());
        out.extend_from_slice(self.blob);
    }
}

/// Splits concatenated fragments. A length that runs past the data is an error, never a panic.
pub fn parse_fragments(mut data: &[u8]) -> Result<Vec<Fragment<'_>>, PsrpError> {
    let mut fragments = Vec::new();
    // Each iteration consumes at least the 21-byte header.
    while !data.is_empty() {
        if data.len() < FRAGMENT_HEADER_LEN {
            return Err(PsrpError::FragmentTruncated {
                detail: format!("{} bytes left, a fragment header needs {FRAGMENT_HEADER_LEN}", data.len()),
            });
        }
        let object_id = u64::from_be_bytes(data[0..8].try_into().unwrap_or_default());
        let fragment_id = u64::from_be_bytes(data[8..16].try_into().unwrap_or_default());
        let flags = data[16];
        let blob_len = u32::from_be_bytes(data[17..21].try_into().unwrap_or_default()) as usize;
        let available = data.len() - FRAGMENT_HEADER_LEN;
        if blob_len > available {
            return Err(PsrpError::FragmentTruncated {
                detail: format!(
                    "fragment {fragment_id} of object {object_id} claims {blob_len} bytes, {available} follow"
                ),
            });
        }
        let blob = &data[FRAGMENT_HEADER_LEN..FRAGMENT_HEADER_LEN + blob_len];
        fragments.push(Fragment {
            object_id,
            fragment_id,
            start: flags & FLAG_START != 0,
            end: flags & FLAG_END != 0,
            blob,
        });
        data = &data[FRAGMENT_HEADER_LEN + blob_len..];
    }
    Ok(fragments)
}

struct PartialMessage {
    object_id: u64,
    next_fragment_id: u64,
    bytes: Vec<u8>,
}

/// Reassembles messages from fragments as they arrive, across envelopes.
pub struct Defragmenter {
    limits: DefragmenterLimits,
    open: Vec<PartialMessage>,
}

impl Default for Defragmenter {
    fn default() -> Defragmenter {
        Defragmenter::new(DefragmenterLimits::default())
    }
}

impl Defragmenter {
    pub fn new(limits: DefragmenterLimits) -> Defragmenter {
        Defragmenter { limits, open: Vec::new() }
    }

    /// Whether a message is half-received.
    pub fn has_partial_messages(&self) -> bool {
        !self.open.is_empty()
    }

    /// Feeds the bytes of one stream element (one or more fragments) and returns the messages
    /// they complete, in order.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<Message>, PsrpError> {
        let mut complete = Vec::new();
        for fragment in parse_fragments(data)? {
            if let Some(bytes) = self.push_fragment(&fragment)? {
                complete.push(Message::decode_owned(bytes)?);
            }
        }
        Ok(complete)
    }

    fn push_fragment(&mut self, fragment: &Fragment<'_>) -> Result<Option<Vec<u8>>, PsrpError> {
        let out_of_sequence = |detail| PsrpError::FragmentOutOfSequence {
            object_id: fragment.object_id,
            fragment_id: fragment.fragment_id,
            detail,
        };
        let position = self.open.iter().position(|partial| partial.object_id == fragment.object_id);
        if fragment.start {
            if position.is_some() {
                return Err(out_of_sequence("a Start fragment for a message that is already open"));
            }
            if fragment.fragment_id != 0 {
                return Err(out_of_sequence("a Start fragment must have FragmentId 0"));
            }
            self.check_size(fragment.object_id, fragment.blob.len())?;
            if fragment.end {
                return Ok(Some(fragment.blob.to_vec()));
            }
            if self.open.len() >= self.limits.max_open_messages {
                return Err(PsrpError::TooManyOpenMessages { limit: self.limits.max_open_messages });
            }
            self.open.push(PartialMessage {
                object_id: fragment.object_id,
                next_fragment_id: 1,
                bytes: fragment.blob.to_vec(),
            });
            return Ok(None);
        }
        let Some(position) = position else {
            return Err(out_of_sequence("a fragment without a Start fragment before it"));
        };
        if self.open[position].next_fragment_id != fragment.fragment_id {
            return Err(out_of_sequence("a gap in FragmentId"));
        }
        self.check_size(fragment.object_id, self.open[position].bytes.len() + fragment.blob.len())?;
        let partial = &mut self.open[position];
        partial.bytes.extend_from_slice(fragment.blob);
        partial.next_fragment_id += 1;
        if fragment.end {
            return Ok(Some(self.open.remove(position).bytes));
        }
        Ok(None)
    }

    fn check_size(&self, object_id: u64, length: usize) -> Result<(), PsrpError> {
        if length > self.limits.max_message_bytes {
            return Err(PsrpError::MessageTooLarge { object_id, limit_bytes: self.limits.max_message_bytes });
        }
        Ok(())
    }
}

struct QueuedMessage {
    object_id: u64,
    bytes: Vec<u8>,
    sent_up_to: usize,
    next_fragment_id: u64,
}

/// Messages waiting to be sent, cut into fragments on demand.
#[derive(Default)]
pub struct OutgoingQueue {
    messages: VecDeque<QueuedMessage>,
}

impl OutgoingQueue {
    pub fn new() -> OutgoingQueue {
        OutgoingQueue::default()
    }

    /// Queues an encoded message under its ObjectId.
    pub fn push(&mut self, object_id: u64, message_bytes: Vec<u8>) {
        self.messages.push_back(QueuedMessage { object_id, bytes: message_bytes, sent_up_to: 0, next_fragment_id: 0 });
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Bytes still to send (blobs only), for sizing decisions.
    pub fn pending_bytes(&self) -> usize {
        self.messages.iter().map(|message| message.bytes.len() - message.sent_up_to).sum()
    }

    /// Appends the next fragment, with a blob of at most `max_blob_len` bytes (at least 1), to
    /// `out`. Returns the number of bytes appended; 0 when nothing is queued.
    pub fn next_fragment(&mut self, max_blob_len: usize, out: &mut Vec<u8>) -> usize {
        let Some(message) = self.messages.front_mut() else {
            return 0;
        };
        let remaining = message.bytes.len() - message.sent_up_to;
        let blob_len = remaining.min(max_blob_len.max(1));
        let fragment = Fragment {
            object_id: message.object_id,
            fragment_id: message.next_fragment_id,
            start: message.sent_up_to == 0,
            end: blob_len == remaining,
            blob: &message.bytes[message.sent_up_to..message.sent_up_to + blob_len],
        };
        fragment.encode_into(out);
        message.sent_up_to += blob_len;
        message.next_fragment_id += 1;
        if fragment.end {
            self.messages.pop_front();
        }
        FRAGMENT_HEADER_LEN + blob_len
    }

    /// Appends fragments to `out` until it holds `budget_bytes` or the queue is empty; returns
    /// how many were appended. An empty `out` always gets one, so callers make progress.
    pub fn fill(&mut self, budget_bytes: usize, out: &mut Vec<u8>) -> usize {
        let mut appended = 0;
        // Each iteration sends at least one byte of a queued message, so this ends.
        while !self.is_empty() {
            let room = budget_bytes.saturating_sub(out.len());
            if room <= FRAGMENT_HEADER_LEN && !out.is_empty() {
                break;
            }
            self.next_fragment(room.saturating_sub(FRAGMENT_HEADER_LEN), out);
            appended += 1;
        }
        appended
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psrp::message::{Destination, MessageType};
    use uuid::Uuid;

    fn message(size: usize) -> Message {
        Message {
            destination: Destination::Server,
            message_type: MessageType::PipelineInput,
            runspace_pool_id: Uuid::from_u128(1),
            pipeline_id: Uuid::from_u128(2),
            data: vec![b'a'; size],
        }
    }

    #[test]
    fn a_message_split_into_many_fragments_reassembles() {
        let mut queue = OutgoingQueue::new();
        queue.push(7, message(1000).encode());
        queue.push(8, message(10).encode());
        let mut defragmenter = Defragmenter::default();
        let mut received = Vec::new();
        for _ in 0..100 {
            let mut stream = Vec::new();
            if queue.next_fragment(64, &mut stream) == 0 {
                break;
            }
            received.extend(defragmenter.push(&stream).unwrap());
        }
        assert_eq!(received, vec![message(1000), message(10)]);
        assert!(!defragmenter.has_partial_messages());
    }

    #[test]
    fn lies_and_gaps_are_typed_errors() {
        let mut data = Vec::new();
        Fragment { object_id: 1, fragment_id: 0, start: true, end: true, blob: b"abc" }.encode_into(&mut data);
        data[20] = 200;
        assert!(matches!(parse_fragments(&data), Err(PsrpError::FragmentTruncated { .. })));
        assert!(matches!(parse_fragments(&data[..10]), Err(PsrpError::FragmentTruncated { .. })));

        let mut defragmenter = Defragmenter::default();
        let mut middle = Vec::new();
        Fragment { object_id: 1, fragment_id: 1, start: false, end: true, blob: b"abc" }.encode_into(&mut middle);
        assert!(matches!(defragmenter.push(&middle), Err(PsrpError::FragmentOutOfSequence { .. })));

        let mut small = Defragmenter::new(DefragmenterLimits { max_message_bytes: 100, max_open_messages: 1 });
        let mut big = Vec::new();
        Fragment { object_id: 1, fragment_id: 0, start: true, end: false, blob: &[0; 101] }.encode_into(&mut big);
        assert!(matches!(small.push(&big), Err(PsrpError::MessageTooLarge { .. })));
    }
}
