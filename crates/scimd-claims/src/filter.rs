//! The store-neutral filter over local claims, and the rewrite of a SCIM filter into it.
//!
//! A SCIM filter is parsed once (`scimd_core::filter`), then rewritten here into a
//! [`ClaimFilter`] that every store compiles into its own query, plus a residual: the part no
//! store is asked to answer, which the server evaluates in memory on the store's candidates.
//!
//! # What a claim filter says
//! A [`ClaimFilter`] can say everything a SCIM filter says about mapped attributes, with the
//! semantics of the in-memory evaluator (`scimd_core::filter::evaluate`), which every store must
//! reproduce exactly:
//! - a [`ClaimPath`] reads a set of values: a claim (the elements of a list, nothing for a
//!   missing claim), a sub-attribute of each element of a claim holding complex values
//!   (`emails` → `value`), a column the store keeps itself (`id`, `meta.created`,
//!   `meta.lastModified`), or a field of a group's members;
//! - [`ClaimFilter::Compare`] matches if some value matches; `ne` matches if there is no value
//!   or some value is not equal; `eq null` matches if no value is present, `ne null` if one is;
//! - strings compare without regard to case unless `case_exact`; dateTimes as instants;
//!   numbers numerically; booleans with `eq` only; a value of another type never matches;
//! - [`ClaimFilter::Present`]: some value is not null, `""`, `[]` or an object of such;
//! - [`ClaimFilter::ElementMatch`]: one and the same element satisfies the inner filter, whose
//!   paths are [`ClaimPath::Element`] (or [`ClaimPath::Member`] for members).
//!
//! What cannot be said (the derived `groups` of a user, `schemas`, `meta.location`,
//! `meta.version`, `meta.resourceType`, a value filter on a singular complex attribute, an
//! attribute without a claim mapping) stays in the residual.

use crate::dialect::DialectMapping;
use scimd_core::filter::{CompValue, CompareOp, Filter};
use scimd_core::schema::{AttrType, AttributeDef};
use scimd_core::{AttrPath, ResourceKind, SchemaRegistry};

/// A filter over local claims that a store answers exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimFilter {
    /// Every resource of the kind.
    All,
    /// The claim's value (or one of its values) is the string `value`; without regard to case
    /// unless `case_exact`. Kept for callers that build filters by hand; [`rewrite`] produces
    /// [`ClaimFilter::Compare`].
    Eq { claim: String, value: String, case_exact: bool },
    /// Some value read by `path` compares with `value` by `op` (see the module docs for `ne`
    /// and `null`).
    Compare { path: ClaimPath, op: CompareOp, value: CompValue, attr_type: AttrType, case_exact: bool },
    /// Some value read by `path` is present (RFC 7644 §3.4.2.2 `pr`).
    Present { path: ClaimPath },
    /// Every filter holds.
    And(Vec<ClaimFilter>),
    /// At least one filter holds.
    Or(Vec<ClaimFilter>),
    /// The filter does not hold.
    Not(Box<ClaimFilter>),
    /// One element of the collection satisfies `filter` (a SCIM value path, `emails[...]`).
    ElementMatch { of: Collection, filter: Box<ClaimFilter> },
}

impl ClaimFilter {
    /// Whether the filter's matches are all found by index lookups: the filter is a comparison
    /// `indexed` says an index answers, an AND with one such part, or an OR of parts that each
    /// are. Each store says which comparisons its indexes answer; the structure is common.
    pub fn narrowed_by(&self, indexed: &dyn Fn(&ClaimFilter) -> bool) -> bool {
        match self {
            ClaimFilter::And(parts) => parts.iter().any(|p| p.narrowed_by(indexed)),
            ClaimFilter::Or(parts) => !parts.is_empty() && parts.iter().all(|p| p.narrowed_by(indexed)),
            leaf => indexed(leaf),
        }
    }

