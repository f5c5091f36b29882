//! The JSON form of tickets and comments: what the HTTP API answers and what webhooks carry,
//! defined once so both say the same.
#![allow(missing_docs)] // the fields are the wire contract, documented in docs/api.md

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sla::Target;
use crate::{Comment, Priority, Sla, Status, Ticket};

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "id": 42, "title": "Printer on fire", "description": "Smoke is coming out of the 3rd floor printer.",
    "priority": "high", "status": "open", "created_by": 7, "assigned_to": null,
    "created_at": "2026-11-26T09:00:00Z", "updated_at": "2026-11-26T09:00:00Z",
    "resolved_at": null, "escalated_at": null, "due_at": "2026-11-26T10:00:00Z", "version": 1,
    "sla": {"update_due_at": "2026-11-26T10:00:00Z", "resolve_due_at": "2026-11-26T17:00:00Z",
            "update_warn_at": "2026-11-26T09:48:00Z", "resolve_warn_at": "2026-11-26T15:36:00Z",
            "first_response_at": null, "waiting_since": null, "paused_seconds": 0, "breaches": []}
})))]
pub struct TicketOut {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub status: Status,
    pub created_by: i64,
    pub assigned_to: Option<i64>,
    #[serde(serialize_with = "time::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time::write")]
    pub updated_at: DateTime<Utc>,
    #[serde(serialize_with = "time::write_optional")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time::write_optional")]
    pub escalated_at: Option<DateTime<Utc>>,
    /// The earliest service-level deadline still to be met (see `sla`), or null: when the
    /// ticket escalates if nobody acts.
    #[serde(serialize_with = "time::write_optional")]
    pub due_at: Option<DateTime<Utc>>,
    /// Grows by one on every change; also the `ETag`.
    pub version: i64,
    pub sla: SlaOut,
}

/// A ticket's service-level deadlines, breaches and pauses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaOut {
    /// When staff must act; null while the update clock does not run (waiting, resolved,
    /// closed, or escalated by the resolution target).
    #[serde(serialize_with = "time::write_optional")]
    pub update_due_at: Option<DateTime<Utc>>,
    /// When the ticket must be resolved; null without a resolution target or while paused.
    #[serde(serialize_with = "time::write_optional")]
    pub resolve_due_at: Option<DateTime<Utc>>,
    /// When the warning of the update deadline goes out; null if none will (no
    /// `warn_at_percent`, clock stopped, breached, or already sent for this deadline).
    #[serde(serialize_with = "time::write_optional")]
    pub update_warn_at: Option<DateTime<Utc>>,
    /// When the warning of the resolution deadline goes out; null if none will.
    #[serde(serialize_with = "time::write_optional")]
    pub resolve_warn_at: Option<DateTime<Utc>>,
    /// When staff first commented or changed the status; null until then.
    #[serde(serialize_with = "time::write_optional")]
    pub first_response_at: Option<DateTime<Utc>>,
    /// Since when the ticket waits on the customer; null unless `waiting`.
    #[serde(serialize_with = "time::write_optional")]
    pub waiting_since: Option<DateTime<Utc>>,
    /// Seconds spent waiting on the customer, over the waits that have ended.
    pub paused_seconds: i64,
    /// The breached deadlines: of the update clock since it last restarted, and of the
    /// resolution target.
    pub breaches: Vec<BreachOut>,
}

/// A deadline the escalation sweep found passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"target": "update", "due_at": "2026-11-26T10:00:00Z", "at": "2026-11-26T10:00:30Z"})))]
pub struct BreachOut {
    pub target: Target,
    /// The deadline.
    #[serde(serialize_with = "time::write")]
    pub due_at: DateTime<Utc>,
    /// When the sweep found it passed.
    #[serde(serialize_with = "time::write")]
    pub at: DateTime<Utc>,
}

impl From<Sla> for SlaOut {
    fn from(s: Sla) -> Self {
        let breaches = [
            (Target::Update, s.update_breach),
            (Target::Resolution, s.resolve_breach),
        ]
        .into_iter()
        .filter_map(|(target, breach)| {
            breach.map(|b| BreachOut {
                target,
                due_at: b.due_at,
                at: b.at,
            })
        })
        .collect();
        Self {
            update_due_at: s.update_due_at,
            resolve_due_at: s.resolve_due_at,
            update_warn_at: s.update_warn_at,
            resolve_warn_at: s.resolve_warn_at,
            first_response_at: s.first_response_at,
            waiting_since: s.waiting_since,
            paused_seconds: s.paused_seconds,
            breaches,
        }
    }
}

impl From<Ticket> for TicketOut {
    fn from(t: Ticket) -> Self {
        Self {
            id: t.id.0,
            title: t.title,
            description: t.description,
            priority: t.priority,
            status: t.status,
            created_by: t.created_by.0,
            assigned_to: t.assigned_to.map(|a| a.0),
            created_at: t.created_at,
            updated_at: t.updated_at,
            resolved_at: t.resolved_at,
            escalated_at: t.escalated_at,
            due_at: t.due_at,
            version: t.version,
            sla: t.sla.into(),
        }
    }
}

/// A comment on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"id": 3, "ticket_id": 42, "author_id": 9, "body": "Unplugged it; a new fuser is on order.", "created_at": "2026-11-26T09:20:00Z"})))]
pub struct CommentOut {
    pub id: i64,
    pub ticket_id: i64,
    pub author_id: i64,
    pub body: String,
    #[serde(serialize_with = "time::write")]
    pub created_at: DateTime<Utc>,
}

impl From<Comment> for CommentOut {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id.0,
            ticket_id: c.ticket_id.0,
            author_id: c.author_id.0,
            body: c.body,
            created_at: c.created_at,
        }
    }
}

/// Instants as chrono's `serde` writes them (RFC 3339 in UTC with `Z`, fractional seconds only
/// when there are some), formatted in one go and written as one string. chrono's own writes
/// each piece through `serde_json`'s escaping writer: with up to eleven instants a ticket, that
/// was about a tenth of the server's time answering a page of tickets.
mod time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    pub(super) fn write<S: Serializer>(at: &DateTime<Utc>, to: S) -> Result<S::Ok, S::Error> {
        to.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub(super) fn write_optional<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => write(at, to),
            None => to.serialize_none(),
        }
    }

    #[cfg(test)]
    mod tests {
        use chrono::{DateTime, TimeZone, Utc};

        #[derive(serde::Serialize)]
        struct Ours(#[serde(serialize_with = "super::write")] DateTime<Utc>);

        #[test]
        fn instants_are_written_as_chronos_serde_writes_them() {
            let second = Utc.with_ymd_and_hms(2026, 11, 29, 7, 5, 9).unwrap();
            for nanos in [
                0,
                1,
                120,
                1_000,
                45_000,
                1_000_000,
                7_000_000,
                123_456_789,
                999_999_999,
            ] {
                for at in [second, DateTime::UNIX_EPOCH, DateTime::<Utc>::MIN_UTC] {
                    let at = at + chrono::Duration::nanoseconds(nanos);
                    assert_eq!(
                        serde_json::to_string(&Ours(at)).unwrap(),
                        serde_json::to_string(&at).unwrap(),
                        "{at:?}"
                    );
                }
            }
        }
    }
}
