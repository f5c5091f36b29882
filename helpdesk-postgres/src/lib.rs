//! # helpdesk-postgres
//!
//! Every port of `helpdesk-core` on PostgreSQL through sqlx, for running several
//! `helpdesk-server` instances behind a load balancer on one database. Escalation sweeps and
//! outbox claims lock rows with `FOR UPDATE SKIP LOCKED`, so any number of instances running at
//! once escalate each ticket once and send each email once.
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
//! user search index, which needs a role allowed to create it (PostgreSQL 13+ trusts it for
//! any role with `CREATE` on the database).

use std::str::FromStr;

use helpdesk_core::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

mod outbox;
mod rows;
#[cfg(feature = "testing")]
mod testing;
mod tickets;
mod users;

#[cfg(feature = "testing")]
pub use testing::fresh_schema_url;

/// Every port of `helpdesk-core` on one PostgreSQL database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

pub(crate) use helpdesk_sql::store_error as db;

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) with a pool of 10
    /// connections and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(db)?;
        Self::connect_with(options, 10).await
    }

    /// [`connect`](Self::connect) with options of your own (a `search_path`, TLS, ...) and pool size.
    pub async fn connect_with(options: PgConnectOptions, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(db)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(Error::store)?;
        Ok(Self { pool })
    }

    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(db)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait::async_trait]
impl helpdesk_core::Store for PgStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
