//! How a ticket changes: the pure rules that turn an actor's request into a [`TicketChange`]
//! (the new state, its history events, and the escalation clock), checked against the
//! permissions in [`crate::permissions`]. The façade reads the ticket, plans with these
//! functions, and writes the change if nobody changed the ticket meanwhile.

use chrono::{DateTime, Utc};

use crate::business_hours::Pause;
use crate::permissions::{Actor, can_edit, check_ticket_transition};
use crate::sla::InForce;
use crate::store::{PauseChange, PauseRecord, TicketChange};
use crate::{Error, HistoryKind, NewEvent, Result, Status, Ticket, TicketPatch, UserId};

/// What a change is planned with: the policy in force and the ticket's pauses, by start.
pub(crate) type Planning<'a> = (&'a InForce, &'a [PauseRecord]);

fn event(
    actor: &Actor,
    kind: HistoryKind,
    from: Option<String>,
    to: Option<String>,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        actor_id: Some(actor.id),
        kind,
        from,
        to,
        at,
    }
}

/// Completes a change: bumps version and `updated_at`; restarts the update clock for staff
/// actions and returns to `open`/`in_progress`; starts or ends a pause when time stops or
/// resumes counting; recomputes the deadlines with the ticket's `pauses`.
fn finish_change(
    actor: &Actor,
    before: &Ticket,
    mut next: Ticket,
    events: Vec<NewEvent>,
    (policy, pauses): Planning<'_>,
    now: DateTime<Utc>,
) -> TicketChange {
    let reopened = next.status.is_active() && !before.status.is_active();
    if actor.is_staff() || reopened {
        next.clock_started_at = now;
    }
    if actor.is_staff()
        && before.status != next.status
        && let Some(seconds) = policy.policy.first_response(&next, now)
    {
        next.sla.first_response_at = Some(now);
        next.sla.first_response_seconds = Some(seconds);
    }
    let mut stints: Vec<Pause> = pauses.iter().map(Pause::from).collect();
    let (was, is) = (before.status.counts(), next.status.counts());
    let pause = (before.status != next.status && !(was && is)).then(|| PauseChange {
        at: now,
        by: Some(actor.id),
        ends_current: !was,
        starts: (!is).then_some(next.status),
    });
    if let Some(pause) = &pause {
        if pause.ends_current
            && let Some(current) = stints.last_mut().filter(|p| p.end.is_none())
        {
            current.end = Some(now);
        }
        if pause.starts.is_some() {
            stints.push(Pause {
                start: now,
                end: None,
            });
        }
    }
    if before.status == Status::Waiting && next.status != Status::Waiting {
        if let Some(since) = next.sla.waiting_since.take() {
            next.sla.paused_seconds += (now - since).num_seconds().max(0);
        }
    } else if next.status == Status::Waiting && before.status != Status::Waiting {
        next.sla.waiting_since = Some(now);
    }
    policy.apply(&mut next, &stints);
    next.updated_at = now;
    next.version = before.version + 1;
    TicketChange {
        ticket: next,
        expected_version: before.version,
        events,
        pause,
    }
}

