//! Exchange objects as PowerShell values: a builder that writes them the way Exchange's remote
//! shell serialises them (`Deserialized.` type names, enums as enum objects with ToString and
//! I32, MultiValuedProperty lists, dates as DateTime) and a reader that is as tolerant as
//! reference/exchange.md section 3.6 requires (properties from Props or MS, enums as a string or
//! an enum object, unknown enum values kept).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::clixml::value::{Container, PsObject, PsValue};
use crate::domain::vocabulary::{AccessLevel, Characteristic, ExchangeReason, ExchangeState};
use crate::exchange::cmdlets::error::CmdletError;

const DESERIALIZED: &str = "Deserialized.";
const MULTI_VALUED_STRING: &str = "Microsoft.Exchange.Data.MultiValuedProperty`1[[System.String, mscorlib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089]]";

pub(crate) const DEVICE_ACCESS_STATE: &str = "Microsoft.Exchange.Data.Directory.SystemConfiguration.DeviceAccessState";
pub(crate) const DEVICE_ACCESS_STATE_REASON: &str =
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.DeviceAccessStateReason";
pub(crate) const DEVICE_ACCESS_LEVEL: &str = "Microsoft.Exchange.Data.Directory.SystemConfiguration.DeviceAccessLevel";
pub(crate) const DEVICE_ACCESS_CHARACTERISTIC: &str =
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.DeviceAccessCharacteristic";

/// Writes one Exchange object.
pub(crate) struct ObjectBuilder {
    object: PsObject,
}

impl ObjectBuilder {
    /// `type_chain`: full .NET type names, most derived first, without `Deserialized.`;
    /// `System.Object` is appended.
    pub(crate) fn new(type_chain: &[&str]) -> ObjectBuilder {
        let mut type_names: Vec<String> = type_chain.iter().map(|name| format!("{DESERIALIZED}{name}")).collect();
        type_names.push(format!("{DESERIALIZED}System.Object"));
        ObjectBuilder { object: PsObject { type_names: type_names.into(), ..PsObject::default() } }
    }

    /// `capacity`: the number of properties, so the list is allocated once.
    pub(crate) fn with_capacity(mut self, capacity: usize) -> ObjectBuilder {
        self.object.properties.reserve_exact(capacity);
        self
    }

    pub(crate) fn with_to_string(mut self, text: impl Into<String>) -> ObjectBuilder {
        self.object.to_string = Some(text.into());
        self
    }

    pub(crate) fn value(mut self, name: &str, value: PsValue) -> ObjectBuilder {
        self.object.properties.push((name.to_string(), value));
        self
    }

    pub(crate) fn text(self, name: &str, value: impl Into<String>) -> ObjectBuilder {
        self.value(name, PsValue::String(value.into()))
    }

    /// A string property that Exchange leaves null when unset.
    pub(crate) fn optional_text(self, name: &str, value: Option<impl Into<String>>) -> ObjectBuilder {
        let value = value.map(|text| PsValue::String(text.into())).unwrap_or(PsValue::Null);
        self.value(name, value)
    }

    pub(crate) fn bool(self, name: &str, value: bool) -> ObjectBuilder {
        self.value(name, PsValue::Bool(value))
    }

    pub(crate) fn guid(self, name: &str, value: Uuid) -> ObjectBuilder {
        self.value(name, PsValue::Guid(value))
    }

    pub(crate) fn date_time(self, name: &str, value: Option<DateTime<Utc>>) -> ObjectBuilder {
        let value = value.map(|time| PsValue::DateTime(format_date_time(time))).unwrap_or(PsValue::Null);
        self.value(name, value)
    }

    /// An enum as PowerShell serialises it: `<Obj><TN>..</TN><ToString>Name</ToString><I32>n</I32></Obj>`;
    /// a value whose number easgate does not know travels as a plain string.
    pub(crate) fn enumeration(self, name: &str, enum_type: &str, text: &str, number: Option<i32>) -> ObjectBuilder {
        self.value(name, enum_value(enum_type, text, number))
    }

