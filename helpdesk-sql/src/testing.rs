//! Checks of what [`SqlStore`] adds to the ports, run by each adapter's tests (feature
//! `testing`). The ports themselves are checked by `helpdesk_core::store_conformance_tests!`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use helpdesk_core::conformance;
use helpdesk_core::store::{SessionStore, TicketStore, TokenHash};
use helpdesk_core::{
    AssigneeFilter, PageRequest, Priority, Role, Status, Store, TicketOrdering, TicketQuery,
    TicketScope, UserId,
};
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

/// Searches (`search` and `title`, texts that match often, rarely, never) for
/// [`lists_match_a_scan`]: the adapters' tests seed tickets whose texts hold "printer",
/// "scanner", "toner" and "Ticket 1" (some closed, some breached).
pub const SEARCHES: &[(&str, &str)] = &[
    ("search", "printer"),
    ("search", "PRINTER"),
    ("search", "scanner"),
    ("search", "toner"),
    ("search", "no such words"),
    ("title", "Ticket 1"),
];

/// No text, for [`lists_match_a_scan`]: every filter alone and some together.
pub const NO_TEXT: &[(&str, &str)] = &[("none", "")];

/// Compares every page and count of lists of `queries` (`search`, `title` or `none`, and the
/// text: [`SEARCHES`], [`NO_TEXT`]) in four scopes (everyone's tickets, user 2's, agent 4's
/// assigned and involving) with a scan of the tickets: each text alone in every ordering and
/// on pages near and past the end; "printer", "Ticket 1" and no text with each other filter (a
/// status, a priority, nobody or one assignee, a creator, a breach or none, and some of them
/// together) in six orderings on the first pages; every list on its last page and one past
/// its middle (read from the end), in pages of 7. The adapters' search tests change the
/// tickets between rounds from another connection and call this each round: remembered
/// matches must follow every change.
pub async fn lists_match_a_scan<D: Dialect>(
    store: &SqlStore<D>,
    round: &str,
    queries: &[(&str, &str)],
) where
    SqlStore<D>: Store,
    i64: Value<D::Db>,
    String: Value<D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'c> &'c mut <D::Db as Database>::Connection: sqlx::Executor<'c, Database = D::Db>,
    usize: sqlx::ColumnIndex<<D::Db as Database>::Row>,
{
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
    let all = TicketQuery::default;
    for &(field, text) in queries {
        let combined = matches!(
            (field, text),
            ("search", "printer") | ("title", "Ticket 1") | ("none", _)
        );
        let filters: Vec<(TicketQuery, &str)> = if combined {
            vec![
                (all(), "1 = 1"),
                (
                    TicketQuery {
                        status: Some(Status::Open),
                        ..all()
                    },
                    "status = 'open'",
                ),
                (
                    TicketQuery {
                        status: Some(Status::Closed),
                        priority: Some(Priority::High),
                        ..all()
                    },
                    "status = 'closed' AND priority = 2",
                ),
                (
                    TicketQuery {
                        assigned_to: Some(AssigneeFilter::Nobody),
                        ..all()
                    },
                    "assigned_to IS NULL",
                ),
                (
                    TicketQuery {
                        assigned_to: Some(AssigneeFilter::Nobody),
                        priority: Some(Priority::Medium),
                        ..all()
                    },
                    "assigned_to IS NULL AND priority = 1",
                ),
                (
                    TicketQuery {
                        assigned_to: Some(AssigneeFilter::User(UserId(4))),
                        priority: Some(Priority::Low),
                        ..all()
                    },
                    "assigned_to = 4 AND priority = 0",
                ),
                (
                    TicketQuery {
                        created_by: Some(UserId(3)),
                        ..all()
                    },
                    "created_by = 3",
                ),
                (
                    TicketQuery {
                        status: Some(Status::Open),
                        assigned_to: Some(AssigneeFilter::Nobody),
                        ..all()
                    },
                    "status = 'open' AND assigned_to IS NULL",
                ),
                (
                    TicketQuery {
                        status: Some(Status::Closed),
                        assigned_to: Some(AssigneeFilter::User(UserId(4))),
                        ..all()
                    },
                    "status = 'closed' AND assigned_to = 4",
                ),
                (
                    TicketQuery {
                        breached: Some(true),
                        ..all()
                    },
                    "(update_breached_at IS NOT NULL OR resolve_breached_at IS NOT NULL)",
                ),
                (
                    TicketQuery {
                        breached: Some(false),
                        ..all()
                    },
                    "update_breached_at IS NULL AND resolve_breached_at IS NULL",
                ),
                (
                    TicketQuery {
                        breached: Some(false),
                        status: Some(Status::Closed),
                        ..all()
                    },
                    "update_breached_at IS NULL AND resolve_breached_at IS NULL \
                     AND status = 'closed'",
                ),
            ]
        } else {
            vec![(all(), "1 = 1")]
        };
        for ((scope, in_scope), (filter, filtered)) in scopes
            .into_iter()
            .flat_map(|s| filters.iter().map(move |f| (s, f)))
        {
            let orderings = if *filtered == "1 = 1" {
                &TicketOrdering::ALL[..]
            } else {
                &[
                    TicketOrdering::CreatedAtDesc,
                    TicketOrdering::CreatedAt,
                    TicketOrdering::PriorityDesc,
                    TicketOrdering::Priority,
                    TicketOrdering::DueAt,
                    TicketOrdering::UpdatedAt,
                ][..]
            };
            // The scan: the pattern lowercased on both sides (the test's texts are ASCII).
            let scan = |qb: &mut QueryBuilder<D::Db>| {
                let pattern = format!("%{}%", text.to_lowercase());
                qb.push(" FROM tickets WHERE ");
                if field != "none" {
                    qb.push("(lower(title) LIKE ").push_bind(pattern.clone());
                    if field == "search" {
                        qb.push(" OR lower(description) LIKE ").push_bind(pattern);
                    }
                    qb.push(") AND ");
                }
                qb.push(format_args!("{in_scope} AND {filtered}"));
            };
            let mut count = QueryBuilder::new("SELECT count(*)");
            scan(&mut count);
            let count: i64 = count
                .build_query_scalar()
                .fetch_one(store.reader())
                .await
                .unwrap();
            for &ordering in orderings {
                let query = TicketQuery {
                    search: (field == "search").then(|| text.to_owned()),
                    title: (field == "title").then(|| text.to_owned()),
                    ordering,
                    ..filter.clone()
                };
                let pages = if *filtered == "1 = 1" {
                    &pages[..]
                } else {
                    &pages[..2]
                };
                // And pages read from the end: the last and one just past the middle, of a
                // size that leaves the last page short.
                let last = |size: u32| u32::try_from(count).unwrap().div_ceil(size).max(1);
                let from_end = [(last(7), 7), (last(7) / 2 + 1, 7)];
                for &(number, size) in pages.iter().chain(&from_end) {
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
                        "{round}: {scope:?} {field}={text} {filtered} {ordering:?} \
                         page {number} of {size}"
                    );
                    assert_eq!(listed.count, count as u64, "count, {case}");
                    assert_eq!(ids, expected, "{case}");
                }
            }
        }
    }
}

