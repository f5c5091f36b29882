//! The store conformance suite: what every storage adapter must do, written once.
//!
//! Enable the `conformance` feature in the adapter's dev-dependencies and expand
//! [`store_conformance_tests!`](crate::store_conformance_tests) with an expression that builds a
//! fresh, empty store; every case becomes its own `#[tokio::test]`:
//!
//! ```text
//! helpdesk_core::store_conformance_tests!(helpdesk_sqlite::SqliteStore::connect("sqlite::memory:").await.unwrap());
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::sla::{SlaPolicySpec, Target};
use crate::store::{
    ClockRestart, CommentDraft, CommentEffect, DeadlineUpdate, Hits, PauseChange, Quota,
    StoreError, Sweep, ThrottleKey, TicketChange, TicketDraft, TokenHash, USERS_EMAIL, UserDraft,
    UserUpdate,
};
use crate::{
    Alert, AssigneeFilter, Breach, HistoryKind, NewEvent, NotificationBacklog, NotificationState,
    PageRequest, Priority, Role, Sla, SlaByPriority, SlaStats, Status, Store, Ticket, TicketId,
    TicketOrdering, TicketQuery, TicketScope, User, UserId, UserQuery,
};

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh store from `$make`.
/// Attributes in brackets before the expression go on every test, for example a `cfg_attr`
/// that ignores the tests when their database is not configured:
/// `store_conformance_tests!([#[cfg_attr(not(db), ignore)]] make_store().await)`.
#[macro_export]
macro_rules! store_conformance_tests {
    (@cases $attrs:tt $make:expr; $($case:ident),+ $(,)?) => {
        $( $crate::store_conformance_tests!(@case $attrs $make; $case); )+
    };
    (@case [$(#[$meta:meta])*] $make:expr; $case:ident) => {
        $(#[$meta])*
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            let store = $make;
            $crate::conformance::$case(::std::sync::Arc::new(store)).await;
        }
    };
    ([$(#[$meta:meta])*] $make:expr) => {
        $crate::store_conformance_tests!(@cases [$(#[$meta])*] $make;
            users_are_stored_and_found,
            emails_are_unique,
            user_search_is_literal_and_paginated,
            sessions_expire_and_are_revoked,
            user_updates_write_only_their_fields,
            throttle_hits_are_counted_in_windows_and_forgotten,
            concurrent_hits_each_count,
            concurrent_hits_of_several_keys_each_count,
            tickets_change_only_at_the_expected_version,
            deleting_a_ticket_takes_its_records_along,
            ticket_lists_apply_scope_filters_ordering_and_pages,
            unfiltered_counts_follow_assignments_and_deletions,
            ticket_search_is_literal,
            ticket_search_pages_follow_the_ordering_for_few_and_many_matches,
            agent_pages_follow_every_ordering_for_few_and_many_tickets,
            ticket_search_follows_edits_and_deletions,
            sweep_escalates_overdue_tickets_and_queues_one_email_per_recipient,
            concurrent_sweeps_escalate_each_ticket_once,
            resolution_targets_breach_once_even_on_escalated_tickets,
            concurrent_sweeps_record_each_breach_once,
            warnings_go_out_once_per_deadline,
            reminders_repeat_while_escalated_up_to_the_limit,
            concurrent_sweeps_warn_and_remind_once,
            a_recipients_rule_chooses_who_is_emailed,
            pauses_follow_status_changes,
            deadlines_are_rewritten_for_a_new_policy_at_the_expected_version,
            the_policy_is_seeded_once_and_replaced_by_version,
            a_comment_can_carry_a_ticket_change,
            concurrent_writers_all_succeed,
            tickets_raised_together_are_each_stored_and_answered,
            tickets_within_a_quota_are_stored_and_the_rest_refused,
            comments_are_stored_with_their_event_and_optional_clock_restart,
            comments_written_together_are_each_stored_and_answered,
            comments_within_a_quota_are_stored_and_the_rest_refused,
            changes_written_together_are_each_applied_and_answered,
            report_counts_events_in_scope_and_time,
            sla_report_counts_per_priority_in_scope_and_window,
            outbox_claims_retries_and_fails,
            old_sent_and_failed_notifications_are_pruned,
            concurrent_claims_never_share_a_row,
            erasing_a_user_keeps_their_records_anonymous,
        );
    };
    ($make:expr) => {
        $crate::store_conformance_tests!([] $make);
    };
}

type S = Arc<dyn Store>;

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

fn page(n: u32, size: u32) -> PageRequest {
    PageRequest::new(n, size).unwrap()
}

pub async fn user(store: &S, email: &str, role: Role) -> User {
    let (first, last) = email.split_once('@').unwrap();
    store
        .insert_user(&UserDraft {
            email: email.into(),
            password_hash: format!("hash-of-{email}"),
            first_name: first.into(),
            last_name: last.into(),
            role,
            created_at: t0(),
        })
        .await
        .unwrap()
}

pub async fn ticket(
    store: &S,
    creator: &User,
    title: &str,
    priority: Priority,
    created_min: i64,
    due_min: i64,
) -> Ticket {
    ticket_with_targets(store, creator, title, priority, created_min, due_min, None).await
}

/// A ticket with an update deadline at minute `update_min` and, if given, a resolution
/// deadline at `resolve_min`.
pub async fn ticket_with_targets(
    store: &S,
    creator: &User,
    title: &str,
    priority: Priority,
    created_min: i64,
    update_min: i64,
    resolve_min: Option<i64>,
) -> Ticket {
    let sla = Sla {
        resolve_due_at: resolve_min.map(at),
        ..update_due(at(update_min))
    };
    store
        .insert_ticket(&TicketDraft {
            title: title.into(),
            description: format!("about {title}"),
            priority,
            created_by: creator.id,
            created_at: at(created_min),
            due_at: sla.next_due(Status::Open),
            sla,
        })
        .await
        .unwrap()
}

fn change(before: &Ticket, edit: impl FnOnce(&mut Ticket), events: Vec<NewEvent>) -> TicketChange {
    let mut next = before.clone();
    edit(&mut next);
    next.version = before.version + 1;
    TicketChange {
        ticket: next,
        expected_version: before.version,
        events,
        pause: None,
    }
}

/// The service-level state of a new ticket whose update deadline is `due`, under policy 1.
fn update_due(due: DateTime<Utc>) -> Sla {
    Sla {
        update_due_at: Some(due),
        policy_version: 1,
        ..Sla::default()
    }
}

/// The change that resolves a ticket, which stops its clock (no due time).
fn resolution(before: &Ticket) -> TicketChange {
    let resolve = |n: &mut Ticket| {
        n.status = Status::Resolved;
        n.due_at = None;
        n.sla.update_due_at = None;
        n.sla.policy_version = 0;
    };
    change(before, resolve, vec![])
}

fn ids(tickets: &[Ticket]) -> Vec<i64> {
    tickets.iter().map(|t| t.id.0).collect()
}

pub async fn users_are_stored_and_found(store: S) {
    let ada = user(&store, "ada@example.com", Role::Agent).await;
    assert_eq!(ada.role, Role::Agent);
    assert!(ada.is_active);
    assert_eq!(ada.created_at, t0());
    assert_eq!(ada.name_email(), "ada example.com - ada@example.com");
    assert_eq!(store.user(ada.id).await.unwrap(), Some(ada.clone()));
    let (found, hash) = store
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found, hash.as_str()),
        (ada.clone(), "hash-of-ada@example.com")
    );
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        store.password_hash(ada.id).await.unwrap().as_deref(),
        Some("hash-of-ada@example.com")
    );

    let mut changed = ada.clone();
    changed.first_name = "Augusta".into();
    changed.role = Role::Admin;
    changed.updated_at = at(5);
    let update = UserUpdate {
        first_name: Some("Augusta".into()),
        role: Some(Role::Admin),
        ..no_change(at(5))
    };
    let stored = store.update_user(ada.id, &update).await.unwrap();
    assert_eq!(stored, Some(changed.clone()));
    assert_eq!(
        store.update_user(UserId(999_999), &update).await.unwrap(),
        None
    );
}

/// An update that sets nothing but `updated_at`.
fn no_change(at: DateTime<Utc>) -> UserUpdate {
    UserUpdate {
        email: None,
        first_name: None,
        last_name: None,
        role: None,
        is_active: None,
        updated_at: at,
    }
}

pub async fn user_updates_write_only_their_fields(store: S) {
    let ada = user(&store, "ada@example.com", Role::Admin).await;
    // A demotion and a profile edit computed from the same old state, written one after the
    // other: the later profile edit must not restore the role or the activity.
    let demotion = UserUpdate {
        role: Some(Role::User),
        is_active: Some(false),
        ..no_change(at(1))
    };
    let profile = UserUpdate {
        first_name: Some("x".into()),
        ..no_change(at(2))
    };
    store.update_user(ada.id, &demotion).await.unwrap();
    let stored = store.update_user(ada.id, &profile).await.unwrap().unwrap();
    assert_eq!(
        (stored.role, stored.is_active, stored.first_name.as_str()),
        (Role::User, false, "x")
    );
    assert_eq!(stored.last_name, ada.last_name);
    assert_eq!(stored.email, ada.email);
    assert_eq!(stored.updated_at, at(2));
}

pub async fn emails_are_unique(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let again = store
        .insert_user(&UserDraft {
            email: "ada@example.com".into(),
            password_hash: "x".into(),
            first_name: String::new(),
            last_name: String::new(),
            role: Role::User,
            created_at: t0(),
        })
        .await;
    assert!(
        matches!(&again, Err(StoreError::UniqueViolation { constraint }) if constraint == USERS_EMAIL),
        "{again:?}"
    );
    let bob = user(&store, "bob@example.com", Role::User).await;
    let taken = UserUpdate {
        email: Some(ada.email.clone()),
        ..no_change(at(1))
    };
    let update = store.update_user(bob.id, &taken).await;
    assert!(
        matches!(&update, Err(StoreError::UniqueViolation { constraint }) if constraint == USERS_EMAIL),
        "{update:?}"
    );
    assert_eq!(
        store.user(bob.id).await.unwrap().unwrap().email,
        "bob@example.com"
    );
}

pub async fn user_search_is_literal_and_paginated(store: S) {
    for i in 0..25 {
        user(&store, &format!("agent{i:02}@example.com"), Role::Agent).await;
    }
    user(&store, "o'brien@example.com", Role::User).await;
    user(&store, "percent%@example.com", Role::User).await;
    let all = store
        .list_users(&UserQuery::default(), page(1, 10))
        .await
        .unwrap();
    assert_eq!((all.count, all.items.len()), (27, 10));
    let last = store
        .list_users(&UserQuery::default(), page(3, 10))
        .await
        .unwrap();
    assert_eq!(last.items.len(), 7);
    let agents = UserQuery {
        role: Some(Role::Agent),
        ..UserQuery::default()
    };
    assert_eq!(
        store.list_users(&agents, page(1, 100)).await.unwrap().count,
        25
    );
    let search = |s: &str| UserQuery {
        search: Some(s.into()),
        role: None,
    };
    // Case-insensitive, anywhere in "first last - email".
    assert_eq!(
        store
            .list_users(&search("AGENT1"), page(1, 100))
            .await
            .unwrap()
            .count,
        10
    );
    assert_eq!(
        store
            .list_users(&search("agent07 example.com - agent07@"), page(1, 100))
            .await
            .unwrap()
            .count,
        1
    );
    assert_eq!(
        store
            .list_users(&search("o'brien"), page(1, 100))
            .await
            .unwrap()
            .count,
        1
    );
    assert_eq!(
        store
            .list_users(&search("%"), page(1, 100))
            .await
            .unwrap()
            .count,
        1
    );
    assert_eq!(
        store
            .list_users(&search("_"), page(1, 100))
            .await
            .unwrap()
            .count,
        0
    );
    // The search follows changes of names and emails.
    let renamed = store
        .list_users(&search("agent24@"), page(1, 1))
        .await
        .unwrap()
        .items
        .remove(0);
    let rename = UserUpdate {
        first_name: Some("Zoë".into()),
        email: Some("zoe@example.org".into()),
        ..no_change(at(1))
    };
    store.update_user(renamed.id, &rename).await.unwrap();
    assert_eq!(
        store
            .list_users(&search("agent24@"), page(1, 100))
            .await
            .unwrap()
            .count,
        0
    );
    let found = store
        .list_users(&search("zoë EXAMPLE.com - zoe@"), page(1, 100))
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        [renamed.id]
    );
    let injection = search("' OR 1=1 --");
    assert_eq!(
        store
            .list_users(&injection, page(1, 100))
            .await
            .unwrap()
            .count,
        0
    );
}

pub async fn sessions_expire_and_are_revoked(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let (a, b, c) = (TokenHash([1; 32]), TokenHash([2; 32]), TokenHash([3; 32]));
    for token in [a, b, c] {
        store
            .insert_session(token, ada.id, at(0), at(60))
            .await
            .unwrap();
    }
    assert_eq!(
        store.session_user(a, at(59)).await.unwrap().map(|u| u.id),
        Some(ada.id)
    );
    assert_eq!(
        store.session_user(a, at(60)).await.unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(
        store.session_user(TokenHash([9; 32]), at(1)).await.unwrap(),
        None
    );
    store.delete_session(a).await.unwrap();
    assert_eq!(store.session_user(a, at(1)).await.unwrap(), None);
    assert!(
        store
            .set_password(ada.id, "new-hash", Some(b), at(2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_password(UserId(999_999), "new-hash", None, at(2))
            .await
            .unwrap(),
        "no such account"
    );
    assert!(
        store.session_user(b, at(3)).await.unwrap().is_some(),
        "the current session stays"
    );
    assert_eq!(
        store.session_user(c, at(3)).await.unwrap(),
        None,
        "other sessions end"
    );
    assert_eq!(
        store.password_hash(ada.id).await.unwrap().as_deref(),
        Some("new-hash")
    );
    let deactivate = UserUpdate {
        is_active: Some(false),
        ..no_change(at(3))
    };
    store.update_user(ada.id, &deactivate).await.unwrap();
    assert_eq!(
        store.session_user(b, at(3)).await.unwrap(),
        None,
        "deactivation revokes"
    );
}

pub async fn throttle_hits_are_counted_in_windows_and_forgotten(store: S) {
    let (ada, bob) = (ThrottleKey([1; 32]), ThrottleKey([2; 32]));
    for (m, expected) in [(0, 1), (1, 2), (2, 3)] {
        let hits = store.hit(ada, at(m), at(m + 15)).await.unwrap();
        assert_eq!(
            hits,
            Hits {
                count: expected,
                until: at(15)
            }
        );
    }
    // Another key with a longer window.
    assert_eq!(store.hit(bob, at(2), at(62)).await.unwrap().until, at(62));
    // The window of ada ends at 15: a minute before it is on, at 15 it is over.
    assert_eq!(store.hit(ada, at(14), at(29)).await.unwrap().count, 4);
    let renewed = store.hit(ada, at(15), at(30)).await.unwrap();
    assert_eq!(
        renewed,
        Hits {
            count: 1,
            until: at(30)
        },
        "a window that is over starts again"
    );
    store.forget_hits(ada).await.unwrap();
    assert_eq!(store.hit(ada, at(17), at(32)).await.unwrap().count, 1);
    store.forget_hits(ThrottleKey([9; 32])).await.unwrap();
    // Pruning the windows that are over keeps bob's longer one.
    assert_eq!(store.hit(bob, at(40), at(100)).await.unwrap().count, 2);
    assert_eq!(store.hit(bob, at(62), at(122)).await.unwrap().count, 1);
}

pub async fn concurrent_hits_each_count(store: S) {
    let key = ThrottleKey([3; 32]);
    let hits = (0..40).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.hit(key, at(1), at(16)).await.unwrap().count })
    });
    let mut counts: Vec<u32> = Vec::new();
    for hit in hits {
        counts.push(hit.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=40).collect::<Vec<u32>>(),
        "every hit sees its own count"
    );
}

/// Hits of several keys at once, one of them in a window that is over and one in a window
/// still on, each count in their key's window as if counted one after the other.
pub async fn concurrent_hits_of_several_keys_each_count(store: S) {
    let (ended, ongoing, new) = (
        ThrottleKey([4; 32]),
        ThrottleKey([5; 32]),
        ThrottleKey([6; 32]),
    );
    for _ in 0..3 {
        store.hit(ended, at(0), at(10)).await.unwrap();
        store.hit(ongoing, at(0), at(60)).await.unwrap();
    }
    let hits = (0..60).map(|i| {
        let store = store.clone();
        let key = [ended, ongoing, new][i % 3];
        tokio::spawn(async move { (key, store.hit(key, at(20), at(35)).await.unwrap()) })
    });
    let mut counts: Vec<(ThrottleKey, u32, DateTime<Utc>)> = Vec::new();
    for hit in hits {
        let (key, hits) = hit.await.unwrap();
        counts.push((key, hits.count, hits.until));
    }
    for (key, first, until) in [(ended, 1, at(35)), (ongoing, 4, at(60)), (new, 1, at(35))] {
        let mut of_key: Vec<u32> = counts
            .iter()
            .filter(|(k, _, u)| *k == key && *u == until)
            .map(|(_, count, _)| *count)
            .collect();
        of_key.sort_unstable();
        assert_eq!(
            of_key,
            (first..first + 20).collect::<Vec<u32>>(),
            "every hit of {key:?} sees its own count, in its window"
        );
    }
}

pub async fn tickets_change_only_at_the_expected_version(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let agent = user(&store, "bob@example.com", Role::Agent).await;
    let t = ticket(&store, &ada, "Printer", Priority::High, 0, 60).await;
    assert_eq!(
        (t.status, t.version, t.due_at, t.clock_started_at),
        (Status::Open, 1, Some(at(60)), at(0))
    );
    assert_eq!(store.ticket(t.id).await.unwrap(), Some(t.clone()));
    let history = store.list_history(t.id, page(1, 10)).await.unwrap();
    assert_eq!(history.items.len(), 1);
    assert_eq!(
        (history.items[0].kind, history.items[0].actor_id),
        (HistoryKind::Created, Some(ada.id))
    );

    let event = NewEvent {
        actor_id: None,
        kind: HistoryKind::Assigned,
        from: None,
        to: Some(agent.id.to_string()),
        at: at(5),
    };
    let assign = change(
        &t,
        |n| {
            n.assigned_to = Some(agent.id);
            n.status = Status::InProgress;
            n.updated_at = at(5);
            n.clock_started_at = at(5);
            n.due_at = Some(at(65));
            n.resolved_at = Some(at(4));
            n.escalated_at = Some(at(3));
            n.title = "Printer (3rd floor)".into();
            n.priority = Priority::Low;
        },
        vec![event.clone(), event],
    );
    assert!(store.update_ticket(&assign).await.unwrap());
    assert_eq!(store.ticket(t.id).await.unwrap().unwrap(), assign.ticket);
    assert!(
        !store.update_ticket(&assign).await.unwrap(),
        "a stale version writes nothing"
    );
    assert_eq!(
        store.list_history(t.id, page(1, 10)).await.unwrap().count,
        3
    );
    let mut gone = assign.clone();
    gone.ticket.id = TicketId(999_999);
    assert!(!store.update_ticket(&gone).await.unwrap());
}

pub async fn deleting_a_ticket_takes_its_records_along(store: S) {
    let ada = user(&store, "ada@example.com", Role::Admin).await;
    let t = ticket(&store, &ada, "Gone", Priority::High, 0, 1).await;
    let keep = ticket(&store, &ada, "Kept", Priority::High, 0, 1).await;
    let draft = CommentDraft {
        ticket_id: t.id,
        author_id: ada.id,
        body: "hi".into(),
        created_at: at(1),
    };
    store
        .insert_comment(&draft, CommentEffect::None)
        .await
        .unwrap()
        .unwrap();
    store.escalate_overdue(&Sweep::at(at(2))).await.unwrap();
    let queued = store.notification_backlog().await.unwrap().pending;
    assert!(
        queued > 0 && queued % 2 == 0,
        "both tickets' emails: {queued}"
    );
    assert!(
        store
            .delete_ticket(t.id, t.created_by, t.created_at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_ticket(t.id, t.created_by, t.created_at)
            .await
            .unwrap()
    );
    assert_eq!(store.ticket(t.id).await.unwrap(), None);
    assert_eq!(
        store.list_comments(t.id, page(1, 10)).await.unwrap().count,
        0
    );
    assert_eq!(
        store.list_history(t.id, page(1, 10)).await.unwrap().count,
        0
    );
    assert_eq!(
        store.notification_backlog().await.unwrap().pending,
        queued / 2,
        "the deleted ticket's emails are gone, the other's kept"
    );
    let claimed = store
        .claim_notifications(at(3), Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.len() as u64,
        queued / 2,
        "the other ticket's emails are claimed"
    );
    assert!(claimed.iter().all(|n| n.ticket_id == keep.id));
    assert!(store.ticket(keep.id).await.unwrap().is_some());
}

/// The count of each scope's unfiltered list, which a store may keep rather than count,
/// against the tickets the list holds, through creations, assignments (to the creator too),
/// reassignments, unassignments and deletions.
pub async fn unfiltered_counts_follow_assignments_and_deletions(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let cy = user(&store, "cy@example.com", Role::Agent).await;
    let dee = user(&store, "dee@example.com", Role::Agent).await;
    let check = |expected: [u64; 5]| {
        let store = store.clone();
        async move {
            let scopes = [
                TicketScope::CreatedBy(ada.id),
                TicketScope::Involving(cy.id),
                TicketScope::Involving(dee.id),
                TicketScope::AssignedTo(cy.id),
                TicketScope::CreatedBy(cy.id),
            ];
            for (scope, expected) in scopes.into_iter().zip(expected) {
                let q = TicketQuery::default();
                let list = store.list_tickets(scope, &q, page(1, 100)).await.unwrap();
                assert_eq!(list.count, list.items.len() as u64, "{scope:?}");
                assert_eq!(list.count, expected, "{scope:?}");
                let beyond = store.list_tickets(scope, &q, page(9, 100)).await.unwrap();
                assert_eq!(beyond.count, expected, "{scope:?}, past the end");
            }
        }
    };
    let one = ticket(&store, &ada, "one", Priority::Low, 0, 100).await;
    let two = ticket(&store, &ada, "two", Priority::Low, 1, 100).await;
    let three = ticket(&store, &cy, "three", Priority::Low, 2, 100).await;
    check([2, 1, 0, 0, 1]).await;
    let assign =
        |t: &Ticket, to: Option<&User>| change(t, |n| n.assigned_to = to.map(|u| u.id), vec![]);
    let (c1, c2, c3) = (
        assign(&one, Some(&cy)),
        assign(&two, Some(&dee)),
        assign(&three, Some(&cy)),
    );
    for c in [&c1, &c2, &c3] {
        assert!(store.update_ticket(c).await.unwrap());
    }
    check([2, 2, 1, 2, 1]).await;
    let moved = assign(&c2.ticket, Some(&cy));
    let dropped = assign(&c3.ticket, None);
    assert!(store.update_ticket(&moved).await.unwrap());
    assert!(store.update_ticket(&dropped).await.unwrap());
    check([2, 3, 0, 2, 1]).await;
    assert!(
        store
            .delete_ticket(one.id, one.created_by, one.created_at)
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_ticket(three.id, three.created_by, three.created_at)
            .await
            .unwrap()
    );
    check([1, 1, 0, 1, 0]).await;
}

pub async fn ticket_lists_apply_scope_filters_ordering_and_pages(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let bob = user(&store, "bob@example.com", Role::User).await;
    let agent = user(&store, "agent@example.com", Role::Agent).await;
    let mut mine = Vec::new();
    for i in 0..30 {
        let (creator, priority) = if i % 3 == 0 {
            (&bob, Priority::High)
        } else {
            (&ada, Priority::Low)
        };
        let t = ticket(
            &store,
            creator,
            &format!("ticket {i}"),
            priority,
            i,
            1000 - i,
        )
        .await;
        if creator.id == ada.id {
            mine.push(t.clone());
        }
        if i % 5 == 0 {
            let c = change(&t, |n| n.assigned_to = Some(agent.id), vec![]);
            assert!(store.update_ticket(&c).await.unwrap());
        }
    }
    let list = |scope, q: TicketQuery, p| {
        let store = store.clone();
        async move { store.list_tickets(scope, &q, p).await.unwrap() }
    };
    let q = TicketQuery::default;
    let ada_page = list(TicketScope::CreatedBy(ada.id), q(), page(1, 5)).await;
    assert_eq!(ada_page.count, 20);
    let newest_first: Vec<i64> = mine.iter().rev().take(5).map(|t| t.id.0).collect();
    assert_eq!(ids(&ada_page.items), newest_first);
    assert_eq!(
        list(TicketScope::CreatedBy(ada.id), q(), page(4, 5))
            .await
            .items
            .len(),
        5
    );
    let past_the_end = list(TicketScope::CreatedBy(ada.id), q(), page(5, 5)).await;
    assert!(past_the_end.items.is_empty());
    assert_eq!(past_the_end.count, 20, "a page past the end still counts");
    assert_eq!(
        list(TicketScope::AssignedTo(agent.id), q(), page(1, 100))
            .await
            .count,
        6
    );
    assert_eq!(list(TicketScope::All, q(), page(1, 100)).await.count, 30);
    let own = ticket(&store, &agent, "agent's own", Priority::Medium, 40, 2000).await;
    let involving = list(TicketScope::Involving(agent.id), q(), page(1, 100)).await;
    assert_eq!(involving.count, 7);
    assert_eq!(involving.items[0].id, own.id);

    let high = TicketQuery {
        priority: Some(Priority::High),
        status: Some(Status::Open),
        ..q()
    };
    let page1 = list(TicketScope::All, high, page(1, 100)).await;
    assert_eq!(page1.count, 10);
    assert!(
        page1
            .items
            .iter()
            .all(|t| t.priority == Priority::High && t.created_by == bob.id)
    );
    let unassigned = TicketQuery {
        assigned_to: Some(AssigneeFilter::Nobody),
        ..q()
    };
    assert_eq!(
        list(TicketScope::All, unassigned, page(1, 100)).await.count,
        25
    );
    let to_agent = TicketQuery {
        assigned_to: Some(AssigneeFilter::User(agent.id)),
        created_by: Some(bob.id),
        ..q()
    };
    assert_eq!(
        list(TicketScope::All, to_agent, page(1, 100)).await.count,
        2
    );
    let by_title = TicketQuery {
        title: Some("TICKET 1".into()),
        ..q()
    };
    assert_eq!(
        list(TicketScope::All, by_title.clone(), page(1, 100))
            .await
            .count,
        11
    );
    // Both text filters at once, for everyone and in an agent's scope (both sides).
    let both = TicketQuery {
        search: Some("about".into()),
        ..by_title
    };
    let everyone = list(TicketScope::All, both.clone(), page(1, 100)).await;
    assert_eq!(everyone.count, 11);
    let scope = TicketScope::Involving(agent.id);
    let theirs = list(scope, both, page(1, 100)).await;
    let expected: Vec<i64> = everyone
        .items
        .iter()
        .filter(|t| scope.contains(t))
        .map(|t| t.id.0)
        .collect();
    assert_eq!(ids(&theirs.items), expected);
    assert_eq!(theirs.count, expected.len() as u64);

    // Raised by and assigned to the agent: counted and listed once.
    let c = change(&own, |n| n.assigned_to = Some(agent.id), vec![]);
    assert!(store.update_ticket(&c).await.unwrap());
    let involving = list(TicketScope::Involving(agent.id), q(), page(1, 100)).await;
    assert_eq!(involving.count, 7);
    assert_eq!(ids(&involving.items).len(), 7);
    // Two tickets without a due time, which every due-time order puts last.
    for t in &mine[..2] {
        let now = store.ticket(t.id).await.unwrap().unwrap();
        assert!(store.update_ticket(&resolution(&now)).await.unwrap());
    }
    for ordering in TicketOrdering::ALL {
        let all = list(
            TicketScope::All,
            TicketQuery { ordering, ..q() },
            page(1, 100),
        )
        .await
        .items;
        let key = |t: &Ticket| match ordering {
            TicketOrdering::CreatedAt | TicketOrdering::CreatedAtDesc => {
                (t.created_at.timestamp_millis(), t.id.0)
            }
            TicketOrdering::UpdatedAt | TicketOrdering::UpdatedAtDesc => {
                (t.updated_at.timestamp_millis(), t.id.0)
            }
            TicketOrdering::Priority | TicketOrdering::PriorityDesc => (
                (t.priority.rank() << 48) | t.created_at.timestamp_millis(),
                t.id.0,
            ),
            TicketOrdering::DueAt | TicketOrdering::DueAtDesc => {
                (t.due_at.map_or(i64::MAX, |d| d.timestamp_millis()), t.id.0)
            }
        };
        let mut sorted = all.clone();
        sorted.sort_by_key(key);
        if ordering.is_descending() {
            sorted.reverse();
        }
        if matches!(ordering, TicketOrdering::DueAt | TicketOrdering::DueAtDesc) {
            // Without a due time last, in either direction, still by id among themselves.
            sorted.sort_by_key(|t| t.due_at.is_none());
            assert!(sorted.last().is_some_and(|t| t.due_at.is_none()));
        }
        assert_eq!(ids(&all), ids(&sorted), "{ordering:?}");
        // The agent's scope, page by page, is the same order restricted to their tickets.
        let scope = TicketScope::Involving(agent.id);
        let theirs = in_scope(&all, scope);
        assert_eq!(theirs.len(), 7);
        let paged = every_page(&store, scope, ordering, 2).await;
        assert_eq!(paged, theirs, "{ordering:?}");
        let past_the_end = list(scope, TicketQuery { ordering, ..q() }, page(9, 2)).await;
        assert_eq!((past_the_end.count, past_the_end.items.len()), (7, 0));
    }
}

/// An agent with a few tickets among many and one with a third of them, in every ordering,
/// page by page: a store may read the two differently (SQLite walks the ordering's index for
/// the second) and must give the same pages as the order of everyone's tickets.
pub async fn agent_pages_follow_every_ordering_for_few_and_many_tickets(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let few = user(&store, "few@example.com", Role::Agent).await;
    let busy = user(&store, "busy@example.com", Role::Agent).await;
    let priorities = [Priority::Low, Priority::Medium, Priority::High];
    for i in 0..90 {
        let priority = priorities[(i * 7 % 3) as usize];
        let t = ticket(&store, &ada, "t", priority, i, 100 + i * 37 % 90).await;
        let assignee = match i {
            10 => Some(few.id),
            _ if i % 3 == 0 => Some(busy.id),
            _ => None,
        };
        let edit = |n: &mut Ticket| {
            n.assigned_to = assignee;
            n.updated_at = at(200 + i * 53 % 90);
        };
        let t = if i % 11 == 0 {
            let c = resolution(&t);
            assert!(store.update_ticket(&c).await.unwrap());
            c.ticket
        } else {
            t
        };
        assert!(
            store
                .update_ticket(&change(&t, edit, vec![]))
                .await
                .unwrap()
        );
    }
    ticket(&store, &few, "raised by an agent", Priority::High, 95, 120).await;
    for ordering in TicketOrdering::ALL {
        let q = TicketQuery {
            ordering,
            ..TicketQuery::default()
        };
        let all = store.list_tickets(TicketScope::All, &q, page(1, 100)).await;
        let all = all.unwrap().items;
        assert_eq!(all.len(), 91);
        for agent in [&few, &busy] {
            let scope = TicketScope::Involving(agent.id);
            let paged = every_page(&store, scope, ordering, 4).await;
            assert_eq!(paged, in_scope(&all, scope), "{} {ordering:?}", agent.email);
        }
    }
}

/// The ids of the tickets of `scope` among `all`, in the order of `all`.
fn in_scope(all: &[Ticket], scope: TicketScope) -> Vec<i64> {
    all.iter()
        .filter(|t| scope.contains(t))
        .map(|t| t.id.0)
        .collect()
}

/// The ids of the tickets of `scope` in `ordering`, read `size` at a time up to the first
/// empty page, every page asserted to count as many as were read.
async fn every_page(
    store: &S,
    scope: TicketScope,
    ordering: TicketOrdering,
    size: u32,
) -> Vec<i64> {
    let q = TicketQuery {
        ordering,
        ..TicketQuery::default()
    };
    let mut paged = Vec::new();
    let mut counts = Vec::new();
    for n in 1.. {
        let p = store.list_tickets(scope, &q, page(n, size)).await.unwrap();
        counts.push(p.count);
        if p.items.is_empty() {
            break;
        }
        paged.extend(ids(&p.items));
    }
    assert!(
        counts.iter().all(|&c| c == paged.len() as u64),
        "{ordering:?}: {counts:?}"
    );
    paged
}

pub async fn ticket_search_pages_follow_the_ordering_for_few_and_many_matches(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    for i in 0..100 {
        let title = match i % 40 {
            7 => format!("rare {i}"),
            0..30 => format!("common {i}"),
            _ => format!("other {i}"),
        };
        let priority = [Priority::Low, Priority::Medium, Priority::High][i % 3];
        let (created, due) = ((i * 7 % 100) as i64, (i * 13 % 100) as i64);
        ticket(&store, &ada, &title, priority, created, due).await;
    }
    let list = |q: TicketQuery, p| {
        let store = store.clone();
        async move { store.list_tickets(TicketScope::All, &q, p).await.unwrap() }
    };
    for ordering in TicketOrdering::ALL {
        let all = list(
            TicketQuery {
                ordering,
                ..Default::default()
            },
            page(1, 100),
        )
        .await;
        assert_eq!(all.count, 100);
        // 3 matches and 77: a store may read few matches and walk an index past many.
        for (text, size) in [("rare", 1), ("common", 7), ("COMMON 1", 2)] {
            let found: Vec<i64> = all
                .items
                .iter()
                .filter(|t| t.title.to_lowercase().contains(&text.to_lowercase()))
                .map(|t| t.id.0)
                .collect();
            let search = || TicketQuery {
                search: Some(text.into()),
                ordering,
                ..Default::default()
            };
            let whole = list(search(), page(1, 100)).await;
            assert_eq!(ids(&whole.items), found, "{text} {ordering:?}");
            assert_eq!(whole.count, found.len() as u64);
            let mut paged = Vec::new();
            for n in 1..=found.len().div_ceil(size) as u32 + 1 {
                let p = list(search(), page(n, size as u32)).await;
                assert_eq!(p.count, found.len() as u64, "{text} {ordering:?} page {n}");
                paged.extend(ids(&p.items));
            }
            assert_eq!(paged, found, "{text} {ordering:?}");
        }
    }
}

pub async fn ticket_search_is_literal(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    ticket(&store, &ada, "Printer on fire", Priority::High, 0, 60).await;
    ticket(&store, &ada, "100% broken_screen", Priority::High, 0, 60).await;
    ticket(
        &store,
        &ada,
        "Robert'); DROP TABLE tickets;--",
        Priority::High,
        0,
        60,
    )
    .await;
    let search = |s: &str| TicketQuery {
        search: Some(s.into()),
        ..TicketQuery::default()
    };
    let count = |q: TicketQuery| {
        let store = store.clone();
        async move {
            store
                .list_tickets(TicketScope::All, &q, page(1, 100))
                .await
                .unwrap()
                .count
        }
    };
    assert_eq!(count(search("printer")).await, 1);
    assert_eq!(count(search("about")).await, 3, "descriptions are searched");
    assert_eq!(count(search("%")).await, 1);
    assert_eq!(count(search("_")).await, 1);
    assert_eq!(count(search("' OR '1'='1")).await, 0);
    assert_eq!(count(search("'); DROP TABLE tickets;--")).await, 1);
    assert_eq!(count(TicketQuery::default()).await, 3, "still there");
}

pub async fn ticket_search_follows_edits_and_deletions(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let printer = ticket(&store, &ada, "Drucker ÜBERHITZT", Priority::High, 0, 60).await;
    let quoted = ticket(&store, &ada, "The \"red\" button", Priority::Low, 1, 60).await;
    let find = |field: &'static str, text: &'static str| {
        let store = store.clone();
        async move {
            let query = match field {
                "title" => TicketQuery {
                    title: Some(text.into()),
                    ..TicketQuery::default()
                },
                _ => TicketQuery {
                    search: Some(text.into()),
                    ..TicketQuery::default()
                },
            };
            let page = store
                .list_tickets(TicketScope::All, &query, page(1, 100))
                .await
                .unwrap();
            page.items.iter().map(|t| t.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find("search", "überhitzt").await,
        [printer.id],
        "case-insensitive"
    );
    assert_eq!(find("search", "ck").await, [printer.id], "two characters");
    assert_eq!(
        find("search", "\"red\"").await,
        [quoted.id],
        "quotes are literal"
    );
    assert_eq!(
        find("title", "about").await,
        Vec::<TicketId>::new(),
        "title only"
    );
    assert_eq!(find("search", "about").await.len(), 2, "descriptions too");
    let renamed = change(&printer, |t| t.title = "Scanner jammed".into(), vec![]);
    assert!(store.update_ticket(&renamed).await.unwrap());
    assert_eq!(find("title", "drucker").await, Vec::<TicketId>::new());
    assert_eq!(find("title", "scanner").await, [printer.id]);
    assert!(
        store
            .delete_ticket(printer.id, printer.created_by, printer.created_at)
            .await
            .unwrap()
    );
    assert_eq!(find("search", "scanner").await, Vec::<TicketId>::new());
}

pub async fn sweep_escalates_overdue_tickets_and_queues_one_email_per_recipient(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let boss = user(&store, "boss@example.com", Role::Admin).await;
    user(&store, "admin2@example.com", Role::Admin).await;
    let retired = user(&store, "retired@example.com", Role::Admin).await;
    let retire = UserUpdate {
        is_active: Some(false),
        ..no_change(t0())
    };
    store.update_user(retired.id, &retire).await.unwrap();
    let overdue = ticket(&store, &ada, "overdue", Priority::High, 0, 60).await;
    let by_admin = ticket(&store, &boss, "admin's own", Priority::High, 0, 60).await;
    let later = ticket(&store, &ada, "later", Priority::Low, 0, 61).await;
    let resolved = ticket(&store, &ada, "resolved", Priority::High, 0, 10).await;
    assert!(store.update_ticket(&resolution(&resolved)).await.unwrap());

    assert_eq!(
        store
            .escalate_overdue(&Sweep::at(at(59)))
            .await
            .unwrap()
            .escalated,
        vec![]
    );
    let report = store.escalate_overdue(&Sweep::at(at(60))).await.unwrap();
    assert_eq!(report.escalated, vec![overdue.id, by_admin.id]);
    // overdue: ada, boss, admin2; admin's own: boss (once), admin2.
    assert_eq!(report.notifications_queued, 5);
    let t = store.ticket(overdue.id).await.unwrap().unwrap();
    assert_eq!(
        (t.status, t.escalated_at, t.due_at, t.version),
        (Status::Escalated, Some(at(60)), None, 2)
    );
    let events = store
        .list_history(overdue.id, page(1, 10))
        .await
        .unwrap()
        .items;
    let last = events.last().unwrap();
    assert_eq!(
        (
            last.kind,
            last.actor_id,
            last.from.as_deref(),
            last.to.as_deref(),
            last.at
        ),
        (
            HistoryKind::Escalated,
            None,
            Some("open"),
            Some("update"),
            at(60)
        )
    );
    assert_eq!(
        t.sla.update_breach,
        Some(Breach {
            due_at: at(60),
            at: at(60)
        }),
        "the breach is recorded on the ticket"
    );
    assert_eq!(
        store.escalate_overdue(&Sweep::at(at(60))).await.unwrap(),
        Default::default(),
        "never twice"
    );
    assert_eq!(
        store.ticket(later.id).await.unwrap().unwrap().status,
        Status::Open
    );

    let claimed = store
        .claim_notifications(at(61), Duration::minutes(5), 100)
        .await
        .unwrap();
    let mut recipients: Vec<(i64, &str)> = claimed
        .iter()
        .map(|n| (n.ticket_id.0, n.recipient.as_str()))
        .collect();
    recipients.sort();
    let mut expected = vec![
        (overdue.id.0, "ada@example.com"),
        (overdue.id.0, "boss@example.com"),
        (overdue.id.0, "admin2@example.com"),
        (by_admin.id.0, "boss@example.com"),
        (by_admin.id.0, "admin2@example.com"),
    ];
    expected.sort();
    assert_eq!(recipients, expected);
    let n = claimed.iter().find(|n| n.ticket_id == overdue.id).unwrap();
    assert_eq!(
        (n.due_at, n.raised_at, n.priority, n.attempts),
        (at(60), at(60), Priority::High, 1)
    );
    assert_eq!(n.creator, ada.name_email());
    assert_eq!(n.ticket_title, "overdue");
}

pub async fn concurrent_sweeps_escalate_each_ticket_once(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    user(&store, "boss@example.com", Role::Admin).await;
    user(&store, "boss2@example.com", Role::Admin).await;
    let mut writers = Vec::new();
    for chunk in 0..4 {
        let (store, ada) = (store.clone(), ada.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..250 {
                ticket(
                    &store,
                    &ada,
                    &format!("t{chunk}-{i}"),
                    Priority::High,
                    0,
                    i % 50,
                )
                .await;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let sweeps: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.escalate_overdue(&Sweep::at(at(100))).await.unwrap() })
        })
        .collect();
    let mut escalated = Vec::new();
    let mut queued = 0;
    for sweep in sweeps {
        let report = sweep.await.unwrap();
        escalated.extend(report.escalated);
        queued += report.notifications_queued;
    }
    assert_eq!(escalated.len(), 1000);
    assert_eq!(
        escalated.iter().collect::<BTreeSet<_>>().len(),
        1000,
        "no ticket twice"
    );
    assert_eq!(queued, 3000, "1000 tickets x (creator + 2 admins)");
    let claimed = store
        .claim_notifications(at(101), Duration::minutes(5), 10_000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3000);
}

/// A high-priority ticket created at minute 0, due at `update_min` and warned of it at
/// `warn_min`, with a resolution target due at `resolve` (deadline, warning) if given.
async fn warned_ticket(
    store: &S,
    creator: &User,
    title: &str,
    (update_min, warn_min): (i64, i64),
    resolve: Option<(i64, i64)>,
) -> Ticket {
    let sla = Sla {
        update_warn_at: Some(at(warn_min)),
        resolve_due_at: resolve.map(|(due, _)| at(due)),
        resolve_warn_at: resolve.map(|(_, warn)| at(warn)),
        ..update_due(at(update_min))
    };
    store
        .insert_ticket(&TicketDraft {
            title: title.into(),
            description: format!("about {title}"),
            priority: Priority::High,
            created_by: creator.id,
            created_at: at(0),
            due_at: sla.next_due(Status::Open),
            sla,
        })
        .await
        .unwrap()
}

/// The events of a kind in a ticket's history: (`to`, at).
async fn events_of(store: &S, ticket: TicketId, kind: HistoryKind) -> Vec<(String, DateTime<Utc>)> {
    let events = store
        .list_history(ticket, page(1, 100))
        .await
        .unwrap()
        .items;
    events
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| (e.to.unwrap_or_default(), e.at))
        .collect()
}

/// Every notification pending at `now`, marked sent: (ticket, recipient, alert, target,
/// deadline, reminder), sorted.
async fn alerts_at(store: &S, now: DateTime<Utc>) -> Vec<AlertRow> {
    let claimed = store
        .claim_notifications(now, Duration::minutes(5), 10_000)
        .await
        .unwrap();
    for n in &claimed {
        store.mark_sent(n.id, now).await.unwrap();
    }
    let mut alerts: Vec<_> = claimed
        .into_iter()
        .map(|n| {
            (
                n.ticket_id,
                n.recipient,
                n.alert,
                n.target,
                n.due_at,
                n.reminder,
            )
        })
        .collect();
    alerts.sort_by_key(|a| (a.0, a.1.clone(), a.2.as_str(), a.3.as_str(), a.4, a.5));
    alerts
}

/// A notification as [`alerts_at`] lists it.
type AlertRow = (TicketId, String, Alert, Target, DateTime<Utc>, Option<u32>);

/// The warning of `ticket`'s update deadline at minute 60, to `to`.
fn warning(ticket: &Ticket, to: &str) -> AlertRow {
    let update = Target::Update;
    (ticket.id, to.into(), Alert::Warning, update, at(60), None)
}

pub async fn warnings_go_out_once_per_deadline(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let agent = user(&store, "agent@example.com", Role::Agent).await;
    user(&store, "boss@example.com", Role::Admin).await;
    user(&store, "boss2@example.com", Role::Admin).await;
    let mine = warned_ticket(&store, &ada, "assigned", (60, 48), Some((120, 96))).await;
    let assign = change(&mine, |t| t.assigned_to = Some(agent.id), vec![]);
    assert!(store.update_ticket(&assign).await.unwrap());
    let nobodys = warned_ticket(&store, &ada, "unassigned", (60, 48), None).await;

    assert_eq!(
        store.escalate_overdue(&Sweep::at(at(47))).await.unwrap(),
        Default::default()
    );
    let before = store.ticket(mine.id).await.unwrap().unwrap();
    assert_eq!(before.sla.update_warn_at, Some(at(48)));
    let report = store.escalate_overdue(&Sweep::at(at(48))).await.unwrap();
    assert_eq!(report.warned, vec![mine.id, nobodys.id]);
    assert_eq!(report.escalated, vec![]);
    assert_eq!(report.notifications_queued, 3, "the assignee; both admins");
    let warned = store.ticket(mine.id).await.unwrap().unwrap();
    assert_eq!(
        (
            warned.sla.update_warn_at,
            warned.sla.update_warned_due,
            warned.version
        ),
        (None, Some(at(60)), before.version),
        "a warning changes neither the ticket's version nor its other deadlines"
    );
    assert_eq!(warned.sla.resolve_warn_at, Some(at(96)));

    // A change planned from the ticket read before its warning writes the same deadline with
    // its warning: the store keeps the warning sent.
    let stale = change(&before, |t| t.title = "renamed".into(), vec![]);
    assert!(store.update_ticket(&stale).await.unwrap());
    let renamed = store.ticket(mine.id).await.unwrap().unwrap();
    assert_eq!(renamed.sla.update_warn_at, None);
    assert_eq!(
        store.escalate_overdue(&Sweep::at(at(50))).await.unwrap(),
        Default::default()
    );
    assert_eq!(
        alerts_at(&store, at(50)).await,
        vec![
            warning(&mine, "agent@example.com"),
            warning(&nobodys, "boss2@example.com"),
            warning(&nobodys, "boss@example.com"),
        ]
    );

    // A staff comment restarts the update clock: a new deadline warns again.
    let restart = ClockRestart {
        at: at(50),
        due_by_rank: [None, None, Some(at(110))],
        warn_by_rank: [None, None, Some(at(98))],
        first_response_seconds: None,
    };
    let note = CommentDraft {
        ticket_id: mine.id,
        author_id: agent.id,
        body: "on it".into(),
        created_at: at(50),
    };
    let effect = CommentEffect::Restart(&restart);
    store.insert_comment(&note, effect).await.unwrap().unwrap();
    // The same deadline again (a restart that lands on it) does not.
    let again = ClockRestart {
        at: at(51),
        ..restart
    };
    let note = CommentDraft {
        created_at: at(51),
        ..note
    };
    store.insert_comment(&note, effect).await.unwrap().unwrap();
    let report = store.escalate_overdue(&Sweep::at(at(97))).await.unwrap();
    assert_eq!(
        (report.warned, report.escalated),
        (vec![mine.id], vec![nobodys.id])
    );
    let report = store.escalate_overdue(&Sweep::at(at(98))).await.unwrap();
    assert_eq!(report.warned, vec![mine.id]);
    store
        .insert_comment(
            &CommentDraft {
                created_at: at(99),
                ..note.clone()
            },
            CommentEffect::Restart(&again),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .ticket(mine.id)
            .await
            .unwrap()
            .unwrap()
            .sla
            .update_warn_at,
        None,
        "a restart onto the deadline warned of sets no warning"
    );
    assert_eq!(
        store.escalate_overdue(&Sweep::at(at(109))).await.unwrap(),
        Default::default()
    );
    assert_eq!(
        events_of(&store, mine.id, HistoryKind::SlaWarning).await,
        vec![
            ("update".into(), at(48)),
            ("resolution".into(), at(97)),
            ("update".into(), at(98)),
        ]
    );
    assert_eq!(
        events_of(&store, nobodys.id, HistoryKind::SlaWarning)
            .await
            .len(),
        1
    );
}

pub async fn reminders_repeat_while_escalated_up_to_the_limit(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    user(&store, "boss@example.com", Role::Admin).await;
    user(&store, "boss2@example.com", Role::Admin).await;
    let stays = ticket(&store, &ada, "stays escalated", Priority::High, 0, 10).await;
    let leaves = ticket(&store, &ada, "picked up", Priority::High, 0, 10).await;
    let sweep = |now: i64, next: i64| Sweep {
        now: at(now),
        remind_by_rank: [Some(at(next)); 3],
        max_reminders: 2,
        time_zone: "Europe/Berlin",
        ..Sweep::at(at(now))
    };
    let report = store.escalate_overdue(&sweep(10, 20)).await.unwrap();
    assert_eq!(report.escalated, vec![stays.id, leaves.id]);
    assert_eq!(report.reminded, vec![], "never in the sweep that escalates");
    alerts_at(&store, at(10)).await;
    assert_eq!(
        store.escalate_overdue(&sweep(19, 29)).await.unwrap(),
        Default::default()
    );
    let report = store.escalate_overdue(&sweep(20, 30)).await.unwrap();
    assert_eq!(
        (report.reminded, report.notifications_queued),
        (vec![stays.id, leaves.id], 4)
    );
    let alerts = alerts_at(&store, at(20)).await;
    let u = Target::Update;
    assert_eq!(
        alerts[0],
        (
            stays.id,
            "boss2@example.com".into(),
            Alert::Reminder,
            u,
            at(10),
            Some(1)
        ),
        "to the admins, about the breached deadline"
    );
    assert_eq!(alerts.len(), 4);

    // Leaving `escalated` stops the reminders.
    let escalated = store.ticket(leaves.id).await.unwrap().unwrap();
    let pick_up = change(&escalated, |t| t.status = Status::InProgress, vec![]);
    assert!(store.update_ticket(&pick_up).await.unwrap());
    assert_eq!(
        store.escalate_overdue(&sweep(29, 39)).await.unwrap(),
        Default::default()
    );
    let report = store.escalate_overdue(&sweep(30, 40)).await.unwrap();
    assert_eq!(
        (report.reminded, report.notifications_queued),
        (vec![stays.id], 2)
    );
    let n = store
        .claim_notifications(at(30), Duration::minutes(5), 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (n.reminder, n.time_zone.as_str()),
        (Some(2), "Europe/Berlin")
    );
    for now in [40, 50, 1000] {
        assert_eq!(
            store
                .escalate_overdue(&sweep(now, now + 10))
                .await
                .unwrap()
                .reminded,
            vec![],
            "at most max_reminders per escalation"
        );
    }
    assert_eq!(
        events_of(&store, stays.id, HistoryKind::EscalationReminder).await,
        vec![("1".into(), at(20)), ("2".into(), at(30))]
    );
    assert_eq!(
        events_of(&store, leaves.id, HistoryKind::EscalationReminder)
            .await
            .len(),
        1
    );
    let no_reminders = Sweep::at(at(2000));
    assert_eq!(
        store.escalate_overdue(&no_reminders).await.unwrap(),
        Default::default()
    );
}

pub async fn concurrent_sweeps_warn_and_remind_once(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    user(&store, "boss@example.com", Role::Admin).await;
    user(&store, "boss2@example.com", Role::Admin).await;
    for i in 0..200 {
        warned_ticket(&store, &ada, &format!("t{i}"), (60, 40 + i % 10), None).await;
    }
    let sweep = |now: i64| Sweep {
        now: at(now),
        remind_by_rank: [Some(at(now + 10)); 3],
        max_reminders: 1,
        ..Sweep::at(at(now))
    };
    let run = |now: i64| {
        let sweeps: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.escalate_overdue(&sweep(now)).await.unwrap() })
            })
            .collect();
        async move {
            let mut total = crate::EscalationReport::default();
            for sweep in sweeps {
                let report = sweep.await.unwrap();
                total.warned.extend(report.warned);
                total.reminded.extend(report.reminded);
                total.escalated.extend(report.escalated);
                total.notifications_queued += report.notifications_queued;
            }
            total
        }
    };
    let warned = run(50).await;
    assert_eq!(warned.warned.len(), 200, "each ticket warned once");
    assert_eq!(warned.warned.iter().collect::<BTreeSet<_>>().len(), 200);
    assert_eq!(warned.notifications_queued, 400, "200 tickets x 2 admins");
    let escalated = run(60).await;
    assert_eq!(
        (escalated.escalated.len(), escalated.warned.len()),
        (200, 0)
    );
    let reminded = run(70).await;
    assert_eq!(reminded.reminded.len(), 200, "each ticket reminded once");
    assert_eq!(reminded.reminded.iter().collect::<BTreeSet<_>>().len(), 200);
    assert_eq!(reminded.notifications_queued, 400);
    assert_eq!(run(80).await, Default::default(), "one reminder at most");
    let alerts = alerts_at(&store, at(80)).await;
    let count = |alert| alerts.iter().filter(|a| a.2 == alert).count();
    assert_eq!(
        (
            count(Alert::Warning),
            count(Alert::Escalation),
            count(Alert::Reminder)
        ),
        (400, 600, 400)
    );
}

