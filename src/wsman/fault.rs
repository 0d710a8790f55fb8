//! SOAP faults from WS-Management and what they mean for the caller: receive again, shell gone,
//! throttled, or a server error.

use crate::exchange::ExchangeError;
use crate::wsman::names::fault_code;

/// A `s:Fault`, with the `f:WSManFault` details Windows adds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WsmanFault {
    /// `WSManFault Code`, e.g. 2150858793.
    pub code: Option<u32>,
    /// `s:Subcode/s:Value`, e.g. `w:TimedOut`.
    pub subcode: Option<String>,
    /// `s:Reason/s:Text`.
    pub reason: String,
    /// `f:Message` (often more specific than the reason).
    pub message: Option<String>,
    /// `Machine` attribute of `f:WSManFault`.
    pub machine: Option<String>,
}

impl WsmanFault {
    /// The most specific text the fault has.
    pub fn text(&self) -> &str {
        self.message.as_deref().filter(|message| !message.trim().is_empty()).unwrap_or(&self.reason).trim()
    }

    /// Whether this is the OperationTimeout fault a long Receive gets: not an error, receive again.
    pub fn is_receive_timeout(&self) -> bool {
        self.code == Some(fault_code::OPERATION_TIMED_OUT)
            || (self.code.is_none() && self.subcode.as_deref().is_some_and(|subcode| subcode.ends_with("TimedOut")))
    }

    /// The ExchangeError this fault stands for.
    pub fn to_exchange_error(&self) -> ExchangeError {
        let text = self.text().to_string();
        let described = match self.code {
            Some(code) => format!("WSManFault {code}: {text}"),
            None => text.clone(),
        };
        if let Some(throttled) = throttling_from_text(&described) {
            return throttled;
        }
        match self.code {
            Some(fault_code::SHELL_NOT_FOUND) => ExchangeError::ShellGone { detail: described },
            Some(fault_code::OPERATION_TIMED_OUT) => ExchangeError::Timeout { detail: described },
            Some(fault_code::MAX_COMMANDS_EXCEEDED) => {
                ExchangeError::Throttled { detail: described, retry_after_ms: None }
            }
            _ if self.subcode.as_deref().is_some_and(|subcode| subcode.ends_with("InvalidSelectors")) => {
                ExchangeError::ShellGone { detail: described }
            }
            _ => ExchangeError::Server { detail: described },
        }
    }
}

/// Exchange's throttling texts, wherever they arrive (a fault or a cmdlet's error):
/// "This user is allowed a maximum number of 18 concurrent shells, which has been exceeded." and
/// "The user load quota of X requests per Y seconds has been exceeded. ... The next request from
/// this user will not be approved for at least Z milliseconds."
pub fn throttling_from_text(text: &str) -> Option<ExchangeError> {
    let lower = text.to_ascii_lowercase();
    let is_shell_quota = lower.contains("maximum number of") && lower.contains("concurrent shells");
    let is_load_quota = lower.contains("user load quota");
    let is_budget = lower.contains("micro delay") || lower.contains("throttling budget");
    if !(is_shell_quota || is_load_quota || is_budget) {
        return None;
    }
    Some(ExchangeError::Throttled { detail: text.to_string(), retry_after_ms: retry_after_ms(&lower) })
}

/// `Z` in "... for at least Z milliseconds".
fn retry_after_ms(lower: &str) -> Option<u64> {
    let after = lower.split("at least").nth(1)?;
    let digits: String = after.trim_start().chars().take_while(char::is_ascii_digit).collect();
    let rest = after.trim_start()[digits.len()..].trim_start();
    if !rest.starts_with("millisecond") {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(code: u32, message: &str) -> WsmanFault {
        WsmanFault { code: Some(code), message: Some(message.to_string()), ..WsmanFault::default() }
    }

    #[test]
    fn faults_map_to_how_the_caller_must_react() {
        assert!(fault(2150858793, "cannot complete the operation").is_receive_timeout());
        assert!(matches!(fault(2150858843, "no such shell").to_exchange_error(), ExchangeError::ShellGone { .. }));
        let quota = "The WS-Management service cannot process the request. This user is allowed a maximum number of 18 concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.";
        assert!(matches!(
            fault(2150859236, quota).to_exchange_error(),
            ExchangeError::Throttled { retry_after_ms: None, .. }
        ));
        let load = "The user load quota of 1000 requests per 60 seconds has been exceeded. Send future requests at a slower rate or raise the quota for this user. The next request from this user will not be approved for at least 3550 milliseconds.";
        assert_eq!(
            fault(1, load).to_exchange_error(),
            ExchangeError::Throttled { detail: format!("WSManFault 1: {load}"), retry_after_ms: Some(3550) }
        );
        assert!(matches!(fault(42, "something new").to_exchange_error(), ExchangeError::Server { .. }));
    }
}
