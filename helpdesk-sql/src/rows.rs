//! Rows as the databases return them, and their conversion into the domain model. Time
//! columns have the dialect's stored type `T`.

use helpdesk_core::store::PauseRecord;
use helpdesk_core::store::StoreResult;
use helpdesk_core::{
    Breach, Comment, CommentId, EventId, HistoryEvent, Notification, NotificationId, Sla, Ticket,
    TicketId, User, UserId,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::FromRow;

use crate::Dialect;
use crate::error::{corrupt, parse_stored, priority};

fn opt_time<D: Dialect>(
    stored: Option<D::Time>,
) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
    stored.map(D::decode_time).transpose()
}

macro_rules! user_columns {
    () => {
        "id, email, first_name, last_name, role, is_active, created_at, updated_at, deleted_at"
    };
}
pub(crate) use user_columns;

#[derive(FromRow)]
pub(crate) struct UserRow<T> {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    is_active: bool,
    created_at: T,
    updated_at: T,
    deleted_at: Option<T>,
}

impl<T> UserRow<T> {
    pub(crate) fn into_user<D: Dialect<Time = T>>(self) -> StoreResult<User> {
        Ok(User {
            id: UserId(self.id),
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            role: parse_stored(&self.role)?,
            is_active: self.is_active,
            created_at: D::decode_time(self.created_at)?,
            updated_at: D::decode_time(self.updated_at)?,
            deleted_at: opt_time::<D>(self.deleted_at)?,
        })
    }
}

macro_rules! ticket_columns {
    () => {
        "id, title, description, priority, status, created_by, assigned_to, created_at, \
         updated_at, resolved_at, escalated_at, due_at, clock_started_at, version, \
         update_due_at, resolve_due_at, update_breach_due, update_breached_at, \
         resolve_breach_due, resolve_breached_at, waiting_since, paused_seconds, sla_version, \
         update_warn_at, resolve_warn_at, update_warned_due, resolve_warned_due, \
         first_response_at, first_response_seconds"
    };
}
pub(crate) use ticket_columns;

/// A row of a list page with the count of the whole list beside it.
#[derive(FromRow)]
pub(crate) struct Counted<Item> {
    pub(crate) total: i64,
    #[sqlx(flatten)]
    pub(crate) row: Item,
}

/// A ticket as stored: a row, or the JSON array of its columns in a list page
/// ([`Dialect::rows_as_json`](crate::Dialect::rows_as_json)).
#[derive(FromRow, Deserialize)]
pub(crate) struct TicketRow<T> {
    id: i64,
    title: String,
    description: String,
    priority: i16,
    status: String,
    created_by: i64,
    assigned_to: Option<i64>,
    created_at: T,
    updated_at: T,
    resolved_at: Option<T>,
    escalated_at: Option<T>,
    due_at: Option<T>,
    clock_started_at: T,
    version: i64,
    update_due_at: Option<T>,
    resolve_due_at: Option<T>,
    update_breach_due: Option<T>,
    update_breached_at: Option<T>,
    resolve_breach_due: Option<T>,
    resolve_breached_at: Option<T>,
    waiting_since: Option<T>,
    paused_seconds: i64,
    sla_version: i64,
    update_warn_at: Option<T>,
    resolve_warn_at: Option<T>,
    update_warned_due: Option<T>,
    resolve_warned_due: Option<T>,
    first_response_at: Option<T>,
    first_response_seconds: Option<i64>,
}

/// A breach from its two columns; both or neither are set.
fn breach<D: Dialect>(due_at: Option<D::Time>, at: Option<D::Time>) -> StoreResult<Option<Breach>> {
    Ok(match (opt_time::<D>(due_at)?, opt_time::<D>(at)?) {
        (Some(due_at), Some(at)) => Some(Breach { due_at, at }),
        _ => None,
    })
}

impl<T> TicketRow<T> {
    pub(crate) fn into_ticket<D: Dialect<Time = T>>(self) -> StoreResult<Ticket> {
        Ok(Ticket {
            id: TicketId(self.id),
            title: self.title,
            description: self.description,
            priority: priority(self.priority)?,
            status: parse_stored(&self.status)?,
            created_by: UserId(self.created_by),
            assigned_to: self.assigned_to.map(UserId),
            created_at: D::decode_time(self.created_at)?,
            updated_at: D::decode_time(self.updated_at)?,
            resolved_at: opt_time::<D>(self.resolved_at)?,
            escalated_at: opt_time::<D>(self.escalated_at)?,
            due_at: opt_time::<D>(self.due_at)?,
            version: self.version,
            clock_started_at: D::decode_time(self.clock_started_at)?,
            sla: Sla {
                update_due_at: opt_time::<D>(self.update_due_at)?,
                resolve_due_at: opt_time::<D>(self.resolve_due_at)?,
                update_breach: breach::<D>(self.update_breach_due, self.update_breached_at)?,
                resolve_breach: breach::<D>(self.resolve_breach_due, self.resolve_breached_at)?,
                waiting_since: opt_time::<D>(self.waiting_since)?,
                paused_seconds: self.paused_seconds,
                policy_version: self.sla_version,
                update_warn_at: opt_time::<D>(self.update_warn_at)?,
                resolve_warn_at: opt_time::<D>(self.resolve_warn_at)?,
                update_warned_due: opt_time::<D>(self.update_warned_due)?,
                resolve_warned_due: opt_time::<D>(self.resolve_warned_due)?,
                first_response_at: opt_time::<D>(self.first_response_at)?,
                first_response_seconds: self.first_response_seconds,
            },
        })
    }
}

