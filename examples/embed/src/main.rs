//! A host application embedding the helpdesk: its own routes, its own sign-in, and the
//! helpdesk API under `/support`, authenticated by the host's session cookie.
//!
//! ```sh
//! cargo run -p helpdesk-embed-example
//! curl -c jar -X POST localhost:3000/login/ada@example.com
//! curl -b jar -X POST localhost:3000/support/tickets -H 'content-type: application/json' -d '{"title":"Printer on fire"}'
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::routing::{get, post};
use axum::{Router, response::IntoResponse};
use helpdesk_axum::{Authenticator, HelpdeskApi, Identity};
use helpdesk_core::{Error, Helpdesk, UserId};
use helpdesk_sqlite::SqliteStore;

/// The host's sessions: a random cookie value -> the helpdesk account of the signed-in host
/// user. Only the account id is kept: its role and whether it may still sign in are read on
/// every request, so a demotion or a deactivation takes effect at once.
#[derive(Clone, Default)]
struct Sessions(Arc<Mutex<HashMap<String, UserId>>>);

impl Sessions {
    fn account(&self, session: &str) -> Option<UserId> {
        let sessions = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        sessions.get(session).copied()
    }
}

#[async_trait]
impl Authenticator for Sessions {
    async fn authenticate(&self, helpdesk: &Helpdesk, parts: &Parts) -> Result<Identity, Error> {
        let cookies = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let session = cookies
            .split(';')
            .find_map(|c| c.trim().strip_prefix("host_session="));
        let id = session
            .and_then(|s| self.account(s))
            .ok_or(Error::Unauthenticated)?;
        Ok(Identity {
            actor: helpdesk.actor_for(id).await?,
            token: None,
        })
    }
}

/// The host's own sign-in (a stand-in for its real one, which would check a password or an
/// identity provider): maps the host user to a helpdesk account, creating it on first sight.
async fn login(
    State((helpdesk, sessions)): State<(Helpdesk, Sessions)>,
    Path(email): Path<String>,
) -> impl IntoResponse {
    let user = match helpdesk.provision_user(&email, "", "").await {
        Ok(user) => user,
        Err(Error::Validation(errors)) => {
            return (StatusCode::UNPROCESSABLE_ENTITY, errors.to_string()).into_response();
        }
        Err(error) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response();
        }
    };
    // 256 random bits: a session id nobody can guess.
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "no randomness\n").into_response();
    }
    let cookie: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    sessions
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(cookie.clone(), user.id);
    (
        [(
            header::SET_COOKIE,
            format!("host_session={cookie}; HttpOnly; SameSite=Lax; Path=/"),
        )],
        "signed in\n",
    )
        .into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let helpdesk = Helpdesk::new(SqliteStore::connect("sqlite://embedded-helpdesk.db").await?);
    let sessions = Sessions::default();
    let engine = helpdesk.escalation_engine().spawn(Duration::from_secs(30));

    let support = HelpdeskApi::new(helpdesk.clone())
        .authenticator(sessions.clone())
        .into_router();
    let app = Router::new()
        .route("/", get(|| async { "The host application\n" }))
        .route("/login/{email}", post(login))
        .with_state((helpdesk, sessions))
        .nest("/support", support);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "host app on http://127.0.0.1:3000, helpdesk docs at http://127.0.0.1:3000/support/docs/"
    );
    axum::serve(listener, app).await?;
    engine.shutdown().await;
    Ok(())
}
