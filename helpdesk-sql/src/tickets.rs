//! Tickets, comments, history, the escalation sweep and the report.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::store::{
    ClockRestart, CommentDraft, CommentEffect, CommentStore, DeadlineUpdate, HistoryStore, Hits,
    PauseChange, PauseRecord, Quota, Sweep, TicketChange, TicketDraft, TicketStore,
};
use helpdesk_core::store::{StoreError, StoreResult};
use helpdesk_core::webhooks::{Event, EventType};
use helpdesk_core::{
    Alert, Comment, EscalationReport, HistoryEvent, HistoryKind, NewEvent, Page, PageRequest,
    Priority, Recipients, Report, SlaByPriority, Ticket, TicketId, TicketQuery, TicketScope,
    UserId,
};
use sqlx::{
    ColumnIndex, Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Row,
    Transaction, Type, query_builder::Separated,
};

use crate::error::{priority, store_error as db};
use crate::filters::{
    push_list, push_page, push_scope_ids, push_scope_sides, ticket_count, ticket_page,
};
use crate::rows::{
    CommentRow, Counted, EventRow, PauseRow, TicketRow, as_count, comment_columns, convert,
    event_columns, from_json, pause_columns, ticket_columns,
};
use crate::users::refusals;
use crate::webhooks::Subscribers;
use crate::window::Reading;
use crate::{Dialect, SqlStore, Value, batch, sql};

/// The resolution deadline unless its breach is of that same deadline, else `NULL`.
macro_rules! unbreached_resolve {
    () => {
        "(CASE WHEN resolve_breach_due IS NULL OR resolve_breach_due <> resolve_due_at \
         THEN resolve_due_at END)"
    };
}

/// A warning instant written only if its deadline was not warned of already: a change
/// planned from a ticket read before its warning went out must not set it again.
macro_rules! unless_warned {
    ($warned:literal, $due:literal, $warn:literal) => {
        concat!(
            "CASE WHEN ",
            $warned,
            " IS NOT DISTINCT FROM ",
            $due,
            " THEN NULL ELSE ",
            $warn,
            " END"
        )
    };
}

/// The columns a sweep's emails fill in the outbox.
const OUTBOX_INSERT: &str = "INSERT INTO outbox (ticket_id, user_id, recipient, alert, target, \
                             due_at, escalated_at, next_attempt_at, reminder, time_zone) ";

/// The most tickets one statement lists by id.
const IDS_PER_STATEMENT: usize = 1000;

/// One part of the escalation sweep (see [`TicketStore::escalate_overdue`]): a breach of one
/// target, a warning of one target, or a reminder. SQL fragments read the ticket as `t`.
struct SweepPass {
    /// What the pass raises: which history kind claims the ticket, who is emailed (see
    /// [`TicketStore::escalate_overdue`]), which list of the report it joins.
    alert: Alert,
    /// The history event's `from` and `to`.
    from: &'static str,
    to: &'static str,
    /// Which tickets the pass claims at `$1`, led by an indexed comparison; `{status}` is the
    /// status, which must not pick an index (see [`Dialect::UNINDEXED`]).
    due: &'static str,
    /// The target and deadline the email is about.
    target: &'static str,
    deadline: &'static str,
    /// What the pass writes on the ticket besides; `{remind}` is the next reminder of its
    /// priority, `{max}` the most reminders.
    set: &'static str,
}

impl SweepPass {
    /// The history kind that records the pass and claims the ticket.
    fn kind(&self) -> HistoryKind {
        match self.alert {
            Alert::Escalation => HistoryKind::Escalated,
            Alert::Warning => HistoryKind::SlaWarning,
            Alert::Reminder => HistoryKind::EscalationReminder,
        }
    }

    /// The history entry of the pass on a ticket whose status and reminder number were
    /// `status` and `reminder` (for its webhook event).
    fn event(&self, status: Option<String>, reminder: i32, at: DateTime<Utc>) -> NewEvent {
        let (from, to) = match self.alert {
            Alert::Escalation => (status, self.to.trim_matches('\'')),
            Alert::Warning => (None, self.to.trim_matches('\'')),
            Alert::Reminder => (None, ""),
        };
        NewEvent {
            actor_id: None,
            kind: self.kind(),
            from,
            to: Some(match self.alert {
                Alert::Reminder => reminder.to_string(),
                _ => to.to_owned(),
            }),
            at,
        }
    }

    /// The email's reminder number.
    fn reminder(&self) -> &'static str {
        match self.alert {
            Alert::Reminder => "t.reminders_sent + 1",
            _ => "CAST(NULL AS INTEGER)",
        }
    }
}

/// What an escalation writes besides the breach: status, times, version, and, if the ticket
/// was not escalated yet, its reminders from zero.
macro_rules! escalate {
    () => {
        "status = 'escalated', escalated_at = $1, updated_at = $1, version = version + 1, \
         remind_at = CASE WHEN status <> 'escalated' THEN {remind} ELSE remind_at END, \
         reminders_sent = CASE WHEN status <> 'escalated' THEN 0 ELSE reminders_sent END, "
    };
}

/// Breaches first (the update target's first: a ticket whose update breach leaves a
/// resolution deadline passed too is found again by the second pass, in the same
/// transaction), so a late sweep escalates rather than warns; then warnings of deadlines still
/// ahead; then reminders, which never go out in the sweep that escalates.
const SWEEP: [SweepPass; 5] = [
    SweepPass {
        alert: Alert::Escalation,
        from: "t.status",
        to: "'update'",
        due: "t.due_at IS NOT NULL AND t.due_at <= $1 AND {status} IN ('open', 'in_progress') \
              AND t.update_due_at <= $1 AND t.update_breach_due IS NULL",
        target: "'update'",
        deadline: "t.update_due_at",
        set: concat!(
            escalate!(),
            "update_breach_due = update_due_at, update_breached_at = $1, update_warn_at = NULL, \
             due_at = ",
            unbreached_resolve!()
        ),
    },
    SweepPass {
        alert: Alert::Escalation,
        from: "t.status",
        to: "'resolution'",
        due: "t.due_at IS NOT NULL AND t.due_at <= $1 \
              AND {status} IN ('open', 'in_progress', 'escalated') AND t.resolve_due_at <= $1 \
              AND (t.resolve_breach_due IS NULL OR t.resolve_breach_due <> t.resolve_due_at)",
        target: "'resolution'",
        deadline: "t.resolve_due_at",
        set: concat!(
            escalate!(),
            "resolve_breach_due = resolve_due_at, resolve_breached_at = $1, due_at = NULL, \
             update_warn_at = NULL, resolve_warn_at = NULL, \
             update_due_at = CASE WHEN update_breach_due IS NULL THEN NULL ELSE update_due_at END"
        ),
    },
    SweepPass {
        alert: Alert::Warning,
        from: "NULL",
        to: "'update'",
        due: "t.update_warn_at <= $1 AND t.update_due_at > $1 AND t.update_breach_due IS NULL \
              AND {status} IN ('open', 'in_progress')",
        target: "'update'",
        deadline: "t.update_due_at",
        set: "update_warn_at = NULL, update_warned_due = update_due_at",
    },
    SweepPass {
        alert: Alert::Warning,
        from: "NULL",
        to: "'resolution'",
        due: "t.resolve_warn_at <= $1 AND t.resolve_due_at > $1 \
              AND {status} IN ('open', 'in_progress', 'escalated')",
        target: "'resolution'",
        deadline: "t.resolve_due_at",
        set: "resolve_warn_at = NULL, resolve_warned_due = resolve_due_at",
    },
    SweepPass {
        alert: Alert::Reminder,
        from: "NULL",
        to: "CAST(t.reminders_sent + 1 AS TEXT)",
        due: "t.remind_at <= $1 AND {status} = 'escalated' AND t.reminders_sent < {max}",
        target: "CASE WHEN t.update_breach_due IS NOT NULL THEN 'update' ELSE 'resolution' END",
        deadline: "coalesce(t.update_breach_due, t.resolve_breach_due, t.escalated_at)",
        set: "reminders_sent = reminders_sent + 1, \
              remind_at = CASE WHEN reminders_sent + 1 < {max} THEN {remind} END",
    },
];

impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    i16: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    Option<i64>: Value<D::Db>,
    Option<bool>: Value<D::Db>,
    Option<String>: Value<D::Db>,
    Option<Vec<u8>>: Value<D::Db>,
    Option<D::Time>: Value<D::Db>,
{
    /// Records `events`, each of its ticket, a statement for each chunk of them.
    async fn insert_event_rows(
        tx: &mut Transaction<'static, D::Db>,
        events: &[(TicketId, &NewEvent)],
    ) -> StoreResult<()> {
        for chunk in batch::chunks(events) {
            let mut qb = QueryBuilder::new(
                "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) ",
            );
            qb.push_values(chunk, |mut row, (ticket, e)| {
                row.push_bind(ticket.0)
                    .push_bind(e.actor_id.map(|a| a.0))
                    .push_bind(e.kind.as_str())
                    .push_bind(e.from.clone())
                    .push_bind(e.to.clone())
                    .push_bind(D::encode_time(e.at));
            });
            qb.build().execute(&mut **tx).await.map_err(db::<D>)?;
        }
        Ok(())
    }

    /// Restarts the update clocks of tickets (see [`ClockRestart`]), a statement for each
    /// chunk of them: `false` for each whose ticket does not exist.
    async fn restart_clocks(
        tx: &mut Transaction<'static, D::Db>,
        restarts: &[(TicketId, &ClockRestart)],
    ) -> StoreResult<Vec<bool>> {
        let ids: Vec<TicketId> = restarts.iter().map(|(id, _)| *id).collect();
        let set = format!(
            "UPDATE tickets SET clock_started_at = v_at, updated_at = v_at, \
             version = version + 1, \
             update_due_at = CASE WHEN {active} THEN {due} ELSE update_due_at END, \
             update_warn_at = CASE WHEN NOT {active} THEN update_warn_at \
                                   WHEN update_warned_due IS NOT DISTINCT FROM {due} THEN NULL \
                                   ELSE {warn} END, \
             first_response_at = CASE WHEN v_first IS NULL THEN first_response_at \
                                      ELSE coalesce(first_response_at, v_at) END, \
             first_response_seconds = coalesce(first_response_seconds, v_first), \
             update_breach_due = CASE WHEN {active} THEN NULL ELSE update_breach_due END, \
             update_breached_at = CASE WHEN {active} THEN NULL ELSE update_breached_at END, \
             due_at = CASE WHEN NOT {active} THEN due_at \
                           WHEN {resolve} IS NULL THEN {due} \
                           WHEN {due} IS NULL OR {resolve} < {due} THEN {resolve} \
                           ELSE {due} END \
             FROM v WHERE tickets.id = v_id RETURNING tickets.id",
            active = "status IN ('open', 'in_progress')",
            due = "(CASE priority WHEN 0 THEN v_low WHEN 1 THEN v_medium ELSE v_high END)",
            warn = "(CASE priority WHEN 0 THEN v_warn_low WHEN 1 THEN v_warn_medium \
                    ELSE v_warn_high END)",
            resolve = unbreached_resolve!(),
        );
        let columns = "v_id, v_at, v_low, v_medium, v_high, v_warn_low, v_warn_medium, \
                       v_warn_high, v_first";
        Self::update_each(tx, &ids, columns, &set, |mut row, i| {
            let (id, r) = restarts[i];
            let [low, medium, high] = r.due_by_rank.map(|due| due.map(D::encode_time));
            let [warn_low, warn_medium, warn_high] =
                r.warn_by_rank.map(|at| at.map(D::encode_time));
            row.push_bind(id.0)
                .push_bind(D::encode_time(r.at))
                .push_bind(low)
                .push_bind(medium)
                .push_bind(high)
                .push_bind(warn_low)
                .push_bind(warn_medium)
                .push_bind(warn_high)
                .push_bind(r.first_response_seconds);
        })
        .await
    }

    /// Applies ticket changes in `tx`, in their order: the new state of each whose version is
    /// still the expected one (a statement for each chunk of them), their events and pauses,
    /// their webhook events; `false` (nothing written) for each whose version is not, or
    /// whose ticket does not exist.
    async fn apply_changes(
        tx: &mut Transaction<'static, D::Db>,
        changes: &[&TicketChange],
        subscribers: &Subscribers,
    ) -> StoreResult<Vec<bool>> {
        let ids: Vec<TicketId> = changes.iter().map(|c| c.ticket.id).collect();
        let set = concat!(
            "UPDATE tickets SET title = v_title, description = v_description, \
             priority = v_priority, status = v_status, assigned_to = v_assigned_to, \
             updated_at = v_updated_at, resolved_at = v_resolved_at, \
             escalated_at = v_escalated_at, due_at = v_due_at, \
             clock_started_at = v_clock_started_at, version = version + 1, \
             update_due_at = v_update_due_at, resolve_due_at = v_resolve_due_at, \
             update_breach_due = v_update_breach_due, update_breached_at = v_update_breached_at, \
             resolve_breach_due = v_resolve_breach_due, \
             resolve_breached_at = v_resolve_breached_at, waiting_since = v_waiting_since, \
             paused_seconds = v_paused_seconds, sla_version = v_sla_version, \
             remind_at = CASE WHEN v_status = 'escalated' THEN remind_at END, update_warn_at = ",
            unless_warned!("update_warned_due", "v_update_due_at", "v_update_warn_at"),
            ", resolve_warn_at = ",
            unless_warned!(
                "resolve_warned_due",
                "v_resolve_due_at",
                "v_resolve_warn_at"
            ),
            ", first_response_at = coalesce(first_response_at, v_first_response_at), \
             first_response_seconds = coalesce(first_response_seconds, v_first_response_seconds) \
             FROM v WHERE tickets.id = v_id AND tickets.version = v_expected \
             RETURNING tickets.id"
        );
        let columns = "v_id, v_expected, v_title, v_description, v_priority, v_status, \
                       v_assigned_to, v_updated_at, v_resolved_at, v_escalated_at, v_due_at, \
                       v_clock_started_at, v_update_due_at, v_resolve_due_at, \
                       v_update_breach_due, v_update_breached_at, v_resolve_breach_due, \
                       v_resolve_breached_at, v_waiting_since, v_paused_seconds, v_sla_version, \
                       v_update_warn_at, v_resolve_warn_at, v_first_response_at, \
                       v_first_response_seconds";
        let applied = Self::update_each(tx, &ids, columns, set, |mut row, i| {
            let (t, expected) = (&changes[i].ticket, changes[i].expected_version);
            let sla = &t.sla;
            let time = |at: Option<DateTime<Utc>>| at.map(D::encode_time);
            row.push_bind(t.id.0)
                .push_bind(expected)
                .push_bind(t.title.clone())
                .push_bind(t.description.clone())
                .push_bind(t.priority.rank())
                .push_bind(t.status.as_str())
                .push_bind(t.assigned_to.map(|a| a.0))
                .push_bind(D::encode_time(t.updated_at))
                .push_bind(time(t.resolved_at))
                .push_bind(time(t.escalated_at))
                .push_bind(time(t.due_at))
                .push_bind(D::encode_time(t.clock_started_at))
                .push_bind(time(sla.update_due_at))
                .push_bind(time(sla.resolve_due_at))
                .push_bind(time(sla.update_breach.map(|b| b.due_at)))
                .push_bind(time(sla.update_breach.map(|b| b.at)))
                .push_bind(time(sla.resolve_breach.map(|b| b.due_at)))
                .push_bind(time(sla.resolve_breach.map(|b| b.at)))
                .push_bind(time(sla.waiting_since))
                .push_bind(sla.paused_seconds)
                .push_bind(sla.policy_version)
                .push_bind(time(sla.update_warn_at))
                .push_bind(time(sla.resolve_warn_at))
                .push_bind(time(sla.first_response_at))
                .push_bind(sla.first_response_seconds);
        })
        .await?;
        let written: Vec<&TicketChange> = changes
            .iter()
            .zip(&applied)
            .filter_map(|(c, &applied)| applied.then_some(*c))
            .collect();
        let events: Vec<(TicketId, &NewEvent)> = written
            .iter()
            .flat_map(|c| c.events.iter().map(|e| (c.ticket.id, e)))
            .collect();
        Self::insert_event_rows(tx, &events).await?;
        for c in &written {
            if let Some(pause) = &c.pause {
                Self::move_pause(tx, c.ticket.id, pause).await?;
            }
        }
        let events: Vec<Event> = written
            .iter()
            .flat_map(|c| {
                c.events
                    .iter()
                    .filter(|e| EventType::of_history(e.kind).is_some_and(|t| subscribers.want(t)))
                    .filter_map(|e| Event::of_history(&c.ticket, e))
            })
            .collect();
        Self::queue_events(tx, subscribers, &events).await?;
        Ok(applied)
    }

    /// Runs `set`, an `UPDATE tickets ... FROM v WHERE tickets.id = v_id ... RETURNING
    /// tickets.id`, with `v (columns)` the rows `push_row` pushes for the positions of `ids`: a
    /// statement for each chunk of tickets that are all different (a ticket written twice is
    /// written by two statements, in order). Whether each ticket's row was updated.
    async fn update_each(
        tx: &mut Transaction<'static, D::Db>,
        ids: &[TicketId],
        columns: &str,
        set: &str,
        mut push_row: impl FnMut(Separated<'_, D::Db, &'static str>, usize),
    ) -> StoreResult<Vec<bool>> {
        let mut updated = vec![false; ids.len()];
        for mut round in batch::distinct_rounds(ids) {
            // Each ticket is in a round once, so its order is free: by id, the order in which
            // PostgreSQL's sweep locks tickets too, so that two writers rarely each hold a
            // ticket the other waits for (a deadlock fails a group, which is then written job
            // by job).
            round.sort_by_key(|&i| ids[i]);
            for chunk in batch::chunks(&round) {
                let mut qb = QueryBuilder::new(format!("WITH v ({columns}) AS ("));
                qb.push_values(chunk, |row, &i| push_row(row, i));
                qb.push(") ").push(set);
                let returned: Vec<i64> = qb
                    .build_query_scalar()
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db::<D>)?;
                for &i in chunk {
                    updated[i] = returned.contains(&ids[i].0);
                }
            }
        }
        Ok(updated)
    }

    /// Ends the ticket's current pause and/or starts one.
    async fn move_pause(
        tx: &mut Transaction<'static, D::Db>,
        ticket: TicketId,
        pause: &PauseChange,
    ) -> StoreResult<()> {
        let at = D::encode_time(pause.at);
        let by = pause.by.map(|u| u.0);
        if pause.ends_current {
            sqlx::query(
                "UPDATE ticket_pauses SET ended_at = $1, ended_by = $2 \
                 WHERE ticket_id = $3 AND ended_at IS NULL",
            )
            .bind(at)
            .bind(by)
            .bind(ticket.0)
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
        }
        if let Some(status) = pause.starts {
            sqlx::query(
                "INSERT INTO ticket_pauses (ticket_id, status, started_at, started_by) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(ticket.0)
            .bind(status.as_str())
            .bind(at)
            .bind(by)
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
        }
        Ok(())
    }

    /// One pass of the sweep: claims the tickets due for `pass` at `sweep.now` by recording
    /// their events, queues their emails, writes the pass on them. The ids claimed and how
    /// many emails were queued.
    async fn sweep(
        tx: &mut Transaction<'static, D::Db>,
        pass: &SweepPass,
        sweep: &Sweep<'_>,
        subscribers: &Subscribers,
    ) -> StoreResult<(Vec<i64>, u64)> {
        let now = D::encode_time(sweep.now);
        let max = sweep.max_reminders.to_string();
        // 1. Claim the tickets by recording their events. Breaches are read from the `due_at`
        // index, warnings and reminders from their partial indexes; never from the status
        // index, which walks every active ticket (a pass that finds nothing among 1M tickets:
        // 190 to 300 ms from the status index, under 1 ms from its own).
        let claim = format!(
            "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at, priority) \
             SELECT t.id, NULL, '{kind}', {from}, {to}, $1, t.priority FROM tickets t \
             WHERE {due}{claim}",
            kind = pass.kind().as_str(),
            from = pass.from,
            to = pass.to,
            due = pass
                .due
                .replace("{max}", &max)
                .replace("{status}", &format!("{}t.status", D::UNINDEXED)),
            claim = D::CLAIM
        );
        let claimed: Vec<i64> = match D::ids_as_json("ticket_id") {
            // The events are the rows after the last one before them (the write lock keeps
            // every other writer out), their tickets read back as one value instead of a row
            // each (with the update no longer returning them either: 15,000 breaches swept
            // through the API in 183 ms instead of 203, medians of five).
            Some(aggregate) => {
                let last: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM history")
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db::<D>)?;
                sqlx::query(sql(claim))
                    .bind(now)
                    .execute(&mut **tx)
                    .await
                    .map_err(db::<D>)?;
                let events = format!(
                    "SELECT {aggregate} FROM (SELECT ticket_id FROM history WHERE id > $1) AS t"
                );
                let json: String = sqlx::query_scalar(sql(events))
                    .bind(last.unwrap_or_default())
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db::<D>)?;
                from_json(&json)?
            }
            None => sqlx::query_scalar(sql(claim + " RETURNING ticket_id"))
                .bind(now)
                .fetch_all(&mut **tx)
                .await
                .map_err(db::<D>)?,
        };
        if claimed.is_empty() {
            return Ok((Vec::new(), 0));
        }
        // The claimed tickets are found by id from here on: a join with the events just
        // written let PostgreSQL, which has no statistics on them yet, compare every ticket
        // with every event (24 s for 20,000 tickets).
        let claimed_ids = D::encode_ids(&claimed);
        // 2. One email per recipient.
        let queued = match sweep.recipients {
            None => Self::queue_mail(tx, pass, sweep, &claimed).await?,
            Some(rule) => Self::queue_mail_to(tx, pass, sweep, &claimed, rule).await?,
        };
        // Their webhook events, if anyone wants them: the values before the pass...
        let wanted = EventType::of_history(pass.kind()).is_some_and(|t| subscribers.want(t));
        let before: Vec<(i64, String, i32)> = if wanted {
            let select = format!(
                "SELECT t.id, t.status, t.reminders_sent FROM tickets t \
                 WHERE t.id >= $1 AND {} ORDER BY t.id",
                D::IN_IDS_2
            );
            sqlx::query_as(sql(select))
                .bind(claimed.iter().min().copied().unwrap_or_default())
                .bind(&claimed_ids)
                .fetch_all(&mut **tx)
                .await
                .map_err(db::<D>)?
        } else {
            Vec::new()
        };
        // 3. Write the pass on them: every one, since nothing else writes them before the
        // commit (the write lock in SQLite, the claim's row locks in PostgreSQL).
        let remind = "(CASE t.priority WHEN 0 THEN $3 WHEN 1 THEN $4 ELSE $5 END)";
        let set = pass.set.replace("{max}", &max);
        let mut write = sqlx::query(sql(format!(
            "UPDATE tickets AS t SET {} WHERE {}",
            set.replace("{remind}", remind),
            D::IN_IDS_2
        )))
        .bind(now)
        .bind(&claimed_ids);
        if set.contains("{remind}") {
            for at in sweep.remind_by_rank {
                write = write.bind(at.map(D::encode_time));
            }
        }
        write.execute(&mut **tx).await.map_err(db::<D>)?;
        // ... and the tickets after it.
        if wanted {
            let rows = Self::ticket_rows(tx, &claimed, &claimed_ids).await?;
            let mut events = Vec::with_capacity(rows.len());
            for (row, (_, status, reminders)) in rows.into_iter().zip(&before) {
                let ticket = row.into_ticket::<D>()?;
                let e = pass.event(Some(status.clone()), reminders + 1, sweep.now);
                events.extend(Event::of_history(&ticket, &e));
            }
            Self::queue_events(tx, subscribers, &events).await?;
        }
        Ok((claimed, queued))
    }

    /// The tickets `ids` (encoded as `encoded`), by id: as one JSON value where the dialect
    /// reads rows that way (2,000 tickets: 23 ms row by row, 5 as one value, on SQLite).
    async fn ticket_rows(
        tx: &mut Transaction<'static, D::Db>,
        ids: &[i64],
        encoded: &D::Ids,
    ) -> StoreResult<Vec<TicketRow<D::Time>>> {
        let first = ids.iter().min().copied().unwrap_or_default();
        let rows = format!(
            "SELECT {} FROM tickets t WHERE t.id >= $1 AND {}",
            ticket_columns!(),
            D::IN_IDS_2
        );
        match D::rows_as_json(ticket_columns!(), " ORDER BY t.id") {
            Some(aggregate) => {
                let json: String =
                    sqlx::query_scalar(sql(format!("SELECT {aggregate} FROM ({rows}) AS t")))
                        .bind(first)
                        .bind(encoded)
                        .fetch_one(&mut **tx)
                        .await
                        .map_err(db::<D>)?;
                from_json(&json)
            }
            None => sqlx::query_as(sql(rows + " ORDER BY t.id"))
                .bind(first)
                .bind(encoded)
                .fetch_all(&mut **tx)
                .await
                .map_err(db::<D>),
        }
    }

    /// Queues a pass's emails about `tickets` to their default audience; how many.
    async fn queue_mail(
        tx: &mut Transaction<'static, D::Db>,
        pass: &SweepPass,
        sweep: &Sweep<'_>,
        tickets: &[i64],
    ) -> StoreResult<u64> {
        let row = |user: &str| {
            format!(
                "SELECT t.id, {user}.id, {user}.email, '{alert}', {target}, {deadline}, $1, $1, \
                 {reminder}, $3 FROM tickets t",
                alert = pass.alert.as_str(),
                target = pass.target,
                deadline = pass.deadline,
                reminder = pass.reminder(),
            )
        };
        let admins = format!(
            " CROSS JOIN (SELECT id, email FROM users WHERE role = 'admin' AND is_active = {}) a",
            D::TRUE
        );
        let claimed = D::IN_IDS_2;
        let active = D::TRUE;
        let select = match pass.alert {
            Alert::Escalation => format!(
                "{} JOIN users u ON u.id = t.created_by WHERE {claimed} AND u.is_active = {active} \
                 UNION ALL {}{admins} WHERE {claimed} AND a.id <> t.created_by",
                row("u"),
                row("a"),
            ),
            Alert::Warning => format!(
                "{} JOIN users u ON u.id = t.assigned_to WHERE {claimed} AND u.is_active = {active} \
                 UNION ALL {}{admins} WHERE {claimed} AND NOT EXISTS \
                 (SELECT 1 FROM users x WHERE x.id = t.assigned_to AND x.is_active = {active})",
                row("u"),
                row("a"),
            ),
            Alert::Reminder => format!("{}{admins} WHERE {claimed}", row("a")),
        };
        let queued = sqlx::query(sql(format!("{OUTBOX_INSERT}{select}")))
            .bind(D::encode_time(sweep.now))
            .bind(D::encode_ids(tickets))
            .bind(sweep.time_zone)
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
        Ok(D::rows_affected(&queued))
    }

    /// Queues a pass's emails about `claimed` to whom `rule` says, and to the default audience
    /// where it says nothing; how many.
    async fn queue_mail_to(
        tx: &mut Transaction<'static, D::Db>,
        pass: &SweepPass,
        sweep: &Sweep<'_>,
        claimed: &[i64],
        rule: &dyn Recipients,
    ) -> StoreResult<u64> {
        // The ids are bound as `$2` (`Dialect::IN_IDS_2`); `$1` is their number, as a limit.
        let select = format!(
            "SELECT {} FROM tickets t WHERE {} ORDER BY t.id LIMIT $1",
            ticket_columns!(),
            D::IN_IDS_2
        );
        let rows: Vec<TicketRow<D::Time>> = sqlx::query_as(sql(select))
            .bind(i64::try_from(claimed.len()).unwrap_or(i64::MAX))
            .bind(D::encode_ids(claimed))
            .fetch_all(&mut **tx)
            .await
            .map_err(db::<D>)?;
        let tickets = convert(rows, TicketRow::into_ticket::<D>)?;
        let answers = rule
            .recipients(pass.alert, &tickets)
            .await
            .map_err(StoreError::backend)?;
        // Tickets by the accounts to email, so each set of accounts is one statement.
        let mut defaults = Vec::new();
        let mut chosen: BTreeMap<Vec<i64>, Vec<i64>> = BTreeMap::new();
        let mut answers = answers.into_iter();
        for ticket in &tickets {
            match answers.next().flatten() {
                None => defaults.push(ticket.id.0),
                Some(users) => {
                    let mut users: Vec<i64> = users.into_iter().map(|u| u.0).collect();
                    users.sort_unstable();
                    users.dedup();
                    chosen.entry(users).or_default().push(ticket.id.0);
                }
            }
        }
        let mut queued = 0;
        if !defaults.is_empty() {
            queued += Self::queue_mail(tx, pass, sweep, &defaults).await?;
        }
        let now = D::encode_time(sweep.now);
        // Chunked both ways, so no statement binds more than a database allows.
        let mut statements: Vec<(&[i64], &[i64])> = Vec::new();
        for (users, tickets) in &chosen {
            for users in users.chunks(IDS_PER_STATEMENT) {
                for tickets in tickets.chunks(IDS_PER_STATEMENT) {
                    statements.push((users, tickets));
                }
            }
        }
        for (users, tickets) in statements {
            let mut qb = QueryBuilder::new(OUTBOX_INSERT);
            qb.push("SELECT t.id, u.id, u.email, ")
                .push_bind(pass.alert.as_str())
                .push(format_args!(", {}, {}, ", pass.target, pass.deadline))
                .push_bind(now)
                .push(", ")
                .push_bind(now)
                .push(format_args!(", {}, ", pass.reminder()))
                .push_bind(sweep.time_zone)
                .push(" FROM tickets t JOIN users u ON u.id IN ");
            push_list(&mut qb, users.iter().copied());
            qb.push(" WHERE u.is_active = ")
                .push(D::TRUE)
                .push(" AND t.id IN ");
            push_list(&mut qb, tickets.iter().copied());
            let done = qb.build().execute(&mut **tx).await.map_err(db::<D>)?;
            queued += D::rows_affected(&done);
        }
        Ok(queued)
    }

    /// The median `first_response_seconds` of each priority's tickets in `scope` created in
    /// `from..=to` that have one: how many per priority, then the one or two middle values in
    /// the order of `tickets_first_response`.
    async fn median_first_responses(
        &self,
        scope: TicketScope,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> StoreResult<Vec<(i16, i64)>> {
        let (from, to) = (D::encode_time(window.0), D::encode_time(window.1));
        // Everyone's counts from `tickets_answered` and medians from `tickets_first_response`,
        // a scope's from each side's index of its answered tickets (an agent's count took a
        // scan of every ticket on PostgreSQL).
        let answered = |qb: &mut QueryBuilder<D::Db>| {
            if scope == TicketScope::All {
                qb.push(format_args!(
                    " FROM tickets t WHERE t.first_response_seconds IS NOT NULL \
                     AND {0}t.created_at >= ",
                    D::UNINDEXED
                ))
                .push_bind(from)
                .push(format_args!(" AND {}t.created_at <= ", D::UNINDEXED))
                .push_bind(to);
                return;
            }
            let select = "SELECT priority, first_response_seconds FROM tickets";
            let window = |qb: &mut QueryBuilder<D::Db>| {
                qb.push("first_response_seconds IS NOT NULL AND created_at >= ")
                    .push_bind(from)
                    .push(" AND created_at <= ")
                    .push_bind(to);
            };
            qb.push(" FROM ");
            push_scope_sides(qb, scope, select, window);
            qb.push(" WHERE 1 = 1");
        };
        let counts: Vec<(i16, i64)> = if scope == TicketScope::All {
            // Each priority's range of `tickets_answered` (testing the creation time of every
            // answered ticket took most of an admin's report).
            let counts = self.raised_by_everyone(true, window).await?;
            let ranks = Priority::ALL.iter().map(|p| i16::try_from(p.rank()));
            ranks
                .zip(counts)
                .filter_map(|(r, n)| Some((r.ok()?, n)))
                .collect()
        } else {
            let mut qb = QueryBuilder::new("SELECT t.priority, count(*)");
            answered(&mut qb);
            qb.push(" GROUP BY t.priority");
            qb.build_query_as()
                .fetch_all(&self.reader)
                .await
                .map_err(db::<D>)?
        };
        let mut medians = Vec::with_capacity(counts.len());
        for (rank, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
            let mut qb = QueryBuilder::new("SELECT t.first_response_seconds");
            answered(&mut qb);
            qb.push(" AND t.priority = ")
                .push_bind(rank)
                .push(" ORDER BY t.first_response_seconds LIMIT ")
                .push_bind(2 - n % 2)
                .push(" OFFSET ")
                .push_bind((n - 1) / 2);
            let middle: Vec<i64> = qb
                .build_query_scalar()
                .fetch_all(&self.reader)
                .await
                .map_err(db::<D>)?;
            if let Some(len) = i64::try_from(middle.len()).ok().filter(|len| *len > 0) {
                medians.push((rank, middle.iter().sum::<i64>() / len));
            }
        }
        Ok(medians)
    }

    /// How many tickets of each priority (in the order of [`Priority::ALL`]) everyone raised
    /// in `window` (both ends included), only those staff answered if `answered`: a count of
    /// each priority's range of `tickets (priority, created_at)` (for answered tickets, of
    /// `tickets_answered`), which reads no column (50,000 tickets in the window on SQLite:
    /// 2.0 ms, against 3.9 grouped by priority and 4.6 testing each entry's priority). Where
    /// the schema counts tickets per hour ([`Dialect::HOURLY_COUNTS`]), only the window's
    /// partial first and last hours are counted so, and the hours between summed from
    /// `ticket_hours`.
    async fn raised_by_everyone(
        &self,
        answered: bool,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> StoreResult<Vec<i64>> {
        let condition = if answered {
            " AND t.first_response_seconds IS NOT NULL"
        } else {
            ""
        };
        let (from, to) = (D::encode_time(window.0), D::encode_time(window.1));
        let hours = whole_hours(window).filter(|_| D::HOURLY_COUNTS);
        let mut qb = QueryBuilder::new("SELECT ");
        for (k, p) in Priority::ALL.iter().enumerate() {
            let count = |qb: &mut QueryBuilder<D::Db>, since, until, last: &str| {
                qb.push(format_args!(
                    "(SELECT count(*) FROM tickets t WHERE t.priority = {}{condition} \
                     AND t.created_at >= ",
                    p.rank()
                ))
                .push_bind(since)
                .push(format_args!(" AND t.created_at {last} "))
                .push_bind(until)
                .push(")");
            };
            qb.push(if k == 0 { "" } else { ", " });
            match hours {
                None => count(&mut qb, from, to, "<="),
                Some((first, last)) => {
                    count(&mut qb, from, D::encode_time(first), "<");
                    qb.push(" + ");
                    count(&mut qb, D::encode_time(last), to, "<=");
                    qb.push(format_args!(" + h.n{k}"));
                }
            }
        }
        if let Some((first, last)) = hours {
            let sums: Vec<String> = Priority::ALL
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    format!(
                        "CAST(coalesce(sum(n) FILTER (WHERE priority = {}), 0) AS BIGINT) AS n{k}",
                        p.rank()
                    )
                })
                .collect();
            qb.push(format_args!(
                " FROM (SELECT {} FROM ticket_hours WHERE hour >= ",
                sums.join(", ")
            ))
            .push_bind(D::encode_time(first))
            .push(" AND hour < ")
            .push_bind(D::encode_time(last))
            .push(if answered { " AND answered" } else { "" })
            .push(") AS h");
        }
        self.counts(qb, 1).await
    }

    /// The one row of `qb`, `per_priority` integers for each priority
    /// ([`counts_by_priority`]).
    async fn counts(
        &self,
        mut qb: QueryBuilder<D::Db>,
        per_priority: usize,
    ) -> StoreResult<Vec<i64>> {
        let row = qb.build().fetch_one(&self.reader).await.map_err(db::<D>)?;
        (0..per_priority * Priority::ALL.len())
            .map(|k| row.try_get::<i64, _>(k).map_err(db::<D>))
            .collect()
    }

    async fn count(&self, qb: &mut QueryBuilder<D::Db>) -> StoreResult<u64> {
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        Ok(as_count(n))
    }

    /// Writes `draft` and its `effect` with the comment group that is waiting (see [`batch`]),
    /// counting its hit against `quota` first if there is one.
    async fn comment(
        &self,
        draft: &CommentDraft,
        effect: CommentEffect<'_>,
        quota: Option<Quota>,
    ) -> StoreResult<Result<Option<Comment>, Hits>> {
        let effect = match effect {
            CommentEffect::None => batch::Effect::None,
            CommentEffect::Restart(restart) => batch::Effect::Restart(*restart),
            CommentEffect::Change(change) => batch::Effect::Change(Box::new(change.clone())),
        };
        self.comments
            .write(
                &self.writer,
                |w, jobs| Box::pin(Self::comment_batch(w, jobs)),
                |reply| batch::CommentJob {
                    draft: draft.clone(),
                    effect,
                    quota,
                    reply,
                },
            )
            .await
    }

    /// Writes `draft` with the ticket group that is waiting (see [`batch`]), counting its hit
    /// against `quota` first if there is one.
    async fn insert(
        &self,
        draft: &TicketDraft,
        quota: Option<Quota>,
    ) -> StoreResult<Result<Ticket, Hits>> {
        self.inserts
            .write(
                &self.writer,
                |w, jobs| Box::pin(Self::insert_batch(w, jobs)),
                |reply| batch::Job {
                    draft: draft.clone(),
                    quota,
                    reply,
                },
            )
            .await
    }

    /// Counts the jobs' hits and writes the tickets of those within their quotas, with their
    /// `created` events, in one transaction; the answers in the order of the jobs.
    async fn insert_batch(
        writer: &Pool<D::Db>,
        jobs: &[&batch::Job],
    ) -> StoreResult<Vec<Result<Ticket, Hits>>> {
        let mut tx = writer.begin_with(D::BEGIN_WRITE).await.map_err(db::<D>)?;
        let quotas: Vec<Option<Quota>> = jobs.iter().map(|job| job.quota).collect();
        let refused = refusals::<D>(&mut tx, &quotas).await?;
        let drafts: Vec<&TicketDraft> = jobs
            .iter()
            .zip(&refused)
            .filter(|(_, refused)| refused.is_none())
            .map(|(job, _)| &job.draft)
            .collect();
        let mut tickets = Self::insert_drafts(&mut tx, &drafts).await?.into_iter();
        tx.commit().await.map_err(db::<D>)?;
        refused
            .into_iter()
            .map(|refused| match refused {
                Some(hits) => Ok(Err(hits)),
                None => tickets
                    .next()
                    .map(Ok)
                    .ok_or_else(|| StoreError::backend("a ticket was not written")),
            })
            .collect()
    }

    /// Writes `drafts` and their `created` events in `tx`; the tickets in the order of the
    /// drafts.
    async fn insert_drafts(
        tx: &mut Transaction<'static, D::Db>,
        drafts: &[&TicketDraft],
    ) -> StoreResult<Vec<Ticket>> {
        let mut tickets = Vec::with_capacity(drafts.len());
        if drafts.is_empty() {
            return Ok(tickets);
        }
        for chunk in batch::chunks(drafts) {
            let insert = |qb: &mut QueryBuilder<D::Db>| {
                qb.push(
                    "INSERT INTO tickets (title, description, priority, status, created_by, \
                     created_at, updated_at, due_at, clock_started_at, update_due_at, \
                     resolve_due_at, sla_version, update_warn_at, resolve_warn_at) ",
                );
                qb.push_values(chunk, |mut row, d| {
                    let created = D::encode_time(d.created_at);
                    row.push_bind(d.title.clone())
                        .push_bind(d.description.clone())
                        .push_bind(d.priority.rank())
                        .push_bind("open")
                        .push_bind(d.created_by.0)
                        .push_bind(created)
                        .push_bind(created)
                        .push_bind(d.due_at.map(D::encode_time))
                        .push_bind(created)
                        .push_bind(d.sla.update_due_at.map(D::encode_time))
                        .push_bind(d.sla.resolve_due_at.map(D::encode_time))
                        .push_bind(d.sla.policy_version)
                        .push_bind(d.sla.update_warn_at.map(D::encode_time))
                        .push_bind(d.sla.resolve_warn_at.map(D::encode_time));
                });
            };
            // Their `created` events, as `created_event` makes them.
            let events = "id, created_by, 'created', NULL, status, created_at";
            let mut qb = insert_with_events::<D>(insert, ticket_columns!(), events);
            let rows: Vec<TicketRow<D::Time>> = qb
                .build_query_as()
                .fetch_all(&mut **tx)
                .await
                .map_err(db::<D>)?;
            // Ids are handed out in the order of the rows; the returned rows may come in any.
            let mut stored = convert(rows, TicketRow::into_ticket::<D>)?;
            stored.sort_by_key(|t| t.id);
            // Times compare to the millisecond, the finest every store keeps.
            let same = |t: &Ticket, d: &&TicketDraft| {
                t.title == d.title
                    && t.created_by == d.created_by
                    && (t.created_at - d.created_at).num_milliseconds() == 0
            };
            batch::same_order(&stored, chunk, same, "tickets")?;
            tickets.extend(stored);
        }
        let created: Vec<NewEvent> = tickets.iter().map(created_event).collect();
        if !D::INSERTS_IN_WITH {
            let rows: Vec<(TicketId, &NewEvent)> =
                tickets.iter().map(|t| t.id).zip(&created).collect();
            Self::insert_event_rows(tx, &rows).await?;
        }
        let subscribers = Self::subscribers(tx).await?;
        if subscribers.want(EventType::TicketCreated) {
            let events: Vec<Event> = tickets
                .iter()
                .zip(&created)
                .filter_map(|(t, e)| Event::of_history(t, e))
                .collect();
            Self::queue_events(tx, &subscribers, &events).await?;
        }
        Ok(tickets)
    }

    /// Writes ticket changes in one transaction (see [`apply_changes`](Self::apply_changes)):
    /// `false` for each whose ticket is gone or not at the version it expects.
    async fn change_batch(
        writer: &Pool<D::Db>,
        jobs: &[&batch::ChangeJob],
    ) -> StoreResult<Vec<bool>> {
        let mut tx = writer.begin_with(D::BEGIN_WRITE).await.map_err(db::<D>)?;
        let subscribers = Self::subscribers(&mut tx).await?;
        let changes: Vec<&TicketChange> = jobs.iter().map(|job| &job.change).collect();
        let applied = Self::apply_changes(&mut tx, &changes, &subscribers).await?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(applied)
    }

    /// Writes comments in one transaction, each with what it does to its ticket and its
    /// `commented` event: the comments in the order of the jobs, `None` for each whose ticket
    /// is gone or not at the version its change expects (nothing of that one is written).
    async fn comment_batch(
        writer: &Pool<D::Db>,
        jobs: &[&batch::CommentJob],
    ) -> StoreResult<Vec<Result<Option<Comment>, Hits>>> {
        let mut tx = writer.begin_with(D::BEGIN_WRITE).await.map_err(db::<D>)?;
        // The hits first: a comment past its quota does nothing else.
        let quotas: Vec<Option<Quota>> = jobs.iter().map(|job| job.quota).collect();
        let refused = refusals::<D>(&mut tx, &quotas).await?;
        let subscribers = Self::subscribers(&mut tx).await?;
        // What each comment does to its ticket: the changes (a waiting ticket reopened), the
        // clock restarts, then a check that the other comments' tickets exist, each kept
        // until commit. The group is one serial order of its comments, each answered as if
        // written alone.
        let mut found = vec![false; jobs.len()];
        let mut changes = (Vec::new(), Vec::new());
        let mut restarts = (Vec::new(), Vec::new());
        let mut plain = (Vec::new(), Vec::new());
        for (i, job) in jobs.iter().enumerate() {
            let ticket = job.draft.ticket_id;
            if refused[i].is_some() {
                continue;
            }
            match &job.effect {
                batch::Effect::Change(change) => (changes.0.push(i), changes.1.push(&**change)),
                batch::Effect::Restart(r) => (restarts.0.push(i), restarts.1.push((ticket, r))),
                batch::Effect::None => (plain.0.push(i), plain.1.push(ticket.0)),
            };
        }
        let applied = Self::apply_changes(&mut tx, &changes.1, &subscribers).await?;
        let restarted = Self::restart_clocks(&mut tx, &restarts.1).await?;
        for (i, done) in changes.0.into_iter().zip(applied) {
            found[i] = done;
        }
        for (i, done) in restarts.0.into_iter().zip(restarted) {
            found[i] = done;
        }
        if !plain.1.is_empty() {
            let mut ids = plain.1.clone();
            ids.sort_unstable();
            ids.dedup();
            let keep = format!(
                "SELECT t.id FROM tickets t WHERE t.id >= $1 AND {}{}",
                D::IN_IDS_2,
                D::KEEP
            );
            let existing: Vec<i64> = sqlx::query_scalar(sql(keep))
                .bind(ids[0])
                .bind(D::encode_ids(&ids))
                .fetch_all(&mut *tx)
                .await
                .map_err(db::<D>)?;
            for (i, id) in plain.0.into_iter().zip(plain.1) {
                found[i] = existing.contains(&id);
            }
        }
        let kept: Vec<&batch::CommentJob> = jobs
            .iter()
            .zip(&found)
            .filter_map(|(job, &exists)| exists.then_some(*job))
            .collect();
        let mut comments = Vec::with_capacity(kept.len());
        for chunk in batch::chunks(&kept) {
            let insert = |qb: &mut QueryBuilder<D::Db>| {
                qb.push("INSERT INTO comments (ticket_id, author_id, body, created_at) ");
                qb.push_values(chunk, |mut row, job| {
                    row.push_bind(job.draft.ticket_id.0)
                        .push_bind(job.draft.author_id.0)
                        .push_bind(job.draft.body.clone())
                        .push_bind(D::encode_time(job.draft.created_at));
                });
            };
            // Their `commented` events, as `commented_event` makes them.
            let events = "ticket_id, author_id, 'commented', NULL, CAST(id AS TEXT), created_at";
            let mut qb = insert_with_events::<D>(insert, comment_columns!(), events);
            let rows: Vec<CommentRow<D::Time>> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(db::<D>)?;
            // Ids are handed out in the order of the rows; the returned rows may come in any.
            let mut stored = convert(rows, CommentRow::into_comment::<D>)?;
            stored.sort_by_key(|c| c.id);
            let same = |c: &Comment, job: &&batch::CommentJob| {
                c.ticket_id == job.draft.ticket_id
                    && c.author_id == job.draft.author_id
                    && c.body == job.draft.body
            };
            batch::same_order(&stored, chunk, same, "comments")?;
            comments.extend(stored);
        }
        if !D::INSERTS_IN_WITH {
            let events: Vec<NewEvent> = comments.iter().map(commented_event).collect();
            let rows: Vec<(TicketId, &NewEvent)> =
                comments.iter().map(|c| c.ticket_id).zip(&events).collect();
            Self::insert_event_rows(&mut tx, &rows).await?;
        }
        if subscribers.want(EventType::CommentCreated) {
            // The tickets as the comments left them: a change's, or read, all in one statement
            // (their clocks restarted).
            let mut ids: Vec<i64> = kept
                .iter()
                .filter(|job| !matches!(job.effect, batch::Effect::Change(_)))
                .map(|job| job.draft.ticket_id.0)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let rows = Self::ticket_rows(&mut tx, &ids, &D::encode_ids(&ids)).await?;
            let read: BTreeMap<TicketId, Ticket> = convert(rows, TicketRow::into_ticket::<D>)?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
            let mut events = Vec::with_capacity(comments.len());
            for (job, comment) in kept.iter().zip(&comments) {
                let ticket = match &job.effect {
                    batch::Effect::Change(change) => &change.ticket,
                    _ => read
                        .get(&comment.ticket_id)
                        .ok_or_else(|| StoreError::backend("a commented ticket was not read"))?,
                };
                events.push(Event::comment_created(ticket, comment));
            }
            Self::queue_events(&mut tx, &subscribers, &events).await?;
        }
        tx.commit().await.map_err(db::<D>)?;
        let mut comments = comments.into_iter();
        Ok(found
            .into_iter()
            .zip(refused)
            .map(|(exists, refused)| match refused {
                Some(hits) => Err(hits),
                None => Ok(if exists { comments.next() } else { None }),
            })
            .collect())
    }

    /// A page of a ticket's rows from `table` (comments or history), oldest first, with the count.
    async fn page_of_ticket<R, T>(
        &self,
        select: &'static str,
        table: &'static str,
        ticket: TicketId,
        page: PageRequest,
        convert_row: fn(R) -> StoreResult<T>,
    ) -> StoreResult<Page<T>>
    where
        R: for<'r> FromRow<'r, <D::Db as Database>::Row> + Send + Unpin,
    {
        let mut qb = QueryBuilder::new(format!("SELECT count(*) FROM {table} WHERE ticket_id = "));
        qb.push_bind(ticket.0);
        let count = self.count(&mut qb).await?;
        let mut qb = QueryBuilder::new(select);
        qb.push(" WHERE ticket_id = ")
            .push_bind(ticket.0)
            .push(" ORDER BY id");
        push_page(&mut qb, page);
        let rows: Vec<R> = qb
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db::<D>)?;
        Ok(Page {
            items: convert(rows, convert_row)?,
            count,
            request: page,
        })
    }
}