    pub(crate) fn multi_valued(self, name: &str, values: Vec<String>) -> ObjectBuilder {
        let items = values.into_iter().map(PsValue::String).collect();
        let list = PsObject {
            type_names: vec![
                format!("{DESERIALIZED}{MULTI_VALUED_STRING}"),
                format!("{DESERIALIZED}Microsoft.Exchange.Data.MultiValuedPropertyBase"),
                format!("{DESERIALIZED}System.Object"),
            ]
            .into(),
            container: Some(Container::List(items)),
            ..PsObject::default()
        };
        self.value(name, PsValue::Object(Box::new(list)))
    }

    pub(crate) fn build(self) -> PsValue {
        PsValue::Object(Box::new(self.object))
    }
}

pub(crate) fn enum_value(enum_type: &str, text: &str, number: Option<i32>) -> PsValue {
    let Some(number) = number else {
        return PsValue::String(text.to_string());
    };
    PsValue::Object(Box::new(PsObject {
        type_names: vec![
            enum_type.to_string(),
            "System.Enum".to_string(),
            "System.ValueType".to_string(),
            "System.Object".to_string(),
        ]
        .into(),
        to_string: Some(text.to_string()),
        value: Some(PsValue::I32(number)),
        ..PsObject::default()
    }))
}

/// .NET's round-trip form of a UTC DateTime.
pub(crate) fn format_date_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Reads a date as Exchange or PowerShell may write it: ISO 8601 with or without an offset
/// (no offset is taken as UTC), or the en-US `M/d/yyyy h:mm:ss` a culture-bound server prints.
pub fn parse_date_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc());
        }
    }
    for format in ["%Y-%m-%d", "%m/%d/%Y"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return date.and_hms_opt(0, 0, 0).map(|time| time.and_utc());
        }
    }
    None
}

/// Reads one Exchange object, tolerantly, moving its values out. Properties are looked up from
/// where the previous one was found, so reading them in the order Exchange sends them is linear.
pub(crate) struct ObjectReader<'a> {
    object: &'a mut PsObject,
    type_name: &'static str,
    next_property: usize,
}

