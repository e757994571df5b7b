//! The filter language of RFC 7644 §3.4.2.2: lexer, parser, binding to the schemas and an
//! in-memory evaluator. Also the PATCH `path` of RFC 7644 §3.5.2, which embeds it.
//!
//! # Grammar
//!
//! RFC 7644 §3.4.2.2, Figure 1 (with the RFC 7643 §2.1 `nameChar`, which includes `$`):
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"          ; FILTER uses sub-attributes of attrPath
//! valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! compValue = false / null / true / number / string   ; RFC 8259
//! compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! ATTRNAME  = ALPHA *(nameChar)
//! nameChar  = "-" / "_" / DIGIT / ALPHA / "$"
//! subAttr   = "." ATTRNAME
//! ```
//!
//! The parser reads it with precedence, loosest first (RFC 7644: "and" binds tighter than "or",
//! "not" tighter than both), both binary operators left-associative:
//!
//! ```text
//! filter   = and-expr *("or" and-expr)
//! and-expr = not-expr *("and" not-expr)
//! not-expr = "not" "(" filter ")" / primary
//! primary  = "(" filter ")" / attrPath "[" filter "]" / attrExp   ; no "[" inside "[...]"
//! ```
//!
//! PATCH paths (RFC 7644 §3.5.2, Figure 7): `PATH = attrPath / valuePath [subAttr]`.
//!
//! Keywords, operators and `true`/`false`/`null` are case-insensitive; whitespace between tokens
//! may be any run of spaces, tabs and line breaks. A filter is at most [`MAX_LEN`] bytes and
//! nests at most [`MAX_DEPTH`] parentheses, `not`s and brackets deep.
//!
//! # Layout
//! - [`ast`]: [`Filter`], [`CompareOp`], [`CompValue`], [`PatchPath`] and their canonical text.
//! - `lexer`: tokens with spans (the `:`/`.` trap of schema URIs lives here).
//! - `parser`: recursive descent, one function per rule.
//! - `bind`: [`check`], paths resolved through the [`SchemaRegistry`](crate::registry::SchemaRegistry).
//! - `eval`: [`evaluate`], the in-memory evaluator.
//!
//! Errors are `invalidFilter` (`invalidPath` for a PATCH path outside its brackets), and the
//! detail says what is wrong and where: `unknown operator "equals" at 9..15`.

pub mod ast;
mod bind;
mod eval;
mod lexer;
mod parser;

pub use ast::{CompValue, CompareOp, Filter, PatchPath, Span};
pub use bind::{check, check_value_filter};
pub use eval::{
    cmp_numbers, compare_value, evaluate, evaluate_value_filter, flatten, get_ci, is_present, matches_values,
    parse_date_time, sub_values,
};

use crate::error::ScimResult;

/// The longest filter (and PATCH path) accepted, in bytes.
pub const MAX_LEN: usize = 8 * 1024;
/// The deepest nesting of parentheses, `not (...)` and `[...]` accepted.
pub const MAX_DEPTH: usize = 64;

/// Parses a filter (RFC 7644 §3.4.2.2). Errors are `invalidFilter` with the span at fault.
pub fn parse_filter(text: &str) -> ScimResult<Filter> {
    parser::parse_filter(text)
}

/// Parses a PATCH operation's `path` (RFC 7644 §3.5.2): `members[value eq "x"]`,
/// `emails[type eq "work"].value`, `urn:...:enterprise:2.0:User:manager`. Errors are
/// `invalidPath`, or `invalidFilter` inside the brackets.
pub fn parse_patch_path(text: &str) -> ScimResult<PatchPath> {
    parser::parse_patch_path(text)
}

#[cfg(test)]
mod tests;
