//! Signatures per the Standard Webhooks specification: an HMAC-SHA256 of
//! `{webhook-id}.{webhook-timestamp}.{body}` under the subscription's secret.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{Error, Result};

/// A subscription's signing secret: `whsec_` and 32 random bytes in base64, as the
/// specification's libraries take it. Shown once, when created or rotated.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A new random secret.
    pub fn generate() -> Result<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        Ok(Self(format!("whsec_{}", STANDARD.encode(key))))
    }

    /// The secret as receivers configure it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The `webhook-signature` header's value for one message: `v1,` and the base64 HMAC under each
/// secret (several during a rotation), separated by spaces.
///
/// ```
/// # use helpdesk_core::webhooks::sign;
/// // The example of the specification.
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let body = r#"{"test": 2432232314}"#;
/// let signature = sign(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
/// assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
/// ```
pub fn sign<S: AsRef<str>>(secrets: &[S], id: &str, timestamp: i64, body: &str) -> Result<String> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let secret = secret.as_ref();
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
            .map_err(|e| Error::Internal(format!("a webhook secret is not base64: {e}")))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key)
            .map_err(|e| Error::Internal(format!("unusable webhook secret: {e}")))?;
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        signatures.push(format!(
            "v1,{}",
            STANDARD.encode(mac.finalize().into_bytes())
        ));
    }
    Ok(signatures.join(" "))
}
