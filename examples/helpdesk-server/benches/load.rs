//! The load benchmark: the release server under `wrk`, on a seeded database.
//!
//! ```text
//! cargo bench -p helpdesk-server --bench load                       # SQLite, 100,000 tickets
//! cargo bench -p helpdesk-server --bench load -- --tickets 1000000 --description-bytes 1024
//! cargo bench -p helpdesk-server --bench load -- --database postgres://postgres@127.0.0.1/test
//! ```
//!
//! It seeds 1 admin, 20 agents, 1,000 users and `--tickets` tickets (statuses, priorities and
//! eight topics spread evenly, two thirds assigned, created over 60 days) with set-based SQL,
//! starts the release `helpdesk-server` on it, times every list filter, ordering, search and
//! report one request at a time, drives the scenarios below with `wrk` (Debian package `wrk`),
//! then times one escalation sweep of `--overdue` tickets through `POST /api/escalations/run`.
//! It prints Markdown tables: requests per second, latency percentiles, server memory.
//!
//! On PostgreSQL it works in a database of its own, `helpdesk_load`, which it drops and
//! creates on the server the URL points at; nothing else there is touched.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, SqliteConnection};

const SERVER: &str = env!("CARGO_BIN_EXE_helpdesk-server");
const SCRIPT: &str = include_str!("load.lua");
const PASSWORD: &str = "load benchmark password";
const AGENTS: i64 = 20;
const USERS: i64 = 1_000;
/// Ids: the admin is 1, agents follow, then users.
const FIRST_AGENT: i64 = 2;
const FIRST_USER: i64 = FIRST_AGENT + AGENTS;
const TOPICS: [&str; 8] = [
    "Printer", "VPN", "Email", "Laptop", "Password", "Network", "Monitor", "Licence",
];

#[derive(Debug, Parser)]
#[command(about = "Load benchmark of helpdesk-server")]
struct Options {
    /// Tickets to seed.
    #[arg(long, default_value_t = 100_000)]
    tickets: i64,
    /// Open tickets made overdue for the timed escalation sweep.
    #[arg(long, default_value_t = 10_000)]
    overdue: i64,
    /// Extra bytes of text in every ticket's description.
    #[arg(long, default_value_t = 0)]
    description_bytes: usize,
    /// A PostgreSQL server to use instead of a SQLite file.
    #[arg(long)]
    database: Option<String>,
    /// Seconds per wrk scenario.
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// wrk connections.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Only the scenarios whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let options = Options::parse();
    assert!(
        options.overdue * 5 / 2 <= options.tickets,
        "--overdue must be at most 40 % of --tickets"
    );
    let dir = std::env::temp_dir().join("helpdesk-load");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = runtime.block_on(Database::create(&options, &dir));

    let started = Instant::now();
    admin_command(&database.url);
    runtime.block_on(database.seed(&options));
    eprintln!(
        "seeded {} tickets in {:.1} s",
        options.tickets,
        started.elapsed().as_secs_f64()
    );

    let server = Server::start(&database.url, &dir);
    let admin = server.login("admin@example.com");
    let agent = server.login(&format!("agent{}@example.com", 1));
    let user = server.login(&format!("user{}@example.com", 1));
    // Raises the tickets of S4, so that they do not pile up in the lists of the others.
    let writer = server.login(&format!("user{}@example.com", 2));
    println!(
        "\n## helpdesk-server, {} tickets on {}{}\n",
        options.tickets,
        if database.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        if options.description_bytes > 0 {
            format!(
                ", descriptions padded by {} bytes",
                options.description_bytes
            )
        } else {
            String::new()
        }
    );

    single_requests(&server, &admin, &agent, &user, &options);
    under_load(&server, [&admin, &agent, &user, &writer], &options, &dir);
    runtime.block_on(database.make_overdue(&options));
    sweep(&server, &admin, &options);
    println!(
        "\nserver memory at the end: {} MiB resident, {} MiB at peak",
        server.memory("VmRSS") / 1024,
        server.memory("VmHWM") / 1024
    );
}

