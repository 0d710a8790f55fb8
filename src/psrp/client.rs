//! The client side of PSRP, sans-IO: a runspace pool and its pipelines as state machines fed the
//! bytes of received streams, returning what to send next and what happened. No sockets, no
//! clock: the WS-Management transport (`crate::wsman`) moves the bytes.

use uuid::Uuid;

use crate::domain::cmdlet_call::CmdletCall;
use crate::exchange::{CmdletOutput, ErrorRecord};
use crate::psrp::capability::{
    ProtocolVersion, RunspacePoolState, init_runspace_pool_value, parse_runspace_pool_state, parse_session_capability,
    session_capability_value,
};
use crate::psrp::error::PsrpError;
use crate::psrp::fragment::{Defragmenter, DefragmenterLimits, OutgoingQueue};
use crate::psrp::message::{Destination, Message, MessageType};
use crate::psrp::pipeline::{PipelineCommand, create_pipeline_value};
use crate::psrp::records::{
    PipelineState, error_record_from_value, host_call_method, informational_record_message, parse_pipeline_state,
};

/// The protocol version this client announces.
pub const CLIENT_PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::V2_3;

/// A runspace pool of one runspace, from the client's side.
pub struct RunspacePoolClient {
    runspace_pool_id: Uuid,
    next_object_id: u64,
    defragmenter: Defragmenter,
    state: RunspacePoolState,
    broken_by: Option<ErrorRecord>,
    protocol_version: ProtocolVersion,
    limits: DefragmenterLimits,
}

impl RunspacePoolClient {
    pub fn new(runspace_pool_id: Uuid, limits: DefragmenterLimits) -> RunspacePoolClient {
        RunspacePoolClient {
            runspace_pool_id,
            next_object_id: 1,
            defragmenter: Defragmenter::new(limits),
            state: RunspacePoolState::BeforeOpen,
            broken_by: None,
            protocol_version: CLIENT_PROTOCOL_VERSION,
            limits,
        }
    }

    pub fn runspace_pool_id(&self) -> Uuid {
        self.runspace_pool_id
    }

    pub fn state(&self) -> RunspacePoolState {
        self.state
    }

    /// The error the server gave when it reported the pool Broken.
    pub fn broken_by(&self) -> Option<&ErrorRecord> {
        self.broken_by.as_ref()
    }

    /// The negotiated protocol version (ours until the server has answered).
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.protocol_version
    }

    fn allocate_object_id(&mut self) -> u64 {
        let object_id = self.next_object_id;
        self.next_object_id += 1;
        object_id
    }

    fn message(&self, message_type: MessageType, pipeline_id: Uuid, value: &crate::clixml::value::PsValue) -> Message {
        Message::with_value(Destination::Server, message_type, self.runspace_pool_id, pipeline_id, value)
    }

    /// The `creationXml` of the WS-Man Create: SESSION_CAPABILITY and INIT_RUNSPACEPOOL, one
    /// fragment each, concatenated.
    pub fn open_data(&mut self) -> Vec<u8> {
        let mut queue = OutgoingQueue::new();
        let capability = self.message(
            MessageType::SessionCapability,
            Uuid::nil(),
            &session_capability_value(CLIENT_PROTOCOL_VERSION),
        );
        let init = self.message(MessageType::InitRunspacePool, Uuid::nil(), &init_runspace_pool_value());
        for message in [capability, init] {
            let object_id = self.allocate_object_id();
            queue.push(object_id, message.encode());
        }
        let mut data = Vec::new();
        queue.fill(usize::MAX, &mut data);
        self.state = RunspacePoolState::Opening;
        data
    }

    /// Feeds one received pool-level stream; returns the pool state after it.
    pub fn receive_pool_data(&mut self, data: &[u8]) -> Result<RunspacePoolState, PsrpError> {
        for message in self.defragmenter.push(data)? {
            match message.message_type {
                MessageType::SessionCapability => {
                    let server_version = parse_session_capability(&message.value()?)?;
                    self.protocol_version = ProtocolVersion::negotiate(CLIENT_PROTOCOL_VERSION, server_version);
                }
                MessageType::RunspacePoolState => {
                    let (state, error) = parse_runspace_pool_state(&message.value()?)?;
                    self.state = state;
                    self.broken_by = error;
                }
                // Informational for a one-runspace pool with no host: accepted and not needed.
                // (An ENCRYPTED_SESSION_KEY only answers a PUBLIC_KEY easgate never sends.)
                MessageType::ApplicationPrivateData
                | MessageType::EncryptedSessionKey
                | MessageType::RunspacePoolInitData
                | MessageType::RunspaceAvailability
                | MessageType::UserEvent => {}
                other => {
                    return Err(PsrpError::UnexpectedMessage {
                        message_type: other,
                        state: "on the runspace pool stream",
                    });
                }
            }
        }
        Ok(self.state)
    }

    /// A pipeline that runs `call` as a command (never as script text).
    pub fn start_pipeline(&mut self, pipeline_id: Uuid, call: &CmdletCall) -> PipelineClient {
        let value = create_pipeline_value(&[PipelineCommand::from_call(call)], self.protocol_version, true);
        let message = self.message(MessageType::CreatePipeline, pipeline_id, &value);
        let mut outgoing = OutgoingQueue::new();
        let object_id = self.allocate_object_id();
        outgoing.push(object_id, message.encode());
        PipelineClient {
            pipeline_id,
            outgoing,
            defragmenter: Defragmenter::new(self.limits),
            output: CmdletOutput::default(),
            outcome: None,
        }
    }
}

