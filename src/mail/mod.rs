//! The mail adapter boundary: sends the quarantine notification (EWS `CreateItem` with
//! `SendAndSaveCopy`, or the simulated outbox).

pub mod template;

use async_trait::async_trait;

/// One notification mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub html_body: String,
}

/// Why a mail was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// ErrorServerBusy, a 503, a timeout. **Handling:** back off (at least `back_off_ms`), retry.
    #[error("the mail server is busy: {detail}")]
    Busy { detail: String, back_off_ms: Option<u64> },
    /// The server cannot be reached or Autodiscover failed. **Handling:** retry next sync.
    #[error("the mail server is unreachable: {detail}")]
    Unreachable { detail: String },
    /// 401/403 for the notification account. **Handling:** retry next sync; report in `check`.
    #[error("the mail server refused the notification account: {detail}")]
    Unauthorized { detail: String },
    /// An EWS error response (`ResponseClass="Error"`), e.g. ErrorInvalidRecipients.
    /// **Handling:** record the failure; not retryable.
    #[error("the mail was rejected: {code}: {message}")]
    Rejected { code: String, message: String },
}

impl MailError {
    pub fn is_retryable(&self) -> bool {
        !matches!(self, MailError::Rejected { .. })
    }
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}
