//! # helpdesk-mail
//!
//! Notifier adapters for the helpdesk library: [`SmtpNotifier`] delivers through an SMTP server
//! with lettre (rustls, no OpenSSL); [`ConsoleNotifier`] prints each email like Django's console
//! backend, for development and demos.
//!
//! Notifiers deliver one rendered email; retries, backoff and exactly-once claims are the job of
//! the outbox dispatcher in `helpdesk-core`:
//!
//! ```no_run
//! # async fn demo(helpdesk: helpdesk_core::Helpdesk) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use helpdesk_mail::SmtpNotifier;
//!
//! let smtp = SmtpNotifier::from_url("smtp://mail.internal:25", "Helpdesk <helpdesk@example.com>")?;
//! let dispatcher = helpdesk.outbox_dispatcher(smtp).spawn(Duration::from_secs(30));
//! // ...
//! dispatcher.shutdown().await;
//! # Ok(()) }
//! ```

mod console;
mod message;
#[cfg(feature = "smtp-sink")]
mod sink;
mod smtp;

pub use console::ConsoleNotifier;
#[cfg(feature = "smtp-sink")]
pub use sink::{ReceivedMail, SmtpSink};
pub use smtp::SmtpNotifier;

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL could not be understood.
    #[error("invalid SMTP URL: {0}")]
    Url(#[source] lettre::transport::smtp::Error),
    /// An address (sender or recipient) is not a valid mailbox.
    #[error("invalid email address {address:?}: {source}")]
    Address {
        /// The address as given.
        address: String,
        /// Why it was refused.
        #[source]
        source: lettre::address::AddressError,
    },
    /// The message could not be built.
    #[error("could not build the message: {0}")]
    Build(#[from] lettre::error::Error),
    /// The SMTP server refused the message or could not be reached.
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// Writing to the console failed.
    #[error("console output failed: {0}")]
    Io(#[from] std::io::Error),
}

impl MailError {
    /// Whether retrying cannot help: the server refused for good (5xx), or an address is invalid.
    pub fn is_permanent(&self) -> bool {
        match self {
            MailError::Smtp(e) => e.is_permanent(),
            MailError::Address { .. } | MailError::Build(_) => true,
            MailError::Url(_) | MailError::Io(_) => false,
        }
    }
}

impl From<MailError> for helpdesk_core::Error {
    fn from(error: MailError) -> Self {
        if error.is_permanent() {
            helpdesk_core::Error::Undeliverable(error.into())
        } else {
            helpdesk_core::Error::delivery(error)
        }
    }
}
