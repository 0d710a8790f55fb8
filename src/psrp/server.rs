//! The server side of PSRP, sans-IO: what a Windows PowerShell endpoint does with a runspace
//! pool and its pipelines. Fed the bytes the client sent; queues the messages to send back and
//! hands them out one fragment at a time, sized to whatever room the next Receive has.

use uuid::Uuid;

use crate::clixml::value::PsValue;
use crate::domain::cmdlet_call::CmdletCall;
use crate::exchange::{CmdletOutput, ErrorRecord};
use crate::psrp::capability::{
    ProtocolVersion, RunspacePoolState, application_private_data_value, parse_init_runspace_pool,
    parse_session_capability, runspace_pool_state_value, session_capability_value,
};
use crate::psrp::error::PsrpError;
use crate::psrp::fragment::{Defragmenter, DefragmenterLimits, OutgoingQueue};
use crate::psrp::message::{Destination, Message, MessageType};
use crate::psrp::pipeline::{PipelineRejection, call_from_commands, parse_create_pipeline};
use crate::psrp::records::{PipelineState, error_record_value, pipeline_state_value, warning_record_value};

/// Queued messages with the ObjectIds they go out under.
struct Outbox {
    runspace_pool_id: Uuid,
    pipeline_id: Uuid,
    next_object_id: u64,
    queue: OutgoingQueue,
}

impl Outbox {
    fn new(runspace_pool_id: Uuid, pipeline_id: Uuid) -> Outbox {
        Outbox { runspace_pool_id, pipeline_id, next_object_id: 1, queue: OutgoingQueue::new() }
    }

    fn push(&mut self, message_type: MessageType, value: &PsValue) {
        let message =
            Message::with_value(Destination::Client, message_type, self.runspace_pool_id, self.pipeline_id, value);
        self.queue.push(self.next_object_id, message.encode());
        self.next_object_id += 1;
    }

    fn next_fragment(&mut self, max_blob_len: usize) -> Option<Vec<u8>> {
        let mut data = Vec::new();
        (self.queue.next_fragment(max_blob_len, &mut data) > 0).then_some(data)
    }
}

/// A runspace pool, from the server's side.
pub struct RunspacePoolServer {
    server_version: ProtocolVersion,
    protocol_version: Option<ProtocolVersion>,
    defragmenter: Defragmenter,
    outbox: Outbox,
    state: RunspacePoolState,
    limits: DefragmenterLimits,
}

impl RunspacePoolServer {
    /// A pool that answers with `server_version` (2.1 to behave like Exchange 2010).
    pub fn new(
        runspace_pool_id: Uuid,
        server_version: ProtocolVersion,
        limits: DefragmenterLimits,
    ) -> RunspacePoolServer {
        RunspacePoolServer {
            server_version,
            protocol_version: None,
            defragmenter: Defragmenter::new(limits),
            outbox: Outbox::new(runspace_pool_id, Uuid::nil()),
            state: RunspacePoolState::BeforeOpen,
            limits,
        }
    }

    pub fn runspace_pool_id(&self) -> Uuid {
        self.outbox.runspace_pool_id
    }

    pub fn state(&self) -> RunspacePoolState {
        self.state
    }

    /// Feeds pool-level data (the Create's creationXml). Once SESSION_CAPABILITY and
    /// INIT_RUNSPACEPOOL have arrived, queues the server's capability, its private data and the
    /// Opened state.
    pub fn receive_pool_data(&mut self, data: &[u8]) -> Result<(), PsrpError> {
        for message in self.defragmenter.push(data)? {
            match message.message_type {
                MessageType::SessionCapability => {
                    let client_version = parse_session_capability(&message.value()?)?;
                    self.protocol_version = Some(ProtocolVersion::negotiate(self.server_version, client_version));
                    self.outbox.push(MessageType::SessionCapability, &session_capability_value(self.server_version));
                }
                MessageType::InitRunspacePool => {
                    if self.protocol_version.is_none() {
                        return Err(PsrpError::UnexpectedMessage {
                            message_type: message.message_type,
                            state: "before SESSION_CAPABILITY",
                        });
                    }
                    parse_init_runspace_pool(&message.value()?)?;
                    self.outbox.push(
                        MessageType::ApplicationPrivateData,
                        &application_private_data_value(self.server_version),
                    );
                    self.outbox.push(
                        MessageType::RunspacePoolState,
                        &runspace_pool_state_value(RunspacePoolState::Opened, None),
                    );
                    self.state = RunspacePoolState::Opened;
                }
                other => {
                    return Err(PsrpError::UnexpectedMessage {
                        message_type: other,
                        state: "on the runspace pool stream",
                    });
                }
            }
        }
        Ok(())
    }

