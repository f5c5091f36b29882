//! Driver errors and stored values that do not convert.

use std::str::FromStr;

use helpdesk_core::{Error, ParseEnumError, Priority, Result};

/// A driver error as the library's error: overload and lost connections are `Unavailable`
/// (worth retrying), a unique violation (the only unique column besides keys is the email) is
/// a `Conflict`, anything else is a `Store` failure.
pub fn store_error(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            Error::Unavailable(error.into())
        }
        sqlx::Error::Database(ref e) if e.is_unique_violation() => {
            Error::Conflict("an account with this email already exists".into())
        }
        _ => Error::store(error),
    }
}

/// A stored value the schema should never hold.
pub(crate) fn corrupt(what: impl Into<String>) -> Error {
    Error::store(format!("unexpected stored value: {}", what.into()))
}

/// A stored enum (role, status, history kind, notification state) by its wire name.
pub(crate) fn parse_stored<T: FromStr<Err = ParseEnumError>>(text: &str) -> Result<T> {
    text.parse()
        .map_err(|e: ParseEnumError| corrupt(e.to_string()))
}

/// A stored priority rank.
pub(crate) fn priority(rank: i16) -> Result<Priority> {
    Priority::from_rank(rank.into()).ok_or_else(|| corrupt(format!("priority rank {rank}")))
}
