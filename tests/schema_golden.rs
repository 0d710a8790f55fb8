//! Golden bytes of every (event_type, event_version) in the catalog and of the record envelope
//! (schema/README.md). A shipped payload struct that is edited, reordered or loses a field no
//! longer encodes to (or decodes from) its golden bytes, and this test fails.
//!
//! `UPDATE_EXPECT=1 cargo test --test schema_golden` creates missing `.bin` files and rewrites the
//! `.json` files; it never overwrites an existing `.bin`: shipped bytes are immutable, a change
//! is a new version (delete a `.bin` by hand only for a version that never shipped).

use std::fs;
use std::path::{Path, PathBuf};

use easgate::domain::cmdlet_call::{ListEdit, ParamValue, Parameters};
use easgate::domain::event::*;
use easgate::domain::vocabulary::*;
use easgate::store::catalog::{self, CATALOG};
use easgate::store::record::{Envelope, decode_record, encode_record};
use uuid::Uuid;

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema")
}

fn updating() -> bool {
    std::env::var("UPDATE_EXPECT").is_ok_and(|value| value == "1")
}

fn uuid(value: u128) -> Uuid {
    Uuid::from_u128(value)
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

fn counts() -> SyncCounts {
    SyncCounts { devices: 120, decisions: 7, cmdlets: 5, reads: 40, cmdlets_failed: 1, notifications: 2, drift: 3 }
}

/// One value per event type, every field set to something other than its default.
fn samples() -> Vec<Event> {
    let device = |id: &str| DeviceRef { mailbox: "alice@contoso.com".into(), device_id: id.into() };
    vec![
        Event::ConnectorRegistered(ConnectorRegistered {
            connector_id: "c0a80101-0000-4000-8000-000000000001".into(),
            organization: "contoso".into(),
            server: "cas1.contoso.com".into(),
            kind: ConnectorKind::Hosted,
            replaces: Some("old-connector".into()),
        }),
        Event::PolicyApplied(PolicyApplied {
            revision: 4,
            enabled: true,
            included_groups: strings(&["grp-mobile"]),
            excluded_groups: strings(&["grp-vip", "grp-test"]),
            default_access: AccessLevel::Quarantine,
            override_default_rule: true,
            access_rules: vec![
                PolicyAccessRule {
                    device_class: "iPhone".into(),
                    rule_match: RuleMatch::Family,
                    access: AccessLevel::Allow,
                },
                PolicyAccessRule {
                    device_class: "SM-G991B".into(),
                    rule_match: RuleMatch::Model,
                    access: AccessLevel::Block,
                },
            ],
            notification: "<p>Enrol your device: https://aka.ms/enroll</p>".into(),
        }),
        Event::SyncStarted(SyncStarted { run_id: uuid(1), kind: SyncKind::Full, trigger: SyncTrigger::Manual }),
        Event::SyncCompleted(SyncCompleted {
            run_id: uuid(1),
            kind: SyncKind::Full,
            counts: counts(),
            duration_ms: 1_234,
        }),
        Event::SyncFailed(SyncFailed {
            run_id: uuid(2),
            kind: SyncKind::Quick,
            error: "Exchange server cas1 is unreachable".into(),
            counts: counts(),
            duration_ms: 56,
        }),
        Event::CasFailedOver(CasFailedOver { from: "cas1".into(), to: "cas2".into(), reason: "timeout".into() }),
        Event::UserObserved(UserObserved {
            upn: "alice@contoso.com".into(),
            smtp: "alice.smith@contoso.com".into(),
            licensed: true,
            groups: strings(&["grp-mobile", "grp-sales"]),
        }),
        Event::DeviceDiscovered(DeviceDiscovered {
            mailbox: "alice@contoso.com".into(),
            device_id: "ApplF17LTTCGFFG8".into(),
            device_type: "iPhone".into(),
            device_model: "iPhone15,2".into(),
            device_os: "iOS 17.4.1 21E236".into(),
            exchange_state: ExchangeState::Quarantined,
            exchange_reason: ExchangeReason::Other("SomeFutureReason".into()),
            user_agent: "Apple-iPhone15C2/2104.236".into(),
        }),
        Event::ExchangeStateObserved(ExchangeStateObserved {
            mailbox: "alice@contoso.com".into(),
            device_id: "ApplF17LTTCGFFG8".into(),
            exchange_state: ExchangeState::Other("SomeFutureState".into()),
            exchange_reason: ExchangeReason::DeviceRule,
        }),
        Event::PartnershipRemoved(PartnershipRemoved {
            mailbox: "bob@contoso.com".into(),
            device_id: "SEC1234".into(),
        }),
        Event::DeviceRegistered(DeviceRegistered {
            device_id: "ApplF17LTTCGFFG8".into(),
            entra_device_id: "5e9f0b8a-0000-4000-8000-00000000000a".into(),
            trust_type: "Workplace".into(),
        }),
        Event::DeviceEnrolled(DeviceEnrolled {
            managed_device_id: "md-0001".into(),
            upn: "alice@contoso.com".into(),
            device_id: Some("ApplF17LTTCGFFG8".into()),
        }),
        Event::DeviceUnenrolled(DeviceUnenrolled {
            managed_device_id: "md-0002".into(),
            upn: "bob@contoso.com".into(),
            device_id: Some("SEC1234".into()),
        }),
        Event::DeviceMapped(DeviceMapped {
            mailbox: "alice@contoso.com".into(),
            device_id: "ApplF17LTTCGFFG8".into(),
            managed_device_id: "md-0001".into(),
        }),
        Event::EasIdRegistered(EasIdRegistered {
            managed_device_id: "md-0001".into(),
            device_id: "ApplF17LTTCGFFG8".into(),
        }),
        Event::ComplianceObserved(ComplianceObserved {
            managed_device_id: "md-0001".into(),
            compliance: Compliance::InGracePeriod,
        }),
        Event::AccessDecided(AccessDecided {
            mailbox: "alice@contoso.com".into(),
            device_id: "ApplF17LTTCGFFG8".into(),
            access: Access::Blocked,
            reason: Reason::NotCompliant,
            inputs: DecisionInputs {
                targeted: true,
                enrolled: true,
                eas_id_linked: true,
                compliance: Compliance::Noncompliant,
                policy_revision: 4,
                admin_entry: ListEntry::Allow,
                exchange_rules_give: Some(AccessLevel::Quarantine),
                managed_device_id: Some("md-0001".into()),
            },
        }),
        Event::CmdletRequested(CmdletRequested {
            command_id: uuid(3),
            cmdlet: "Set-CASMailbox".into(),
            parameters: Parameters(vec![
                ("Identity".into(), ParamValue::Text("alice@contoso.com".into())),
                (
                    "ActiveSyncBlockedDeviceIDs".into(),
                    ParamValue::Edit(ListEdit { add: strings(&["ApplF17LTTCGFFG8"]), remove: strings(&["OLD1"]) }),
                ),
                ("ActiveSyncAllowedDeviceIDs".into(), ParamValue::List(strings(&["A1", "B2"]))),
                ("Confirm".into(), ParamValue::Bool(false)),
                ("ResultSize".into(), ParamValue::Int(-1)),
            ]),
            devices: vec![device("ApplF17LTTCGFFG8"), device("x\"; Remove-Mailbox -Identity *; \"")],
            attempt: 2,
        }),
        Event::CmdletSucceeded(CmdletSucceeded { command_id: uuid(3), cmdlet: "Set-CASMailbox".into() }),
        Event::CmdletFailed(CmdletFailed {
            command_id: uuid(4),
            cmdlet: "Set-CASMailbox".into(),
            error: "The operation couldn't be performed because object 'x' couldn't be found".into(),
            retryable: true,
            in_doubt: false,
        }),
        Event::CmdletReconciled(CmdletReconciled {
            command_id: uuid(5),
            cmdlet: "Set-CASMailbox".into(),
            applied: true,
            observed: "ApplF17LTTCGFFG8 is on the block list".into(),
        }),
        Event::NotificationRequested(NotificationRequested {
            notification_id: uuid(6),
            mailbox: "alice@contoso.com".into(),
            device_id: "ApplF17LTTCGFFG8".into(),
            to: "alice.smith@contoso.com".into(),
        }),
        Event::NotificationSent(NotificationSent {
            notification_id: uuid(6),
            mailbox: "alice@contoso.com".into(),
            device_id: "ApplF17LTTCGFFG8".into(),
            to: "alice.smith@contoso.com".into(),
        }),
        Event::NotificationFailed(NotificationFailed {
            notification_id: uuid(7),
            mailbox: "bob@contoso.com".into(),
            device_id: "SEC1234".into(),
            error: "EWS: ErrorMailRecipientNotFound".into(),
            retryable: true,
        }),
        Event::DriftDetected(DriftDetected {
            mailbox: "alice@contoso.com".into(),
            device_id: "ApplF17LTTCGFFG8".into(),
            expected: "blocked".into(),
            actual: "allowed".into(),
        }),
        Event::WipeRequested(WipeRequested {
            mailbox: "bob@contoso.com".into(),
            device_id: "SEC1234".into(),
            requested_by: "admin@contoso.com".into(),
        }),
        Event::WipeConfirmed(WipeConfirmed {
            mailbox: "bob@contoso.com".into(),
            device_id: "SEC1234".into(),
            requested_by: "admin@contoso.com".into(),
        }),
        Event::MailboxObserved(MailboxObserved {
            mailbox: "alice@contoso.com".into(),
            identity: "contoso.com/Users/Alice Smith".into(),
            activesync_enabled: false,
            allowed_device_ids: strings(&["A1"]),
            blocked_device_ids: strings(&["B2", "C3"]),
        }),
        Event::OrganizationObserved(OrganizationObserved {
            default_access: AccessLevel::Block,
            rules: vec![DeviceAccessRule {
                query: "iPhone".into(),
                characteristic: Characteristic::DeviceOs,
                access: AccessLevel::Quarantine,
            }],
            cas_servers: strings(&["cas1.contoso.com", "cas2.contoso.com"]),
        }),
        Event::ConnectorStatusChanged(ConnectorStatusChanged {
            connector_id: "c0a80101-0000-4000-8000-000000000001".into(),
            status: "disconnected".into(),
            reason: "credentials refused".into(),
        }),
    ]
}

/// Compares `actual` with the golden file; with UPDATE_EXPECT=1, writes it (a `.bin` only when absent).
fn check_golden(path: &Path, actual: &[u8]) {
    let immutable = path.extension().is_some_and(|extension| extension == "bin");
    if updating() && !(immutable && path.exists()) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, actual).unwrap();
        return;
    }
    let expected = fs::read(path).unwrap_or_else(|error| {
        panic!("{}: {error}; run UPDATE_EXPECT=1 cargo test --test schema_golden to create it", path.display())
    });
    assert!(
        expected == actual,
        "{} changed: a shipped payload or envelope must never change; add a new version and an upcaster (schema/README.md)\nexpected {expected:02x?}\nactual   {actual:02x?}",
        path.display()
    );
}

