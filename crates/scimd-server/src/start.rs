//! Putting a server together from a configuration: the PRIMARY store under the data directory,
//! the admin credential, the shared state.

use crate::app::{AppState, SharedState};
use crate::auth::{AdminToken, Credentials};
use crate::config::Config;
use crate::domains::DomainAdmin;
use scimd_domains::Router;
use scimd_store_sql::{SqliteOptions, SqliteStore};
use std::sync::Arc;

/// The file name of the PRIMARY store's database under the data directory.
pub const PRIMARY_DB: &str = "scimd.db";

/// Opens everything the configuration names. `admin_token` is `SCIMD_ADMIN_TOKEN`.
pub async fn open(config: Config, admin_token: Option<&str>) -> Result<(SharedState, AdminToken), String> {
    let dir = &config.storage.data_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
    let options =
        SqliteOptions { read_connections: config.storage.read_connections, ..SqliteOptions::default() };
    let store = SqliteStore::open(&dir.join(PRIMARY_DB), options)
        .await
        .map_err(|e| format!("cannot open the PRIMARY store in {}: {e}", dir.display()))?;
    let (credentials, how) = Credentials::bootstrap(dir, &config.auth.admin_user, admin_token)
        .map_err(|e| format!("cannot set up the admin credential: {e}"))?;
    let primary = Arc::new(store);
    let router = Arc::new(Router::new(primary.clone()));
    let state = AppState::new(config, router.clone(), primary.clone(), credentials).map_err(|e| e.detail)?;
    let state = Arc::new(state);
    crate::admin::custom::install_at_start(&state).await?;
    open_domains(&state, router, primary).await?;
    Ok((state, how))
}

/// Opens the secondary domains (config file and admin API) behind the router.
async fn open_domains(
    state: &SharedState,
    router: Arc<Router>,
    primary: Arc<SqliteStore>,
) -> Result<(), String> {
    let config = &state.config;
    let domains = DomainAdmin::start(
        router,
        primary,
        &config.storage.data_dir,
        config.claims.defaults.clone(),
        &config.domains,
        &state.schemas(),
    )
    .await
    .map_err(|e| format!("user store domains: {e}"))?;
    state.set_domains(Arc::new(domains));
    Ok(())
}
