//! Searches answer from remembered matches (`helpdesk-sql`'s `matches` module) on PostgreSQL
//! too: every page and count must equal what a scan finds, through new tickets, edits,
//! deletions and reassignments made by another connection, and through transactions that
//! commit in another order than they took their ids. Runs when `HELPDESK_TEST_POSTGRES_URL`
//! is set (CI sets it); otherwise reported as ignored.
#![allow(clippy::unwrap_used)]

use helpdesk_postgres::PgStore;
use helpdesk_sql::testing::{NO_TEXT, SEARCHES, SOME_CLOSED_AND_BREACHED, lists_match_a_scan};
use sqlx::{Connection, Executor, PgConnection};

const TICKETS: i64 = 6_000;

/// The tickets of `helpdesk-sqlite`'s search test: creation times a permutation of the ids,
/// "printer" in one in 7, "scanner" among the first 150, "toner" only in the newer half;
/// raised by two users and an agent, a fifth assigned to the agent, some closed and some
/// breached.
async fn seed(conn: &mut PgConnection) {
    conn.execute(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, created_at, \
         updated_at) OVERRIDING SYSTEM VALUE VALUES \
         (1, 'admin@example.com', 'x', 'A', 'A', 'admin', now(), now()), \
         (2, 'user@example.com', 'x', 'U', 'U', 'user', now(), now()), \
         (3, 'other@example.com', 'x', 'O', 'O', 'user', now(), now()), \
         (4, 'agent@example.com', 'x', 'G', 'G', 'agent', now(), now())",
    )
    .await
    .unwrap();
    let at = |column: &str, base: i64, factor: i64| {
        format!("to_timestamp({base} + (i * {factor}::bigint) % {TICKETS} * 1000) AS {column}",)
    };
    conn.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO tickets (id, title, description, priority, status, created_by, \
                              assigned_to, created_at, updated_at, due_at, clock_started_at) \
         OVERRIDING SYSTEM VALUE \
         SELECT i, 'Ticket ' || i, \
                CASE WHEN i % 7 = 0 THEN 'The Printer is jammed' ELSE 'Something else' END \
                || CASE WHEN i <= 150 THEN ', and the scanner' ELSE '' END \
                || CASE WHEN i > {TICKETS} / 2 AND i % 9 = 0 THEN ', out of toner' ELSE '' END, \
                i % 3, 'open', CASE WHEN i % 11 = 0 THEN 4 WHEN i % 2 = 0 THEN 3 ELSE 2 END, \
                CASE WHEN i % 5 = 0 THEN 4 END, {}, {}, \
                CASE WHEN i % 4 <> 0 THEN to_timestamp(3000000 + (i * 15485863::bigint) \
                % {TICKETS} * 1000) END, to_timestamp(0) \
         FROM generate_series(1, {TICKETS}) AS i; \
         SELECT setval(pg_get_serial_sequence('tickets', 'id'), {TICKETS}); \
         SELECT setval(pg_get_serial_sequence('users', 'id'), 4)",
        at("created_at", 1_000_000, 7919),
        at("updated_at", 2_000_000, 104_729),
    )))
    .await
    .unwrap();
    conn.execute(SOME_CLOSED_AND_BREACHED).await.unwrap();
}

/// A ticket raised by user 2, through `conn`; its id.
async fn raise(conn: &mut PgConnection, title: &str, description: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO tickets (title, description, priority, status, created_by, created_at, \
         updated_at, clock_started_at) VALUES ($1, $2, 1, 'open', 2, now(), now(), now()) \
         RETURNING id",
    )
    .bind(title)
    .bind(description)
    .fetch_one(conn)
    .await
    .unwrap()
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn searches_match_a_scan_through_new_tickets_edits_deletions_and_late_commits() {
    let base = std::env::var("HELPDESK_TEST_POSTGRES_URL").unwrap();
    let url = helpdesk_postgres::fresh_schema_url(&base).await.unwrap();
    let store = PgStore::connect(&url).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let mut late = PgConnection::connect(&url).await.unwrap();
    seed(&mut conn).await;

    lists_match_a_scan(&store, "first", SEARCHES).await;
    lists_match_a_scan(&store, "again", SEARCHES).await;

    // New tickets from another connection.
    raise(&mut conn, "Printer on fire", "").await;
    raise(&mut conn, "Nothing", "toner and scanner").await;
    lists_match_a_scan(&store, "after new tickets", SEARCHES).await;

    // Edits take matches away and add them among the tickets seen before.
    conn.execute(
        "UPDATE tickets SET description = 'fixed' WHERE id IN (7, 14, 21, 140, 6001); \
         UPDATE tickets SET title = 'Toner, printer and scanner' WHERE id IN (5000, 3, 2)",
    )
    .await
    .unwrap();
    lists_match_a_scan(&store, "after edits", SEARCHES).await;

    // A transaction takes an id, another takes the next and commits, the searches remember
    // what they see; then the first commits, with a ticket below the largest id seen, and
    // an edit of a ticket seen before.
    late.execute("BEGIN").await.unwrap();
    let first = raise(&mut late, "Printer, late", "toner").await;
    late.execute("UPDATE tickets SET description = 'a scanner now' WHERE id = 700")
        .await
        .unwrap();
    let second = raise(&mut conn, "Printer, early", "").await;
    assert!(first < second);
    lists_match_a_scan(&store, "while a transaction is open", SEARCHES).await;
    late.execute("COMMIT").await.unwrap();
    lists_match_a_scan(&store, "after it committed", SEARCHES).await;

    // A transaction that rolls back changes nothing.
    late.execute("BEGIN").await.unwrap();
    raise(&mut late, "Printer that never was", "toner").await;
    late.execute("UPDATE tickets SET title = 'gone' WHERE id = 14")
        .await
        .unwrap();
    lists_match_a_scan(&store, "while another is open", SEARCHES).await;
    late.execute("ROLLBACK").await.unwrap();
    lists_match_a_scan(&store, "after it rolled back", SEARCHES).await;

    conn.execute("DELETE FROM tickets WHERE id IN (6002, 28, 35)")
        .await
        .unwrap();
    lists_match_a_scan(&store, "after deletions", SEARCHES).await;

    // Reassignments change who sees a ticket, not its text: the scopes follow.
    conn.execute(
        "UPDATE tickets SET assigned_to = 4 WHERE id IN (49, 56, 63, 91); \
         UPDATE tickets SET assigned_to = NULL WHERE id IN (70, 140, 210); \
         UPDATE tickets SET created_by = 2 WHERE id IN (84, 98)",
    )
    .await
    .unwrap();
    lists_match_a_scan(&store, "after reassignments", SEARCHES).await;

    // The table of the trigram indexes holds every ticket's text, and no deleted ticket's.
    let differ: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM (SELECT id, title, description FROM ticket_texts \
                 EXCEPT SELECT id, title, description FROM tickets) AS stale) \
              + (SELECT count(*) FROM (SELECT id, title, description FROM tickets \
                 EXCEPT SELECT id, title, description FROM ticket_texts) AS missing)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(differ, 0, "ticket_texts follows tickets");

    conn.close().await.unwrap();
    late.close().await.unwrap();
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn filters_match_a_scan_in_every_scope_and_ordering() {
    let base = std::env::var("HELPDESK_TEST_POSTGRES_URL").unwrap();
    let url = helpdesk_postgres::fresh_schema_url(&base).await.unwrap();
    let store = PgStore::connect(&url).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    seed(&mut conn).await;
    lists_match_a_scan(&store, "filters", NO_TEXT).await;
    conn.close().await.unwrap();
}
