//! Deciding and acting: access decisions for the partnerships a sync concerns, drift between
//! what easgate made Exchange be and what it is, and the cmdlets that enforce the decisions —
//! write-ahead intents committed in groups, run on the pool, retried with backoff, each outcome
//! recorded — then the affected mailboxes read back.

use futures::StreamExt;

use crate::domain::Event;
use crate::domain::decide::{decide_device, wanted_entry};
use crate::domain::event::*;
use crate::domain::exchange_rules::list_contains;
use crate::domain::observe::Coverage;
use crate::domain::plan::{PlannedCall, plan_all_mailboxes, plan_mailbox};
use crate::domain::projection::DeviceKey;
use crate::domain::vocabulary::{ListEntry, SyncKind};
use crate::exchange::{CmdletCall, CmdletOutput, ExchangeError};
use crate::sync::engine::{Engine, EngineError, PhaseError, Run, read_failed};

/// The result of one attempt of a state-changing cmdlet.
enum Attempt {
    Succeeded,
    Failed { error: String, retryable: bool, in_doubt: bool, server_asked_ms: Option<u64> },
}

fn attempt_of(result: Result<CmdletOutput, ExchangeError>) -> Attempt {
    match result {
        Ok(output) if output.errors.is_empty() => Attempt::Succeeded,
        // A non-terminating error (e.g. the mailbox is gone): the cmdlet did not do its work.
        Ok(output) => {
            let error = output.errors.iter().map(|record| record.message.as_str()).collect::<Vec<_>>().join("; ");
            Attempt::Failed { error, retryable: false, in_doubt: false, server_asked_ms: None }
        }
        Err(error) => Attempt::Failed {
            retryable: error.is_retryable(),
            in_doubt: error.is_in_doubt(),
            server_asked_ms: match &error {
                ExchangeError::Throttled { retry_after_ms, .. } => *retry_after_ms,
                _ => None,
            },
            error: error.to_string(),
        },
    }
}

