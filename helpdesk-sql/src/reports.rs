//! Remembered reports: the last-7-days report counts every event of the window in its scope
//! (tens of thousands at 100,000 tickets for an admin, an agent's from each of their 3,334
//! tickets: one to four milliseconds on every request); asking again reads only the events
//! that have left the window since and the ones written since.
//!
//! It holds where a new row's id is above every committed one ([`Dialect::IDS_IN_COMMIT_ORDER`],
//! SQLite) and events are never changed, only deleted with their ticket, which changes
//! `ticket_text_edits`; for a scope other than everyone's, what is in it changes only with a
//! ticket's creator or assignee, which changes `ticket_scope_edits` (the two are the epoch). The
//! counts of the events in scope at or after `since` with ids up to `upto` then give those at or
//! after a later `since'` as
//!
//! ```text
//! counts(since', all) = counts(since, ≤ upto) − counts(since ≤ at < since', ≤ upto)
//!                                             + counts(at ≥ since', > upto)
//! ```
//!
//! both slices read by index, with the epoch and the largest id, in one statement. Another
//! epoch or an earlier `since` counts the window again. At most [`SCOPES`] scopes are held, the
//! least recently asked for going first.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use helpdesk_core::TicketScope;
use helpdesk_core::store::StoreResult;
use sqlx::{ColumnIndex, Database, Executor, IntoArguments, QueryBuilder};

use crate::error::store_error as db;
use crate::filters::push_scope_ids;
use crate::{Dialect, SqlStore, Value};

/// How many scopes' reports are remembered at most.
pub(crate) const SCOPES: usize = 1_024;

/// What the report counts, in the order of [`Report`](helpdesk_core::Report)'s fields: tickets
/// opened, resolutions, escalations.
const COUNTS: &str = "count(*) FILTER (WHERE h.kind = 'created'), \
     count(*) FILTER (WHERE h.kind = 'status_changed' AND h.to_value = 'resolved'), \
     count(*) FILTER (WHERE h.kind = 'escalated')";

/// `SELECT` the epoch (`ticket_text_edits.n`, `ticket_scope_edits.n`) and the largest event id.
const STATE: &str = "SELECT (SELECT n FROM ticket_text_edits), \
                     (SELECT n FROM ticket_scope_edits), (SELECT coalesce(max(id), 0) FROM history)";

/// The report's counts as of one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    /// `ticket_text_edits.n` and `ticket_scope_edits.n` then.
    pub(crate) epoch: [i64; 2],
    /// The window's start.
    pub(crate) since: DateTime<Utc>,
    /// The largest event id then.
    pub(crate) upto: i64,
    /// The events at or after `since` with ids up to `upto`, as [`COUNTS`].
    pub(crate) counts: [i64; 3],
}

impl Counted {
    /// The counts at a later `since` (at `epoch` and `upto` read with the slices): without
    /// the events that left the window, with the ones written since.
    pub(crate) fn moved(
        self,
        since: DateTime<Utc>,
        (epoch, upto): ([i64; 2], i64),
        left: [i64; 3],
        arrived: [i64; 3],
    ) -> Self {
        let mut counts = self.counts;
        for k in 0..3 {
            counts[k] += arrived[k] - left[k];
        }
        Self {
            epoch,
            since,
            upto,
            counts,
        }
    }
}

/// The last counts of each scope's report (shared by a store's clones).
#[derive(Debug, Default)]
pub(crate) struct Remembered {
    last: Mutex<Vec<(TicketScope, Counted, u64)>>,
}

impl Remembered {
    /// The last counts of `scope`, if their window starts at or before `since`.
    pub(crate) fn before(&self, scope: TicketScope, since: DateTime<Utc>) -> Option<Counted> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let tick = last.iter().map(|e| e.2).max().unwrap_or(0) + 1;
        let entry = last.iter_mut().find(|e| e.0 == scope)?;
        entry.2 = tick;
        Some(entry.1).filter(|c| c.since <= since)
    }

    /// Remembers `counted` for `scope` in place of what was. (Counts of an older statement
    /// that finished later serve as well: they are exact as of their own.)
    pub(crate) fn put(&self, scope: TicketScope, counted: Counted) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let tick = last.iter().map(|e| e.2).max().unwrap_or(0) + 1;
        if let Some(entry) = last.iter_mut().find(|e| e.0 == scope) {
            *entry = (scope, counted, tick);
            return;
        }
        if last.len() >= SCOPES
            && let Some(oldest) = (0..last.len()).min_by_key(|&k| last[k].2)
        {
            last.swap_remove(oldest);
        }
        last.push((scope, counted, tick));
    }
}

