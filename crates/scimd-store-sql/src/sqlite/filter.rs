//! The compiler from [`ClaimFilter`] (and a [`SortKey`]) to SQL over `resources AS r`, with
//! bound parameters (claim names and values never enter the SQL text).
//!
//! The semantics are those of the in-memory evaluator (`scimd_core::filter::evaluate`), as
//! `scimd_claims::filter` states them; a property test (`tests/differential.rs`) holds the two
//! to the same answers.
//!
//! | path                                   | values read                                               |
//! |----------------------------------------|-----------------------------------------------------------|
//! | `Column(Id/Created/LastModified)`      | `r.id`, `r.created`, `r.last_modified` (one value)        |
//! | `Claim { claim, sub: None }`           | `json_each(r.claims, '$."claim"')`: the value, or a list's |
//! | `Claim { claim, sub: Some(s) }`        | `$."s"` of each element of the claim's list               |
//! | `Element { sub }` (in `ElementMatch`)  | `$."sub"` of the element `e`                              |
//! | `Member(field)`                        | `group_members AS m` (members here and in other domains): `m.member_id`, `m.display`, type |
//!
//! A comparison is `EXISTS (SELECT 1 FROM <values> WHERE <compare>)`; `ne` is
//! `NOT EXISTS (<values>) OR EXISTS (<values> WHERE NOT <eq>)`. Equalities on `userName`,
//! `externalId` and the kind's displayName use the indexed columns (`user_name_ci`,
//! `external_id`, `display_name_ci`), `id` its unique index.
//!
//! Strings compare with the store's case folding (`scimd_lower`) unless caseExact; `co`/`sw`/
//! `ew` with `instr`/`substr` (no `LIKE`, whose ASCII case folding and metacharacters would
//! differ); dateTimes as instants through `scimd_instant` (RFC 3339 to UTC text with nine
//! fractional digits, which sorts in time order), falling back to exact text as the
//! evaluator does; numbers and booleans by JSON type.

use rusqlite::types::Value as SqlValue;
use scimd_claims::claims::{EXTERNAL_ID, ID, USER_NAME};
use scimd_claims::filter::{ClaimPath, Collection, Column, MemberField, SortKey};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, ResourceKind, StoreError, StoreResult};

use super::resource::{display_claim, fold_case};
use scimd_store::stored_time::instant;

/// A compiled filter: SQL text with `?` placeholders and their values, in order.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Compiled {
    pub(crate) sql: String,
    pub(crate) params: Vec<SqlValue>,
}

impl Compiled {
    /// Appends another compiled piece (its text and its parameters, in order).
    pub(crate) fn append(&mut self, other: Compiled) {
        self.sql.push_str(&other.sql);
        self.params.extend(other.params);
    }
}

/// Where a filter is compiled: at the top of a resource, or inside an element match.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Over the resource `r`.
    Top,
    /// Over one element `e` of a claim's list.
    Element,
    /// Over one member row `m` (of the `group_members` view) of the group `r`.
    Member,
}

/// Compiles `filter` for resources of `kind` (the kind condition itself is the caller's).
pub(crate) fn compile(kind: ResourceKind, filter: &ClaimFilter) -> StoreResult<Compiled> {
    let mut out = Compiled::default();
    push(kind, filter, Scope::Top, false, &mut out)?;
    Ok(out)
}

/// Compiles a sort key into one SQL expression over `r`: the value sorted by, or NULL when the
/// resource has none (RFC 7644 §3.4.2.3: those sort last ascending, first descending).
pub(crate) fn compile_sort_key(key: &SortKey) -> StoreResult<Compiled> {
    let mut out = Compiled::default();
    let raw = match &key.path {
        ClaimPath::Column(c) => column(*c).to_owned(),
        ClaimPath::Claim { claim, sub: None } => {
            out.params.push(text(json_path(claim)?));
            "(SELECT v.value FROM json_each(r.claims, ?) AS v \
             WHERE typeof(v.key) <> 'text' AND v.type <> 'null' LIMIT 1)"
                .to_owned()
        }
        ClaimPath::Claim { claim, sub: Some(sub) } => {
            // RFC 7644 §3.4.2.3: the primary value, else the first.
            out.params.push(text(key_path(sub)?));
            out.params.push(text(json_path(claim)?));
            "(SELECT json_extract(e.value, ?) FROM json_each(r.claims, ?) AS e \
             WHERE typeof(e.key) <> 'text' AND e.type = 'object' \
             ORDER BY (json_extract(e.value, '$.primary') IS 1) DESC, e.key LIMIT 1)"
                .to_owned()
        }
        ClaimPath::Element { .. } | ClaimPath::Member(_) => {
            return Err(StoreError::Unsupported("sorting by a member or element field".to_owned()));
        }
    };
    out.sql = match key.attr_type {
        AttrType::DateTime => format!("coalesce(scimd_instant({raw}), {raw})"),
        AttrType::String | AttrType::Reference if !key.case_exact => format!("scimd_lower({raw})"),
        _ => raw,
    };
    if key.attr_type == AttrType::DateTime {
        // The expression appears twice: so do its parameters.
        let again = out.params.clone();
        out.params.extend(again);
    }
    Ok(out)
}

