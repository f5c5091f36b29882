//! The domain model: users, tickets, comments and history events.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{CommentId, EventId, TicketId, UserId};

/// The error of parsing an enum value ([`Role`], [`Priority`], [`Status`], ...) from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; expected one of: {expected}")]
pub struct ParseEnumError {
    pub(crate) kind: &'static str,
    pub(crate) value: String,
    pub(crate) expected: &'static str,
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])* $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $(#[serde(alias = $alias)])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used on the wire and in storage.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire $(| $alias)* => Ok($name::$variant),)+
                    _ => Err($crate::ParseEnumError {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: concat!($($wire, " "),+),
                    }),
                }
            }
        }
    };
}

pub(crate) use wire_enum;

wire_enum!(
    /// What a user may do: see [`permissions`](crate::permissions).
    Role, "role" {
        /// Raises tickets and sees their own.
        User = "user",
        /// Works on the tickets assigned to them.
        Agent = "agent",
        /// Sees and manages everything.
        Admin = "admin",
    }
);

wire_enum!(
    /// How urgent a ticket is; decides its escalation window. Defaults to medium.
    #[derive(Default)]
    Priority, "priority" {
        /// Escalates after 24 hours by default.
        Low = "low",
        /// Escalates after 4 hours by default.
        #[default]
        Medium = "medium",
        /// Escalates after 1 hour by default.
        High = "high",
    }
);

wire_enum!(
    /// Where a ticket is in its life; transitions are ruled by
    /// [`check_transition`](crate::permissions::check_transition).
    Status, "status" {
        /// New, nobody has started on it.
        Open = "open",
        /// Staff are working on it.
        InProgress = "in_progress" | "in-progress",
        /// Staff consider it solved.
        Resolved = "resolved",
        /// Done; only an admin reopens it.
        Closed = "closed",
        /// A service-level target was breached; set only by the escalation engine.
        Escalated = "escalated",
        /// Waiting on the customer: no service-level clock counts.
        Waiting = "waiting",
    }
);

wire_enum!(
    /// What a [`HistoryEvent`] records.
    HistoryKind, "history kind" {
        /// The ticket was created.
        Created = "created",
        /// The status changed (`from` and `to` are statuses).
        StatusChanged = "status_changed",
        /// The assignee changed (`from` and `to` are user ids, or absent).
        Assigned = "assigned",
        /// Title, description or priority changed (`to` lists the fields).
        Edited = "edited",
        /// A comment was added (`to` is the comment id).
        Commented = "commented",
        /// The escalation engine escalated the ticket (`from` is the previous status, `to`
        /// the target breached).
        Escalated = "escalated",
        /// A target's deadline is near: its warning went out (`to` is the target).
        SlaWarning = "sla_warning",
        /// The ticket is still escalated: a reminder went out (`to` is its number, from 1).
        EscalationReminder = "escalation_reminder",
    }
);

impl Priority {
    /// Numeric rank, low to high: what `ordering=priority` sorts by.
    pub const fn rank(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Medium => 1,
            Priority::High => 2,
        }
    }

    /// The inverse of [`Priority::rank`].
    pub const fn from_rank(rank: i64) -> Option<Self> {
        match rank {
            0 => Some(Priority::Low),
            1 => Some(Priority::Medium),
            2 => Some(Priority::High),
            _ => None,
        }
    }
}

impl Role {
    /// Agents and admins: the people who work on tickets.
    pub const fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

impl Status {
    /// The statuses whose update clock runs (`open` and `in_progress`).
    pub const ACTIVE: [Status; 2] = [Status::Open, Status::InProgress];

    /// Whether the update clock runs in this status (`open`, `in_progress`): staff must act
    /// within the update target.
    pub const fn is_active(self) -> bool {
        matches!(self, Status::Open | Status::InProgress)
    }

    /// Whether time counts towards the resolution target in this status (`open`,
    /// `in_progress`, `escalated`); in the others (`waiting`, `resolved`, `closed`) the
    /// ticket's clocks are paused.
    pub const fn counts(self) -> bool {
        matches!(self, Status::Open | Status::InProgress | Status::Escalated)
    }
}

/// A person with an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Identifier.
    pub id: UserId,
    /// Lower-cased email address; unique.
    pub email: String,
    /// Given name (may be empty).
    pub first_name: String,
    /// Family name (may be empty).
    pub last_name: String,
    /// What the user may do.
    pub role: Role,
    /// Inactive users cannot sign in and receive no email.
    pub is_active: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account last changed.
    pub updated_at: DateTime<Utc>,
    /// Set when the account was deleted and its personal data erased.
    #[serde(skip)]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl User {
    /// `"FirstName LastName - email"`, the computed field users are searched by
    /// (just the email when both names are empty).
    ///
    /// ```
    /// # use helpdesk_core::{User, UserId, Role};
    /// # let now = chrono::Utc::now();
    /// let user = User {
    ///     id: UserId(1), email: "ada@example.com".into(),
    ///     first_name: "Ada".into(), last_name: "Lovelace".into(),
    ///     role: Role::User, is_active: true, created_at: now, updated_at: now, deleted_at: None,
    /// };
    /// assert_eq!(user.name_email(), "Ada Lovelace - ada@example.com");
    /// ```
    pub fn name_email(&self) -> String {
        name_email(&self.first_name, &self.last_name, &self.email)
    }

