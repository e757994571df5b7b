//! The in-memory evaluator of a [`ClaimFilter`] over one resource's claims: what a store that
//! cannot say a filter exactly (a directory) runs on the candidates its own query returned.
//!
//! The semantics are those of the module docs of [`crate::filter`], which are those of the SCIM
//! evaluator (`scimd_core::filter::evaluate`) on the resource the claims render to; a property
//! test (`tests/eval_differential.rs`) holds the two to the same answers on random users and
//! filters:
//! - a [`ClaimPath`] reads a set of values: a claim's (the elements of a list, nothing for a
//!   missing claim or `null`), the sub-attribute of each complex value of a claim, a column
//!   ([`Subject::id`], [`Subject::created`], [`Subject::last_modified`]), a member field;
//! - a comparison matches if some value matches; `ne` if there is no value or some value is not
//!   equal; `eq null` if no value is present, `ne null` if one is; any other operator with
//!   `null` never matches;
//! - strings compare without regard to case (Rust's `to_lowercase`) unless `case_exact`, `gt`/
//!   `ge`/`lt`/`le` by code point; dateTimes as instants (RFC 3339, one without an offset taken
//!   as UTC), as exact text when either side is not one; numbers numerically (exactly when both
//!   are integers); booleans with `eq` only; a value of another type never matches;
//! - `pr`: some value is not null, `""`, `[]` or an object of such;
//! - [`ClaimFilter::ElementMatch`]: one and the same complex element (or member) satisfies the
//!   inner filter.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::claims::{Claims, ID};
use crate::filter::{ClaimFilter, ClaimPath, Collection, Column, MemberField};
use scimd_core::ResourceKind;
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;

/// One member of a group, as a filter sees it (RFC 7643 §4.2 `members`).
#[derive(Debug, Clone, Copy)]
pub struct SubjectMember<'a> {
    /// `members.value`: the member's id.
    pub value: &'a str,
    /// `members.type`.
    pub kind: ResourceKind,
    /// `members.display`.
    pub display: Option<&'a str>,
}

/// What a claim filter is evaluated on: one resource's claims and the columns a store keeps
/// itself.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The resource's id ([`Column::Id`]).
    pub id: &'a str,
    pub claims: &'a Claims,
    /// `meta.created` as the server renders it (RFC 3339), if known.
    pub created: Option<&'a str>,
    /// `meta.lastModified` as the server renders it (RFC 3339), if known.
    pub last_modified: Option<&'a str>,
    /// A group's members (empty for a user, or when they were not loaded).
    pub members: &'a [SubjectMember<'a>],
}

/// Whether `subject` matches `filter`.
pub fn matches(filter: &ClaimFilter, subject: &Subject<'_>) -> bool {
    eval(filter, subject, Scope::Top)
}

/// The values a path reads on `subject` at the top of the resource (for sort keys and stores
/// that need them); an element or member path reads nothing there.
pub fn values<'s>(path: &ClaimPath, subject: &Subject<'s>) -> Vec<Cow<'s, Value>> {
    read(path, subject, Scope::Top)
}

/// Where paths are read: the resource, one complex element of a claim, or one member.
#[derive(Clone, Copy)]
enum Scope<'s> {
    Top,
    Element(&'s Map<String, Value>),
    Member(&'s SubjectMember<'s>),
}

fn eval(filter: &ClaimFilter, subject: &Subject<'_>, scope: Scope<'_>) -> bool {
    match filter {
        ClaimFilter::All => true,
        ClaimFilter::And(parts) => parts.iter().all(|p| eval(p, subject, scope)),
        ClaimFilter::Or(parts) => parts.iter().any(|p| eval(p, subject, scope)),
        ClaimFilter::Not(inner) => !eval(inner, subject, scope),
        ClaimFilter::Eq { claim, value, case_exact } => eq_claim(subject, claim, value, *case_exact),
        ClaimFilter::Compare { path, op, value, attr_type, case_exact } => {
            let vals = read(path, subject, scope);
            compare_any(&vals, *op, value, *attr_type, *case_exact)
        }
        ClaimFilter::Present { path } => read(path, subject, scope).iter().any(|v| is_present(v)),
        ClaimFilter::ElementMatch { of, filter } => match of {
            Collection::Claim(claim) => flatten(subject.claims.get(claim))
                .into_iter()
                .filter_map(Value::as_object)
                .any(|element| eval(filter, subject, Scope::Element(element))),
            Collection::Members => {
                subject.members.iter().any(|member| eval(filter, subject, Scope::Member(member)))
            }
        },
    }
}

