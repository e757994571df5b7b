//! Configuration: one TOML file, every key with a default, every key overridable by an
//! environment variable `SCIMD_<SECTION>_<KEY>` (`SCIMD_SERVER_LISTEN=0.0.0.0:8080`), and the
//! command line's `--listen` / `--data-dir` over both.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub scim2: Scim2Config,
    pub auth: AuthConfig,
    pub log: LogConfig,
    /// `[claims]`: default mapped attributes of local claims (see `domains`).
    pub claims: ClaimsConfig,
    /// `[[domains]]`: the secondary user store domains.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<crate::domains::DomainConfig>,
}

/// `[claims]`: the default mapped attribute of local claims, over the shipped defaults
/// (`"urn:scimd:claims:title" = "title"`): what directory domains keep each claim in unless a
/// domain says otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsConfig {
    pub defaults: std::collections::BTreeMap<String, String>,
}

/// `[server]`: where to listen and how the server names itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The address and port to listen on.
    pub listen: String,
    /// The absolute URL clients reach the server at (scheme, host, port), used to build
    /// `meta.location` and `$ref`. Empty: `http://<listen>`.
    pub base_url: String,
    /// The path of the SCIM endpoints.
    pub scim_path: String,
    /// The largest request body accepted, in bytes; larger gets 413.
    pub max_body_bytes: usize,
    /// Threads that serve requests; 0: one fewer than the machine's cores, at least one
    /// ([`ServerConfig::worker_threads`]).
    pub workers: usize,
}

impl ServerConfig {
    /// The threads that serve requests: `workers`, or by default one fewer than the cores, at
    /// least one. The spare core runs what does not run on them: the SQLite writer and scans,
    /// long pages written on the blocking pool, password hashing, and a PostgreSQL server or
    /// directory on the same host. Two threads on two cores hand requests to each other, and
    /// each hand-off is a wake-up: one served point reads 10 to 20% faster, and lookups in a
    /// PostgreSQL or LDAP domain 15 to 25% faster (docs/benchmarks.md).
    pub fn worker_threads(&self) -> usize {
        if self.workers > 0 {
            return self.workers;
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        cores.saturating_sub(1).max(1)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            base_url: String::new(),
            scim_path: "/scim/v2".into(),
            max_body_bytes: 1024 * 1024,
            workers: 0,
        }
    }
}

/// `[storage]`: the embedded PRIMARY store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The directory of the SQLite database and of the server's own state.
    pub data_dir: PathBuf,
    /// SQLite reader connections (writes go through one writer connection).
    pub read_connections: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { data_dir: PathBuf::from("./data"), read_connections: 4 }
    }
}

/// `[scim2]`: SCIM protocol settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Scim2Config {
    /// Whether the custom User extension is served.
    pub enable_custom_schema_extension: bool,
    /// The URI of the custom User extension.
    pub custom_user_schema_uri: String,
    /// The most resources one list response returns (`filter.maxResults`); also the default
    /// page size when a request gives no `count`.
    pub max_results: u64,
    /// The most candidates a filter the store cannot answer is evaluated on in memory; past it
    /// the request gets 400 `tooMany`.
    pub max_filter_candidates: u64,
    /// The most operations one POST `/Bulk` request may carry (`bulk.maxOperations`); more is
    /// 413.
    pub bulk_max_operations: u64,
    /// The largest POST `/Bulk` body in bytes (`bulk.maxPayloadSize`); larger is 413.
    pub bulk_max_payload_bytes: u64,
}

impl Default for Scim2Config {
    fn default() -> Self {
        Scim2Config {
            enable_custom_schema_extension: true,
            custom_user_schema_uri: "urn:scim:wso2:schema".into(),
            max_results: 1000,
            max_filter_candidates: 10_000,
            bulk_max_operations: 1000,
            bulk_max_payload_bytes: 1_048_576,
        }
    }
}