fn column(c: Column) -> &'static str {
    match c {
        Column::Id => "r.id",
        Column::Created => "r.created",
        Column::LastModified => "r.last_modified",
    }
}

/// Pushes `filter`; `negated`: whether it stands under a NOT (an odd number of them) of the same
/// WHERE clause. Every compiled condition is 0 or 1 there; elsewhere one may also be NULL where
/// it would be 0, which a WHERE clause, AND and OR treat alike (Kleene's logic is monotone: a
/// condition true with an unknown part is true whatever that part is), and which spares a
/// folded column's range its per-row NULL test.
fn push(
    kind: ResourceKind,
    filter: &ClaimFilter,
    scope: Scope,
    negated: bool,
    out: &mut Compiled,
) -> StoreResult<()> {
    // Filters on users' emails and family name, and on a group's member ids: from the tables
    // and columns that hold them folded, where those answer them.
    if scope == Scope::Top
        && let Some(c) = super::emails::compile(kind, filter)
            .or_else(|| super::folded::compile_family_name(kind, filter, negated))
            .or_else(|| super::folded::compile_member_value(kind, filter))
    {
        out.append(c);
        return Ok(());
    }
    match filter {
        ClaimFilter::All => out.sql.push('1'),
        ClaimFilter::And(parts) => push_all(kind, parts, scope, negated, " AND ", "1", out)?,
        ClaimFilter::Or(parts) => push_all(kind, parts, scope, negated, " OR ", "0", out)?,
        ClaimFilter::Not(inner) => {
            // Every condition compiled under a NOT is 0 or 1, never NULL: NOT is exact.
            out.sql.push_str("NOT ");
            push(kind, inner, scope, !negated, out)?;
        }
        ClaimFilter::Eq { claim, value, case_exact } => push_eq(kind, claim, value, *case_exact, out)?,
        ClaimFilter::Compare { path, op, value, attr_type, case_exact } => {
            let leaf = Leaf { ty: *attr_type, case_exact: *case_exact };
            if scope == Scope::Top
                && *op == CompareOp::Eq
                && let (ClaimPath::Claim { claim, sub: None }, CompValue::Str(s)) = (path, value)
                && matches!(attr_type, AttrType::String)
                && (claim == USER_NAME || claim == EXTERNAL_ID || claim == display_claim(kind))
            {
                return push_eq(kind, claim, s, *case_exact, out);
            }
            if scope == Scope::Top
                && *op == CompareOp::Eq
                && let (ClaimPath::Column(Column::Id), CompValue::Str(s)) = (path, value)
                && *case_exact
            {
                out.sql.push_str("r.id = ?");
                out.params.push(text(s.as_str()));
                return Ok(());
            }
            push_compare(path, *op, value, leaf, scope, out)?;
        }
        ClaimFilter::Present { path } => {
            let source = source(path, scope, true)?;
            source.exists(out, |out, v, t| {
                present(out, v, t);
                Ok(())
            })?;
        }
        ClaimFilter::ElementMatch { of, filter } => {
            if scope != Scope::Top {
                return Err(StoreError::Unsupported("a value path inside a value path".to_owned()));
            }
            match of {
                Collection::Claim(claim) => {
                    out.sql.push_str(
                        "EXISTS (SELECT 1 FROM json_each(r.claims, ?) AS e \
                         WHERE typeof(e.key) <> 'text' AND e.type = 'object' AND (",
                    );
                    out.params.push(text(json_path(claim)?));
                    // A WHERE clause of its own: EXISTS is 0 or 1 whatever its rows.
                    push(kind, filter, Scope::Element, false, out)?;
                    out.sql.push_str("))");
                }
                Collection::Members => {
                    out.sql
                        .push_str("EXISTS (SELECT 1 FROM group_members AS m WHERE m.group_seq = r.seq AND (");
                    push(kind, filter, Scope::Member, false, out)?;
                    out.sql.push_str("))");
                }
            }
        }
    }
    Ok(())
}

