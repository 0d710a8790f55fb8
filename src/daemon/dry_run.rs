//! `easgate sync --dry-run`: the real engine against the real tenant and Exchange, on a
//! throwaway copy of the projection. Reads go through; every state-changing cmdlet is kept
//! back (recorded here, answered as if it succeeded) and every mail is kept back; the events the
//! sync records go to a log in memory that is dropped. The data directory is only read.
//!
//! Why this and not a dry-run mode inside the engine: the engine stays one code path (no flag
//! to forget in a new phase), and the boundary that must not be crossed — a cmdlet leaving the
//! process, a mail leaving it, an event reaching disk — is exactly where the wrappers sit.
//! The price: a kept-back cmdlet "succeeds", so the read-back after it sees Exchange unchanged;
//! the printed plan is the first round of cmdlets, which is what the next real sync would issue.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::adapters::{OrganizationAdapters, register_connector};
use crate::clock::Clock;
use crate::daemon::error::DaemonError;
use crate::domain::projection::Projection;
use crate::domain::vocabulary::{SyncKind, SyncTrigger};
use crate::domain::{NewEvent, RecordedEvent};
use crate::exchange::{CmdletCall, CmdletOutput, ExchangeConnector, ExchangeError, ExchangeSession};
use crate::mail::{Mail, MailError, Mailer};
use crate::sync::engine::{Engine, SyncReport};
use crate::sync::ids::IdGenerator;
use crate::sync::journal::{EventLog, Journal, LogError};
use crate::sync::recover::RECONCILED_PER_PASS_MAX;

/// Cmdlets and mails kept back at most (the rest are counted, not kept).
pub const KEPT_BACK_MAX: usize = 1_000_000;

/// A log that assigns seqs after the real log's last one and keeps nothing. Of the real log it
/// holds only the intents of the pending commands, which recovery reads back.
pub struct ThrowawayLog {
    next_seq: u64,
    pub appended: u64,
    intents: BTreeMap<u64, RecordedEvent>,
}

impl ThrowawayLog {
    pub fn after(last_seq: u64) -> ThrowawayLog {
        ThrowawayLog { next_seq: last_seq + 1, appended: 0, intents: BTreeMap::new() }
    }

    /// The same, holding `intents` (events of the real log, by seq) for recovery to read.
    pub fn with_intents(mut self, intents: impl IntoIterator<Item = RecordedEvent>) -> ThrowawayLog {
        self.intents.extend(intents.into_iter().map(|intent| (intent.seq, intent)));
        self
    }
}

impl EventLog for ThrowawayLog {
    fn append(&mut self, events: Vec<NewEvent>) -> Result<Vec<RecordedEvent>, LogError> {
        let recorded: Vec<RecordedEvent> = events
            .into_iter()
            .enumerate()
            .map(|(offset, event)| event.recorded(self.next_seq + offset as u64))
            .collect();
        self.next_seq += recorded.len() as u64;
        self.appended += recorded.len() as u64;
        Ok(recorded)
    }
    fn flush(&mut self) -> Result<(), LogError> {
        Ok(())
    }
    fn close(self: Box<Self>) -> Result<(), LogError> {
        Ok(())
    }
    fn save_snapshot(&mut self, _projection: &Projection) -> Result<(), LogError> {
        Ok(())
    }
    fn read(&self, seq: u64) -> Result<Option<RecordedEvent>, LogError> {
        Ok(self.intents.get(&seq).cloned())
    }
}

/// What was kept back, in order.
#[derive(Debug, Default)]
pub struct KeptBack {
    pub cmdlets: Vec<CmdletCall>,
    pub mails: Vec<Mail>,
    /// Beyond `KEPT_BACK_MAX`.
    pub not_kept: u64,
}

fn keep<T>(list: &mut Vec<T>, not_kept: &mut u64, item: T) {
    if list.len() < KEPT_BACK_MAX {
        list.push(item);
    } else {
        *not_kept += 1;
    }
}

type Shared = Arc<Mutex<KeptBack>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, KeptBack> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a cmdlet changes Exchange. `Set-ADServerSettings` only sets the runspace's view.
pub fn changes_exchange(call: &CmdletCall) -> bool {
    call.is_state_changing() && !call.cmdlet.eq_ignore_ascii_case("Set-ADServerSettings")
}

struct KeepBackConnector {
    inner: Arc<dyn ExchangeConnector>,
    kept: Shared,
}

#[async_trait]
impl ExchangeConnector for KeepBackConnector {
    async fn open(&self, server: &str) -> Result<Box<dyn ExchangeSession>, ExchangeError> {
        let inner = self.inner.open(server).await?;
        Ok(Box::new(KeepBackSession { inner, kept: self.kept.clone() }))
    }
    fn primary_server(&self) -> String {
        self.inner.primary_server()
    }
}

struct KeepBackSession {
    inner: Box<dyn ExchangeSession>,
    kept: Shared,
}