/// The change a patch makes to a ticket, or `None` if it changes nothing.
pub(crate) fn plan_update(
    actor: &Actor,
    ticket: &Ticket,
    patch: &TicketPatch,
    policy: Planning<'_>,
    now: DateTime<Utc>,
) -> Result<Option<TicketChange>> {
    let mut next = ticket.clone();
    let mut events = Vec::new();
    if patch.edits_content() {
        if !can_edit(actor, ticket) {
            return Err(Error::Forbidden(
                "only the creator of an open ticket, or an admin, may edit it".into(),
            ));
        }
        let mut edited = Vec::new();
        if let Some(title) = patch.title.as_ref().filter(|t| **t != ticket.title) {
            next.title = title.clone();
            edited.push("title");
        }
        if let Some(description) = patch
            .description
            .as_ref()
            .filter(|d| **d != ticket.description)
        {
            next.description = description.clone();
            edited.push("description");
        }
        if let Some(priority) = patch.priority.filter(|p| *p != ticket.priority) {
            next.priority = priority;
            edited.push("priority");
        }
        if !edited.is_empty() {
            events.push(event(
                actor,
                HistoryKind::Edited,
                None,
                Some(edited.join(",")),
                now,
            ));
        }
    }
    if let Some(to) = patch.status.filter(|s| *s != ticket.status) {
        check_ticket_transition(actor, ticket, to)?;
        next.status = to;
        match to {
            Status::Resolved => next.resolved_at = Some(now),
            Status::Open | Status::InProgress | Status::Waiting => next.resolved_at = None,
            Status::Closed | Status::Escalated => {}
        }
        events.push(event(
            actor,
            HistoryKind::StatusChanged,
            Some(ticket.status.to_string()),
            Some(to.to_string()),
            now,
        ));
    }
    if events.is_empty() {
        return Ok(None);
    }
    Ok(Some(finish_change(
        actor, ticket, next, events, policy, now,
    )))
}

/// The change that assigns a ticket to `assignee` (or unassigns it), or `None` if it is
/// assigned so already. Who may assign, and to whom, is the caller's check.
pub(crate) fn plan_assignment(
    actor: &Actor,
    ticket: &Ticket,
    assignee: Option<UserId>,
    policy: Planning<'_>,
    now: DateTime<Utc>,
) -> Option<TicketChange> {
    if ticket.assigned_to == assignee {
        return None;
    }
    let event = event(
        actor,
        HistoryKind::Assigned,
        ticket.assigned_to.map(|a| a.to_string()),
        assignee.map(|a| a.to_string()),
        now,
    );
    let mut next = ticket.clone();
    next.assigned_to = assignee;
    Some(finish_change(actor, ticket, next, vec![event], policy, now))
}

