//! The compiler from a [`ClaimFilter`] to an LDAP filter (RFC 4515) over the mapped
//! attributes.
//!
//! An LDAP filter cannot always say what a claim filter means (`scimd_claims::filter`): LDAP
//! compares strings after RFC 4518 preparation (insignificant spaces, Unicode case folding),
//! has no "some value is not equal", matches a multi-valued attribute's values independently
//! (no "one and the same element"), and evaluates a comparison it has no matching rule for to
//! Undefined, which `!` does not turn into TRUE. So each node compiles to a filter that is
//! either **exact** (TRUE exactly for the resources the claim filter matches, FALSE for the
//! others, never Undefined) or a **superset** (TRUE for every match); a query whose filter is
//! not exact checks each candidate in memory with `scimd_claims::eval`.
//!
//! | claim filter                                  | LDAP                                            |
//! |-----------------------------------------------|-------------------------------------------------|
//! | `and`, `or`                                   | `(&…)`, `(|…)`: exact when every part is        |
//! | `not f`                                       | `(!f)` when `f` is exact, else every entry       |
//! | `pr`, `eq null`, `ne null`                    | `(A=*)` and its negation: exact                 |
//! | boolean `eq` (booleanMatch)                   | `(A=TRUE)`: exact                               |
//! | integer, instant `eq` `ge` `le` (with rules)  | `(A=n)`, `(A>=n)`, `(A<=n)`: exact              |
//! | integer, instant `gt` `lt`                    | `(&(A>=n)(!(A=n)))` single-valued: exact; else `(A>=n)` |
//! | string `eq` (caseIgnore, or caseExact claims) | `(A=v)`: superset                               |
//! | string `co` `sw` `ew` (with a substring rule) | `(A=*v*)`, `(A=v*)`, `(A=*v)`: superset         |
//! | string `gt` `ge` `lt` `le`, other rules       | `(A=*)`: superset                               |
//! | `ne v`                                        | `(!eq)` when `eq` is exact and A single-valued, else every entry |
//! | `id eq v` (entryUUID/objectGUID)              | `(entryUUID=v)`: exact                          |
//! | `meta.created`/`lastModified`                 | the timestamp attribute, as instants: exact     |
//! | `members.value eq id`                         | `(member=<DN of id>)`: exact                    |
//! | typed views (`emails.type`, `emails.value`)   | per view attribute; `type` is known per view    |
//! | `emails[…]`, `members[…]`                     | per view: `(&(A=*)…)`: superset unless one exact leaf |
//! | a claim no attribute holds                    | no values: TRUE or FALSE, exact                 |
//!
//! Values are escaped as RFC 4515 §3 requires: `*`, `(`, `)`, `\` and NUL as `\XX`, and, so
//! that the filter is plain ASCII whatever the value, every other octet outside printable
//! ASCII too (UTF-8 sequences byte by byte; RFC 4515 §3 allows escaping any octet).

use std::collections::HashMap;

use base64ct::{Base64, Encoding as _};
use scimd_claims::claims::ID;
use scimd_claims::eval;
use scimd_claims::filter::{ClaimPath, Collection, Column, MemberField};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, MappedClaim, ValueKind};
use serde_json::Value;

use crate::entry::{Layout, format_generalized_time, guid_bytes, uuid_bytes};
use crate::schema::{AttrInfo, DirSchema, EqRule, SubstrRule, Syntax};

