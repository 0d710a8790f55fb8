//! The engine: one connector's syncs. It owns the journal (the single writer), the runspace
//! pool and the tenant and mail adapters, and runs each sync as a fixed sequence of phases:
//! recover intents, read the tenant, read Exchange, push the organisation's settings (full),
//! join, find drift (full), decide, act, read back, notify.
//!
//! Invariants: nothing is decided from a partial tenant view (a failed read ends the sync
//! before any decision); every state-changing cmdlet's intent is durable before the cmdlet
//! leaves the process; every failure is an event, never reported as done.

use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;

use crate::domain::event::*;
use crate::domain::vocabulary::{SyncKind, SyncTrigger};
use crate::domain::{Event, RecordedEvent};
use crate::exchange::{CmdletCall, CmdletOutput, ExchangeConnector, ExchangeError};
use crate::mail::Mailer;
use crate::sync::affected::Affected;
use crate::sync::journal::{Journal, LogError};
use crate::sync::pool::RunspacePool;
use crate::tenant::Tenant;

/// How failed calls are retried within a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts_max: u32,
    pub delay_base_ms: u64,
    pub delay_max_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy { attempts_max: 4, delay_base_ms: 2_000, delay_max_ms: 60_000 }
    }
}

impl RetryPolicy {
    /// Exponential backoff for attempt `attempt` (1-based), at least what the server asked.
    pub fn delay(&self, attempt: u32, server_asked_ms: Option<u64>) -> std::time::Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let backoff_ms = self.delay_base_ms.saturating_mul(1 << exponent).min(self.delay_max_ms);
        std::time::Duration::from_millis(backoff_ms.max(server_asked_ms.unwrap_or(0)))
    }
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub connector_id: String,
    pub organization: String,
    pub runspaces_max: usize,
    pub cas_failover: bool,
    pub retry: RetryPolicy,
    /// Above this many changed mailboxes, read back in bulk instead of per mailbox.
    pub readback_per_mailbox_max: usize,
    /// Intents committed together before their cmdlets run (group commit).
    pub intents_per_commit_max: usize,
    pub enrollment_url: String,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            connector_id: "easgate".into(),
            organization: String::new(),
            runspaces_max: 1,
            cas_failover: true,
            retry: RetryPolicy::default(),
            readback_per_mailbox_max: 64,
            intents_per_commit_max: 1_000,
            enrollment_url: crate::mail::template::DEFAULT_ENROLLMENT_URL.into(),
        }
    }
}

/// Why the engine stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The log refused an append or a flush. **Handling:** stop; nothing more can be recorded.
    #[error("the event log failed: {0}")]
    Log(#[from] LogError),
    /// A simulated crash (`crash` scenario step). **Handling:** drop the engine and restart it.
    #[error("crashed after {0} cmdlets (simulated)")]
    Crashed(u64),
}

/// Why a phase ended the sync early.
pub(crate) enum PhaseError {
    /// The sync fails: recorded as `SyncFailed`. `disconnects` when credentials were refused.
    Failed {
        error: String,
        disconnects: bool,
    },
    Engine(EngineError),
}

impl From<LogError> for PhaseError {
    fn from(error: LogError) -> PhaseError {
        PhaseError::Engine(EngineError::Log(error))
    }
}

/// What one sync did.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncReport {
    pub run_id: Uuid,
    pub kind: SyncKind,
    pub ok: bool,
    pub error: Option<String>,
    pub counts: SyncCounts,
    /// On the engine's clock (virtual in simulations).
    pub duration_ms: u64,
    /// Real time spent.
    pub wall_ms: u64,
    /// Real time spent in each phase, in order.
    pub phases_ms: Vec<(&'static str, u64)>,
}

/// The state of the sync being run.
pub(crate) struct Run {
    pub run_id: Uuid,
    pub kind: SyncKind,
    pub counts: SyncCounts,
    pub affected: Affected,
    /// Mailboxes of the partnerships decided in this run.
    pub decided_mailboxes: std::collections::BTreeSet<String>,
    /// Real time spent in each phase so far.
    pub phases_ms: Vec<(&'static str, u64)>,
    phase_started: Instant,
}

impl Run {
    pub fn new(run_id: Uuid, kind: SyncKind) -> Run {
        Run {
            run_id,
            kind,
            counts: SyncCounts::default(),
            affected: Affected::default(),
            decided_mailboxes: Default::default(),
            phases_ms: Vec::new(),
            phase_started: Instant::now(),
        }
    }

