//! # helpdesk-sqlite
//!
//! The embedded default store of the helpdesk library: every port of `helpdesk-core` on SQLite,
//! with embedded migrations applied on connect. The statements are `helpdesk-sql`'s, written
//! once for every SQL database; this crate is SQLite's [`Dialect`], its connection setup and
//! its schema.
//!
//! ```no_run
//! # async fn demo() -> Result<(), helpdesk_core::Error> {
//! use helpdesk_core::Helpdesk;
//! use helpdesk_sqlite::SqliteStore;
//!
//! let store = SqliteStore::connect("sqlite://helpdesk.db").await?; // created if missing
//! let helpdesk = Helpdesk::new(store);
//! # Ok(()) }
//! ```
//!
//! `SqliteStore::connect("sqlite::memory:")` opens a fresh private in-memory database, for
//! tests and demos.
//!
//! ## Concurrency
//!
//! The database runs in WAL mode: readers never wait for the writer. All writes go through a
//! pool of exactly one connection, so concurrent requests queue for it in the pool instead of
//! racing for SQLite's lock, and never fail with "database is locked". Every write that spans
//! several statements is one `BEGIN IMMEDIATE` transaction. Another process writing the same
//! file is covered by the busy timeout. A task of the store copies the write-ahead log back
//! into the database file every 200 ms on a connection of its own, so no commit waits for
//! that copy; it stops when the store closes or its last clone is dropped.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use helpdesk_core::store::{StoreError, StoreResult};
use helpdesk_core::{Error, Result, TicketQuery};
use helpdesk_sql::{Dialect, SqlStore, TicketText, push_like_text, store_error};
use sqlx::error::DatabaseError;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

mod checkpoint;

fn db(error: sqlx::Error) -> Error {
    store_error::<SqliteDialect>(error).into()
}

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a read waits for a free connection before the request is answered `503`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Every port of `helpdesk-core` on one SQLite database. Cheap to clone.
pub type SqliteStore = SqlStore<SqliteDialect>;

