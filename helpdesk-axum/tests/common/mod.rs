//! A helpdesk on an in-memory SQLite store behind the router, nested under `/api` as the
//! example server does, and a small client speaking to it through `tower::ServiceExt::oneshot`.
#![allow(dead_code, clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use helpdesk_core::{
    Helpdesk, HelpdeskBuilder, ManualClock, NewTicket, NewUser, Priority, Registration, Role,
    Ticket, User,
};
use helpdesk_sqlite::SqliteStore;
use serde_json::Value;
use tower::ServiceExt;

pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) fn start() -> DateTime<Utc> {
    "2026-11-26T09:00:00Z".parse().unwrap()
}

pub(crate) struct Api {
    pub router: Router,
    pub helpdesk: Helpdesk,
    pub clock: ManualClock,
}

pub(crate) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, and that errors are problem documents with that status.
    #[track_caller]
    pub(crate) fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        if status >= 400 {
            assert_eq!(
                self.header("content-type"),
                Some("application/problem+json"),
                "{}",
                self.body
            );
            assert_eq!(self.body["status"], status);
            assert!(
                self.body["title"].is_string() && self.body["detail"].is_string(),
                "{}",
                self.body
            );
        }
        &self.body
    }
}

pub(crate) async fn api() -> Api {
    api_with(|builder| builder).await
}

/// [`api`] with settings of its own.
pub(crate) async fn api_with(settings: impl FnOnce(HelpdeskBuilder) -> HelpdeskBuilder) -> Api {
    let clock = ManualClock::new(start());
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let helpdesk = settings(Helpdesk::builder(store).clock(clock.clone())).build();
    let router = Router::new().nest("/api", helpdesk_axum::router(helpdesk.clone()));
    Api {
        router,
        helpdesk,
        clock,
    }
}

impl Api {
    pub(crate) async fn send(&self, request: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            body,
            raw,
        }
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path)
            .header(header::HOST, "helpdesk.test");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Response {
        self.call("GET", path, Some(token), None).await
    }

    /// An account with `role`, and a bearer token for it.
    pub(crate) async fn account(&self, email: &str, role: Role) -> (User, String) {
        let registration =
            Registration::new(email, PASSWORD, "Test", email.split('@').next().unwrap()).unwrap();
        let user = self
            .helpdesk
            .create_user_unchecked(NewUser { registration, role })
            .await
            .unwrap();
        let token = self
            .helpdesk
            .login(email, PASSWORD)
            .await
            .unwrap()
            .token
            .into_string();
        (user, token)
    }

    pub(crate) async fn ticket(&self, owner: &User, title: &str) -> Ticket {
        let new = NewTicket::new(title, "details", Priority::High).unwrap();
        self.helpdesk
            .create_ticket(&owner.actor(), new)
            .await
            .unwrap()
    }
}
