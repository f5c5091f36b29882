//! Outgoing email: the [`Notifier`] port, queued [`Notification`]s and how they read.

use std::fmt::Write as _;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::sla::Target;
use crate::{NotificationId, Priority, Result, TicketId};

/// One rendered email, ready to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Delivers emails (SMTP, console, ... see `helpdesk-mail`).
///
/// An error means "not delivered": the outbox dispatcher retries it later.
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Delivers one email.
    async fn send(&self, email: &Email) -> Result<()>;
}

/// A boxed notifier is a notifier, so one chosen at run time fits where `impl Notifier` is asked.
#[async_trait]
impl<N: Notifier + ?Sized> Notifier for Box<N> {
    async fn send(&self, email: &Email) -> Result<()> {
        (**self).send(email).await
    }
}

crate::model::wire_enum!(
    /// Where a queued notification stands.
    NotificationState, "notification state" {
        /// Waiting for (another) delivery attempt.
        Pending = "pending",
        /// Delivered.
        Sent = "sent",
        /// Gave up after the last attempt; an admin may retry it.
        Failed = "failed",
    }
);

/// How many notifications are in each state, and when the oldest pending one was queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationBacklog {
    /// Waiting for (another) delivery attempt.
    pub pending: u64,
    /// Delivered (until pruned after the retention period).
    pub sent: u64,
    /// Given up on (until pruned, or retried by an admin).
    pub failed: u64,
    /// When the oldest pending notification was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// A queued escalation email, with what it takes to render it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Identifier.
    pub id: NotificationId,
    /// Recipient address.
    pub recipient: String,
    /// The escalated ticket.
    pub ticket_id: TicketId,
    /// Its title.
    pub ticket_title: String,
    /// Its priority.
    pub priority: Priority,
    /// Who raised it (`name_email`).
    pub creator: String,
    /// Who it is assigned to (`name_email`), if anyone.
    pub assignee: Option<String>,
    /// The target whose deadline passed.
    pub target: Target,
    /// The deadline that passed.
    pub due_at: DateTime<Utc>,
    /// When the ticket was escalated.
    pub escalated_at: DateTime<Utc>,
    /// Where delivery stands.
    pub state: NotificationState,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// When the next attempt is due (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was delivered.
    pub sent_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// The email, written so a reader knows what to do without opening the app.
    ///
    /// ```
    /// # use helpdesk_core::{notify::*, sla::Target, NotificationId, TicketId, Priority};
    /// let due: chrono::DateTime<chrono::Utc> = "2026-11-26T13:00:00Z".parse().unwrap();
    /// let n = Notification {
    ///     id: NotificationId(1), recipient: "boss@example.com".into(), ticket_id: TicketId(42),
    ///     ticket_title: "Printer on fire".into(), priority: Priority::High,
    ///     creator: "Ada Lovelace - ada@example.com".into(), assignee: None,
    ///     target: Target::Update, due_at: due, escalated_at: due + chrono::Duration::minutes(75),
    ///     state: NotificationState::Pending, attempts: 0, last_error: None,
    ///     next_attempt_at: due, sent_at: None,
    /// };
    /// let email = n.email();
    /// assert_eq!(email.subject, "[Helpdesk] Ticket #42 escalated (high): Printer on fire");
    /// assert!(email.body.contains("overdue by 1 h 15 min"));
    /// assert!(email.body.contains("Target:      update"));
    /// ```
    pub fn email(&self) -> Email {
        let subject = format!(
            "[Helpdesk] Ticket #{} escalated ({}): {}",
            self.ticket_id, self.priority, self.ticket_title
        );
        let mut body = String::new();
        let _ = writeln!(
            body,
            "Ticket #{} \"{}\" has been escalated.",
            self.ticket_id, self.ticket_title
        );
        let _ = writeln!(body);
        let _ = writeln!(body, "Priority:    {}", self.priority);
        let _ = writeln!(body, "Raised by:   {}", self.creator);
        let _ = writeln!(
            body,
            "Assigned to: {}",
            self.assignee.as_deref().unwrap_or("nobody")
        );
        let _ = writeln!(body, "Target:      {}", self.target);
        let _ = writeln!(
            body,
            "Due at:      {}",
            self.due_at.format("%Y-%m-%d %H:%M UTC")
        );
        let _ = writeln!(
            body,
            "Escalated:   {} (overdue by {})",
            self.escalated_at.format("%Y-%m-%d %H:%M UTC"),
            human_duration(self.escalated_at - self.due_at)
        );
        let _ = writeln!(body);
        let _ = match self.target {
            Target::Update => writeln!(
                body,
                "Nobody acted on this {} priority ticket within its update target.",
                self.priority
            ),
            Target::Resolution => writeln!(
                body,
                "This {} priority ticket was not resolved within its resolution target.",
                self.priority
            ),
        };
        let action = if self.assignee.is_some() {
            "Please follow up with the assignee or reassign it"
        } else {
            "Please assign it to an agent"
        };
        let _ = writeln!(body, "{action}, then move it to in progress or resolved.");
        Email {
            to: self.recipient.clone(),
            subject,
            body,
        }
    }
}

/// "1 h 15 min", "59 s", "2 d 3 h".
fn human_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;
    use chrono::Duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::seconds(59)), "59 s");
        assert_eq!(human_duration(Duration::seconds(61)), "1 min");
        assert_eq!(human_duration(Duration::minutes(60)), "1 h");
        assert_eq!(human_duration(Duration::minutes(75)), "1 h 15 min");
        assert_eq!(human_duration(Duration::hours(51)), "2 d 3 h");
        assert_eq!(human_duration(Duration::hours(48)), "2 d");
        assert_eq!(human_duration(Duration::seconds(-5)), "0 s");
    }
}
