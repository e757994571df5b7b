//! User store domains as the server runs them: their configuration (config file `[[domains]]`
//! and the admin API), the claim-to-attribute mappings, opening each store, and putting
//! changes in force without a restart.
//!
//! Where each piece comes from, later over earlier:
//! - domains: the config file's `[[domains]]`, then those added through the admin API
//!   (persisted in the PRIMARY store under [`DOMAINS_KEY`]);
//! - mapped attributes: the shipped defaults (`scimd-domains/mappings/attributes.json`), the
//!   config file's `[claims.defaults]`, a domain's preset, its `mapping` table in the config
//!   file, then the admin API's changes (persisted under [`MAPPINGS_KEY`]).
//!
//! A directory domain whose effective mapping is invalid (unknown claim, one attribute for two
//! claims, a mandatory claim unmapped) is refused at start and by the admin API, with the
//! problems named. A domain that cannot be reached does not stop the server: its store
//! connects on first use and answers 503 naming the domain while it is down.

use crate::app::Schemas;
use scimd_domains::attributes::{ClaimMappings, ClaimShape, claim_catalogue, domain_map};
use scimd_domains::{Domain, PRIMARY, Router};
use scimd_store::{
    DomainMap, MemberChange, Membership, NewResource, Page, Replacement, ResourceKind, SettingsStore,
    StoreError, StoreQuery, StoreResult, StoredResource, UserStore,
};
use scimd_store_sql::{SqliteOptions, SqliteStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as SyncMutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The settings key of the domains added through the admin API.
pub const DOMAINS_KEY: &str = "domains";
/// The settings key of the admin API's mapping changes.
pub const MAPPINGS_KEY: &str = "claim-mappings";

/// The kind of store a domain is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreType {
    Sqlite,
    Postgres,
    Ldap,
}

impl StoreType {
    /// The name the configuration writes (`type = "..."`).
    pub fn name(self) -> &'static str {
        match self {
            StoreType::Sqlite => "sqlite",
            StoreType::Postgres => "postgres",
            StoreType::Ldap => "ldap",
        }
    }
}

/// One secondary domain, as the config file (`[[domains]]`) and the admin API write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    /// The domain's name: the prefix of the names it keeps (`LDAP` in `LDAP/kim`). Letters,
    /// digits, `-` and `_`; not `PRIMARY`; unique without regard to case.
    pub name: String,
    #[serde(rename = "type")]
    pub store_type: StoreType,
    /// Refuse writes; users read back with `isReadOnlyUser` true.
    #[serde(default)]
    pub read_only: bool,
    /// sqlite: the database file (relative to the data directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// postgres: the connection URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// postgres: the connection pool size (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<u32>,
    /// postgres: the CA certificates (PEM) that TLS trusts, instead of the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// ldap: the attribute-name preset, `openldap` (default) or `active-directory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// ldap: the directory settings (url, bind_dn, bind_secret, user_base, group_base, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap: Option<Value>,
    /// Mapped attributes of this domain over the preset and the defaults: local claim to
    /// attribute, `""` for unmapped.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mapping: BTreeMap<String, String>,
}

