//! The real binary killed with SIGKILL after an event was queued and before it was delivered:
//! the restarted server delivers it, once, signed.
#![allow(clippy::unwrap_used)]

mod common;

use common::{call, free_port, start_on, temp_dir};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

type Got = Arc<Mutex<Vec<(HeaderMap, String)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_queued_before_a_kill_is_delivered_once_after_the_restart() {
    let got: Got = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(got): axum::extract::State<Got>,
                 headers: HeaderMap,
                 body: String| async move {
                    got.lock().unwrap().push((headers, body));
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = temp_dir("webhooks");
    let db = dir.join("helpdesk.db");
    let created = common::server(&db)
        .args(["create-admin", "--email", "boss@example.com"])
        .env("HELPDESK_ADMIN_PASSWORD", "boss password")
        .output()
        .unwrap();
    assert!(created.status.success());
    // The dispatcher runs when the server starts and then only hourly: an event queued after
    // the start waits in the database.
    let settings = [
        ("HELPDESK_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("HELPDESK_WEBHOOK_INTERVAL", "1h"),
    ];
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api");
    let mut first = start_on(&db, port, &settings);

    let (secret, ticket) = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let credentials = json!({"email": "boss@example.com", "password": "boss password"});
            let (_, login) = call(
                &agent,
                "POST",
                &format!("{base}/auth/login"),
                None,
                Some(credentials),
            );
            let token = login["token"].as_str().unwrap().to_owned();
            let subscription = json!({"url": hook_url, "events": ["ticket.created"]});
            let (status, hook) = call(
                &agent,
                "POST",
                &format!("{base}/webhooks"),
                Some(&token),
                Some(subscription),
            );
            assert_eq!(status, 201, "{hook}");
            let new = json!({"title": "Printer on fire", "priority": "high"});
            let (status, ticket) = call(
                &agent,
                "POST",
                &format!("{base}/tickets"),
                Some(&token),
                Some(new),
            );
            assert_eq!(status, 201);
            (
                hook["secret"].as_str().unwrap().to_owned(),
                ticket["id"].as_i64().unwrap(),
            )
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(got.lock().unwrap().is_empty(), "delivered before the kill");
    // SIGKILL: no graceful shutdown, nothing flushed.
    first.0.kill().unwrap();
    first.0.wait().unwrap();

    let _second = start_on(&db, port, &settings);
    let started = Instant::now();
    while got.lock().unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "delivered more than once");
    let (headers, body) = &got[0];
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(body.as_bytes(), headers)
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["type"], "ticket.created");
    assert_eq!(body["data"]["ticket"]["id"], ticket);
    let _ = std::fs::remove_dir_all(dir);
}