impl<'a> ObjectReader<'a> {
    pub(crate) fn new(value: &'a mut PsValue, type_name: &'static str) -> Result<ObjectReader<'a>, CmdletError> {
        match value {
            PsValue::Object(object) => Ok(ObjectReader { object, type_name, next_property: 0 }),
            other => Err(CmdletError::BadObject {
                type_name: type_name.to_string(),
                property: "(object)".to_string(),
                detail: format!("expected an object, got {other:?}"),
            }),
        }
    }

    fn bad(&self, property: &str, detail: String) -> CmdletError {
        CmdletError::BadObject { type_name: self.type_name.to_string(), property: property.to_string(), detail }
    }

    /// A property by name, from the adapted properties first, then the extended members
    /// (Exchange objects put their data in either place).
    fn get(&mut self, name: &str) -> Option<&mut PsValue> {
        let count = self.object.properties.len();
        let start = self.next_property;
        let found =
            (0..count).map(|offset| (start + offset) % count).find(|index| self.object.properties[*index].0 == name);
        if let Some(index) = found {
            self.next_property = index + 1;
            return Some(&mut self.object.properties[index].1);
        }
        self.object.members.iter_mut().find(|(member, _)| member == name).map(|(_, value)| value)
    }

    /// The object's `ToString`, when it has one.
    pub(crate) fn take_to_string(&mut self) -> Option<String> {
        self.object.to_string.take()
    }

    /// A property that must be present and not empty.
    pub(crate) fn required_text(&mut self, name: &str) -> Result<String, CmdletError> {
        match self.optional_text(name) {
            Some(text) => Ok(text),
            None => Err(self.bad(name, "missing or empty".to_string())),
        }
    }

    /// A property's text (a string, an enum's ToString, a primitive printed); `None` when
    /// missing, null or empty.
    pub(crate) fn optional_text(&mut self, name: &str) -> Option<String> {
        let text = match self.get(name)? {
            PsValue::String(text) => std::mem::take(text),
            PsValue::Object(object) if object.to_string.is_some() => object.to_string.take().unwrap_or_default(),
            other => other.as_text()?,
        };
        (!text.is_empty()).then_some(text)
    }

    /// A property's text, empty when missing or null.
    pub(crate) fn text(&mut self, name: &str) -> String {
        self.optional_text(name).unwrap_or_default()
    }

    /// A Boolean; `default` when missing or null, an error when present but not a Boolean.
    pub(crate) fn bool(&mut self, name: &str, default: bool) -> Result<bool, CmdletError> {
        let value = match self.get(name) {
            None | Some(PsValue::Null) => return Ok(default),
            Some(value) => value.as_bool().ok_or_else(|| format!("not a Boolean: {value:?}")),
        };
        value.map_err(|detail| self.bad(name, detail))
    }

    pub(crate) fn multi_valued(&mut self, name: &str) -> Vec<String> {
        let Some(value) = self.get(name) else {
            return Vec::new();
        };
        match std::mem::replace(value, PsValue::Null) {
            PsValue::Object(object) => match object.container {
                Some(Container::List(items))
                | Some(Container::Enumerable(items))
                | Some(Container::Queue(items))
                | Some(Container::Stack(items)) => items.into_iter().filter_map(into_text).collect(),
                _ => PsValue::Object(object).text_items(),
            },
            other => other.text_items(),
        }
    }

    pub(crate) fn date_time(&mut self, name: &str) -> Result<Option<DateTime<Utc>>, CmdletError> {
        match self.optional_text(name) {
            None => Ok(None),
            Some(text) => parse_date_time(&text).map(Some).ok_or_else(|| self.bad(name, format!("not a date: {text}"))),
        }
    }

    pub(crate) fn guid(&mut self, name: &str) -> Option<Uuid> {
        match self.get(name) {
            Some(PsValue::Guid(guid)) => Some(*guid),
            Some(other) => other.as_text().and_then(|text| Uuid::parse_str(&text).ok()),
            None => None,
        }
    }

    pub(crate) fn exchange_state(&mut self, name: &str) -> ExchangeState {
        self.optional_text(name).map(|text| ExchangeState::parse(&text)).unwrap_or_default()
    }

    pub(crate) fn exchange_reason(&mut self, name: &str) -> ExchangeReason {
        self.optional_text(name).map(|text| ExchangeReason::parse(&text)).unwrap_or_default()
    }

    /// An access level; a value easgate does not know is an error naming it, because acting on
    /// a misread level could allow what Exchange blocks.
    pub(crate) fn access_level(&mut self, name: &str) -> Result<AccessLevel, CmdletError> {
        let text = self.required_text(name)?;
        AccessLevel::parse(&text).ok_or_else(|| self.bad(name, format!("unknown access level {text:?}")))
    }

    pub(crate) fn characteristic(&mut self, name: &str) -> Result<Characteristic, CmdletError> {
        let text = self.required_text(name)?;
        Characteristic::parse(&text).ok_or_else(|| self.bad(name, format!("unknown characteristic {text:?}")))
    }
}

/// A value's text, moved out when it is a string.
fn into_text(value: PsValue) -> Option<String> {
    match value {
        PsValue::String(text) => Some(text),
        other => other.as_text(),
    }
}

/// `DeviceAccessState`'s numbers (reference/exchange.md section 1.2).
pub(crate) fn exchange_state_number(state: &ExchangeState) -> Option<i32> {
    match state {
        ExchangeState::Unknown => Some(0),
        ExchangeState::Allowed => Some(1),
        ExchangeState::Blocked => Some(2),
        ExchangeState::Quarantined => Some(3),
        ExchangeState::DeviceDiscovery => Some(4),
        ExchangeState::Other(_) => None,
    }
}

