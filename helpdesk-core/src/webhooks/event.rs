//! The events webhooks carry, built from what a change records.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::EventType;
use crate::wire::{CommentOut, TicketOut};
use crate::{Comment, HistoryKind, NewEvent, Ticket, UserId};

/// An event about to be queued: its type, when it happened, and the body every subscription
/// that wants it is sent, `{"type", "timestamp", "data"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub event_type: EventType,
    /// When.
    pub at: DateTime<Utc>,
    /// The JSON body.
    pub payload: String,
}

#[derive(Serialize)]
struct Body<'a> {
    r#type: EventType,
    timestamp: String,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<TicketOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<CommentOut>,
    /// Who acted; null for the system (the escalation sweep).
    actor_id: Option<UserId>,
    #[serde(skip_serializing_if = "Value::is_null")]
    change: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

impl Event {
    fn new(event_type: EventType, at: DateTime<Utc>, data: Data<'_>) -> Self {
        let body = Body {
            r#type: event_type,
            timestamp: at.to_rfc3339_opts(SecondsFormat::Millis, true),
            data,
        };
        // Serialising these plain structs cannot fail; an empty body would be caught by the
        // receiver's signature check anyway.
        let payload = serde_json::to_string(&body).unwrap_or_default();
        Self {
            event_type,
            at,
            payload,
        }
    }

    /// The event a history entry of `ticket` (as it is after the change) stands for, if any
    /// (comments have their own, [`Event::comment_created`]).
    pub fn of_history(ticket: &Ticket, e: &NewEvent) -> Option<Self> {
        let number = |v: &Option<String>| v.as_deref().and_then(|v| v.parse::<i64>().ok());
        let event_type = EventType::of_history(e.kind)?;
        let change = match e.kind {
            HistoryKind::Created | HistoryKind::Commented => Value::Null,
            HistoryKind::Edited => {
                json!({"fields": e.to.as_deref().unwrap_or_default().split(',').collect::<Vec<_>>()})
            }
            HistoryKind::StatusChanged => json!({"from": e.from, "to": e.to}),
            HistoryKind::Assigned => json!({"from": number(&e.from), "to": number(&e.to)}),
            HistoryKind::Escalated => json!({"from": e.from, "target": e.to}),
            HistoryKind::SlaWarning => json!({"target": e.to}),
            HistoryKind::EscalationReminder => json!({"number": number(&e.to)}),
        };
        Some(Self::new(
            event_type,
            e.at,
            Data {
                ticket: Some(ticket.clone().into()),
                comment: None,
                actor_id: e.actor_id,
                change,
                message: None,
            },
        ))
    }

    /// A comment was added to `ticket` (as it is after the comment).
    pub fn comment_created(ticket: &Ticket, comment: &Comment) -> Self {
        Self::new(
            EventType::CommentCreated,
            comment.created_at,
            Data {
                ticket: Some(ticket.clone().into()),
                comment: Some(comment.clone().into()),
                actor_id: Some(comment.author_id),
                change: Value::Null,
                message: None,
            },
        )
    }

    /// `ticket` (its last state) was deleted by `actor`.
    pub fn ticket_deleted(ticket: &Ticket, actor: UserId, at: DateTime<Utc>) -> Self {
        Self::new(
            EventType::TicketDeleted,
            at,
            Data {
                ticket: Some(ticket.clone().into()),
                comment: None,
                actor_id: Some(actor),
                change: Value::Null,
                message: None,
            },
        )
    }

    /// A test event an admin asked for.
    pub fn ping(actor: UserId, at: DateTime<Utc>) -> Self {
        Self::new(
            EventType::Ping,
            at,
            Data {
                ticket: None,
                comment: None,
                actor_id: Some(actor),
                change: Value::Null,
                message: Some("ping from the helpdesk"),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserId;

    fn ticket() -> Ticket {
        let at = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000);
        Ticket {
            id: crate::TicketId(42),
            title: "Printer on fire".into(),
            description: "Smoke".into(),
            priority: crate::Priority::High,
            status: crate::Status::InProgress,
            created_by: UserId(7),
            assigned_to: Some(UserId(9)),
            created_at: at,
            updated_at: at,
            resolved_at: None,
            escalated_at: None,
            due_at: None,
            version: 2,
            clock_started_at: at,
            sla: crate::Sla::default(),
        }
    }

    #[test]
    fn a_status_change_carries_the_ticket_and_the_change() {
        let ticket = ticket();
        let e = NewEvent {
            actor_id: Some(UserId(9)),
            kind: HistoryKind::StatusChanged,
            from: Some("open".into()),
            to: Some("in_progress".into()),
            at: ticket.updated_at,
        };
        let event = Event::of_history(&ticket, &e).unwrap();
        assert_eq!(event.event_type, EventType::TicketStatusChanged);
        let body: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(
            body["data"]["change"],
            serde_json::json!({"from": "open", "to": "in_progress"})
        );
        assert_eq!(body["data"]["ticket"]["id"], 42);
    }
}
