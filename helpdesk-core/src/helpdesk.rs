//! The [`Helpdesk`] façade: every use case, with its permission checks and validation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::credentials::{self, SessionToken, looks_like_token, token_hash};
use crate::notify::{Notification, NotificationState};
use crate::permissions::{Actor, can_comment, can_edit, can_view, check_ticket_transition};
use crate::store::{ClockRestart, CommentDraft, TicketChange, TicketDraft, UserDraft};
use crate::{
    Clock, Comment, EmailAddress, Error, EscalationEngine, EscalationPolicy, EscalationReport,
    FieldErrors, HistoryEvent, HistoryKind, NewComment, NewEvent, NewTicket, NewUser,
    NotificationId, Notifier, OutboxDispatcher, Page, PageRequest, PasswordChange, ProfilePatch,
    Registration, Report, Result, Role, Status, Store, SystemClock, Ticket, TicketId, TicketPatch,
    TicketQuery, User, UserId, UserPatch, UserQuery,
};

/// The stored hash of accounts that cannot sign in with a password (not a PHC string, so no
/// password ever verifies against it).
const UNUSABLE_PASSWORD: &str = "!";

/// How many times a change is recomputed when another writer got there first.
const OPTIMISTIC_RETRIES: u32 = 12;

/// Waits a little before recomputing a change that lost a race: a random 0 to 2^attempt
/// milliseconds (capped at 64), so writers that collided spread out instead of colliding again.
async fn back_off(attempt: u32) {
    let mut byte = [0u8; 1];
    let _ = getrandom::fill(&mut byte);
    let cap = 1u64 << attempt.min(6);
    tokio::time::sleep(StdDuration::from_millis(u64::from(byte[0]) % (cap + 1))).await;
}

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

/// Settings of a [`Helpdesk`], set through [`Helpdesk::builder`].
#[derive(Debug)]
pub struct HelpdeskBuilder {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: EscalationPolicy,
    session_ttl: Duration,
    throttle: LoginThrottle,
}

impl HelpdeskBuilder {
    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The escalation windows (default: high 1 h, medium 4 h, low 24 h).
    pub fn escalation_policy(mut self, policy: EscalationPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long a session lasts (default: 14 days).
    pub fn session_ttl(mut self, ttl: StdDuration) -> Self {
        self.session_ttl = Duration::from_std(ttl).unwrap_or(self.session_ttl);
        self
    }

    /// Login throttling (default: 5 failures within 15 minutes).
    pub fn login_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = throttle;
        self
    }

    /// The configured helpdesk.
    pub fn build(self) -> Helpdesk {
        Helpdesk {
            inner: Arc::new(Inner {
                store: self.store,
                clock: self.clock,
                policy: self.policy,
                session_ttl: self.session_ttl,
                throttle: self.throttle,
            }),
        }
    }
}

impl fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Store")
    }
}

impl fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// The helpdesk: every use case of the HTTP API, callable from any front end.
///
/// Cheap to clone; clones share the store and settings. Every method that acts for someone
/// takes the [`Actor`] and checks what that actor may do; a ticket the actor may not see is
/// [`Error::NotFound`], never [`Error::Forbidden`], so ids of other people's tickets leak nothing.
#[derive(Debug, Clone)]
pub struct Helpdesk {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: EscalationPolicy,
    session_ttl: Duration,
    throttle: LoginThrottle,
}

fn forbidden(message: &str) -> Error {
    Error::Forbidden(message.to_owned())
}

impl Helpdesk {
    /// A helpdesk with default settings over `store`.
    pub fn new(store: impl Store) -> Self {
        Self::builder(store).build()
    }

    /// Starts configuring a helpdesk over `store`.
    pub fn builder(store: impl Store) -> HelpdeskBuilder {
        Self::builder_shared(Arc::new(store))
    }