/// [`ClaimFilter::Eq`]: a string value (folded unless `case_exact`), or a boolean or number
/// whose text is `value`, as the SQL stores answer it.
fn eq_claim(subject: &Subject<'_>, claim: &str, value: &str, case_exact: bool) -> bool {
    let text_eq = |s: &str| if case_exact { s == value } else { s.to_lowercase() == value.to_lowercase() };
    if claim == ID {
        return text_eq(subject.id);
    }
    flatten(subject.claims.get(claim)).into_iter().any(|v| match v {
        Value::String(s) => text_eq(s),
        Value::Bool(b) => {
            (*b && value.eq_ignore_ascii_case("true")) || (!*b && value.eq_ignore_ascii_case("false"))
        }
        Value::Number(n) => match (n.as_i64(), value.trim().parse::<i64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => match (n.as_f64(), value.trim().parse::<f64>()) {
                (Some(a), Ok(b)) => b.is_finite() && a == b,
                _ => false,
            },
        },
        _ => false,
    })
}

fn read<'s>(path: &ClaimPath, subject: &Subject<'s>, scope: Scope<'s>) -> Vec<Cow<'s, Value>> {
    let borrowed = |vals: Vec<&'s Value>| vals.into_iter().map(Cow::Borrowed).collect();
    let text = |s: &str| Cow::Owned(Value::String(s.to_owned()));
    match path {
        ClaimPath::Claim { claim, sub: None } => borrowed(flatten(subject.claims.get(claim))),
        ClaimPath::Claim { claim, sub: Some(sub) } => borrowed(
            flatten(subject.claims.get(claim)).into_iter().flat_map(|v| sub_values(v, sub)).collect(),
        ),
        ClaimPath::Element { sub } => match scope {
            Scope::Element(element) => borrowed(flatten(get_ci(element, sub))),
            _ => Vec::new(),
        },
        ClaimPath::Column(Column::Id) => vec![text(subject.id)],
        ClaimPath::Column(Column::Created) => subject.created.map(text).into_iter().collect(),
        ClaimPath::Column(Column::LastModified) => subject.last_modified.map(text).into_iter().collect(),
        ClaimPath::Member(field) => match scope {
            Scope::Member(member) => member_value(member, *field).map(text).into_iter().collect(),
            _ => subject.members.iter().filter_map(|m| member_value(m, *field)).map(text).collect(),
        },
    }
}

fn member_value<'m>(member: &SubjectMember<'m>, field: MemberField) -> Option<&'m str> {
    match field {
        MemberField::Value => Some(member.value),
        MemberField::Display => member.display,
        MemberField::Type => Some(match member.kind {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }),
    }
}

/// The comparisons the SCIM evaluator makes, shared so that the two cannot drift apart.
pub use scimd_core::filter::{cmp_numbers, compare_value as compare, is_present};
use scimd_core::filter::{flatten, get_ci, sub_values};

