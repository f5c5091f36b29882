//! The operator's subcommands: `backup`, `check` and `send-test-email`.

use std::path::Path;

use helpdesk_core::{Email, EmailAddress, Notifier};
use helpdesk_mail::{ConsoleNotifier, SmtpNotifier};
use helpdesk_sqlite::SqliteStore;

use crate::{Failure, Settings, api, bad_setting, cannot_open, helpdesk, redact};

/// `backup --to FILE`: a consistent copy of the SQLite database, taken while the server runs.
pub(crate) async fn backup(settings: &Settings, to: &Path) -> Result<(), Failure> {
    let url = &settings.database_url;
    if !url.starts_with("sqlite:") {
        return Err(bad_setting(
            "backup copies SQLite databases; on PostgreSQL, use pg_dump (see the README)",
        ));
    }
    let store = SqliteStore::connect(url)
        .await
        .map_err(|e| cannot_open(url, e))?;
    helpdesk_sqlite::backup(&store, to)
        .await
        .map_err(|e| Failure(1, format!("backup failed: {e}")))?;
    store.close().await;
    println!("Copied {} to {}.", redact(url), to.display());
    Ok(())
}

/// `check`: every setting, the database and the SMTP server, one line each; the first failure
/// ends it with a non-zero exit.
pub(crate) async fn check(settings: &Settings) -> Result<(), Failure> {
    let helpdesk = helpdesk(settings).await?;
    api(helpdesk.clone(), settings)?;
    println!("ok: settings");
    helpdesk
        .health()
        .await
        .map_err(|e| Failure(1, format!("the database does not answer: {e}")))?;
    println!(
        "ok: database {} (reachable, schema current)",
        redact(&settings.database_url)
    );
    let Some(url) = &settings.smtp_url else {
        println!("ok: no SMTP server configured; emails are printed to standard output");
        return Ok(());
    };
    let smtp = smtp(settings, url)?;
    match smtp.test_connection().await {
        Ok(true) => {
            println!("ok: SMTP server {}", redact(url));
            Ok(())
        }
        Ok(false) => Err(Failure(
            1,
            format!("the SMTP server {} refused the connection", redact(url)),
        )),
        Err(e) => Err(Failure(
            1,
            format!("the SMTP server {} does not answer: {e}", redact(url)),
        )),
    }
}

/// `send-test-email --to ADDRESS`: one email through the configured SMTP server, at once (not
/// through the outbox), so a wrong setting shows now rather than at the first escalation.
pub(crate) async fn send_test_email(settings: &Settings, to: &str) -> Result<(), Failure> {
    let to = EmailAddress::parse(to).map_err(|e| bad_setting(format!("--to: {e}")))?;
    let email = Email {
        to: to.as_str().to_owned(),
        subject: "Helpdesk test email".into(),
        body: "This is a test email from helpdesk-server send-test-email: the mail settings \
               work, and escalation emails will arrive the same way.\n"
            .into(),
    };
    let (sent, how) = match &settings.smtp_url {
        Some(url) => (
            smtp(settings, url)?.send(&email).await,
            format!("through {}", redact(url)),
        ),
        None => (
            ConsoleNotifier::stdout(&settings.mail_from)
                .map_err(bad_setting)?
                .send(&email)
                .await,
            "to standard output (no SMTP server configured)".to_owned(),
        ),
    };
    sent.map_err(|e| Failure(1, format!("the test email was not sent: {e}")))?;
    println!("Sent a test email to {} {how}.", to.as_str());
    Ok(())
}

/// The SMTP notifier of `url` (`HELPDESK_SMTP_URL`).
pub(crate) fn smtp(settings: &Settings, url: &str) -> Result<SmtpNotifier, Failure> {
    SmtpNotifier::from_url(url, &settings.mail_from)
        .map_err(|e| bad_setting(format!("invalid SMTP URL {}: {e}", redact(url))))
}
