//! `easgate sync --config FILE --quick|--full [--dry-run]`: one sync of every configured
//! organisation against the real adapters, and its report. `--dry-run` reads the tenant and
//! Exchange, decides, and prints the cmdlets it would issue (name and parameters as PowerShell
//! binds them) and the mails it would send; it issues none, sends none and records nothing.
//! Exit 1 when a sync fails (the report says why), 2 for a configuration it cannot use.

use std::sync::Arc;

use serde_json::json;

use crate::adapters::{OrganizationAdapters, build_adapters, register_connector};
use crate::cli::output::{Format, print, print_json_line};
use crate::cli::{Cli, CliError, SyncArgs};
use crate::clock::{Clock, SystemClock};
use crate::daemon::DaemonError;
use crate::daemon::dry_run::{DryRun, dry_run_sync};
use crate::domain::vocabulary::{SyncKind, SyncTrigger};
use crate::sync::engine::{Engine, SyncReport};

pub fn run(cli: &Cli, args: &SyncArgs) -> Result<(), CliError> {
    let config = crate::cli::run::load_runnable_config(&args.config)?;
    let kind = if args.full { SyncKind::Full } else { SyncKind::Quick };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let organizations =
        build_adapters(&config, &cli.data_dir(), clock.clone()).map_err(|error| CliError::Input(error.to_string()))?;
    let runtime = crate::cli::runtime()?;
    let mut failed = Vec::new();
    for organization in organizations {
        let name = organization.connector.exchange_organization.clone();
        let ok = if args.dry_run {
            let dry_run = runtime
                .block_on(dry_run_sync(organization, kind, clock.clone()))
                .map_err(DaemonError::into_cli_error)?;
            print_dry_run(&name, &dry_run, cli.format);
            dry_run.report.ok
        } else {
            let report =
                runtime.block_on(sync_once(organization, kind, clock.clone())).map_err(DaemonError::into_cli_error)?;
            print_report(&name, &report, cli.format);
            report.ok
        };
        if !ok {
            failed.push(name);
        }
    }
    match failed.as_slice() {
        [] => Ok(()),
        names => Err(CliError::Failed(format!("the sync failed for {}", names.join(", ")))),
    }
}

/// One real sync: the organisation's log opened, its connector registered, intents a previous
/// process left settled, the sync, the log closed (flush + snapshot).
pub async fn sync_once(
    organization: OrganizationAdapters,
    kind: SyncKind,
    clock: Arc<dyn Clock>,
) -> Result<SyncReport, DaemonError> {
    let mut journal = crate::daemon::worker::open_writer_journal(&organization.data_dir, clock)?;
    register_connector(&mut journal, &organization)?;
    let OrganizationAdapters { exchange, tenant, mailer, engine_config, .. } = organization;
    let mut engine = Engine::new(journal, exchange, tenant, mailer, engine_config);
    engine.start().await?;
    let report = engine.sync(kind, SyncTrigger::Manual).await?;
    engine.into_journal().close()?;
    Ok(report)
}

fn report_json(organization: &str, report: &SyncReport) -> serde_json::Value {
    json!({
        "organization": organization,
        "run_id": report.run_id.to_string(),
        "kind": report.kind.as_str(),
        "ok": report.ok,
        "error": report.error,
        "duration_ms": report.duration_ms,
        "counts": report.counts,
    })
}

fn report_line(organization: &str, report: &SyncReport) -> String {
    let counts = &report.counts;
    let outcome = if report.ok { "completed" } else { "FAILED" };
    let mut line = format!(
        "{organization}: {} sync {outcome} in {} ms (run {}): {} devices, {} decisions, {} cmdlets ({} failed), {} reads, {} notifications, {} drift",
        report.kind.as_str(),
        report.duration_ms,
        report.run_id,
        counts.devices,
        counts.decisions,
        counts.cmdlets,
        counts.cmdlets_failed,
        counts.reads,
        counts.notifications,
        counts.drift,
    );
    if let Some(error) = &report.error {
        line.push_str(&format!("\n{organization}: {error}"));
    }
    line.push('\n');
    line
}

fn print_report(organization: &str, report: &SyncReport, format: Format) {
    match format {
        Format::Json => print_json_line(&report_json(organization, report)),
        Format::Table => print(&report_line(organization, report)),
    }
}

/// The kept-back cmdlets one a line (`Set-CASMailbox {"Identity":...}`: parameters as JSON,
/// never as script text), then the mails, then the report.
fn print_dry_run(organization: &str, dry_run: &DryRun, format: Format) {
    let kept = &dry_run.kept_back;
    match format {
        Format::Json => {
            for call in &kept.cmdlets {
                print_json_line(
                    &json!({"organization": organization, "cmdlet": call.cmdlet, "parameters": call.parameters}),
                );
            }
            for mail in &kept.mails {
                print_json_line(&json!({"organization": organization, "mail_to": mail.to, "subject": mail.subject}));
            }
            let mut summary = report_json(organization, &dry_run.report);
            summary["dry_run"] = json!(true);
            summary["cmdlets_kept_back"] = json!(kept.cmdlets.len() as u64 + kept.not_kept);
            summary["mails_kept_back"] = json!(kept.mails.len());
            summary["events_not_recorded"] = json!(dry_run.events);
            print_json_line(&summary);
        }
        Format::Table => {
            let mut text = String::new();
            for call in &kept.cmdlets {
                let parameters = serde_json::to_string(&call.parameters).unwrap_or_default();
                text.push_str(&format!("{} {parameters}\n", call.cmdlet));
            }
            for mail in &kept.mails {
                text.push_str(&format!("mail to {}: {}\n", mail.to, mail.subject));
            }
            text.push_str(&format!(
                "{organization}: dry run: {} cmdlet(s) and {} mail(s) kept back, {} event(s) not recorded; nothing was changed\n",
                kept.cmdlets.len() as u64 + kept.not_kept,
                kept.mails.len(),
                dry_run.events
            ));
            text.push_str(&report_line(organization, &dry_run.report));
            print(&text);
        }
    }
}
