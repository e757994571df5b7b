//! The compiler from a [`ClaimFilter`] (and a [`SortKey`]) to SQL over `resources AS r`, with
//! bound parameters.
//!
//! The semantics are those of the in-memory evaluator (`scimd_core::filter::evaluate`), as
//! `scimd_claims::filter` states them; the store-generic differential property test
//! (`scimd-store-testkit`) holds the two to the same answers and orders.
//!
//! | path                                  | values read                                                    |
//! |---------------------------------------|----------------------------------------------------------------|
//! | `Column(Id/Created/LastModified)`     | `r.id`, `r.created`, `r.last_modified` (one text value)        |
//! | `Claim { claim, sub: None }`          | `scimd_values(r.claims -> claim)`: a list's elements, or the value |
//! | `Claim { claim, sub: Some(s) }`       | `scimd_values(e0 -> s)` of each value `e0` of the claim        |
//! | `Element { sub }` (in `ElementMatch`) | `scimd_values(e -> sub)` of the element `e`                    |
//! | `Member(field)`                       | rows of `members AS m` of the group: id, display, type         |
//!
//! A comparison is `EXISTS (SELECT 1 FROM <values> WHERE <compare>)`; `ne` is
//! `NOT EXISTS (<values>) OR EXISTS (<values> WHERE NOT <eq>)`. A condition may be SQL NULL
//! where the evaluator says false (a missing claim): WHERE, AND and OR treat NULL as false
//! already, and each `NOT` wraps its operand in `coalesce(…, false)`, so that the result is the
//! evaluator's two-valued one (AND and OR are monotone: NULL-as-false is exact below a NOT).
//!
//! Strings compare with `scimd_fold` (ICU lower-casing, as Rust's `to_lowercase`) unless
//! caseExact; `gt`/`ge`/`lt`/`le` with `COLLATE "C"` (code point order, as Rust compares
//! strings); `co`/`sw`/`ew` with `strpos`/`starts_with`/`right` (no `LIKE`, so no
//! metacharacters). DateTimes compare as instants through `scimd_instant` (canonical UTC text
//! with nine fractional digits), falling back to exact text as the evaluator does; numbers as
//! `numeric`; booleans as JSON booleans. A cast runs only under a `CASE` that checked the JSON
//! type first: PostgreSQL does not promise the order in which it evaluates AND's operands.
//!
//! Equalities the schema indexes are written as the index expressions, with the claim names
//! as literals: `userName`, `displayName` (of the kind at hand), `externalId`, `id`, and
//! `emails.value` (alone or inside `emails[...]`). These read a singular claim's string value
//! (as the SQLite store's derived columns do), which is all a valid resource holds there.

use scimd_claims::claims::{EXTERNAL_ID, ID, USER_NAME};
use scimd_claims::filter::{ClaimPath, Collection, Column, MemberField, SortKey};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, ResourceKind, StoreError, StoreResult};

use crate::resource::{EMAILS, display_claim, instant};
use crate::sql::{Param, Sql};

/// Where a filter is compiled: at the top of a resource, or inside an element match.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Over the resource `r`.
    Top,
    /// Over one complex value `e` of a claim.
    Element,
    /// Over one member row `m` of the group `r`.
    Member,
}

/// Compiles `filter` for resources of `kind` (the kind condition itself is the caller's); its
/// parameters are bound into `sql`.
pub(crate) fn compile(kind: ResourceKind, filter: &ClaimFilter, sql: &mut Sql) -> StoreResult<String> {
    Compiler { kind, sql }.filter(filter, Scope::Top)
}

/// Whether index lookups find every match of `filter` (`ClaimFilter::narrowed_by`), with the
/// equalities the compiler writes as index expressions: its matches are found by an index
/// lookup, never by a scan.
pub(crate) fn narrowed_by_index(kind: ResourceKind, filter: &ClaimFilter) -> bool {
    filter.narrowed_by(&|leaf| match leaf {
        ClaimFilter::Eq { claim, case_exact, .. } => {
            (claim == ID && *case_exact) || indexed_claim(kind, claim).is_some()
        }
        ClaimFilter::Compare { path, op: CompareOp::Eq, value: CompValue::Str(_), attr_type, case_exact } => {
            match path {
                ClaimPath::Column(Column::Id) => *case_exact,
                ClaimPath::Claim { claim, sub: None } => {
                    *attr_type == AttrType::String && indexed_claim(kind, claim).is_some()
                }
                ClaimPath::Claim { claim, sub: Some(sub) } => {
                    claim == EMAILS
                        && sub == "value"
                        && kind == ResourceKind::User
                        && *attr_type == AttrType::String
                }
                _ => false,
            }
        }
        ClaimFilter::ElementMatch { of: Collection::Claim(claim), filter } => {
            claim == EMAILS && kind == ResourceKind::User && filter.required_element_eq("value").is_some()
        }
        _ => false,
    })
}

