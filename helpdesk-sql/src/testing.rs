//! Checks of what [`SqlStore`] adds to the ports, run by each adapter's tests (feature
//! `testing`). The ports themselves are checked by `helpdesk_core::store_conformance_tests!`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use helpdesk_core::conformance;
use helpdesk_core::store::{SessionStore, TicketStore, TokenHash};
use helpdesk_core::{PageRequest, Role, Store, TicketOrdering, TicketQuery, TicketScope, UserId};
use sqlx::{Database, IntoArguments, QueryBuilder};

use crate::{Dialect, SqlStore, Value};

/// Holds every connection of the read pool, as long searches would, and checks that a
/// session is still looked up within a second: sign-ins have connections of their own.
pub async fn sessions_do_not_wait_for_reads<D: Dialect>(store: SqlStore<D>)
where
    SqlStore<D>: Store,
{
    let now = Utc::now();
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let ada = conformance::user(&shared, "ada@example.com", Role::User).await;
    let token = TokenHash([7; 32]);
    store
        .insert_session(token, ada.id, now, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..store.reader().options().get_max_connections() {
        held.push(store.reader().acquire().await.unwrap());
    }
    assert!(
        store.reader().try_acquire().is_none(),
        "the read pool is exhausted"
    );
    let user = tokio::time::timeout(Duration::from_secs(1), store.session_user(token, now))
        .await
        .expect("authentication must not wait for the read pool")
        .unwrap();
    assert_eq!(user.map(|u| u.id), Some(ada.id));
}

/// Compares every page and count of searches (`search` and `title`, texts that match often,
/// rarely, never) in four scopes (everyone's tickets, user 2's, agent 4's assigned and
/// involving) with a scan of the tickets, in every ordering and on pages near and past the
/// end. The adapters' tests seed tickets whose texts hold "printer", "scanner", "toner" and
/// "Ticket 1", change them between rounds from another connection, and call this each round:
/// remembered matches must follow every change.
pub async fn searches_match_a_scan<D: Dialect>(store: &SqlStore<D>, round: &str)
where
    SqlStore<D>: Store,
    i64: Value<D::Db>,
    String: Value<D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'c> &'c mut <D::Db as Database>::Connection: sqlx::Executor<'c, Database = D::Db>,
    usize: sqlx::ColumnIndex<<D::Db as Database>::Row>,
{
    let queries = [
        ("search", "printer"),
        ("search", "PRINTER"),
        ("search", "scanner"),
        ("search", "toner"),
        ("search", "no such words"),
        ("title", "Ticket 1"),
    ];
    let scopes = [
        (TicketScope::All, "1 = 1"),
        (TicketScope::CreatedBy(UserId(2)), "created_by = 2"),
        (TicketScope::AssignedTo(UserId(4)), "assigned_to = 4"),
        (
            TicketScope::Involving(UserId(4)),
            "(created_by = 4 OR assigned_to = 4)",
        ),
    ];
    let pages = [(1, 20), (3, 20), (2, 100), (40, 20), (400, 20)];
    for (field, text) in queries {
        for (scope, in_scope) in scopes {
            // The scan: the pattern lowercased on both sides (the test's texts are ASCII).
            let scan = |qb: &mut QueryBuilder<D::Db>| {
                let pattern = format!("%{}%", text.to_lowercase());
                qb.push(" FROM tickets WHERE (lower(title) LIKE ")
                    .push_bind(pattern.clone());
                if field == "search" {
                    qb.push(" OR lower(description) LIKE ").push_bind(pattern);
                }
                qb.push(format_args!(") AND {in_scope}"));
            };
            let mut count = QueryBuilder::new("SELECT count(*)");
            scan(&mut count);
            let count: i64 = count
                .build_query_scalar()
                .fetch_one(store.reader())
                .await
                .unwrap();
            for ordering in TicketOrdering::ALL {
                let query = TicketQuery {
                    search: (field == "search").then(|| text.to_owned()),
                    title: (field == "title").then(|| text.to_owned()),
                    ordering,
                    ..TicketQuery::default()
                };
                for (number, size) in pages {
                    let page = PageRequest::new(number, size).unwrap();
                    let mut expected = QueryBuilder::new("SELECT id");
                    scan(&mut expected);
                    expected
                        .push(format_args!(" ORDER BY {} LIMIT ", scan_order(ordering)))
                        .push_bind(i64::from(size))
                        .push(" OFFSET ")
                        .push_bind(i64::try_from(page.offset()).unwrap());
                    let expected: Vec<i64> = expected
                        .build_query_scalar()
                        .fetch_all(store.reader())
                        .await
                        .unwrap();
                    let listed = store.list_tickets(scope, &query, page).await.unwrap();
                    let ids: Vec<i64> = listed.items.iter().map(|t| t.id.0).collect();
                    let case = format!(
                        "{round}: {scope:?} {field}={text} {ordering:?} page {number} of {size}"
                    );
                    assert_eq!(listed.count, count as u64, "count, {case}");
                    assert_eq!(ids, expected, "{case}");
                }
            }
        }
    }
}

/// The store's orderings in SQL, ties broken as the store documents.
fn scan_order(ordering: TicketOrdering) -> &'static str {
    match ordering {
        TicketOrdering::CreatedAt => "created_at, id",
        TicketOrdering::CreatedAtDesc => "created_at DESC, id DESC",
        TicketOrdering::UpdatedAt => "updated_at, id",
        TicketOrdering::UpdatedAtDesc => "updated_at DESC, id DESC",
        TicketOrdering::Priority => "priority, created_at, id",
        TicketOrdering::PriorityDesc => "priority DESC, created_at DESC, id DESC",
        TicketOrdering::DueAt => "due_at ASC NULLS LAST, id",
        TicketOrdering::DueAtDesc => "due_at DESC NULLS LAST, id DESC",
    }
}
