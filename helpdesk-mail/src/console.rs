//! Printing emails instead of sending them.

use std::io::Write;
use std::sync::Mutex;

use async_trait::async_trait;
use helpdesk_core::{Email, Notifier};
use lettre::message::Mailbox;

use crate::MailError;
use crate::message::{build, mailbox};

/// Writes every email, headers, a blank line and the body, followed by a separator line, the
/// way Django's console email backend does. Nothing is sent.
pub struct ConsoleNotifier {
    from: Mailbox,
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for ConsoleNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleNotifier")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl ConsoleNotifier {
    /// Prints to standard output as `from`.
    pub fn stdout(from: &str) -> Result<Self, MailError> {
        Self::to_writer(from, std::io::stdout())
    }

    /// Writes to `out` as `from`.
    pub fn to_writer(from: &str, out: impl Write + Send + 'static) -> Result<Self, MailError> {
        Ok(Self {
            from: mailbox(from)?,
            out: Mutex::new(Box::new(out)),
        })
    }

    fn write(&self, email: &Email) -> Result<(), MailError> {
        let message = build(&self.from, email)?.formatted();
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.write_all(&message)?;
        out.write_all(b"\r\n")?;
        out.write_all("-".repeat(79).as_bytes())?;
        out.write_all(b"\r\n")?;
        out.flush()?;
        Ok(())
    }
}

#[async_trait]
impl Notifier for ConsoleNotifier {
    async fn send(&self, email: &Email) -> helpdesk_core::Result<()> {
        self.write(email)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn prints_headers_blank_line_and_body() {
        let out = Shared::default();
        let console =
            ConsoleNotifier::to_writer("Helpdesk <helpdesk@example.com>", out.clone()).unwrap();
        let email = Email {
            to: "ada@example.com".into(),
            subject: "Ticket #1 escalated".into(),
            body: "Please look.\n".into(),
        };
        console.send(&email).await.unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let (headers, rest) = text.split_once("\r\n\r\n").unwrap();
        for header in [
            "From: Helpdesk <helpdesk@example.com>",
            "To: ada@example.com",
            "Subject: Ticket #1 escalated",
            "Message-ID: <",
            "Date: ",
            "Content-Type: text/plain; charset=utf-8",
        ] {
            assert!(headers.contains(header), "{header} missing in\n{headers}");
        }
        assert!(rest.starts_with("Please look."), "{rest}");
        assert!(rest.trim_end().ends_with(&"-".repeat(79)));
        let bad = Email {
            to: "not an address".into(),
            ..email
        };
        assert!(matches!(
            console.send(&bad).await,
            Err(helpdesk_core::Error::Undeliverable(_))
        ));
    }
}