/// Whether `filter` matches at most one resource of `kind`: an equality on a unique key, alone
/// or as one part of an AND. The keys are the id (unique in `resources`) and a user's userName
/// (the unique index on its folded value, which an exact comparison narrows further).
pub(crate) fn at_most_one(kind: ResourceKind, filter: &ClaimFilter) -> bool {
    match filter {
        ClaimFilter::And(parts) => parts.iter().any(|p| at_most_one(kind, p)),
        ClaimFilter::Eq { claim, case_exact, .. } => {
            (claim == ID && *case_exact) || (claim == USER_NAME && kind == ResourceKind::User)
        }
        ClaimFilter::Compare { path, op: CompareOp::Eq, value: CompValue::Str(_), attr_type, case_exact } => {
            match path {
                ClaimPath::Column(Column::Id) => *case_exact,
                ClaimPath::Claim { claim, sub: None } => {
                    claim == USER_NAME && kind == ResourceKind::User && *attr_type == AttrType::String
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// The singular string claims with an expression index for resources of `kind`: userName,
/// the kind's displayName, externalId.
fn indexed_claim(kind: ResourceKind, claim: &str) -> Option<&'static str> {
    if claim == USER_NAME && kind == ResourceKind::User {
        Some(USER_NAME)
    } else if claim == display_claim(kind) {
        Some(display_claim(kind))
    } else if claim == EXTERNAL_ID {
        Some(EXTERNAL_ID)
    } else {
        None
    }
}

/// The SQL type of a compiled sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    /// `text`, compared in code point order (`COLLATE "C"`).
    Text,
    /// `numeric`.
    Numeric,
    /// `integer` (booleans: false 0, true 1).
    Integer,
}

/// Compiles a sort key into one SQL expression over `r`: the value sorted by, or NULL when the
/// resource has none (RFC 7644 §3.4.2.3: those sort last ascending, first descending). For a
/// multi-valued attribute, the primary value, else the first (§3.4.2.3).
pub(crate) fn compile_sort_key(key: &SortKey, sql: &mut Sql) -> StoreResult<(String, KeyType)> {
    let ty = match key.attr_type {
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => KeyType::Text,
        AttrType::Integer | AttrType::Decimal => KeyType::Numeric,
        AttrType::Boolean => KeyType::Integer,
        AttrType::Complex => {
            return Err(StoreError::Unsupported("sorting by a complex attribute".to_owned()));
        }
    };
    let typed = |j: &str| -> String {
        match key.attr_type {
            AttrType::Integer | AttrType::Decimal => {
                format!("CASE WHEN jsonb_typeof({j}) = 'number' THEN ({j})::numeric END")
            }
            AttrType::Boolean => format!(
                "CASE WHEN jsonb_typeof({j}) = 'boolean' THEN CASE WHEN {j} = 'true'::jsonb THEN 1 ELSE 0 END END"
            ),
            AttrType::DateTime => format!(
                "CASE WHEN jsonb_typeof({j}) = 'string' THEN coalesce(scimd_instant({j} #>> '{{}}'), {j} #>> '{{}}') END"
            ),
            _ if key.case_exact => format!("CASE WHEN jsonb_typeof({j}) = 'string' THEN {j} #>> '{{}}' END"),
            _ => format!("CASE WHEN jsonb_typeof({j}) = 'string' THEN scimd_fold({j} #>> '{{}}') END"),
        }
    };
    let expr = match &key.path {
        ClaimPath::Column(Column::Id) if !key.case_exact => "scimd_fold(r.id)".to_owned(),
        ClaimPath::Column(c) => column(*c).to_owned(),
        ClaimPath::Claim { claim, sub: None } => {
            // A list's first value (a subquery, run only for lists), else the value itself.
            let c = sql.text(claim.as_str());
            format!(
                "CASE WHEN jsonb_typeof(r.claims -> {c}) = 'array' THEN (SELECT {} FROM \
                 jsonb_array_elements(r.claims -> {c}) WITH ORDINALITY AS x (v, n) \
                 WHERE jsonb_typeof(x.v) <> 'null' ORDER BY x.n LIMIT 1) ELSE {} END",
                typed("x.v"),
                typed(&format!("(r.claims -> {c})"))
            )
        }
        ClaimPath::Claim { claim, sub: Some(sub) } => {
            let c = sql.text(claim.as_str());
            let s = sql.text(sub.as_str());
            format!(
                "(SELECT {} FROM jsonb_array_elements(CASE jsonb_typeof(r.claims -> {c}) WHEN 'array' \
                 THEN r.claims -> {c} ELSE '[]'::jsonb END) WITH ORDINALITY AS x (v, n) \
                 WHERE jsonb_typeof(x.v) = 'object' \
                 ORDER BY coalesce(x.v -> 'primary' = 'true'::jsonb, false) DESC, x.n LIMIT 1)",
                typed(&format!("(x.v -> {s})"))
            )
        }
        ClaimPath::Element { .. } | ClaimPath::Member(_) => {
            return Err(StoreError::Unsupported("sorting by a member or element field".to_owned()));
        }
    };
    Ok(match ty {
        KeyType::Text => (format!("({expr}) COLLATE \"C\""), ty),
        _ => (expr, ty),
    })
}

fn column(c: Column) -> &'static str {
    match c {
        Column::Id => "r.id",
        Column::Created => "r.created",
        Column::LastModified => "r.last_modified",
    }
}

fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
    }
}

