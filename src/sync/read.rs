//! The reading phases of a sync: the tenant, then Exchange (everything for a full sync, new
//! partnerships for a quick one), and the organisation's settings pushed from the policy.

use std::collections::BTreeSet;

use crate::domain::observation::ObservedOrganization;
use crate::domain::observe::{self, Coverage};
use crate::domain::vocabulary::SyncKind;
use crate::exchange::CmdletCall;
use crate::sync::engine::{Engine, PhaseError, Run, read_failed};
use crate::sync::exchange_reads;
use crate::tenant::TenantError;

/// `-ResultSize Unlimited`: Exchange returns only 1,000 objects by default.
const UNLIMITED: &str = "Unlimited";

/// Mailboxes a quick sync reads again because a partnership's individual entry changed, at most.
/// More are left to the next full sync, which reads every mailbox.
const CHANGED_MAILBOXES_READ_MAX: usize = 1_000;

/// New partnerships are looked for from this long before the last sync started, so a clock
/// skew between easgate and Exchange cannot hide one.
const FIRST_SYNC_MARGIN_S: i64 = 3_600;

impl Engine {
    /// Reads the tenant, retrying transient failures; any failure ends the sync before a
    /// single decision is made.
    pub(crate) async fn read_tenant(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let since = if run.kind == SyncKind::Quick { self.tenant_cursor.clone() } else { None };
        let mut attempt = 1;
        let snapshot = loop {
            match self.tenant.read(since.as_deref()).await {
                Ok(snapshot) => break snapshot,
                Err(error) if error.is_retryable() && attempt < self.config.retry.attempts_max => {
                    let asked = match &error {
                        TenantError::Throttled { retry_after_ms, .. } => *retry_after_ms,
                        _ => None,
                    };
                    self.journal.clock().sleep(self.config.retry.delay(attempt, asked)).await;
                    attempt += 1;
                }
                Err(error) => {
                    let disconnects = matches!(error, TenantError::Unauthorized { .. } | TenantError::Malformed { .. });
                    let error = format!("reading the tenant failed, nothing decided: {error}");
                    return Err(PhaseError::Failed { error, disconnects });
                }
            }
        };
        let events = observe::observe_tenant(self.journal.projection(), &snapshot);
        self.record_noting(run, events)?;
        self.tenant_cursor = snapshot.cursor;
        Ok(())
    }

    pub(crate) async fn read_exchange(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        match run.kind {
            SyncKind::Full => {
                self.read_organization(run).await?;
                self.read_everything(run).await
            }
            SyncKind::Quick => self.read_new_partnerships(run).await,
        }
    }

    async fn read_organization(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let settings = self
            .read(run, &CmdletCall::new("Get-ActiveSyncOrganizationSettings"))
            .await
            .map_err(|error| read_failed("the organisation settings", error))?;
        let default_access = exchange_reads::default_access(&settings)
            .map_err(|error| read_failed("the organisation settings", error))?;
        let rules = self
            .read(run, &CmdletCall::new("Get-ActiveSyncDeviceAccessRule"))
            .await
            .map_err(|error| read_failed("the device access rules", error))?;
        let servers = self
            .read(run, &CmdletCall::new("Get-ExchangeServer"))
            .await
            .map_err(|error| read_failed("the Exchange servers", error))?;
        let organization = ObservedOrganization {
            default_access,
            rules: exchange_reads::rules(&rules),
            cas_servers: exchange_reads::cas_servers(&servers),
        };
        self.pool.learn_servers(&organization.cas_servers).await;
        let events = observe::observe_organization(self.journal.projection(), &organization);
        self.record_noting(run, events)?;
        Ok(())
    }

    /// Every CAS mailbox with a partnership and every partnership.
    pub(crate) async fn read_everything(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let call = CmdletCall::new("Get-CASMailbox")
            .text("Filter", "HasActiveSyncDevicePartnership -eq $true")
            .text("ResultSize", UNLIMITED);
        let output = self.read(run, &call).await.map_err(|error| read_failed("the CAS mailboxes", error))?;
        let mailboxes = exchange_reads::mailboxes(&output).map_err(|error| read_failed("the CAS mailboxes", error))?;
        let events = observe::observe_mailboxes(self.journal.projection(), &mailboxes);
        self.record_noting(run, events)?;
        let call = CmdletCall::new("Get-ActiveSyncDevice").text("ResultSize", UNLIMITED);
        let output = self.read(run, &call).await.map_err(|error| read_failed("the partnerships", error))?;
        self.observe_device_output(run, &output, Coverage::Everything).await
    }

