//! Validated input: an invalid value cannot be constructed, so it cannot reach a store.
//!
//! Every constructor checks all its fields and reports every failure at once as
//! [`FieldErrors`], which the HTTP layer returns as `422` with one entry per field.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::{Priority, Role, Status};

/// Longest title, in characters.
pub const TITLE_MAX: usize = 200;
/// Longest description or comment body, in characters.
pub const TEXT_MAX: usize = 20_000;
/// Longest first or last name, in characters.
pub const NAME_MAX: usize = 150;
/// Shortest password, in characters.
pub const PASSWORD_MIN: usize = 8;
/// Longest password, in characters.
pub const PASSWORD_MAX: usize = 256;
/// Longest email address, in characters (RFC 5321).
pub const EMAIL_MAX: usize = 254;

/// Validation failures, by field name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single error on one field.
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Records an error on `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Takes over every error of `other`.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_default().extend(messages);
        }
    }

    /// Takes over every error of `other`, naming its fields under `prefix`
    /// (`business_hours` + `time_zone` = `business_hours.time_zone`).
    pub fn merge_under(&mut self, prefix: &str, other: FieldErrors) {
        for (field, messages) in other.0 {
            let field = format!("{prefix}.{field}");
            self.0.entry(field).or_default().extend(messages);
        }
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages recorded for `field`.
    pub fn get(&self, field: &str) -> &[String] {
        self.0.get(field).map_or(&[], Vec::as_slice)
    }

    /// Iterates over `(field, messages)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Keeps the value of a field check, recording its error under `field`.
    pub(crate) fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.add(field, message)).ok()
    }

    /// `Ok(value)` when nothing failed.
    pub(crate) fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in &self.0 {
            for message in messages {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                write!(f, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// Characters that change how the text around them is shown without being seen: the
/// bidirectional embeddings, overrides, isolates and marks (which can make `exe.txt` read as
/// `txt.exe` in an admin's email), and the Unicode line and paragraph separators.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}'
    )
}

fn no_control_chars(value: &str, allow_newlines: bool) -> Result<(), String> {
    let bad = |c: char| {
        (c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')))
            || is_invisible_format(c)
    };
    if value.chars().any(bad) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

fn text(value: &str, max: usize, required: bool, multiline: bool) -> Result<String, String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err("must not be empty".into());
    }
    let len = value.chars().count();
    if len > max {
        return Err(format!("must be at most {max} characters (got {len})"));
    }
    no_control_chars(value, multiline)?;
    Ok(value.to_owned())
}

fn title(value: &str) -> Result<String, String> {
    text(value, TITLE_MAX, true, false)
}

fn description(value: &str) -> Result<String, String> {
    text(value, TEXT_MAX, false, true)
}

fn name(value: &str) -> Result<String, String> {
    text(value, NAME_MAX, false, false)
}

/// A syntactically valid, trimmed, lower-cased email address.
///
/// ```
/// # use helpdesk_core::EmailAddress;
/// assert_eq!(EmailAddress::parse(" Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
/// assert!(EmailAddress::parse("not-an-email").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Checks and normalises an address; the error is a human-readable reason.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim().to_lowercase();
        let invalid = || "must be a valid email address".to_owned();
        if value.is_empty() {
            return Err("must not be empty".into());
        }
        if value.chars().count() > EMAIL_MAX {
            return Err(format!("must be at most {EMAIL_MAX} characters"));
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        if !local_ok || !domain.contains('.') || !labels_ok {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: 8 to 256 characters. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks the length rule.
    pub fn parse(value: &str) -> Result<Self, String> {
        let len = value.chars().count();
        if len < PASSWORD_MIN {
            return Err(format!("must be at least {PASSWORD_MIN} characters"));
        }
        if len > PASSWORD_MAX {
            return Err(format!("must be at most {PASSWORD_MAX} characters"));
        }
        Ok(Self(value.to_owned()))
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A self-service sign-up (always role `user`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Address to sign in with.
    pub email: EmailAddress,
    /// Initial password.
    pub password: Password,
    /// Given name (may be empty).
    pub first_name: String,
    /// Family name (may be empty).
    pub last_name: String,
}

impl Registration {
    /// Validates a sign-up.
    ///
    /// ```
    /// # use helpdesk_core::Registration;
    /// let ok = Registration::new("ada@example.com", "correct horse", "Ada", "Lovelace");
    /// assert!(ok.is_ok());
    /// let errors = Registration::new("nope", "short", "Ada", "Lovelace").unwrap_err();
    /// assert_eq!(errors.iter().count(), 2); // email and password
    /// ```
    pub fn new(
        email: &str,
        password: &str,
        first_name: &str,
        last_name: &str,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let email = errors.check("email", EmailAddress::parse(email));
        let password = errors.check("password", Password::parse(password));
        let first_name = errors.check("first_name", name(first_name));
        let last_name = errors.check("last_name", name(last_name));
        match (email, password, first_name, last_name) {
            (Some(email), Some(password), Some(first_name), Some(last_name)) => Ok(Self {
                email,
                password,
                first_name,
                last_name,
            }),
            _ => Err(errors),
        }
    }
}

/// An account created by an admin, with any role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// EmailAddress, password and names.
    pub registration: Registration,
    /// The role to give.
    pub role: Role,
}

/// A ticket about to be raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    /// Trimmed, 1 to 200 characters.
    pub title: String,
    /// Trimmed, up to 20,000 characters.
    pub description: String,
    /// Defaults to medium.
    pub priority: Priority,
}

impl NewTicket {
    /// Validates a new ticket.
    ///
    /// ```
    /// # use helpdesk_core::{NewTicket, Priority};
    /// let t = NewTicket::new("  Printer on fire ", "Smoke everywhere", Priority::High).unwrap();
    /// assert_eq!(t.title, "Printer on fire");
    /// assert!(NewTicket::new("   ", "", Priority::Low).is_err());
    /// ```
    pub fn new(title: &str, description: &str, priority: Priority) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = errors.check("title", self::title(title));
        let description = errors.check("description", self::description(description));
        match (title, description) {
            (Some(title), Some(description)) => Ok(Self {
                title,
                description,
                priority,
            }),
            _ => Err(errors),
        }
    }
}

/// A partial update of a ticket; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketPatch {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New priority (moves `due_at`).
    pub priority: Option<Priority>,
    /// New status, checked against the transition table.
    pub status: Option<Status>,
}

