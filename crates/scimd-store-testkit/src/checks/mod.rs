//! The checks, by subject. Each takes a fresh, empty store.

pub mod backward;
pub mod foreign;
pub mod members;
pub mod query;
pub mod resources;
pub mod settings;