/// `DeviceAccessStateReason`'s numbers: 0-11 as documented, then Exchange 2013+'s
/// CommandFrequency (12) and the external-MDM values from 51 on.
pub(crate) fn exchange_reason_number(reason: &ExchangeReason) -> Option<i32> {
    let number = match reason {
        ExchangeReason::Unknown => 0,
        ExchangeReason::Global => 1,
        ExchangeReason::Individual => 2,
        ExchangeReason::DeviceRule => 3,
        ExchangeReason::Upgrade => 4,
        ExchangeReason::Policy => 5,
        ExchangeReason::UserAgentsChanges => 6,
        ExchangeReason::RecentCommands => 7,
        ExchangeReason::Watsons => 8,
        ExchangeReason::OutOfBudgets => 9,
        ExchangeReason::SyncCommands => 10,
        ExchangeReason::EnableNotificationEmail => 11,
        ExchangeReason::ExternallyManaged => 51,
        ExchangeReason::Other(text) => match text.as_str() {
            "CommandFrequency" => 12,
            "ExternalCompliance" => 52,
            "ExternalEnrollment" => 53,
            _ => return None,
        },
    };
    Some(number)
}

pub(crate) fn access_level_number(level: AccessLevel) -> i32 {
    match level {
        AccessLevel::Allow => 0,
        AccessLevel::Block => 1,
        AccessLevel::Quarantine => 2,
    }
}

pub(crate) fn access_level_from_number(number: i64) -> Option<AccessLevel> {
    [AccessLevel::Allow, AccessLevel::Block, AccessLevel::Quarantine]
        .into_iter()
        .find(|level| i64::from(access_level_number(*level)) == number)
}

pub(crate) fn characteristic_number(characteristic: Characteristic) -> i32 {
    match characteristic {
        Characteristic::DeviceType => 0,
        Characteristic::DeviceModel => 1,
        Characteristic::DeviceOs => 2,
        Characteristic::UserAgent => 3,
        Characteristic::XmswlHeader => 4,
    }
}

pub(crate) fn characteristic_from_number(number: i64) -> Option<Characteristic> {
    [
        Characteristic::DeviceType,
        Characteristic::DeviceModel,
        Characteristic::DeviceOs,
        Characteristic::UserAgent,
        Characteristic::XmswlHeader,
    ]
    .into_iter()
    .find(|characteristic| i64::from(characteristic_number(*characteristic)) == number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_the_forms_exchange_writes() {
        let expected = parse_date_time("2026-01-02T03:04:05Z");
        assert!(expected.is_some());
        assert_eq!(parse_date_time("2026-01-02T03:04:05.0000000Z"), expected);
        assert_eq!(parse_date_time("2026-01-02T04:04:05+01:00"), expected);
        assert_eq!(parse_date_time("01/02/2026 03:04:05"), expected);
        assert_eq!(parse_date_time("2026-01-02T03:04:05"), expected);
        assert_eq!(parse_date_time("not a date"), None);
    }

    #[test]
    fn enums_are_read_from_a_string_or_an_enum_object_and_unknown_values_are_kept() {
        let mut object = ObjectBuilder::new(&["Test"])
            .enumeration("A", DEVICE_ACCESS_STATE, "Quarantined", Some(3))
            .text("B", "Quarantined")
            .text("C", "SomethingNew")
            .build();
        let mut reader = ObjectReader::new(&mut object, "Test").expect("an object");
        assert_eq!(reader.exchange_state("A"), ExchangeState::Quarantined);
        assert_eq!(reader.exchange_state("B"), ExchangeState::Quarantined);
        assert_eq!(reader.exchange_state("C"), ExchangeState::Other("SomethingNew".to_string()));
    }
}
