//! Webhooks end to end: changes through the façade on a real SQLite store, the dispatcher
//! with the HTTP transport, and real HTTP receivers on loopback.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::{Duration, Utc};
use helpdesk_core::webhooks::{
    DeliveryState, EventFilter, EventType, Message, NewWebhook, RetrySchedule, TargetPolicy,
    WebhookPatch, WebhookReport,
};
use helpdesk_core::{
    Actor, Clock, Error, Helpdesk, ManualClock, NewComment, NewTicket, NewUser, PageRequest,
    Priority, Registration, Role, Status, Store, TicketPatch,
};
use helpdesk_sqlite::SqliteStore;
use helpdesk_webhooks::HttpTransport;
use serde_json::Value;

/// What a receiver got: headers and body of each request.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    /// Statuses to answer, in turn; 204 once they run out.
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    fn requests(&self) -> Vec<(HeaderMap, String)> {
        self.got.lock().unwrap().clone()
    }

    fn bodies(&self) -> Vec<Value> {
        let got = self.requests();
        got.iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect()
    }
}

async fn record(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    r.got.lock().unwrap().push((headers, body));
    let status = r.answers.lock().unwrap().pop_front().unwrap_or(204);
    StatusCode::from_u16(status).unwrap()
}

async fn hang() -> StatusCode {
    tokio::time::sleep(StdDuration::from_secs(30)).await;
    StatusCode::OK
}

async fn redirect() -> impl IntoResponse {
    (StatusCode::FOUND, [(header::LOCATION, "/hook")])
}

/// A receiver on a loopback port: `/hook` records, `/hang` never answers in time, `/redirect`
/// sends to `/hook`.
async fn receiver() -> (Receiver, String) {
    let receiver = Receiver::default();
    let app = axum::Router::new()
        .route("/hook", post(record))
        .route("/hang", post(hang))
        .route("/redirect", post(redirect))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, base)
}

struct Env {
    store: Arc<dyn Store>,
    helpdesk: Helpdesk,
    clock: ManualClock,
    admin: Actor,
    user: Actor,
    agent: Actor,
}

async fn env_with(policy: TargetPolicy) -> Env {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    // Near the real time: receivers check the signature's timestamp against their clock.
    let clock = ManualClock::new(Utc::now());
    let helpdesk = Helpdesk::builder_shared(store.clone())
        .clock(clock.clone())
        .webhook_targets(policy)
        .build();
    let admin = account(&helpdesk, "admin@example.com", Role::Admin).await;
    let agent = account(&helpdesk, "agent@example.com", Role::Agent).await;
    let user = account(&helpdesk, "user@example.com", Role::User).await;
    Env {
        store,
        helpdesk,
        clock,
        admin,
        user,
        agent,
    }
}

/// A new account's acting identity.
async fn account(helpdesk: &Helpdesk, email: &str, role: Role) -> Actor {
    let registration = Registration::new(email, "correct horse battery", "A", "B").unwrap();
    helpdesk
        .create_user_unchecked(NewUser { registration, role })
        .await
        .unwrap()
        .actor()
}

async fn env() -> Env {
    env_with(TargetPolicy::allow_private()).await
}

fn dispatcher(env: &Env) -> helpdesk_core::webhooks::WebhookDispatcher {
    env.helpdesk
        .webhook_dispatcher()
        .with_transport(HttpTransport::new().unwrap())
        .with_timeout(StdDuration::from_secs(5))
}

/// One run of [`dispatcher`] at the environment's time.
async fn deliver(env: &Env) -> WebhookReport {
    dispatcher(env).run_once(env.clock.now()).await.unwrap()
}

fn subscription(url: &str, events: &[&str]) -> NewWebhook {
    NewWebhook::new(url, events, "test").unwrap()
}

