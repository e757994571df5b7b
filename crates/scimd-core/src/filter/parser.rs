//! The recursive-descent parser. One function per rule of the grammar in the
//! [module docs](super); precedence, loosest first: `or`, `and`, `not`, then a primary
//! (`attrExp`, `valuePath`, or a filter in parentheses).

use super::ast::{CompValue, CompareOp, Filter, PatchPath, Span};
use super::lexer::{At, Describe, Lexer, Token, TokenKind};
use super::{MAX_DEPTH, MAX_LEN};
use crate::error::{ScimError, ScimResult};
use crate::path::{AttrPath, is_name_char};

/// Which text is parsed, and so which error a syntax error is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScimErrorKind {
    /// A filter: `invalidFilter`.
    Filter,
    /// A PATCH path: `invalidPath` (`invalidFilter` inside its brackets).
    Path,
}

impl ScimErrorKind {
    fn constructor(self) -> fn(String) -> ScimError {
        match self {
            ScimErrorKind::Filter => ScimError::invalid_filter,
            ScimErrorKind::Path => ScimError::invalid_path,
        }
    }
}

pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
    depth: usize,
    /// Inside `[...]`: a nested value path is refused (`valFilter` has no `valuePath`).
    in_value_path: bool,
    /// Parsing a PATCH path rather than a filter.
    patch: bool,
}

/// Refuses a text longer than [`MAX_LEN`].
fn check_len(text: &str, what: &str, error: fn(String) -> ScimError) -> ScimResult<()> {
    if text.len() > MAX_LEN {
        return Err(error(format!("{what} is too long: {} bytes, at most {MAX_LEN}", text.len())));
    }
    Ok(())
}

/// `FILTER`, the whole text.
pub(crate) fn parse_filter(text: &str) -> ScimResult<Filter> {
    check_len(text, "filter", ScimError::invalid_filter)?;
    let mut p = Parser::new(text, ScimErrorKind::Filter);
    let filter = p.filter()?;
    p.expect_end()?;
    Ok(filter)
}

/// `PATH = attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2, Figure 7), the whole text.
pub(crate) fn parse_patch_path(text: &str) -> ScimResult<PatchPath> {
    check_len(text, "path", ScimError::invalid_path)?;
    let mut p = Parser::new(text, ScimErrorKind::Path);
    let token = p.bump()?;
    let TokenKind::Word(word) = token.kind else {
        return p.fail(format!("expected an attribute path {}", At(&token.span)));
    };
    let attr = p.attr_path(word, &token.span)?;
    let mut path = PatchPath { attr, filter: None, sub: None };
    if p.peek()?.kind == TokenKind::LBracket {
        if let Some(sub) = &path.attr.sub {
            return p.fail(format!(
                "a value filter cannot follow the sub-attribute \"{sub}\" of \"{word}\" {}",
                At(&token.span)
            ));
        }
        // RFC 7644 §3.12: a bad filter inside a PATCH path is `invalidFilter`.
        p.lexer.error = ScimError::invalid_filter;
        let (inner, _) = p.bracketed()?;
        p.lexer.error = ScimError::invalid_path;
        path.filter = Some(inner);
        if p.peek()?.kind == TokenKind::Dot {
            p.bump()?;
            let token = p.bump()?;
            match token.kind {
                TokenKind::Word(name) if is_attr_name(name) => path.sub = Some(name.to_string()),
                _ => {
                    return p.fail(format!(
                        "expected a sub-attribute name after \"]\" and \".\" {}",
                        At(&token.span)
                    ));
                }
            }
        }
    }
    p.expect_end()?;
    Ok(path)
}

