//! Lists read their counts from tallies kept by triggers (`ticket_tallies` per user,
//! `ticket_status_tallies` per status and priority) where the filters allow: at every step,
//! every such count, and every count beside them that is still counted, must equal a count of
//! the tickets, through new tickets, status and priority changes, reassignments, deletions and
//! an escalation sweep, written through the store and by another connection.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{DateTime, Utc};
use helpdesk_core::sla::SlaPolicy;
use helpdesk_core::store::{Sweep, TicketDraft, TicketStore};
use helpdesk_core::{
    AssigneeFilter, PageRequest, Priority, Sla, Status, TicketOrdering, TicketQuery, TicketScope,
    UserId,
};
use helpdesk_sqlite::SqliteStore;
use sqlx::{Connection, Executor, SqliteConnection};

/// Every query of everyone's tickets checked: each status, priority, both and neither (from
/// the status tallies); one creator or assignee alone (from the user tallies); and filters
/// the tallies do not hold (breached targets from their own index).
fn queries() -> Vec<(TicketQuery, String)> {
    let mut queries = Vec::new();
    for status in [None]
        .into_iter()
        .chain(Status::ALL.iter().copied().map(Some))
    {
        for priority in [None]
            .into_iter()
            .chain(Priority::ALL.iter().copied().map(Some))
        {
            let mut sql = String::from("1 = 1");
            if let Some(s) = status {
                sql += &format!(" AND status = '{}'", s.as_str());
            }
            if let Some(p) = priority {
                sql += &format!(" AND priority = {}", p.rank());
            }
            let q = TicketQuery {
                status,
                priority,
                ..TicketQuery::default()
            };
            queries.push((q, sql));
        }
    }
    for user in [2, 3, 4] {
        queries.push((
            TicketQuery {
                assigned_to: Some(AssigneeFilter::User(UserId(user))),
                ..TicketQuery::default()
            },
            format!("assigned_to = {user}"),
        ));
        queries.push((
            TicketQuery {
                created_by: Some(UserId(user)),
                ..TicketQuery::default()
            },
            format!("created_by = {user}"),
        ));
    }
    queries.push((
        TicketQuery {
            assigned_to: Some(AssigneeFilter::Nobody),
            ..TicketQuery::default()
        },
        "assigned_to IS NULL".into(),
    ));
    queries.push((
        TicketQuery {
            status: Some(Status::Open),
            assigned_to: Some(AssigneeFilter::User(UserId(3))),
            ..TicketQuery::default()
        },
        "status = 'open' AND assigned_to = 3".into(),
    ));
    let breached = "(update_breached_at IS NOT NULL OR resolve_breached_at IS NOT NULL)";
    for (yes, status) in [(true, None), (false, None), (true, Some(Status::Escalated))] {
        let mut sql = if yes {
            breached.to_owned()
        } else {
            format!("NOT {breached}")
        };
        if let Some(s) = status {
            sql += &format!(" AND status = '{}'", s.as_str());
        }
        let q = TicketQuery {
            breached: Some(yes),
            status,
            ..TicketQuery::default()
        };
        queries.push((q, sql));
    }
    queries.push((
        TicketQuery {
            priority: Some(Priority::High),
            created_by: Some(UserId(2)),
            ..TicketQuery::default()
        },
        "priority = 2 AND created_by = 2".into(),
    ));
    queries
}

/// The scopes checked unfiltered (from the user tallies) and filtered by status or priority
/// (counted).
const SCOPES: [(TicketScope, &str); 3] = [
    (TicketScope::CreatedBy(UserId(2)), "created_by = 2"),
    (TicketScope::AssignedTo(UserId(3)), "assigned_to = 3"),
    (
        TicketScope::Involving(UserId(3)),
        "(created_by = 3 OR assigned_to = 3)",
    ),
];

async fn scan(conn: &mut SqliteConnection, condition: &str) -> u64 {
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM tickets WHERE {condition}"
    )))
    .fetch_one(conn)
    .await
    .unwrap();
    n as u64
}

async fn check(store: &SqliteStore, conn: &mut SqliteConnection, step: &str) {
    let first = PageRequest::new(1, 20).unwrap();
    let mut checks: Vec<(TicketScope, TicketQuery, String)> = queries()
        .into_iter()
        .map(|(q, sql)| (TicketScope::All, q, sql))
        .collect();
    for (scope, in_scope) in SCOPES {
        checks.push((scope, TicketQuery::default(), in_scope.into()));
        let open = TicketQuery {
            status: Some(Status::Open),
            ..TicketQuery::default()
        };
        checks.push((scope, open, format!("{in_scope} AND status = 'open'")));
        let high = TicketQuery {
            priority: Some(Priority::High),
            ..TicketQuery::default()
        };
        checks.push((scope, high, format!("{in_scope} AND priority = 2")));
    }
    for (scope, q, sql) in checks {
        let expected = scan(conn, &sql).await;
        let page = store.list_tickets(scope, &q, first).await.unwrap();
        assert_eq!(page.count, expected, "{step}: {scope:?} where {sql}");
        assert_eq!(
            page.items.len() as u64,
            expected.min(20),
            "{step}: the first page of {scope:?} where {sql}"
        );
        // A page past the end still carries the count.
        let past = PageRequest::new(1000, 20).unwrap();
        let page = store.list_tickets(scope, &q, past).await.unwrap();
        assert_eq!(
            (page.count, page.items.len()),
            (expected, 0),
            "{step}: past the end of {scope:?} where {sql}"
        );
    }
}

