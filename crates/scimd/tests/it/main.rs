//! Integration tests: the real `scimd` binary, started on port 0 with its own data directory,
//! driven over HTTP. One test binary; modules by area. Tests quote the RFC section they check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod auth;
mod bulk;
mod discovery;
mod durability;
mod errors;
mod groups;
mod patch;
mod query;
mod search;
mod serve;
mod users;
