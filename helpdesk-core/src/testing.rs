//! Fixtures for unit tests.

use chrono::{DateTime, Duration, Utc};

use crate::{Priority, Status, Ticket, TicketId, UserId};

/// A fixed instant all fixtures start from.
pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

/// An open medium ticket raised by `creator` at [`t0`].
pub(crate) fn ticket(creator: UserId) -> Ticket {
    Ticket {
        id: TicketId(1),
        title: "Printer on fire".into(),
        description: "Smoke everywhere".into(),
        priority: Priority::Medium,
        status: Status::Open,
        created_by: creator,
        assigned_to: None,
        created_at: t0(),
        updated_at: t0(),
        resolved_at: None,
        escalated_at: None,
        due_at: Some(t0() + Duration::hours(4)),
        version: 1,
        clock_started_at: t0(),
        sla: crate::Sla {
            update_due_at: Some(t0() + Duration::hours(4)),
            policy_version: 1,
            ..crate::Sla::default()
        },
    }
}