fn push_all(
    kind: ResourceKind,
    parts: &[ClaimFilter],
    scope: Scope,
    negated: bool,
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
        push(kind, part, scope, negated, out)?;
    }
    out.sql.push(')');
    Ok(())
}

fn text(s: impl Into<String>) -> SqlValue {
    SqlValue::Text(s.into())
}

/// The values a path reads, as SQL.
enum Source {
    /// Exactly one value expression (possibly NULL: then no value), of JSON type text.
    Scalar(&'static str),
    /// Rows: `FROM … WHERE …` (to which conditions are appended with AND), the value and its
    /// JSON type as column expressions, and the parameters of the `FROM … WHERE …`.
    Rows { from: String, params: Vec<SqlValue>, value: &'static str, ty: &'static str },
}

impl Source {
    /// `EXISTS` a non-null value satisfying `cond`.
    fn exists(
        &self,
        out: &mut Compiled,
        cond: impl FnOnce(&mut Compiled, &str, &str) -> StoreResult<()>,
    ) -> StoreResult<()> {
        match self {
            Source::Scalar(expr) => {
                out.sql.push('(');
                out.sql.push_str(expr);
                out.sql.push_str(" IS NOT NULL AND coalesce(");
                cond(out, expr, "'text'")?;
                out.sql.push_str(", 0))");
            }
            Source::Rows { from, params, value, ty } => {
                out.sql.push_str("EXISTS (SELECT 1 ");
                out.sql.push_str(from);
                out.params.extend(params.iter().cloned());
                out.sql.push_str(" AND ");
                out.sql.push_str(ty);
                out.sql.push_str(" <> 'null' AND coalesce(");
                cond(out, value, ty)?;
                out.sql.push_str(", 0))");
            }
        }
        Ok(())
    }

    /// `NOT EXISTS` any non-null value.
    fn none(&self, out: &mut Compiled) {
        match self {
            Source::Scalar(expr) => {
                out.sql.push_str(expr);
                out.sql.push_str(" IS NULL");
            }
            Source::Rows { from, params, ty, .. } => {
                out.sql.push_str("NOT EXISTS (SELECT 1 ");
                out.sql.push_str(from);
                out.params.extend(params.iter().cloned());
                out.sql.push_str(" AND ");
                out.sql.push_str(ty);
                out.sql.push_str(" <> 'null')");
            }
        }
    }
}

/// The source of a path in a scope. `whole` keeps the members of an object claim (for `pr`,
/// where an object is present if a member is); comparisons skip them, as the evaluator never
/// matches an object.
fn source(path: &ClaimPath, scope: Scope, whole: bool) -> StoreResult<Source> {
    let key_filter = if whole { "" } else { " AND typeof(v.key) <> 'text'" };
    Ok(match (path, scope) {
        (ClaimPath::Column(c), Scope::Top) => Source::Scalar(column(*c)),
        (ClaimPath::Claim { claim, sub: None }, Scope::Top) => Source::Rows {
            from: format!("FROM json_each(r.claims, ?) AS v WHERE 1{key_filter}"),
            params: vec![text(json_path(claim)?)],
            value: "v.value",
            ty: "v.type",
        },
        (ClaimPath::Claim { claim, sub: Some(sub) }, Scope::Top) => Source::Rows {
            from: format!(
                "FROM json_each(r.claims, ?) AS e0, \
                 json_each(CASE e0.type WHEN 'object' THEN e0.value ELSE '{{}}' END, ?) AS v \
                 WHERE typeof(e0.key) <> 'text'{key_filter}"
            ),
            params: vec![text(json_path(claim)?), text(key_path(sub)?)],
            value: "v.value",
            ty: "v.type",
        },
        (ClaimPath::Element { sub }, Scope::Element) => Source::Rows {
            from: format!(
                "FROM json_each(CASE e.type WHEN 'object' THEN e.value ELSE '{{}}' END, ?) AS v WHERE 1{key_filter}"
            ),
            params: vec![text(key_path(sub)?)],
            value: "v.value",
            ty: "v.type",
        },
        (ClaimPath::Member(field), Scope::Top) => Source::Rows {
            from: "FROM group_members AS m WHERE m.group_seq = r.seq".to_owned(),
            params: Vec::new(),
            value: member_value(*field),
            ty: member_type(*field),
        },
        (ClaimPath::Member(field), Scope::Member) => Source::Scalar(member_value(*field)),
        _ => return Err(StoreError::Unsupported(format!("the path {path:?} in this place"))),
    })
}

fn member_value(field: MemberField) -> &'static str {
    match field {
        MemberField::Value => "m.member_id",
        MemberField::Display => "m.display",
        MemberField::Type => "(CASE m.kind WHEN 1 THEN 'User' ELSE 'Group' END)",
    }
}

