//! `cargo bench -p helpdesk-sqlite`: the hot paths of the store on a real database file.
//!
//! Data is seeded with set-based SQL (a recursive CTE), not through the store, so seeding a
//! million tickets takes seconds.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use helpdesk_core::store::{Sweep, TicketDraft, TicketStore};
use helpdesk_core::{
    PageRequest, Priority, Sla, Status, TicketOrdering, TicketQuery, TicketScope, UserId,
};
use helpdesk_sqlite::SqliteStore;
use sqlx::{Connection, SqliteConnection};
use tokio::runtime::Runtime;

const USERS: i64 = 1_000;

fn now() -> DateTime<Utc> {
    "2026-11-26T12:00:00Z".parse().unwrap()
}

/// A store in a fresh file with `tickets` tickets; the last `overdue` of them are open and
/// overdue at `now()`, every other one is closed or not yet due.
async fn seeded(tickets: i64, overdue: i64) -> (SqliteStore, String) {
    // One fixed place per size, replaced on every run, so runs do not pile up copies.
    let dir = std::env::temp_dir().join(format!("helpdesk-bench-{tickets}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    let t = now().timestamp_millis();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO users (id, email, password_hash, first_name, last_name, role, created_at, updated_at) \
         SELECT i, 'user' || i || '@example.com', 'x', 'User', 'Number ' || i, \
                CASE WHEN i <= 3 THEN 'admin' WHEN i <= 50 THEN 'agent' ELSE 'user' END, ?2, ?2 FROM n",
    )
    .bind(USERS)
    .bind(t)
    .execute(&mut conn)
    .await
    .unwrap();
    // Statuses cycle through all five; priorities through all three; creators through all users;
    // every third ticket is assigned to an agent.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO tickets (id, title, description, priority, status, created_by, assigned_to, \
                              created_at, updated_at, due_at, clock_started_at, update_due_at) \
         SELECT i, 'Ticket ' || i, 'Something is broken, case ' || i, i % 3, \
                CASE WHEN i > ?1 - ?2 THEN 'open' \
                     ELSE CASE i % 5 WHEN 0 THEN 'open' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'resolved' \
                                     WHEN 3 THEN 'closed' ELSE 'escalated' END END, \
                1 + i % ?3, CASE WHEN i % 3 = 0 THEN 4 + i % 47 END, \
                ?4 - (?1 - i) * 1000, ?4, \
                CASE WHEN i > ?1 - ?2 THEN ?4 - 1000 WHEN i % 5 IN (0, 1) THEN ?4 + 3600000 END, ?4 - (?1 - i) * 1000, \
                CASE WHEN i > ?1 - ?2 THEN ?4 - 1000 WHEN i % 5 IN (0, 1) THEN ?4 + 3600000 END \
         FROM n",
    )
    .bind(tickets)
    .bind(overdue)
    .bind(USERS)
    .bind(t)
    .execute(&mut conn)
    .await
    .unwrap();
    // Each ticket's `created` event, and a `status_changed` to resolved for the resolved ones.
    sqlx::query(
        "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) \
         SELECT id, created_by, 'created', NULL, 'open', created_at FROM tickets",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) \
         SELECT id, 4, 'status_changed', 'open', 'resolved', created_at + 1000 FROM tickets \
         WHERE status = 'resolved'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    // An `escalated` event for the escalated ones, a first response for every ticket staff
    // have touched (the ones not open), up to an hour of counted time, and when the resolved
    // ones were resolved.
    sqlx::query(
        "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at, priority) \
         SELECT id, NULL, 'escalated', 'open', 'update', created_at + 2000, priority \
         FROM tickets WHERE status = 'escalated'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE tickets SET first_response_at = created_at + 500, \
         first_response_seconds = id % 3600, \
         resolved_at = CASE WHEN status = 'resolved' THEN created_at + 1000 END \
         WHERE status <> 'open'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    // The statistics the store gathers when it opens a database (see `connect_with`).
    sqlx::query("PRAGMA optimize = 0x10002")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    (store, url)
}

