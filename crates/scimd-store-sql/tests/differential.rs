//! Differential property test (RFC 7644 §3.4.2.2 and §3.4.2.3): for random users, random filters
//! from the grammar and random sort keys, the SQLite store's answer (the filter rewritten into
//! claims and compiled to SQL) is the in-memory evaluator's, in the same order when sorted. The
//! generator and the check are store-generic: `scimd_store_testkit::differential`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use proptest::prelude::*;
use scimd_store_sql::{SqliteOptions, SqliteStore};
use scimd_store_testkit::differential;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_answers_every_filter_and_order_as_the_evaluator_does(case in differential::case()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(&dir.path().join("s.db"), SqliteOptions::default()).await.unwrap();
            differential::check(Arc::new(store), &case).await;
        });
    }
}
