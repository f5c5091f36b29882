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
use helpdesk_core::{Priority, Sla, UserId};
use helpdesk_sql::testing::{
    TALLY_CHANGES, counts_match_a_scan, ordered_pages_match_a_scan, tallies_match_a_count,
};
use sqlx::{Connection, Executor};

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
    counts_match_a_scan(&store, "seeded").await;
    ordered_pages_match_a_scan(&store, "seeded").await;

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
    counts_match_a_scan(&store, "after new tickets").await;
    ordered_pages_match_a_scan(&store, "after new tickets").await;

    // By another connection: status changes, priority changes, both at once, a write of the
    // same values, reassignments, deletions.
    conn.execute(TALLY_CHANGES).await.unwrap();
    counts_match_a_scan(&store, "after changes and deletions").await;
    ordered_pages_match_a_scan(&store, "after changes and deletions").await;

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
    counts_match_a_scan(&store, "after a sweep").await;
    ordered_pages_match_a_scan(&store, "after a sweep").await;

    // The tallies themselves, key by key.
    tallies_match_a_count(&store, "after a sweep").await;

    conn.close().await.unwrap();
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