impl Engine {
    /// Decides every partnership whose facts changed since it was last decided (all of them in
    /// a full sync); records only decisions that changed. Facts recorded by a sync that failed
    /// are still decided by the next one: staleness lives in the projection, not in the run.
    pub(crate) fn decide(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let projection = self.journal.projection();
        let mut keys: Vec<&DeviceKey> = projection
            .devices
            .iter()
            .filter(|(key, device)| {
                let evaluated_seq = self.evaluated.get(*key).copied().unwrap_or(0);
                !device.removed && (run.kind == SyncKind::Full || projection.needs_decision(device, evaluated_seq))
            })
            .map(|(key, _)| key)
            .collect();
        keys.sort_unstable();
        let mut events = Vec::new();
        let mut evaluated = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(device) = projection.devices.get(key) else { continue };
            let decision = decide_device(projection, device);
            let changed = device.access != Some(decision.access)
                || device.reason != Some(decision.reason)
                || device.inputs.as_ref().is_some_and(|inputs| inputs.targeted != decision.inputs.targeted);
            if changed {
                events.push(Event::AccessDecided(AccessDecided {
                    mailbox: device.mailbox.to_string(),
                    device_id: device.device_id.to_string(),
                    access: decision.access,
                    reason: decision.reason,
                    inputs: decision.inputs,
                }));
            }
            evaluated.push(key.clone());
        }
        run.counts.decisions += events.len() as u64;
        let recorded = self.journal.record(Some(run.run_id), events)?;
        run.affected.note(self.journal.projection(), &recorded);
        let seq = self.journal.projection().last_seq;
        for key in evaluated {
            run.decided_mailboxes.insert(key.mailbox.to_string());
            self.evaluated.insert(key, seq);
        }
        Ok(())
    }

    /// Full sync: where Exchange's lists differ from what easgate's standing decisions need.
    pub(crate) fn detect_drift(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let projection = self.journal.projection();
        let mut events = Vec::new();
        let mut devices: Vec<_> = projection.devices.iter().filter(|(_, device)| !device.removed).collect();
        devices.sort_unstable_by(|left, right| left.0.cmp(right.0));
        for (key, device) in devices {
            let (Some(access), Some(reason), Some(mailbox)) =
                (device.access, device.reason, projection.mailboxes.get(key.mailbox.as_str()))
            else {
                continue;
            };
            let on_allow = list_contains(&mailbox.allowed_device_ids, &device.device_id);
            let on_block = list_contains(&mailbox.blocked_device_ids, &device.device_id);
            let (expected, actual) = match wanted_entry(access, reason) {
                ListEntry::Allow if !on_allow => ("on ActiveSyncAllowedDeviceIDs", "missing"),
                ListEntry::Block if !on_block => ("on ActiveSyncBlockedDeviceIDs", "missing"),
                _ => continue,
            };
            events.push(Event::DriftDetected(DriftDetected {
                mailbox: device.mailbox.to_string(),
                device_id: device.device_id.to_string(),
                expected: expected.to_string(),
                actual: actual.to_string(),
            }));
        }
        run.counts.drift += events.len() as u64;
        self.journal.record(Some(run.run_id), events)?;
        Ok(())
    }

    /// Plans the mailboxes the sync concerns (all of them for a full sync), acts, reads back.
    pub(crate) async fn act_on_mailboxes(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let projection = self.journal.projection();
        let planned: Vec<PlannedCall> = match run.kind {
            SyncKind::Full => plan_all_mailboxes(projection),
            SyncKind::Quick => {
                let mut mailboxes: std::collections::BTreeSet<String> =
                    run.affected.mailboxes(projection).into_iter().collect();
                mailboxes.extend(run.decided_mailboxes.iter().cloned());
                mailboxes.extend(std::mem::take(&mut self.carry_mailboxes));
                mailboxes.iter().filter_map(|mailbox| plan_mailbox(projection, mailbox)).collect()
            }
        };
        if planned.is_empty() {
            return Ok(());
        }
        let touched: Vec<String> =
            planned.iter().filter_map(|planned| planned.call.text_parameter("Identity").map(str::to_string)).collect();
        self.act(run, planned).await?;
        self.read_back(run, &touched).await?;
        // A mailbox whose cmdlet did not go through is planned again by the next sync.
        let projection = self.journal.projection();
        self.carry_mailboxes.extend(
            touched
                .iter()
                .map(|mailbox| mailbox.to_lowercase())
                .filter(|mailbox| plan_mailbox(projection, mailbox).is_some()),
        );
        Ok(())
    }

    /// Runs planned cmdlets: intents committed in groups before any of them leaves the process.
    pub(crate) async fn act(&mut self, run: &mut Run, planned: Vec<PlannedCall>) -> Result<(), PhaseError> {
        let group_size = self.config.intents_per_commit_max.max(1);
        let mut remaining = planned.into_iter().peekable();
        while remaining.peek().is_some() {
            let group: Vec<PlannedCall> = remaining.by_ref().take(group_size).collect();
            let mut intents = Vec::with_capacity(group.len());
            for planned in group {
                let command_id = self.journal.new_id();
                intents.push((command_id, planned));
            }
            let events = intents.iter().map(|(command_id, planned)| requested(*command_id, planned, 1)).collect();
            self.journal.record(Some(run.run_id), events)?;
            self.journal.commit()?;
            self.run_intents(run, intents).await?;
        }
        Ok(())
    }

    /// Runs committed intents concurrently on the pool, records their outcomes in order (one
    /// append for the group), then retries the retryable ones.
    async fn run_intents(&mut self, run: &mut Run, intents: Vec<(uuid::Uuid, PlannedCall)>) -> Result<(), PhaseError> {
        let concurrency = self.pool.runspaces_max();
        // A simulated crash strikes right after the cmdlet it names: nothing after it runs.
        let crash_at = self.crash_after_cmdlets;
        // Killed after 0 more cmdlets: the intents are on disk, none of them ran.
        self.strike_if_due().map_err(PhaseError::Engine)?;
        let mut issued = self.cmdlets_issued;
        let mut attempts = Vec::with_capacity(intents.len());
        {
            let pool = &self.pool;
            let mut results = futures::stream::iter(intents.iter())
                .map(|(_, planned)| async move { attempt_of(pool.invoke(&planned.call).await) })
                .buffered(concurrency);
            while let Some(attempt) = results.next().await {
                attempts.push(attempt);
                issued += 1;
                if crash_at.is_some_and(|limit| issued >= limit) {
                    break;
                }
            }
        }
        run.counts.cmdlets += attempts.len() as u64;
        self.cmdlets_issued = issued;
        let crashed = crash_at.is_some_and(|limit| issued >= limit);
        let mut events = Vec::with_capacity(attempts.len());
        let mut retries = Vec::new();
        for ((command_id, planned), attempt) in intents.into_iter().zip(attempts) {
            let (event, retry) = outcome_event(run, command_id, &planned, attempt);
            events.push(event);
            if let Some(server_asked_ms) = retry {
                retries.push((command_id, planned, server_asked_ms));
            }
        }
        if crashed {
            // The outcomes before the crash may or may not reach the disk; the last one never does.
            events.pop();
            self.journal.record(Some(run.run_id), events)?;
            self.crash_after_cmdlets = None;
            return Err(PhaseError::Engine(EngineError::Crashed(issued)));
        }
        self.journal.record(Some(run.run_id), events)?;
        for (command_id, planned, server_asked_ms) in retries {
            self.retry(run, command_id, planned, server_asked_ms).await?;
        }
        Ok(())
    }

    /// Counts a retried cmdlet; a simulated crash strikes right after the one it names.
    fn count_cmdlet(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        run.counts.cmdlets += 1;
        self.cmdlets_issued += 1;
        if self.crash_after_cmdlets.is_some_and(|limit| self.cmdlets_issued >= limit) {
            self.crash_after_cmdlets = None;
            return Err(PhaseError::Engine(EngineError::Crashed(self.cmdlets_issued)));
        }
        Ok(())
    }

    /// Records an attempt's outcome. Returns the server's requested delay when it should be retried.
    fn record_attempt(
        &mut self,
        run: &mut Run,
        command_id: uuid::Uuid,
        planned: &PlannedCall,
        attempt: Attempt,
    ) -> Result<Option<Option<u64>>, PhaseError> {
        let (event, retry) = outcome_event(run, command_id, planned, attempt);
        self.journal.record(Some(run.run_id), vec![event])?;
        Ok(retry)
    }

    /// Retries one cmdlet with backoff, each attempt a new intent of the same command.
    async fn retry(
        &mut self,
        run: &mut Run,
        command_id: uuid::Uuid,
        planned: PlannedCall,
        mut server_asked_ms: Option<u64>,
    ) -> Result<(), PhaseError> {
        for attempt_number in 2..=self.config.retry.attempts_max {
            let delay = self.config.retry.delay(attempt_number - 1, server_asked_ms);
            self.journal.clock().sleep(delay).await;
            self.journal.record(Some(run.run_id), vec![requested(command_id, &planned, attempt_number)])?;
            self.journal.commit()?;
            let attempt = attempt_of(self.pool.invoke(&planned.call).await);
            self.count_cmdlet(run)?;
            match self.record_attempt(run, command_id, &planned, attempt)? {
                None => return Ok(()),
                Some(asked) => server_asked_ms = asked,
            }
        }
        Ok(())
    }

    /// Reads back the mailboxes cmdlets changed: their lists and their partnerships' states.
    pub(crate) async fn read_back(&mut self, run: &mut Run, mailboxes: &[String]) -> Result<(), PhaseError> {
        // Per mailbox while that is cheaper than reading the whole organisation again.
        let bulk_above = self.config.readback_per_mailbox_max.max(self.journal.projection().mailboxes.len() / 10);
        if mailboxes.len() > bulk_above {
            return self.read_everything(run).await;
        }
        for mailbox in mailboxes {
            self.read_mailbox(run, mailbox).await?;
            let call = CmdletCall::new("Get-ActiveSyncDevice").text("Mailbox", mailbox).text("ResultSize", "Unlimited");
            let output = self.read(run, &call).await.map_err(|error| read_failed("a mailbox's partnerships", error))?;
            let coverage = Coverage::Mailboxes(Engine::mailbox_set(std::slice::from_ref(mailbox)));
            self.observe_device_output(run, &output, coverage).await?;
        }
        Ok(())
    }
}

/// The event for an attempt's outcome, and the server's requested delay when it is retryable.
fn outcome_event(
    run: &mut Run,
    command_id: uuid::Uuid,
    planned: &PlannedCall,
    attempt: Attempt,
) -> (Event, Option<Option<u64>>) {
    let cmdlet = planned.call.cmdlet.clone();
    match attempt {
        Attempt::Succeeded => (Event::CmdletSucceeded(CmdletSucceeded { command_id, cmdlet }), None),
        Attempt::Failed { error, retryable, in_doubt, server_asked_ms } => {
            run.counts.cmdlets_failed += 1;
            let event = Event::CmdletFailed(CmdletFailed { command_id, cmdlet, error, retryable, in_doubt });
            (event, retryable.then_some(server_asked_ms))
        }
    }
}

fn requested(command_id: uuid::Uuid, planned: &PlannedCall, attempt: u32) -> Event {
    Event::CmdletRequested(CmdletRequested {
        command_id,
        cmdlet: planned.call.cmdlet.clone(),
        parameters: planned.call.parameters.clone(),
        devices: planned.devices.clone(),
        attempt,
    })
}
