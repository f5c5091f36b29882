//! The [`Helpdesk`] façade: every use case, with its permission checks and validation, one
//! file per area: [`accounts`](self) (sign-up, sessions, one's own account), users
//! (administration), tickets, comments and history, notifications.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::credentials::Hashing;
use crate::permissions::Actor;
use crate::sla::{InForce, SlaPolicy, SlaPolicySpec};
use crate::{
    Clock, Error, EscalationEngine, EscalationPolicy, Notifier, OutboxDispatcher, Result, Store,
    SystemClock,
};
use sessions::SessionCache;

mod accounts;
mod comments;
mod notifications;
mod service_levels;
mod sessions;
mod throttle;
mod tickets;
mod users;
mod webhooks;

pub use accounts::Login;
pub use throttle::{LoginThrottle, RateLimits};
pub use users::AdminBootstrap;

/// Settings of a [`Helpdesk`], set through [`Helpdesk::builder`].
#[derive(Debug)]
pub struct HelpdeskBuilder {
    inner: Inner,
}

impl HelpdeskBuilder {
    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.inner.clock = Arc::new(clock);
        self
    }

    /// The escalation windows (default: high 1 h, medium 4 h, low 24 h), as the update
    /// targets of the service-level policy the store starts with; see
    /// [`sla_policy`](Self::sla_policy).
    pub fn escalation_policy(mut self, policy: EscalationPolicy) -> Self {
        self.inner.seed = SlaPolicySpec::from(&policy);
        self
    }

    /// The service-level policy the store starts with if it holds none yet (default: the
    /// default [`EscalationPolicy`]). A stored policy wins: it is shared by every instance
    /// and replaced through [`Helpdesk::replace_sla_policy`].
    pub fn sla_policy(mut self, policy: &SlaPolicy) -> Self {
        self.inner.seed = policy.spec().clone();
        self
    }

    /// Who is emailed about warnings, escalations and reminders, where not by default (see
    /// [`Recipients`](crate::Recipients)).
    pub fn recipients(mut self, rule: impl crate::Recipients) -> Self {
        self.inner.recipients = Some(Arc::new(rule));
        self
    }

    /// Which hosts webhooks may reach (default: public addresses over `https` only; see
    /// [`TargetPolicy`](crate::webhooks::TargetPolicy)).
    pub fn webhook_targets(mut self, policy: crate::webhooks::TargetPolicy) -> Self {
        self.inner.targets = policy;
        self
    }

    /// How long a session lasts (default: 14 days).
    pub fn session_ttl(mut self, ttl: StdDuration) -> Self {
        self.inner.session_ttl = Duration::from_std(ttl).unwrap_or(self.inner.session_ttl);
        self
    }

    /// How long a session lookup is reused for later requests with the same token (default
    /// 5 seconds; zero turns the cache off). Sign-outs, password changes, role and activity
    /// changes and deletions made through this helpdesk take effect at once; made by another
    /// instance on the same database, at most this long later.
    pub fn session_cache(mut self, ttl: StdDuration) -> Self {
        self.inner.sessions =
            SessionCache::new(Duration::from_std(ttl).unwrap_or_else(|_| Duration::zero()));
        self
    }

    /// Sign-in, password-change and sign-up throttling (default: see [`LoginThrottle`]).
    pub fn login_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.inner.throttle = throttle;
        self
    }

    /// How many tickets and comments one account may create per hour (default: 60 and 600).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.inner.limits = limits;
        self
    }

    /// Password hashing slots and how long a request waits for one (default: one slot per
    /// core, 5 seconds; see [`Hashing`]).
    pub fn password_hashing(mut self, slots: usize, max_wait: StdDuration) -> Self {
        self.inner.hashing = Hashing::new(slots, max_wait);
        self
    }

    /// The configured helpdesk.
    pub fn build(self) -> Helpdesk {
        Helpdesk {
            inner: Arc::new(self.inner),
        }
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

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    seed: SlaPolicySpec,
    policy: RwLock<Option<Arc<InForce>>>,
    recipients: Option<Arc<dyn crate::Recipients>>,
    targets: crate::webhooks::TargetPolicy,
    session_ttl: Duration,
    throttle: LoginThrottle,
    limits: RateLimits,
    hashing: Hashing,
    sessions: SessionCache,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("now", &self.clock.now())
            .field("seed_policy", &self.seed)
            .field("recipients", &self.recipients)
            .field("webhook_targets", &self.targets)
            .field("session_ttl", &self.session_ttl)
            .field("throttle", &self.throttle)
            .field("limits", &self.limits)
            .field("hashing", &self.hashing)
            .field("session_cache", &self.sessions.ttl())
            .finish_non_exhaustive()
    }
}