#[tokio::test]
async fn every_kind_of_change_is_delivered_signed_and_verifies_with_the_reference_library() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    let hd = &env.helpdesk;
    let (hook, secret) = hd
        .create_webhook(&env.admin, subscription(&format!("{base}/hook"), &["*"]))
        .await
        .unwrap();
    assert!(secret.as_str().starts_with("whsec_"));

    let ticket = hd
        .create_ticket(
            &env.user,
            NewTicket::new("Printer on fire", "Smoke", Priority::High).unwrap(),
        )
        .await
        .unwrap();
    hd.assign_ticket(&env.admin, ticket.id, Some(env.agent.id), None)
        .await
        .unwrap();
    let patch = TicketPatch::new(
        Some("Printer still on fire"),
        None,
        None,
        Some(Status::InProgress),
    );
    hd.update_ticket(&env.admin, ticket.id, patch.unwrap(), None)
        .await
        .unwrap();
    hd.add_comment(&env.agent, ticket.id, NewComment::new("On my way").unwrap())
        .await
        .unwrap();
    hd.delete_ticket(&env.admin, ticket.id).await.unwrap();

    let report = deliver(&env).await;
    assert_eq!(report.delivered, 6, "{report:?}");
    let verifier = standardwebhooks::Webhook::new(secret.as_str()).unwrap();
    let got = receiver.requests();
    for (headers, body) in &got {
        verifier.verify(body.as_bytes(), headers).unwrap();
        assert_eq!(headers["content-type"], "application/json");
        // A tampered body does not verify.
        assert!(verifier.verify(b"{}", headers).is_err());
    }
    let bodies = receiver.bodies();
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ticket.created",
            "ticket.assigned",
            "ticket.updated",
            "ticket.status_changed",
            "comment.created",
            "ticket.deleted"
        ]
    );
    assert_eq!(bodies[0]["data"]["ticket"]["title"], "Printer on fire");
    assert_eq!(bodies[0]["data"]["actor_id"], env.user.id.0);
    assert_eq!(bodies[1]["data"]["change"]["to"], env.agent.id.0);
    assert_eq!(
        bodies[2]["data"]["change"]["fields"],
        serde_json::json!(["title"])
    );
    assert_eq!(bodies[3]["data"]["change"]["from"], "open");
    assert_eq!(bodies[3]["data"]["ticket"]["status"], "in_progress");
    assert_eq!(bodies[4]["data"]["comment"]["body"], "On my way");
    assert_eq!(bodies[5]["data"]["actor_id"], env.admin.id.0);
    // Distinct, stable ids; every delivery recorded as sent.
    let ids: std::collections::BTreeSet<_> = got
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 6);
    let sent = hd
        .webhook_deliveries(
            &env.admin,
            hook.id,
            Some(DeliveryState::Sent),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(sent.count, 6);
    assert!(
        sent.items
            .iter()
            .all(|d| d.last_status == Some(204) && d.delivered_at.is_some())
    );
    // Nothing is left to send.
    let again = deliver(&env).await;
    assert_eq!(again.delivered, 0);
    assert_eq!(receiver.requests().len(), 6);
}

