//! The scenario file format of DESIGN section 7: JSON lines, one step a line, `do` naming the
//! step. Parsing is strict: an unknown step, an unknown field or a bad value is an error naming
//! the file, the line and the field.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::domain::event::PolicyAccessRule;
use crate::domain::vocabulary::{AccessLevel, Characteristic, Compliance, SyncKind};

/// How many steps one scenario file may hold.
pub const STEPS_PER_FILE_MAX: usize = 1_000_000;

/// One step with the line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedStep {
    pub line: usize,
    pub step: Step,
}

/// A bad scenario line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {detail}")]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Org(Org),
    Policy(Policy),
    User(User),
    Connect(Connect),
    WorkplaceJoin(DeviceOnly),
    Enroll(Enroll),
    ActivateEmail(DeviceOnly),
    Compliance(ComplianceStep),
    Unenroll(DeviceOnly),
    Wipe(DeviceOnly),
    RemovePartnership(DeviceOnly),
    AdminAllow(AdminEntry),
    AdminBlock(AdminEntry),
    AdminClear(AdminEntry),
    ExchangeRule(ExchangeRule),
    Sync(Sync),
    Advance(Advance),
    Restart,
    Crash(Crash),
    CasDown(Server),
    CasUp(Server),
    Fault(Fault),
    Expect(Expect),
    ExpectExchange(ExpectExchange),
    ExpectMail(ExpectMail),
    Population(Population),
    ExpectVerify,
    ExpectCounts(ExpectCounts),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Org {
    #[serde(default = "default_org_name")]
    pub name: String,
    #[serde(default = "default_cas")]
    pub cas: Vec<String>,
    #[serde(default = "default_org_access")]
    pub default_access: AccessLevel,
    /// Latency of every Exchange call, in virtual milliseconds (an easgate addition).
    #[serde(default)]
    pub latency_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub included_groups: Vec<String>,
    #[serde(default)]
    pub excluded_groups: Vec<String>,
    #[serde(default = "default_policy_access")]
    pub default_access: AccessLevel,
    #[serde(default = "yes")]
    pub override_default_rule: bool,
    #[serde(default, deserialize_with = "strict_access_rules")]
    pub access_rules: Vec<PolicyAccessRule>,
    #[serde(default)]
    pub notification: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub upn: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default = "yes")]
    pub licensed: bool,
    #[serde(default)]
    pub smtp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    pub upn: String,
    pub device_id: String,
    #[serde(default = "default_device_type")]
    pub device_type: String,
    #[serde(default)]
    pub device_model: String,
    #[serde(default)]
    pub device_os: String,
    #[serde(default)]
    pub user_agent: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceOnly {
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enroll {
    pub device_id: String,
    #[serde(default)]
    pub compliance: Option<Compliance>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceStep {
    pub device_id: String,
    pub state: Compliance,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminEntry {
    pub upn: String,
    pub device_id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRule {
    pub query: String,
    pub characteristic: Characteristic,
    pub access: AccessLevel,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sync {
    /// Optional, as it always was: a bare `{"do":"sync"}` runs a full sync.
    #[serde(default = "default_sync_kind")]
    pub kind: SyncKind,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    pub seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crash {
    pub during: SyncKind,
    pub after_cmdlets: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub server: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    Exchange,
    Tenant,
    Mail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Throttle,
    Timeout,
    Error,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub target: FaultTarget,
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub device_id: String,
    #[serde(default)]
    pub access: Option<crate::domain::vocabulary::Access>,
    #[serde(default)]
    pub reason: Option<crate::domain::vocabulary::Reason>,
    /// A step number (3) or name ("quarantined").
    #[serde(default)]
    pub flow_step: Option<serde_json::Value>,
    #[serde(default)]
    pub exchange_state: Option<String>,
    #[serde(default)]
    pub targeted: Option<bool>,
    #[serde(default)]
    pub compliance: Option<Compliance>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectExchange {
    pub device_id: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectMail {
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub contains: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    pub users: u64,
    #[serde(default = "one")]
    pub devices_per_user: u64,
    #[serde(default)]
    pub enrolled: f64,
    #[serde(default)]
    pub compliant: f64,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectCounts {
    #[serde(default)]
    pub allowed: Option<u64>,
    #[serde(default)]
    pub blocked: Option<u64>,
    #[serde(default)]
    pub quarantined: Option<u64>,
    #[serde(default)]
    pub exempt: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

fn yes() -> bool {
    true
}
fn one() -> u64 {
    1
}
fn default_org_name() -> String {
    "contoso".to_string()
}
fn default_cas() -> Vec<String> {
    vec!["cas1".to_string()]
}
fn default_org_access() -> AccessLevel {
    AccessLevel::Allow
}
fn default_policy_access() -> AccessLevel {
    AccessLevel::Quarantine
}
fn default_device_type() -> String {
    "iPhone".to_string()
}
fn default_sync_kind() -> SyncKind {
    SyncKind::Full
}

/// A policy access rule as a scenario writes it: unknown fields are refused here too.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioAccessRule {
    device_class: String,
    #[serde(rename = "type")]
    rule_match: crate::domain::vocabulary::RuleMatch,
    access: AccessLevel,
}

fn strict_access_rules<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<PolicyAccessRule>, D::Error> {
    let rules = Vec::<ScenarioAccessRule>::deserialize(deserializer)?;
    Ok(rules
        .into_iter()
        .map(|rule| PolicyAccessRule {
            device_class: rule.device_class,
            rule_match: rule.rule_match,
            access: rule.access,
        })
        .collect())
}

/// Population sizes a scenario may ask for.
pub const POPULATION_USERS_MAX: u64 = 1_000_000;
pub const POPULATION_DEVICES_PER_USER_MAX: u64 = 100;

/// Parses one line (1-based `line` for messages).
pub fn parse_line(text: &str) -> Result<Step, String> {
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|error| format!("not a JSON object: {error}"))?;
    let kind = match object.remove("do") {
        Some(serde_json::Value::String(kind)) => kind,
        Some(_) => return Err("field `do`: must be a string naming the step".to_string()),
        None => return Err("field `do` is missing".to_string()),
    };
    let rest = serde_json::Value::Object(object);
    let step = match kind.as_str() {
        "org" => Step::Org(fields(rest)?),
        "policy" => Step::Policy(fields(rest)?),
        "user" => Step::User(fields(rest)?),
        "connect" => Step::Connect(fields(rest)?),
        "workplace_join" => Step::WorkplaceJoin(fields(rest)?),
        "enroll" => Step::Enroll(fields(rest)?),
        "activate_email" => Step::ActivateEmail(fields(rest)?),
        "compliance" => Step::Compliance(fields(rest)?),
        "unenroll" => Step::Unenroll(fields(rest)?),
        "wipe" => Step::Wipe(fields(rest)?),
        "remove_partnership" => Step::RemovePartnership(fields(rest)?),
        "admin_allow" => Step::AdminAllow(fields(rest)?),
        "admin_block" => Step::AdminBlock(fields(rest)?),
        "admin_clear" => Step::AdminClear(fields(rest)?),
        "exchange_rule" => Step::ExchangeRule(fields(rest)?),
        "sync" => Step::Sync(fields(rest)?),
        "advance" => Step::Advance(fields(rest)?),
        "restart" => fields::<NoFields>(rest).map(|_| Step::Restart)?,
        "crash" => Step::Crash(fields(rest)?),
        "cas_down" => Step::CasDown(fields(rest)?),
        "cas_up" => Step::CasUp(fields(rest)?),
        "fault" => Step::Fault(fields(rest)?),
        "expect" => Step::Expect(fields(rest)?),
        "expect_exchange" => Step::ExpectExchange(fields(rest)?),
        "expect_mail" => Step::ExpectMail(fields(rest)?),
        "population" => Step::Population(fields(rest)?),
        "expect_verify" => fields::<NoFields>(rest).map(|_| Step::ExpectVerify)?,
        "expect_counts" => Step::ExpectCounts(fields(rest)?),
        unknown => return Err(format!("field `do`: unknown step `{unknown}`")),
    };
    validate(&step)?;
    Ok(step)
}

fn fields<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        if path == "." || path.is_empty() { inner } else { format!("field `{path}`: {inner}") }
    })
}

/// Checks values serde cannot: ranges, empty identifiers, step names.
fn validate(step: &Step) -> Result<(), String> {
    let fraction = |name: &str, value: f64| {
        if (0.0..=1.0).contains(&value) {
            Ok(())
        } else {
            Err(format!("field `{name}`: {value} is not a fraction in 0..1"))
        }
    };
    match step {
        Step::Population(population) => {
            fraction("enrolled", population.enrolled)?;
            fraction("compliant", population.compliant)?;
            if population.users == 0 || population.users > POPULATION_USERS_MAX {
                return Err(format!("field `users`: must be 1..={POPULATION_USERS_MAX}"));
            }
            if population.devices_per_user == 0 || population.devices_per_user > POPULATION_DEVICES_PER_USER_MAX {
                return Err(format!("field `devices_per_user`: must be 1..={POPULATION_DEVICES_PER_USER_MAX}"));
            }
        }
        Step::Expect(expect) => {
            if let Some(step) = &expect.flow_step {
                let text = match step {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                if crate::domain::projection::flow::parse_step(&text).is_none() {
                    return Err(format!("field `flow_step`: `{text}` is not a step (1..10 or its name)"));
                }
            }
        }
        Step::Connect(connect) if connect.device_id.is_empty() => return Err("field `device_id`: empty".into()),
        Step::Org(org) if org.cas.is_empty() => return Err("field `cas`: needs at least one server".into()),
        _ => {}
    }
    Ok(())
}

/// Parses a whole scenario file; the first bad line is the error.
pub fn parse_file(path: &Path) -> Result<Vec<LocatedStep>, ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| ScenarioError {
        file: file.clone(),
        line: 0,
        detail: format!("cannot read: {error}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|byte| **byte == b'\n').count() + 1;
        ScenarioError { file: file.clone(), line, detail: "not UTF-8 text".to_string() }
    })?;
    parse_text(&file, &text)
}

pub fn parse_text(file: &str, text: &str) -> Result<Vec<LocatedStep>, ScenarioError> {
    let mut steps = Vec::new();
    for (index, line_text) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = line_text.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        if steps.len() >= STEPS_PER_FILE_MAX {
            let detail = format!("more than {STEPS_PER_FILE_MAX} steps");
            return Err(ScenarioError { file: file.to_string(), line, detail });
        }
        let step = parse_line(trimmed).map_err(|detail| ScenarioError { file: file.to_string(), line, detail })?;
        steps.push(LocatedStep { line, step });
    }
    if steps.is_empty() {
        let detail = "no steps: a scenario has at least one JSON line with `do`".to_string();
        return Err(ScenarioError { file: file.to_string(), line: 1, detail });
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_names_the_line_and_the_field() {
        let text =
            "{\"do\":\"org\",\"name\":\"contoso\"}\n{\"do\":\"expect\",\"device_id\":\"A\",\"access\":\"allow\"}\n";
        let error = parse_text("s.jsonl", text).unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.to_string().starts_with("s.jsonl:2: field `access`"), "{error}");
    }

    #[test]
    fn unknown_steps_and_fields_are_refused() {
        assert!(parse_line(r#"{"do":"teleport"}"#).unwrap_err().contains("unknown step `teleport`"));
        let error = parse_line(r#"{"do":"sync","kind":"full","colour":"red"}"#).unwrap_err();
        assert!(error.contains("colour"), "{error}");
        assert!(parse_line(r#"{"do":"restart","now":true}"#).unwrap_err().contains("now"));
        assert!(parse_line(r#"{"kind":"full"}"#).unwrap_err().contains("`do` is missing"));
    }

    #[test]
    fn unknown_fields_inside_access_rules_and_unknown_sync_kinds_are_refused() {
        let rule =
            r#"{"do":"policy","access_rules":[{"device_class":"x","type":"family","access":"block","extra":1}]}"#;
        let error = parse_line(rule).unwrap_err();
        assert!(error.contains("access_rules") && error.contains("extra"), "{error}");
        assert!(parse_line(r#"{"do":"sync","kind":"delta"}"#).unwrap_err().contains("kind"));
    }

    #[test]
    fn an_empty_file_is_refused() {
        let error = parse_text("empty.jsonl", "\n  \n").unwrap_err();
        assert!(error.to_string().starts_with("empty.jsonl:1: no steps"), "{error}");
    }

    #[test]
    fn flow_steps_are_numbers_or_names() {
        assert!(parse_line(r#"{"do":"expect","device_id":"A","flow_step":10}"#).is_ok());
        assert!(parse_line(r#"{"do":"expect","device_id":"A","flow_step":"quarantined"}"#).is_ok());
        assert!(parse_line(r#"{"do":"expect","device_id":"A","flow_step":11}"#).unwrap_err().contains("flow_step"));
    }

    #[test]
    fn fractions_are_checked() {
        let error = parse_line(r#"{"do":"population","users":10,"enrolled":1.5}"#).unwrap_err();
        assert!(error.contains("enrolled"), "{error}");
    }
}
