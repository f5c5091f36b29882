//! Webhooks: tickets' events posted to other systems, signed, retried and never lost.
//!
//! Every change that records a history event (and a deletion) queues a webhook event for each
//! subscription that wants it, in the transaction that makes the change: a change that rolls
//! back sends nothing, a change that commits is delivered even if the process dies right after.
//! A [`WebhookDispatcher`] delivers the queue in the background: signed per the
//! [Standard Webhooks](https://www.standardwebhooks.com/) specification, with bounded
//! concurrency and a timeout per request, retried with exponential backoff and jitter for up to
//! a day, then `failed` (visible and redeliverable). A `410 Gone` disables the subscription.
//!
//! Subscriptions are URLs (through a [`WebhookTransport`]; `helpdesk-webhooks` has the HTTPS
//! one, with its guard against private addresses, [`TargetPolicy`]) or handlers inside the
//! host process ([`EventHandler`], subscribed with
//! [`Helpdesk::subscribe_in_process`](crate::Helpdesk::subscribe_in_process)), through the same
//! queue.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::input::FieldErrors;
use crate::{DeliveryId, ParseEnumError, WebhookId};

mod dispatch;
mod event;
mod signing;
mod target;

pub use dispatch::{
    EventHandler, Message, RetrySchedule, WebhookDispatcher, WebhookReport, WebhookRequest,
    WebhookTransport,
};
pub use event::Event;
pub use signing::{Secret, sign};
pub use target::{TargetError, TargetPolicy};

/// The URL scheme of subscriptions served by a handler in the host process.
pub const IN_PROCESS: &str = "in-process:";

/// The most subscriptions one helpdesk holds: each one costs a row per event in every write.
pub const MAX_WEBHOOKS: u64 = 100;

/// What happened, as a webhook's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// A ticket was raised.
    TicketCreated,
    /// Title, description or priority changed (`change.fields`).
    TicketUpdated,
    /// The status changed (`change.from`, `change.to`).
    TicketStatusChanged,
    /// The assignee changed (`change.from`, `change.to`: user ids or null).
    TicketAssigned,
    /// A service-level target was breached (`change.from`, `change.target`).
    TicketEscalated,
    /// A target's deadline is near (`change.target`).
    TicketSlaWarning,
    /// The ticket is still escalated (`change.number`).
    TicketEscalationReminder,
    /// An admin deleted the ticket (`ticket` is its last state).
    TicketDeleted,
    /// A comment was added (`comment`, and its `ticket`).
    CommentCreated,
    /// A test event sent on request to one subscription; never subscribed to.
    Ping,
}

impl EventType {
    /// Every type, in declaration order.
    pub const ALL: [EventType; 10] = [
        EventType::TicketCreated,
        EventType::TicketUpdated,
        EventType::TicketStatusChanged,
        EventType::TicketAssigned,
        EventType::TicketEscalated,
        EventType::TicketSlaWarning,
        EventType::TicketEscalationReminder,
        EventType::TicketDeleted,
        EventType::CommentCreated,
        EventType::Ping,
    ];

    /// The event a history entry of this kind stands for (comments have their own, with the
    /// comment).
    pub const fn of_history(kind: crate::HistoryKind) -> Option<Self> {
        use crate::HistoryKind as K;
        match kind {
            K::Created => Some(EventType::TicketCreated),
            K::Edited => Some(EventType::TicketUpdated),
            K::StatusChanged => Some(EventType::TicketStatusChanged),
            K::Assigned => Some(EventType::TicketAssigned),
            K::Escalated => Some(EventType::TicketEscalated),
            K::SlaWarning => Some(EventType::TicketSlaWarning),
            K::EscalationReminder => Some(EventType::TicketEscalationReminder),
            K::Commented => None,
        }
    }

    /// The name on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::TicketCreated => "ticket.created",
            EventType::TicketUpdated => "ticket.updated",
            EventType::TicketStatusChanged => "ticket.status_changed",
            EventType::TicketAssigned => "ticket.assigned",
            EventType::TicketEscalated => "ticket.escalated",
            EventType::TicketSlaWarning => "ticket.sla_warning",
            EventType::TicketEscalationReminder => "ticket.escalation_reminder",
            EventType::TicketDeleted => "ticket.deleted",
            EventType::CommentCreated => "comment.created",
            EventType::Ping => "webhook.ping",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseEnumError {
                kind: "event type",
                value: s.to_owned(),
                expected: "ticket.created ticket.updated ticket.status_changed ticket.assigned \
                           ticket.escalated ticket.sla_warning ticket.escalation_reminder \
                           ticket.deleted comment.created",
            })
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Which events a subscription receives: `["*"]` for all, or a list of types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    /// Every event (`"*"`), including types added later.
    All,
    /// These types only.
    Only(BTreeSet<EventType>),
}

impl EventFilter {
    /// Validates a subscription's list: not empty, known types or `"*"` alone.
    ///
    /// ```
    /// # use helpdesk_core::webhooks::{EventFilter, EventType};
    /// let f = EventFilter::parse(&["ticket.created", "comment.created"]).unwrap();
    /// assert!(f.wants(EventType::CommentCreated));
    /// assert!(!f.wants(EventType::TicketDeleted));
    /// assert_eq!(EventFilter::parse(&["*"]).unwrap(), EventFilter::All);
    /// assert!(EventFilter::parse(&["ticket.eaten"]).is_err());
    /// ```
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        if names.is_empty() {
            return Err("list at least one event type, or \"*\" for all".into());
        }
        if names.iter().any(|n| n.as_ref() == "*") {
            return if names.len() == 1 {
                Ok(EventFilter::All)
            } else {
                Err("\"*\" already means every event; list it alone".into())
            };
        }
        let mut types = BTreeSet::new();
        for name in names {
            match name.as_ref().parse::<EventType>() {
                Ok(EventType::Ping) | Err(_) => {
                    return Err(format!(
                        "unknown event type {:?}; expected \"*\" or some of: {}",
                        name.as_ref(),
                        EventType::ALL[..9]
                            .iter()
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                Ok(t) => {
                    types.insert(t);
                }
            }
        }
        Ok(EventFilter::Only(types))
    }

    /// Whether an event of type `t` goes to the subscription (pings always do).
    pub fn wants(&self, t: EventType) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Only(types) => t == EventType::Ping || types.contains(&t),
        }
    }