impl TicketPatch {
    /// Validates the fields that are present.
    pub fn new(
        title: Option<&str>,
        description: Option<&str>,
        priority: Option<Priority>,
        status: Option<Status>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = title.and_then(|t| errors.check("title", self::title(t)));
        let description =
            description.and_then(|d| errors.check("description", self::description(d)));
        errors.finish(|| Self {
            title,
            description,
            priority,
            status,
        })
    }

    /// Whether it changes title, description or priority.
    pub fn edits_content(&self) -> bool {
        self.title.is_some() || self.description.is_some() || self.priority.is_some()
    }
}

/// A user's change of their own profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New email (must not be taken).
    pub email: Option<EmailAddress>,
}

impl ProfilePatch {
    /// Validates the fields that are present.
    pub fn new(
        first_name: Option<&str>,
        last_name: Option<&str>,
        email: Option<&str>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let first_name = first_name.and_then(|v| errors.check("first_name", name(v)));
        let last_name = last_name.and_then(|v| errors.check("last_name", name(v)));
        let email = email.and_then(|v| errors.check("email", EmailAddress::parse(v)));
        errors.finish(|| Self {
            first_name,
            last_name,
            email,
        })
    }
}

/// An admin's change of any account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    /// Names and email.
    pub profile: ProfilePatch,
    /// New role.
    pub role: Option<Role>,
    /// Activate or deactivate (deactivating revokes the sessions).
    pub is_active: Option<bool>,
}

