//! Checks of what [`SqlStore`] adds to the ports, run by each adapter's tests (feature
//! `testing`). The ports themselves are checked by `helpdesk_core::store_conformance_tests!`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::Utc;
use helpdesk_core::Role;
use helpdesk_core::Store;
use helpdesk_core::store::{SessionStore, TokenHash, UserDraft, UserStore};

use crate::{Dialect, SqlStore};

/// Holds every connection of the read pool, as long searches would, and checks that a
/// session is still looked up within a second: sign-ins have connections of their own.
pub async fn sessions_do_not_wait_for_reads<D: Dialect>(store: SqlStore<D>)
where
    SqlStore<D>: Store,
{
    let now = Utc::now();
    let ada = store
        .insert_user(&UserDraft {
            email: "ada@example.com".into(),
            password_hash: "x".into(),
            first_name: String::new(),
            last_name: String::new(),
            role: Role::User,
            created_at: now,
        })
        .await
        .unwrap();
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
