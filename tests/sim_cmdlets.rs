//! The typed cmdlets: every cmdlet survives `into_call` -> (JSON, as `CmdletRequested` records it)
//! -> `registry::parse`, every result type survives `to_object` -> `from_object`, reading is
//! as tolerant as Exchange's wire requires, and binding fails the way PowerShell's does.

use chrono::{DateTime, TimeZone, Utc};
use easgate::clixml::value::{PsObject, PsValue};
use easgate::domain::cmdlet_call::{CmdletCall, ListEdit, ParamValue};
use easgate::domain::vocabulary::{AccessLevel, Characteristic, ExchangeReason, ExchangeState};
use easgate::exchange::cmdlets::get_activesync_device::device_identity;
use easgate::exchange::cmdlets::registry::{self, CMDLET_NAMES};
use easgate::exchange::cmdlets::*;

/// A DeviceId full of PowerShell metacharacters: it must stay one string end to end.
const HOSTILE_DEVICE_ID: &str = "x\"; Remove-Mailbox -Identity *; \"$(Stop-Computer)`'§@{a=1}";

fn time(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + seconds, 0).single().expect("a valid time")
}

fn every_cmdlet() -> Vec<AnyCmdlet> {
    let identity = device_identity("contoso.com/Users/alice", "iPhone", HOSTILE_DEVICE_ID);
    vec![
        AnyCmdlet::GetActiveSyncOrganizationSettings(GetActiveSyncOrganizationSettings::default()),
        AnyCmdlet::SetActiveSyncOrganizationSettings(SetActiveSyncOrganizationSettings {
            identity: Some("Mobile Mailbox Settings".into()),
            default_access_level: Some(AccessLevel::Quarantine),
            user_mail_insert: Some("Enrol at https://portal".into()),
            admin_mail_recipients: Some(MultiValuedChange::add(&["admin@contoso.com"])),
            ota_notification_mail_insert: None,
        }),
        AnyCmdlet::GetCasMailbox(GetCasMailbox::with_partnerships()),
        AnyCmdlet::SetCasMailbox(
            SetCasMailbox::identity("alice@contoso.com")
                .allowed(MultiValuedChange::Edit(ListEdit { add: vec![HOSTILE_DEVICE_ID.into()], remove: vec![] }))
                .blocked(MultiValuedChange::remove(&[HOSTILE_DEVICE_ID])),
        ),
        AnyCmdlet::GetActiveSyncMailboxPolicy(GetActiveSyncMailboxPolicy { identity: Some("Default".into()) }),
        AnyCmdlet::SetActiveSyncMailboxPolicy(SetActiveSyncMailboxPolicy {
            identity: "Default".into(),
            is_default: Some(true),
            allow_non_provisionable_devices: Some(true),
            device_password_enabled: None,
        }),
        AnyCmdlet::NewActiveSyncMailboxPolicy(NewActiveSyncMailboxPolicy {
            name: "Strict".into(),
            is_default: Some(false),
            allow_non_provisionable_devices: Some(false),
            device_password_enabled: Some(true),
        }),
        AnyCmdlet::RemoveActiveSyncMailboxPolicy(RemoveActiveSyncMailboxPolicy::identity("Strict")),
        AnyCmdlet::GetActiveSyncDeviceAccessRule(GetActiveSyncDeviceAccessRule { identity: None }),
        AnyCmdlet::SetActiveSyncDeviceAccessRule(SetActiveSyncDeviceAccessRule {
            identity: "Android (DeviceType)".into(),
            access_level: Some(AccessLevel::Block),
        }),
        AnyCmdlet::NewActiveSyncDeviceAccessRule(NewActiveSyncDeviceAccessRule {
            query_string: "iOS 6.1 10B145".into(),
            characteristic: Characteristic::DeviceOs,
            access_level: AccessLevel::Quarantine,
        }),
        AnyCmdlet::RemoveActiveSyncDeviceAccessRule(RemoveActiveSyncDeviceAccessRule::identity("Android (DeviceType)")),
        AnyCmdlet::GetActiveSyncDeviceStatistics(GetActiveSyncDeviceStatistics::identity(&identity)),
        AnyCmdlet::GetActiveSyncDevice(GetActiveSyncDevice::filtered(opath::first_sync_time_after(time(0)))),
        AnyCmdlet::GetExchangeServer(GetExchangeServer { identity: None }),
        AnyCmdlet::GetActiveSyncDeviceClass(GetActiveSyncDeviceClass::all()),
        AnyCmdlet::GetRecipient(GetRecipient {
            result_size: Some(ResultSize::Limit(5)),
            ..GetRecipient::identity("bob")
        }),
        AnyCmdlet::ClearActiveSyncDevice(ClearActiveSyncDevice {
            notification_email_addresses: vec!["admin@contoso.com".into()],
            ..ClearActiveSyncDevice::identity(&identity)
        }),
        AnyCmdlet::RemoveActiveSyncDevice(RemoveActiveSyncDevice::identity(&identity)),
        AnyCmdlet::SetAdServerSettings(SetAdServerSettings::view_entire_forest()),
        AnyCmdlet::GetCommand(GetCommand::names(&["Get-ActiveSyncDevice", "Set-CASMailbox"])),
    ]
}

