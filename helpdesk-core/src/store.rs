//! The ports a storage adapter implements.
//!
//! Each trait holds one aggregate's queries; [`Store`] bundles them, so a host hands the
//! library one value. Writes that belong together (a ticket change and its history events, an
//! escalation and its queued emails) are single methods, so an adapter can make each one
//! transaction.
//!
//! Every method returns a [`StoreError`]: a unique constraint that refused a write (named, so
//! core can say what was taken), a store that cannot answer now, or any other failure of the
//! backend. Core converts it into the library's [`Error`] in one place; "not found" is never
//! an error here but an `Option` or a `bool` that each method documents.
//!
//! `helpdesk-sqlite` is the reference adapter; its conformance suite is written once so any
//! other adapter can run the same tests.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::EscalationReport;
use crate::notify::{Notification, NotificationBacklog, NotificationState, Recipients};
use crate::sla::{SlaPolicy, SlaPolicySpec, Target};
use crate::webhooks::{
    AttemptOutcome, Delivery, DeliveryState, Event, EventFilter, OutgoingDelivery, Secret, Webhook,
    WebhookPatch,
};
use crate::{
    BoxError, Comment, Error, HistoryEvent, NewEvent, NotificationId, Page, PageRequest, Priority,
    Report, Role, Sla, SlaByPriority, Status, Ticket, TicketId, TicketQuery, TicketScope, User,
    UserId, UserQuery,
};
use crate::{DeliveryId, WebhookId};

/// The unique constraint on account emails, as [`StoreError::UniqueViolation`] names it.
pub const USERS_EMAIL: &str = "users.email";

/// What a store reports when a method fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique constraint refused the write; nothing was written. `constraint` names it as
    /// `table.column` (for example [`USERS_EMAIL`]).
    #[error("unique constraint {constraint} violated")]
    UniqueViolation {
        /// `table.column` of the constraint.
        constraint: String,
    },
    /// The store cannot answer now (pool exhausted, connection lost, shutting down); nothing
    /// was written and the call is worth retrying later.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Any other failure of the backend, or a stored value the schema should never hold.
    #[error("store failure: {0}")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// A backend failure from any error.
    pub fn backend(error: impl Into<BoxError>) -> Self {
        StoreError::Backend(error.into())
    }
}

/// The result of a store method.
pub type StoreResult<T> = std::result::Result<T, StoreError>;

impl From<StoreError> for Error {
    /// The one conversion of store failures: a taken email is a [`Error::Conflict`] the client
    /// can act on; an unavailable store is [`Error::Unavailable`]; anything else, including
    /// other unique violations that no client input can cause, is [`Error::Store`].
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UniqueViolation { constraint } if constraint == USERS_EMAIL => {
                Error::Conflict("an account with this email already exists".into())
            }
            StoreError::Unavailable(e) => Error::Unavailable(e),
            other => Error::Store(other.into()),
        }
    }
}

/// The `LIKE` pattern that finds `text` anywhere, with `%`, `_` and `\` escaped by `\` (use
/// `ESCAPE '\'`), so a search matches its text literally. For SQL adapters.
///
/// ```
/// assert_eq!(helpdesk_core::store::like_contains("100%_off"), "%100\\%\\_off%");
/// ```
pub fn like_contains(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The SHA-256 of a session token: all a store ever keeps of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A key the throttle counts: the SHA-256 of what is counted (an email and a client address,
/// say), so the store keeps no email and every key has the same size.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottleKey(pub [u8; 32]);

impl std::fmt::Debug for ThrottleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ThrottleKey(..)")
    }
}

/// The hits of a throttle key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hits {
    /// How many, this one included.
    pub count: u32,
    /// When the window ends.
    pub until: DateTime<Utc>,
}

/// A hit counted against a limit in the same transaction as the write it limits (see
/// [`TicketStore::insert_ticket_within`]), counted as [`SessionStore::hit`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// What is counted.
    pub key: ThrottleKey,
    /// The most hits a window allows; past it the write is refused (its hit still counts).
    pub limit: u32,
    /// When the hit happens.
    pub at: DateTime<Utc>,
    /// When a window that this hit starts ends.
    pub new_window_ends: DateTime<Utc>,
}

