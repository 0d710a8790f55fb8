//! A PowerShell shell (runspace pool) driven over WS-Management from the client side: the I/O
//! loop around the sans-IO `RunspacePoolClient`. Create + Receive until Opened; per cmdlet
//! Command (+ Send), Receive until a final pipeline state, Signal; Delete at the end.

use tokio::time::Instant;
use uuid::Uuid;

use crate::domain::cmdlet_call::CmdletCall;
use crate::exchange::{CmdletOutput, ErrorRecord};
use crate::psrp::PsrpError;
use crate::psrp::capability::RunspacePoolState;
use crate::psrp::client::{CLIENT_PROTOCOL_VERSION, PipelineClient, PipelineOutcome, RunspacePoolClient};
use crate::psrp::fragment::DefragmenterLimits;
use crate::wsman::error::WsmanError;
use crate::wsman::names::{SIGNAL_STOP_PIPELINE, SIGNAL_TERMINATE};
use crate::wsman::parse::Envelope;
use crate::wsman::request::RequestContext;
use crate::wsman::transport::HttpTransport;

/// Receives one open or one pipeline may take before giving up, whatever the deadline says. A
/// Receive returns at least one fragment or waits OperationTimeout, so this bounds the loop
/// without limiting real output (100,000 objects take a few thousand Receives).
const MAX_RECEIVES: usize = 1_000_000;

/// Why a shell operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShellError {
    /// The transport or the server refused. **Handling:** see `WsmanError::to_exchange_error`.
    #[error(transparent)]
    Wsman(#[from] WsmanError),
    /// The PSRP data made no sense. **Handling:** a protocol error; close the shell, open another.
    #[error(transparent)]
    Psrp(#[from] PsrpError),
    /// The server reported the runspace pool Broken or Closed. **Handling:** open a new shell.
    #[error("the runspace pool is {state:?}{}", error.as_ref().map(|error| format!(": {}", error.message)).unwrap_or_default())]
    PoolNotUsable { state: RunspacePoolState, error: Option<ErrorRecord> },
    /// The deadline passed (the pipeline was asked to stop). **Handling:** in doubt; read back.
    #[error("no result within {elapsed_ms} ms")]
    DeadlineExceeded { elapsed_ms: u64 },
}

/// An open shell. Dropping it without [`ClientShell::close`] still sends the Delete in the
/// background: an abandoned shell would hold a slot of the user's shell quota until it idles out.
pub struct ClientShell {
    transport: HttpTransport,
    context: RequestContext,
    pool: RunspacePoolClient,
    shell_id: Uuid,
    deleted: bool,
}

impl Drop for ClientShell {
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (transport, delete) = (self.transport.clone(), self.context.delete(self.shell_id));
        runtime.spawn(async move {
            if let Err(error) = transport.exchange(delete).await {
                tracing::debug!(%error, "deleting an abandoned shell failed");
            }
        });
    }
}

impl ClientShell {
    /// Creates the shell and waits until its runspace pool is Opened.
    pub async fn open(
        transport: HttpTransport,
        context: RequestContext,
        limits: DefragmenterLimits,
        deadline: Instant,
    ) -> Result<ClientShell, ShellError> {
        let mut pool = RunspacePoolClient::new(Uuid::new_v4(), limits);
        let shell_id = pool.runspace_pool_id();
        let creation = context.create(shell_id, &CLIENT_PROTOCOL_VERSION.to_string(), &pool.open_data());
        let created = transport.exchange(creation).await?;
        expect_action(&created, "CreateResponse")?;
        let mut shell = ClientShell { transport, context, pool, shell_id, deleted: false };
        let started = Instant::now();
        for _ in 0..MAX_RECEIVES {
            let Some(reply) = shell.receive(None, deadline, started).await? else { continue };
            for stream in reply.body.streams.iter().filter(|stream| stream.command_id.is_none()) {
                shell.pool.receive_pool_data(&stream.data)?;
            }
            match shell.pool.state() {
                RunspacePoolState::Opened => return Ok(shell),
                state @ (RunspacePoolState::Broken | RunspacePoolState::Closed) => {
                    // Dropping `shell` sends the Delete; the server may already have dropped it.
                    return Err(ShellError::PoolNotUsable { state, error: shell.pool.broken_by().cloned() });
                }
                _ => {}
            }
        }
        Err(ShellError::DeadlineExceeded { elapsed_ms: started.elapsed().as_millis() as u64 })
    }

    pub fn shell_id(&self) -> Uuid {
        self.shell_id
    }

