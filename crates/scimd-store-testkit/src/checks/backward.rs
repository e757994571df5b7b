//! Backward keyset pages (RFC 9865 §2.2 `previousCursor`): the last `limit` matches before a
//! position, in the query's order, for every order a query can have (RFC 7644 §3.4.2.3: no
//! value last ascending, first descending, ties in creation order).

use std::sync::Arc;

use scimd_claims::ClaimPath;
use scimd_claims::claims::USER_NAME;
use scimd_core::schema::AttrType;
use scimd_store::{Before, ClaimFilter, Keyset, SortKey, StoreError, StoreQuery, UserStore};
use serde_json::json;

use super::query::{by_display, seed_displays};
use crate::fixtures::*;

fn page_ids(page: &scimd_store::Page) -> Vec<String> {
    page.items.iter().map(|r| r.id.clone()).collect()
}

/// Asserts what a backward page is, for `query` on a store already seeded: before each
/// position of the full order (and before its end), a page of `limit` is the slice of the full
/// order that ends there, with the same keys, and `total` counts every match; a backward walk
/// from the end, each page before the first position of the last, visits every match exactly
/// once, in reverse page order; and the page before each page of a forward walk is the forward
/// page before it. Any store, the domain router included.
pub async fn assert_backward_pages(store: &dyn UserStore, query: &StoreQuery) {
    let base = StoreQuery { offset: 0, after: None, before: None, ..query.clone() };
    let full = store.query(&StoreQuery { limit: 10_000, ..base.clone() }).await.unwrap();
    let n = full.items.len();
    assert_eq!(full.total as usize, n);
    assert!(n >= 3, "a query with few matches proves little: {n}");
    let ids = page_ids(&full);

    for j in 0..=n {
        let before = if j == n { Before::End } else { Before::Position(full.keys[j].clone()) };
        for limit in [1, 2, 3, n + 1] {
            let q = StoreQuery { limit: limit as u64, before: Some(before.clone()), ..base.clone() };
            let page = store.query(&q).await.unwrap();
            let from = j.saturating_sub(limit);
            assert_eq!(page_ids(&page), ids[from..j], "{before:?}, limit {limit}, sort {:?}", base.sort);
            assert_eq!(page.keys, full.keys[from..j], "{before:?}, limit {limit}");
            assert_eq!(page.total as usize, n, "total counts every match");
        }
    }

    // Backward from the end.
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut before = Before::End;
    loop {
        let q = StoreQuery { limit: 2, before: Some(before), ..base.clone() };
        let page = store.query(&q).await.unwrap();
        let Some(first) = page.keys.first() else { break };
        before = Before::Position(first.clone());
        pages.push(page_ids(&page));
        assert!(pages.len() <= n, "the backward walk does not end: {pages:?}");
    }
    pages.reverse();
    assert_eq!(pages.concat(), ids, "every match once, sort {:?}", base.sort);
    assert!(pages.iter().skip(1).all(|p| p.len() == 2), "only the first page may be short: {pages:?}");

    // Forward pages of 3, then back from each: the forward page before it.
    let mut forward: Vec<(Vec<String>, Keyset)> = Vec::new();
    let mut after: Option<Keyset> = None;
    loop {
        let page = store.query(&StoreQuery { limit: 3, after, ..base.clone() }).await.unwrap();
        let (Some(first), Some(last)) = (page.keys.first().cloned(), page.keys.last().cloned()) else {
            break;
        };
        after = Some(last);
        forward.push((page_ids(&page), first));
    }
    for pair in forward.windows(2) {
        let q = StoreQuery { limit: 3, before: Some(Before::Position(pair[1].1.clone())), ..base.clone() };
        assert_eq!(page_ids(&store.query(&q).await.unwrap()), pair[0].0);
    }
}

/// RFC 9865 §2.2 with RFC 7644 §3.4.2.3: backward pages of sorted queries (ascending,
/// descending; text with ties and resources without a value; numbers) and of unsorted ones
/// (creation order), with and without a filter, are slices of the forward order.
pub async fn backward_pages_are_slices_of_the_forward_order(store: Arc<dyn UserStore>) {
    seed_displays(&*store).await;
    for (i, level) in [Some(3), Some(1), None, Some(1)].into_iter().enumerate() {
        let mut u = new_user(&format!("l{i}"), &format!("l{i}"));
        if let Some(level) = level {
            u.claims.insert("urn:scimd:claims:level", json!(level));
        }
        store.create(u).await.unwrap();
    }
    let by_level = |descending| {
        Some(SortKey {
            path: ClaimPath::Claim { claim: "urn:scimd:claims:level".into(), sub: None },
            descending,
            attr_type: AttrType::Integer,
            case_exact: false,
        })
    };
    let sorts = [None, by_display(false), by_display(true), by_level(false), by_level(true)];
    for sort in sorts {
        for filter in [ClaimFilter::All, ClaimFilter::Not(Box::new(eq(USER_NAME, "user3")))] {
            assert_backward_pages(&*store, &StoreQuery { sort: sort.clone(), ..users(filter) }).await;
        }
    }
    // Groups have their own creation order.
    for i in 0..3 {
        store.create(new_group(&format!("g{i}"), &format!("group{i}"), &[])).await.unwrap();
    }
    assert_backward_pages(&*store, &groups(ClaimFilter::All)).await;
}

/// A backward page before the first match is empty, its total still counts every match; a
/// query after and before a position at once is refused.
pub async fn backward_page_before_the_first_match_is_empty(store: Arc<dyn UserStore>) {
    seed_displays(&*store).await;
    for sort in [None, by_display(false), by_display(true)] {
        let q = StoreQuery { sort, ..users(ClaimFilter::All) };
        let first = store.query(&StoreQuery { limit: 1, ..q.clone() }).await.unwrap().keys[0].clone();
        let before = StoreQuery { before: Some(Before::Position(first.clone())), ..q.clone() };
        let page = store.query(&before).await.unwrap();
        assert_eq!((page.total, page.items.len()), (7, 0), "{:?}", q.sort);
        let both = StoreQuery { after: Some(first), ..before };
        assert!(matches!(store.query(&both).await, Err(StoreError::Unsupported(_))));
    }
}