/// The values a path reads.
enum Values {
    /// Rows of `jsonb` values named `v`: `FROM <from>`.
    Json(String),
    /// One text value, NULL for none.
    Text { expr: &'static str, canonical_instant: bool },
    /// One text value per member row `m` of the group `r`, NULL for none.
    Members(&'static str),
}

/// One value as a condition sees it.
struct Value {
    expr: &'static str,
    json: bool,
    /// The value is stored canonical instant text (`meta.created`, `meta.lastModified`).
    canonical_instant: bool,
}

impl Value {
    /// The condition "is a string" (text values are, when not NULL).
    fn is_string(&self) -> String {
        if self.json { format!("jsonb_typeof({}) = 'string'", self.expr) } else { "TRUE".to_owned() }
    }

    /// The value as text (a JSON string unquoted).
    fn text(&self) -> String {
        if self.json { format!("({} #>> '{{}}')", self.expr) } else { self.expr.to_owned() }
    }
}

impl Values {
    fn value(&self) -> Value {
        match self {
            Values::Json(_) => Value { expr: "v", json: true, canonical_instant: false },
            Values::Text { expr, canonical_instant } => {
                Value { expr, json: false, canonical_instant: *canonical_instant }
            }
            Values::Members(expr) => Value { expr, json: false, canonical_instant: false },
        }
    }

    /// Some value satisfies `cond`.
    fn exists(&self, cond: &str) -> String {
        match self {
            Values::Json(from) => format!("EXISTS (SELECT 1 FROM {from} WHERE {cond})"),
            Values::Text { expr, .. } => format!("({expr} IS NOT NULL AND {cond})"),
            Values::Members(expr) => format!(
                "EXISTS (SELECT 1 FROM members AS m WHERE m.group_seq = r.seq AND {expr} IS NOT NULL AND {cond})"
            ),
        }
    }

    /// There is no value.
    fn none(&self) -> String {
        match self {
            Values::Json(from) => format!("NOT EXISTS (SELECT 1 FROM {from})"),
            Values::Text { expr, .. } => format!("{expr} IS NULL"),
            Values::Members(expr) => format!(
                "NOT EXISTS (SELECT 1 FROM members AS m WHERE m.group_seq = r.seq AND {expr} IS NOT NULL)"
            ),
        }
    }
}

fn member_value(field: MemberField) -> &'static str {
    match field {
        MemberField::Value => "m.member_id",
        MemberField::Display => "m.display",
        MemberField::Type => "(CASE m.kind WHEN 1 THEN 'User' ELSE 'Group' END)",
    }
}

/// RFC 7644 §3.4.2.2 `pr` of one value.
fn present(v: &Value) -> String {
    if v.json { format!("scimd_present({})", v.expr) } else { format!("{} <> ''", v.expr) }
}

struct Compiler<'a> {
    kind: ResourceKind,
    sql: &'a mut Sql,
}

