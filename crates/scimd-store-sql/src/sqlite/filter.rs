//! The compiler from [`StoreFilter`] to one SQL boolean expression over `resources AS r`, with
//! bound parameters (claim names and values never enter the SQL text).
//!
//! | claim (kind)                       | SQL                                                   |
//! |------------------------------------|-------------------------------------------------------|
//! | `ID`                               | `r.id = ?`                                            |
//! | `USER_NAME` (users)                | `r.user_name_ci = ?` (+ exact JSON value if caseExact) |
//! | `EXTERNAL_ID`                      | `r.external_id = ?` (or folded if not caseExact)      |
//! | `DISPLAY_NAME` (users), `GROUP_DISPLAY_NAME` (groups) | `r.display_name_ci = ?` (+ exact) |
//! | any other claim                    | `EXISTS (… json_each(r.claims, '$."claim"') …)`       |
//!
//! The last form matches a simple claim, or any value of a multi-valued simple claim (RFC 7644
//! §3.4.2.2: a multi-valued attribute matches if any value does); strings compare with the
//! store's case folding unless caseExact, booleans and numbers compare by value. It uses no
//! index, but it is exact.

use rusqlite::types::Value as SqlValue;
use scimd_claims::claims::{EXTERNAL_ID, ID, USER_NAME};
use scimd_store::{ResourceKind, StoreError, StoreFilter, StoreResult};

use super::resource::{display_claim, fold_case};

/// A compiled filter: SQL text with `?` placeholders and their values, in order.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Compiled {
    pub(crate) sql: String,
    pub(crate) params: Vec<SqlValue>,
}

/// Compiles `filter` for resources of `kind` (the kind condition itself is the caller's).
pub(crate) fn compile(kind: ResourceKind, filter: &StoreFilter) -> StoreResult<Compiled> {
    let mut out = Compiled::default();
    push(kind, filter, &mut out)?;
    Ok(out)
}

fn push(kind: ResourceKind, filter: &StoreFilter, out: &mut Compiled) -> StoreResult<()> {
    match filter {
        StoreFilter::All => out.sql.push('1'),
        StoreFilter::And(parts) => push_all(kind, parts, " AND ", "1", out)?,
        StoreFilter::Or(parts) => push_all(kind, parts, " OR ", "0", out)?,
        StoreFilter::Eq { claim, value, case_exact } => push_eq(kind, claim, value, *case_exact, out)?,
    }
    Ok(())
}

fn push_all(
    kind: ResourceKind,
    parts: &[StoreFilter],
    op: &str,
    empty: &str,
    out: &mut Compiled,
) -> StoreResult<()> {
    if parts.is_empty() {
        out.sql.push_str(empty);
        return Ok(());
    }
    out.sql.push('(');
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.sql.push_str(op);
        }
        push(kind, part, out)?;
    }
    out.sql.push(')');
    Ok(())
}

fn text(s: impl Into<String>) -> SqlValue {
    SqlValue::Text(s.into())
}

fn push_eq(
    kind: ResourceKind,
    claim: &str,
    value: &str,
    case_exact: bool,
    out: &mut Compiled,
) -> StoreResult<()> {
    if claim == ID {
        push_column("r.id", value, case_exact, out);
    } else if claim == EXTERNAL_ID {
        push_column("r.external_id", value, case_exact, out);
    } else if claim == USER_NAME && kind == ResourceKind::User {
        push_folded_column("r.user_name_ci", claim, value, case_exact, out)?;
    } else if claim == display_claim(kind) {
        push_folded_column("r.display_name_ci", claim, value, case_exact, out)?;
    } else {
        push_json(claim, value, case_exact, out)?;
    }
    Ok(())
}

/// A column that holds the value as written.
fn push_column(column: &str, value: &str, case_exact: bool, out: &mut Compiled) {
    if case_exact {
        out.sql.push_str(column);
        out.sql.push_str(" = ?");
        out.params.push(text(value));
    } else {
        out.sql.push_str("scimd_lower(");
        out.sql.push_str(column);
        out.sql.push_str(") = ?");
        out.params.push(text(fold_case(value)));
    }
}

/// A column that holds the folded value (indexed); case-exact also checks the claim itself.
fn push_folded_column(
    column: &str,
    claim: &str,
    value: &str,
    case_exact: bool,
    out: &mut Compiled,
) -> StoreResult<()> {
    out.sql.push('(');
    out.sql.push_str(column);
    out.sql.push_str(" = ?");
    out.params.push(text(fold_case(value)));
    if case_exact {
        out.sql.push_str(" AND json_extract(r.claims, ?) = ?");
        out.params.push(text(json_path(claim)?));
        out.params.push(text(value));
    }
    out.sql.push(')');
    Ok(())
}

