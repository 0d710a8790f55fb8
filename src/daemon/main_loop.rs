//! The daemon's main loop (rust-analyzer's `main_loop` shape): one task waits for the next
//! event — a timer, an admin request, a finished sync, a shutdown signal — and handles it, in a
//! closed `match`. It owns the schedule of every organisation and hands syncs to the
//! organisation's worker, one at a time; nothing else starts a sync.
//!
//! Shutdown (mini-redis style): the first SIGTERM/SIGINT stops new syncs and waits for running
//! ones to finish; a second one makes them stop at their next await. Then the workers close
//! their journals (flush + snapshot) and the loop returns.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::clock::Clock;
use crate::daemon::admin_api::{AdminRequest, SyncRefusal};
use crate::daemon::worker::{SyncFinished, SyncOutcome, WorkerCommand};
use crate::domain::vocabulary::{SyncKind, SyncTrigger};
use crate::sync::schedule::Schedule;

/// The longest the loop sleeps without an event (it re-reads the schedule after).
const IDLE_WAKE_MAX: Duration = Duration::from_secs(3_600);

/// What wakes the loop.
#[derive(Debug)]
pub enum DaemonEvent {
    /// A scheduled sync may be due.
    Timer,
    Admin(AdminRequest),
    Finished(SyncFinished),
    /// SIGTERM or SIGINT.
    Signal(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownState {
    Running,
    /// No new syncs; running ones finish.
    Draining,
    /// Running syncs were told to stop at their next await.
    Forced,
}

/// One organisation as the loop sees it.
pub struct Slot {
    pub organization: String,
    pub connector_id: String,
    pub schedule: Schedule,
    pub busy: bool,
    /// A sync asked for while one was running (a full one wins over a quick one).
    pub queued: Option<(SyncKind, SyncTrigger)>,
    /// `None` once the worker stopped.
    pub commands: Option<mpsc::Sender<WorkerCommand>>,
}

pub struct MainLoop {
    pub slots: Vec<Slot>,
    pub admin_requests: mpsc::Receiver<AdminRequest>,
    pub finished: mpsc::Receiver<SyncFinished>,
    pub signals: crate::daemon::signals::Signals,
    pub stop_now: watch::Sender<bool>,
    pub clock: Arc<dyn Clock>,
    pub shutdown: ShutdownState,
    /// Why the daemon must exit with an error (a worker's log failed).
    pub fatal: Option<String>,
}

impl MainLoop {
    /// Runs until shutdown and every running sync has ended. Returns the fatal error, if any.
    pub async fn run(mut self) -> Option<String> {
        for index in 0..self.slots.len() {
            // A full sync at start: the baseline every later quick sync builds on.
            self.dispatch(index, SyncKind::Full, SyncTrigger::Schedule);
        }
        loop {
            if self.shutdown != ShutdownState::Running && self.slots.iter().all(|slot| !slot.busy) {
                break;
            }
            let event = self.next_event().await;
            self.handle(event);
        }
        for slot in &mut self.slots {
            // Dropping the sender lets the worker close its journal and end.
            slot.commands = None;
        }
        self.fatal
    }

    async fn next_event(&mut self) -> DaemonEvent {
        let sleep = tokio::time::sleep(self.until_next_due());
        tokio::select! {
            biased;
            signal = self.signals.recv() => DaemonEvent::Signal(signal),
            Some(finished) = self.finished.recv() => DaemonEvent::Finished(finished),
            Some(request) = self.admin_requests.recv() => DaemonEvent::Admin(request),
            () = sleep => DaemonEvent::Timer,
        }
    }

    fn handle(&mut self, event: DaemonEvent) {
        match event {
            DaemonEvent::Timer => self.run_due_syncs(),
            DaemonEvent::Admin(AdminRequest::Sync { connector_id, kind, reply }) => {
                let answer = self.request_sync(&connector_id, kind);
                let _ = reply.send(answer);
            }
            DaemonEvent::Finished(finished) => self.sync_finished(finished),
            DaemonEvent::Signal(signal) => self.signalled(signal),
        }
    }

    fn now_us(&self) -> i64 {
        self.clock.now().timestamp_micros()
    }

    /// Time until the earliest idle organisation's next sync.
    fn until_next_due(&self) -> Duration {
        if self.shutdown != ShutdownState::Running {
            return IDLE_WAKE_MAX;
        }
        let now_us = self.now_us();
        self.slots
            .iter()
            .filter(|slot| !slot.busy && slot.commands.is_some())
            .map(|slot| Duration::from_micros(u64::try_from(slot.schedule.next_due_us() - now_us).unwrap_or(0)))
            .min()
            .unwrap_or(IDLE_WAKE_MAX)
            .min(IDLE_WAKE_MAX)
    }

    fn run_due_syncs(&mut self) {
        if self.shutdown != ShutdownState::Running {
            return;
        }
        let now_us = self.now_us();
        for index in 0..self.slots.len() {
            let slot = &self.slots[index];
            if slot.busy {
                continue;
            }
            if let Some((kind, _)) = slot.schedule.due(now_us) {
                self.dispatch(index, kind, SyncTrigger::Schedule);
            }
        }
    }

    /// Hands a sync to an idle worker.
    fn dispatch(&mut self, index: usize, kind: SyncKind, trigger: SyncTrigger) {
        let slot = &mut self.slots[index];
        let Some(commands) = &slot.commands else { return };
        // The worker takes one command at a time and is idle: the slot of the channel is free.
        match commands.try_send(WorkerCommand::Sync { kind, trigger }) {
            Ok(()) => slot.busy = true,
            Err(error) => {
                tracing::error!(organization = %slot.organization, %error, "the worker did not take the sync");
            }
        }
    }

    fn request_sync(&mut self, connector_id: &str, kind: SyncKind) -> Result<(), SyncRefusal> {
        let Some(index) = self.slots.iter().position(|slot| slot.connector_id.eq_ignore_ascii_case(connector_id))
        else {
            return Err(SyncRefusal::UnknownConnector);
        };
        if self.shutdown != ShutdownState::Running || self.slots[index].commands.is_none() {
            return Err(SyncRefusal::ShuttingDown);
        }
        tracing::info!(organization = %self.slots[index].organization, kind = kind.as_str(), "sync requested through the admin API");
        let slot = &mut self.slots[index];
        if slot.busy {
            slot.queued = Some(match slot.queued {
                Some((SyncKind::Full, trigger)) => (SyncKind::Full, trigger),
                _ => (kind, SyncTrigger::Manual),
            });
            return Ok(());
        }
        self.dispatch(index, kind, SyncTrigger::Manual);
        Ok(())
    }

    fn sync_finished(&mut self, finished: SyncFinished) {
        let now_us = self.now_us();
        let Some(slot) = self.slots.get_mut(finished.organization_index) else { return };
        slot.busy = false;
        match finished.outcome {
            SyncOutcome::Reported(report) => slot.schedule.ran(report.kind, now_us),
            SyncOutcome::Abandoned => {}
            SyncOutcome::Stopped(error) => {
                let message = format!("organization {}: {error}", slot.organization);
                tracing::error!(%message, "a worker stopped; shutting down");
                slot.commands = None;
                self.fatal.get_or_insert(message);
                self.begin_shutdown();
                return;
            }
        }
        if self.shutdown == ShutdownState::Running
            && let Some((kind, trigger)) = slot.queued.take()
        {
            self.dispatch(finished.organization_index, kind, trigger);
        }
    }

    fn signalled(&mut self, signal: &'static str) {
        match self.shutdown {
            ShutdownState::Running => {
                tracing::info!(signal, "shutting down: running syncs finish first (signal again to stop them now)");
                self.begin_shutdown();
            }
            ShutdownState::Draining | ShutdownState::Forced => {
                tracing::warn!(signal, "shutting down now: running syncs stop at their next step");
                self.shutdown = ShutdownState::Forced;
                let _ = self.stop_now.send(true);
            }
        }
    }

    fn begin_shutdown(&mut self) {
        if self.shutdown == ShutdownState::Running {
            self.shutdown = ShutdownState::Draining;
        }
        for slot in &mut self.slots {
            slot.queued = None;
        }
    }
}
