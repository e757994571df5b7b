//! Qualified names: `DOMAIN/name` in a userName or a group's displayName picks the domain
//! (DESIGN.md, The path of a request, step 5), and the filters that follow from it.
//!
//! A secondary domain keeps the name without its prefix (`kim` in the LDAP entry); SCIM sees it
//! with the prefix (`LDAP/kim`), as it was written. So a comparison on the name, sent to a
//! secondary domain, is rewritten into an exactly equivalent one on the stored name: the SCIM
//! name is `P + s`, with `P` the domain's prefix (`LDAP/`, compared without regard to case like
//! the name itself) and `s` the stored name.

use scimd_claims::claims::{GROUP_DISPLAY_NAME, USER_NAME};
use scimd_claims::filter::{ClaimFilter, ClaimPath};
use scimd_core::ResourceKind;
use scimd_core::filter::{CompValue, CompareOp};

/// The claim whose value is the routed name of a resource of `kind`.
pub fn name_claim(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => USER_NAME,
        ResourceKind::Group => GROUP_DISPLAY_NAME,
    }
}

/// Splits `DOMAIN/rest` when `DOMAIN` is one of `domains` (without regard to case): the index
/// of the domain and the rest.
pub fn split<'n>(name: &'n str, domains: &[&str]) -> Option<(usize, &'n str)> {
    let (prefix, rest) = name.split_once('/')?;
    domains.iter().position(|d| d.eq_ignore_ascii_case(prefix)).map(|i| (i, rest))
}

/// The folding the name comparisons use (userName and displayName are not caseExact).
fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// Never matches.
pub fn never() -> ClaimFilter {
    ClaimFilter::Or(Vec::new())
}

/// Always matches.
pub fn always() -> ClaimFilter {
    ClaimFilter::And(Vec::new())
}

/// `filter` with the constant parts folded: an AND with a part that never matches never
/// matches, an OR of parts that never match never matches, and so on. A domain whose filter
/// folds to [`never()`] is not asked at all.
pub fn simplify(filter: ClaimFilter) -> ClaimFilter {
    let is_never = |f: &ClaimFilter| matches!(f, ClaimFilter::Or(p) if p.is_empty());
    let is_always = |f: &ClaimFilter| matches!(f, ClaimFilter::And(p) if p.is_empty());
    match filter {
        ClaimFilter::And(parts) => {
            let parts: Vec<ClaimFilter> = parts.into_iter().map(simplify).filter(|p| !is_always(p)).collect();
            if parts.iter().any(is_never) {
                never()
            } else if parts.len() == 1 {
                parts.into_iter().next().unwrap_or_else(always)
            } else {
                ClaimFilter::And(parts)
            }
        }
        ClaimFilter::Or(parts) => {
            let parts: Vec<ClaimFilter> = parts.into_iter().map(simplify).filter(|p| !is_never(p)).collect();
            if parts.iter().any(is_always) {
                always()
            } else if parts.len() == 1 {
                parts.into_iter().next().unwrap_or_else(never)
            } else {
                ClaimFilter::Or(parts)
            }
        }
        ClaimFilter::Not(inner) => match simplify(*inner) {
            f if is_never(&f) => always(),
            f if is_always(&f) => never(),
            f => ClaimFilter::Not(Box::new(f)),
        },
        other => other,
    }
}

/// Whether a (simplified) filter never matches.
pub fn is_never(filter: &ClaimFilter) -> bool {
    matches!(filter, ClaimFilter::Or(p) if p.is_empty())
}

/// Rewrites `filter` for the secondary domain whose prefix is `prefix` (`LDAP/`): every
/// comparison on the name claim of `kind` becomes one on the stored name, exactly equivalent.
pub fn for_domain(filter: &ClaimFilter, kind: ResourceKind, prefix: &str) -> ClaimFilter {
    let claim = name_claim(kind);
    match filter {
        ClaimFilter::And(parts) => {
            ClaimFilter::And(parts.iter().map(|p| for_domain(p, kind, prefix)).collect())
        }
        ClaimFilter::Or(parts) => {
            ClaimFilter::Or(parts.iter().map(|p| for_domain(p, kind, prefix)).collect())
        }
        ClaimFilter::Not(inner) => ClaimFilter::Not(Box::new(for_domain(inner, kind, prefix))),
        ClaimFilter::Eq { claim: c, value, case_exact } if c == claim => {
            match strip_prefix_ci(value, prefix) {
                Some(rest) => {
                    ClaimFilter::Eq { claim: c.clone(), value: rest.to_owned(), case_exact: *case_exact }
                }
                None => never(),
            }
        }
        ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: c, sub: None },
            op,
            value: CompValue::Str(v),
            ..
        } if c == claim => {
            let stored = |op: CompareOp, v: &str| match filter {
                ClaimFilter::Compare { path, attr_type, case_exact, .. } => ClaimFilter::Compare {
                    path: path.clone(),
                    op,
                    value: CompValue::Str(v.to_owned()),
                    attr_type: *attr_type,
                    case_exact: *case_exact,
                },
                _ => never(),
            };
            compare(*op, v, prefix, &stored)
        }
        other => other.clone(),
    }
}

fn strip_prefix_ci<'v>(value: &'v str, prefix: &str) -> Option<&'v str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &value[prefix.len()..])
}

