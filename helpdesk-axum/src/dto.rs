//! What goes over the wire: request and response bodies with their OpenAPI schemas.
#![allow(missing_docs)] // the fields are the wire contract, documented in the OpenAPI document and docs/api.md

use chrono::{DateTime, Utc};
use helpdesk_core::business_hours::CalendarSpec;
use helpdesk_core::sla::{SlaPolicySpec, Target, TargetsSpec};
use helpdesk_core::store::StoredPolicy;
use helpdesk_core::webhooks::{Delivery, DeliveryState, Webhook};
use helpdesk_core::{
    Alert, HistoryEvent, HistoryKind, Notification, NotificationState, Priority, Report, Role,
    Status, User,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub use helpdesk_core::wire::{BreachOut, CommentOut, SlaOut, TicketOut};

/// An account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 7, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
    "role": "user", "name_email": "Ada Lovelace - ada@example.com", "is_active": true,
    "created_at": "2026-11-26T09:00:00Z", "updated_at": "2026-11-26T09:00:00Z"
}))]
pub struct UserOut {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    /// `"FirstName LastName - email"`.
    pub name_email: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            name_email: u.name_email(),
            id: u.id.0,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            role: u.role,
            is_active: u.is_active,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// The service-level policy: what `GET /sla` answers and `PUT /sla` takes. `version` (also the
/// `ETag`) and `updated_at` are read-only: a document read, edited and put back is accepted, and
/// they are ignored (`If-Match` is the precondition). Any other unknown field is refused.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "business_hours": {"time_zone": "Europe/Berlin",
        "week": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:30"], ["13:30", "17:00"]],
                 "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]},
        "holidays": ["2026-12-24", "2026-12-25"]},
    "targets": {
        "high": {"update_seconds": 3600, "resolve_seconds": 28800, "hours": "always"},
        "medium": {"update_seconds": 14400, "resolve_seconds": null, "hours": "business"},
        "low": {"update_seconds": 86400, "resolve_seconds": null, "hours": "business"}},
    "warn_at_percent": 80, "remind_every_seconds": null, "max_reminders": 0,
    "version": 2, "updated_at": "2026-11-27T09:00:00Z"
}))]
pub struct SlaPolicyDoc {
    /// The calendar of `hours: business` targets; null: every target counts always.
    #[serde(default)]
    pub business_hours: Option<CalendarSpec>,
    pub targets: TargetsSpec,
    /// Warn when a target's counted time reaches this share of it; null: never.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 99)]
    pub warn_at_percent: Option<u8>,
    /// While a ticket stays escalated, remind every this many counted seconds; null: never.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 31622400)]
    pub remind_every_seconds: Option<u64>,
    /// At most this many reminders per escalation.
    #[serde(default)]
    #[schema(maximum = 100)]
    pub max_reminders: u32,
    /// Grows by one on every replacement.
    #[serde(default)]
    #[schema(read_only)]
    pub version: Option<i64>,
    /// When the policy was stored.
    #[serde(default)]
    #[schema(read_only)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<StoredPolicy> for SlaPolicyDoc {
    fn from(p: StoredPolicy) -> Self {
        let SlaPolicySpec {
            business_hours,
            targets,
            warn_at_percent,
            remind_every_seconds,
            max_reminders,
        } = p.spec;
        Self {
            business_hours,
            targets,
            warn_at_percent,
            remind_every_seconds,
            max_reminders,
            version: Some(p.version),
            updated_at: Some(p.updated_at),
        }
    }
}