#[async_trait]
impl ExchangeSession for KeepBackSession {
    async fn invoke(&mut self, call: &CmdletCall) -> Result<CmdletOutput, ExchangeError> {
        if !changes_exchange(call) {
            return self.inner.invoke(call).await;
        }
        let mut kept = lock(&self.kept);
        let KeptBack { cmdlets, not_kept, .. } = &mut *kept;
        keep(cmdlets, not_kept, call.clone());
        Ok(CmdletOutput::default())
    }
    async fn close(self: Box<Self>) -> Result<(), ExchangeError> {
        self.inner.close().await
    }
    fn server(&self) -> &str {
        self.inner.server()
    }
    fn protocol_version(&self) -> Option<String> {
        self.inner.protocol_version()
    }
}

struct KeepBackMailer {
    kept: Shared,
}

#[async_trait]
impl Mailer for KeepBackMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let mut kept = lock(&self.kept);
        let KeptBack { mails, not_kept, .. } = &mut *kept;
        keep(mails, not_kept, mail.clone());
        Ok(())
    }
}

/// The outcome of a dry run.
#[derive(Debug)]
pub struct DryRun {
    pub report: SyncReport,
    pub kept_back: KeptBack,
    /// Events the sync would have recorded.
    pub events: u64,
}

/// The projection of `data_dir` (empty when there is no log yet), read without writing, and the
/// intents of the pending commands a recovery pass settles.
fn current_projection(data_dir: &Path) -> Result<(Projection, Vec<RecordedEvent>), DaemonError> {
    if !data_dir.join("log").exists() {
        return Ok((Projection::default(), Vec::new()));
    }
    let store = crate::data::open_for_reading(data_dir)?;
    let projection = crate::data::load_projection(&store)?;
    let mut intents = Vec::new();
    for pending in projection.pending_commands_oldest_first().into_iter().take(RECONCILED_PER_PASS_MAX) {
        intents.extend(store.read(pending.requested_seq)?);
    }
    store.close()?;
    Ok((projection, intents))
}

/// Runs one sync of `kind` for an organisation without changing anything anywhere.
pub async fn dry_run_sync(
    adapters: OrganizationAdapters,
    kind: SyncKind,
    clock: Arc<dyn Clock>,
) -> Result<DryRun, DaemonError> {
    let (projection, intents) = current_projection(&adapters.data_dir)?;
    let log = ThrowawayLog::after(projection.last_seq).with_intents(intents);
    let ids = IdGenerator::from_entropy(clock.now());
    let mut journal = Journal::new(Box::new(log), projection, clock, ids);
    register_connector(&mut journal, &adapters)?;
    let first_seq = journal.projection().last_seq;
    let kept: Shared = Arc::new(Mutex::new(KeptBack::default()));
    let connector = Arc::new(KeepBackConnector { inner: adapters.exchange.clone(), kept: kept.clone() });
    let mailer = Arc::new(KeepBackMailer { kept: kept.clone() });
    let mut engine = Engine::new(journal, connector, adapters.tenant.clone(), mailer, adapters.engine_config.clone());
    engine.start().await?;
    let report = engine.sync(kind, SyncTrigger::Manual).await?;
    let events = engine.projection().last_seq - first_seq;
    drop(engine);
    let kept_back = std::mem::take(&mut *lock(&kept));
    Ok(DryRun { report, kept_back, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runspace_view_passes_and_changes_are_kept_back() {
        assert!(!changes_exchange(&CmdletCall::new("Set-ADServerSettings").switch("ViewEntireForest", true)));
        assert!(!changes_exchange(&CmdletCall::new("Get-CASMailbox")));
        assert!(changes_exchange(&CmdletCall::new("Set-CASMailbox")));
        assert!(changes_exchange(&CmdletCall::new("Clear-ActiveSyncDevice")));
    }

    #[test]
    fn the_throwaway_log_continues_the_real_logs_seqs() {
        let mut log = ThrowawayLog::after(41);
        let event = |id: u128| NewEvent {
            recorded_at_us: 0,
            event_id: uuid::Uuid::from_u128(id),
            correlation_id: None,
            causation_id: None,
            event: crate::domain::Event::ConnectorStatusChanged(crate::domain::event::ConnectorStatusChanged {
                connector_id: "c".into(),
                status: "connected".into(),
                reason: String::new(),
            }),
        };
        let recorded = log.append(vec![event(1), event(2)]).unwrap();
        assert_eq!(recorded.iter().map(|event| event.seq).collect::<Vec<_>>(), vec![42, 43]);
        assert_eq!(log.append(vec![event(3)]).unwrap()[0].seq, 44);
        // What it appends it keeps nothing of.
        assert_eq!(log.read(42).unwrap(), None);
        // Of the real log, it holds the pending intents it was given, for recovery to read back.
        let intent = event(4).recorded(7);
        let log = ThrowawayLog::after(41).with_intents([intent.clone()]);
        assert_eq!(log.read(7).unwrap(), Some(intent));
        assert_eq!(log.read(8).unwrap(), None);
    }
}
