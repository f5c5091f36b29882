//! Delivery through an SMTP server.

use async_trait::async_trait;
use helpdesk_core::{Email, Notifier};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::MailError;
use crate::message::{build, mailbox};

/// Sends each email through an SMTP server, over a pool of connections.
#[derive(Clone)]
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpNotifier")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpNotifier {
    /// A notifier for the server at `url`, sending as `from` (`"Name <address>"` or a bare address).
    ///
    /// | URL | connection |
    /// |---|---|
    /// | `smtp://host:25` | plain SMTP (local relays, tests) |
    /// | `smtp://host:587?tls=required` | STARTTLS, required |
    /// | `smtp://host:587?tls=opportunistic` | STARTTLS if offered |
    /// | `smtps://user:pass@host:465` | implicit TLS, with credentials |
    ///
    /// Credentials must be URL-encoded. TLS uses rustls with the web PKI roots. Call it inside
    /// a Tokio runtime: the connection pool keeps a task on it.
    ///
    /// ```
    /// # use helpdesk_mail::SmtpNotifier;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert!(SmtpNotifier::from_url("smtps://me:secret@smtp.example.com:465", "helpdesk@example.com").is_ok());
    /// assert!(SmtpNotifier::from_url("http://example.com", "helpdesk@example.com").is_err());
    /// assert!(SmtpNotifier::from_url("smtp://localhost:25", "not an address").is_err());
    /// # }
    /// ```
    pub fn from_url(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(MailError::Url)?
            .build();
        Ok(Self {
            transport,
            from: mailbox(from)?,
        })
    }

    /// Checks that the server accepts a connection (for start-up and health checks).
    pub async fn test_connection(&self) -> Result<bool, MailError> {
        Ok(self.transport.test_connection().await?)
    }

    async fn deliver(&self, email: &Email) -> Result<(), MailError> {
        let message = build(&self.from, email)?;
        self.transport.send(message).await?;
        Ok(())
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, email: &Email) -> helpdesk_core::Result<()> {
        self.deliver(email).await?;
        tracing::debug!(to = %email.to, subject = %email.subject, "email sent");
        Ok(())
    }
}