    /// Ends the current phase: the wall time since the previous one is `name`'s.
    pub fn phase(&mut self, name: &'static str) {
        let elapsed_ms = u64::try_from(self.phase_started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.phases_ms.push((name, elapsed_ms));
        self.phase_started = Instant::now();
    }
}

pub struct Engine {
    pub(crate) journal: Journal,
    pub(crate) pool: RunspacePool,
    pub(crate) tenant: Arc<dyn Tenant>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) config: EngineConfig,
    pub(crate) tenant_cursor: Option<String>,
    /// Simulated crash: stop after this many state-changing cmdlets in this process.
    pub(crate) crash_after_cmdlets: Option<u64>,
    pub(crate) cmdlets_issued: u64,
    /// When each partnership was last decided without its decision changing (in memory: after
    /// a restart, stale partnerships are decided once more).
    pub(crate) evaluated: rustc_hash::FxHashMap<crate::domain::projection::DeviceKey, u64>,
    /// Mailboxes whose cmdlets did not go through, planned again by the next sync.
    pub(crate) carry_mailboxes: std::collections::BTreeSet<String>,
}

impl Engine {
    pub fn new(
        journal: Journal,
        exchange: Arc<dyn ExchangeConnector>,
        tenant: Arc<dyn Tenant>,
        mailer: Arc<dyn Mailer>,
        config: EngineConfig,
    ) -> Engine {
        let pool = RunspacePool::new(exchange, config.runspaces_max, config.cas_failover);
        Engine {
            journal,
            pool,
            tenant,
            mailer,
            config,
            tenant_cursor: None,
            crash_after_cmdlets: None,
            cmdlets_issued: 0,
            evaluated: Default::default(),
            carry_mailboxes: Default::default(),
        }
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn projection(&self) -> &crate::domain::projection::Projection {
        self.journal.projection()
    }

    pub fn into_journal(self) -> Journal {
        self.journal
    }

    /// Snapshots the projection when enough events were recorded since the last snapshot.
    pub fn snapshot_if_due(&mut self) -> Result<(), EngineError> {
        self.journal.snapshot_if_due(crate::data::SNAPSHOT_EVERY_EVENTS)?;
        Ok(())
    }

    /// Arms a simulated crash after `cmdlets` more state-changing cmdlets.
    /// A sync the log shows started and never ended: the process stopped during it. It is
    /// recorded as failed, so that the audit trail and `status` say so.
    fn end_interrupted_sync(&mut self) -> Result<(), EngineError> {
        let Some(running) = self.journal.projection().syncs.running.clone() else { return Ok(()) };
        let now_us = self.journal.clock().now().timestamp_micros();
        let duration_ms = u64::try_from((now_us - running.started_at_us) / 1_000).unwrap_or_default();
        let failed = Event::SyncFailed(SyncFailed {
            run_id: running.run_id,
            kind: running.kind,
            error: "interrupted: easgate stopped during this sync; the next sync settles its cmdlets".to_string(),
            counts: Default::default(),
            duration_ms,
        });
        self.journal.record(Some(running.run_id), vec![failed])?;
        Ok(())
    }

    /// A simulated crash whose count of cmdlets is reached (`crash_after(0)`) strikes at the sync's
    /// next side effect (a cmdlet, a mail) or, when it has none, before the sync ends.
    pub(crate) fn strike_if_due(&mut self) -> Result<(), EngineError> {
        if self.crash_after_cmdlets.is_some_and(|limit| self.cmdlets_issued >= limit) {
            self.crash_after_cmdlets = None;
            return Err(EngineError::Crashed(self.cmdlets_issued));
        }
        Ok(())
    }

    pub fn crash_after(&mut self, cmdlets: u64) {
        self.crash_after_cmdlets = Some(self.cmdlets_issued + cmdlets);
    }

    /// Registers the connector (once) and settles intents a previous process left without an
    /// outcome by reading Exchange back. Run at start.
    pub async fn start(&mut self) -> Result<(), EngineError> {
        if !self.journal.projection().connectors.contains_key(&self.config.connector_id) {
            let registered = Event::ConnectorRegistered(ConnectorRegistered {
                connector_id: self.config.connector_id.clone(),
                organization: self.config.organization.clone(),
                server: self.pool.current_server().await,
                kind: Default::default(),
                replaces: None,
            });
            self.journal.record(None, vec![registered])?;
        }
        if let Some(organization) = &self.journal.projection().organization {
            self.pool.learn_servers(&organization.cas_servers.clone()).await;
            let current = organization.current_server.clone();
            self.pool.set_current_server(&current).await;
        }
        if !self.journal.projection().pending_commands.is_empty() {
            let correlation = self.journal.new_id();
            match self.reconcile_pending(correlation).await {
                Ok(()) | Err(PhaseError::Failed { .. }) => {}
                Err(PhaseError::Engine(error)) => return Err(error),
            }
            self.record_failovers(Some(correlation)).await?;
        }
        self.journal.commit()?;
        Ok(())
    }

    /// Runs one sync to completion. A sync that fails is reported (and recorded), not an error.
    pub async fn sync(&mut self, kind: SyncKind, trigger: SyncTrigger) -> Result<SyncReport, EngineError> {
        let started_at = self.journal.clock().now();
        let wall = Instant::now();
        // Without a completed full sync there is no baseline to take a delta from.
        let kind = if self.journal.projection().syncs.last_full_completed.is_none() { SyncKind::Full } else { kind };
        self.end_interrupted_sync()?;
        let run_id = self.journal.new_id();
        self.journal.record(Some(run_id), vec![Event::SyncStarted(SyncStarted { run_id, kind, trigger })])?;
        let mut run = Run::new(run_id, kind);
        let outcome = self.run_phases(&mut run).await;
        self.pool.close_idle().await;
        self.record_failovers(Some(run_id)).await?;
        let duration_ms =
            u64::try_from((self.journal.clock().now() - started_at).num_milliseconds()).unwrap_or_default();
        run.counts.devices = self.journal.projection().devices.values().filter(|device| !device.removed).count() as u64;
        self.strike_if_due()?;
        let error = match outcome {
            Ok(()) => None,
            Err(PhaseError::Engine(error)) => return Err(error),
            Err(PhaseError::Failed { error, disconnects }) => Some((error, disconnects)),
        };
        let ok = error.is_none();
        let end = match &error {
            None => Event::SyncCompleted(SyncCompleted { run_id, kind, counts: run.counts, duration_ms }),
            Some((error, _)) => {
                Event::SyncFailed(SyncFailed { run_id, kind, error: error.clone(), counts: run.counts, duration_ms })
            }
        };
        self.journal.record(Some(run_id), vec![end])?;
        let status = match &error {
            None => ("connected", String::new()),
            Some((error, true)) => ("disconnected", error.clone()),
            Some((_, false)) => ("connected", String::new()),
        };
        self.record_status(run_id, status.0, &status.1)?;
        self.journal.commit()?;
        let wall_ms = u64::try_from(wall.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(SyncReport {
            run_id,
            kind,
            ok,
            error: error.map(|(error, _)| error),
            counts: run.counts,
            duration_ms,
            wall_ms,
            phases_ms: run.phases_ms,
        })
    }

    async fn run_phases(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        if !self.journal.projection().pending_commands.is_empty() {
            self.reconcile_pending(run.run_id).await?;
        }
        self.pool.try_return_to_primary().await;
        run.phase("recover");
        self.read_tenant(run).await?;
        run.phase("tenant");
        self.read_exchange(run).await?;
        run.phase("exchange");
        if run.kind == SyncKind::Full {
            self.push_organization(run).await?;
            run.phase("organization");
        }
        let mappings = crate::domain::observe::observe_mappings(self.journal.projection());
        self.record_noting(run, mappings)?;
        if run.kind == SyncKind::Full {
            self.detect_drift(run)?;
        }
        run.phase("join");
        self.decide(run)?;
        run.phase("decide");
        self.act_on_mailboxes(run).await?;
        run.phase("act");
        self.notify(run).await?;
        run.phase("notify");
        self.run_pending_wipes(run).await?;
        run.phase("wipe");
        Ok(())
    }

    /// Records events and notes which partnerships they concern.
    pub(crate) fn record_noting(&mut self, run: &mut Run, events: Vec<Event>) -> Result<Vec<RecordedEvent>, LogError> {
        let recorded = self.journal.record(Some(run.run_id), events)?;
        run.affected.note(self.journal.projection(), &recorded);
        Ok(recorded)
    }

    async fn record_failovers(&mut self, correlation: Option<Uuid>) -> Result<(), LogError> {
        let events = self
            .pool
            .take_failovers()
            .await
            .into_iter()
            .map(|failover| {
                Event::CasFailedOver(CasFailedOver { from: failover.from, to: failover.to, reason: failover.reason })
            })
            .collect();
        self.journal.record(correlation, events).map(|_| ())
    }

    fn record_status(&mut self, run_id: Uuid, status: &str, reason: &str) -> Result<(), LogError> {
        let connector_id = self.config.connector_id.clone();
        let unchanged = self
            .journal
            .projection()
            .connectors
            .get(&connector_id)
            .is_some_and(|connector| connector.status == status && connector.status_reason == reason);
        if unchanged {
            return Ok(());
        }
        let event = Event::ConnectorStatusChanged(ConnectorStatusChanged {
            connector_id,
            status: status.to_string(),
            reason: reason.to_string(),
        });
        self.journal.record(Some(run_id), vec![event]).map(|_| ())
    }

    /// A read cmdlet, retried with backoff on retryable failures (reads are not recorded).
    pub(crate) async fn read(&self, run: &mut Run, call: &CmdletCall) -> Result<CmdletOutput, ExchangeError> {
        let mut attempt = 1;
        loop {
            run.counts.reads += 1;
            match self.pool.invoke(call).await {
                Ok(output) => return Ok(output),
                Err(error) if error.is_retryable() && attempt < self.config.retry.attempts_max => {
                    let asked = match &error {
                        ExchangeError::Throttled { retry_after_ms, .. } => *retry_after_ms,
                        _ => None,
                    };
                    self.journal.clock().sleep(self.config.retry.delay(attempt, asked)).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// A failed Exchange read ends the sync.
pub(crate) fn read_failed(what: &str, error: ExchangeError) -> PhaseError {
    let disconnects = matches!(
        error,
        ExchangeError::Unauthorized { .. } | ExchangeError::ProxyRefused { .. } | ExchangeError::Unreachable { .. }
    );
    PhaseError::Failed { error: format!("reading {what} from Exchange failed: {error}"), disconnects }
}