    /// The PSRP protocol version agreed with the server when the pool opened.
    pub fn protocol_version(&self) -> crate::psrp::capability::ProtocolVersion {
        self.pool.protocol_version()
    }

    /// One Receive; `None` when the server had nothing within OperationTimeout (receive again).
    async fn receive(
        &self,
        command_id: Option<Uuid>,
        deadline: Instant,
        started: Instant,
    ) -> Result<Option<Envelope>, ShellError> {
        if Instant::now() >= deadline {
            return Err(ShellError::DeadlineExceeded { elapsed_ms: started.elapsed().as_millis() as u64 });
        }
        match self.transport.exchange(self.context.receive(self.shell_id, command_id)).await {
            Ok(reply) => {
                expect_action(&reply, "ReceiveResponse")?;
                Ok(Some(reply))
            }
            Err(WsmanError::Fault(fault)) if fault.is_receive_timeout() => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Runs one cmdlet as a command and collects everything it returns. The pipeline ends in
    /// Completed, Failed (with its error) or Stopped; a host call stops it.
    pub async fn run(
        &mut self,
        call: &CmdletCall,
        deadline: Instant,
    ) -> Result<(CmdletOutput, PipelineOutcome), ShellError> {
        let started = Instant::now();
        let command_id = Uuid::new_v4();
        let mut pipeline = self.pool.start_pipeline(command_id, call);
        self.send_pipeline(&mut pipeline).await?;
        let outcome = self.receive_pipeline(&mut pipeline, deadline, started).await;
        let code = match &outcome {
            Ok(PipelineOutcome::HostCallRequested { .. }) | Err(_) => SIGNAL_STOP_PIPELINE,
            Ok(_) => SIGNAL_TERMINATE,
        };
        // Releases the command on the server (PowerShell does the same); a failure here does not
        // change what the pipeline did.
        if let Err(error) = self.transport.exchange(self.context.signal(self.shell_id, command_id, code)).await {
            tracing::debug!(%error, "signal after the pipeline failed");
        }
        let outcome = outcome?;
        Ok((pipeline.finish().0, outcome))
    }

    async fn send_pipeline(&self, pipeline: &mut PipelineClient) -> Result<(), ShellError> {
        let command_id = pipeline.pipeline_id();
        let budget = self.context.max_payload_bytes();
        let first = pipeline.next_data_to_send(budget).unwrap_or_default();
        let reply = self.transport.exchange(self.context.command(self.shell_id, command_id, &first)).await?;
        expect_action(&reply, "CommandResponse")?;
        // Bounded: each Send takes at least one byte of the queued CREATE_PIPELINE.
        while let Some(data) = pipeline.next_data_to_send(budget) {
            let reply = self.transport.exchange(self.context.send(self.shell_id, command_id, &data)).await?;
            expect_action(&reply, "SendResponse")?;
        }
        Ok(())
    }

    async fn receive_pipeline(
        &self,
        pipeline: &mut PipelineClient,
        deadline: Instant,
        started: Instant,
    ) -> Result<PipelineOutcome, ShellError> {
        let command_id = pipeline.pipeline_id();
        for _ in 0..MAX_RECEIVES {
            let Some(reply) = self.receive(Some(command_id), deadline, started).await? else { continue };
            for stream in &reply.body.streams {
                pipeline.receive(&stream.data)?;
            }
            if let Some(outcome) = pipeline.outcome() {
                return Ok(outcome.clone());
            }
            if reply.body.command_state.as_ref().is_some_and(|state| state.state.ends_with("/Done")) {
                return Err(PsrpError::UnexpectedMessage {
                    message_type: crate::psrp::message::MessageType::PipelineState,
                    state: "missing: the command is Done without a final pipeline state",
                }
                .into());
            }
        }
        Err(ShellError::DeadlineExceeded { elapsed_ms: started.elapsed().as_millis() as u64 })
    }

    /// Deletes the shell, freeing its slot in the user's shell quota.
    pub async fn close(mut self) -> Result<(), ShellError> {
        // Whatever the answer, the Delete has been sent: no second one on drop.
        self.deleted = true;
        let reply = self.transport.exchange(self.context.delete(self.shell_id)).await?;
        expect_action(&reply, "DeleteResponse")?;
        Ok(())
    }
}

fn expect_action(reply: &Envelope, expected: &'static str) -> Result<(), WsmanError> {
    if reply.header.action.ends_with(expected) {
        return Ok(());
    }
    Err(WsmanError::UnexpectedResponse { expected, got: reply.header.action.clone() })
}
