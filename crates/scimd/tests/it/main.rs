//! Integration tests: the real `scimd` binary, started on port 0 with its own data directory,
//! driven over HTTP. One test binary; modules by area. Tests quote the RFC section they check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod auth;
mod bulk;
mod directory;
mod discovery;
mod domains;
mod durability;
mod enterprise;
mod errors;
mod groups;
mod patch;
mod query;
mod schemas_admin;
mod search;
mod serve;
mod users;
