//! # helpdesk-core
//!
//! The domain of the helpdesk library: users and roles, tickets, comments and history, who may
//! do what, the escalation policy and engine, the outbox of notifications, and the ports that
//! storage and mail adapters implement. No SQL, HTTP or SMTP lives here.
//!
//! A host picks a store (`helpdesk-sqlite`, the embedded default) and a notifier
//! (`helpdesk-mail`), builds a [`Helpdesk`], and calls its use cases directly or serves them
//! over HTTP with `helpdesk-axum`:
//!
//! ```no_run
//! use std::time::Duration;
//! use helpdesk_core::{Helpdesk, NewTicket, Priority, Registration};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = helpdesk_sqlite::SqliteStore::connect("sqlite://helpdesk.db").await?;
//! let helpdesk = Helpdesk::new(store);
//!
//! // Escalate overdue tickets and deliver their emails in the background.
//! let engine = helpdesk.escalation_engine().spawn(Duration::from_secs(30));
//! let mailer = helpdesk.outbox_dispatcher(helpdesk_mail::ConsoleNotifier::stdout("helpdesk@example.com")?)
//!     .spawn(Duration::from_secs(30));
//!
//! let ada = helpdesk
//!     .register(Registration::new("ada@example.com", "correct horse", "Ada", "Lovelace")?)
//!     .await?;
//! let ticket = helpdesk
//!     .create_ticket(&ada.actor(), NewTicket::new("Printer on fire", "Smoke!", Priority::High)?)
//!     .await?;
//! assert_eq!(ticket.due_at, Some(ticket.created_at + chrono::Duration::hours(1)));
//!
//! engine.shutdown().await;
//! mailer.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Tests drive time with a [`ManualClock`] and call
//! [`EscalationEngine::run_once`] with the instant they choose.

pub mod background;
pub mod business_hours;
mod changes;
pub mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod credentials;
pub mod error;
pub mod escalation;
pub mod helpdesk;
mod id;
pub mod input;
pub mod metrics;
mod model;
pub mod notify;
pub mod outbox;
pub mod permissions;
pub mod query;
pub mod sla;
pub mod store;
pub mod webhooks;
pub mod wire;

#[cfg(test)]
mod testing;

pub use background::BackgroundHandle;
pub use clock::{Clock, ManualClock, SystemClock};
pub use credentials::{Hashing, SessionToken};
pub use error::{BoxError, Error, Result};
pub use escalation::{AlwaysOpen, Calendar, EscalationEngine, EscalationPolicy, EscalationReport};
pub use helpdesk::{AdminBootstrap, Helpdesk, HelpdeskBuilder, Login, LoginThrottle, RateLimits};
pub use id::{CommentId, DeliveryId, EventId, NotificationId, TicketId, UserId, WebhookId};
pub use input::{
    EmailAddress, FieldErrors, NewComment, NewTicket, NewUser, Password, PasswordChange,
    ProfilePatch, Registration, TicketPatch, UserPatch,
};
pub use model::{
    Breach, Comment, HistoryEvent, HistoryKind, NewEvent, ParseEnumError, Priority, Report, Role,
    Sla, SlaByPriority, SlaReport, SlaStats, Status, Ticket, User,
};
pub use notify::{
    Alert, Email, Notification, NotificationBacklog, NotificationState, Notifier, Recipients,
};
pub use outbox::{DispatchReport, OutboxDispatcher, RetryPolicy};
pub use permissions::{Actor, TicketScope};
pub use query::{AssigneeFilter, Page, PageRequest, TicketOrdering, TicketQuery, UserQuery};
pub use store::{Store, StoreError, StoreResult};
