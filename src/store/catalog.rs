//! The event catalog as the log stores it: an explicit u16 `event_type` code per `Event` variant
//! (never its position in the enum), the payload version, postcard payload encoding, and decoding
//! through the upcaster table.
//!
//! The codes below are frozen: a code is never reused or renumbered. A new event gets the next
//! free code. A changed payload gets a new version (a new struct), and an upcaster from the old
//! version's bytes to the new one's (see schema/README.md).

use serde::Serialize;

use crate::domain::event::Event;

/// Why a payload could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// No event of this type exists in this easgate's catalog.
    /// **Handling:** the record was written by a newer easgate (upgrade) or is damaged.
    #[error("unknown event type {event_type} (version {event_version})")]
    UnknownType { event_type: u16, event_version: u16 },
    /// The type is known but neither this version nor an upcaster from it is.
    /// **Handling:** as `UnknownType`.
    #[error(
        "{name} (type {event_type}) version {event_version} is not supported (this easgate reads up to version {current_version})"
    )]
    UnsupportedVersion { event_type: u16, name: &'static str, event_version: u16, current_version: u16 },
    /// The bytes do not decode as the payload of this (type, version).
    /// **Handling:** the record is damaged, or a shipped payload struct was edited (a bug).
    #[error("{name} version {event_version} payload does not decode: {detail}")]
    Decode { name: &'static str, event_version: u16, detail: String },
    /// postcard could not encode a payload. **Handling:** a bug; nothing was written.
    #[error("{name} payload does not encode: {detail}")]
    Encode { name: &'static str, detail: String },
    /// An event name (`type` in JSON) that is not in the catalog.
    /// **Handling:** correct the input; the message names the type.
    #[error("unknown event type {0:?}")]
    UnknownName(String),
}

/// One entry of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry {
    pub event_type: u16,
    pub name: &'static str,
    /// The version new records of this type are written with (and JSON `v` shows).
    pub current_version: u16,
}

/// Turns the payload bytes of (event_type, from_version) into the bytes of version
/// `from_version + 1`. Chained at read time until the current version is reached.
#[derive(Debug, Clone, Copy)]
pub struct Upcaster {
    pub event_type: u16,
    pub from_version: u16,
    pub upcast: fn(&[u8]) -> Result<Vec<u8>, CatalogError>,
}

/// The upcasters of this easgate. Empty: every type is still at version 1.
pub const UPCASTERS: &[Upcaster] = &[];

/// Every event type has payload version 1 so far.
const VERSION_1: u16 = 1;

macro_rules! catalog {
    ($($constant:ident = $code:literal => $variant:ident),* $(,)?) => {
        /// The frozen `event_type` codes.
        pub mod event_type {
            $(pub const $constant: u16 = $code;)*
        }

        /// Every (type, name, current version), in code order.
        pub const CATALOG: &[CatalogEntry] = &[
            $(CatalogEntry { event_type: $code, name: stringify!($variant), current_version: VERSION_1 },)*
        ];

        /// The `event_type` code of an event.
        pub fn event_type_of(event: &Event) -> u16 {
            match event {
                $(Event::$variant(_) => $code,)*
            }
        }

        fn encode_current(event: &Event, out: Vec<u8>) -> Result<Vec<u8>, postcard::Error> {
            match event {
                $(Event::$variant(payload) => postcard::to_extend(payload, out),)*
            }
        }

        /// Decodes a current-version payload with its text as `S`: `String` (owned) or `&str`
        /// (borrowed from `bytes`, a view).
        fn decode_current<'a, S: serde::Deserialize<'a> + Default>(
            event_type: u16,
            bytes: &'a [u8],
        ) -> Option<Result<Event<S>, String>> {
            match event_type {
                $($code => Some(decode_exact(bytes).map(Event::$variant)),)*
                _ => None,
            }
        }

        /// Serialises the payload of an event alone (the `data` of a JSON line).
        pub struct EventData<'a>(pub &'a Event);

        impl Serialize for EventData<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self.0 {
                    $(Event::$variant(payload) => payload.serialize(serializer),)*
                }
            }
        }

        /// Deserialises the `data` of a JSON line as the payload named `name` (current version),
        /// reporting the path of a bad field.
        pub fn event_from_json_data<'de, D: serde::Deserializer<'de>>(
            name: &str,
            data: D,
        ) -> Result<Event, JsonDataError<D::Error>> {
            match name {
                $(stringify!($variant) => serde_path_to_error::deserialize(data)
                    .map(Event::$variant)
                    .map_err(JsonDataError::Field),)*
                _ => Err(JsonDataError::UnknownName),
            }
        }
    };
}

