//! The outbox dispatcher: delivers queued notifications through a [`Notifier`], retrying with
//! exponential backoff, so a mail server that is down delays email but never loses it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::background::{BackgroundHandle, spawn_periodic};
use crate::{Clock, Notifier, Result, Store};

/// When to try a failed delivery again, and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubles with each further failure.
    pub first_delay: StdDuration,
    /// Longest delay between two attempts.
    pub max_delay: StdDuration,
    /// Attempts before a notification is marked failed (at least 1).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 5 s, 10 s, 20 s, ... capped at 10 minutes; failed after 10 attempts (about 40 minutes).
    fn default() -> Self {
        Self {
            first_delay: StdDuration::from_secs(5),
            max_delay: StdDuration::from_secs(600),
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The delay after the `attempts`-th failed attempt (1-based).
    ///
    /// ```
    /// # use helpdesk_core::outbox::RetryPolicy;
    /// # use std::time::Duration;
    /// let p = RetryPolicy::default();
    /// assert_eq!(p.delay_after(1), Duration::from_secs(5));
    /// assert_eq!(p.delay_after(3), Duration::from_secs(20));
    /// assert_eq!(p.delay_after(30), Duration::from_secs(600));
    /// ```
    pub fn delay_after(&self, attempts: u32) -> StdDuration {
        exponential(self.first_delay, self.max_delay, attempts)
    }
}

/// `first`, doubled after each failure but the first, at most `max`: the delay after the
/// `attempts`-th failed attempt (1-based), for emails and webhooks alike.
pub(crate) fn exponential(first: StdDuration, max: StdDuration, attempts: u32) -> StdDuration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
    first.saturating_mul(factor).min(max)
}

/// What one dispatcher run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DispatchReport {
    /// Delivered.
    pub sent: u32,
    /// Failed and rescheduled.
    pub retried: u32,
    /// Failed for the last time.
    pub failed: u32,
    /// Sent and failed notifications deleted after the retention period.
    pub pruned: u64,
}

/// Delivers the outbox. Several dispatchers may run against one store: each claim hides its
/// rows from the others, so a row is sent once in the normal case and at least once always.
#[derive(Clone)]
pub struct OutboxDispatcher {
    store: Arc<dyn Store>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    lease: Duration,
    batch: u32,
    retention: Duration,
}

impl fmt::Debug for OutboxDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxDispatcher")
            .field("retry", &self.retry)
            .field("lease", &self.lease)
            .field("batch", &self.batch)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl OutboxDispatcher {
    /// A dispatcher with the default [`RetryPolicy`], a 5-minute claim lease, batches of 50,
    /// and sent and failed notifications kept for 30 days.
    pub fn new(store: Arc<dyn Store>, notifier: Arc<dyn Notifier>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            notifier,
            clock,
            retry: RetryPolicy::default(),
            lease: Duration::minutes(5),
            batch: 50,
            retention: Duration::days(30),
        }
    }

    /// Uses another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            max_attempts: retry.max_attempts.max(1),
            ..retry
        };
        self
    }

    /// How long a claimed row stays hidden from other dispatchers; longer than one delivery
    /// can take, or a slow delivery may be repeated by another dispatcher.
    pub fn with_lease(mut self, lease: StdDuration) -> Self {
        self.lease = Duration::from_std(lease).unwrap_or(self.lease);
        self
    }

    /// How long sent and failed notifications are kept (for the admins' list) before each
    /// run deletes them; pending ones are never deleted.
    pub fn with_retention(mut self, retention: StdDuration) -> Self {
        self.retention = Duration::from_std(retention).unwrap_or(self.retention);
        self
    }

    /// Delivers everything due at `now`, batch after batch, and deletes the sent and failed
    /// notifications older than the retention period.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<DispatchReport> {
        let mut report = DispatchReport {
            pruned: self.store.prune_notifications(now - self.retention).await?,
            ..DispatchReport::default()
        };
        loop {
            let claimed = self
                .store
                .claim_notifications(now, self.lease, self.batch)
                .await?;
            let full = claimed.len() >= self.batch as usize;
            for notification in claimed {
                match self.notifier.send(&notification.email()).await {
                    Ok(()) => {
                        self.store.mark_sent(notification.id, now).await?;
                        metrics::counter!(crate::metrics::NOTIFICATIONS_SENT).increment(1);
                        report.sent += 1;
                    }
                    Err(error) => {
                        let permanent = matches!(error, crate::Error::Undeliverable(_));
                        let error = error.to_string();
                        if permanent || notification.attempts >= self.retry.max_attempts {
                            tracing::error!(id = %notification.id, to = %notification.recipient, %error, "notification failed for good");
                            self.store.mark_failed(notification.id, now, &error).await?;
                            metrics::counter!(crate::metrics::NOTIFICATIONS_FAILED).increment(1);
                            report.failed += 1;
                        } else {
                            let delay =
                                Duration::from_std(self.retry.delay_after(notification.attempts))
                                    .unwrap_or(Duration::minutes(10));
                            tracing::warn!(id = %notification.id, to = %notification.recipient, %error, retry_in = ?delay, "notification failed, will retry");
                            self.store
                                .mark_retry(notification.id, now + delay, &error)
                                .await?;
                            metrics::counter!(crate::metrics::NOTIFICATIONS_RETRIED).increment(1);
                            report.retried += 1;
                        }
                    }
                }
            }
            if !full {
                return Ok(report);
            }
        }
    }

    /// Runs [`run_once`](Self::run_once) now and every `interval` until the handle is shut down.
    pub fn spawn(&self, interval: StdDuration) -> BackgroundHandle {
        let dispatcher = self.clone();
        spawn_periodic("outbox", interval, move || {
            let dispatcher = dispatcher.clone();
            async move {
                if let Err(error) = dispatcher.run_once(dispatcher.clock.now()).await {
                    tracing::error!(%error, "outbox dispatch failed");
                }
            }
        })
    }
}
