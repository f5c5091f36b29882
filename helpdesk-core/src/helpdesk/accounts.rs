//! Sign-up, sign-in, sessions, and one's own account.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::Helpdesk;
use crate::credentials::{self, SessionToken, looks_like_token, token_hash};
use crate::permissions::Actor;
use crate::store::UserDraft;
use crate::{Error, PasswordChange, ProfilePatch, Registration, Result, Role, User};

/// Login throttling: after `max_failures` failed logins for one email within `window`, further
/// attempts are refused with [`Error::RateLimited`] until the window has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Failures allowed within the window.
    pub max_failures: u32,
    /// The sliding window.
    pub window: StdDuration,
}

impl Default for LoginThrottle {
    /// 5 failures within 15 minutes.
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: StdDuration::from_secs(15 * 60),
        }
    }
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    /// The bearer token; shown to the client once, stored only as a hash.
    pub token: SessionToken,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// Who signed in.
    pub user: User,
}

impl Helpdesk {
    pub(super) async fn insert_account(
        &self,
        registration: Registration,
        role: Role,
    ) -> Result<User> {
        let password_hash =
            credentials::hash_password(registration.password.expose().to_owned()).await?;
        let draft = UserDraft {
            email: registration.email.as_str().to_owned(),
            password_hash,
            first_name: registration.first_name,
            last_name: registration.last_name,
            role,
            created_at: self.now(),
        };
        Ok(self.inner.store.insert_user(&draft).await?)
    }

    /// Signs up a new account, always with role `user`. [`Error::Conflict`] if the email is taken.
    pub async fn register(&self, registration: Registration) -> Result<User> {
        self.insert_account(registration, Role::User).await
    }

    /// Exchanges email and password for a session. Wrong email and wrong password fail alike
    /// ([`Error::Unauthenticated`], in the same time); after too many failures for one email,
    /// [`Error::RateLimited`].
    pub async fn login(&self, email: &str, password: &str) -> Result<Login> {
        let email = email.trim().to_lowercase();
        let now = self.now();
        let throttle = self.inner.throttle;
        let window = Duration::from_std(throttle.window).unwrap_or(Duration::minutes(15));
        let failures = self
            .inner
            .store
            .login_failures(&email, now - window)
            .await?;
        if failures.len() >= throttle.max_failures as usize {
            let oldest = failures.first().copied().unwrap_or(now);
            let retry_after = (oldest + window - now).to_std().unwrap_or_default();
            return Err(Error::RateLimited {
                retry_after: retry_after.max(StdDuration::from_secs(1)),
            });
        }
        let account = self.inner.store.user_by_email(&email).await?;
        let (user, hash) = match account {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let verified = credentials::verify_password(password.to_owned(), hash).await?;
        let user = match user {
            Some(user) if verified && user.is_active => user,
            _ => {
                self.inner
                    .store
                    .record_login_failure(&email, now, now - window)
                    .await?;
                return Err(Error::Unauthenticated);
            }
        };
        if !failures.is_empty() {
            self.inner.store.clear_login_failures(&email).await?;
        }
        let token = SessionToken::generate()?;
        let expires_at = now + self.inner.session_ttl;
        self.inner
            .store
            .insert_session(token_hash(token.as_str()), user.id, now, expires_at)
            .await?;
        Ok(Login {
            token,
            expires_at,
            user,
        })
    }

    /// The user behind a bearer token: [`Error::Unauthenticated`] for an unknown, expired or
    /// revoked token, or an inactive account.
    pub async fn authenticate(&self, token: &str) -> Result<User> {
        if !looks_like_token(token) {
            return Err(Error::Unauthenticated);
        }
        let user = self
            .inner
            .store
            .session_user(token_hash(token), self.now())
            .await?;
        user.ok_or(Error::Unauthenticated)
    }

    /// Ends a session; the token stops working at once.
    pub async fn logout(&self, token: &str) -> Result<()> {
        Ok(self.inner.store.delete_session(token_hash(token)).await?)
    }

    /// The actor's own account.
    pub async fn me(&self, actor: &Actor) -> Result<User> {
        match self.inner.store.user(actor.id).await? {
            Some(user) if user.deleted_at.is_none() => Ok(user),
            _ => Err(Error::Unauthenticated),
        }
    }

    pub(super) fn apply_profile(user: &mut User, patch: ProfilePatch) {
        if let Some(first_name) = patch.first_name {
            user.first_name = first_name;
        }
        if let Some(last_name) = patch.last_name {
            user.last_name = last_name;
        }
        if let Some(email) = patch.email {
            user.email = email.as_str().to_owned();
        }
    }

    /// Changes the actor's names or email.
    pub async fn update_profile(&self, actor: &Actor, patch: ProfilePatch) -> Result<User> {
        let mut user = self.me(actor).await?;
        Self::apply_profile(&mut user, patch);
        user.updated_at = self.now();
        self.inner
            .store
            .update_user(&user)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Changes the actor's password after checking the current one, and revokes every other
    /// session (all but `current_token`, the one the request came with, if any).
    pub async fn change_password(
        &self,
        actor: &Actor,
        current_token: Option<&str>,
        change: PasswordChange,
    ) -> Result<()> {
        let hash = self
            .inner
            .store
            .password_hash(actor.id)
            .await?
            .ok_or(Error::Unauthenticated)?;
        if !credentials::verify_password(change.current, Some(hash)).await? {
            return Err(Error::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        let new_hash = credentials::hash_password(change.new.expose().to_owned()).await?;
        let keep = current_token.map(token_hash);
        self.inner
            .store
            .set_password(actor.id, &new_hash, keep, self.now())
            .await?
            .then_some(())
            .ok_or(Error::NotFound)
    }

    /// Deletes the actor's account: personal data erased, sessions revoked; tickets and
    /// comments stay, pointing at the anonymous account.
    pub async fn delete_account(&self, actor: &Actor) -> Result<()> {
        self.inner
            .store
            .erase_user(actor.id, self.now())
            .await?
            .then_some(())
            .ok_or(Error::NotFound)
    }
}