/// Warnings of the agent's tickets go to their lead and the agent; reminders to nobody;
/// escalations by default; a ticket titled "fail" makes the rule fail.
#[derive(Debug)]
struct Leads {
    agent: UserId,
    lead: UserId,
}

#[async_trait::async_trait]
impl crate::Recipients for Leads {
    async fn recipients(
        &self,
        alert: Alert,
        tickets: &[Ticket],
    ) -> crate::Result<Vec<Option<Vec<UserId>>>> {
        if tickets.iter().any(|t| t.title == "fail") {
            return Err(crate::Error::Unavailable("the directory is down".into()));
        }
        Ok(tickets
            .iter()
            .map(|t| match alert {
                Alert::Warning if t.assigned_to == Some(self.agent) => {
                    Some(vec![self.lead, self.agent, self.lead])
                }
                Alert::Reminder => Some(Vec::new()),
                _ => None,
            })
            .collect())
    }
}

/// A sweep at minute `now` that emails whom `rule` says, reminding ten minutes on, once.
fn sweep_with(now: i64, rule: &dyn crate::Recipients) -> Sweep<'_> {
    Sweep {
        remind_by_rank: [Some(at(now + 10)); 3],
        max_reminders: 1,
        ..Sweep::at(at(now)).with_recipients(Some(rule))
    }
}

