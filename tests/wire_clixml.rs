//! CLIXML both ways: serialise -> parse is the identity for arbitrary values (proptest), strings
//! full of XML, PowerShell and control characters survive, and arbitrary bytes never panic the
//! reader.

use easgate::clixml::read::{parse_value, parse_value_bytes, parse_values};
use easgate::clixml::value::{Container, PsObject, PsValue};
use easgate::clixml::write::write_value;
use proptest::prelude::*;

/// Text that stresses every escape: XML metacharacters, PowerShell metacharacters, `_x`
/// look-alikes, controls, C1 controls, non-characters, astral characters and plain Unicode.
fn hostile_text() -> BoxedStrategy<String> {
    let fragment = prop_oneof![
        Just("<".to_string()),
        Just(">".to_string()),
        Just("&".to_string()),
        Just("&amp;".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("]]>".to_string()),
        Just("_x".to_string()),
        Just("_X".to_string()),
        Just("_x0041_".to_string()),
        Just("_x005F_".to_string()),
        Just("_xD83D_".to_string()),
        Just("$(Remove-Mailbox -Identity *)".to_string()),
        Just("x\"; Remove-Mailbox -Identity *; \"".to_string()),
        Just("`;|@{}".to_string()),
        Just("\r\n".to_string()),
        Just("\r".to_string()),
        Just("\t".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{85}".to_string()),
        Just("\u{FFFE}\u{FFFF}".to_string()),
        Just("\u{1F600}".to_string()),
        Just(" ".to_string()),
        any::<char>().prop_map(String::from),
        "[a-zA-Z0-9 ]{0,8}",
    ];
    prop::collection::vec(fragment, 0..8).prop_map(|fragments| fragments.concat()).boxed()
}

fn primitive() -> impl Strategy<Value = PsValue> {
    prop_oneof![
        Just(PsValue::Null),
        any::<bool>().prop_map(PsValue::Bool),
        any::<u16>().prop_map(PsValue::Char),
        any::<u8>().prop_map(PsValue::U8),
        any::<i8>().prop_map(PsValue::I8),
        any::<u16>().prop_map(PsValue::U16),
        any::<i16>().prop_map(PsValue::I16),
        any::<u32>().prop_map(PsValue::U32),
        any::<i32>().prop_map(PsValue::I32),
        any::<u64>().prop_map(PsValue::U64),
        any::<i64>().prop_map(PsValue::I64),
        any::<f32>().prop_filter("NaN is never equal to itself", |value| !value.is_nan()).prop_map(PsValue::F32),
        any::<f64>().prop_filter("NaN is never equal to itself", |value| !value.is_nan()).prop_map(PsValue::F64),
        "-?[0-9]{1,20}(\\.[0-9]{1,8})?".prop_map(PsValue::Decimal),
        hostile_text().prop_map(PsValue::String),
        hostile_text().prop_map(PsValue::DateTime),
        hostile_text().prop_map(PsValue::Duration),
        any::<[u8; 16]>().prop_map(|bytes| PsValue::Guid(uuid::Uuid::from_bytes(bytes))),
        hostile_text().prop_map(PsValue::Uri),
        hostile_text().prop_map(PsValue::Version),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(PsValue::Bytes),
        hostile_text().prop_map(PsValue::XmlDocument),
        hostile_text().prop_map(PsValue::ScriptBlock),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(PsValue::SecureString),
    ]
}

fn value() -> impl Strategy<Value = PsValue> {
    primitive().prop_recursive(4, 48, 6, |inner| {
        let members = prop::collection::vec((hostile_text(), inner.clone()), 0..4);
        let items = prop::collection::vec(inner.clone(), 0..4);
        let container = prop_oneof![
            Just(None),
            items.clone().prop_map(|items| Some(Container::List(items))),
            items.clone().prop_map(|items| Some(Container::Enumerable(items))),
            items.clone().prop_map(|items| Some(Container::Queue(items))),
            items.prop_map(|items| Some(Container::Stack(items))),
            prop::collection::vec((inner.clone(), inner.clone()), 0..3)
                .prop_map(|entries| Some(Container::Dictionary(entries))),
        ];
        let wrapped = prop::option::of(prop_oneof![primitive(), inner]);
        (
            prop::collection::vec(hostile_text(), 0..3),
            prop::option::of(hostile_text()),
            wrapped,
            members.clone(),
            members,
            container,
        )
            .prop_map(|(type_names, to_string, value, properties, members, container)| {
                PsValue::Object(Box::new(PsObject {
                    type_names: type_names.into(),
                    to_string,
                    value,
                    properties,
                    members,
                    container,
                }))
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn serialising_then_parsing_is_the_identity(original in value()) {
        let xml = write_value(&original);
        let parsed = parse_value(&xml).map_err(|error| TestCaseError::fail(format!("{error}\n{xml}")))?;
        prop_assert_eq!(parsed, original);
    }

    #[test]
    fn arbitrary_bytes_give_a_value_or_an_error_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_value_bytes(&bytes);
    }

    #[test]
    fn mutated_clixml_gives_a_value_or_an_error_never_a_panic(original in value(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut xml = write_value(&original).into_bytes();
        let position = cut.index(xml.len().max(1)).min(xml.len().saturating_sub(1));
        if !xml.is_empty() {
            xml[position] = byte;
        }
        let _ = parse_value_bytes(&xml);
        let _ = parse_value_bytes(&xml[..position]);
    }
}

#[test]
fn a_device_id_full_of_powershell_metacharacters_stays_one_string() {
    let device_id = "x\"; Remove-Mailbox -Identity *; \"";
    let xml = write_value(&PsValue::string(device_id));
    assert_eq!(parse_value(&xml).unwrap(), PsValue::string(device_id));
}

#[test]
fn not_a_number_and_infinities_are_written_as_dotnet_does() {
    assert_eq!(write_value(&PsValue::F64(f64::INFINITY)), "<Db>INF</Db>");
    assert_eq!(write_value(&PsValue::F64(f64::NEG_INFINITY)), "<Db>-INF</Db>");
    let PsValue::F64(value) = parse_value(&write_value(&PsValue::F64(f64::NAN))).unwrap() else { panic!() };
    assert!(value.is_nan());
}

#[test]
fn an_export_clixml_document_reads_as_a_list_of_values() {
    let document = "<?xml version=\"1.0\"?>\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">\n  <S>one</S>\n  <I32>2</I32>\n</Objs>";
    assert_eq!(parse_values(document).unwrap(), vec![PsValue::string("one"), PsValue::I32(2)]);
}
