//! The frozen record envelope: one value of the `events` tree, hand-encoded with a fixed layout so
//! that no serialisation library's evolution can change it.
//!
//! Format 1 (all integers big-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | format = 1 |
//! | 1 | 8 | seq (u64) |
//! | 9 | 8 | recorded_at (i64, microseconds since the Unix epoch, UTC) |
//! | 17 | 16 | event_id (UUID v7 bytes) |
//! | 33 | 1 | flags: bit 0 = correlation_id present, bit 1 = causation_id present, others 0 |
//! | 34 | 16 | correlation_id (zeros when absent) |
//! | 50 | 16 | causation_id (zeros when absent) |
//! | 66 | 2 | event_type (u16, `catalog::event_type`) |
//! | 68 | 2 | event_version (u16) |
//! | 70 | 32 | prev_hash: blake3 of the previous record's bytes (zeros for seq 1) |
//! | 102 | 4 | payload length n (u32) |
//! | 106 | n | payload (postcard of the (type, version) payload struct) |
//! | 106+n | 4 | crc32c of bytes 0..106+n |
//!
//! Every format, present and future, ends with a crc32c of all the bytes before it, so the
//! checksum is checked before the format byte is trusted. A record's hash (the next record's
//! `prev_hash`) is blake3 of all its bytes, checksum included.

use uuid::Uuid;

/// The record format this easgate writes and reads.
pub const RECORD_FORMAT: u8 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 106;
/// Bytes of the trailing checksum.
pub const CHECKSUM_LEN: usize = 4;
/// The hash of "no previous record" (the prev_hash of seq 1).
pub const ZERO_HASH: [u8; 32] = [0; 32];

const FLAG_CORRELATION: u8 = 0b01;
const FLAG_CAUSATION: u8 = 0b10;

/// The envelope fields of a record (everything but the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    pub seq: u64,
    pub recorded_at_us: i64,
    pub event_id: Uuid,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub event_type: u16,
    pub event_version: u16,
    pub prev_hash: [u8; 32],
}

/// Why a record's bytes were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Fewer bytes than the smallest record. **Handling:** the record is damaged.
    #[error("record is {length} bytes, shorter than the {minimum}-byte minimum")]
    TooShort { length: usize, minimum: usize },
    /// The stored checksum does not match the bytes. **Handling:** the record is damaged.
    #[error("checksum mismatch (stored {stored:08x}, computed {computed:08x})")]
    Checksum { stored: u32, computed: u32 },
    /// A format this easgate does not know. **Handling:** written by a newer easgate, or damaged.
    #[error("unknown record format {0}")]
    UnknownFormat(u8),
    /// The declared payload length disagrees with the record's size. **Handling:** damaged.
    #[error("payload length {declared} does not fit a {length}-byte record")]
    PayloadLength { declared: u32, length: usize },
    /// Unknown flag bits are set. **Handling:** damaged (or a newer easgate).
    #[error("unknown envelope flags {0:#04x}")]
    Flags(u8),
}

/// Encodes a complete record from its envelope and payload bytes.
pub fn encode_record(envelope: &Envelope, payload: &[u8]) -> Vec<u8> {
    let mut record = begin_record(envelope, payload.len());
    record.extend_from_slice(payload);
    finish_record(record)
}

/// Writes the header into a new buffer sized for `payload_len_hint` payload bytes; the caller
/// appends the payload, then calls `finish_record`.
pub(crate) fn begin_record(envelope: &Envelope, payload_len_hint: usize) -> Vec<u8> {
    let mut record = Vec::with_capacity(HEADER_LEN + payload_len_hint + CHECKSUM_LEN);
    record.push(RECORD_FORMAT);
    record.extend_from_slice(&envelope.seq.to_be_bytes());
    record.extend_from_slice(&envelope.recorded_at_us.to_be_bytes());
    record.extend_from_slice(envelope.event_id.as_bytes());
    let flags =
        envelope.correlation_id.map_or(0, |_| FLAG_CORRELATION) | envelope.causation_id.map_or(0, |_| FLAG_CAUSATION);
    record.push(flags);
    record.extend_from_slice(envelope.correlation_id.unwrap_or(Uuid::nil()).as_bytes());
    record.extend_from_slice(envelope.causation_id.unwrap_or(Uuid::nil()).as_bytes());
    record.extend_from_slice(&envelope.event_type.to_be_bytes());
    record.extend_from_slice(&envelope.event_version.to_be_bytes());
    record.extend_from_slice(&envelope.prev_hash);
    record.extend_from_slice(&[0; 4]); // payload length, patched by finish_record
    debug_assert_eq!(record.len(), HEADER_LEN);
    record
}

/// Patches the payload length in and appends the checksum.
pub(crate) fn finish_record(mut record: Vec<u8>) -> Vec<u8> {
    let payload_len = record.len() - HEADER_LEN;
    // Payloads are a few hundred bytes; a length beyond u32 would be a bug upstream.
    let payload_len = u32::try_from(payload_len).unwrap_or(u32::MAX);
    record[102..106].copy_from_slice(&payload_len.to_be_bytes());
    let checksum = crc32c::crc32c(&record);
    record.extend_from_slice(&checksum.to_be_bytes());
    record
}

/// Checks a record's length, checksum and format, and returns its envelope and payload bytes.
pub fn decode_record(record: &[u8]) -> Result<(Envelope, &[u8]), RecordError> {
    check_record_bytes(record)?;
    Ok((envelope_of(record), payload_of(record)))
}