catalog! {
    CONNECTOR_REGISTERED = 1 => ConnectorRegistered,
    POLICY_APPLIED = 2 => PolicyApplied,
    SYNC_STARTED = 3 => SyncStarted,
    SYNC_COMPLETED = 4 => SyncCompleted,
    SYNC_FAILED = 5 => SyncFailed,
    CAS_FAILED_OVER = 6 => CasFailedOver,
    USER_OBSERVED = 7 => UserObserved,
    DEVICE_DISCOVERED = 8 => DeviceDiscovered,
    EXCHANGE_STATE_OBSERVED = 9 => ExchangeStateObserved,
    PARTNERSHIP_REMOVED = 10 => PartnershipRemoved,
    DEVICE_REGISTERED = 11 => DeviceRegistered,
    DEVICE_ENROLLED = 12 => DeviceEnrolled,
    DEVICE_UNENROLLED = 13 => DeviceUnenrolled,
    DEVICE_MAPPED = 14 => DeviceMapped,
    EAS_ID_REGISTERED = 15 => EasIdRegistered,
    COMPLIANCE_OBSERVED = 16 => ComplianceObserved,
    ACCESS_DECIDED = 17 => AccessDecided,
    CMDLET_REQUESTED = 18 => CmdletRequested,
    CMDLET_SUCCEEDED = 19 => CmdletSucceeded,
    CMDLET_FAILED = 20 => CmdletFailed,
    CMDLET_RECONCILED = 21 => CmdletReconciled,
    NOTIFICATION_REQUESTED = 22 => NotificationRequested,
    NOTIFICATION_SENT = 23 => NotificationSent,
    NOTIFICATION_FAILED = 24 => NotificationFailed,
    DRIFT_DETECTED = 25 => DriftDetected,
    WIPE_REQUESTED = 26 => WipeRequested,
    WIPE_CONFIRMED = 27 => WipeConfirmed,
    MAILBOX_OBSERVED = 28 => MailboxObserved,
    ORGANIZATION_OBSERVED = 29 => OrganizationObserved,
    CONNECTOR_STATUS_CHANGED = 30 => ConnectorStatusChanged,
}

/// Why the `data` of a JSON line did not deserialise.
#[derive(Debug)]
pub enum JsonDataError<E> {
    /// The name is not an event type of the catalog.
    UnknownName,
    /// A field is bad; the error carries its path inside `data`.
    Field(serde_path_to_error::Error<E>),
}

/// The catalog entry of a type code. Codes are given in order from 1 without a gap (tested), so
/// a code's entry is at its place in the catalog: looked up for every record a replay decodes.
pub fn entry(event_type: u16) -> Option<&'static CatalogEntry> {
    CATALOG.get(usize::from(event_type).wrapping_sub(1)).filter(|entry| entry.event_type == event_type)
}

/// The catalog entry of a type name (`type` in JSON).
pub fn entry_by_name(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|entry| entry.name == name)
}

/// Encodes an event's payload at its current version: (event_type, event_version, postcard bytes).
pub fn encode_payload(event: &Event) -> Result<(u16, u16, Vec<u8>), CatalogError> {
    let event_type = event_type_of(event);
    let bytes = encode_payload_into(event, Vec::new())?;
    Ok((event_type, VERSION_1, bytes))
}