impl Compiler<'_> {
    fn filter(&mut self, filter: &ClaimFilter, scope: Scope) -> StoreResult<String> {
        Ok(match filter {
            ClaimFilter::All => "TRUE".to_owned(),
            ClaimFilter::And(parts) => self.join(parts, scope, " AND ", "TRUE")?,
            ClaimFilter::Or(parts) => self.join(parts, scope, " OR ", "FALSE")?,
            ClaimFilter::Not(inner) => format!("NOT coalesce({}, false)", self.filter(inner, scope)?),
            ClaimFilter::Eq { claim, value, case_exact } => {
                if scope != Scope::Top {
                    return Err(StoreError::Unsupported("a claim equality inside a value path".to_owned()));
                }
                self.eq(claim, value, *case_exact)
            }
            ClaimFilter::Compare { path, op, value, attr_type, case_exact } => {
                let leaf = Leaf { ty: *attr_type, case_exact: *case_exact };
                if let Some(indexed) = self.indexed_compare(path, *op, value, leaf, scope)? {
                    return Ok(indexed);
                }
                self.compare(path, *op, value, leaf, scope)?
            }
            ClaimFilter::Present { path } => {
                let values = self.values(path, scope)?;
                values.exists(&present(&values.value()))
            }
            ClaimFilter::ElementMatch { of, filter } => {
                if scope != Scope::Top {
                    return Err(StoreError::Unsupported("a value path inside a value path".to_owned()));
                }
                match of {
                    Collection::Claim(claim) => {
                        // `emails[value eq "x" ...]`: the emails index narrows the rows first.
                        let hint = match filter.required_element_eq("value") {
                            Some(s) if claim == EMAILS && self.kind == ResourceKind::User => {
                                format!("{} AND ", self.emails_value_index(s))
                            }
                            _ => String::new(),
                        };
                        let c = self.sql.text(claim.as_str());
                        let inner = self.filter(filter, Scope::Element)?;
                        format!(
                            "({hint}EXISTS (SELECT 1 FROM scimd_values(r.claims -> {c}) AS e \
                             WHERE jsonb_typeof(e) = 'object' AND {inner}))"
                        )
                    }
                    Collection::Members => {
                        let inner = self.filter(filter, Scope::Member)?;
                        format!("EXISTS (SELECT 1 FROM members AS m WHERE m.group_seq = r.seq AND {inner})")
                    }
                }
            }
        })
    }

    fn join(&mut self, parts: &[ClaimFilter], scope: Scope, op: &str, empty: &str) -> StoreResult<String> {
        if parts.is_empty() {
            return Ok(empty.to_owned());
        }
        let compiled = parts.iter().map(|p| self.filter(p, scope)).collect::<StoreResult<Vec<_>>>()?;
        Ok(format!("({})", compiled.join(op)))
    }

    /// The values `path` reads in `scope`.
    fn values(&mut self, path: &ClaimPath, scope: Scope) -> StoreResult<Values> {
        Ok(match (path, scope) {
            (ClaimPath::Column(c), Scope::Top) => Values::Text {
                expr: column(*c),
                canonical_instant: matches!(c, Column::Created | Column::LastModified),
            },
            (ClaimPath::Claim { claim, sub: None }, Scope::Top) => {
                let c = self.sql.text(claim.as_str());
                Values::Json(format!("scimd_values(r.claims -> {c}) AS v"))
            }
            (ClaimPath::Claim { claim, sub: Some(sub) }, Scope::Top) => {
                let c = self.sql.text(claim.as_str());
                let s = self.sql.text(sub.as_str());
                Values::Json(format!("scimd_values(r.claims -> {c}) AS e0, scimd_values(e0 -> {s}) AS v"))
            }
            (ClaimPath::Element { sub }, Scope::Element) => {
                let s = self.sql.text(sub.as_str());
                Values::Json(format!("scimd_values(e -> {s}) AS v"))
            }
            (ClaimPath::Member(field), Scope::Top) => Values::Members(member_value(*field)),
            (ClaimPath::Member(field), Scope::Member) => {
                Values::Text { expr: member_value(*field), canonical_instant: false }
            }
            _ => return Err(StoreError::Unsupported(format!("the path {path:?} in this place"))),
        })
    }

    fn compare(
        &mut self,
        path: &ClaimPath,
        op: CompareOp,
        value: &CompValue,
        leaf: Leaf,
        scope: Scope,
    ) -> StoreResult<String> {
        let values = self.values(path, scope)?;
        let v = values.value();
        Ok(match (op, value) {
            // RFC 7643 §2.5: null is unassigned.
            (CompareOp::Eq, CompValue::Null) => format!("NOT {}", values.exists(&present(&v))),
            (CompareOp::Ne, CompValue::Null) => values.exists(&present(&v)),
            (_, CompValue::Null) => "FALSE".to_owned(),
            // A missing attribute is not equal to anything; else some value is not equal.
            (CompareOp::Ne, _) => {
                let eq = self.cond(&v, CompareOp::Eq, value, leaf);
                format!("({} OR {})", values.none(), values.exists(&format!("NOT coalesce({eq}, false)")))
            }
            _ => {
                let cond = self.cond(&v, op, value, leaf);
                values.exists(&cond)
            }
        })
    }

    /// One value against the filter's value; `op` is never `Ne`.
    fn cond(&mut self, v: &Value, op: CompareOp, value: &CompValue, leaf: Leaf) -> String {
        match (leaf.ty, value) {
            (AttrType::Boolean, CompValue::Bool(b)) if op == CompareOp::Eq => {
                if !v.json {
                    return "FALSE".to_owned();
                }
                let p = self.sql.bind(Param::Bool(*b));
                format!("{} = to_jsonb({p}::boolean)", v.expr)
            }
            (AttrType::Integer | AttrType::Decimal, CompValue::Num(n)) if !op.is_substring() => {
                if !v.json {
                    return "FALSE".to_owned();
                }
                let p = self.sql.text(n.to_string());
                format!(
                    "CASE WHEN jsonb_typeof({e}) = 'number' THEN ({e})::numeric {o} {p}::numeric END",
                    e = v.expr,
                    o = sql_op(op)
                )
            }
            (AttrType::DateTime, CompValue::Str(s)) if !op.is_substring() => match instant(s) {
                Some(canonical) => {
                    let o = sql_op(op);
                    let c = self.sql.text(canonical);
                    if v.canonical_instant {
                        return format!("{} COLLATE \"C\" {o} {c}", v.expr);
                    }
                    let raw = self.sql.text(s.as_str());
                    let t = v.text();
                    format!(
                        "CASE WHEN {} THEN CASE WHEN scimd_instant({t}) IS NOT NULL \
                         THEN scimd_instant({t}) COLLATE \"C\" {o} {c} ELSE {t} COLLATE \"C\" {o} {raw} END END",
                        v.is_string()
                    )
                }
                None => self.text_cond(v, op, s, true),
            },
            (
                AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime,
                CompValue::Str(s),
            ) => self.text_cond(v, op, s, leaf.case_exact),
            _ => "FALSE".to_owned(),
        }
    }

    fn text_cond(&mut self, v: &Value, op: CompareOp, s: &str, case_exact: bool) -> String {
        let t = v.text();
        let p = self.sql.text(s);
        let (x, p) =
            if case_exact { (t, p) } else { (format!("scimd_fold({t})"), format!("scimd_fold({p})")) };
        let cond = match op {
            CompareOp::Co => format!("strpos({x}, {p}) > 0"),
            CompareOp::Sw => format!("starts_with({x}, {p})"),
            CompareOp::Ew => format!("right({x}, char_length({p})) = {p}"),
            CompareOp::Eq | CompareOp::Ne => format!("{x} = {p}"),
            _ => format!("{x} COLLATE \"C\" {} {p}", sql_op(op)),
        };
        if v.json { format!("({} AND {cond})", v.is_string()) } else { cond }
    }

    /// An equality the schema indexes, written as the index expression; `None`: not one.
    fn indexed_compare(
        &mut self,
        path: &ClaimPath,
        op: CompareOp,
        value: &CompValue,
        leaf: Leaf,
        scope: Scope,
    ) -> StoreResult<Option<String>> {
        let (CompareOp::Eq, CompValue::Str(s), Scope::Top) = (op, value, scope) else { return Ok(None) };
        Ok(match path {
            ClaimPath::Column(Column::Id) if leaf.case_exact => {
                let p = self.sql.text(s.as_str());
                Some(format!("r.id = {p}"))
            }
            ClaimPath::Claim { claim, sub: None } if leaf.ty == AttrType::String => {
                self.indexed_claim_eq(claim, s, leaf.case_exact)
            }
            ClaimPath::Claim { claim, sub: Some(sub) }
                if claim == EMAILS
                    && sub == "value"
                    && self.kind == ResourceKind::User
                    && leaf.ty == AttrType::String =>
            {
                let index = self.emails_value_index(s);
                if leaf.case_exact {
                    let exact = self.compare(path, op, value, leaf, scope)?;
                    Some(format!("({index} AND {exact})"))
                } else {
                    Some(index)
                }
            }
            _ => None,
        })
    }

    /// `emails.value` folded contains `s` folded: the GIN index on emails.
    fn emails_value_index(&mut self, s: &str) -> String {
        let p = self.sql.text(s);
        format!("scimd_folded_subvalues(r.claims -> '{EMAILS}', 'value') @> ARRAY[scimd_fold({p})]")
    }

    /// The string value of an indexed singular claim equals `s`; `None`: not an indexed claim.
    fn indexed_claim_eq(&mut self, claim: &str, s: &str, case_exact: bool) -> Option<String> {
        let claim = indexed_claim(self.kind, claim)?;
        let p = self.sql.text(s);
        let text = format!("(r.claims ->> '{claim}')");
        let is_string = format!("jsonb_typeof(r.claims -> '{claim}') = 'string'");
        Some(if claim == EXTERNAL_ID {
            // externalId is caseExact (RFC 7643 §3.1): its index holds the value as written.
            if case_exact {
                format!("({text} = {p} AND {is_string})")
            } else {
                format!("(scimd_fold{text} = scimd_fold({p}) AND {is_string})")
            }
        } else if case_exact {
            format!("(scimd_fold{text} = scimd_fold({p}) AND {text} = {p} AND {is_string})")
        } else {
            format!("(scimd_fold{text} = scimd_fold({p}) AND {is_string})")
        })
    }

    /// A hand-built [`ClaimFilter::Eq`]: the claim's value, or one of its values, is the string
    /// `value`, or the boolean or number it spells.
    fn eq(&mut self, claim: &str, value: &str, case_exact: bool) -> String {
        if claim == ID {
            let p = self.sql.text(value);
            return if case_exact {
                format!("r.id = {p}")
            } else {
                format!("scimd_fold(r.id) = scimd_fold({p})")
            };
        }
        if let Some(indexed) = self.indexed_claim_eq(claim, value, case_exact) {
            return indexed;
        }
        let c = self.sql.text(claim);
        let p = self.sql.text(value);
        let mut any = vec![if case_exact {
            format!("(jsonb_typeof(v) = 'string' AND (v #>> '{{}}') = {p})")
        } else {
            format!("(jsonb_typeof(v) = 'string' AND scimd_fold(v #>> '{{}}') = scimd_fold({p}))")
        }];
        let boolean = if value.eq_ignore_ascii_case("true") {
            Some(true)
        } else if value.eq_ignore_ascii_case("false") {
            Some(false)
        } else {
            None
        };
        if let Some(b) = boolean {
            let b = self.sql.bind(Param::Bool(b));
            any.push(format!("v = to_jsonb({b}::boolean)"));
        }
        let number = match value.trim().parse::<i64>() {
            Ok(i) => Some(i.to_string()),
            Err(_) => value.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f.to_string()),
        };
        if let Some(n) = number {
            let n = self.sql.text(n);
            any.push(format!("CASE WHEN jsonb_typeof(v) = 'number' THEN (v)::numeric = {n}::numeric END"));
        }
        format!("EXISTS (SELECT 1 FROM scimd_values(r.claims -> {c}) AS v WHERE {})", any.join(" OR "))
    }
}

