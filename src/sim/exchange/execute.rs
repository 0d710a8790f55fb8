//! Runs a typed cmdlet against the simulated organisation, the way an Exchange server does:
//! dispatch by cmdlet, identity resolution (not found and ambiguous identities as Exchange's
//! ErrorRecords), `-ResultSize` with Exchange's default of 1000 and its warnings, `-Filter`.

use chrono::{DateTime, Utc};
use rustc_hash::FxHashSet;

use crate::clixml::value::PsValue;
use crate::exchange::cmdlets::{AnyCmdlet, ExchangeObject, ResultSize};
use crate::exchange::{CmdletOutput, ErrorRecord, ExchangeError};
use crate::sim::exchange::error_records::{DEFAULT_RESULT_SIZE_WARNING, EXPLICIT_RESULT_SIZE_WARNING, ErrorSite};
use crate::sim::exchange::opath::{FieldType, Filter};
use crate::sim::exchange::organization::{Lookup, Organization};
use crate::sim::exchange::{execute_configuration, execute_devices, execute_mailboxes};

/// The runspace a cmdlet runs in.
pub(crate) struct Context<'a> {
    pub(crate) now: DateTime<Utc>,
    pub(crate) server: &'a str,
    pub(crate) user: &'a str,
    pub(crate) request_id: uuid::Uuid,
    /// `Set-ADServerSettings -ViewEntireForest`, per runspace.
    pub(crate) view_entire_forest: &'a mut bool,
    /// Cmdlets this account's roles do not grant.
    pub(crate) withheld: &'a FxHashSet<String>,
}

impl Context<'_> {
    pub(crate) fn site(&self, cmdlet: &'static str) -> ErrorSite<'_> {
        ErrorSite { server: self.server, request_id: self.request_id, now: self.now, cmdlet }
    }
}

pub(crate) fn execute(
    organization: &mut Organization,
    cmdlet: &AnyCmdlet,
    context: &mut Context<'_>,
) -> Result<CmdletOutput, ExchangeError> {
    use execute_configuration as configuration;
    use execute_devices as devices;
    use execute_mailboxes as mailboxes;
    match cmdlet {
        AnyCmdlet::GetActiveSyncDevice(cmdlet) => devices::get_activesync_device(organization, cmdlet, context),
        AnyCmdlet::GetActiveSyncDeviceStatistics(cmdlet) => devices::get_statistics(organization, cmdlet, context),
        AnyCmdlet::ClearActiveSyncDevice(cmdlet) => devices::clear_activesync_device(organization, cmdlet, context),
        AnyCmdlet::RemoveActiveSyncDevice(cmdlet) => devices::remove_activesync_device(organization, cmdlet, context),
        AnyCmdlet::GetActiveSyncDeviceClass(cmdlet) => devices::get_device_class(organization, cmdlet, context),
        AnyCmdlet::GetCasMailbox(cmdlet) => mailboxes::get_cas_mailbox(organization, cmdlet, context),
        AnyCmdlet::SetCasMailbox(cmdlet) => mailboxes::set_cas_mailbox(organization, cmdlet, context),
        AnyCmdlet::GetRecipient(cmdlet) => mailboxes::get_recipient(organization, cmdlet, context),
        AnyCmdlet::GetActiveSyncOrganizationSettings(cmdlet) => {
            configuration::get_organization_settings(organization, cmdlet, context)
        }
        AnyCmdlet::SetActiveSyncOrganizationSettings(cmdlet) => {
            configuration::set_organization_settings(organization, cmdlet, context)
        }
        AnyCmdlet::GetActiveSyncDeviceAccessRule(cmdlet) => configuration::get_rules(organization, cmdlet, context),
        AnyCmdlet::NewActiveSyncDeviceAccessRule(cmdlet) => configuration::new_rule(organization, cmdlet, context),
        AnyCmdlet::SetActiveSyncDeviceAccessRule(cmdlet) => configuration::set_rule(organization, cmdlet, context),
        AnyCmdlet::RemoveActiveSyncDeviceAccessRule(cmdlet) => {
            configuration::remove_rule(organization, cmdlet, context)
        }
        AnyCmdlet::GetActiveSyncMailboxPolicy(cmdlet) => configuration::get_policies(organization, cmdlet, context),
        AnyCmdlet::NewActiveSyncMailboxPolicy(cmdlet) => configuration::new_policy(organization, cmdlet, context),
        AnyCmdlet::SetActiveSyncMailboxPolicy(cmdlet) => configuration::set_policy(organization, cmdlet, context),
        AnyCmdlet::RemoveActiveSyncMailboxPolicy(cmdlet) => configuration::remove_policy(organization, cmdlet, context),
        AnyCmdlet::GetExchangeServer(cmdlet) => configuration::get_servers(organization, cmdlet, context),
        AnyCmdlet::SetAdServerSettings(cmdlet) => configuration::set_ad_server_settings(cmdlet, context),
        AnyCmdlet::GetCommand(cmdlet) => configuration::get_command(cmdlet, context),
    }
}