/// SQLite's answers to [`Dialect`]: times as Unix milliseconds, `BEGIN IMMEDIATE`, no row
/// locks (the single writer excludes every other), and user search through an FTS5 trigram
/// index.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    type Db = Sqlite;
    type Time = i64;

    fn encode_time(at: DateTime<Utc>) -> i64 {
        at.timestamp_millis()
    }

    type Ids = String;

    fn encode_ids(ids: &[i64]) -> String {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        format!("[{}]", list.join(","))
    }

    const IN_IDS_2: &'static str = "t.id IN (SELECT value FROM json_each($2))";

    fn decode_time(ms: i64) -> StoreResult<DateTime<Utc>> {
        DateTime::from_timestamp_millis(ms).ok_or_else(|| {
            StoreError::backend(format!("unexpected stored value: time {ms} out of range"))
        })
    }

    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const TRUE: &'static str = "1";
    const IS_DISTINCT_FROM: &'static str = "IS NOT";
    const CLAIM: &'static str = "";
    const LOCK: &'static str = "";
    const UNINDEXED: &'static str = "+";
    const FENCE: &'static str = " LIMIT -1 OFFSET 0";
    const KEEP: &'static str = "";

    const TALLIES: bool = true;
    const PLANS_BY_TALLIES: bool = true;
    const STATUS_DUE_INDEXES: bool = false;
    const IDS_IN_COMMIT_ORDER: bool = true;
    const HOURLY_COUNTS: bool = false;
    const INSERTS_IN_WITH: bool = false;

    fn rows_as_json(columns: &str, order_by: &str) -> Option<String> {
        Some(format!("json_group_array(json_array({columns}){order_by})"))
    }

    fn ids_json(column: &str, order_by: &str) -> String {
        format!("json_group_array({column}{order_by})")
    }

    /// Texts of 3 characters or more ask the FTS5 trigram index with a phrase, which matches
    /// substrings literally and case-insensitively, once per statement (see
    /// [`push_ticket_text_with`](Dialect::push_ticket_text_with)); shorter ones (which have no
    /// trigram) scan with `LIKE`. To probe, each ticket the statement walks is looked up among
    /// the matches (`+t.id` keeps SQLite from reading every match from the table instead: an
    /// agent's search took 63 ms that way); otherwise each match is read by id.
    fn push_ticket_text(qb: &mut QueryBuilder<Sqlite>, field: TicketText, text: &str, probe: bool) {
        if !indexed(text) {
            return push_like_text(qb, field, text, "LIKE");
        }
        let id = if probe { "+t.id" } else { "t.id" };
        qb.push(format_args!(" AND {id} IN {}", hits(field)));
    }

    /// The matches of each indexed text filter, as a table computed once per statement.
    fn push_ticket_text_with(qb: &mut QueryBuilder<Sqlite>, q: &TicketQuery) {
        let filters = [
            (TicketText::Anywhere, &q.search),
            (TicketText::Title, &q.title),
        ];
        let mut first = true;
        for (field, text) in filters {
            let Some(text) = text.as_deref().filter(|t| indexed(t)) else {
                continue;
            };
            qb.push(if first { "WITH " } else { ", " })
                .push(format_args!("{}(id) AS MATERIALIZED (", hits(field)));
            push_text_matches(qb, field, text);
            qb.push(") ");
            first = false;
        }
    }

    /// Remembers matches through the trigram index (texts of 3 characters or more): a new
    /// ticket gets an id above every committed one (one writer commits them in order), so
    /// the matches new since `since` are those above the largest id it saw, which the index
    /// finds by id range; `ticket_text_edits` (kept by triggers) numbers the changes of text
    /// and the deletions, the epoch.
    fn push_text_changes(
        qb: &mut QueryBuilder<Sqlite>,
        field: TicketText,
        text: &str,
        since: Option<(i64, &str)>,
        extra: &dyn Fn(&mut QueryBuilder<Sqlite>),
    ) -> bool {
        if !indexed(text) {
            return false;
        }
        let (epoch, upto) = since
            .and_then(|(epoch, mark)| Some((epoch, mark.parse::<i64>().ok()?)))
            .unwrap_or((-1, 0));
        qb.push("WITH matching (id) AS (");
        push_text_matches(qb, field, text);
        qb.push(
            "), seen (edits, upto) AS (SELECT (SELECT n FROM ticket_text_edits), \
             (SELECT coalesce(max(id), 0) FROM tickets)), \
             since (id) AS (SELECT CASE WHEN edits = ",
        )
        .push_bind(epoch)
        .push(" THEN ")
        .push_bind(upto)
        .push(
            " ELSE 0 END FROM seen) SELECT edits, CAST(upto AS TEXT), '[]', \
             CASE WHEN upto > (SELECT id FROM since) THEN (SELECT json_group_array(id) \
             FROM matching WHERE id > (SELECT id FROM since)) ELSE '[]' END, upto",
        );
        extra(qb);
        qb.push(" FROM seen");
        true
    }

    /// One indexed text filter: its matches are in one table (which the triggers keep in step
    /// with the tickets, so every match is a ticket).
    fn text_hits(q: &TicketQuery) -> Option<&'static str> {
        let indexed = |text: &Option<String>| text.as_deref().is_some_and(indexed);
        match (indexed(&q.search), indexed(&q.title)) {
            (true, false) => Some(hits(TicketText::Anywhere)),
            (false, true) => Some(hits(TicketText::Title)),
            _ => None,
        }
    }

    fn push_user_search(qb: &mut QueryBuilder<Sqlite>, pattern: String) {
        qb.push(" AND id IN (SELECT rowid FROM users_search WHERE name_email LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }

    /// SQLite says `UNIQUE constraint failed: users.email`.
    fn unique_constraint(error: &dyn DatabaseError) -> String {
        let message = error.message();
        message
            .strip_prefix("UNIQUE constraint failed: ")
            .unwrap_or(message)
            .to_owned()
    }

    /// `SQLITE_BUSY` or `SQLITE_LOCKED` (and their extended codes): another process held
    /// the database longer than the busy timeout.
    fn is_transient(error: &dyn DatabaseError) -> bool {
        error
            .code()
            .and_then(|code| code.parse::<u32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6))
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    async fn connect(url: &str) -> Result<SqliteStore> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return in_memory().await;
        }
        connect_with(SqliteConnectOptions::from_str(url).map_err(db)?).await
    }
}

/// Whether a text filter asks the trigram index: it needs a trigram, three characters.
fn indexed(text: &str) -> bool {
    text.chars().count() >= 3
}

/// `SELECT id FROM ...`: the trigram index's matches by rowid, which is the ticket's id, for
/// a text of 3 characters or more.
fn push_text_matches(qb: &mut QueryBuilder<Sqlite>, field: TicketText, text: &str) {
    qb.push("SELECT rowid AS id FROM tickets_search WHERE tickets_search MATCH ")
        .push_bind(phrase(field, text));
}

/// The FTS5 query of a text filter: `text` as one phrase (the trigrams of a substring, in a
/// row), in the title alone for `title`.
fn phrase(field: TicketText, text: &str) -> String {
    let phrase = format!("\"{}\"", text.replace('"', "\"\""));
    match field {
        TicketText::Anywhere => phrase,
        TicketText::Title => format!("title : {phrase}"),
    }
}

