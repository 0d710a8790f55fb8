//! `easgate run`: the long-running service. One worker task per Exchange organisation owns
//! that organisation's engine and data directory; the main loop (`main_loop`) owns the
//! schedules and hands each worker its syncs (a full one at start, then quick and full ones at
//! their intervals, and those the admin API asks for); the admin API (`admin_api`) serves
//! Graph-shaped connector resources and the status; `daemon.json` in each data directory tells
//! other commands where the API is while the daemon holds the directory.
//!
//! Code map: `main_loop` (events and the schedule), `worker` (an organisation's engine),
//! `admin_api` (axum, bearer token), `published` (the views the API shows), `daemon_file`
//! (daemon.json and the client `easgate status` uses), `signals`, `logging` (tracing), `measure`
//! (the real path at scale),
//! `dry_run` (`easgate sync --dry-run`), `probe_ews` (`easgate check`'s EWS probe), `error`.

pub mod admin_api;
pub mod daemon_file;
pub mod dry_run;
pub mod error;
pub mod logging;
pub mod main_loop;
pub mod measure;
pub mod probe_ews;
pub mod published;
pub mod signals;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::clock::{Clock, SystemClock};
use crate::config::model::Config;
use crate::daemon::admin_api::{AdminServer, AdminState};
use crate::daemon::daemon_file::DaemonFile;
use crate::daemon::main_loop::{MainLoop, ShutdownState, Slot};
use crate::daemon::worker::Worker;
use crate::store::json_lines::format_recorded_at;
use crate::sync::schedule::Schedule;

pub use error::DaemonError;

/// Admin requests waiting for the main loop at most.
const ADMIN_REQUESTS_QUEUED_MAX: usize = 32;

/// Runs the daemon until SIGTERM/SIGINT. `default_data_dir` applies when the file has no
/// `<DataDirectory>`.
pub async fn run_daemon(config: Config, default_data_dir: PathBuf) -> Result<(), DaemonError> {
    // The engine's sync future is not `Send` (it holds `&Engine`, whose log is not `Sync`), so
    // workers are local tasks: their I/O still overlaps, and the admin API and the HTTP clients'
    // connections run on the runtime's other threads.
    tokio::task::LocalSet::new().run_until(run_daemon_locally(config, default_data_dir)).await
}

async fn run_daemon_locally(config: Config, default_data_dir: PathBuf) -> Result<(), DaemonError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let adapters = crate::adapters::build_adapters(&config, &default_data_dir, clock.clone())?;
    let signals = signals::Signals::install()?;
    let start_us = clock.now().timestamp_micros();
    let Opened { workers, views, mut slots } = open_workers(adapters, clock.clone(), start_us).await?;
    let (admin_sender, admin_requests) = mpsc::channel(ADMIN_REQUESTS_QUEUED_MAX);
    let admin = match start_admin_api(&config, views, admin_sender).await {
        Ok(admin) => admin,
        Err(error) => {
            close_opened(workers);
            return Err(error);
        }
    };
    let data_dirs: Vec<PathBuf> = workers.iter().map(|(_, data_dir)| data_dir.clone()).collect();
    let listen = admin.as_ref().map(|(server, token)| (server.local_addr, token.as_str()));
    write_daemon_files(&slots, &data_dirs, listen, start_us);
    let (finished_sender, finished) = mpsc::channel(slots.len().max(1));
    let (stop_now, stop_now_receiver) = watch::channel(false);
    let mut handles = Vec::with_capacity(workers.len());
    for ((worker, _), slot) in workers.into_iter().zip(&mut slots) {
        // One command at a time: the main loop sends only to an idle worker.
        let (commands, receiver) = mpsc::channel(1);
        slot.commands = Some(commands);
        let run = worker.run(receiver, finished_sender.clone(), stop_now_receiver.clone());
        handles.push(tokio::task::spawn_local(run));
    }
    drop(finished_sender);
    let shutdown = ShutdownState::Running;
    let main_loop = MainLoop { slots, admin_requests, finished, signals, stop_now, clock, shutdown, fatal: None };
    let fatal = main_loop.run().await;
    finish(handles, admin.map(|(server, _)| server), &data_dirs, fatal).await
}

/// The organisations' workers, opened; what the admin API shows of them; their slots.
struct Opened {
    workers: Vec<(Worker, PathBuf)>,
    views: Vec<watch::Receiver<published::PublishedStatus>>,
    slots: Vec<Slot>,
}

