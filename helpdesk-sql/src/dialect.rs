//! What differs between the SQL databases, as named hooks.

use std::fmt::Debug;
use std::future::Future;

use chrono::{DateTime, Utc};
use helpdesk_core::store::StoreResult;
use helpdesk_core::{Result, TicketQuery};
use sqlx::error::DatabaseError;
use sqlx::{Database, QueryBuilder};

use crate::{SqlStore, TicketText, Value};

/// Everything one SQL database does differently from another, for [`SqlStore`].
///
/// The statements of the store are written once against these hooks; an adapter crate
/// (`helpdesk-sqlite`, `helpdesk-postgres`) implements the trait on a unit type and adds its
/// connection setup and migrations. Every hook is a fixed fragment or a function of values the
/// store binds as parameters, so no client input is ever spliced into SQL.
pub trait Dialect: Debug + Send + Sync + Sized + 'static {
    /// The sqlx driver.
    type Db: Database;

    /// How an instant is stored: Unix milliseconds (`i64`) in SQLite, `timestamptz`
    /// (`DateTime<Utc>`) in PostgreSQL. Bound and compared as is, so deadlines compare in SQL.
    type Time: Value<Self::Db> + Copy + Unpin + serde::de::DeserializeOwned;

    /// The stored form of an instant.
    fn encode_time(at: DateTime<Utc>) -> Self::Time;

    /// A list of ids bound as one parameter: an array in PostgreSQL, JSON text in SQLite.
    type Ids: Value<Self::Db>;

    /// The bound form of a list of ids.
    fn encode_ids(ids: &[i64]) -> Self::Ids;

    /// `t.id` is one of the ids bound as `$2` ([`encode_ids`](Self::encode_ids)): `= ANY($2)`
    /// in PostgreSQL, `IN (SELECT value FROM json_each($2))` in SQLite. Either way the
    /// database looks each ticket up by id, whatever its statistics say.
    const IN_IDS_2: &'static str;

    /// An instant from its stored form; an out-of-range value is a store error.
    fn decode_time(stored: Self::Time) -> StoreResult<DateTime<Utc>>;

    /// The statement that starts a write transaction. SQLite takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so a transaction never fails to upgrade its lock half way;
    /// PostgreSQL locks rows as it goes (`BEGIN`).
    const BEGIN_WRITE: &'static str;

    /// The boolean literal `true` as the schema stores it (`1` in SQLite, where partial indexes
    /// are written against `1`; `true` in PostgreSQL).
    const TRUE: &'static str;

    /// Null-safe inequality: `IS NOT` in SQLite, `IS DISTINCT FROM` in PostgreSQL.
    const IS_DISTINCT_FROM: &'static str;

    /// Appended to a `SELECT` that claims rows for this transaction while other transactions
    /// claim others: `FOR UPDATE SKIP LOCKED` in PostgreSQL; empty in SQLite, where the write
    /// lock taken by [`BEGIN_WRITE`](Self::BEGIN_WRITE) already excludes every other writer.
    const CLAIM: &'static str;

    /// Appended to a `SELECT` inside a write transaction that must keep the rows it read from
    /// changing until commit (`FOR UPDATE` in PostgreSQL, empty in SQLite).
    const LOCK: &'static str;

    /// Appended to a `SELECT` inside a write transaction that must keep the rows it read from
    /// being deleted until commit (`FOR SHARE` in PostgreSQL, empty in SQLite).
    const KEEP: &'static str;

    /// Put before a column in a condition whose index must not be chosen: `+` in SQLite, whose
    /// planner otherwise takes an index that reads many rows over one that reads few (the
    /// status index over the sweep's deadline, warning and reminder indexes) or that reads the
    /// table row by row over one that holds every column asked for (the service-level report);
    /// empty in PostgreSQL.
    const UNINDEXED: &'static str;

    /// Ends a subquery that the planner must run as written rather than merge into the query
    /// around it (`OFFSET 0` in PostgreSQL, `LIMIT -1 OFFSET 0` in SQLite, which allows no
    /// `OFFSET` alone): its rows are then read by its own conditions' indexes, whatever the
    /// outer query orders by.
    const FENCE: &'static str;

    /// How many rows are read at once (a page of tickets): `Some`
    /// aggregate over the rows of a subquery `t` that makes one JSON text of them, an array
    /// with one `[columns]` for each row, in the order of `order_by` (an ` ORDER BY ...`
    /// clause), `[]` for none; `None` reads rows.
    ///
    /// SQLite's driver hands every row from the connection's thread to the task that awaits
    /// it, which cost about 8 µs a row under load, more than the query, for a page of 20
    /// tickets: SQLite makes them one value (list requests under load: a fifth less CPU).
    /// PostgreSQL sends rows in one stream, and building and parsing JSON cost it more than
    /// it saved.
    fn rows_as_json(columns: &str, order_by: &str) -> Option<String>;

    /// Where [`rows_as_json`](Self::rows_as_json) is `Some`: an aggregate over the rows of a
    /// subquery `t` that makes one JSON array of the integer `column`, in no particular order
    /// (`[]` for none), for many ids at once (the tickets a sweep claims): a third of the
    /// cost of one array per row. `None` reads rows.
    fn ids_as_json(column: &str) -> Option<String> {
        Self::rows_as_json(column, "").map(|_| Self::ids_json(column, ""))
    }

    /// Whether the schema keeps `ticket_tallies (user_id, side, n)`: how many tickets each
    /// user raised, has assigned, and both, and `ticket_status_tallies (status, priority, n)`:
    /// how many tickets have each status and priority, both kept by triggers, from which an
    /// unfiltered list of a user's or an agent's tickets, and a list of everyone's filtered by
    /// status and priority or by one creator or assignee alone, read their counts (summing
    /// `n`: a key may have several rows). SQLite keeps one row a key, which its one writer
    /// updates in turn; PostgreSQL adds rows of changes and folds them now and then, so that
    /// concurrent writes never wait on a counter row.
    const TALLIES: bool;

    /// Whether a list whose best plan depends on how many tickets match chooses its plan in
    /// the statement, from the tallies: walking the ordering's index where the matches are
    /// many, reading and sorting them where they are few (an agent's tickets in an order
    /// their indexes do not hold; everyone's filtered by status or priority in `updated_at`
    /// or `due_at` order). SQLite's planner knows nothing of how values are spread; PostgreSQL's
    /// chooses from its statistics, and plans chosen for it were slower (an agent's tickets
    /// by `priority`: 2.7 ms planned, 35 ms walked).
    const PLANS_BY_TALLIES: bool;

    /// Whether the schema keeps an index of each status's tickets in due-time order, both
    /// ways, on `coalesce(due_at, 'infinity')` and `coalesce(due_at, '-infinity') DESC`, which
    /// a page of everyone's tickets of one status in due-time order is sorted by: PostgreSQL,
    /// whose planner otherwise walked `due_at`'s own index for it, passing every ticket with a
    /// due time to reach those of a status that has none (closed: 18.7 ms). Only such an
    /// expression keeps the planner off that walk; a plain `(status, due_at)` index lost to it
    /// on the estimated cost. SQLite chooses these plans itself ([`Self::PLANS_BY_TALLIES`]).
    const STATUS_DUE_INDEXES: bool;

    /// Whether every new row gets an id above every committed row's: SQLite, whose one writer
    /// commits in order; not PostgreSQL, whose sequences hand ids out before commit. The
    /// reports then remember their counts and read only the events since (the store's
    /// `reports` module); the schema keeps `ticket_text_edits (n)`, which every deletion of a
    /// ticket changes, and `ticket_scope_edits (n)`, which every change of a ticket's creator
    /// or assignee changes.
    const IDS_IN_COMMIT_ORDER: bool;

    /// Whether the schema keeps `history_hours (hour, kind, n)`: how many events of each kind
    /// the last-7-days report counts (`created`, `resolved`, `escalated`) each hour since 1970
    /// holds, kept by triggers as rows of changes like the tallies, with the SQL functions
    /// `history_hour(at)` and `history_counted(kind, to_value)`; and `history_scope_hours
    /// (user_id, side, hour, kind, n)`, the same for each user's tickets by side (`raised`,
    /// `assigned`, `both`, as the tallies), whose rows a change of a ticket's creator or
    /// assignee moves. Every scope's report then sums the hours after the one its window
    /// starts in and counts the events of that one alone. PostgreSQL; SQLite remembers its
    /// reports instead ([`Self::IDS_IN_COMMIT_ORDER`]). Such a schema also keeps
    /// `ticket_hours (hour, priority, answered, n)`: how many tickets were created in each UTC
    /// hour (`hour`, its start), of each priority, answered by staff or not, from which
    /// everyone's service-level report sums the whole hours of its window.
    const HOURLY_COUNTS: bool;

    /// Whether a `WITH` clause may hold an `INSERT ... RETURNING` whose rows the statement
    /// inserts elsewhere too: PostgreSQL, which then writes a group of new tickets or comments
    /// and their events in one round trip per chunk instead of two; not SQLite.
    const INSERTS_IN_WITH: bool;

    /// ` AND <the account matches pattern>` for user search, where `pattern` is a
    /// [`like_contains`](helpdesk_core::store::like_contains) pattern over the computed
    /// `name_email`. SQLite asks its FTS5 trigram index, PostgreSQL `ILIKE` on a trigram index.
    fn push_user_search(qb: &mut QueryBuilder<Self::Db>, pattern: String);

    /// The unique constraint a unique violation broke, as `table.column` (for example
    /// `users.email`, [`USERS_EMAIL`](helpdesk_core::store::USERS_EMAIL)): SQLite names it in
    /// the message, PostgreSQL names the constraint (`users_email_key`) and its table.
    fn unique_constraint(error: &dyn DatabaseError) -> String;

    /// Whether a database error says "not now" rather than "never": a statement cancelled by
    /// its time limit, a lock that was not granted in time. Those are
    /// [`StoreError::Unavailable`](helpdesk_core::StoreError::Unavailable), worth retrying.
    fn is_transient(error: &dyn DatabaseError) -> bool;

    /// How many rows a statement changed.
    fn rows_affected(result: &<Self::Db as Database>::QueryResult) -> u64;

    /// ` AND <the ticket t's text contains text>`, literally and case-insensitively, for the
    /// `search` and `title` filters. [`push_like_text`](crate::push_like_text) is what every
    /// database can do; a dialect with a text index uses it instead (SQLite asks its FTS5
    /// trigram index; PostgreSQL's `ILIKE` uses the trigram indexes of its `ticket_texts`). `probe`: the
    /// statement should start from another index (the scope's, or the ordering's when the
    /// matches are many) and look each ticket up among the matches, rather than read every
    /// match.
    fn push_ticket_text(
        qb: &mut QueryBuilder<Self::Db>,
        field: TicketText,
        text: &str,
        probe: bool,
    );

    /// What goes before a ticket list's statement for the text filters of `q`: common table
    /// expressions that [`push_ticket_text`](Self::push_ticket_text) then names, so that a
    /// statement asking the text index in several places (the count and the page, an agent's
    /// two sides) asks it once. Nothing by default.
    fn push_ticket_text_with(qb: &mut QueryBuilder<Self::Db>, q: &TicketQuery) {
        let _ = (qb, q);
    }

    /// The table of [`push_ticket_text_with`](Self::push_ticket_text_with) that holds every
    /// text match of `q` (one indexed text filter; SQLite's `search_hits` or `title_hits`),
    /// or `None` (the default) where there is no such table. With it, a count of everyone's
    /// tickets that only filters by text counts the table without reading a ticket, and a page
    /// chooses by the number of matches between reading each match and walking the
    /// ordering's index (see [`push_ticket_text`](Self::push_ticket_text)).
    fn text_hits(q: &TicketQuery) -> Option<&'static str> {
        let _ = q;
        None
    }

    /// Pushes one statement that brings the remembered matches of `text` in `field` up to
    /// date (see the store's `matches` module) and answers `true`; `false` (the default)
    /// where the dialect remembers none. `since` is the `epoch` and `mark` the last such
    /// statement answered for this text, `None` for the first. The statement's columns:
    ///
    /// 1. `epoch`, an integer that changes whenever remembered matches stop holding (a
    ///    deletion anywhere; SQLite: any change of a ticket's text as well);
    /// 2. `mark`, text saying where this statement's view of the tickets stands, for the next
    ///    `since` (SQLite: the largest ticket id; PostgreSQL: the snapshot);
    /// 3. `dropped`, a JSON array of the ids whose text may have changed since `since`, to
    ///    be forgotten before `added` is added;
    /// 4. `added`, a JSON array of the ids among those and among the tickets new since
    ///    `since` that match now: every match where `since` is `None` or holds another epoch,
    ///    or `NULL` for another epoch where the dialect reads every match only with `None`
    ///    (the store then asks again so);
    /// 5. `upto`, the largest ticket id;
    ///
    /// then whatever `extra` pushes (each column after `, `), all from one snapshot.
    fn push_text_changes(
        qb: &mut QueryBuilder<Self::Db>,
        field: TicketText,
        text: &str,
        since: Option<(i64, &str)>,
        extra: &dyn Fn(&mut QueryBuilder<Self::Db>),
    ) -> bool {
        let _ = (qb, field, text, since, extra);
        false
    }

    /// An aggregate over the rows of a subquery `t` that makes one JSON array (as text) of
    /// the integer `column`, in the order of `order_by` (an ` ORDER BY ...` clause, or empty
    /// for any order), `[]` for none.
    fn ids_json(column: &str, order_by: &str) -> String;

    /// Opens a store at `url`: the adapter's connection setup and migrations.
    fn connect(url: &str) -> impl Future<Output = Result<SqlStore<Self>>> + Send;
}