/// Escapes an assertion value (RFC 4515 §3).
pub(crate) fn escape(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for &b in value {
        if b == b'*' || b == b'(' || b == b')' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            out.push_str(&format!("\\{b:02x}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// A compiled filter: the LDAP filter and whether it is exact (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Compiled {
    pub(crate) filter: String,
    pub(crate) exact: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum F {
    True,
    False,
    Raw(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    f: F,
    exact: bool,
}

const ALL: &str = "(objectClass=*)";

impl Node {
    fn exact(f: F) -> Node {
        Node { f, exact: true }
    }
    fn superset(f: F) -> Node {
        Node { f, exact: false }
    }
    fn raw(s: String, exact: bool) -> Node {
        Node { f: F::Raw(s), exact }
    }
    fn constant(b: bool) -> Node {
        Node::exact(if b { F::True } else { F::False })
    }
    /// Every entry, as a superset.
    fn anything() -> Node {
        Node::superset(F::True)
    }
    fn is_constant(&self) -> bool {
        !matches!(self.f, F::Raw(_))
    }
    fn text(&self) -> String {
        match &self.f {
            F::True => ALL.to_owned(),
            F::False => format!("(!{ALL})"),
            F::Raw(s) => s.clone(),
        }
    }
}

fn and(parts: Vec<Node>) -> Node {
    let exact = parts.iter().all(|p| p.exact);
    let mut raws = Vec::new();
    for p in parts {
        match p.f {
            F::True => {}
            // No entry matches: as exact as it gets.
            F::False => return Node::exact(F::False),
            F::Raw(s) => raws.push(s),
        }
    }
    match raws.len() {
        0 => Node { f: F::True, exact },
        1 => Node::raw(raws.remove(0), exact),
        _ => Node::raw(format!("(&{})", raws.concat()), exact),
    }
}

fn or(parts: Vec<Node>) -> Node {
    if parts.iter().any(|p| p.exact && p.f == F::True) {
        return Node::exact(F::True);
    }
    let exact = parts.iter().all(|p| p.exact);
    let mut raws = Vec::new();
    for p in parts {
        match p.f {
            // TRUE for every entry: a superset of anything.
            F::True => return Node::anything(),
            F::False => {}
            F::Raw(s) => raws.push(s),
        }
    }
    match raws.len() {
        0 => Node::exact(F::False),
        1 => Node::raw(raws.remove(0), exact),
        _ => Node::raw(format!("(|{})", raws.concat()), exact),
    }
}

fn not(node: Node) -> Node {
    if !node.exact {
        return Node::anything();
    }
    match node.f {
        F::True => Node::exact(F::False),
        F::False => Node::exact(F::True),
        F::Raw(s) => Node::raw(format!("(!{s})"), true),
    }
}

/// What the compiler reads: the kind's layout, the directory schema, and the DNs of the
/// member ids the filter names (resolved before, see [`member_ids`]).
pub(crate) struct Cx<'a> {
    pub(crate) layout: &'a Layout,
    pub(crate) schema: &'a DirSchema,
    pub(crate) member_attr: &'a str,
    pub(crate) empty_member: Option<&'a str>,
    /// Member id (lower-cased unless compared case-exactly) → its DN, `None` if no such entry.
    pub(crate) member_dns: &'a HashMap<String, Option<String>>,
}

/// The key under which a member id is resolved.
pub(crate) fn member_key(id: &str, case_exact: bool) -> String {
    if case_exact { id.to_owned() } else { id.to_lowercase() }
}

/// The member ids the filter compares `members.value` with `eq` (to resolve to DNs first),
/// with whether they compare case-exactly.
pub(crate) fn member_ids(filter: &ClaimFilter, out: &mut Vec<(String, bool)>) {
    match filter {
        ClaimFilter::And(parts) | ClaimFilter::Or(parts) => parts.iter().for_each(|p| member_ids(p, out)),
        ClaimFilter::Not(inner) => member_ids(inner, out),
        ClaimFilter::ElementMatch { filter, .. } => member_ids(filter, out),
        ClaimFilter::Compare {
            path: ClaimPath::Member(MemberField::Value),
            op: CompareOp::Eq,
            value: CompValue::Str(s),
            case_exact,
            ..
        } => out.push((s.clone(), *case_exact)),
        _ => {}
    }
}

/// Where a path is read.
#[derive(Clone, Copy)]
enum Scope<'m> {
    Top,
    /// One element of a claim, kept by this view.
    View(&'m MappedClaim),
    /// One member.
    Member,
}

impl Cx<'_> {
    /// Compiles `filter` (the kind selection is the caller's).
    pub(crate) fn compile(&self, filter: &ClaimFilter) -> Compiled {
        let node = self.node(filter, Scope::Top);
        Compiled { filter: node.text(), exact: node.exact }
    }

    fn node(&self, filter: &ClaimFilter, scope: Scope<'_>) -> Node {
        match filter {
            ClaimFilter::All => Node::exact(F::True),
            ClaimFilter::And(parts) => {
                let nodes: Vec<Node> = parts.iter().map(|p| self.node(p, scope)).collect();
                let inner = nodes.iter().filter(|n| !n.is_constant()).count();
                let mut n = and(nodes);
                // Two conditions on one element of a multi-valued attribute may hold for two
                // different values.
                if inner > 1 && !self.single(scope) {
                    n.exact = false;
                }
                n
            }
            ClaimFilter::Or(parts) => or(parts.iter().map(|p| self.node(p, scope)).collect()),
            ClaimFilter::Not(inner) => {
                let n = self.node(inner, scope);
                if n.is_constant() || self.single(scope) { not(n) } else { Node::anything() }
            }
            ClaimFilter::Eq { claim, value, case_exact } => {
                let cmp = |path| ClaimFilter::Compare {
                    path,
                    op: CompareOp::Eq,
                    value: CompValue::Str(value.clone()),
                    attr_type: AttrType::String,
                    case_exact: *case_exact,
                };
                if claim == ID {
                    return self.node(&cmp(ClaimPath::Column(Column::Id)), scope);
                }
                // Also matches booleans and numbers by their text: left to the evaluator.
                match self.layout.map.of_claim(claim) {
                    Some(e) => Node::superset(F::Raw(format!("({}=*)", e.attribute))),
                    None => {
                        let n = self.node(&cmp(ClaimPath::Claim { claim: claim.clone(), sub: None }), scope);
                        Node { exact: false, ..n }
                    }
                }
            }
            ClaimFilter::Compare { path, op, value, attr_type, case_exact } => {
                self.compare(path, *op, value, *attr_type, *case_exact, scope)
            }
            ClaimFilter::Present { path } => self.present(path, scope),
            ClaimFilter::ElementMatch { of, filter } => match (of, scope) {
                (Collection::Claim(claim), Scope::Top) => {
                    let views = self.views(claim);
                    let parts = views
                        .into_iter()
                        .map(|v| {
                            let inner = self.node(filter, Scope::View(v));
                            and(vec![self.presence(v, false), inner])
                        })
                        .collect();
                    or(parts)
                }
                (Collection::Members, Scope::Top) => {
                    let inner = self.node(filter, Scope::Member);
                    let exists = self.members_present();
                    let exact = inner.exact && exists.exact;
                    Node { exact, ..and(vec![exists, inner]) }
                }
                // Nested value paths match nothing (the SCIM evaluator's rule).
                _ => Node::exact(F::False),
            },
        }
    }

    /// Whether a path in `scope` reads at most one value per entry for the conditions on it.
    fn single(&self, scope: Scope<'_>) -> bool {
        match scope {
            Scope::Top => true,
            Scope::View(v) => self.schema.info(&v.attribute).single_value,
            Scope::Member => false,
        }
    }

    fn views<'m>(&'m self, claim: &str) -> Vec<&'m MappedClaim> {
        self.layout.map.entries().iter().filter(|e| e.claim == claim && e.view_type.is_some()).collect()
    }

    /// `(A=*)`: the attribute has a value. For `pr` (`for_pr`), where an empty value is not
    /// present, exact only where the syntax has no empty value.
    fn presence(&self, e: &MappedClaim, for_pr: bool) -> Node {
        let info = self.schema.info(&e.attribute);
        let exact = !for_pr || !matches!(info.syntax, Syntax::Ia5 | Syntax::Binary);
        Node::raw(format!("({}=*)", e.attribute), exact)
    }

    /// Some member (the empty-group member aside).
    fn members_present(&self) -> Node {
        let present = format!("({}=*)", self.member_attr);
        match self.empty_member {
            None => Node::raw(present, true),
            Some(_) => Node::raw(present, false),
        }
    }

    /// No member.
    fn members_absent(&self) -> Node {
        let absent = format!("(!({}=*))", self.member_attr);
        match self.empty_member {
            None => Node::raw(absent, true),
            Some(dn) => {
                Node::raw(format!("(|{absent}({}={}))", self.member_attr, escape(dn.as_bytes())), false)
            }
        }
    }

    fn present(&self, path: &ClaimPath, scope: Scope<'_>) -> Node {
        match (path, scope) {
            (ClaimPath::Column(_), _) => Node::exact(F::True),
            (ClaimPath::Member(MemberField::Value | MemberField::Type), Scope::Member) => {
                Node::exact(F::True)
            }
            (ClaimPath::Member(_), Scope::Member) => Node::anything(),
            (ClaimPath::Member(MemberField::Value | MemberField::Type), _) => self.members_present(),
            (ClaimPath::Member(MemberField::Display), _) => Node { exact: false, ..self.members_present() },
            (ClaimPath::Element { sub }, Scope::View(v)) => {
                Node::constant(sub.eq_ignore_ascii_case("value") || sub.eq_ignore_ascii_case("type"))
                    .and_presence(self, v)
            }
            (ClaimPath::Element { .. }, _) => Node::exact(F::False),
            (ClaimPath::Claim { claim, sub }, _) => {
                let mut parts = Vec::new();
                let element_sub =
                    sub.as_deref().map(|s| s.eq_ignore_ascii_case("value") || s.eq_ignore_ascii_case("type"));
                if sub.is_none()
                    && let Some(e) = self.layout.map.of_claim(claim)
                {
                    parts.push(self.presence(e, true));
                }
                let of_value = sub.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("value"));
                if sub.is_none() || element_sub == Some(true) {
                    parts.extend(self.views(claim).into_iter().map(|v| self.presence(v, of_value)));
                }
                or(parts)
            }
        }
    }

    fn compare(
        &self,
        path: &ClaimPath,
        op: CompareOp,
        value: &CompValue,
        ty: AttrType,
        case_exact: bool,
        scope: Scope<'_>,
    ) -> Node {
        // RFC 7643 §2.5: null is unassigned.
        match (op, value) {
            (CompareOp::Eq, CompValue::Null) => {
                if let (ClaimPath::Member(MemberField::Value | MemberField::Type), Scope::Top) = (path, scope)
                {
                    return self.members_absent();
                }
                return not_present(self.present(path, scope));
            }
            (CompareOp::Ne, CompValue::Null) => return self.present(path, scope),
            (_, CompValue::Null) => return Node::exact(F::False),
            _ => {}
        }
        match (path, scope) {
            (ClaimPath::Column(Column::Id), _) => self.id_compare(op, value, case_exact),
            (ClaimPath::Column(c @ (Column::Created | Column::LastModified)), _) => {
                let attr = match c {
                    Column::Created => &self.layout.created_attr,
                    _ => &self.layout.modified_attr,
                };
                match value {
                    CompValue::Str(s) if !op.is_substring() => {
                        let info = AttrInfo { single_value: true, ..self.schema.info(attr) };
                        time_leaf(attr, info, op, s, true)
                    }
                    _ => Node::anything(),
                }
            }
            (ClaimPath::Member(field), _) => self.member_compare(*field, op, value, case_exact, scope),
            (ClaimPath::Element { sub }, Scope::View(v)) => {
                if sub.eq_ignore_ascii_case("type") {
                    let t = Value::String(v.view_type.clone().unwrap_or_default());
                    static_compare(&[t], op, value, ty, case_exact)
                } else if sub.eq_ignore_ascii_case("value") {
                    if op == CompareOp::Ne {
                        // This element's value is not v: LDAP cannot pick the element.
                        return if self.single(scope) {
                            not(self.leaf(v, CompareOp::Eq, value, ty, case_exact))
                        } else {
                            Node::anything()
                        };
                    }
                    self.leaf(v, op, value, ty, case_exact)
                } else {
                    static_compare(&[], op, value, ty, case_exact)
                }
            }
            (ClaimPath::Element { .. }, _) => static_compare(&[], op, value, ty, case_exact),
            (ClaimPath::Claim { claim, sub: None }, _) => {
                let views = self.views(claim);
                match self.layout.map.of_claim(claim) {
                    Some(e) => {
                        if op == CompareOp::Ne {
                            let eq = self.leaf(e, CompareOp::Eq, value, ty, case_exact);
                            let single = self.schema.info(&e.attribute).single_value || !e.multi_valued;
                            let n = if single && eq.exact && views.is_empty() {
                                not(eq)
                            } else {
                                Node::anything()
                            };
                            return n;
                        }
                        let mut parts = vec![self.leaf(e, op, value, ty, case_exact)];
                        // Elements kept by views are objects: they never compare.
                        parts.extend(views.iter().map(|_| Node::exact(F::False)));
                        or(parts)
                    }
                    None => {
                        // No attribute, or only complex elements (objects never compare).
                        match op {
                            CompareOp::Ne => Node::exact(F::True),
                            _ => Node::exact(F::False),
                        }
                    }
                }
            }
            (ClaimPath::Claim { claim, sub: Some(sub) }, _) => {
                let views = self.views(claim);
                if sub.eq_ignore_ascii_case("type") {
                    // The types of the elements present: known per view.
                    let present: Vec<Node> = views.iter().map(|v| self.presence(v, false)).collect();
                    if op == CompareOp::Ne {
                        let none = not(or(present.clone()));
                        let other = views
                            .iter()
                            .filter(|v| {
                                let t = Value::String(v.view_type.clone().unwrap_or_default());
                                !eval::compare(&t, CompareOp::Eq, value, ty, case_exact)
                            })
                            .map(|v| self.presence(v, false))
                            .collect();
                        return or(vec![none, or(other)]);
                    }
                    let hits = views
                        .iter()
                        .filter(|v| {
                            let t = Value::String(v.view_type.clone().unwrap_or_default());
                            eval::compare(&t, op, value, ty, case_exact)
                        })
                        .map(|v| self.presence(v, false))
                        .collect();
                    return or(hits);
                }
                if sub.eq_ignore_ascii_case("value") {
                    if op == CompareOp::Ne {
                        return if views.is_empty() { Node::exact(F::True) } else { Node::anything() };
                    }
                    return or(views.iter().map(|v| self.leaf(v, op, value, ty, case_exact)).collect());
                }
                static_compare(&[], op, value, ty, case_exact)
            }
        }
    }

    /// `id op value` on the id attribute.
    fn id_compare(&self, op: CompareOp, value: &CompValue, case_exact: bool) -> Node {
        let CompValue::Str(s) = value else { return Node::constant(op == CompareOp::Ne) };
        match op {
            CompareOp::Eq | CompareOp::Ne => {
                let eq = match self.id_assertion(s, case_exact) {
                    Some(a) => Node::raw(format!("({}={a})", self.layout.id_attr), true),
                    None if self.uuid_ids() => Node::exact(F::False),
                    None => Node::anything(),
                };
                if op == CompareOp::Ne { not(eq) } else { eq }
            }
            _ => Node::anything(),
        }
    }

    fn uuid_ids(&self) -> bool {
        self.layout.binary_id() || self.layout.id_attr.eq_ignore_ascii_case("entryUUID")
    }

    /// The escaped assertion value that finds the resource with id `id`; `None` if no id can
    /// be `id` (ids are lower-case UUID text).
    pub(crate) fn id_assertion(&self, id: &str, case_exact: bool) -> Option<String> {
        id_assertion(self.layout, id, case_exact)
    }

    fn member_compare(
        &self,
        field: MemberField,
        op: CompareOp,
        value: &CompValue,
        case_exact: bool,
        scope: Scope<'_>,
    ) -> Node {
        match (field, op, value) {
            (MemberField::Value, CompareOp::Eq, CompValue::Str(s)) => {
                match self.member_dns.get(&member_key(s, case_exact)) {
                    Some(Some(dn)) => {
                        Node::raw(format!("({}={})", self.member_attr, escape(dn.as_bytes())), true)
                    }
                    _ => Node::exact(F::False),
                }
            }
            (_, CompareOp::Ne, _) => Node::anything(),
            _ => match scope {
                Scope::Member => Node::anything(),
                _ => Node { exact: false, ..self.members_present() },
            },
        }
    }

    /// One comparison (never `ne`) on the values of one mapped attribute.
    fn leaf(
        &self,
        e: &MappedClaim,
        op: CompareOp,
        value: &CompValue,
        ty: AttrType,
        case_exact: bool,
    ) -> Node {
        let attr = &e.attribute;
        let info = self.schema.info(attr);
        let some = || Node::superset(F::Raw(format!("({attr}=*)")));
        match (ty, value) {
            (AttrType::Boolean, CompValue::Bool(b)) => {
                if op != CompareOp::Eq {
                    return Node::exact(F::False);
                }
                if e.kind == ValueKind::Boolean && info.eq == EqRule::Boolean {
                    Node::raw(format!("({attr}={})", if *b { "TRUE" } else { "FALSE" }), true)
                } else {
                    some()
                }
            }
            (AttrType::Integer | AttrType::Decimal, CompValue::Num(n)) => {
                if op.is_substring() {
                    return Node::exact(F::False);
                }
                match n.as_i64() {
                    Some(i) if e.kind == ValueKind::Integer && info.eq == EqRule::Integer => {
                        ordered_leaf(attr, info, op, &i.to_string(), true)
                    }
                    _ => some(),
                }
            }
            (AttrType::DateTime, CompValue::Str(s)) if !op.is_substring() => {
                if e.kind == ValueKind::DateTime
                    && info.eq == EqRule::Time
                    && info.syntax == Syntax::GeneralizedTime
                {
                    time_leaf(attr, info, op, s, false)
                } else {
                    some()
                }
            }
            (AttrType::String | AttrType::Reference | AttrType::DateTime, CompValue::Str(s)) => {
                if !matches!(e.kind, ValueKind::String | ValueKind::Reference) {
                    return some();
                }
                string_leaf(attr, info, op, s, case_exact).unwrap_or_else(some)
            }
            (AttrType::Binary, CompValue::Str(s)) => {
                // Bytes compared exactly, when the text is canonical base64 of them.
                match Base64::decode_vec(s) {
                    Ok(bytes)
                        if op == CompareOp::Eq
                            && e.kind == ValueKind::Binary
                            && info.eq == EqRule::Octet
                            && !bytes.is_empty()
                            && Base64::encode_string(&bytes) == *s =>
                    {
                        Node::raw(format!("({attr}={})", escape(&bytes)), true)
                    }
                    _ => some(),
                }
            }
            // A value of another type never matches.
            _ => Node::exact(F::False),
        }
    }
}

