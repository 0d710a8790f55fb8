//! The Exchange cmdlets easgate runs, typed: one file per cmdlet (tokio mini-redis `cmd/*.rs`
//! shape), each with its parameter struct, `into_call` (the client: parameters as PowerShell
//! binds them), `from_call` (the server: unknown or mistyped parameters fail like PowerShell's
//! binder), and its result type with `to_object` / `from_object` (Exchange's object shape).
//!
//! Run a cmdlet on a session and get its typed result:
//! `let mailboxes = GetCasMailbox::with_partnerships().run(session.as_mut()).await?;`
//! `registry::parse` turns any `CmdletCall` back into the typed cmdlet it names; the simulated
//! organisation executes every call through it, so a PSRP server feeding it the same calls gets
//! the same behaviour.

mod binding;
pub mod error;
mod objects;
pub mod opath;
pub mod registry;
pub mod values;

pub mod clear_activesync_device;
pub mod get_activesync_device;
pub mod get_activesync_device_access_rule;
pub mod get_activesync_device_class;
pub mod get_activesync_device_statistics;
pub mod get_activesync_mailbox_policy;
pub mod get_activesync_organization_settings;
pub mod get_cas_mailbox;
pub mod get_command;
pub mod get_exchange_server;
pub mod get_recipient;
pub mod new_activesync_device_access_rule;
pub mod new_activesync_mailbox_policy;
pub mod remove_activesync_device;
pub mod remove_activesync_device_access_rule;
pub mod remove_activesync_mailbox_policy;
pub mod set_activesync_device_access_rule;
pub mod set_activesync_mailbox_policy;
pub mod set_activesync_organization_settings;
pub mod set_ad_server_settings;
pub mod set_cas_mailbox;

use std::future::Future;

pub use clear_activesync_device::ClearActiveSyncDevice;
pub use error::CmdletError;
pub use get_activesync_device::{ActiveSyncDevice, GetActiveSyncDevice};
pub use get_activesync_device_access_rule::{ActiveSyncDeviceAccessRule, GetActiveSyncDeviceAccessRule};
pub use get_activesync_device_class::{ActiveSyncDeviceClass, GetActiveSyncDeviceClass};
pub use get_activesync_device_statistics::{ActiveSyncDeviceStatistics, GetActiveSyncDeviceStatistics, WipeStatus};
pub use get_activesync_mailbox_policy::{ActiveSyncMailboxPolicy, GetActiveSyncMailboxPolicy};
pub use get_activesync_organization_settings::{ActiveSyncOrganizationSettings, GetActiveSyncOrganizationSettings};
pub use get_cas_mailbox::{CasMailbox, GetCasMailbox};
pub use get_command::{CommandInfo, GetCommand};
pub use get_exchange_server::{ExchangeServer, GetExchangeServer};
pub use get_recipient::{GetRecipient, Recipient};
pub use new_activesync_device_access_rule::NewActiveSyncDeviceAccessRule;
pub use new_activesync_mailbox_policy::NewActiveSyncMailboxPolicy;
pub use objects::parse_date_time;
pub use registry::AnyCmdlet;
pub use remove_activesync_device::RemoveActiveSyncDevice;
pub use remove_activesync_device_access_rule::RemoveActiveSyncDeviceAccessRule;
pub use remove_activesync_mailbox_policy::RemoveActiveSyncMailboxPolicy;
pub use set_activesync_device_access_rule::SetActiveSyncDeviceAccessRule;
pub use set_activesync_mailbox_policy::SetActiveSyncMailboxPolicy;
pub use set_activesync_organization_settings::SetActiveSyncOrganizationSettings;
pub use set_ad_server_settings::SetAdServerSettings;
pub use set_cas_mailbox::SetCasMailbox;
pub use values::{MultiValuedChange, ResultSize};

use crate::clixml::value::PsValue;
use crate::exchange::{CmdletCall, ErrorRecord, ExchangeError, ExchangeSession};

/// An Exchange object type a cmdlet returns. The consuming forms move strings instead of
/// copying them (a full sync reads 100,000 of these); the borrowing forms copy.
pub trait ExchangeObject: Sized + Clone {
    /// The object as Exchange's remote shell sends it.
    fn into_object(self) -> PsValue;
    /// Reads the object back, moving its values out and leaving the emptied shell to the
    /// caller (so that a large reply is freed in one go, after decoding); tolerant of Props vs
    /// MS and of enum forms, strict only about what easgate cannot do without.
    fn take_from(value: &mut PsValue) -> Result<Self, CmdletError>;

