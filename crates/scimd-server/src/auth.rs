//! Authentication of SCIM and admin requests: `Authorization: Bearer <token>` and HTTP Basic.
//!
//! The bootstrap admin's token is `SCIMD_ADMIN_TOKEN` where set; otherwise one is generated on
//! the first start, printed once, and only its digest is kept (`<data_dir>/admin-token`).
//! HTTP Basic accepts the admin user name (`auth.admin_user`) with the admin token as password.

use crate::secret::{TokenDigest, generate_token};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64ct::{Base64, Encoding};
use std::path::Path;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The bootstrap admin: every SCIM and admin endpoint.
    Admin,
}

/// The credentials the server accepts.
#[derive(Debug, Clone)]
pub struct Credentials {
    admin_user: String,
    admin_token: TokenDigest,
}

/// How the admin token was set up at start.
#[derive(Debug)]
pub enum AdminToken {
    /// From `SCIMD_ADMIN_TOKEN`.
    FromEnvironment,
    /// Generated now: print it once; only its digest was stored.
    Generated(String),
    /// A digest stored by an earlier start.
    Stored,
}

/// The file under the data directory that keeps the admin token's digest.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

impl Credentials {
    /// Sets up the admin credential: from `env_token` if given, else from the stored digest, else
    /// a new token whose digest is stored (file mode 0600).
    pub fn bootstrap(
        data_dir: &Path,
        admin_user: &str,
        env_token: Option<&str>,
    ) -> std::io::Result<(Credentials, AdminToken)> {
        let make = |d| Credentials { admin_user: admin_user.to_string(), admin_token: d };
        if let Some(t) = env_token.filter(|t| !t.is_empty()) {
            return Ok((make(TokenDigest::of(t)), AdminToken::FromEnvironment));
        }
        let path = data_dir.join(ADMIN_TOKEN_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let d = TokenDigest::from_hex(&text).ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} is not a token digest; delete it to make a new token", path.display()),
                    )
                })?;
                Ok((make(d), AdminToken::Stored))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let token = generate_token().map_err(|e| std::io::Error::other(e.to_string()))?;
                let d = TokenDigest::of(&token);
                write_private(&path, &d.to_hex())?;
                Ok((make(d), AdminToken::Generated(token)))
            }
            Err(e) => Err(e),
        }
    }

    /// Credentials with a known admin token (tests, embedding).
    pub fn with_admin_token(admin_user: &str, token: &str) -> Self {
        Credentials { admin_user: admin_user.to_string(), admin_token: TokenDigest::of(token) }
    }

    /// Authenticates a request from its headers; `None` when there is no valid credential.
    pub fn authenticate(&self, headers: &HeaderMap) -> Option<Principal> {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
        let (scheme, rest) = value.split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.admin_token.verify(rest).then_some(Principal::Admin);
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = Base64::decode_vec(rest).ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, secret) = decoded.split_once(':')?;
            // Both checks run whatever the user name, so timing tells nothing about which failed.
            let user_ok = user == self.admin_user;
            let secret_ok = self.admin_token.verify(secret);
            return (user_ok && secret_ok).then_some(Principal::Admin);
        }
        None
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn bearer_and_basic_accept_the_admin_token_only() {
        let c = Credentials::with_admin_token("admin", "secret-token");
        assert_eq!(c.authenticate(&headers("Bearer secret-token")), Some(Principal::Admin));
        assert_eq!(c.authenticate(&headers("bearer  secret-token")), Some(Principal::Admin));
        assert_eq!(c.authenticate(&headers("Bearer wrong")), None);
        let basic = Base64::encode_string(b"admin:secret-token");
        assert_eq!(c.authenticate(&headers(&format!("Basic {basic}"))), Some(Principal::Admin));
        let bad_user = Base64::encode_string(b"root:secret-token");
        assert_eq!(c.authenticate(&headers(&format!("Basic {bad_user}"))), None);
        assert_eq!(c.authenticate(&headers("Basic !!!")), None);
        assert_eq!(c.authenticate(&HeaderMap::new()), None);
    }

    #[test]
    fn first_start_generates_a_token_stores_only_its_digest_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let (c, how) = Credentials::bootstrap(dir.path(), "admin", None).unwrap();
        let AdminToken::Generated(token) = how else { panic!("expected a generated token") };
        let stored = std::fs::read_to_string(dir.path().join(ADMIN_TOKEN_FILE)).unwrap();
        assert!(!stored.contains(&token));
        assert!(c.authenticate(&headers(&format!("Bearer {token}"))).is_some());
        let (again, how) = Credentials::bootstrap(dir.path(), "admin", None).unwrap();
        assert!(matches!(how, AdminToken::Stored));
        assert!(again.authenticate(&headers(&format!("Bearer {token}"))).is_some());
        let (env, how) = Credentials::bootstrap(dir.path(), "admin", Some("from-env")).unwrap();
        assert!(matches!(how, AdminToken::FromEnvironment));
        assert!(env.authenticate(&headers("Bearer from-env")).is_some());
        assert!(env.authenticate(&headers(&format!("Bearer {token}"))).is_none());
    }
}