pub async fn a_recipients_rule_chooses_who_is_emailed(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let agent = user(&store, "agent@example.com", Role::Agent).await;
    let lead = user(&store, "lead@example.com", Role::Agent).await;
    user(&store, "boss@example.com", Role::Admin).await;
    let gone = user(&store, "gone@example.com", Role::Agent).await;
    let retire = UserUpdate {
        is_active: Some(false),
        ..no_change(t0())
    };
    store.update_user(gone.id, &retire).await.unwrap();
    let rule = Leads {
        agent: agent.id,
        lead: lead.id,
    };
    let theirs = warned_ticket(&store, &ada, "assigned", (60, 48), None).await;
    let assign = change(&theirs, |t| t.assigned_to = Some(agent.id), vec![]);
    assert!(store.update_ticket(&assign).await.unwrap());
    let nobodys = warned_ticket(&store, &ada, "unassigned", (60, 48), None).await;
    let to_the_gone = Leads {
        agent: agent.id,
        lead: gone.id,
    };
    let rule = &rule;
    let report = store.escalate_overdue(&sweep_with(48, rule)).await.unwrap();
    assert_eq!(report.warned, vec![theirs.id, nobodys.id]);
    assert_eq!(
        report.notifications_queued, 3,
        "lead and agent, once each; the admin"
    );
    assert_eq!(
        alerts_at(&store, at(48)).await,
        vec![
            warning(&theirs, "agent@example.com"),
            warning(&theirs, "lead@example.com"),
            warning(&nobodys, "boss@example.com"),
        ]
    );

    // A rule that fails rolls the sweep back: nothing escalates, nothing is queued.
    let failing = warned_ticket(&store, &ada, "fail", (60, 59), None).await;
    let err = store
        .escalate_overdue(&sweep_with(60, rule))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the directory is down"), "{err}");
    assert_eq!(
        store.ticket(theirs.id).await.unwrap().unwrap().status,
        Status::Open
    );
    assert!(alerts_at(&store, at(60)).await.is_empty());
    store
        .delete_ticket(failing.id, failing.created_by, failing.created_at)
        .await
        .unwrap();

    let report = store.escalate_overdue(&sweep_with(60, rule)).await.unwrap();
    assert_eq!(report.escalated, vec![theirs.id, nobodys.id]);
    assert_eq!(
        report.notifications_queued, 4,
        "by default: the creator and the admin"
    );
    alerts_at(&store, at(60)).await;
    let report = store.escalate_overdue(&sweep_with(70, rule)).await.unwrap();
    assert_eq!(
        (report.reminded, report.notifications_queued),
        (vec![theirs.id, nobodys.id], 0),
        "reminded, to nobody"
    );

    // Inactive accounts are left out.
    let later = warned_ticket(&store, &ada, "later", (200, 150), None).await;
    let assign = change(&later, |t| t.assigned_to = Some(agent.id), vec![]);
    assert!(store.update_ticket(&assign).await.unwrap());
    let report = store
        .escalate_overdue(&sweep_with(150, &to_the_gone))
        .await
        .unwrap();
    assert_eq!(
        (report.warned, report.notifications_queued),
        (vec![later.id], 1)
    );
}