/// What the adapters' search tests write after their seed, in SQL both databases speak, so
/// that searches combined with a status or a breach find some tickets and not others.
pub const SOME_CLOSED_AND_BREACHED: &str = concat!(
    "UPDATE tickets SET status = 'closed' WHERE id % 13 = 0; ",
    "UPDATE tickets SET update_breached_at = created_at WHERE id % 17 = 0",
);

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

/// Changes the adapters' tally tests make from another connection, in SQL both databases
/// speak: status changes, priority changes, both at once, a write of the same values,
/// reassignments, deletions (among tickets 1 to 1,200 of users 2 to 4).
pub const TALLY_CHANGES: &str = concat!(
    "UPDATE tickets SET status = 'resolved' WHERE id BETWEEN 1 AND 100 AND status = 'open'; ",
    "UPDATE tickets SET priority = 2 WHERE id BETWEEN 101 AND 200; ",
    "UPDATE tickets SET status = 'closed', priority = 0 WHERE id BETWEEN 201 AND 260; ",
    "UPDATE tickets SET status = status, priority = priority WHERE id BETWEEN 261 AND 400; ",
    "UPDATE tickets SET assigned_to = 4 WHERE id BETWEEN 401 AND 450; ",
    "UPDATE tickets SET created_by = 3, status = 'open' WHERE id BETWEEN 451 AND 470; ",
    "DELETE FROM tickets WHERE id BETWEEN 500 AND 560 OR id = 1200",
);