    /// [`builder`](Self::builder) for a store that is already shared.
    pub fn builder_shared(store: Arc<dyn Store>) -> HelpdeskBuilder {
        HelpdeskBuilder {
            store,
            clock: Arc::new(SystemClock),
            policy: EscalationPolicy::default(),
            session_ttl: Duration::days(14),
            throttle: LoginThrottle::default(),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The escalation policy.
    pub fn escalation_policy(&self) -> &EscalationPolicy {
        &self.inner.policy
    }

    /// The escalation engine over this helpdesk's store and clock.
    pub fn escalation_engine(&self) -> EscalationEngine {
        EscalationEngine::new(self.inner.store.clone(), self.inner.clock.clone())
    }

    /// An outbox dispatcher delivering through `notifier`.
    pub fn outbox_dispatcher(&self, notifier: impl Notifier) -> OutboxDispatcher {
        OutboxDispatcher::new(
            self.inner.store.clone(),
            Arc::new(notifier),
            self.inner.clock.clone(),
        )
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Checks that the store answers.
    pub async fn health(&self) -> Result<()> {
        self.inner.store.ping().await
    }

    // ----- accounts -------------------------------------------------------------------------

    async fn insert_account(&self, registration: Registration, role: Role) -> Result<User> {
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
        self.inner.store.insert_user(&draft).await
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
        self.inner.store.delete_session(token_hash(token)).await
    }

    /// The actor's own account.
    pub async fn me(&self, actor: &Actor) -> Result<User> {
        match self.inner.store.user(actor.id).await? {
            Some(user) if user.deleted_at.is_none() => Ok(user),
            _ => Err(Error::Unauthenticated),
        }
    }

    fn apply_profile(user: &mut User, patch: ProfilePatch) {
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
        self.inner.store.update_user(&user).await
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
            .await
    }

    /// Deletes the actor's account: personal data erased, sessions revoked; tickets and
    /// comments stay, pointing at the anonymous account.
    pub async fn delete_account(&self, actor: &Actor) -> Result<()> {
        self.inner.store.erase_user(actor.id, self.now()).await
    }

    // ----- user administration --------------------------------------------------------------

    fn require_staff(actor: &Actor) -> Result<()> {
        if actor.is_staff() {
            Ok(())
        } else {
            Err(forbidden("only agents and admins may see users"))
        }
    }

    fn require_admin(actor: &Actor, what: &str) -> Result<()> {
        if actor.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden(format!("only admins may {what}")))
        }
    }

    /// Searches accounts (agents and admins).
    pub async fn list_users(
        &self,
        actor: &Actor,
        query: &UserQuery,
        page: PageRequest,
    ) -> Result<Page<User>> {
        Self::require_staff(actor)?;
        self.inner.store.list_users(query, page).await
    }

    /// Creates an account with any role (admins).
    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<User> {
        Self::require_admin(actor, "create users")?;
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
        self.inner.store.insert_user(&draft).await
    }

    /// Makes sure an admin with this email exists, without an acting admin: creates the
    /// account, or promotes (and reactivates) the existing one, whose password stays as it is.
    /// For bootstrapping from a command line; host applications must not expose it to clients.
    pub async fn bootstrap_admin(&self, registration: Registration) -> Result<AdminBootstrap> {
        let Some((mut user, _)) = self
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
        user.role = Role::Admin;
        user.is_active = true;
        user.updated_at = self.now();
        Ok(AdminBootstrap::Promoted(
            self.inner.store.update_user(&user).await?,
        ))
    }

    /// One account (agents and admins).
    pub async fn get_user(&self, actor: &Actor, id: UserId) -> Result<User> {
        Self::require_staff(actor)?;
        self.inner.store.user(id).await?.ok_or(Error::NotFound)
    }

    /// Changes an account (admins). Deactivating revokes its sessions. Admins cannot demote or
    /// deactivate themselves, so an admin cannot lock themself out by accident.
    pub async fn update_user(&self, actor: &Actor, id: UserId, patch: UserPatch) -> Result<User> {
        Self::require_admin(actor, "change other accounts")?;
        let mut user = self.inner.store.user(id).await?.ok_or(Error::NotFound)?;
        if user.deleted_at.is_some() {
            return Err(Error::Conflict("the account was deleted".into()));
        }
        if id == actor.id
            && (patch.is_active == Some(false) || patch.role.is_some_and(|r| r != Role::Admin))
        {
            return Err(Error::Conflict(
                "admins cannot demote or deactivate themselves".into(),
            ));
        }
        Self::apply_profile(&mut user, patch.profile);
        if let Some(role) = patch.role {
            user.role = role;
        }
        if let Some(is_active) = patch.is_active {
            user.is_active = is_active;
        }
        user.updated_at = self.now();
        self.inner.store.update_user(&user).await
    }

    /// Deletes an account (admins), as if its owner had deleted it.
    pub async fn delete_user(&self, actor: &Actor, id: UserId) -> Result<()> {
        Self::require_admin(actor, "delete accounts")?;
        self.inner.store.erase_user(id, self.now()).await
    }

    // ----- tickets ---------------------------------------------------------------------------

    /// The tickets the actor may see that match `query`.
    pub async fn list_tickets(
        &self,
        actor: &Actor,
        query: &TicketQuery,
        page: PageRequest,
    ) -> Result<Page<Ticket>> {
        self.inner
            .store
            .list_tickets(actor.scope(), query, page)
            .await
    }

    /// Raises a ticket (status `open`, escalation clock started).
    pub async fn create_ticket(&self, actor: &Actor, new: NewTicket) -> Result<Ticket> {
        let now = self.now();
        let draft = TicketDraft {
            due_at: self.inner.policy.due_at(new.priority, now),
            title: new.title,
            description: new.description,
            priority: new.priority,
            created_by: actor.id,
            created_at: now,
        };
        self.inner.store.insert_ticket(&draft).await
    }

    /// A ticket the actor may see.
    pub async fn get_ticket(&self, actor: &Actor, id: TicketId) -> Result<Ticket> {
        match self.inner.store.ticket(id).await? {
            Some(ticket) if can_view(actor, &ticket) => Ok(ticket),
            _ => Err(Error::NotFound),
        }
    }

    /// Reads the ticket, computes a change with `plan`, and writes it if nobody changed the
    /// ticket meanwhile; recomputes on a lost race unless the caller pinned a version.
    async fn change_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        if_match: Option<i64>,
        plan: impl Fn(&Ticket, DateTime<Utc>) -> Result<Option<TicketChange>>,
    ) -> Result<Ticket> {
        for attempt in 0..OPTIMISTIC_RETRIES {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let ticket = self.get_ticket(actor, id).await?;
            if let Some(expected) = if_match
                && expected != ticket.version
            {
                return Err(Error::PreconditionFailed {
                    current: ticket.version,
                });
            }
            let Some(change) = plan(&ticket, self.now())? else {
                return Ok(ticket);
            };
            if self.inner.store.update_ticket(&change).await? {
                return Ok(change.ticket);
            }
        }
        Err(Error::Conflict(
            "the ticket is being changed by others; try again".into(),
        ))
    }