trait AndPresence {
    fn and_presence(self, cx: &Cx<'_>, v: &MappedClaim) -> Node;
}

impl AndPresence for Node {
    fn and_presence(self, cx: &Cx<'_>, v: &MappedClaim) -> Node {
        and(vec![cx.presence(v, false), self])
    }
}

/// `eq null` from `pr`: exact when `pr` is.
fn not_present(present: Node) -> Node {
    not(present)
}

/// A comparison on values known without the directory (a view's type, or none at all).
fn static_compare(
    values: &[Value],
    op: CompareOp,
    value: &CompValue,
    ty: AttrType,
    case_exact: bool,
) -> Node {
    let hit = match op {
        CompareOp::Ne => {
            values.is_empty()
                || values.iter().any(|v| !eval::compare(v, CompareOp::Eq, value, ty, case_exact))
        }
        _ => values.iter().any(|v| eval::compare(v, op, value, ty, case_exact)),
    };
    Node::constant(hit)
}

/// The escaped assertion value of an id (see [`Cx::id_assertion`]).
pub(crate) fn id_assertion(layout: &Layout, id: &str, case_exact: bool) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    if layout.binary_id() {
        if case_exact && lower != id {
            return None;
        }
        return guid_bytes(&lower).map(|b| escape(&b));
    }
    if layout.id_attr.eq_ignore_ascii_case("entryUUID") {
        if (case_exact && lower != id) || uuid_bytes(&lower).is_none() {
            return None;
        }
        return Some(lower);
    }
    Some(escape(id.as_bytes()))
}

