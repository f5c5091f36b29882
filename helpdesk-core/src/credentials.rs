//! Passwords and session tokens.
//!
//! Passwords are hashed with argon2id on a blocking thread, so hashing never stalls the async
//! runtime. Session tokens are 256 random bits; stores keep only their SHA-256.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

use crate::store::TokenHash;
use crate::{Error, Result};

/// A bearer token handed to a client at login. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// 32 random bytes from the operating system, hex-encoded.
    pub(crate) fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The token as the client sends it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the token into its string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

/// The stored form of a token the client presented.
pub fn token_hash(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

/// Whether a string could be a token we issued (64 lower-case hex digits); anything else is
/// rejected before it costs a store lookup.
pub(crate) fn looks_like_token(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("password hashing thread failed: {e}")))
}

/// Hashes a password with argon2id and a random salt into a PHC string.
pub(crate) async fn hash_password(password: String) -> Result<String> {
    blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await?
}

/// Checks a password against a stored hash. Without a hash (unknown email) it verifies against
/// a dummy hash anyway, so the answer takes as long whether or not the account exists.
pub(crate) async fn verify_password(password: String, hash: Option<String>) -> Result<bool> {
    blocking(move || {
        let argon2 = Argon2::default();
        match hash {
            Some(hash) => argon2
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok(),
            None => {
                let _ = argon2.verify_password(password.as_bytes(), dummy_hash());
                false
            }
        }
    })
    .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"no account has this password")
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(
            verify_password("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify_password("correct horse".into(), None).await.unwrap());
        assert!(
            !verify_password("x".into(), Some("not a phc string".into()))
                .await
                .unwrap()
        );
    }

    #[test]
    fn tokens_are_random_hex_and_hash_to_sha256() {
        let a = SessionToken::generate().unwrap();
        let b = SessionToken::generate().unwrap();
        assert_ne!(a, b);
        assert!(looks_like_token(a.as_str()));
        assert!(!looks_like_token("abc"));
        assert!(!looks_like_token(&"G".repeat(64)));
        assert!(!format!("{a:?}").contains(a.as_str()));
        // SHA-256("abc")
        assert_eq!(token_hash("abc").0[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