/// How a pipeline ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineOutcome {
    Completed,
    /// A terminating error (PIPELINE_STATE Failed with ExceptionAsErrorRecord).
    Failed(ErrorRecord),
    Stopped,
    /// The server asked the (absent) host for something; the caller must stop the pipeline.
    HostCallRequested {
        method: String,
    },
}

/// One pipeline, from the client's side.
pub struct PipelineClient {
    pipeline_id: Uuid,
    outgoing: OutgoingQueue,
    defragmenter: Defragmenter,
    output: CmdletOutput,
    outcome: Option<PipelineOutcome>,
}

impl PipelineClient {
    pub fn pipeline_id(&self) -> Uuid {
        self.pipeline_id
    }

    /// Whether fragments of the pipeline's own messages remain to be sent.
    pub fn has_data_to_send(&self) -> bool {
        !self.outgoing.is_empty()
    }

    /// The next fragments to send (in the Command's Arguments first, then in Sends), at most
    /// `budget_bytes` long; `None` when everything is sent.
    pub fn next_data_to_send(&mut self, budget_bytes: usize) -> Option<Vec<u8>> {
        let mut data = Vec::new();
        (self.outgoing.fill(budget_bytes, &mut data) > 0).then_some(data)
    }

    /// Feeds one received stream of this pipeline.
    pub fn receive(&mut self, data: &[u8]) -> Result<(), PsrpError> {
        for message in self.defragmenter.push(data)? {
            if self.outcome.is_some() {
                continue;
            }
            self.handle(message)?;
        }
        Ok(())
    }

    fn handle(&mut self, message: Message) -> Result<(), PsrpError> {
        match message.message_type {
            MessageType::PipelineOutput => self.output.objects.push(message.value()?),
            MessageType::ErrorRecord => self.output.errors.push(error_record_from_value(&message.value()?)),
            MessageType::WarningRecord => self.output.warnings.push(informational_record_message(&message.value()?)),
            MessageType::PipelineState => {
                let (state, error) = parse_pipeline_state(&message.value()?)?;
                self.outcome = match state {
                    PipelineState::Completed => Some(PipelineOutcome::Completed),
                    PipelineState::Stopped => Some(PipelineOutcome::Stopped),
                    PipelineState::Failed => Some(PipelineOutcome::Failed(error.unwrap_or_else(|| ErrorRecord {
                        message: "the pipeline failed without an error record".to_string(),
                        ..ErrorRecord::default()
                    }))),
                    _ => None,
                };
            }
            MessageType::PipelineHostCall | MessageType::RunspacePoolHostCall => {
                self.outcome = Some(PipelineOutcome::HostCallRequested { method: host_call_method(&message.value()?) });
            }
            // Streams easgate does not use; their presence is normal (PowerShell sends progress).
            MessageType::DebugRecord
            | MessageType::VerboseRecord
            | MessageType::ProgressRecord
            | MessageType::InformationRecord => {}
            other => return Err(PsrpError::UnexpectedMessage { message_type: other, state: "on a pipeline stream" }),
        }
        Ok(())
    }

    pub fn outcome(&self) -> Option<&PipelineOutcome> {
        self.outcome.as_ref()
    }

    /// What arrived so far, and how the pipeline ended (if it did).
    pub fn finish(self) -> (CmdletOutput, Option<PipelineOutcome>) {
        (self.output, self.outcome)
    }
}