/// The change the creator's comment makes to a `waiting` ticket: back to `open`, with a
/// `status_changed` event by the creator; `None` for any other comment.
pub(crate) fn plan_reply(
    actor: &Actor,
    ticket: &Ticket,
    policy: Planning<'_>,
    now: DateTime<Utc>,
) -> Option<TicketChange> {
    if ticket.status != Status::Waiting || ticket.created_by != actor.id {
        return None;
    }
    let event = event(
        actor,
        HistoryKind::StatusChanged,
        Some(Status::Waiting.to_string()),
        Some(Status::Open.to_string()),
        now,
    );
    let mut next = ticket.clone();
    next.status = Status::Open;
    Some(finish_change(actor, ticket, next, vec![event], policy, now))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::Role;
    use crate::testing::ticket;

    fn policy() -> InForce {
        InForce {
            policy: crate::sla::SlaPolicy::default(),
            version: 1,
        }
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        crate::testing::t0() + Duration::minutes(minutes)
    }

    fn patch(status: Option<Status>, priority: Option<crate::Priority>) -> TicketPatch {
        TicketPatch {
            status,
            priority,
            ..TicketPatch::default()
        }
    }

    #[test]
    fn staff_actions_restart_the_clock_and_user_edits_do_not() {
        let policy = policy();
        let creator = Actor::new(UserId(1), Role::User);
        let admin = Actor::new(UserId(9), Role::Admin);
        let t = ticket(UserId(1));

        let by_creator = plan_update(
            &creator,
            &t,
            &patch(None, Some(crate::Priority::High)),
            (&policy, &[]),
            at(30),
        )
        .unwrap()
        .unwrap();
        assert_eq!(by_creator.ticket.clock_started_at, t.clock_started_at);
        assert_eq!(
            by_creator.ticket.due_at,
            Some(at(60)),
            "priority moves due_at from the original start"
        );
        assert_eq!(by_creator.ticket.version, t.version + 1);
        assert_eq!(by_creator.expected_version, t.version);

        let by_admin = plan_update(
            &admin,
            &t,
            &patch(Some(Status::InProgress), None),
            (&policy, &[]),
            at(30),
        )
        .unwrap()
        .unwrap();
        assert_eq!(by_admin.ticket.clock_started_at, at(30));
        assert_eq!(by_admin.ticket.due_at, Some(at(30 + 240)));
        assert_eq!(by_admin.events.len(), 1);
        assert_eq!(by_admin.events[0].from.as_deref(), Some("open"));
        assert_eq!(by_admin.events[0].to.as_deref(), Some("in_progress"));
    }

    #[test]
    fn reopening_restarts_the_clock_and_inactive_tickets_have_no_due_time() {
        let policy = policy();
        let creator = Actor::new(UserId(1), Role::User);
        let mut t = ticket(UserId(1));
        t.status = Status::Resolved;
        t.due_at = None;
        t.resolved_at = Some(at(10));
        let reopened = plan_update(
            &creator,
            &t,
            &patch(Some(Status::Open), None),
            (&policy, &[]),
            at(600),
        )
        .unwrap()
        .unwrap();
        assert_eq!(reopened.ticket.clock_started_at, at(600));
        assert_eq!(reopened.ticket.due_at, Some(at(600 + 240)));
        assert_eq!(reopened.ticket.resolved_at, None);

        let closed = plan_update(
            &creator,
            &reopened.ticket,
            &patch(Some(Status::Closed), None),
            (&policy, &[]),
            at(601),
        )
        .unwrap()
        .unwrap();
        assert_eq!(closed.ticket.due_at, None);
    }

    #[test]
    fn patches_that_change_nothing_write_nothing_and_rules_are_enforced() {
        let policy = policy();
        let creator = Actor::new(UserId(1), Role::User);
        let t = ticket(UserId(1));
        let same = TicketPatch {
            title: Some(t.title.clone()),
            status: Some(Status::Open),
            ..TicketPatch::default()
        };
        assert_eq!(
            plan_update(&creator, &t, &same, (&policy, &[]), at(1)).unwrap(),
            None
        );
        assert!(matches!(
            plan_update(
                &creator,
                &t,
                &patch(Some(Status::InProgress), None),
                (&policy, &[]),
                at(1)
            ),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            plan_update(
                &creator,
                &t,
                &patch(Some(Status::Escalated), None),
                (&policy, &[]),
                at(1)
            ),
            Err(Error::Conflict(_))
        ));
        let mut in_progress = t.clone();
        in_progress.status = Status::InProgress;
        assert!(matches!(
            plan_update(
                &creator,
                &in_progress,
                &patch(None, Some(crate::Priority::Low)),
                (&policy, &[]),
                at(1)
            ),
            Err(Error::Forbidden(_))
        ));
    }

    #[test]
    fn assignment_records_from_and_to_restarts_the_clock_and_is_idempotent() {
        let policy = policy();
        let admin = Actor::new(UserId(9), Role::Admin);
        let t = ticket(UserId(1));

        let change = plan_assignment(&admin, &t, Some(UserId(5)), (&policy, &[]), at(30)).unwrap();
        assert_eq!(change.ticket.assigned_to, Some(UserId(5)));
        assert_eq!(change.expected_version, t.version);
        assert_eq!(change.ticket.version, t.version + 1);
        assert_eq!(change.ticket.clock_started_at, at(30));
        assert_eq!(change.ticket.due_at, Some(at(30) + Duration::hours(4)));
        let [event] = change.events.as_slice() else {
            panic!("one event: {:?}", change.events)
        };
        assert_eq!(event.kind, HistoryKind::Assigned);
        assert_eq!(
            (event.from.as_deref(), event.to.as_deref()),
            (None, Some("5"))
        );

        let assigned = change.ticket;
        assert_eq!(
            plan_assignment(&admin, &assigned, Some(UserId(5)), (&policy, &[]), at(31)),
            None
        );
        let unassigned = plan_assignment(&admin, &assigned, None, (&policy, &[]), at(32)).unwrap();
        assert_eq!(unassigned.ticket.assigned_to, None);
        assert_eq!(
            (
                unassigned.events[0].from.as_deref(),
                unassigned.events[0].to.as_deref()
            ),
            (Some("5"), None)
        );
    }
}
