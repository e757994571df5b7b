//! The store-neutral filter over local claims, and the rewrite of a SCIM filter into it.
//!
//! A SCIM filter is parsed once (`scimd_core::filter`), then rewritten here into a
//! [`ClaimFilter`] that every store compiles into its own query, plus a residual: the part no
//! store is asked to answer, which the server evaluates in memory on the store's candidates.

use crate::dialect::DialectMapping;
use scimd_core::filter::{CompValue, CompareOp, Filter};
use scimd_core::{ResourceKind, SchemaRegistry};

/// A filter over local claims that a store answers exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimFilter {
    /// Every resource of the kind.
    All,
    /// The claim's value equals `value`; without regard to case unless `case_exact`.
    Eq { claim: String, value: String, case_exact: bool },
    /// Every filter holds.
    And(Vec<ClaimFilter>),
    /// At least one filter holds.
    Or(Vec<ClaimFilter>),
}

/// A SCIM filter split into what stores answer and what is left for the in-memory evaluator.
#[derive(Debug, Clone)]
pub struct Rewritten {
    /// What the store answers: a superset of the matches when `residual` is set, exactly the
    /// matches otherwise.
    pub store: ClaimFilter,
    /// What must still hold, evaluated in memory on the store's candidates.
    pub residual: Option<Filter>,
}

/// Rewrites a checked SCIM filter for a resource kind.
pub fn rewrite(
    filter: &Filter,
    kind: ResourceKind,
    registry: &SchemaRegistry,
    mapping: &DialectMapping,
) -> Rewritten {
    match exact(filter, kind, registry, mapping) {
        Some(store) => Rewritten { store, residual: None },
        None => match filter {
            // An AND keeps whatever side the store can answer; the rest is the residual.
            Filter::And(a, b) => {
                let (ra, rb) = (rewrite(a, kind, registry, mapping), rewrite(b, kind, registry, mapping));
                let store = match (ra.store, rb.store) {
                    (ClaimFilter::All, s) | (s, ClaimFilter::All) => s,
                    (x, y) => ClaimFilter::And(vec![x, y]),
                };
                let residual = match (ra.residual, rb.residual) {
                    (None, None) => None,
                    (Some(r), None) | (None, Some(r)) => Some(r),
                    (Some(x), Some(y)) => Some(Filter::And(Box::new(x), Box::new(y))),
                };
                Rewritten { store, residual }
            }
            _ => Rewritten { store: ClaimFilter::All, residual: Some(filter.clone()) },
        },
    }
}

/// The exact claim filter of a SCIM filter, if the whole of it can be said over claims.
fn exact(
    filter: &Filter,
    kind: ResourceKind,
    registry: &SchemaRegistry,
    mapping: &DialectMapping,
) -> Option<ClaimFilter> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::Str(value), .. } => {
            let resolved = registry.resolve(kind, path).ok()?;
            if resolved.attr.multi_valued || resolved.sub.is_some() {
                return None;
            }
            let extension = resolved.is_extension.then_some(resolved.schema.id.as_str());
            let claim = if resolved.attr.name == "id" {
                crate::claims::ID
            } else {
                mapping.local_claim_of(kind, extension, &resolved.attr.name, None)?
            };
            if !crate::claims::INDEXED.contains(&claim) {
                return None;
            }
            Some(ClaimFilter::Eq {
                claim: claim.to_string(),
                value: value.clone(),
                case_exact: resolved.attr.is_case_exact(),
            })
        }
        Filter::And(a, b) => Some(ClaimFilter::And(vec![
            exact(a, kind, registry, mapping)?,
            exact(b, kind, registry, mapping)?,
        ])),
        Filter::Or(a, b) => Some(ClaimFilter::Or(vec![
            exact(a, kind, registry, mapping)?,
            exact(b, kind, registry, mapping)?,
        ])),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::claims::{EXTERNAL_ID, GROUP_DISPLAY_NAME, USER_NAME};
    use scimd_core::filter::parse_filter;

    fn rw(kind: ResourceKind, text: &str) -> Rewritten {
        let reg = SchemaRegistry::builtin().unwrap();
        let map = DialectMapping::builtin().unwrap();
        let f = parse_filter(text).unwrap();
        scimd_core::filter::check(&f, &reg, kind).unwrap();
        rewrite(&f, kind, &reg, &map)
    }

    fn eq(claim: &str, value: &str, case_exact: bool) -> ClaimFilter {
        ClaimFilter::Eq { claim: claim.into(), value: value.into(), case_exact }
    }

    /// RFC 7643 §4.1.1 userName is caseExact false; §3.1 externalId is caseExact true.
    #[test]
    fn indexed_equalities_go_to_the_store_whole() {
        let r = rw(ResourceKind::User, "userName eq \"bjensen\"");
        assert_eq!(r.store, eq(USER_NAME, "bjensen", false));
        assert!(r.residual.is_none());
        let r = rw(ResourceKind::User, "externalId eq \"x\" or USERNAME eq \"b\"");
        assert_eq!(r.store, ClaimFilter::Or(vec![eq(EXTERNAL_ID, "x", true), eq(USER_NAME, "b", false)]));
        let r = rw(ResourceKind::Group, "displayName eq \"Admins\"");
        assert_eq!(r.store, eq(GROUP_DISPLAY_NAME, "Admins", false));
    }

    #[test]
    fn an_and_keeps_the_indexed_side_and_leaves_the_rest_as_residual() {
        let r = rw(ResourceKind::User, "userName eq \"b\" and title pr");
        assert_eq!(r.store, eq(USER_NAME, "b", false));
        assert_eq!(r.residual.unwrap().to_string(), "title pr");
    }

    #[test]
    fn what_the_store_cannot_answer_is_all_residual() {
        let r = rw(ResourceKind::User, "title pr");
        assert_eq!(r.store, ClaimFilter::All);
        assert!(r.residual.is_some());
        let r = rw(ResourceKind::User, "userName eq \"b\" or title pr");
        assert_eq!(r.store, ClaimFilter::All);
        assert!(r.residual.is_some());
        let r = rw(ResourceKind::User, "not (userName eq \"b\")");
        assert_eq!(r.store, ClaimFilter::All);
    }
}
