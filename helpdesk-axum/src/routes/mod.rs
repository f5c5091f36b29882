//! Handlers: parse, call the façade, serialise.

pub(crate) mod auth;
pub(crate) mod sla;
pub(crate) mod system;
pub(crate) mod tickets;
pub(crate) mod users;
pub(crate) mod webhooks;
