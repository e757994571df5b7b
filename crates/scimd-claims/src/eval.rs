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
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

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

/// The key of `obj` equal to `name`, else one equal without regard to case.
fn get_ci<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// The values of `v`: the elements of an array (nulls left out), nothing for null, else `v`.
fn flatten(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|i| !i.is_null()).collect(),
        Some(other) => vec![other],
    }
}

fn sub_values<'v>(v: &'v Value, name: &str) -> Vec<&'v Value> {
    flatten(v.as_object().and_then(|o| get_ci(o, name)))
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

/// RFC 7644 §3.4.2.2 `pr`: not null, not `""`, not `[]`, not an object of such.
pub fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare_any(
    vals: &[Cow<'_, Value>],
    op: CompareOp,
    expected: &CompValue,
    ty: AttrType,
    case_exact: bool,
) -> bool {
    match (op, expected) {
        // RFC 7643 §2.5: null is equivalent to unassigned.
        (CompareOp::Eq, CompValue::Null) => !vals.iter().any(|v| is_present(v)),
        (CompareOp::Ne, CompValue::Null) => vals.iter().any(|v| is_present(v)),
        (_, CompValue::Null) => false,
        // A missing attribute is not equal to anything.
        (CompareOp::Ne, _) if vals.is_empty() => true,
        (CompareOp::Ne, _) => vals.iter().any(|v| !compare(v, CompareOp::Eq, expected, ty, case_exact)),
        _ => vals.iter().any(|v| compare(v, op, expected, ty, case_exact)),
    }
}

/// One value against the filter's value (`ne` is the caller's).
pub fn compare(actual: &Value, op: CompareOp, expected: &CompValue, ty: AttrType, case_exact: bool) -> bool {
    match (ty, actual, expected) {
        (AttrType::Boolean, Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        (AttrType::Integer | AttrType::Decimal, Value::Number(a), CompValue::Num(b)) => {
            cmp_numbers(a, b).is_some_and(|ord| ordering_matches(op, ord))
        }
        (AttrType::DateTime, Value::String(a), CompValue::Str(b)) if !op.is_substring() => {
            match (parse_instant(a), parse_instant(b)) {
                (Some(a), Some(b)) => ordering_matches(op, a.cmp(&b)),
                _ => compare_text(a, op, b, true),
            }
        }
        (
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime,
            Value::String(a),
            CompValue::Str(b),
        ) => compare_text(a, op, b, case_exact),
        _ => false,
    }
}

fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_text(actual: &str, op: CompareOp, expected: &str, case_exact: bool) -> bool {
    let (a, b): (Cow<'_, str>, Cow<'_, str>) = if case_exact {
        (Cow::Borrowed(actual), Cow::Borrowed(expected))
    } else {
        (Cow::Owned(actual.to_lowercase()), Cow::Owned(expected.to_lowercase()))
    };
    match op {
        CompareOp::Co => a.contains(b.as_ref()),
        CompareOp::Sw => a.starts_with(b.as_ref()),
        CompareOp::Ew => a.ends_with(b.as_ref()),
        _ => ordering_matches(op, a.cmp(&b)),
    }
}

/// Numbers compared exactly when both are integers, else as floating point.
pub fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let int = |n: &Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// An instant: seconds since 1970-01-01T00:00:00Z and nanoseconds.
pub type Instant = (i64, u32);

/// An RFC 3339 date-time as an instant, as `time`'s `Rfc3339` parses it (any one separator
/// between date and time, `Z` in either case, a leap second only as the last second of a month
/// in UTC, read as the nanosecond before); one without an offset is taken as UTC, as the SCIM
/// evaluator does.
pub fn parse_instant(s: &str) -> Option<Instant> {
    parse_rfc3339(s.as_bytes(), false).or_else(|| parse_rfc3339(s.as_bytes(), true))
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = b.get(at..at + n)?;
    part.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `assume_utc`: the text has no offset (the evaluator's second try, with `Z` appended).
fn parse_rfc3339(b: &[u8], assume_utc: bool) -> Option<Instant> {
    let year = i64::from(digits(b, 0, 4)?);
    (b.get(4) == Some(&b'-')).then_some(())?;
    let month = digits(b, 5, 2)?;
    (b.get(7) == Some(&b'-')).then_some(())?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    b.get(10)?; // any separator
    let hour = digits(b, 11, 2)?;
    (b.get(13) == Some(&b':')).then_some(())?;
    let minute = digits(b, 14, 2)?;
    (b.get(16) == Some(&b':')).then_some(())?;
    let second = digits(b, 17, 2)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        let mut multiplier = 100_000_000u32;
        while let Some(c) = b.get(at).filter(|c| c.is_ascii_digit()) {
            nanos += u32::from(c - b'0') * multiplier;
            multiplier /= 10;
            at += 1;
        }
        if at == start {
            return None;
        }
    }
    let offset_seconds: i64 = if assume_utc {
        0
    } else {
        match b.get(at) {
            Some(b'Z' | b'z') => {
                at += 1;
                0
            }
            Some(&sign @ (b'+' | b'-')) => {
                let oh = digits(b, at + 1, 2)?;
                (b.get(at + 3) == Some(&b':')).then_some(())?;
                let om = digits(b, at + 4, 2)?;
                if oh > 23 || om > 59 {
                    return None;
                }
                at += 6;
                let total = i64::from(oh * 3600 + om * 60);
                if sign == b'-' { -total } else { total }
            }
            _ => return None,
        }
    };
    if at != b.len() {
        return None;
    }
    let local = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second.min(59));
    let utc = local - offset_seconds;
    if second == 60 {
        // Only the last second of a month in UTC; read as the nanosecond before the next.
        let (days, secs) = (utc.div_euclid(86_400), utc.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        if secs != 86_399 || d != days_in_month(y, m) {
            return None;
        }
        return Some((utc, 999_999_999));
    }
    Some((utc, nanos))
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
        let (secs, _) = parse_instant("2024-03-01T12:34:56Z").unwrap();
        assert_eq!(civil_from_days(secs.div_euclid(86_400)), (2024, 3, 1));
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