macro_rules! comment_columns {
    () => {
        "id, ticket_id, author_id, body, created_at"
    };
}
pub(crate) use comment_columns;

#[derive(FromRow)]
pub(crate) struct CommentRow<T> {
    id: i64,
    ticket_id: i64,
    author_id: i64,
    body: String,
    created_at: T,
}

impl<T> CommentRow<T> {
    pub(crate) fn into_comment<D: Dialect<Time = T>>(self) -> StoreResult<Comment> {
        Ok(Comment {
            id: CommentId(self.id),
            ticket_id: TicketId(self.ticket_id),
            author_id: UserId(self.author_id),
            body: self.body,
            created_at: D::decode_time(self.created_at)?,
        })
    }
}

macro_rules! event_columns {
    () => {
        "id, ticket_id, actor_id, kind, from_value, to_value, at"
    };
}
pub(crate) use event_columns;

#[derive(FromRow)]
pub(crate) struct EventRow<T> {
    id: i64,
    ticket_id: i64,
    actor_id: Option<i64>,
    kind: String,
    from_value: Option<String>,
    to_value: Option<String>,
    at: T,
}

impl<T> EventRow<T> {
    pub(crate) fn into_event<D: Dialect<Time = T>>(self) -> StoreResult<HistoryEvent> {
        Ok(HistoryEvent {
            id: EventId(self.id),
            ticket_id: TicketId(self.ticket_id),
            actor_id: self.actor_id.map(UserId),
            kind: parse_stored(&self.kind)?,
            from: self.from_value,
            to: self.to_value,
            at: D::decode_time(self.at)?,
        })
    }
}

macro_rules! pause_columns {
    () => {
        "ticket_id, status, started_at, started_by, ended_at, ended_by"
    };
}
pub(crate) use pause_columns;

#[derive(FromRow)]
pub(crate) struct PauseRow<T> {
    pub(crate) ticket_id: i64,
    status: String,
    started_at: T,
    started_by: Option<i64>,
    ended_at: Option<T>,
    ended_by: Option<i64>,
}

impl<T> PauseRow<T> {
    pub(crate) fn into_pause<D: Dialect<Time = T>>(self) -> StoreResult<PauseRecord> {
        Ok(PauseRecord {
            status: parse_stored(&self.status)?,
            started_at: D::decode_time(self.started_at)?,
            started_by: self.started_by.map(UserId),
            ended_at: opt_time::<D>(self.ended_at)?,
            ended_by: self.ended_by.map(UserId),
        })
    }
}

/// A notification joined with what its email needs.
macro_rules! notification_select {
    () => {
        "SELECT o.id, o.recipient, o.ticket_id, t.title AS ticket_title, t.priority, \
         c.name_email AS creator, a.name_email AS assignee, o.alert, o.target, o.due_at, \
         o.escalated_at, o.reminder, o.time_zone, o.state, o.attempts, o.last_error, \
         o.next_attempt_at, o.sent_at \
         FROM outbox o JOIN tickets t ON t.id = o.ticket_id JOIN users c ON c.id = t.created_by \
         LEFT JOIN users a ON a.id = t.assigned_to"
    };
}
pub(crate) use notification_select;

#[derive(FromRow)]
pub(crate) struct NotificationRow<T> {
    id: i64,
    recipient: String,
    ticket_id: i64,
    ticket_title: String,
    priority: i16,
    creator: String,
    assignee: Option<String>,
    alert: String,
    target: String,
    due_at: T,
    escalated_at: T,
    reminder: Option<i32>,
    time_zone: String,
    state: String,
    attempts: i32,
    last_error: Option<String>,
    next_attempt_at: T,
    sent_at: Option<T>,
}

impl<T> NotificationRow<T> {
    pub(crate) fn into_notification<D: Dialect<Time = T>>(self) -> StoreResult<Notification> {
        Ok(Notification {
            id: NotificationId(self.id),
            recipient: self.recipient,
            ticket_id: TicketId(self.ticket_id),
            ticket_title: self.ticket_title,
            priority: priority(self.priority)?,
            creator: self.creator,
            assignee: self.assignee,
            alert: parse_stored(&self.alert)?,
            target: parse_stored(&self.target)?,
            due_at: D::decode_time(self.due_at)?,
            raised_at: D::decode_time(self.escalated_at)?,
            reminder: self.reminder.and_then(|n| u32::try_from(n).ok()),
            time_zone: self.time_zone,
            state: parse_stored(&self.state)?,
            attempts: u32::try_from(self.attempts).unwrap_or_default(),
            last_error: self.last_error,
            next_attempt_at: D::decode_time(self.next_attempt_at)?,
            sent_at: opt_time::<D>(self.sent_at)?,
        })
    }
}

/// Rows read as one JSON value ([`Dialect::rows_as_json`](crate::Dialect::rows_as_json)).
/// A count (or another number that is never negative) read as the `u64` the ports use.
pub(crate) fn as_count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

pub(crate) fn from_json<T: DeserializeOwned>(json: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| corrupt(format!("rows as JSON: {e}")))
}

/// Converts every row, failing on the first that does not convert.
pub(crate) fn convert<R, T>(
    rows: Vec<R>,
    f: impl FnMut(R) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    rows.into_iter().map(f).collect()
}