    /// Edits a ticket and/or moves its status, as the ticket rules allow. With `if_match`,
    /// [`Error::PreconditionFailed`] if the ticket is no longer at that version.
    pub async fn update_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        patch: TicketPatch,
        if_match: Option<i64>,
    ) -> Result<Ticket> {
        let policy = &self.inner.policy;
        self.change_ticket(actor, id, if_match, |ticket, now| {
            plan_update(actor, ticket, &patch, policy, now)
        })
        .await
    }

    /// Assigns a ticket to an active agent or admin, or unassigns it with `None` (admins).
    pub async fn assign_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        assignee: Option<UserId>,
        if_match: Option<i64>,
    ) -> Result<Ticket> {
        if !actor.is_admin() {
            // Whoever may not see the ticket must not learn that it exists: 404 before 403.
            self.get_ticket(actor, id).await?;
            return Err(forbidden("only admins may assign tickets"));
        }
        if let Some(assignee) = assignee {
            let staff = self.inner.store.user(assignee).await?;
            if !staff.is_some_and(|u| u.is_active && u.role.is_staff()) {
                return Err(Error::invalid(
                    "agent_id",
                    "must be the id of an active agent or admin",
                ));
            }
        }
        let policy = &self.inner.policy;
        self.change_ticket(actor, id, if_match, |ticket, now| {
            if ticket.assigned_to == assignee {
                return Ok(None);
            }
            let event = event(
                actor,
                HistoryKind::Assigned,
                ticket.assigned_to.map(|a| a.to_string()),
                assignee.map(|a| a.to_string()),
                now,
            );
            let mut next = ticket.clone();
            next.assigned_to = assignee;
            Ok(Some(finish_change(
                actor,
                ticket,
                next,
                vec![event],
                policy,
                now,
            )))
        })
        .await
    }

    /// Deletes a ticket with its comments and history (admins).
    pub async fn delete_ticket(&self, actor: &Actor, id: TicketId) -> Result<()> {
        if !actor.is_admin() {
            self.get_ticket(actor, id).await?;
            return Err(forbidden("only admins may delete tickets"));
        }
        if self.inner.store.delete_ticket(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// A ticket's comments, oldest first.
    pub async fn list_comments(
        &self,
        actor: &Actor,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Page<Comment>> {
        self.get_ticket(actor, id).await?;
        self.inner.store.list_comments(id, page).await
    }

    /// Adds a comment (the creator, the assigned agent, or an admin). A comment by staff
    /// restarts the escalation clock; the creator's own comments do not.
    pub async fn add_comment(
        &self,
        actor: &Actor,
        id: TicketId,
        comment: NewComment,
    ) -> Result<Comment> {
        let ticket = self.get_ticket(actor, id).await?;
        if !can_comment(actor, &ticket) {
            return Err(forbidden("you may not comment on this ticket"));
        }
        let now = self.now();
        let draft = CommentDraft {
            ticket_id: id,
            author_id: actor.id,
            body: comment.body,
            created_at: now,
        };
        let restart = actor
            .is_staff()
            .then(|| ClockRestart::new(&self.inner.policy, now));
        self.inner
            .store
            .insert_comment(&draft, restart.as_ref())
            .await?
            .ok_or(Error::NotFound)
    }

    /// A ticket's history, oldest first.
    pub async fn history(
        &self,
        actor: &Actor,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Page<HistoryEvent>> {
        self.get_ticket(actor, id).await?;
        self.inner.store.list_history(id, page).await
    }

    /// Tickets opened, resolved and escalated in the last 7 days, among those the actor may see.
    pub async fn report_last_7_days(&self, actor: &Actor) -> Result<Report> {
        self.inner
            .store
            .report(actor.scope(), self.now() - Duration::days(7))
            .await
    }

    /// Runs one escalation sweep now (admins).
    pub async fn run_escalation(&self, actor: &Actor) -> Result<EscalationReport> {
        Self::require_admin(actor, "run escalations")?;
        self.escalation_engine().run_once(self.now()).await
    }

    // ----- notifications ---------------------------------------------------------------------

    /// Queued, sent or failed notifications, newest first (admins).
    pub async fn notifications(
        &self,
        actor: &Actor,
        state: NotificationState,
        page: PageRequest,
    ) -> Result<Page<Notification>> {
        Self::require_admin(actor, "see notifications")?;
        self.inner.store.list_notifications(state, page).await
    }

    /// Queues a failed notification for delivery again (admins).
    pub async fn retry_notification(&self, actor: &Actor, id: NotificationId) -> Result<()> {
        Self::require_admin(actor, "retry notifications")?;
        if self.inner.store.retry_notification(id, self.now()).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}

fn event(
    actor: &Actor,
    kind: HistoryKind,
    from: Option<String>,
    to: Option<String>,
    at: DateTime<Utc>,
) -> NewEvent {
    NewEvent {
        actor_id: Some(actor.id),
        kind,
        from,
        to,
        at,
    }
}

/// Completes a change: bumps version and `updated_at`, restarts the escalation clock for staff
/// actions and reopenings, and recomputes `due_at`.
fn finish_change(
    actor: &Actor,
    before: &Ticket,
    mut next: Ticket,
    events: Vec<NewEvent>,
    policy: &EscalationPolicy,
    now: DateTime<Utc>,
) -> TicketChange {
    let reopened = next.status.is_active() && !before.status.is_active();
    if actor.is_staff() || reopened {
        next.clock_started_at = now;
    }
    next.due_at = next
        .status
        .is_active()
        .then(|| policy.due_at(next.priority, next.clock_started_at));
    next.updated_at = now;
    next.version = before.version + 1;
    TicketChange {
        ticket: next,
        expected_version: before.version,
        events,
    }
}

/// The change a patch makes to a ticket, or `None` if it changes nothing.
pub(crate) fn plan_update(
    actor: &Actor,
    ticket: &Ticket,
    patch: &TicketPatch,
    policy: &EscalationPolicy,
    now: DateTime<Utc>,
) -> Result<Option<TicketChange>> {
    let mut next = ticket.clone();
    let mut events = Vec::new();
    if patch.edits_content() {
        if !can_edit(actor, ticket) {
            return Err(forbidden(
                "only the creator of an open ticket, or an admin, may edit it",
            ));
        }
        let mut edited = Vec::new();
        if let Some(title) = patch.title.as_ref().filter(|t| **t != ticket.title) {
            next.title = title.clone();
            edited.push("title");
        }
        if let Some(description) = patch
            .description
            .as_ref()
            .filter(|d| **d != ticket.description)
        {
            next.description = description.clone();
            edited.push("description");
        }
        if let Some(priority) = patch.priority.filter(|p| *p != ticket.priority) {
            next.priority = priority;
            edited.push("priority");
        }
        if !edited.is_empty() {
            events.push(event(
                actor,
                HistoryKind::Edited,
                None,
                Some(edited.join(",")),
                now,
            ));
        }
    }
    if let Some(to) = patch.status.filter(|s| *s != ticket.status) {
        check_ticket_transition(actor, ticket, to)?;
        next.status = to;
        match to {
            Status::Resolved => next.resolved_at = Some(now),
            Status::Open | Status::InProgress => next.resolved_at = None,
            Status::Closed | Status::Escalated => {}
        }
        events.push(event(
            actor,
            HistoryKind::StatusChanged,
            Some(ticket.status.to_string()),
            Some(to.to_string()),
            now,
        ));
    }
    if events.is_empty() {
        return Ok(None);
    }
    Ok(Some(finish_change(
        actor, ticket, next, events, policy, now,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ticket;

    fn at(minutes: i64) -> DateTime<Utc> {
        crate::testing::t0() + Duration::minutes(minutes)
    }

    fn patch(status: Option<Status>, priority: Option<crate::Priority>) -> TicketPatch {
        TicketPatch {
            status,
            priority,
            ..TicketPatch::default()
        }
    }

    #[test]
    fn staff_actions_restart_the_clock_and_user_edits_do_not() {
        let policy = EscalationPolicy::default();
        let creator = Actor::new(UserId(1), Role::User);
        let admin = Actor::new(UserId(9), Role::Admin);
        let t = ticket(UserId(1));

        let by_creator = plan_update(
            &creator,
            &t,
            &patch(None, Some(crate::Priority::High)),
            &policy,
            at(30),
        )
        .unwrap()
        .unwrap();
        assert_eq!(by_creator.ticket.clock_started_at, t.clock_started_at);
        assert_eq!(
            by_creator.ticket.due_at,
            Some(at(60)),
            "priority moves due_at from the original start"
        );
        assert_eq!(by_creator.ticket.version, t.version + 1);
        assert_eq!(by_creator.expected_version, t.version);

        let by_admin = plan_update(
            &admin,
            &t,
            &patch(Some(Status::InProgress), None),
            &policy,
            at(30),
        )
        .unwrap()
        .unwrap();
        assert_eq!(by_admin.ticket.clock_started_at, at(30));
        assert_eq!(by_admin.ticket.due_at, Some(at(30 + 240)));
        assert_eq!(by_admin.events.len(), 1);
        assert_eq!(by_admin.events[0].from.as_deref(), Some("open"));
        assert_eq!(by_admin.events[0].to.as_deref(), Some("in_progress"));
    }

    #[test]
    fn reopening_restarts_the_clock_and_inactive_tickets_have_no_due_time() {
        let policy = EscalationPolicy::default();
        let creator = Actor::new(UserId(1), Role::User);
        let mut t = ticket(UserId(1));
        t.status = Status::Resolved;
        t.due_at = None;
        t.resolved_at = Some(at(10));
        let reopened = plan_update(
            &creator,
            &t,
            &patch(Some(Status::Open), None),
            &policy,
            at(600),
        )
        .unwrap()
        .unwrap();
        assert_eq!(reopened.ticket.clock_started_at, at(600));
        assert_eq!(reopened.ticket.due_at, Some(at(600 + 240)));
        assert_eq!(reopened.ticket.resolved_at, None);

        let closed = plan_update(
            &creator,
            &reopened.ticket,
            &patch(Some(Status::Closed), None),
            &policy,
            at(601),
        )
        .unwrap()
        .unwrap();
        assert_eq!(closed.ticket.due_at, None);
    }

    #[test]
    fn patches_that_change_nothing_write_nothing_and_rules_are_enforced() {
        let policy = EscalationPolicy::default();
        let creator = Actor::new(UserId(1), Role::User);
        let t = ticket(UserId(1));
        let same = TicketPatch {
            title: Some(t.title.clone()),
            status: Some(Status::Open),
            ..TicketPatch::default()
        };
        assert_eq!(
            plan_update(&creator, &t, &same, &policy, at(1)).unwrap(),
            None
        );
        assert!(matches!(
            plan_update(
                &creator,
                &t,
                &patch(Some(Status::InProgress), None),
                &policy,
                at(1)
            ),
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            plan_update(
                &creator,
                &t,
                &patch(Some(Status::Escalated), None),
                &policy,
                at(1)
            ),
            Err(Error::Conflict(_))
        ));
        let mut in_progress = t.clone();
        in_progress.status = Status::InProgress;
        assert!(matches!(
            plan_update(
                &creator,
                &in_progress,
                &patch(None, Some(crate::Priority::Low)),
                &policy,
                at(1)
            ),
            Err(Error::Forbidden(_))
        ));
    }
}
