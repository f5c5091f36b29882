//! User administration (agents read, admins write), and the host-only operations that
//! create accounts without an acting admin: `create_user_unchecked`, `provision_user` and
//! `bootstrap_admin`. Hosts must never expose those to clients.

use super::{Helpdesk, require_admin, require_staff};
use crate::permissions::Actor;
use crate::store::{UserDraft, UserUpdate};
use crate::{
    EmailAddress, Error, FieldErrors, NewUser, Page, PageRequest, Registration, Result, Role, User,
    UserId, UserPatch, UserQuery,
};

/// The stored hash of accounts that cannot sign in with a password (not a PHC string, so no
/// password ever verifies against it).
const UNUSABLE_PASSWORD: &str = "!";

/// What [`Helpdesk::bootstrap_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// A new admin account was created.
    Created(User),
    /// An existing account was made an active admin.
    Promoted(User),
    /// The account was an active admin already.
    AlreadyAdmin(User),
}

impl Helpdesk {
    /// Searches accounts (agents and admins).
    pub async fn list_users(
        &self,
        actor: &Actor,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<User>> {
        require_staff(actor, "see users")?;
        Ok(self.inner.store.list_users(query, page).await?)
    }

    /// Creates an account with any role (admins).
    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User> {
        require_admin(actor, "create users")?;
        self.insert_account(new.registration, new.role).await
    }

    /// Creates an account with any role, without an acting admin: for bootstrapping the first
    /// admin from a command line. Host applications must not expose this to clients.
    pub async fn create_user_unchecked(&self, new: NewUser) -> Result<User> {
        self.insert_account(new.registration, new.role).await
    }

    /// The account for `email`, created (with role `user` and no usable password) if there is
    /// none: for hosts that sign their users in themselves and plug in their own
    /// `Authenticator`. Host applications must not expose it to clients.
    pub async fn provision_user(
        &self,
        email: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<User> {
        let mut errors = FieldErrors::new();
        let email = EmailAddress::parse(email)
            .map_err(|m| errors.add("email", m))
            .ok();
        let Some(email) = email else {
            return Err(Error::Validation(errors));
        };
        if let Some((user, _)) = self.inner.store.user_by_email(email.as_str()).await? {
            return Ok(user);
        }
        let draft = UserDraft {
            email: email.as_str().to_owned(),
            password_hash: UNUSABLE_PASSWORD.to_owned(),
            first_name: first_name.trim().to_owned(),
            last_name: last_name.trim().to_owned(),
            role: Role::User,
            created_at: self.now(),
        };
        Ok(self.inner.store.insert_user(&draft).await?)
    }

    /// Makes sure an admin with this email exists, without an acting admin: creates the
    /// account, or promotes (and reactivates) the existing one, whose password stays as it is.
    /// For bootstrapping from a command line; host applications must not expose it to clients.
    pub async fn bootstrap_admin(&self, registration: Registration) -> Result<AdminBootstrap> {
        let Some((user, _)) = self
            .inner
            .store
            .user_by_email(registration.email.as_str())
            .await?
        else {
            let user = self.insert_account(registration, Role::Admin).await?;
            return Ok(AdminBootstrap::Created(user));
        };
        if user.role == Role::Admin && user.is_active {
            return Ok(AdminBootstrap::AlreadyAdmin(user));
        }
        let promotion = UserUpdate {
            email: None,
            first_name: None,
            last_name: None,
            role: Some(Role::Admin),
            is_active: Some(true),
            updated_at: self.now(),
        };
        Ok(AdminBootstrap::Promoted(
            self.write_user(user.id, &promotion)
                .await?
                .ok_or(Error::NotFound)?,
        ))
    }

    /// The actor of account `id` as it is now, with its current role; [`Error::Unauthenticated`]
    /// if the account is missing, deleted or inactive. For hosts' own authenticators, which
    /// call it on every request, so that a demotion, a deactivation or a deletion takes effect
    /// at once rather than when a cached session ends.
    pub async fn actor_for(&self, id: UserId) -> Result<Actor> {
        match self.inner.store.user(id).await? {
            Some(user) if user.is_active && user.deleted_at.is_none() => Ok(user.actor()),
            _ => Err(Error::Unauthenticated),
        }
    }

    /// One account (agents and admins); a deleted account is [`Error::NotFound`] like any
    /// deleted resource (tickets keep pointing at its id).
    pub async fn get_user(&self, actor: &Actor, id: UserId) -> Result<User> {
        require_staff(actor, "see users")?;
        match self.inner.store.user(id).await? {
            Some(user) if user.deleted_at.is_none() => Ok(user),
            _ => Err(Error::NotFound),
        }
    }

    /// Changes an account (admins); a deleted one is [`Error::NotFound`]. Deactivating revokes
    /// its sessions. Admins cannot demote or
    /// deactivate themselves, so an admin cannot lock themself out by accident.
    pub async fn update_user(&self, actor: &Actor, id: UserId, patch: UserPatch) -> Result<User> {
        require_admin(actor, "change other accounts")?;
        if id == actor.id
            && (patch.is_active == Some(false) || patch.role.is_some_and(|r| r != Role::Admin))
        {
            return Err(Error::Conflict(
                "admins cannot demote or deactivate themselves".into(),
            ));
        }
        // Only the fields the patch names are written, so a concurrent edit of others stays.
        let update = UserUpdate {
            role: patch.role,
            is_active: patch.is_active,
            ..Self::profile_update(patch.profile, self.now())
        };
        self.write_user(id, &update).await?.ok_or(Error::NotFound)
    }

    /// Deletes an account (admins), as if its owner had deleted it.
    pub async fn delete_user(&self, actor: &Actor, id: UserId) -> Result<()> {
        require_admin(actor, "delete accounts")?;
        self.erase(id).await
    }

    /// Writes an account change and forgets the account's cached sessions, whose role,
    /// activity or names it may change.
    pub(super) async fn write_user(&self, id: UserId, update: &UserUpdate) -> Result<Option<User>> {
        let updated = self.inner.store.update_user(id, update).await;
        self.inner.sessions.forget_user(id);
        Ok(updated?)
    }

    /// Erases an account and forgets its cached sessions.
    pub(super) async fn erase(&self, id: UserId) -> Result<()> {
        let erased = self.inner.store.erase_user(id, self.now()).await;
        self.inner.sessions.forget_user(id);
        erased?.then_some(()).ok_or(Error::NotFound)
    }
}