    /// The list as stored and shown.
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            EventFilter::All => vec!["*"],
            EventFilter::Only(types) => types.iter().map(|t| t.as_str()).collect(),
        }
    }
}

impl Serialize for EventFilter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(s)
    }
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Identifier.
    pub id: WebhookId,
    /// Where events are posted; `in-process:NAME` for a handler in the host process.
    pub url: String,
    /// What the subscription is for.
    pub description: String,
    /// Which events it receives.
    pub events: EventFilter,
    /// Inactive subscriptions receive nothing; their pending deliveries wait.
    pub active: bool,
    /// Why the helpdesk switched it off (a `410 Gone`), if it did.
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A subscription about to be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// An `https` (or, where the operator allows it, `http`) URL without credentials.
    pub url: url::Url,
    /// Which events it receives.
    pub events: EventFilter,
    /// Up to 500 characters.
    pub description: String,
}

impl NewWebhook {
    /// Validates a subscription's fields (whether the URL's host may be reached is checked
    /// against the [`TargetPolicy`] when it is created).
    ///
    /// ```
    /// # use helpdesk_core::webhooks::NewWebhook;
    /// assert!(NewWebhook::new("https://hooks.example.com/helpdesk", &["*"], "CRM").is_ok());
    /// assert!(NewWebhook::new("ftp://example.com", &["*"], "").is_err());
    /// assert!(NewWebhook::new("https://user:pw@example.com", &["*"], "").is_err());
    /// ```
    pub fn new<S: AsRef<str>>(
        url: &str,
        events: &[S],
        description: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let url = errors.check("url", parse_url(url));
        let events = errors.check("events", EventFilter::parse(events));
        let description = errors.check("description", self::description(description));
        match (url, events, description) {
            (Some(url), Some(events), Some(description)) => Ok(Self {
                url,
                events,
                description,
            }),
            _ => Err(errors),
        }
    }
}

/// A partial update of a subscription; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    /// New URL.
    pub url: Option<url::Url>,
    /// New list of events.
    pub events: Option<EventFilter>,
    /// New description.
    pub description: Option<String>,
    /// Switches the subscription on (clearing why it was disabled) or off.
    pub active: Option<bool>,
}

impl WebhookPatch {
    /// Validates a patch.
    pub fn new<S: AsRef<str>>(
        url: Option<&str>,
        events: Option<&[S]>,
        description: Option<&str>,
        active: Option<bool>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let url = url.and_then(|u| errors.check("url", parse_url(u)));
        let events = events.and_then(|e| errors.check("events", EventFilter::parse(e)));
        let description =
            description.and_then(|d| errors.check("description", self::description(d)));
        if errors.is_empty() {
            Ok(Self {
                url,
                events,
                description,
                active,
            })
        } else {
            Err(errors)
        }
    }
}

fn parse_url(raw: &str) -> Result<url::Url, String> {
    if raw.len() > 2000 {
        return Err("at most 2,000 characters".into());
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("use an https:// URL".into());
    }
    if url.host().is_none() {
        return Err("the URL names no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "credentials in the URL are not supported; verify the signature instead".into(),
        );
    }
    if url.fragment().is_some() {
        return Err("a URL with a #fragment is not supported".into());
    }
    Ok(url)
}

fn description(raw: &str) -> Result<String, String> {
    let d = raw.trim();
    if d.chars().count() > 500 {
        return Err("at most 500 characters".into());
    }
    Ok(d.to_owned())
}

crate::model::wire_enum!(
    /// Where one delivery stands.
    DeliveryState, "delivery state" {
        /// Waiting for (another) attempt.
        Pending = "pending",
        /// The receiver answered 2xx.
        Sent = "sent",
        /// Given up: a day of failures, a `410 Gone`, or the subscription was deleted.
        Failed = "failed",
    }
);

/// One event's delivery to one subscription, as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Identifier (for redelivery).
    pub id: DeliveryId,
    /// The subscription.
    pub webhook_id: WebhookId,
    /// The `webhook-id` header: the same for every attempt and every redelivery.
    pub event_id: String,
    /// The event's type.
    pub event_type: EventType,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// The HTTP status of the last attempt, if the receiver answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the event was queued (or redelivery asked for).
    pub created_at: DateTime<Utc>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A claimed delivery, with what the dispatcher needs to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingDelivery {
    /// The delivery.
    pub id: DeliveryId,
    /// The subscription.
    pub webhook_id: WebhookId,
    /// Its URL.
    pub url: String,
    /// Its signing secrets: the current one, and the one before for a day after a rotation.
    pub secrets: Vec<String>,
    /// The `webhook-id`.
    pub event_id: String,
    /// The event's type.
    pub event_type: EventType,
    /// The body.
    pub payload: String,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// When it was queued: retries stop a day (see [`RetrySchedule`]) after.
    pub created_at: DateTime<Utc>,
}

/// How a delivery attempt ended, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The new state.
    pub state: DeliveryState,
    /// The next attempt, if it stays pending.
    pub retry_at: Option<DateTime<Utc>>,
    /// The answer's HTTP status, if any.
    pub status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When the attempt ended.
    pub at: DateTime<Utc>,
}
