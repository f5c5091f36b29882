//! A short-lived, bounded, in-process cache of session lookups, so that a burst of requests
//! with one token reads the store once.
//!
//! Everything this instance does to an account or a session (sign-out, password change,
//! role or activity change, deletion) forgets the cached entries at once. What other instances
//! do is seen when an entry ends: at most the cache's time to live later.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::store::TokenHash;
use crate::{User, UserId};

/// Entries kept at most; when full, expired ones go, and if none has expired, all go.
const CAPACITY: usize = 10_000;

#[derive(Debug)]
pub(super) struct SessionCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Bumped by every forget, so that a lookup that read the store before a change cannot
    /// cache what it read after the change forgot the entries.
    generation: u64,
    entries: HashMap<TokenHash, (User, DateTime<Utc>)>,
}

impl SessionCache {
    /// A cache whose entries live `ttl`; zero turns it off.
    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: Mutex::default(),
        }
    }

    pub(super) fn ttl(&self) -> Duration {
        self.ttl
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a map that is still a valid cache.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The account behind `token`, if it was looked up less than the time to live ago; and
    /// the generation to pass to [`insert`](Self::insert) after a store lookup.
    pub(super) fn get(&self, token: &TokenHash, now: DateTime<Utc>) -> (Option<User>, u64) {
        let state = self.state();
        let user = state
            .entries
            .get(token)
            .filter(|(_, until)| now < *until)
            .map(|(user, _)| user.clone());
        (user, state.generation)
    }

    /// Caches a lookup made after [`get`](Self::get) returned `generation`, unless something
    /// was forgotten since.
    pub(super) fn insert(&self, token: TokenHash, user: User, generation: u64, now: DateTime<Utc>) {
        if self.ttl <= Duration::zero() {
            return;
        }
        let mut state = self.state();
        if state.generation != generation {
            return;
        }
        if state.entries.len() >= CAPACITY {
            state.entries.retain(|_, (_, until)| now < *until);
            if state.entries.len() >= CAPACITY {
                state.entries.clear();
            }
        }
        state.entries.insert(token, (user, now + self.ttl));
    }

    /// Forgets one session.
    pub(super) fn forget_token(&self, token: &TokenHash) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.remove(token);
    }

    /// Forgets every session of an account.
    pub(super) fn forget_user(&self, id: UserId) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.retain(|_, (user, _)| user.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn user(id: i64) -> User {
        let now = Utc::now();
        User {
            id: UserId(id),
            email: format!("u{id}@example.com"),
            first_name: String::new(),
            last_name: String::new(),
            role: Role::User,
            is_active: true,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }

    #[test]
    fn entries_live_their_time_and_forgets_win_over_older_lookups() {
        let cache = SessionCache::new(Duration::seconds(5));
        let now = Utc::now();
        let token = TokenHash([1; 32]);
        let (none, generation) = cache.get(&token, now);
        assert!(none.is_none());
        cache.insert(token, user(7), generation, now);
        assert_eq!(cache.get(&token, now).0.map(|u| u.id), Some(UserId(7)));
        assert!(cache.get(&token, now + Duration::seconds(5)).0.is_none());

        // A lookup that read the store before the account changed caches nothing.
        let (_, before) = cache.get(&token, now);
        cache.forget_user(UserId(7));
        cache.insert(token, user(7), before, now);
        assert!(cache.get(&token, now).0.is_none());

        let (_, generation) = cache.get(&token, now);
        cache.insert(token, user(7), generation, now);
        cache.forget_token(&token);
        assert!(cache.get(&token, now).0.is_none());
    }

    #[test]
    fn zero_turns_it_off_and_it_stays_bounded() {
        let now = Utc::now();
        let off = SessionCache::new(Duration::zero());
        off.insert(TokenHash([1; 32]), user(1), 0, now);
        assert!(off.get(&TokenHash([1; 32]), now).0.is_none());

        let cache = SessionCache::new(Duration::seconds(5));
        for n in 0..=CAPACITY {
            let mut token = [0; 32];
            token[..8].copy_from_slice(&(n as u64).to_le_bytes());
            cache.insert(TokenHash(token), user(1), 0, now);
        }
        assert!(cache.state().entries.len() <= CAPACITY);
    }
}
