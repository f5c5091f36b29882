//! Sign-up, sign-in, sessions, and one's own account.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::Helpdesk;
use super::throttle::{address, throttle_key};
use crate::credentials::{SessionToken, looks_like_token, token_hash};
use crate::input::PASSWORD_MAX;
use crate::permissions::Actor;
use crate::store::{UserDraft, UserUpdate};
use crate::{
    EmailAddress, Error, FieldErrors, PasswordChange, ProfilePatch, Registration, Result, Role,
    User,
};

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
        let password_hash = self
            .inner
            .hashing
            .hash(registration.password.expose().to_owned())
            .await?;
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

    /// [`register`](Self::register) for a network client: at most
    /// [`LoginThrottle::max_registrations_per_address`](super::LoginThrottle::max_registrations_per_address) sign-ups per window from one address.
    pub async fn register_from(
        &self,
        registration: Registration,
        client: Option<IpAddr>,
    ) -> Result<User> {
        if let Some(client) = client {
            let source = throttle_key(&["register-from", &client.to_string()]);
            let throttle = self.inner.throttle;
            self.count(
                "signup_address",
                source,
                throttle.max_registrations_per_address,
                throttle.window,
            )
            .await?;
        }
        self.register(registration).await
    }

    /// Exchanges email and password for a session, for a client whose address is unknown
    /// (a command line, a test); [`login_from`](Self::login_from) is for network clients.
    pub async fn login(&self, email: &str, password: &str) -> Result<Login> {
        self.login_from(email, password, None).await
    }

    /// Exchanges email and password for a session. Wrong email and wrong password fail alike
    /// ([`Error::Unauthenticated`], in the same time). Every attempt is counted before the
    /// password is checked, per email and client address and per client address (see
    /// [`LoginThrottle`](super::LoginThrottle)); past a limit, [`Error::RateLimited`] without checking anything. A
    /// malformed email or an overlong password is [`Error::Validation`], before any store access.
    pub async fn login_from(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Login> {
        let mut errors = FieldErrors::new();
        let email = EmailAddress::parse(email)
            .map_err(|m| errors.add("email", m))
            .ok();
        if password.chars().count() > PASSWORD_MAX {
            errors.add(
                "password",
                format!("must be at most {PASSWORD_MAX} characters"),
            );
        }
        let Some(email) = email.filter(|_| errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        let throttle = self.inner.throttle;
        let guesses = throttle_key(&["login", email.as_str(), &address(client)]);
        self.count("login", guesses, throttle.max_failures, throttle.window)
            .await?;
        if let Some(client) = client {
            let source = throttle_key(&["login-from", &client.to_string()]);
            self.count(
                "login_address",
                source,
                throttle.max_per_address,
                throttle.window,
            )
            .await?;
        }
        let account = self.inner.store.user_by_email(email.as_str()).await?;
        let (user, hash) = match account {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let verified = self.inner.hashing.verify(password.to_owned(), hash).await?;
        let user = match user {
            Some(user) if verified && user.is_active => user,
            _ => {
                metrics::counter!(crate::metrics::LOGIN_FAILURES).increment(1);
                return Err(Error::Unauthenticated);
            }
        };
        self.inner.store.forget_hits(guesses).await?;
        let now = self.now();
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
        let hash = token_hash(token);
        let now = self.now();
        let (cached, generation) = self.inner.sessions.get(&hash, now);
        if let Some(user) = cached {
            return Ok(user);
        }
        let user = self
            .inner
            .store
            .session_user(hash, now)
            .await?
            .ok_or(Error::Unauthenticated)?;
        self.inner
            .sessions
            .insert(hash, user.clone(), generation, now);
        Ok(user)
    }

    /// Ends a session; the token stops working at once.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = token_hash(token);
        let deleted = self.inner.store.delete_session(hash).await;
        self.inner.sessions.forget_token(&hash);
        Ok(deleted?)
    }

    /// The actor's own account.
    pub async fn me(&self, actor: &Actor) -> Result<User> {
        match self.inner.store.user(actor.id).await? {
            Some(user) if user.deleted_at.is_none() => Ok(user),
            _ => Err(Error::Unauthenticated),
        }
    }

    /// The fields a profile patch changes, and nothing else.
    pub(super) fn profile_update(patch: ProfilePatch, now: DateTime<Utc>) -> UserUpdate {
        UserUpdate {
            email: patch.email.map(|e| e.as_str().to_owned()),
            first_name: patch.first_name,
            last_name: patch.last_name,
            role: None,
            is_active: None,
            updated_at: now,
        }
    }

    /// Changes the actor's names or email.
    pub async fn update_profile(&self, actor: &Actor, patch: ProfilePatch) -> Result<User> {
        let update = Self::profile_update(patch, self.now());
        self.write_user(actor.id, &update)
            .await?
            .ok_or(Error::Unauthenticated)
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
        let guesses = throttle_key(&["password", &actor.id.to_string()]);
        let throttle = self.inner.throttle;
        self.count("password", guesses, throttle.max_failures, throttle.window)
            .await?;
        if !self
            .inner
            .hashing
            .verify(change.current, Some(hash))
            .await?
        {
            return Err(Error::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        let new_hash = self
            .inner
            .hashing
            .hash(change.new.expose().to_owned())
            .await?;
        self.inner.store.forget_hits(guesses).await?;
        let keep = current_token.map(token_hash);
        let changed = self
            .inner
            .store
            .set_password(actor.id, &new_hash, keep, self.now())
            .await;
        self.inner.sessions.forget_user(actor.id);
        changed?.then_some(()).ok_or(Error::NotFound)
    }

    /// Deletes the actor's account: personal data erased, sessions revoked; tickets and
    /// comments stay, pointing at the anonymous account.
    pub async fn delete_account(&self, actor: &Actor) -> Result<()> {
        self.erase(actor.id).await
    }
}
