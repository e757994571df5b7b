//! The HTTP face of scimd: the axum router, the SCIM endpoints, authentication and
//! configuration. Only this crate knows HTTP.
//!
//! # Layout
//! - [`config`]: the TOML configuration, its defaults and `SCIMD_<SECTION>_<KEY>` overrides.
//! - [`app`]: [`AppState`], [`router`] and [`run`] (`run(listener, state, shutdown)`, so tests
//!   bind port 0).
//! - [`auth`]: Bearer and Basic credentials, the bootstrap admin token.
//! - [`secret`]: token digests and argon2id password hashes.
//! - [`error`]: [`ApiError`], always answered as a SCIM Error body.
//! - `admin`: the admin REST API under `/admin/v1`.
//! - `scim`: the SCIM endpoints (discovery, `/Users`, `/Groups`).
//! - [`domains`]: user store domains: configuration, mappings, opening and changing them;
//!   `stores`: opening a store by type.
//! - [`start`]: opening the PRIMARY store and the credentials from a configuration.

mod admin;
pub mod app;
pub mod auth;
pub mod config;
pub mod domains;
pub mod error;
mod scim;
pub mod secret;
pub mod start;
mod stores;

pub use app::{AppState, SharedState, router, run};
pub use config::Config;
pub use error::ApiError;
