//! Three real server processes on one PostgreSQL database: a policy stored through one reaches
//! all three, 300 tickets are warned of each of their two targets (update and resolution) once,
//! breach each once, are reminded twice while escalated, and each recipient gets each email
//! once, through a real SMTP server. Runs when
//! `HELPDESK_TEST_POSTGRES_URL` is set (CI sets it); otherwise it is reported as ignored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{BIN, free_port};

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use helpdesk_mail::SmtpSink;
use serde_json::{Value, json};

const TICKETS: usize = 300;

struct Running(Vec<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
    }
}

fn post(agent: &ureq::Agent, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = agent.post(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut response = request.send_json(body).unwrap();
    assert!(
        response.status().is_success(),
        "POST {url}: {}",
        response.status()
    );
    response.body_mut().read_json().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(helpdesk_postgres_tests),
    ignore = "set HELPDESK_TEST_POSTGRES_URL to run the PostgreSQL tests"
)]
async fn three_instances_warn_escalate_remind_and_mail_each_once() {
    let base = std::env::var("HELPDESK_TEST_POSTGRES_URL").expect("HELPDESK_TEST_POSTGRES_URL");
    let database = helpdesk_postgres::fresh_schema_url(&base).await.unwrap();
    let sink = SmtpSink::start().await.unwrap();
    let server = || {
        let mut command = Command::new(BIN);
        command
            .env("HELPDESK_DATABASE_URL", &database)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null());
        command
    };
    let admin = server()
        .args(["create-admin", "--email", "boss@example.com"])
        .env("HELPDESK_ADMIN_PASSWORD", "boss password")
        .output()
        .unwrap();
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );

    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut running = Running(Vec::new());
    for port in &ports {
        let child = server()
            .env("HELPDESK_BIND", format!("127.0.0.1:{port}"))
            .env("HELPDESK_SMTP_URL", sink.url())
            .env("HELPDESK_ESCALATE_HIGH", "4s")
            .env("HELPDESK_SWEEP_INTERVAL", "150ms")
            .env("HELPDESK_TICKETS_PER_HOUR", "1000")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        running.0.push(child);
    }
    let bases: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}/api"))
        .collect();

    let report = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        for base in &bases {
            let started = Instant::now();
            while agent.get(format!("{base}/health")).call().map(|r| r.status() != 200).unwrap_or(true) {
                assert!(started.elapsed() < Duration::from_secs(30), "{base} did not come up");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        post(&agent, &format!("{}/auth/register", bases[0]), None, json!({"email": "ada@example.com", "password": "correct horse", "first_name": "Ada", "last_name": "L"}));
        let login = post(&agent, &format!("{}/auth/login", bases[1]), None, json!({"email": "ada@example.com", "password": "correct horse"}));
        let token = login["token"].as_str().unwrap().to_owned();
        let admin = post(&agent, &format!("{}/auth/login", bases[2]), None, json!({"email": "boss@example.com", "password": "boss password"}));
        let admin = admin["token"].as_str().unwrap().to_owned();
        // One instance stores a resolution target; the others learn of it at their next sweep
        // and recompute the tickets they raised meanwhile with the seeded policy.
        let policy = json!({"targets": {
            "high": {"update_seconds": 4, "resolve_seconds": 8},
            "medium": {"update_seconds": 14400}, "low": {"update_seconds": 86400}},
            "warn_at_percent": 50, "remind_every_seconds": 2, "max_reminders": 2});
        let stored: Value = agent.put(format!("{}/sla", bases[2])).header("Authorization", format!("Bearer {admin}")).send_json(policy).unwrap().body_mut().read_json().unwrap();
        assert_eq!(stored["version"], 2, "{stored}");
        for i in 0..TICKETS {
            post(&agent, &format!("{}/tickets", bases[i % 3]), Some(&token), json!({"title": format!("ticket {i}"), "priority": "high"}));
        }
        let started = Instant::now();
        loop {
            let report: Value = agent.get(format!("{}/reports/last7days", bases[0])).header("Authorization", format!("Bearer {admin}")).call().unwrap().body_mut().read_json().unwrap();
            if report["escalated"].as_u64() >= Some(2 * TICKETS as u64) {
                return report;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "not all escalated: {report}");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
    assert_eq!(
        report["escalated"],
        2 * TICKETS,
        "each ticket breached each target exactly once"
    );

    // Per ticket: two escalations to the creator and the admin, two warnings and two reminders
    // to the admin (nobody is assigned).
    let mail = sink.wait_for(8 * TICKETS, Duration::from_secs(60)).await;
    assert!(
        mail.len() >= 8 * TICKETS,
        "only {} emails arrived",
        mail.len()
    );
    tokio::time::sleep(Duration::from_secs(3)).await; // room for a duplicate or a third reminder
    let mut per_email: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut per_alert: BTreeMap<String, usize> = BTreeMap::new();
    for m in sink.received() {
        let subject = m.header("Subject").unwrap();
        let alert = subject.split(':').next().unwrap_or_default().to_owned();
        *per_alert.entry(alert).or_default() += 1;
        let reminder = m
            .body()
            .lines()
            .find(|l| l.starts_with("Reminder:"))
            .unwrap_or_default()
            .to_owned();
        *per_email
            .entry((m.to.join(","), subject, reminder))
            .or_default() += 1;
    }
    assert_eq!(
        per_alert,
        BTreeMap::from([
            ("[Helpdesk] Escalated".to_owned(), 4 * TICKETS),
            ("[Helpdesk] Reminder".to_owned(), 2 * TICKETS),
            ("[Helpdesk] Warning".to_owned(), 2 * TICKETS),
        ]),
        "each warning, escalation and reminder of each ticket"
    );
    assert_eq!(per_email.len(), 8 * TICKETS);
    assert!(
        per_email.values().all(|n| *n == 1),
        "some email was sent twice"
    );

    for child in &running.0 {
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
    }
    for child in &mut running.0 {
        let started = Instant::now();
        let exit = loop {
            if let Some(exit) = child.try_wait().unwrap() {
                break exit;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "an instance did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(exit.success(), "{exit:?}");
    }
}