/// An ordered comparison with an integer or GeneralizedTime assertion, where the attribute
/// has an equality rule (and an ordering rule for `ge`/`le`/`gt`/`lt`).
fn ordered_leaf(attr: &str, info: AttrInfo, op: CompareOp, assertion: &str, exact: bool) -> Node {
    let eq = format!("({attr}={assertion})");
    let ge = format!("({attr}>={assertion})");
    let le = format!("({attr}<={assertion})");
    let some = Node::superset(F::Raw(format!("({attr}=*)")));
    match op {
        CompareOp::Eq => Node::raw(eq, exact),
        _ if !info.ordering => some,
        CompareOp::Ge => Node::raw(ge, exact),
        CompareOp::Le => Node::raw(le, exact),
        CompareOp::Gt if info.single_value => Node::raw(format!("(&{ge}(!{eq}))"), exact),
        CompareOp::Lt if info.single_value => Node::raw(format!("(&{le}(!{eq}))"), exact),
        CompareOp::Gt => Node::raw(ge, false),
        CompareOp::Lt => Node::raw(le, false),
        _ => some,
    }
}

/// A dateTime comparison on a GeneralizedTime attribute: as instants. An assertion with a
/// fraction of a second compares with the whole seconds around it (a superset).
fn time_leaf(attr: &str, info: AttrInfo, op: CompareOp, s: &str, column: bool) -> Node {
    let some = Node::superset(F::Raw(format!("({attr}=*)")));
    let Some((secs, nanos)) = eval::parse_instant(s) else {
        // Compared as text by the evaluator.
        return if column { Node::anything() } else { some };
    };
    let at = |secs: i64| time::OffsetDateTime::from_unix_timestamp(secs).ok().map(format_generalized_time);
    if op == CompareOp::Ne {
        return if nanos == 0 && info.single_value {
            match at(secs) {
                Some(t) => not(ordered_leaf(attr, info, CompareOp::Eq, &t, true)),
                None => Node::anything(),
            }
        } else {
            Node::anything()
        };
    }
    if nanos == 0 {
        return match at(secs) {
            Some(t) => ordered_leaf(attr, info, op, &t, true),
            None => some,
        };
    }
    let (Some(floor), Some(ceil)) = (at(secs), at(secs + 1)) else { return some };
    if !info.ordering {
        return some;
    }
    match op {
        CompareOp::Gt | CompareOp::Ge => Node::superset(F::Raw(format!("({attr}>={floor})"))),
        CompareOp::Lt | CompareOp::Le => Node::superset(F::Raw(format!("({attr}<={ceil})"))),
        _ => Node::superset(F::Raw(format!("(&({attr}>={floor})({attr}<={ceil}))"))),
    }
}

