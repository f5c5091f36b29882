//! Lists read their counts from tallies (`ticket_tallies` per user, `ticket_status_tallies` per
//! status and priority) on PostgreSQL too, where they are rows of changes that every 64th
//! statement folds: every count must equal a count of the tickets from the migration that
//! first counts them on, through new tickets, changes, deletions and a sweep, through writers
//! racing each other, and through a fold that runs while another transaction's changes are
//! not committed yet. Runs when `HELPDESK_TEST_POSTGRES_URL` is set (CI sets it); otherwise
//! reported as ignored.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use helpdesk_core::sla::SlaPolicy;
use helpdesk_core::store::{Sweep, TicketDraft, TicketStore};
use helpdesk_core::{Priority, Sla, UserId};
use helpdesk_postgres::PgStore;
use helpdesk_sql::testing::{
    TALLY_CHANGES, counts_match_a_scan, ordered_pages_match_a_scan, tallies_match_a_count,
};
use sqlx::{Connection, Executor, PgConnection};

/// The first migration that keeps the tallies.
const TALLIES: i64 = 12;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

/// A fresh schema with the migrations before the tallies, users 1 to 4 (an admin, a user and
/// two agents) and the 1,200 tickets of `helpdesk-sqlite`'s tally test: every status and
/// priority (seven in twelve closed), raised by users 2 to 4, assigned to 3, 4, nobody and
/// their creator in turn. Its URL.
async fn seeded_before_the_tallies() -> String {
    let base = std::env::var("HELPDESK_TEST_POSTGRES_URL").unwrap();
    helpdesk_postgres::fresh_schema_before(
        &base,
        TALLIES,
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, created_at, \
         updated_at) OVERRIDING SYSTEM VALUE VALUES \
         (1, 'admin@example.com', 'x', 'A', 'A', 'admin', now(), now()), \
         (2, 'user@example.com', 'x', 'U', 'U', 'user', now(), now()), \
         (3, 'agent@example.com', 'x', 'G', 'G', 'agent', now(), now()), \
         (4, 'other@example.com', 'x', 'O', 'O', 'agent', now(), now()); \
         INSERT INTO tickets (id, title, description, priority, status, created_by, \
                              assigned_to, created_at, updated_at, clock_started_at, due_at) \
         OVERRIDING SYSTEM VALUE \
         SELECT i, 'Ticket', '', i % 3, \
                CASE i % 12 WHEN 0 THEN 'open' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'resolved' \
                           WHEN 3 THEN 'escalated' WHEN 4 THEN 'waiting' ELSE 'closed' END, \
                2 + i % 3, CASE i % 4 WHEN 0 THEN 3 WHEN 1 THEN 4 WHEN 2 THEN NULL \
                                      ELSE 2 + i % 3 END, \
                to_timestamp(i), to_timestamp(i), to_timestamp(i), \
                CASE WHEN i % 5 <> 0 THEN to_timestamp(5000 + (i * 7919) % 1000) END \
         FROM generate_series(1, 1200) AS i; \
         SELECT setval(pg_get_serial_sequence('tickets', 'id'), 1200); \
         SELECT setval(pg_get_serial_sequence('users', 'id'), 4)",
    )
    .await
    .unwrap()
}

