//! The webhook dispatcher: claims due deliveries, signs and sends them, records how each ended.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tokio::task::JoinSet;

use super::{
    AttemptOutcome, DeliveryState, EventType, IN_PROCESS, OutgoingDelivery, TargetPolicy, sign,
};
use crate::background::{BackgroundHandle, spawn_periodic};
use crate::{BoxError, Clock, Result, Store, WebhookId};

/// One signed POST for a [`WebhookTransport`] to send.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// Where.
    pub url: &'a str,
    /// The `webhook-id` header.
    pub id: &'a str,
    /// The `webhook-timestamp` header (Unix seconds).
    pub timestamp: i64,
    /// The `webhook-signature` header.
    pub signature: &'a str,
    /// The JSON body.
    pub body: &'a str,
    /// Which addresses the request may reach: check every address connected to.
    pub policy: TargetPolicy,
    /// How long the whole request may take.
    pub timeout: StdDuration,
}

/// Sends webhook requests over HTTP; `helpdesk-webhooks` has the HTTPS implementation.
///
/// An implementation MUST refuse to connect to an address the request's
/// [`policy`](WebhookRequest::policy) does not allow, MUST NOT follow redirects, and returns the
/// answer's status code (any status, `2xx` or not), or an error if there was no answer.
#[async_trait]
pub trait WebhookTransport: Send + Sync + 'static {
    /// Posts the request; the status of the answer.
    async fn post(&self, request: &WebhookRequest<'_>) -> std::result::Result<u16, BoxError>;
}

/// An event delivered to a handler in the host process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The same for every attempt (`webhook-id`): skip one seen before.
    pub id: String,
    /// What happened.
    pub event_type: EventType,
    /// The body an HTTP subscription is sent: `{"type", "timestamp", "data"}`.
    pub payload: String,
}

/// Receives events in the host process, through the same queue as HTTP subscriptions: an
/// error (or a handler that takes longer than the dispatcher's timeout) is retried like a
/// failed request. Subscribe with
/// [`Helpdesk::subscribe_in_process`](crate::Helpdesk::subscribe_in_process) and register the
/// handler with [`WebhookDispatcher::with_handler`]. A channel's sender is a handler.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Takes one event.
    async fn handle(&self, message: Message) -> std::result::Result<(), BoxError>;
}

#[async_trait]
impl EventHandler for tokio::sync::mpsc::Sender<Message> {
    async fn handle(&self, message: Message) -> std::result::Result<(), BoxError> {
        self.send(message)
            .await
            .map_err(|_| "the receiver is gone".into())
    }
}

/// When to try a failed delivery again, and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The delay after the first failure; doubles with each further one.
    pub first_delay: StdDuration,
    /// The longest delay.
    pub max_delay: StdDuration,
    /// A delivery whose next attempt would come later than this after it was queued fails.
    pub give_up_after: StdDuration,
}

impl Default for RetrySchedule {
    /// 10 s, 20 s, 40 s ... capped at an hour (each between half and all of that, at random),
    /// for up to a day: about 30 attempts.
    fn default() -> Self {
        Self {
            first_delay: StdDuration::from_secs(10),
            max_delay: StdDuration::from_secs(3600),
            give_up_after: StdDuration::from_secs(24 * 3600),
        }
    }
}

impl RetrySchedule {
    /// The delay after the `attempts`-th failure (1-based), `jitter` in `[0, 1)` choosing
    /// between half and all of the exponential delay, so receivers that failed together are
    /// not all retried together.
    ///
    /// ```
    /// # use helpdesk_core::webhooks::RetrySchedule;
    /// # use std::time::Duration;
    /// let r = RetrySchedule::default();
    /// assert_eq!(r.delay_after(1, 0.0), Duration::from_secs(5));
    /// assert_eq!(r.delay_after(3, 0.5), Duration::from_secs(30));
    /// assert_eq!(r.delay_after(40, 0.0), Duration::from_secs(1800));
    /// ```
    pub fn delay_after(&self, attempts: u32, jitter: f64) -> StdDuration {
        let full = crate::outbox::exponential(self.first_delay, self.max_delay, attempts);
        let half = full / 2;
        (half + half.mul_f64(jitter.clamp(0.0, 1.0))).max(StdDuration::from_millis(1))
    }
}

/// What one dispatcher run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WebhookReport {
    /// Accepted by their receivers.
    pub delivered: u32,
    /// Failed and rescheduled.
    pub retried: u32,
    /// Failed for the last time.
    pub failed: u32,
    /// Subscriptions switched off by a `410 Gone`.
    pub disabled: u32,
    /// Old sent and failed deliveries deleted.
    pub pruned: u64,
}

/// Delivers queued webhook events. Several dispatchers (several instances on one database)
/// may run: each claim hides its deliveries from the others, so a delivery is sent once in the
/// normal case and at least once always (receivers skip a `webhook-id` seen before).
#[derive(Clone)]
pub struct WebhookDispatcher {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policy: TargetPolicy,
    transport: Option<Arc<dyn WebhookTransport>>,
    handlers: HashMap<String, Arc<dyn EventHandler>>,
    retry: RetrySchedule,
    timeout: StdDuration,
    concurrency: usize,
    retention: Duration,
}

