//! The last-7-days report sums counts of events per hour on PostgreSQL, everyone's
//! (`history_hours`) and each user's by side (`history_scope_hours`), rows of changes that
//! every 64th statement folds, and counts only the events of the hour its window starts in:
//! every scope's report must equal a count of the events, for windows starting on, just before
//! and just after an hour (before 1970 too), from the migrations that first count them on,
//! through new tickets, a sweep, SQL edits of events, changes of tickets' creators and
//! assignees, deletions of tickets, writers racing each other, and a fold while another
//! transaction's events are not committed yet. Runs when `HELPDESK_TEST_POSTGRES_URL` is set
//! (CI sets it); otherwise reported as ignored.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use helpdesk_core::sla::SlaPolicy;
use helpdesk_core::store::{Sweep, TicketDraft, TicketStore};
use helpdesk_core::{Priority, Sla, TicketScope, UserId};
use helpdesk_postgres::PgStore;
use sqlx::{Connection, Executor, PgConnection};

/// The first migration that keeps `history_hours`.
const HOURS: i64 = 15;

/// Where the windows start, in seconds since 1970: before every event, on an hour, a second
/// either side of one, before 1970, within the sweep's hour, after every event.
const SINCE: [i64; 12] = [
    -200_000, -7_200, -7_199, -3_601, 0, 1, 3_599, 3_600, 25_000, 250_001, 300_000, 10_000_000,
];

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

/// A fresh schema with the migrations before `history_hours`, a user (2), two agents (3, 4),
/// and 600 open tickets raised every 600 s from before 1970 on, each with its `created`
/// event, every third resolved 1,234 s later, every fourth taken in progress, every fifth
/// escalated an hour later, every seventh commented on. Every fifth is raised by agent 3,
/// the others by the user; a quarter are held by agent 3, a quarter by agent 4, some by
/// their creator, the rest by nobody. Its URL.
async fn seeded_before_the_hours() -> String {
    let base = std::env::var("HELPDESK_TEST_POSTGRES_URL").unwrap();
    helpdesk_postgres::fresh_schema_before(
        &base,
        HOURS,
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, created_at, \
         updated_at) OVERRIDING SYSTEM VALUE VALUES \
         (1, 'admin@example.com', 'x', 'A', 'A', 'admin', now(), now()), \
         (2, 'user@example.com', 'x', 'U', 'U', 'user', now(), now()), \
         (3, 'agent3@example.com', 'x', 'A', 'A', 'agent', now(), now()), \
         (4, 'agent4@example.com', 'x', 'A', 'A', 'agent', now(), now()); \
         INSERT INTO tickets (id, title, description, priority, status, created_by, \
                              assigned_to, created_at, updated_at, clock_started_at) \
         OVERRIDING SYSTEM VALUE \
         SELECT i, 'Ticket', '', i % 3, 'open', c.by, \
                CASE i % 4 WHEN 1 THEN 3 WHEN 2 THEN 4 WHEN 3 THEN \
                    CASE WHEN i % 3 = 0 THEN c.by END END, \
                to_timestamp(i * 600 - 100000), to_timestamp(i * 600 - 100000), \
                to_timestamp(i * 600 - 100000) \
         FROM generate_series(1, 600) AS i \
         CROSS JOIN LATERAL (SELECT CASE WHEN i % 5 = 0 THEN 3 ELSE 2 END) AS c (by); \
         INSERT INTO history (ticket_id, kind, from_value, to_value, at, priority) \
         SELECT i, e.kind, NULL, e.to_value, to_timestamp(i * 600 - 100000 + e.after), \
                CASE WHEN e.kind = 'escalated' THEN i % 3 END \
         FROM generate_series(1, 600) AS i \
         CROSS JOIN LATERAL (VALUES \
             ('created', NULL, 0, true), \
             ('status_changed', 'resolved', 1234, i % 3 = 0), \
             ('status_changed', 'in_progress', 60, i % 4 = 0), \
             ('escalated', 'update', 3600, i % 5 = 0), \
             ('commented', '1', 90, i % 7 = 0) \
         ) AS e (kind, to_value, after, happened) \
         WHERE e.happened; \
         SELECT setval(pg_get_serial_sequence('tickets', 'id'), 600); \
         SELECT setval(pg_get_serial_sequence('users', 'id'), 4)",
    )
    .await
    .unwrap()
}

