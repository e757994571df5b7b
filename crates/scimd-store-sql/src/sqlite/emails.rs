//! Filters on users' emails answered from `user_emails` (one row per element of the emails
//! claim, its `type` and `value` folded; migration 0003) instead of the JSON of every user.
//!
//! - `emails.value eq "x"` and `emails[value eq "x" and …]` are index lookups
//!   (`user_emails_value`);
//! - any other comparison on `emails.type` / `emails.value`, alone or inside `emails[...]`
//!   (`emails[type eq "work" and value co "@example"]`), reads the narrow table: one probe per
//!   user by its key instead of parsing the user's JSON.
//!
//! Only what the table holds exactly is compiled here: string comparisons, without regard to
//! case (as the core schema defines `emails.value` and `emails.type`), `pr`, and `and`/`or`/`not`
//! of them. Anything else (`primary`, `display`, a caseExact comparison) returns `None` and the
//! caller compiles the filter over the JSON, with the same answers (the differential property
//! test holds both to the in-memory evaluator).

use rusqlite::types::Value as SqlValue;
use scimd_claims::claims::EMAILS;
use scimd_claims::filter::{ClaimPath, Collection};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, ResourceKind};

use super::filter::Compiled;
use super::folded;
use super::resource::fold_case;

/// `filter` over the emails of the user `r`, if the table answers it exactly.
pub(crate) fn compile(kind: ResourceKind, filter: &ClaimFilter) -> Option<Compiled> {
    let (value_eq, cond) = rows_of(kind, filter)?;
    Some(rows(value_eq, cond))
}

/// The count of the users `filter` matches, if it is one condition the table answers: the
/// distinct users of the matching rows, read from the table alone (one scan of its narrow rows,
/// or an index lookup), not one probe per user.
pub(crate) fn count(kind: ResourceKind, filter: &ClaimFilter) -> Option<Compiled> {
    let (value_eq, cond) = rows_of(kind, filter)?;
    let mut out = Compiled::default();
    out.sql.push_str("SELECT count(DISTINCT x.seq) FROM user_emails AS x WHERE ");
    if let Some(v) = value_eq {
        out.sql.push_str("x.value_ci = ? AND ");
        out.params.push(SqlValue::Text(v));
    }
    out.append(cond);
    Some(out)
}

/// The rows that make a user match `filter`: the folded value an equality requires (an index
/// lookup), and the condition on one row.
fn rows_of(kind: ResourceKind, filter: &ClaimFilter) -> Option<(Option<String>, Compiled)> {
    if kind != ResourceKind::User {
        return None;
    }
    match filter {
        // `emails.value eq "x"`: the users the value index names. (`ne` and `null` at the top
        // also hold for users with no email row: the JSON compiler answers them.)
        ClaimFilter::Compare { path: ClaimPath::Claim { claim, sub: Some(sub) }, op, value, .. }
            if claim == EMAILS && *op != CompareOp::Ne && *value != CompValue::Null =>
        {
            let column = column(sub)?;
            let value_eq = filter_value_eq(filter, column);
            let cond = element(filter, Some(column), value_eq.is_none())?;
            Some((value_eq, cond))
        }
        ClaimFilter::ElementMatch { of: Collection::Claim(claim), filter } if claim == EMAILS => {
            let value_eq = filter.required_element_eq("value").map(fold_case);
            let cond = element(filter, None, value_eq.is_none())?;
            Some((value_eq, cond))
        }
        _ => None,
    }
}

/// The column of a sub-attribute the table keeps.
fn column(sub: &str) -> Option<&'static str> {
    match sub {
        "value" => Some("x.value_ci"),
        "type" => Some("x.type_ci"),
        _ => None,
    }
}

/// The folded string an `eq` on `emails.value` at the top asks for.
fn filter_value_eq(filter: &ClaimFilter, column: &str) -> Option<String> {
    match filter {
        ClaimFilter::Compare { op: CompareOp::Eq, value: CompValue::Str(s), .. }
            if column == "x.value_ci" =>
        {
            Some(fold_case(s))
        }
        _ => None,
    }
}

/// The users with a row satisfying `cond`: through the value index when an equality on the value
/// is required, else one probe per user.
fn rows(value_eq: Option<String>, cond: Compiled) -> Compiled {
    let mut out = Compiled::default();
    match value_eq {
        Some(v) => {
            out.sql.push_str("r.seq IN (SELECT x.seq FROM user_emails AS x WHERE x.value_ci = ? AND ");
            out.params.push(SqlValue::Text(v));
        }
        None => out.sql.push_str("EXISTS (SELECT 1 FROM user_emails AS x WHERE x.seq = r.seq AND "),
    }
    out.append(cond);
    out.sql.push(')');
    out
}

/// A condition on one row `x`, true exactly where the filter holds for that element. `top`: the
/// column of a comparison outside a value path (`emails.value co "…"`); `None`: inside
/// `emails[...]`, where paths are `Element`. `indexed`: comparisons an index may read are
/// written bare; else none is (behind the value index, no other index must be chosen).
fn element(filter: &ClaimFilter, top: Option<&'static str>, indexed: bool) -> Option<Compiled> {
    let mut out = Compiled::default();
    push(filter, top, indexed, &mut out)?;
    Some(out)
}

/// `positive`: not under a NOT (and indexed), where a comparison may be NULL (as false) and so
/// be written bare, which an index reads; under a NOT each is 0 or 1.
fn push(filter: &ClaimFilter, top: Option<&'static str>, positive: bool, out: &mut Compiled) -> Option<()> {
    match filter {
        ClaimFilter::All => out.sql.push('1'),
        ClaimFilter::And(parts) | ClaimFilter::Or(parts) if top.is_none() => {
            let (op, empty) =
                if matches!(filter, ClaimFilter::And(_)) { (" AND ", "1") } else { (" OR ", "0") };
            if parts.is_empty() {
                out.sql.push_str(empty);
                return Some(());
            }
            out.sql.push('(');
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.sql.push_str(op);
                }
                push(part, top, positive, out)?;
            }
            out.sql.push(')');
        }
        ClaimFilter::Not(inner) if top.is_none() => {
            out.sql.push_str("NOT ");
            push(inner, top, false, out)?;
        }
        ClaimFilter::Present { path: ClaimPath::Element { sub } } if top.is_none() => {
            let c = column(sub)?;
            out.sql.push_str(&format!("coalesce({c} <> '', 0)"));
        }
        ClaimFilter::Compare { path, op, value, attr_type: AttrType::String, case_exact: false } => {
            let c = match (path, top) {
                (ClaimPath::Element { sub }, None) => column(sub)?,
                (ClaimPath::Claim { .. }, Some(c)) => c,
                _ => return None,
            };
            folded::compare(c, *op, value, positive, out)?;
        }
        _ => return None,
    }
    Some(())
}