    /// The acting identity of this user.
    pub fn actor(&self) -> crate::Actor {
        crate::Actor::new(self.id, self.role)
    }
}

/// The one definition of the computed `name_email`; stores mirror it in SQL.
pub(crate) fn name_email(first: &str, last: &str, email: &str) -> String {
    let name = format!("{first} {last}");
    match name.trim() {
        "" => email.to_owned(),
        name => format!("{name} - {email}"),
    }
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    /// Identifier.
    pub id: TicketId,
    /// Short summary, 1 to 200 characters.
    pub title: String,
    /// What is wrong, up to 20,000 characters.
    pub description: String,
    /// Urgency; decides the escalation window.
    pub priority: Priority,
    /// Where the ticket is in its life.
    pub status: Status,
    /// Who raised it.
    pub created_by: UserId,
    /// The agent (or admin) working on it.
    pub assigned_to: Option<UserId>,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last moved to `resolved`.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When the escalation engine last escalated it.
    pub escalated_at: Option<DateTime<Utc>>,
    /// The earliest service-level deadline not yet breached, or `None`: when the ticket
    /// escalates if nobody acts.
    pub due_at: Option<DateTime<Utc>>,
    /// Grows by one on every change; the `ETag` of the ticket.
    pub version: i64,
    /// When the update clock last (re)started: creation, the last staff action, or a return
    /// to `open`/`in_progress`.
    #[serde(skip)]
    pub clock_started_at: DateTime<Utc>,
    /// Service-level deadlines, breaches and pauses.
    pub sla: Sla,
}

/// A ticket's service-level state: its deadlines under the policy in force, the last breach
/// of each target, and its pauses (see [`sla`](crate::sla)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sla {
    /// When staff must act: the update clock's deadline; `None` while that clock does not run
    /// (`waiting`, `resolved`, `closed`, and `escalated` unless it escalated the ticket).
    pub update_due_at: Option<DateTime<Utc>>,
    /// When the ticket must be resolved; `None` without a resolution target or while paused.
    pub resolve_due_at: Option<DateTime<Utc>>,
    /// The breach of the update clock since it last (re)started.
    pub update_breach: Option<Breach>,
    /// The last breach of the resolution target.
    pub resolve_breach: Option<Breach>,
    /// When the warning of the update deadline goes out; `None` if none will (no
    /// `warn_at_percent`, clock stopped, breached, or already warned of this deadline).
    pub update_warn_at: Option<DateTime<Utc>>,
    /// When the warning of the resolution deadline goes out; `None` if none will.
    pub resolve_warn_at: Option<DateTime<Utc>>,
    /// When staff first acted on the ticket: the first comment or status change by an agent or
    /// admin.
    pub first_response_at: Option<DateTime<Utc>>,
    /// The counted time (the priority's hours) from creation to the first response.
    pub first_response_seconds: Option<i64>,
    /// The update deadline last warned of (set only by the store's sweep).
    #[serde(skip)]
    pub update_warned_due: Option<DateTime<Utc>>,
    /// The resolution deadline last warned of (set only by the store's sweep).
    #[serde(skip)]
    pub resolve_warned_due: Option<DateTime<Utc>>,
    /// Since when the ticket waits on the customer (status `waiting`).
    pub waiting_since: Option<DateTime<Utc>>,
    /// Wall-clock seconds spent waiting, over the waits that have ended.
    pub paused_seconds: i64,
    /// The version of the policy these deadlines were computed with; 0 while the clocks stand
    /// still (`waiting`, `resolved`, `closed`), when there are none.
    #[serde(skip)]
    pub policy_version: i64,
}

/// A deadline the escalation sweep found passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Breach {
    /// The deadline.
    pub due_at: DateTime<Utc>,
    /// When the sweep found it passed.
    pub at: DateTime<Utc>,
}

impl Sla {
    /// Whether a target is breached: the update clock since it last restarted, or the
    /// resolution target.
    pub fn is_breached(&self) -> bool {
        self.update_breach.is_some() || self.resolve_breach.is_some()
    }

    /// The earliest deadline still to be met in `status`: the update deadline while its clock
    /// runs and it is not breached, the resolution deadline unless breached. What `due_at`
    /// holds and the sweep compares.
    pub fn next_due(&self, status: Status) -> Option<DateTime<Utc>> {
        let update = self
            .update_due_at
            .filter(|_| status.is_active() && self.update_breach.is_none());
        let resolve = self
            .resolve_due_at
            .filter(|due| self.resolve_breach.is_none_or(|b| b.due_at != *due));
        match (update, resolve) {
            (Some(u), Some(r)) => Some(u.min(r)),
            (u, r) => u.or(r),
        }
    }
}