/// Appends an event's postcard payload (current version) to `out`, so a record is built in one buffer.
pub(crate) fn encode_payload_into(event: &Event, out: Vec<u8>) -> Result<Vec<u8>, CatalogError> {
    encode_current(event, out).map_err(|error| CatalogError::Encode { name: event.name(), detail: error.to_string() })
}

/// Decodes a stored payload through this easgate's upcasters.
pub fn decode_payload(event_type: u16, event_version: u16, bytes: &[u8]) -> Result<Event, CatalogError> {
    decode_payload_with(UPCASTERS, event_type, event_version, bytes)
}

/// Decodes a stored payload, upcasting older versions with `upcasters` one version at a time.
pub fn decode_payload_with(
    upcasters: &[Upcaster],
    event_type: u16,
    event_version: u16,
    bytes: &[u8],
) -> Result<Event, CatalogError> {
    let entry = entry(event_type).ok_or(CatalogError::UnknownType { event_type, event_version })?;
    let unsupported = CatalogError::UnsupportedVersion {
        event_type,
        name: entry.name,
        event_version,
        current_version: entry.current_version,
    };
    if event_version == entry.current_version {
        return decode_at_current(entry, bytes);
    }
    if event_version > entry.current_version {
        return Err(unsupported);
    }
    // Each step raises the version by one, so the loop is bounded by the version distance.
    let mut upcast_bytes = bytes.to_vec();
    for version in event_version..entry.current_version {
        let upcaster = upcasters
            .iter()
            .find(|upcaster| upcaster.event_type == event_type && upcaster.from_version == version)
            .ok_or_else(|| unsupported.clone())?;
        upcast_bytes = (upcaster.upcast)(&upcast_bytes)?;
    }
    decode_at_current(entry, &upcast_bytes)
}

fn decode_at_current<'a, S: serde::Deserialize<'a> + Default>(
    entry: &CatalogEntry,
    bytes: &'a [u8],
) -> Result<Event<S>, CatalogError> {
    match decode_current(entry.event_type, bytes) {
        Some(Ok(event)) => Ok(event),
        Some(Err(error)) => {
            Err(CatalogError::Decode { name: entry.name, event_version: entry.current_version, detail: error })
        }
        None => Err(CatalogError::UnknownType { event_type: entry.event_type, event_version: entry.current_version }),
    }
}

/// A payload decoded for folding: a view borrowing the record's bytes when the record is at its
/// type's current version, else the owned event its upcasters made.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodedPayload<'a> {
    View(Event<&'a str>),
    Owned(Event),
}

/// Decodes a stored payload for folding: at the current version, as a view of `bytes` (no text
/// copied); an older version goes through the upcasters, as `decode_payload` does. The errors are
/// `decode_payload`'s.
pub fn decode_payload_view(
    event_type: u16,
    event_version: u16,
    bytes: &[u8],
) -> Result<DecodedPayload<'_>, CatalogError> {
    let entry = entry(event_type).ok_or(CatalogError::UnknownType { event_type, event_version })?;
    if event_version != entry.current_version {
        return decode_payload(event_type, event_version, bytes).map(DecodedPayload::Owned);
    }
    decode_at_current(entry, bytes).map(DecodedPayload::View)
}

