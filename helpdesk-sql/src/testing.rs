//! Checks of what [`SqlStore`] adds to the ports, run by each adapter's tests (feature
//! `testing`). The ports themselves are checked by `helpdesk_core::store_conformance_tests!`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use helpdesk_core::Role;
use helpdesk_core::Store;
use helpdesk_core::conformance;
use helpdesk_core::store::{SessionStore, TokenHash};

use crate::{Dialect, SqlStore};

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
