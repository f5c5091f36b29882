//! Rows as SQLite stores them, and their conversion into the domain model.

use chrono::{DateTime, Utc};
use helpdesk_core::{
    Comment, CommentId, Error, EventId, HistoryEvent, Notification, NotificationId,
    NotificationState, Result, Ticket, TicketId, User, UserId,
};
use helpdesk_sql::{corrupt, parse_stored, priority};
use sqlx::FromRow;

/// Unix milliseconds, the stored form of every time.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn time(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(format!("time {ms} out of range")))
}

fn opt_time(ms: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    ms.map(time).transpose()
}

macro_rules! user_columns {
    () => {
        "id, email, first_name, last_name, role, is_active, created_at, updated_at, deleted_at"
    };
}
pub(crate) use user_columns;

#[derive(FromRow)]
pub(crate) struct UserRow {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    role: String,
    is_active: bool,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = Error;

    fn try_from(r: UserRow) -> Result<Self> {
        Ok(User {
            id: UserId(r.id),
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            role: parse_stored(&r.role)?,
            is_active: r.is_active,
            created_at: time(r.created_at)?,
            updated_at: time(r.updated_at)?,
            deleted_at: opt_time(r.deleted_at)?,
        })
    }
}

macro_rules! ticket_columns {
    () => {
        "id, title, description, priority, status, created_by, assigned_to, \
          created_at, updated_at, resolved_at, escalated_at, due_at, clock_started_at, version"
    };
}
pub(crate) use ticket_columns;

#[derive(FromRow)]
pub(crate) struct TicketRow {
    id: i64,
    title: String,
    description: String,
    priority: i64,
    status: String,
    created_by: i64,
    assigned_to: Option<i64>,
    created_at: i64,
    updated_at: i64,
    resolved_at: Option<i64>,
    escalated_at: Option<i64>,
    due_at: Option<i64>,
    clock_started_at: i64,
    version: i64,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = Error;

    fn try_from(r: TicketRow) -> Result<Self> {
        Ok(Ticket {
            id: TicketId(r.id),
            title: r.title,
            description: r.description,
            priority: priority(r.priority)?,
            status: parse_stored(&r.status)?,
            created_by: UserId(r.created_by),
            assigned_to: r.assigned_to.map(UserId),
            created_at: time(r.created_at)?,
            updated_at: time(r.updated_at)?,
            resolved_at: opt_time(r.resolved_at)?,
            escalated_at: opt_time(r.escalated_at)?,
            due_at: opt_time(r.due_at)?,
            version: r.version,
            clock_started_at: time(r.clock_started_at)?,
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
pub(crate) struct CommentRow {
    id: i64,
    ticket_id: i64,
    author_id: i64,
    body: String,
    created_at: i64,
}

impl TryFrom<CommentRow> for Comment {
    type Error = Error;

    fn try_from(r: CommentRow) -> Result<Self> {
        Ok(Comment {
            id: CommentId(r.id),
            ticket_id: TicketId(r.ticket_id),
            author_id: UserId(r.author_id),
            body: r.body,
            created_at: time(r.created_at)?,
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
pub(crate) struct EventRow {
    id: i64,
    ticket_id: i64,
    actor_id: Option<i64>,
    kind: String,
    from_value: Option<String>,
    to_value: Option<String>,
    at: i64,
}

impl TryFrom<EventRow> for HistoryEvent {
    type Error = Error;

    fn try_from(r: EventRow) -> Result<Self> {
        Ok(HistoryEvent {
            id: EventId(r.id),
            ticket_id: TicketId(r.ticket_id),
            actor_id: r.actor_id.map(UserId),
            kind: parse_stored(&r.kind)?,
            from: r.from_value,
            to: r.to_value,
            at: time(r.at)?,
        })
    }
}

/// A notification joined with what its email needs.
macro_rules! notification_select {
    () => {
        "SELECT o.id, o.recipient, o.ticket_id, \
    t.title AS ticket_title, t.priority, c.name_email AS creator, a.name_email AS assignee, \
    o.due_at, o.escalated_at, o.state, o.attempts, o.last_error, o.next_attempt_at, o.sent_at \
    FROM outbox o JOIN tickets t ON t.id = o.ticket_id JOIN users c ON c.id = t.created_by \
    LEFT JOIN users a ON a.id = t.assigned_to"
    };
}
pub(crate) use notification_select;

#[derive(FromRow)]
pub(crate) struct NotificationRow {
    id: i64,
    recipient: String,
    ticket_id: i64,
    ticket_title: String,
    priority: i64,
    creator: String,
    assignee: Option<String>,
    due_at: i64,
    escalated_at: i64,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: i64,
    sent_at: Option<i64>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = Error;

    fn try_from(r: NotificationRow) -> Result<Self> {
        let state: NotificationState = parse_stored(&r.state)?;
        Ok(Notification {
            id: NotificationId(r.id),
            recipient: r.recipient,
            ticket_id: TicketId(r.ticket_id),
            ticket_title: r.ticket_title,
            priority: priority(r.priority)?,
            creator: r.creator,
            assignee: r.assignee,
            due_at: time(r.due_at)?,
            escalated_at: time(r.escalated_at)?,
            state,
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            last_error: r.last_error,
            next_attempt_at: time(r.next_attempt_at)?,
            sent_at: opt_time(r.sent_at)?,
        })
    }
}