/// What a user update writes: only the fields that are `Some`, so concurrent updates of other
/// fields are never undone (a profile edit never writes role or `is_active`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUpdate {
    /// Normalised, lower-case email.
    pub email: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Role.
    pub role: Option<Role>,
    /// Whether the account may sign in; `false` revokes its sessions.
    pub is_active: Option<bool>,
    /// The time of the change.
    pub updated_at: DateTime<Utc>,
}

/// An account about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDraft {
    /// Normalised, lower-case email.
    pub email: String,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Role.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A ticket about to be stored, with its `created` history event implied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDraft {
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Priority.
    pub priority: Priority,
    /// Creator.
    pub created_by: UserId,
    /// Creation time; also starts the update and resolution clocks.
    pub created_at: DateTime<Utc>,
    /// When it escalates if nobody acts: the earlier of the deadlines in `sla`.
    pub due_at: Option<DateTime<Utc>>,
    /// Its deadlines and the version of the policy that set them.
    pub sla: Sla,
}

/// A ticket's new state, written only if the stored version is still `expected_version`,
/// together with the history events that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketChange {
    /// The complete new state; its `version` is `expected_version + 1`.
    pub ticket: Ticket,
    /// The version the change was computed from.
    pub expected_version: i64,
    /// History events to record in the same transaction.
    pub events: Vec<NewEvent>,
    /// The pause the change ends or starts, if any.
    pub pause: Option<PauseChange>,
}

/// How a status change moves a ticket's pauses: the stints in `waiting`, `resolved` or
/// `closed`, during which no service-level time counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseChange {
    /// When.
    pub at: DateTime<Utc>,
    /// Who changed the status.
    pub by: Option<UserId>,
    /// Whether the ticket's current pause ends.
    pub ends_current: bool,
    /// The status of the pause that starts, if one does.
    pub starts: Option<Status>,
}

/// A stint in which a ticket's clocks stood still, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseRecord {
    /// The status it was in: `waiting`, `resolved` or `closed`.
    pub status: Status,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Who started it.
    pub started_by: Option<UserId>,
    /// When it ended; `None` while it lasts.
    pub ended_at: Option<DateTime<Utc>>,
    /// Who ended it.
    pub ended_by: Option<UserId>,
}

impl From<&PauseRecord> for crate::business_hours::Pause {
    fn from(p: &PauseRecord) -> Self {
        Self {
            start: p.started_at,
            end: p.ended_at,
        }
    }
}

/// New deadlines for a ticket under a new policy, written only if the ticket is still at
/// `version` (a concurrent change computed its own). Neither `version` nor `updated_at` moves:
/// nothing the ticket's people did changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineUpdate {
    /// The ticket.
    pub id: TicketId,
    /// The version the deadlines were computed from.
    pub version: i64,
    /// The new `due_at`.
    pub due_at: Option<DateTime<Utc>>,
    /// The new deadlines, breaches and policy version (waiting and pauses are left alone).
    pub sla: Sla,
}

/// The service-level policy as stored: one per store, shared by every instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// The policy.
    pub spec: SlaPolicySpec,
    /// 1 for the first, one more on every replacement.
    pub version: i64,
    /// When it was stored.
    pub updated_at: DateTime<Utc>,
}

