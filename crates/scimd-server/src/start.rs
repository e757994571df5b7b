//! Putting a server together from a configuration: the PRIMARY store under the data directory,
//! the admin credential, the shared state.

use crate::app::{AppState, SharedState};
use crate::auth::{AdminToken, Credentials};
use crate::config::Config;
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
    let store = Arc::new(store);
    let state = AppState::new(config, store.clone(), store, credentials).map_err(|e| e.detail)?;
    Ok((Arc::new(state), how))
}