pub async fn resolution_targets_breach_once_even_on_escalated_tickets(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    user(&store, "boss@example.com", Role::Admin).await;
    let slow = ticket_with_targets(&store, &ada, "slow", Priority::High, 0, 60, Some(90)).await;
    let both = ticket_with_targets(&store, &ada, "both", Priority::Low, 0, 60, Some(60)).await;
    assert_eq!((slow.due_at, both.due_at), (Some(at(60)), Some(at(60))));

    // Minute 60: slow breaches its update target; both breaches both targets in one sweep.
    let first = store.escalate_overdue(&Sweep::at(at(60))).await.unwrap();
    assert_eq!(first.escalated, vec![slow.id, both.id]);
    assert_eq!(
        first.notifications_queued, 6,
        "3 breaches x (creator + admin)"
    );
    let s = store.ticket(slow.id).await.unwrap().unwrap();
    assert_eq!(
        (s.status, s.due_at, s.sla.resolve_breach),
        (Status::Escalated, Some(at(90)), None),
        "the resolution deadline is still ahead"
    );
    let b = store.ticket(both.id).await.unwrap().unwrap();
    let breached = Some(Breach {
        due_at: at(60),
        at: at(60),
    });
    assert_eq!(
        (b.due_at, b.sla.update_breach, b.sla.resolve_breach),
        (None, breached, breached)
    );
    let targets = |events: Vec<crate::HistoryEvent>| -> Vec<(String, String)> {
        events
            .into_iter()
            .filter(|e| e.kind == HistoryKind::Escalated)
            .map(|e| (e.from.unwrap_or_default(), e.to.unwrap_or_default()))
            .collect()
    };
    let history = store.list_history(both.id, page(1, 10)).await.unwrap();
    assert_eq!(
        targets(history.items),
        [
            ("open".into(), "update".into()),
            ("escalated".into(), "resolution".into())
        ]
    );

    // Minute 90: slow, already escalated, breaches its resolution target: recorded and
    // notified, status unchanged; once.
    let second = store.escalate_overdue(&Sweep::at(at(90))).await.unwrap();
    assert_eq!(
        (second.escalated, second.notifications_queued),
        (vec![slow.id], 2)
    );
    let s = store.ticket(slow.id).await.unwrap().unwrap();
    assert_eq!(
        (s.status, s.due_at, s.escalated_at),
        (Status::Escalated, None, Some(at(90)))
    );
    assert_eq!(
        s.sla.resolve_breach,
        Some(Breach {
            due_at: at(90),
            at: at(90)
        })
    );
    assert_eq!(
        store.escalate_overdue(&Sweep::at(at(200))).await.unwrap(),
        Default::default()
    );
    let history = store.list_history(slow.id, page(1, 10)).await.unwrap();
    assert_eq!(
        targets(history.items),
        [
            ("open".into(), "update".into()),
            ("escalated".into(), "resolution".into())
        ]
    );
    let mail = store
        .claim_notifications(at(201), Duration::minutes(5), 100)
        .await
        .unwrap();
    let mut of_slow: Vec<_> = mail
        .iter()
        .filter(|n| n.ticket_id == slow.id)
        .map(|n| (n.target, n.due_at))
        .collect();
    of_slow.sort_by_key(|(_, due)| *due);
    assert_eq!(
        of_slow,
        [
            (Target::Update, at(60)),
            (Target::Update, at(60)),
            (Target::Resolution, at(90)),
            (Target::Resolution, at(90))
        ]
    );
}

