//! The one error type of the library.

use std::time::Duration;

use crate::input::FieldErrors;
use crate::permissions::TransitionError;

/// A boxed error from an adapter (database driver, mail transport, ...).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in a use case. The HTTP layer maps each variant to one status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing does not exist, or the caller may not know that it does (HTTP 404).
    #[error("not found")]
    NotFound,
    /// The caller is known but lacks the right (HTTP 403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No valid credentials or session (HTTP 401).
    #[error("authentication required")]
    Unauthenticated,
    /// Input failed validation (HTTP 422).
    #[error("validation failed: {0}")]
    Validation(FieldErrors),
    /// The request conflicts with the current state (HTTP 409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// An `If-Match` version was stale (HTTP 412).
    #[error("the ticket changed: it is now at version {current}")]
    PreconditionFailed {
        /// The version the ticket is at now.
        current: i64,
    },
    /// Too many failed attempts (HTTP 429).
    #[error("too many attempts; retry in {} s", retry_after.as_secs())]
    RateLimited {
        /// How long to wait before trying again.
        retry_after: Duration,
    },
    /// The store failed (HTTP 500); the message is for logs, not for clients.
    #[error("store error: {0}")]
    Store(#[source] BoxError),
    /// The store cannot answer now (overloaded, unreachable): worth retrying (HTTP 503).
    #[error("store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Too much work is waiting (all password hashing slots stayed busy): worth retrying
    /// after `retry_after` (HTTP 503).
    #[error("overloaded; retry in {} s", retry_after.as_secs().max(1))]
    Overloaded {
        /// How long to wait before trying again.
        retry_after: Duration,
    },
    /// A notifier failed to deliver an email this time; the outbox retries it later.
    #[error("delivery failed: {0}")]
    Delivery(#[source] BoxError),
    /// The email was refused for good (an SMTP 5xx reply, an invalid address): retrying
    /// cannot help, so the outbox marks it failed at once.
    #[error("undeliverable: {0}")]
    Undeliverable(#[source] BoxError),
    /// A bug or an environment failure (the password hasher's thread panicked, ...).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A store failure from any driver error.
    pub fn store(error: impl Into<BoxError>) -> Self {
        Error::Store(error.into())
    }

    /// A delivery failure from any transport error.
    pub fn delivery(error: impl Into<BoxError>) -> Self {
        Error::Delivery(error.into())
    }

    /// A single field validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Validation(FieldErrors::single(field, message))
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Validation(errors)
    }
}

impl From<TransitionError> for Error {
    fn from(error: TransitionError) -> Self {
        match error {
            TransitionError::NotAllowed { .. } => Error::Forbidden(error.to_string()),
            TransitionError::Illegal { .. } => Error::Conflict(error.to_string()),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