/// The scopes checked, each with its condition on the event's ticket `t`.
const SCOPES: [(TicketScope, &str); 10] = [
    (TicketScope::All, "true"),
    (TicketScope::CreatedBy(UserId(2)), "t.created_by = 2"),
    (TicketScope::CreatedBy(UserId(3)), "t.created_by = 3"),
    (TicketScope::AssignedTo(UserId(2)), "t.assigned_to = 2"),
    (TicketScope::AssignedTo(UserId(3)), "t.assigned_to = 3"),
    (TicketScope::AssignedTo(UserId(4)), "t.assigned_to = 4"),
    (
        TicketScope::Involving(UserId(2)),
        "2 IN (t.created_by, t.assigned_to)",
    ),
    (
        TicketScope::Involving(UserId(3)),
        "3 IN (t.created_by, t.assigned_to)",
    ),
    (
        TicketScope::Involving(UserId(4)),
        "4 IN (t.created_by, t.assigned_to)",
    ),
    (
        TicketScope::Involving(UserId(5)),
        "5 IN (t.created_by, t.assigned_to)",
    ),
];

/// Asserts that each of [`SCOPES`]' report from each of [`SINCE`] equals a count of the
/// events.
async fn reports_match_a_count(store: &PgStore, conn: &mut PgConnection, round: &str) {
    for (scope, condition) in SCOPES {
        for since in SINCE {
            let (opened, resolved, escalated): (i64, i64, i64) =
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT count(*) FILTER (WHERE h.kind = 'created'), \
                        count(*) FILTER (WHERE h.kind = 'status_changed' \
                                           AND h.to_value = 'resolved'), \
                        count(*) FILTER (WHERE h.kind = 'escalated') \
                 FROM history h JOIN tickets t ON t.id = h.ticket_id \
                 WHERE h.at >= $1 AND {condition}"
                )))
                .bind(at(since))
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            let report = store.report(scope, at(since)).await.unwrap();
            assert_eq!(
                (report.opened, report.resolved, report.escalated),
                (opened as u64, resolved as u64, escalated as u64),
                "{round}: {scope:?} from {since}"
            );
        }
    }
}

/// How many rows of changes wait to be folded in `table`.
async fn changes(conn: &mut PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(conn)
        .await
        .unwrap()
}