#[test]
fn every_cmdlet_survives_into_call_json_and_parse() {
    let cmdlets = every_cmdlet();
    let mut names: Vec<&str> = cmdlets.iter().map(AnyCmdlet::name).collect();
    names.sort_unstable();
    let mut registered = CMDLET_NAMES.to_vec();
    registered.sort_unstable();
    assert_eq!(names, registered, "the sample covers every registered cmdlet");
    for cmdlet in cmdlets {
        let call = cmdlet.into_call();
        let json = serde_json::to_string(&call).expect("a call serialises");
        let recorded: CmdletCall = serde_json::from_str(&json).expect("and deserialises");
        assert_eq!(registry::parse(&recorded).as_ref(), Ok(&cmdlet), "{json}");
    }
}

#[test]
fn parameters_are_bound_the_way_powershell_binds_them() {
    let call = GetCasMailbox::with_partnerships().into_call();
    assert_eq!(call.parameter("Filter"), Some(&ParamValue::Text("HasActiveSyncDevicePartnership -eq $true".into())));
    assert_eq!(call.parameter("ResultSize"), Some(&ParamValue::Text("Unlimited".into())));
    let call = GetActiveSyncDevice::all().into_call();
    assert_eq!(call.parameter("ResultSize"), Some(&ParamValue::Text("Unlimited".into())));
    for destructive in [
        RemoveActiveSyncDevice::identity("x").into_call(),
        ClearActiveSyncDevice::identity("x").into_call(),
        RemoveActiveSyncDeviceAccessRule::identity("x").into_call(),
        RemoveActiveSyncMailboxPolicy::identity("x").into_call(),
    ] {
        assert_eq!(destructive.parameter("Confirm"), Some(&ParamValue::Bool(false)), "{}", destructive.cmdlet);
    }
    let edit = SetCasMailbox::identity("alice@contoso.com").allowed(MultiValuedChange::add(&["A"])).into_call();
    let expected = ParamValue::Edit(ListEdit { add: vec!["A".into()], remove: vec![] });
    assert_eq!(edit.parameter("ActiveSyncAllowedDeviceIDs"), Some(&expected));
    let json = serde_json::to_value(&edit).expect("serialises");
    assert_eq!(json["parameters"]["ActiveSyncAllowedDeviceIDs"], serde_json::json!({"Add": ["A"], "Remove": []}));
}

#[test]
fn a_hostile_device_id_stays_one_string_parameter() {
    let identity = device_identity("contoso.com/Users/alice", "iPhone", HOSTILE_DEVICE_ID);
    let call = RemoveActiveSyncDevice::identity(&identity).into_call();
    assert_eq!(call.parameters.0.len(), 2, "Identity and Confirm, nothing smuggled in");
    assert_eq!(call.text_parameter("Identity"), Some(identity.as_str()));
    let filter = opath::device_id_is(HOSTILE_DEVICE_ID);
    assert!(filter.starts_with("DeviceId -eq '") && filter.ends_with('\''));
    assert_eq!(filter.matches('\'').count() % 2, 0, "every quote inside the value is doubled");
}

