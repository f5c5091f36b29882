//! # helpdesk-postgres
//!
//! Every port of `helpdesk-core` on PostgreSQL, for running several `helpdesk-server`
//! instances behind a load balancer on one database. The statements are `helpdesk-sql`'s,
//! written once for every SQL database; this crate is PostgreSQL's [`Dialect`], its
//! connection setup and its schema. Escalation sweeps and outbox claims lock rows with
//! `FOR UPDATE SKIP LOCKED`, so any number of instances running at once escalate each ticket
//! once and send each email once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), helpdesk_core::Error> {
//! let store = helpdesk_postgres::PgStore::connect("postgres://helpdesk@db.internal/helpdesk").await?;
//! let helpdesk = helpdesk_core::Helpdesk::new(store);
//! # Ok(()) }
//! ```
//!
//! Migrations are embedded and applied on connect under sqlx's advisory lock, so instances
//! starting together do not race. They install the `pg_trgm` extension (in `public`) for the
//! user and ticket search indexes, which needs a role allowed to create it (PostgreSQL 13+
//! trusts it for any role with `CREATE` on the database).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use helpdesk_core::store::{StoreResult, like_contains};
use helpdesk_core::{Error, Result};
use helpdesk_sql::{Dialect, SqlStore, TicketText, push_like_text, push_text_like, store_error};
use sqlx::error::DatabaseError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use sqlx::{Postgres, QueryBuilder};

#[cfg(feature = "testing")]
mod testing;

#[cfg(feature = "testing")]
pub use testing::{fresh_schema_before, fresh_schema_url};

pub(crate) fn db(error: sqlx::Error) -> Error {
    store_error::<PgDialect>(error).into()
}

/// How long one statement may run (PostgreSQL's `statement_timeout`).
const STATEMENT_TIMEOUT: &str = "10s";

/// How long a request waits for a free connection before it is answered `503`.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Every port of `helpdesk-core` on one PostgreSQL database. Cheap to clone.
pub type PgStore = SqlStore<PgDialect>;

/// PostgreSQL's answers to [`Dialect`]: `timestamptz`, row locks (`FOR UPDATE SKIP LOCKED` for
/// claims), and user search with `ILIKE` on a trigram index.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgDialect;

impl Dialect for PgDialect {
    type Db = Postgres;
    type Time = DateTime<Utc>;

    fn encode_time(at: DateTime<Utc>) -> DateTime<Utc> {
        at
    }

    type Ids = Vec<i64>;

    fn encode_ids(ids: &[i64]) -> Vec<i64> {
        ids.to_vec()
    }

    const IN_IDS_2: &'static str = "t.id = ANY($2)";

    fn decode_time(stored: DateTime<Utc>) -> StoreResult<DateTime<Utc>> {
        Ok(stored)
    }

    const BEGIN_WRITE: &'static str = "BEGIN";
    const TRUE: &'static str = "true";
    const IS_DISTINCT_FROM: &'static str = "IS DISTINCT FROM";
    const CLAIM: &'static str = " FOR UPDATE SKIP LOCKED";
    const LOCK: &'static str = " FOR UPDATE";
    const UNINDEXED: &'static str = "";
    const FENCE: &'static str = " OFFSET 0";
    const KEEP: &'static str = " FOR SHARE";

    const TALLIES: bool = true;
    const PLANS_BY_TALLIES: bool = false;
    const STATUS_DUE_INDEXES: bool = true;
    const IDS_IN_COMMIT_ORDER: bool = false;
    const HOURLY_COUNTS: bool = true;
    const INSERTS_IN_WITH: bool = true;

    fn rows_as_json(_columns: &str, _order_by: &str) -> Option<String> {
        None
    }

    fn ids_json(column: &str, order_by: &str) -> String {
        format!("coalesce(json_agg({column}{order_by}), '[]')::text")
    }