fn pretty_json_of(event: &Event) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(&catalog::EventData(event)).unwrap();
    text.push(b'\n');
    text
}

#[test]
fn there_is_a_sample_of_every_catalog_type_and_only_those() {
    let mut sample_names: Vec<&str> = samples().iter().map(Event::name).collect();
    let mut catalog_names: Vec<&str> = CATALOG.iter().map(|entry| entry.name).collect();
    sample_names.sort();
    catalog_names.sort();
    assert_eq!(sample_names, catalog_names);
}

#[test]
fn every_payload_encodes_to_its_golden_bytes_and_json() {
    for sample in samples() {
        let (event_type, event_version, bytes) = catalog::encode_payload(&sample).unwrap();
        let entry = catalog::entry(event_type).unwrap();
        assert_eq!(entry.name, sample.name());
        let directory = schema_dir().join("events").join(format!("v{event_version}"));
        check_golden(&directory.join(format!("{}.bin", entry.name)), &bytes);
        check_golden(&directory.join(format!("{}.json", entry.name)), &pretty_json_of(&sample));
    }
}

#[test]
fn every_golden_file_decodes_to_its_expected_value() {
    let samples = samples();
    let mut decoded_files = 0;
    for version_dir in fs::read_dir(schema_dir().join("events")).unwrap() {
        let version_dir = version_dir.unwrap().path();
        let version_name = version_dir.file_name().unwrap().to_string_lossy().into_owned();
        let version: u16 = version_name.strip_prefix('v').and_then(|number| number.parse().ok()).unwrap();
        for file in fs::read_dir(&version_dir).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_none_or(|extension| extension != "bin") {
                continue;
            }
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let entry =
                catalog::entry_by_name(&name).unwrap_or_else(|| panic!("{}: not in the catalog", path.display()));
            let decoded = catalog::decode_payload(entry.event_type, version, &fs::read(&path).unwrap())
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            // The .json is the value as this easgate reads the .bin (through the upcasters).
            let json: serde_json::Value =
                serde_json::from_slice(&fs::read(path.with_extension("json")).unwrap()).unwrap();
            let from_json = catalog::event_from_json_data(&name, json).map_err(|_| name.clone()).unwrap();
            assert_eq!(decoded, from_json, "{}", path.display());
            // A replay decodes the same bytes in place (text borrowed).
            let bytes = fs::read(&path).unwrap();
            let view = catalog::decode_payload_view(entry.event_type, version, &bytes).unwrap();
            match view {
                catalog::DecodedPayload::View(view) => assert_eq!(view, decoded.to_view(), "{}", path.display()),
                catalog::DecodedPayload::Owned(owned) => assert_eq!(owned, decoded, "{}", path.display()),
            }
            if version == entry.current_version {
                let sample = samples.iter().find(|sample| sample.name() == name).unwrap();
                assert_eq!(&decoded, sample, "{}", path.display());
            }
            decoded_files += 1;
        }
    }
    assert!(decoded_files >= CATALOG.len());
}

#[test]
fn the_envelope_encodes_to_its_golden_bytes() {
    let envelope = Envelope {
        seq: 0x0102_0304_0506_0708,
        recorded_at_us: 1_767_225_600_123_456,
        event_id: Uuid::parse_str("019b7a2c-1f00-7000-8000-00000000abcd").unwrap(),
        correlation_id: Some(uuid(0x11)),
        causation_id: Some(uuid(0x22)),
        event_type: catalog::event_type::DEVICE_DISCOVERED,
        event_version: 1,
        prev_hash: [0xa5; 32],
    };
    let record = encode_record(&envelope, b"postcard payload");
    check_golden(&schema_dir().join("envelope/v1/record.bin"), &record);
    let golden = fs::read(schema_dir().join("envelope/v1/record.bin")).unwrap();
    let (decoded, payload) = decode_record(&golden).unwrap();
    assert_eq!(decoded, envelope);
    assert_eq!(payload, b"postcard payload");
}
