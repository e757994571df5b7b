//! RFC 7644 §3.4.2.2 and §3.4.2.3: the store answers random filters from the grammar, sorted
//! by random keys, as the in-memory evaluator does (see `scimd_store_testkit::differential`).

use proptest::prelude::*;
use scimd_store_testkit::differential;

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn postgres_answers_every_filter_and_order_as_the_evaluator_does(case in differential::case()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let fresh = super::server::fresh().await;
            differential::check(fresh.store, &case).await;
        });
    }
}
