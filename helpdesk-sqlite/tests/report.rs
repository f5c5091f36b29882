//! Reports answer from their remembered counts (`helpdesk-sql`'s `reports` module): at every
//! step, in every scope, the counts must equal a count of the events, through new events (some
//! of them dated before the window, as a sweep run with a chosen time writes them), a window
//! that moves on and back, deletions and reassignments, all written by another connection.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, Utc};
use helpdesk_core::store::TicketStore;
use helpdesk_core::{Report, TicketScope, UserId};
use helpdesk_sqlite::SqliteStore;
use sqlx::{Connection, Executor, SqliteConnection};

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

/// The scopes checked, with their tickets in SQL.
const SCOPES: [(TicketScope, &str); 4] = [
    (TicketScope::All, "1 = 1"),
    (TicketScope::CreatedBy(UserId(2)), "created_by = 2"),
    (TicketScope::AssignedTo(UserId(3)), "assigned_to = 3"),
    (
        TicketScope::Involving(UserId(3)),
        "created_by = 3 OR assigned_to = 3",
    ),
];

/// What the report must say: the events from `since` on of the tickets `in_scope`, counted.
async fn expected(conn: &mut SqliteConnection, since: i64, in_scope: &str) -> Report {
    let (opened, resolved, escalated): (i64, i64, i64) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FILTER (WHERE kind = 'created'), \
         count(*) FILTER (WHERE kind = 'status_changed' AND to_value = 'resolved'), \
         count(*) FILTER (WHERE kind = 'escalated') FROM history \
         WHERE at >= ?1 AND ticket_id IN (SELECT id FROM tickets WHERE {in_scope})"
        )))
        .bind(since)
        .fetch_one(conn)
        .await
        .unwrap();
    Report {
        opened: opened as u64,
        resolved: resolved as u64,
        escalated: escalated as u64,
    }
}

async fn check(store: &SqliteStore, conn: &mut SqliteConnection, since: i64, step: &str) {
    for (scope, in_scope) in SCOPES {
        let report = store.report(scope, at(since)).await.unwrap();
        let expected = expected(conn, since, in_scope).await;
        assert_eq!(report, expected, "{step}, {scope:?} since {since}");
    }
}

/// Tickets `first..=last`, each created at `at` + its id seconds, with one event of each kind
/// an hour later; raised by users 1 to 3 in turn, every fourth assigned to user 3.
async fn events(conn: &mut SqliteConnection, first: i64, last: i64, at: i64) {
    conn.execute(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO tickets (id, title, description, priority, status, created_by, assigned_to, \
                              created_at, updated_at, clock_started_at) \
         SELECT i, 'Ticket', '', 1, 'open', 1 + i % 3, CASE WHEN i % 4 = 0 THEN 3 END, \
                {at} + i * 1000, {at} + i * 1000, 0 FROM n; \
         WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
         INSERT INTO history (ticket_id, kind, from_value, to_value, at) \
         SELECT i, 'created', NULL, NULL, {at} + i * 1000 FROM n \
         UNION ALL SELECT i, 'status_changed', 'open', \
                CASE WHEN i % 2 = 0 THEN 'resolved' ELSE 'in_progress' END, \
                {at} + i * 1000 + 3600000 FROM n \
         UNION ALL SELECT i, 'escalated', 'open', 'escalated', {at} + i * 1000 + 3600000 \
         FROM n WHERE i % 3 = 0"
    )))
    .await
    .unwrap();
}

#[tokio::test]
async fn reports_follow_new_events_a_moving_window_deletions_and_reassignments() {
    let (store, mut conn, dir) = common::database("report").await;
    common::users(&mut conn).await;
    // Events from 1,000,000 s to 1,003,600 s (in milliseconds).
    let t = 1_000_000_000;
    events(&mut conn, 1, 2_000, t).await;

    check(&store, &mut conn, t + 500_000, "first").await;
    check(&store, &mut conn, t + 500_000, "again").await;
    // The window moves on: events leave it.
    check(&store, &mut conn, t + 900_000, "later").await;
    check(&store, &mut conn, t + 1_700_000, "later still").await;

    // New events, some dated inside the window, some before it.
    events(&mut conn, 2_001, 2_500, t).await;
    check(&store, &mut conn, t + 1_700_000, "after new events").await;
    check(&store, &mut conn, t + 2_200_000, "after new events, later").await;

    // An earlier window than the one remembered.
    check(&store, &mut conn, t + 100_000, "an earlier window").await;
    check(&store, &mut conn, t + 150_000, "then on from it").await;

    // Deleting tickets deletes their events; the next id may be one seen before.
    conn.execute("DELETE FROM tickets WHERE id IN (2500, 2499, 300, 301, 302)")
        .await
        .unwrap();
    check(&store, &mut conn, t + 200_000, "after deletions").await;
    events(&mut conn, 2_499, 2_500, t + 5_000_000).await;
    check(&store, &mut conn, t + 250_000, "after reusing ids").await;

    // Reassignments move tickets, and their events, between scopes.
    conn.execute(
        "UPDATE tickets SET assigned_to = 3 WHERE id IN (1000, 1001, 1002); \
         UPDATE tickets SET assigned_to = NULL WHERE id IN (1004, 1008); \
         UPDATE tickets SET created_by = 2 WHERE id IN (1200, 1203)",
    )
    .await
    .unwrap();
    check(&store, &mut conn, t + 300_000, "after reassignments").await;
    check(&store, &mut conn, t + 400_000, "after reassignments, later").await;

    // The window passes every event.
    check(&store, &mut conn, t + 10_000_000, "past every event").await;

    conn.close().await.unwrap();
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