fn compare_any(
    vals: &[Cow<'_, Value>],
    op: CompareOp,
    expected: &CompValue,
    ty: AttrType,
    case_exact: bool,
) -> bool {
    let vals: Vec<&Value> = vals.iter().map(|v| v.as_ref()).collect();
    scimd_core::filter::matches_values(&vals, op, expected, ty, case_exact)
}

/// An instant: seconds since 1970-01-01T00:00:00Z and nanoseconds.
pub type Instant = (i64, u32);

/// An RFC 3339 date-time as an instant, as the SCIM evaluator reads it (one without an offset
/// is taken as UTC).
pub fn parse_instant(s: &str) -> Option<Instant> {
    let t = scimd_core::filter::parse_date_time(s)?;
    Some((t.unix_timestamp(), t.nanosecond()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::claims::USER_NAME;
    use serde_json::json;

    fn subject<'a>(claims: &'a Claims, members: &'a [SubjectMember<'a>]) -> Subject<'a> {
        Subject {
            id: "u-1",
            claims,
            created: Some("2024-01-01T00:00:00Z"),
            last_modified: Some("2024-01-02T00:00:00Z"),
            members,
        }
    }

    fn cmp(path: ClaimPath, op: CompareOp, value: CompValue, ty: AttrType) -> ClaimFilter {
        ClaimFilter::Compare { path, op, value, attr_type: ty, case_exact: false }
    }

    fn claim(c: &str) -> ClaimPath {
        ClaimPath::Claim { claim: c.into(), sub: None }
    }

    /// RFC 3339 §5.6 and the `time` crate's reading of it.
    #[test]
    fn instants_parse_as_rfc_3339_with_offsets_fractions_and_leap_seconds() {
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(parse_instant("1970-01-01T01:00:00+01:00"), Some((0, 0)));
        assert_eq!(parse_instant("1970-01-01 00:00:01.5z"), Some((1, 500_000_000)));
        assert_eq!(parse_instant("2024-02-29T00:00:00"), parse_instant("2024-02-29T00:00:00Z"));
        assert_eq!(parse_instant("2016-12-31T23:59:60Z"), Some((1_483_228_799, 999_999_999)));
        assert_eq!(parse_instant("2016-12-30T23:59:60Z"), None);
        assert_eq!(parse_instant("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_instant("2024-01-01T00:00:00+24:00"), None);
        assert_eq!(parse_instant("2024-01-01T00:00:00."), None);
        assert_eq!(parse_instant("yesterday"), None);
        assert_eq!(parse_instant("2024-03-01T12:34:56Z"), Some((1_709_296_496, 0)));
    }

    /// RFC 7644 §3.4.2.2: `ne` matches a missing attribute; `eq null` one without a value.
    #[test]
    fn missing_values_match_ne_and_eq_null_only() {
        let claims = Claims::new();
        let s = subject(&claims, &[]);
        let title = || claim("urn:scimd:claims:title");
        let x = || CompValue::Str("x".into());
        assert!(matches(&cmp(title(), CompareOp::Ne, x(), AttrType::String), &s));
        assert!(!matches(&cmp(title(), CompareOp::Eq, x(), AttrType::String), &s));
        assert!(matches(&cmp(title(), CompareOp::Eq, CompValue::Null, AttrType::String), &s));
        assert!(!matches(&ClaimFilter::Present { path: title() }, &s));
    }

    #[test]
    fn element_match_needs_one_element_to_satisfy_the_whole_filter() {
        let claims: Claims = [(
            "urn:scimd:claims:emails".to_owned(),
            json!([{"type": "work", "value": "a@x"}, {"type": "home", "value": "b@x"}]),
        )]
        .into_iter()
        .collect();
        let s = subject(&claims, &[]);
        let sub = |name: &str| ClaimPath::Element { sub: name.into() };
        let both = |t: &str, v: &str| ClaimFilter::ElementMatch {
            of: Collection::Claim("urn:scimd:claims:emails".into()),
            filter: Box::new(ClaimFilter::And(vec![
                cmp(sub("type"), CompareOp::Eq, CompValue::Str(t.into()), AttrType::String),
                cmp(sub("value"), CompareOp::Sw, CompValue::Str(v.into()), AttrType::String),
            ])),
        };
        assert!(matches(&both("WORK", "a"), &s));
        assert!(!matches(&both("work", "b"), &s));
    }

    #[test]
    fn columns_members_and_eq_read_what_the_store_keeps() {
        let claims: Claims =
            [(USER_NAME.to_owned(), json!("Kim")), ("urn:x:n".to_owned(), json!(3))].into_iter().collect();
        let members = [SubjectMember { value: "m1", kind: ResourceKind::Group, display: Some("Ops") }];
        let s = subject(&claims, &members);
        let created = ClaimPath::Column(Column::Created);
        let at = |t: &str| CompValue::Str(t.into());
        assert!(matches(
            &cmp(created.clone(), CompareOp::Gt, at("2023-12-31T23:00:00+01:00"), AttrType::DateTime),
            &s
        ));
        assert!(!matches(
            &cmp(created, CompareOp::Gt, at("2024-01-01T01:00:00+01:00"), AttrType::DateTime),
            &s
        ));
        let eq = |c: &str, v: &str| ClaimFilter::Eq { claim: c.into(), value: v.into(), case_exact: false };
        assert!(matches(&eq(USER_NAME, "kim"), &s));
        assert!(matches(&eq("urn:x:n", "3"), &s));
        assert!(matches(&eq(ID, "U-1"), &s));
        let member_type = ClaimFilter::ElementMatch {
            of: Collection::Members,
            filter: Box::new(cmp(
                ClaimPath::Member(MemberField::Type),
                CompareOp::Eq,
                at("group"),
                AttrType::String,
            )),
        };
        assert!(matches(&member_type, &s));
        assert!(matches(&ClaimFilter::Present { path: ClaimPath::Member(MemberField::Display) }, &s));
    }
}