/// Runs `create-admin`, which also creates the schema.
fn admin_command(url: &str) {
    let status = Command::new(SERVER)
        .args(["create-admin", "--email", "admin@example.com"])
        .env("HELPDESK_DATABASE_URL", url)
        .env("HELPDESK_ADMIN_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "create-admin failed");
}

/// The database under test and how to write a time in its SQL.
struct Database {
    url: String,
    /// PostgreSQL rather than SQLite.
    postgres: bool,
}

impl Database {
    async fn create(options: &Options, dir: &Path) -> Self {
        match &options.database {
            None => Self {
                url: format!("sqlite://{}", dir.join("load.db").display()),
                postgres: false,
            },
            Some(server) => {
                let mut conn = PgConnection::connect(server).await.unwrap();
                for statement in [
                    "DROP DATABASE IF EXISTS helpdesk_load WITH (FORCE)",
                    "CREATE DATABASE helpdesk_load",
                ] {
                    sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
                }
                let mut url = url::Url::parse(server).unwrap();
                url.set_path("/helpdesk_load");
                Self {
                    url: url.to_string(),
                    postgres: true,
                }
            }
        }
    }

    /// A time given as Unix milliseconds, in the store's column type.
    fn time(&self, millis: &str) -> String {
        if self.postgres {
            format!("to_timestamp(({millis}) / 1000.0)")
        } else {
            format!("({millis})")
        }
    }

    async fn execute(&self, sql: &str) {
        if !self.postgres {
            let mut conn = SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
        } else {
            let mut conn = PgConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }

    /// Accounts and tickets, set-based; every account has the admin's password.
    async fn seed(&self, options: &Options) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let at_now = self.time(&now.to_string());
        let accounts = AGENTS + USERS;
        let users = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {accounts})
             INSERT INTO users (email, password_hash, first_name, last_name, role, created_at, updated_at)
             SELECT CASE WHEN i <= {AGENTS} THEN 'agent' || i ELSE 'user' || (i - {AGENTS}) END || '@example.com',
                    (SELECT password_hash FROM users WHERE id = 1), 'Person', 'Number ' || i,
                    CASE WHEN i <= {AGENTS} THEN 'agent' ELSE 'user' END, {at_now}, {at_now}
             FROM n;"
        );
        let tickets = options.tickets;
        // Spread over 60 days, newest last.
        let step = 60 * 24 * 3_600_000 / tickets.max(1);
        let topic = TOPICS
            .iter()
            .enumerate()
            .map(|(k, t)| format!("WHEN {k} THEN '{t}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let filler = filler(options.description_bytes);
        let created = self.time("s.created");
        // Distinct deadlines in the coming days, as a real queue has.
        let due = self.time(&format!("{now} + 3600000 + s.i * 1000"));
        // Staff answered every ticket no longer open, within four hours.
        let answered = self.time("s.created + (s.i * 37) % 14400 * 1000");
        let tickets_sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {tickets})
             INSERT INTO tickets (title, description, priority, status, created_by, assigned_to,
                                  created_at, updated_at, resolved_at, escalated_at, due_at, clock_started_at,
                                  update_due_at, first_response_at, first_response_seconds)
             SELECT s.topic || ' problem on floor ' || (s.i % 12),
                    'Reported from desk ' || (s.i % 97) || ': the ' || lower(s.topic)
                        || ' stopped working this morning.{filler}',
                    s.i % 3, s.status, {FIRST_USER} + s.i % {USERS},
                    CASE WHEN s.i % 3 <> 0 THEN {FIRST_AGENT} + s.i % {AGENTS} END,
                    {created}, {created},
                    CASE WHEN s.status IN ('resolved', 'closed') THEN {created} END,
                    CASE WHEN s.status = 'escalated' THEN {created} END,
                    CASE WHEN s.status IN ('open', 'in_progress') THEN {due} END,
                    {created},
                    CASE WHEN s.status IN ('open', 'in_progress') THEN {due} END,
                    CASE WHEN s.status <> 'open' THEN {answered} END,
                    CASE WHEN s.status <> 'open' THEN (s.i * 37) % 14400 END
             FROM (SELECT i, CASE i % 8 {topic} END AS topic,
                          CASE i % 5 WHEN 0 THEN 'open' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'resolved'
                                     WHEN 3 THEN 'closed' ELSE 'escalated' END AS status,
                          {now} - CAST({tickets} - i AS BIGINT) * {step} AS created
                   FROM n) AS s;
             INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at)
             SELECT id, created_by, 'created', NULL, 'open', created_at FROM tickets;
             INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at)
             SELECT id, 1, 'status_changed', 'open', status, updated_at FROM tickets
             WHERE status IN ('resolved', 'closed', 'escalated');"
        );
        self.execute(&users).await;
        self.execute(&tickets_sql).await;
        // The statistics of the query planner come from where they come from in production:
        // on SQLite the server gathers them when it opens the database; on PostgreSQL
        // autovacuum does, and also sets the visibility map that lets counts read indexes
        // alone.
        if self.postgres {
            self.execute("VACUUM ANALYZE").await;
        }
    }

    /// The first `--overdue` open or in-progress tickets become overdue.
    async fn make_overdue(&self, options: &Options) {
        let last = options.overdue * 5 / 2;
        self.execute(&format!(
            "UPDATE tickets SET due_at = clock_started_at, update_due_at = clock_started_at
             WHERE id <= {last} AND status IN ('open', 'in_progress')"
        ))
        .await;
    }
}

