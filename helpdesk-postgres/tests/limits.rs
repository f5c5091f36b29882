//! Time limits and reserved connections on PostgreSQL. Runs when
//! `HELPDESK_TEST_POSTGRES_URL` is set (CI sets it); otherwise reported as ignored.

use helpdesk_core::store::StoreError;
use helpdesk_postgres::{PgDialect, PgStore};

async fn store() -> PgStore {
    let base = std::env::var("HELPDESK_TEST_POSTGRES_URL").expect("HELPDESK_TEST_POSTGRES_URL");
    let url = helpdesk_postgres::fresh_schema_url(&base)
        .await
        .expect("a fresh schema");
    PgStore::connect(&url).await.expect("PostgreSQL store")
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn a_statement_over_its_time_limit_is_unavailable_not_a_failure() {
    let store = store().await;
    let mut connection = store.reader().acquire().await.unwrap();
    let limit: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&mut *connection)
        .await
        .unwrap();
    assert_eq!(limit, "10s", "every pooled connection has the limit");
    // Lowered for a quick test.
    sqlx::query("SET statement_timeout = '20ms'")
        .execute(&mut *connection)
        .await
        .unwrap();
    let error = sqlx::query("SELECT pg_sleep(1)")
        .execute(&mut *connection)
        .await
        .unwrap_err();
    let mapped = helpdesk_sql::store_error::<PgDialect>(error);
    assert!(matches!(mapped, StoreError::Unavailable(_)), "{mapped:?}");
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn sessions_are_looked_up_while_every_read_connection_is_busy() {
    helpdesk_sql::testing::sessions_do_not_wait_for_reads(store().await).await;
}