/// What storing a comment does to its ticket besides.
#[derive(Debug, Clone, Copy)]
pub enum CommentEffect<'a> {
    /// Nothing.
    None,
    /// A staff comment: the update clock restarts.
    Restart(&'a ClockRestart),
    /// A change of the ticket (the creator's comment on a `waiting` ticket reopens it),
    /// applied as [`TicketStore::update_ticket`] does; if the ticket is no longer at the
    /// expected version nothing is stored and the store answers `None`.
    Change(&'a TicketChange),
}

/// What a staff action does to a ticket without changing its fields: the update clock
/// restarts at `at`. Stores apply it in one statement, whatever the ticket's current state, so
/// it never conflicts with a concurrent change.
///
/// If the ticket is `open` or `in_progress`, its update deadline becomes the one of its
/// priority, its update breach is cleared and `due_at` becomes the earlier of that deadline
/// and its resolution deadline unless breached. Otherwise only `clock_started_at`,
/// `updated_at` and the version move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockRestart {
    /// When the clock restarts; also the new `updated_at`.
    pub at: DateTime<Utc>,
    /// The new update deadline for a ticket of each priority (indexed by
    /// [`Priority::rank`]); `None`: never.
    pub due_by_rank: [Option<DateTime<Utc>>; 3],
    /// When the warning of that deadline goes out, per priority; `None`: never. Stores write
    /// it unless the deadline was warned of already.
    pub warn_by_rank: [Option<DateTime<Utc>>; 3],
    /// The counted seconds from the ticket's creation to `at`, recorded as its first response
    /// (with `at`) unless it has one already; `None` records nothing.
    pub first_response_seconds: Option<i64>,
}

impl ClockRestart {
    /// The restart at `at` under `policy`.
    pub fn new(policy: &SlaPolicy, at: DateTime<Utc>) -> Self {
        Self {
            at,
            due_by_rank: by_rank(|p| policy.update_due(p, at, &[])),
            warn_by_rank: by_rank(|p| policy.warn_at(p, Target::Update, at, &[])),
            first_response_seconds: None,
        }
    }

    /// The same restart, recording the first response of `ticket` if it has none yet.
    pub fn responding_to(self, policy: &SlaPolicy, ticket: &Ticket) -> Self {
        Self {
            first_response_seconds: policy.first_response(ticket, self.at),
            ..self
        }
    }
}

/// A value for each priority, indexed by [`Priority::rank`].
fn by_rank<T>(mut f: impl FnMut(Priority) -> T) -> [T; 3] {
    [f(Priority::Low), f(Priority::Medium), f(Priority::High)]
}

/// One escalation sweep: the instant it compares deadlines with, what the policy in force
/// says about reminders and the emails, and who receives them.
#[derive(Debug, Clone, Copy)]
pub struct Sweep<'a> {
    /// Deadlines, warnings and reminders at or before this instant are due.
    pub now: DateTime<Utc>,
    /// When a ticket of each priority (indexed by [`Priority::rank`]) that escalates or is
    /// reminded now is reminded next; `None`: never.
    pub remind_by_rank: [Option<DateTime<Utc>>; 3],
    /// The most reminders per escalation.
    pub max_reminders: u32,
    /// The IANA time zone the emails write instants in.
    pub time_zone: &'a str,
    /// Who is emailed, where not by default (see [`Recipients`]).
    pub recipients: Option<&'a dyn Recipients>,
}

impl<'a> Sweep<'a> {
    /// A sweep at `now` under `policy`.
    pub fn new(policy: &'a SlaPolicy, now: DateTime<Utc>) -> Self {
        Self {
            now,
            remind_by_rank: by_rank(|p| policy.next_reminder(p, now)),
            max_reminders: policy.spec().max_reminders,
            time_zone: policy.time_zone(),
            recipients: None,
        }
    }

    /// The same sweep, emailing whom `rule` says.
    pub fn with_recipients(self, rule: Option<&'a dyn Recipients>) -> Self {
        Self {
            recipients: rule,
            ..self
        }
    }

    /// A sweep at `now` without reminders, writing instants in UTC.
    pub fn at(now: DateTime<Utc>) -> Sweep<'static> {
        Sweep {
            now,
            remind_by_rank: [None; 3],
            max_reminders: 0,
            time_zone: "UTC",
            recipients: None,
        }
    }
}

