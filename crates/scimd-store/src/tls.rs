//! The TLS client settings of the stores that talk to a server (PostgreSQL, LDAP): one rule for
//! which certificates are trusted. Behind the `tls` feature, so that the embedded store does not
//! build rustls.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// A rustls client configuration that trusts the CAs of `ca_file` (PEM; one that holds no
/// certificate is refused), else the system's, with the ring provider named explicitly (so that
/// no process-wide default is needed whatever other crates enable). The error says what failed,
/// naming the file; the caller adds which server it was for.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let bad = |e: String| format!("the CA file {}: {e}", path.display());
            let mut any = false;
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
                roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
                any = true;
            }
            if !any {
                return Err(bad("it holds no certificate".to_owned()));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is skipped, as browsers do.
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_is_missing_or_empty_is_refused_naming_it() {
        let dir = std::env::temp_dir().join(format!("scimd-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (missing, empty) = (dir.join("missing.pem"), dir.join("empty.pem"));
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(Some(&missing)).unwrap_err();
        assert!(err.starts_with(&format!("the CA file {}: ", missing.display())), "{err}");
        let err = client_config(Some(&empty)).unwrap_err();
        assert_eq!(err, format!("the CA file {}: it holds no certificate", empty.display()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
