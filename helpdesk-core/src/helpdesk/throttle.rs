//! What sign-in and sign-up count, and how much of it they allow.

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use chrono::Duration;
use sha2::{Digest, Sha256};

use super::Helpdesk;
use crate::store::{Hits, Quota, ThrottleKey};
use crate::{Error, Result};

/// Throttling of sign-ins, password changes and sign-ups, in fixed windows.
///
/// Every attempt is counted before a password is checked, atomically, so concurrent guesses
/// cannot slip past the limit:
/// - at most `max_failures` password guesses per window for one email from one client address
///   (and for one account's password change), so an attacker elsewhere cannot lock the owner
///   out, and one source cannot guess more than this many passwords;
/// - at most `max_per_address` sign-in attempts per window from one client address, whatever
///   the emails;
/// - at most `max_registrations_per_address` sign-ups per window from one client address.
///
/// A successful sign-in forgets its email's guesses. Past a limit the answer is
/// [`Error::RateLimited`](crate::Error::RateLimited), with the time until the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Password guesses per email and client address (and per account for password changes).
    pub max_failures: u32,
    /// Sign-in attempts per client address.
    pub max_per_address: u32,
    /// Sign-ups per client address.
    pub max_registrations_per_address: u32,
    /// The window; counting starts with the first attempt.
    pub window: StdDuration,
}

impl Default for LoginThrottle {
    /// 5 guesses, 100 sign-ins and 20 sign-ups per address, within 15 minutes.
    fn default() -> Self {
        Self {
            max_failures: 5,
            max_per_address: 100,
            max_registrations_per_address: 20,
            window: StdDuration::from_secs(15 * 60),
        }
    }
}

/// The key of what `parts` name, unambiguously (each part is length-prefixed).
pub(super) fn throttle_key(parts: &[&str]) -> ThrottleKey {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    ThrottleKey(hasher.finalize().into())
}

/// A client address as a key part; unknown clients share one.
pub(super) fn address(client: Option<IpAddr>) -> String {
    client.map_or_else(String::new, |ip| ip.to_string())
}

/// How much content one account may create, per hour (a flood of tickets is also a flood of
/// escalation emails to every admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Tickets one account may raise per hour.
    pub tickets_per_hour: u32,
    /// Comments one account may write per hour.
    pub comments_per_hour: u32,
}

impl Default for RateLimits {
    /// 60 tickets and 600 comments per hour.
    fn default() -> Self {
        Self {
            tickets_per_hour: 60,
            comments_per_hour: 600,
        }
    }
}

/// The window of [`RateLimits`].
pub(super) const HOUR: StdDuration = StdDuration::from_secs(3600);

impl Helpdesk {
    /// Counts one hit of `key`; [`Error::RateLimited`] past `limit` hits in a `window` that
    /// starts with the first hit, counted in [`RATE_LIMITED`](crate::metrics::RATE_LIMITED)
    /// under `name`.
    pub(super) async fn count(
        &self,
        name: &'static str,
        key: ThrottleKey,
        limit: u32,
        window: StdDuration,
    ) -> Result<()> {
        let quota = self.quota(key, limit, window);
        let hits = self
            .inner
            .store
            .hit(key, quota.at, quota.new_window_ends)
            .await?;
        if hits.count <= limit {
            return Ok(());
        }
        Err(self.refuse(name, hits))
    }

    /// A hit of `key` now, against `limit` hits in a `window` that starts with the first hit.
    pub(super) fn quota(&self, key: ThrottleKey, limit: u32, window: StdDuration) -> Quota {
        let at = self.now();
        let window = Duration::from_std(window).unwrap_or(Duration::minutes(15));
        Quota {
            key,
            limit,
            at,
            new_window_ends: at + window,
        }
    }

    /// The refusal of a hit past its limit (`hits` of its window), counted in
    /// [`RATE_LIMITED`](crate::metrics::RATE_LIMITED) under `name`.
    pub(super) fn refuse(&self, name: &'static str, hits: Hits) -> Error {
        metrics::counter!(crate::metrics::RATE_LIMITED, "limit" => name).increment(1);
        let retry_after = (hits.until - self.now()).to_std().unwrap_or_default();
        Error::RateLimited {
            retry_after: retry_after.max(StdDuration::from_secs(1)),
        }
    }
}