/// Checks everything about a record's bytes that `envelope_of` and `payload_of` rely on: length,
/// checksum, format, payload length and flags.
pub fn check_record_bytes(record: &[u8]) -> Result<(), RecordError> {
    let minimum = HEADER_LEN + CHECKSUM_LEN;
    if record.len() < CHECKSUM_LEN + 1 {
        return Err(RecordError::TooShort { length: record.len(), minimum });
    }
    let (body, checksum_bytes) = record.split_at(record.len() - CHECKSUM_LEN);
    let stored = u32::from_be_bytes([checksum_bytes[0], checksum_bytes[1], checksum_bytes[2], checksum_bytes[3]]);
    let computed = crc32c::crc32c(body);
    if stored != computed {
        return Err(RecordError::Checksum { stored, computed });
    }
    check_record_layout(record)
}

/// `check_record_bytes` without the checksum, for a record whose checksum this process already
/// checked (at open, or as it appended it): the layout `envelope_of` and `payload_of` rely on.
pub(crate) fn check_record_layout(record: &[u8]) -> Result<(), RecordError> {
    let minimum = HEADER_LEN + CHECKSUM_LEN;
    if record.len() < minimum {
        return Err(RecordError::TooShort { length: record.len(), minimum });
    }
    let body = &record[..record.len() - CHECKSUM_LEN];
    if body[0] != RECORD_FORMAT {
        return Err(RecordError::UnknownFormat(body[0]));
    }
    if record.len() < minimum {
        return Err(RecordError::TooShort { length: record.len(), minimum });
    }
    let declared = read_u32(body, 102);
    if declared as usize != body.len() - HEADER_LEN {
        return Err(RecordError::PayloadLength { declared, length: record.len() });
    }
    let flags = body[33];
    if flags & !(FLAG_CORRELATION | FLAG_CAUSATION) != 0 {
        return Err(RecordError::Flags(flags));
    }
    Ok(())
}

/// The envelope of a record `check_record_bytes` accepted (read at fixed offsets, not checked again).
pub(crate) fn envelope_of(record: &[u8]) -> Envelope {
    debug_assert!(check_record_bytes(record).is_ok());
    let flags = record[33];
    Envelope {
        seq: seq_of(record),
        recorded_at_us: read_u64(record, 9) as i64,
        event_id: read_uuid(record, 17),
        correlation_id: (flags & FLAG_CORRELATION != 0).then(|| read_uuid(record, 34)),
        causation_id: (flags & FLAG_CAUSATION != 0).then(|| read_uuid(record, 50)),
        event_type: read_u16(record, 66),
        event_version: read_u16(record, 68),
        prev_hash: prev_hash_of(record),
    }
}

/// The seq field of a checked record.
pub(crate) fn seq_of(record: &[u8]) -> u64 {
    read_u64(record, 1)
}

/// The `prev_hash` field of a checked record.
pub(crate) fn prev_hash_of(record: &[u8]) -> [u8; 32] {
    read_array(record, 70)
}

/// The payload bytes of a checked record.
pub(crate) fn payload_of(record: &[u8]) -> &[u8] {
    &record[HEADER_LEN..record.len() - CHECKSUM_LEN]
}

/// The hash that the next record carries as its `prev_hash`.
pub fn record_hash(record: &[u8]) -> [u8; 32] {
    *blake3::hash(record).as_bytes()
}

/// The hash as lowercase hex (side file, messages).
pub fn hash_hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

// The readers below index a record whose length check_record_bytes has already checked.
fn read_array<const N: usize>(body: &[u8], offset: usize) -> [u8; N] {
    let mut bytes = [0; N];
    bytes.copy_from_slice(&body[offset..offset + N]);
    bytes
}

fn read_u16(body: &[u8], offset: usize) -> u16 {
    u16::from_be_bytes(read_array(body, offset))
}

fn read_u32(body: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes(read_array(body, offset))
}

fn read_u64(body: &[u8], offset: usize) -> u64 {
    u64::from_be_bytes(read_array(body, offset))
}

fn read_uuid(body: &[u8], offset: usize) -> Uuid {
    Uuid::from_bytes(read_array(body, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            seq: 7,
            recorded_at_us: 1_767_225_600_000_000,
            event_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
            correlation_id: Some(Uuid::from_u128(2)),
            causation_id: None,
            event_type: 8,
            event_version: 1,
            prev_hash: [0xab; 32],
        }
    }

    #[test]
    fn a_record_round_trips_with_its_payload() {
        let record = encode_record(&envelope(), b"payload");
        assert_eq!(record.len(), HEADER_LEN + 7 + CHECKSUM_LEN);
        let (decoded, payload) = decode_record(&record).unwrap();
        assert_eq!(decoded, envelope());
        assert_eq!(payload, b"payload");
    }

    #[test]
    fn every_single_flipped_byte_is_caught() {
        let record = encode_record(&envelope(), b"payload");
        for index in 0..record.len() {
            let mut damaged = record.clone();
            damaged[index] ^= 0x10;
            assert!(decode_record(&damaged).is_err(), "flip at {index} passed");
        }
    }

    #[test]
    fn truncated_records_are_rejected() {
        let record = encode_record(&envelope(), b"payload");
        for length in 0..record.len() {
            assert!(decode_record(&record[..length]).is_err(), "truncation to {length} passed");
        }
    }

    #[test]
    fn a_newer_format_with_a_valid_checksum_is_named() {
        let mut record = encode_record(&envelope(), b"");
        record[0] = 2;
        let body_len = record.len() - CHECKSUM_LEN;
        let checksum = crc32c::crc32c(&record[..body_len]);
        record[body_len..].copy_from_slice(&checksum.to_be_bytes());
        assert_eq!(decode_record(&record).unwrap_err(), RecordError::UnknownFormat(2));
    }
}
