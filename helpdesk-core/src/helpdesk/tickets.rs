//! Tickets: listing, raising, reading, changing (with optimistic concurrency), assigning,
//! deleting; the report and a manual escalation sweep.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::throttle::{HOUR, throttle_key};
use super::{Helpdesk, forbidden, require_admin};
use crate::changes::{Planning, plan_assignment, plan_update};
use crate::permissions::{Actor, can_view};
use crate::store::{TicketChange, TicketDraft};
use crate::{
    Error, EscalationReport, FieldErrors, NewTicket, Page, PageRequest, Report, Result, Sla,
    SlaReport, Status, Ticket, TicketId, TicketPatch, TicketQuery, UserId,
};

/// How many times a change is recomputed when another writer got there first.
pub(super) const OPTIMISTIC_RETRIES: u32 = 12;

/// Waits a little before recomputing a change that lost a race: a random 0 to 2^attempt
/// milliseconds (capped at 64), so writers that collided spread out instead of colliding again.
pub(super) async fn back_off(attempt: u32) {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    let cap = 1u64 << attempt.min(6);
    tokio::time::sleep(StdDuration::from_millis(u64::from(byte[0]) % (cap + 1))).await;
}

impl Helpdesk {
    /// The tickets the actor may see that match `query`.
    pub async fn list_tickets(
        &self,
        actor: &Actor,
        query: &TicketQuery,
        page: PageRequest,
    ) -> Result<Page<Ticket>> {
        Ok(self
            .inner
            .store
            .list_tickets(actor.scope(), query, page)
            .await?)
    }

    /// Raises a ticket (status `open`, escalation clock started); [`Error::RateLimited`] past
    /// [`RateLimits::tickets_per_hour`](super::RateLimits::tickets_per_hour).
    pub async fn create_ticket(&self, actor: &Actor, new: NewTicket) -> Result<Ticket> {
        let key = throttle_key(&["tickets", &actor.id.to_string()]);
        let quota = self.quota(key, self.inner.limits.tickets_per_hour, HOUR);
        let now = quota.at;
        let policy = self.policy().await?;
        let sla = Sla {
            policy_version: policy.version,
            ..policy.policy.opening(new.priority, now)
        };
        let draft = TicketDraft {
            due_at: sla.next_due(Status::Open),
            sla,
            title: new.title,
            description: new.description,
            priority: new.priority,
            created_by: actor.id,
            created_at: now,
        };
        // The hit is counted in the ticket's own transaction: one commit to wait for, not two.
        match self
            .inner
            .store
            .insert_ticket_within(&draft, &quota)
            .await?
        {
            Ok(ticket) => Ok(ticket),
            Err(hits) => Err(self.refuse("tickets", hits)),
        }
    }

    /// A ticket the actor may see.
    pub async fn get_ticket(&self, actor: &Actor, id: TicketId) -> Result<Ticket> {
        match self.inner.store.ticket(id).await? {
            Some(ticket) if can_view(actor, &ticket) => Ok(ticket),
            _ => Err(Error::NotFound),
        }
    }

    /// Reads the ticket and its pauses, computes a change with `plan` under the policy in
    /// force, and writes it if nobody changed the ticket meanwhile; recomputes on a lost race
    /// unless the caller pinned a version.
    async fn change_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        if_match: Option<i64>,
        plan: impl Fn(&Ticket, Planning<'_>, DateTime<Utc>) -> Result<Option<TicketChange>>,
    ) -> Result<Ticket> {
        for attempt in 0..OPTIMISTIC_RETRIES {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let ticket = self.get_ticket(actor, id).await?;
            if let Some(expected) = if_match
                && expected != ticket.version
            {
                return Err(Error::PreconditionFailed {
                    current: ticket.version,
                });
            }
            let policy = self.policy().await?;
            let pauses = self.inner.store.pauses(id).await?;
            let Some(change) = plan(&ticket, (&policy, &pauses), self.now())? else {
                return Ok(ticket);
            };
            if self.inner.store.update_ticket(&change).await? {
                return Ok(change.ticket);
            }
        }
        Err(Error::Conflict(
            "the ticket is being changed by others; try again".into(),
        ))
    }

    /// Edits a ticket and/or moves its status, as the ticket rules allow. With `if_match`,
    /// [`Error::PreconditionFailed`] if the ticket is no longer at that version.
    pub async fn update_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        patch: TicketPatch,
        if_match: Option<i64>,
    ) -> Result<Ticket> {
        self.change_ticket(actor, id, if_match, |ticket, policy, now| {
            plan_update(actor, ticket, &patch, policy, now)
        })
        .await
    }

    /// Assigns a ticket to an active agent or admin, or unassigns it with `None` (admins).
    pub async fn assign_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        assignee: Option<UserId>,
        if_match: Option<i64>,
    ) -> Result<Ticket> {
        if !actor.is_admin() {
            // Whoever may not see the ticket must not learn that it exists: 404 before 403.
            self.get_ticket(actor, id).await?;
            return Err(forbidden("only admins may assign tickets"));
        }
        if let Some(assignee) = assignee {
            let staff = self.inner.store.user(assignee).await?;
            if !staff.is_some_and(|u| u.is_active && u.role.is_staff()) {
                return Err(Error::invalid(
                    "agent_id",
                    "must be the id of an active agent or admin",
                ));
            }
        }
        self.change_ticket(actor, id, if_match, |ticket, policy, now| {
            Ok(plan_assignment(actor, ticket, assignee, policy, now))
        })
        .await
    }

    /// Deletes a ticket with its comments and history (admins).
    pub async fn delete_ticket(&self, actor: &Actor, id: TicketId) -> Result<()> {
        if !actor.is_admin() {
            self.get_ticket(actor, id).await?;
            return Err(forbidden("only admins may delete tickets"));
        }
        if self
            .inner
            .store
            .delete_ticket(id, actor.id, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Tickets opened, resolved and escalated in the last 7 days, among those the actor may see.
    pub async fn report_last_7_days(&self, actor: &Actor) -> Result<Report> {
        let since = self.now() - Duration::days(7);
        Ok(self.inner.store.report(actor.scope(), since).await?)
    }

    /// The service-level report of the last `days` days (1 to 366), over the tickets the actor
    /// may see; see [`TicketStore::sla_report`](crate::store::TicketStore::sla_report).
    pub async fn sla_report(&self, actor: &Actor, days: u32) -> Result<SlaReport> {
        if !(1..=366).contains(&days) {
            let mut errors = FieldErrors::new();
            errors.add("days", "must be 1 to 366");
            return Err(Error::Validation(errors));
        }
        let to = self.now();
        let from = to - Duration::days(i64::from(days));
        let by_priority = self.inner.store.sla_report(actor.scope(), from, to).await?;
        Ok(SlaReport {
            from,
            to,
            by_priority,
        })
    }

    /// Runs one escalation sweep now (admins).
    pub async fn run_escalation(&self, actor: &Actor) -> Result<EscalationReport> {
        require_admin(actor, "run escalations")?;
        self.escalation_engine().run_once(self.now()).await
    }
}