fn member_type(field: MemberField) -> &'static str {
    match field {
        MemberField::Display => "(CASE WHEN m.display IS NULL THEN 'null' ELSE 'text' END)",
        MemberField::Value | MemberField::Type => "'text'",
    }
}

/// RFC 7644 §3.4.2.2 `pr` on one value `v` of JSON type `t`: not null, not `""`, and for
/// lists and objects, some leaf within that is.
fn present(out: &mut Compiled, v: &str, t: &str) {
    out.sql.push_str(&format!(
        "(CASE {t} WHEN 'null' THEN 0 WHEN 'text' THEN {v} <> '' \
         WHEN 'object' THEN EXISTS (SELECT 1 FROM json_tree({v}) AS p WHERE p.type IN ('true', 'false', 'integer', 'real') OR (p.type = 'text' AND p.atom <> '')) \
         WHEN 'array' THEN EXISTS (SELECT 1 FROM json_tree({v}) AS p WHERE p.type IN ('true', 'false', 'integer', 'real') OR (p.type = 'text' AND p.atom <> '')) \
         ELSE 1 END)"
    ));
}

#[derive(Clone, Copy)]
struct Leaf {
    ty: AttrType,
    case_exact: bool,
}

fn push_compare(
    path: &ClaimPath,
    op: CompareOp,
    value: &CompValue,
    leaf: Leaf,
    scope: Scope,
    out: &mut Compiled,
) -> StoreResult<()> {
    match (op, value) {
        // RFC 7643 §2.5: null is unassigned.
        (CompareOp::Eq, CompValue::Null) => {
            out.sql.push_str("NOT ");
            source(path, scope, true)?.exists(out, |out, v, t| {
                present(out, v, t);
                Ok(())
            })
        }
        (CompareOp::Ne, CompValue::Null) => source(path, scope, true)?.exists(out, |out, v, t| {
            present(out, v, t);
            Ok(())
        }),
        (_, CompValue::Null) => {
            out.sql.push('0');
            Ok(())
        }
        // A missing attribute is not equal to anything; else some value is not equal.
        (CompareOp::Ne, _) => {
            let src = source(path, scope, false)?;
            out.sql.push('(');
            src.none(out);
            out.sql.push_str(" OR ");
            src.exists(out, |out, v, t| {
                out.sql.push_str("NOT coalesce(");
                cond(out, v, t, CompareOp::Eq, value, leaf);
                out.sql.push_str(", 0)");
                Ok(())
            })?;
            out.sql.push(')');
            Ok(())
        }
        _ => source(path, scope, false)?.exists(out, |out, v, t| {
            cond(out, v, t, op, value, leaf);
            Ok(())
        }),
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
    }
}

/// One value `v` (JSON type `t`) against the filter's value; `op` is never `Ne`.
fn cond(out: &mut Compiled, v: &str, t: &str, op: CompareOp, value: &CompValue, leaf: Leaf) {
    match (leaf.ty, value) {
        (AttrType::Boolean, CompValue::Bool(b)) if op == CompareOp::Eq => {
            out.sql.push_str(&format!("({t} IN ('true', 'false') AND {v} = ?)"));
            out.params.push(SqlValue::Integer(i64::from(*b)));
        }
        (AttrType::Integer | AttrType::Decimal, CompValue::Num(n)) if !op.is_substring() => {
            let param = match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => SqlValue::Integer(i),
                (None, Some(f)) => SqlValue::Real(f),
                (None, None) => SqlValue::Null,
            };
            out.sql.push_str(&format!("({t} IN ('integer', 'real') AND {v} {} ?)", sql_op(op)));
            out.params.push(param);
        }
        (AttrType::DateTime, CompValue::Str(s)) if !op.is_substring() => match instant(s) {
            Some(canonical) => {
                let o = sql_op(op);
                out.sql.push_str(&format!(
                    "({t} = 'text' AND CASE WHEN scimd_instant({v}) IS NOT NULL \
                     THEN scimd_instant({v}) {o} ? ELSE {v} {o} ? END)"
                ));
                out.params.push(text(canonical));
                out.params.push(text(s.as_str()));
            }
            None => text_cond(out, v, t, op, s, true),
        },
        (
            AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime,
            CompValue::Str(s),
        ) => {
            text_cond(out, v, t, op, s, leaf.case_exact);
        }
        _ => out.sql.push('0'),
    }
}

