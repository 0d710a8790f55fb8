//! The tenant a fake Graph serves: the recorded "contoso" tenant of fixtures/graph/contoso, or a
//! generated tenant of any size whose records are made on demand from their index (so a
//! 100,000-device tenant costs the fake no memory).

use std::collections::HashMap;

use serde_json::{Value, json};

pub const CONTOSO_INCLUDED_GROUP: &str = "5f1c2a9e-2b7d-4c1e-9a53-0d8f6b1e7a01";
pub const CONTOSO_EXCLUDED_GROUP: &str = "9d0e7b3c-6a41-4f2e-8b19-2c7e5d4a3f02";
/// The one included group of a generated tenant; every generated user is in it.
pub const GENERATED_GROUP: &str = "0a0b0c0d-0e0f-4a1b-8c2d-3e4f5a6b7c8d";

const CONTOSO_DEVICES: &str = include_str!("../../fixtures/graph/contoso/managed_devices.json");
const CONTOSO_USERS: &str = include_str!("../../fixtures/graph/contoso/users.json");
const CONTOSO_MEMBERS: &str = include_str!("../../fixtures/graph/contoso/group_members.json");
const CONTOSO_POLICY: &str = include_str!("../../fixtures/graph/contoso/exchange_on_premises_policy.json");
const CONTOSO_SETTINGS: &str = include_str!("../../fixtures/graph/contoso/conditional_access_settings.json");

/// A collection: recorded JSON objects, or `count` objects made by `make(index)`.
#[derive(Clone)]
pub enum FakeRecords {
    Recorded(Vec<Value>),
    Generated { count: usize, make: fn(usize) -> Value },
}

impl FakeRecords {
    pub fn len(&self) -> usize {
        match self {
            FakeRecords::Recorded(records) => records.len(),
            FakeRecords::Generated { count, .. } => *count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `offset..offset + count` as JSON text, comma-separated.
    pub fn page_json(&self, offset: usize, count: usize) -> String {
        let end = offset.saturating_add(count).min(self.len());
        let mut text = String::with_capacity(count * 400);
        for index in offset.min(end)..end {
            if !text.is_empty() {
                text.push(',');
            }
            let record = match self {
                FakeRecords::Recorded(records) => records[index].to_string(),
                FakeRecords::Generated { make, .. } => make(index).to_string(),
            };
            text.push_str(&record);
        }
        text
    }
}

/// Everything a fake Graph serves.
#[derive(Clone)]
pub struct FakeTenantData {
    pub managed_devices: FakeRecords,
    pub users: FakeRecords,
    /// Transitive members by group id.
    pub group_members: HashMap<String, FakeRecords>,
    /// The body of `GET /beta/deviceManagement/exchangeOnPremisesPolicy`.
    pub exchange_policy: Value,
    /// The body of `GET /beta/deviceManagement/conditionalAccessSettings`.
    pub conditional_access_settings: Value,
}

fn parse_fixture(text: &str, name: &str) -> Value {
    // The fixtures are compiled in and checked by tests: a broken one is a bug in this crate.
    serde_json::from_str(text).unwrap_or_else(|error| panic!("fixture {name} is not JSON: {error}"))
}

fn records_of(value: Value) -> Vec<Value> {
    match value {
        Value::Array(records) => records,
        _ => Vec::new(),
    }
}

impl FakeTenantData {
    /// The recorded tenant: 7 managed devices (compliant, in grace, noncompliant, configManager,
    /// retire pending, unknownFutureValue, a hostile EAS id), 5 users, 2 groups, the policy.
    pub fn contoso() -> FakeTenantData {
        let members = parse_fixture(CONTOSO_MEMBERS, "group_members.json");
        let group_members = match members {
            Value::Object(groups) => {
                groups.into_iter().map(|(group, list)| (group, FakeRecords::Recorded(records_of(list)))).collect()
            }
            _ => HashMap::new(),
        };
        FakeTenantData {
            managed_devices: FakeRecords::Recorded(records_of(parse_fixture(CONTOSO_DEVICES, "managed_devices.json"))),
            users: FakeRecords::Recorded(records_of(parse_fixture(CONTOSO_USERS, "users.json"))),
            group_members,
            exchange_policy: parse_fixture(CONTOSO_POLICY, "exchange_on_premises_policy.json"),
            conditional_access_settings: parse_fixture(CONTOSO_SETTINGS, "conditional_access_settings.json"),
        }
    }

    /// A tenant of `devices` managed devices, two per user, every user licensed and in
    /// `GENERATED_GROUP`.
    pub fn generated(devices: usize) -> FakeTenantData {
        let users = devices.div_ceil(2).max(1);
        let mut group_members = HashMap::new();
        group_members
            .insert(GENERATED_GROUP.to_string(), FakeRecords::Generated { count: users, make: generated_member });
        let contoso = FakeTenantData::contoso();
        FakeTenantData {
            managed_devices: FakeRecords::Generated { count: devices, make: generated_device },
            users: FakeRecords::Generated { count: users, make: generated_user },
            group_members,
            exchange_policy: contoso.exchange_policy,
            conditional_access_settings: json!({
                "@odata.type": "#microsoft.graph.onPremisesConditionalAccessSettings",
                "id": "f6a8c5a4-8c5a-f6a8-5a8c-a8f65a8ca8f6",
                "enabled": true,
                "includedGroups": [GENERATED_GROUP],
                "excludedGroups": [],
                "overrideDefaultRule": true
            }),
        }
    }
}

fn generated_user_id(index: usize) -> String {
    format!("00000000-0000-4000-8000-{index:012}")
}

const COMPLIANCE_STATES: [&str; 5] = ["compliant", "compliant", "noncompliant", "inGracePeriod", "unknown"];

fn generated_device(index: usize) -> Value {
    let user = index / 2;
    json!({
        "id": format!("10000000-0000-4000-8000-{index:012}"),
        "userPrincipalName": format!("user{user:06}@contoso.test"),
        "easDeviceId": format!("EAS{index:013}"),
        "easActivated": !index.is_multiple_of(7),
        "complianceState": COMPLIANCE_STATES[index % COMPLIANCE_STATES.len()],
        "managementState": "managed",
        "azureADDeviceId": format!("20000000-0000-4000-8000-{index:012}"),
        "azureADRegistered": !index.is_multiple_of(11),
        "deviceName": format!("Device {index}"),
        "operatingSystem": if index.is_multiple_of(2) { "iOS" } else { "Android" },
        "model": if index.is_multiple_of(2) { "iPhone 15" } else { "Pixel 8" },
        "enrolledDateTime": "2025-11-02T09:15:00Z",
        "lastSyncDateTime": "2026-01-01T07:45:12Z"
    })
}

fn generated_user(index: usize) -> Value {
    json!({
        "id": generated_user_id(index),
        "userPrincipalName": format!("user{index:06}@contoso.test"),
        "mail": format!("user{index:06}@contoso.test"),
        "assignedPlans": [
            {"assignedDateTime": "2025-03-01T10:00:00Z", "capabilityStatus": "Enabled", "service": "SCO",
             "servicePlanId": "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"}
        ]
    })
}

fn generated_member(index: usize) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.user",
        "id": generated_user_id(index),
        "userPrincipalName": format!("user{index:06}@contoso.test")
    })
}
