//! `helpdesk-server`: the helpdesk REST API under `/api` on the embedded SQLite store, with the
//! escalation engine and the email outbox running beside it. `helpdesk-server --help` lists
//! every setting; each is a flag and an environment variable.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use helpdesk_core::sla::SlaPolicySpec;
use helpdesk_core::webhooks::{RetrySchedule, TargetPolicy};
use helpdesk_core::{
    AdminBootstrap, EscalationPolicy, Helpdesk, Notifier, RateLimits, Registration, Store,
};
use helpdesk_mail::ConsoleNotifier;
use helpdesk_postgres::PgStore;
use helpdesk_sqlite::SqliteStore;
use tokio::net::TcpListener;

mod ops;
mod serve;

/// mimalloc rather than the system allocator: under load the server allocates and frees
/// small buffers on every request from several threads, where glibc's allocator spent about
/// 7 % of the server's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "helpdesk-server",
    version,
    about = "Run the helpdesk: REST API, escalation engine and email outbox"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct Settings {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER@HOST/DB for several
    /// instances on one database.
    #[arg(
        long,
        env = "HELPDESK_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://helpdesk.db",
        global = true
    )]
    database_url: String,
    /// Address to listen on.
    #[arg(
        long,
        env = "HELPDESK_BIND",
        hide_env_values = true,
        default_value = "127.0.0.1:8000",
        global = true
    )]
    bind: SocketAddr,
    /// SMTP server for escalation emails (smtp://host:25, smtps://user:pass@host:465,
    /// smtp://host:587?tls=required); unset: emails are printed to standard output.
    #[arg(long, env = "HELPDESK_SMTP_URL", hide_env_values = true, global = true)]
    smtp_url: Option<String>,
    /// Sender of escalation emails.
    #[arg(
        long,
        env = "HELPDESK_MAIL_FROM",
        hide_env_values = true,
        default_value = "Helpdesk <helpdesk@localhost>",
        global = true
    )]
    mail_from: String,
    /// Escalation window of high-priority tickets (e.g. 1h, 90s).
    #[arg(long, env = "HELPDESK_ESCALATE_HIGH",
        hide_env_values = true, default_value = "1h", value_parser = humantime::parse_duration, global = true)]
    escalate_high: Duration,
    /// Escalation window of medium-priority tickets.
    #[arg(long, env = "HELPDESK_ESCALATE_MEDIUM",
        hide_env_values = true, default_value = "4h", value_parser = humantime::parse_duration, global = true)]
    escalate_medium: Duration,
    /// Escalation window of low-priority tickets.
    #[arg(long, env = "HELPDESK_ESCALATE_LOW",
        hide_env_values = true, default_value = "24h", value_parser = humantime::parse_duration, global = true)]
    escalate_low: Duration,
    /// Trust a reverse proxy in front of the server: take the client address from the last
    /// entry of X-Forwarded-For (for throttling) and the scheme of page links from
    /// X-Forwarded-Proto. Only behind a proxy that sets both, or clients can forge them.
    #[arg(
        long,
        env = "HELPDESK_TRUST_PROXY",
        hide_env_values = true,
        global = true
    )]
    trust_proxy: bool,
    /// The public URL of the server (`https://help.example.com`), for absolute page links;
    /// unset: links use the request's Host header.
    #[arg(
        long,
        env = "HELPDESK_PUBLIC_URL",
        hide_env_values = true,
        global = true
    )]
    public_url: Option<String>,
    /// Origins whose browser pages may call the API (CORS), comma-separated
    /// (`https://app.example.com,http://localhost:5173`); none by default.
    #[arg(
        long,
        env = "HELPDESK_CORS_ORIGINS",
        hide_env_values = true,
        value_delimiter = ',',
        global = true
    )]
    cors_origins: Vec<String>,
    /// Serve Prometheus metrics at /metrics (true or false).
    #[arg(
        long,
        env = "HELPDESK_METRICS",
        hide_env_values = true,
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    metrics: bool,
    /// Serve /metrics on this address of its own instead of beside the API (for example an
    /// internal interface only the scraper reaches).
    #[arg(
        long,
        env = "HELPDESK_METRICS_BIND",
        hide_env_values = true,
        global = true
    )]
    metrics_bind: Option<SocketAddr>,
    /// How long a request may take, body and answer included (then 503).
    #[arg(long, env = "HELPDESK_REQUEST_TIMEOUT", hide_env_values = true, default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    request_timeout: Duration,
    /// How long a client may take to send a request's headers (then the connection closes).
    #[arg(long, env = "HELPDESK_HEADER_TIMEOUT", hide_env_values = true, default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    header_timeout: Duration,
    /// Connections served at once; more wait until one closes.
    #[arg(
        long,
        env = "HELPDESK_MAX_CONNECTIONS",
        hide_env_values = true,
        default_value = "1024",
        global = true
    )]
    max_connections: usize,
    /// How long shutdown waits for requests in flight.
    #[arg(long, env = "HELPDESK_SHUTDOWN_GRACE", hide_env_values = true, default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    shutdown_grace: Duration,
    /// Tickets one account may raise per hour (then 429).
    #[arg(
        long,
        env = "HELPDESK_TICKETS_PER_HOUR",
        hide_env_values = true,
        default_value = "60",
        global = true
    )]
    tickets_per_hour: u32,
    /// Comments one account may write per hour (then 429).
    #[arg(
        long,
        env = "HELPDESK_COMMENTS_PER_HOUR",
        hide_env_values = true,
        default_value = "600",
        global = true
    )]
    comments_per_hour: u32,
    /// Password hashes computed at once (19 MiB of memory each); unset: one per core.
    #[arg(
        long,
        env = "HELPDESK_HASHING_SLOTS",
        hide_env_values = true,
        global = true
    )]
    hashing_slots: Option<usize>,
    /// How long a session lookup is reused for later requests with the same token; sign-outs
    /// and account changes made on another instance take effect at most this long later (on
    /// this instance, at once). 0s turns the cache off.
    #[arg(long, env = "HELPDESK_SESSION_CACHE", hide_env_values = true, default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    session_cache: Duration,
    /// How long a sign-in waits for a hashing slot before it is answered 503.
    #[arg(long, env = "HELPDESK_HASHING_WAIT", hide_env_values = true, default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    hashing_wait: Duration,
    /// How long sent and failed emails and webhook deliveries are kept for the admins' lists.
    #[arg(long, env = "HELPDESK_NOTIFICATION_RETENTION", hide_env_values = true, default_value = "30days", value_parser = humantime::parse_duration, global = true)]
    notification_retention: Duration,
    /// How often overdue tickets are escalated and queued emails delivered.
    #[arg(long, env = "HELPDESK_SWEEP_INTERVAL",
        hide_env_values = true, default_value = "30s", value_parser = humantime::parse_duration, global = true)]
    sweep_interval: Duration,
    /// How often queued webhook events are delivered.
    #[arg(long, env = "HELPDESK_WEBHOOK_INTERVAL",
        hide_env_values = true, default_value = "2s", value_parser = humantime::parse_duration, global = true)]
    webhook_interval: Duration,
    /// How long one webhook request may take before it counts as failed.
    #[arg(long, env = "HELPDESK_WEBHOOK_TIMEOUT",
        hide_env_values = true, default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    webhook_timeout: Duration,
    /// How long a webhook delivery is retried before it is marked failed.
    #[arg(long, env = "HELPDESK_WEBHOOK_RETRY_FOR",
        hide_env_values = true, default_value = "24h", value_parser = humantime::parse_duration, global = true)]
    webhook_retry_for: Duration,
    /// Let webhooks reach loopback, private and link-local addresses and use plain http
    /// (tests and intranet installs); off, they reach only public addresses over https.
    #[arg(
        long,
        env = "HELPDESK_WEBHOOK_ALLOW_PRIVATE",
        hide_env_values = true,
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    webhook_allow_private: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Create the first admin, or promote an existing account to admin. The password comes
    /// from HELPDESK_ADMIN_PASSWORD or standard input.
    CreateAdmin {
        /// The admin's email.
        #[arg(long)]
        email: String,
        /// Given name.
        #[arg(long, default_value = "")]
        first_name: String,
        /// Family name.
        #[arg(long, default_value = "")]
        last_name: String,
    },
    /// Copy the SQLite database to a new file while the server runs: a consistent snapshot,
    /// readable by its owner only. (On PostgreSQL, use pg_dump.)
    Backup {
        /// The copy to write; it must not exist yet.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Check the settings, the database (reachable, schema current) and the SMTP server; exit
    /// non-zero with the reason at the first failure.
    Check,
    /// Send one email through the configured SMTP server (printed without one).
    SendTestEmail {
        /// The recipient.
        #[arg(long)]
        to: String,
    },
}

