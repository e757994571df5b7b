//! One order over several domains: merging their pages, and positions (keysets) that say which
//! domain a resource came from.
//!
//! Each store orders its page by `(sort key, seq)` (RFC 7644 §3.4.2.3: no value last ascending,
//! first descending; ties in creation order). Across domains the router orders by
//! `(sort key, seq * DOMAINS + domain)`: for one domain that is its own order, so a domain's
//! page is a run of the merged order, and a merged position tells each domain where to resume.

use scimd_store::Keyset;
use std::cmp::Ordering;

/// How many domains a position can tell apart (PRIMARY and 63 secondaries).
pub const DOMAINS: i64 = 64;

/// The merged position of a store's `seq` in domain `domain`.
pub fn encode(seq: i64, domain: usize) -> i64 {
    seq.saturating_mul(DOMAINS).saturating_add(domain as i64)
}

/// The seq threshold for `domain` after the merged position `merged`: the domain's resources
/// with `seq * DOMAINS + domain > merged` are those with `seq > threshold`.
pub fn threshold(merged: i64, domain: usize) -> i64 {
    (merged - domain as i64).div_euclid(DOMAINS)
}

/// The seq bound for `domain` before the merged position `merged`: the domain's resources
/// with `seq * DOMAINS + domain < merged` are those with `seq < bound`.
pub fn bound_before(merged: i64, domain: usize) -> i64 {
    let rest = merged.saturating_sub(domain as i64);
    rest.div_euclid(DOMAINS).saturating_add(i64::from(rest.rem_euclid(DOMAINS) != 0))
}

/// The order of two merged positions in a query sorted `descending` (or in creation order when
/// neither has a key).
pub fn compare_positions(a: &Keyset, b: &Keyset, descending: bool) -> Ordering {
    let by_key = match (&a.key, &b.key) {
        (None, None) => Ordering::Equal,
        (Some(x), Some(y)) => x.order(y, descending),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
    };
    by_key.then(a.seq.cmp(&b.seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimd_store::SortValue;

    #[test]
    fn thresholds_resume_each_domain_after_a_merged_position() {
        // Merged order of (seq, domain): (1,0)=64 (1,1)=65 (2,0)=128 (2,1)=129.
        let merged = encode(1, 1);
        assert_eq!(threshold(merged, 0), 1, "domain 0 resumes after seq 1");
        assert_eq!(threshold(merged, 1), 1, "domain 1 resumes after seq 1");
        let merged = encode(2, 0);
        assert_eq!(threshold(merged, 0), 2);
        assert_eq!(threshold(merged, 1), 1, "domain 1's seq 2 (129) still comes after 128");
        assert_eq!(threshold(encode(0, 3), 5), -1);
    }

    #[test]
    fn bounds_end_each_domain_before_a_merged_position() {
        // Merged order of (seq, domain): (1,0)=64 (1,1)=65 (2,0)=128 (2,1)=129.
        let merged = encode(2, 0);
        assert_eq!(bound_before(merged, 0), 2, "domain 0 ends before seq 2");
        assert_eq!(bound_before(merged, 1), 2, "domain 1's seq 1 (65) comes before 128");
        let merged = encode(1, 1);
        assert_eq!(bound_before(merged, 0), 2, "domain 0's seq 1 (64) comes before 65");
        assert_eq!(bound_before(merged, 1), 1);
        assert_eq!(bound_before(i64::MIN, 5), i64::MIN.div_euclid(DOMAINS), "no overflow");
    }

    #[test]
    fn positions_order_nulls_last_ascending_and_first_descending() {
        let k = |key: Option<SortValue>, seq| Keyset { key, seq };
        let a = k(Some(SortValue::Text("a".into())), 5);
        let null = k(Some(SortValue::Null), 1);
        assert_eq!(compare_positions(&a, &null, false), Ordering::Less);
        assert_eq!(compare_positions(&a, &null, true), Ordering::Greater);
        let b = k(Some(SortValue::Text("b".into())), 0);
        assert_eq!(compare_positions(&a, &b, true), Ordering::Greater);
        let a2 = k(Some(SortValue::Text("a".into())), 7);
        assert_eq!(compare_positions(&a, &a2, true), Ordering::Less, "ties in creation order");
        assert_eq!(
            compare_positions(&k(Some(SortValue::Integer(2)), 0), &k(Some(SortValue::Real(1.5)), 0), false),
            Ordering::Greater
        );
    }
}
