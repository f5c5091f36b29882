//! The HTTP contract of docs/api.md, row by row, through the router.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, header};
use chrono::Duration;
use common::{PASSWORD, api};
use helpdesk_core::Role;
use serde_json::json;

#[tokio::test]
async fn register_login_me_logout() {
    let api = api().await;
    let r = api.call("POST", "/api/auth/register", None, Some(json!({
        "email": "Ada@Example.com", "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace", "role": "admin"
    }))).await;
    let user = r.expect(201).clone();
    assert_eq!(user["role"], "user", "a role in the body is ignored");
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name_email"], "Ada Lovelace - ada@example.com");
    for field in [
        "id",
        "first_name",
        "last_name",
        "is_active",
        "created_at",
        "updated_at",
    ] {
        assert!(user.get(field).is_some(), "{field} missing");
    }
    let again = api
        .call(
            "POST",
            "/api/auth/register/",
            None,
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    again.expect(409);

    let wrong = api
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "nope nope nope"})),
        )
        .await;
    wrong.expect(401);
    let unknown = api
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "who@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        unknown.body["detail"], wrong.body["detail"],
        "the same 401 for a wrong email and a wrong password"
    );

    let login = api
        .call(
            "POST",
            "/api/auth/login/",
            None,
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    let login = login.expect(200).clone();
    let token = login["token"].as_str().unwrap();
    assert_eq!(login["user"]["id"], user["id"]);
    assert_eq!(login["expires_at"], "2026-12-10T09:00:00Z");

    let me = api.get("/api/auth/me", token).await;
    assert_eq!(me.expect(200)["email"], "ada@example.com");
    let me = api.get("/api/auth/me/", token).await;
    me.expect(200);
    api.call("POST", "/api/auth/logout", Some(token), None)
        .await
        .expect(204);
    let after = api.get("/api/auth/me", token).await;
    after.expect(401);
    assert_eq!(after.header("www-authenticate"), Some("Bearer"));
    let anonymous = api.call("GET", "/api/auth/me", None, None).await;
    anonymous.expect(401);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn profile_password_and_account_deletion() {
    let api = api().await;
    let (_, token) = api.account("ada@example.com", Role::User).await;
    let (_, other) = api.account("bob@example.com", Role::User).await;
    let r = api
        .call(
            "PATCH",
            "/api/auth/me",
            Some(&token),
            Some(json!({"first_name": "Augusta", "email": "AUGUSTA@example.com"})),
        )
        .await;
    let me = r.expect(200);
    assert_eq!(
        (me["first_name"].as_str(), me["email"].as_str()),
        (Some("Augusta"), Some("augusta@example.com"))
    );
    api.call(
        "PATCH",
        "/api/auth/me",
        Some(&token),
        Some(json!({"email": "bob@example.com"})),
    )
    .await
    .expect(409);
    let bad = api
        .call(
            "PATCH",
            "/api/auth/me",
            Some(&token),
            Some(json!({"email": "not an email"})),
        )
        .await;
    assert_eq!(
        bad.expect(422)["errors"]["email"][0],
        "must be a valid email address"
    );

    let second = api
        .helpdesk
        .login("augusta@example.com", PASSWORD)
        .await
        .unwrap()
        .token
        .into_string();
    let wrong = api
        .call(
            "POST",
            "/api/auth/password",
            Some(&token),
            Some(json!({"current_password": "nope nope", "new_password": "a new long secret"})),
        )
        .await;
    assert!(wrong.expect(422)["errors"]["current_password"].is_array());
    let short = api
        .call(
            "POST",
            "/api/auth/password",
            Some(&token),
            Some(json!({"current_password": PASSWORD, "new_password": "short"})),
        )
        .await;
    assert!(short.expect(422)["errors"]["new_password"].is_array());
    api.call(
        "POST",
        "/api/auth/password",
        Some(&token),
        Some(json!({"current_password": PASSWORD, "new_password": "a new long secret"})),
    )
    .await
    .expect(204);
    api.get("/api/auth/me", &token).await.expect(200);
    api.get("/api/auth/me", &second).await.expect(401);

    api.call("DELETE", "/api/auth/me", Some(&token), None)
        .await
        .expect(204);
    api.get("/api/auth/me", &token).await.expect(401);
    api.call(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({"email": "augusta@example.com", "password": "a new long secret"})),
    )
    .await
    .expect(401);
    api.get("/api/auth/me", &other).await.expect(200);
}

