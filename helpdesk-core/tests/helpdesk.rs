//! Use cases through the `Helpdesk` façade on a real SQLite store, with a manual clock.
#![allow(clippy::unwrap_used)]

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use helpdesk_core::Clock as _;
use helpdesk_core::{
    Actor, AssigneeFilter, Error, Helpdesk, HistoryKind, ManualClock, NewComment, NewTicket,
    NewUser, NotificationState, PageRequest, PasswordChange, Priority, ProfilePatch, Registration,
    Role, Status, Ticket, TicketPatch, TicketQuery, User, UserPatch, UserQuery,
};
use helpdesk_sqlite::SqliteStore;

const PASSWORD: &str = "correct horse battery";

struct Env {
    helpdesk: Helpdesk,
    clock: ManualClock,
}

fn start() -> DateTime<Utc> {
    "2026-11-26T09:00:00Z".parse().unwrap()
}

async fn env() -> Env {
    let clock = ManualClock::new(start());
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let helpdesk = Helpdesk::builder(store).clock(clock.clone()).build();
    Env { helpdesk, clock }
}

impl Env {
    async fn account(&self, email: &str, role: Role) -> (User, Actor) {
        let registration = Registration::new(email, PASSWORD, "First", email).unwrap();
        let user = self
            .helpdesk
            .create_user_unchecked(NewUser { registration, role })
            .await
            .unwrap();
        let actor = user.actor();
        (user, actor)
    }

    async fn ticket(&self, actor: &Actor, title: &str, priority: Priority) -> Ticket {
        let new = NewTicket::new(title, "details", priority).unwrap();
        self.helpdesk.create_ticket(actor, new).await.unwrap()
    }

    async fn set_status(&self, actor: &Actor, t: &Ticket, status: Status) -> Result<Ticket, Error> {
        let patch = TicketPatch {
            status: Some(status),
            ..TicketPatch::default()
        };
        self.helpdesk.update_ticket(actor, t.id, patch, None).await
    }

    fn advance(&self, minutes: i64) {
        self.clock.advance(Duration::minutes(minutes));
    }
}

#[tokio::test]
async fn register_login_authenticate_logout() {
    let env = env().await;
    let hd = &env.helpdesk;
    let ada = hd
        .register(Registration::new("Ada@Example.com", PASSWORD, "Ada", "Lovelace").unwrap())
        .await
        .unwrap();
    assert_eq!(
        (ada.email.as_str(), ada.role),
        ("ada@example.com", Role::User)
    );
    assert_eq!(ada.name_email(), "Ada Lovelace - ada@example.com");
    let again = Registration::new("ADA@example.com", PASSWORD, "A", "L").unwrap();
    assert!(matches!(hd.register(again).await, Err(Error::Conflict(_))));

    let login = hd.login(" ADA@example.COM ", PASSWORD).await.unwrap();
    assert_eq!(login.user.id, ada.id);
    assert_eq!(login.expires_at, start() + Duration::days(14));
    assert_eq!(login.token.as_str().len(), 64);
    assert_eq!(
        hd.authenticate(login.token.as_str()).await.unwrap().id,
        ada.id
    );
    hd.logout(login.token.as_str()).await.unwrap();
    assert!(matches!(
        hd.authenticate(login.token.as_str()).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        hd.authenticate("garbage").await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        hd.authenticate(&"a".repeat(64)).await,
        Err(Error::Unauthenticated)
    ));
}

#[tokio::test]
async fn sessions_expire_after_their_lifetime() {
    let clock = ManualClock::new(start());
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let hd = Helpdesk::builder(store)
        .clock(clock.clone())
        .session_ttl(StdDuration::from_secs(3600))
        .build();
    hd.register(Registration::new("ada@example.com", PASSWORD, "", "").unwrap())
        .await
        .unwrap();
    let login = hd.login("ada@example.com", PASSWORD).await.unwrap();
    clock.advance(Duration::minutes(59));
    assert!(hd.authenticate(login.token.as_str()).await.is_ok());
    clock.advance(Duration::minutes(1));
    assert!(matches!(
        hd.authenticate(login.token.as_str()).await,
        Err(Error::Unauthenticated)
    ));
}

#[tokio::test]
async fn wrong_credentials_fail_alike_and_are_throttled() {
    let env = env().await;
    let hd = &env.helpdesk;
    env.account("ada@example.com", Role::User).await;
    assert!(matches!(
        hd.login("ada@example.com", "wrong password").await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        hd.login("nobody@example.com", PASSWORD).await,
        Err(Error::Unauthenticated)
    ));
    for _ in 0..4 {
        env.advance(1);
        assert!(matches!(
            hd.login("ada@example.com", "wrong password").await,
            Err(Error::Unauthenticated)
        ));
    }
    // Five guesses within 15 minutes (at 0..4 min): even the right password is refused now.
    let Err(Error::RateLimited { retry_after }) = hd.login("ADA@example.com", PASSWORD).await
    else {
        panic!("not throttled")
    };
    assert_eq!(
        retry_after,
        StdDuration::from_secs(11 * 60),
        "until the window that the first guess started ends"
    );
    // Other emails are not affected.
    assert!(matches!(
        hd.login("nobody@example.com", PASSWORD).await,
        Err(Error::Unauthenticated)
    ));
    env.advance(11);
    assert!(hd.login("ada@example.com", PASSWORD).await.is_ok());
    // Success clears the count.
    for _ in 0..4 {
        assert!(hd.login("ada@example.com", "nope nope").await.is_err());
    }
    assert!(hd.login("ada@example.com", PASSWORD).await.is_ok());
}