/// postcard decoding that refuses trailing bytes: a payload longer than its struct means the
/// struct lost a field, which must never pass silently.
pub fn decode_exact<'de, T: serde::Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, String> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|error| error.to_string())?;
    if rest.is_empty() { Ok(value) } else { Err(format!("{} bytes left over after the payload", rest.len())) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::DeviceDiscovered;
    use crate::domain::vocabulary::{ExchangeReason, ExchangeState};
    use serde::Deserialize;

    /// A synthetic older shape of DeviceDiscovered, as if version 1 had been its second version.
    #[derive(Serialize, Deserialize)]
    struct DeviceDiscoveredV0 {
        mailbox: String,
        device_id: String,
    }

    fn upcast_device_discovered_v0(bytes: &[u8]) -> Result<Vec<u8>, CatalogError> {
        let old: DeviceDiscoveredV0 = decode_exact(bytes).map_err(|error| CatalogError::Decode {
            name: "DeviceDiscovered",
            event_version: 0,
            detail: error,
        })?;
        let new = DeviceDiscovered {
            mailbox: old.mailbox,
            device_id: old.device_id,
            device_type: String::new(),
            device_model: String::new(),
            device_os: String::new(),
            exchange_state: ExchangeState::Unknown,
            exchange_reason: ExchangeReason::Unknown,
            user_agent: String::new(),
        };
        postcard::to_allocvec(&new)
            .map_err(|error| CatalogError::Encode { name: "DeviceDiscovered", detail: error.to_string() })
    }

    const TEST_UPCASTERS: &[Upcaster] =
        &[Upcaster { event_type: event_type::DEVICE_DISCOVERED, from_version: 0, upcast: upcast_device_discovered_v0 }];

    #[test]
    fn a_version_0_payload_is_upcast_to_the_current_event() {
        let old = DeviceDiscoveredV0 { mailbox: "alice@contoso.com".into(), device_id: "ApplF17".into() };
        let bytes = postcard::to_allocvec(&old).unwrap();
        let event = decode_payload_with(TEST_UPCASTERS, event_type::DEVICE_DISCOVERED, 0, &bytes).unwrap();
        let Event::DeviceDiscovered(discovered) = event else { panic!("wrong variant: {event:?}") };
        assert_eq!(discovered.mailbox, "alice@contoso.com");
        assert_eq!(discovered.device_id, "ApplF17");
        assert_eq!(discovered.exchange_state, ExchangeState::Unknown);
    }

    #[test]
    fn without_an_upcaster_an_old_version_is_a_typed_error_naming_type_and_version() {
        let bytes = postcard::to_allocvec(&DeviceDiscoveredV0 { mailbox: "m".into(), device_id: "d".into() }).unwrap();
        let error = decode_payload(event_type::DEVICE_DISCOVERED, 0, &bytes).unwrap_err();
        assert_eq!(
            error,
            CatalogError::UnsupportedVersion {
                event_type: 8,
                name: "DeviceDiscovered",
                event_version: 0,
                current_version: 1
            }
        );
        assert!(error.to_string().contains("DeviceDiscovered (type 8) version 0"), "{error}");
    }

    #[test]
    fn unknown_type_and_newer_version_are_typed_errors() {
        assert_eq!(
            decode_payload(999, 1, &[]).unwrap_err(),
            CatalogError::UnknownType { event_type: 999, event_version: 1 }
        );
        assert!(matches!(
            decode_payload(event_type::SYNC_STARTED, 2, &[]).unwrap_err(),
            CatalogError::UnsupportedVersion { event_version: 2, .. }
        ));
    }

    #[test]
    fn each_code_is_at_its_place_so_entry_finds_it() {
        for (index, catalog_entry) in CATALOG.iter().enumerate() {
            assert_eq!(usize::from(catalog_entry.event_type), index + 1, "{}", catalog_entry.name);
            assert_eq!(entry(catalog_entry.event_type).map(|found| found.name), Some(catalog_entry.name));
        }
        assert!(entry(0).is_none());
        assert!(entry(CATALOG.len() as u16 + 1).is_none());
    }

    #[test]
    fn codes_and_names_are_unique() {
        for (index, entry) in CATALOG.iter().enumerate() {
            for other in &CATALOG[index + 1..] {
                assert_ne!(entry.event_type, other.event_type);
                assert_ne!(entry.name, other.name);
            }
        }
    }
}