#[async_trait]
impl<D> TicketStore for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    i16: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    Option<i64>: Value<D::Db>,
    Option<bool>: Value<D::Db>,
    Option<String>: Value<D::Db>,
    Option<Vec<u8>>: Value<D::Db>,
    Option<D::Time>: Value<D::Db>,
{
    async fn insert_ticket(&self, d: &TicketDraft) -> StoreResult<Ticket> {
        self.insert(d, None)
            .await?
            .map_err(|_| StoreError::backend("a ticket without a quota was refused"))
    }

    async fn insert_ticket_within(
        &self,
        d: &TicketDraft,
        quota: &Quota,
    ) -> StoreResult<Result<Ticket, Hits>> {
        self.insert(d, Some(*quota)).await
    }

    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>> {
        let row: Option<TicketRow<D::Time>> = sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db::<D>)?;
        row.map(TicketRow::into_ticket::<D>).transpose()
    }

    async fn update_ticket(&self, change: &TicketChange) -> StoreResult<bool> {
        self.changes
            .write(
                &self.writer,
                |w, jobs| Box::pin(Self::change_batch(w, jobs)),
                |reply| batch::ChangeJob {
                    change: change.clone(),
                    reply,
                },
            )
            .await
    }

    async fn pauses(&self, id: TicketId) -> StoreResult<Vec<PauseRecord>> {
        let rows: Vec<PauseRow<D::Time>> = sqlx::query_as(concat!(
            "SELECT ",
            pause_columns!(),
            " FROM ticket_pauses WHERE ticket_id = $1 ORDER BY started_at, id"
        ))
        .bind(id.0)
        .fetch_all(&self.reader)
        .await
        .map_err(db::<D>)?;
        convert(rows, PauseRow::into_pause::<D>)
    }

    async fn tickets_off_policy(
        &self,
        policy_version: i64,
        (after_version, after_id): (i64, TicketId),
        limit: u32,
    ) -> StoreResult<Vec<(Ticket, Vec<PauseRecord>)>> {
        // In the order of the index by (policy version, id), so a batch stops after `limit`
        // entries and the check every sweep makes costs next to nothing (0 is out of play).
        let rows: Vec<TicketRow<D::Time>> = sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE sla_version > 0 AND sla_version < $1 \
             AND status IN ('open', 'in_progress', 'escalated', 'waiting') \
             AND (sla_version, id) > ($2, $3) ORDER BY sla_version, id LIMIT $4"
        ))
        .bind(policy_version)
        .bind(after_version)
        .bind(after_id.0)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db::<D>)?;
        let tickets = convert(rows, TicketRow::into_ticket::<D>)?;
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let ids = D::encode_ids(&tickets.iter().map(|t| t.id.0).collect::<Vec<_>>());
        let select = format!(
            "SELECT {} FROM ticket_pauses WHERE ticket_id IN \
             (SELECT t.id FROM tickets t WHERE t.sla_version > 0 AND t.sla_version < $1 AND {}) \
             ORDER BY ticket_id, started_at, id",
            pause_columns!(),
            D::IN_IDS_2
        );
        let pauses: Vec<PauseRow<D::Time>> = sqlx::query_as(sql(select))
            .bind(policy_version)
            .bind(ids)
            .fetch_all(&self.reader)
            .await
            .map_err(db::<D>)?;
        let mut by_ticket: std::collections::HashMap<i64, Vec<PauseRecord>> =
            std::collections::HashMap::new();
        for row in pauses {
            let ticket = row.ticket_id;
            by_ticket
                .entry(ticket)
                .or_default()
                .push(row.into_pause::<D>()?);
        }
        Ok(tickets
            .into_iter()
            .map(|t| {
                let pauses = by_ticket.remove(&t.id.0).unwrap_or_default();
                (t, pauses)
            })
            .collect())
    }

    async fn set_deadlines(&self, updates: &[DeadlineUpdate]) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let mut written = 0;
        let time = |at: Option<DateTime<Utc>>| at.map(D::encode_time);
        for u in updates {
            let s = &u.sla;
            let done = sqlx::query(concat!(
                "UPDATE tickets SET due_at = $1, update_due_at = $2, resolve_due_at = $3, \
                 update_breach_due = $4, update_breached_at = $5, resolve_breach_due = $6, \
                 resolve_breached_at = $7, sla_version = $8, update_warn_at = ",
                unless_warned!("update_warned_due", "$2", "$11"),
                ", resolve_warn_at = ",
                unless_warned!("resolve_warned_due", "$3", "$12"),
                " WHERE id = $9 AND version = $10"
            ))
            .bind(time(u.due_at))
            .bind(time(s.update_due_at))
            .bind(time(s.resolve_due_at))
            .bind(time(s.update_breach.map(|b| b.due_at)))
            .bind(time(s.update_breach.map(|b| b.at)))
            .bind(time(s.resolve_breach.map(|b| b.due_at)))
            .bind(time(s.resolve_breach.map(|b| b.at)))
            .bind(s.policy_version)
            .bind(u.id.0)
            .bind(u.version)
            .bind(time(s.update_warn_at))
            .bind(time(s.resolve_warn_at))
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
            written += D::rows_affected(&done);
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(written)
    }

    async fn delete_ticket(
        &self,
        id: TicketId,
        by: UserId,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let row: Option<TicketRow<D::Time>> = sqlx::query_as(concat!(
            "DELETE FROM tickets WHERE id = $1 RETURNING ",
            ticket_columns!()
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let subscribers = Self::subscribers(&mut tx).await?;
        if subscribers.want(EventType::TicketDeleted) {
            let event = Event::ticket_deleted(&row.into_ticket::<D>()?, by, at);
            Self::queue_events(&mut tx, &subscribers, &[event]).await?;
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(true)
    }

    async fn list_tickets(
        &self,
        scope: TicketScope,
        query: &TicketQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Ticket>> {
        if let Some(page) = self.list_matching(scope, query, page).await? {
            return Ok(page);
        }
        // A page past the first is counted first and read from the end where that is nearer
        // (not with a text filter, whose count asks the text index: as dear as the page).
        let (reading, known) =
            if page.offset() > 0 && query.search.is_none() && query.title.is_none() {
                let count = self.count(&mut ticket_count::<D>(scope, query)).await?;
                if page.offset() >= count {
                    return Ok(Page::empty(count, page));
                }
                (Reading::nearer_end(query, page.into(), count), Some(count))
            } else {
                (Reading::forward(query, page.into()), None)
            };
        let (mut qb, as_json) =
            ticket_page::<D>(scope, &reading.query, reading.window, known.is_none());
        let (total, rows): (Option<i64>, Vec<TicketRow<D::Time>>) = if as_json {
            let (total, json): (Option<i64>, String) = qb
                .build_query_as()
                .fetch_one(&self.reader)
                .await
                .map_err(db::<D>)?;
            (total, from_json(&json)?)
        } else {
            let rows: Vec<Counted<TicketRow<D::Time>>> = qb
                .build_query_as()
                .fetch_all(&self.reader)
                .await
                .map_err(db::<D>)?;
            let total = rows.first().map(|r| r.total);
            (total, rows.into_iter().map(|r| r.row).collect())
        };
        let count = match (known, total) {
            (Some(count), _) => count,
            (None, Some(total)) => as_count(total),
            (None, None) if page.offset() == 0 => 0,
            (None, None) => self.count(&mut ticket_count::<D>(scope, query)).await?,
        };
        Ok(Page {
            items: reading.in_order(convert(rows, TicketRow::into_ticket::<D>)?),
            count,
            request: page,
        })
    }

    async fn escalate_overdue(&self, sweep: &Sweep<'_>) -> StoreResult<EscalationReport> {
        let mut tx = self.write().await?;
        let mut report = EscalationReport::default();
        let subscribers = Self::subscribers(&mut tx).await?;
        for pass in &SWEEP {
            if pass.alert == Alert::Reminder && sweep.max_reminders == 0 {
                continue;
            }
            let (claimed, queued) = Self::sweep(&mut tx, pass, sweep, &subscribers).await?;
            let list = match pass.alert {
                Alert::Escalation => &mut report.escalated,
                Alert::Warning => &mut report.warned,
                Alert::Reminder => &mut report.reminded,
            };
            list.extend(claimed.into_iter().map(TicketId));
            report.notifications_queued += queued;
        }
        tx.commit().await.map_err(db::<D>)?;
        for list in [
            &mut report.escalated,
            &mut report.warned,
            &mut report.reminded,
        ] {
            list.sort_unstable();
            list.dedup();
        }
        Ok(report)
    }

    async fn report(&self, scope: TicketScope, since: DateTime<Utc>) -> StoreResult<Report> {
        let [opened, resolved, escalated] = self.report_counts(scope, since).await?;
        Ok(Report {
            opened: as_count(opened),
            resolved: as_count(resolved),
            escalated: as_count(escalated),
        })
    }

    async fn sla_report(
        &self,
        scope: TicketScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<SlaByPriority> {
        let window = (from, to);
        let (from, to) = (D::encode_time(from), D::encode_time(to));
        // Four reads at once, each from an index that holds every column it asks for, and
        // each priority counted in an aggregate of its own rather than by grouping, which
        // sorted every row first: breaches from `history_breaches`, resolutions from
        // `tickets_resolved`, first responses from `tickets_first_response` (for a scope,
        // each from the scope's ids); tickets raised from `tickets (priority, created_at)`,
        // or for a scope from its sides' indexes.
        let breaches = async {
            let mut qb = QueryBuilder::new("SELECT ");
            qb.push(counts_by_priority(
                "h.",
                &[
                    "h.to_value = 'resolution'",
                    &format!("h.to_value {} 'resolution'", D::IS_DISTINCT_FROM),
                ],
            ))
            .push(" FROM history h WHERE h.kind = 'escalated' AND h.at >= ")
            .push_bind(from)
            .push(" AND h.at <= ")
            .push_bind(to);
            push_scope_ids(&mut qb, "h.ticket_id", scope);
            self.counts(qb, 2).await
        };
        let resolved = async {
            let window = |qb: &mut QueryBuilder<D::Db>| {
                qb.push("resolved_at >= ")
                    .push_bind(from)
                    .push(" AND resolved_at <= ")
                    .push_bind(to);
            };
            let within = "(resolve_breached_at IS NULL OR resolve_breached_at > resolved_at)";
            let mut qb = QueryBuilder::new("SELECT ");
            qb.push(counts_by_priority("", &["1 = 1", within]));
            // Everyone's from `tickets_resolved`, a scope's from each side's index of its
            // resolutions.
            let select = "SELECT priority, resolved_at, resolve_breached_at FROM tickets";
            qb.push(" FROM ");
            push_scope_sides(&mut qb, scope, select, window);
            self.counts(qb, 2).await
        };
        let opened = async {
            let (raised, assigned) = match scope {
                TicketScope::All => return self.raised_by_everyone(false, window).await,
                TicketScope::CreatedBy(id) => (Some(id), None),
                TicketScope::AssignedTo(id) => (None, Some(id)),
                TicketScope::Involving(id) => (Some(id), Some(id)),
            };
            // A scope's from its sides' indexes, which hold the creation time and priority:
            // raised + assigned - both, reading no ticket but those both raised and assigned
            // (an agent's 3,334 read by id took most of this report).
            let mut parts = Vec::new();
            if let Some(id) = raised {
                parts.push(("", vec![("created_by", id)]));
            }
            if let Some(id) = assigned {
                parts.push(("", vec![("assigned_to", id)]));
            }
            if let (Some(id), Some(_)) = (raised, assigned) {
                parts.push(("-", vec![("created_by", id), ("assigned_to", id)]));
            }
            let mut qb = QueryBuilder::new("");
            for (k, (sign, sides)) in parts.into_iter().enumerate() {
                qb.push(if k == 0 { "" } else { " UNION ALL " })
                    .push(format_args!(
                        "SELECT t.priority, {sign}count(*) FROM tickets t WHERE t.created_at >= "
                    ))
                    .push_bind(from)
                    .push(" AND t.created_at <= ")
                    .push_bind(to);
                for (column, id) in sides {
                    qb.push(format_args!(" AND t.{column} = ")).push_bind(id.0);
                }
                qb.push(" GROUP BY t.priority");
            }
            let rows: Vec<(i16, i64)> = qb
                .build_query_as()
                .fetch_all(&self.reader)
                .await
                .map_err(db::<D>)?;
            let mut counts = vec![0; Priority::ALL.len()];
            for (rank, n) in rows {
                let p = priority(rank)?;
                if let Some(k) = Priority::ALL.iter().position(|&q| q == p) {
                    counts[k] += n;
                }
            }
            Ok(counts)
        };
        let medians = self.median_first_responses(scope, window);
        let (breaches, resolved, opened, medians) =
            tokio::try_join!(breaches, resolved, opened, medians)?;

        let mut report = SlaByPriority::default();
        for (k, &p) in Priority::ALL.iter().enumerate() {
            let stats = report.of(p);
            // Escalations recorded before service levels named no target: they were all
            // breaches of the update window.
            stats.resolution_breaches = as_count(breaches[2 * k]);
            stats.update_breaches = as_count(breaches[2 * k + 1]);
            stats.opened = as_count(opened[k]);
            stats.resolved = as_count(resolved[2 * k]);
            stats.resolved_within_target = as_count(resolved[2 * k + 1]);
        }
        for (rank, median) in medians {
            report.of(priority(rank)?).median_first_response_seconds = Some(as_count(median));
        }
        Ok(report)
    }
}

/// The multi-row `INSERT ... RETURNING columns` that `insert` pushes, and where the dialect
/// allows it ([`Dialect::INSERTS_IN_WITH`]) in the same statement the history events that
/// `events` selects from each inserted row (`ticket_id, actor_id, kind, from_value,
/// to_value, at`); elsewhere the caller inserts the events itself.
fn insert_with_events<D: Dialect>(
    insert: impl FnOnce(&mut QueryBuilder<D::Db>),
    columns: &str,
    events: &str,
) -> QueryBuilder<D::Db> {
    let mut qb = QueryBuilder::new(if D::INSERTS_IN_WITH {
        "WITH r AS ("
    } else {
        ""
    });
    insert(&mut qb);
    qb.push(" RETURNING ").push(columns);
    if D::INSERTS_IN_WITH {
        qb.push(format_args!(
            "), e AS (INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, \
             at) SELECT {events} FROM r) SELECT {columns} FROM r"
        ));
    }
    qb
}

/// The `created` event of a new ticket: by its creator, to its status, at its creation.
fn created_event(t: &Ticket) -> NewEvent {
    NewEvent {
        actor_id: Some(t.created_by),
        kind: HistoryKind::Created,
        from: None,
        to: Some(t.status.to_string()),
        at: t.created_at,
    }
}

/// The `commented` event of a new comment: by its author, to its id, at its creation.
fn commented_event(c: &Comment) -> NewEvent {
    NewEvent {
        actor_id: Some(c.author_id),
        kind: HistoryKind::Commented,
        from: None,
        to: Some(c.id.to_string()),
        at: c.created_at,
    }
}

/// `count(*) FILTER (WHERE <alias>priority = <rank> AND <condition>)` for each priority by rank
/// and each of `conditions` within it, comma separated: the counts of a report in one row.
fn counts_by_priority(alias: &str, conditions: &[&str]) -> String {
    let mut counts = Vec::new();
    for p in Priority::ALL {
        for condition in conditions {
            counts.push(format!(
                "count(*) FILTER (WHERE {alias}priority = {} AND {condition})",
                p.rank()
            ));
        }
    }
    counts.join(", ")
}

#[async_trait]
impl<D> CommentStore for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    i16: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    Option<i64>: Value<D::Db>,
    Option<bool>: Value<D::Db>,
    Option<String>: Value<D::Db>,
    Option<Vec<u8>>: Value<D::Db>,
    Option<D::Time>: Value<D::Db>,
{
    async fn insert_comment(
        &self,
        d: &CommentDraft,
        effect: CommentEffect<'_>,
    ) -> StoreResult<Option<Comment>> {
        self.comment(d, effect, None)
            .await?
            .map_err(|_| StoreError::backend("a comment without a quota was refused"))
    }

    async fn insert_comment_within(
        &self,
        d: &CommentDraft,
        effect: CommentEffect<'_>,
        quota: &Quota,
    ) -> StoreResult<Result<Option<Comment>, Hits>> {
        self.comment(d, effect, Some(*quota)).await
    }

    async fn list_comments(
        &self,
        ticket: TicketId,
        page: PageRequest,
    ) -> StoreResult<Page<Comment>> {
        let select = concat!("SELECT ", comment_columns!(), " FROM comments");
        self.page_of_ticket(
            select,
            "comments",
            ticket,
            page,
            CommentRow::<D::Time>::into_comment::<D>,
        )
        .await
    }
}

#[async_trait]
impl<D> HistoryStore for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    i16: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    Option<i64>: Value<D::Db>,
    Option<bool>: Value<D::Db>,
    Option<String>: Value<D::Db>,
    Option<Vec<u8>>: Value<D::Db>,
    Option<D::Time>: Value<D::Db>,
{
    async fn list_history(
        &self,
        ticket: TicketId,
        page: PageRequest,
    ) -> StoreResult<Page<HistoryEvent>> {
        let select = concat!("SELECT ", event_columns!(), " FROM history");
        self.page_of_ticket(
            select,
            "history",
            ticket,
            page,
            EventRow::<D::Time>::into_event::<D>,
        )
        .await
    }
}

/// The first and the last whole hour of `window`: the hour at or after its start, and the
/// start of the hour its end falls in, if the first comes before the last.
fn whole_hours(window: (DateTime<Utc>, DateTime<Utc>)) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let hour_of = |at: DateTime<Utc>| {
        let start = at.timestamp().div_euclid(3600).checked_mul(3600)?;
        DateTime::from_timestamp(start, 0)
    };
    let start = hour_of(window.0)?;
    let first = if start == window.0 {
        start
    } else {
        start.checked_add_signed(chrono::TimeDelta::hours(1))?
    };
    let last = hour_of(window.1)?;
    (first < last).then_some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn whole_hours_lie_strictly_inside_a_window_or_start_at_its_edges() {
        let window = (at("2026-11-01T10:15:00Z"), at("2026-11-02T09:40:30Z"));
        assert_eq!(
            whole_hours(window),
            Some((at("2026-11-01T11:00:00Z"), at("2026-11-02T09:00:00Z")))
        );
        // A start on the hour is the first whole hour; an end on the hour starts the last.
        let window = (at("2026-11-01T10:00:00Z"), at("2026-11-01T12:00:00Z"));
        assert_eq!(
            whole_hours(window),
            Some((at("2026-11-01T10:00:00Z"), at("2026-11-01T12:00:00Z")))
        );
        // Before 1970 too.
        let window = (at("1969-12-31T22:30:00Z"), at("1970-01-01T00:30:00Z"));
        assert_eq!(
            whole_hours(window),
            Some((at("1969-12-31T23:00:00Z"), at("1970-01-01T00:00:00Z")))
        );
        // No whole hour between: within one hour, or across one boundary only.
        for (from, to) in [
            ("2026-11-01T10:15:00Z", "2026-11-01T10:45:00Z"),
            ("2026-11-01T10:15:00Z", "2026-11-01T11:45:00Z"),
            ("2026-11-01T10:15:00Z", "2026-11-01T10:15:00Z"),
        ] {
            assert_eq!(whole_hours((at(from), at(to))), None, "{from} to {to}");
        }
    }
}
