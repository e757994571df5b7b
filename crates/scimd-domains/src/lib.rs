//! User store domains (DESIGN.md, Words and The path of a request): PRIMARY and any number of
//! secondary domains behind one [`scimd_store::UserStore`], the [`Router`].
//!
//! # What the router does
//! - Routing: a userName or group displayName written `DOMAIN/name` goes to that domain, which
//!   keeps `name`; any other name goes to PRIMARY. Reads qualify the name again, so a client
//!   reads back what it wrote ([`names`]).
//! - Lookups by id try the domain the id was last seen in, then PRIMARY, then each secondary.
//! - Queries: a filter that pins a domain (`userName eq "LDAP/kim"`, `userName sw "LDAP/"`)
//!   runs there alone; any other runs in every domain, with its name comparisons rewritten
//!   exactly for each, and the pages are merged into one order with one total ([`merge`]).
//!   Cursor positions carry the domain, so a walk resumes each domain where it left off.
//! - Members of other domains: a group keeps a member that its own domain does not know when
//!   another domain has it (a PRIMARY group with LDAP users); deleting a resource drops it from
//!   the groups of every domain.
//! - Read-only domains refuse writes; their users read back with `isReadOnlyUser` true.
//! - Errors name the domain they come from ([`scimd_store::StoreError::InDomain`]), and a
//!   domain that is down fails only the requests that need it.
//!
//! [`attributes`] holds the claim-to-attribute mappings of directory domains.
//!
//! With PRIMARY alone, every call goes straight to it: routing costs nothing.

pub mod attributes;
pub mod merge;
pub mod names;
mod router;

pub use router::{Domain, IS_READ_ONLY_USER, PRIMARY, Router};