fn binding_error(call: CmdletCall) -> CmdletError {
    registry::parse(&call).expect_err("the call must not bind")
}

#[test]
fn unknown_duplicate_mistyped_and_missing_parameters_fail_like_powershell() {
    let unknown = binding_error(CmdletCall::new("Get-ActiveSyncDevice").text("Mailbx", "alice"));
    assert_eq!(
        unknown.to_string(),
        "Get-ActiveSyncDevice: A parameter cannot be found that matches parameter name 'Mailbx'."
    );
    let record = unknown.to_error_record();
    assert_eq!(record.message, "A parameter cannot be found that matches parameter name 'Mailbx'.");
    assert_eq!(record.fully_qualified_error_id, "NamedParameterNotFound,Get-ActiveSyncDevice");

    let mut duplicate = CmdletCall::new("Set-CASMailbox").text("Identity", "a");
    duplicate.parameters.0.push(("identity".into(), ParamValue::Text("b".into())));
    assert!(matches!(binding_error(duplicate), CmdletError::DuplicateParameter { .. }));

    let mistyped =
        binding_error(CmdletCall::new("Set-CASMailbox").text("Identity", "a").text("ActiveSyncEnabled", "yes"));
    assert!(mistyped.to_string().contains("Cannot convert value \"yes\" to type \"System.Boolean\""), "{mistyped}");

    let bad_level =
        binding_error(CmdletCall::new("Set-ActiveSyncOrganizationSettings").text("DefaultAccessLevel", "Deny"));
    assert!(matches!(bad_level, CmdletError::WrongType { ref parameter, .. } if parameter == "DefaultAccessLevel"));

    let missing = binding_error(CmdletCall::new("Set-CASMailbox"));
    assert!(matches!(missing, CmdletError::MissingParameter { ref parameter, .. } if parameter == "Identity"));

    let both = binding_error(CmdletCall::new("Get-ActiveSyncDevice").text("Identity", "a").text("Mailbox", "b"));
    assert!(matches!(both, CmdletError::AmbiguousParameterSet { .. }));

    let unknown_cmdlet = binding_error(CmdletCall::new("Remove-Mailbox").text("Identity", "*"));
    assert!(matches!(unknown_cmdlet, CmdletError::UnknownCmdlet { .. }));
}

#[test]
fn names_and_parameter_names_are_case_insensitive_and_values_are_coerced_like_powershell() {
    let call =
        CmdletCall::new("get-activesyncdevice").text("resultsize", "unlimited").with("FILTER", ParamValue::Int(5));
    let parsed = registry::parse(&call).expect("binds");
    let AnyCmdlet::GetActiveSyncDevice(parsed) = parsed else { panic!("dispatched to the wrong cmdlet: {parsed:?}") };
    assert_eq!(parsed.result_size, Some(ResultSize::Unlimited));
    assert_eq!(parsed.filter.as_deref(), Some("5"));
    let absent_confirm = CmdletCall::new("Remove-ActiveSyncDevice").text("Identity", "x");
    let AnyCmdlet::RemoveActiveSyncDevice(parsed) = registry::parse(&absent_confirm).expect("binds") else {
        panic!("dispatched to the wrong cmdlet")
    };
    assert!(parsed.confirm, "without -Confirm:$false PowerShell would prompt");
}