/// A comment in a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// Identifier.
    pub id: CommentId,
    /// The ticket it belongs to.
    pub ticket_id: TicketId,
    /// Who wrote it.
    pub author_id: UserId,
    /// The text, 1 to 20,000 characters.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEvent {
    /// Identifier.
    pub id: EventId,
    /// The ticket it belongs to.
    pub ticket_id: TicketId,
    /// Who acted; `None` for the system (the escalation engine).
    pub actor_id: Option<UserId>,
    /// What happened.
    pub kind: HistoryKind,
    /// The value before, where the kind has one.
    pub from: Option<String>,
    /// The value after, where the kind has one.
    pub to: Option<String>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// A history event about to be recorded (the store assigns id and ticket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Who acted; `None` for the system.
    pub actor_id: Option<UserId>,
    /// What happened.
    pub kind: HistoryKind,
    /// The value before.
    pub from: Option<String>,
    /// The value after.
    pub to: Option<String>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// Ticket counts of the last-7-days report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Tickets created.
    pub opened: u64,
    /// Moves to `resolved`.
    pub resolved: u64,
    /// Escalations.
    pub escalated: u64,
}

/// How one priority's tickets fared against their service levels over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaStats {
    /// Tickets raised in the window.
    pub opened: u64,
    /// Tickets resolved in the window (by their last resolution; a ticket reopened since is
    /// not counted until it is resolved again).
    pub resolved: u64,
    /// Of those, the ones without a resolution breach before their resolution.
    pub resolved_within_target: u64,
    /// Update deadlines breached in the window.
    pub update_breaches: u64,
    /// Resolution deadlines breached in the window.
    pub resolution_breaches: u64,
    /// The median counted time to the first staff response of the tickets raised in the
    /// window that have had one; `None` if none has.
    pub median_first_response_seconds: Option<u64>,
}

/// [`SlaStats`] for each priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaByPriority {
    /// High priority.
    pub high: SlaStats,
    /// Medium priority.
    pub medium: SlaStats,
    /// Low priority.
    pub low: SlaStats,
}

impl SlaByPriority {
    /// The stats of one priority, to fill in.
    pub fn of(&mut self, priority: Priority) -> &mut SlaStats {
        match priority {
            Priority::High => &mut self.high,
            Priority::Medium => &mut self.medium,
            Priority::Low => &mut self.low,
        }
    }
}

/// The service-level report over a window (`GET /api/reports/sla`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "from": "2026-10-28T09:00:00Z", "to": "2026-11-27T09:00:00Z",
    "by_priority": {
        "high": {"opened": 12, "resolved": 10, "resolved_within_target": 9, "update_breaches": 3,
                 "resolution_breaches": 1, "median_first_response_seconds": 1260},
        "medium": {"opened": 30, "resolved": 25, "resolved_within_target": 25, "update_breaches": 2,
                   "resolution_breaches": 0, "median_first_response_seconds": 5400},
        "low": {"opened": 8, "resolved": 3, "resolved_within_target": 3, "update_breaches": 0,
                "resolution_breaches": 0, "median_first_response_seconds": null}}})))]
pub struct SlaReport {
    /// The window's start.
    pub from: DateTime<Utc>,
    /// The window's end (now).
    pub to: DateTime<Utc>,
    /// The figures of each priority.
    pub by_priority: SlaByPriority,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_text_and_json() {
        fn wire<T: Serialize>(value: T) -> String {
            serde_json::to_value(value)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        }
        // serde's names (and so the OpenAPI schema's) are the ones `as_str` and `FromStr` use.
        for s in Status::ALL {
            assert_eq!(wire(s), s.as_str());
            assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), *s);
        }
        for r in Role::ALL {
            assert_eq!(
                (wire(r), r.as_str().parse()),
                (r.as_str().to_owned(), Ok(*r))
            );
        }
        for p in Priority::ALL {
            assert_eq!(wire(p), p.as_str());
        }
        for k in HistoryKind::ALL {
            assert_eq!(wire(k), k.as_str());
        }
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), Some(*p));
        }
        assert_eq!("in-progress".parse::<Status>(), Ok(Status::InProgress));
        assert_eq!(
            serde_json::from_str::<Status>("\"in-progress\"").unwrap(),
            Status::InProgress
        );
        assert_eq!(
            serde_json::to_string(&Status::InProgress).unwrap(),
            "\"in_progress\""
        );
        let err = "urgent".parse::<Priority>().unwrap_err();
        assert!(err.to_string().contains("low medium high"), "{err}");
    }

    #[test]
    fn name_email_skips_missing_names() {
        assert_eq!(
            name_email("Ada", "Lovelace", "a@x.io"),
            "Ada Lovelace - a@x.io"
        );
        assert_eq!(name_email("Ada", "", "a@x.io"), "Ada - a@x.io");
        assert_eq!(name_email("", "Lovelace", "a@x.io"), "Lovelace - a@x.io");
        assert_eq!(name_email("", "", "a@x.io"), "a@x.io");
    }
}
