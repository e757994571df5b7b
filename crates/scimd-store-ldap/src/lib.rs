//! The LDAP user store: domains kept in an OpenLDAP or Active Directory directory.
//!
//! A directory keeps only what its attribute map names ([`scimd_store::DomainMap`]): a write of
//! a claim the map does not hold is refused with [`scimd_store::StoreError::Unmapped`] naming
//! it, never dropped. Users and groups are entries under the configured bases, named by an
//! RDN attribute (`uid=kim,ou=people,...`); the directory assigns the ids (`entryUUID`, or
//! `objectGUID` formatted as a UUID), the timestamps (`createTimestamp`/`modifyTimestamp`,
//! `whenCreated`/`whenChanged`) and the version (`entryCSN`, `uSNChanged`), all read through
//! the attribute map as the claims `urn:scimd:claims:id`, `created`, `lastModified` and
//! `version`, which every map must name.
//!
//! Filters are compiled into RFC 4515 filters where the directory answers them exactly; what
//! it cannot say exactly it answers with a superset that is checked in memory
//! (`scimd_claims::eval`), at most `max_candidates` candidates per query ([`filter`] docs).
//!
//! # Layout
//! - [`config`]: [`LdapConfig`], read from the server's TOML.
//! - [`preset`](mod@preset): [`Preset`]s (`presets/*.json`) and [`domain_map`], which types their rows.
//! - `store`: [`LdapStore`], connecting and the [`scimd_store::UserStore`] implementation.
//! - `search`: searches (paged, bounded), lookups (a filter an index narrows: one request,
//!   unpaged) and point reads; `query`: filter, order and page;
//!   `members`: members and nested memberships; `member_of`: the directory's `memberOf`, when
//!   it is trusted, and the users a query noted for the memberships asked next; `write`:
//!   create, replace, members, delete.
//! - `entry`: the layout of a kind, claims to attribute values and back, ids, times, versions.
//! - [`filter`]: the RFC 4515 compiler and its exactness rules; `schema`: the directory's
//!   matching rules and syntaxes; `dn`: RFC 4514 names.
//! - `wire`: the read path's own LDAP client (BER, RFC 4515 filters as BER, one search per
//!   connection at a time) and its pool; `pool`: ldap3's connections for writes (reconnected
//!   when they break); `error`: result codes to [`scimd_store::StoreError`].
//!
//! # Limits
//! - A group class that requires a member (`groupOfNames`) keeps `empty_group_member` (the
//!   empty DN in the OpenLDAP preset) while it has no member; it is never read back.
//! - `members.display` is not kept: it reads back as the member's display name.
//! - Typed views read back as `{"value", "type"}` in the map's order, the type as the map
//!   spells it; other sub-attributes of such elements (`primary`, `display`) are refused.
//! - dateTimes in GeneralizedTime attributes keep the instant, not the offset written.
//! - An empty string is no value.
//! - Versions grow with every change but not by one (a CSN's time, `uSNChanged`).
//! - Conditional writes are atomic where the directory supports the assertion control
//!   (OpenLDAP); elsewhere (Active Directory) they are checked, then written.
//! - Members must be entries of this directory: members of other domains are refused.
//! - `memberOf` (`member_of_attribute`) spares the search for the groups of an entry in none.
//!   It is trusted once a member of one of the domain's groups was read with it naming that
//!   group, never once one was read without; while no group of the domain has a member it is
//!   trusted, checked again every 5 s and after each member write through this store: where
//!   the directory does not keep it, a member written by another tool into the domain's first
//!   group with members may be missed in its groups for those seconds.
//! - A query's exact filter with more matches than `page_size` reads up to a page of entries
//!   whole before reading the ids of every match.

pub mod config;
mod dn;
mod entry;
mod error;
pub mod filter;
mod lookups;
mod member_of;
mod members;
mod pool;
pub mod preset;
mod query;
mod schema;
mod search;
mod store;
mod wire;
mod write;

pub use config::LdapConfig;
pub use entry::{CREATED, LAST_MODIFIED, VERSION};
pub use preset::{ClaimType, Preset, PresetResource, PresetRow, domain_map, preset};
pub use store::LdapStore;