/// A password change by the account holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChange {
    /// The password in use now, checked before anything changes.
    pub current: String,
    /// The replacement.
    pub new: Password,
}

impl PasswordChange {
    /// Validates the new password.
    pub fn new(current: &str, new: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if current.is_empty() {
            errors.add("current_password", "must not be empty");
        }
        let new = errors.check("new_password", Password::parse(new));
        match new {
            Some(new) if errors.is_empty() => Ok(Self {
                current: current.to_owned(),
                new,
            }),
            _ => Err(errors),
        }
    }
}

/// A comment about to be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    /// Trimmed, 1 to 20,000 characters.
    pub body: String,
}

impl NewComment {
    /// Validates a comment body.
    pub fn new(body: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let body = errors.check("body", text(body, TEXT_MAX, true, true));
        body.map(|body| Self { body }).ok_or(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            EmailAddress::parse(" A.B+c@Ex-ample.org ")
                .unwrap()
                .as_str(),
            "a.b+c@ex-ample.org"
        );
        for bad in [
            "", "a", "a@", "@b.c", "a@b", "a@@b.c", "a b@c.d", "a@b..c", ".a@b.c", "a@-b.c",
            "a\0@b.c", "a@b\n.c",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn passwords_have_length_bounds_and_hide_in_debug() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"x".repeat(256)).is_ok());
        assert!(Password::parse(&"x".repeat(257)).is_err());
        let p = Password::parse("hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn ticket_text_rules() {
        assert!(NewTicket::new(&"t".repeat(200), "", Priority::Low).is_ok());
        let errors =
            NewTicket::new(&"t".repeat(201), &"d".repeat(20_001), Priority::Low).unwrap_err();
        assert_eq!(errors.get("title").len(), 1);
        assert_eq!(errors.get("description").len(), 1);
        assert!(NewTicket::new("a\u{0}b", "", Priority::Low).is_err());
        assert!(NewTicket::new("ok", "line one\nline two\ttab", Priority::Low).is_ok());
        // Characters, not bytes: 200 multi-byte characters are fine.
        assert!(NewTicket::new(&"é".repeat(200), "", Priority::Low).is_ok());
    }

    #[test]
    fn comments_must_say_something() {
        assert!(NewComment::new("  \n ").is_err());
        assert_eq!(NewComment::new(" hi ").unwrap().body, "hi");
    }

    #[test]
    fn patches_validate_only_present_fields() {
        assert_eq!(
            TicketPatch::new(None, None, None, None),
            Ok(TicketPatch::default())
        );
        assert!(TicketPatch::new(Some(""), None, None, None).is_err());
        assert!(ProfilePatch::new(None, None, Some("bad")).is_err());
        let errors = PasswordChange::new("", "short").unwrap_err();
        assert_eq!(errors.iter().count(), 2);
        assert_eq!(
            errors.to_string(),
            "current_password: must not be empty; new_password: must be at least 8 characters"
        );
    }

    #[test]
    fn bidirectional_overrides_and_separators_are_refused_everywhere() {
        for sneaky in [
            "invoice\u{202E}fdp.exe",
            "a\u{2028}b",
            "a\u{2029}b",
            "\u{2066}x\u{2069}",
        ] {
            assert!(
                NewTicket::new(sneaky, "", Priority::Low).is_err(),
                "{sneaky:?}"
            );
            assert!(
                NewTicket::new("ok", sneaky, Priority::Low).is_err(),
                "{sneaky:?}"
            );
            assert!(Registration::new("ada@example.com", "long enough", sneaky, "").is_err());
            assert!(NewComment::new(sneaky).is_err(), "{sneaky:?}");
        }
        assert!(
            NewTicket::new("Drucker kaputt", "Zeile 1\nZeile 2 — עברית", Priority::Low).is_ok()
        );
    }
}
