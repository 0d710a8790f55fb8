//! The `expect*` steps: the projection, Exchange's ground truth, the outbox, the log, counts.
//! A failed expectation reports what was expected and what was found; it does not stop the run.

use serde_json::{Value, json};

use crate::domain::projection::flow::{parse_step, step_name};
use crate::domain::vocabulary::{Access, ExchangeReason, ExchangeState};
use crate::scenario::step::{Expect, ExpectCounts, ExpectExchange, ExpectMail, Step};
use crate::scenario::world::{World, WorldError};

type Checked = Result<(bool, String, Value), WorldError>;

/// Compares one field; collects mismatches as `field: expected X, found Y`.
struct Comparison {
    expected: serde_json::Map<String, Value>,
    actual: serde_json::Map<String, Value>,
    mismatches: Vec<String>,
}

impl Comparison {
    fn new() -> Comparison {
        Comparison { expected: Default::default(), actual: Default::default(), mismatches: Vec::new() }
    }

    fn field(&mut self, name: &str, expected: Value, actual: Value, equal: bool) {
        if !equal {
            self.mismatches.push(format!("{name}: expected {expected}, found {actual}"));
        }
        self.expected.insert(name.to_string(), expected);
        self.actual.insert(name.to_string(), actual);
    }

    fn outcome(self, what: String) -> (bool, String, Value) {
        let ok = self.mismatches.is_empty();
        let summary =
            if ok { format!("{what}: as expected") } else { format!("{what}: {}", self.mismatches.join("; ")) };
        let json = if ok {
            json!({"ok": true})
        } else {
            json!({"ok": false, "expected": Value::Object(self.expected), "actual": Value::Object(self.actual)})
        };
        (ok, summary, json)
    }
}

pub async fn check(world: &mut World, step: &Step) -> Checked {
    match step {
        Step::Expect(expect) => check_projection(world, expect).await,
        Step::ExpectExchange(expect) => check_exchange(world, expect),
        Step::ExpectMail(expect) => Ok(check_mail(world, expect)),
        Step::ExpectVerify => check_verify(world).await,
        Step::ExpectCounts(expect) => check_counts(world, expect).await,
        other => Err(WorldError::Engine(format!("{other:?} is not an expectation"))),
    }
}

async fn check_projection(world: &mut World, expect: &Expect) -> Checked {
    if world.exchange()?.partnerships_of_device(&expect.device_id).is_empty() {
        return Err(WorldError::Scenario(format!("field `device_id`: unknown device {:?}", expect.device_id)));
    }
    let projection = world.engine().await?.projection();
    let devices: Vec<_> =
        projection.devices_with_id(&expect.device_id).into_iter().filter(|device| !device.removed).collect();
    let mut comparison = Comparison::new();
    let Some(device) = devices.first() else {
        comparison.field("device_id", json!(expect.device_id), Value::Null, false);
        return Ok(comparison.outcome(format!("{} (not in the projection)", expect.device_id)));
    };
    if let Some(access) = expect.access {
        let actual = device.access.map(Access::as_str);
        comparison.field("access", json!(access.as_str()), json!(actual), actual == Some(access.as_str()));
    }
    if let Some(reason) = expect.reason {
        let actual = device.reason.map(|reason| reason.as_str());
        comparison.field("reason", json!(reason.as_str()), json!(actual), actual == Some(reason.as_str()));
    }
    if let Some(step) = &expect.flow_step {
        let text = match step {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let wanted = parse_step(&text).unwrap_or(0);
        let actual = json!({"step": device.flow_step, "name": step_name(device.flow_step)});
        comparison.field("flow_step", step.clone(), actual, wanted == device.flow_step);
    }
    if let Some(state) = &expect.exchange_state {
        let wanted = ExchangeState::parse(state);
        comparison.field(
            "exchange_state",
            json!(state),
            json!(device.exchange_state.as_str()),
            wanted == device.exchange_state,
        );
    }
    if let Some(targeted) = expect.targeted {
        let actual = device.inputs.as_ref().map(|inputs| inputs.targeted).unwrap_or(false);
        comparison.field("targeted", json!(targeted), json!(actual), targeted == actual);
    }
    if let Some(compliance) = expect.compliance {
        let actual = projection.compliance_of(device);
        comparison.field("compliance", json!(compliance.as_str()), json!(actual.as_str()), compliance == actual);
    }
    Ok(comparison.outcome(format!("{} on {}", device.device_id, device.mailbox)))
}

fn check_exchange(world: &mut World, expect: &ExpectExchange) -> Checked {
    let partnerships = world.exchange()?.partnerships_of_device(&expect.device_id);
    let Some(truth) = partnerships.first() else {
        return Err(WorldError::Scenario(format!("field `device_id`: unknown device {:?}", expect.device_id)));
    };
    let mut comparison = Comparison::new();
    if let Some(state) = &expect.state {
        let equal = ExchangeState::parse(state) == truth.state;
        comparison.field("state", json!(state), json!(truth.state.as_str()), equal);
    }
    if let Some(reason) = &expect.reason {
        let equal = ExchangeReason::parse(reason) == truth.reason;
        comparison.field("reason", json!(reason), json!(truth.reason.as_str()), equal);
    }
    Ok(comparison.outcome(format!("Exchange's {}", expect.device_id)))
}

fn check_mail(world: &World, expect: &ExpectMail) -> (bool, String, Value) {
    let delivered = world.outbox.delivered();
    let matching = delivered
        .iter()
        .filter(|mail| expect.to.as_ref().is_none_or(|to| mail.to.eq_ignore_ascii_case(to)))
        .filter(|mail| {
            expect
                .contains
                .as_ref()
                .is_none_or(|text| mail.html_body.contains(text.as_str()) || mail.subject.contains(text.as_str()))
        })
        .count() as u64;
    let mut comparison = Comparison::new();
    match expect.count {
        Some(count) => comparison.field("count", json!(count), json!(matching), count == matching),
        None => comparison.field("count", json!(">= 1"), json!(matching), matching >= 1),
    }
    let to = expect.to.clone().unwrap_or_else(|| "anyone".to_string());
    comparison.outcome(format!("mail to {to}"))
}

async fn check_verify(world: &mut World) -> Checked {
    // The log is verified as a user would: the process stopped, the directory read in full.
    world.stop_engine()?;
    let verdict = match crate::data::open_for_reading(&world.data_dir) {
        Ok(store) => store.verify(Some(&mut crate::data::ProjectionReplay)).map(|report| report.records),
        Err(error) => Err(error),
    };
    world.start_engine().await?;
    let mut comparison = Comparison::new();
    match verdict {
        Ok(records) => {
            comparison.field("verify", json!("ok"), json!("ok"), true);
            Ok((true, format!("the log verifies ({records} records)"), json!({"ok": true, "records": records})))
        }
        Err(error) => {
            comparison.field("verify", json!("ok"), json!(error.to_string()), false);
            Ok(comparison.outcome("the log".to_string()))
        }
    }
}

async fn check_counts(world: &mut World, expect: &ExpectCounts) -> Checked {
    let counts = world.engine().await?.projection().counts_by_access();
    let mut comparison = Comparison::new();
    for (access, wanted) in [
        (Access::Allowed, expect.allowed),
        (Access::Blocked, expect.blocked),
        (Access::Quarantined, expect.quarantined),
        (Access::Exempt, expect.exempt),
    ] {
        if let Some(wanted) = wanted {
            let actual = counts.get(&access).copied().unwrap_or(0);
            comparison.field(access.as_str(), json!(wanted), json!(actual), wanted == actual);
        }
    }
    Ok(comparison.outcome("counts".to_string()))
}
