//! WS-Management names: namespaces, actions, signal codes, stream names and the fault codes
//! Windows (and Exchange) answer with.

pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
pub const NS_WSMAN_MICROSOFT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
pub const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
pub const NS_TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
pub const NS_POWERSHELL: &str = "http://schemas.microsoft.com/powershell";
pub const NS_WSMAN_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";
pub const ADDRESS_ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

pub const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
pub const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
pub const ACTION_COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
pub const ACTION_SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
pub const ACTION_RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
pub const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
pub const ACTION_FAULT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";

/// The resource URI of Exchange's remote PowerShell endpoint.
pub const EXCHANGE_RESOURCE_URI: &str = "http://schemas.microsoft.com/powershell/Microsoft.Exchange";

/// Stops a running pipeline. The misspelling "crtl" is what PowerShell sends and what its WSMan
/// plugin compares against (`WSManPluginConstants.CtrlCSignal`).
pub const SIGNAL_STOP_PIPELINE: &str = "powershell/signal/crtl_c";
/// Releases a finished command (PowerShell and pypsrp send it after every pipeline).
pub const SIGNAL_TERMINATE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/Terminate";
pub const COMMAND_STATE_DONE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
pub const COMMAND_STATE_RUNNING: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";

/// WSManFault codes.
pub mod fault_code {
    /// ERROR_WSMAN_OPERATION_TIMEDOUT: nothing to return within OperationTimeout; Receive again.
    pub const OPERATION_TIMED_OUT: u32 = 2150858793;
    /// The shell or command does not exist (idle timeout, app-pool recycle, already deleted).
    pub const SHELL_NOT_FOUND: u32 = 2150858843;
    /// The resource URI is not served at this URL (wrong endpoint).
    pub const RESOURCE_NOT_FOUND: u32 = 2150858811;
    /// Too many commands per shell/user.
    pub const MAX_COMMANDS_EXCEEDED: u32 = 2150859174;
    /// A concurrent-shell quota refusal as the easgate simulator reports it. [inferred] Windows
    /// uses its own quota code here; clients must classify quota faults by text, not by code.
    pub const SHELL_QUOTA_EXCEEDED: u32 = 2150859236;
    /// ERROR_WSMAN_PLUGIN_FAILED-style catch-all the simulator uses for backend failures.
    pub const PLUGIN_FAILED: u32 = 2150859046;
}
