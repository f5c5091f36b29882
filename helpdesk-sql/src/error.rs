//! Driver errors and stored values that do not convert.

use std::str::FromStr;

use helpdesk_core::store::{StoreError, StoreResult};
use helpdesk_core::{ParseEnumError, Priority};

use crate::Dialect;

/// A driver error as a [`StoreError`]: overload and lost connections are `Unavailable`
/// (worth retrying), as are the errors the dialect calls transient; a unique violation names its constraint in the dialect's words
/// ([`Dialect::unique_constraint`]), anything else is a `Backend` failure.
pub fn store_error<D: Dialect>(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(error.into())
        }
        sqlx::Error::Database(ref e) if e.is_unique_violation() => StoreError::UniqueViolation {
            constraint: D::unique_constraint(e.as_ref()),
        },
        sqlx::Error::Database(ref e) if D::is_transient(e.as_ref()) => {
            StoreError::Unavailable(error.into())
        }
        _ => StoreError::backend(error),
    }
}

/// A stored value the schema should never hold.
pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::backend(format!("unexpected stored value: {}", what.into()))
}

/// A stored enum (role, status, history kind, notification state) by its wire name.
pub(crate) fn parse_stored<T: FromStr<Err = ParseEnumError>>(text: &str) -> StoreResult<T> {
    text.parse()
        .map_err(|e: ParseEnumError| corrupt(e.to_string()))
}

/// A stored priority rank.
pub(crate) fn priority(rank: i16) -> StoreResult<Priority> {
    Priority::from_rank(rank.into()).ok_or_else(|| corrupt(format!("priority rank {rank}")))
}