fn text_cond(out: &mut Compiled, v: &str, t: &str, op: CompareOp, s: &str, case_exact: bool) {
    let (x, p) =
        if case_exact { (v.to_owned(), s.to_owned()) } else { (format!("scimd_lower({v})"), fold_case(s)) };
    let sql = match op {
        CompareOp::Co => {
            out.params.push(text(p));
            format!("instr({x}, ?) > 0")
        }
        CompareOp::Sw => {
            out.params.extend([text(p.clone()), text(p)]);
            format!("substr({x}, 1, length(?)) = ?")
        }
        CompareOp::Ew => {
            out.params.extend([text(p.clone()), text(p.clone()), text(p)]);
            format!("(length({x}) >= length(?) AND substr({x}, length({x}) - length(?) + 1) = ?)")
        }
        _ => {
            out.params.push(text(p));
            format!("{x} {} ?", sql_op(op))
        }
    };
    out.sql.push_str(&format!("({t} = 'text' AND {sql})"));
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

/// The JSON path of a key inside a complex value: `$."<sub>"`.
fn key_path(sub: &str) -> StoreResult<String> {
    json_path(sub)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use scimd_claims::claims::{DISPLAY_NAME, GROUP_DISPLAY_NAME};

    fn eq(claim: &str, value: &str, case_exact: bool) -> ClaimFilter {
        ClaimFilter::Eq { claim: claim.to_owned(), value: value.to_owned(), case_exact }
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
        let f = ClaimFilter::Or(vec![
            ClaimFilter::And(vec![eq(ID, "1", true), eq(EXTERNAL_ID, "x", true)]),
            ClaimFilter::And(vec![]),
            ClaimFilter::Or(vec![]),
        ]);
        let c = compile(ResourceKind::User, &f).unwrap();
        assert_eq!(c.sql, "((r.id = ? AND r.external_id = ?) OR 1 OR 0)");
        assert_eq!(c.params.len(), 2);
    }

    /// RFC 7644 §3.4.2.2 `not`: a user with no family name matches `not (name.familyName sw
    /// "x")`, so under a NOT the folded column's range is 0, never NULL, there; elsewhere the
    /// range alone is the condition (NULL and 0 leave a row out alike).
    #[test]
    fn a_family_name_range_tests_for_null_only_under_a_not() {
        let sw = ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: scimd_claims::claims::FAMILY_NAME.into(), sub: None },
            op: CompareOp::Sw,
            value: CompValue::Str("Lov".into()),
            attr_type: AttrType::String,
            case_exact: false,
        };
        let top = compile(ResourceKind::User, &sw).unwrap();
        assert_eq!(top.sql, "(r.family_name_ci >= ? AND r.family_name_ci < ? AND 1)");
        assert_eq!(top.params, vec![text("lov"), text("low")]);
        let not = ClaimFilter::Not(Box::new(ClaimFilter::And(vec![eq(USER_NAME, "kim", false), sw.clone()])));
        let under = compile(ResourceKind::User, &not).unwrap();
        assert!(under.sql.contains("r.family_name_ci IS NOT NULL"), "{}", under.sql);
        // Two NOTs: positive again.
        let twice =
            compile(ResourceKind::User, &ClaimFilter::Not(Box::new(ClaimFilter::Not(Box::new(sw))))).unwrap();
        assert!(!twice.sql.contains("IS NOT NULL"), "{}", twice.sql);
    }

    #[test]
    fn claim_with_quote_is_refused() {
        assert!(matches!(
            compile(ResourceKind::User, &eq("urn:x:a\"b", "v", false)),
            Err(StoreError::Unsupported(_))
        ));
    }
}
