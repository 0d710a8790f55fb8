//! The runspace pool: a bounded set of runspaces on the current Client Access Server, each
//! opened with `Set-ADServerSettings -ViewEntireForest $true` first, reused across cmdlets,
//! always closed. It fails over to another CAS when the current one stops answering and goes
//! back to the primary when it answers again. Retries with backoff are the engine's business
//! (they are recorded as events); the pool only hides transport-level recovery.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, Semaphore};

use crate::domain::cmdlet_call::CmdletCall;
use crate::exchange::{CmdletOutput, ExchangeConnector, ExchangeError, ExchangeSession};

/// Exchange's default throttling allows 18 shells per user; easgate never opens more than this.
pub const RUNSPACES_MAX: usize = 18;

/// A failover the engine must record as `CasFailedOver`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// Calls made through the pool.
#[derive(Debug, Default)]
pub struct PoolCounters {
    pub reads: AtomicU64,
    pub state_changing: AtomicU64,
    pub sessions_opened: AtomicU64,
}

struct Servers {
    current: String,
    /// Every CAS known, primary first.
    candidates: Vec<String>,
    failovers: Vec<Failover>,
}

pub struct RunspacePool {
    connector: Arc<dyn ExchangeConnector>,
    primary: String,
    failover_enabled: bool,
    servers: Mutex<Servers>,
    idle: Mutex<Vec<Box<dyn ExchangeSession>>>,
    permits: Semaphore,
    runspaces_max: usize,
    pub counters: PoolCounters,
}

impl RunspacePool {
    pub fn new(connector: Arc<dyn ExchangeConnector>, runspaces_max: usize, failover_enabled: bool) -> RunspacePool {
        let runspaces_max = runspaces_max.clamp(1, RUNSPACES_MAX);
        let primary = connector.primary_server();
        RunspacePool {
            connector,
            primary: primary.clone(),
            failover_enabled,
            servers: Mutex::new(Servers { current: primary.clone(), candidates: vec![primary], failovers: Vec::new() }),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(runspaces_max),
            runspaces_max,
            counters: PoolCounters::default(),
        }
    }

    pub fn runspaces_max(&self) -> usize {
        self.runspaces_max
    }

    pub async fn current_server(&self) -> String {
        self.servers.lock().await.current.clone()
    }

    /// Starts from a known server (after a restart, the one the log says easgate was using).
    pub async fn set_current_server(&self, server: &str) {
        if !server.is_empty() {
            self.servers.lock().await.current = server.to_string();
        }
    }

    /// Client Access Servers discovered with Get-ExchangeServer become failover candidates.
    pub async fn learn_servers(&self, servers: &[String]) {
        let mut state = self.servers.lock().await;
        for server in servers {
            if !state.candidates.iter().any(|known| same_server(known, server)) {
                state.candidates.push(server.clone());
            }
        }
    }

    /// Failovers since the last call, for the engine to record.
    pub async fn take_failovers(&self) -> Vec<Failover> {
        std::mem::take(&mut self.servers.lock().await.failovers)
    }

    /// Runs one cmdlet once, recovering a lost shell and failing over an unreachable server.
    pub async fn invoke(&self, call: &CmdletCall) -> Result<CmdletOutput, ExchangeError> {
        let counter = if call.is_state_changing() { &self.counters.state_changing } else { &self.counters.reads };
        counter.fetch_add(1, Ordering::Relaxed);
        let _permit =
            self.permits.acquire().await.map_err(|_| ExchangeError::Server { detail: "pool closed".into() })?;
        // One reopen after a lost shell, one try per candidate server after an unreachable one.
        let attempts_max = 2 + self.servers.lock().await.candidates.len();
        let mut last_error = None;
        let mut tried = vec![self.current_server().await];
        for _ in 0..attempts_max {
            let mut session = match self.session().await {
                Ok(session) => session,
                Err(error) if error.calls_for_failover() && self.fail_over(&error, &mut tried).await => {
                    last_error = Some(error);
                    continue;
                }
                Err(error) => return Err(error),
            };
            match session.invoke(call).await {
                Ok(output) => {
                    self.idle.lock().await.push(session);
                    return Ok(output);
                }
                Err(error @ ExchangeError::ShellGone { .. }) => {
                    let _ = session.close().await;
                    last_error = Some(error);
                }
                Err(error) if error.calls_for_failover() => {
                    let _ = session.close().await;
                    if !self.fail_over(&error, &mut tried).await {
                        return Err(error);
                    }
                    last_error = Some(error);
                }
                Err(error) => {
                    // The runspace is still good after a cmdlet's own failure or a throttle.
                    if matches!(error, ExchangeError::Protocol { .. } | ExchangeError::Timeout { .. }) {
                        let _ = session.close().await;
                    } else {
                        self.idle.lock().await.push(session);
                    }
                    return Err(error);
                }
            }
        }
        Err(last_error.unwrap_or(ExchangeError::Server { detail: "no runspace could be opened".into() }))
    }

    /// An idle runspace on the current server, or a new one.
    async fn session(&self) -> Result<Box<dyn ExchangeSession>, ExchangeError> {
        let current = self.current_server().await;
        loop {
            let Some(session) = self.idle.lock().await.pop() else { break };
            if session.server() == current {
                return Ok(session);
            }
            let _ = session.close().await;
        }
        let mut session = self.connector.open(&current).await?;
        self.counters.sessions_opened.fetch_add(1, Ordering::Relaxed);
        let view_forest = CmdletCall::new("Set-ADServerSettings").switch("ViewEntireForest", true);
        if let Err(error) = session.invoke(&view_forest).await {
            let _ = session.close().await;
            return Err(error);
        }
        Ok(session)
    }

    /// Moves to the next candidate server not tried yet for this call. Returns false when there
    /// is none left (or failover is off).
    async fn fail_over(&self, error: &ExchangeError, tried: &mut Vec<String>) -> bool {
        if !self.failover_enabled {
            return false;
        }
        let mut state = self.servers.lock().await;
        let Some(next) = state.candidates.iter().find(|server| !tried.contains(server)).cloned() else {
            return false;
        };
        tried.push(next.clone());
        let failover = Failover { from: state.current.clone(), to: next.clone(), reason: error.to_string() };
        state.failovers.push(failover);
        state.current = next;
        true
    }

    /// Goes back to the primary server if easgate failed over and the primary answers again.
    pub async fn try_return_to_primary(&self) {
        let current = self.current_server().await;
        if current == self.primary {
            return;
        }
        if let Ok(session) = self.connector.open(&self.primary).await {
            let _ = session.close().await;
            self.close_idle().await;
            let mut state = self.servers.lock().await;
            let failover =
                Failover { from: current, to: self.primary.clone(), reason: "the primary server answers again".into() };
            state.failovers.push(failover);
            state.current = self.primary.clone();
        }
    }

    /// Closes every idle runspace (the shells are deleted on the server).
    pub async fn close_idle(&self) {
        let sessions = std::mem::take(&mut *self.idle.lock().await);
        for session in sessions {
            let _ = session.close().await;
        }
    }
}

/// Whether two names are the same server: equal, or one is the other's short name
/// (`cas1` and `cas1.contoso.com`).
fn same_server(left: &str, right: &str) -> bool {
    if left.eq_ignore_ascii_case(right) {
        return true;
    }
    let short = |name: &str| name.split('.').next().unwrap_or(name).to_ascii_lowercase();
    (!left.contains('.') || !right.contains('.')) && short(left) == short(right)
}
