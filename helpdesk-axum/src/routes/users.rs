//! `/users/...`: accounts, for agents (read) and admins (write).

use axum::extract::State;
use axum::http::StatusCode;
use helpdesk_core::{
    NewUser, ProfilePatch, Registration, Role, UserId, UserPatch, UserQuery, query::search_text,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{Paginated, UserCreateIn, UserOut, UserPatchIn};
use crate::extract::{Id, Json, Query, empty_as_none};
use crate::pagination::{PageLinks, page_request, paginate};
use crate::problem::{ApiError, ApiResult};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UserListParams {
    /// Matches anywhere in `name_email`, case-insensitive.
    #[param(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    search: Option<String>,
    /// Only this role.
    #[serde(default, deserialize_with = "empty_as_none")]
    role: Option<Role>,
    /// 1-based page number.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Results per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u32>,
}

/// Searches accounts (agents and admins).
#[utoipa::path(get, path = "/users", tag = "users", security(("bearer" = [])), params(UserListParams),
    responses(
        (status = 200, description = "A page of accounts, by id.", body = Paginated<UserOut>, example = json!({
            "count": 1, "next": null, "previous": null,
            "results": [{"id": 7, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
                "role": "user", "name_email": "Ada Lovelace - ada@example.com", "is_active": true,
                "created_at": "2026-11-26T09:00:00Z", "updated_at": "2026-11-26T09:00:00Z"}]})),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn list_users(
    State(s): State<AppState>,
    Auth(id): Auth,
    Query(p): Query<UserListParams>,
    links: PageLinks,
) -> ApiResult<axum::Json<Paginated<UserOut>>> {
    let page = page_request(p.page, p.page_size)?;
    let search = match p.search {
        Some(s) => search_text("search", &s).map_err(ApiError::bad_query)?,
        None => None,
    };
    let users = s
        .helpdesk
        .list_users(
            &id.actor,
            &UserQuery {
                search,
                role: p.role,
            },
            page,
        )
        .await?;
    Ok(axum::Json(paginate(users, &links)?))
}

/// Creates an account with any role (admins).
#[utoipa::path(post, path = "/users", tag = "users", security(("bearer" = [])), request_body = UserCreateIn,
    responses(
        (status = 201, description = "The new account.", body = UserOut),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 409, response = crate::problem::Conflict),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
    ))]
async fn create_user(
    State(s): State<AppState>,
    Auth(id): Auth,
    Json(body): Json<UserCreateIn>,
) -> ApiResult<(StatusCode, axum::Json<UserOut>)> {
    let registration = Registration::new(
        &body.email,
        &body.password,
        &body.first_name,
        &body.last_name,
    )?;
    let new = NewUser {
        registration,
        role: body.role.unwrap_or(Role::User),
    };
    let user = s.helpdesk.create_user(&id.actor, new).await?;
    Ok((StatusCode::CREATED, axum::Json(user.into())))
}

/// One account (agents and admins).
#[utoipa::path(get, path = "/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The account.", body = UserOut),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn get_user(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<UserOut>> {
    Ok(axum::Json(
        s.helpdesk.get_user(&who.actor, UserId(id)).await?.into(),
    ))
}

/// Changes an account (admins).
///
/// Deactivating ends its sessions; admins cannot demote or deactivate themselves.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path, description = "User id")), request_body = UserPatchIn,
    responses(
        (status = 200, description = "The updated account.", body = UserOut),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
        (status = 409, response = crate::problem::Conflict),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
    ))]
async fn update_user(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Json(body): Json<UserPatchIn>,
) -> ApiResult<axum::Json<UserOut>> {
    let profile = ProfilePatch::new(
        body.first_name.as_deref(),
        body.last_name.as_deref(),
        body.email.as_deref(),
    )?;
    let patch = UserPatch {
        profile,
        role: body.role,
        is_active: body.is_active,
    };
    Ok(axum::Json(
        s.helpdesk
            .update_user(&who.actor, UserId(id), patch)
            .await?
            .into(),
    ))
}

/// Deletes an account (admins), as if its owner had.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn delete_user(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    s.helpdesk.delete_user(&who.actor, UserId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
