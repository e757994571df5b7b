//! A small pool of bound LDAP connections, reconnected when they break. ldap3 multiplexes
//! operations on one connection, so a pool slot is shared by concurrent operations; the pool
//! spreads them over `pool_size` connections round-robin. A broken connection is dropped
//! ([`Pool::discard`]) and its slot reconnects at its next use.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use scimd_store::{StoreError, StoreResult};

use crate::config::LdapConfig;
use crate::error;

pub(crate) struct Pool {
    config: Arc<LdapConfig>,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// StartTLS on connecting (an `ldap://` URL with `start_tls`).
    start_tls: bool,
    slots: Vec<tokio::sync::Mutex<Option<Ldap>>>,
    next: AtomicUsize,
}

impl Pool {
    /// Opens the pool and its first connection (so that a wrong URL, credential or TLS setting
    /// fails here).
    pub(crate) async fn open(
        config: Arc<LdapConfig>,
        tls: Option<Arc<rustls::ClientConfig>>,
        start_tls: bool,
    ) -> StoreResult<Pool> {
        let slots = (0..config.pool_size.max(1)).map(|_| tokio::sync::Mutex::new(None)).collect();
        let pool = Pool { config, tls, start_tls, slots, next: AtomicUsize::new(0) };
        let first = pool.connect().await?;
        if let Some(slot) = pool.slots.first() {
            *slot.lock().await = Some(first);
        }
        Ok(pool)
    }

    async fn connect(&self) -> StoreResult<Ldap> {
        let c = &self.config;
        let mut settings = LdapConnSettings::new().set_conn_timeout(c.timeout()).set_starttls(self.start_tls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(Arc::clone(tls));
        }
        let (conn, mut ldap) =
            LdapConnAsync::with_settings(settings, &c.url).await.map_err(|e| error::client(&c.url, e))?;
        let url = c.url.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(url, error = %e, "LDAP connection closed");
            }
        });
        let bound = ldap.with_timeout(c.timeout()).simple_bind(&c.bind_dn, &c.bind_secret).await;
        match bound {
            Ok(r) if r.rc == 0 => Ok(ldap),
            Ok(r) => Err(StoreError::Unavailable(format!(
                "binding to the directory at {} as {} failed: {}",
                c.url,
                c.bind_dn,
                error::describe(&r)
            ))),
            Err(e) => Err(error::client(&c.url, e)),
        }
    }

    /// A connection handle and its slot (for [`Pool::discard`]).
    pub(crate) async fn get(&self) -> StoreResult<(usize, Ldap)> {
        let n = self.slots.len().max(1);
        let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let Some(slot) = self.slots.get(i) else {
            return Err(StoreError::Backend("the connection pool has no slot".to_owned()));
        };
        let mut slot = slot.lock().await;
        if let Some(ldap) = slot.as_mut()
            && !ldap.is_closed()
        {
            return Ok((i, ldap.clone()));
        }
        // Boxed: connecting is rare and its future large; inline, it would make the future of
        // every write as large.
        let ldap = Box::pin(self.connect()).await?;
        *slot = Some(ldap.clone());
        Ok((i, ldap))
    }

    /// Drops the connection of slot `i` (it failed); the slot reconnects at its next use.
    pub(crate) async fn discard(&self, i: usize) {
        if let Some(slot) = self.slots.get(i) {
            *slot.lock().await = None;
        }
    }

    pub(crate) fn url(&self) -> &str {
        &self.config.url
    }
}

/// The TLS client configuration for `ldaps://` and StartTLS (`wanted`): the CAs of `ca_file`,
/// else the system's, as every store trusts them ([`scimd_store::tls`]).
pub(crate) fn tls_config(
    config: &LdapConfig,
    wanted: bool,
) -> StoreResult<Option<Arc<rustls::ClientConfig>>> {
    if !wanted {
        return Ok(None);
    }
    scimd_store::tls::client_config(config.ca_file.as_deref())
        .map(Some)
        .map_err(|e| StoreError::Unavailable(format!("TLS to {}: {e}", config.url)))
}