#[tokio::test]
async fn login_throttling_answers_429_with_retry_after() {
    let api = api().await;
    api.account("ada@example.com", Role::User).await;
    for _ in 0..5 {
        api.call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "wrong wrong"})),
        )
        .await
        .expect(401);
    }
    let r = api
        .call(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": PASSWORD})),
        )
        .await;
    r.expect(429);
    assert_eq!(r.header("retry-after"), Some("900"));
    api.clock.advance(Duration::minutes(15));
    api.call(
        "POST",
        "/api/auth/login",
        None,
        Some(json!({"email": "ada@example.com", "password": PASSWORD})),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn tickets_crud_etags_and_transitions() {
    let api = api().await;
    let (_, user) = api.account("ada@example.com", Role::User).await;
    let (agent_user, agent) = api.account("agent@example.com", Role::Agent).await;
    let (_, admin) = api.account("boss@example.com", Role::Admin).await;

    let r = api
        .call(
            "POST",
            "/api/tickets/",
            Some(&user),
            Some(json!({"title": "  Printer on fire ", "description": "Smoke"})),
        )
        .await;
    let t = r.expect(201).clone();
    assert_eq!(
        (
            t["title"].as_str(),
            t["priority"].as_str(),
            t["status"].as_str()
        ),
        (Some("Printer on fire"), Some("medium"), Some("open"))
    );
    assert_eq!(t["due_at"], "2026-11-26T13:00:00Z");
    assert_eq!(t["version"], 1);
    for field in [
        "id",
        "description",
        "created_by",
        "assigned_to",
        "created_at",
        "updated_at",
        "resolved_at",
        "escalated_at",
    ] {
        assert!(t.get(field).is_some(), "{field} missing");
    }
    assert_eq!(r.header("etag"), Some("\"1\""));
    let id = t["id"].as_i64().unwrap();
    let path = format!("/api/tickets/{id}");

    let got = api.get(&path, &user).await;
    assert_eq!(got.header("etag"), Some("\"1\""));
    assert_eq!(got.expect(200)["id"], id);

    let patch = |body: serde_json::Value, token: &str, if_match: Option<&str>| {
        let mut request = Request::builder()
            .method("PATCH")
            .uri(&path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(tag) = if_match {
            request = request.header(header::IF_MATCH, tag);
        }
        let request = request.body(Body::from(body.to_string())).unwrap();
        let api = &api;
        async move { api.send(request).await }
    };
    let edited = patch(json!({"priority": "high"}), &user, Some("\"1\"")).await;
    assert_eq!(edited.expect(200)["due_at"], "2026-11-26T10:00:00Z");
    assert_eq!(edited.header("etag"), Some("\"2\""));
    let stale = patch(json!({"title": "again"}), &user, Some("\"1\"")).await;
    stale.expect(412);
    assert_eq!(stale.header("etag"), Some("\"2\""));
    // A tag that is none of ours matches no version (RFC 9110): 412, and nothing changes; a
    // value that is no entity tag at all is malformed: 400.
    patch(json!({"title": "again"}), &user, Some("\"garbage\""))
        .await
        .expect(412);
    patch(json!({"title": "again"}), &user, Some("garbage"))
        .await
        .expect(400);
    patch(json!({"title": "again"}), &user, Some("W/\"2\""))
        .await
        .expect(200);
    patch(json!({"title": "and again"}), &user, Some("*"))
        .await
        .expect(200);
    patch(json!({"status": "in_progress"}), &user, None)
        .await
        .expect(403);
    patch(json!({"status": "escalated"}), &admin, None)
        .await
        .expect(409);
    patch(json!({"status": "finished"}), &admin, None)
        .await
        .expect(422);
    patch(json!({"title": ""}), &user, None).await.expect(422);

    let assign = api
        .call(
            "POST",
            &format!("{path}/assign"),
            Some(&admin),
            Some(json!({"agent_id": agent_user.id.0})),
        )
        .await;
    assert_eq!(assign.expect(200)["assigned_to"], agent_user.id.0);
    api.call(
        "POST",
        &format!("{path}/assign/"),
        Some(&admin),
        Some(json!({})),
    )
    .await
    .expect(422);
    api.call(
        "POST",
        &format!("{path}/assign"),
        Some(&user),
        Some(json!({"agent_id": null})),
    )
    .await
    .expect(403);
    let moved = patch(json!({"status": "in-progress"}), &agent, None).await;
    assert_eq!(moved.expect(200)["status"], "in_progress");
    let resolved = patch(json!({"status": "resolved"}), &agent, None).await;
    assert!(resolved.expect(200)["resolved_at"].is_string());

    let c = api
        .call(
            "POST",
            &format!("{path}/comments/"),
            Some(&agent),
            Some(json!({"body": "Replaced the fuser"})),
        )
        .await;
    let c = c.expect(201).clone();
    assert_eq!(
        (c["ticket_id"].as_i64(), c["author_id"].as_i64()),
        (Some(id), Some(agent_user.id.0))
    );
    api.call(
        "POST",
        &format!("{path}/comments"),
        Some(&agent),
        Some(json!({"body": "   "})),
    )
    .await
    .expect(422);
    let comments = api.get(&format!("{path}/comments"), &user).await;
    assert_eq!(comments.expect(200)["count"], 1);
    let history = api.get(&format!("{path}/history/"), &user).await;
    let kinds: Vec<_> = history.expect(200)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "edited",
            "edited",
            "edited",
            "assigned",
            "status_changed",
            "status_changed",
            "commented"
        ]
    );
    assert!(history.body["results"][0]["actor_id"].is_i64());

    api.call("DELETE", &path, Some(&agent), None)
        .await
        .expect(403);
    api.call("DELETE", &format!("{path}/"), Some(&admin), None)
        .await
        .expect(204);
    api.get(&path, &admin).await.expect(404);
}