#[tokio::test]
async fn subscriptions_get_only_their_events_and_changes_that_write_nothing_queue_nothing() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    let hd = &env.helpdesk;
    let (hook, _) = hd
        .create_webhook(
            &env.admin,
            subscription(&format!("{base}/hook"), &["comment.created"]),
        )
        .await
        .unwrap();
    let ticket = hd
        .create_ticket(&env.user, NewTicket::new("VPN", "", Priority::Low).unwrap())
        .await
        .unwrap();
    // A stale version is refused: no change, no event.
    let patch = TicketPatch::new(Some("Other"), None, None, None).unwrap();
    assert!(matches!(
        hd.update_ticket(&env.admin, ticket.id, patch, Some(ticket.version + 5))
            .await,
        Err(Error::PreconditionFailed { .. })
    ));
    hd.add_comment(&env.user, ticket.id, NewComment::new("hello").unwrap())
        .await
        .unwrap();
    let all = hd
        .webhook_deliveries(&env.admin, hook.id, None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.count, 1);
    assert_eq!(all.items[0].event_type, EventType::CommentCreated);
    // Switched off, its delivery is parked; switched on, it is due at once.
    let switch = |active| WebhookPatch::new::<&str>(None, None, None, Some(active)).unwrap();
    hd.update_webhook(&env.admin, hook.id, switch(false))
        .await
        .unwrap();
    let parked = hd
        .webhook_deliveries(&env.admin, hook.id, None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(parked.items[0].next_attempt_at, None);
    assert_eq!(deliver(&env).await.delivered, 0);
    env.clock.advance(Duration::seconds(5));
    hd.update_webhook(&env.admin, hook.id, switch(true))
        .await
        .unwrap();
    let due = hd
        .webhook_deliveries(&env.admin, hook.id, None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(due.items[0].next_attempt_at, Some(env.clock.now()));
    deliver(&env).await;
    assert_eq!(receiver.bodies()[0]["type"], "comment.created");
}

#[tokio::test]
async fn comments_written_together_each_send_their_own_ticket_and_comment() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    let hd = &env.helpdesk;
    hd.create_webhook(
        &env.admin,
        subscription(&format!("{base}/hook"), &["comment.created"]),
    )
    .await
    .unwrap();
    let mut tickets = Vec::new();
    for title in ["VPN", "Printer", "Laptop"] {
        let new = NewTicket::new(title, "", Priority::High).unwrap();
        tickets.push(hd.create_ticket(&env.user, new).await.unwrap());
    }
    // Sent at once, so that the store writes them in groups: the admin's restart the
    // tickets' clocks, the user's change nothing.
    let writes: Vec<_> = (0..60)
        .map(|i| {
            let (hd, ticket) = (hd.clone(), tickets[i % 3].id);
            let author = if i % 2 == 0 { env.admin } else { env.user };
            tokio::spawn(async move {
                let body = NewComment::new(&format!("comment {i}")).unwrap();
                hd.add_comment(&author, ticket, body).await.unwrap()
            })
        })
        .collect();
    let mut comments = Vec::new();
    for write in writes {
        comments.push(write.await.unwrap());
    }
    for _ in 0..20 {
        if receiver.requests().len() >= comments.len() {
            break;
        }
        deliver(&env).await;
    }
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), comments.len(), "one event for each comment");
    for comment in &comments {
        let body = bodies
            .iter()
            .find(|b| b["data"]["comment"]["id"] == comment.id.0)
            .unwrap();
        assert_eq!(body["data"]["comment"]["body"], comment.body.as_str());
        assert_eq!(
            body["data"]["ticket"]["id"], comment.ticket_id.0,
            "each event carries the ticket of its own comment"
        );
    }
}

#[tokio::test]
async fn failures_are_retried_with_backoff_until_the_receiver_accepts() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    receiver.answers.lock().unwrap().extend([500, 500, 500]);
    let hd = &env.helpdesk;
    let (hook, _) = hd
        .create_webhook(
            &env.admin,
            subscription(&format!("{base}/hook"), &["ticket.created"]),
        )
        .await
        .unwrap();
    hd.create_ticket(&env.user, NewTicket::new("VPN", "", Priority::Low).unwrap())
        .await
        .unwrap();
    let queued_at = env.clock.now();
    let d = dispatcher(&env);
    let mut last_due = env.clock.now();
    for attempt in 1..=3u32 {
        let report = d.run_once(env.clock.now()).await.unwrap();
        assert_eq!(report.retried, 1, "attempt {attempt}: {report:?}");
        let pending = hd
            .webhook_deliveries(
                &env.admin,
                hook.id,
                Some(DeliveryState::Pending),
                PageRequest::default(),
            )
            .await
            .unwrap();
        let delivery = &pending.items[0];
        assert_eq!(
            (delivery.attempts, delivery.last_status),
            (attempt, Some(500))
        );
        // Backoff: between half and all of 10 s, 20 s, 40 s.
        let due = delivery.next_attempt_at.unwrap();
        let wait = (due - env.clock.now()).num_milliseconds();
        let full = 10_000 * 2i64.pow(attempt - 1);
        assert!(
            (full / 2..=full).contains(&wait),
            "attempt {attempt} waits {wait} ms"
        );
        assert!(due > last_due);
        last_due = due;
        // Not before it is due.
        assert_eq!(d.run_once(env.clock.now()).await.unwrap().retried, 0);
        env.clock.set(due);
    }
    // The backlog the metrics read: one waiting since it was queued.
    let backlog = env.store.webhook_backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (1, 0));
    let oldest = backlog.oldest_pending.unwrap();
    assert!(
        (oldest - queued_at).num_milliseconds().abs() <= 1,
        "{oldest}"
    );
    let report = d.run_once(env.clock.now()).await.unwrap();
    assert_eq!(report.delivered, 1);
    let backlog = env.store.webhook_backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.oldest_pending), (0, None));
    let got = receiver.requests();
    assert_eq!(got.len(), 4);
    // One message: the same id on every attempt.
    assert!(
        got.iter()
            .all(|(h, _)| h["webhook-id"] == got[0].0["webhook-id"])
    );
}

