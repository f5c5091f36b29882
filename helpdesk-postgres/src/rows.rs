//! Rows as PostgreSQL stores them, and their conversion into the domain model.

use chrono::{DateTime, Utc};
use helpdesk_core::{
    Comment, CommentId, Error, EventId, HistoryEvent, Notification, NotificationId,
    NotificationState, Result, Ticket, TicketId, User, UserId,
};
use helpdesk_sql::{parse_stored, priority};
use sqlx::FromRow;

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
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
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
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
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
    priority: i16,
    status: String,
    created_by: i64,
    assigned_to: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    escalated_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    clock_started_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = Error;

    fn try_from(r: TicketRow) -> Result<Self> {
        Ok(Ticket {
            id: TicketId(r.id),
            title: r.title,
            description: r.description,
            priority: priority(r.priority.into())?,
            status: parse_stored(&r.status)?,
            created_by: UserId(r.created_by),
            assigned_to: r.assigned_to.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
            resolved_at: r.resolved_at,
            escalated_at: r.escalated_at,
            due_at: r.due_at,
            version: r.version,
            clock_started_at: r.clock_started_at,
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
    created_at: DateTime<Utc>,
}

impl TryFrom<CommentRow> for Comment {
    type Error = Error;

    fn try_from(r: CommentRow) -> Result<Self> {
        Ok(Comment {
            id: CommentId(r.id),
            ticket_id: TicketId(r.ticket_id),
            author_id: UserId(r.author_id),
            body: r.body,
            created_at: r.created_at,
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
    at: DateTime<Utc>,
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
            at: r.at,
        })
    }
}

/// A notification joined with what its email needs.
macro_rules! notification_select {
    () => {
        "SELECT o.id, o.recipient, o.ticket_id, t.title AS ticket_title, t.priority, \
         c.name_email AS creator, a.name_email AS assignee, o.due_at, o.escalated_at, o.state, \
         o.attempts, o.last_error, o.next_attempt_at, o.sent_at \
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
    priority: i16,
    creator: String,
    assignee: Option<String>,
    due_at: DateTime<Utc>,
    escalated_at: DateTime<Utc>,
    state: String,
    attempts: i32,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
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
            priority: priority(r.priority.into())?,
            creator: r.creator,
            assignee: r.assignee,
            due_at: r.due_at,
            escalated_at: r.escalated_at,
            state,
            attempts: u32::try_from(r.attempts).unwrap_or_default(),
            last_error: r.last_error,
            next_attempt_at: r.next_attempt_at,
            sent_at: r.sent_at,
        })
    }
}