fn sample_device() -> ActiveSyncDevice {
    ActiveSyncDevice {
        identity: device_identity("contoso.com/Users/alice", "iPhone", HOSTILE_DEVICE_ID),
        guid: Some(uuid::Uuid::from_u128(0x1234)),
        device_id: HOSTILE_DEVICE_ID.into(),
        device_type: "iPhone".into(),
        device_model: "iPhone15,2".into(),
        device_os: "iOS 17.1".into(),
        device_user_agent: "Apple-iPhone15C2/2101.123".into(),
        device_active_sync_version: "16.1".into(),
        user_display_name: "contoso.com/Users/alice".into(),
        first_sync_time: Some(time(60)),
        device_access_state: ExchangeState::Quarantined,
        device_access_state_reason: ExchangeReason::DeviceRule,
        device_access_control_rule: Some("iPhone (DeviceType)".into()),
        device_policy_applied: Some("Default".into()),
        device_policy_application_status: "AppliedInFull".into(),
        client_type: "EAS".into(),
        when_created: Some(time(60)),
        when_changed: Some(time(120)),
        ..ActiveSyncDevice::default()
    }
}

fn sample_mailbox() -> CasMailbox {
    CasMailbox {
        identity: "contoso.com/Users/alice".into(),
        name: "alice".into(),
        display_name: "Alice".into(),
        sam_account_name: "alice".into(),
        primary_smtp_address: "alice@contoso.com".into(),
        guid: None,
        activesync_enabled: true,
        activesync_allowed_device_ids: vec![HOSTILE_DEVICE_ID.into(), "ApplB".into()],
        activesync_blocked_device_ids: vec![],
        activesync_mailbox_policy: "Default".into(),
        activesync_mailbox_policy_is_defaulted: true,
        has_activesync_device_partnership: true,
    }
}

/// An object and the round trip through its typed form.
type Sample = (PsValue, fn(&PsValue) -> Result<PsValue, CmdletError>);

fn sample_objects() -> Vec<Sample> {
    fn again<T: ExchangeObject>(value: &PsValue) -> Result<PsValue, CmdletError> {
        T::from_object(value).map(|typed| typed.to_object())
    }
    let statistics = ActiveSyncDeviceStatistics {
        identity: sample_device().identity,
        device_id: HOSTILE_DEVICE_ID.into(),
        device_wipe_request_time: Some(time(5)),
        status: WipeStatus::DeviceWipePending,
        device_access_state: ExchangeState::Other("SomethingNew".into()),
        device_access_state_reason: ExchangeReason::Other("ExternalCompliance".into()),
        ..ActiveSyncDeviceStatistics::default()
    };
    let mailbox = sample_mailbox();
    let settings = ActiveSyncOrganizationSettings {
        identity: "Mobile Mailbox Settings".into(),
        name: "Mobile Mailbox Settings".into(),
        default_access_level: AccessLevel::Block,
        user_mail_insert: "footer".into(),
        admin_mail_recipients: vec!["admin@contoso.com".into()],
        ota_notification_mail_insert: String::new(),
    };
    let rule = ActiveSyncDeviceAccessRule::from_rule(&easgate::domain::event::DeviceAccessRule {
        query: "Android".into(),
        characteristic: Characteristic::DeviceType,
        access: AccessLevel::Quarantine,
    });
    let policy = ActiveSyncMailboxPolicy {
        identity: "Default".into(),
        name: "Default".into(),
        is_default: true,
        allow_non_provisionable_devices: true,
        device_password_enabled: false,
    };
    let server = ExchangeServer {
        identity: "CAS1".into(),
        name: "CAS1".into(),
        fqdn: "cas1.contoso.com".into(),
        server_role: "Mailbox, ClientAccess".into(),
        admin_display_version: "Version 15.2 (Build 1544.4)".into(),
        is_client_access_server: true,
        site: "Default-First-Site-Name".into(),
    };
    let recipient = Recipient {
        identity: "contoso.com/Users/bob".into(),
        name: "bob".into(),
        alias: "bob".into(),
        display_name: "Bob".into(),
        primary_smtp_address: "bob@contoso.com".into(),
        recipient_type: "UserMailbox".into(),
        recipient_type_details: "UserMailbox".into(),
        email_addresses: vec!["SMTP:bob@contoso.com".into()],
        guid: Some(uuid::Uuid::from_u128(7)),
    };
    vec![
        (sample_device().to_object(), again::<ActiveSyncDevice>),
        (statistics.to_object(), again::<ActiveSyncDeviceStatistics>),
        (mailbox.to_object(), again::<CasMailbox>),
        (settings.to_object(), again::<ActiveSyncOrganizationSettings>),
        (rule.to_object(), again::<ActiveSyncDeviceAccessRule>),
        (policy.to_object(), again::<ActiveSyncMailboxPolicy>),
        (server.to_object(), again::<ExchangeServer>),
        (ActiveSyncDeviceClass::new("iPhone", "iPhone15,2", Some(time(1))).to_object(), again::<ActiveSyncDeviceClass>),
        (recipient.to_object(), again::<Recipient>),
        (CommandInfo::cmdlet("Get-ActiveSyncDevice").to_object(), again::<CommandInfo>),
    ]
}

