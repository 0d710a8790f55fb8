//! The ErrorRecords the simulated organisation returns, worded and categorised as Exchange's
//! (ManagementObjectNotFoundException and friends), with Exchange's FullyQualifiedErrorId shape
//! `[Server=..,RequestId=..,TimeStamp=..] [FailureCategory=Cmdlet-<category>] <hash>,<task>`.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::exchange::{ErrorRecord, ExchangeError};
use crate::sim::exchange::opath::FilterError;

/// Where and when a cmdlet runs, for the error ids.
pub(crate) struct ErrorSite<'a> {
    pub(crate) server: &'a str,
    pub(crate) request_id: uuid::Uuid,
    pub(crate) now: DateTime<Utc>,
    pub(crate) cmdlet: &'a str,
}

impl ErrorSite<'_> {
    fn record(&self, category: &str, message: String, target: Option<&str>) -> ErrorRecord {
        let task = self.cmdlet.replace('-', "");
        // A stable stand-in for the hash Exchange prints before the task name.
        let hash = category
            .bytes()
            .chain(self.cmdlet.bytes())
            .fold(0x811C_9DC5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193));
        ErrorRecord {
            message,
            fully_qualified_error_id: format!(
                "[Server={},RequestId={},TimeStamp={}] [FailureCategory=Cmdlet-{category}] {hash:08X},Microsoft.Exchange.Management.Tasks.{task}",
                self.server,
                self.request_id,
                self.now.to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
            category: category.to_string(),
            target: target.map(str::to_string),
        }
    }

    pub(crate) fn not_found(&self, identity: &str, domain_controller: &str) -> ErrorRecord {
        self.record(
            "ManagementObjectNotFoundException",
            format!("The operation couldn't be performed because object '{identity}' couldn't be found on '{domain_controller}'."),
            Some(identity),
        )
    }

    pub(crate) fn ambiguous(&self, identity: &str) -> ErrorRecord {
        self.record(
            "ManagementObjectAmbiguousException",
            format!("The operation couldn't be performed because '{identity}' matches multiple entries."),
            Some(identity),
        )
    }

    pub(crate) fn already_exists(&self, identity: &str, domain_controller: &str) -> ErrorRecord {
        self.record(
            "ADObjectAlreadyExistsException",
            format!(
                "Active Directory operation failed on {domain_controller}. The object '{identity}' already exists."
            ),
            Some(identity),
        )
    }

    pub(crate) fn too_long(&self, property: &str, maximum: usize, actual: usize) -> ErrorRecord {
        self.record(
            "DataValidationException",
            format!(
                "The length of the property {property} is too long. The maximum length is {maximum} and the length of the value provided is {actual}."
            ),
            None,
        )
    }

    pub(crate) fn invalid_filter(&self, error: &FilterError) -> ErrorRecord {
        self.record("ParameterBindingException", error.message.clone(), None)
    }

    /// A destructive cmdlet run without `-Confirm:$false`: over remoting the prompt fails.
    pub(crate) fn confirmation_required(&self, identity: &str) -> ErrorRecord {
        ErrorRecord {
            message: format!(
                "A command that prompts the user failed because the host program or the command type does not support user interaction. The host was attempting to request confirmation with the following message: Are you sure you want to perform this action? {} \"{identity}\".",
                self.cmdlet
            ),
            fully_qualified_error_id: format!("HostException,{}", self.cmdlet),
            category: "HostException".to_string(),
            target: Some(identity.to_string()),
        }
    }

    pub(crate) fn command_not_found(&self, name: &str) -> ErrorRecord {
        ErrorRecord {
            message: format!(
                "The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
            ),
            fully_qualified_error_id: "CommandNotFoundException".to_string(),
            category: "CommandNotFoundException".to_string(),
            target: Some(name.to_string()),
        }
    }

    /// A terminating error: the pipeline fails with this record.
    pub(crate) fn terminating(&self, error: ErrorRecord) -> ExchangeError {
        ExchangeError::CmdletFailed { cmdlet: self.cmdlet.to_string(), error }
    }
}

/// Exchange's warning when `-ResultSize` was not given and more objects exist.
pub(crate) const DEFAULT_RESULT_SIZE_WARNING: &str = "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of items returned. To return all items, specify \"-ResultSize Unlimited\". Be aware that, depending upon the actual number of items, returning all items can take a long time and consume a large amount of memory. Also, we don't recommend storing the results in a variable. Instead, pipe the results to another task or script to perform batch changes.";

/// Exchange's warning when an explicit `-ResultSize` cut the output.
pub(crate) const EXPLICIT_RESULT_SIZE_WARNING: &str = "There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.";

/// Exchange's warning for a Set-* that changed nothing.
pub(crate) fn nothing_modified(identity: &str) -> String {
    format!("The command completed successfully but no settings of '{identity}' have been modified.")
}