impl DomainConfig {
    /// Checks what can be checked without connecting.
    pub fn check(&self) -> Result<(), String> {
        let n = &self.name;
        if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("domain name \"{n}\": use letters, digits, '-' and '_'"));
        }
        if n.eq_ignore_ascii_case(PRIMARY) {
            return Err("PRIMARY is the embedded store; a secondary domain needs another name".into());
        }
        let need = |what: &str, present: bool| {
            if present {
                Ok(())
            } else {
                Err(format!("domain {n}: a {} domain needs `{what}`", self.store_type.name()))
            }
        };
        match self.store_type {
            StoreType::Sqlite => need("path", self.path.is_some())?,
            StoreType::Postgres => need("url", self.url.is_some())?,
            StoreType::Ldap => need("ldap", self.ldap.is_some())?,
        }
        // A setting of another type of store would be ignored: refused instead, so that a
        // misplaced key (a directory's `ca_file` belongs in its `ldap` table) is seen.
        let settings: [(&str, StoreType, bool); 6] = [
            ("path", StoreType::Sqlite, self.path.is_some()),
            ("url", StoreType::Postgres, self.url.is_some()),
            ("pool_size", StoreType::Postgres, self.pool_size.is_some()),
            ("ca_file", StoreType::Postgres, self.ca_file.is_some()),
            ("preset", StoreType::Ldap, self.preset.is_some()),
            ("ldap", StoreType::Ldap, self.ldap.is_some()),
        ];
        for (key, of, given) in settings {
            if given && of != self.store_type {
                let hint = if self.store_type == StoreType::Ldap {
                    " (a directory's connection settings go in its `ldap` table)"
                } else {
                    ""
                };
                return Err(format!(
                    "domain {n}: `{key}` is a setting of {} domains, not of {} ones{hint}",
                    of.name(),
                    self.store_type.name()
                ));
            }
        }
        Ok(())
    }

    /// The configuration with its secrets replaced, for the admin API and logs.
    pub fn redacted(&self) -> DomainConfig {
        let mut out = self.clone();
        if let Some(url) = out.url.as_mut() {
            *url = redact_url(url);
        }
        if let Some(Value::Object(ldap)) = out.ldap.as_mut() {
            for key in ["bind_secret", "password", "bind_password"] {
                if ldap.contains_key(key) {
                    ldap.insert(key.into(), Value::String("********".into()));
                }
            }
        }
        out
    }

    fn is_directory(&self) -> bool {
        self.store_type == StoreType::Ldap
    }
}

/// A PostgreSQL URL or `key=value` string with its password hidden: the one in the authority
/// (`scheme://user:secret@host/...`, up to the last `@`, so that an `@` left unencoded in the
/// secret hides more rather than less) and any `password` parameter (`?password=...`,
/// `password=... ` or `password='...'`).
fn redact_url(url: &str) -> String {
    const HIDDEN: &str = "********";
    let Some((scheme, rest)) = url.split_once("://") else { return redact_keywords(url) };
    let rest = match rest.rsplit_once('@') {
        Some((auth, host)) => match auth.split_once(':') {
            Some((user, _)) => format!("{user}:{HIDDEN}@{host}"),
            None => rest.to_owned(),
        },
        None => rest.to_owned(),
    };
    let rest = match rest.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}={HIDDEN}"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => rest,
    };
    format!("{scheme}://{rest}")
}