    /// Inside a value path (`emails[...]`): the string this filter requires the element's
    /// string sub-attribute `sub` to equal (`sub eq "…"` alone, or one part of an AND), which an
    /// index on that sub-attribute narrows by.
    pub fn required_element_eq(&self, sub: &str) -> Option<&str> {
        match self {
            ClaimFilter::Compare {
                path: ClaimPath::Element { sub: s },
                op: CompareOp::Eq,
                value: CompValue::Str(v),
                attr_type: AttrType::String,
                ..
            } if s == sub => Some(v),
            ClaimFilter::And(parts) => parts.iter().find_map(|p| p.required_element_eq(sub)),
            _ => None,
        }
    }
}

/// What a comparison reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimPath {
    /// A claim's values; with `sub`, the sub-attribute `sub` of each complex value of it.
    Claim { claim: String, sub: Option<String> },
    /// Inside [`ClaimFilter::ElementMatch`] over a claim: the element's sub-attribute.
    Element { sub: String },
    /// A column the store keeps itself.
    Column(Column),
    /// A field of a group's members; inside [`ClaimFilter::ElementMatch`] over
    /// [`Collection::Members`], the field of the member at hand.
    Member(MemberField),
}

/// The resource attributes a store keeps as its own columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `id` (caseExact).
    Id,
    /// `meta.created`.
    Created,
    /// `meta.lastModified`.
    LastModified,
}

/// A field of a member of a group (RFC 7643 §4.2 `members`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberField {
    /// `members.value`: the member's id.
    Value,
    /// `members.display`, as written by the client.
    Display,
    /// `members.type`: `User` or `Group`.
    Type,
}

/// The elements an [`ClaimFilter::ElementMatch`] ranges over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collection {
    /// The complex values of a claim (`emails`).
    Claim(String),
    /// The members of a group.
    Members,
}

/// A sort key (RFC 7644 §3.4.2.3): what to sort by and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// The values sorted by; for a multi-valued path, the primary (else the first) one.
    pub path: ClaimPath,
    pub attr_type: AttrType,
    pub case_exact: bool,
    pub descending: bool,
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
    let cx = Cx { kind, registry, mapping };
    match cx.exact(filter) {
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

/// The sort key of a `sortBy` path (RFC 7644 §3.4.2.3), if the stores can sort by it: a
/// singular attribute, a sub-attribute of a singular complex one, or a multi-valued one
/// (sorted by its primary, else first, value; `value` when no sub-attribute is named).
pub fn sort_key(
    path: &AttrPath,
    descending: bool,
    kind: ResourceKind,
    registry: &SchemaRegistry,
    mapping: &DialectMapping,
) -> Option<SortKey> {
    let cx = Cx { kind, registry, mapping };
    let resolved = registry.resolve(kind, path).ok()?;
    let (claim_path, leaf) = cx.compare_path(&resolved)?;
    Some(SortKey { path: claim_path, attr_type: leaf.attr_type, case_exact: leaf.case_exact, descending })
}

/// The type and case-exactness of the values a path reads (as the evaluator's `Leaf`).
#[derive(Clone, Copy)]
struct Leaf {
    attr_type: AttrType,
    case_exact: bool,
}

impl Leaf {
    fn of(def: &AttributeDef) -> Leaf {
        // Binary values are base64 text: compared exactly (RFC 7643 §2.3.6).
        Leaf {
            attr_type: def.attr_type,
            case_exact: def.is_case_exact() || def.attr_type == AttrType::Binary,
        }
    }
}

struct Cx<'a> {
    kind: ResourceKind,
    registry: &'a SchemaRegistry,
    mapping: &'a DialectMapping,
}

