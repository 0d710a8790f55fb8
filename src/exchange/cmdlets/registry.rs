//! The dispatch registry: every cmdlet easgate needs, by name. A server (the simulated
//! organisation, or a PSRP server in front of it) turns each incoming `CmdletCall` into the
//! typed cmdlet with `parse`; `CMDLET_NAMES` is the list `easgate check` confirms with Get-Command.

use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::*;

macro_rules! registry {
    ($($variant:ident),* $(,)?) => {
        /// Any cmdlet easgate knows, typed.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum AnyCmdlet {
            $($variant($variant)),*
        }

        /// The cmdlets the service account must be able to run (reference/exchange.md 2.1).
        pub const CMDLET_NAMES: &[&str] = &[$($variant::NAME),*];

        /// The typed cmdlet a call names (case-insensitively, as PowerShell resolves names).
        /// An unknown name is PowerShell's CommandNotFoundException; bad parameters are the
        /// binder's errors.
        pub fn parse(call: &CmdletCall) -> Result<AnyCmdlet, CmdletError> {
            $(
                if call.cmdlet.eq_ignore_ascii_case($variant::NAME) {
                    return $variant::from_call(call).map(AnyCmdlet::$variant);
                }
            )*
            Err(CmdletError::UnknownCmdlet { cmdlet: call.cmdlet.clone() })
        }

        impl AnyCmdlet {
            /// The cmdlet's name as Exchange spells it.
            pub fn name(&self) -> &'static str {
                match self {
                    $(AnyCmdlet::$variant(_) => $variant::NAME),*
                }
            }

            /// The call as a client binds it.
            pub fn into_call(&self) -> CmdletCall {
                match self {
                    $(AnyCmdlet::$variant(cmdlet) => cmdlet.into_call()),*
                }
            }
        }
    };
}

registry! {
    GetActiveSyncOrganizationSettings,
    SetActiveSyncOrganizationSettings,
    GetCasMailbox,
    SetCasMailbox,
    GetActiveSyncMailboxPolicy,
    SetActiveSyncMailboxPolicy,
    NewActiveSyncMailboxPolicy,
    RemoveActiveSyncMailboxPolicy,
    GetActiveSyncDeviceAccessRule,
    SetActiveSyncDeviceAccessRule,
    NewActiveSyncDeviceAccessRule,
    RemoveActiveSyncDeviceAccessRule,
    GetActiveSyncDeviceStatistics,
    GetActiveSyncDevice,
    GetExchangeServer,
    GetActiveSyncDeviceClass,
    GetRecipient,
    ClearActiveSyncDevice,
    RemoveActiveSyncDevice,
    SetAdServerSettings,
    GetCommand,
}

/// The canonical spelling of a known cmdlet name, whatever its case.
pub fn canonical_name(name: &str) -> Option<&'static str> {
    CMDLET_NAMES.iter().copied().find(|known| known.eq_ignore_ascii_case(name))
}