/// The `password` of a libpq `key=value` string hidden (its value bare or quoted, `\'`
/// escapes included).
fn redact_keywords(conninfo: &str) -> String {
    let mut out = String::with_capacity(conninfo.len());
    let mut rest = conninfo;
    while let Some(at) = rest.find("password") {
        let before_ok = rest[..at].chars().next_back().is_none_or(char::is_whitespace);
        let after = rest[at + "password".len()..].trim_start();
        let Some(value) = after.strip_prefix('=').filter(|_| before_ok) else {
            out.push_str(&rest[..at + "password".len()]);
            rest = &rest[at + "password".len()..];
            continue;
        };
        out.push_str(&rest[..at]);
        out.push_str("password=********");
        let value = value.trim_start();
        // The value's end: the closing quote, or the next space.
        let end = if let Some(quoted) = value.strip_prefix('\'') {
            let mut escaped = false;
            let close = quoted.char_indices().find(|&(_, c)| {
                let found = c == '\'' && !escaped;
                escaped = c == '\\' && !escaped;
                found
            });
            close.map_or(value.len(), |(i, _)| i + 2)
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// Where a domain was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Config,
    Admin,
}

/// A domain in force.
struct Running {
    config: DomainConfig,
    source: Source,
    store: Arc<Lazy>,
}

/// The domains and mappings in force, and how to change them.
pub struct DomainAdmin {
    router: Arc<Router>,
    settings: Arc<dyn SettingsStore>,
    data_dir: PathBuf,
    /// The `[claims.defaults]` of the config file, over the shipped defaults.
    config_defaults: BTreeMap<String, String>,
    running: RwLock<Vec<Running>>,
    /// The admin API's mapping changes, as persisted, with their settings version.
    changes: RwLock<(ClaimMappings, Option<u64>)>,
    /// One admin change at a time in this process; the settings versions catch other nodes.
    write: Mutex<()>,
}

impl DomainAdmin {
    /// Opens the domains of the config file and those the admin API added, checks their
    /// mappings, and puts them in force in `router`.
    pub async fn start(
        router: Arc<Router>,
        settings: Arc<dyn SettingsStore>,
        data_dir: &Path,
        config_defaults: BTreeMap<String, String>,
        configured: &[DomainConfig],
        schemas: &Schemas,
    ) -> Result<DomainAdmin, String> {
        let added: Vec<DomainConfig> =
            match settings.load_setting(DOMAINS_KEY).await.map_err(|e| e.to_string())? {
                Some((v, _)) => serde_json::from_value(v).map_err(|e| format!("stored domains: {e}"))?,
                None => Vec::new(),
            };
        let changes = match settings.load_setting(MAPPINGS_KEY).await.map_err(|e| e.to_string())? {
            Some((v, version)) => {
                (serde_json::from_value(v).map_err(|e| format!("stored claim mappings: {e}"))?, Some(version))
            }
            None => (ClaimMappings::default(), None),
        };
        let admin = DomainAdmin {
            router,
            settings,
            data_dir: data_dir.to_path_buf(),
            config_defaults,
            running: RwLock::new(Vec::new()),
            changes: RwLock::new(changes),
            write: Mutex::new(()),
        };
        let mut running = Vec::new();
        let all =
            configured.iter().map(|c| (c, Source::Config)).chain(added.iter().map(|c| (c, Source::Admin)));
        for (config, source) in all {
            config.check()?;
            if running.iter().any(|r: &Running| r.config.name.eq_ignore_ascii_case(&config.name)) {
                return Err(format!("domain {} is defined twice", config.name));
            }
            let map = admin.map_for(config, &admin.mappings(), schemas)?;
            let store = Arc::new(Lazy::new(config.clone(), admin.data_dir.clone(), map));
            running.push(Running { config: config.clone(), source, store });
        }
        admin.install(running);
        Ok(admin)
    }

    /// The mappings in force: shipped defaults, config file defaults, admin changes.
    pub fn mappings(&self) -> ClaimMappings {
        let mut out = ClaimMappings::builtin().unwrap_or_default();
        out.defaults.extend(self.config_defaults.clone());
        let changes = read(&self.changes).0.clone();
        out.defaults.extend(changes.defaults);
        out.defaults.retain(|c, _| !changes.unmapped.contains(c));
        out.domains = changes.domains;
        out
    }

    /// The effective mapped attributes of a domain under `mappings`: the defaults, then the
    /// domain's preset, its `mapping` table in the config file, then the admin API's overrides.
    fn effective(&self, config: &DomainConfig, mappings: &ClaimMappings) -> BTreeMap<String, String> {
        let mut out = mappings.defaults.clone();
        out.extend(preset(config.preset.as_deref()));
        for (claim, attr) in &config.mapping {
            if attr.is_empty() {
                out.remove(claim);
            } else {
                out.insert(claim.clone(), attr.clone());
            }
        }
        let overrides = mappings.domains.iter().find(|(d, _)| d.eq_ignore_ascii_case(&config.name));
        for (claim, attr) in overrides.map(|(_, o)| o.iter()).into_iter().flatten() {
            match attr {
                Some(a) if !a.is_empty() => out.insert(claim.clone(), a.clone()),
                _ => out.remove(claim),
            };
        }
        out
    }

    /// The attribute map of a directory domain (an empty one for SQL domains), or the problems.
    fn map_for(
        &self,
        config: &DomainConfig,
        mappings: &ClaimMappings,
        schemas: &Schemas,
    ) -> Result<DomainMap, String> {
        if !config.is_directory() {
            return Ok(DomainMap::default());
        }
        let catalogue = claim_catalogue(&schemas.registry, &schemas.mapping);
        domain_map(&config.name, &self.effective(config, mappings), &catalogue).map_err(|p| p.join("; "))
    }

    fn install(&self, running: Vec<Running>) {
        let secondaries = running
            .iter()
            .map(|r| Domain {
                name: r.config.name.clone(),
                store: r.store.clone() as Arc<dyn UserStore>,
                read_only: r.config.read_only,
            })
            .collect();
        *write(&self.running) = running;
        self.router.set_secondaries(secondaries);
    }

    /// The domains, secrets redacted, with where each was defined.
    pub fn list(&self) -> Vec<(DomainConfig, Source)> {
        read(&self.running).iter().map(|r| (r.config.redacted(), r.source)).collect()
    }

    /// The catalogue of mappable local claims.
    pub fn catalogue(&self, schemas: &Schemas) -> BTreeMap<String, ClaimShape> {
        claim_catalogue(&schemas.registry, &schemas.mapping)
    }

    /// The effective mapping of each directory domain.
    pub fn effective_by_domain(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mappings = self.mappings();
        read(&self.running)
            .iter()
            .filter(|r| r.config.is_directory())
            .map(|r| (r.config.name.clone(), self.effective(&r.config, &mappings)))
            .collect()
    }

    /// Adds a domain (admin API): checked, its mapping validated, persisted, in force.
    pub async fn add(&self, config: DomainConfig, schemas: &Schemas) -> Result<(), AdminError> {
        config.check().map_err(AdminError::Invalid)?;
        let _guard = self.write.lock().await;
        if read(&self.running).iter().any(|r| r.config.name.eq_ignore_ascii_case(&config.name)) {
            return Err(AdminError::Conflict(format!("a domain named {} exists", config.name)));
        }
        let map = self.map_for(&config, &self.mappings(), schemas).map_err(AdminError::Invalid)?;
        let store = Arc::new(Lazy::new(config.clone(), self.data_dir.clone(), map));
        // Connect now so that a wrong URL or secret is reported to the admin at once.
        store.connected().await.map_err(|e| AdminError::Invalid(format!("domain {}: {e}", config.name)))?;
        self.persist_domains(|added| added.push(config.clone())).await?;
        let mut running = self.take_running();
        running.push(Running { config, source: Source::Admin, store });
        self.install(running);
        Ok(())
    }

    /// Removes a domain added through the admin API. Its data stays in its store.
    pub async fn remove(&self, name: &str) -> Result<(), AdminError> {
        let _guard = self.write.lock().await;
        let source =
            read(&self.running).iter().find(|r| r.config.name.eq_ignore_ascii_case(name)).map(|r| r.source);
        match source {
            None => return Err(AdminError::NotFound(format!("no domain named {name}"))),
            Some(Source::Config) => {
                return Err(AdminError::Invalid(format!(
                    "domain {name} is defined in the config file; remove it there"
                )));
            }
            Some(Source::Admin) => {}
        }
        self.persist_domains(|added| added.retain(|c| !c.name.eq_ignore_ascii_case(name))).await?;
        let mut running = self.take_running();
        running.retain(|r| !r.config.name.eq_ignore_ascii_case(name));
        self.install(running);
        Ok(())
    }

    /// Applies a change to the admin API's mappings: every directory domain's new map is
    /// validated first; then the change is persisted and put in force.
    pub async fn change_mappings(
        &self,
        schemas: &Schemas,
        change: impl FnOnce(&mut ClaimMappings) -> Result<(), AdminError>,
    ) -> Result<(), AdminError> {
        let _guard = self.write.lock().await;
        let (mut next, version) = read(&self.changes).clone();
        change(&mut next)?;
        let mut candidate = ClaimMappings::builtin().unwrap_or_default();
        candidate.defaults.extend(self.config_defaults.clone());
        candidate.defaults.extend(next.defaults.clone());
        candidate.defaults.retain(|c, _| !next.unmapped.contains(c));
        candidate.domains = next.domains.clone();
        let catalogue = self.catalogue(schemas);
        let unknown: Vec<&String> = candidate
            .defaults
            .keys()
            .chain(next.unmapped.iter())
            .chain(candidate.domains.values().flat_map(|d| d.keys()))
            .filter(|c| !catalogue.contains_key(*c))
            .collect();
        if !unknown.is_empty() {
            return Err(AdminError::Invalid(format!(
                "not a local claim: {}",
                unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        let mut maps = Vec::new();
        {
            let running = read(&self.running);
            for r in running.iter() {
                maps.push((
                    r.store.clone(),
                    self.map_for(&r.config, &candidate, schemas).map_err(AdminError::Invalid)?,
                ));
            }
        }
        let value = serde_json::to_value(&next).map_err(|e| AdminError::Internal(e.to_string()))?;
        let saved = self.settings.save_setting(MAPPINGS_KEY, &value, version).await.map_err(|e| match e {
            StoreError::VersionMismatch { .. } => {
                AdminError::Conflict("the mappings were changed by another admin; read them again".into())
            }
            other => AdminError::Internal(other.to_string()),
        })?;
        *write(&self.changes) = (next, Some(saved));
        for (store, map) in maps {
            store.set_map(map).await;
        }
        Ok(())
    }

    fn take_running(&self) -> Vec<Running> {
        std::mem::take(&mut *write(&self.running))
    }

    async fn persist_domains(&self, edit: impl FnOnce(&mut Vec<DomainConfig>)) -> Result<(), AdminError> {
        let internal = |e: StoreError| AdminError::Internal(e.to_string());
        let (mut added, version) = match self.settings.load_setting(DOMAINS_KEY).await.map_err(internal)? {
            Some((v, version)) => {
                (serde_json::from_value(v).map_err(|e| AdminError::Internal(e.to_string()))?, Some(version))
            }
            None => (Vec::new(), None),
        };
        edit(&mut added);
        let value = serde_json::to_value(&added).map_err(|e| AdminError::Internal(e.to_string()))?;
        self.settings.save_setting(DOMAINS_KEY, &value, version).await.map_err(|e| match e {
            StoreError::VersionMismatch { .. } => {
                AdminError::Conflict("the domains were changed by another admin; try again".into())
            }
            other => internal(other),
        })?;
        Ok(())
    }
}

/// Why an admin change was refused.
#[derive(Debug)]
pub enum AdminError {
    Invalid(String),
    NotFound(String),
    Conflict(String),
    Internal(String),
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The attribute names of a preset (over the defaults).
fn preset(name: Option<&str>) -> BTreeMap<String, String> {
    crate::stores::preset(name.unwrap_or("openldap"))
}

/// A domain's store, connected on first use and again after a failure (at most every few
/// seconds), so that a domain that is down answers "unavailable" instead of stopping the
/// server, and comes back by itself.
pub struct Lazy {
    config: DomainConfig,
    data_dir: PathBuf,
    map: SyncMutex<DomainMap>,
    /// The connected store: read without waiting on every call once set.
    ready: RwLock<Option<Arc<dyn UserStore>>>,
    /// Held while connecting, so that one caller connects and the others wait for it.
    store: Mutex<Option<Arc<dyn UserStore>>>,
    last_try: SyncMutex<Option<(Instant, String)>>,
}

const RETRY_AFTER: Duration = Duration::from_secs(2);

impl Lazy {
    fn new(config: DomainConfig, data_dir: PathBuf, map: DomainMap) -> Lazy {
        Lazy {
            config,
            data_dir,
            map: SyncMutex::new(map),
            ready: RwLock::new(None),
            store: Mutex::new(None),
            last_try: SyncMutex::new(None),
        }
    }

    /// Puts a new attribute map in force: for the store when it connects, and now if it is.
    async fn set_map(&self, map: DomainMap) {
        let guard = self.store.lock().await;
        if let Ok(mut m) = self.map.lock() {
            *m = map.clone();
        }
        if let Some(store) = guard.as_ref()
            && let Err(e) = store.set_attribute_map(map)
        {
            tracing::warn!(domain = self.config.name, "new attribute map refused: {e}");
        }
    }

    async fn connected(&self) -> StoreResult<Arc<dyn UserStore>> {
        if let Some(store) = read(&self.ready).as_ref() {
            return Ok(store.clone());
        }
        // Boxed: connecting is rare and its future large (several KB); inline, it would make
        // the future of every call of the store as large, copied and allocated at every call.
        Box::pin(self.connect()).await
    }

    /// Opens the store (once; a failure is remembered for `RETRY_AFTER`).
    async fn connect(&self) -> StoreResult<Arc<dyn UserStore>> {
        let mut guard = self.store.lock().await;
        if let Some(store) = guard.as_ref() {
            return Ok(store.clone());
        }
        if let Ok(last) = self.last_try.lock()
            && let Some((at, why)) = last.as_ref()
            && at.elapsed() < RETRY_AFTER
        {
            return Err(StoreError::Unavailable(why.clone()));
        }
        let map = self.map.lock().map(|m| m.clone()).unwrap_or_default();
        match crate::stores::open(&self.config, &self.data_dir, map).await {
            Ok(store) => {
                *guard = Some(store.clone());
                *write(&self.ready) = Some(store.clone());
                Ok(store)
            }
            Err(e) => {
                let why = match &e {
                    StoreError::Unavailable(m) => m.clone(),
                    other => other.to_string(),
                };
                tracing::warn!(domain = self.config.name, "cannot open the store: {why}");
                if let Ok(mut last) = self.last_try.lock() {
                    *last = Some((Instant::now(), why));
                }
                Err(match e {
                    StoreError::Unavailable(_) => e,
                    other => StoreError::Unavailable(other.to_string()),
                })
            }
        }
    }
}

#[async_trait::async_trait]
impl UserStore for Lazy {
    async fn create(&self, new: NewResource) -> StoreResult<StoredResource> {
        self.connected().await?.create(new).await
    }
    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<StoredResource>> {
        self.connected().await?.get(kind, id, with_members).await
    }
    async fn replace(&self, replacement: Replacement) -> StoreResult<StoredResource> {
        self.connected().await?.replace(replacement).await
    }
    async fn change_members(&self, change: MemberChange) -> StoreResult<StoredResource> {
        self.connected().await?.change_members(change).await
    }
    async fn delete(&self, kind: ResourceKind, id: &str, expected_version: Option<u64>) -> StoreResult<()> {
        self.connected().await?.delete(kind, id, expected_version).await
    }
    async fn query(&self, query: &StoreQuery) -> StoreResult<Page> {
        self.connected().await?.query(query).await
    }
    async fn memberships(&self, id: &str) -> StoreResult<Vec<Membership>> {
        self.connected().await?.memberships(id).await
    }
    async fn query_with_memberships(&self, query: &StoreQuery) -> StoreResult<(Page, Vec<Vec<Membership>>)> {
        self.connected().await?.query_with_memberships(query).await
    }
    async fn get_with_memberships(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<(StoredResource, Vec<Membership>)>> {
        self.connected().await?.get_with_memberships(kind, id).await
    }
    async fn memberships_of(&self, ids: &[String]) -> StoreResult<Vec<Vec<Membership>>> {
        self.connected().await?.memberships_of(ids).await
    }
    async fn forget_member(&self, id: &str) -> StoreResult<()> {
        self.connected().await?.forget_member(id).await
    }
    async fn holds_members_of_other_domains(&self) -> StoreResult<bool> {
        self.connected().await?.holds_members_of_other_domains().await
    }
    async fn remove_claim(&self, kind: ResourceKind, claim: &str) -> StoreResult<u64> {
        self.connected().await?.remove_claim(kind, claim).await
    }
    fn keeps_every_claim(&self) -> bool {
        !self.config.is_directory()
    }
    fn set_attribute_map(&self, map: DomainMap) -> StoreResult<()> {
        if let Ok(mut m) = self.map.lock() {
            *m = map.clone();
        }
        match self.store.try_lock() {
            Ok(guard) => guard.as_ref().map_or(Ok(()), |store| store.set_attribute_map(map)),
            // Connecting now: the connection reads the map just set.
            Err(_) => Ok(()),
        }
    }
}

/// Opens the SQLite store of a `sqlite` domain.
pub(crate) async fn open_sqlite(config: &DomainConfig, data_dir: &Path) -> StoreResult<Arc<dyn UserStore>> {
    let path = config.path.clone().unwrap_or_else(|| PathBuf::from(format!("{}.db", config.name)));
    let path = if path.is_absolute() { path } else { data_dir.join(path) };
    Ok(Arc::new(SqliteStore::open(&path, SqliteOptions::default()).await?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_postgresql_password_is_hidden() {
        let cases = [
            ("postgres://scimd:s3cret@db:5432/scimd", "postgres://scimd:********@db:5432/scimd"),
            ("postgres://scimd:p@ss@db/scimd", "postgres://scimd:********@db/scimd"),
            ("postgres://scimd@db/scimd?sslmode=require", "postgres://scimd@db/scimd?sslmode=require"),
            (
                "postgres://scimd@db/scimd?password=s3cret&sslmode=require",
                "postgres://scimd@db/scimd?password=********&sslmode=require",
            ),
            (
                "host=db user=scimd password=s3cret dbname=scimd",
                "host=db user=scimd password=******** dbname=scimd",
            ),
            ("host=db password = 'two words\\' here' dbname=x", "host=db password=******** dbname=x"),
            ("host=db dbname=passwords", "host=db dbname=passwords"),
            ("password=s3cret", "password=********"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    fn domain(toml_text: &str) -> DomainConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn a_domain_needs_the_setting_of_its_type() {
        let err = domain("name = \"PG\"\ntype = \"postgres\"\n").check().unwrap_err();
        assert_eq!(err, "domain PG: a postgres domain needs `url`");
    }

    #[test]
    fn a_setting_of_another_type_of_store_is_refused_naming_it() {
        let ok =
            domain("name = \"PG\"\ntype = \"postgres\"\nurl = \"postgres://h/db\"\nca_file = \"ca.pem\"\n");
        assert_eq!(ok.check(), Ok(()));
        let err = domain("name = \"PG\"\ntype = \"postgres\"\nurl = \"postgres://h/db\"\npath = \"pg.db\"\n")
            .check()
            .unwrap_err();
        assert_eq!(err, "domain PG: `path` is a setting of sqlite domains, not of postgres ones");
        // A directory's TLS CA belongs in its `ldap` table; at the top it would be ignored.
        let err =
            domain("name = \"LDAP\"\ntype = \"ldap\"\nca_file = \"ca.pem\"\nldap = { url = \"ldap://h\" }\n")
                .check()
                .unwrap_err();
        assert!(err.starts_with("domain LDAP: `ca_file` is a setting of postgres domains"), "{err}");
        assert!(err.contains("`ldap` table"), "{err}");
    }
}