    fn to_object(&self) -> PsValue {
        self.clone().into_object()
    }

    fn from_value(mut value: PsValue) -> Result<Self, CmdletError> {
        Self::take_from(&mut value)
    }

    fn from_object(value: &PsValue) -> Result<Self, CmdletError> {
        Self::take_from(&mut value.clone())
    }
}

/// A typed cmdlet.
pub trait Cmdlet: Sized + Sync {
    /// The cmdlet's name as Exchange spells it.
    const NAME: &'static str;
    /// What one output object of the cmdlet is.
    type Output: ExchangeObject + Send + 'static;

    /// The call as PowerShell binds it (the client side). Borrowing, because a cmdlet is
    /// retried with the same parameters.
    #[allow(clippy::wrong_self_convention)]
    fn into_call(&self) -> CmdletCall;

    /// The typed cmdlet a call names (the server side).
    fn from_call(call: &CmdletCall) -> Result<Self, CmdletError>;

    /// Runs the cmdlet and reads its output. A non-terminating ErrorRecord fails the call with
    /// `ExchangeError::CmdletFailed` (easgate's calls name one target, so any error means the
    /// target was not acted on); use `run_reply` to keep the objects next to the errors.
    fn run<'a>(
        &'a self,
        session: &'a mut dyn ExchangeSession,
    ) -> impl Future<Output = Result<Vec<Self::Output>, ExchangeError>> + Send + 'a {
        let call = self.into_call();
        async move {
            let reply = invoke_typed::<Self::Output>(session, &call).await?;
            match reply.errors.into_iter().next() {
                Some(error) => Err(ExchangeError::CmdletFailed { cmdlet: call.cmdlet, error }),
                None => Ok(reply.objects),
            }
        }
    }

    /// Runs the cmdlet and returns its objects, its non-terminating errors and its warnings.
    fn run_reply<'a>(
        &'a self,
        session: &'a mut dyn ExchangeSession,
    ) -> impl Future<Output = Result<CmdletReply<Self::Output>, ExchangeError>> + Send + 'a {
        let call = self.into_call();
        async move { invoke_typed::<Self::Output>(session, &call).await }
    }
}

/// The typed output of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct CmdletReply<T> {
    pub objects: Vec<T>,
    /// Non-terminating ErrorRecords (e.g. one identity not found).
    pub errors: Vec<ErrorRecord>,
    pub warnings: Vec<String>,
}

/// The output of a cmdlet that returns nothing (Set-*, Remove-*, Clear-*). Anything a server
/// sends anyway is accepted and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoOutput;

impl ExchangeObject for NoOutput {
    fn into_object(self) -> PsValue {
        PsValue::Null
    }
    fn take_from(_value: &mut PsValue) -> Result<NoOutput, CmdletError> {
        Ok(NoOutput)
    }
}

async fn invoke_typed<T: ExchangeObject>(
    session: &mut dyn ExchangeSession,
    call: &CmdletCall,
) -> Result<CmdletReply<T>, ExchangeError> {
    let mut output = session.invoke(call).await?;
    let mut objects = Vec::with_capacity(output.objects.len());
    for object in &mut output.objects {
        let typed = T::take_from(object)
            .map_err(|error| ExchangeError::Protocol { detail: format!("{}: {error}", call.cmdlet) })?;
        objects.push(typed);
    }
    // The emptied shells go here, all at once: freeing them one by one between decodes makes
    // glibc's allocator consolidate its free lists over and over.
    drop(output.objects);
    Ok(CmdletReply { objects, errors: output.errors, warnings: output.warnings })
}

/// Whether an ErrorRecord says the identity was not found (Exchange's
/// ManagementObjectNotFoundException): the object is gone, retrying will not find it.
pub fn is_not_found(error: &ErrorRecord) -> bool {
    const NOT_FOUND: &str = "ManagementObjectNotFoundException";
    error.category.contains(NOT_FOUND) || error.fully_qualified_error_id.contains(NOT_FOUND)
}
