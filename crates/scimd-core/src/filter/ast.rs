//! The filter AST (RFC 7644 §3.4.2.2), with the RFC's names, and its canonical text.
//!
//! Every leaf node carries the byte span of its source text; `And`, `Or` and `Not` derive theirs
//! from their children ([`Filter::span`]). [`fmt::Display`] prints canonical text: lower-case
//! operators and keywords, one space between tokens, parentheses only where precedence needs
//! them, strings with JSON escapes. `parse_filter(&f.to_string())` gives back `f` up to spans
//! ([`Filter::eq_ignoring_spans`]).

use crate::path::AttrPath;
use std::fmt;
use std::ops::Range;

/// A byte range in the filter text.
pub type Span = Range<usize>;

/// A parsed filter (`FILTER` in RFC 7644 §3.4.2.2, Figure 1).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath SP compareOp SP compValue`.
    Compare { path: AttrPath, op: CompareOp, value: CompValue, span: Span },
    /// `attrPath SP "pr"`.
    Present { path: AttrPath, span: Span },
    /// `FILTER SP "and" SP FILTER`.
    And(Box<Filter>, Box<Filter>),
    /// `FILTER SP "or" SP FILTER`.
    Or(Box<Filter>, Box<Filter>),
    /// `"not" "(" FILTER ")"`.
    Not(Box<Filter>),
    /// `attrPath "[" valFilter "]"`: some value of the multi-valued (or complex) attribute
    /// `path` satisfies `filter`, whose paths name sub-attributes of `path`.
    ValuePath { path: AttrPath, filter: Box<Filter>, span: Span },
}

/// `compareOp` (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// greater than or equal to
    Ge,
    /// less than
    Lt,
    /// less than or equal to
    Le,
}

/// `compValue = false / null / true / number / string` (RFC 7644 §3.4.2.2).
/// A dateTime arrives as a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompValue {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Null,
}

/// A PATCH operation's `path` (RFC 7644 §3.5.2): `PATH = attrPath / valuePath [subAttr]`.
///
/// `name.givenName` is `{ attr: name.givenName, filter: None, sub: None }`;
/// `emails[type eq "work"].value` is `{ attr: emails, filter: Some(type eq "work"), sub: Some(value) }`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute path; it carries a sub-attribute only when there is no filter.
    pub attr: AttrPath,
    /// The value filter between `[` and `]`, its paths relative to the attribute's values.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`.
    pub sub: Option<String>,
}

impl CompareOp {
    /// Every operator, in the order of RFC 7644 Table 3.
    pub const ALL: [CompareOp; 9] = [
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

    /// The operator's keyword, lower-case.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator named `word`, without regard to case.
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        CompareOp::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// Whether the operator orders values (`gt`, `ge`, `lt`, `le`).
    pub fn is_ordering(self) -> bool {
        matches!(self, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le)
    }

    /// Whether the operator matches substrings (`co`, `sw`, `ew`).
    pub fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

impl Filter {
    /// The byte span of the filter's source text. For `And` and `Or` it runs from the start of
    /// the left operand to the end of the right one; for `Not` it is the operand's span.
    pub fn span(&self) -> Span {
        match self {
            Filter::Compare { span, .. } | Filter::Present { span, .. } | Filter::ValuePath { span, .. } => {
                span.clone()
            }
            Filter::And(l, r) | Filter::Or(l, r) => l.span().start..r.span().end,
            Filter::Not(f) => f.span(),
        }
    }

    /// Structural equality that ignores spans.
    pub fn eq_ignoring_spans(&self, other: &Filter) -> bool {
        match (self, other) {
            (
                Filter::Compare { path: p1, op: o1, value: v1, .. },
                Filter::Compare { path: p2, op: o2, value: v2, .. },
            ) => p1 == p2 && o1 == o2 && v1 == v2,
            (Filter::Present { path: p1, .. }, Filter::Present { path: p2, .. }) => p1 == p2,
            (Filter::And(l1, r1), Filter::And(l2, r2)) | (Filter::Or(l1, r1), Filter::Or(l2, r2)) => {
                l1.eq_ignoring_spans(l2) && r1.eq_ignoring_spans(r2)
            }
            (Filter::Not(a), Filter::Not(b)) => a.eq_ignoring_spans(b),
            (
                Filter::ValuePath { path: p1, filter: f1, .. },
                Filter::ValuePath { path: p2, filter: f2, .. },
            ) => p1 == p2 && f1.eq_ignoring_spans(f2),
            _ => false,
        }
    }

    /// Binding strength for printing: or < and < everything else.
    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }

    /// Writes `self`, in parentheses if it binds weaker than `min`.
    fn write_operand(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min { write!(f, "({self})") } else { write!(f, "{self}") }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value, .. } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present { path, .. } => write!(f, "{path} pr"),
            // Both operators are left-associative: a right operand of the same operator needs
            // parentheses to parse back into the same tree.
            Filter::And(l, r) => {
                l.write_operand(f, 2)?;
                f.write_str(" and ")?;
                r.write_operand(f, 3)
            }
            Filter::Or(l, r) => {
                l.write_operand(f, 1)?;
                f.write_str(" or ")?;
                r.write_operand(f, 2)
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter, .. } => write!(f, "{path}[{filter}]"),
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => write_json_string(f, s),
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Writes `s` as a JSON string (RFC 8259 §7): `"` and `\` escaped, control characters as
/// short escapes or `\u00XX`.
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if c < ' ' => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}