    /// The next pool-level fragment for a Receive, with a blob of at most `max_blob_len` bytes.
    pub fn next_pool_fragment(&mut self, max_blob_len: usize) -> Option<Vec<u8>> {
        self.outbox.next_fragment(max_blob_len)
    }

    /// A pipeline on this pool, to be fed the Command's data.
    pub fn start_pipeline(&self, pipeline_id: Uuid) -> PipelineServer {
        PipelineServer {
            defragmenter: Defragmenter::new(self.limits),
            outbox: Outbox::new(self.outbox.runspace_pool_id, pipeline_id),
            request: None,
            finished: false,
        }
    }
}

/// One pipeline, from the server's side.
pub struct PipelineServer {
    defragmenter: Defragmenter,
    outbox: Outbox,
    request: Option<Result<CmdletCall, PipelineRejection>>,
    finished: bool,
}

impl PipelineServer {
    pub fn pipeline_id(&self) -> Uuid {
        self.outbox.pipeline_id
    }

    /// Feeds data from the Command or a Send. Returns the requested call (or why it is refused)
    /// once the whole CREATE_PIPELINE has arrived; `None` while fragments are missing.
    pub fn receive(&mut self, data: &[u8]) -> Result<Option<Result<CmdletCall, PipelineRejection>>, PsrpError> {
        for message in self.defragmenter.push(data)? {
            match message.message_type {
                MessageType::CreatePipeline if self.request.is_none() => {
                    let commands = parse_create_pipeline(&message.value()?)?;
                    let request = call_from_commands(&commands);
                    self.request = Some(request.clone());
                    return Ok(Some(request));
                }
                // Commands are sent with NoInput=true; input that arrives anyway is ignored.
                MessageType::PipelineInput | MessageType::EndOfPipelineInput => {}
                other => return Err(PsrpError::UnexpectedMessage { message_type: other, state: "on a pipeline" }),
            }
        }
        Ok(None)
    }

    /// Queues everything a cmdlet produced, then the Completed state.
    pub fn queue_output(&mut self, output: &CmdletOutput) {
        for warning in &output.warnings {
            self.outbox.push(MessageType::WarningRecord, &warning_record_value(warning));
        }
        for object in &output.objects {
            self.outbox.push(MessageType::PipelineOutput, object);
        }
        for error in &output.errors {
            self.outbox.push(MessageType::ErrorRecord, &error_record_value(error, true));
        }
        self.outbox.push(MessageType::PipelineState, &pipeline_state_value(PipelineState::Completed, None));
        self.finished = true;
    }

    /// Queues a terminating error: the Failed state with the error record.
    pub fn queue_failure(&mut self, error: &ErrorRecord) {
        self.outbox.push(MessageType::PipelineState, &pipeline_state_value(PipelineState::Failed, Some(error)));
        self.finished = true;
    }

    /// Queues the Stopped state (after a Signal).
    pub fn queue_stopped(&mut self) {
        if !self.finished {
            self.outbox.push(MessageType::PipelineState, &pipeline_state_value(PipelineState::Stopped, None));
            self.finished = true;
        }
    }

    /// Whether the final state has been queued.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether the final state has been queued and everything has been handed out.
    pub fn is_drained(&self) -> bool {
        self.finished && self.outbox.queue.is_empty()
    }

    /// The next fragment for a Receive, with a blob of at most `max_blob_len` bytes.
    pub fn next_fragment(&mut self, max_blob_len: usize) -> Option<Vec<u8>> {
        self.outbox.next_fragment(max_blob_len)
    }
}