/// About `bytes` bytes of words that match none of the topics.
fn filler(bytes: usize) -> String {
    const WORDS: &str = " The issue was first noticed after the weekly update and it repeats \
                         every time somebody on the team tries again.";
    WORDS
        .repeat(bytes.div_ceil(WORDS.len()))
        .chars()
        .take(bytes)
        .collect()
}

/// The release server, killed when dropped.
struct Server {
    child: Child,
    base: String,
    http: ureq::Agent,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(url: &str, dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
        let child = Command::new(SERVER)
            .env("HELPDESK_DATABASE_URL", url)
            .env("HELPDESK_BIND", format!("127.0.0.1:{port}"))
            // A load test raises thousands of tickets and comments from one account.
            .env("HELPDESK_TICKETS_PER_HOUR", "4000000000")
            .env("HELPDESK_COMMENTS_PER_HOUR", "4000000000")
            // The sweep is timed on its own, at the end.
            .env("HELPDESK_SWEEP_INTERVAL", "1000days")
            .stdout(log("server.out"))
            .stderr(log("server.err"))
            .spawn()
            .unwrap();
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
        };
        for _ in 0..200 {
            if server.call("GET", "/api/health", None, None).0 == 200 {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not start; see {}", dir.display());
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = match body {
            Some(body) => self.http.run(
                request
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .unwrap(),
            ),
            None => self.http.run(request.body(()).unwrap()),
        };
        let Ok(mut response) = response else {
            return (0, Value::Null);
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn login(&self, email: &str) -> String {
        let (status, body) = self.call(
            "POST",
            "/api/auth/login/",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        );
        assert_eq!(status, 200, "login of {email}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// A line of `/proc/PID/status`, in KiB.
    fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

/// Every filter, ordering, search and report, one request at a time.
fn single_requests(server: &Server, admin: &str, agent: &str, user: &str, options: &Options) {
    let mut cases: Vec<(String, &str, String)> = vec![
        ("user: own tickets".into(), user, "/api/tickets/".into()),
        (
            "agent: assigned tickets".into(),
            agent,
            "/api/tickets/".into(),
        ),
        ("admin: all tickets".into(), admin, "/api/tickets/".into()),
        (
            "admin: ?search=printer".into(),
            admin,
            "/api/tickets/?search=printer".into(),
        ),
        (
            "admin: ?search=floor 7".into(),
            admin,
            "/api/tickets/?search=floor%207".into(),
        ),
        (
            "admin: ?title=vpn".into(),
            admin,
            "/api/tickets/?title=vpn".into(),
        ),
        (
            "agent: ?search=printer".into(),
            agent,
            "/api/tickets/?search=printer".into(),
        ),
        (
            "admin: ?status=open&priority=high".into(),
            admin,
            "/api/tickets/?status=open&priority=high".into(),
        ),
        (
            "admin: ?assigned_to=3".into(),
            admin,
            "/api/tickets/?assigned_to=3".into(),
        ),
        (
            "admin: ?created_by=30".into(),
            admin,
            "/api/tickets/?created_by=30".into(),
        ),
        (
            "admin: last-7-days report".into(),
            admin,
            "/api/reports/last7days".into(),
        ),
        (
            "agent: last-7-days report".into(),
            agent,
            "/api/reports/last7days".into(),
        ),
    ];
    for status in ["open", "in_progress", "resolved", "closed", "escalated"] {
        cases.push((
            format!("admin: ?status={status}"),
            admin,
            format!("/api/tickets/?status={status}"),
        ));
    }
    for priority in ["low", "medium", "high"] {
        cases.push((
            format!("admin: ?priority={priority}"),
            admin,
            format!("/api/tickets/?priority={priority}"),
        ));
    }
    for ordering in [
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
        "priority",
        "-priority",
        "due_at",
        "-due_at",
    ] {
        cases.push((
            format!("admin: ?ordering={ordering}"),
            admin,
            format!("/api/tickets/?ordering={ordering}"),
        ));
        cases.push((
            format!("agent: ?ordering={ordering}"),
            agent,
            format!("/api/tickets/?ordering={ordering}"),
        ));
    }
    // Filters in an order of their own, and filters no scenario uses.
    for (who, token, query) in [
        ("admin", admin, "breached=true"),
        ("admin", admin, "status=open&ordering=-updated_at"),
        ("admin", admin, "status=escalated&ordering=updated_at"),
        ("admin", admin, "status=closed&ordering=-due_at"),
        ("admin", admin, "priority=high&ordering=due_at"),
        (
            "admin",
            admin,
            "status=open&priority=low&ordering=-updated_at",
        ),
        ("agent", agent, "status=open"),
        ("agent", agent, "priority=high&ordering=-updated_at"),
        // Combinations: the triage views, and searches narrowed by another filter.
        ("admin", admin, "breached=false"),
        ("admin", admin, "assigned_to=none"),
        ("admin", admin, "assigned_to=none&ordering=-priority"),
        ("admin", admin, "assigned_to=none&ordering=due_at"),
        ("admin", admin, "assigned_to=none&priority=high"),
        ("admin", admin, "assigned_to=none&priority=low"),
        (
            "admin",
            admin,
            "assigned_to=none&priority=low&ordering=-updated_at",
        ),
        ("admin", admin, "status=escalated&assigned_to=none"),
        ("admin", admin, "status=open&assigned_to=none&priority=low"),
        (
            "admin",
            admin,
            "status=open&assigned_to=none&ordering=-priority",
        ),
        ("admin", admin, "breached=false&status=open"),
        ("admin", admin, "status=open&assigned_to=5"),
        ("admin", admin, "status=open&ordering=-priority"),
        ("agent", agent, "status=open&ordering=-priority"),
        ("admin", admin, "search=printer&status=open"),
        ("admin", admin, "search=printer&priority=high"),
        ("admin", admin, "search=printer&assigned_to=3"),
        ("admin", admin, "search=printer&created_by=30"),
        ("admin", admin, "search=vpn&assigned_to=none"),
        ("admin", admin, "search=printer&breached=true"),
        ("admin", admin, "search=printer&breached=false"),
        ("agent", agent, "search=printer&status=open"),
        ("user", user, "search=printer&status=open"),
        // Searches narrowed and ordered otherwise than by creation.
        ("admin", admin, "search=printer&status=open&ordering=due_at"),
        ("admin", admin, "search=printer&ordering=-priority"),
        (
            "admin",
            admin,
            "title=printer&priority=high&ordering=-updated_at",
        ),
        ("agent", agent, "search=printer&ordering=due_at"),
    ] {
        cases.push((
            format!("{who}: ?{query}"),
            token,
            format!("/api/tickets/?{query}"),
        ));
    }
    // Pages deep in a list: its middle and its last page.
    for (who, token, query) in [
        ("admin", admin, "ordering=-created_at"),
        ("admin", admin, "ordering=-priority"),
        ("admin", admin, "ordering=due_at"),
        ("admin", admin, "status=escalated&ordering=updated_at"),
        ("admin", admin, "assigned_to=none"),
        ("admin", admin, "breached=false"),
        ("admin", admin, "search=printer"),
        ("agent", agent, "ordering=updated_at"),
    ] {
        let (_, body) = server.call("GET", &format!("/api/tickets/?{query}"), Some(token), None);
        let last = body["count"].as_u64().unwrap_or(0).div_ceil(20).max(1);
        for (which, page) in [("middle", last / 2 + 1), ("last", last)] {
            cases.push((
                format!("{who}: ?{query}, {which} page ({page})"),
                token,
                format!("/api/tickets/?{query}&page={page}"),
            ));
        }
    }
    for (who, token) in [("admin", admin), ("agent", agent), ("user", user)] {
        cases.push((
            format!("{who}: service-level report"),
            token,
            "/api/reports/sla".into(),
        ));
    }
    println!("### One request at a time (median and slowest of 25, after 3 to warm up)\n");
    println!("| request | count | median ms | slowest ms |\n|---|---:|---:|---:|");
    for (name, token, path) in cases.iter().filter(|(name, ..)| {
        options
            .only
            .as_ref()
            .is_none_or(|o| name.contains(o.as_str()))
    }) {
        let mut times = Vec::new();
        let mut count = Value::Null;
        for round in 0..28 {
            let started = Instant::now();
            let (status, body) = server.call("GET", path, Some(token), None);
            let elapsed = started.elapsed();
            assert_eq!(status, 200, "{path}: {body}");
            if round >= 3 {
                times.push(elapsed);
            }
            count = body.get("count").cloned().unwrap_or(Value::Null);
        }
        times.sort();
        println!(
            "| {name} | {count} | {:.2} | {:.2} |",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
}

/// The wrk scenarios.
fn under_load(server: &Server, tokens: [&str; 4], options: &Options, dir: &Path) {
    let [admin, agent, user, writer] = tokens;
    let script = dir.join("load.lua");
    std::fs::write(&script, SCRIPT).unwrap();
    let details: String = (0..1000)
        .map(|k| format!("/api/tickets/{}/ ", 1 + (k * 7919) % options.tickets))
        .collect();
    // (name, read token, read paths, write token, write share); the writing scenarios last,
    // so that the others see the seeded data set. S10's writes are comments on the paths'
    // tickets, S11's changes of their priority (the others' are new tickets).
    let scenarios: Vec<(&str, &str, String, &str, f64)> = vec![
        (
            "S1 admin ?status=open&priority=high",
            admin,
            "/api/tickets/?status=open&priority=high".into(),
            admin,
            0.0,
        ),
        (
            "S2 user lists own tickets",
            user,
            "/api/tickets/".into(),
            user,
            0.0,
        ),
        (
            "S3 ticket detail (admin, 1,000 ids)",
            admin,
            details.clone(),
            admin,
            0.0,
        ),
        (
            "S6 admin ?search=printer",
            admin,
            "/api/tickets/?search=printer".into(),
            admin,
            0.0,
        ),
        (
            "S7 admin last-7-days report",
            admin,
            "/api/reports/last7days".into(),
            admin,
            0.0,
        ),
        (
            "S8 agent lists own tickets",
            agent,
            "/api/tickets/".into(),
            agent,
            0.0,
        ),
        (
            "S9 agent last-7-days report",
            agent,
            "/api/reports/last7days".into(),
            agent,
            0.0,
        ),
        (
            "S4 another user creates tickets",
            writer,
            "/api/tickets/".into(),
            writer,
            1.0,
        ),
        (
            "S5 80 % S2 + 20 % S4 (the S2 user)",
            user,
            "/api/tickets/".into(),
            user,
            0.2,
        ),
        (
            "S10 admin comments on tickets (1,000 ids)",
            admin,
            details.clone(),
            admin,
            1.0,
        ),
        (
            "S11 admin changes tickets' priority (1,000 ids)",
            admin,
            details,
            admin,
            1.0,
        ),
    ];
    println!(
        "\n### Under load (wrk, {} threads, {} connections, {} s each)\n",
        options.threads, options.connections, options.duration
    );
    println!(
        "| scenario | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | RSS after, MiB |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (name, token, paths, write_token, share) in scenarios.into_iter().filter(|(name, ..)| {
        options
            .only
            .as_ref()
            .is_none_or(|o| name.contains(o.as_str()))
    }) {
        let output = Command::new("wrk")
            .args([
                "-t",
                &options.threads.to_string(),
                "-c",
                &options.connections.to_string(),
                "-d",
                &format!("{}s", options.duration),
                "-s",
            ])
            .arg(&script)
            .arg(&server.base)
            .env("HD_TOKEN", token)
            .env("HD_PATHS", paths)
            .env("HD_WRITE_TOKEN", write_token)
            .env("HD_WRITE_SHARE", share.to_string())
            .env(
                "HD_WRITES",
                match name.split(' ').next() {
                    Some("S10") => "comments",
                    Some("S11") => "priorities",
                    _ => "tickets",
                },
            )
            .output()
            .expect("wrk runs (Debian: apt-get install wrk)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| {
                panic!(
                    "wrk printed no summary: {stdout}{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            });
        let r: Value = serde_json::from_str(line).unwrap();
        let ms = |key: &str| r[key].as_f64().unwrap_or(0.0) / 1e3;
        let rps = r["requests"].as_f64().unwrap_or(0.0)
            / (r["duration_us"].as_f64().unwrap_or(1.0) / 1e6);
        println!(
            "| {name} | {rps:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
            ms("p50_us"),
            ms("p90_us"),
            ms("p99_us"),
            ms("max_us"),
            r["failed"].as_u64().unwrap_or(0) + r["non_2xx"].as_u64().unwrap_or(0),
            server.memory("VmRSS") / 1024
        );
        let _ = std::io::stdout().flush();
    }
}

/// One sweep through the operator's endpoint.
fn sweep(server: &Server, admin: &str, options: &Options) {
    let started = Instant::now();
    let (status, body) = server.call("POST", "/api/escalations/run", Some(admin), None);
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(status, 200, "{body}");
    let escalated = body["escalated"].as_array().map_or(0, Vec::len);
    assert_eq!(
        escalated as i64, options.overdue,
        "every overdue ticket escalates"
    );
    println!(
        "\nescalation sweep (POST /api/escalations/run): {escalated} of {} tickets in {:.0} ms, \
         {:.0} tickets/s, {} emails queued",
        options.tickets,
        elapsed * 1e3,
        escalated as f64 / elapsed,
        body["notifications_queued"]
    );
}