#[tokio::test]
async fn lists_filter_order_and_paginate_like_drf() {
    let api = api().await;
    let (ada, token) = api.account("ada@example.com", Role::User).await;
    let (_, admin) = api.account("boss@example.com", Role::Admin).await;
    for i in 0..25 {
        api.ticket(&ada, &format!("ticket {i:02}")).await;
        api.clock.advance(Duration::seconds(1));
    }
    let first = api
        .get("/api/tickets?page_size=10&search=TICKET", &token)
        .await;
    let body = first.expect(200);
    assert_eq!(body["count"], 25);
    assert_eq!(body["results"].as_array().unwrap().len(), 10);
    assert_eq!(
        body["results"][0]["title"], "ticket 24",
        "newest first by default"
    );
    assert_eq!(
        body["next"],
        "http://helpdesk.test/api/tickets?page_size=10&search=TICKET&page=2"
    );
    assert_eq!(body["previous"], serde_json::Value::Null);
    let last = api
        .get(
            "/api/tickets/?page_size=10&page=3&ordering=created_at",
            &token,
        )
        .await;
    let body = last.expect(200);
    assert_eq!(body["results"].as_array().unwrap().len(), 5);
    assert_eq!(body["results"][0]["title"], "ticket 20");
    assert_eq!(body["next"], serde_json::Value::Null);
    assert_eq!(
        body["previous"],
        "http://helpdesk.test/api/tickets/?page_size=10&ordering=created_at&page=2"
    );
    api.get("/api/tickets?page=4&page_size=10", &token)
        .await
        .expect(404);
    let filtered = api
        .get(
            "/api/tickets?status=open&priority=high&assigned_to=none&title=ticket%200",
            &admin,
        )
        .await;
    assert_eq!(filtered.expect(200)["count"], 10);
    let by_creator = api
        .get(&format!("/api/tickets?created_by={}", ada.id), &admin)
        .await;
    assert_eq!(by_creator.expect(200)["count"], 25);

    let users = api.get("/api/users?search=ADA&role=user", &admin).await;
    assert_eq!(users.expect(200)["count"], 1);
    assert_eq!(
        users.body["results"][0]["name_email"],
        "Test ada - ada@example.com"
    );
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_and_changes_nothing() {
    let api = api().await;
    let (ada, token) = api.account("ada@example.com", Role::User).await;
    let t = api.ticket(&ada, "printer").await;
    let send_raw = |content_type: &'static str, body: Vec<u8>| {
        let request = Request::builder()
            .method("POST")
            .uri("/api/tickets")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let api = &api;
        async move { api.send(request).await }
    };
    send_raw("application/json", b"{\"title\": ".to_vec())
        .await
        .expect(400);
    send_raw("application/json", b"[1, 2]".to_vec())
        .await
        .expect(422);
    send_raw("application/json", b"{} trailing".to_vec())
        .await
        .expect(400);
    send_raw("text/plain", b"{\"title\": \"x\"}".to_vec())
        .await
        .expect(400);
    let unknown = send_raw(
        "application/json",
        br#"{"title": "x", "priority": "urgent"}"#.to_vec(),
    )
    .await;
    assert!(
        unknown.expect(422)["errors"]["priority"][0]
            .as_str()
            .unwrap()
            .contains("urgent")
    );
    let wrong_type = send_raw("application/json", br#"{"title": 5}"#.to_vec()).await;
    assert!(wrong_type.expect(422)["errors"]["title"].is_array());
    let huge = format!(
        "{{\"title\": \"x\", \"description\": \"{}\"}}",
        "a".repeat(2 << 20)
    );
    send_raw("application/json", huge.into_bytes())
        .await
        .expect(413);
    let long = json!({"title": "x".repeat(201), "description": "d".repeat(20_001)});
    let long = send_raw("application/json", long.to_string().into_bytes()).await;
    let errors = &long.expect(422)["errors"];
    assert!(errors["title"].is_array() && errors["description"].is_array());
    send_raw(
        "application/json",
        br#"{"title": "nul\u0000byte"}"#.to_vec(),
    )
    .await
    .expect(422);

    for query in [
        "status=done",
        "priority=urgent",
        "page=0",
        "page=-1",
        "page=99999999999",
        "page_size=0",
        "page_size=101",
        "page=abc",
        "ordering=title",
        "assigned_to=someone",
        "assigned_to=-5",
        "assigned_to=%2B5",
        "assigned_to=363601187328986894860",
        "created_by=x",
        "breached=maybe",
    ] {
        let r = api.get(&format!("/api/tickets?{query}"), &token).await;
        assert_eq!(r.status.as_u16(), 400, "{query}: {}", r.body);
        r.expect(400);
        assert!(r.body["errors"].is_object(), "{query}: {}", r.body);
    }
    let ignored = api.get("/api/tickets?status=&priority=&assigned_to=&ordering=&created_by=&page=&page_size=&search=", &token).await;
    assert_eq!(
        ignored.expect(200)["count"],
        1,
        "empty filters are no filters, as in DRF"
    );
    let long_search = format!("/api/tickets?search={}", "x".repeat(201));
    api.get(&long_search, &token).await.expect(400);
    for path in [
        "/api/tickets/abc",
        "/api/tickets/-1",
        "/api/tickets/0",
        "/api/tickets/99999999999999999999",
        "/api/tickets/9999",
        "/api/users/abc/",
        "/api/nope",
    ] {
        api.get(path, &token).await.expect(404);
    }
    api.call("PUT", &format!("/api/tickets/{}", t.id), Some(&token), None)
        .await
        .expect(405);
    let count = api.get("/api/tickets", &token).await;
    assert_eq!(
        count.expect(200)["count"],
        1,
        "nothing was created by the bad requests"
    );
}

#[tokio::test]
async fn reports_escalations_notifications_and_health() {
    let api = api().await;
    let (ada, token) = api.account("ada@example.com", Role::User).await;
    let (_, admin) = api.account("boss@example.com", Role::Admin).await;
    let t = api.ticket(&ada, "printer").await;
    api.call("POST", "/api/escalations/run", Some(&token), None)
        .await
        .expect(403);
    let none = api
        .call("POST", "/api/escalations/run/", Some(&admin), None)
        .await;
    assert_eq!(none.expect(200)["escalated"], json!([]));
    api.clock.advance(Duration::minutes(61));
    let run = api
        .call("POST", "/api/escalations/run", Some(&admin), None)
        .await;
    assert_eq!(
        run.expect(200).clone(),
        json!({"escalated": [t.id.0], "warned": [], "reminded": [], "notifications_queued": 2})
    );
    let report = api.get("/api/reports/last7days/", &token).await;
    assert_eq!(
        report.expect(200).clone(),
        json!({"opened": 1, "resolved": 0, "escalated": 1})
    );
    let sla = api.get("/api/reports/sla?days=30", &admin).await;
    let sla = sla.expect(200);
    assert_eq!(
        sla["by_priority"]["high"],
        json!({"opened": 1, "resolved": 0, "resolved_within_target": 0, "update_breaches": 1,
               "resolution_breaches": 0, "median_first_response_seconds": null})
    );
    assert_eq!(sla["by_priority"]["medium"]["opened"], 0);
    let from = sla["from"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>();
    let to = sla["to"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>();
    assert_eq!(to.unwrap() - from.unwrap(), Duration::days(30));
    let default = api.get("/api/reports/sla", &token).await;
    assert_eq!(default.expect(200)["by_priority"]["high"]["opened"], 1);
    for days in ["0", "367"] {
        let bad = api
            .get(&format!("/api/reports/sla?days={days}"), &admin)
            .await;
        assert!(bad.expect(422)["errors"]["days"].is_array());
    }
    for days in ["abc", "-1", "1.5"] {
        let bad = api
            .get(&format!("/api/reports/sla?days={days}"), &admin)
            .await;
        bad.expect(400);
    }
    api.call("GET", "/api/reports/sla", None, None)
        .await
        .expect(401);
    let pending = api.get("/api/notifications?state=pending", &admin).await;
    let pending = pending.expect(200);
    assert_eq!(pending["count"], 2);
    assert_eq!(pending["results"][0]["target"], "update");
    assert_eq!(
        pending["results"][0]["due_at"],
        t.due_at
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    api.get("/api/notifications", &token).await.expect(403);
    api.call("POST", "/api/notifications/1/retry", Some(&admin), None)
        .await
        .expect(404);
    let health = api.call("GET", "/api/health/", None, None).await;
    assert_eq!(health.expect(200).clone(), json!({"status": "ok"}));
}

#[tokio::test]
async fn request_ids_are_set_or_echoed() {
    let api = api().await;
    let r = api.call("GET", "/api/health", None, None).await;
    let generated = r.header("x-request-id").unwrap();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let request = Request::builder()
        .uri("/api/health")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        api.send(request).await.header("x-request-id"),
        Some("abc-123")
    );
}

#[tokio::test]
async fn docs_are_served_under_the_mount_prefix() {
    let api = api().await;
    let schema = api.call("GET", "/api/schema", None, None).await;
    let doc = schema.expect(200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/api");
    let swagger = api.call("GET", "/api/schema/swagger/", None, None).await;
    assert_eq!(swagger.status, 200);
    assert!(String::from_utf8_lossy(&swagger.raw).contains("swagger"));
    let init = api
        .call(
            "GET",
            "/api/schema/swagger/swagger-initializer.js",
            None,
            None,
        )
        .await;
    assert!(
        String::from_utf8_lossy(&init.raw).contains("\"/api/schema\""),
        "{}",
        String::from_utf8_lossy(&init.raw)
    );
    let docs = api.call("GET", "/api/docs/", None, None).await;
    assert_eq!(docs.status, 200);
    let docs_init = api
        .call("GET", "/api/docs/swagger-initializer.js", None, None)
        .await;
    assert!(String::from_utf8_lossy(&docs_init.raw).contains("\"/api/schema\""));
    let css = api
        .call("GET", "/api/schema/swagger/swagger-ui.css", None, None)
        .await;
    assert_eq!(
        (css.status.as_u16(), css.header("content-type")),
        (200, Some("text/css"))
    );
    let redirect = api.call("GET", "/api/schema/swagger", None, None).await;
    assert_eq!(
        (redirect.status.as_u16(), redirect.header("location")),
        (308, Some("swagger/"))
    );
    let redoc = api.call("GET", "/api/schema/redoc/", None, None).await;
    assert_eq!(redoc.status, 200);
    let page = String::from_utf8_lossy(&redoc.raw);
    assert!(page.contains("Helpdesk API") && page.contains("data-schema=\"/api/schema\""));
    let redirect = api.call("GET", "/api/schema/redoc", None, None).await;
    assert_eq!(redirect.header("location"), Some("redoc/"));
}

/// Every documentation page loads what it needs from this server: each `src`, `href` and CSS
/// `url()` it names is relative (no other origin, no CDN) and served.
#[tokio::test]
async fn docs_pages_need_no_other_origin() {
    let api = api().await;
    let reference = regex::Regex::new(r#"(?:src|href)="([^"]*)"|url\(["']?([^"')]*)"#).unwrap();
    for page in ["/api/schema/swagger/", "/api/docs/", "/api/schema/redoc/"] {
        let html = api.call("GET", page, None, None).await;
        assert_eq!(html.status, 200, "{page}");
        let policy = html.header("content-security-policy").unwrap_or_default();
        assert!(
            policy.starts_with("default-src 'self';"),
            "{page}: {policy}"
        );
        let html = String::from_utf8_lossy(&html.raw).into_owned();
        let mut files: Vec<String> = Vec::new();
        for found in reference.captures_iter(&html) {
            let target = found.get(1).or(found.get(2)).unwrap().as_str();
            assert!(
                !target.contains("//") && !target.starts_with('/'),
                "{page} refers to {target}"
            );
            files.push(format!("{page}{}", target.trim_start_matches("./")));
        }
        assert!(!files.is_empty(), "{page} loads nothing");
        for file in files {
            let served = api.call("GET", &file, None, None).await;
            assert_eq!(served.status, 200, "{file}");
            if file.ends_with(".css") {
                let css = String::from_utf8_lossy(&served.raw).into_owned();
                for found in reference.captures_iter(&css) {
                    let target = found.get(2).map_or("", |m| m.as_str());
                    assert!(
                        !target.contains("//") || target.starts_with("data:"),
                        "{file} refers to {target}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_store_that_is_gone_is_a_503_not_a_500() {
    let store = helpdesk_sqlite::SqliteStore::connect("sqlite::memory:")
        .await
        .unwrap();
    let helpdesk = helpdesk_core::Helpdesk::new(store.clone());
    let user = helpdesk
        .register(helpdesk_core::Registration::new("ada@example.com", PASSWORD, "", "").unwrap())
        .await
        .unwrap();
    let token = helpdesk
        .login("ada@example.com", PASSWORD)
        .await
        .unwrap()
        .token
        .into_string();
    let api = common::Api {
        router: axum::Router::new().nest("/api", helpdesk_axum::router(helpdesk.clone())),
        helpdesk,
        clock: helpdesk_core::ManualClock::new(common::start()),
    };
    assert_eq!(user.id.0, 1);
    api.get("/api/tickets", &token).await.expect(200);
    store.close().await;
    let list = api.get("/api/tickets", &token).await;
    list.expect(503);
    assert_eq!(list.header("retry-after"), Some("1"));
    api.call("GET", "/api/health", None, None).await.expect(503);
}

/// A host's own authentication: a trusted `X-Host-User` header naming a helpdesk user id.
struct HostHeader;

#[async_trait::async_trait]
impl helpdesk_axum::Authenticator for HostHeader {
    async fn authenticate(
        &self,
        _: &helpdesk_core::Helpdesk,
        parts: &axum::http::request::Parts,
    ) -> Result<helpdesk_axum::Identity, helpdesk_core::Error> {
        let id = parts
            .headers
            .get("x-host-user")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let id = id.ok_or(helpdesk_core::Error::Unauthenticated)?;
        let actor = helpdesk_core::Actor::new(helpdesk_core::UserId(id), Role::User);
        Ok(helpdesk_axum::Identity { actor, token: None })
    }

    fn challenge(&self) -> Option<&str> {
        Some("HostSession realm=\"example\"")
    }
}

#[tokio::test]
async fn a_custom_authenticator_decides_who_calls_and_how_to_ask() {
    let base = api().await;
    let (ada, _) = base.account("ada@example.com", Role::User).await;
    let router = axum::Router::new().nest(
        "/support",
        helpdesk_axum::HelpdeskApi::new(base.helpdesk.clone())
            .authenticator(HostHeader)
            .into_router(),
    );
    let api = common::Api {
        router,
        helpdesk: base.helpdesk.clone(),
        clock: base.clock.clone(),
    };
    let request = |user: Option<String>| {
        let mut request = Request::builder()
            .method("POST")
            .uri("/support/tickets")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(user) = user {
            request = request.header("x-host-user", user);
        }
        request
            .body(Body::from(json!({"title": "from the host"}).to_string()))
            .unwrap()
    };
    let created = api.send(request(Some(ada.id.to_string()))).await;
    assert_eq!(created.expect(201)["created_by"], ada.id.0);
    let anonymous = api.send(request(None)).await;
    anonymous.expect(401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("HostSession realm=\"example\"")
    );
    assert_eq!(anonymous.body["detail"], "authentication required");
}