fn forbidden(message: &str) -> Error {
    Error::Forbidden(message.to_owned())
}

/// Agents and admins only; `what` completes "only agents and admins may ...".
fn require_staff(actor: &Actor, what: &str) -> Result<()> {
    if actor.is_staff() {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "only agents and admins may {what}"
        )))
    }
}

/// Admins only; `what` completes "only admins may ...".
fn require_admin(actor: &Actor, what: &str) -> Result<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden(format!("only admins may {what}")))
    }
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
            inner: Inner {
                store,
                clock: Arc::new(SystemClock),
                seed: SlaPolicySpec::from(&EscalationPolicy::default()),
                policy: RwLock::new(None),
                recipients: None,
                targets: crate::webhooks::TargetPolicy::default(),
                session_ttl: Duration::days(14),
                throttle: LoginThrottle::default(),
                limits: RateLimits::default(),
                hashing: Hashing::per_core(),
                sessions: SessionCache::new(Duration::seconds(5)),
            },
        }
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The escalation engine over this helpdesk's store, clock and policy.
    pub fn escalation_engine(&self) -> EscalationEngine {
        EscalationEngine::new(self.clone())
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub(crate) fn recipients(&self) -> Option<&dyn crate::Recipients> {
        self.inner.recipients.as_deref()
    }

    /// An outbox dispatcher delivering through `notifier`.
    pub fn outbox_dispatcher(&self, notifier: impl Notifier) -> OutboxDispatcher {
        OutboxDispatcher::new(
            self.inner.store.clone(),
            Arc::new(notifier),
            self.inner.clock.clone(),
        )
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Seconds since `queued`, 0 for none.
    fn age(&self, queued: Option<DateTime<Utc>>) -> f64 {
        queued.map_or(0.0, |queued| {
            (self.now() - queued).num_milliseconds().max(0) as f64 / 1000.0
        })
    }

    /// Checks that the store answers.
    pub async fn health(&self) -> Result<()> {
        Ok(self.inner.store.ping().await?)
    }

    /// Sets the gauges read from the store (see [`metrics`](crate::metrics)): emails in the
    /// outbox and webhook deliveries by state, the age of the oldest pending of each, and the
    /// store's connections. For exporters, before each scrape; two cheap statements.
    pub async fn record_gauges(&self) -> Result<()> {
        use crate::metrics::{
            NOTIFICATIONS, OLDEST_PENDING_AGE, STORE_CONNECTIONS, WEBHOOK_BACKLOG,
            WEBHOOK_OLDEST_PENDING_AGE,
        };
        let backlog = self.inner.store.notification_backlog().await?;
        for (state, count) in [
            ("pending", backlog.pending),
            ("sent", backlog.sent),
            ("failed", backlog.failed),
        ] {
            metrics::gauge!(NOTIFICATIONS, "state" => state).set(count as f64);
        }
        metrics::gauge!(OLDEST_PENDING_AGE).set(self.age(backlog.oldest_pending));
        let webhooks = self.inner.store.webhook_backlog().await?;
        for (state, count) in [("pending", webhooks.pending), ("failed", webhooks.failed)] {
            metrics::gauge!(WEBHOOK_BACKLOG, "state" => state).set(count as f64);
        }
        metrics::gauge!(WEBHOOK_OLDEST_PENDING_AGE).set(self.age(webhooks.oldest_pending));
        for pool in self.inner.store.connections() {
            let in_use = pool.open.saturating_sub(pool.idle);
            metrics::gauge!(STORE_CONNECTIONS, "pool" => pool.pool, "state" => "in_use")
                .set(f64::from(in_use));
            metrics::gauge!(STORE_CONNECTIONS, "pool" => pool.pool, "state" => "idle")
                .set(f64::from(pool.idle));
        }
        Ok(())
    }
}
