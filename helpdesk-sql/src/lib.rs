//! # helpdesk-sql
//!
//! The store of the helpdesk library written once for every SQL database: [`SqlStore`]
//! implements every port of `helpdesk-core` over sqlx, generic over a [`Dialect`] that names
//! what one database does differently from another. The adapter crates are a dialect each,
//! with their connection setup and migrations: `helpdesk-sqlite` (the embedded default) and
//! `helpdesk-postgres` (several server instances on one database).
//!
//! ## Why a generic store and not a query builder crate
//!
//! The two databases share almost all of their SQL. Placeholders are `$1`, `$2`, ... in every
//! statement (both drivers bind them by number; [`QueryBuilder`](sqlx::QueryBuilder)'s
//! `push_bind` numbers them itself), and the real differences are a handful of tokens: how an instant is stored, how a write transaction
//! starts, the row-claiming clause, null-safe inequality, the boolean literal, and the user
//! search index. Those are the hooks of [`Dialect`]; everything else is one statement text,
//! bound through sqlx's generic `Database` traits. A SQL builder crate such as sea-query would
//! add a second way of writing SQL (and a dependency) to hide differences that are this small,
//! and would still need the same per-database hooks for locking and search.
//!
//! Each statement is checked on both databases by the shared conformance suite
//! (`helpdesk_core::store_conformance_tests!`), run by each adapter crate.
//!
//! ## One sweep for both databases
//!
//! The escalation sweep shows the pattern. In one write transaction it
//! 1. records an `escalated` event for every overdue active ticket, claiming those tickets
//!    ([`Dialect::CLAIM`]: PostgreSQL skips rows another sweeper holds; SQLite holds the
//!    write lock),
//! 2. queues the emails of exactly the tickets it claimed, whose ids the first statement
//!    returned (PostgreSQL) or the events it wrote give back as one value
//!    ([`Dialect::ids_as_json`], SQLite), bound as one list ([`Dialect::IN_IDS_2`]) so that
//!    each ticket is looked up by id,
//! 3. moves the same tickets to `escalated`.
//!
//! So each ticket escalates once, whatever number of sweepers run at once.
//!
//! ## Trait bounds
//!
//! Generic sqlx code has to state what it needs of the driver (Rust does not infer bounds on
//! foreign types from a trait's declaration), so every generic `impl` here carries the same
//! `where` clause: the driver's connections execute queries, rows are indexed by column name
//! and position, and the column types used by the schema (`i64`, `i32`, `i16`, `bool`, text,
//! bytes) encode and decode. Both sqlx drivers satisfy it.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use helpdesk_core::Result;
use helpdesk_core::store::{PoolUsage, StoreResult};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type,
};

mod batch;
mod dialect;
mod error;
mod filters;
mod matches;
mod outbox;
mod policy;
mod reports;
mod rows;
#[cfg(feature = "testing")]
pub mod testing;
mod tickets;
mod users;
mod webhooks;
mod window;

pub use dialect::Dialect;
pub use error::store_error;
pub use filters::{TicketText, push_like_text, push_text_like};

/// A column type the store binds and reads on `DB`.
pub trait Value<DB: Database>:
    for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send + Sync + 'static
{
}

impl<DB: Database, T> Value<DB> for T where
    T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> + Send + Sync + 'static
{
}