/// A failure with the exit code it deserves: 2 for a bad setting, 1 for anything else.
struct Failure(u8, String);

fn bad_setting(message: impl std::fmt::Display) -> Failure {
    Failure(2, message.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Log lines go to standard error from a thread of their own, so that a slow terminal or
    // pipe never holds up requests; none are dropped, and the guard flushes them at exit. The
    // thread writes every line waiting at once with one system call (it flushes whenever it
    // has caught up), rather than one call a line under load.
    let (log, _flush_at_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(log)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(helpdesk(&settings).await?, &settings).await,
        Command::CreateAdmin {
            email,
            first_name,
            last_name,
        } => create_admin(&helpdesk(&settings).await?, &email, &first_name, &last_name).await,
        Command::Backup { to } => ops::backup(&settings, &to).await,
        Command::Check => ops::check(&settings).await,
        Command::SendTestEmail { to } => ops::send_test_email(&settings, &to).await,
    }
}

/// The helpdesk the settings describe, on its store.
async fn helpdesk(settings: &Settings) -> Result<Helpdesk, Failure> {
    let policy = escalation_policy(settings)?;
    if settings.sweep_interval.is_zero() {
        return Err(bad_setting("the sweep interval must be more than zero"));
    }
    let store = open_store(&settings.database_url)
        .await
        .map_err(|e| cannot_open(&settings.database_url, e))?;
    let hashing_slots = settings.hashing_slots.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    Ok(Helpdesk::builder_shared(store)
        .escalation_policy(policy)
        .rate_limits(RateLimits {
            tickets_per_hour: settings.tickets_per_hour,
            comments_per_hour: settings.comments_per_hour,
        })
        .password_hashing(hashing_slots, settings.hashing_wait)
        .session_cache(settings.session_cache)
        .webhook_targets(if settings.webhook_allow_private {
            TargetPolicy::allow_private()
        } else {
            TargetPolicy::public_only()
        })
        .build())
}

/// The escalation windows of the settings: the policy a new database starts with.
fn escalation_policy(settings: &Settings) -> Result<EscalationPolicy, Failure> {
    EscalationPolicy::new(
        settings.escalate_high,
        settings.escalate_medium,
        settings.escalate_low,
    )
    .map_err(|e| bad_setting(format!("escalation windows: {e}")))
}

/// The API the settings describe.
fn api(helpdesk: Helpdesk, settings: &Settings) -> Result<helpdesk_axum::HelpdeskApi, Failure> {
    let mut api = helpdesk_axum::HelpdeskApi::new(helpdesk)
        .trust_proxy(settings.trust_proxy)
        .request_timeout(settings.request_timeout);
    if let Some(url) = &settings.public_url {
        api = api.public_url(url).map_err(bad_setting)?;
    }
    api.cors_origins(settings.cors_origins.iter().filter(|o| !o.is_empty()))
        .map_err(bad_setting)
}

/// The store the URL's scheme names: `sqlite:` (the default) or `postgres:`/`postgresql:`.
async fn open_store(url: &str) -> helpdesk_core::Result<Arc<dyn Store>> {
    let scheme = url
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    Ok(match scheme.as_str() {
        "sqlite" => Arc::new(SqliteStore::connect(url).await?),
        "postgres" | "postgresql" => Arc::new(PgStore::connect(url).await?),
        _ => {
            return Err(helpdesk_core::Error::store(
                "unsupported scheme: use sqlite://... or postgres://...",
            ));
        }
    })
}

/// A database that cannot be opened: a bad setting, as the server has always treated it.
fn cannot_open(url: &str, error: impl std::fmt::Display) -> Failure {
    bad_setting(format!("cannot open the database {}: {error}", redact(url)))
}

/// `url` with its password replaced by `***`, for messages and logs.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Fails only for URLs that cannot have a password, which this one has.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}

fn notifier(settings: &Settings) -> Result<Box<dyn Notifier>, Failure> {
    Ok(match &settings.smtp_url {
        Some(url) => {
            let smtp = ops::smtp(settings, url)?;
            tracing::info!(from = %settings.mail_from, "escalation emails go out by SMTP");
            let probe = smtp.clone();
            tokio::spawn(async move {
                if !matches!(probe.test_connection().await, Ok(true)) {
                    tracing::warn!(
                        "the SMTP server does not answer now; escalation emails wait in the outbox until it does"
                    );
                }
            });
            Box::new(smtp)
        }
        None => {
            tracing::info!(
                "no SMTP server configured: escalation emails are printed to standard output"
            );
            Box::new(ConsoleNotifier::stdout(&settings.mail_from).map_err(bad_setting)?)
        }
    })
}

async fn serve(helpdesk: Helpdesk, settings: &Settings) -> Result<(), Failure> {
    let notifier = notifier(settings)?;
    let listener = listen(settings.bind).await?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure(1, e.to_string()))?;
    let metrics = match (settings.metrics, settings.metrics_bind) {
        (false, Some(_)) => {
            return Err(bad_setting(
                "HELPDESK_METRICS_BIND needs HELPDESK_METRICS=true",
            ));
        }
        (false, None) => None,
        (true, bind) => {
            let metrics =
                helpdesk_axum::Metrics::install().map_err(|e| Failure(1, e.to_string()))?;
            let own = match bind {
                Some(bind) => Some(listen(bind).await?),
                None => None,
            };
            Some((metrics.router(helpdesk.clone()), own))
        }
    };
    let policy = helpdesk
        .sync_sla_policy()
        .await
        .map_err(|e| Failure(1, format!("cannot read the service-level policy: {e}")))?;
    if policy.version == 1 && policy.spec == SlaPolicySpec::from(&escalation_policy(settings)?) {
        tracing::info!("service-level policy: the HELPDESK_ESCALATE_* windows (version 1)");
    } else {
        tracing::info!(
            version = policy.version,
            "service-level policy: the one stored (HELPDESK_ESCALATE_* only seed a new database)"
        );
    }
    let transport = helpdesk_webhooks::HttpTransport::new()
        .map_err(|e| Failure(1, format!("cannot set up webhook delivery: {e}")))?;
    let engine = helpdesk.escalation_engine().spawn(settings.sweep_interval);
    let outbox = helpdesk
        .outbox_dispatcher(notifier)
        .with_retention(settings.notification_retention)
        .spawn(settings.sweep_interval);
    let webhooks = helpdesk
        .webhook_dispatcher()
        .with_transport(transport)
        .with_retention(settings.notification_retention)
        .with_timeout(settings.webhook_timeout)
        .with_retry(RetrySchedule {
            give_up_after: settings.webhook_retry_for,
            ..RetrySchedule::default()
        })
        .spawn(settings.webhook_interval);
    let api = api(helpdesk, settings)?;
    let mut app = axum::Router::new().nest("/api", api.into_router());
    let limits = serve::Limits {
        header_read_timeout: settings.header_timeout,
        max_connections: settings.max_connections,
        shutdown_grace: settings.shutdown_grace,
    };
    // /metrics beside the API, or on its own address until the API stops.
    let mut metrics_server = None;
    match metrics {
        Some((routes, Some(own))) => {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let stopped = async {
                let _ = stopped.await;
            };
            tracing::info!(address = ?own.local_addr().ok(), "metrics at /metrics");
            let server = tokio::spawn(serve::serve(own, routes, limits, stopped));
            metrics_server = Some((stop, server));
        }
        Some((routes, None)) => app = app.merge(routes),
        None => {}
    }
    tracing::info!(%address, "helpdesk listening: API under /api, docs at http://{address}/api/docs/");
    serve::serve(listener, app, limits, shutdown_signal()).await;
    if let Some((stop, server)) = metrics_server {
        let _ = stop.send(());
        let _ = server.await;
    }
    tracing::info!("stopping the escalation engine, the outbox and webhooks");
    engine.shutdown().await;
    outbox.shutdown().await;
    webhooks.shutdown().await;
    Ok(())
}

