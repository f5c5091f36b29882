//! Everyone's service-level report on PostgreSQL sums the tickets raised, and those answered,
//! per hour of creation and priority (`ticket_hours`, rows of changes that every 64th statement
//! folds), and counts from the indexes only the window's partial first and last hours: the
//! tickets raised per priority and the median first response (which needs the number answered)
//! must equal a count of the tickets, for windows on, just before and just after hours (before
//! 1970 too) and windows with no whole hour, from the migration that first counts them on,
//! through new tickets, changes of priority, creation time and answer, deletions, a sweep and
//! folds. Runs when `HELPDESK_TEST_POSTGRES_URL` is set (CI sets it); otherwise reported as
//! ignored.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use helpdesk_core::sla::SlaPolicy;
use helpdesk_core::store::{Sweep, TicketDraft, TicketStore};
use helpdesk_core::{Priority, Sla, TicketScope, UserId};
use helpdesk_postgres::PgStore;
use sqlx::{Connection, Executor, PgConnection};

/// The first migration that keeps `ticket_hours`.
const HOURS: i64 = 25;

/// The windows checked, in seconds since 1970: everything; partial hours at both ends; on the
/// hour at both ends; one whole hour; none (within two hours); before 1970; one instant.
const WINDOWS: [(i64, i64); 9] = [
    (-200_000, 10_000_000),
    (-7_199, 250_001),
    (-7_200, 252_000),
    (3_599, 7_201),
    (3_601, 7_199),
    (-90_001, -1),
    (0, 3_600),
    (7_200, 7_200),
    (-3_600, 86_400),
];

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

/// A fresh schema with the migrations before `ticket_hours`, a user (2), and 600 tickets raised
/// every 600 s from before 1970 on, of each priority in turn, two in three answered by staff
/// after a time of their own. Its URL.
async fn seeded_before_the_hours() -> String {
    let base = std::env::var("HELPDESK_TEST_POSTGRES_URL").unwrap();
    helpdesk_postgres::fresh_schema_before(
        &base,
        HOURS,
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, created_at, \
         updated_at) OVERRIDING SYSTEM VALUE VALUES \
         (1, 'admin@example.com', 'x', 'A', 'A', 'admin', now(), now()), \
         (2, 'user@example.com', 'x', 'U', 'U', 'user', now(), now()); \
         INSERT INTO tickets (id, title, description, priority, status, created_by, \
                              created_at, updated_at, clock_started_at, first_response_seconds) \
         OVERRIDING SYSTEM VALUE \
         SELECT i, 'Ticket', '', i % 3, 'open', 2, to_timestamp(i * 600 - 100000), \
                to_timestamp(i * 600 - 100000), to_timestamp(i * 600 - 100000), \
                CASE WHEN i % 3 <> 1 THEN i * 37 % 1000 END \
         FROM generate_series(1, 600) AS i; \
         SELECT setval(pg_get_serial_sequence('tickets', 'id'), 600); \
         SELECT setval(pg_get_serial_sequence('users', 'id'), 2)",
    )
    .await
    .unwrap()
}

/// Asserts that everyone's report over each of [`WINDOWS`] counts, per priority, the tickets
/// raised in it and gives the median first response of those answered.
async fn reports_match_a_count(store: &PgStore, conn: &mut PgConnection, round: &str) {
    for (from, to) in WINDOWS {
        let mut report = store
            .sla_report(TicketScope::All, at(from), at(to))
            .await
            .unwrap();
        for p in Priority::ALL {
            let opened: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM tickets \
                 WHERE priority = $1 AND created_at >= $2 AND created_at <= $3",
            )
            .bind(p.rank() as i16)
            .bind(at(from))
            .bind(at(to))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
            let answers: Vec<i64> = sqlx::query_scalar(
                "SELECT first_response_seconds FROM tickets \
                 WHERE priority = $1 AND created_at >= $2 AND created_at <= $3 \
                   AND first_response_seconds IS NOT NULL ORDER BY 1",
            )
            .bind(p.rank() as i16)
            .bind(at(from))
            .bind(at(to))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            let n = answers.len();
            let median = match n {
                0 => None,
                _ if n % 2 == 1 => Some(answers[n / 2] as u64),
                _ => Some(((answers[n / 2 - 1] + answers[n / 2]) / 2) as u64),
            };
            let stats = report.of(*p);
            assert_eq!(
                (stats.opened, stats.median_first_response_seconds),
                (opened as u64, median),
                "{round}: {p:?} from {from} to {to}"
            );
        }
    }
}

/// How many rows of changes wait to be folded.
async fn changes(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ticket_hour_changes")
        .fetch_one(conn)
        .await
        .unwrap()
}

fn draft(k: usize, created_at: i64) -> TicketDraft {
    TicketDraft {
        title: format!("New {k}"),
        description: String::new(),
        priority: Priority::ALL[k % 3],
        created_by: UserId(2),
        created_at: at(created_at),
        due_at: None,
        sla: Sla::default(),
    }
}

#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
#[tokio::test]
async fn everyones_service_level_report_from_hours_follows_every_write() {
    let url = seeded_before_the_hours().await;
    // Connecting applies the migration, which counts the tickets already there.
    let store = PgStore::connect(&url).await.unwrap();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    reports_match_a_count(&store, &mut conn, "counted by the migration").await;

    // New tickets on the hour, a second either side of one, and at the windows' ends.
    let times = [
        0, 3_600, 3_599, 3_601, 7_200, -3_600, -7_199, 250_001, 252_000, 86_400,
    ];
    for (k, &created_at) in times.iter().enumerate() {
        store.insert_ticket(&draft(k, created_at)).await.unwrap();
    }
    reports_match_a_count(&store, &mut conn, "after new tickets").await;

    // Priorities changed, tickets moved across hours, answers given and taken back, edits
    // that move nothing counted, deletions.
    conn.execute(
        "UPDATE tickets SET priority = (priority + 1) % 3 WHERE id % 4 = 0; \
         UPDATE tickets SET created_at = created_at + interval '50 minutes' \
         WHERE id BETWEEN 100 AND 160; \
         UPDATE tickets SET first_response_seconds = NULL WHERE id % 6 = 0; \
         UPDATE tickets SET first_response_seconds = id * 13 % 5000 \
         WHERE first_response_seconds IS NULL AND id % 5 = 0; \
         UPDATE tickets SET first_response_seconds = first_response_seconds + 1 \
         WHERE id % 7 = 0; \
         UPDATE tickets SET title = 'Renamed', priority = priority WHERE id % 11 = 0; \
         DELETE FROM tickets WHERE id BETWEEN 300 AND 330",
    )
    .await
    .unwrap();
    reports_match_a_count(&store, &mut conn, "after changes and deletions").await;

    // A sweep writes none of these columns.
    conn.execute(
        "UPDATE tickets SET due_at = to_timestamp(0), update_due_at = to_timestamp(0) \
         WHERE id BETWEEN 400 AND 449",
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

    // Statement after statement, so that some fold on their own.
    for id in 1..=70 {
        sqlx::query("UPDATE tickets SET priority = (priority + 2) % 3 WHERE id = $1")
            .bind(id)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert!(
        changes(&mut conn).await < 2 * 64,
        "one statement in 64 folds the changes"
    );
    reports_match_a_count(&store, &mut conn, "after single changes").await;

    conn.execute("SELECT ticket_hours_fold()").await.unwrap();
    assert_eq!(
        changes(&mut conn).await,
        0,
        "a fold leaves no change behind"
    );
    reports_match_a_count(&store, &mut conn, "after a fold").await;

    conn.close().await.unwrap();
    store.close().await;
}