#[derive(Clone, Copy)]
struct Leaf {
    ty: AttrType,
    case_exact: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use scimd_claims::claims::{DISPLAY_NAME, GROUP_DISPLAY_NAME};

    fn compiled(kind: ResourceKind, filter: &ClaimFilter) -> Sql {
        let mut sql = Sql::default();
        sql.text = compile(kind, filter, &mut sql).unwrap();
        sql
    }

    fn cmp(path: ClaimPath, op: CompareOp, value: &str, case_exact: bool) -> ClaimFilter {
        ClaimFilter::Compare {
            path,
            op,
            value: CompValue::Str(value.into()),
            attr_type: AttrType::String,
            case_exact,
        }
    }

    fn claim(c: &str) -> ClaimPath {
        ClaimPath::Claim { claim: c.into(), sub: None }
    }

    #[test]
    fn equalities_on_unique_keys_match_at_most_one() {
        use ResourceKind::{Group, User};
        let user_name = cmp(claim(USER_NAME), CompareOp::Eq, "kim", false);
        let id = cmp(ClaimPath::Column(Column::Id), CompareOp::Eq, "u1", true);
        let display = cmp(claim(DISPLAY_NAME), CompareOp::Eq, "Kim", false);
        assert!(at_most_one(User, &user_name));
        assert!(at_most_one(User, &id) && at_most_one(Group, &id));
        assert!(at_most_one(User, &ClaimFilter::And(vec![display.clone(), user_name.clone()])));
        // Not unique: a group's userName claim, a displayName, an id compared without case
        // (two ids may differ by case alone), an OR, another operator.
        assert!(!at_most_one(Group, &user_name));
        assert!(!at_most_one(User, &display));
        assert!(!at_most_one(User, &cmp(ClaimPath::Column(Column::Id), CompareOp::Eq, "u1", false)));
        assert!(!at_most_one(User, &ClaimFilter::Or(vec![user_name.clone(), id.clone()])));
        assert!(!at_most_one(User, &cmp(claim(USER_NAME), CompareOp::Sw, "kim", false)));
    }