/// Takes at most `-ResultSize` items (1000 when not given, as Exchange does) and adds
/// Exchange's warning when more existed.
pub(crate) fn limited<T>(
    items: impl Iterator<Item = T>,
    result_size: Option<ResultSize>,
    output: &mut CmdletOutput,
) -> Vec<T> {
    let limit = result_size.unwrap_or(ResultSize::EXCHANGE_DEFAULT).limit();
    let Some(limit) = limit else {
        return items.collect();
    };
    let mut taken: Vec<T> = items.take(limit.saturating_add(1)).collect();
    if taken.len() > limit {
        taken.truncate(limit);
        let warning = if result_size.is_some() { EXPLICIT_RESULT_SIZE_WARNING } else { DEFAULT_RESULT_SIZE_WARNING };
        output.warnings.push(warning.to_string());
    }
    taken
}

/// Output objects from typed results.
pub(crate) fn objects<T: ExchangeObject>(results: impl IntoIterator<Item = T>) -> Vec<PsValue> {
    results.into_iter().map(ExchangeObject::into_object).collect()
}

/// A parsed `-Filter`, or the terminating error Exchange gives for a bad one.
pub(crate) fn parse_filter(
    filter: Option<&str>,
    properties: &'static [(&'static str, FieldType)],
    site: &ErrorSite<'_>,
) -> Result<Option<Filter>, ExchangeError> {
    match filter {
        None => Ok(None),
        Some(text) => {
            Filter::parse(text, properties).map(Some).map_err(|error| site.terminating(site.invalid_filter(&error)))
        }
    }
}

/// The mailbox an identity names, if this runspace sees it.
pub(crate) fn resolve_mailbox(
    organization: &Organization,
    identity: &str,
    view_entire_forest: bool,
    site: &ErrorSite<'_>,
) -> Result<usize, ErrorRecord> {
    match organization.lookup_mailbox(identity) {
        Lookup::Found(index) if organization.visible(index, view_entire_forest) => Ok(index),
        Lookup::Ambiguous => Err(site.ambiguous(identity)),
        Lookup::Found(_) | Lookup::NotFound => Err(site.not_found(identity, &organization.domain_controller())),
    }
}

/// The partnership an identity names, if this runspace sees its mailbox.
pub(crate) fn resolve_device(
    organization: &Organization,
    identity: &str,
    view_entire_forest: bool,
    site: &ErrorSite<'_>,
) -> Result<u64, ErrorRecord> {
    let found = organization.lookup_device(identity).filter(|key| {
        organization
            .partnerships
            .get(key)
            .is_some_and(|partnership| organization.visible(partnership.mailbox, view_entire_forest))
    });
    found.ok_or_else(|| site.not_found(identity, &organization.domain_controller()))
}

/// Output with one non-terminating error (a Get-* whose identity was not found).
pub(crate) fn with_error(error: ErrorRecord) -> CmdletOutput {
    CmdletOutput { errors: vec![error], ..CmdletOutput::default() }
}