pub async fn concurrent_sweeps_record_each_breach_once(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    user(&store, "boss@example.com", Role::Admin).await;
    let mut tickets = Vec::new();
    for i in 0..200 {
        let resolve = (i % 2 == 0).then_some(i % 40 + 1);
        tickets.push(
            ticket_with_targets(
                &store,
                &ada,
                &format!("t{i}"),
                Priority::High,
                0,
                i % 50,
                resolve,
            )
            .await,
        );
    }
    let sweeps: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.escalate_overdue(&Sweep::at(at(100))).await.unwrap() })
        })
        .collect();
    let mut queued = 0;
    for sweep in sweeps {
        queued += sweep.await.unwrap().notifications_queued;
    }
    let mut events = 0;
    for t in &tickets {
        let history = store.list_history(t.id, page(1, 10)).await.unwrap().items;
        let mut targets: Vec<_> = history
            .iter()
            .filter(|e| e.kind == HistoryKind::Escalated)
            .filter_map(|e| e.to.clone())
            .collect();
        assert!(!targets.is_empty(), "{} escalated", t.title);
        let n = targets.len();
        targets.dedup();
        assert_eq!(targets.len(), n, "no breach of {} twice", t.title);
        events += n as u64;
        let stored = store.ticket(t.id).await.unwrap().unwrap();
        assert_eq!((stored.status, stored.due_at), (Status::Escalated, None));
    }
    assert_eq!(
        queued,
        2 * events,
        "each breach mailed to creator and admin once"
    );
    assert!(events >= 200);
}

pub async fn pauses_follow_status_changes(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let agent = user(&store, "agent@example.com", Role::Agent).await;
    let t = ticket(&store, &ada, "waits", Priority::High, 0, 60).await;
    assert_eq!(store.pauses(t.id).await.unwrap(), vec![]);
    let mut wait = change(
        &t,
        |n| {
            n.status = Status::Waiting;
            n.due_at = None;
            n.sla.update_due_at = None;
            n.sla.waiting_since = Some(at(5));
        },
        vec![],
    );
    wait.pause = Some(PauseChange {
        at: at(5),
        by: Some(agent.id),
        ends_current: false,
        starts: Some(Status::Waiting),
    });
    assert!(store.update_ticket(&wait).await.unwrap());
    let waiting = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        (waiting.status, waiting.sla.waiting_since),
        (Status::Waiting, Some(at(5)))
    );
    let filter = TicketQuery {
        status: Some(Status::Waiting),
        ..TicketQuery::default()
    };
    let listed = store
        .list_tickets(TicketScope::All, &filter, page(1, 10))
        .await
        .unwrap();
    assert_eq!(ids(&listed.items), [t.id.0]);
    // Waiting, then resolved: one pause ends, the next starts.
    let mut resolve = change(
        &waiting,
        |n| {
            n.status = Status::Resolved;
            n.sla.waiting_since = None;
            n.sla.paused_seconds = 600;
        },
        vec![],
    );
    resolve.pause = Some(PauseChange {
        at: at(15),
        by: Some(agent.id),
        ends_current: true,
        starts: Some(Status::Resolved),
    });
    assert!(store.update_ticket(&resolve).await.unwrap());
    let pauses = store.pauses(t.id).await.unwrap();
    let seen: Vec<_> = pauses
        .iter()
        .map(|p| (p.status, p.started_at, p.started_by, p.ended_at, p.ended_by))
        .collect();
    assert_eq!(
        seen,
        [
            (
                Status::Waiting,
                at(5),
                Some(agent.id),
                Some(at(15)),
                Some(agent.id)
            ),
            (Status::Resolved, at(15), Some(agent.id), None, None)
        ]
    );
    assert_eq!(
        store
            .ticket(t.id)
            .await
            .unwrap()
            .unwrap()
            .sla
            .paused_seconds,
        600
    );
    // A change that loses its race moves no pause.
    assert!(!store.update_ticket(&resolve).await.unwrap());
    assert_eq!(store.pauses(t.id).await.unwrap().len(), 2);
}

pub async fn deadlines_are_rewritten_for_a_new_policy_at_the_expected_version(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let open = ticket(&store, &ada, "open", Priority::High, 0, 60).await;
    let done = ticket(&store, &ada, "done", Priority::High, 0, 60).await;
    assert!(store.update_ticket(&resolution(&done)).await.unwrap());
    let mut wait = change(&open, |n| n.status = Status::Waiting, vec![]);
    wait.pause = Some(PauseChange {
        at: at(5),
        by: Some(ada.id),
        ends_current: false,
        starts: Some(Status::Waiting),
    });
    let waiting = ticket(&store, &ada, "waiting", Priority::Low, 0, 60).await;
    let mut wait_other = change(&waiting, |n| n.status = Status::Waiting, vec![]);
    wait_other.pause = wait.pause;
    assert!(store.update_ticket(&wait_other).await.unwrap());

    assert_eq!(
        store
            .tickets_off_policy(1, (0, TicketId(0)), 10)
            .await
            .unwrap(),
        vec![],
        "every ticket is at version 1"
    );
    let off = store
        .tickets_off_policy(2, (0, TicketId(0)), 10)
        .await
        .unwrap();
    let found: Vec<_> = off.iter().map(|(t, p)| (t.id, p.len())).collect();
    assert_eq!(
        found,
        [(open.id, 0), (waiting.id, 1)],
        "not the resolved one"
    );
    let page_two = store.tickets_off_policy(2, (1, open.id), 10).await.unwrap();
    assert_eq!(page_two.len(), 1);

    let rewrite = |t: &Ticket, version| DeadlineUpdate {
        id: t.id,
        version,
        due_at: Some(at(30)),
        sla: Sla {
            update_due_at: Some(at(30)),
            resolve_due_at: Some(at(300)),
            policy_version: 2,
            ..Sla::default()
        },
    };
    let stale = rewrite(&waiting, waiting.version); // it moved on since
    let written = store
        .set_deadlines(&[rewrite(&open, open.version), stale])
        .await
        .unwrap();
    assert_eq!(written, 1);
    let t = store.ticket(open.id).await.unwrap().unwrap();
    assert_eq!(
        (
            t.due_at,
            t.sla.update_due_at,
            t.sla.resolve_due_at,
            t.sla.policy_version
        ),
        (Some(at(30)), Some(at(30)), Some(at(300)), 2)
    );
    assert_eq!(
        (t.version, t.updated_at),
        (open.version, open.updated_at),
        "new deadlines are not a change of the ticket"
    );
    let left = store
        .tickets_off_policy(2, (0, TicketId(0)), 10)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0.id, waiting.id);
}