impl Cx<'_> {
    /// The exact claim filter of a SCIM filter, if the whole of it can be said over claims.
    fn exact(&self, filter: &Filter) -> Option<ClaimFilter> {
        match filter {
            Filter::And(a, b) => Some(ClaimFilter::And(vec![self.exact(a)?, self.exact(b)?])),
            Filter::Or(a, b) => Some(ClaimFilter::Or(vec![self.exact(a)?, self.exact(b)?])),
            Filter::Not(inner) => Some(ClaimFilter::Not(Box::new(self.exact(inner)?))),
            Filter::Compare { path, op, value, .. } => {
                let resolved = self.resolve(path)?;
                let (path, leaf) = self.compare_path(&resolved)?;
                if let ClaimPath::Column(Column::Created | Column::LastModified) = path {
                    // The rendered text of meta times is not the stored text: substrings of
                    // it are left to the evaluator.
                    if op.is_substring() {
                        return None;
                    }
                }
                Some(compare(path, *op, value, leaf))
            }
            Filter::Present { path, .. } => {
                let resolved = self.resolve(path)?;
                self.present(&resolved)
            }
            Filter::ValuePath { path, filter, .. } => {
                let resolved = self.resolve(path)?;
                let attr = resolved.attr;
                if resolved.sub.is_some() || attr.attr_type != AttrType::Complex || !attr.multi_valued {
                    return None;
                }
                let of = self.collection(&resolved)?;
                let inner = self.element(filter, attr, &of)?;
                Some(ClaimFilter::ElementMatch { of, filter: Box::new(inner) })
            }
        }
    }

    fn resolve<'r>(&'r self, path: &AttrPath) -> Option<scimd_core::registry::Resolved<'r>> {
        // `schemas` is in no schema: left to the evaluator.
        self.registry.resolve(self.kind, path).ok()
    }

    fn is_common(&self, resolved: &scimd_core::registry::Resolved<'_>) -> bool {
        !resolved.is_extension && matches!(resolved.attr.name.as_str(), "id" | "meta")
    }

    fn extension<'r>(&self, resolved: &scimd_core::registry::Resolved<'r>) -> Option<&'r str> {
        resolved.is_extension.then_some(resolved.schema.id.as_str())
    }

    /// The claim path and leaf of a comparison on a resolved path; `None`: not for stores.
    fn compare_path(&self, resolved: &scimd_core::registry::Resolved<'_>) -> Option<(ClaimPath, Leaf)> {
        let attr = resolved.attr;
        if self.is_common(resolved) {
            return match (attr.name.as_str(), resolved.sub.map(|s| s.name.as_str())) {
                ("id", None) => Some((ClaimPath::Column(Column::Id), Leaf::of(attr))),
                ("meta", Some(sub)) => {
                    let column = match sub {
                        "created" => Column::Created,
                        "lastModified" => Column::LastModified,
                        _ => return None,
                    };
                    Some((ClaimPath::Column(column), Leaf::of(resolved.sub?)))
                }
                _ => None,
            };
        }
        if self.kind == ResourceKind::Group && !resolved.is_extension && attr.name == "members" {
            let sub = match resolved.sub {
                Some(sub) => sub,
                None => attr.sub_attribute("value")?,
            };
            return Some((ClaimPath::Member(member_field(&sub.name)?), Leaf::of(sub)));
        }
        if self.kind == ResourceKind::User && !resolved.is_extension && attr.name == "groups" {
            return None;
        }
        let ext = self.extension(resolved);
        match (attr.attr_type, attr.multi_valued, resolved.sub) {
            (AttrType::Complex, true, sub) => {
                let sub = match sub {
                    Some(sub) => sub,
                    None => attr.sub_attribute("value")?,
                };
                if sub.attr_type == AttrType::Complex {
                    return None;
                }
                let claim = self.mapping.local_claim_of(self.kind, ext, &attr.name, None)?;
                Some((
                    ClaimPath::Claim { claim: claim.to_owned(), sub: Some(sub.name.clone()) },
                    Leaf::of(sub),
                ))
            }
            (AttrType::Complex, false, Some(sub)) => {
                if sub.attr_type == AttrType::Complex {
                    return None;
                }
                let path = match self.mapping.local_claim_of(self.kind, ext, &attr.name, Some(&sub.name)) {
                    Some(claim) => ClaimPath::Claim { claim: claim.to_owned(), sub: None },
                    None => {
                        let claim = self.mapping.local_claim_of(self.kind, ext, &attr.name, None)?;
                        ClaimPath::Claim { claim: claim.to_owned(), sub: Some(sub.name.clone()) }
                    }
                };
                Some((path, Leaf::of(sub)))
            }
            (AttrType::Complex, false, None) => None,
            (_, _, None) => {
                let claim = self.mapping.local_claim_of(self.kind, ext, &attr.name, None)?;
                Some((ClaimPath::Claim { claim: claim.to_owned(), sub: None }, Leaf::of(attr)))
            }
            (_, _, Some(_)) => None,
        }
    }

    /// `attr pr` on a resolved path.
    fn present(&self, resolved: &scimd_core::registry::Resolved<'_>) -> Option<ClaimFilter> {
        let attr = resolved.attr;
        if self.is_common(resolved) {
            let (path, _) = self.compare_path(resolved)?;
            return Some(ClaimFilter::Present { path });
        }
        if self.kind == ResourceKind::Group && !resolved.is_extension && attr.name == "members" {
            return match resolved.sub {
                // Every member has an id: `members pr` is "has a member".
                None => Some(ClaimFilter::Present { path: ClaimPath::Member(MemberField::Value) }),
                Some(_) => {
                    let (path, _) = self.compare_path(resolved)?;
                    Some(ClaimFilter::Present { path })
                }
            };
        }
        let ext = self.extension(resolved);
        match (attr.attr_type, attr.multi_valued, resolved.sub) {
            (AttrType::Complex, true, None) => {
                let claim = self.mapping.local_claim_of(self.kind, ext, &attr.name, None)?;
                Some(ClaimFilter::Present { path: ClaimPath::Claim { claim: claim.to_owned(), sub: None } })
            }
            (AttrType::Complex, false, None) => {
                // A singular complex attribute: mapped whole, or one claim per sub-attribute.
                if let Some(claim) = self.mapping.local_claim_of(self.kind, ext, &attr.name, None) {
                    return Some(ClaimFilter::Present {
                        path: ClaimPath::Claim { claim: claim.to_owned(), sub: None },
                    });
                }
                let mut any = Vec::new();
                for sub in &attr.sub_attributes {
                    let claim = self.mapping.local_claim_of(self.kind, ext, &attr.name, Some(&sub.name))?;
                    any.push(ClaimFilter::Present {
                        path: ClaimPath::Claim { claim: claim.to_owned(), sub: None },
                    });
                }
                Some(ClaimFilter::Or(any))
            }
            _ => {
                let (path, _) = self.compare_path(resolved)?;
                Some(ClaimFilter::Present { path })
            }
        }
    }

    fn collection(&self, resolved: &scimd_core::registry::Resolved<'_>) -> Option<Collection> {
        let attr = resolved.attr;
        if self.kind == ResourceKind::Group && !resolved.is_extension && attr.name == "members" {
            return Some(Collection::Members);
        }
        if self.is_common(resolved) || (self.kind == ResourceKind::User && attr.name == "groups") {
            return None;
        }
        let claim = self.mapping.local_claim_of(self.kind, self.extension(resolved), &attr.name, None)?;
        Some(Collection::Claim(claim.to_owned()))
    }

    /// The inner filter of a value path over `parent`'s elements.
    fn element(&self, filter: &Filter, parent: &AttributeDef, of: &Collection) -> Option<ClaimFilter> {
        let path_of = |path: &AttrPath| -> Option<(ClaimPath, &AttributeDef)> {
            if path.schema.is_some() || path.sub.is_some() {
                return None;
            }
            let def = parent.sub_attribute(&path.attr)?;
            let p = match of {
                Collection::Members => ClaimPath::Member(member_field(&def.name)?),
                Collection::Claim(_) => ClaimPath::Element { sub: def.name.clone() },
            };
            Some((p, def))
        };
        match filter {
            Filter::And(a, b) => {
                Some(ClaimFilter::And(vec![self.element(a, parent, of)?, self.element(b, parent, of)?]))
            }
            Filter::Or(a, b) => {
                Some(ClaimFilter::Or(vec![self.element(a, parent, of)?, self.element(b, parent, of)?]))
            }
            Filter::Not(inner) => Some(ClaimFilter::Not(Box::new(self.element(inner, parent, of)?))),
            Filter::Present { path, .. } => {
                let (path, _) = path_of(path)?;
                Some(ClaimFilter::Present { path })
            }
            Filter::Compare { path, op, value, .. } => {
                let (path, def) = path_of(path)?;
                if def.attr_type == AttrType::Complex {
                    return None;
                }
                Some(compare(path, *op, value, Leaf::of(def)))
            }
            // The evaluator matches nothing with a nested value path (check refuses it).
            Filter::ValuePath { .. } => None,
        }
    }
}

