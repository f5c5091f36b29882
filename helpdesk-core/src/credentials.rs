//! Passwords and session tokens.
//!
//! Passwords are hashed with argon2id on blocking threads, so hashing never stalls the async
//! runtime, in a fixed number of slots with reused memory ([`Hashing`]). Session tokens are 256 random bits; stores keep only their SHA-256.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::{Output, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

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

/// Password hashing with a fixed number of slots, each reusing one preallocated block of
/// argon2 memory (19 MiB with the default parameters).
///
/// Hashing a password is the most expensive thing a client can make the server do, and each
/// hash needs its own 19 MiB. Unbounded, a burst of logins allocates that much per request and
/// the allocator keeps most of it afterwards. Here at most `slots` hashes run at once, on
/// blocking threads, each in memory allocated once per slot and reused; a request that waits
/// longer than `max_wait` for a slot is refused with [`Error::Overloaded`]. So the memory
/// password hashing can take is `slots × 19 MiB`, whatever the load.
pub struct Hashing {
    slots: Arc<Semaphore>,
    memory: Mutex<Vec<Vec<Block>>>,
    max_wait: Duration,
}

/// A hashing slot in use, counted in [`HASHING_IN_USE`](crate::metrics::HASHING_IN_USE) until
/// dropped, however the hash ends.
struct Busy(metrics::Gauge);

impl Busy {
    fn new() -> Self {
        let gauge = metrics::gauge!(crate::metrics::HASHING_IN_USE);
        gauge.increment(1);
        Self(gauge)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.decrement(1);
    }
}

impl std::fmt::Debug for Hashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashing")
            .field("free_slots", &self.slots.available_permits())
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

impl Hashing {
    /// `slots` hashes at once (at least one); waits of at most `max_wait` for a slot.
    pub fn new(slots: usize, max_wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            memory: Mutex::new(Vec::new()),
            max_wait,
        }
    }

    /// One slot per core, and waits of at most 5 seconds.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(cores, Duration::from_secs(5))
    }

    /// Slots free now (for metrics and tests).
    pub fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }

    /// Runs `work` on a blocking thread with a slot and its memory.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                metrics::counter!(crate::metrics::HASHING_WAITS).increment(1);
                tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned())
                    .await
                    .map_err(|_| {
                        metrics::counter!(crate::metrics::HASHING_REFUSED).increment(1);
                        Error::Overloaded {
                            retry_after: Duration::from_secs(1),
                        }
                    })?
                    .map_err(|_| Error::Internal("password hashing was shut down".into()))?
            }
        };
        let _busy = Busy::new();
        let mut memory = self.take_memory();
        let (result, memory) = tokio::task::spawn_blocking(move || {
            let result = work(&mut memory);
            (result, memory)
        })
        .await
        .map_err(|e| Error::Internal(format!("password hashing thread failed: {e}")))?;
        self.give_back(memory);
        drop(permit);
        Ok(result)
    }

    fn take_memory(&self) -> Vec<Block> {
        let reused = self.memory.lock().ok().and_then(|mut free| free.pop());
        reused.unwrap_or_else(|| vec![Block::default(); Params::default().block_count()])
    }

    fn give_back(&self, memory: Vec<Block>) {
        if let Ok(mut free) = self.memory.lock() {
            free.push(memory);
        }
    }

    /// Hashes a password with argon2id (default parameters) and a random salt into a PHC string.
    pub(crate) async fn hash(&self, password: String) -> Result<String> {
        let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
        getrandom::fill(&mut salt).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        self.run(move |memory| {
            let failed = |e: &dyn std::fmt::Display| {
                Error::Internal(format!("password hashing failed: {e}"))
            };
            let argon2 = Argon2::default();
            let params = argon2.params().clone();
            let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
            argon2
                .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
                .map_err(|e| failed(&e))?;
            let hash = PasswordHash {
                algorithm: Algorithm::Argon2id.ident(),
                version: Some(Version::default().into()),
                params: (&params).try_into().map_err(|e| failed(&e))?,
                salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
                hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
            };
            Ok(hash.to_string())
        })
        .await?
    }

    /// Checks a password against a stored hash. Without a hash (unknown email) it verifies
    /// against a dummy hash anyway, so the answer takes as long whether or not the account
    /// exists. A hash that does not parse verifies nothing.
    pub(crate) async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        self.run(move |memory| match hash {
            Some(hash) => verify_with(&password, &hash, memory),
            None => {
                let _ = verify_with(&password, dummy_hash(), memory);
                false
            }
        })
        .await
    }
}

/// Verifies in `memory` when the hash's parameters fit in it (every hash this library made),
/// in fresh memory otherwise (hashes made elsewhere with more memory).
fn verify_with(password: &str, phc: &str, memory: &mut [Block]) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::new(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let computed = if memory.len() >= blocks {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
    } else {
        argon2.hash_password_into(password.as_bytes(), &salt, &mut out)
    };
    // `Output` compares in constant time.
    computed.is_ok() && Output::new(&out).is_ok_and(|out| out == expected)
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
        let hashing = Hashing::new(1, Duration::from_secs(5));
        let hash = hashing.hash("correct horse".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hashing
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hashing
                .verify("wrong horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!hashing.verify("correct horse".into(), None).await.unwrap());
        let garbage = Some("not a phc string".to_owned());
        assert!(!hashing.verify("x".into(), garbage).await.unwrap());
        // The same PHC strings as argon2's own hasher and verifier, both ways.
        use argon2::PasswordVerifier;
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", hash.as_str())
                .is_ok()
        );
        let theirs = Argon2::default()
            .hash_password(b"battery staple")
            .unwrap()
            .to_string();
        assert!(
            hashing
                .verify("battery staple".into(), Some(theirs))
                .await
                .unwrap()
        );
        // A hash made elsewhere with more memory than a slot holds still verifies.
        let bigger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32 * 1024, 2, 1, None).unwrap(),
        );
        let bigger = bigger.hash_password(b"big").unwrap().to_string();
        assert!(hashing.verify("big".into(), Some(bigger)).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busy_slots_refuse_after_the_wait() {
        let hashing = Arc::new(Hashing::new(1, Duration::from_millis(20)));
        let busy = {
            let hashing = hashing.clone();
            tokio::spawn(async move {
                hashing
                    .run(|_| std::thread::sleep(Duration::from_millis(300)))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(hashing.free_slots(), 0);
        let refused = hashing.verify("x".into(), None).await;
        assert!(
            matches!(refused, Err(Error::Overloaded { .. })),
            "{refused:?}"
        );
        busy.await.unwrap().unwrap();
        assert_eq!(hashing.free_slots(), 1);
        assert!(!hashing.verify("x".into(), None).await.unwrap());
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
