//! Runs a scenario's steps in a `World`, one outcome per step.

use serde_json::{Value, json};

use crate::domain::vocabulary::SyncTrigger;
use crate::scenario::expect;
use crate::scenario::step::{FaultKind as StepFault, FaultTarget, LocatedStep, Step};
use crate::scenario::world::{World, WorldError};
use crate::sim::FaultKind;
use crate::sim::exchange::DeviceSpec;
use crate::sim::population::{PopulationSpec, load_population};
use crate::sync::engine::SyncReport;
use crate::tenant::TenantPolicy;

/// What one step did.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    pub line: usize,
    pub name: &'static str,
    pub ok: bool,
    /// One line for people.
    pub summary: String,
    /// The step's JSON object (`--format json`), without `file`.
    pub json: Value,
}

/// Why a scenario stopped before its end.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {detail}")]
pub struct StepError {
    pub line: usize,
    pub detail: String,
    /// The scenario itself is wrong (exit 2) rather than easgate failing (exit 1).
    pub bad_input: bool,
}

pub fn step_name(step: &Step) -> &'static str {
    match step {
        Step::Org(_) => "org",
        Step::Policy(_) => "policy",
        Step::User(_) => "user",
        Step::Connect(_) => "connect",
        Step::WorkplaceJoin(_) => "workplace_join",
        Step::Enroll(_) => "enroll",
        Step::ActivateEmail(_) => "activate_email",
        Step::Compliance(_) => "compliance",
        Step::Unenroll(_) => "unenroll",
        Step::Wipe(_) => "wipe",
        Step::RemovePartnership(_) => "remove_partnership",
        Step::AdminAllow(_) => "admin_allow",
        Step::AdminBlock(_) => "admin_block",
        Step::AdminClear(_) => "admin_clear",
        Step::ExchangeRule(_) => "exchange_rule",
        Step::Sync(_) => "sync",
        Step::Advance(_) => "advance",
        Step::Restart => "restart",
        Step::Crash(_) => "crash",
        Step::CasDown(_) => "cas_down",
        Step::CasUp(_) => "cas_up",
        Step::Fault(_) => "fault",
        Step::Expect(_) => "expect",
        Step::ExpectExchange(_) => "expect_exchange",
        Step::ExpectMail(_) => "expect_mail",
        Step::Population(_) => "population",
        Step::ExpectVerify => "expect_verify",
        Step::ExpectCounts(_) => "expect_counts",
    }
}

/// Runs every step; stops at the first step that cannot run (an expectation that fails does
/// not stop the scenario).
pub async fn run_steps(
    world: &mut World,
    steps: &[LocatedStep],
) -> Result<Vec<StepOutcome>, (Vec<StepOutcome>, StepError)> {
    let mut outcomes = Vec::with_capacity(steps.len());
    for located in steps {
        match run_step(world, &located.step).await {
            Ok((ok, summary, json)) => {
                outcomes.push(StepOutcome { line: located.line, name: step_name(&located.step), ok, summary, json })
            }
            Err(error) => {
                let bad_input = matches!(error, WorldError::Scenario(_));
                return Err((outcomes, StepError { line: located.line, detail: error.to_string(), bad_input }));
            }
        }
    }
    if let Some(link) = world.psrp.take() {
        world
            .stop_engine()
            .map_err(|error| (Vec::new(), StepError { line: 0, detail: error.to_string(), bad_input: false }))?;
        link.shutdown().await;
    }
    Ok(outcomes)
}

/// Runs a step that builds the organisation (see `cli::sim_exchange::is_setup`); returns false
/// for any other step, which is skipped.
pub async fn run_setup_step(world: &mut World, step: &Step) -> Result<bool, WorldError> {
    if !crate::cli::sim_exchange::is_setup(step) {
        return Ok(false);
    }
    run_step(world, step).await.map(|_| true)
}

fn done(summary: impl Into<String>) -> Result<(bool, String, Value), WorldError> {
    Ok((true, summary.into(), json!({})))
}

fn sim_fault(kind: StepFault) -> FaultKind {
    match kind {
        StepFault::Throttle => FaultKind::Throttle,
        StepFault::Timeout => FaultKind::Timeout,
        StepFault::Error => FaultKind::Error,
    }
}

