//! The router on a real TCP socket, spoken to by a real HTTP client.
#![allow(clippy::unwrap_used)]

use axum::Router;
use helpdesk_core::Helpdesk;
use helpdesk_sqlite::SqliteStore;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_registers_signs_in_and_raises_a_ticket_over_http() {
    let helpdesk = Helpdesk::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let app = Router::new().nest("/support", helpdesk_axum::router(helpdesk));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/support", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (created, listed, anonymous) = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut register = agent
            .post(format!("{base}/auth/register/"))
            .send_json(json!({"email": "ada@example.com", "password": "correct horse", "first_name": "Ada", "last_name": "L"}))
            .unwrap();
        assert_eq!(register.status(), 201, "{}", register.body_mut().read_to_string().unwrap());
        let login: Value = agent
            .post(format!("{base}/auth/login"))
            .send_json(json!({"email": "ada@example.com", "password": "correct horse"}))
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let bearer = format!("Bearer {}", login["token"].as_str().unwrap());
        let mut created = agent
            .post(format!("{base}/tickets"))
            .header("Authorization", &bearer)
            .send_json(json!({"title": "Printer on fire", "priority": "high"}))
            .unwrap();
        assert_eq!(created.headers().get("etag").unwrap(), "\"1\"");
        let created: Value = created.body_mut().read_json().unwrap();
        let listed: Value = agent.get(format!("{base}/tickets/")).header("Authorization", &bearer).call().unwrap().body_mut().read_json().unwrap();
        let anonymous = agent.get(format!("{base}/tickets")).call().unwrap();
        (created, listed, (anonymous.status().as_u16(), anonymous.headers().get("www-authenticate").cloned()))
    })
    .await
    .unwrap();
    assert_eq!(created["status"], "open");
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["results"][0]["id"], created["id"]);
    assert_eq!(anonymous.0, 401);
    assert_eq!(anonymous.1.unwrap(), "Bearer");
    server.abort();
}