#[tokio::test]
async fn inactive_and_deleted_accounts_cannot_sign_in() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (bob, _) = env.account("bob@example.com", Role::Agent).await;
    let session = hd.login("bob@example.com", PASSWORD).await.unwrap();
    let off = UserPatch {
        is_active: Some(false),
        ..UserPatch::default()
    };
    hd.update_user(&admin, bob.id, off).await.unwrap();
    assert!(matches!(
        hd.authenticate(session.token.as_str()).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        hd.login("bob@example.com", PASSWORD).await,
        Err(Error::Unauthenticated)
    ));

    let (ada, ada_actor) = env.account("ada@example.com", Role::User).await;
    let t = env.ticket(&ada_actor, "mine", Priority::Low).await;
    hd.delete_account(&ada_actor).await.unwrap();
    assert!(matches!(
        hd.login("ada@example.com", PASSWORD).await,
        Err(Error::Unauthenticated)
    ));
    let kept = hd.get_ticket(&admin, t.id).await.unwrap();
    assert_eq!(kept.created_by, ada.id);
    // Gone like any deleted resource, though tickets keep pointing at the id.
    assert!(matches!(
        hd.get_user(&admin, ada.id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        hd.update_user(&admin, ada.id, UserPatch::default()).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn password_change_checks_the_old_one_and_revokes_other_sessions() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let here = hd.login("ada@example.com", PASSWORD).await.unwrap();
    let elsewhere = hd.login("ada@example.com", PASSWORD).await.unwrap();
    let wrong = PasswordChange::new("not it at all", "a brand new secret").unwrap();
    let Err(Error::Validation(errors)) = hd
        .change_password(&ada, Some(here.token.as_str()), wrong)
        .await
    else {
        panic!("accepted a wrong current password")
    };
    assert_eq!(errors.get("current_password").len(), 1);
    let change = PasswordChange::new(PASSWORD, "a brand new secret").unwrap();
    hd.change_password(&ada, Some(here.token.as_str()), change)
        .await
        .unwrap();
    assert!(hd.authenticate(here.token.as_str()).await.is_ok());
    assert!(hd.authenticate(elsewhere.token.as_str()).await.is_err());
    assert!(hd.login("ada@example.com", PASSWORD).await.is_err());
    assert!(
        hd.login("ada@example.com", "a brand new secret")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn profiles_and_user_administration() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (agent_user, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;

    let patch = ProfilePatch::new(Some("Augusta"), None, Some("Augusta@Example.com")).unwrap();
    let me = hd.update_profile(&ada, patch).await.unwrap();
    assert_eq!(
        (me.first_name.as_str(), me.email.as_str()),
        ("Augusta", "augusta@example.com")
    );
    let taken = ProfilePatch::new(None, None, Some("boss@example.com")).unwrap();
    assert!(matches!(
        hd.update_profile(&ada, taken).await,
        Err(Error::Conflict(_))
    ));

    let page = PageRequest::default();
    assert!(matches!(
        hd.list_users(&ada, &UserQuery::default(), page).await,
        Err(Error::Forbidden(_))
    ));
    let found = hd
        .list_users(
            &agent,
            &UserQuery {
                search: Some("augusta".into()),
                role: None,
            },
            page,
        )
        .await
        .unwrap();
    assert_eq!(found.count, 1);
    assert!(matches!(
        hd.get_user(&ada, agent_user.id).await,
        Err(Error::Forbidden(_))
    ));
    assert_eq!(
        hd.get_user(&agent, agent_user.id).await.unwrap().id,
        agent_user.id
    );

    let new = NewUser {
        registration: Registration::new("new@example.com", PASSWORD, "N", "U").unwrap(),
        role: Role::Agent,
    };
    assert!(matches!(
        hd.create_user(&agent, new.clone()).await,
        Err(Error::Forbidden(_))
    ));
    assert_eq!(hd.create_user(&admin, new).await.unwrap().role, Role::Agent);
    let promote = UserPatch {
        role: Some(Role::Admin),
        ..UserPatch::default()
    };
    assert!(matches!(
        hd.update_user(&agent, agent_user.id, promote.clone()).await,
        Err(Error::Forbidden(_))
    ));
    assert_eq!(
        hd.update_user(&admin, agent_user.id, promote)
            .await
            .unwrap()
            .role,
        Role::Admin
    );
    let demote_self = UserPatch {
        role: Some(Role::User),
        ..UserPatch::default()
    };
    assert!(matches!(
        hd.update_user(&admin, admin.id, demote_self).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        hd.delete_user(&agent, ada.id).await,
        Err(Error::Forbidden(_))
    ));
    hd.delete_user(&admin, ada.id).await.unwrap();
    assert!(matches!(
        hd.delete_user(&admin, ada.id).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn who_sees_which_ticket() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (_, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, other_agent) = env.account("other@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let (_, bob) = env.account("bob@example.com", Role::User).await;
    let t = env.ticket(&ada, "Ada's printer", Priority::High).await;
    env.ticket(&bob, "Bob's laptop", Priority::Low).await;

    for (actor, sees) in [
        (&ada, true),
        (&bob, false),
        (&agent, false),
        (&other_agent, false),
        (&admin, true),
    ] {
        assert_eq!(hd.get_ticket(actor, t.id).await.is_ok(), sees, "{actor:?}");
        if !sees {
            assert!(matches!(
                hd.get_ticket(actor, t.id).await,
                Err(Error::NotFound)
            ));
            assert!(matches!(
                hd.list_comments(actor, t.id, PageRequest::default()).await,
                Err(Error::NotFound)
            ));
            assert!(matches!(
                hd.history(actor, t.id, PageRequest::default()).await,
                Err(Error::NotFound)
            ));
            let comment = NewComment::new("hello").unwrap();
            assert!(matches!(
                hd.add_comment(actor, t.id, comment).await,
                Err(Error::NotFound)
            ));
            assert!(matches!(
                hd.delete_ticket(actor, t.id).await,
                Err(Error::NotFound)
            ));
        }
    }
    let count = |actor| async move {
        hd.list_tickets(actor, &TicketQuery::default(), PageRequest::default())
            .await
            .unwrap()
            .count
    };
    assert_eq!(
        (
            count(&ada).await,
            count(&bob).await,
            count(&agent).await,
            count(&admin).await
        ),
        (1, 1, 0, 2)
    );

    hd.assign_ticket(&admin, t.id, Some(agent.id), None)
        .await
        .unwrap();
    assert_eq!(count(&agent).await, 1);
    assert!(hd.get_ticket(&agent, t.id).await.is_ok());
    assert!(matches!(
        hd.get_ticket(&other_agent, t.id).await,
        Err(Error::NotFound)
    ));
    // Only admins assign and delete; a user who can see the ticket is told "forbidden".
    assert!(matches!(
        hd.assign_ticket(&ada, t.id, None, None).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        hd.assign_ticket(&agent, t.id, None, None).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        hd.delete_ticket(&agent, t.id).await,
        Err(Error::Forbidden(_))
    ));
    let unassigned = TicketQuery {
        assigned_to: Some(AssigneeFilter::Nobody),
        ..TicketQuery::default()
    };
    assert_eq!(
        hd.list_tickets(&admin, &unassigned, PageRequest::default())
            .await
            .unwrap()
            .count,
        1
    );
    hd.delete_ticket(&admin, t.id).await.unwrap();
    assert!(matches!(
        hd.get_ticket(&admin, t.id).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn assignment_needs_an_active_agent_or_admin() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let (agent_user, agent) = env.account("agent@example.com", Role::Agent).await;
    let t = env.ticket(&ada, "printer", Priority::High).await;
    for bad in [ada.id, helpdesk_core::UserId(4242)] {
        let Err(Error::Validation(errors)) = hd.assign_ticket(&admin, t.id, Some(bad), None).await
        else {
            panic!("assigned to {bad}")
        };
        assert_eq!(errors.get("agent_id").len(), 1);
    }
    hd.update_user(
        &admin,
        agent_user.id,
        UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        hd.assign_ticket(&admin, t.id, Some(agent.id), None).await,
        Err(Error::Validation(_))
    ));
    let to_admin = hd
        .assign_ticket(&admin, t.id, Some(admin.id), None)
        .await
        .unwrap();
    assert_eq!(
        (to_admin.assigned_to, to_admin.version),
        (Some(admin.id), 2)
    );
    let same = hd
        .assign_ticket(&admin, t.id, Some(admin.id), None)
        .await
        .unwrap();
    assert_eq!(
        same.version, 2,
        "re-assigning to the same person changes nothing"
    );
    let none = hd.assign_ticket(&admin, t.id, None, None).await.unwrap();
    assert_eq!(none.assigned_to, None);
    let history = hd
        .history(&admin, t.id, PageRequest::default())
        .await
        .unwrap()
        .items;
    let assigned: Vec<_> = history
        .iter()
        .filter(|e| e.kind == HistoryKind::Assigned)
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    assert_eq!(
        assigned,
        [
            (None, Some(admin.id.to_string())),
            (Some(admin.id.to_string()), None)
        ]
    );
}

#[tokio::test]
async fn the_ticket_life_cycle_follows_the_rules() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (_, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let t = env.ticket(&ada, "printer", Priority::Medium).await;
    assert_eq!((t.status, t.version), (Status::Open, 1));

    // The creator edits while open; agents never edit content.
    let edit = TicketPatch::new(Some("printer on fire"), None, Some(Priority::High), None).unwrap();
    let t = hd.update_ticket(&ada, t.id, edit, Some(1)).await.unwrap();
    assert_eq!(
        (t.title.as_str(), t.priority, t.version),
        ("printer on fire", Priority::High, 2)
    );
    assert_eq!(
        t.due_at,
        Some(t.created_at + Duration::hours(1)),
        "priority moves due_at"
    );
    let stale = TicketPatch::new(Some("again"), None, None, None).unwrap();
    assert!(matches!(
        hd.update_ticket(&ada, t.id, stale.clone(), Some(1)).await,
        Err(Error::PreconditionFailed { current: 2 })
    ));
    hd.assign_ticket(&admin, t.id, Some(agent.id), None)
        .await
        .unwrap();
    assert!(matches!(
        hd.update_ticket(&agent, t.id, stale, None).await,
        Err(Error::Forbidden(_))
    ));

    assert!(matches!(
        env.set_status(&ada, &t, Status::InProgress).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        env.set_status(&agent, &t, Status::Escalated).await,
        Err(Error::Conflict(_))
    ));
    let t = env
        .set_status(&agent, &t, Status::InProgress)
        .await
        .unwrap();
    let edit = TicketPatch::new(Some("creator edits too late"), None, None, None).unwrap();
    assert!(matches!(
        hd.update_ticket(&ada, t.id, edit, None).await,
        Err(Error::Forbidden(_))
    ));
    env.advance(10);
    let t = env.set_status(&agent, &t, Status::Resolved).await.unwrap();
    assert_eq!(
        (t.resolved_at, t.due_at),
        (Some(start() + Duration::minutes(10)), None)
    );
    let t = env.set_status(&ada, &t, Status::Open).await.unwrap(); // not fixed after all
    assert_eq!(t.resolved_at, None);
    assert_eq!(
        t.due_at,
        Some(start() + Duration::minutes(70)),
        "reopening restarts the clock"
    );
    let t = env.set_status(&ada, &t, Status::Closed).await.unwrap(); // withdrawn
    assert!(matches!(
        env.set_status(&agent, &t, Status::Open).await,
        Err(Error::Forbidden(_))
    ));
    let t = env.set_status(&admin, &t, Status::Open).await.unwrap();
    assert_eq!(t.status, Status::Open);

    let kinds: Vec<_> = hd
        .history(&ada, t.id, PageRequest::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|e| e.kind)
        .collect();
    use HistoryKind::*;
    assert_eq!(
        kinds,
        [
            Created,
            Edited,
            Assigned,
            StatusChanged,
            StatusChanged,
            StatusChanged,
            StatusChanged,
            StatusChanged
        ]
    );
}

#[tokio::test]
async fn comments_and_who_may_write_them() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (_, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let t = env.ticket(&ada, "printer", Priority::High).await;
    hd.assign_ticket(&admin, t.id, Some(agent.id), None)
        .await
        .unwrap();
    for (who, body) in [
        (&ada, "any news?"),
        (&agent, "on it"),
        (&admin, "escalating internally"),
    ] {
        hd.add_comment(who, t.id, NewComment::new(body).unwrap())
            .await
            .unwrap();
    }
    let page = hd
        .list_comments(&ada, t.id, PageRequest::new(1, 2).unwrap())
        .await
        .unwrap();
    assert_eq!(page.count, 3);
    assert_eq!(
        page.items
            .iter()
            .map(|c| c.body.as_str())
            .collect::<Vec<_>>(),
        ["any news?", "on it"]
    );
    assert!(page.has_next());
}

#[tokio::test]
async fn escalation_at_59_and_61_minutes_once_and_after_staff_activity() {
    let env = env().await;
    let hd = &env.helpdesk;
    let engine = hd.escalation_engine();
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (_, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let t = env.ticket(&ada, "printer on fire", Priority::High).await;

    let report = engine
        .run_once(start() + Duration::minutes(59))
        .await
        .unwrap();
    assert!(report.escalated.is_empty());
    let report = engine
        .run_once(start() + Duration::minutes(61))
        .await
        .unwrap();
    assert_eq!(report.escalated, vec![t.id]);
    assert_eq!(report.notifications_queued, 2, "the admin and the creator");
    let escalated = hd.get_ticket(&admin, t.id).await.unwrap();
    assert_eq!(
        (escalated.status, escalated.escalated_at),
        (Status::Escalated, Some(start() + Duration::minutes(61)))
    );
    assert!(
        engine
            .run_once(start() + Duration::minutes(62))
            .await
            .unwrap()
            .escalated
            .is_empty(),
        "not twice"
    );
    assert!(
        engine
            .run_once(start() + Duration::days(30))
            .await
            .unwrap()
            .escalated
            .is_empty()
    );

    // The assigned agent takes it up at 90 min: the clock restarts.
    env.advance(90);
    hd.assign_ticket(&admin, t.id, Some(agent.id), None)
        .await
        .unwrap();
    let picked = env
        .set_status(&agent, &escalated, Status::InProgress)
        .await
        .unwrap();
    assert_eq!(picked.due_at, Some(start() + Duration::minutes(150)));
    // The agent comments at 140 min: restarted again. The creator's comment at 190 does not.
    env.advance(50);
    hd.add_comment(&agent, t.id, NewComment::new("ordering a part").unwrap())
        .await
        .unwrap();
    env.advance(50);
    hd.add_comment(&ada, t.id, NewComment::new("still burning").unwrap())
        .await
        .unwrap();
    assert_eq!(
        hd.get_ticket(&ada, t.id).await.unwrap().due_at,
        Some(start() + Duration::minutes(200))
    );
    assert!(
        engine
            .run_once(start() + Duration::minutes(199))
            .await
            .unwrap()
            .escalated
            .is_empty()
    );
    assert_eq!(
        engine
            .run_once(start() + Duration::minutes(200))
            .await
            .unwrap()
            .escalated,
        vec![t.id]
    );
}

#[tokio::test]
async fn escalation_through_the_facade_is_for_admins_and_counts_in_the_report() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (_, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let (_, bob) = env.account("bob@example.com", Role::User).await;
    let t = env.ticket(&ada, "a", Priority::High).await;
    env.ticket(&ada, "b", Priority::Low).await;
    env.ticket(&bob, "c", Priority::Medium).await;
    hd.assign_ticket(&admin, t.id, Some(agent.id), None)
        .await
        .unwrap();
    env.set_status(&agent, &t, Status::Resolved).await.unwrap();
    env.advance(300);
    assert!(matches!(
        hd.run_escalation(&agent).await,
        Err(Error::Forbidden(_))
    ));
    let report = hd.run_escalation(&admin).await.unwrap();
    assert_eq!(
        report.escalated.len(),
        1,
        "only bob's medium ticket is overdue after 5 h"
    );

    let r = hd.report_last_7_days(&admin).await.unwrap();
    assert_eq!((r.opened, r.resolved, r.escalated), (3, 1, 1));
    let r = hd.report_last_7_days(&ada).await.unwrap();
    assert_eq!((r.opened, r.resolved, r.escalated), (2, 1, 0));
    let r = hd.report_last_7_days(&bob).await.unwrap();
    assert_eq!((r.opened, r.resolved, r.escalated), (1, 0, 1));
    env.advance(8 * 24 * 60);
    let r = hd.report_last_7_days(&admin).await.unwrap();
    assert_eq!((r.opened, r.resolved, r.escalated), (0, 0, 0));
}

#[tokio::test]
async fn the_engine_runs_in_the_background_until_shut_down() {
    let env = env().await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let t = env.ticket(&ada, "printer", Priority::High).await;
    env.advance(61);
    let handle = env
        .helpdesk
        .escalation_engine()
        .spawn(StdDuration::from_millis(20));
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
    while env.helpdesk.get_ticket(&ada, t.id).await.unwrap().status != Status::Escalated {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not escalated in the background"
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert!(!handle.is_finished());
    handle.shutdown().await;
}

#[tokio::test]
async fn bootstrapping_an_admin_creates_or_promotes() {
    use helpdesk_core::AdminBootstrap;
    let env = env().await;
    let hd = &env.helpdesk;
    let new = Registration::new("root@example.com", PASSWORD, "Root", "").unwrap();
    let AdminBootstrap::Created(root) = hd.bootstrap_admin(new.clone()).await.unwrap() else {
        panic!("not created")
    };
    assert_eq!(root.role, Role::Admin);
    assert!(matches!(
        hd.bootstrap_admin(new).await.unwrap(),
        AdminBootstrap::AlreadyAdmin(_)
    ));
    let (ada, _) = env.account("ada@example.com", Role::User).await;
    let again = Registration::new("ADA@example.com", "another password", "", "").unwrap();
    let AdminBootstrap::Promoted(promoted) = hd.bootstrap_admin(again).await.unwrap() else {
        panic!("not promoted")
    };
    assert_eq!((promoted.id, promoted.role), (ada.id, Role::Admin));
    assert!(
        hd.login("ada@example.com", PASSWORD).await.is_ok(),
        "the password stays"
    );
}

#[tokio::test]
async fn provisioned_users_exist_once_and_cannot_sign_in_with_a_password() {
    let env = env().await;
    let hd = &env.helpdesk;
    let user = hd
        .provision_user("Host.User@example.com", "Host", "User")
        .await
        .unwrap();
    assert_eq!(
        (user.email.as_str(), user.role),
        ("host.user@example.com", Role::User)
    );
    assert_eq!(
        hd.provision_user("host.user@example.com", "", "")
            .await
            .unwrap()
            .id,
        user.id
    );
    for password in ["!", "", "managed-by-the-host"] {
        assert!(matches!(
            hd.login("host.user@example.com", password).await,
            Err(Error::Unauthenticated)
        ));
    }
    assert!(matches!(
        hd.provision_user("nope", "", "").await,
        Err(Error::Validation(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_staff_actions_on_one_ticket_all_succeed() {
    let dir = std::env::temp_dir().join(format!("helpdesk-concurrent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::connect(&format!("sqlite://{}", dir.join("h.db").display()))
        .await
        .unwrap();
    let hd = Helpdesk::new(store);
    let account = |email: &'static str, role| {
        let hd = hd.clone();
        async move {
            let registration = Registration::new(email, PASSWORD, "", "").unwrap();
            hd.create_user_unchecked(NewUser { registration, role })
                .await
                .unwrap()
                .actor()
        }
    };
    let admin = account("boss@example.com", Role::Admin).await;
    let ada = account("ada@example.com", Role::User).await;
    let t = hd
        .create_ticket(&ada, NewTicket::new("busy", "", Priority::High).unwrap())
        .await
        .unwrap();
    // Staff comments restart the clock in one statement: they never conflict, however many.
    let comments: Vec<_> = (0..100)
        .map(|i| {
            let hd = hd.clone();
            tokio::spawn(async move {
                hd.add_comment(&admin, t.id, NewComment::new(&format!("note {i}")).unwrap())
                    .await
            })
        })
        .collect();
    for task in comments {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        hd.list_comments(&admin, t.id, PageRequest::default())
            .await
            .unwrap()
            .count,
        100
    );
    // Edits are recomputed when they lose a race: each of 10 writers can lose at most 9 times,
    // fewer than the façade's retries, so every one lands.
    let edits: Vec<_> = (0..10)
        .map(|i| {
            let hd = hd.clone();
            tokio::spawn(async move {
                let title = format!("busy {i}");
                let patch = TicketPatch::new(Some(&title), None, None, None).unwrap();
                hd.update_ticket(&admin, t.id, patch, None).await
            })
        })
        .collect();
    for task in edits {
        task.await.unwrap().unwrap();
    }
    let history = hd
        .history(&admin, t.id, PageRequest::new(1, 100).unwrap())
        .await
        .unwrap();
    let edited = history.count - 1 - 100; // minus created, minus the comments
    assert_eq!(edited, 10, "every edit recorded once");
    assert_eq!(
        hd.get_ticket(&admin, t.id).await.unwrap().version,
        1 + 100 + 10
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Business hours through the whole engine: a High ticket raised on Friday at 16:30 in Berlin
/// with one business hour escalates on Monday at 09:30, not on Friday at 17:30; when Monday is
/// a holiday, on Tuesday; across the end of summer time, at 09:30 of the new offset.
#[tokio::test]
async fn a_business_hours_policy_escalates_after_the_weekend_the_holiday_and_the_dst_change() {
    use helpdesk_core::sla::{SlaPolicy, SlaPolicySpec};
    for (friday, holidays, due) in [
        ("2026-11-27T15:30:00Z", "[]", "2026-11-30T08:30:00Z"),
        (
            "2026-11-27T15:30:00Z",
            r#"["2026-11-30"]"#,
            "2026-12-01T08:30:00Z",
        ),
        // Summer time ends on Sunday 25 October: Friday 16:30 is UTC+2, Monday 09:30 UTC+1.
        ("2026-10-23T14:30:00Z", "[]", "2026-10-26T08:30:00Z"),
    ] {
        let spec: SlaPolicySpec = serde_json::from_str(&format!(
            r#"{{"business_hours": {{"time_zone": "Europe/Berlin", "holidays": {holidays},
                   "week": {{"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]],
                            "wed": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]],
                            "fri": [["09:00", "17:00"]]}}}},
                "targets": {{"high": {{"update_seconds": 3600, "hours": "business"}},
                             "medium": {{"update_seconds": 14400, "hours": "business"}},
                             "low": {{"update_seconds": 86400, "hours": "business"}}}}}}"#
        ))
        .unwrap();
        let friday: DateTime<Utc> = friday.parse().unwrap();
        let clock = ManualClock::new(friday);
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let hd = Helpdesk::builder(store)
            .clock(clock.clone())
            .sla_policy(&SlaPolicy::try_from(&spec).unwrap())
            .build();
        let user = hd
            .create_user_unchecked(NewUser {
                registration: Registration::new("ada@example.com", PASSWORD, "", "").unwrap(),
                role: Role::User,
            })
            .await
            .unwrap();
        let new = NewTicket::new("printer on fire", "", Priority::High).unwrap();
        let ticket = hd.create_ticket(&user.actor(), new).await.unwrap();
        let due: DateTime<Utc> = due.parse().unwrap();
        assert_eq!(ticket.due_at, Some(due));
        assert_eq!(ticket.sla.update_due_at, Some(due));
        let engine = hd.escalation_engine();
        let evening = friday + Duration::hours(1);
        assert!(engine.run_once(evening).await.unwrap().escalated.is_empty());
        let before = due - Duration::seconds(1);
        assert!(engine.run_once(before).await.unwrap().escalated.is_empty());
        assert_eq!(
            engine.run_once(due).await.unwrap().escalated,
            vec![ticket.id]
        );
        assert!(engine.run_once(due).await.unwrap().escalated.is_empty());
    }
}

fn sla_spec(json: serde_json::Value) -> helpdesk_core::sla::SlaPolicySpec {
    serde_json::from_value(json).unwrap()
}

/// High: act within 1 h, resolve within 2 h, round the clock.
fn high_resolves_in_two_hours() -> helpdesk_core::sla::SlaPolicySpec {
    sla_spec(serde_json::json!({"targets": {
        "high": {"update_seconds": 3600, "resolve_seconds": 7200},
        "medium": {"update_seconds": 14400},
        "low": {"update_seconds": 86400}}}))
}

/// Waiting on the customer stops both clocks; the creator's answer starts them again, the
/// update clock afresh and the resolution clock where it stood; both targets then breach, each
/// once, the resolution one on a ticket already escalated.
#[tokio::test]
async fn waiting_pauses_the_clocks_and_the_creators_answer_resumes_them() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (agent_user, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    hd.replace_sla_policy(&admin, high_resolves_in_two_hours(), None)
        .await
        .unwrap();
    let t = env.ticket(&ada, "printer on fire", Priority::High).await;
    let at = |minutes: i64| start() + Duration::minutes(minutes);
    assert_eq!(
        (t.sla.update_due_at, t.sla.resolve_due_at, t.due_at),
        (Some(at(60)), Some(at(120)), Some(at(60)))
    );
    env.advance(10);
    hd.assign_ticket(&admin, t.id, Some(agent_user.id), None)
        .await
        .unwrap();
    env.advance(20); // minute 30
    // The creator may not put the ticket on hold; the assignee may.
    assert!(matches!(
        env.set_status(&ada, &t, Status::Waiting).await,
        Err(Error::Forbidden(_))
    ));
    let waiting = env.set_status(&agent, &t, Status::Waiting).await.unwrap();
    assert_eq!(
        (
            waiting.due_at,
            waiting.sla.update_due_at,
            waiting.sla.resolve_due_at
        ),
        (None, None, None)
    );
    assert_eq!(waiting.sla.waiting_since, Some(at(30)));
    let engine = hd.escalation_engine();
    assert!(engine.run_once(at(600)).await.unwrap().escalated.is_empty());

    env.advance(270); // minute 300: 4.5 h of waiting
    hd.add_comment(&ada, t.id, NewComment::new("here is the log").unwrap())
        .await
        .unwrap();
    let back = hd.get_ticket(&ada, t.id).await.unwrap();
    assert_eq!(back.status, Status::Open);
    assert_eq!(
        (back.sla.waiting_since, back.sla.paused_seconds),
        (None, 270 * 60)
    );
    // Update: 1 h from the answer. Resolution: 30 min counted before the wait, 90 left.
    assert_eq!(
        (back.sla.update_due_at, back.sla.resolve_due_at, back.due_at),
        (Some(at(360)), Some(at(390)), Some(at(360)))
    );
    let history = hd
        .history(&ada, t.id, PageRequest::new(1, 20).unwrap())
        .await
        .unwrap()
        .items;
    let reopened = history
        .iter()
        .find(|e| e.kind == HistoryKind::StatusChanged && e.to.as_deref() == Some("open"))
        .unwrap();
    assert_eq!(
        (reopened.actor_id, reopened.from.as_deref()),
        (Some(ada.id), Some("waiting"))
    );

    let update = engine.run_once(at(360)).await.unwrap();
    assert_eq!(update.escalated, vec![t.id]);
    let escalated = hd.get_ticket(&ada, t.id).await.unwrap();
    assert_eq!(
        (escalated.status, escalated.due_at),
        (Status::Escalated, Some(at(390)))
    );
    assert!(engine.run_once(at(389)).await.unwrap().escalated.is_empty());
    let resolution = engine.run_once(at(390)).await.unwrap();
    assert_eq!(resolution.escalated, vec![t.id]);
    assert!(
        engine
            .run_once(at(1000))
            .await
            .unwrap()
            .escalated
            .is_empty()
    );
    let after = hd.get_ticket(&ada, t.id).await.unwrap();
    assert_eq!(after.status, Status::Escalated);
    let targets: Vec<_> = [after.sla.update_breach, after.sla.resolve_breach]
        .iter()
        .map(|b| b.map(|b| b.due_at))
        .collect();
    assert_eq!(targets, [Some(at(360)), Some(at(390))]);
}

/// A replaced policy reaches every ticket in play at once, on this instance and (at its next
/// sweep) on another one over the same store; stale versions and bad fields change nothing.
#[tokio::test]
async fn a_new_policy_recomputes_tickets_in_play_on_every_instance() {
    let clock = ManualClock::new(start());
    let store: std::sync::Arc<dyn helpdesk_core::Store> =
        std::sync::Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let helpdesk = Helpdesk::builder_shared(store.clone())
        .clock(clock.clone())
        .build();
    let env = Env { helpdesk, clock };
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (_, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let open = env.ticket(&ada, "open", Priority::High).await;
    let done = env.ticket(&ada, "done", Priority::High).await;
    env.set_status(&admin, &done, Status::Resolved)
        .await
        .unwrap();
    let seeded = hd.sla_policy(&agent).await.unwrap();
    assert_eq!(seeded.version, 1);
    assert!(matches!(
        hd.sla_policy(&ada).await,
        Err(Error::Forbidden(_))
    ));
    assert_eq!(open.sla.resolve_due_at, None);

    // A second instance over the same store, with its own cache of the policy.
    let other = Helpdesk::builder_shared(store)
        .clock(env.clock.clone())
        .build();
    assert_eq!(other.sla_policy(&agent).await.unwrap().version, 1);

    let mut bad = high_resolves_in_two_hours();
    bad.targets.low.update_seconds = 0;
    bad.warn_at_percent = Some(100);
    let Err(Error::Validation(errors)) = hd.replace_sla_policy(&admin, bad, None).await else {
        panic!("a bad policy was accepted");
    };
    assert_eq!(errors.get("targets.low.update_seconds").len(), 1);
    assert_eq!(errors.get("warn_at_percent").len(), 1);
    assert!(matches!(
        hd.replace_sla_policy(&agent, high_resolves_in_two_hours(), None)
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        hd.replace_sla_policy(&admin, high_resolves_in_two_hours(), Some(7))
            .await,
        Err(Error::PreconditionFailed { current: 1 })
    ));
    assert_eq!(
        hd.sla_policy(&agent).await.unwrap().version,
        1,
        "nothing stored"
    );

    env.advance(3 * 60);
    let v2 = hd
        .replace_sla_policy(&admin, high_resolves_in_two_hours(), Some(1))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let now_open = hd.get_ticket(&ada, open.id).await.unwrap();
    assert_eq!(
        now_open.sla.resolve_due_at,
        Some(start() + Duration::hours(2)),
        "counted from creation"
    );
    assert_eq!(now_open.version, open.version, "not a change of the ticket");
    let still_done = hd.get_ticket(&ada, done.id).await.unwrap();
    assert_eq!(
        still_done.sla.resolve_due_at, None,
        "resolved tickets are paused"
    );

    // Already past both deadlines: one sweep escalates it, once.
    let report = other
        .escalation_engine()
        .run_once(env.clock.now())
        .await
        .unwrap();
    assert_eq!(report.escalated, vec![open.id]);
    assert_eq!(other.sla_policy(&agent).await.unwrap().version, 2);
    // The other instance computes new tickets with the new policy.
    let fresh = other
        .create_ticket(&ada, NewTicket::new("new", "", Priority::High).unwrap())
        .await
        .unwrap();
    assert_eq!(
        fresh.sla.resolve_due_at,
        Some(env.clock.now() + Duration::hours(2))
    );
}

/// High: update within 1 h, warned at 80 % (48 min), reminded every 10 min while escalated, at
/// most three times; deadlines written for people in Berlin.
fn warn_and_remind() -> helpdesk_core::sla::SlaPolicySpec {
    sla_spec(serde_json::json!({
        "business_hours": {"time_zone": "Europe/Berlin", "week": {"mon": [["09:00", "17:00"]]}},
        "targets": {
            "high": {"update_seconds": 3600},
            "medium": {"update_seconds": 14400},
            "low": {"update_seconds": 86400}},
        "warn_at_percent": 80,
        "remind_every_seconds": 600,
        "max_reminders": 3}))
}

/// One ticket goes through its warning, its breach, three reminders and silence; a second one
/// is warned, then a staff comment moves its deadline: it is warned again of the new deadline,
/// never of the old one, and does not escalate at the old one.
#[tokio::test]
async fn a_ticket_is_warned_escalated_reminded_three_times_then_silent() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (agent_user, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    hd.replace_sla_policy(&admin, warn_and_remind(), None)
        .await
        .unwrap();
    let at = |minutes: i64| start() + Duration::minutes(minutes);
    let first = env.ticket(&ada, "printer on fire", Priority::High).await;
    let second = env.ticket(&ada, "vpn down", Priority::High).await;
    assert_eq!(first.sla.update_warn_at, Some(at(48)));
    for t in [&first, &second] {
        hd.assign_ticket(&admin, t.id, Some(agent_user.id), None)
            .await
            .unwrap();
    }
    let engine = hd.escalation_engine();
    let run = |minute: i64| {
        let engine = engine.clone();
        async move { engine.run_once(at(minute)).await.unwrap() }
    };
    assert!(run(47).await.warned.is_empty());
    let warned = run(48).await;
    assert_eq!(warned.warned, vec![first.id, second.id]);
    assert_eq!(warned.notifications_queued, 2, "one to the assignee each");
    assert!(run(49).await.warned.is_empty(), "once");

    env.clock.set(at(50));
    hd.add_comment(&agent, second.id, NewComment::new("on it").unwrap())
        .await
        .unwrap();
    let moved = hd.get_ticket(&agent, second.id).await.unwrap();
    assert_eq!(
        (moved.sla.update_due_at, moved.sla.update_warn_at),
        (Some(at(110)), Some(at(98)))
    );

    let breach = run(60).await;
    assert_eq!(
        (breach.escalated, breach.warned, breach.reminded),
        (vec![first.id], vec![], vec![])
    );
    for (minute, expected) in [(69, vec![]), (70, vec![first.id]), (75, vec![])] {
        assert_eq!(run(minute).await.reminded, expected, "minute {minute}");
    }
    assert_eq!(run(80).await.reminded, vec![first.id]);
    let third = run(90).await;
    assert_eq!(third.reminded, vec![first.id]);
    assert_eq!(third.notifications_queued, 1, "reminders go to the admins");
    assert_eq!(run(98).await.warned, vec![second.id], "the new deadline");
    for minute in [100, 109] {
        assert_eq!(run(minute).await, Default::default(), "silent after three");
    }
    assert_eq!(run(110).await.escalated, vec![second.id]);
    for minute in [200, 2000] {
        assert_eq!(
            run(minute).await.reminded,
            vec![second.id],
            "silent after three"
        );
    }
    let history = |id| async move {
        hd.history(&admin, id, PageRequest::new(1, 50).unwrap())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.actor_id.is_none())
            .map(|e| (e.kind, e.to.unwrap_or_default(), e.at))
            .collect::<Vec<_>>()
    };
    let (w, e, r) = (
        HistoryKind::SlaWarning,
        HistoryKind::Escalated,
        HistoryKind::EscalationReminder,
    );
    assert_eq!(
        history(first.id).await,
        vec![
            (w, "update".into(), at(48)),
            (e, "update".into(), at(60)),
            (r, "1".into(), at(70)),
            (r, "2".into(), at(80)),
            (r, "3".into(), at(90)),
        ]
    );
    assert_eq!(
        history(second.id).await,
        vec![
            (w, "update".into(), at(48)),
            (w, "update".into(), at(98)),
            (e, "update".into(), at(110)),
            (r, "1".into(), at(200)),
            (r, "2".into(), at(2000)),
        ],
        "warned of each deadline once, escalated at the new one only"
    );

    let mut emails: Vec<_> = hd
        .notifications(
            &admin,
            NotificationState::Pending,
            PageRequest::new(1, 50).unwrap(),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| n.email())
        .collect();
    emails.reverse(); // oldest first
    emails.retain(|m| m.subject.contains("printer"));
    let mut subjects: Vec<_> = emails
        .iter()
        .map(|m| {
            (
                m.to.as_str(),
                m.subject.split(':').next().unwrap_or_default(),
            )
        })
        .collect();
    subjects.sort_unstable();
    assert_eq!(
        subjects,
        [
            ("ada@example.com", "[Helpdesk] Escalated"),
            ("agent@example.com", "[Helpdesk] Warning"),
            ("boss@example.com", "[Helpdesk] Escalated"),
            ("boss@example.com", "[Helpdesk] Reminder"),
            ("boss@example.com", "[Helpdesk] Reminder"),
            ("boss@example.com", "[Helpdesk] Reminder"),
        ]
    );
    let warning = &emails[0];
    assert!(
        warning.body.contains("Deadline:    2026-11-26 11:00 CET"),
        "{}",
        warning.body
    );
    assert!(warning.body.contains("12 min left"), "{}", warning.body);
    assert!(
        warning.body.contains("Assigned to: First"),
        "{}",
        warning.body
    );
    let reminder = emails.last().unwrap();
    assert!(reminder.body.contains("30 min late"), "{}", reminder.body);
    assert!(
        reminder.body.contains("Reminder:    3"),
        "{}",
        reminder.body
    );
}

/// Every alert goes to one on-call account.
#[derive(Debug)]
struct OnCall(helpdesk_core::UserId);

#[async_trait::async_trait]
impl helpdesk_core::Recipients for OnCall {
    async fn recipients(
        &self,
        _alert: helpdesk_core::Alert,
        tickets: &[Ticket],
    ) -> helpdesk_core::Result<Vec<Option<Vec<helpdesk_core::UserId>>>> {
        Ok(tickets.iter().map(|_| Some(vec![self.0])).collect())
    }
}

/// A host's recipients rule, given to the builder, decides who the engine's sweeps email.
#[tokio::test]
async fn a_recipients_rule_plugged_into_the_builder_chooses_who_is_emailed() {
    let clock = ManualClock::new(start());
    let store = std::sync::Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let plain = Helpdesk::builder_shared(store.clone())
        .clock(clock.clone())
        .build();
    let env = Env {
        helpdesk: plain,
        clock: clock.clone(),
    };
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (on_call, _) = env.account("oncall@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let hd = Helpdesk::builder_shared(store)
        .clock(clock)
        .recipients(OnCall(on_call.id))
        .build();
    let t = env.ticket(&ada, "printer on fire", Priority::High).await;
    let report = hd
        .escalation_engine()
        .run_once(start() + Duration::minutes(61))
        .await
        .unwrap();
    assert_eq!(
        (report.escalated, report.notifications_queued),
        (vec![t.id], 1)
    );
    let queued = hd
        .notifications(
            &admin,
            NotificationState::Pending,
            PageRequest::new(1, 10).unwrap(),
        )
        .await
        .unwrap()
        .items;
    let to: Vec<_> = queued.iter().map(|n| n.recipient.as_str()).collect();
    assert_eq!(to, ["oncall@example.com"]);
}

/// The first staff comment or status change is recorded once, in the priority's counted time;
/// the creator's own comment is not a response. The report's median reads it, scoped.
#[tokio::test]
async fn the_first_staff_response_is_recorded_in_counted_time_and_reported() {
    let env = env().await;
    let hd = &env.helpdesk;
    let (_, admin) = env.account("boss@example.com", Role::Admin).await;
    let (agent_user, agent) = env.account("agent@example.com", Role::Agent).await;
    let (_, ada) = env.account("ada@example.com", Role::User).await;
    let (_, bob) = env.account("bob@example.com", Role::User).await;
    let spec = sla_spec(serde_json::json!({
        "business_hours": {"time_zone": "Europe/Berlin",
                           "week": {"mon": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]}},
        "targets": {
            "high": {"update_seconds": 3600},
            "medium": {"update_seconds": 14400, "hours": "business"},
            "low": {"update_seconds": 86400}}}));
    hd.replace_sla_policy(&admin, spec, None).await.unwrap();
    let friday: DateTime<Utc> = "2026-11-27T15:30:00Z".parse().unwrap(); // 16:30 in Berlin
    env.clock.set(friday);
    let t = env.ticket(&ada, "vpn down", Priority::Medium).await;
    hd.assign_ticket(&admin, t.id, Some(agent_user.id), None)
        .await
        .unwrap();
    assert_eq!(
        hd.get_ticket(&ada, t.id)
            .await
            .unwrap()
            .sla
            .first_response_at,
        None,
        "an assignment is not a response"
    );
    env.clock.set(friday + Duration::minutes(10));
    hd.add_comment(&ada, t.id, NewComment::new("anyone?").unwrap())
        .await
        .unwrap();
    let monday: DateTime<Utc> = "2026-11-30T08:30:00Z".parse().unwrap(); // 09:30 in Berlin
    env.clock.set(monday);
    hd.add_comment(&agent, t.id, NewComment::new("looking").unwrap())
        .await
        .unwrap();
    env.clock.set(monday + Duration::hours(1));
    env.set_status(&agent, &t, Status::InProgress)
        .await
        .unwrap();
    let answered = hd.get_ticket(&ada, t.id).await.unwrap();
    assert_eq!(
        (
            answered.sla.first_response_at,
            answered.sla.first_response_seconds
        ),
        (Some(monday), Some(3600)),
        "half an hour on Friday, half an hour on Monday; the later status change is not first"
    );

    let report = hd.sla_report(&admin, 7).await.unwrap();
    assert_eq!(report.to, monday + Duration::hours(1));
    assert_eq!(report.from, report.to - Duration::days(7));
    let medium = report.by_priority.medium;
    assert_eq!(
        (medium.opened, medium.median_first_response_seconds),
        (1, Some(3600))
    );
    let bobs = hd.sla_report(&bob, 7).await.unwrap();
    assert_eq!(bobs.by_priority.medium.opened, 0, "scoped like every list");
    for days in [0, 367] {
        let Err(Error::Validation(errors)) = hd.sla_report(&admin, days).await else {
            panic!("accepted {days} days");
        };
        assert_eq!(errors.get("days").len(), 1);
    }
}