impl From<SlaPolicyDoc> for SlaPolicySpec {
    fn from(d: SlaPolicyDoc) -> Self {
        Self {
            business_hours: d.business_hours,
            targets: d.targets,
            warn_at_percent: d.warn_at_percent,
            remind_every_seconds: d.remind_every_seconds,
            max_reminders: d.max_reminders,
        }
    }
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": 11, "ticket_id": 42, "actor_id": 9, "kind": "status_changed", "from": "open", "to": "in_progress", "at": "2026-11-26T09:15:00Z"}))]
pub struct EventOut {
    pub id: i64,
    pub ticket_id: i64,
    /// Null for the system (the escalation engine).
    pub actor_id: Option<i64>,
    pub kind: HistoryKind,
    pub from: Option<String>,
    pub to: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<HistoryEvent> for EventOut {
    fn from(e: HistoryEvent) -> Self {
        Self {
            id: e.id.0,
            ticket_id: e.ticket_id.0,
            actor_id: e.actor_id.map(|a| a.0),
            kind: e.kind,
            from: e.from,
            to: e.to,
            at: e.at,
        }
    }
}

/// A queued service-level email: an escalation, a warning or a reminder.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": 5, "recipient": "boss@example.com", "ticket_id": 42, "alert": "escalation", "target": "update", "due_at": "2026-11-26T10:00:00Z", "state": "failed", "attempts": 10, "last_error": "Connection refused (os error 111)", "next_attempt_at": "2026-11-26T11:00:00Z", "sent_at": null}))]
pub struct NotificationOut {
    pub id: i64,
    pub recipient: String,
    pub ticket_id: i64,
    /// What it tells.
    pub alert: Alert,
    /// The target it is about.
    pub target: Target,
    /// The deadline it is about (passed, or ahead for a warning).
    pub due_at: DateTime<Utc>,
    pub state: NotificationState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Notification> for NotificationOut {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id.0,
            recipient: n.recipient,
            ticket_id: n.ticket_id.0,
            alert: n.alert,
            target: n.target,
            due_at: n.due_at,
            state: n.state,
            attempts: n.attempts,
            last_error: n.last_error,
            next_attempt_at: n.next_attempt_at,
            sent_at: n.sent_at,
        }
    }
}

/// A page of results, as Django REST framework's page-number pagination shapes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Paginated<T> {
    /// How many results match in all.
    pub count: u64,
    /// The URL of the next page, or null.
    pub next: Option<String>,
    /// The URL of the previous page, or null.
    pub previous: Option<String>,
    /// This page.
    pub results: Vec<T>,
}

/// Tickets opened, resolved and escalated in the last 7 days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"opened": 12, "resolved": 8, "escalated": 3}))]
pub struct ReportOut {
    pub opened: u64,
    pub resolved: u64,
    pub escalated: u64,
}

impl From<Report> for ReportOut {
    fn from(r: Report) -> Self {
        Self {
            opened: r.opened,
            resolved: r.resolved,
            escalated: r.escalated,
        }
    }
}

/// What an escalation sweep did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"escalated": [42, 43], "warned": [51], "reminded": [], "notifications_queued": 5}))]
pub struct EscalationOut {
    /// The tickets escalated.
    pub escalated: Vec<i64>,
    /// The tickets warned of a deadline ahead.
    pub warned: Vec<i64>,
    /// The tickets reminded of, still escalated.
    pub reminded: Vec<i64>,
    /// Emails queued: escalations, warnings and reminders.
    pub notifications_queued: u64,
}

/// Health of the service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthOut {
    pub status: String,
}

/// A new session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "token": "3f1c0a4e9b7d2c5a8e6f1b3d5c7a9e0f2b4d6c8a0e1f3b5d7c9a1e3f5b7d9c0a",
    "expires_at": "2026-12-10T09:00:00Z",
    "user": {"id": 7, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
             "role": "user", "name_email": "Ada Lovelace - ada@example.com", "is_active": true,
             "created_at": "2026-11-26T09:00:00Z", "updated_at": "2026-11-26T09:00:00Z"}
}))]
pub struct LoginOut {
    /// Send it as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserOut,
}

/// Sign-up.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery", "first_name": "Ada", "last_name": "Lovelace"}))]
pub struct RegisterIn {
    #[schema(required = true, format = Email, max_length = 254)]
    pub email: String,
    /// 8 to 256 characters.
    #[schema(required = true, min_length = 8, max_length = 256)]
    pub password: String,
    #[schema(max_length = 150, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: String,
    #[schema(max_length = 150, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: String,
}

/// Sign-in.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"email": "ada@example.com", "password": "correct horse battery"}))]
pub struct LoginIn {
    #[schema(required = true, format = Email)]
    pub email: String,
    #[schema(required = true, min_length = 1)]
    pub password: String,
}

/// A change of one's own profile; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"first_name": "Augusta", "email": "augusta@example.com"}))]
pub struct ProfilePatchIn {
    #[schema(max_length = 150, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: Option<String>,
    #[schema(max_length = 150, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
}

/// A password change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"current_password": "correct horse battery", "new_password": "a much longer passphrase"}))]
pub struct PasswordIn {
    #[schema(required = true, min_length = 1)]
    pub current_password: String,
    #[schema(required = true, min_length = 8, max_length = 256)]
    pub new_password: String,
}

/// An account created by an admin.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"email": "grace@example.com", "password": "correct horse battery", "first_name": "Grace", "last_name": "Hopper", "role": "agent"}))]
pub struct UserCreateIn {
    #[schema(required = true, format = Email, max_length = 254)]
    pub email: String,
    #[schema(required = true, min_length = 8, max_length = 256)]
    pub password: String,
    #[schema(max_length = 150, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: String,
    #[schema(max_length = 150, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: String,
    /// Defaults to `user`.
    pub role: Option<Role>,
}