/// `[auth]`: credentials.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The user name of the bootstrap admin for HTTP Basic (the password is the admin token).
    pub admin_user: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { admin_user: "admin".into() }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter (`info`, `scimd=debug,info`). `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".into() }
    }
}

/// A configuration problem, with the key or file at fault.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Loads the configuration: defaults, then the file (if given), then the environment
    /// (`env` yields the variables, so that tests pass their own).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = toml::Table::try_from(Config::default())
            .map_err(|e| ConfigError(format!("internal: defaults do not serialize: {e}")))?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
            let from_file: toml::Table =
                text.parse().map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?;
            merge(&mut table, from_file);
        }
        apply_env(&mut table, env)?;
        let config: Config =
            toml::Value::Table(table).try_into().map_err(|e| ConfigError(format!("configuration: {e}")))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if !self.server.scim_path.starts_with('/') {
            return Err(ConfigError("server.scim_path must start with \"/\"".into()));
        }
        if self.scim2.max_results == 0 {
            return Err(ConfigError("scim2.max_results must be at least 1".into()));
        }
        if self.storage.read_connections == 0 {
            return Err(ConfigError("storage.read_connections must be at least 1".into()));
        }
        Ok(())
    }

    /// The listen address, parsed.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server
            .listen
            .parse()
            .map_err(|_| ConfigError(format!("server.listen: \"{}\" is not ADDR:PORT", self.server.listen)))
    }

    /// The configuration as TOML, every key shown, the domains' secrets as `********` (what
    /// `scimd config` prints may end up in a ticket).
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        shown.domains = shown.domains.iter().map(crate::domains::DomainConfig::redacted).collect();
        toml::to_string(&shown).unwrap_or_default()
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Applies `SCIMD_<SECTION>_<KEY>` variables to the keys that exist, parsing each value as the
/// type of the key's default.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let env: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with("SCIMD_")).collect();
    for (section, value) in table.iter_mut() {
        let toml::Value::Table(keys) = value else { continue };
        for (key, current) in keys.iter_mut() {
            let var = format!("SCIMD_{}_{}", section.to_ascii_uppercase(), key.to_ascii_uppercase());
            let Some((_, raw)) = env.iter().find(|(k, _)| *k == var) else { continue };
            *current = match current {
                toml::Value::Boolean(_) => match raw.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => toml::Value::Boolean(true),
                    "false" | "0" | "no" | "off" => toml::Value::Boolean(false),
                    _ => return Err(ConfigError(format!("{var}: \"{raw}\" is not true or false"))),
                },
                toml::Value::Integer(_) => toml::Value::Integer(
                    raw.parse().map_err(|_| ConfigError(format!("{var}: \"{raw}\" is not an integer")))?,
                ),
                _ => toml::Value::String(raw.clone()),
            };
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_printed_configuration_hides_the_domains_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("scimd.toml");
        std::fs::write(
            &f,
            "[[domains]]\nname = \"PG\"\ntype = \"postgres\"\nurl = \"postgres://scimd:pg-s3cret@db/scimd\"\n\
             [[domains]]\nname = \"LDAP\"\ntype = \"ldap\"\n\
             ldap = { url = \"ldap://h\", bind_dn = \"cn=a\", bind_secret = \"ldap-s3cret\" }\n",
        )
        .unwrap();
        let shown = Config::load(Some(&f), env(&[])).unwrap().to_toml();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://scimd:********@db/scimd"), "{shown}");
        assert!(shown.contains("cn=a"), "{shown}");
    }

    #[test]
    fn defaults_need_no_file() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.server.listen, "127.0.0.1:8080");
        assert_eq!(c.storage.data_dir, PathBuf::from("./data"));
        assert!(c.scim2.enable_custom_schema_extension);
    }

    #[test]
    fn environment_overrides_file_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("scimd.toml");
        std::fs::write(&f, "[server]\nlisten = \"127.0.0.1:9000\"\n[scim2]\nmax_results = 50\n").unwrap();
        let c = Config::load(
            Some(&f),
            env(&[
                ("SCIMD_SCIM2_ENABLE_CUSTOM_SCHEMA_EXTENSION", "false"),
                ("SCIMD_SCIM2_MAX_RESULTS", "20"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:9000");
        assert_eq!(c.scim2.max_results, 20);
        assert!(!c.scim2.enable_custom_schema_extension);
    }

    #[test]
    fn workers_default_to_one_fewer_than_the_cores_and_at_least_one() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.server.workers, 0);
        assert_eq!(c.server.worker_threads(), cores.saturating_sub(1).max(1));
        let c = Config::load(None, env(&[("SCIMD_SERVER_WORKERS", "3")])).unwrap();
        assert_eq!(c.server.worker_threads(), 3);
    }

    #[test]
    fn unknown_key_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("scimd.toml");
        std::fs::write(&f, "[server]\nlisen = \"x\"\n").unwrap();
        let e = Config::load(Some(&f), env(&[])).unwrap_err();
        assert!(e.0.contains("lisen"), "{e}");
        let e = Config::load(None, env(&[("SCIMD_SCIM2_MAX_RESULTS", "many")])).unwrap_err();
        assert!(e.0.contains("SCIMD_SCIM2_MAX_RESULTS"), "{e}");
        let e = Config::load(None, env(&[("SCIMD_SERVER_LISTEN", "nowhere")])).unwrap_err();
        assert!(e.0.contains("server.listen"), "{e}");
    }
}