/// `ATTRNAME = ALPHA *(nameChar)` (RFC 7643 §2.1; `$` starts `$ref`).
fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$') && chars.all(is_name_char)
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, error: ScimErrorKind) -> Self {
        let patch = error == ScimErrorKind::Path;
        Parser {
            lexer: Lexer::new(text, error.constructor()),
            peeked: None,
            depth: 0,
            in_value_path: false,
            patch,
        }
    }

    fn fail<T>(&self, detail: String) -> ScimResult<T> {
        Err((self.lexer.error)(detail))
    }

    fn peek(&mut self) -> ScimResult<&Token<'a>> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        match &self.peeked {
            Some(t) => Ok(t),
            None => self.fail("internal parser state".into()),
        }
    }

    fn bump(&mut self) -> ScimResult<Token<'a>> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next_token(),
        }
    }

    fn describe(&self, token: &Token<'a>) -> String {
        Describe(token, self.lexer.src()).to_string()
    }

    /// The error for a token that cannot start or continue anything here.
    fn unexpected<T>(&self, token: &Token<'a>) -> ScimResult<T> {
        self.fail(format!("unexpected {} {}", self.describe(token), At(&token.span)))
    }

    fn expect_end(&mut self) -> ScimResult<()> {
        let token = self.bump()?;
        match token.kind {
            TokenKind::Eof => Ok(()),
            TokenKind::Dot if !self.patch => self.fail(format!(
                "unexpected \".\" {}: a sub-attribute after \"[...]\" belongs in a PATCH path, \
                     in a filter write attr[sub eq value]",
                At(&token.span)
            )),
            _ => self.unexpected(&token),
        }
    }

    /// One more level of nesting (`(`, `not (`, `[`), refused past [`MAX_DEPTH`].
    fn enter(&mut self, span: &Span) -> ScimResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(format!("filter nests deeper than {MAX_DEPTH} levels {}", At(span)));
        }
        Ok(())
    }

    /// Consumes the `)` that closes the `(` at `open`.
    fn close_paren(&mut self, open: &Span) -> ScimResult<()> {
        let token = self.bump()?;
        if token.kind != TokenKind::RParen {
            return self.fail(format!(
                "expected \")\" to close the \"(\" {}, found {} {}",
                At(open),
                self.describe(&token),
                At(&token.span)
            ));
        }
        self.depth -= 1;
        Ok(())
    }

    /// `FILTER = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"`, as
    /// `or-expr = and-expr *("or" and-expr)` (left-associative). Also `valFilter` inside `[...]`.
    fn filter(&mut self) -> ScimResult<Filter> {
        let mut left = self.and_expr()?;
        while self.peek()?.is_keyword("or") {
            self.bump()?;
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `and-expr = not-expr *("and" not-expr)` (the `logExp` with "and", left-associative).
    fn and_expr(&mut self) -> ScimResult<Filter> {
        let mut left = self.not_expr()?;
        while self.peek()?.is_keyword("and") {
            self.bump()?;
            let right = self.not_expr()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `not-expr = "not" "(" FILTER ")" / primary`.
    fn not_expr(&mut self) -> ScimResult<Filter> {
        if !self.peek()?.is_keyword("not") {
            return self.primary();
        }
        self.bump()?;
        let open = self.bump()?;
        if open.kind != TokenKind::LParen {
            return self.fail(format!("expected \"(\" after \"not\" {}", At(&open.span)));
        }
        self.enter(&open.span)?;
        let inner = self.filter()?;
        self.close_paren(&open.span)?;
        Ok(Filter::Not(Box::new(inner)))
    }

    /// `primary = "(" FILTER ")" / attrExp / valuePath`.
    fn primary(&mut self) -> ScimResult<Filter> {
        let token = self.bump()?;
        match token.kind {
            TokenKind::LParen => {
                self.enter(&token.span)?;
                let inner = self.filter()?;
                self.close_paren(&token.span)?;
                Ok(inner)
            }
            TokenKind::Word(w) if w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or") => {
                self.unexpected(&token)
            }
            TokenKind::Word(word) => self.attr_exp(word, token.span),
            TokenKind::Eof => self.fail(format!("unexpected end of filter {}", At(&token.span))),
            _ => self.unexpected(&token),
        }
    }

    /// `attrExp = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)`, or
    /// `valuePath = attrPath "[" valFilter "]"`; the attribute path is already read.
    fn attr_exp(&mut self, word: &'a str, word_span: Span) -> ScimResult<Filter> {
        let path = self.attr_path(word, &word_span)?;
        let start = word_span.start;
        if self.peek()?.kind == TokenKind::LBracket {
            let (filter, end) = self.bracketed()?;
            return Ok(Filter::ValuePath { path, filter: Box::new(filter), span: start..end });
        }
        let token = self.bump()?;
        let op = match token.kind {
            TokenKind::Word(w) if w.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present { path, span: start..token.span.end });
            }
            TokenKind::Word(w) => match CompareOp::from_keyword(w) {
                Some(op) => op,
                None => return self.fail(format!("unknown operator \"{w}\" {}", At(&token.span))),
            },
            _ => {
                return self
                    .fail(format!("expected a comparison operator after \"{word}\" {}", At(&token.span)));
            }
        };
        let value_token = self.bump()?;
        let value = self.comp_value(value_token.kind).map_err(|()| {
            (self.lexer.error)(format!(
                "expected a comparison value (a string, number, true, false or null) after \"{}\" {}",
                op.as_str(),
                At(&value_token.span)
            ))
        })?;
        Ok(Filter::Compare { path, op, value, span: start..value_token.span.end })
    }

    /// `"[" valFilter "]"`: the filter and the end of `]`.
    fn bracketed(&mut self) -> ScimResult<(Filter, usize)> {
        let open = self.bump()?;
        if self.in_value_path {
            return self.fail(format!("value paths cannot be nested: unexpected \"[\" {}", At(&open.span)));
        }
        self.enter(&open.span)?;
        self.in_value_path = true;
        let inner = self.filter()?;
        self.in_value_path = false;
        let close = self.bump()?;
        if close.kind != TokenKind::RBracket {
            return self.fail(format!(
                "expected \"]\" to close the \"[\" {}, found {} {}",
                At(&open.span),
                self.describe(&close),
                At(&close.span)
            ));
        }
        self.depth -= 1;
        Ok((inner, close.span.end))
    }

    /// `compValue = false / null / true / number / string`.
    fn comp_value(&self, kind: TokenKind<'a>) -> Result<CompValue, ()> {
        match kind {
            TokenKind::Str(s) => Ok(CompValue::Str(s)),
            TokenKind::Num(n) => Ok(CompValue::Num(n)),
            TokenKind::Word(w) if w.eq_ignore_ascii_case("true") => Ok(CompValue::Bool(true)),
            TokenKind::Word(w) if w.eq_ignore_ascii_case("false") => Ok(CompValue::Bool(false)),
            TokenKind::Word(w) if w.eq_ignore_ascii_case("null") => Ok(CompValue::Null),
            _ => Err(()),
        }
    }

    /// `attrPath = [URI ":"] ATTRNAME *1subAttr`, `subAttr = "." ATTRNAME`. The URI ends at the
    /// last `:` (URIs contain `:` and `.`, attribute names contain neither).
    fn attr_path(&self, word: &str, span: &Span) -> ScimResult<AttrPath> {
        let (schema, rest) = match word.rfind(':') {
            Some(i) => (Some(&word[..i]), &word[i + 1..]),
            None => (None, word),
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        let ok = schema.is_none_or(|s| !s.is_empty() && !s.ends_with(':'))
            && is_attr_name(attr)
            && sub.is_none_or(is_attr_name);
        if !ok {
            return self.fail(format!("invalid attribute path \"{word}\" {}", At(span)));
        }
        Ok(AttrPath {
            schema: schema.map(str::to_string),
            attr: attr.to_string(),
            sub: sub.map(str::to_string),
        })
    }
}
