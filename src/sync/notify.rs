//! Notifications: one mail per episode to the user of a targeted device that is denied
//! (not enrolled, compliance unknown, not compliant), requested as a durable intent, sent
//! through the mailer, retried until sent.

use crate::domain::Event;
use crate::domain::event::{NotificationFailed, NotificationRequested, NotificationSent};
use crate::domain::projection::{DeviceKey, PendingNotification, Projection};
use crate::mail::MailError;
use crate::mail::template::{NotificationDetails, notification_mail};
use crate::sync::engine::{Engine, PhaseError, Run};

/// Notifications sent per sync at most; the rest wait for the next sync.
pub const NOTIFICATIONS_PER_SYNC_MAX: usize = 10_000;
/// Notification outcomes recorded together.
const OUTCOMES_PER_APPEND: usize = 100;

impl Engine {
    pub(crate) async fn notify(&mut self, run: &mut Run) -> Result<(), PhaseError> {
        let due = self.notifications_due();
        if !due.is_empty() {
            self.journal.record(Some(run.run_id), due)?;
            self.journal.commit()?;
        }
        let pending: Vec<PendingNotification> = self
            .journal
            .projection()
            .pending_notifications_oldest_first()
            .into_iter()
            .take(NOTIFICATIONS_PER_SYNC_MAX)
            .cloned()
            .collect();
        if !pending.is_empty() {
            self.strike_if_due().map_err(PhaseError::Engine)?;
        }
        // Outcomes are recorded in groups: a crash in between sends those mails again
        // (at least once), never loses one.
        let mut outcomes = Vec::new();
        for notification in pending {
            outcomes.extend(self.send(run, notification).await);
            if outcomes.len() >= OUTCOMES_PER_APPEND {
                self.journal.record(Some(run.run_id), std::mem::take(&mut outcomes))?;
            }
        }
        self.journal.record(Some(run.run_id), outcomes)?;
        Ok(())
    }

    fn notifications_due(&mut self) -> Vec<Event> {
        let projection = self.journal.projection();
        let pending: std::collections::HashSet<DeviceKey> = projection
            .pending_notifications
            .values()
            .map(|pending| DeviceKey::new(&pending.mailbox, &pending.device_id))
            .collect();
        // The projection keeps the partnerships owed a mail: this follows the change, not the
        // size of the organisation.
        let mut due = Vec::new();
        for (key, device) in projection.owed_devices() {
            if pending.contains(key) {
                continue;
            }
            let to = projection
                .user_for_mailbox(&device.mailbox)
                .map_or_else(|| device.mailbox.to_string(), |user| user.smtp.to_string());
            due.push((device.mailbox.to_string(), device.device_id.to_string(), to));
        }
        due.into_iter()
            .map(|(mailbox, device_id, to)| {
                let notification_id = self.journal.new_id();
                Event::NotificationRequested(NotificationRequested { notification_id, mailbox, device_id, to })
            })
            .collect()
    }

    /// Sends one notification, retrying a busy server with backoff within the sync; returns the
    /// outcome events to record.
    async fn send(&mut self, run: &mut Run, notification: PendingNotification) -> Vec<Event> {
        let mut events = Vec::new();
        let mail = mail_for(self.journal.projection(), &notification, &self.config.enrollment_url);
        for attempt in 1..=self.config.retry.attempts_max {
            let result = self.mailer.send(&mail).await;
            let event = match &result {
                Ok(()) => {
                    run.counts.notifications += 1;
                    Event::NotificationSent(NotificationSent {
                        notification_id: notification.notification_id,
                        mailbox: notification.mailbox.to_string(),
                        device_id: notification.device_id.to_string(),
                        to: notification.to.to_string(),
                    })
                }
                Err(error) => Event::NotificationFailed(NotificationFailed {
                    notification_id: notification.notification_id,
                    mailbox: notification.mailbox.to_string(),
                    device_id: notification.device_id.to_string(),
                    error: error.to_string(),
                    retryable: error.is_retryable(),
                }),
            };
            events.push(event);
            match result {
                Ok(()) => return events,
                Err(MailError::Busy { back_off_ms, .. }) if attempt < self.config.retry.attempts_max => {
                    self.journal.clock().sleep(self.config.retry.delay(attempt, back_off_ms)).await;
                }
                // Unreachable or refused: the next sync tries again; rejected: given up.
                Err(_) => return events,
            }
        }
        events
    }
}

fn mail_for(projection: &Projection, notification: &PendingNotification, enrollment_url: &str) -> crate::mail::Mail {
    let device = projection.device(&notification.mailbox, &notification.device_id);
    let template = projection.policy.as_ref().map(|policy| policy.notification.as_str()).unwrap_or("");
    let text =
        |pick: fn(&crate::domain::projection::DeviceView) -> &str| device.map(pick).unwrap_or_default().to_string();
    let details = NotificationDetails {
        mailbox: notification.mailbox.to_string(),
        device_id: notification.device_id.to_string(),
        device_type: text(|device| &device.device_type),
        device_model: text(|device| &device.device_model),
        device_os: text(|device| &device.device_os),
        enrollment_url: enrollment_url.to_string(),
    };
    notification_mail(&notification.to, template, &details)
}