/// `P + s  op  v` as a filter on `s` (`stored(op, w)` is `s op w`).
fn compare(
    op: CompareOp,
    v: &str,
    prefix: &str,
    stored: &dyn Fn(CompareOp, &str) -> ClaimFilter,
) -> ClaimFilter {
    let present = || stored(CompareOp::Sw, "");
    match op {
        CompareOp::Eq => strip_prefix_ci(v, prefix).map_or_else(never, |rest| stored(CompareOp::Eq, rest)),
        CompareOp::Ne => match strip_prefix_ci(v, prefix) {
            Some(rest) => stored(CompareOp::Ne, rest),
            None => present(),
        },
        CompareOp::Sw => match strip_prefix_ci(v, prefix) {
            Some(rest) => stored(CompareOp::Sw, rest),
            // `v` is a start of the prefix itself: every name of the domain starts with it.
            None if fold(prefix).starts_with(&fold(v)) => present(),
            None => never(),
        },
        CompareOp::Ew | CompareOp::Co => {
            // The prefix ends with its only '/'. A match that spans it aligns that '/' with the
            // first '/' of `v`: `v = a + "/" + b` with `a` an end of the domain name and `s`
            // starting (co) or being (ew) `b`. Any other match lies wholly in `s` or, for `co`
            // without '/', wholly in the prefix.
            let within = stored(op, v);
            let domain_name = &prefix[..prefix.len() - 1];
            let spanning = match v.split_once('/') {
                Some((a, b)) if fold(domain_name).ends_with(&fold(a)) => {
                    Some(stored(if op == CompareOp::Co { CompareOp::Sw } else { CompareOp::Eq }, b))
                }
                Some(_) => None,
                None if op == CompareOp::Co && fold(domain_name).contains(&fold(v)) => Some(present()),
                None => None,
            };
            match spanning {
                Some(s) => ClaimFilter::Or(vec![within, s]),
                None => within,
            }
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            // Compare the prefix with the start of `v`; only where they agree does `s` decide.
            let (fp, fv) = (fold(prefix), fold(v));
            if let Some(rest) = strip_prefix_ci(v, prefix) {
                return stored(op, rest);
            }
            let n = fp.len().min(fv.len());
            let (p_head, v_head) = (&fp.as_bytes()[..n], &fv.as_bytes()[..n]);
            // `P + s` is greater than `v` when its start is greater, or when `v` is a proper
            // start of the prefix.
            let greater = p_head > v_head || (p_head == v_head && fv.len() < fp.len());
            match (op, greater) {
                (CompareOp::Gt | CompareOp::Ge, true) | (CompareOp::Lt | CompareOp::Le, false) => present(),
                _ => never(),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;
    use scimd_core::schema::AttrType;

    fn cmp(op: CompareOp, v: &str) -> ClaimFilter {
        ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
            op,
            value: CompValue::Str(v.into()),
            attr_type: AttrType::String,
            case_exact: false,
        }
    }

    /// The reference: does `P + s op v` hold (RFC 7644 §3.4.2.2, strings without regard to case)?
    fn holds(op: CompareOp, full: &str, v: &str) -> bool {
        let (f, v) = (fold(full), fold(v));
        match op {
            CompareOp::Eq => f == v,
            CompareOp::Ne => f != v,
            CompareOp::Co => f.contains(&v),
            CompareOp::Sw => f.starts_with(&v),
            CompareOp::Ew => f.ends_with(&v),
            CompareOp::Gt => f > v,
            CompareOp::Ge => f >= v,
            CompareOp::Lt => f < v,
            CompareOp::Le => f <= v,
        }
    }

    /// Evaluates a rewritten filter on the stored name `s` alone.
    fn eval(f: &ClaimFilter, s: &str) -> bool {
        match f {
            ClaimFilter::And(p) => p.iter().all(|x| eval(x, s)),
            ClaimFilter::Or(p) => p.iter().any(|x| eval(x, s)),
            ClaimFilter::Not(x) => !eval(x, s),
            ClaimFilter::Compare { op, value: CompValue::Str(v), .. } => holds(*op, s, v),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn name_comparisons_rewritten_for_a_domain_agree_with_the_full_name() {
        let ops = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        let stored = ["kim", "Kim/x", "", "ap/k", "zed", "a"];
        let values = [
            "LDAP/kim",
            "ldap/KIM",
            "kim",
            "LD",
            "ldap",
            "LDAP/",
            "AP/k",
            "P/kim",
            "DA",
            "/",
            "x",
            "P/",
            "LDAQ",
            "LDAO/zzz",
            "",
            "m",
            "Z",
            "ap/k",
            "LDAP/ap/k",
            "p/ap",
        ];
        for op in ops {
            for s in stored {
                for v in values {
                    let rewritten = for_domain(&cmp(op, v), ResourceKind::User, "LDAP/");
                    assert_eq!(
                        eval(&rewritten, s),
                        holds(op, &format!("LDAP/{s}"), v),
                        "LDAP/{s} {op:?} {v:?} via {rewritten:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn constant_parts_fold_away() {
        let eq = || cmp(CompareOp::Eq, "x");
        assert!(is_never(&simplify(ClaimFilter::And(vec![eq(), never()]))));
        assert_eq!(simplify(ClaimFilter::Or(vec![never(), eq()])), eq());
        assert_eq!(simplify(ClaimFilter::Not(Box::new(never()))), always());
        assert!(is_never(&simplify(ClaimFilter::Not(Box::new(ClaimFilter::Or(vec![always(), eq()]))))));
        assert_eq!(simplify(ClaimFilter::And(vec![always(), eq()])), eq());
    }

    #[test]
    fn split_finds_known_domains_only() {
        assert_eq!(split("ldap/kim", &["LDAP", "PG"]), Some((0, "kim")));
        assert_eq!(split("PG/a/b", &["LDAP", "PG"]), Some((1, "a/b")));
        assert_eq!(split("other/kim", &["LDAP"]), None);
        assert_eq!(split("kim", &["LDAP"]), None);
    }
}
