//! One place that turns a helpdesk [`Email`] into a MIME message.

use helpdesk_core::Email;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;

use crate::MailError;

pub(crate) fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address.parse().map_err(|source| MailError::Address {
        address: address.to_owned(),
        source,
    })
}

/// A plain-text UTF-8 message with a `Message-ID` and a `Date`.
pub(crate) fn build(from: &Mailbox, email: &Email) -> Result<Message, MailError> {
    Ok(Message::builder()
        .from(from.clone())
        .to(mailbox(&email.to)?)
        .subject(email.subject.as_str())
        .message_id(None)
        .header(ContentType::TEXT_PLAIN)
        .body(email.body.clone())?)
}
