//! `/auth/...`: sign-up, sessions, one's own account.

use axum::extract::State;
use axum::http::StatusCode;
use helpdesk_core::{PasswordChange, ProfilePatch, Registration};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{LoginIn, LoginOut, PasswordIn, ProfilePatchIn, RegisterIn, UserOut};
use crate::extract::{ClientAddr, Json};
use crate::problem::ApiResult;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me, update_me, delete_me))
        .routes(routes!(change_password))
}

/// Sign up.
///
/// The account always gets the role `user`; a `role` in the body is ignored.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterIn,
    responses(
        (status = 201, description = "The new account.", body = UserOut),
        (status = 400, response = crate::problem::BadRequest),
        (status = 409, response = crate::problem::Conflict),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
        (status = 429, response = crate::problem::TooManyRequests),
    ))]
async fn register(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(body): Json<RegisterIn>,
) -> ApiResult<(StatusCode, axum::Json<UserOut>)> {
    let registration = Registration::new(
        &body.email,
        &body.password,
        &body.first_name,
        &body.last_name,
    )?;
    let user = s.helpdesk.register_from(registration, client).await?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

/// Sign in: email and password for a bearer token.
///
/// A wrong email and a wrong password get the same `401`; past 5 attempts within 15 minutes
/// for one email from one address, `429`.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginIn,
    responses(
        (status = 200, description = "A new session.", body = LoginOut),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
        (status = 429, response = crate::problem::TooManyRequests),
    ))]
async fn login(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(body): Json<LoginIn>,
) -> ApiResult<axum::Json<LoginOut>> {
    let login = s
        .helpdesk
        .login_from(&body.email, &body.password, client)
        .await?;
    Ok(axum::Json(LoginOut {
        token: login.token.into_string(),
        expires_at: login.expires_at,
        user: login.user.into(),
    }))
}

/// Sign out: the token stops working at once.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out."),
        (status = 401, response = crate::problem::Unauthorized),
    ))]
async fn logout(State(s): State<AppState>, Auth(id): Auth) -> ApiResult<StatusCode> {
    if let Some(token) = id.token {
        s.helpdesk.logout(&token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account.", body = UserOut),
        (status = 401, response = crate::problem::Unauthorized),
    ))]
async fn me(State(s): State<AppState>, Auth(id): Auth) -> ApiResult<axum::Json<UserOut>> {
    Ok(axum::Json(s.helpdesk.me(&id.actor).await?.into()))
}

/// Changes the caller's names or email.
#[utoipa::path(patch, path = "/auth/me", tag = "auth", security(("bearer" = [])), request_body = ProfilePatchIn,
    responses(
        (status = 200, description = "The updated account.", body = UserOut),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 409, response = crate::problem::Conflict),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
    ))]
async fn update_me(
    State(s): State<AppState>,
    Auth(id): Auth,
    Json(body): Json<ProfilePatchIn>,
) -> ApiResult<axum::Json<UserOut>> {
    let patch = ProfilePatch::new(
        body.first_name.as_deref(),
        body.last_name.as_deref(),
        body.email.as_deref(),
    )?;
    Ok(axum::Json(
        s.helpdesk.update_profile(&id.actor, patch).await?.into(),
    ))
}

/// Deletes the caller's account.
///
/// Personal data erased, sessions revoked; tickets and comments stay for the record.
#[utoipa::path(delete, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = crate::problem::Unauthorized),
    ))]
async fn delete_me(State(s): State<AppState>, Auth(id): Auth) -> ApiResult<StatusCode> {
    s.helpdesk.delete_account(&id.actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password.
///
/// Every other session of the account ends.
#[utoipa::path(post, path = "/auth/password", tag = "auth", security(("bearer" = [])), request_body = PasswordIn,
    responses(
        (status = 204, description = "Changed."),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
        (status = 429, response = crate::problem::TooManyRequests),
    ))]
async fn change_password(
    State(s): State<AppState>,
    Auth(id): Auth,
    Json(body): Json<PasswordIn>,
) -> ApiResult<StatusCode> {
    let change = PasswordChange::new(&body.current_password, &body.new_password)?;
    s.helpdesk
        .change_password(&id.actor, id.token.as_deref(), change)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