/// ` AND <event h's ticket is in scope>`, read from the ticket by id: for the few events of
/// a slice (the full count reads the scope's ids from their indexes instead).
fn push_in_scope<DB>(qb: &mut QueryBuilder<DB>, scope: TicketScope)
where
    DB: Database,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let (raised, assigned) = match scope {
        TicketScope::All => return,
        TicketScope::CreatedBy(id) => (Some(id), None),
        TicketScope::AssignedTo(id) => (None, Some(id)),
        TicketScope::Involving(id) => (Some(id), Some(id)),
    };
    qb.push(" AND EXISTS (SELECT 1 FROM tickets t WHERE t.id = h.ticket_id AND (");
    if let Some(id) = raised {
        qb.push("t.created_by = ").push_bind(id.0);
    }
    if let Some(id) = assigned {
        qb.push(if raised.is_some() { " OR " } else { "" })
            .push("t.assigned_to = ")
            .push_bind(id.0);
    }
    qb.push("))");
}

impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    i64: Value<D::Db>,
{
    /// The counts of `scope`'s report from `since` on, as [`COUNTS`]: from the last ones
    /// where the dialect's ids commit in order and they serve (see the module docs); elsewhere
    /// from the counts per hour where the schema keeps them ([`Dialect::HOURLY_COUNTS`]);
    /// counted again otherwise.
    pub(crate) async fn report_counts(
        &self,
        scope: TicketScope,
        since: DateTime<Utc>,
    ) -> StoreResult<[i64; 3]> {
        if !D::IDS_IN_COMMIT_ORDER {
            if D::HOURLY_COUNTS {
                return self.count_by_hours(scope, since).await;
            }
            return Ok(self.count_report(scope, since).await?.counts);
        }
        if let Some(last) = self.report.before(scope, since) {
            // Each slice from its own index: the window's start by time (`history (at, kind,
            // to_value)`, which holds the id), the new events by id.
            let mut qb = QueryBuilder::new(format!(
                "{STATE}, l.*, a.* FROM (SELECT {COUNTS} FROM history h WHERE h.at >= "
            ));
            qb.push_bind(D::encode_time(last.since))
                .push(" AND h.at < ")
                .push_bind(D::encode_time(since))
                .push(format_args!(" AND {}h.id <= ", D::UNINDEXED))
                .push_bind(last.upto);
            push_in_scope(&mut qb, scope);
            qb.push(format_args!(
                ") AS l, (SELECT {COUNTS} FROM history h WHERE h.id > "
            ))
            .push_bind(last.upto)
            .push(format_args!(" AND {}h.at >= ", D::UNINDEXED))
            .push_bind(D::encode_time(since));
            push_in_scope(&mut qb, scope);
            qb.push(") AS a");
            let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64) = qb
                .build_query_as()
                .fetch_one(&self.reader)
                .await
                .map_err(db::<D>)?;
            let (texts, scopes, upto, l0, l1, l2, a0, a1, a2) = row;
            // Everyone's tickets are everyone's whoever is assigned.
            let held = if scope == TicketScope::All {
                texts == last.epoch[0]
            } else {
                [texts, scopes] == last.epoch
            };
            if held {
                let epoch = [texts, scopes];
                let counted = last.moved(since, (epoch, upto), [l0, l1, l2], [a0, a1, a2]);
                self.report.put(scope, counted);
                return Ok(counted.counts);
            }
        }
        let counted = self.count_report(scope, since).await?;
        self.report.put(scope, counted);
        Ok(counted.counts)
    }

    /// The counts of `scope` from `since` on from the counts per hour
    /// ([`Dialect::HOURLY_COUNTS`]): the hours after the one `since` falls in summed (a week:
    /// about 500 rows for everyone, from `history_hours`; a user's sides from
    /// `history_scope_hours`), the events of that hour from `since` on counted from
    /// `history (at, kind, to_value)`, each in-scope ticket read by id. At 100,000 tickets,
    /// 0.3 ms against 15 ms counting everyone's week of 28,664 events.
    async fn count_by_hours(
        &self,
        scope: TicketScope,
        since: DateTime<Utc>,
    ) -> StoreResult<[i64; 3]> {
        let hour = since.timestamp().div_euclid(3600);
        let Some(next) = hour
            .checked_add(1)
            .and_then(|h| h.checked_mul(3600))
            .and_then(|s| DateTime::from_timestamp(s, 0))
        else {
            return Ok(self.count_report(scope, since).await?.counts);
        };
        let sums = ["created", "resolved", "escalated"]
            .map(|kind| {
                format!("CAST(coalesce(sum(n) FILTER (WHERE kind = '{kind}'), 0) AS BIGINT)")
            })
            .join(", ");
        // Every value is read through `v`, which no plan sees into, and a ticket is tested by
        // a subquery per event rather than `EXISTS` (which a plan for any user makes a join
        // with all of the user's tickets): the plan is then the same for any values, and
        // PostgreSQL keeps one instead of planning each request (an agent's report: 0.6 to
        // 0.9 ms of planning against 0.3 ms of execution; with one plan, 0.5 ms in all).
        // A user's sides (an agent's tickets are those raised and those held, less those
        // both), and whether an event's ticket is theirs.
        let (user, sides, in_scope) = match scope {
            TicketScope::All => (None, "", ""),
            TicketScope::CreatedBy(id) => (Some(id), "'raised'", "t.created_by = v.u"),
            TicketScope::AssignedTo(id) => (Some(id), "'assigned'", "t.assigned_to = v.u"),
            TicketScope::Involving(id) => (
                Some(id),
                "'raised', 'assigned', 'both'",
                "t.created_by = v.u OR t.assigned_to = v.u",
            ),
        };
        let mut qb = QueryBuilder::new("WITH v (u, hour, since, next) AS (SELECT ");
        qb.push_bind(user.map_or(0, |id| id.0))
            .push(", ")
            .push_bind(hour)
            .push(", ")
            .push_bind(D::encode_time(since))
            .push(", ")
            .push_bind(D::encode_time(next))
            .push(format_args!(") SELECT {sums} FROM (SELECT kind, "));
        if user.is_none() {
            qb.push("n FROM history_hours WHERE hour > (SELECT hour FROM v)");
        } else {
            qb.push(format_args!(
                "CASE WHEN side = 'both' THEN -n ELSE n END FROM history_scope_hours \
                 WHERE user_id = (SELECT u FROM v) AND side IN ({sides}) \
                 AND hour > (SELECT hour FROM v)"
            ));
        }
        qb.push(
            " UNION ALL SELECT history_counted(h.kind, h.to_value), 1 FROM history h \
             WHERE h.at >= (SELECT since FROM v) AND h.at < (SELECT next FROM v)",
        );
        if user.is_some() {
            qb.push(format_args!(
                " AND (SELECT {in_scope} FROM tickets t, v WHERE t.id = h.ticket_id)"
            ));
        }
        qb.push(") AS c (kind, n)");
        let (opened, resolved, escalated): (i64, i64, i64) = qb
            .build_query_as()
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        Ok([opened, resolved, escalated])
    }

    /// Counts every event of the window in scope, from indexes alone: for admins the events
    /// of the window from `history (at, kind, to_value)`; otherwise the scope's ticket ids
    /// from its indexes, and their events from `history (ticket_id, at, kind, to_value)`.
    /// With the epoch and the largest event id where the dialect remembers reports (zeros
    /// elsewhere: its schema keeps neither counter).
    async fn count_report(&self, scope: TicketScope, since: DateTime<Utc>) -> StoreResult<Counted> {
        let state = if D::IDS_IN_COMMIT_ORDER {
            STATE
        } else {
            "SELECT CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT)"
        };
        let mut qb = QueryBuilder::new(format!("{state}, {COUNTS} FROM history h WHERE h.at >= "));
        qb.push_bind(D::encode_time(since));
        push_scope_ids(&mut qb, "h.ticket_id", scope);
        let row: (i64, i64, i64, i64, i64, i64) = qb
            .build_query_as()
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        let (texts, scopes, upto, opened, resolved, escalated) = row;
        Ok(Counted {
            epoch: [texts, scopes],
            since,
            upto,
            counts: [opened, resolved, escalated],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    #[test]
    fn moving_the_window_takes_what_left_and_adds_what_arrived() {
        let counted = Counted {
            epoch: [1, 1],
            since: at(100),
            upto: 50,
            counts: [10, 4, 2],
        };
        let moved = counted.moved(at(160), ([1, 1], 57), [3, 1, 0], [2, 0, 5]);
        assert_eq!(moved.counts, [9, 3, 7]);
        assert_eq!((moved.since, moved.upto), (at(160), 57));
    }

    #[test]
    fn only_counts_from_an_earlier_window_serve() {
        let remembered = Remembered::default();
        let all = TicketScope::All;
        let counted = |since, upto| Counted {
            epoch: [0, 0],
            since: at(since),
            upto,
            counts: [0; 3],
        };
        remembered.put(all, counted(100, 5));
        assert!(remembered.before(all, at(99)).is_none());
        assert_eq!(remembered.before(all, at(100)), Some(counted(100, 5)));
        remembered.put(all, counted(90, 9));
        assert_eq!(remembered.before(all, at(95)), Some(counted(90, 9)));
        let agent = TicketScope::CreatedBy(helpdesk_core::UserId(1));
        assert!(remembered.before(agent, at(120)).is_none());
    }

    #[test]
    fn the_least_recently_asked_scope_goes_first() {
        let remembered = Remembered::default();
        let counted = Counted {
            epoch: [0, 0],
            since: at(0),
            upto: 0,
            counts: [0; 3],
        };
        let scope = |k: usize| TicketScope::AssignedTo(helpdesk_core::UserId(k as i64));
        for k in 0..SCOPES {
            remembered.put(scope(k), counted);
        }
        assert!(remembered.before(scope(0), at(1)).is_some());
        remembered.put(scope(SCOPES), counted);
        assert!(remembered.before(scope(0), at(1)).is_some());
        assert!(remembered.before(scope(1), at(1)).is_none());
        assert!(remembered.before(scope(SCOPES), at(1)).is_some());
    }
}