fn sync_json(report: &SyncReport) -> Value {
    json!({
        "kind": report.kind.as_str(),
        "ok": report.ok,
        "error": report.error,
        "duration_ms": report.duration_ms,
        "wall_ms": report.wall_ms,
        "cmdlets": report.counts.cmdlets,
        "cmdlets_failed": report.counts.cmdlets_failed,
        "reads": report.counts.reads,
        "devices": report.counts.devices,
        "decisions": report.counts.decisions,
        "notifications": report.counts.notifications,
        "drift": report.counts.drift,
        "phases_ms": report.phases_ms.iter().map(|(name, ms)| (name.to_string(), json!(ms))).collect::<serde_json::Map<_, _>>(),
    })
}

fn sync_summary(report: &SyncReport) -> String {
    let status = match &report.error {
        None => "ok".to_string(),
        Some(error) => format!("failed ({error})"),
    };
    format!(
        "{} sync {status}: {} ms, {} cmdlets, {} reads, {} devices",
        report.kind.as_str(),
        report.duration_ms,
        report.counts.cmdlets,
        report.counts.reads,
        report.counts.devices
    )
}

/// The user a scenario device belongs to (its mailbox in the organisation).
fn owner_of(world: &mut World, device_id: &str) -> Result<String, WorldError> {
    let truth = world.exchange()?.device(device_id);
    truth
        .map(|truth| truth.mailbox_upn)
        .ok_or_else(|| WorldError::Scenario(format!("field `device_id`: unknown device {device_id:?}")))
}

async fn run_step(world: &mut World, step: &Step) -> Result<(bool, String, Value), WorldError> {
    match step {
        Step::Org(org) => {
            world.create_organization(&org.name, &org.cas, org.default_access)?;
            world.exchange()?.set_latency(std::time::Duration::from_millis(org.latency_ms));
            done(format!("organisation {} with {}", org.name, org.cas.join(", ")))
        }
        Step::Policy(policy) => {
            world.tenant.set_policy(Some(TenantPolicy {
                enabled: policy.enabled,
                included_groups: policy.included_groups.clone(),
                excluded_groups: policy.excluded_groups.clone(),
                default_access: policy.default_access,
                override_default_rule: policy.override_default_rule,
                access_rules: policy.access_rules.clone(),
                notification: policy.notification.clone(),
            }));
            done("policy set")
        }
        Step::User(user) => {
            let smtp = user.smtp.clone().unwrap_or_else(|| user.upn.clone());
            world.tenant.upsert_user(&user.upn, &smtp, user.licensed, &user.groups);
            world.exchange()?.ensure_mailbox(&user.upn, &smtp)?;
            done(format!("user {}", user.upn))
        }
        Step::Connect(connect) => {
            let mut device =
                DeviceSpec::new(&connect.device_id, &connect.device_type, &connect.device_model, &connect.device_os);
            device.user_agent = connect.user_agent.clone();
            let truth = world.exchange()?.connect_device(&connect.upn, &device)?;
            done(format!("{} connected to {} ({})", connect.device_id, connect.upn, truth.state.as_str()))
        }
        Step::WorkplaceJoin(device) => {
            owner_of(world, &device.device_id)?;
            world.tenant.workplace_join(&device.device_id);
            done(format!("{} workplace-joined", device.device_id))
        }
        Step::Enroll(enroll) => {
            let upn = owner_of(world, &enroll.device_id)?;
            world.tenant.enroll(&enroll.device_id, &upn, enroll.compliance)?;
            done(format!("{} enrolled", enroll.device_id))
        }
        Step::ActivateEmail(device) => {
            world.tenant.activate_email(&device.device_id)?;
            done(format!("{} email activated", device.device_id))
        }
        Step::Compliance(compliance) => {
            world.tenant.set_compliance(&compliance.device_id, compliance.state)?;
            done(format!("{} is {}", compliance.device_id, compliance.state.as_str()))
        }
        Step::Unenroll(device) => {
            world.tenant.unenroll(&device.device_id)?;
            done(format!("{} unenrolled", device.device_id))
        }
        Step::Wipe(device) => {
            owner_of(world, &device.device_id)?;
            let report = world
                .engine()
                .await?
                .request_wipe(&device.device_id, "scenario")
                .await
                .map_err(|error| WorldError::Engine(error.to_string()))?;
            Ok((
                true,
                format!(
                    "wipe of {}: {} partnership(s), {} confirmed",
                    device.device_id, report.partnerships, report.confirmed
                ),
                json!({"partnerships": report.partnerships, "confirmed": report.confirmed}),
            ))
        }
        Step::RemovePartnership(device) => {
            let removed = world.exchange()?.remove_partnership(&device.device_id)?;
            done(format!("{removed} partnership(s) of {} removed", device.device_id))
        }
        Step::AdminAllow(entry) => {
            world.exchange()?.admin_allow(&entry.upn, &entry.device_id)?;
            done(format!("admin allowed {} on {}", entry.device_id, entry.upn))
        }
        Step::AdminBlock(entry) => {
            world.exchange()?.admin_block(&entry.upn, &entry.device_id)?;
            done(format!("admin blocked {} on {}", entry.device_id, entry.upn))
        }
        Step::AdminClear(entry) => {
            world.exchange()?.admin_clear(&entry.upn, &entry.device_id)?;
            done(format!("admin cleared {} on {}", entry.device_id, entry.upn))
        }
        Step::ExchangeRule(rule) => {
            world.exchange()?.admin_add_rule(&rule.query, rule.characteristic, rule.access)?;
            done(format!(
                "rule {} ({}) -> {}",
                rule.query,
                rule.characteristic.exchange_name(),
                rule.access.exchange_name()
            ))
        }
        other => run_control_step(world, other).await,
    }
}