#[tokio::test]
async fn deliveries_fail_after_the_retry_window_and_can_be_redelivered() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    receiver.answers.lock().unwrap().extend([503, 503]);
    let hd = &env.helpdesk;
    let (hook, _) = hd
        .create_webhook(&env.admin, subscription(&format!("{base}/hook"), &["*"]))
        .await
        .unwrap();
    hd.create_ticket(&env.user, NewTicket::new("VPN", "", Priority::Low).unwrap())
        .await
        .unwrap();
    let d = dispatcher(&env).with_retry(RetrySchedule {
        give_up_after: StdDuration::from_secs(60),
        ..RetrySchedule::default()
    });
    d.run_once(env.clock.now()).await.unwrap();
    env.clock.advance(Duration::seconds(61));
    let report = d.run_once(env.clock.now()).await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let failed = hd
        .webhook_deliveries(
            &env.admin,
            hook.id,
            Some(DeliveryState::Failed),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(failed.count, 1);
    assert_eq!(env.store.webhook_backlog().await.unwrap().failed, 1);
    let delivery = &failed.items[0];
    assert_eq!(delivery.last_status, Some(503));
    assert_eq!(delivery.next_attempt_at, None);

    let again = hd.redeliver(&env.admin, delivery.id).await.unwrap();
    assert_eq!((again.state, again.attempts), (DeliveryState::Pending, 0));
    assert_eq!(d.run_once(env.clock.now()).await.unwrap().delivered, 1);
    let got = receiver.requests();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].0["webhook-id"], got[0].0["webhook-id"]);
    assert!(matches!(
        hd.redeliver(&env.admin, helpdesk_core::DeliveryId(999))
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        hd.redeliver(&env.agent, delivery.id).await,
        Err(Error::Forbidden(_))
    ));
}

