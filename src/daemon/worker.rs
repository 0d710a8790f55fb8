//! One organisation's worker: a task that owns the organisation's engine (and so its data
//! directory and the single writer of its log), runs the syncs the main loop sends it one at a
//! time, publishes the organisation's status after each, and closes the journal cleanly (flush
//! + snapshot) when the main loop lets it go.

use std::path::PathBuf;
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::{mpsc, watch};

use crate::adapters::{OrganizationAdapters, register_connector};
use crate::clock::Clock;
use crate::daemon::error::DaemonError;
use crate::daemon::published::PublishedStatus;
use crate::domain::vocabulary::{SyncKind, SyncTrigger};
use crate::store::json_lines::format_recorded_at;
use crate::sync::engine::{Engine, SyncReport};
use crate::sync::ids::IdGenerator;
use crate::sync::journal::Journal;

/// sled's page cache for a long-running process. sled's default (1 GiB) would let the cache of
/// a large organisation's log grow to that; the log is appended and read sequentially, so a
/// small cache costs little.
pub const SLED_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Opens (creating if missing) an organisation's data directory for its single writer: the
/// store checked at its tail, the projection folded from the newest snapshot.
pub fn open_writer_journal(data_dir: &std::path::Path, clock: Arc<dyn Clock>) -> Result<Journal, DaemonError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|error| DaemonError::Config(format!("data directory {}: {error}", data_dir.display())))?;
    let ids = IdGenerator::from_entropy(clock.now());
    Ok(crate::data::open_journal_with(data_dir, SLED_CACHE_BYTES, clock, ids)?)
}

/// What the main loop asks a worker to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerCommand {
    Sync { kind: SyncKind, trigger: SyncTrigger },
}

/// How a sync ended.
#[derive(Debug)]
pub enum SyncOutcome {
    /// The sync ran to its end (ok or failed: see the report).
    Reported(SyncReport),
    /// Shutdown was forced: the sync stopped at its next await; what it recorded is in the log
    /// and intents without an outcome are settled at the next start.
    Abandoned,
    /// The log refused a write: the worker stops.
    Stopped(String),
}

/// A worker's message to the main loop.
#[derive(Debug)]
pub struct SyncFinished {
    pub organization_index: usize,
    pub outcome: SyncOutcome,
}

pub struct Worker {
    index: usize,
    organization: String,
    connector_id: String,
    data_dir: PathBuf,
    engine: Engine,
    published: watch::Sender<PublishedStatus>,
}

impl Worker {
    /// Opens the organisation's data directory, registers its connector (replacing the
    /// organisation's previous one), and settles intents a previous process left.
    pub async fn open(
        index: usize,
        adapters: OrganizationAdapters,
        clock: Arc<dyn Clock>,
    ) -> Result<(Worker, watch::Receiver<PublishedStatus>), DaemonError> {
        let mut journal = open_writer_journal(&adapters.data_dir, clock)?;
        if let Some(replaced) = register_connector(&mut journal, &adapters)? {
            tracing::info!(organization = %adapters.connector.exchange_organization, connector_id = %adapters.connector_id, %replaced, "registered a connector replacing the previous one");
        }
        let organization = adapters.connector.exchange_organization.clone();
        let mut engine =
            Engine::new(journal, adapters.exchange, adapters.tenant, adapters.mailer, adapters.engine_config);
        engine.start().await?;
        let view = PublishedStatus::of(&organization, &adapters.connector_id, engine.projection(), &adapters.data_dir);
        let (published, receiver) = watch::channel(view);
        let worker = Worker {
            index,
            organization,
            connector_id: adapters.connector_id,
            data_dir: adapters.data_dir,
            engine,
            published,
        };
        Ok((worker, receiver))
    }

    /// Runs commands until the main loop drops its sender, then closes the journal. `stop_now`
    /// turning true abandons a running sync (a second shutdown signal).
    pub async fn run(
        mut self,
        mut commands: mpsc::Receiver<WorkerCommand>,
        finished: mpsc::Sender<SyncFinished>,
        mut stop_now: watch::Receiver<bool>,
    ) -> Result<(), DaemonError> {
        while let Some(WorkerCommand::Sync { kind, trigger }) = commands.recv().await {
            // A panic is a bug; it must not hang the main loop, which waits for this answer.
            let outcome = std::panic::AssertUnwindSafe(self.sync(kind, trigger, &mut stop_now)).catch_unwind().await;
            let (outcome, panicked) = match outcome {
                Ok(outcome) => (outcome, false),
                Err(payload) => {
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|text| text.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    (SyncOutcome::Stopped(format!("the engine panicked: {message}")), true)
                }
            };
            let stopped = matches!(outcome, SyncOutcome::Stopped(_));
            let _ = finished.send(SyncFinished { organization_index: self.index, outcome }).await;
            if panicked {
                // The projection may no longer be the fold of the log: no snapshot from it. The
                // log keeps what was flushed; the next start folds it again.
                return Err(DaemonError::Runtime(format!("organization {}: the engine panicked", self.organization)));
            }
            if stopped {
                break;
            }
        }
        self.close()
    }

    /// Closes the journal: everything flushed, a snapshot taken, the directory released.
    pub fn close(self) -> Result<(), DaemonError> {
        let Worker { engine, organization, .. } = self;
        engine.into_journal().close()?;
        tracing::info!(%organization, "the log is closed (flushed and snapshotted)");
        Ok(())
    }

    async fn sync(
        &mut self,
        kind: SyncKind,
        trigger: SyncTrigger,
        stop_now: &mut watch::Receiver<bool>,
    ) -> SyncOutcome {
        let started_at = format_recorded_at(self.engine.journal().clock().now().timestamp_micros());
        let running = self.published.borrow().with_running_sync(kind.as_str(), &started_at);
        self.published.send_replace(running);
        tracing::info!(organization = %self.organization, kind = kind.as_str(), ?trigger, "sync started");
        let result = tokio::select! {
            result = self.engine.sync(kind, trigger) => Some(result),
            _ = stop_now.wait_for(|stop| *stop) => None,
        };
        let outcome = match result {
            None => {
                tracing::warn!(organization = %self.organization, "sync abandoned: shutdown forced");
                SyncOutcome::Abandoned
            }
            Some(Err(error)) => {
                tracing::error!(organization = %self.organization, %error, "the engine stopped");
                SyncOutcome::Stopped(error.to_string())
            }
            Some(Ok(report)) => {
                log_report(&self.organization, &report);
                match self.engine.snapshot_if_due() {
                    Ok(()) => SyncOutcome::Reported(report),
                    Err(error) => SyncOutcome::Stopped(error.to_string()),
                }
            }
        };
        let view =
            PublishedStatus::of(&self.organization, &self.connector_id, self.engine.projection(), &self.data_dir);
        self.published.send_replace(view);
        outcome
    }
}

fn log_report(organization: &str, report: &SyncReport) {
    let counts = &report.counts;
    if report.ok {
        tracing::info!(
            %organization, kind = report.kind.as_str(), run_id = %report.run_id, duration_ms = report.duration_ms,
            devices = counts.devices, decisions = counts.decisions, cmdlets = counts.cmdlets,
            cmdlets_failed = counts.cmdlets_failed, reads = counts.reads, notifications = counts.notifications,
            "sync completed"
        );
    } else {
        tracing::warn!(
            %organization, kind = report.kind.as_str(), run_id = %report.run_id, duration_ms = report.duration_ms,
            error = report.error.as_deref().unwrap_or(""), "sync failed"
        );
    }
}
