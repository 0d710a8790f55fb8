//! `ExchangeConnector` and `ExchangeSession` over the simulated organisation. Every call goes
//! the way it would on a server: the server must be up and the shell alive, an injected fault
//! may answer instead, and the call is parsed by the cmdlet registry (`from_call`) before it
//! runs, so a PSRP server feeding the same calls gets exactly this behaviour.

use async_trait::async_trait;

use crate::exchange::cmdlets::registry;
use crate::exchange::{CmdletCall, CmdletOutput, ExchangeConnector, ExchangeError, ExchangeSession};
use crate::sim::exchange::SimExchange;
use crate::sim::exchange::execute::{Context, execute};
use crate::sim::exchange::state::{Shell, SimState};
use crate::sim::fault::FaultKind;

/// Exchange's text when a user has too many shells open.
pub(crate) fn shell_quota_text(quota: u32) -> String {
    format!(
        "The WS-Management service cannot process the request. This user is allowed a maximum number of {quota} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user."
    )
}

/// How long Exchange asks a throttled client to wait.
const THROTTLE_BACK_OFF_MS: u64 = 2_000;

/// Opens runspaces on the simulated organisation as one account.
#[derive(Clone)]
pub struct SimConnector {
    exchange: SimExchange,
    user: String,
    primary: String,
}

/// One runspace on a simulated Client Access Server.
pub struct SimSession {
    exchange: SimExchange,
    shell_id: u64,
    server: String,
    server_index: usize,
    user: String,
    view_entire_forest: bool,
}

impl SimConnector {
    pub(crate) fn new(exchange: SimExchange, user: &str, primary: String) -> SimConnector {
        SimConnector { exchange, user: user.to_string(), primary }
    }
}

#[async_trait]
impl ExchangeConnector for SimConnector {
    async fn open(&self, server: &str) -> Result<Box<dyn ExchangeSession>, ExchangeError> {
        self.exchange.sleep_latency().await;
        let (shell_id, server_index, server_name) = self.exchange.open_shell(&self.user, server)?;
        Ok(Box::new(SimSession {
            exchange: self.exchange.clone(),
            shell_id,
            server: server_name,
            server_index,
            user: self.user.clone(),
            view_entire_forest: false,
        }))
    }

    fn primary_server(&self) -> String {
        self.primary.clone()
    }
}

#[async_trait]
impl ExchangeSession for SimSession {
    async fn invoke(&mut self, call: &CmdletCall) -> Result<CmdletOutput, ExchangeError> {
        self.exchange.sleep_latency().await;
        let mut state = self.exchange.lock();
        state.check_shell(self.shell_id, self.server_index)?;
        run_call(&mut state, self.exchange.now(), &self.server, &self.user, call, &mut self.view_entire_forest)
    }

    async fn close(self: Box<Self>) -> Result<(), ExchangeError> {
        let mut state = self.exchange.lock();
        state.shells.remove(&self.shell_id);
        if !state.organization.servers[self.server_index].up {
            return Err(unreachable(&self.server));
        }
        Ok(())
    }

    fn server(&self) -> &str {
        &self.server
    }
}

pub(crate) fn unreachable(server: &str) -> ExchangeError {
    ExchangeError::Unreachable {
        server: server.to_string(),
        detail: "connecting to the remote server failed: the connection was refused".to_string(),
    }
}

impl SimState {
    /// Fails when the runspace's server is down or its shell is gone.
    fn check_shell(&self, shell_id: u64, server_index: usize) -> Result<(), ExchangeError> {
        let server = &self.organization.servers[server_index];
        if !server.up {
            return Err(unreachable(&server.name));
        }
        let alive = self.shells.get(&shell_id).is_some_and(|shell| shell.epoch == server.epoch);
        if !alive {
            return Err(ExchangeError::ShellGone {
                detail: format!(
                    "The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not found on the server {}.",
                    server.name
                ),
            });
        }
        Ok(())
    }

    /// Opens a shell for `user` on `server` within the user's quota.
    pub(crate) fn open_shell(&mut self, user: &str, server: &str) -> Result<(u64, usize, String), ExchangeError> {
        let Some(server_index) = self.organization.server_index(server) else {
            return Err(ExchangeError::Unreachable {
                server: server.to_string(),
                detail: "the remote server name could not be resolved".to_string(),
            });
        };
        let cas = &self.organization.servers[server_index];
        if !cas.up {
            return Err(unreachable(&cas.name));
        }
        let open_for_user = self.shells.values().filter(|shell| shell.user.eq_ignore_ascii_case(user)).count();
        if open_for_user >= self.shell_quota as usize {
            return Err(ExchangeError::Throttled { detail: shell_quota_text(self.shell_quota), retry_after_ms: None });
        }
        let shell_id = self.next_shell_id;
        self.next_shell_id += 1;
        let epoch = cas.epoch;
        let name = cas.name.clone();
        self.shells.insert(shell_id, Shell { user: user.to_string(), server: server_index, epoch });
        Ok((shell_id, server_index, name))
    }
}

/// One call on a live shell: counted, then an injected fault or the cmdlet itself.
fn run_call(
    state: &mut SimState,
    now: chrono::DateTime<chrono::Utc>,
    server: &str,
    user: &str,
    call: &CmdletCall,
    view_entire_forest: &mut bool,
) -> Result<CmdletOutput, ExchangeError> {
    let name = registry::canonical_name(&call.cmdlet).unwrap_or(call.cmdlet.as_str()).to_string();
    state.counters.record(&name, call.is_state_changing());
    let result = match state.faults.take() {
        Some(FaultKind::Throttle) => Err(ExchangeError::Throttled {
            detail: format!(
                "The user load quota of 1000 requests per 60 seconds has been exceeded. Send future requests at a slower rate or raise the quota for this user. The next request from this user will not be approved for at least {THROTTLE_BACK_OFF_MS} milliseconds."
            ),
            retry_after_ms: Some(THROTTLE_BACK_OFF_MS),
        }),
        Some(FaultKind::Error) => Err(ExchangeError::Server {
            detail: "The WinRM client received an HTTP server error status (500), but the remote service did not include any other information about the cause of the failure.".to_string(),
        }),
        Some(FaultKind::Timeout) => {
            // The server does the work; only the reply is lost.
            let _lost_reply = execute_call(state, now, server, user, call, view_entire_forest);
            Err(ExchangeError::Timeout {
                detail: format!("the WS-Management operation on {server} did not complete within the operation timeout"),
            })
        }
        None => execute_call(state, now, server, user, call, view_entire_forest),
    };
    if result.is_err() {
        state.counters.record_failure(&name);
    }
    result
}

fn execute_call(
    state: &mut SimState,
    now: chrono::DateTime<chrono::Utc>,
    server: &str,
    user: &str,
    call: &CmdletCall,
    view_entire_forest: &mut bool,
) -> Result<CmdletOutput, ExchangeError> {
    let request_id = state.request_ids.next_guid();
    let SimState { organization, withheld, .. } = state;
    let mut context = Context { now, server, user, request_id, view_entire_forest, withheld };
    if let Some(name) = registry::canonical_name(&call.cmdlet)
        && context.withheld.contains(name)
    {
        let site = context.site(name);
        return Err(site.terminating(site.command_not_found(&call.cmdlet)));
    }
    let cmdlet = registry::parse(call)
        .map_err(|error| ExchangeError::CmdletFailed { cmdlet: call.cmdlet.clone(), error: error.to_error_record() })?;
    execute(organization, &cmdlet, &mut context)
}