pub async fn the_policy_is_seeded_once_and_replaced_by_version(store: S) {
    assert_eq!(store.sla_policy().await.unwrap(), None);
    let first = SlaPolicySpec::update_only(3600, 14400, 86400);
    let seeds: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let spec = SlaPolicySpec::update_only(60 + i, 60, 60);
                store.seed_sla_policy(&spec, at(i as i64)).await.unwrap()
            })
        })
        .collect();
    let mut versions = BTreeSet::new();
    let mut specs = BTreeSet::new();
    for seed in seeds {
        let stored = seed.await.unwrap();
        versions.insert(stored.version);
        specs.insert(stored.spec.targets.high.update_seconds);
    }
    assert_eq!(versions.into_iter().collect::<Vec<_>>(), [1]);
    assert_eq!(specs.len(), 1, "every seeder gets the one stored");
    let again = store.seed_sla_policy(&first, at(10)).await.unwrap();
    assert_eq!(again.version, 1);
    assert_ne!(again.spec, first, "a stored policy is never reseeded");

    let mut next = first.clone();
    next.targets.high.resolve_seconds = Some(28_800);
    next.warn_at_percent = Some(80);
    let v2 = store
        .replace_sla_policy(&next, Some(1), at(20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((v2.version, &v2.spec, v2.updated_at), (2, &next, at(20)));
    let stale = store
        .replace_sla_policy(&first, Some(1), at(21))
        .await
        .unwrap();
    assert_eq!(stale.map_err(|current| current.version), Err(2));
    assert_eq!(store.sla_policy().await.unwrap(), Some(v2));
    let v3 = store
        .replace_sla_policy(&first, None, at(22))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v3.version, 3);
}

pub async fn a_comment_can_carry_a_ticket_change(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let t = ticket(&store, &ada, "waiting", Priority::High, 0, 60).await;
    let reopen = change(&t, |n| n.status = Status::Open, vec![]);
    let draft = CommentDraft {
        ticket_id: t.id,
        author_id: ada.id,
        body: "here is the log".into(),
        created_at: at(10),
    };
    let comment = store
        .insert_comment(&draft, CommentEffect::Change(&reopen))
        .await
        .unwrap();
    assert!(comment.is_some());
    assert_eq!(
        store.ticket(t.id).await.unwrap().unwrap().version,
        t.version + 1
    );
    // Planned on a version that is gone: neither the change nor the comment is stored.
    assert_eq!(
        store
            .insert_comment(&draft, CommentEffect::Change(&reopen))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.list_comments(t.id, page(1, 10)).await.unwrap().count,
        1
    );
}

