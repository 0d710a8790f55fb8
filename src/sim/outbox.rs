//! The simulated outbox: a `Mailer` that keeps every delivered mail in order, for `easgate
//! demo` and the scenario step `expect_mail`, with injectable faults for the next N sends.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::mail::{Mail, MailError, Mailer};
use crate::sim::error::SimError;
use crate::sim::fault::{FaultKind, FaultQueue};

/// How long a throttled sender is asked to wait.
const BUSY_BACK_OFF_MS: u64 = 1_000;

/// A simulated mail server's outbox. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct SimOutbox {
    shared: Arc<Mutex<OutboxState>>,
}

#[derive(Debug, Default)]
struct OutboxState {
    delivered: Vec<Mail>,
    faults: FaultQueue,
    attempts: u64,
}

impl SimOutbox {
    pub fn new() -> SimOutbox {
        SimOutbox::default()
    }

    fn lock(&self) -> MutexGuard<'_, OutboxState> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Scenario step `fault` with target mail: the next `count` sends fail as `kind`
    /// (throttle: ErrorServerBusy with a back-off; timeout: no answer, nothing delivered;
    /// error: the server cannot be reached).
    pub fn inject_fault(&self, kind: FaultKind, count: u32) -> Result<(), SimError> {
        if self.lock().faults.inject(kind, count) {
            return Ok(());
        }
        Err(SimError::InvalidInput { detail: "too many fault injections pending".to_string() })
    }

    /// Every delivered mail, in order.
    pub fn delivered(&self) -> Vec<Mail> {
        self.lock().delivered.clone()
    }

    /// Mails delivered to an address (compared case-insensitively).
    pub fn count_to(&self, to: &str) -> usize {
        self.lock().delivered.iter().filter(|mail| mail.to.eq_ignore_ascii_case(to)).count()
    }

    /// Mails delivered to an address whose subject or body contains `text` (scenario
    /// `expect_mail` with `contains`).
    pub fn count_to_containing(&self, to: &str, text: &str) -> usize {
        self.lock()
            .delivered
            .iter()
            .filter(|mail| mail.to.eq_ignore_ascii_case(to))
            .filter(|mail| mail.subject.contains(text) || mail.html_body.contains(text))
            .count()
    }

    /// Sends tried, failed ones included.
    pub fn attempts(&self) -> u64 {
        self.lock().attempts
    }
}

#[async_trait]
impl Mailer for SimOutbox {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let mut state = self.lock();
        state.attempts += 1;
        match state.faults.take() {
            Some(FaultKind::Throttle) => {
                return Err(MailError::Busy {
                    detail: "ErrorServerBusy: The server cannot service this request right now. Try again later."
                        .to_string(),
                    back_off_ms: Some(BUSY_BACK_OFF_MS),
                });
            }
            Some(FaultKind::Timeout) => {
                return Err(MailError::Busy { detail: "the request timed out".to_string(), back_off_ms: None });
            }
            Some(FaultKind::Error) => {
                return Err(MailError::Unreachable { detail: "the EWS endpoint returned HTTP 503".to_string() });
            }
            None => {}
        }
        if !is_plausible_address(&mail.to) {
            return Err(MailError::Rejected {
                code: "ErrorInvalidRecipients".to_string(),
                message: format!("At least one recipient isn't valid: {:?}", mail.to),
            });
        }
        state.delivered.push(mail.clone());
        Ok(())
    }
}

fn is_plausible_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !address.contains(char::is_whitespace),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str, body: &str) -> Mail {
        Mail { to: to.to_string(), subject: "Enrol your device".to_string(), html_body: body.to_string() }
    }

    #[tokio::test]
    async fn given_two_faults_when_sending_then_only_the_third_mail_is_delivered() {
        let outbox = SimOutbox::new();
        outbox.inject_fault(FaultKind::Throttle, 1).expect("room for faults");
        outbox.inject_fault(FaultKind::Error, 1).expect("room for faults");
        let first = outbox.send(&mail("alice@contoso.com", "one")).await;
        assert!(matches!(first, Err(MailError::Busy { back_off_ms: Some(_), .. })), "{first:?}");
        let second = outbox.send(&mail("alice@contoso.com", "two")).await;
        assert!(matches!(second, Err(MailError::Unreachable { .. })), "{second:?}");
        outbox.send(&mail("Alice@Contoso.com", "three <a href=\"https://portal\">enrol</a>")).await.expect("delivered");
        assert_eq!(outbox.count_to("alice@contoso.com"), 1);
        assert_eq!(outbox.count_to_containing("alice@contoso.com", "https://portal"), 1);
        assert_eq!(outbox.count_to_containing("alice@contoso.com", "one"), 0);
        assert_eq!(outbox.attempts(), 3);
    }

    #[tokio::test]
    async fn a_timeout_delivers_nothing_and_a_bad_address_is_rejected_for_good() {
        let outbox = SimOutbox::new();
        outbox.inject_fault(FaultKind::Timeout, 1).expect("room for faults");
        assert!(outbox.send(&mail("bob@contoso.com", "x")).await.is_err());
        let rejected = outbox.send(&mail("not an address", "x")).await;
        assert!(matches!(&rejected, Err(error) if !error.is_retryable()), "{rejected:?}");
        assert!(outbox.delivered().is_empty());
    }
}
