//! The pure SCIM 2.0 core (RFC 7643, RFC 7644): schemas and their registry, attribute paths,
//! validation of resources against schemas, the filter language, projection
//! (`attributes`, `excludedAttributes`, `returned`), discovery documents and errors.
//!
//! This crate does no I/O: no network, no files, no clock, no randomness. Time and ids come in as
//! parameters; its `Cargo.toml` depends on nothing that could do otherwise.
//!
//! # Layout
//! - [`error`]: `ScimError` and the `scimType` table of RFC 7644 §3.12.
//! - [`name`]: case-insensitive names.
//! - [`schema`]: attribute definitions, schemas, resource types (RFC 7643 §2, §6, §7).
//! - [`registry`]: the schemas in force and path resolution.
//! - [`custom`]: the custom extension: admins' attribute definitions checked, the schema built.
//! - [`path`]: attribute paths (`urn:...:User:name.givenName`).
//! - [`validate`]: a client's resource checked and normalised against the schemas.
//! - [`patch`]: PATCH (RFC 7644 §3.5.2): a PatchOp request parsed and applied; member changes split out.
//! - [`filter`]: the filter language of RFC 7644 §3.4.2.2: parser and in-memory evaluator.
//! - [`project`]: `attributes`, `excludedAttributes` and `returned` (RFC 7644 §3.4.2.5).
//! - [`discovery`]: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` and `ListResponse`.

pub mod custom;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod name;
pub mod patch;
pub mod path;
pub mod project;
pub mod registry;
pub mod schema;
pub mod validate;

pub use error::{ScimError, ScimResult, ScimType};
pub use path::AttrPath;
pub use registry::SchemaRegistry;
pub use schema::{
    AttrType, AttributeDef, Mutability, ResourceKind, ResourceType, Returned, Schema, Uniqueness,
};
