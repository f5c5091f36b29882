//! Regression tests of attacks on sign-in and accounts, through the `Helpdesk` façade on real
//! SQLite databases.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

use helpdesk_core::{
    Error, Helpdesk, NewUser, PasswordChange, ProfilePatch, Registration, Role, UserPatch,
};
use helpdesk_sqlite::SqliteStore;

const PASSWORD: &str = "correct horse battery";

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

/// The URL of a fresh database file.
fn fresh_file(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("helpdesk-security-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("h.db").display())
}

/// A helpdesk on a fresh database file, so requests really run concurrently.
async fn on_file(name: &str) -> Helpdesk {
    Helpdesk::new(SqliteStore::connect(&fresh_file(name)).await.unwrap())
}

/// How many throttle rows the database at `url` holds.
async fn throttle_rows(url: &str) -> i64 {
    use sqlx::Connection;
    let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT count(*) FROM throttle")
        .fetch_one(&mut connection)
        .await
        .unwrap()
}

async fn account(hd: &Helpdesk, email: &str, role: Role) -> helpdesk_core::User {
    let registration = Registration::new(email, PASSWORD, "First", "Last").unwrap();
    hd.create_user_unchecked(NewUser { registration, role })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_never_exceed_the_limit() {
    let hd = on_file("race").await;
    account(&hd, "ada@example.com", Role::Admin).await;
    let guesses = (0..60).map(|i| {
        let hd = hd.clone();
        // The right password somewhere in the middle of the burst.
        let password = if i == 30 { PASSWORD } else { "wrong password" };
        tokio::spawn(async move {
            hd.login_from("ada@example.com", password, ip("192.0.2.7"))
                .await
        })
    });
    let mut evaluated = 0;
    let mut limited = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            Err(Error::RateLimited { .. }) => limited += 1,
            Err(Error::Unauthenticated) | Ok(_) => evaluated += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(
        (evaluated, limited),
        (5, 55),
        "at most 5 guesses are ever checked"
    );
}

#[tokio::test]
async fn an_attacker_elsewhere_cannot_lock_the_owner_out() {
    let hd = on_file("lockout").await;
    account(&hd, "ada@example.com", Role::Admin).await;
    for email in ["ada@example.com", "ADA@example.com", " ada@example.com "] {
        for _ in 0..2 {
            let _ = hd
                .login_from(email, "wrong password", ip("198.51.100.9"))
                .await;
        }
    }
    assert!(matches!(
        hd.login_from("ada@example.com", PASSWORD, ip("198.51.100.9"))
            .await,
        Err(Error::RateLimited { .. })
    ));
    hd.login_from("ada@example.com", PASSWORD, ip("192.0.2.1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn one_address_cannot_spray_many_emails_or_sign_up_without_end() {
    let hd = on_file("spray").await;
    let mut limited = 0;
    for i in 0..120 {
        let email = format!("victim{i}@example.com");
        if let Err(Error::RateLimited { .. }) =
            hd.login_from(&email, "guess", ip("203.0.113.5")).await
        {
            limited += 1;
        }
    }
    assert_eq!(limited, 20, "100 sign-in attempts per address and window");
    let mut refused = 0;
    for i in 0..25 {
        let registration =
            Registration::new(&format!("new{i}@example.com"), PASSWORD, "", "").unwrap();
        if let Err(Error::RateLimited { .. }) =
            hd.register_from(registration, ip("203.0.113.5")).await
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 5, "20 sign-ups per address and window");
}

#[tokio::test]
async fn huge_login_emails_are_refused_before_the_store() {
    let url = fresh_file("huge");
    let hd = Helpdesk::new(SqliteStore::connect(&url).await.unwrap());
    let email = format!("{}@example.com", "a".repeat(1 << 20));
    for _ in 0..3 {
        let Err(Error::Validation(errors)) = hd.login(&email, "x").await else {
            panic!("a 1 MB email must be refused");
        };
        assert!(errors.to_string().contains("email"), "{errors}");
    }
    let Err(Error::Validation(errors)) = hd.login("ada@example.com", &"p".repeat(300)).await else {
        panic!("an overlong password must be refused")
    };
    assert!(errors.to_string().contains("password"), "{errors}");
    assert_eq!(throttle_rows(&url).await, 0, "nothing was stored");
    // An ordinary wrong login is counted, so the count above would have seen one.
    assert!(hd.login("ada@example.com", "wrong password").await.is_err());
    assert_eq!(throttle_rows(&url).await, 1);
}

#[tokio::test]
async fn password_changes_are_throttled_like_logins() {
    let hd = on_file("password").await;
    let ada = account(&hd, "ada@example.com", Role::User).await.actor();
    let guess = || PasswordChange::new("wrong password", "brand new password").unwrap();
    for _ in 0..5 {
        assert!(matches!(
            hd.change_password(&ada, None, guess()).await,
            Err(Error::Validation(_))
        ));
    }
    let right = PasswordChange::new(PASSWORD, "brand new password").unwrap();
    assert!(matches!(
        hd.change_password(&ada, None, right).await,
        Err(Error::RateLimited { .. })
    ));
}

#[tokio::test]
async fn a_profile_edit_never_undoes_a_demotion() {
    let hd = on_file("demotion").await;
    let boss = account(&hd, "boss@example.com", Role::Admin).await.actor();
    let eve = account(&hd, "eve@example.com", Role::Admin).await;
    // Eve loops profile edits while the boss demotes and deactivates her.
    let editor = {
        let hd = hd.clone();
        let eve = eve.actor();
        tokio::spawn(async move {
            for i in 0..30 {
                let patch = ProfilePatch::new(Some(&format!("x{i}")), None, None).unwrap();
                let _ = hd.update_profile(&eve, patch).await;
            }
        })
    };
    let demotion = UserPatch {
        role: Some(Role::User),
        is_active: Some(false),
        ..UserPatch::default()
    };
    hd.update_user(&boss, eve.id, demotion).await.unwrap();
    editor.await.unwrap();
    let stored = hd.get_user(&boss, eve.id).await.unwrap();
    assert_eq!((stored.role, stored.is_active), (Role::User, false));
}

#[tokio::test]
async fn erasure_cannot_be_blocked_by_squatting_the_tombstone() {
    let hd = on_file("tombstone").await;
    let boss = account(&hd, "boss@example.com", Role::Admin).await.actor();
    let ada = account(&hd, "ada@example.com", Role::User).await;
    // Whatever an attacker registers in advance, the erasure goes through.
    for email in [
        format!("deleted-user-{}@deleted.invalid", ada.id),
        format!("deleted{}@example.com", ada.id),
    ] {
        let registration = Registration::new(&email, PASSWORD, "", "").unwrap();
        hd.register(registration).await.unwrap();
    }
    hd.delete_user(&boss, ada.id).await.unwrap();
    assert!(matches!(
        hd.login("ada@example.com", PASSWORD).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        hd.get_user(&boss, ada.id).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn one_account_cannot_flood_tickets_or_comments() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let limits = helpdesk_core::RateLimits {
        tickets_per_hour: 3,
        comments_per_hour: 2,
    };
    let hd = Helpdesk::builder(store).rate_limits(limits).build();
    let ada = account(&hd, "ada@example.com", Role::User).await.actor();
    let bob = account(&hd, "bob@example.com", Role::User).await.actor();
    let new = || helpdesk_core::NewTicket::new("t", "", helpdesk_core::Priority::High).unwrap();
    let mut tickets = Vec::new();
    for _ in 0..3 {
        tickets.push(hd.create_ticket(&ada, new()).await.unwrap());
    }
    let Err(Error::RateLimited { retry_after }) = hd.create_ticket(&ada, new()).await else {
        panic!("the fourth ticket within the hour must be refused")
    };
    assert!(retry_after.as_secs() > 3000, "{retry_after:?}");
    hd.create_ticket(&bob, new()).await.unwrap();
    let comment = || helpdesk_core::NewComment::new("more smoke").unwrap();
    for _ in 0..2 {
        hd.add_comment(&ada, tickets[0].id, comment())
            .await
            .unwrap();
    }
    assert!(matches!(
        hd.add_comment(&ada, tickets[0].id, comment()).await,
        Err(Error::RateLimited { .. })
    ));
}

#[tokio::test]
async fn a_host_authenticator_sees_demotions_deactivations_and_deletions_at_once() {
    let hd = on_file("actor-for").await;
    let boss = account(&hd, "boss@example.com", Role::Admin).await.actor();
    let eve = account(&hd, "eve@example.com", Role::Admin).await;
    assert_eq!(hd.actor_for(eve.id).await.unwrap().role, Role::Admin);
    let demote = UserPatch {
        role: Some(Role::User),
        ..UserPatch::default()
    };
    hd.update_user(&boss, eve.id, demote).await.unwrap();
    assert_eq!(hd.actor_for(eve.id).await.unwrap().role, Role::User);
    let deactivate = UserPatch {
        is_active: Some(false),
        ..UserPatch::default()
    };
    hd.update_user(&boss, eve.id, deactivate).await.unwrap();
    assert!(matches!(
        hd.actor_for(eve.id).await,
        Err(Error::Unauthenticated)
    ));
    let ada = account(&hd, "ada@example.com", Role::User).await;
    hd.delete_user(&boss, ada.id).await.unwrap();
    assert!(matches!(
        hd.actor_for(ada.id).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        hd.actor_for(helpdesk_core::UserId(999)).await,
        Err(Error::Unauthenticated)
    ));
}

/// Whether `token` is refused as unknown, expired or revoked.
async fn refused(hd: &Helpdesk, token: &str) -> bool {
    matches!(hd.authenticate(token).await, Err(Error::Unauthenticated))
}

#[tokio::test]
async fn cached_sessions_end_at_once_on_this_instance() {
    let hd = on_file("session-cache").await;
    let admin = account(&hd, "admin@example.com", Role::Admin).await;
    let ada = account(&hd, "ada@example.com", Role::Agent).await;
    let login = || hd.login("ada@example.com", PASSWORD);

    // Sign-out.
    let token = login().await.unwrap().token;
    hd.authenticate(token.as_str()).await.unwrap();
    hd.logout(token.as_str()).await.unwrap();
    assert!(refused(&hd, token.as_str()).await);

    // Demotion: the next request has the new role.
    let token = login().await.unwrap().token;
    assert_eq!(
        hd.authenticate(token.as_str()).await.unwrap().role,
        Role::Agent
    );
    let demote = UserPatch {
        role: Some(Role::User),
        ..UserPatch::default()
    };
    hd.update_user(&admin.actor(), ada.id, demote)
        .await
        .unwrap();
    assert_eq!(
        hd.authenticate(token.as_str()).await.unwrap().role,
        Role::User
    );

    // Deactivation revokes the sessions; reactivating does not bring them back.
    for is_active in [false, true] {
        let patch = UserPatch {
            is_active: Some(is_active),
            ..UserPatch::default()
        };
        hd.update_user(&admin.actor(), ada.id, patch).await.unwrap();
        assert!(refused(&hd, token.as_str()).await, "active: {is_active}");
    }

    // A password change ends the other sessions.
    let other = login().await.unwrap().token;
    let current = login().await.unwrap().token;
    let ada = hd.authenticate(other.as_str()).await.unwrap();
    let change = PasswordChange::new(PASSWORD, "a brand new passphrase").unwrap();
    hd.change_password(&ada.actor(), Some(current.as_str()), change)
        .await
        .unwrap();
    assert!(refused(&hd, other.as_str()).await);
    hd.authenticate(current.as_str()).await.unwrap();

    // Deletion.
    hd.delete_user(&admin.actor(), ada.id).await.unwrap();
    assert!(refused(&hd, current.as_str()).await);
}

#[tokio::test]
async fn another_instance_sees_a_sign_out_within_the_cache_time() {
    let url = fresh_file("session-cache-instances");
    let clock = helpdesk_core::ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let instance = || async {
        Helpdesk::builder(SqliteStore::connect(&url).await.unwrap())
            .clock(clock.clone())
            .session_cache(std::time::Duration::from_secs(5))
            .build()
    };
    let (a, b) = (instance().await, instance().await);
    account(&a, "ada@example.com", Role::User).await;
    let token = a.login("ada@example.com", PASSWORD).await.unwrap().token;
    b.authenticate(token.as_str()).await.unwrap();
    a.logout(token.as_str()).await.unwrap();
    // B reuses its lookup for at most the cache time, then asks the store again.
    clock.advance(chrono::Duration::seconds(4));
    b.authenticate(token.as_str()).await.unwrap();
    clock.advance(chrono::Duration::seconds(1));
    assert!(refused(&b, token.as_str()).await);
}

#[tokio::test]
async fn ended_throttle_windows_are_deleted_so_the_table_stays_small() {
    let url = fresh_file("throttle-prune");
    let clock = helpdesk_core::ManualClock::new("2026-11-27T09:00:00Z".parse().unwrap());
    let hd = Helpdesk::builder(SqliteStore::connect(&url).await.unwrap())
        .clock(clock.clone())
        .build();
    // Wrong logins for many emails, as a sprayer sends them: one window each.
    for n in 0..20 {
        let _ = hd.login(&format!("nobody{n}@example.com"), "wrong").await;
    }
    assert_eq!(throttle_rows(&url).await, 20);
    // Once those windows are over, the next window that starts deletes them.
    clock.advance(chrono::Duration::minutes(16));
    let _ = hd.login("someone@example.com", "wrong").await;
    assert_eq!(throttle_rows(&url).await, 1);
}
