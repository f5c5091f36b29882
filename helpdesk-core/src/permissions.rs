//! Who may do what: pure functions of the actor and the ticket.
//!
//! Users see the tickets they raised, agents the ones assigned to them (and any they raised
//! themselves), admins everything. List queries do not filter in memory: they hand the
//! actor's [`TicketScope`] to the store, which turns it into SQL.

use crate::{Role, Status, Ticket, UserId};

/// The identity a request acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Actor {
    /// The user acting.
    pub id: UserId,
    /// Their role at the time of the request.
    pub role: Role,
}

impl Actor {
    /// An actor; hosts with their own authentication build one from their user mapping.
    pub const fn new(id: UserId, role: Role) -> Self {
        Self { id, role }
    }

    /// Whether the actor is an admin.
    pub const fn is_admin(&self) -> bool {
        matches!(self.role, Role::Admin)
    }

    /// Whether the actor is an agent or admin.
    pub const fn is_staff(&self) -> bool {
        self.role.is_staff()
    }

    /// The tickets this actor may see.
    pub const fn scope(&self) -> TicketScope {
        match self.role {
            Role::User => TicketScope::CreatedBy(self.id),
            Role::Agent => TicketScope::Involving(self.id),
            Role::Admin => TicketScope::All,
        }
    }
}

/// The set of tickets an actor may see, pushed down into store queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketScope {
    /// Every ticket (admins).
    All,
    /// Tickets raised by this user (users).
    CreatedBy(UserId),
    /// Tickets assigned to this user.
    AssignedTo(UserId),
    /// Tickets assigned to or raised by this user (agents).
    Involving(UserId),
}

impl TicketScope {
    /// Whether `ticket` is in the scope; stores implement the same predicate in SQL.
    pub fn contains(&self, ticket: &Ticket) -> bool {
        match *self {
            TicketScope::All => true,
            TicketScope::CreatedBy(id) => ticket.created_by == id,
            TicketScope::AssignedTo(id) => ticket.assigned_to == Some(id),
            TicketScope::Involving(id) => ticket.created_by == id || ticket.assigned_to == Some(id),
        }
    }
}

/// Whether the actor may see the ticket (and its comments and history).
pub fn can_view(actor: &Actor, ticket: &Ticket) -> bool {
    actor.scope().contains(ticket)
}

/// Whether the actor may comment: the creator, the assigned agent, or an admin.
pub fn can_comment(actor: &Actor, ticket: &Ticket) -> bool {
    can_view(actor, ticket)
}

/// Whether the actor may change title, description or priority:
/// the creator while the ticket is open, or an admin.
pub fn can_edit(actor: &Actor, ticket: &Ticket) -> bool {
    actor.is_admin() || (ticket.created_by == actor.id && ticket.status == Status::Open)
}

/// Why a status change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Someone may make this transition, but not this actor (HTTP 403).
    #[error("you may not move a ticket from {from} to {to}")]
    NotAllowed {
        /// Current status.
        from: Status,
        /// Requested status.
        to: Status,
    },
    /// Nobody may make this transition (HTTP 409).
    #[error("a ticket cannot move from {from} to {to}")]
    Illegal {
        /// Current status.
        from: Status,
        /// Requested status.
        to: Status,
    },
}

/// The transitions open to the assigned agent or an admin.
fn staff_may(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (Open, InProgress | Resolved | Waiting)
            | (InProgress, Resolved | Open | Waiting)
            | (Escalated, InProgress | Resolved | Waiting)
            | (Waiting, Open | InProgress | Resolved)
            | (Resolved, Closed | InProgress)
    )
}

/// The transitions open to admins beyond the staff ones.
fn admin_may(from: Status, to: Status) -> bool {
    (to == Status::Closed && from != Status::Closed) || (from, to) == (Status::Closed, Status::Open)
}

/// The transitions open to the ticket's creator.
fn creator_may(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (Resolved, Open) | (Open | InProgress | Escalated | Waiting, Closed)
    )
}

/// The status-transition table of the HTTP contract, as one function.
///
/// Setting the current status again is a no-op and always allowed. `escalated` is set only by
/// the escalation engine, never through this function.
///
/// ```
/// # use helpdesk_core::{permissions::{check_transition, TransitionError}, Status};
/// # let (admin, creator, assignee) = (true, false, false);
/// assert!(check_transition(admin, creator, assignee, Status::Closed, Status::Open).is_ok());
/// assert!(matches!(
///     check_transition(admin, creator, assignee, Status::Open, Status::Escalated),
///     Err(TransitionError::Illegal { .. })
/// ));
/// ```
pub fn check_transition(
    is_admin: bool,
    is_creator: bool,
    is_assignee: bool,
    from: Status,
    to: Status,
) -> Result<(), TransitionError> {
    if from == to {
        return Ok(());
    }
    let allowed = ((is_admin || is_assignee) && staff_may(from, to))
        || (is_admin && admin_may(from, to))
        || (is_creator && creator_may(from, to));
    if allowed {
        Ok(())
    } else if staff_may(from, to) || admin_may(from, to) || creator_may(from, to) {
        Err(TransitionError::NotAllowed { from, to })
    } else {
        Err(TransitionError::Illegal { from, to })
    }
}