fn draft(k: usize) -> TicketDraft {
    TicketDraft {
        title: format!("New {k}"),
        description: String::new(),
        priority: Priority::ALL[k % 3],
        created_by: UserId(2),
        created_at: at(-7_200 + 37 * k as i64),
        due_at: None,
        sla: Sla::default(),
    }
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn everyones_report_from_hours_follows_every_write() {
    let url = seeded_before_the_hours().await;
    // Connecting applies the migration, which counts the events already there.
    let store = PgStore::connect(&url).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    reports_match_a_count(&store, &mut conn, "counted by the migration").await;

    for k in 0..30 {
        store.insert_ticket(&draft(k)).await.unwrap();
    }
    reports_match_a_count(&store, &mut conn, "after new tickets").await;

    // A statement that adds many rows of changes (an event in each of 630 hours) folds them
    // at once rather than leaving them to be read by every report until the 64th statement.
    conn.execute(
        "INSERT INTO history (ticket_id, kind, at) \
         SELECT id, 'escalated', to_timestamp(id * 3600 - 1000000) FROM tickets",
    )
    .await
    .unwrap();
    assert_eq!(
        changes(&mut conn, "history_scope_hour_changes").await,
        0,
        "a statement with many changes folds them"
    );
    reports_match_a_count(&store, &mut conn, "after a bulk insert").await;

    // By another connection: events changed in kind, moved across hours, deleted with
    // their tickets or alone, and left as they were.
    conn.execute(
        "UPDATE history SET to_value = 'resolved' \
         WHERE kind = 'status_changed' AND ticket_id BETWEEN 1 AND 80; \
         UPDATE history SET kind = 'edited' WHERE kind = 'escalated' AND ticket_id <= 40; \
         UPDATE history SET at = at + interval '90 minutes' WHERE ticket_id BETWEEN 81 AND 160; \
         UPDATE history SET at = at WHERE ticket_id BETWEEN 161 AND 200; \
         DELETE FROM tickets WHERE id BETWEEN 201 AND 260; \
         DELETE FROM history WHERE kind = 'escalated' AND ticket_id BETWEEN 161 AND 180",
    )
    .await
    .unwrap();
    reports_match_a_count(&store, &mut conn, "after edits and deletions").await;

    // Tickets change hands, creators, both, or nothing that matters; one is reassigned in
    // the transaction that resolves it, before and after its event.
    conn.execute(
        "UPDATE tickets SET assigned_to = 4 WHERE id BETWEEN 1 AND 40 AND assigned_to = 3; \
         UPDATE tickets SET assigned_to = NULL WHERE id BETWEEN 41 AND 70; \
         UPDATE tickets SET assigned_to = created_by WHERE id BETWEEN 71 AND 110; \
         UPDATE tickets SET created_by = 3 WHERE id BETWEEN 111 AND 150; \
         UPDATE tickets SET created_by = 2, assigned_to = 3 WHERE id BETWEEN 151 AND 190; \
         UPDATE tickets SET title = 'Renamed' WHERE id BETWEEN 261 AND 290; \
         BEGIN; \
         UPDATE tickets SET assigned_to = 4 WHERE id = 291; \
         INSERT INTO history (ticket_id, kind, to_value, at) \
         VALUES (291, 'status_changed', 'resolved', to_timestamp(5000)); \
         INSERT INTO history (ticket_id, kind, to_value, at) \
         VALUES (292, 'status_changed', 'resolved', to_timestamp(5000)); \
         UPDATE tickets SET assigned_to = 3 WHERE id = 292; \
         COMMIT",
    )
    .await
    .unwrap();
    reports_match_a_count(&store, &mut conn, "after changes of hands").await;

    conn.execute(
        "UPDATE tickets SET due_at = to_timestamp(0), update_due_at = to_timestamp(0) \
         WHERE id BETWEEN 300 AND 349",
    )
    .await
    .unwrap();
    let policy = SlaPolicy::default();
    let swept = store
        .escalate_overdue(&Sweep::new(&policy, at(296_000)))
        .await
        .unwrap();
    assert_eq!(swept.escalated.len(), 50, "the sweep escalated them");
    reports_match_a_count(&store, &mut conn, "after a sweep").await;

    conn.execute("SELECT history_hours_fold()").await.unwrap();
    for table in ["history_hour_changes", "history_scope_hour_changes"] {
        assert_eq!(
            changes(&mut conn, table).await,
            0,
            "a fold leaves no change behind in {table}"
        );
    }
    reports_match_a_count(&store, &mut conn, "after a fold").await;

    conn.close().await.unwrap();
    store.close().await;
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn folds_keep_events_not_committed_and_racing_writers_add_up() {
    let url = seeded_before_the_hours().await;
    let store = PgStore::connect(&url).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let mut late = PgConnection::connect(&url).await.unwrap();

    // A transaction writes events and deletes a ticket's; a fold commits meanwhile.
    late.execute(
        "BEGIN; \
         INSERT INTO history (ticket_id, kind, to_value, at) \
         SELECT id, 'status_changed', 'resolved', to_timestamp(id * 10) FROM tickets \
         WHERE id <= 100; \
         DELETE FROM tickets WHERE id = 101",
    )
    .await
    .unwrap();
    conn.execute("SELECT history_hours_fold()").await.unwrap();
    reports_match_a_count(&store, &mut conn, "while a transaction is open").await;
    late.execute("COMMIT").await.unwrap();
    reports_match_a_count(&store, &mut conn, "after it committed").await;
    late.execute(
        "BEGIN; \
         INSERT INTO history (ticket_id, kind, at) SELECT id, 'created', now() FROM tickets; \
         SELECT history_hours_fold()",
    )
    .await
    .unwrap();
    late.execute("ROLLBACK").await.unwrap();
    reports_match_a_count(&store, &mut conn, "after a fold rolled back").await;

    // Eight writers on connections of their own, each writing 50 events a statement at a
    // time (the store would merge concurrent tickets into fewer statements), so that folds
    // run among them and some find the lock taken; each event in a transaction that first
    // writes its ticket, as the store's writes do. Four more hand the same tickets around
    // meanwhile, so that events are written while their tickets change hands.
    let writers: Vec<_> = (0..12)
        .map(|w| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut conn = PgConnection::connect(&url).await.unwrap();
                for k in 0..50_i64 {
                    let mut tx = conn.begin().await.unwrap();
                    // Writers 8 to 11 give ticket `1 + k` to agent 3, agent 4 or nobody.
                    let ticket = if w < 8 {
                        sqlx::query("UPDATE tickets SET version = version + 1 WHERE id = $1")
                            .bind(1 + k)
                    } else {
                        sqlx::query(
                            "UPDATE tickets SET assigned_to = (ARRAY[3, 4])[($2 % 3)::int + 1], \
                                                version = version + 1 \
                             WHERE id = $1",
                        )
                        .bind(1 + k)
                        .bind(w + k)
                    };
                    ticket.execute(&mut *tx).await.unwrap();
                    if w < 8 {
                        sqlx::query(
                            "INSERT INTO history (ticket_id, kind, to_value, at) \
                             VALUES ($1, 'status_changed', 'resolved', $2)",
                        )
                        .bind(1 + k)
                        .bind(at(w * 5_000 + k * 600))
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    }
                    tx.commit().await.unwrap();
                }
                conn.close().await.unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    reports_match_a_count(&store, &mut conn, "after racing writers").await;
    // Each of the 400 left a row of changes; a fold takes those committed before it, and
    // one that finds the lock taken leaves them to the next.
    let left = changes(&mut conn, "history_hour_changes").await;
    assert!(
        left < 300,
        "folds ran among the writers: {left} changes left"
    );

    late.close().await.unwrap();
    conn.close().await.unwrap();
    store.close().await;
}