/// A string comparison; `None`: only presence can be said.
fn string_leaf(attr: &str, info: AttrInfo, op: CompareOp, s: &str, case_exact: bool) -> Option<Node> {
    // RFC 4518 §2.6.1 drops leading, trailing and repeated spaces; an assertion with such spaces
    // might miss values the evaluator matches.
    let spaced = s.starts_with(' ') || s.ends_with(' ') || s.contains("  ");
    if s.is_empty() || spaced || s.chars().any(char::is_control) {
        return None;
    }
    let v = escape(s.as_bytes());
    match op {
        CompareOp::Eq => match info.eq {
            EqRule::CaseIgnore => Some(Node::superset(F::Raw(format!("({attr}={v})")))),
            EqRule::CaseExact if case_exact => Some(Node::superset(F::Raw(format!("({attr}={v})")))),
            EqRule::Octet if case_exact => Some(Node::raw(format!("({attr}={v})"), true)),
            _ => None,
        },
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            let usable = match info.substr {
                SubstrRule::CaseIgnore => true,
                SubstrRule::CaseExact => case_exact,
                SubstrRule::None => false,
            };
            usable.then(|| {
                let f = match op {
                    CompareOp::Co => format!("({attr}=*{v}*)"),
                    CompareOp::Sw => format!("({attr}={v}*)"),
                    _ => format!("({attr}=*{v})"),
                };
                Node::superset(F::Raw(f))
            })
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::config::LdapConfig;
    use crate::entry::{CREATED, LAST_MODIFIED, VERSION};
    use scimd_claims::claims::USER_NAME;
    use scimd_store::{AttributeMap, ResourceKind};

    fn mc(claim: &str, view: Option<&str>, attribute: &str, kind: ValueKind) -> MappedClaim {
        MappedClaim {
            claim: claim.into(),
            view_type: view.map(Into::into),
            attribute: attribute.into(),
            kind,
            multi_valued: false,
            case_exact: false,
        }
    }

    fn schema() -> DirSchema {
        DirSchema::parse([
            "( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
            "( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
            "( 2.5.4.12 NAME 'title' SUP name )",
            "( 0.9.2342.19200300.100.1.3 NAME ( 'mail' 'rfc822Mailbox' ) EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )",
            "( 1.1 NAME 'scimdActive' EQUALITY booleanMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE )",
            "( 1.2 NAME 'scimdLevel' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )",
            "( 1.3.6.1.1.16.4 NAME 'entryUUID' EQUALITY UUIDMatch ORDERING UUIDOrderingMatch SYNTAX 1.3.6.1.1.16.1 SINGLE-VALUE )",
            "( 2.5.18.1 NAME 'createTimestamp' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )",
            "( 2.5.18.2 NAME 'modifyTimestamp' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )",
            "( 1.3.6.1.4.1.4203.666.1.7 NAME 'entryCSN' EQUALITY CSNMatch SYNTAX 1.3.6.1.4.1.4203.666.11.2.1{64} SINGLE-VALUE )",
        ])
    }

    fn layout(schema: &DirSchema) -> Layout {
        let map = AttributeMap::new(vec![
            mc(ID, None, "entryUUID", ValueKind::Reference),
            mc(CREATED, None, "createTimestamp", ValueKind::DateTime),
            mc(LAST_MODIFIED, None, "modifyTimestamp", ValueKind::DateTime),
            mc(VERSION, None, "entryCSN", ValueKind::Integer),
            mc(USER_NAME, None, "uid", ValueKind::String),
            mc("urn:scimd:claims:title", None, "title", ValueKind::String),
            mc("urn:scimd:claims:active", None, "scimdActive", ValueKind::Boolean),
            mc("urn:scimd:claims:level", None, "scimdLevel", ValueKind::Integer),
            mc("urn:scimd:claims:emails", Some("work"), "mail", ValueKind::String),
        ]);
        let config = LdapConfig::new("ldap://x", "cn=a", "s", "ou=p", "ou=g");
        Layout::new("LDAP", ResourceKind::User, &map, &config, schema).unwrap()
    }

    fn compile(filter: &ClaimFilter) -> Compiled {
        let schema = schema();
        let layout = layout(&schema);
        let dns = HashMap::from([("m1".to_owned(), Some("uid=m(1),ou=p".to_owned()))]);
        let cx = Cx {
            layout: &layout,
            schema: &schema,
            member_attr: "member",
            empty_member: None,
            member_dns: &dns,
        };
        cx.compile(filter)
    }

    fn cmp(claim: &str, op: CompareOp, value: CompValue, ty: AttrType) -> ClaimFilter {
        ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: claim.into(), sub: None },
            op,
            value,
            attr_type: ty,
            case_exact: false,
        }
    }

    fn s(v: &str) -> CompValue {
        CompValue::Str(v.into())
    }

    /// RFC 4515 §3: `*`, `(`, `)`, `\` and NUL are escaped as `\XX`; so is every octet outside
    /// printable ASCII here.
    #[test]
    fn escapes_assertion_values_as_rfc_4515_section_3_says() {
        assert_eq!(escape(b"a*b(c)d\\e\0"), "a\\2ab\\28c\\29d\\5ce\\00");
        assert_eq!(escape("é".as_bytes()), "\\c3\\a9");
        assert_eq!(escape(b"plain text-1"), "plain text-1");
    }

    /// RFC 4515 §2 filter forms for each operator, with exactness per the module docs.
    #[test]
    fn compiles_each_operator_to_its_filter_form() {
        let c = compile(&cmp(USER_NAME, CompareOp::Eq, s("Kim*"), AttrType::String));
        assert_eq!(c, Compiled { filter: "(uid=Kim\\2a)".into(), exact: false });
        let c = compile(&cmp(USER_NAME, CompareOp::Co, s("(x)"), AttrType::String));
        assert_eq!(c.filter, "(uid=*\\28x\\29*)");
        assert_eq!(compile(&cmp(USER_NAME, CompareOp::Sw, s("k"), AttrType::String)).filter, "(uid=k*)");
        assert_eq!(compile(&cmp(USER_NAME, CompareOp::Ew, s("k"), AttrType::String)).filter, "(uid=*k)");
        assert_eq!(compile(&cmp(USER_NAME, CompareOp::Gt, s("k"), AttrType::String)).filter, "(uid=*)");
        let c =
            compile(&cmp("urn:scimd:claims:active", CompareOp::Eq, CompValue::Bool(true), AttrType::Boolean));
        assert_eq!(c, Compiled { filter: "(scimdActive=TRUE)".into(), exact: true });
        let c =
            compile(&cmp("urn:scimd:claims:active", CompareOp::Ne, CompValue::Bool(true), AttrType::Boolean));
        assert_eq!(c, Compiled { filter: "(!(scimdActive=TRUE))".into(), exact: true });
        let n = |v: i64| CompValue::Num(v.into());
        let c = compile(&cmp("urn:scimd:claims:level", CompareOp::Gt, n(3), AttrType::Integer));
        assert_eq!(c, Compiled { filter: "(&(scimdLevel>=3)(!(scimdLevel=3)))".into(), exact: true });
        let c = compile(&cmp("urn:scimd:claims:level", CompareOp::Le, n(3), AttrType::Integer));
        assert_eq!(c.filter, "(scimdLevel<=3)");
        let c = compile(&cmp("urn:scimd:claims:title", CompareOp::Eq, CompValue::Null, AttrType::String));
        assert_eq!(c, Compiled { filter: "(!(title=*))".into(), exact: true });
        let c = compile(&ClaimFilter::Present {
            path: ClaimPath::Claim { claim: "urn:scimd:claims:nothing".into(), sub: None },
        });
        assert_eq!(c, Compiled { filter: "(!(objectClass=*))".into(), exact: true });
    }

    #[test]
    fn negations_of_supersets_fall_back_to_every_entry() {
        let f = ClaimFilter::Not(Box::new(cmp(USER_NAME, CompareOp::Eq, s("k"), AttrType::String)));
        assert_eq!(compile(&f), Compiled { filter: ALL.into(), exact: false });
        let f = cmp(USER_NAME, CompareOp::Ne, s("k"), AttrType::String);
        assert_eq!(compile(&f), Compiled { filter: ALL.into(), exact: false });
        let f = ClaimFilter::And(vec![
            cmp("urn:scimd:claims:active", CompareOp::Eq, CompValue::Bool(false), AttrType::Boolean),
            ClaimFilter::Not(Box::new(cmp(
                "urn:scimd:claims:title",
                CompareOp::Eq,
                CompValue::Null,
                AttrType::String,
            ))),
        ]);
        assert_eq!(
            compile(&f),
            Compiled { filter: "(&(scimdActive=FALSE)(!(!(title=*))))".into(), exact: true }
        );
    }

    #[test]
    fn ids_times_views_and_members_compile_to_their_attributes() {
        let id = |v: &str| ClaimFilter::Compare {
            path: ClaimPath::Column(Column::Id),
            op: CompareOp::Eq,
            value: s(v),
            attr_type: AttrType::String,
            case_exact: true,
        };
        assert_eq!(
            compile(&id("E0877C0C-7B89-1041-942B-C101D54E9BF8")),
            Compiled { filter: "(!(objectClass=*))".into(), exact: true }
        );
        let id = id("e0877c0c-7b89-1041-942b-c101d54e9bf8");
        assert_eq!(compile(&id).filter, "(entryUUID=e0877c0c-7b89-1041-942b-c101d54e9bf8)");
        let t = ClaimFilter::Compare {
            path: ClaimPath::Column(Column::Created),
            op: CompareOp::Gt,
            value: s("2024-01-01T01:00:00+01:00"),
            attr_type: AttrType::DateTime,
            case_exact: false,
        };
        assert_eq!(
            compile(&t),
            Compiled {
                filter: "(&(createTimestamp>=20240101000000Z)(!(createTimestamp=20240101000000Z)))".into(),
                exact: true
            }
        );
        let ty = ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: "urn:scimd:claims:emails".into(), sub: Some("type".into()) },
            op: CompareOp::Eq,
            value: s("WORK"),
            attr_type: AttrType::String,
            case_exact: false,
        };
        assert_eq!(compile(&ty), Compiled { filter: "(mail=*)".into(), exact: true });
        let em = ClaimFilter::ElementMatch {
            of: Collection::Claim("urn:scimd:claims:emails".into()),
            filter: Box::new(ClaimFilter::Compare {
                path: ClaimPath::Element { sub: "value".into() },
                op: CompareOp::Sw,
                value: s("a"),
                attr_type: AttrType::String,
                case_exact: false,
            }),
        };
        assert_eq!(compile(&em).filter, "(&(mail=*)(mail=a*))");
        let member = ClaimFilter::Compare {
            path: ClaimPath::Member(MemberField::Value),
            op: CompareOp::Eq,
            value: s("M1"),
            attr_type: AttrType::String,
            case_exact: false,
        };
        assert_eq!(compile(&member), Compiled { filter: "(member=uid=m\\281\\29,ou=p)".into(), exact: true });
        let mut ids = Vec::new();
        member_ids(&ClaimFilter::Not(Box::new(member)), &mut ids);
        assert_eq!(ids, vec![("M1".to_owned(), false)]);
    }
}