/// Every port of `helpdesk-core` on one SQL database. Cheap to clone.
///
/// Reads go through `reader`, writes through `writer`; they are the same pool on PostgreSQL
/// and two pools on SQLite (read-only connections, and exactly one writer connection).
/// New tickets, comments, changes of tickets and the hits of the rate limits are written in
/// groups by tasks that start on the Tokio runtime of the first write: use a store on one runtime, as its sqlx pools expect
/// (a second runtime's writes would wait while that runtime is not running).
/// Adapters construct it; hosts call `connect` on the adapter's alias:
///
/// ```no_run
/// # async fn demo() -> Result<(), helpdesk_core::Error> {
/// let store = helpdesk_sqlite::SqliteStore::connect("sqlite://helpdesk.db").await?;
/// let helpdesk = helpdesk_core::Helpdesk::new(store);
/// # Ok(()) }
/// ```
pub struct SqlStore<D: Dialect> {
    reader: Pool<D::Db>,
    writer: Pool<D::Db>,
    /// Session lookups only, so sign-ins never queue behind long reads.
    auth: Pool<D::Db>,
    /// The tasks that write new tickets, comments and changes of tickets, and count rate
    /// limits' hits, in groups.
    inserts: batch::Queue<batch::Job>,
    comments: batch::Queue<batch::CommentJob>,
    changes: batch::Queue<batch::ChangeJob>,
    hits: batch::Queue<batch::Hit>,
    /// What searches of everyone's tickets matched (see the `matches` module).
    matches: Arc<matches::Matches>,
    /// The last counts of each scope's report (see the `reports` module).
    report: Arc<reports::Remembered>,
    /// A value of the adapter's that lives as long as the store's last clone (see
    /// [`SqlStore::with_companion`]).
    companion: Option<Arc<dyn Any + Send + Sync>>,
    dialect: PhantomData<D>,
}

impl<D: Dialect> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        Self {
            reader: self.reader.clone(),
            writer: self.writer.clone(),
            auth: self.auth.clone(),
            inserts: self.inserts.clone(),
            comments: self.comments.clone(),
            changes: self.changes.clone(),
            hits: self.hits.clone(),
            matches: self.matches.clone(),
            report: self.report.clone(),
            companion: self.companion.clone(),
            dialect: PhantomData,
        }
    }
}

impl<D: Dialect> fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("dialect", &std::any::type_name::<D>())
            .field("reader", &self.reader)
            .field("writer", &self.writer)
            .finish()
    }
}

impl<D: Dialect> SqlStore<D> {
    /// Opens the store at `url` with the dialect's connection setup, applying its migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        D::connect(url).await
    }

    /// A store over pools whose database is already migrated; for adapters. Pass the same
    /// pool twice where reads and writes share connections.
    pub fn from_pools(reader: Pool<D::Db>, writer: Pool<D::Db>) -> Self {
        Self {
            auth: reader.clone(),
            reader,
            writer,
            inserts: batch::Queue::default(),
            comments: batch::Queue::default(),
            changes: batch::Queue::default(),
            hits: batch::Queue::default(),
            matches: Arc::default(),
            report: Arc::default(),
            companion: None,
            dialect: PhantomData,
        }
    }

    /// Keeps `value` until the store's last clone is dropped, for adapters: the sender of a
    /// channel whose closing stops a background task of theirs, say (SQLite's checkpointer).
    pub fn with_companion(mut self, value: impl Any + Send + Sync) -> Self {
        self.companion = Some(Arc::new(value));
        self
    }

    /// Looks sessions up through a pool of their own, so that authenticating a request never
    /// waits for a connection that ticket searches and reports hold.
    pub fn with_auth_pool(mut self, auth: Pool<D::Db>) -> Self {
        self.auth = auth;
        self
    }

    /// The pool reads go through.
    pub fn reader(&self) -> &Pool<D::Db> {
        &self.reader
    }

    /// The pool writes go through.
    pub fn writer(&self) -> &Pool<D::Db> {
        &self.writer
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.auth.close().await;
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Starts a write transaction ([`Dialect::BEGIN_WRITE`]).
    async fn write(&self) -> StoreResult<Transaction<'static, D::Db>> {
        self.writer
            .begin_with(D::BEGIN_WRITE)
            .await
            .map_err(store_error::<D>)
    }
}

#[async_trait::async_trait]
impl<D> helpdesk_core::Store for SqlStore<D>
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
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(store_error::<D>)?;
        Ok(())
    }

    /// The reader, writer and session-lookup pools (one and the same where the store was
    /// built over one pool).
    fn connections(&self) -> Vec<PoolUsage> {
        let usage = |pool: &'static str, of: &Pool<D::Db>| PoolUsage {
            pool,
            open: of.size(),
            idle: u32::try_from(of.num_idle()).unwrap_or(u32::MAX),
        };
        vec![
            usage("reader", &self.reader),
            usage("writer", &self.writer),
            usage("auth", &self.auth),
        ]
    }
}

/// A statement assembled from this crate's fixed text and a dialect's constant fragments,
/// never from values (those are always bound).
fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}
