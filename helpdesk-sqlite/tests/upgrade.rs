//! A database created by an earlier release upgrades in place: the migration that rebuilds
//! `tickets` (to admit the `waiting` status) keeps every row, link, search entry and constraint.

use std::borrow::Cow;

use helpdesk_core::{
    AssigneeFilter, PageRequest, Status, TicketId, TicketQuery, TicketScope, store::CommentStore,
    store::HistoryStore, store::TicketStore,
};
use helpdesk_sqlite::SqliteStore;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

/// Milliseconds of 2026-11-27T12:00:00Z, as SQLite stores instants.
const NOON: i64 = 1_795_003_200_000;
const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn a_populated_database_of_the_previous_schema_upgrades_in_place() {
    let dir = std::env::temp_dir().join(format!("helpdesk-upgrade-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("old.db");
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    // The schema as the previous release left it: every migration before service levels.
    let mut previous = sqlx::migrate!("./migrations");
    let before: Vec<_> = previous
        .migrations
        .iter()
        .filter(|m| m.version < 6)
        .cloned()
        .collect();
    assert_eq!(before.len(), 5);
    previous.migrations = Cow::Owned(before);
    previous.run(&pool).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES
            (1, 'ada@example.com', 'x', 'user', {NOON}, {NOON}),
            (2, 'agent@example.com', 'x', 'agent', {NOON}, {NOON});
         INSERT INTO tickets (id, title, description, priority, status, created_by, assigned_to,
                              created_at, updated_at, resolved_at, escalated_at, due_at,
                              clock_started_at, version) VALUES
            (1, 'Printer on fire', 'smoke', 2, 'open', 1, NULL, {NOON}, {NOON}, NULL, NULL,
             {NOON} + {HOUR}, {NOON}, 1),
            (2, 'Scanner jammed', 'paper', 1, 'resolved', 1, 2, {NOON}, {NOON} + {HOUR},
             {NOON} + {HOUR}, NULL, NULL, {NOON}, 3),
            (3, 'VPN down', 'no tunnel', 0, 'escalated', 1, 2, {NOON}, {NOON} + 25 * {HOUR},
             NULL, {NOON} + 25 * {HOUR}, NULL, {NOON}, 2);
         INSERT INTO comments (ticket_id, author_id, body, created_at) VALUES
            (1, 1, 'any news?', {NOON}), (2, 2, 'fixed', {NOON});
         INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) VALUES
            (1, 1, 'created', NULL, 'open', {NOON}), (2, 1, 'created', NULL, 'open', {NOON}),
            (3, NULL, 'escalated', 'open', 'escalated', {NOON} + 25 * {HOUR});
         INSERT INTO outbox (ticket_id, user_id, recipient, due_at, escalated_at, next_attempt_at)
         VALUES (3, 1, 'ada@example.com', {NOON}, {NOON}, {NOON});"
    )))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = SqliteStore::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let open = store.ticket(TicketId(1)).await.unwrap().unwrap();
    assert_eq!(open.status, Status::Open);
    assert_eq!(
        open.sla.update_due_at, open.due_at,
        "the window became the update deadline"
    );
    assert_eq!(open.sla.policy_version, 1);
    let resolved = store.ticket(TicketId(2)).await.unwrap().unwrap();
    assert_eq!(
        (resolved.version, resolved.assigned_to.map(|a| a.0)),
        (3, Some(2))
    );
    let pauses = store.pauses(TicketId(2)).await.unwrap();
    assert_eq!(
        pauses.len(),
        1,
        "a resolved ticket is paused since it was resolved"
    );
    assert_eq!(
        (pauses[0].status, Some(pauses[0].started_at)),
        (Status::Resolved, resolved.resolved_at)
    );
    let escalated = store.ticket(TicketId(3)).await.unwrap().unwrap();
    assert_eq!(
        (escalated.status, escalated.due_at),
        (Status::Escalated, None)
    );

    // Comments, history and the outbox still belong to their tickets; search still finds them.
    let page = PageRequest::new(1, 10).unwrap();
    assert_eq!(
        store.list_comments(TicketId(1), page).await.unwrap().count,
        1
    );
    let search = TicketQuery {
        search: Some("scanner".into()),
        ..TicketQuery::default()
    };
    let found = store
        .list_tickets(TicketScope::All, &search, page)
        .await
        .unwrap();
    assert_eq!(found.items.iter().map(|t| t.id.0).collect::<Vec<_>>(), [2]);
    let assigned = TicketQuery {
        assigned_to: Some(AssigneeFilter::Nobody),
        ..TicketQuery::default()
    };
    let unassigned = store
        .list_tickets(TicketScope::All, &assigned, page)
        .await
        .unwrap();
    assert_eq!(unassigned.count, 1);
    // The counts by status start from the rows already there.
    for (status, n) in [
        (Status::Open, 1),
        (Status::Resolved, 1),
        (Status::Escalated, 1),
        (Status::Closed, 0),
    ] {
        let q = TicketQuery {
            status: Some(status),
            ..TicketQuery::default()
        };
        let counted = store
            .list_tickets(TicketScope::All, &q, page)
            .await
            .unwrap();
        assert_eq!(counted.count, n, "{status:?}");
    }

    // History was rebuilt (for its new kinds) with every event; escalations got their
    // ticket's priority, so the service-level report counts the old breach.
    assert_eq!(
        store.list_history(TicketId(3), page).await.unwrap().count,
        1
    );
    let noon = chrono::DateTime::from_timestamp_millis(NOON).unwrap();
    let report = store
        .sla_report(TicketScope::All, noon, noon + chrono::Duration::days(2))
        .await
        .unwrap();
    assert_eq!(
        (
            report.low.update_breaches,
            report.low.opened,
            report.high.opened
        ),
        (1, 1, 1)
    );

    // Foreign keys are on again: deleting a ticket takes its comments and history along.
    assert!(
        store
            .delete_ticket(TicketId(1), helpdesk_core::UserId(1), chrono::Utc::now())
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_comments(TicketId(1), page).await.unwrap().count,
        0
    );
    let gone = TicketQuery {
        search: Some("printer".into()),
        ..TicketQuery::default()
    };
    let after = store
        .list_tickets(TicketScope::All, &gone, page)
        .await
        .unwrap();
    assert_eq!(after.count, 0, "the search index follows the rebuilt table");
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
