//! # helpdesk-sqlite
//!
//! The embedded default store of the helpdesk library: every port of `helpdesk-core` on SQLite
//! through sqlx, with embedded migrations applied on connect.
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
//! ## Concurrency
//!
//! The database runs in WAL mode: readers never wait for the writer. All writes go through a
//! pool of exactly one connection, so concurrent requests queue for it in the pool instead of
//! racing for SQLite's lock, and never fail with "database is locked". Every write that spans
//! several statements is one `BEGIN IMMEDIATE` transaction. Another process writing the same
//! file is covered by the busy timeout.

use std::str::FromStr;
use std::time::Duration;

use helpdesk_core::{Error, Result};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

mod outbox;
mod rows;
mod tickets;
mod users;

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Every port of `helpdesk-core` on one SQLite database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

pub(crate) use helpdesk_sql::store_error as db;

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url`, such as `sqlite://helpdesk.db` or
    /// `sqlite:///var/lib/helpdesk/db.sqlite`, and applies the migrations. An in-memory URL
    /// (`sqlite::memory:`, `mode=memory`) gets a fresh private database, as
    /// [`in_memory`](Self::in_memory) does.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Self::in_memory().await;
        }
        let options = SqliteConnectOptions::from_str(url).map_err(db)?;
        Self::connect_with(options).await
    }

    /// [`connect`](Self::connect) with options of your own; WAL, foreign keys, the busy timeout
    /// and `create_if_missing` are set on top of them.
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db)?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .map_err(Error::store)?;
        let readers = std::thread::available_parallelism().map_or(4, |n| n.get().clamp(2, 8));
        let reader = SqlitePoolOptions::new()
            .max_connections(readers as u32)
            .connect_with(options.read_only(true))
            .await
            .map_err(db)?;
        Ok(Self { reader, writer })
    }

    /// A fresh private in-memory database, for tests and demos. It lives as long as the store
    /// (and its clones); it has one connection for reads and writes.
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(db)?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(Error::store)?;
        Ok(Self {
            reader: pool.clone(),
            writer: pool,
        })
    }

    /// Starts a write transaction that holds the write lock from its first statement.
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[async_trait::async_trait]
impl helpdesk_core::Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db)?;
        Ok(())
    }
}