#[tokio::test]
async fn gone_disables_the_subscription_and_fails_its_pending_deliveries() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    receiver.answers.lock().unwrap().push_back(410);
    let hd = &env.helpdesk;
    let (hook, _) = hd
        .create_webhook(&env.admin, subscription(&format!("{base}/hook"), &["*"]))
        .await
        .unwrap();
    for title in ["one", "two"] {
        hd.create_ticket(&env.user, NewTicket::new(title, "", Priority::Low).unwrap())
            .await
            .unwrap();
    }
    let report = dispatcher(&env)
        .with_concurrency(1)
        .run_once(env.clock.now())
        .await
        .unwrap();
    assert_eq!(report.disabled, 1, "{report:?}");
    assert_eq!(receiver.requests().len(), 1);
    let hook = hd.webhook(&env.admin, hook.id).await.unwrap();
    assert!(!hook.active);
    assert!(hook.disabled_reason.unwrap().contains("410"));
    let failed = hd
        .webhook_deliveries(
            &env.admin,
            hook.id,
            Some(DeliveryState::Failed),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(failed.count, 2);
    // Disabled: new events are not queued for it.
    hd.create_ticket(
        &env.user,
        NewTicket::new("three", "", Priority::Low).unwrap(),
    )
    .await
    .unwrap();
    let all = hd
        .webhook_deliveries(&env.admin, hook.id, None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.count, 2);
    // Switched back on, it receives again.
    let patch = WebhookPatch::new::<&str>(None, None, None, Some(true)).unwrap();
    let hook = hd.update_webhook(&env.admin, hook.id, patch).await.unwrap();
    assert!(hook.active && hook.disabled_reason.is_none());
    hd.create_ticket(
        &env.user,
        NewTicket::new("four", "", Priority::Low).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(deliver(&env).await.delivered, 1);
}

#[tokio::test]
async fn a_receiver_that_hangs_times_out_and_a_redirect_is_not_followed() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    let hd = &env.helpdesk;
    let (hanging, _) = hd
        .create_webhook(&env.admin, subscription(&format!("{base}/hang"), &["*"]))
        .await
        .unwrap();
    let (redirecting, _) = hd
        .create_webhook(
            &env.admin,
            subscription(&format!("{base}/redirect"), &["*"]),
        )
        .await
        .unwrap();
    hd.create_ticket(&env.user, NewTicket::new("VPN", "", Priority::Low).unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    let report = dispatcher(&env)
        .with_timeout(StdDuration::from_millis(300))
        .run_once(env.clock.now())
        .await
        .unwrap();
    assert!(started.elapsed() < StdDuration::from_secs(5));
    assert_eq!(report.retried, 2, "{report:?}");
    let pending = |id| {
        hd.webhook_deliveries(
            &env.admin,
            id,
            Some(DeliveryState::Pending),
            PageRequest::default(),
        )
    };
    let hung = pending(hanging.id).await.unwrap();
    assert!(
        hung.items[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("no answer within")
    );
    let redirected = pending(redirecting.id).await.unwrap();
    assert_eq!(redirected.items[0].last_status, Some(302));
    // The redirect's target got nothing.
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed_at_subscription_and_at_delivery() {
    let (receiver, base) = receiver().await;
    let guarded = env_with(TargetPolicy::public_only()).await;
    for url in [
        format!("{base}/hook"),
        base.replace("http://", "https://") + "/hook",
        "https://localhost/hook".to_owned(),
        "https://[::1]/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://10.0.0.1/hook".to_owned(),
    ] {
        let refused = guarded
            .helpdesk
            .create_webhook(&guarded.admin, subscription(&url, &["*"]))
            .await;
        match refused {
            Err(Error::Validation(errors)) => assert!(format!("{errors:?}").contains("url")),
            other => panic!("{url}: {other:?}"),
        }
    }
    assert_eq!(
        guarded
            .helpdesk
            .webhooks(&guarded.admin, PageRequest::default())
            .await
            .unwrap()
            .count,
        0
    );

    // A subscription made where private targets were allowed is still refused by a
    // dispatcher that does not allow them (as a name that resolves elsewhere later would be).
    let open = env().await;
    let https = base.replace("http://", "https://");
    let (hook, _) = open
        .helpdesk
        .create_webhook(&open.admin, subscription(&format!("{https}/hook"), &["*"]))
        .await
        .unwrap();
    open.helpdesk
        .create_ticket(
            &open.user,
            NewTicket::new("VPN", "", Priority::Low).unwrap(),
        )
        .await
        .unwrap();
    let strict = helpdesk_core::webhooks::WebhookDispatcher::new(
        open.store.clone(),
        Arc::new(open.clock.clone()),
        TargetPolicy::public_only(),
    )
    .with_transport(HttpTransport::new().unwrap());
    assert_eq!(strict.run_once(open.clock.now()).await.unwrap().retried, 1);
    let pending = open
        .helpdesk
        .webhook_deliveries(
            &open.admin,
            hook.id,
            Some(DeliveryState::Pending),
            PageRequest::default(),
        )
        .await
        .unwrap();
    let error = pending.items[0].last_error.clone().unwrap();
    assert!(error.contains("only public addresses"), "{error}");
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_for_a_day() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    let hd = &env.helpdesk;
    let (hook, old) = hd
        .create_webhook(&env.admin, subscription(&format!("{base}/hook"), &["*"]))
        .await
        .unwrap();
    let new = hd.rotate_webhook_secret(&env.admin, hook.id).await.unwrap();
    assert_ne!(old, new);
    let ping = hd.ping_webhook(&env.admin, hook.id).await.unwrap();
    assert_eq!(ping.event_type, EventType::Ping);
    deliver(&env).await;
    let (headers, body) = receiver.requests().remove(0);
    assert_eq!(
        headers["webhook-signature"]
            .to_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    for secret in [&old, &new] {
        standardwebhooks::Webhook::new(secret.as_str())
            .unwrap()
            .verify(body.as_bytes(), &headers)
            .unwrap();
    }
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["type"], "webhook.ping");
}

#[tokio::test]
async fn an_in_process_handler_receives_events_through_the_same_queue() {
    let env = env().await;
    let hd = &env.helpdesk;
    let filter = EventFilter::parse(&["comment.created"]).unwrap();
    let first = hd.subscribe_in_process("crm-sync", &filter).await.unwrap();
    let again = hd.subscribe_in_process("crm-sync", &filter).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(first.url, "in-process:crm-sync");
    let ticket = hd
        .create_ticket(&env.user, NewTicket::new("VPN", "", Priority::Low).unwrap())
        .await
        .unwrap();
    hd.add_comment(&env.user, ticket.id, NewComment::new("hello").unwrap())
        .await
        .unwrap();
    // Without its handler in this process the delivery waits.
    assert_eq!(deliver(&env).await.retried, 1);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(8);
    let with_handler = dispatcher(&env).with_handler("crm-sync", tx);
    env.clock.advance(Duration::minutes(1));
    assert_eq!(
        with_handler
            .run_once(env.clock.now())
            .await
            .unwrap()
            .delivered,
        1
    );
    let message = rx.recv().await.unwrap();
    assert_eq!(message.event_type, EventType::CommentCreated);
    let body: Value = serde_json::from_str(&message.payload).unwrap();
    assert_eq!(body["data"]["comment"]["body"], "hello");
}

#[tokio::test]
async fn only_admins_manage_webhooks_and_bad_input_changes_nothing() {
    let env = env().await;
    let hd = &env.helpdesk;
    let new = subscription("https://hooks.example.com/x", &["*"]);
    assert!(matches!(
        hd.create_webhook(&env.agent, new.clone()).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        hd.webhooks(&env.user, PageRequest::default()).await,
        Err(Error::Forbidden(_))
    ));
    for (url, events) in [
        ("ftp://example.com", vec!["*"]),
        ("not a url", vec!["*"]),
        ("https://example.com", vec![]),
        ("https://example.com", vec!["ticket.eaten"]),
        ("https://example.com", vec!["*", "ticket.created"]),
        ("https://example.com", vec!["webhook.ping"]),
    ] {
        assert!(
            NewWebhook::new(url, &events, "").is_err(),
            "{url} {events:?}"
        );
    }
    assert!(NewWebhook::new("https://example.com", &["*"], &"x".repeat(501)).is_err());
    assert!(matches!(
        hd.webhook(&env.admin, helpdesk_core::WebhookId(42)).await,
        Err(Error::NotFound)
    ));
}

#[tokio::test]
async fn the_escalation_sweep_queues_its_events_in_its_transaction() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    let hd = &env.helpdesk;
    hd.create_webhook(
        &env.admin,
        subscription(&format!("{base}/hook"), &["ticket.escalated"]),
    )
    .await
    .unwrap();
    let ticket = hd
        .create_ticket(
            &env.user,
            NewTicket::new("VPN down", "", Priority::High).unwrap(),
        )
        .await
        .unwrap();
    env.clock.advance(Duration::hours(2));
    let swept = hd
        .escalation_engine()
        .run_once(env.clock.now())
        .await
        .unwrap();
    assert_eq!(swept.escalated, vec![ticket.id]);
    deliver(&env).await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["type"], "ticket.escalated");
    assert_eq!(bodies[0]["data"]["actor_id"], Value::Null);
    assert_eq!(
        bodies[0]["data"]["change"],
        serde_json::json!({"from": "open", "target": "update"})
    );
    assert_eq!(bodies[0]["data"]["ticket"]["status"], "escalated");
}

/// PostgreSQL, two instances: every event is delivered once although both dispatch at once.
#[tokio::test]
async fn two_instances_on_postgresql_deliver_each_event_once() {
    let Ok(base_url) = std::env::var("HELPDESK_TEST_POSTGRES_URL") else {
        eprintln!("HELPDESK_TEST_POSTGRES_URL unset: skipped");
        return;
    };
    let url = helpdesk_postgres::fresh_schema_url(&base_url)
        .await
        .unwrap();
    let (receiver, base) = receiver().await;
    let mut instances = Vec::new();
    for _ in 0..2 {
        let store = helpdesk_postgres::PgStore::connect(&url).await.unwrap();
        instances.push(
            Helpdesk::builder(store)
                .webhook_targets(TargetPolicy::allow_private())
                .build(),
        );
    }
    let admin = account(&instances[0], "admin@example.com", Role::Admin).await;
    let (hook, secret) = instances[0]
        .create_webhook(&admin, subscription(&format!("{base}/hook"), &["*"]))
        .await
        .unwrap();
    for n in 0..60 {
        let hd = &instances[n % 2];
        let title = format!("ticket {n}");
        let t = hd
            .create_ticket(&admin, NewTicket::new(&title, "", Priority::Low).unwrap())
            .await
            .unwrap();
        hd.add_comment(&admin, t.id, NewComment::new("seen").unwrap())
            .await
            .unwrap();
    }
    let dispatchers: Vec<_> = instances
        .iter()
        .map(|hd| {
            hd.webhook_dispatcher()
                .with_transport(HttpTransport::new().unwrap())
                .with_concurrency(4)
        })
        .collect();
    let now = Utc::now();
    let (a, b) = tokio::join!(dispatchers[0].run_once(now), dispatchers[1].run_once(now));
    assert_eq!(a.unwrap().delivered + b.unwrap().delivered, 120);
    let got = receiver.requests();
    assert_eq!(got.len(), 120);
    let ids: std::collections::BTreeSet<_> = got
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 120, "an event was delivered twice");
    let verifier = standardwebhooks::Webhook::new(secret.as_str()).unwrap();
    for (headers, body) in &got {
        verifier.verify(body.as_bytes(), headers).unwrap();
    }
    let sent = instances[1]
        .webhook_deliveries(
            &admin,
            hook.id,
            Some(DeliveryState::Sent),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(sent.count, 120);
}

/// PostgreSQL: every statement of the webhook store, through the façade and a dispatcher.
#[tokio::test]
async fn every_webhook_statement_runs_on_postgresql() {
    let Ok(base_url) = std::env::var("HELPDESK_TEST_POSTGRES_URL") else {
        eprintln!("HELPDESK_TEST_POSTGRES_URL unset: skipped");
        return;
    };
    let url = helpdesk_postgres::fresh_schema_url(&base_url)
        .await
        .unwrap();
    let (receiver, base) = receiver().await;
    let store: Arc<dyn Store> = Arc::new(helpdesk_postgres::PgStore::connect(&url).await.unwrap());
    let hd = Helpdesk::builder_shared(store.clone())
        .webhook_targets(TargetPolicy::allow_private())
        .build();
    let admin = account(&hd, "admin@example.com", Role::Admin).await;
    let (hook, _) = hd
        .create_webhook(
            &admin,
            subscription(&format!("{base}/hook"), &["ticket.created"]),
        )
        .await
        .unwrap();
    let patch = WebhookPatch::new(None, Some(&["*"]), Some("all of it"), Some(false)).unwrap();
    let off = hd.update_webhook(&admin, hook.id, patch).await.unwrap();
    assert!(!off.active && off.events == EventFilter::All && off.description == "all of it");
    let patch = WebhookPatch::new::<&str>(None, None, None, Some(true)).unwrap();
    assert!(
        hd.update_webhook(&admin, hook.id, patch)
            .await
            .unwrap()
            .active
    );
    let new_secret = hd.rotate_webhook_secret(&admin, hook.id).await.unwrap();
    let ping = hd.ping_webhook(&admin, hook.id).await.unwrap();
    assert_eq!(ping.state, DeliveryState::Pending);
    let local = hd
        .subscribe_in_process("audit", &EventFilter::All)
        .await
        .unwrap();
    let filter = EventFilter::parse(&["ticket.deleted"]).unwrap();
    let again = hd.subscribe_in_process("audit", &filter).await.unwrap();
    assert_eq!((again.id, again.events), (local.id, filter));
    let backlog = store.webhook_backlog().await.unwrap();
    assert_eq!(backlog.pending, 1);
    assert!(backlog.oldest_pending.is_some());

    // Delivered, signed with the new secret and the old one; then a 410 switches it off.
    let dispatcher = hd
        .webhook_dispatcher()
        .with_transport(HttpTransport::new().unwrap());
    assert_eq!(dispatcher.run_once(Utc::now()).await.unwrap().delivered, 1);
    let (headers, body) = receiver.requests().remove(0);
    standardwebhooks::Webhook::new(new_secret.as_str())
        .unwrap()
        .verify(body.as_bytes(), &headers)
        .unwrap();
    let sent = hd
        .webhook_deliveries(
            &admin,
            hook.id,
            Some(DeliveryState::Sent),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(sent.count, 1);
    let redelivered = hd.redeliver(&admin, sent.items[0].id).await.unwrap();
    assert_eq!(redelivered.state, DeliveryState::Pending);
    receiver.answers.lock().unwrap().push_back(410);
    assert_eq!(dispatcher.run_once(Utc::now()).await.unwrap().disabled, 1);
    let gone = hd.webhook(&admin, hook.id).await.unwrap();
    assert!(!gone.active && gone.disabled_reason.is_some());
    assert_eq!(store.webhook_backlog().await.unwrap().failed, 1);

    // Pruned once old enough; deleting takes the rest.
    let pruned = hd
        .webhook_dispatcher()
        .with_retention(StdDuration::ZERO)
        .run_once(Utc::now() + Duration::seconds(1))
        .await
        .unwrap()
        .pruned;
    assert_eq!(pruned, 1);

    // Switched on again, it gets the sweep's escalation.
    let patch = WebhookPatch::new::<&str>(None, None, None, Some(true)).unwrap();
    hd.update_webhook(&admin, hook.id, patch).await.unwrap();
    let ticket = hd
        .create_ticket(
            &admin,
            NewTicket::new("VPN down", "", Priority::High).unwrap(),
        )
        .await
        .unwrap();
    let swept = hd
        .escalation_engine()
        .run_once(Utc::now() + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(swept.escalated, vec![ticket.id]);
    let pending = hd
        .webhook_deliveries(
            &admin,
            hook.id,
            Some(DeliveryState::Pending),
            PageRequest::default(),
        )
        .await
        .unwrap();
    let types: Vec<EventType> = pending.items.iter().map(|d| d.event_type).collect();
    assert_eq!(
        types,
        [EventType::TicketEscalated, EventType::TicketCreated]
    );
    hd.delete_webhook(&admin, hook.id).await.unwrap();
    hd.delete_webhook(&admin, local.id).await.unwrap();
    assert_eq!(
        hd.webhooks(&admin, PageRequest::default())
            .await
            .unwrap()
            .count,
        0
    );
}

#[tokio::test]
async fn warnings_and_reminders_of_the_sweep_are_events_too() {
    let env = env().await;
    let (receiver, base) = receiver().await;
    let hd = &env.helpdesk;
    // High: act within an hour, warned at 80 %, reminded every 10 minutes while escalated.
    let spec = serde_json::from_value(serde_json::json!({
        "targets": {
            "high": {"update_seconds": 3600},
            "medium": {"update_seconds": 14400},
            "low": {"update_seconds": 86400}},
        "warn_at_percent": 80,
        "remind_every_seconds": 600,
        "max_reminders": 2}))
    .unwrap();
    hd.replace_sla_policy(&env.admin, spec, None).await.unwrap();
    let events = ["ticket.sla_warning", "ticket.escalation_reminder"];
    hd.create_webhook(&env.admin, subscription(&format!("{base}/hook"), &events))
        .await
        .unwrap();
    let ticket = hd
        .create_ticket(
            &env.user,
            NewTicket::new("VPN down", "", Priority::High).unwrap(),
        )
        .await
        .unwrap();
    let engine = hd.escalation_engine();
    let start = env.clock.now();
    for minutes in [48, 60, 70, 80, 90] {
        env.clock.set(start + Duration::minutes(minutes));
        engine.run_once(env.clock.now()).await.unwrap();
    }
    deliver(&env).await;
    let bodies = receiver.bodies();
    let seen: Vec<(String, Value)> = bodies
        .iter()
        .map(|b| {
            (
                b["type"].as_str().unwrap().to_owned(),
                b["data"]["change"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "ticket.sla_warning".to_owned(),
                serde_json::json!({"target": "update"})
            ),
            (
                "ticket.escalation_reminder".to_owned(),
                serde_json::json!({"number": 1})
            ),
            (
                "ticket.escalation_reminder".to_owned(),
                serde_json::json!({"number": 2})
            ),
        ]
    );
    assert!(
        bodies
            .iter()
            .all(|b| b["data"]["ticket"]["id"] == ticket.id.0)
    );
}
