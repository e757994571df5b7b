//! The application: shared state, the router, and `run(listener, shutdown)`.

use crate::auth::{Credentials, Principal};
use crate::config::Config;
use crate::error::ApiError;
use crate::{admin, scim};
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use scimd_claims::DialectMapping;
use scimd_core::{SchemaRegistry, ScimError};
use scimd_store::{SettingsStore, UserStore};
use std::future::Future;
use std::sync::{Arc, RwLock};
use tokio::net::TcpListener;

/// The schemas and the dialect mapping as one snapshot: replaced whole when an admin changes
/// either, so that a request sees one consistent version of both.
pub struct Schemas {
    pub registry: SchemaRegistry,
    pub mapping: DialectMapping,
}

/// What every request handler shares.
pub struct AppState {
    pub config: Config,
    schemas: RwLock<Arc<Schemas>>,
    pub store: Arc<dyn UserStore>,
    /// Where admin state (schemas, mappings, domains) is kept: the PRIMARY store.
    pub settings: Arc<dyn SettingsStore>,
    pub credentials: Credentials,
    /// The user store domains: `store` is their router. Set once at start.
    domains: std::sync::OnceLock<Arc<crate::domains::DomainAdmin>>,
    /// The absolute URL of the SCIM base (`http://host:port/scim/v2`), for `location` and `$ref`.
    pub scim_base_url: String,
}

impl AppState {
    /// State for a configuration and its parts.
    pub fn new(
        config: Config,
        store: Arc<dyn UserStore>,
        settings: Arc<dyn SettingsStore>,
        credentials: Credentials,
    ) -> Result<Self, ScimError> {
        let base = if config.server.base_url.is_empty() {
            format!("http://{}", config.server.listen)
        } else {
            config.server.base_url.trim_end_matches('/').to_string()
        };
        let scim_base_url = format!("{base}{}", config.server.scim_path.trim_end_matches('/'));
        let schemas = Schemas { registry: SchemaRegistry::builtin()?, mapping: DialectMapping::builtin()? };
        Ok(AppState {
            schemas: RwLock::new(Arc::new(schemas)),
            config,
            store,
            settings,
            credentials,
            scim_base_url,
            domains: std::sync::OnceLock::new(),
        })
    }
}

impl AppState {
    /// The schemas and mapping in force now. Take one snapshot per request step and keep it.
    pub fn schemas(&self) -> Arc<Schemas> {
        match self.schemas.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The user store domains (set at start; `None` only before).
    pub fn domains(&self) -> Option<&Arc<crate::domains::DomainAdmin>> {
        self.domains.get()
    }

    /// Sets the user store domains, once.
    pub fn set_domains(&self, domains: Arc<crate::domains::DomainAdmin>) {
        let _ = self.domains.set(domains);
    }

    /// Puts new schemas and mapping in force, from the next request step on.
    pub fn set_schemas(&self, schemas: Schemas) {
        let next = Arc::new(schemas);
        match self.schemas.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}

/// The shared state handle.
pub type SharedState = Arc<AppState>;

/// The whole HTTP surface: SCIM under the configured path, health checks, SCIM-error fallbacks.
pub fn router(state: SharedState) -> Router {
    let scim_path = state.config.server.scim_path.trim_end_matches('/').to_string();
    let scim = scim::routes(&scim_path)
        .route_layer(middleware::from_fn_with_state(state.clone(), require_credential));
    let admin = admin::routes()
        .route_layer(middleware::from_fn_with_state(state.clone(), require_credential))
        .fallback(not_found);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .merge(scim)
        .nest("/admin/v1", admin)
        .fallback(not_found)
        .with_state(state)
}

/// Ready when the PRIMARY store answers. A secondary domain that is down does not make the
/// node unready: its requests get 503 naming it, and every other request is served.
async fn ready(State(state): State<SharedState>) -> Response {
    match state.settings.load_setting(crate::domains::DOMAINS_KEY).await {
        Ok(_) => "ready".into_response(),
        Err(e) => ApiError::from(ScimError::status(503, format!("the PRIMARY store is not ready: {e}")))
            .into_response(),
    }
}

async fn not_found(req: Request) -> ApiError {
    ApiError::from(ScimError::not_found(format!("no endpoint at {}", req.uri().path())))
}

/// Every SCIM endpoint requires a credential (Bearer or Basic); no or a wrong one gets 401.
async fn require_credential(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    match state.credentials.authenticate(req.headers()) {
        Some(principal) => {
            req.extensions_mut().insert::<Principal>(principal);
            next.run(req).await
        }
        None => {
            let detail = if req.headers().contains_key(axum::http::header::AUTHORIZATION) {
                "the credential is not valid"
            } else {
                "a credential is required: Authorization: Bearer <token> or Basic"
            };
            ApiError::unauthorized(detail).into_response()
        }
    }
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then drains requests.
pub async fn run(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// For unit tests: a SQLite store in a temporary directory (kept while the directory lives).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) async fn temp_store() -> (tempfile::TempDir, Arc<scimd_store_sql::SqliteStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        scimd_store_sql::SqliteStore::open(
            &dir.path().join("s.db"),
            scimd_store_sql::SqliteOptions::default(),
        )
        .await
        .unwrap(),
    );
    (dir, store)
}