fn bench_writes_and_lists(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let (store, _) = rt.block_on(seeded(100_000, 0));
    let page = PageRequest::default();

    let mut group = c.benchmark_group("100k tickets");
    let open_high = TicketQuery {
        status: Some(Status::Open),
        priority: Some(Priority::High),
        ..TicketQuery::default()
    };
    let search = TicketQuery {
        search: Some("case 12".into()),
        ..TicketQuery::default()
    };
    // (name, scope, query, the total count if it is known)
    let lists = [
        (
            "first page of a user's tickets",
            TicketScope::CreatedBy(UserId(77)),
            TicketQuery::default(),
            None,
        ),
        (
            "first page of an agent's tickets",
            TicketScope::Involving(UserId(10)),
            TicketQuery::default(),
            None,
        ),
        (
            "first page of admin status=open&priority=high",
            TicketScope::All,
            open_high,
            None,
        ),
        (
            "admin search matching 1,111 of 100k tickets",
            TicketScope::All,
            search.clone(),
            Some(1_111),
        ),
        (
            "agent search among their 810 tickets",
            TicketScope::Involving(UserId(10)),
            TicketQuery {
                search: Some("case 1".into()),
                ..TicketQuery::default()
            },
            None,
        ),
    ];
    for (name, scope, query, count) in lists {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let p = store.list_tickets(scope, &query, page).await.unwrap();
                assert_eq!(p.items.len(), 20);
                assert!(count.is_none_or(|count| p.count == count));
            })
        });
    }
    for (name, scope) in [
        ("last-7-days report of an admin", TicketScope::All),
        (
            "last-7-days report of an agent",
            TicketScope::Involving(UserId(10)),
        ),
    ] {
        group.bench_function(name, |b| {
            let since = now() - chrono::Duration::days(7);
            b.to_async(&rt).iter(|| async {
                let report = store.report(scope, since).await.unwrap();
                assert!(report.opened > 0);
            })
        });
    }
    // The window holds every ticket: the seeded ones span 28 hours.
    for (name, scope) in [
        ("30-day SLA report of an admin", TicketScope::All),
        (
            "30-day SLA report of an agent",
            TicketScope::Involving(UserId(10)),
        ),
    ] {
        group.bench_function(name, |b| {
            let from = now() - chrono::Duration::days(30);
            b.to_async(&rt).iter(|| async {
                let report = store.sla_report(scope, from, now()).await.unwrap();
                assert!(report.high.opened > 0);
                assert!(report.low.median_first_response_seconds.is_some());
            })
        });
    }
    // Last, so the tickets it adds do not change what the list benchmarks read.
    group.bench_function("create one ticket", |b| {
        b.to_async(&rt).iter(|| async {
            let draft = TicketDraft {
                title: "Printer on fire".into(),
                description: "Smoke everywhere".into(),
                priority: Priority::High,
                created_by: UserId(77),
                created_at: now(),
                due_at: Some(now()),
                sla: Sla {
                    update_due_at: Some(now()),
                    policy_version: 1,
                    ..Sla::default()
                },
            };
            store.insert_ticket(&draft).await.unwrap()
        })
    });
    group.finish();
    // Closed before the next group replaces the file.
    rt.block_on(store.close());
}

/// Every ordering for an admin (all 100k) and an agent (810 tickets: 710 assigned, 100
/// raised), and a status alone: short runs, as there are many and each is a fraction of a
/// millisecond.
fn bench_orderings(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let (store, url) = rt.block_on(seeded(100_000, 0));
    // A busy agent: 2,667 unassigned tickets (2.7 %) given to agent 50, enough for SQLite to
    // walk the ordering's index rather than read and sort their tickets.
    rt.block_on(async {
        let mut conn = SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(
            "UPDATE tickets SET assigned_to = 50 WHERE id % 25 = 1 AND assigned_to IS NULL",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    });
    let page = PageRequest::default();
    let mut orderings = c.benchmark_group("100k tickets, first page");
    orderings
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    for ordering in TicketOrdering::ALL {
        for (who, scope) in [
            ("admin", TicketScope::All),
            ("agent", TicketScope::Involving(UserId(10))),
            ("busy agent", TicketScope::Involving(UserId(50))),
        ] {
            let query = TicketQuery {
                ordering,
                ..TicketQuery::default()
            };
            orderings.bench_function(format!("{who} ordering={}", ordering.as_str()), |b| {
                b.to_async(&rt).iter(|| async {
                    let p = store.list_tickets(scope, &query, page).await.unwrap();
                    assert_eq!(p.items.len(), 20);
                })
            });
        }
    }
    let open = TicketQuery {
        status: Some(Status::Open),
        ..TicketQuery::default()
    };
    orderings.bench_function("admin status=open", |b| {
        b.to_async(&rt).iter(|| async {
            let p = store
                .list_tickets(TicketScope::All, &open, page)
                .await
                .unwrap();
            assert_eq!(p.items.len(), 20);
        })
    });
    orderings.finish();
    rt.block_on(store.close());
}

fn bench_sweep(c: &mut Criterion) {
    const OVERDUE: i64 = 10_000;
    let rt = Runtime::new().unwrap();
    let (store, url) = rt.block_on(seeded(1_000_000, OVERDUE));
    let mut conn = rt.block_on(SqliteConnection::connect(&url)).unwrap();

    let mut group = c.benchmark_group("1M tickets");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("sweep escalating 10k overdue", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Make the same 10,000 tickets overdue again (untimed).
                rt.block_on(async {
                    let t = now().timestamp_millis();
                    sqlx::query("DELETE FROM outbox")
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    sqlx::query("DELETE FROM history WHERE kind = 'escalated'")
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    sqlx::query(
                        "UPDATE tickets SET status = 'open', due_at = ?1 - 1000, \
                         update_due_at = ?1 - 1000, update_breach_due = NULL, \
                         update_breached_at = NULL WHERE id > ?2",
                    )
                    .bind(t)
                    .bind(1_000_000 - OVERDUE)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                });
                let start = Instant::now();
                let report = rt
                    .block_on(store.escalate_overdue(&Sweep::at(now())))
                    .unwrap();
                total += start.elapsed();
                assert_eq!(report.escalated.len() as i64, OVERDUE);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_writes_and_lists,
    bench_orderings,
    bench_sweep
);
criterion_main!(benches);