    #[test]
    fn filters_an_index_narrows_are_told_from_scans() {
        use ResourceKind::{Group, User};
        let user_name = cmp(claim(USER_NAME), CompareOp::Eq, "kim", false);
        let family = cmp(claim("urn:scimd:claims:name.familyName"), CompareOp::Eq, "Doe", false);
        let emails = cmp(
            ClaimPath::Claim { claim: EMAILS.to_owned(), sub: Some("value".to_owned()) },
            CompareOp::Eq,
            "kim@example.com",
            false,
        );
        let element = |sub: &str| ClaimFilter::ElementMatch {
            of: Collection::Claim(EMAILS.to_owned()),
            filter: Box::new(cmp(ClaimPath::Element { sub: sub.to_owned() }, CompareOp::Eq, "x", false)),
        };
        assert!(narrowed_by_index(User, &user_name));
        assert!(narrowed_by_index(User, &emails));
        assert!(narrowed_by_index(User, &element("value")));
        assert!(narrowed_by_index(User, &ClaimFilter::And(vec![family.clone(), user_name.clone()])));
        assert!(narrowed_by_index(User, &cmp(ClaimPath::Column(Column::Id), CompareOp::Eq, "u1", true)));
        assert!(narrowed_by_index(Group, &cmp(claim(GROUP_DISPLAY_NAME), CompareOp::Eq, "g", false)));
        // Scans: no indexed equality, or one that an OR, a NOT or another operator hides.
        assert!(!narrowed_by_index(User, &ClaimFilter::All));
        assert!(!narrowed_by_index(User, &family));
        assert!(!narrowed_by_index(User, &element("type")));
        assert!(!narrowed_by_index(Group, &user_name));
        assert!(!narrowed_by_index(Group, &emails));
        assert!(!narrowed_by_index(User, &ClaimFilter::Or(vec![family.clone(), user_name.clone()])));
        assert!(narrowed_by_index(User, &ClaimFilter::Or(vec![emails.clone(), user_name.clone()])));
        assert!(!narrowed_by_index(User, &ClaimFilter::Or(vec![])));
        assert!(!narrowed_by_index(User, &ClaimFilter::Not(Box::new(user_name))));
        assert!(!narrowed_by_index(User, &cmp(claim(USER_NAME), CompareOp::Sw, "k", false)));
        assert!(!narrowed_by_index(User, &cmp(ClaimPath::Column(Column::Id), CompareOp::Eq, "u1", false)));
    }