/// Any claim, read from the JSON of the claims.
fn push_json(claim: &str, value: &str, case_exact: bool, out: &mut Compiled) -> StoreResult<()> {
    // `typeof(j.key) <> 'text'`: the claim itself when simple, or the values of a list; never
    // the sub-attributes of a complex value.
    out.sql.push_str("EXISTS (SELECT 1 FROM json_each(r.claims, ?) AS j WHERE typeof(j.key) <> 'text' AND (");
    out.params.push(text(json_path(claim)?));
    if case_exact {
        out.sql.push_str("(j.type = 'text' AND j.value = ?)");
        out.params.push(text(value));
    } else {
        out.sql.push_str("(j.type = 'text' AND scimd_lower(j.value) = ?)");
        out.params.push(text(fold_case(value)));
    }
    let boolean = if value.eq_ignore_ascii_case("true") {
        SqlValue::Integer(1)
    } else if value.eq_ignore_ascii_case("false") {
        SqlValue::Integer(0)
    } else {
        SqlValue::Null
    };
    out.sql.push_str(" OR (j.type IN ('true', 'false') AND j.value = ?)");
    out.params.push(boolean);
    let number = match value.trim().parse::<i64>() {
        Ok(i) => SqlValue::Integer(i),
        Err(_) => {
            value.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map_or(SqlValue::Null, SqlValue::Real)
        }
    };
    out.sql.push_str(" OR (j.type IN ('integer', 'real') AND j.value = ?)))");
    out.params.push(number);
    Ok(())
}

/// The JSON path of a top-level claim: `$."<claim>"`. Claim URIs never hold `"` or `\`; one
/// that does cannot be quoted in a SQLite JSON path and is refused.
pub(crate) fn json_path(claim: &str) -> StoreResult<String> {
    if claim.contains(['"', '\\']) {
        return Err(StoreError::Unsupported(format!("claim name {claim:?} contains a quote or backslash")));
    }
    Ok(format!("$.\"{claim}\""))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use scimd_claims::claims::{DISPLAY_NAME, GROUP_DISPLAY_NAME};

    fn eq(claim: &str, value: &str, case_exact: bool) -> StoreFilter {
        StoreFilter::Eq { claim: claim.to_owned(), value: value.to_owned(), case_exact }
    }

    #[test]
    fn user_name_compiles_to_the_folded_column() {
        let c = compile(ResourceKind::User, &eq(USER_NAME, "KIM", false)).unwrap();
        assert_eq!(c.sql, "(r.user_name_ci = ?)");
        assert_eq!(c.params, vec![text("kim")]);
    }

    #[test]
    fn case_exact_user_name_also_compares_the_claim() {
        let c = compile(ResourceKind::User, &eq(USER_NAME, "Kim", true)).unwrap();
        assert_eq!(c.sql, "(r.user_name_ci = ? AND json_extract(r.claims, ?) = ?)");
        assert_eq!(c.params, vec![text("kim"), text("$.\"urn:scimd:claims:userName\""), text("Kim")]);
    }

    #[test]
    fn display_name_column_serves_the_kinds_own_claim_only() {
        let c = compile(ResourceKind::Group, &eq(GROUP_DISPLAY_NAME, "A", false)).unwrap();
        assert_eq!(c.sql, "(r.display_name_ci = ?)");
        let c = compile(ResourceKind::User, &eq(DISPLAY_NAME, "A", false)).unwrap();
        assert_eq!(c.sql, "(r.display_name_ci = ?)");
        let c = compile(ResourceKind::Group, &eq(DISPLAY_NAME, "A", false)).unwrap();
        assert!(c.sql.starts_with("EXISTS"), "{}", c.sql);
    }

    #[test]
    fn and_or_nest_with_parentheses_and_empty_lists_are_constants() {
        let f = StoreFilter::Or(vec![
            StoreFilter::And(vec![eq(ID, "1", true), eq(EXTERNAL_ID, "x", true)]),
            StoreFilter::And(vec![]),
            StoreFilter::Or(vec![]),
        ]);
        let c = compile(ResourceKind::User, &f).unwrap();
        assert_eq!(c.sql, "((r.id = ? AND r.external_id = ?) OR 1 OR 0)");
        assert_eq!(c.params.len(), 2);
    }

    #[test]
    fn claim_with_quote_is_refused() {
        assert!(matches!(
            compile(ResourceKind::User, &eq("urn:x:a\"b", "v", false)),
            Err(StoreError::Unsupported(_))
        ));
    }
}
