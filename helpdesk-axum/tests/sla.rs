//! `GET/PUT /sla`, `sla` on tickets, `waiting` and `breached=` through the router.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use chrono::Duration;
use common::api;
use helpdesk_core::Role;
use serde_json::{Value, json};

fn policy() -> Value {
    json!({
        "business_hours": {"time_zone": "Europe/Berlin",
            "week": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:30"], ["13:30", "17:00"]],
                     "wed": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]],
                     "fri": [["09:00", "17:00"]]},
            "holidays": ["2026-12-24", "2026-12-25"]},
        "targets": {
            "high": {"update_seconds": 3600, "resolve_seconds": 28800, "hours": "always"},
            "medium": {"update_seconds": 14400, "resolve_seconds": null, "hours": "business"},
            "low": {"update_seconds": 86400, "resolve_seconds": null, "hours": "business"}},
        "warn_at_percent": 80,
        "remind_every_seconds": null,
        "max_reminders": 0
    })
}

fn put(token: &str, body: &Value, if_match: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method("PUT")
        .uri("/api/sla")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(tag) = if_match {
        request = request.header(header::IF_MATCH, tag);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn the_policy_is_read_by_staff_and_replaced_by_admins_with_if_match() {
    let api = api().await;
    let (_, admin) = api.account("boss@example.com", Role::Admin).await;
    let (_, agent) = api.account("agent@example.com", Role::Agent).await;
    let (_, user) = api.account("ada@example.com", Role::User).await;

    let seeded = api.get("/api/sla", &agent).await;
    assert_eq!(seeded.header("etag"), Some("\"1\""));
    let seeded = seeded.expect(200);
    assert_eq!(seeded["version"], 1);
    assert_eq!(seeded["targets"]["high"]["update_seconds"], 3600);
    assert_eq!(seeded["targets"]["low"]["hours"], "always");
    assert_eq!(seeded["business_hours"], Value::Null);
    api.get("/api/sla", &user).await.expect(403);
    api.call("GET", "/api/sla", None, None).await.expect(401);

    api.send(put(&agent, &policy(), None)).await.expect(403);
    api.send(put(&admin, &policy(), Some("\"7\"")))
        .await
        .expect(412);
    api.send(put(&admin, &policy(), Some("7")))
        .await
        .expect(400);
    let stored = api.send(put(&admin, &policy(), Some("\"1\""))).await;
    assert_eq!(stored.header("etag"), Some("\"2\""));
    let stored = stored.expect(200).clone();
    assert_eq!(stored["version"], 2);
    let mut expected = policy();
    expected["version"] = json!(2);
    expected["updated_at"] = stored["updated_at"].clone();
    assert_eq!(stored, expected, "the policy comes back as it was written");
    assert_eq!(api.get("/api/sla", &user.clone()).await.status, 403);
    assert_eq!(*api.get("/api/sla", &agent).await.expect(200), expected);
    api.send(put(&admin, &policy(), Some("\"1\"")))
        .await
        .expect(412);
}

#[tokio::test]
async fn every_bad_field_of_a_policy_is_named_and_nothing_changes() {
    let api = api().await;
    let (_, admin) = api.account("boss@example.com", Role::Admin).await;
    let mut bad = policy();
    bad["business_hours"]["time_zone"] = json!("Mars/Olympus");
    bad["business_hours"]["week"]["mon"] = json!([["09:00", "17:00"], ["16:00", "18:00"]]);
    bad["business_hours"]["week"]["tue"] = json!([["17:00", "09:00"]]);
    bad["business_hours"]["week"]["wed"] = json!([["9 am", "25:00"]]);
    bad["business_hours"]["holidays"] = json!(["Christmas"]);
    bad["targets"]["high"]["update_seconds"] = json!(0);
    bad["targets"]["medium"]["resolve_seconds"] = json!(366 * 86400 + 1);
    bad["warn_at_percent"] = json!(100);
    bad["max_reminders"] = json!(101);
    let r = api.send(put(&admin, &bad, None)).await;
    let body = r.expect(422);
    let errors = body["errors"].as_object().unwrap();
    for field in [
        "business_hours.time_zone",
        "business_hours.week.mon",
        "business_hours.week.tue",
        "business_hours.week.wed",
        "business_hours.holidays",
        "targets.high.update_seconds",
        "targets.medium.resolve_seconds",
        "warn_at_percent",
        "max_reminders",
    ] {
        assert!(errors.contains_key(field), "{field} not named: {body}");
    }
    let mut no_calendar = policy();
    no_calendar["business_hours"] = Value::Null;
    let body = api.send(put(&admin, &no_calendar, None)).await;
    let body = body.expect(422);
    assert!(body["errors"]["targets.medium.hours"].is_array(), "{body}");
    // Unknown fields are typos, not options: refused rather than ignored.
    let mut typo = policy();
    typo["warn_at_percnt"] = json!(50);
    let r = api.send(put(&admin, &typo, None)).await;
    assert!(matches!(r.status.as_u16(), 400 | 422), "{}", r.status);
    let mut missing = policy();
    missing["targets"].as_object_mut().unwrap().remove("low");
    let r = api.send(put(&admin, &missing, None)).await;
    assert!(matches!(r.status.as_u16(), 400 | 422), "{}", r.status);
    let unchanged = api.get("/api/sla", &admin).await;
    assert_eq!(unchanged.expect(200)["version"], 1, "nothing was stored");
}

#[tokio::test]
async fn tickets_show_their_deadlines_wait_and_filter_by_breach() {
    let api = api().await;
    let (_, admin) = api.account("boss@example.com", Role::Admin).await;
    let (agent_user, agent) = api.account("agent@example.com", Role::Agent).await;
    let (ada_user, ada) = api.account("ada@example.com", Role::User).await;
    api.send(put(&admin, &policy(), None)).await.expect(200);
    // The test clock starts on Thursday 2026-11-26 09:00 UTC (10:00 in Berlin).
    let high = api.ticket(&ada_user, "printer on fire").await;
    let t = api.get(&format!("/api/tickets/{}", high.id), &ada).await;
    let t = t.expect(200).clone();
    assert_eq!(t["sla"]["update_due_at"], "2026-11-26T10:00:00Z");
    assert_eq!(t["sla"]["resolve_due_at"], "2026-11-26T17:00:00Z");
    assert_eq!(t["sla"]["breaches"], json!([]));
    assert_eq!(t["sla"]["paused_seconds"], 0);
    assert_eq!(t["due_at"], "2026-11-26T10:00:00Z");
    let medium = api
        .call(
            "POST",
            "/api/tickets",
            Some(&ada),
            Some(json!({"title": "mouse", "description": "", "priority": "medium"})),
        )
        .await;
    // Four business hours from Thursday 10:00 in Berlin: 14:00 there, 13:00 UTC.
    assert_eq!(
        medium.expect(201)["sla"]["update_due_at"],
        "2026-11-26T13:00:00Z"
    );

    let path = format!("/api/tickets/{}", high.id);
    api.call(
        "POST",
        &format!("{path}/assign"),
        Some(&admin),
        Some(json!({"agent_id": agent_user.id.0})),
    )
    .await
    .expect(200);
    api.clock.advance(Duration::minutes(30));
    let waiting = api
        .call(
            "PATCH",
            &path,
            Some(&agent),
            Some(json!({"status": "waiting"})),
        )
        .await;
    let waiting = waiting.expect(200).clone();
    assert_eq!(waiting["status"], "waiting");
    assert_eq!(waiting["due_at"], Value::Null);
    assert_eq!(waiting["sla"]["waiting_since"], "2026-11-26T09:30:00Z");
    let listed = api.get("/api/tickets?status=waiting", &admin).await;
    assert_eq!(listed.expect(200)["count"], 1);
    api.clock.advance(Duration::hours(2));
    api.call(
        "POST",
        &format!("{path}/comments"),
        Some(&ada),
        Some(json!({"body": "here is the log"})),
    )
    .await
    .expect(201);
    let back = api.get(&path, &ada).await.expect(200).clone();
    assert_eq!(back["status"], "open");
    assert_eq!(back["sla"]["paused_seconds"], 7200);
    assert_eq!(back["sla"]["resolve_due_at"], "2026-11-26T19:00:00Z");

    api.clock.advance(Duration::hours(1));
    let run = api
        .call("POST", "/api/escalations/run", Some(&admin), None)
        .await;
    // 12:30 UTC: the update clock restarted by Ada's answer at 11:30 is out; the medium ticket
    // has business time left until 13:00.
    assert_eq!(run.expect(200)["escalated"], json!([high.id.0]));
    let breached = api.get("/api/tickets?breached=true", &admin).await;
    let breached = breached.expect(200).clone();
    assert_eq!(breached["count"], 1);
    let first = &breached["results"][0];
    assert_eq!(first["id"], high.id.0);
    assert_eq!(
        first["sla"]["breaches"],
        json!([{"target": "update", "due_at": "2026-11-26T12:30:00Z", "at": "2026-11-26T12:30:00Z"}])
    );
    let calm = api.get("/api/tickets?breached=false", &admin).await;
    assert_eq!(calm.expect(200)["results"][0]["id"], medium.body["id"]);
    api.get("/api/tickets?breached=maybe", &admin)
        .await
        .expect(400);
    let history = api.get(&format!("{path}/history"), &admin).await;
    let events = history.expect(200)["results"].as_array().unwrap().clone();
    let escalated = events.iter().find(|e| e["kind"] == "escalated").unwrap();
    assert_eq!(
        (&escalated["from"], &escalated["to"]),
        (&json!("open"), &json!("update"))
    );
}