async fn run_control_step(world: &mut World, step: &Step) -> Result<(bool, String, Value), WorldError> {
    match step {
        Step::Sync(sync) => {
            let report = world.sync(sync.kind, SyncTrigger::Manual).await?;
            Ok((true, sync_summary(&report), sync_json(&report)))
        }
        Step::Advance(advance) => {
            let reports = world.advance(advance.seconds).await?;
            let syncs: Vec<Value> = reports.iter().map(sync_json).collect();
            let summary = format!(
                "{} s later; {} scheduled sync(s){}",
                advance.seconds,
                reports.len(),
                reports.iter().map(|report| format!("; {}", sync_summary(report))).collect::<String>()
            );
            Ok((true, summary, json!({"seconds": advance.seconds, "syncs": syncs})))
        }
        Step::Restart => {
            world.stop_engine()?;
            world.start_engine().await?;
            done("easgate restarted from its data directory")
        }
        Step::Crash(crash) => {
            let struck = world.crash(crash.during, crash.after_cmdlets).await?;
            let summary = if struck {
                format!(
                    "killed during a {} sync after {} cmdlet(s), restarted",
                    crash.during.as_str(),
                    crash.after_cmdlets
                )
            } else {
                format!(
                    "the {} sync completed before its cmdlet number {}; restarted",
                    crash.during.as_str(),
                    crash.after_cmdlets + 1
                )
            };
            Ok((true, summary, json!({"struck": struck})))
        }
        Step::CasDown(server) => {
            world.exchange()?.cas_down(&server.server)?;
            done(format!("{} down", server.server))
        }
        Step::CasUp(server) => {
            world.exchange()?.cas_up(&server.server)?;
            done(format!("{} up", server.server))
        }
        Step::Fault(fault) => {
            let count =
                u32::try_from(fault.count).map_err(|_| WorldError::Scenario("field `count`: too large".into()))?;
            match fault.target {
                FaultTarget::Exchange => world.exchange()?.inject_fault(sim_fault(fault.kind), count)?,
                FaultTarget::Tenant => world.tenant.inject_fault(sim_fault(fault.kind), count)?,
                FaultTarget::Mail => world.outbox.inject_fault(sim_fault(fault.kind), count)?,
            }
            done(format!("next {} call(s) fail", fault.count))
        }
        Step::Population(population) => {
            let domain = format!("{}.com", world.exchange()?.organization().name);
            let spec = PopulationSpec {
                users: usize::try_from(population.users).unwrap_or(usize::MAX),
                devices_per_user: usize::try_from(population.devices_per_user).unwrap_or(usize::MAX),
                enrolled: population.enrolled,
                compliant: population.compliant,
                groups: population.groups.clone(),
                seed: population.seed,
                domain,
            };
            let exchange = world.exchange()?.clone();
            let summary = load_population(&spec, &exchange, &world.tenant)?;
            Ok((
                true,
                format!(
                    "{} users, {} devices ({} enrolled, {} compliant)",
                    summary.users, summary.devices, summary.enrolled, summary.compliant
                ),
                json!({"users": summary.users, "devices": summary.devices, "enrolled": summary.enrolled, "compliant": summary.compliant}),
            ))
        }
        expectation => expect::check(world, expectation).await,
    }
}
