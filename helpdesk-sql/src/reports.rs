//! The remembered report of everyone's tickets: the admins' last-7-days report counts every
//! event of the window (tens of thousands at 100,000 tickets, about a millisecond on every
//! request); asking again reads only the events that have left the window since and the ones
//! written since.
//!
//! It holds where a new row's id is above every committed one ([`Dialect::IDS_IN_COMMIT_ORDER`],
//! SQLite) and events are never changed, only deleted with their ticket, which changes
//! `ticket_text_edits` (the epoch). The counts of the events at or after `since` with ids up to
//! `upto` then give those at or after a later `since'` as
//!
//! ```text
//! counts(since', all) = counts(since, ≤ upto) − counts(since ≤ at < since', ≤ upto)
//!                                             + counts(at ≥ since', > upto)
//! ```
//!
//! both slices read by index, with the epoch and the largest id, in one statement. A deletion
//! (another epoch) or an earlier `since` counts the window again.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use helpdesk_core::store::StoreResult;
use sqlx::{ColumnIndex, Database, Executor, IntoArguments, QueryBuilder};

use crate::error::store_error as db;
use crate::{Dialect, SqlStore, Value};

/// What the report counts, in the order of [`Report`](helpdesk_core::Report)'s fields: tickets
/// opened, resolutions, escalations.
pub(crate) const COUNTS: &str = "count(*) FILTER (WHERE h.kind = 'created'), \
     count(*) FILTER (WHERE h.kind = 'status_changed' AND h.to_value = 'resolved'), \
     count(*) FILTER (WHERE h.kind = 'escalated')";

/// The report's counts as of one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    /// `ticket_text_edits.n` then.
    pub(crate) epoch: i64,
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
        (epoch, upto): (i64, i64),
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

/// The last counts of the admins' report (shared by a store's clones).
#[derive(Debug, Default)]
pub(crate) struct Remembered {
    last: Mutex<Option<Counted>>,
}

impl Remembered {
    /// The last counts, if their window starts at or before `since`.
    pub(crate) fn before(&self, since: DateTime<Utc>) -> Option<Counted> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.filter(|c| c.since <= since)
    }

    /// Remembers `counted`, unless newer counts are held.
    pub(crate) fn put(&self, counted: Counted) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_none_or(|l| (l.since, l.upto) <= (counted.since, counted.upto)) {
            *last = Some(counted);
        }
    }
}

impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    i64: Value<D::Db>,
{
    /// The counts of the admins' report from `since` on, from the last ones where they
    /// serve (see the module docs), counted again otherwise; remembered either way.
    pub(crate) async fn remembered_report(&self, since: DateTime<Utc>) -> StoreResult<Counted> {
        const STATE: &str = "SELECT (SELECT n FROM ticket_text_edits), \
                             (SELECT coalesce(max(id), 0) FROM history)";
        if let Some(last) = self.report.before(since) {
            // Each slice from its own index: the window's start by time (`history (at, kind,
            // to_value)`, which holds the id), the new events by id.
            let mut qb = QueryBuilder::new(format!(
                "{STATE}, l.*, a.* FROM (SELECT {COUNTS} FROM history h WHERE h.at >= "
            ));
            qb.push_bind(D::encode_time(last.since))
                .push(" AND h.at < ")
                .push_bind(D::encode_time(since))
                .push(format_args!(" AND {}h.id <= ", D::UNINDEXED))
                .push_bind(last.upto)
                .push(format_args!(
                    ") AS l, (SELECT {COUNTS} FROM history h WHERE h.id > "
                ))
                .push_bind(last.upto)
                .push(format_args!(" AND {}h.at >= ", D::UNINDEXED))
                .push_bind(D::encode_time(since))
                .push(") AS a");
            let row: (i64, i64, i64, i64, i64, i64, i64, i64) = qb
                .build_query_as()
                .fetch_one(&self.reader)
                .await
                .map_err(db::<D>)?;
            let (epoch, upto, l0, l1, l2, a0, a1, a2) = row;
            if epoch == last.epoch {
                let counted = last.moved(since, (epoch, upto), [l0, l1, l2], [a0, a1, a2]);
                self.report.put(counted);
                return Ok(counted);
            }
        }
        let mut qb = QueryBuilder::new(format!("{STATE}, {COUNTS} FROM history h WHERE h.at >= "));
        qb.push_bind(D::encode_time(since));
        let (epoch, upto, opened, resolved, escalated): (i64, i64, i64, i64, i64) = qb
            .build_query_as()
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        let counted = Counted {
            epoch,
            since,
            upto,
            counts: [opened, resolved, escalated],
        };
        self.report.put(counted);
        Ok(counted)
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
            epoch: 1,
            since: at(100),
            upto: 50,
            counts: [10, 4, 2],
        };
        let moved = counted.moved(at(160), (1, 57), [3, 1, 0], [2, 0, 5]);
        assert_eq!(moved.counts, [9, 3, 7]);
        assert_eq!((moved.since, moved.upto), (at(160), 57));
    }

    #[test]
    fn only_counts_from_an_earlier_window_serve_and_older_ones_never_replace_newer() {
        let remembered = Remembered::default();
        let counted = |since, upto| Counted {
            epoch: 0,
            since: at(since),
            upto,
            counts: [0; 3],
        };
        remembered.put(counted(100, 5));
        assert!(remembered.before(at(99)).is_none());
        assert_eq!(remembered.before(at(100)), Some(counted(100, 5)));
        remembered.put(counted(90, 9));
        assert_eq!(remembered.before(at(120)), Some(counted(100, 5)));
        remembered.put(counted(100, 6));
        assert_eq!(remembered.before(at(120)), Some(counted(100, 6)));
    }
}
