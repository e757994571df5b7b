//! TLS to PostgreSQL, with rustls.
//!
//! The URL's `sslmode` says when: `disable` never, `prefer` (the default, as in libpq) when the
//! server offers it, `require` always (a server without TLS is refused; libpq's `verify-ca` and
//! `verify-full` are read as `require`, see `store.rs`). Unlike libpq's
//! `prefer` and `require`, which accept any certificate, a TLS connection here always checks
//! the server's certificate chain and name (the URL's host) against the CAs of the domain's
//! `ca_file`, else the system's: a connection that anyone in the middle could read is not
//! offered as a secure one. A certificate that does not pass is a connection error that says
//! what to do. Unix sockets never use TLS (PostgreSQL does not offer it there).
//!
//! SCRAM channel binding (`SCRAM-SHA-256-PLUS`) is not offered: the password exchange is plain
//! SCRAM-SHA-256, inside the verified TLS session.

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use scimd_store::{StoreError, StoreResult};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// Makes the TLS session of each new connection.
#[derive(Clone)]
pub(crate) struct MakeTls {
    /// None with `sslmode=disable`, where no handshake is ever made.
    config: Option<Arc<rustls::ClientConfig>>,
}

impl MakeTls {
    /// Trusts the CAs of `ca_file` (PEM), else the system's, as every store does
    /// ([`scimd_store::tls`]); none are read if `tls` cannot be used (`sslmode=disable`) and
    /// no `ca_file` is given (a given one is checked at once).
    pub(crate) fn new(ca_file: Option<&Path>, tls: bool) -> StoreResult<MakeTls> {
        if ca_file.is_none() && !tls {
            return Ok(MakeTls { config: None });
        }
        let config = scimd_store::tls::client_config(ca_file)
            .map_err(|e| StoreError::Rejected(format!("PostgreSQL TLS: {e}")))?;
        Ok(MakeTls { config: Some(config) })
    }
}

impl MakeTlsConnect<Socket> for MakeTls {
    type Stream = Tls;
    type TlsConnect = Connect;
    type Error = io::Error;

    /// Called for every connection, a Unix socket's too (with no host, `""`): a host that
    /// cannot be checked is an error only if a handshake is made.
    fn make_tls_connect(&mut self, host: &str) -> io::Result<Connect> {
        let name = ServerName::try_from(host.to_owned()).map_err(|_| host.to_owned());
        Ok(Connect { config: self.config.clone(), name })
    }
}

/// The TLS handshake of one connection: the configuration, and the name the certificate must
/// hold (or the host that is no such name).
pub(crate) struct Connect {
    config: Option<Arc<rustls::ClientConfig>>,
    name: Result<ServerName<'static>, String>,
}

impl TlsConnect<Socket> for Connect {
    type Stream = Tls;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Tls>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move {
            let name = self.name.map_err(|host| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("\"{host}\" is no host name a TLS certificate can be checked against"),
                )
            })?;
            let config = self.config.ok_or_else(|| {
                io::Error::new(io::ErrorKind::Unsupported, "TLS is off for this database (sslmode=disable)")
            })?;
            let connector = tokio_rustls::TlsConnector::from(config);
            match connector.connect(name, socket).await {
                Ok(stream) => Ok(Tls(stream)),
                Err(e) => Err(explain(e)),
            }
        })
    }
}

/// A handshake error, with what to do when the certificate is what failed.
fn explain(e: io::Error) -> io::Error {
    let certificate = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)));
    if certificate {
        io::Error::new(
            e.kind(),
            format!(
                "{e}: the server's certificate must be signed by a CA the domain trusts and be \
                 for the url's host; give the domain a `ca_file` with the CA that signed it, or \
                 set sslmode=disable in its url"
            ),
        )
    } else {
        e
    }
}

/// A connection inside its TLS session.
pub(crate) struct Tls(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for Tls {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
