//! Claims: the protocol-neutral pivot between SCIM resources and user stores.
//!
//! # Layout
//! - [`claims`]: [`Claims`], the local claims of one resource, and the well-known local claim URIs;
//!   `scan`: where each claim is in a store's claims text, read without building values.
//! - [`dialect`]: the SCIM dialects and the mapping of each SCIM attribute (by claim URI) to a
//!   local claim, loaded from `mappings/scim2.json`; turns a resource into claims and back.
//! - [`filter`]: [`ClaimFilter`], the store-neutral filter, and the rewrite of a SCIM filter
//!   into it with a residual for the in-memory evaluator.

pub mod claims;
pub mod dialect;
pub mod eval;
pub mod filter;
pub mod layout;
mod scan;

pub use claims::Claims;
pub use dialect::DialectMapping;
pub use filter::{
    ClaimFilter, ClaimPath, Collection, Column, MemberField, Rewritten, SortKey, rewrite, sort_key,
};
pub use layout::{ResourceWriter, Values};
pub use scimd_core::ResourceKind;