pub async fn concurrent_writers_all_succeed(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let (store, ada) = (store.clone(), ada.clone());
            tokio::spawn(async move {
                let t = ticket(
                    &store,
                    &ada,
                    &format!("writer {i}"),
                    Priority::Medium,
                    0,
                    240,
                )
                .await;
                let draft = CommentDraft {
                    ticket_id: t.id,
                    author_id: ada.id,
                    body: "me too".into(),
                    created_at: at(1),
                };
                store.insert_comment(&draft, CommentEffect::None).await
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap().unwrap().unwrap();
    }
    let all = store
        .list_tickets(TicketScope::All, &TicketQuery::default(), page(1, 100))
        .await
        .unwrap();
    assert_eq!(all.count, 50);
}

pub async fn tickets_raised_together_are_each_stored_and_answered(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    // 150 drafts at once, one of them by an account that does not exist: stores may write
    // tickets raised together in one transaction, but that one must fail alone.
    let inserts: Vec<_> = (0..150)
        .map(|i| {
            let store = store.clone();
            let draft = TicketDraft {
                title: format!("together {i}"),
                description: format!("draft number {i}"),
                priority: [Priority::Low, Priority::Medium, Priority::High][i % 3],
                created_by: if i == 77 { UserId(999_999) } else { ada.id },
                created_at: at(i as i64),
                due_at: Some(at(i as i64 + 60)),
                sla: update_due(at(i as i64 + 60)),
            };
            tokio::spawn(async move { (draft.clone(), store.insert_ticket(&draft).await) })
        })
        .collect();
    let mut ids = Vec::new();
    for insert in inserts {
        let (draft, stored) = insert.await.unwrap();
        if draft.created_by != ada.id {
            assert!(stored.is_err(), "a ticket by nobody is refused");
            continue;
        }
        let t = stored.unwrap();
        assert_eq!(
            (&t.title, &t.description, t.priority, t.created_at, t.due_at),
            (
                &draft.title,
                &draft.description,
                draft.priority,
                draft.created_at,
                draft.due_at
            ),
            "each caller gets its own ticket"
        );
        assert_eq!(store.ticket(t.id).await.unwrap(), Some(t.clone()));
        let history = store.list_history(t.id, page(1, 10)).await.unwrap();
        assert_eq!(history.count, 1);
        let e = &history.items[0];
        assert_eq!(
            (
                e.ticket_id,
                e.kind,
                e.actor_id,
                e.from.as_deref(),
                e.to.as_deref(),
                e.at
            ),
            (
                t.id,
                HistoryKind::Created,
                Some(t.created_by),
                None,
                Some("open"),
                t.created_at
            ),
            "each ticket's own created event"
        );
        ids.push(t.id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 149);
    let all = store
        .list_tickets(TicketScope::All, &TicketQuery::default(), page(1, 1))
        .await
        .unwrap();
    assert_eq!(all.count, 149);
    // A time finer than the store keeps is stored at the store's precision, not refused.
    let fine = TicketDraft {
        title: "nanoseconds".into(),
        description: String::new(),
        priority: Priority::Low,
        created_by: ada.id,
        created_at: at(1) + Duration::nanoseconds(123_457),
        due_at: Some(at(61)),
        sla: update_due(at(61)),
    };
    let stored = store.insert_ticket(&fine).await.unwrap();
    assert!((stored.created_at - fine.created_at).num_milliseconds() == 0);
}

/// Tickets raised at once against one quota: exactly as many as it allows are stored, every
/// hit counts, refused or not, and the hit of a ticket that fails is not counted.
pub async fn tickets_within_a_quota_are_stored_and_the_rest_refused(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let (key, other) = (ThrottleKey([7; 32]), ThrottleKey([8; 32]));
    let quota = |key, m| Quota {
        key,
        limit: 5,
        at: at(m),
        new_window_ends: at(m + 59),
    };
    let draft = |i: i64, by: UserId| TicketDraft {
        title: format!("quota {i}"),
        description: String::new(),
        priority: Priority::Medium,
        created_by: by,
        created_at: at(1),
        due_at: Some(at(61)),
        sla: update_due(at(61)),
    };
    let raise = |draft: TicketDraft, quota: Quota| {
        let store = store.clone();
        tokio::spawn(async move { store.insert_ticket_within(&draft, &quota).await })
    };
    let inserts: Vec<_> = (0..12)
        .map(|i| raise(draft(i, ada.id), quota(key, 1)))
        .collect();
    let (mut stored, mut refused) = (Vec::new(), Vec::new());
    for insert in inserts {
        match insert.await.unwrap().unwrap() {
            Ok(ticket) => stored.push(ticket),
            Err(hits) => {
                assert_eq!(hits.until, at(60), "the window's end");
                refused.push(hits.count);
            }
        }
    }
    refused.sort_unstable();
    assert_eq!(
        refused,
        (6..=12).collect::<Vec<u32>>(),
        "each refusal's own count"
    );
    assert_eq!(stored.len(), 5, "as many as the quota allows");
    for ticket in &stored {
        assert_eq!(
            store.ticket(ticket.id).await.unwrap().as_ref(),
            Some(ticket)
        );
        let history = store.list_history(ticket.id, page(1, 10)).await.unwrap();
        assert_eq!(history.count, 1, "its created event");
    }
    let all = store
        .list_tickets(TicketScope::All, &TicketQuery::default(), page(1, 1))
        .await
        .unwrap();
    assert_eq!(all.count, 5, "no refused ticket is stored");
    assert_eq!(
        store.hit(key, at(2), at(62)).await.unwrap().count,
        13,
        "refused hits count too"
    );
    // A ticket that cannot be stored (by nobody), raised with others of another key: it fails
    // alone, and its hit is not counted.
    let mixed: Vec<_> = (0..4)
        .map(|i| {
            let by = if i == 2 { UserId(999_999) } else { ada.id };
            raise(draft(20 + i, by), quota(other, 1))
        })
        .collect();
    let mut failed = 0;
    for insert in mixed {
        match insert.await.unwrap() {
            Ok(Ok(_)) => {}
            Ok(Err(hits)) => panic!("refused within the quota: {hits:?}"),
            Err(_) => failed += 1,
        }
    }
    assert_eq!(failed, 1);
    assert_eq!(
        store.hit(other, at(2), at(62)).await.unwrap().count,
        4,
        "the failed ticket's hit is not counted"
    );
    // Once the window is over, the quota allows tickets again.
    let later = store
        .insert_ticket_within(&draft(30, ada.id), &quota(key, 60))
        .await
        .unwrap();
    assert!(later.is_ok(), "{later:?}");
}

/// Comments written at once against one quota, each restarting its ticket's clock: exactly as
/// many as the quota allows are stored and restart it, every hit counts; a comment on a ticket
/// that does not exist counts its hit too.
pub async fn comments_within_a_quota_are_stored_and_the_rest_refused(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let agent = user(&store, "agent@example.com", Role::Agent).await;
    let t = ticket(&store, &ada, "Printer", Priority::High, 0, 60).await;
    let (key, other) = (ThrottleKey([10; 32]), ThrottleKey([11; 32]));
    let quota = |key| Quota {
        key,
        limit: 3,
        at: at(2),
        new_window_ends: at(62),
    };
    let restart = ClockRestart {
        at: at(2),
        due_by_rank: [Some(at(1002)), Some(at(242)), Some(at(62))],
        warn_by_rank: [None; 3],
        first_response_seconds: None,
    };
    let write = |ticket_id, i: usize, key| {
        let store = store.clone();
        let draft = CommentDraft {
            ticket_id,
            author_id: agent.id,
            body: format!("comment {i}"),
            created_at: at(2),
        };
        tokio::spawn(async move {
            let effect = CommentEffect::Restart(&restart);
            store
                .insert_comment_within(&draft, effect, &quota(key))
                .await
        })
    };
    let writes: Vec<_> = (0..8).map(|i| write(t.id, i, key)).collect();
    let (mut stored, mut refused) = (Vec::new(), Vec::new());
    for w in writes {
        match w.await.unwrap().unwrap() {
            Ok(comment) => stored.push(comment.expect("the ticket exists")),
            Err(hits) => {
                assert_eq!(hits.until, at(62), "the window's end");
                refused.push(hits.count);
            }
        }
    }
    refused.sort_unstable();
    assert_eq!(refused, vec![4, 5, 6, 7, 8], "each refusal's own count");
    assert_eq!(stored.len(), 3, "as many as the quota allows");
    let comments = store.list_comments(t.id, page(1, 20)).await.unwrap();
    assert_eq!(comments.count, 3, "no refused comment is stored");
    let history = store.list_history(t.id, page(1, 20)).await.unwrap();
    let commented = history
        .items
        .iter()
        .filter(|e| e.kind == HistoryKind::Commented);
    assert_eq!(commented.count(), 3, "no refused comment's event");
    let after = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        after.version,
        t.version + 3,
        "only the stored comments restart the clock"
    );
    assert_eq!(store.hit(key, at(3), at(63)).await.unwrap().count, 9);
    // On a ticket that does not exist: nothing is written but the hit.
    let missing = write(TicketId(999_999), 9, other).await.unwrap().unwrap();
    assert_eq!(missing, Ok(None));
    assert_eq!(store.hit(other, at(3), at(63)).await.unwrap().count, 2);
}

pub async fn comments_written_together_are_each_stored_and_answered(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let agent = user(&store, "agent@example.com", Role::Agent).await;
    let mut tickets = Vec::new();
    for (i, priority) in [Priority::Low, Priority::Medium, Priority::High]
        .into_iter()
        .enumerate()
    {
        tickets.push(ticket(&store, &ada, &format!("together {i}"), priority, 0, 60).await);
    }
    let restart = ClockRestart {
        at: at(5),
        due_by_rank: [Some(at(1005)), Some(at(245)), Some(at(65))],
        warn_by_rank: [None; 3],
        first_response_seconds: Some(300),
    };
    // A change planned on a version that is gone by the time it is written.
    let stale = change(&tickets[0], |n| n.status = Status::InProgress, vec![]);
    let stale = TicketChange {
        expected_version: tickets[0].version + 100,
        ..stale
    };
    // 150 comments at once: stores may write comments that arrive together in one
    // transaction, but each must be answered as if written alone. Every 50th is on a ticket
    // that does not exist, the 77th by an account that does not exist (refused), the 96th a
    // change of its ticket at a stale version (nothing stored); ada's say nothing to the
    // clock, the agent's restart it.
    let writes: Vec<_> = (0..150usize)
        .map(|i| {
            let (store, stale) = (store.clone(), stale.clone());
            let ticket_id = if i % 50 == 49 {
                TicketId(999_999)
            } else {
                tickets[i % 3].id
            };
            let author_id = match i {
                77 => UserId(999_999),
                _ if i % 2 == 0 => agent.id,
                _ => ada.id,
            };
            let draft = CommentDraft {
                ticket_id,
                author_id,
                body: format!("comment number {i}"),
                created_at: at(5),
            };
            tokio::spawn(async move {
                let effect = match i {
                    96 => CommentEffect::Change(&stale),
                    _ if i % 2 == 0 => CommentEffect::Restart(&restart),
                    _ => CommentEffect::None,
                };
                let stored = store.insert_comment(&draft, effect).await;
                (i, draft, stored)
            })
        })
        .collect();
    let mut stored_on = [0u64; 3];
    let mut ids = Vec::new();
    for write in writes {
        let (i, draft, stored) = write.await.unwrap();
        match i {
            77 => assert!(stored.is_err(), "a comment by nobody is refused"),
            96 => assert_eq!(stored.unwrap(), None, "a stale change stores nothing"),
            _ if i % 50 == 49 => assert_eq!(stored.unwrap(), None, "no such ticket"),
            _ => {
                let c = stored.unwrap().expect("stored");
                assert_eq!(
                    (c.ticket_id, c.author_id, &c.body, c.created_at),
                    (
                        draft.ticket_id,
                        draft.author_id,
                        &draft.body,
                        draft.created_at
                    ),
                    "each caller gets its own comment"
                );
                stored_on[i % 3] += 1;
                ids.push(c.id);
            }
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 145);
    for (t, stored) in tickets.iter().zip(stored_on) {
        let comments = store.list_comments(t.id, page(1, 100)).await.unwrap();
        assert_eq!(comments.count, stored);
        let history = store.list_history(t.id, page(1, 100)).await.unwrap();
        let mut commented: Vec<_> = history
            .items
            .iter()
            .filter(|e| e.kind == HistoryKind::Commented)
            .map(|e| (e.to.clone(), e.actor_id, e.from.clone(), e.at))
            .collect();
        let mut expected: Vec<_> = comments
            .items
            .iter()
            .map(|c| {
                (
                    Some(c.id.to_string()),
                    Some(c.author_id),
                    None,
                    c.created_at,
                )
            })
            .collect();
        expected.sort();
        commented.sort();
        assert_eq!(
            commented, expected,
            "one event for each comment stored, by its author"
        );
        let after = store.ticket(t.id).await.unwrap().unwrap();
        assert_eq!(
            (after.clock_started_at, after.status),
            (at(5), Status::Open),
            "the agent's comments restarted the clock; the stale change changed nothing"
        );
        assert_eq!(
            after.due_at,
            restart.due_by_rank[t.priority.rank() as usize]
        );
    }
}

pub async fn changes_written_together_are_each_applied_and_answered(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let agent = user(&store, "agent@example.com", Role::Agent).await;
    let mut tickets = Vec::new();
    for i in 0..10 {
        tickets.push(ticket(&store, &ada, &format!("together {i}"), Priority::Low, 0, 60).await);
    }
    let lone = ticket(&store, &ada, "alone", Priority::Low, 0, 60).await;
    // 124 changes at once: stores may write changes that arrive together in one transaction,
    // but each must be answered as if written alone. Each ticket gets a chain of twelve, the
    // k-th expecting the version the first k leave (one that arrives before its predecessor
    // finds the version not yet there and changes nothing); besides, one assigns a ticket to
    // an account that does not exist (refused) and three change a ticket that does not exist.
    let chained = |i: usize| {
        let (t, k) = (&tickets[i % 10], (i / 10) as i64);
        let mut before = t.clone();
        before.version = t.version + k;
        let c = change(
            &before,
            |n| {
                n.title = format!("ticket {} change {k}", i % 10);
                n.priority = Priority::ALL[i % 3];
                n.assigned_to = Some(agent.id);
                n.updated_at = at(5);
            },
            vec![NewEvent {
                actor_id: Some(agent.id),
                kind: HistoryKind::Assigned,
                from: None,
                to: Some(format!("change {k}")),
                at: at(5),
            }],
        );
        (Some((i % 10, k)), c)
    };
    let mut writes: Vec<(Option<(usize, i64)>, TicketChange)> = (0..120).map(chained).collect();
    let refused = change(&lone, |n| n.assigned_to = Some(UserId(999_999)), vec![]);
    writes.insert(7, (None, refused.clone()));
    for at in [30, 70, 110] {
        let mut missing = change(&tickets[0], |n| n.title = "nowhere".into(), vec![]);
        missing.ticket.id = TicketId(999_999);
        writes.insert(at, (None, missing));
    }
    let writes: Vec<_> = writes
        .into_iter()
        .map(|(chain, c)| {
            let store = store.clone();
            tokio::spawn(async move { (chain, store.update_ticket(&c).await, c) })
        })
        .collect();
    let mut applied: Vec<Vec<(i64, Ticket)>> = vec![Vec::new(); 10];
    for write in writes {
        match write.await.unwrap() {
            (Some((t, k)), answer, c) => {
                if answer.unwrap() {
                    applied[t].push((k, c.ticket));
                }
            }
            (None, answer, c) if c.ticket.id == lone.id => {
                assert!(answer.is_err(), "an assignment to nobody is refused")
            }
            (None, answer, _) => assert!(!answer.unwrap(), "no such ticket"),
        }
    }
    for (t, mut applied) in tickets.iter().zip(applied) {
        applied.sort_by_key(|(k, _)| *k);
        let ks: Vec<i64> = applied.iter().map(|(k, _)| *k).collect();
        assert!(!ks.is_empty(), "the first change of each ticket is applied");
        assert_eq!(
            ks,
            (0..ks.len() as i64).collect::<Vec<_>>(),
            "a change is applied only after the one before it"
        );
        let after = store.ticket(t.id).await.unwrap().unwrap();
        let last = &applied[applied.len() - 1].1;
        assert_eq!(&after, last, "the ticket is its last applied change's");
        assert_eq!(
            after.version,
            t.version + ks.len() as i64,
            "one version each"
        );
        let events: Vec<String> = events_of(&store, t.id, HistoryKind::Assigned)
            .await
            .into_iter()
            .map(|(to, _)| to)
            .collect();
        let expected: Vec<String> = ks.iter().map(|k| format!("change {k}")).collect();
        assert_eq!(events, expected, "each applied change's event, in order");
    }
    assert_eq!(
        store.ticket(lone.id).await.unwrap(),
        Some(lone),
        "refused: unchanged"
    );
}

pub async fn comments_are_stored_with_their_event_and_optional_clock_restart(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let agent = user(&store, "agent@example.com", Role::Agent).await;
    let t = ticket(&store, &ada, "Printer", Priority::High, 0, 60).await;
    let draft = |who: &User, body: &str, m| CommentDraft {
        ticket_id: t.id,
        author_id: who.id,
        body: body.into(),
        created_at: at(m),
    };
    let first = store
        .insert_comment(&draft(&ada, "any news?", 1), CommentEffect::None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.author_id, first.body.as_str(), first.created_at),
        (ada.id, "any news?", at(1))
    );
    let restart = ClockRestart {
        at: at(2),
        due_by_rank: [Some(at(1002)), Some(at(242)), Some(at(62))],
        warn_by_rank: [None; 3],
        first_response_seconds: None,
    };
    store
        .insert_comment(&draft(&agent, "on it", 2), CommentEffect::Restart(&restart))
        .await
        .unwrap()
        .unwrap();
    let touched = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        (
            touched.due_at,
            touched.clock_started_at,
            touched.updated_at,
            touched.version
        ),
        (Some(at(62)), at(2), at(2), t.version + 1),
        "a high ticket takes the high deadline"
    );
    // A closed ticket keeps no deadline, but the restart still counts as a change.
    let closed = change(
        &touched,
        |n| {
            n.status = Status::Closed;
            n.due_at = None;
        },
        vec![],
    );
    assert!(store.update_ticket(&closed).await.unwrap());
    let later = ClockRestart {
        at: at(3),
        ..restart
    };
    store
        .insert_comment(
            &draft(&agent, "closing note", 3),
            CommentEffect::Restart(&later),
        )
        .await
        .unwrap()
        .unwrap();
    let after = store.ticket(t.id).await.unwrap().unwrap();
    assert_eq!(
        (after.due_at, after.version),
        (None, closed.ticket.version + 1)
    );
    let gone = CommentDraft {
        ticket_id: TicketId(999_999),
        ..draft(&agent, "nowhere", 4)
    };
    assert_eq!(
        store
            .insert_comment(&gone, CommentEffect::None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .insert_comment(&gone, CommentEffect::Restart(&later))
            .await
            .unwrap(),
        None
    );
    let comments = store.list_comments(t.id, page(1, 10)).await.unwrap();
    assert_eq!(
        comments
            .items
            .iter()
            .map(|c| c.body.as_str())
            .collect::<Vec<_>>(),
        ["any news?", "on it", "closing note"]
    );
    let history = store.list_history(t.id, page(1, 10)).await.unwrap().items;
    let kinds: Vec<_> = history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            HistoryKind::Created,
            HistoryKind::Commented,
            HistoryKind::Commented,
            HistoryKind::Commented
        ]
    );
    assert_eq!(history[1].to, Some(first.id.to_string()));
    assert_eq!(
        store
            .list_comments(t.id, page(2, 1))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

pub async fn report_counts_events_in_scope_and_time(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let bob = user(&store, "bob@example.com", Role::User).await;
    let a1 = ticket(&store, &ada, "a1", Priority::High, 0, 10).await;
    ticket(&store, &ada, "a2", Priority::Low, 0, 10_000).await;
    ticket(&store, &bob, "b1", Priority::High, 0, 10).await;
    let resolve = change(
        &a1,
        |n| n.status = Status::Resolved,
        vec![NewEvent {
            actor_id: None,
            kind: HistoryKind::StatusChanged,
            from: Some("open".into()),
            to: Some("resolved".into()),
            at: at(5),
        }],
    );
    assert!(store.update_ticket(&resolve).await.unwrap());
    store.escalate_overdue(&Sweep::at(at(20))).await.unwrap(); // only b1 is still active and overdue
    let all = store.report(TicketScope::All, at(-1)).await.unwrap();
    assert_eq!((all.opened, all.resolved, all.escalated), (3, 1, 1));
    let adas = store
        .report(TicketScope::CreatedBy(ada.id), at(-1))
        .await
        .unwrap();
    assert_eq!((adas.opened, adas.resolved, adas.escalated), (2, 1, 0));
    let recent = store.report(TicketScope::All, at(10)).await.unwrap();
    assert_eq!(
        (recent.opened, recent.resolved, recent.escalated),
        (0, 0, 1)
    );
}

/// Resolves each ticket, as it now stands, at its minute.
async fn resolve(store: &S, tickets: &[(&Ticket, i64)]) {
    for &(t, minute) in tickets {
        let current = store.ticket(t.id).await.unwrap().unwrap();
        assert!(
            store
                .update_ticket(&resolved_at(&current, minute))
                .await
                .unwrap()
        );
    }
}

/// The change that resolves `ticket` at minute `minute`, with its event.
fn resolved_at(ticket: &Ticket, minute: i64) -> TicketChange {
    let event = NewEvent {
        actor_id: None,
        kind: HistoryKind::StatusChanged,
        from: Some(ticket.status.to_string()),
        to: Some("resolved".into()),
        at: at(minute),
    };
    let resolve = |n: &mut Ticket| {
        n.status = Status::Resolved;
        n.resolved_at = Some(at(minute));
    };
    change(ticket, resolve, vec![event])
}

/// The change that records `ticket`'s first response at minute `minute`, `seconds` counted.
fn first_response(ticket: &Ticket, minute: i64, seconds: i64) -> TicketChange {
    let respond = |n: &mut Ticket| {
        n.status = Status::InProgress;
        n.sla.first_response_at = Some(at(minute));
        n.sla.first_response_seconds = Some(seconds);
    };
    change(ticket, respond, vec![])
}

pub async fn sla_report_counts_per_priority_in_scope_and_window(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let bob = user(&store, "bob@example.com", Role::User).await;
    let agent = user(&store, "agent@example.com", Role::Agent).await;
    let late = ticket_with_targets(&store, &ada, "late", Priority::High, 0, 10, Some(30)).await;
    let commented = ticket(&store, &ada, "commented", Priority::High, 5, 100).await;
    let bobs = ticket(&store, &bob, "bob's", Priority::High, 6, 100).await;
    let quick = ticket(&store, &ada, "quick", Priority::High, 7, 100).await;
    ticket(&store, &ada, "unanswered", Priority::Medium, 1, 1000).await;
    let old = ticket(&store, &ada, "old", Priority::High, -2000, 100_000).await;
    // Bob's ticket breaches its update target too: two update breaches against one of
    // resolution, so that the two cannot be mistaken for each other.
    ticket_with_targets(&store, &bob, "bob's late", Priority::High, 0, 10, None).await;

    let restart = ClockRestart {
        first_response_seconds: Some(180),
        ..ClockRestart::new(&crate::sla::SlaPolicy::default(), at(8))
    };
    let note = CommentDraft {
        ticket_id: commented.id,
        author_id: agent.id,
        body: "on it".into(),
        created_at: at(8),
    };
    let effect = CommentEffect::Restart(&restart);
    store.insert_comment(&note, effect).await.unwrap().unwrap();
    assert!(
        store
            .update_ticket(&first_response(&bobs, 16, 600))
            .await
            .unwrap()
    );
    assert!(
        store
            .update_ticket(&first_response(&quick, 8, 60))
            .await
            .unwrap()
    );
    // A later response never replaces the first.
    let again = store.ticket(bobs.id).await.unwrap().unwrap();
    assert!(
        store
            .update_ticket(&first_response(&again, 17, 9999))
            .await
            .unwrap()
    );
    let again = ClockRestart {
        first_response_seconds: Some(9999),
        ..restart
    };
    let note = CommentDraft {
        created_at: at(9),
        ..note
    };
    let effect = CommentEffect::Restart(&again);
    store.insert_comment(&note, effect).await.unwrap().unwrap();
    let responded = store.ticket(commented.id).await.unwrap().unwrap();
    assert_eq!(
        (
            responded.sla.first_response_at,
            responded.sla.first_response_seconds
        ),
        (Some(at(8)), Some(180))
    );
    assert_eq!(
        store
            .ticket(bobs.id)
            .await
            .unwrap()
            .unwrap()
            .sla
            .first_response_seconds,
        Some(600)
    );

    store.escalate_overdue(&Sweep::at(at(10))).await.unwrap(); // late: update
    store.escalate_overdue(&Sweep::at(at(30))).await.unwrap(); // late: resolution
    resolve(&store, &[(&late, 40), (&commented, 20), (&old, 50)]).await;

    let all = store
        .sla_report(TicketScope::All, at(-100), at(100))
        .await
        .unwrap();
    let high = SlaStats {
        opened: 5,
        resolved: 3,
        resolved_within_target: 2,
        update_breaches: 2,
        resolution_breaches: 1,
        median_first_response_seconds: Some(180),
    };
    let medium = SlaStats {
        opened: 1,
        ..SlaStats::default()
    };
    assert_eq!(
        all,
        SlaByPriority {
            high,
            medium,
            low: SlaStats::default()
        }
    );
    let bobs_only = store
        .sla_report(TicketScope::CreatedBy(bob.id), at(-100), at(100))
        .await
        .unwrap();
    assert_eq!(
        bobs_only.high,
        SlaStats {
            opened: 2,
            update_breaches: 1,
            median_first_response_seconds: Some(600),
            ..SlaStats::default()
        }
    );
    assert_eq!(bobs_only.medium, SlaStats::default());
    // Ada's: everything but Bob's; her two answered tickets' median is their mean.
    let adas = store
        .sla_report(TicketScope::CreatedBy(ada.id), at(-100), at(100))
        .await
        .unwrap();
    assert_eq!(
        adas.high,
        SlaStats {
            opened: 3,
            update_breaches: 1,
            median_first_response_seconds: Some(120),
            ..high
        }
    );
    assert_eq!(adas.medium, medium);
    let assigned = store
        .sla_report(TicketScope::AssignedTo(agent.id), at(-100), at(100))
        .await
        .unwrap();
    assert_eq!(
        assigned,
        SlaByPriority::default(),
        "nothing is assigned to the agent"
    );
    let later = store
        .sla_report(TicketScope::All, at(35), at(100))
        .await
        .unwrap();
    assert_eq!(
        later.high,
        SlaStats {
            resolved: 2,
            resolved_within_target: 1,
            ..SlaStats::default()
        }
    );
    // An even count: the mean of the two middle responses.
    let without_quick = store
        .sla_report(TicketScope::All, at(-100), at(6))
        .await
        .unwrap();
    assert_eq!(
        (
            without_quick.high.opened,
            without_quick.high.median_first_response_seconds
        ),
        (4, Some(390))
    );

    // An agent's: the tickets they raised and the ones assigned to them, once each where
    // both, resolutions too: one raised and assigned to themselves, one only raised.
    let own = ticket(&store, &agent, "agent's own", Priority::Medium, 2, 1000).await;
    let unassigned = ticket(&store, &agent, "agent's other", Priority::Medium, 3, 1000).await;
    let bobs = store.ticket(bobs.id).await.unwrap().unwrap();
    for t in [&own, &bobs] {
        let assign = |n: &mut Ticket| n.assigned_to = Some(agent.id);
        assert!(
            store
                .update_ticket(&change(t, assign, vec![]))
                .await
                .unwrap()
        );
    }
    // Answered first, so that counting the ticket they raised and hold twice moves the
    // median of their first responses (100 and 400: 250, not 100).
    for (t, seconds) in [(&own, 100), (&unassigned, 400)] {
        let current = store.ticket(t.id).await.unwrap().unwrap();
        assert!(
            store
                .update_ticket(&first_response(&current, 50, seconds))
                .await
                .unwrap()
        );
    }
    resolve(&store, &[(&own, 60), (&unassigned, 61)]).await;
    let involving = store
        .sla_report(TicketScope::Involving(agent.id), at(-100), at(100))
        .await
        .unwrap();
    let bobs_alone = SlaStats {
        opened: 1,
        median_first_response_seconds: Some(600),
        ..SlaStats::default()
    };
    let own_alone = SlaStats {
        opened: 1,
        resolved: 1,
        resolved_within_target: 1,
        median_first_response_seconds: Some(100),
        ..SlaStats::default()
    };
    let both_own = SlaStats {
        opened: 2,
        resolved: 2,
        resolved_within_target: 2,
        median_first_response_seconds: Some(250),
        ..SlaStats::default()
    };
    assert_eq!(
        involving,
        SlaByPriority {
            high: bobs_alone,
            medium: both_own,
            low: SlaStats::default()
        }
    );
    let assigned = store
        .sla_report(TicketScope::AssignedTo(agent.id), at(-100), at(100))
        .await
        .unwrap();
    assert_eq!((assigned.high, assigned.medium), (bobs_alone, own_alone));
    let raised = store
        .sla_report(TicketScope::CreatedBy(agent.id), at(-100), at(100))
        .await
        .unwrap();
    assert_eq!(
        (raised.high, raised.medium),
        (SlaStats::default(), both_own)
    );
}

pub async fn outbox_claims_retries_and_fails(store: S) {
    let backlog = || {
        let store = store.clone();
        async move { store.notification_backlog().await.unwrap() }
    };
    assert_eq!(backlog().await, NotificationBacklog::default());
    let ada = user(&store, "ada@example.com", Role::User).await;
    ticket(&store, &ada, "t", Priority::High, 0, 1).await;
    assert_eq!(
        store
            .escalate_overdue(&Sweep::at(at(1)))
            .await
            .unwrap()
            .notifications_queued,
        1
    );
    let queued = NotificationBacklog {
        pending: 1,
        oldest_pending: Some(at(1)),
        ..NotificationBacklog::default()
    };
    assert_eq!(backlog().await, queued);
    let lease = Duration::minutes(5);
    let n = store
        .claim_notifications(at(2), lease, 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!((n.attempts, n.state), (1, NotificationState::Pending));
    assert!(
        store
            .claim_notifications(at(6), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let again = store.claim_notifications(at(7), lease, 10).await.unwrap();
    assert_eq!(again.len(), 1, "a lapsed lease makes it claimable again");
    assert_eq!(again[0].attempts, 2);
    store
        .mark_retry(n.id, at(20), "connection refused")
        .await
        .unwrap();
    assert!(
        store
            .claim_notifications(at(19), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let third = store
        .claim_notifications(at(20), lease, 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (third.attempts, third.last_error.as_deref()),
        (3, Some("connection refused"))
    );
    store
        .mark_failed(n.id, at(21), "mailbox unavailable")
        .await
        .unwrap();
    assert!(
        store
            .claim_notifications(at(1000), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let failed = store
        .list_notifications(NotificationState::Failed, page(1, 10))
        .await
        .unwrap();
    assert_eq!(failed.count, 1);
    assert_eq!(
        failed.items[0].last_error.as_deref(),
        Some("mailbox unavailable")
    );
    let gave_up = NotificationBacklog {
        failed: 1,
        ..NotificationBacklog::default()
    };
    assert_eq!(backlog().await, gave_up);
    assert!(store.retry_notification(n.id, at(30)).await.unwrap());
    assert!(
        !store.retry_notification(n.id, at(30)).await.unwrap(),
        "only failed ones"
    );
    let retried = store
        .claim_notifications(at(30), lease, 10)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(retried.attempts, 1);
    store.mark_sent(n.id, at(31)).await.unwrap();
    let sent = store
        .list_notifications(NotificationState::Sent, page(1, 10))
        .await
        .unwrap();
    assert_eq!(sent.items[0].sent_at, Some(at(31)));
    let delivered = NotificationBacklog {
        sent: 1,
        ..NotificationBacklog::default()
    };
    assert_eq!(backlog().await, delivered);
    assert!(
        store
            .claim_notifications(at(10_000), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn old_sent_and_failed_notifications_are_pruned(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    user(&store, "boss@example.com", Role::Admin).await;
    user(&store, "boss2@example.com", Role::Admin).await;
    ticket(&store, &ada, "t", Priority::High, 0, 1).await;
    store.escalate_overdue(&Sweep::at(at(1))).await.unwrap();
    let mut claimed = store
        .claim_notifications(at(2), Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    let (sent, failed, pending) = (claimed.remove(0), claimed.remove(0), claimed.remove(0));
    store.mark_sent(sent.id, at(3)).await.unwrap();
    store
        .mark_failed(failed.id, at(4), "no such mailbox")
        .await
        .unwrap();
    store
        .mark_retry(pending.id, at(5), "timeout")
        .await
        .unwrap();
    assert_eq!(
        store.prune_notifications(at(3)).await.unwrap(),
        0,
        "strictly before"
    );
    assert_eq!(
        store.prune_notifications(at(4)).await.unwrap(),
        1,
        "the sent one"
    );
    assert_eq!(
        store.prune_notifications(at(1000)).await.unwrap(),
        1,
        "the failed one"
    );
    let left = store
        .list_notifications(NotificationState::Pending, page(1, 10))
        .await
        .unwrap();
    assert_eq!(
        left.items.iter().map(|n| n.id).collect::<Vec<_>>(),
        [pending.id],
        "pending stays"
    );
}

pub async fn concurrent_claims_never_share_a_row(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    for i in 0..200 {
        ticket(&store, &ada, &format!("t{i}"), Priority::High, 0, 1).await;
    }
    assert_eq!(
        store
            .escalate_overdue(&Sweep::at(at(1)))
            .await
            .unwrap()
            .notifications_queued,
        200
    );
    let claimers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim_notifications(at(2), Duration::minutes(5), 7)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|n| n.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    assert_eq!(all.len(), 200);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 200);
}

pub async fn erasing_a_user_keeps_their_records_anonymous(store: S) {
    let ada = user(&store, "ada@example.com", Role::User).await;
    let t = ticket(&store, &ada, "mine", Priority::High, 0, 1).await;
    let draft = CommentDraft {
        ticket_id: t.id,
        author_id: ada.id,
        body: "hello".into(),
        created_at: at(0),
    };
    store
        .insert_comment(&draft, CommentEffect::None)
        .await
        .unwrap()
        .unwrap();
    store
        .insert_session(TokenHash([7; 32]), ada.id, at(0), at(100))
        .await
        .unwrap();
    store.escalate_overdue(&Sweep::at(at(1))).await.unwrap();
    assert!(store.erase_user(ada.id, at(2)).await.unwrap());
    assert!(!store.erase_user(ada.id, at(3)).await.unwrap());

    let erased = store.user(ada.id).await.unwrap().unwrap();
    assert_eq!(erased.email, format!("deleted:{}", ada.id));
    assert_eq!(
        (
            erased.first_name.as_str(),
            erased.last_name.as_str(),
            erased.is_active
        ),
        ("", "", false)
    );
    assert_eq!(erased.deleted_at, Some(at(2)));
    assert_eq!(store.user_by_email("ada@example.com").await.unwrap(), None);
    assert_eq!(store.password_hash(ada.id).await.unwrap(), None);
    assert_eq!(
        store.session_user(TokenHash([7; 32]), at(3)).await.unwrap(),
        None
    );
    assert!(
        store
            .claim_notifications(at(5), Duration::minutes(5), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.ticket(t.id).await.unwrap().unwrap().created_by,
        ada.id
    );
    assert_eq!(
        store.list_comments(t.id, page(1, 10)).await.unwrap().items[0].author_id,
        ada.id
    );
    let visible = store
        .list_users(&UserQuery::default(), page(1, 10))
        .await
        .unwrap();
    assert_eq!(visible.count, 0, "deleted accounts are not listed");
    // The address is free again.
    user(&store, "ada@example.com", Role::User).await;
}