/// A listener on `address`; one that cannot be had is a bad setting.
async fn listen(address: SocketAddr) -> Result<TcpListener, Failure> {
    TcpListener::bind(address)
        .await
        .map_err(|e| bad_setting(format!("cannot listen on {address}: {e}")))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn read_password() -> Result<String, Failure> {
    if let Ok(password) = std::env::var("HELPDESK_ADMIN_PASSWORD") {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Password for the admin: ")
            .map_err(|e| Failure(1, format!("cannot read the password: {e}")));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure(1, format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn create_admin(
    helpdesk: &Helpdesk,
    email: &str,
    first_name: &str,
    last_name: &str,
) -> Result<(), Failure> {
    let password = read_password()?;
    let registration = Registration::new(email, &password, first_name, last_name)
        .map_err(|e| bad_setting(format!("invalid admin: {e}")))?;
    let outcome = helpdesk
        .bootstrap_admin(registration)
        .await
        .map_err(|e| Failure(1, e.to_string()))?;
    match outcome {
        AdminBootstrap::Created(user) => println!("Created admin {} (id {}).", user.email, user.id),
        AdminBootstrap::Promoted(user) => println!(
            "{} already had an account (id {}); it is now an admin. Its password is unchanged.",
            user.email, user.id
        ),
        AdminBootstrap::AlreadyAdmin(user) => println!(
            "{} is already an admin (id {}); nothing changed.",
            user.email, user.id
        ),
    }
    Ok(())
}