/// Opens every organisation's data directory (a failure closes those already opened).
async fn open_workers(
    adapters: Vec<crate::adapters::OrganizationAdapters>,
    clock: Arc<dyn Clock>,
    start_us: i64,
) -> Result<Opened, DaemonError> {
    let mut opened = Opened { workers: Vec::new(), views: Vec::new(), slots: Vec::new() };
    for (index, organization) in adapters.into_iter().enumerate() {
        let connector = organization.connector.clone();
        let (connector_id, data_dir) = (organization.connector_id.clone(), organization.data_dir.clone());
        let (worker, view) = match Worker::open(index, organization, clock.clone()).await {
            Ok(worker) => worker,
            Err(error) => {
                close_opened(opened.workers);
                return Err(error);
            }
        };
        let name = &connector.exchange_organization;
        tracing::info!(organization = %name, %connector_id, data_dir = %data_dir.display(), "opened");
        opened.workers.push((worker, data_dir));
        opened.views.push(view);
        opened.slots.push(Slot {
            organization: name.clone(),
            connector_id,
            schedule: Schedule::starting(start_us, connector.quick_sync_interval_s, connector.full_sync_interval_s),
            busy: false,
            queued: None,
            commands: None,
        });
    }
    Ok(opened)
}

/// The admin API when the file asks for one, with the token's source for daemon.json.
async fn start_admin_api(
    config: &Config,
    views: Vec<watch::Receiver<published::PublishedStatus>>,
    requests: mpsc::Sender<admin_api::AdminRequest>,
) -> Result<Option<(AdminServer, String)>, DaemonError> {
    let Some(api) = &config.admin_api else { return Ok(None) };
    let state = AdminState { token: api.token.clone(), organizations: views, requests };
    let server = AdminServer::start(api.listen, state)
        .await
        .map_err(|error| DaemonError::Config(format!("AdminApi / Listen {}: {error}", api.listen)))?;
    tracing::info!(listen = %server.local_addr, "the admin API listens");
    Ok(Some((server, api.token.describe())))
}

/// Waits for the workers to close their logs, stops the API, removes daemon.json.
async fn finish(
    handles: Vec<tokio::task::JoinHandle<Result<(), DaemonError>>>,
    admin: Option<AdminServer>,
    data_dirs: &[PathBuf],
    mut fatal: Option<String>,
) -> Result<(), DaemonError> {
    for handle in handles {
        let result =
            handle.await.unwrap_or_else(|error| Err(DaemonError::Runtime(format!("a worker panicked: {error}"))));
        if let Err(error) = result {
            tracing::error!(%error, "a worker stopped without closing its log cleanly");
            fatal.get_or_insert(error.to_string());
        }
    }
    if let Some(server) = admin {
        server.stop().await;
    }
    for data_dir in data_dirs {
        if let Err(error) = DaemonFile::remove(data_dir) {
            tracing::warn!(%error, data_dir = %data_dir.display(), "cannot remove daemon.json");
        }
    }
    match fatal {
        None => {
            tracing::info!("stopped cleanly");
            Ok(())
        }
        Some(error) => Err(DaemonError::Runtime(error)),
    }
}

/// Closes the journals of workers opened before a later one failed to open.
fn close_opened(workers: Vec<(Worker, PathBuf)>) {
    for (worker, data_dir) in workers {
        if let Err(error) = worker.close() {
            tracing::warn!(%error, data_dir = %data_dir.display(), "cannot close the log");
        }
    }
}

fn write_daemon_files(
    slots: &[Slot],
    data_dirs: &[PathBuf],
    admin: Option<(std::net::SocketAddr, &str)>,
    start_us: i64,
) {
    for (slot, data_dir) in slots.iter().zip(data_dirs) {
        let file = DaemonFile {
            pid: std::process::id(),
            organization: slot.organization.clone(),
            connector_id: slot.connector_id.clone(),
            admin_listen: admin.map(|(listen, _)| listen.to_string()),
            token_file: admin.map(|(_, token)| token.to_string()),
            started_at: format_recorded_at(start_us),
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        write_daemon_file(&file, data_dir);
    }
}

fn write_daemon_file(file: &DaemonFile, data_dir: &Path) {
    if let Err(error) = file.write(data_dir) {
        tracing::warn!(%error, data_dir = %data_dir.display(), "cannot write daemon.json: `easgate status` cannot reach this daemon");
    }
}