impl fmt::Debug for WebhookDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookDispatcher")
            .field("policy", &self.policy)
            .field("http", &self.transport.is_some())
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl WebhookDispatcher {
    /// A dispatcher with no transport yet (see [`with_transport`](Self::with_transport)):
    /// 10-second timeout, 8 requests at a time, the default [`RetrySchedule`], deliveries kept
    /// 30 days. [`Helpdesk::webhook_dispatcher`](crate::Helpdesk::webhook_dispatcher) makes
    /// one with the helpdesk's store, clock and policy.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, policy: TargetPolicy) -> Self {
        Self {
            store,
            clock,
            policy,
            transport: None,
            handlers: HashMap::new(),
            retry: RetrySchedule::default(),
            timeout: StdDuration::from_secs(10),
            concurrency: 8,
            retention: Duration::days(30),
        }
    }

    /// Sends HTTP subscriptions' events through `transport`.
    pub fn with_transport(mut self, transport: impl WebhookTransport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Hands the events of the in-process subscription `name` to `handler`.
    pub fn with_handler(mut self, name: &str, handler: impl EventHandler) -> Self {
        self.handlers.insert(name.to_owned(), Arc::new(handler));
        self
    }

    /// Uses another retry schedule.
    pub fn with_retry(mut self, retry: RetrySchedule) -> Self {
        self.retry = retry;
        self
    }

    /// How long one request (or handler) may take before it counts as failed.
    pub fn with_timeout(mut self, timeout: StdDuration) -> Self {
        self.timeout = timeout.max(StdDuration::from_millis(1));
        self
    }

    /// How many requests run at once (at most 1,000).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.clamp(1, 1000);
        self
    }

    /// How long sent and failed deliveries are kept before a run deletes them.
    pub fn with_retention(mut self, retention: StdDuration) -> Self {
        self.retention = Duration::from_std(retention).unwrap_or(self.retention);
        self
    }

    /// Delivers everything due at `now`, batch after batch, and deletes old sent and failed
    /// deliveries.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<WebhookReport> {
        let mut report = WebhookReport {
            pruned: self.store.prune_deliveries(now - self.retention).await?,
            ..WebhookReport::default()
        };
        // A batch is at most `ROUNDS` attempts per concurrent slot, and each claim is hidden
        // for longer than its slot can take to reach and finish it, every attempt timing out
        // included: no other dispatcher takes a delivery this one still holds.
        const ROUNDS: u32 = 4;
        let slots = u32::try_from(self.concurrency).unwrap_or(u32::MAX);
        let batch = slots.saturating_mul(ROUNDS);
        let lease = Duration::from_std(self.timeout * (ROUNDS + 1) + StdDuration::from_secs(30))
            .unwrap_or(Duration::minutes(10));
        loop {
            let claimed = self.store.claim_deliveries(now, lease, batch).await?;
            let full = claimed.len() >= batch as usize;
            let mut running = JoinSet::new();
            // Subscriptions a `410 Gone` switched off during this batch: their other claimed
            // deliveries were failed with them and are not sent.
            let gone = Arc::new(Mutex::new(HashSet::new()));
            for delivery in claimed {
                while running.len() >= self.concurrency {
                    tally(&mut report, running.join_next().await);
                }
                let this = self.clone();
                let gone = gone.clone();
                running.spawn(async move { this.attempt(delivery, now, &gone).await });
            }
            while let Some(done) = running.join_next().await {
                tally(&mut report, Some(done));
            }
            if !full {
                return Ok(report);
            }
        }
    }

    /// Runs [`run_once`](Self::run_once) now and every `interval` until shut down.
    pub fn spawn(&self, interval: StdDuration) -> BackgroundHandle {
        let dispatcher = self.clone();
        spawn_periodic("webhooks", interval, move || {
            let dispatcher = dispatcher.clone();
            async move {
                if let Err(error) = dispatcher.run_once(dispatcher.clock.now()).await {
                    tracing::error!(%error, "webhook dispatch failed");
                }
            }
        })
    }

    /// One attempt of one delivery, recorded.
    async fn attempt(
        &self,
        d: OutgoingDelivery,
        now: DateTime<Utc>,
        gone: &Mutex<HashSet<WebhookId>>,
    ) -> Result<Attempted> {
        if gone.lock().is_ok_and(|gone| gone.contains(&d.webhook_id)) {
            return Ok(Attempted::Skipped);
        }
        let answer = match tokio::time::timeout(self.timeout, self.send(&d)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        };
        let at = self.clock.now();
        let (status, error) = match answer {
            Ok(status) => (Some(status), None),
            Err(error) => (None, Some(error)),
        };
        let (attempted, retry_at, error) = match status {
            Some(status) if (200..300).contains(&status) => (Attempted::Sent, None, None),
            Some(410) => {
                let reason = format!("the receiver answered 410 Gone at {at}");
                (Attempted::Disabled, None, Some(reason))
            }
            _ => {
                let error = error.unwrap_or_else(|| {
                    format!("the receiver answered {}", status.unwrap_or_default())
                });
                let delay = self.retry.delay_after(d.attempts, jitter());
                let retry_at = now + Duration::from_std(delay).unwrap_or(Duration::hours(1));
                let deadline = d.created_at
                    + Duration::from_std(self.retry.give_up_after).unwrap_or(Duration::days(1));
                if retry_at > deadline {
                    tracing::error!(delivery = %d.id, url = %d.url, %error, "webhook delivery failed for good");
                    (Attempted::Failed, None, Some(error))
                } else {
                    tracing::warn!(delivery = %d.id, url = %d.url, %error, retry_in = ?delay, "webhook delivery failed, will retry");
                    (Attempted::Retried, Some(retry_at), Some(error))
                }
            }
        };
        let outcome = AttemptOutcome {
            state: attempted.state(),
            retry_at,
            status,
            error,
            at,
        };
        self.store.finish_delivery(d.id, &outcome).await?;
        metrics::counter!(crate::metrics::WEBHOOK_DELIVERIES, "outcome" => attempted.outcome())
            .increment(1);
        if let (Attempted::Disabled, Some(reason)) = (attempted, &outcome.error) {
            if let Ok(mut gone) = gone.lock() {
                gone.insert(d.webhook_id);
            }
            tracing::warn!(webhook = %d.webhook_id, url = %d.url, "webhook disabled: 410 Gone");
            self.store.disable_webhook(d.webhook_id, reason, at).await?;
            metrics::counter!(crate::metrics::WEBHOOKS_DISABLED).increment(1);
        }
        Ok(attempted)
    }

    /// Sends one delivery: the answer's status, or why there was none.
    async fn send(&self, d: &OutgoingDelivery) -> std::result::Result<u16, String> {
        if let Some(name) = d.url.strip_prefix(IN_PROCESS) {
            let handler = self
                .handlers
                .get(name)
                .ok_or_else(|| format!("no handler called {name:?} in this process"))?;
            let message = Message {
                id: d.event_id.clone(),
                event_type: d.event_type,
                payload: d.payload.clone(),
            };
            return handler
                .handle(message)
                .await
                .map(|()| 200)
                .map_err(|e| e.to_string());
        }
        let transport = self
            .transport
            .as_ref()
            .ok_or("this process has no HTTP transport for webhooks")?;
        let timestamp = self.clock.now().timestamp();
        let signature =
            sign(&d.secrets, &d.event_id, timestamp, &d.payload).map_err(|e| e.to_string())?;
        let request = WebhookRequest {
            url: &d.url,
            id: &d.event_id,
            timestamp,
            signature: &signature,
            body: &d.payload,
            policy: self.policy,
            timeout: self.timeout,
        };
        transport.post(&request).await.map_err(|e| {
            // The whole chain: "error sending request" alone says nothing.
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            text
        })
    }
}

