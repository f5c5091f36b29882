//! A fresh schema per test, so test runs sharing one database never collide.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use helpdesk_core::{Error, Result};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

use crate::db;

/// Test schemas older than this are dropped by the next test that starts.
const STALE_AFTER_SECS: u64 = 3600;

/// Creates an empty schema `helpdesk_test_<unix time>_<pid>_<n>` in the database at `base_url`
/// and returns a URL whose connections use it (`?options=-c search_path=...`). Schemas that
/// earlier runs left behind for more than an hour are dropped on the way.
pub async fn fresh_schema_url(base_url: &str) -> Result<String> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let schema = format!(
        "helpdesk_test_{now}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = PgConnection::connect(base_url).await.map_err(db)?;
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'helpdesk\\_test\\_%'",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(db)?;
    for stale in existing {
        let born = stale
            .split('_')
            .nth(2)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(now);
        if now.saturating_sub(born) > STALE_AFTER_SECS {
            // The name comes from pg_namespace and matched the pattern above: an identifier we made.
            let drop = format!("DROP SCHEMA IF EXISTS \"{stale}\" CASCADE");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(&mut conn)
                .await;
        }
    }
    let create = format!("CREATE SCHEMA \"{schema}\"");
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&mut conn)
        .await
        .map_err(db)?;
    let separator = if base_url.contains('?') { '&' } else { '?' };
    if base_url.contains("options=") {
        return Err(Error::store("the base URL must not set `options`"));
    }
    Ok(format!(
        "{base_url}{separator}options=-c%20search_path%3D{schema}%2Cpublic"
    ))
}

/// A fresh schema ([`fresh_schema_url`]) with only the migrations before `version` applied, as
/// a database of an earlier release, and the statements of `seed` run on it; connecting a
/// store then applies the rest. Its URL.
pub async fn fresh_schema_before(base_url: &str, version: i64, seed: &str) -> Result<String> {
    let url = fresh_schema_url(base_url).await?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .map_err(db)?;
    let mut before = sqlx::migrate!("./migrations");
    let earlier = before.migrations.iter().filter(|m| m.version < version);
    before.migrations = Cow::Owned(earlier.cloned().collect());
    before.run(&pool).await.map_err(Error::store)?;
    // Test code's own statements.
    sqlx::raw_sql(sqlx::AssertSqlSafe(seed))
        .execute(&pool)
        .await
        .map_err(db)?;
    pool.close().await;
    Ok(url)
}
