//! What the library measures, through the [`metrics`] facade. Nothing is recorded until the
//! host installs a recorder (`helpdesk-axum`'s `Metrics` installs a Prometheus one); then
//! these names appear, with [`describe`] giving each its help text.
//!
//! Counters count since the process started; the gauges read from the store
//! ([`NOTIFICATIONS`], [`OLDEST_PENDING_AGE`], [`WEBHOOK_BACKLOG`],
//! [`WEBHOOK_OLDEST_PENDING_AGE`], [`STORE_CONNECTIONS`]) are set by
//! [`Helpdesk::record_gauges`](crate::Helpdesk::record_gauges), which an exporter calls
//! before each scrape.

/// Tickets escalated by sweeps (counter).
pub const ESCALATIONS: &str = "helpdesk_escalations_total";
/// Tickets warned of a deadline ahead by sweeps (counter).
pub const SLA_WARNINGS: &str = "helpdesk_sla_warnings_total";
/// Reminders of still escalated tickets sent by sweeps (counter).
pub const ESCALATION_REMINDERS: &str = "helpdesk_escalation_reminders_total";
/// Emails queued by escalations, warnings and reminders (counter).
pub const NOTIFICATIONS_QUEUED: &str = "helpdesk_notifications_queued_total";
/// Emails delivered (counter).
pub const NOTIFICATIONS_SENT: &str = "helpdesk_notifications_sent_total";
/// Delivery attempts that failed and will be retried (counter).
pub const NOTIFICATIONS_RETRIED: &str = "helpdesk_notifications_retried_total";
/// Emails given up on (counter).
pub const NOTIFICATIONS_FAILED: &str = "helpdesk_notifications_failed_total";
/// Emails in the outbox by `state`: `pending`, `sent`, `failed` (gauge, from the store).
pub const NOTIFICATIONS: &str = "helpdesk_notifications";
/// Seconds since the oldest pending email was queued; 0 when none waits (gauge).
pub const OLDEST_PENDING_AGE: &str = "helpdesk_notifications_oldest_pending_age_seconds";
/// Webhook delivery attempts by `outcome`: `sent`, `retried`, `failed` (counter).
pub const WEBHOOK_DELIVERIES: &str = "helpdesk_webhook_deliveries_total";
/// Webhook deliveries by `state`: `pending`, `failed` (gauge, from the store).
pub const WEBHOOK_BACKLOG: &str = "helpdesk_webhook_deliveries";
/// Seconds since the oldest pending webhook delivery was queued; 0 when none waits (gauge).
pub const WEBHOOK_OLDEST_PENDING_AGE: &str = "helpdesk_webhook_oldest_pending_age_seconds";
/// Webhook subscriptions switched off by a `410 Gone` (counter).
pub const WEBHOOKS_DISABLED: &str = "helpdesk_webhooks_disabled_total";
/// Sign-ins refused for a wrong email or password, or an inactive account (counter).
pub const LOGIN_FAILURES: &str = "helpdesk_login_failures_total";
/// Requests refused by a rate limit, by `limit`: `login` (guesses per email and address),
/// `login_address`, `signup_address`, `password` (guesses of the current password),
/// `tickets`, `comments` (counter).
pub const RATE_LIMITED: &str = "helpdesk_rate_limited_total";
/// Password hashing slots busy now (gauge).
pub const HASHING_IN_USE: &str = "helpdesk_password_hashing_slots_in_use";
/// Password hashes that had to wait for a free slot (counter).
pub const HASHING_WAITS: &str = "helpdesk_password_hashing_waits_total";
/// Password hashes refused after waiting too long for a slot: `503` (counter).
pub const HASHING_REFUSED: &str = "helpdesk_password_hashing_refused_total";
/// The store's database connections by `pool` and `state` (`in_use`, `idle`) (gauge).
pub const STORE_CONNECTIONS: &str = "helpdesk_store_connections";

/// Gives every metric above its help text in the installed recorder.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(ESCALATIONS, "Tickets escalated by sweeps.");
    describe_counter!(SLA_WARNINGS, "Warnings of deadlines ahead sent by sweeps.");
    describe_counter!(
        ESCALATION_REMINDERS,
        "Reminders of still escalated tickets sent by sweeps."
    );
    describe_counter!(
        NOTIFICATIONS_QUEUED,
        "Emails queued by escalations, warnings and reminders."
    );
    describe_counter!(NOTIFICATIONS_SENT, "Emails delivered.");
    describe_counter!(
        NOTIFICATIONS_RETRIED,
        "Email delivery attempts that failed and will be retried."
    );
    describe_counter!(NOTIFICATIONS_FAILED, "Emails given up on.");
    describe_gauge!(NOTIFICATIONS, "Emails in the outbox, by state.");
    describe_gauge!(
        OLDEST_PENDING_AGE,
        "Seconds since the oldest pending email was queued (0: none)."
    );
    describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook delivery attempts, by outcome (sent, retried, failed)."
    );
    describe_gauge!(
        WEBHOOK_BACKLOG,
        "Webhook deliveries, by state (pending, failed)."
    );
    describe_gauge!(
        WEBHOOK_OLDEST_PENDING_AGE,
        "Seconds since the oldest pending webhook delivery was queued (0: none)."
    );
    describe_counter!(
        WEBHOOKS_DISABLED,
        "Webhook subscriptions switched off by a 410 Gone."
    );
    describe_counter!(
        LOGIN_FAILURES,
        "Sign-ins refused for a wrong email or password."
    );
    describe_counter!(RATE_LIMITED, "Requests refused by a rate limit, by limit.");
    describe_gauge!(HASHING_IN_USE, "Password hashing slots busy now.");
    describe_counter!(
        HASHING_WAITS,
        "Password hashes that waited for a free slot."
    );
    describe_counter!(
        HASHING_REFUSED,
        "Password hashes refused after waiting too long for a slot."
    );
    describe_gauge!(
        STORE_CONNECTIONS,
        "Database connections of the store, by pool and state."
    );
}