    #[test]
    fn user_name_equality_is_the_unique_index_expression() {
        let sql = compiled(ResourceKind::User, &cmp(claim(USER_NAME), CompareOp::Eq, "Kim", false));
        assert_eq!(
            sql.text,
            "(scimd_fold(r.claims ->> 'urn:scimd:claims:userName') = scimd_fold($1) \
             AND jsonb_typeof(r.claims -> 'urn:scimd:claims:userName') = 'string')"
        );
        assert_eq!(sql.params, vec![Param::Text("Kim".into())]);
    }

    #[test]
    fn display_name_index_serves_the_kinds_own_claim_only() {
        let sql = compiled(ResourceKind::Group, &cmp(claim(GROUP_DISPLAY_NAME), CompareOp::Eq, "A", false));
        assert!(
            sql.text.starts_with("(scimd_fold(r.claims ->> 'urn:scimd:claims:groupDisplayName')"),
            "{}",
            sql.text
        );
        let sql = compiled(ResourceKind::Group, &cmp(claim(DISPLAY_NAME), CompareOp::Eq, "A", false));
        assert!(sql.text.starts_with("EXISTS"), "{}", sql.text);
    }

    #[test]
    fn not_makes_its_operand_two_valued() {
        let f = ClaimFilter::Not(Box::new(cmp(claim(USER_NAME), CompareOp::Eq, "x", false)));
        assert!(compiled(ResourceKind::User, &f).text.starts_with("NOT coalesce((scimd_fold("));
    }

