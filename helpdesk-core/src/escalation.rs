//! The escalation policy (how long each priority may wait) and the engine that escalates
//! overdue tickets.

use std::fmt;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::background::{BackgroundHandle, spawn_periodic};
use crate::{Error, Priority, Result};

/// Decides when working time has elapsed: round the clock ([`AlwaysOpen`]) or in business
/// hours ([`BusinessHours`](crate::business_hours::BusinessHours)). The policy and the stores
/// only ever see the resulting instants.
pub trait Calendar: Send + Sync + fmt::Debug + 'static {
    /// The instant at which `work` of working time has passed since `start` (`start` itself
    /// for no work; `DateTime::<Utc>::MAX_UTC` if it never does).
    fn deadline(&self, start: DateTime<Utc>, work: Duration) -> DateTime<Utc>;

    /// The working time between `from` and `to` (zero if `to` is not after `from`).
    fn counted(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration;
}

/// Every hour counts ("24/7").
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysOpen;

impl Calendar for AlwaysOpen {
    fn deadline(&self, start: DateTime<Utc>, work: Duration) -> DateTime<Utc> {
        start
            .checked_add_signed(work.max(Duration::zero()))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn counted(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        (to - from).max(Duration::zero())
    }
}

/// The longest escalation window accepted: 366 days, the longest service-level target.
pub const WINDOW_MAX: StdDuration = StdDuration::from_secs(crate::sla::TARGET_MAX_SECONDS);

/// How long a ticket of each priority may go without staff activity before it escalates,
/// round the clock: the update targets of a service-level policy, the policy a store starts
/// with. [`SlaPolicySpec`](crate::sla::SlaPolicySpec) says more (business hours, resolution
/// targets).
///
/// ```
/// # use helpdesk_core::{EscalationPolicy, Priority};
/// let policy = EscalationPolicy::default();
/// let created: chrono::DateTime<chrono::Utc> = "2026-11-26T12:00:00Z".parse().unwrap();
/// assert_eq!(policy.due_at(Priority::High, created).to_rfc3339(), "2026-11-26T13:00:00+00:00");
/// assert_eq!(policy.due_at(Priority::Low, created).to_rfc3339(), "2026-11-27T12:00:00+00:00");
/// ```
#[derive(Debug, Clone)]
pub struct EscalationPolicy {
    high: Duration,
    medium: Duration,
    low: Duration,
}

impl Default for EscalationPolicy {
    /// High 1 h, medium 4 h, low 24 h, round the clock.
    fn default() -> Self {
        Self {
            high: Duration::hours(1),
            medium: Duration::hours(4),
            low: Duration::hours(24),
        }
    }
}

impl EscalationPolicy {
    /// A policy with the given windows (each more than zero and at most [`WINDOW_MAX`]).
    pub fn new(high: StdDuration, medium: StdDuration, low: StdDuration) -> Result<Self> {
        let mut errors = crate::FieldErrors::new();
        let mut window = |field: &str, d: StdDuration| match Duration::from_std(d) {
            Ok(w) if !d.is_zero() && d <= WINDOW_MAX => w,
            _ => {
                errors.add(field, "must be 1 second to 366 days");
                Duration::zero()
            }
        };
        let (high, medium, low) = (
            window("high", high),
            window("medium", medium),
            window("low", low),
        );
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(Self { high, medium, low })
    }

    /// The window of a priority.
    pub fn window(&self, priority: Priority) -> Duration {
        match priority {
            Priority::High => self.high,
            Priority::Medium => self.medium,
            Priority::Low => self.low,
        }
    }

    /// When a ticket escalates if its clock (re)started at `clock_start`.
    pub fn due_at(&self, priority: Priority, clock_start: DateTime<Utc>) -> DateTime<Utc> {
        AlwaysOpen.deadline(clock_start, self.window(priority))
    }
}

impl From<&EscalationPolicy> for crate::sla::SlaPolicySpec {
    /// The windows as update targets, counted always, with nothing else.
    fn from(policy: &EscalationPolicy) -> Self {
        let secs = |p| policy.window(p).num_seconds().unsigned_abs();
        Self::update_only(
            secs(Priority::High),
            secs(Priority::Medium),
            secs(Priority::Low),
        )
    }
}

/// What one escalation sweep did (a run of the engine, or the store's sweep it asks for).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EscalationReport {
    /// The tickets escalated (or found past another deadline while escalated), ascending.
    pub escalated: Vec<crate::TicketId>,
    /// The tickets warned of a deadline ahead, ascending.
    pub warned: Vec<crate::TicketId>,
    /// The tickets reminded of, still escalated, ascending.
    pub reminded: Vec<crate::TicketId>,
    /// How many emails were queued.
    pub notifications_queued: u64,
}