/// [`check_transition`] for an actor on a ticket.
pub fn check_ticket_transition(
    actor: &Actor,
    ticket: &Ticket,
    to: Status,
) -> Result<(), TransitionError> {
    let is_assignee = actor.is_staff() && ticket.assigned_to == Some(actor.id);
    check_transition(
        actor.is_admin(),
        ticket.created_by == actor.id,
        is_assignee,
        ticket.status,
        to,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ticket;
    use Status::*;

    /// The status table of docs/api.md written out row by row, independently of the functions above.
    fn expected(who: &str, from: Status, to: Status) -> bool {
        let staff: &[(Status, Status)] = &[
            (Open, InProgress),
            (Open, Resolved),
            (InProgress, Resolved),
            (InProgress, Open),
            (Escalated, InProgress),
            (Escalated, Resolved),
            (Resolved, Closed),
            (Resolved, InProgress),
            (Open, Waiting),
            (InProgress, Waiting),
            (Escalated, Waiting),
            (Waiting, Open),
            (Waiting, InProgress),
            (Waiting, Resolved),
        ];
        let admin_extra: &[(Status, Status)] = &[
            (Open, Closed),
            (InProgress, Closed),
            (Resolved, Closed),
            (Escalated, Closed),
            (Waiting, Closed),
            (Closed, Open),
        ];
        let creator: &[(Status, Status)] = &[
            (Resolved, Open),
            (Open, Closed),
            (InProgress, Closed),
            (Escalated, Closed),
            (Waiting, Closed),
        ];
        let pair = (from, to);
        from == to
            || match who {
                "admin" => staff.contains(&pair) || admin_extra.contains(&pair),
                "assignee" => staff.contains(&pair),
                "creator" => creator.contains(&pair),
                _ => false,
            }
    }

    #[test]
    fn transition_table_is_exhaustively_as_documented() {
        let everyone = ["admin", "assignee", "creator", "bystander"];
        for who in everyone {
            for &from in Status::ALL {
                for &to in Status::ALL {
                    let result = check_transition(
                        who == "admin",
                        who == "creator",
                        who == "assignee",
                        from,
                        to,
                    );
                    assert_eq!(
                        result.is_ok(),
                        expected(who, from, to),
                        "{who}: {from} -> {to} gave {result:?}"
                    );
                    let anyone = everyone.iter().any(|w| expected(w, from, to));
                    match result {
                        Err(TransitionError::Illegal { .. }) => assert!(!anyone),
                        Err(TransitionError::NotAllowed { .. }) => assert!(anyone),
                        Ok(()) => {}
                    }
                }
            }
        }
        for &from in Status::ALL {
            if from != Escalated {
                assert!(matches!(
                    check_transition(true, true, true, from, Escalated),
                    Err(TransitionError::Illegal { .. })
                ));
            }
        }
    }

    #[test]
    fn visibility_and_edit_rights_for_every_role_and_status() {
        let creator = UserId(1);
        let agent = UserId(2);
        let other_agent = UserId(3);
        let admin = UserId(4);
        let stranger = UserId(5);
        for &status in Status::ALL {
            for assigned in [None, Some(agent)] {
                let mut t = ticket(creator);
                t.status = status;
                t.assigned_to = assigned;
                let cases = [
                    (Actor::new(creator, Role::User), true, status == Open),
                    (Actor::new(stranger, Role::User), false, false),
                    (Actor::new(agent, Role::Agent), assigned.is_some(), false),
                    (Actor::new(other_agent, Role::Agent), false, false),
                    (Actor::new(admin, Role::Admin), true, true),
                ];
                for (actor, view, edit) in cases {
                    assert_eq!(
                        can_view(&actor, &t),
                        view,
                        "{actor:?} view {status} {assigned:?}"
                    );
                    assert_eq!(can_comment(&actor, &t), view);
                    assert_eq!(can_edit(&actor, &t), edit, "{actor:?} edit {status}");
                    assert_eq!(actor.scope().contains(&t), view);
                }
            }
        }
    }

    #[test]
    fn agents_see_tickets_they_raised() {
        let agent = Actor::new(UserId(7), Role::Agent);
        let t = ticket(UserId(7));
        assert!(can_view(&agent, &t));
        assert!(TicketScope::Involving(UserId(7)).contains(&t));
        assert!(!TicketScope::AssignedTo(UserId(7)).contains(&t));
    }

    #[test]
    fn only_the_assigned_agent_moves_a_ticket() {
        let mut t = ticket(UserId(1));
        t.assigned_to = Some(UserId(2));
        let assigned = Actor::new(UserId(2), Role::Agent);
        let other = Actor::new(UserId(3), Role::Agent);
        assert!(check_ticket_transition(&assigned, &t, InProgress).is_ok());
        assert!(matches!(
            check_ticket_transition(&other, &t, InProgress),
            Err(TransitionError::NotAllowed { .. })
        ));
        // A user who happens to be "assigned" (data from before a demotion) is not staff.
        let demoted = Actor::new(UserId(2), Role::User);
        assert!(check_ticket_transition(&demoted, &t, InProgress).is_err());
    }
}