/// An admin's change of an account; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"role": "agent", "is_active": true}))]
pub struct UserPatchIn {
    #[schema(max_length = 150, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: Option<String>,
    #[schema(max_length = 150, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    pub role: Option<Role>,
    /// `false` deactivates the account and ends its sessions.
    pub is_active: Option<bool>,
}

/// A new ticket.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"title": "Printer on fire", "description": "Smoke is coming out of the 3rd floor printer.", "priority": "high"}))]
pub struct TicketCreateIn {
    /// 1 to 200 characters.
    #[schema(
        required = true,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    /// Up to 20,000 characters.
    #[schema(
        max_length = 20000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
    /// Defaults to `medium`.
    pub priority: Option<Priority>,
}

/// A change of a ticket; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "in_progress"}))]
pub struct TicketPatchIn {
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: Option<String>,
    #[schema(
        max_length = 20000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub description: Option<String>,
    pub priority: Option<Priority>,
    /// Checked against the transition table; `in-progress` is accepted too.
    pub status: Option<Status>,
}

/// An assignment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"agent_id": 9}))]
pub struct AssignIn {
    /// The id of an active agent or admin, or null to unassign. Required.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, required = true)]
    pub agent_id: Option<Option<i64>>,
}

/// Distinguishes `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(deserializer).map(Some)
}

/// A new comment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"body": "Unplugged it; a new fuser is on order."}))]
pub struct CommentIn {
    /// 1 to 20,000 characters.
    #[schema(
        required = true,
        max_length = 20000,
        pattern = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
    )]
    pub body: String,
}

/// A webhook subscription.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "url": "https://hooks.example.com/helpdesk", "description": "CRM sync",
    "events": ["ticket.created", "comment.created"], "active": true, "disabled_reason": null,
    "created_at": "2026-11-27T09:00:00Z", "updated_at": "2026-11-27T09:00:00Z"
}))]
pub struct WebhookOut {
    pub id: i64,
    /// Where events are posted; `in-process:NAME` for a handler inside the host application.
    pub url: String,
    pub description: String,
    /// Event types, or `["*"]` for all.
    pub events: Vec<String>,
    /// Inactive subscriptions receive nothing; their pending deliveries wait.
    pub active: bool,
    /// Why the helpdesk switched the subscription off (the receiver answered `410 Gone`).
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.0,
            events: w.events.names().into_iter().map(String::from).collect(),
            url: w.url,
            description: w.description,
            active: w.active,
            disabled_reason: w.disabled_reason,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A new subscription with its signing secret, shown only in this answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "webhook": {"id": 3, "url": "https://hooks.example.com/helpdesk", "description": "CRM sync",
        "events": ["*"], "active": true, "disabled_reason": null,
        "created_at": "2026-11-27T09:00:00Z", "updated_at": "2026-11-27T09:00:00Z"},
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
}))]
pub struct WebhookCreatedOut {
    pub webhook: WebhookOut,
    /// The Standard Webhooks signing secret.
    pub secret: String,
}

/// A subscription's new signing secret; the previous one keeps signing beside it for 24 hours.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))]
pub struct SecretOut {
    pub secret: String,
}

/// A new subscription.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"url": "https://hooks.example.com/helpdesk", "events": ["ticket.created", "comment.created"], "description": "CRM sync"}))]
pub struct WebhookIn {
    /// `https://` (plain `http` and private addresses only where the operator allows them).
    #[schema(max_length = 2000)]
    pub url: String,
    /// Event types (`ticket.created`, `ticket.updated`, `ticket.status_changed`,
    /// `ticket.assigned`, `ticket.escalated`, `ticket.sla_warning`,
    /// `ticket.escalation_reminder`, `ticket.deleted`, `comment.created`), or `["*"]`.
    pub events: Vec<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// A change of a subscription; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"active": true}))]
pub struct WebhookPatchIn {
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `true` switches a disabled subscription back on.
    pub active: Option<bool>,
}

/// One event's delivery to one subscription.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": 17, "webhook_id": 3, "event_id": "msg_412", "event_type": "ticket.created",
    "state": "pending", "attempts": 3, "last_status": 500,
    "last_error": "the receiver answered 500", "next_attempt_at": "2026-11-27T09:01:10Z",
    "created_at": "2026-11-27T09:00:00Z", "delivered_at": null
}))]
pub struct DeliveryOut {
    pub id: i64,
    pub webhook_id: i64,
    /// The `webhook-id` header: the same on every attempt and redelivery.
    pub event_id: String,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// The HTTP status of the last attempt, if the receiver answered.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.0,
            webhook_id: d.webhook_id.0,
            event_id: d.event_id,
            event_type: d.event_type.to_string(),
            state: d.state,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}
