//! Secrets: generated tokens, their digests, and password hashes.
//!
//! - Tokens are 256 random bits, so a fast keyed digest (BLAKE2b-256) is enough to store them:
//!   nobody can guess a preimage, and verifying a request costs microseconds, not the tens of
//!   milliseconds of a password hash. Digests are compared in constant time.
//! - Passwords chosen by people are hashed with argon2id (PHC string, random salt).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use blake2::Blake2b;
use blake2::digest::{Digest, consts::U32};
use subtle::ConstantTimeEq;

/// A stored token digest.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

const TOKEN_DOMAIN: &[u8] = b"scimd token v1\0";

impl TokenDigest {
    /// The digest of a token.
    pub fn of(token: &str) -> Self {
        let mut h = Blake2b::<U32>::new();
        h.update(TOKEN_DOMAIN);
        h.update(token.as_bytes());
        TokenDigest(h.finalize().into())
    }
    /// Whether `token` has this digest, in constant time.
    pub fn verify(&self, token: &str) -> bool {
        Self::of(token).0.ct_eq(&self.0).into()
    }
    /// Hex form, for storage.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
    /// Parses the hex form.
    pub fn from_hex(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(TokenDigest(out))
    }
}

/// A new random token: `scimd_` and 43 characters of URL-safe base64 (256 bits).
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("scimd_{}", base64ct::Base64UrlUnpadded::encode_string(&bytes)))
}

use base64ct::Encoding;

/// Hashes a password with argon2id into a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Whether `password` matches a PHC hash made by [`hash_password`].
pub fn verify_password(password: &str, phc: &str) -> bool {
    match argon2::password_hash::phc::PasswordHash::new(phc) {
        Ok(h) => Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn token_digest_verifies_only_its_token_and_round_trips_hex() {
        let t = generate_token().unwrap();
        assert!(t.starts_with("scimd_") && t.len() == 6 + 43);
        let d = TokenDigest::of(&t);
        assert!(d.verify(&t));
        assert!(!d.verify("scimd_other"));
        assert_eq!(TokenDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(TokenDigest::from_hex("zz"), None);
    }

    #[test]
    fn password_hash_is_argon2id_and_verifies() {
        let h = hash_password("MyPa33w@rd").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("MyPa33w@rd"));
        assert!(verify_password("MyPa33w@rd", &h));
        assert!(!verify_password("wrong", &h));
    }
}