/// How one attempt ended.
#[derive(Clone, Copy)]
enum Attempted {
    Sent,
    Retried,
    Failed,
    Disabled,
    Skipped,
}

impl Attempted {
    /// The state the delivery is left in.
    fn state(self) -> DeliveryState {
        match self {
            Attempted::Sent => DeliveryState::Sent,
            Attempted::Retried | Attempted::Skipped => DeliveryState::Pending,
            Attempted::Failed | Attempted::Disabled => DeliveryState::Failed,
        }
    }

    /// The `outcome` label of [`WEBHOOK_DELIVERIES`](crate::metrics::WEBHOOK_DELIVERIES).
    fn outcome(self) -> &'static str {
        match self {
            Attempted::Sent => "sent",
            Attempted::Retried | Attempted::Skipped => "retried",
            Attempted::Failed | Attempted::Disabled => "failed",
        }
    }
}

fn tally(
    report: &mut WebhookReport,
    done: Option<std::result::Result<Result<Attempted>, tokio::task::JoinError>>,
) {
    match done {
        Some(Ok(Ok(Attempted::Sent))) => report.delivered += 1,
        Some(Ok(Ok(Attempted::Retried))) => report.retried += 1,
        Some(Ok(Ok(Attempted::Failed))) => report.failed += 1,
        Some(Ok(Ok(Attempted::Disabled))) => report.disabled += 1,
        Some(Ok(Ok(Attempted::Skipped))) | None => {}
        // The delivery stays claimed until its lease ends, then is tried again.
        Some(Ok(Err(error))) => tracing::error!(%error, "recording a webhook attempt failed"),
        Some(Err(error)) => tracing::error!(%error, "a webhook attempt panicked"),
    }
}

/// A number in `[0, 1)` from the operating system's randomness (0.5 if it has none).
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}
