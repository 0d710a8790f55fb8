//! Tests of the projection's tables, indexes and pending entries.

use crate::domain::given::{discovered, given};
use crate::domain::projection::Projection;

/// Partnerships first seen out of key order, a phone on two mailboxes and two phones on one:
/// the indexes hold positions in the table, and still answer in key order.
fn seen_out_of_order() -> Projection {
    given(vec![
        discovered("zoe@contoso.com", "PHONE-B", "iPhone"),
        discovered("zoe@contoso.com", "PHONE-A", "iPhone"),
        discovered("adam@contoso.com", "PHONE-B", "iPhone"),
        discovered("Max@Contoso.com", "phone-b", "iPhone"),
    ])
}

#[test]
fn the_indexes_answer_in_key_order_whatever_the_order_partnerships_were_seen() {
    let projection = seen_out_of_order();
    let mailboxes: Vec<&str> =
        projection.devices_with_id("Phone-B").iter().map(|device| device.mailbox.as_str()).collect();
    assert_eq!(mailboxes, ["adam@contoso.com", "Max@Contoso.com", "zoe@contoso.com"]);
    let ids: Vec<String> =
        projection.keys_of_mailbox("zoe@contoso.com").into_iter().map(|key| key.device_id.to_string()).collect();
    assert_eq!(ids, ["phone-a", "phone-b"]);
    let first_seen: Vec<&str> = projection.devices.values().map(|device| device.device_id.as_str()).collect();
    assert_eq!(first_seen, ["PHONE-B", "PHONE-A", "PHONE-B", "phone-b"]);
}

#[test]
fn pending_intents_come_out_oldest_first_whatever_finished_in_between() {
    use crate::domain::Event;
    use crate::domain::cmdlet_call::CmdletCall;
    use crate::domain::event::{CmdletRequested, CmdletSucceeded};
    let id = |number: u128| uuid::Uuid::from_u128(number);
    let requested = |number: u128| {
        let call = CmdletCall::new("Set-CASMailbox").text("Identity", &format!("user{number}@contoso.com"));
        Event::CmdletRequested(CmdletRequested {
            command_id: id(number),
            cmdlet: call.cmdlet,
            parameters: call.parameters,
            devices: Vec::new(),
            attempt: 1,
        })
    };
    let succeeded = |number: u128| {
        Event::CmdletSucceeded(CmdletSucceeded { command_id: id(number), cmdlet: "Set-CASMailbox".into() })
    };
    // Requested out of id order; the first and the fourth finish, which moves entries around.
    let projection =
        given(vec![requested(5), requested(1), requested(9), requested(3), succeeded(5), succeeded(3), requested(7)]);
    let ids: Vec<u128> =
        projection.pending_commands_oldest_first().iter().map(|pending| pending.command_id.as_u128()).collect();
    assert_eq!(ids, [1, 7, 9]);
    assert_eq!(projection.anomaly_count, 0);
}

#[test]
fn a_user_and_a_mailbox_observed_again_hold_what_was_observed_last() {
    use crate::domain::Event;
    use crate::domain::event::{MailboxObserved, UserObserved};
    use crate::domain::given::{mailbox, user};
    let moved = |smtp: &str, groups: &[&str]| {
        Event::UserObserved(UserObserved {
            upn: "Pat@Contoso.com".into(),
            smtp: smtp.into(),
            licensed: true,
            groups: groups.iter().map(|group| group.to_string()).collect(),
        })
    };
    let relisted = Event::MailboxObserved(MailboxObserved {
        mailbox: "pat@contoso.com".into(),
        identity: "contoso.com/Users/Pat".into(),
        activesync_enabled: false,
        allowed_device_ids: vec!["PHONE".into()],
        blocked_device_ids: Vec::new(),
    });
    let projection = given(vec![
        user("pat@contoso.com", true, &["mobile"]),
        mailbox("pat@contoso.com", &[], &["OLD"]),
        // The same again (nothing changes), then a new address, groups and lists.
        user("pat@contoso.com", true, &["mobile"]),
        moved("Pat.Lee@Contoso.com", &["mobile", "sales"]),
        mailbox("pat@contoso.com", &[], &["OLD"]),
        relisted,
    ]);
    let pat = projection.users.get("pat@contoso.com").expect("the user, by lowercased UPN");
    assert_eq!((pat.upn.as_str(), pat.smtp.as_str()), ("Pat@Contoso.com", "Pat.Lee@Contoso.com"));
    assert_eq!(pat.groups, ["mobile", "sales"]);
    assert_eq!(
        projection.user_for_mailbox("pat.lee@contoso.com").map(|user| user.upn.as_str()),
        Some("Pat@Contoso.com")
    );
    assert!(projection.user_by_smtp.get("pat@contoso.com").is_none(), "the old address maps to nobody");
    let mailbox = projection.mailboxes.get("pat@contoso.com").expect("the mailbox");
    assert_eq!((mailbox.identity.as_str(), mailbox.activesync_enabled), ("contoso.com/Users/Pat", false));
    assert_eq!(
        (mailbox.allowed_device_ids.as_slice(), mailbox.blocked_device_ids.as_slice()),
        (&["PHONE".to_string()][..], &[][..])
    );
    assert_eq!(projection.smtp_of_identity("contoso.com/users/pat"), Some("pat@contoso.com"));
    assert!(projection.smtp_of_identity("contoso.com/users/pat@contoso.com").is_none());
}

#[test]
fn tenant_records_observed_again_hold_what_was_observed_last() {
    use crate::domain::Event;
    use crate::domain::event::{DeviceEnrolled, DeviceRegistered, EasIdRegistered};
    let registered = |trust_type: &str| {
        Event::DeviceRegistered(DeviceRegistered {
            device_id: "PHONE".into(),
            entra_device_id: "entra-1".into(),
            trust_type: trust_type.into(),
        })
    };
    let enrolled = |managed: &str| {
        Event::DeviceEnrolled(DeviceEnrolled {
            managed_device_id: managed.into(),
            upn: "pat@contoso.com".into(),
            device_id: Some("PHONE".into()),
        })
    };
    let projection = given(vec![
        registered("Workplace"),
        registered("Workplace"),
        registered("AzureAd"),
        enrolled("managed-1"),
        enrolled("managed-1"),
        // The phone is enrolled again as another managed device, which reports its EAS id.
        enrolled("managed-2"),
        Event::EasIdRegistered(EasIdRegistered { managed_device_id: "managed-2".into(), device_id: "Phone".into() }),
    ]);
    assert_eq!(projection.registrations.len(), 1);
    assert_eq!(projection.registrations["phone"].trust_type, "AzureAd");
    assert_eq!(projection.tenant().reporting_eas_id("phone").map(|(id, _)| id), Some("managed-2"));
    let managed = &projection.managed["managed-2"];
    assert_eq!((managed.eas_device_id.as_deref(), managed.eas_activated), (Some("Phone"), true));
    assert_eq!(projection.managed["managed-1"].eas_device_id.as_deref(), Some("PHONE"));
}

#[test]
fn a_snapshot_keeps_the_order_partnerships_were_seen_so_its_indexes_rebuild_the_same() {
    let projection = seen_out_of_order();
    let mut loaded: Projection = postcard::from_bytes(&postcard::to_allocvec(&projection).unwrap()).unwrap();
    assert!(loaded.devices_by_id.is_empty(), "indexes are not in snapshots");
    loaded.rebuild_indexes();
    assert_eq!(loaded.devices_by_id, projection.devices_by_id);
    assert_eq!(loaded.devices_by_mailbox, projection.devices_by_mailbox);
    assert_eq!(loaded, projection);
}