/// A comment about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentDraft {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The author.
    pub author_id: UserId,
    /// Validated text.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// Accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new account. MUST return [`StoreError::UniqueViolation`] naming
    /// [`USERS_EMAIL`] when the email is taken.
    async fn insert_user(&self, draft: &UserDraft) -> StoreResult<User>;

    /// An account by id, deleted ones included.
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;

    /// A not-deleted account and its password hash, by normalised email.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>>;

    /// The password hash of a not-deleted account.
    async fn password_hash(&self, id: UserId) -> StoreResult<Option<String>>;

    /// Writes the fields of `update` that are set (and `updated_at`), in one statement, so
    /// that fields it does not set keep whatever a concurrent update wrote; revokes every
    /// session in the same transaction when the stored account ends up inactive. The stored
    /// account, or `None` (and nothing written) for a missing or deleted one. MUST return
    /// [`StoreError::UniqueViolation`] naming [`USERS_EMAIL`] when the email is taken.
    async fn update_user(&self, id: UserId, update: &UserUpdate) -> StoreResult<Option<User>>;

    /// Replaces the password hash and revokes every session but `keep`, in one transaction;
    /// `false` (and nothing written) for a missing or deleted account.
    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep: Option<TokenHash>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Deletes an account: replaces its email with `deleted:{id}` (not an address anyone can
    /// register, so erasure never depends on one), erases names and password, deactivates it,
    /// revokes its
    /// sessions and drops its unsent notifications, in one transaction. Tickets, comments and
    /// history keep pointing at the now anonymous account. `false` (and nothing written) if
    /// missing or already deleted.
    async fn erase_user(&self, id: UserId, now: DateTime<Utc>) -> StoreResult<bool>;

    /// A page of not-deleted accounts, ordered by id.
    async fn list_users(&self, query: &UserQuery, page: PageRequest) -> StoreResult<Page<User>>;
}

/// Sign-in sessions and login throttling.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a session (and may drop the user's expired ones).
    async fn insert_session(
        &self,
        token: TokenHash,
        user: UserId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The active, not-deleted user of an unexpired session.
    async fn session_user(&self, token: TokenHash, now: DateTime<Utc>)
    -> StoreResult<Option<User>>;

    /// Revokes one session; revoking an unknown one is not an error.
    async fn delete_session(&self, token: TokenHash) -> StoreResult<()>;

    /// Counts one hit of `key` at `at`, atomically however many callers hit it at once, and
    /// returns the hits of its current window with the window's end. A window that ends at or
    /// before `at` is over: this hit starts a new one (1 hit, ending at `new_window_ends`).
    /// Keys whose window is over are deleted on the way, so the store keeps one row per key
    /// whose window is on.
    async fn hit(
        &self,
        key: ThrottleKey,
        at: DateTime<Utc>,
        new_window_ends: DateTime<Utc>,
    ) -> StoreResult<Hits>;

    /// Forgets the hits of `key` (after a successful sign-in); forgetting an unknown key is not
    /// an error.
    async fn forget_hits(&self, key: ThrottleKey) -> StoreResult<()>;
}