/// Escalates overdue tickets: once on demand ([`run_once`](Self::run_once)) or periodically in
/// the background ([`spawn`](Self::spawn)). Any number of engines may run against one store;
/// the store guarantees each deadline breaches once. Get one from
/// [`Helpdesk::escalation_engine`](crate::Helpdesk::escalation_engine).
#[derive(Clone)]
pub struct EscalationEngine {
    helpdesk: crate::Helpdesk,
}

impl fmt::Debug for EscalationEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EscalationEngine").finish_non_exhaustive()
    }
}

impl EscalationEngine {
    pub(crate) fn new(helpdesk: crate::Helpdesk) -> Self {
        Self { helpdesk }
    }

    /// Escalates every ticket with a deadline breached at `now`, queueing its emails in the
    /// same transaction. First picks up a policy another instance stored since the last run
    /// (and recomputes the deadlines it moves), so the sweep compares current deadlines.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<EscalationReport> {
        self.helpdesk.sync_sla_policy().await?;
        let in_force = self.helpdesk.policy().await?;
        let sweep = crate::store::Sweep::new(&in_force.policy, now)
            .with_recipients(self.helpdesk.recipients());
        let report = self.helpdesk.store().escalate_overdue(&sweep).await?;
        metrics::counter!(crate::metrics::ESCALATIONS).increment(report.escalated.len() as u64);
        metrics::counter!(crate::metrics::SLA_WARNINGS).increment(report.warned.len() as u64);
        metrics::counter!(crate::metrics::ESCALATION_REMINDERS)
            .increment(report.reminded.len() as u64);
        metrics::counter!(crate::metrics::NOTIFICATIONS_QUEUED)
            .increment(report.notifications_queued);
        if report.notifications_queued > 0 {
            tracing::info!(
                escalated = report.escalated.len(),
                warned = report.warned.len(),
                reminded = report.reminded.len(),
                notifications = report.notifications_queued,
                "escalation sweep"
            );
        }
        Ok(report)
    }

    /// Runs [`run_once`](Self::run_once) now and every `interval` until the handle is shut down.
    /// Failures are logged and retried at the next tick.
    pub fn spawn(&self, interval: StdDuration) -> BackgroundHandle {
        let engine = self.clone();
        spawn_periodic("escalation", interval, move || {
            let engine = engine.clone();
            async move {
                let now = engine.helpdesk.clock().now();
                if let Err(error) = engine.run_once(now).await {
                    tracing::error!(%error, "escalation sweep failed");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_must_be_positive_and_bounded() {
        let h = StdDuration::from_secs(3600);
        assert!(EscalationPolicy::new(h, h, h).is_ok());
        let Err(Error::Validation(errors)) =
            EscalationPolicy::new(StdDuration::ZERO, h, WINDOW_MAX * 2)
        else {
            panic!("accepted a zero window")
        };
        assert_eq!(errors.get("high").len(), 1);
        assert_eq!(errors.get("low").len(), 1);
        assert!(errors.get("medium").is_empty());
    }

    #[test]
    fn due_at_follows_the_window_of_the_priority() {
        let p = EscalationPolicy::new(
            StdDuration::from_secs(2),
            StdDuration::from_secs(90),
            StdDuration::from_secs(3600),
        )
        .unwrap();
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(p.due_at(Priority::High, t0) - t0, Duration::seconds(2));
        assert_eq!(p.due_at(Priority::Medium, t0) - t0, Duration::seconds(90));
        assert_eq!(p.due_at(Priority::Low, t0) - t0, Duration::hours(1));
        assert_eq!(
            AlwaysOpen.deadline(DateTime::<Utc>::MAX_UTC, Duration::hours(1)),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
