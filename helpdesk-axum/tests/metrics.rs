//! `GET /metrics`: scraped and parsed as Prometheus would, after real requests through the
//! router, a sweep and a failed sign-in.

mod common;

use axum::body::Body;
use axum::http::Request;
use chrono::Duration;
use helpdesk_core::{Clock, Role};
use prom_text_format_parser::{Metric, Sample, Scrape, Type, ValueType};
use serde_json::json;

/// The metric `name` of `kind` in the scrape.
fn metric<'a>(scrape: &'a Scrape, name: &str, kind: Type) -> &'a Metric {
    let found = scrape.metrics.iter().find(|m| m.name == name);
    let metric = found.unwrap_or_else(|| panic!("no {name} in the scrape"));
    assert_eq!(metric.kind, kind, "{name}");
    metric
}

/// The sample of `metric` with these labels (and maybe others), of `value_type`.
fn sample<'a>(
    metric: &'a Metric,
    labels: &[(&str, &str)],
    value_type: ValueType,
) -> Option<&'a Sample> {
    metric.samples.iter().find(|s| {
        s.value.value_type == value_type
            && labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
    })
}

/// The value of the one sample of `name` with these labels.
fn number(scrape: &Scrape, name: &str, kind: Type, labels: &[(&str, &str)]) -> f64 {
    let found = sample(metric(scrape, name, kind), labels, ValueType::Sample);
    found
        .unwrap_or_else(|| panic!("no {name} {labels:?}"))
        .value
        .value
        .as_f64()
}

#[tokio::test]
async fn the_scrape_counts_requests_sweeps_sign_ins_and_the_outbox() {
    let metrics = helpdesk_axum::Metrics::install().unwrap();
    assert!(matches!(
        helpdesk_axum::Metrics::install(),
        Err(helpdesk_axum::ConfigError::Metrics(_))
    ));
    let base = common::api().await;
    let router = base
        .router
        .clone()
        .merge(metrics.router(base.helpdesk.clone()));
    let api = common::Api { router, ..base };
    let (_, token) = api.account("ada@example.com", Role::User).await;
    api.account("boss@example.com", Role::Admin).await;

    let raised = api
        .call(
            "POST",
            "/api/tickets",
            Some(&token),
            Some(json!({"title": "Printer on fire", "priority": "high"})),
        )
        .await;
    let id = raised.expect(201)["id"].as_i64().unwrap();
    api.get(&format!("/api/tickets/{id}/"), &token)
        .await
        .expect(200);
    api.get("/api/no-such-thing-1234", &token).await.expect(404);
    let odd = Request::builder()
        .method("BREW")
        .uri("/api/tickets")
        .body(Body::empty())
        .unwrap();
    api.send(odd).await;
    api.call(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({"email": "ada@example.com", "password": "wrong password"})),
    )
    .await
    .expect(401);
    api.clock.advance(Duration::hours(2));
    let swept = api
        .helpdesk
        .escalation_engine()
        .run_once(api.clock.now())
        .await
        .unwrap();
    assert_eq!(swept.escalated.len(), 1);
    api.clock.advance(Duration::seconds(90));

    let scraped = api.call("GET", "/metrics", None, None).await;
    assert_eq!(scraped.status, 200);
    assert!(
        scraped
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(scraped.raw.clone()).unwrap();
    let scrape = Scrape::parse(&text).unwrap();

    let durations = metric(
        &scrape,
        "helpdesk_http_request_duration_seconds",
        Type::Histogram,
    );
    let count = |labels: &[(&str, &str)]| {
        let found = sample(durations, labels, ValueType::Count);
        found.map_or(0.0, |s| s.value.value.as_f64())
    };
    assert_eq!(
        count(&[("method", "POST"), ("route", "/tickets"), ("status", "201")]),
        1.0
    );
    // Under the route's template without the mount point, also for a trailing-slash path.
    let read = [
        ("method", "GET"),
        ("route", "/tickets/{id}"),
        ("status", "200"),
    ];
    assert_eq!(count(&read), 1.0);
    assert!(sample(durations, &[("le", "0.0005")], ValueType::Sample).is_some());
    // What a client writes never becomes a label.
    assert_eq!(count(&[("route", "unmatched"), ("status", "404")]), 1.0);
    assert_eq!(count(&[("method", "other"), ("status", "405")]), 1.0);
    assert!(
        !text.contains("no-such-thing") && !text.contains("BREW"),
        "{text}"
    );

    let counter = |name: &str| number(&scrape, name, Type::Counter, &[]);
    assert_eq!(counter("helpdesk_login_failures_total"), 1.0);
    assert_eq!(counter("helpdesk_escalations_total"), 1.0);
    assert_eq!(counter("helpdesk_notifications_queued_total"), 2.0);
    let gauge = |name: &str, labels: &[(&str, &str)]| number(&scrape, name, Type::Gauge, labels);
    assert_eq!(
        gauge("helpdesk_notifications", &[("state", "pending")]),
        2.0
    );
    assert_eq!(gauge("helpdesk_notifications", &[("state", "failed")]), 0.0);
    assert_eq!(
        gauge("helpdesk_notifications_oldest_pending_age_seconds", &[]),
        90.0
    );
    assert_eq!(
        gauge("helpdesk_webhook_deliveries", &[("state", "pending")]),
        0.0
    );
    assert_eq!(
        gauge("helpdesk_webhook_oldest_pending_age_seconds", &[]),
        0.0
    );
    let idle = gauge(
        "helpdesk_store_connections",
        &[("pool", "reader"), ("state", "idle")],
    );
    let busy = gauge(
        "helpdesk_store_connections",
        &[("pool", "reader"), ("state", "in_use")],
    );
    assert!(idle + busy >= 1.0, "{idle} + {busy}");
    assert_eq!(gauge("helpdesk_password_hashing_slots_in_use", &[]), 0.0);
    let help = metric(&scrape, "helpdesk_escalations_total", Type::Counter);
    assert_eq!(
        help.help_desc.as_deref(),
        Some("Tickets escalated by sweeps.")
    );
}