#[test]
fn every_result_type_survives_to_object_and_from_object() {
    for (object, round_trip) in sample_objects() {
        assert_eq!(round_trip(&object).as_ref(), Ok(&object));
    }
}

#[test]
fn results_look_like_exchange_objects() {
    let object = sample_device().to_object();
    let object = object.as_object().expect("an object");
    assert_eq!(
        object.type_names[0],
        "Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.ActiveSyncDevice"
    );
    let state = object.get("DeviceAccessState").and_then(PsValue::as_object).expect("an enum object");
    assert_eq!(state.to_string.as_deref(), Some("Quarantined"));
    assert_eq!(state.value, Some(PsValue::I32(3)));
    assert!(object.text("Identity").is_some_and(|identity| identity.contains("/ExchangeActiveSyncDevices/iPhone§")));
    let mailbox = sample_objects().swap_remove(2).0;
    let allowed = mailbox.as_object().and_then(|m| m.get("ActiveSyncAllowedDeviceIDs")).expect("a list");
    assert!(allowed.as_object().is_some_and(|list| list.type_names[0].contains("MultiValuedProperty")));
    assert_eq!(allowed.text_items().len(), 2);
}

/// Moves every property into `<MS>` and turns every enum object into a plain `<S>`.
fn as_extended_members_with_string_enums(value: &PsValue) -> PsValue {
    let object = value.as_object().expect("an object");
    let flatten = |(name, value): &(String, PsValue)| {
        let is_enum = value.as_object().is_some_and(|inner| inner.type_names.iter().any(|t| t == "System.Enum"));
        let value = if is_enum { PsValue::String(value.as_text().unwrap_or_default()) } else { value.clone() };
        (name.clone(), value)
    };
    PsValue::Object(Box::new(PsObject {
        members: object.properties.iter().map(flatten).collect(),
        properties: Vec::new(),
        ..object.clone()
    }))
}

#[test]
fn reading_accepts_properties_from_ms_and_enums_as_strings() {
    for (object, round_trip) in sample_objects() {
        let variant = as_extended_members_with_string_enums(&object);
        assert_eq!(round_trip(&variant).as_ref(), Ok(&object));
    }
}

#[test]
fn unknown_enum_values_are_kept_and_missing_key_properties_are_errors() {
    let mut device = sample_device();
    device.device_access_state = ExchangeState::Other("Suspended".into());
    let read = ActiveSyncDevice::from_object(&device.to_object()).expect("readable");
    assert_eq!(read.device_access_state, ExchangeState::Other("Suspended".into()));
    let without_device_id = PsValue::Object(Box::new(PsObject {
        properties: vec![("Identity".into(), PsValue::string("x"))],
        ..PsObject::default()
    }));
    let error = ActiveSyncDevice::from_object(&without_device_id).expect_err("DeviceId is required");
    assert!(error.to_string().contains("DeviceId"), "{error}");
    assert!(ActiveSyncDevice::from_object(&PsValue::string("not an object")).is_err());
}

#[test]
fn a_partnership_knows_its_mailbox_identity() {
    let device = sample_device();
    assert_eq!(device.mailbox_identity(), Some("contoso.com/Users/alice"));
    assert_eq!(device.name(), format!("iPhone§{HOSTILE_DEVICE_ID}"));
}