    /// Partnerships made since the last sync (Exchange cannot filter on WhenChanged, but it can
    /// on FirstSyncTime).
    async fn read_new_partnerships(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let since_us = self
            .journal
            .projection()
            .syncs
            .last_completed
            .as_ref()
            .map(|last| last.at_us - i64::try_from(last.duration_ms).unwrap_or(0) * 1_000)
            .unwrap_or(0)
            - FIRST_SYNC_MARGIN_S * 1_000_000;
        let since = chrono::DateTime::from_timestamp_micros(since_us).unwrap_or_default();
        let filter = format!("FirstSyncTime -gt '{}'", since.format("%Y-%m-%dT%H:%M:%SZ"));
        let call = CmdletCall::new("Get-ActiveSyncDevice").text("Filter", &filter).text("ResultSize", UNLIMITED);
        let output = self.read(run, &call).await.map_err(|error| read_failed("the new partnerships", error))?;
        self.observe_device_output(run, &output, Coverage::Returned).await
    }

    /// Turns Get-ActiveSyncDevice output into events; mailboxes not seen yet are read first.
    pub(crate) async fn observe_device_output(
        &mut self,
        run: &mut Run,
        output: &crate::exchange::CmdletOutput,
        coverage: Coverage,
    ) -> Result<(), PhaseError> {
        let projection = self.journal.projection();
        let (mut devices, unknown) = exchange_reads::devices(output, |identity| projection.smtp_of_identity(identity))
            .map_err(|error| read_failed("the partnerships", error))?;
        if !unknown.is_empty() {
            for identity in unknown {
                self.read_mailbox(run, &identity).await?;
            }
            let projection = self.journal.projection();
            devices = exchange_reads::devices(output, |identity| projection.smtp_of_identity(identity))
                .map_err(|error| read_failed("the partnerships", error))?
                .0;
        }
        if matches!(coverage, Coverage::Returned) {
            // An individual entry came or went outside easgate (an admin's list edit): the lists
            // are decision inputs, so read those mailboxes before deciding.
            let changes = exchange_changes(self.journal.projection(), &devices);
            for smtp in changes.mailboxes {
                self.read_mailbox(run, &smtp).await?;
            }
            // A state moved by a rule or the default: the organisation's rules changed.
            if changes.organization {
                self.read_organization(run).await?;
            }
        }
        let events = observe::observe_devices(self.journal.projection(), &devices, &coverage);
        self.record_noting(run, events)?;
        Ok(())
    }

    /// One CAS mailbox, by Identity or SMTP address.
    pub(crate) async fn read_mailbox(&mut self, run: &mut Run, identity: &str) -> Result<(), PhaseError> {
        let call = CmdletCall::new("Get-CASMailbox").text("Identity", identity);
        let output = self.read(run, &call).await.map_err(|error| read_failed("a CAS mailbox", error))?;
        let mailboxes = exchange_reads::mailboxes(&output).map_err(|error| read_failed("a CAS mailbox", error))?;
        let events = observe::observe_mailboxes(self.journal.projection(), &mailboxes);
        self.record_noting(run, events)?;
        Ok(())
    }

    /// Pushes the policy's default and access rules to the organisation (full sync), then reads
    /// the organisation back.
    pub(crate) async fn push_organization(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let planned = crate::domain::plan::plan_organization(self.journal.projection());
        if planned.is_empty() {
            return Ok(());
        }
        self.act(run, planned).await?;
        // A new default or rule re-evaluates partnerships at once: read them again.
        self.read_organization(run).await?;
        self.read_everything(run).await
    }

    /// Mailboxes (lowercased SMTP) of partnerships, for read-back coverage.
    pub(crate) fn mailbox_set(mailboxes: &[String]) -> BTreeSet<String> {
        mailboxes.iter().map(|mailbox| mailbox.to_lowercase()).collect()
    }
}

/// What a quick sync learns from partnerships whose Exchange state moved since easgate last saw
/// them (easgate's own edits are read back when made, so these moved outside easgate).
#[derive(Debug, Default)]
struct ExchangeChanges {
    /// Mailboxes (lowercased SMTP) where an individual entry came or went: an admin's list edit.
    mailboxes: BTreeSet<String>,
    /// A state moved by a device access rule or the default: the organisation's rules changed.
    organization: bool,
}

fn exchange_changes(
    projection: &crate::domain::projection::Projection,
    devices: &[crate::domain::observation::ObservedDevice],
) -> ExchangeChanges {
    use crate::domain::vocabulary::ExchangeReason;
    let mut changes = ExchangeChanges::default();
    for observed in devices {
        let Some(known) = projection.device(&observed.mailbox, &observed.device_id) else { continue };
        if known.exchange_state == observed.exchange_state && known.exchange_reason == observed.exchange_reason {
            continue;
        }
        let reasons = [&known.exchange_reason, &observed.exchange_reason];
        if reasons.contains(&&ExchangeReason::Individual) && changes.mailboxes.len() < CHANGED_MAILBOXES_READ_MAX {
            changes.mailboxes.insert(observed.mailbox.to_lowercase());
        }
        if reasons.iter().any(|reason| matches!(reason, ExchangeReason::DeviceRule | ExchangeReason::Global)) {
            changes.organization = true;
        }
    }
    changes
}
