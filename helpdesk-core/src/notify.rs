//! Outgoing email: the [`Notifier`] port, queued [`Notification`]s and how they read.

use std::fmt::Write as _;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::sla::Target;
use crate::{NotificationId, Priority, Result, Ticket, TicketId, UserId};

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

crate::model::wire_enum!(
    /// What a queued notification tells.
    Alert, "alert" {
        /// A target's deadline passed: the ticket escalated.
        Escalation = "escalation",
        /// A target's deadline is near.
        Warning = "warning",
        /// The ticket is still escalated.
        Reminder = "reminder",
    }
);

/// Who is emailed about a service-level alert, when the defaults do not fit: for example "the
/// team lead of the assignee". Plug a rule in with
/// [`HelpdeskBuilder::recipients`](crate::HelpdeskBuilder::recipients).
///
/// The defaults: an escalation goes to the ticket's active creator and every active admin; a
/// warning to the active assignee, or every active admin when there is none; a reminder to
/// every active admin.
///
/// The sweep asks once for each kind of alert it raises, with every ticket it raises it for (as
/// they were before the sweep wrote on them), inside the transaction that records the alerts
/// and queues their emails: keep the rule quick. An error rolls the whole sweep back; the next
/// sweep raises the same alerts again, so nothing is lost.
///
/// ```
/// use helpdesk_core::{Alert, Recipients, Result, Ticket, UserId};
///
/// /// Warnings of tickets assigned to user 7 also go to their lead, user 3.
/// #[derive(Debug)]
/// struct TeamLeads;
///
/// #[async_trait::async_trait]
/// impl Recipients for TeamLeads {
///     async fn recipients(&self, alert: Alert, tickets: &[Ticket]) -> Result<Vec<Option<Vec<UserId>>>> {
///         Ok(tickets
///             .iter()
///             .map(|t| match (alert, t.assigned_to) {
///                 (Alert::Warning, Some(UserId(7))) => Some(vec![UserId(7), UserId(3)]),
///                 _ => None, // the default
///             })
///             .collect())
///     }
/// }
/// ```
#[async_trait]
pub trait Recipients: Send + Sync + std::fmt::Debug + 'static {
    /// For each of `tickets`, in order, the accounts to email about `alert`, or `None` for the
    /// default. Inactive and deleted accounts are left out; a missing answer is the default.
    async fn recipients(
        &self,
        alert: Alert,
        tickets: &[Ticket],
    ) -> Result<Vec<Option<Vec<UserId>>>>;
}

/// A queued email about a ticket's service level, with what it takes to render it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Identifier.
    pub id: NotificationId,
    /// Recipient address.
    pub recipient: String,
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its title.
    pub ticket_title: String,
    /// Its priority.
    pub priority: Priority,
    /// Who raised it (`name_email`).
    pub creator: String,
    /// Who it is assigned to (`name_email`), if anyone.
    pub assignee: Option<String>,
    /// Escalation, warning or reminder.
    pub alert: Alert,
    /// The target it is about.
    pub target: Target,
    /// The deadline it is about (passed, or ahead for a warning).
    pub due_at: DateTime<Utc>,
    /// When the sweep raised it.
    pub raised_at: DateTime<Utc>,
    /// The number of a reminder, from 1.
    pub reminder: Option<u32>,
    /// The IANA time zone the email writes instants in (the policy's calendar's, else UTC).
    pub time_zone: String,
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
    /// The email, written so a reader knows what to do without opening the app. Subjects
    /// start `[Helpdesk] Warning`, `[Helpdesk] Escalated` or `[Helpdesk] Reminder`, so mail
    /// filters can route them.
    ///
    /// ```
    /// # use helpdesk_core::{notify::*, sla::Target, NotificationId, TicketId, Priority};
    /// let due: chrono::DateTime<chrono::Utc> = "2026-11-26T13:00:00Z".parse().unwrap();
    /// let mut n = Notification {
    ///     id: NotificationId(1), recipient: "boss@example.com".into(), ticket_id: TicketId(42),
    ///     ticket_title: "Printer on fire".into(), priority: Priority::High,
    ///     creator: "Ada Lovelace - ada@example.com".into(), assignee: None,
    ///     alert: Alert::Escalation, target: Target::Update, due_at: due,
    ///     raised_at: due + chrono::Duration::minutes(75), reminder: None,
    ///     time_zone: "Europe/Berlin".into(),
    ///     state: NotificationState::Pending, attempts: 0, last_error: None,
    ///     next_attempt_at: due, sent_at: None,
    /// };
    /// let email = n.email();
    /// assert_eq!(email.subject, "[Helpdesk] Escalated: ticket #42 (high, update target): Printer on fire");
    /// assert!(email.body.contains("Deadline:    2026-11-26 14:00 CET"));
    /// assert!(email.body.contains("1 h 15 min late"));
    ///
    /// n.alert = Alert::Warning;
    /// n.raised_at = due - chrono::Duration::minutes(12);
    /// let email = n.email();
    /// assert!(email.subject.starts_with("[Helpdesk] Warning: ticket #42"));
    /// assert!(email.body.contains("12 min left"));
    /// ```
    pub fn email(&self) -> Email {
        let zone: Tz = self.time_zone.parse().unwrap_or(Tz::UTC);
        let local = |at: DateTime<Utc>| at.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z");
        let (label, headline) = match self.alert {
            Alert::Warning => ("Warning", "is close to its deadline"),
            Alert::Escalation => ("Escalated", "has been escalated"),
            Alert::Reminder => ("Reminder", "is still escalated"),
        };
        let subject = format!(
            "[Helpdesk] {label}: ticket #{} ({}, {} target): {}",
            self.ticket_id, self.priority, self.target, self.ticket_title
        );
        let mut body = String::new();
        let _ = writeln!(
            body,
            "Ticket #{} \"{}\" {headline}.",
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
        let _ = writeln!(body, "Deadline:    {}", local(self.due_at));
        let standing = if self.raised_at < self.due_at {
            format!("{} left", human_duration(self.due_at - self.raised_at))
        } else {
            format!("{} late", human_duration(self.raised_at - self.due_at))
        };
        let _ = writeln!(body, "As of:       {} ({standing})", local(self.raised_at));
        if let Some(n) = self.reminder {
            let _ = writeln!(body, "Reminder:    {n}");
        }
        let _ = writeln!(body);
        let _ = match (self.alert, self.target) {
            (Alert::Warning, Target::Update) => writeln!(
                body,
                "Nobody has acted on this {} priority ticket yet; it escalates at its deadline.",
                self.priority
            ),
            (Alert::Warning, Target::Resolution) => writeln!(
                body,
                "This {} priority ticket must be resolved by its deadline or it escalates.",
                self.priority
            ),
            (_, Target::Update) => writeln!(
                body,
                "Nobody acted on this {} priority ticket within its update target.",
                self.priority
            ),
            (_, Target::Resolution) => writeln!(
                body,
                "This {} priority ticket was not resolved within its resolution target.",
                self.priority
            ),
        };
        let action = match (self.alert, self.assignee.is_some()) {
            (Alert::Warning, _) => "Please act on it before then.",
            (_, true) => {
                "Please follow up with the assignee or reassign it, then move it to in progress or resolved."
            }
            (_, false) => "Please assign it to an agent, then move it to in progress or resolved.",
        };
        let _ = writeln!(body, "{action}");
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