fn draft(k: usize) -> TicketDraft {
    TicketDraft {
        title: format!("New {k}"),
        description: String::new(),
        priority: Priority::ALL[k % 3],
        created_by: UserId(2 + (k % 3) as i64),
        created_at: at(2_000),
        due_at: None,
        sla: Sla::default(),
    }
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn list_counts_from_tallies_follow_every_write() {
    let url = seeded_before_the_tallies().await;
    // Connecting applies the tallies' migration, which counts the tickets already there.
    let store = PgStore::connect(&url).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    counts_match_a_scan(&store, "counted by the migration").await;
    ordered_pages_match_a_scan(&store, "counted by the migration").await;

    for k in 0..30 {
        store.insert_ticket(&draft(k)).await.unwrap();
    }
    counts_match_a_scan(&store, "after new tickets").await;

    // By another connection: status changes, priority changes, both at once, a write of the
    // same values, reassignments, deletions.
    conn.execute(TALLY_CHANGES).await.unwrap();
    counts_match_a_scan(&store, "after changes and deletions").await;
    ordered_pages_match_a_scan(&store, "after changes and deletions").await;

    // The sweep escalates every open and in-progress ticket among 601 to 900.
    conn.execute(
        "UPDATE tickets SET due_at = to_timestamp(0), update_due_at = to_timestamp(0) \
         WHERE id BETWEEN 601 AND 900 AND status IN ('open', 'in_progress')",
    )
    .await
    .unwrap();
    let policy = SlaPolicy::default();
    let report = store
        .escalate_overdue(&Sweep::new(&policy, at(3_000)))
        .await
        .unwrap();
    assert_eq!(report.escalated.len(), 50, "the sweep escalated them");
    counts_match_a_scan(&store, "after a sweep").await;
    ordered_pages_match_a_scan(&store, "after a sweep").await;
    tallies_match_a_count(&store, "after a sweep").await;

    conn.close().await.unwrap();
    store.close().await;
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn folds_keep_what_other_transactions_have_not_committed() {
    let url = seeded_before_the_tallies().await;
    let store = PgStore::connect(&url).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let mut late = PgConnection::connect(&url).await.unwrap();

    // A transaction raises a ticket, closes others and deletes one; a fold commits meanwhile.
    late.execute(
        "BEGIN; \
         INSERT INTO tickets (title, description, priority, status, created_by, assigned_to, \
                              created_at, updated_at, clock_started_at) \
         VALUES ('Late', '', 2, 'open', 2, 3, now(), now(), now()); \
         UPDATE tickets SET status = 'closed', assigned_to = 4 WHERE id BETWEEN 1 AND 40; \
         DELETE FROM tickets WHERE id = 41",
    )
    .await
    .unwrap();
    conn.execute("SELECT ticket_tallies_fold()").await.unwrap();
    counts_match_a_scan(&store, "while a transaction is open").await;
    late.execute("COMMIT").await.unwrap();
    counts_match_a_scan(&store, "after it committed").await;
    tallies_match_a_count(&store, "after it committed").await;

    // The same, rolled back, with the fold holding the rows it folds until after.
    late.execute(
        "BEGIN; UPDATE tickets SET status = 'resolved', created_by = 4 WHERE id BETWEEN 50 AND 90",
    )
    .await
    .unwrap();
    conn.execute("BEGIN; SELECT ticket_tallies_fold()")
        .await
        .unwrap();
    late.execute("ROLLBACK").await.unwrap();
    conn.execute("COMMIT").await.unwrap();
    counts_match_a_scan(&store, "after a rollback").await;
    tallies_match_a_count(&store, "after a rollback").await;

    conn.close().await.unwrap();
    late.close().await.unwrap();
    store.close().await;
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn racing_writers_neither_wait_on_nor_lose_each_others_counts() {
    let url = seeded_before_the_tallies().await;
    let store = PgStore::connect(&url).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();

    // Eight writers at once: 400 new tickets through the store, and closing and reassigning
    // tickets two at a time from connections of their own.
    let mut writers = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        let url = url.clone();
        writers.push(tokio::spawn(async move {
            let mut own = PgConnection::connect(&url).await.unwrap();
            for k in 0..50 {
                store.insert_ticket(&draft(w * 50 + k)).await.unwrap();
                let id = 1 + (w * 50 + k) as i64 * 2;
                sqlx::query(
                    "UPDATE tickets SET status = 'closed', assigned_to = $2 \
                     WHERE id IN ($1, $1 + 1)",
                )
                .bind(id)
                .bind(2 + w as i64 % 3)
                .execute(&mut own)
                .await
                .unwrap();
            }
            own.close().await.unwrap();
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    counts_match_a_scan(&store, "after racing writers").await;
    tallies_match_a_count(&store, "after racing writers").await;

    // 800 statements wrote changes; the folds left a fraction of them.
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket_status_changes")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(
        left < 300,
        "{left} rows of status changes are left unfolded"
    );

    conn.close().await.unwrap();
    store.close().await;
}