/// The queries of everyone's tickets that [`counts_match_a_scan`] checks, each with its
/// condition in SQL: each status, priority, both and neither (from the status tallies); one
/// creator or assignee alone (from the user tallies); and filters the tallies do not hold.
fn tally_queries() -> Vec<(TicketQuery, String)> {
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

/// Compares the count of every list whose count the tallies hold ([`Dialect::TALLIES`]), and
/// of lists beside them that are still counted, with a count of the tickets: everyone's
/// tickets by status, priority, both and neither, by one creator or assignee alone and by
/// other filters; user 2's raised, agent 3's assigned and involving tickets, unfiltered and
/// filtered by status or priority. Each on its first page and past the end, which still
/// carries the count. The adapters' tests seed users 2 to 4 and tickets of every status and
/// priority, change them between rounds through the store and from another connection, and
/// call this each round: the tallies must follow every write.
pub async fn counts_match_a_scan<D: Dialect>(store: &SqlStore<D>, round: &str)
where
    SqlStore<D>: Store,
    i64: Value<D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'c> &'c mut <D::Db as Database>::Connection: sqlx::Executor<'c, Database = D::Db>,
    usize: sqlx::ColumnIndex<<D::Db as Database>::Row>,
{
    let scopes = [
        (TicketScope::CreatedBy(UserId(2)), "created_by = 2"),
        (TicketScope::AssignedTo(UserId(3)), "assigned_to = 3"),
        (
            TicketScope::Involving(UserId(3)),
            "(created_by = 3 OR assigned_to = 3)",
        ),
    ];
    let mut checks: Vec<(TicketScope, TicketQuery, String)> = tally_queries()
        .into_iter()
        .map(|(q, sql)| (TicketScope::All, q, sql))
        .collect();
    for (scope, in_scope) in scopes {
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
    let first = PageRequest::new(1, 20).unwrap();
    let past = PageRequest::new(1000, 20).unwrap();
    for (scope, q, sql) in checks {
        let expected: i64 = QueryBuilder::new(format!("SELECT count(*) FROM tickets WHERE {sql}"))
            .build_query_scalar()
            .fetch_one(store.reader())
            .await
            .unwrap();
        let expected = expected as u64;
        let page = store.list_tickets(scope, &q, first).await.unwrap();
        assert_eq!(page.count, expected, "{round}: {scope:?} where {sql}");
        assert_eq!(
            page.items.len() as u64,
            expected.min(20),
            "{round}: the first page of {scope:?} where {sql}"
        );
        let page = store.list_tickets(scope, &q, past).await.unwrap();
        assert_eq!(
            (page.count, page.items.len()),
            (expected, 0),
            "{round}: past the end of {scope:?} where {sql}"
        );
    }
}

/// Compares every page of everyone's tickets filtered by status, priority or both, in the
/// orders whose plan SQLite chooses from the tallies ([`Dialect::PLANS_BY_TALLIES`]: walking
/// the ordering's index from a twentieth of the tickets on, sorting the matches below) and
/// PostgreSQL sorts by its indexes' due-time expressions ([`Dialect::STATUS_DUE_INDEXES`]),
/// with a scan; on pages near and past the end. Called with [`counts_match_a_scan`].
pub async fn ordered_pages_match_a_scan<D: Dialect>(store: &SqlStore<D>, round: &str)
where
    SqlStore<D>: Store,
    i64: Value<D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'c> &'c mut <D::Db as Database>::Connection: sqlx::Executor<'c, Database = D::Db>,
    usize: sqlx::ColumnIndex<<D::Db as Database>::Row>,
{
    let orderings = [
        TicketOrdering::UpdatedAt,
        TicketOrdering::UpdatedAtDesc,
        TicketOrdering::DueAt,
        TicketOrdering::DueAtDesc,
    ];
    let filters = tally_queries().into_iter().filter(|(q, _)| {
        q == &TicketQuery {
            status: q.status,
            priority: q.priority,
            ..TicketQuery::default()
        }
    });
    for (q, sql) in filters {
        for ordering in orderings {
            for (number, size) in [(1, 20), (3, 20), (2, 100), (90, 20)] {
                let q = TicketQuery {
                    ordering,
                    ..q.clone()
                };
                let page = PageRequest::new(number, size).unwrap();
                let order = scan_order(ordering);
                let expected: Vec<i64> = QueryBuilder::new(format!(
                    "SELECT id FROM tickets WHERE {sql} ORDER BY {order} LIMIT {size} OFFSET {}",
                    page.offset()
                ))
                .build_query_scalar()
                .fetch_all(store.reader())
                .await
                .unwrap();
                let got = store
                    .list_tickets(TicketScope::All, &q, page)
                    .await
                    .unwrap();
                let ids: Vec<i64> = got.items.iter().map(|t| t.id.0).collect();
                assert_eq!(
                    ids, expected,
                    "{round}: where {sql} by {order}, page {number} of {size}"
                );
            }
        }
    }
}

/// Asserts that the tallies equal a count of the tickets, key by key: each status and
/// priority's in `ticket_status_tallies`, each user's raised, assigned and both in
/// `ticket_tallies` (summing the rows of a key, which PostgreSQL may hold several of).
pub async fn tallies_match_a_count<D: Dialect>(store: &SqlStore<D>, round: &str)
where
    i64: Value<D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'c> &'c mut <D::Db as Database>::Connection: sqlx::Executor<'c, Database = D::Db>,
    usize: sqlx::ColumnIndex<<D::Db as Database>::Row>,
{
    let status: i64 = QueryBuilder::new(
        "SELECT count(*) FROM (SELECT status, priority, sum(n) AS n FROM ticket_status_tallies \
                               GROUP BY status, priority) AS s \
         FULL JOIN (SELECT status, priority, count(*) AS n FROM tickets \
                    GROUP BY status, priority) AS c USING (status, priority) \
         WHERE coalesce(s.n, 0) <> coalesce(c.n, 0)",
    )
    .build_query_scalar()
    .fetch_one(store.reader())
    .await
    .unwrap();
    assert_eq!(
        status, 0,
        "{round}: the status tallies equal a count of the tickets"
    );
    let users: i64 = QueryBuilder::new(
        "SELECT count(*) FROM (SELECT user_id, side, sum(n) AS n FROM ticket_tallies \
                               GROUP BY user_id, side) AS s \
         FULL JOIN (SELECT created_by AS user_id, 'raised' AS side, count(*) AS n FROM tickets \
                    GROUP BY created_by \
                    UNION ALL SELECT assigned_to, 'assigned', count(*) FROM tickets \
                    WHERE assigned_to IS NOT NULL GROUP BY assigned_to \
                    UNION ALL SELECT created_by, 'both', count(*) FROM tickets \
                    WHERE assigned_to = created_by GROUP BY created_by) AS c \
         USING (user_id, side) WHERE coalesce(s.n, 0) <> coalesce(c.n, 0)",
    )
    .build_query_scalar()
    .fetch_one(store.reader())
    .await
    .unwrap();
    assert_eq!(
        users, 0,
        "{round}: the user tallies equal a count of the tickets"
    );
}