/// The name of the table of a text filter's matches.
fn hits(field: TicketText) -> &'static str {
    match field {
        TicketText::Anywhere => "search_hits",
        TicketText::Title => "title_hits",
    }
}

/// A pool without the check `sqlx` makes by default each time a connection is taken from the
/// pool: a round trip to the connection's thread that an in-process database does not need
/// (a connection whose thread stopped is closed when it comes back to the pool, which checks
/// it then). Without it, a ticket read under load takes 4.5 thread switches instead of 7 and
/// the server answers about 30 % more of them.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new().test_before_acquire(false)
}

/// Opens (creating it if missing) the database with options of your own and applies the
/// migrations; WAL, foreign keys, the busy timeout and `create_if_missing` are set on top of
/// them. [`SqliteStore::connect`] with a URL is the usual way.
pub async fn connect_with(options: SqliteConnectOptions) -> Result<SqliteStore> {
    create_private(options.get_filename())?;
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("temp_store", "memory");
    // The writer keeps the query planner's statistics current, as SQLite advises for
    // long-lived connections: on open, every table whose indexes have none or whose size
    // changed tenfold is analyzed (in full, about 0.2 s at 100,000 tickets), and again
    // whenever the pool closes the connection (after at most 30 minutes). Without statistics
    // SQLite guessed wrong for an agent's tickets: their list took 6 ms instead of 0.5 ms.
    // Its commits leave the log to the checkpointer (see the `checkpoint` module).
    let writer = pool_options()
        .max_connections(1)
        .connect_with(
            options
                .clone()
                .optimize_on_close(true, None)
                .pragma("wal_autocheckpoint", checkpoint::WRITER_PAGES.to_string()),
        )
        .await
        .map_err(db)?;
    migrate(&writer).await?;
    sqlx::query("PRAGMA optimize = 0x10002")
        .execute(&writer)
        .await
        .map_err(db)?;
    let checkpointer = checkpoint::start(options.clone(), &writer)
        .await
        .map_err(db)?;
    let readers = std::thread::available_parallelism().map_or(4, |n| n.get().clamp(2, 8));
    let read_only = options.read_only(true);
    let reader = pool_options()
        .max_connections(readers as u32)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(read_only.clone())
        .await
        .map_err(db)?;
    let auth = pool_options()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(read_only)
        .await
        .map_err(db)?;
    Ok(SqliteStore::from_pools(reader, writer)
        .with_auth_pool(auth)
        .with_companion(checkpointer))
}

/// Writes a consistent copy of the store's database to `to`, a new file readable and writable
/// by its owner only, while the store (and any server on the same file) keeps reading and
/// writing: SQLite's `VACUUM INTO` copies one snapshot, compacted. The copy is a complete
/// database; a server started on it is the store as it was. An existing file at `to` is an
/// error and stays as it was.
///
/// ```no_run
/// # async fn demo() -> Result<(), helpdesk_core::Error> {
/// let store = helpdesk_sqlite::SqliteStore::connect("sqlite://helpdesk.db").await?;
/// helpdesk_sqlite::backup(&store, std::path::Path::new("helpdesk-backup.db")).await?;
/// # Ok(()) }
/// ```
pub async fn backup(store: &SqliteStore, to: &std::path::Path) -> Result<()> {
    let target = to
        .to_str()
        .ok_or_else(|| Error::store(format!("the backup path {} is not UTF-8", to.display())))?;
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    file.open(to)
        .map_err(|e| Error::store(format!("cannot create {}: {e}", to.display())))?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(store.reader())
        .await;
    if let Err(error) = copied {
        let _ = std::fs::remove_file(to);
        return Err(db(error));
    }
    Ok(())
}

/// Creates the database file, if missing, readable and writable by its owner only (SQLite
/// gives the `-wal` and `-shm` files the same mode), so other local users cannot read it.
fn create_private(path: &std::path::Path) -> Result<()> {
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::store(format!(
            "cannot create the database file {}: {e}",
            path.display()
        ))),
    }
}

/// A fresh private in-memory database: it lives as long as the store (and its clones) and has
/// one connection for reads and writes.
async fn in_memory() -> Result<SqliteStore> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")
        .map_err(db)?
        .foreign_keys(true);
    let pool = pool_options()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .map_err(db)?;
    migrate(&pool).await?;
    Ok(SqliteStore::from_pools(pool.clone(), pool))
}

async fn migrate(pool: &SqlitePool) -> Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .map_err(Error::store)
}
