//! Crash recovery: intents (`CmdletRequested`) that have no outcome — the process died, or the
//! reply was lost — are settled by reading Exchange back and recording `CmdletReconciled`.
//! Exactly-once is impossible; the planner re-issues whatever is still needed, and list edits
//! are incremental, so at-least-once is safe.

use crate::domain::Event;
use crate::domain::cmdlet_call::{CmdletCall, ParamValue};
use crate::domain::event::CmdletReconciled;
use crate::domain::exchange_rules::{list_contains, rule_identity};
use crate::domain::observe;
use crate::domain::projection::PendingCommand;
use crate::sync::engine::{Engine, PhaseError, Run, read_failed};
use crate::sync::exchange_reads;

/// Intents settled per pass at most; the rest wait for the next pass.
pub const RECONCILED_PER_PASS_MAX: usize = 100_000;

impl Engine {
    pub(crate) async fn reconcile_pending(&mut self, correlation: uuid::Uuid) -> Result<(), PhaseError> {
        let pending: Vec<PendingCommand> = self
            .journal
            .projection()
            .pending_commands_oldest_first()
            .into_iter()
            .take(RECONCILED_PER_PASS_MAX)
            .cloned()
            .collect();
        let mut run = Run::new(correlation, crate::domain::vocabulary::SyncKind::Quick);
        for command in pending {
            let event = match self.journal.pending_call(&command)? {
                Some(call) => {
                    let (applied, observed) = self.read_back_effect(&mut run, &call).await?;
                    CmdletReconciled { command_id: command.command_id, cmdlet: call.cmdlet, applied, observed }
                }
                // The projection is the fold of the log, so this is a log that lost the intent:
                // settled as not applied, and the planner decides again.
                None => CmdletReconciled {
                    command_id: command.command_id,
                    cmdlet: String::new(),
                    applied: false,
                    observed: format!("the intent is not in the log at seq {}", command.requested_seq),
                },
            };
            let event = Event::CmdletReconciled(event);
            self.journal.record(Some(correlation), vec![event])?;
        }
        self.journal.commit()?;
        Ok(())
    }

    /// Whether Exchange shows the effect of `call`, and what was read, in words.
    async fn read_back_effect(&mut self, run: &mut Run, call: &CmdletCall) -> Result<(bool, String), PhaseError> {
        match call.cmdlet.as_str() {
            "Set-CASMailbox" => self.mailbox_effect(run, call).await,
            "Set-ActiveSyncOrganizationSettings" => {
                let output = self
                    .read(run, &CmdletCall::new("Get-ActiveSyncOrganizationSettings"))
                    .await
                    .map_err(|error| read_failed("the organisation settings", error))?;
                let actual = exchange_reads::default_access(&output)
                    .map_err(|error| read_failed("the organisation settings", error))?;
                let wanted = call.text_parameter("DefaultAccessLevel").unwrap_or_default();
                Ok((
                    actual.exchange_name().eq_ignore_ascii_case(wanted),
                    format!("DefaultAccessLevel {}", actual.exchange_name()),
                ))
            }
            "New-ActiveSyncDeviceAccessRule"
            | "Set-ActiveSyncDeviceAccessRule"
            | "Remove-ActiveSyncDeviceAccessRule" => self.rule_effect(run, call).await,
            other => Ok((false, format!("{other} cannot be read back; the planner decides again"))),
        }
    }

    async fn mailbox_effect(&mut self, run: &mut Run, call: &CmdletCall) -> Result<(bool, String), PhaseError> {
        let identity = call.text_parameter("Identity").unwrap_or_default().to_string();
        let output = self
            .read(run, &CmdletCall::new("Get-CASMailbox").text("Identity", &identity))
            .await
            .map_err(|error| read_failed("a CAS mailbox", error))?;
        let mailboxes = exchange_reads::mailboxes(&output).map_err(|error| read_failed("a CAS mailbox", error))?;
        let Some(mailbox) = mailboxes.first() else {
            return Ok((false, format!("mailbox {identity} not found")));
        };
        let mut applied = true;
        for (parameter, list) in [
            ("ActiveSyncAllowedDeviceIDs", &mailbox.allowed_device_ids),
            ("ActiveSyncBlockedDeviceIDs", &mailbox.blocked_device_ids),
        ] {
            if let Some(ParamValue::Edit(edit)) = call.parameter(parameter) {
                applied &= edit.add.iter().all(|id| list_contains(list, id));
                applied &= edit.remove.iter().all(|id| !list_contains(list, id));
            }
        }
        let observed = format!(
            "allowed [{}] blocked [{}]",
            mailbox.allowed_device_ids.join(", "),
            mailbox.blocked_device_ids.join(", ")
        );
        let events = observe::observe_mailboxes(self.journal.projection(), &mailboxes);
        self.journal.record(Some(run.run_id), events)?;
        Ok((applied, observed))
    }

    async fn rule_effect(&mut self, run: &mut Run, call: &CmdletCall) -> Result<(bool, String), PhaseError> {
        let output = self
            .read(run, &CmdletCall::new("Get-ActiveSyncDeviceAccessRule"))
            .await
            .map_err(|error| read_failed("the device access rules", error))?;
        let rules = exchange_reads::rules(&output);
        let identity = match call.text_parameter("Identity") {
            Some(identity) => identity.to_string(),
            None => {
                let query = call.text_parameter("QueryString").unwrap_or_default();
                let characteristic = call.text_parameter("Characteristic").unwrap_or_default();
                format!("{query} ({characteristic})")
            }
        };
        let found =
            rules.iter().find(|rule| rule_identity(&rule.query, rule.characteristic).eq_ignore_ascii_case(&identity));
        let applied = match call.cmdlet.as_str() {
            "Remove-ActiveSyncDeviceAccessRule" => found.is_none(),
            _ => found.is_some_and(|rule| {
                call.text_parameter("AccessLevel")
                    .is_none_or(|level| rule.access.exchange_name().eq_ignore_ascii_case(level))
            }),
        };
        let observed = match found {
            Some(rule) => format!("rule {identity} at {}", rule.access.exchange_name()),
            None => format!("no rule {identity}"),
        };
        Ok((applied, observed))
    }
}