    /// Remembers matches by snapshot: every ticket carries the transaction that wrote its
    /// text (`text_xid`, indexed, set on insert and by a trigger on a change of text), so
    /// the tickets whose text changed since a snapshot are those whose transaction it did not
    /// see, found from the oldest one it saw running on. Ids say nothing here: a sequence
    /// hands them out before commit, in another order. Deletions count in
    /// `ticket_text_edits`, the epoch.
    fn push_text_changes(
        qb: &mut QueryBuilder<Postgres>,
        field: TicketText,
        text: &str,
        since: Option<(i64, &str)>,
        extra: &dyn Fn(&mut QueryBuilder<Postgres>),
    ) -> bool {
        let Some((epoch, snapshot)) = since else {
            // The first time: every match, from the trigram indexes, planned for the text.
            qb.push(
                "SELECT (SELECT n FROM ticket_text_edits LIMIT 1), pg_current_snapshot()::text, \
                 '[]', (SELECT coalesce(json_agg(t.id), '[]')::text FROM ticket_texts t \
                 WHERE 1 = 1",
            );
            push_like_text(qb, field, text, "ILIKE");
            qb.push("), (SELECT coalesce(max(id), 0) FROM tickets)");
            extra(qb);
            return true;
        };
        // Then what changed since the snapshot, in a statement whose plan does not depend on
        // its values, so that PostgreSQL settles on one plan for it rather than planning it
        // for each request (0.7 to 1.2 ms of planning against 0.3 of execution): every value
        // is read through `old`, which no plan sees into, and the text is matched in an
        // aggregate's filter. Another epoch answers `NULL`: every match is read again by the
        // first statement. (Transactions from the snapshot's `xmin` on may be unseen by it.)
        qb.push("WITH old (s, epoch, p) AS (SELECT CAST(")
            .push_bind(snapshot.to_owned())
            .push(" AS pg_snapshot), CAST(")
            .push_bind(epoch)
            .push(" AS bigint), CAST(")
            .push_bind(like_contains(text))
            .push(
                " AS text)), \
                 changed (id) AS (SELECT t.id FROM tickets t \
                 WHERE t.text_xid >= (SELECT pg_snapshot_xmin(s) FROM old) \
                 AND NOT pg_visible_in_snapshot(t.text_xid, (SELECT s FROM old))) \
                 SELECT n, pg_current_snapshot()::text, \
                 (SELECT coalesce(json_agg(id), '[]')::text FROM changed), \
                 CASE WHEN n = (SELECT epoch FROM old) THEN \
                 (SELECT coalesce(json_agg(t.id) FILTER (WHERE true",
            );
        push_text_like(qb, field, "ILIKE", &|qb| {
            qb.push("o.p");
        });
        qb.push(
            "), '[]')::text FROM tickets t CROSS JOIN old o \
             WHERE t.id IN (SELECT id FROM changed)) END, \
             (SELECT coalesce(max(id), 0) FROM tickets)",
        );
        extra(qb);
        qb.push(" FROM (SELECT n FROM ticket_text_edits LIMIT 1) AS state");
        true
    }

    /// Everyone's tickets are matched in `ticket_texts`, whose trigram indexes `ILIKE` uses by
    /// itself (`tickets` has none: every update of a ticket would write them, see migration
    /// 0022); a probe tests the text on each ticket the statement reads anyway.
    fn push_ticket_text(
        qb: &mut QueryBuilder<Postgres>,
        field: TicketText,
        text: &str,
        probe: bool,
    ) {
        if probe {
            push_like_text(qb, field, text, "ILIKE");
        } else {
            // Inside, `t` is `ticket_texts`, which has the columns `push_like_text` names.
            qb.push(" AND t.id IN (SELECT t.id FROM ticket_texts t WHERE 1 = 1");
            push_like_text(qb, field, text, "ILIKE");
            qb.push(")");
        }
    }

    fn push_user_search(qb: &mut QueryBuilder<Postgres>, pattern: String) {
        qb.push(" AND name_email ILIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\'");
    }

    /// PostgreSQL names the constraint (`users_email_key` by its default naming) and the
    /// table; the column is what the name has between them.
    fn unique_constraint(error: &dyn DatabaseError) -> String {
        let constraint = error.constraint().unwrap_or_default();
        match error.table() {
            Some(table) => {
                let column = constraint
                    .strip_prefix(table)
                    .and_then(|c| c.strip_prefix('_'))
                    .and_then(|c| c.strip_suffix("_key"))
                    .unwrap_or(constraint);
                format!("{table}.{column}")
            }
            None => constraint.to_owned(),
        }
    }

    /// A cancelled statement (`statement_timeout`), a serialization failure, a deadlock, or
    /// too many connections.
    fn is_transient(error: &dyn DatabaseError) -> bool {
        matches!(
            error.code().as_deref(),
            Some("57014" | "40001" | "40P01" | "53300")
        )
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    async fn connect(url: &str) -> Result<PgStore> {
        connect_with(PgConnectOptions::from_str(url).map_err(db)?, 10).await
    }
}

/// Connects with options of your own (a `search_path`, TLS, ...) and a pool of
/// `max_connections`, and applies the migrations. [`PgStore::connect`] with a URL (and a pool
/// of 10) is the usual way.
pub async fn connect_with(options: PgConnectOptions, max_connections: u32) -> Result<PgStore> {
    // No statement runs longer than this: a runaway search fails instead of holding a
    // connection (and its locks) for everyone else.
    // Migrations run without it: building an index on a large table may take longer.
    let migrator = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .map_err(db)?;
    sqlx::migrate!("./migrations")
        .run(&migrator)
        .await
        .map_err(Error::store)?;
    migrator.close().await;
    let options = options.options([("statement_timeout", STATEMENT_TIMEOUT)]);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options.clone())
        .await
        .map_err(db)?;
    let auth = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options);
    Ok(PgStore::from_pools(pool.clone(), pool).with_auth_pool(auth))
}
