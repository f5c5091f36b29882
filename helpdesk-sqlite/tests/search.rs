//! Searches answer from remembered matches (`helpdesk-sql`'s `matches` module), of everyone's
//! tickets and of a user's or an agent's: every page and count must equal what a scan of the
//! tickets finds, through new tickets, edits, deletions and reassignments made by another
//! connection, as another process would.
#![allow(clippy::unwrap_used)]

mod common;

use helpdesk_sql::testing::{NO_TEXT, SEARCHES, SOME_CLOSED_AND_BREACHED};
use helpdesk_sqlite::SqliteStore;
use sqlx::{Connection, SqliteConnection};

const TICKETS: i64 = 6_000;

/// Users, and tickets whose creation times are a permutation of their ids, with texts that
/// match often ("printer", one in 7), rarely and only among the oldest ids ("scanner", the
/// first 150), and only among the newer half ("toner"); raised by two users and an agent, a
/// fifth of them assigned to the agent, some closed and some breached.
async fn seed(conn: &mut SqliteConnection) {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, created_at, \
         updated_at) VALUES (1, 'admin@example.com', 'x', 'A', 'A', 'admin', 0, 0), \
         (2, 'user@example.com', 'x', 'U', 'U', 'user', 0, 0), \
         (3, 'other@example.com', 'x', 'O', 'O', 'user', 0, 0), \
         (4, 'agent@example.com', 'x', 'G', 'G', 'agent', 0, 0)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO tickets (id, title, description, priority, status, created_by, \
                              assigned_to, created_at, updated_at, due_at, clock_started_at) \
         SELECT i, 'Ticket ' || i, \
                CASE WHEN i % 7 = 0 THEN 'The Printer is jammed' ELSE 'Something else' END \
                || CASE WHEN i <= 150 THEN ', and the scanner' ELSE '' END \
                || CASE WHEN i > ?1 / 2 AND i % 9 = 0 THEN ', out of toner' ELSE '' END, \
                i % 3, 'open', CASE WHEN i % 11 = 0 THEN 4 WHEN i % 2 = 0 THEN 3 ELSE 2 END, \
                CASE WHEN i % 5 = 0 THEN 4 END, \
                1000000 + (i * 7919) % ?1 * 1000, 2000000 + (i * 104729) % ?1 * 1000, \
                CASE WHEN i % 4 <> 0 THEN 3000000 + (i * 15485863) % ?1 * 1000 END, 0 \
         FROM n",
    )
    .bind(TICKETS)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::raw_sql(SOME_CLOSED_AND_BREACHED)
        .execute(&mut *conn)
        .await
        .unwrap();
}

/// Compares every searched page and count of the store with a scan of the tickets.
async fn check(store: &SqliteStore, round: &str) {
    helpdesk_sql::testing::lists_match_a_scan(store, round, SEARCHES).await;
}

#[tokio::test]
async fn searches_match_a_scan_through_new_tickets_edits_and_deletions() {
    let (store, mut conn, dir) = common::database("search").await;
    seed(&mut conn).await;

    check(&store, "first").await;
    check(&store, "again").await;

    // New tickets, written by another connection: matches above the ids seen before.
    sqlx::query(
        "INSERT INTO tickets (id, title, description, priority, status, created_by, created_at, \
         updated_at, clock_started_at) VALUES \
         (6001, 'Printer on fire', '', 2, 'open', 2, 500, 500, 0), \
         (6002, 'Nothing', 'toner and scanner', 1, 'open', 2, 99999999, 99999999, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    check(&store, "after new tickets").await;

    // Edits take matches away and add them among the ids seen before.
    sqlx::query(
        "UPDATE tickets SET description = 'fixed' WHERE id IN (7, 14, 21, 140, 6006); \
         UPDATE tickets SET title = 'Toner, printer and scanner' WHERE id IN (5000, 3, 2);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    check(&store, "after edits").await;

    // Deleting the newest ticket frees its id for the next one, which matches differently.
    sqlx::query("DELETE FROM tickets WHERE id IN (6002, 28, 35)")
        .execute(&mut conn)
        .await
        .unwrap();
    check(&store, "after deletions").await;
    sqlx::query(
        "INSERT INTO tickets (title, description, priority, status, created_by, created_at, \
         updated_at, clock_started_at) VALUES ('Printer', 'needs toner', 0, 'open', 2, 1, 1, 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let reused: i64 = sqlx::query_scalar("SELECT max(id) FROM tickets")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(reused, 6002);
    check(&store, "after reusing an id").await;

    // Reassignments change who sees a ticket, not its text: the scopes follow.
    sqlx::query(
        "UPDATE tickets SET assigned_to = 4 WHERE id IN (49, 56, 63, 91); \
         UPDATE tickets SET assigned_to = NULL WHERE id IN (70, 140, 210); \
         UPDATE tickets SET created_by = 2 WHERE id IN (84, 98)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    check(&store, "after reassignments").await;

    conn.close().await.unwrap();
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn filters_match_a_scan_in_every_scope_and_ordering() {
    let (store, mut conn, dir) = common::database("filters").await;
    seed(&mut conn).await;
    helpdesk_sql::testing::lists_match_a_scan(&store, "filters", NO_TEXT).await;
    conn.close().await.unwrap();
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