/// Tickets, the escalation sweep and the report.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Stores a new ticket (status `open`, version 1) and its `created` event.
    async fn insert_ticket(&self, draft: &TicketDraft) -> StoreResult<Ticket>;

    /// Counts one hit of `quota` and, unless it is past the quota's limit, stores the ticket
    /// as [`insert_ticket`](Self::insert_ticket) does, in one transaction: the hit is counted
    /// if and only if the answer is `Ok`, and the ticket is stored if and only if that is
    /// `Ok(Ok(_))`. `Ok(Err(hits))` when the hit is past the limit: only the hit is stored.
    async fn insert_ticket_within(
        &self,
        draft: &TicketDraft,
        quota: &Quota,
    ) -> StoreResult<Result<Ticket, Hits>>;

    /// A ticket by id.
    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>>;

    /// Applies a change (with its events and pause) if the stored version is still the
    /// expected one; `false` if it is not (or the ticket is gone), in which case nothing is
    /// written.
    async fn update_ticket(&self, change: &TicketChange) -> StoreResult<bool>;

    /// A ticket's pauses, by start.
    async fn pauses(&self, id: TicketId) -> StoreResult<Vec<PauseRecord>>;

    /// Up to `limit` tickets in `open`, `in_progress`, `escalated` or `waiting` whose
    /// deadlines were computed with a policy version above 0 and below `policy_version`, in
    /// the order of (that version, id), after `after` (the last ticket's pair, or
    /// `(0, TicketId(0))` to start); each with its pauses by start. Called before every sweep:
    /// it must cost next to nothing when there are none, and each batch must cost its size,
    /// not the number left (an index of tickets by (version, id)).
    async fn tickets_off_policy(
        &self,
        policy_version: i64,
        after: (i64, TicketId),
        limit: u32,
    ) -> StoreResult<Vec<(Ticket, Vec<PauseRecord>)>>;

    /// Writes new deadlines, each only if its ticket is still at the version it names; how
    /// many were written.
    async fn set_deadlines(&self, updates: &[DeadlineUpdate]) -> StoreResult<u64>;

    /// Deletes a ticket with its comments, history and unsent notifications, and queues its
    /// `ticket.deleted` webhook event (`by` acted at `at`); `false` if missing.
    async fn delete_ticket(&self, id: TicketId, by: UserId, at: DateTime<Utc>)
    -> StoreResult<bool>;

    /// A page of the tickets in `scope` that match `query`, in the query's order.
    async fn list_tickets(
        &self,
        scope: TicketScope,
        query: &TicketQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Ticket>>;

    /// In one transaction, records every deadline breached at `sweep.now` and escalates its
    /// ticket, then sends the warnings and reminders due:
    ///
    /// - the update deadline of an `open` or `in_progress` ticket without an update breach;
    /// - the resolution deadline of an `open`, `in_progress` or `escalated` ticket unless its
    ///   resolution breach is of that same deadline.
    ///
    /// For each breach: the ticket's breach of that target becomes (deadline, `now`); it moves
    /// to `escalated` if it is not (`escalated_at` set, its reminders reset: none sent, the
    /// first at its priority's `remind_by_rank`); an `escalated` event records the status
    /// before (`from`) and the target (`to`: `update` or `resolution`); one notification is
    /// queued per recipient (the active creator, and every other active admin, unless
    /// `sweep.recipients` says otherwise, as for every alert below). `due_at`
    /// becomes the next deadline (see [`Sla::next_due`]) and the breached target's warning is
    /// dropped.
    ///
    /// Then, for each warning instant passed (`update_warn_at`, `resolve_warn_at`) whose
    /// deadline is still ahead: an `sla_warning` event (`to`: the target), a `warning`
    /// notification to the active assignee (every active admin if there is none), and the
    /// deadline is marked warned of, so no later write sets its warning again. And for each
    /// `escalated` ticket whose reminder is due and that has had fewer than `max_reminders`:
    /// an `escalation_reminder` event (`to`: its number), a `reminder` notification to every
    /// active admin, and the next reminder at `remind_by_rank` (none after the last).
    /// Warnings and reminders change neither `version` nor `updated_at`.
    ///
    /// Whatever statement claims a breach, warning or reminder decides, so concurrent sweeps
    /// record each exactly once.
    async fn escalate_overdue(&self, sweep: &Sweep<'_>) -> StoreResult<EscalationReport>;

    /// Counts of `created`, `status_changed` to resolved, and `escalated` events at or after
    /// `since`, over the tickets in `scope`.
    async fn report(&self, scope: TicketScope, since: DateTime<Utc>) -> StoreResult<Report>;

    /// Per priority, over the tickets in `scope` and the window `from..=to`: tickets created;
    /// tickets whose `resolved_at` falls in it, and those of them without a resolution breach
    /// found before it; `escalated` events by target (by the priority the sweep recorded on
    /// them); the median `first_response_seconds` of the tickets created that have one (the
    /// mean of the two middle ones for an even count, rounded down). Set-based, each part from
    /// an index.
    async fn sla_report(
        &self,
        scope: TicketScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<SlaByPriority>;
}

/// Comments.
#[async_trait]
pub trait CommentStore: Send + Sync {
    /// Stores a comment with its `commented` event and applies its `effect` on the ticket,
    /// in one transaction. `None` if the ticket does not exist (or, for
    /// [`CommentEffect::Change`], is no longer at the expected version); then nothing is
    /// written.
    async fn insert_comment(
        &self,
        draft: &CommentDraft,
        effect: CommentEffect<'_>,
    ) -> StoreResult<Option<Comment>>;

    /// Counts one hit of `quota` and, unless it is past the quota's limit, does what
    /// [`insert_comment`](Self::insert_comment) does, in one transaction: the hit is counted
    /// if and only if the answer is `Ok` (also `Ok(Ok(None))`: the hit counts, nothing else is
    /// written). `Ok(Err(hits))` when the hit is past the limit: only the hit is stored.
    async fn insert_comment_within(
        &self,
        draft: &CommentDraft,
        effect: CommentEffect<'_>,
        quota: &Quota,
    ) -> StoreResult<Result<Option<Comment>, Hits>>;

    /// A page of a ticket's comments, oldest first.
    async fn list_comments(
        &self,
        ticket: TicketId,
        page: PageRequest,
    ) -> StoreResult<Page<Comment>>;
}

/// The service-level policy.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// The stored policy, if any.
    async fn sla_policy(&self) -> StoreResult<Option<StoredPolicy>>;

    /// Stores `spec` as version 1 if no policy is stored yet; the stored policy either way
    /// (concurrent seeds agree on one).
    async fn seed_sla_policy(
        &self,
        spec: &SlaPolicySpec,
        at: DateTime<Utc>,
    ) -> StoreResult<StoredPolicy>;

    /// Replaces the policy if the stored version is `expected` (any version if `None`):
    /// `Ok` with the new one (version + 1), or `Err` with the stored one, nothing written.
    async fn replace_sla_policy(
        &self,
        spec: &SlaPolicySpec,
        expected: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<Result<StoredPolicy, StoredPolicy>>;
}

/// Ticket history.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// A page of a ticket's history, oldest first.
    async fn list_history(
        &self,
        ticket: TicketId,
        page: PageRequest,
    ) -> StoreResult<Page<HistoryEvent>>;
}

/// The transactional outbox of notifications.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to `limit` pending notifications due at `now`: counts an attempt on each and
    /// hides it from other claimers until `now + lease`, atomically, so two dispatchers never
    /// hold the same row. A claimer that dies leaves the row to be claimed again after the lease.
    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<Notification>>;

    /// Marks a claimed notification delivered.
    async fn mark_sent(&self, id: NotificationId, at: DateTime<Utc>) -> StoreResult<()>;

    /// Records a failed attempt; the notification becomes due again at `retry_at`.
    async fn mark_retry(
        &self,
        id: NotificationId,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()>;

    /// Records the last failed attempt; the notification stays `failed` until retried by hand.
    async fn mark_failed(
        &self,
        id: NotificationId,
        at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()>;

    /// A page of notifications in a state, newest first.
    async fn list_notifications(
        &self,
        state: NotificationState,
        page: PageRequest,
    ) -> StoreResult<Page<Notification>>;

    /// Deletes the `sent` notifications sent before `before` and the `failed` ones that failed
    /// before it; never a pending one. Returns how many.
    async fn prune_notifications(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// Moves a `failed` notification back to `pending`, due at `now`, with its attempts reset;
    /// `false` if there is no failed notification with that id.
    async fn retry_notification(&self, id: NotificationId, now: DateTime<Utc>)
    -> StoreResult<bool>;

    /// How many notifications are in each state, and when the oldest pending one was queued
    /// (for metrics: read from indexes, cheap enough for every scrape).
    async fn notification_backlog(&self) -> StoreResult<NotificationBacklog>;
}

/// Webhook subscriptions and their deliveries.
///
/// Besides these methods, every write of a ticket, comment or deletion (and the escalation
/// sweep) queues the events of what it records for the active
/// subscriptions that want them, in its own transaction (one delivery per subscription and
/// event); see the conformance suite.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Creates a subscription with its secret.
    async fn insert_webhook(&self, draft: &WebhookDraft) -> StoreResult<Webhook>;

    /// One subscription.
    async fn webhook(&self, id: WebhookId) -> StoreResult<Option<Webhook>>;

    /// A page of subscriptions, oldest first, with their count.
    async fn list_webhooks(&self, page: PageRequest) -> StoreResult<Page<Webhook>>;

    /// Changes a subscription; `None` if there is none. Activating it clears
    /// `disabled_reason`.
    async fn update_webhook(
        &self,
        id: WebhookId,
        patch: &WebhookPatch,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Webhook>>;

    /// Deletes a subscription and its deliveries; `false` if there was none.
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool>;

    /// Replaces a subscription's secret; the old one keeps signing beside it until
    /// `previous_until`. `false` if there is no such subscription.
    async fn rotate_webhook_secret(
        &self,
        id: WebhookId,
        secret: &Secret,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Switches a subscription off, saying why (a `410 Gone`), and fails its pending
    /// deliveries.
    async fn disable_webhook(
        &self,
        id: WebhookId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The in-process subscription called `name`, created with `events` if missing, or given
    /// them if they changed.
    async fn ensure_in_process_webhook(
        &self,
        name: &str,
        events: &EventFilter,
        at: DateTime<Utc>,
    ) -> StoreResult<Webhook>;

    /// Queues `event` for one subscription only (a ping); `None` if there is none.
    async fn queue_for_webhook(
        &self,
        id: WebhookId,
        event: &Event,
    ) -> StoreResult<Option<Delivery>>;

    /// A page of a subscription's deliveries, newest first, in one state or all.
    async fn list_deliveries(
        &self,
        webhook: WebhookId,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>>;

    /// Queues a delivery again, due at `now`, with its attempts and age reset (a failed one, a
    /// sent one, or a pending one sooner); `None` if there is none.
    async fn redeliver(&self, id: DeliveryId, now: DateTime<Utc>) -> StoreResult<Option<Delivery>>;

    /// Claims up to `limit` pending deliveries of active subscriptions due at `now`, as
    /// [`OutboxStore::claim_notifications`] claims emails: counted, hidden until
    /// `now + lease`, never held by two claimers.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutgoingDelivery>>;

    /// Records how a claimed delivery's attempt ended.
    async fn finish_delivery(&self, id: DeliveryId, outcome: &AttemptOutcome) -> StoreResult<()>;

    /// Deletes deliveries sent or failed before `before`, and events no delivery needs;
    /// how many deliveries.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// How many deliveries are pending and failed, and when the oldest pending one was
    /// queued (for metrics: cheap enough for every scrape).
    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog>;
}

/// The deliveries waiting and given up on, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookBacklog {
    /// Waiting for (another) attempt.
    pub pending: u64,
    /// Given up on (until pruned, or redelivered).
    pub failed: u64,
    /// When the oldest pending delivery was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// A subscription about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDraft {
    /// Where events are posted.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// Which events it receives.
    pub events: EventFilter,
    /// Its signing secret.
    pub secret: Secret,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The use of one pool of database connections, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// The pool's name (`reader`, `writer`, ...).
    pub pool: &'static str,
    /// Connections open now.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
}

/// Everything the library needs from storage.
#[async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + TicketStore
    + CommentStore
    + HistoryStore
    + OutboxStore
    + PolicyStore
    + WebhookStore
    + 'static
{
    /// Checks that the store answers (for health checks).
    async fn ping(&self) -> StoreResult<()>;

    /// The store's connection pools now (for metrics); none by default.
    fn connections(&self) -> Vec<PoolUsage> {
        Vec::new()
    }
}
