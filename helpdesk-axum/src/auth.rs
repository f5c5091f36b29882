//! Who is calling: the [`Authenticator`] port and the default bearer-token implementation.

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use helpdesk_core::{Actor, Error, Helpdesk};

use crate::AppState;
use crate::problem::ApiError;

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Who acts.
    pub actor: Actor,
    /// The helpdesk session token the request came with, if it came with one: logout ends it,
    /// and a password change keeps it while revoking the others.
    pub token: Option<String>,
}

/// Decides who sent a request. The default, [`BearerAuthenticator`], reads helpdesk session
/// tokens; a host plugs in its own (its session cookie, its JWT) and maps its users to helpdesk
/// actors, whose ids must be helpdesk user ids.
///
/// **Check the account on every request.** Do not cache a role or an actor in the host's
/// session: build the actor with [`Helpdesk::actor_for`], which reads the account's current
/// role and refuses inactive and deleted accounts, so that a demotion, a deactivation or a
/// deletion takes effect on the next request.
///
/// ```
/// use async_trait::async_trait;
/// use axum::http::request::Parts;
/// use helpdesk_axum::{Authenticator, Identity};
/// use helpdesk_core::{Error, Helpdesk, UserId};
///
/// /// Trusts an `X-User-Id` header set by the host's own gateway (and stripped from what
/// /// clients send).
/// struct GatewayHeader;
///
/// #[async_trait]
/// impl Authenticator for GatewayHeader {
///     async fn authenticate(&self, helpdesk: &Helpdesk, parts: &Parts) -> Result<Identity, Error> {
///         let id = parts.headers.get("x-user-id").and_then(|v| v.to_str().ok())
///             .and_then(|v| v.parse().ok()).ok_or(Error::Unauthenticated)?;
///         let actor = helpdesk.actor_for(UserId(id)).await?;
///         Ok(Identity { actor, token: None })
///     }
/// }
/// ```
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The identity behind the request, or [`Error::Unauthenticated`].
    async fn authenticate(&self, helpdesk: &Helpdesk, parts: &Parts) -> Result<Identity, Error>;

    /// The `WWW-Authenticate` challenge of the `401` sent when [`authenticate`](Self::authenticate)
    /// finds nobody: `Bearer` by default; `None` sends no challenge.
    fn challenge(&self) -> Option<&str> {
        Some("Bearer")
    }
}

/// `Authorization: Bearer <token>` with tokens from `POST /auth/login`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BearerAuthenticator;

/// The token of an `Authorization: Bearer` header.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[async_trait]
impl Authenticator for BearerAuthenticator {
    async fn authenticate(&self, helpdesk: &Helpdesk, parts: &Parts) -> Result<Identity, Error> {
        let token = bearer_token(parts).ok_or(Error::Unauthenticated)?;
        let user = helpdesk.authenticate(token).await?;
        Ok(Identity {
            actor: user.actor(),
            token: Some(token.to_owned()),
        })
    }
}

/// Extracts the caller; `401` with `WWW-Authenticate: Bearer` when there is none.
#[derive(Debug, Clone)]
pub struct Auth(pub Identity);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match state
            .authenticator
            .authenticate(&state.helpdesk, parts)
            .await
        {
            Ok(identity) => Ok(Auth(identity)),
            Err(Error::Unauthenticated) => {
                Err(ApiError::unauthenticated(state.authenticator.challenge()))
            }
            Err(error) => Err(error.into()),
        }
    }
}