fn member_field(sub: &str) -> Option<MemberField> {
    match sub {
        "value" => Some(MemberField::Value),
        "display" => Some(MemberField::Display),
        "type" => Some(MemberField::Type),
        _ => None,
    }
}

fn compare(path: ClaimPath, op: CompareOp, value: &CompValue, leaf: Leaf) -> ClaimFilter {
    ClaimFilter::Compare {
        path,
        op,
        value: value.clone(),
        attr_type: leaf.attr_type,
        case_exact: leaf.case_exact,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::claims::{EXTERNAL_ID, GROUP_DISPLAY_NAME, USER_NAME};
    use scimd_core::filter::parse_filter;

    #[test]
    fn narrowed_by_is_an_indexed_leaf_an_and_with_one_or_an_or_of_them() {
        let f = |text: &str| rw(ResourceKind::User, text).store;
        let user_name = |leaf: &ClaimFilter| {
            matches!(leaf, ClaimFilter::Compare { path: ClaimPath::Claim { claim, .. }, op: CompareOp::Eq, .. }
                if claim == USER_NAME)
        };
        for (text, narrowed) in [
            ("userName eq \"a\"", true),
            ("userName eq \"a\" and title co \"x\"", true),
            ("userName eq \"a\" or userName eq \"b\"", true),
            ("userName eq \"a\" or title eq \"x\"", false),
            ("not (userName eq \"a\")", false),
            ("title eq \"x\"", false),
        ] {
            assert_eq!(f(text).narrowed_by(&user_name), narrowed, "{text}");
        }
        assert!(!ClaimFilter::Or(vec![]).narrowed_by(&|_| true));
    }

    fn rw(kind: ResourceKind, text: &str) -> Rewritten {
        let reg = SchemaRegistry::builtin().unwrap();
        let map = DialectMapping::builtin().unwrap();
        let f = parse_filter(text).unwrap();
        scimd_core::filter::check(&f, &reg, kind).unwrap();
        rewrite(&f, kind, &reg, &map)
    }

    fn claim(c: &str) -> ClaimPath {
        ClaimPath::Claim { claim: c.into(), sub: None }
    }

    fn cmp(path: ClaimPath, op: CompareOp, value: &str, ty: AttrType, case_exact: bool) -> ClaimFilter {
        ClaimFilter::Compare { path, op, value: CompValue::Str(value.into()), attr_type: ty, case_exact }
    }

    /// RFC 7643 §4.1.1 userName is caseExact false; §3.1 externalId is caseExact true.
    #[test]
    fn equalities_go_to_the_store_whole_with_case_exactness() {
        let r = rw(ResourceKind::User, "userName eq \"bjensen\"");
        assert_eq!(r.store, cmp(claim(USER_NAME), CompareOp::Eq, "bjensen", AttrType::String, false));
        assert!(r.residual.is_none());
        let r = rw(ResourceKind::User, "externalId eq \"x\" or USERNAME eq \"b\"");
        assert_eq!(
            r.store,
            ClaimFilter::Or(vec![
                cmp(claim(EXTERNAL_ID), CompareOp::Eq, "x", AttrType::String, true),
                cmp(claim(USER_NAME), CompareOp::Eq, "b", AttrType::String, false),
            ])
        );
        let r = rw(ResourceKind::Group, "displayName eq \"Admins\"");
        assert_eq!(r.store, cmp(claim(GROUP_DISPLAY_NAME), CompareOp::Eq, "Admins", AttrType::String, false));
    }

    /// RFC 7644 §3.4.2.2: every operator, `not`, `pr` and value paths are pushed down.
    #[test]
    fn the_whole_grammar_over_mapped_attributes_is_pushed_down() {
        for text in [
            "title pr",
            "not (userName eq \"b\")",
            "userName eq \"b\" or title pr",
            "name.familyName sw \"J\"",
            "emails co \"example.com\"",
            "emails[type eq \"work\" and value co \"@example.com\"]",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber gt \"1\"",
            "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
            "id ne \"x\"",
            "name pr",
            "active eq true",
        ] {
            let r = rw(ResourceKind::User, text);
            assert!(r.residual.is_none(), "{text}: residual {:?}", r.residual);
        }
        let r = rw(ResourceKind::Group, "members[value eq \"u1\"] or members.display co \"k\"");
        assert!(r.residual.is_none());
    }

    /// RFC 7644 §3.4.2.2: a multi-valued complex attribute without a sub-attribute compares
    /// its `value`; a value path's inner paths name the element's sub-attributes.
    #[test]
    fn multi_valued_complex_attributes_compare_value_and_match_one_element() {
        let r = rw(ResourceKind::User, "emails co \"x\"");
        let emails = "urn:scimd:claims:emails";
        assert_eq!(
            r.store,
            cmp(
                ClaimPath::Claim { claim: emails.into(), sub: Some("value".into()) },
                CompareOp::Co,
                "x",
                AttrType::String,
                false
            )
        );
        let r = rw(ResourceKind::User, "emails[type eq \"work\"]");
        assert_eq!(
            r.store,
            ClaimFilter::ElementMatch {
                of: Collection::Claim(emails.into()),
                filter: Box::new(cmp(
                    ClaimPath::Element { sub: "type".into() },
                    CompareOp::Eq,
                    "work",
                    AttrType::String,
                    false
                )),
            }
        );
    }

    #[test]
    fn what_the_store_cannot_answer_is_residual_and_an_and_keeps_the_rest() {
        let r = rw(ResourceKind::User, "groups.value eq \"g\"");
        assert_eq!(r.store, ClaimFilter::All);
        assert!(r.residual.is_some());
        let r = rw(ResourceKind::User, "userName eq \"b\" and meta.location co \"x\"");
        assert_eq!(r.store, cmp(claim(USER_NAME), CompareOp::Eq, "b", AttrType::String, false));
        assert_eq!(r.residual.unwrap().to_string(), "meta.location co \"x\"");
        let r = rw(ResourceKind::User, "userName eq \"b\" or groups pr");
        assert_eq!(r.store, ClaimFilter::All);
        assert!(r.residual.is_some());
    }

    /// RFC 7644 §3.4.2.3: sortBy on a multi-valued attribute sorts by its (primary) value.
    #[test]
    fn sort_keys_name_claims_and_refuse_what_stores_cannot_sort() {
        let reg = SchemaRegistry::builtin().unwrap();
        let map = DialectMapping::builtin().unwrap();
        let key = |p: &str| sort_key(&AttrPath::parse(p).unwrap(), false, ResourceKind::User, &reg, &map);
        assert_eq!(key("userName").unwrap().path, claim(USER_NAME));
        assert_eq!(
            key("emails").unwrap().path,
            ClaimPath::Claim { claim: "urn:scimd:claims:emails".into(), sub: Some("value".into()) }
        );
        assert_eq!(key("meta.created").unwrap().path, ClaimPath::Column(Column::Created));
        assert!(key("name").is_none());
        assert!(key("groups").is_none());
    }
}
