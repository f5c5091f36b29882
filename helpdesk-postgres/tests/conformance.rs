//! The shared store conformance suite on PostgreSQL, each test in a schema of its own.
//! Runs when `HELPDESK_TEST_POSTGRES_URL` is set (CI sets it); otherwise every test is reported
//! as ignored.

async fn store() -> helpdesk_postgres::PgStore {
    let base = std::env::var("HELPDESK_TEST_POSTGRES_URL").expect("HELPDESK_TEST_POSTGRES_URL");
    let url = helpdesk_postgres::fresh_schema_url(&base)
        .await
        .expect("a fresh schema");
    helpdesk_postgres::PgStore::connect(&url)
        .await
        .expect("PostgreSQL store")
}

helpdesk_core::store_conformance_tests!(
    [#[cfg_attr(not(helpdesk_postgres_tests), ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests")]]
    store().await
);
