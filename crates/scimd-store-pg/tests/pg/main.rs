//! The PostgreSQL store against a real PostgreSQL (`scripts/test` starts a throwaway one and
//! exports `SCIMD_TEST_PG_URL`). Every test gets a schema of its own, so tests run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod differential;
mod faults;
mod indexes;
mod instants;
mod kit;
mod lookups;
mod nodes;
mod schema;
mod server;
mod socket;
mod tls;