    #[test]
    fn and_or_nest_with_parentheses_and_empty_lists_are_constants() {
        let f = ClaimFilter::Or(vec![
            ClaimFilter::And(vec![
                cmp(ClaimPath::Column(Column::Id), CompareOp::Eq, "1", true),
                ClaimFilter::All,
            ]),
            ClaimFilter::And(vec![]),
            ClaimFilter::Or(vec![]),
        ]);
        assert_eq!(compiled(ResourceKind::User, &f).text, "((r.id = $1 AND TRUE) OR TRUE OR FALSE)");
    }

    /// RFC 7644 §3.4.2.2: `co`, `sw` and `ew` take their value literally (no LIKE patterns).
    #[test]
    fn substring_operators_bind_the_value_and_use_no_like() {
        for op in [CompareOp::Co, CompareOp::Sw, CompareOp::Ew] {
            let sql = compiled(ResourceKind::User, &cmp(claim("urn:x:title"), op, "a%_", false));
            assert!(!sql.text.contains("LIKE"), "{}", sql.text);
            assert!(sql.params.contains(&Param::Text("a%_".into())));
        }
    }

    #[test]
    fn emails_value_path_is_narrowed_by_the_emails_index() {
        let f = ClaimFilter::ElementMatch {
            of: Collection::Claim(EMAILS.into()),
            filter: Box::new(ClaimFilter::And(vec![
                cmp(ClaimPath::Element { sub: "type".into() }, CompareOp::Eq, "work", false),
                cmp(ClaimPath::Element { sub: "value".into() }, CompareOp::Eq, "a@b", false),
            ])),
        };
        let sql = compiled(ResourceKind::User, &f);
        assert!(
            sql.text
                .starts_with("(scimd_folded_subvalues(r.claims -> 'urn:scimd:claims:emails', 'value') @> "),
            "{}",
            sql.text
        );
    }

    #[test]
    fn sort_keys_are_typed() {
        let key = |path, attr_type| SortKey { path, attr_type, case_exact: false, descending: false };
        let mut sql = Sql::default();
        let (expr, ty) = compile_sort_key(&key(claim(USER_NAME), AttrType::String), &mut sql).unwrap();
        assert_eq!(ty, KeyType::Text);
        assert!(expr.ends_with("COLLATE \"C\""), "{expr}");
        let (_, ty) = compile_sort_key(&key(claim("urn:x:n"), AttrType::Integer), &mut sql).unwrap();
        assert_eq!(ty, KeyType::Numeric);
        assert!(
            compile_sort_key(&key(ClaimPath::Member(MemberField::Value), AttrType::String), &mut sql)
                .is_err()
        );
    }
}