/// Every page of everyone's tickets filtered by status, priority or both in the orders whose
/// plan the tallies choose (walking the ordering's index from a twentieth of the tickets on,
/// sorting the matches below), compared with a scan.
async fn pages(store: &SqliteStore, conn: &mut SqliteConnection, step: &str) {
    let orderings = [
        (TicketOrdering::UpdatedAt, "updated_at, id"),
        (TicketOrdering::UpdatedAtDesc, "updated_at DESC, id DESC"),
        (TicketOrdering::DueAt, "due_at ASC NULLS LAST, id"),
        (TicketOrdering::DueAtDesc, "due_at DESC NULLS LAST, id DESC"),
    ];
    let filters = queries().into_iter().filter(|(q, _)| {
        q == &TicketQuery {
            status: q.status,
            priority: q.priority,
            ..TicketQuery::default()
        }
    });
    for (q, sql) in filters {
        for (ordering, order) in orderings {
            for (number, size) in [(1, 20), (3, 20), (2, 100), (90, 20)] {
                let q = TicketQuery {
                    ordering,
                    ..q.clone()
                };
                let offset = (number - 1) * size;
                let expected: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT id FROM tickets WHERE {sql} ORDER BY {order} LIMIT {size} OFFSET {offset}"
                )))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
                let page = PageRequest::new(number, size).unwrap();
                let got = store
                    .list_tickets(TicketScope::All, &q, page)
                    .await
                    .unwrap();
                let ids: Vec<i64> = got.items.iter().map(|t| t.id.0).collect();
                assert_eq!(
                    ids, expected,
                    "{step}: where {sql} by {order}, page {number} of {size}"
                );
            }
        }
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

#[tokio::test]
async fn list_counts_from_tallies_follow_every_write() {
    let (store, mut conn, dir) = common::database("tallies").await;
    common::users(&mut conn).await;
    // 1,200 tickets of every status and priority (seven in twelve closed, so that a status and
    // a priority together are fewer than a twentieth of the tickets, and more for `closed`),
    // raised by users 2 to 4, assigned to 3, 4, nobody and their creator in turn.
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) \
         INSERT INTO tickets (id, title, description, priority, status, created_by, \
                              assigned_to, created_at, updated_at, clock_started_at, due_at) \
         SELECT i, 'Ticket', '', i % 3, \
                CASE i % 12 WHEN 0 THEN 'open' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'resolved' \
                           WHEN 3 THEN 'escalated' WHEN 4 THEN 'waiting' ELSE 'closed' END, \
                2 + i % 3, CASE i % 4 WHEN 0 THEN 3 WHEN 1 THEN 4 WHEN 2 THEN NULL \
                                      ELSE 2 + i % 3 END, \
                i * 1000, i * 1000, i * 1000, \
                CASE WHEN i % 5 <> 0 THEN 5000000 + (i * 7919) % 1000 * 1000 END FROM n",
    )
    .await
    .unwrap();
    check(&store, &mut conn, "seeded").await;
    pages(&store, &mut conn, "seeded").await;

    // Through the store: new tickets.
    for k in 0..30 {
        let draft = TicketDraft {
            title: format!("New {k}"),
            description: String::new(),
            priority: Priority::ALL[k % 3],
            created_by: UserId(2 + (k % 3) as i64),
            created_at: at(2_000_000),
            due_at: None,
            sla: Sla::default(),
        };
        store.insert_ticket(&draft).await.unwrap();
    }
    check(&store, &mut conn, "after new tickets").await;
    pages(&store, &mut conn, "after new tickets").await;

    // By another connection: status changes, priority changes, both at once, a write of the
    // same values, reassignments, deletions.
    conn.execute(
        "UPDATE tickets SET status = 'resolved' WHERE id BETWEEN 1 AND 100 AND status = 'open'; \
         UPDATE tickets SET priority = 2 WHERE id BETWEEN 101 AND 200; \
         UPDATE tickets SET status = 'closed', priority = 0 WHERE id BETWEEN 201 AND 260; \
         UPDATE tickets SET status = status, priority = priority WHERE id BETWEEN 261 AND 400; \
         UPDATE tickets SET assigned_to = 4 WHERE id BETWEEN 401 AND 450; \
         UPDATE tickets SET created_by = 3, status = 'open' WHERE id BETWEEN 451 AND 470; \
         DELETE FROM tickets WHERE id BETWEEN 500 AND 560 OR id = 1200",
    )
    .await
    .unwrap();
    check(&store, &mut conn, "after changes and deletions").await;
    pages(&store, &mut conn, "after changes and deletions").await;

    // The sweep escalates every open and in-progress ticket among 601 to 900.
    conn.execute(
        "UPDATE tickets SET due_at = 0, update_due_at = 0 \
         WHERE id BETWEEN 601 AND 900 AND status IN ('open', 'in_progress')",
    )
    .await
    .unwrap();
    let policy = SlaPolicy::default();
    let report = store
        .escalate_overdue(&Sweep::new(&policy, at(3_000_000)))
        .await
        .unwrap();
    assert_eq!(report.escalated.len(), 50, "the sweep escalated them");
    check(&store, &mut conn, "after a sweep").await;
    pages(&store, &mut conn, "after a sweep").await;

    // The tallies themselves hold one row per status and priority in use, each exact.
    let drift: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket_status_tallies s FULL JOIN \
         (SELECT status, priority, count(*) AS n FROM tickets GROUP BY status, priority) c \
         USING (status, priority) WHERE coalesce(s.n, 0) <> coalesce(c.n, 0)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(drift, 0, "the status tallies equal a count of the tickets");

    conn.close().await.unwrap();
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
