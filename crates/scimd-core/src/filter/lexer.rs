//! The filter lexer: text to tokens, on demand, each with its byte span.
//!
//! ```text
//! token   = word / string / number / "(" / ")" / "[" / "]" / "."
//! word    = (ALPHA / "$" / "_") *(ALPHA / DIGIT / "-" / "_" / "$" / ":" / "." / "/")
//!           ; an attribute path with its schema URI, a keyword or an operator
//! string  = DQUOTE *char DQUOTE            ; RFC 8259 §7
//! number  = ["-"] int [frac] [exp]         ; RFC 8259 §6
//! ```
//!
//! A word swallows `:` and `.` so that `urn:ietf:params:scim:schemas:core:2.0:User:name.givenName`
//! is one token; the parser splits it. A `.` that starts a token (after `]` in a PATCH path) is a
//! token of its own. Whitespace (space, tab, CR, LF) separates tokens.

use super::ast::Span;
use crate::error::ScimResult;
use serde_json::Number;
use std::fmt;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind<'a> {
    Word(&'a str),
    Str(String),
    Num(Number),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Eof,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub kind: TokenKind<'a>,
    pub span: Span,
}

impl Token<'_> {
    /// Whether the token is the word `kw`, without regard to case.
    pub fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

/// How a token is named in an error: `"word"`, `string "text"`, `number 12` or `end of filter`.
pub(crate) struct Describe<'t, 'a>(pub &'t Token<'a>, pub &'a str);

impl fmt::Display for Describe<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Describe(token, src) = self;
        let text = src.get(token.span.clone()).unwrap_or("");
        // Long tokens are cut so that the detail stays readable.
        let text = match text.char_indices().nth(40) {
            Some((i, _)) => format!("{}...", &text[..i]),
            None => text.to_string(),
        };
        match token.kind {
            TokenKind::Eof => f.write_str("end of filter"),
            TokenKind::Str(_) => write!(f, "string {text}"),
            TokenKind::Num(_) => write!(f, "number {text}"),
            _ => write!(f, "\"{text}\""),
        }
    }
}

/// Renders a span the way error details write it: `at 9..11`.
pub(crate) struct At<'a>(pub &'a Span);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}..{}", self.0.start, self.0.end)
    }
}

/// The lexer. `error` builds the error for the caller's context (`invalidFilter` for a filter,
/// `invalidPath` for a PATCH path).
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    pub error: fn(String) -> crate::error::ScimError,
}

fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'$' || c == b'_'
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'$' | b':' | b'.' | b'/')
}

/// A number token's value: an integer as `i64` or `u64` where it fits, else the nearest `f64`
/// (Rust's float parsing rounds correctly, so printed floats read back to the same value).
fn json_number(text: &str) -> Option<Number> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(u.into());
        }
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str, error: fn(String) -> crate::error::ScimError) -> Self {
        Lexer { src, pos: 0, error }
    }

    pub fn src(&self) -> &'a str {
        self.src
    }

    fn peek_byte(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn fail<T>(&self, detail: String) -> ScimResult<T> {
        Err((self.error)(detail))
    }

    /// The next token; `Eof` (with an empty span at the end) once the text is used up.
    pub fn next_token(&mut self) -> ScimResult<Token<'a>> {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek_byte() {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.peek_byte() else {
            return Ok(Token { kind: TokenKind::Eof, span: start..start });
        };
        let single = |kind| Token { kind, span: start..start + 1 };
        let token = match c {
            b'(' => single(TokenKind::LParen),
            b')' => single(TokenKind::RParen),
            b'[' => single(TokenKind::LBracket),
            b']' => single(TokenKind::RBracket),
            b'.' => single(TokenKind::Dot),
            b'"' => return self.string(),
            b'-' | b'0'..=b'9' => return self.number(),
            c if is_word_start(c) => {
                let len = self.src.as_bytes()[start..].iter().take_while(|&&b| is_word_char(b)).count();
                self.pos = start + len;
                return Ok(Token {
                    kind: TokenKind::Word(&self.src[start..self.pos]),
                    span: start..self.pos,
                });
            }
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or('?');
                let end = start + ch.len_utf8();
                return self.fail(format!("unexpected character {ch:?} {}", At(&(start..end))));
            }
        };
        self.pos = token.span.end;
        Ok(token)
    }

    /// `number = [ minus ] int [ frac ] [ exp ]` (RFC 8259 §6).
    fn number(&mut self) -> ScimResult<Token<'a>> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
        let mut i = start;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        let int = digits(i);
        let mut ok = int > 0 && !(int > 1 && bytes[i] == b'0');
        i += int;
        if ok && bytes.get(i) == Some(&b'.') {
            let frac = digits(i + 1);
            ok = frac > 0;
            i += 1 + frac;
        }
        if ok && matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let exp = digits(i);
            ok = exp > 0;
            i += exp;
        }
        // A number runs into nothing but a delimiter: `12ab` and `1.2.3` are one bad token.
        let rest = bytes[i..].iter().take_while(|&&b| is_word_char(b)).count();
        let end = i + rest;
        self.pos = end;
        let text = &self.src[start..end];
        let parsed = if ok && rest == 0 { json_number(text) } else { None };
        match parsed {
            Some(n) => Ok(Token { kind: TokenKind::Num(n), span: start..end }),
            None => self.fail(format!("invalid number \"{text}\" {}", At(&(start..end)))),
        }
    }

    /// `string = quotation-mark *char quotation-mark` (RFC 8259 §7).
    fn string(&mut self) -> ScimResult<Token<'a>> {
        let start = self.pos;
        let mut out = String::new();
        let mut chars = self.src[start + 1..].char_indices().map(|(i, c)| (start + 1 + i, c)).peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos = i + 1;
                    return Ok(Token { kind: TokenKind::Str(out), span: start..i + 1 });
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    let simple = match e {
                        '"' => Some('"'),
                        '\\' => Some('\\'),
                        '/' => Some('/'),
                        'b' => Some('\u{8}'),
                        'f' => Some('\u{c}'),
                        'n' => Some('\n'),
                        'r' => Some('\r'),
                        't' => Some('\t'),
                        'u' => None,
                        other => {
                            let end = i + 1 + other.len_utf8();
                            return self
                                .fail(format!("invalid escape \"\\{other}\" in string {}", At(&(i..end))));
                        }
                    };
                    match simple {
                        Some(ch) => out.push(ch),
                        None => out.push(self.unicode_escape(i, &mut chars)?),
                    }
                }
                c if c < ' ' => {
                    return self.fail(format!(
                        "control character U+{:04X} in string must be escaped {}",
                        c as u32,
                        At(&(i..i + 1))
                    ));
                }
                c => out.push(c),
            }
        }
        self.pos = self.src.len();
        self.fail(format!("unclosed string at {start}.."))
    }

    /// The rest of a `\uXXXX` escape that starts at `at`, with a following low surrogate
    /// when the first is a high surrogate.
    fn unicode_escape(
        &self,
        at: usize,
        chars: &mut std::iter::Peekable<impl Iterator<Item = (usize, char)>>,
    ) -> ScimResult<char> {
        let hex4 = |chars: &mut std::iter::Peekable<_>| -> Option<u32> {
            let mut v = 0;
            for _ in 0..4 {
                let (_, c): (usize, char) = chars.next()?;
                v = v * 16 + c.to_digit(16)?;
            }
            Some(v)
        };
        let bad = |len: usize| {
            let end = (at + len).min(self.src.len());
            let end = (end..=self.src.len()).find(|&e| self.src.is_char_boundary(e)).unwrap_or(end);
            (self.error)(format!("invalid \\u escape in string {}", At(&(at..end))))
        };
        let hi = hex4(chars).ok_or_else(|| bad(6))?;
        match hi {
            0xD800..=0xDBFF => {
                let is_backslash_u = self.src.get(at + 6..).is_some_and(|rest| rest.starts_with("\\u"));
                if !is_backslash_u {
                    return Err((self.error)(format!("unpaired surrogate in string {}", At(&(at..at + 6)))));
                }
                chars.next();
                chars.next();
                let lo = hex4(chars).ok_or_else(|| bad(12))?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err((self.error)(format!("unpaired surrogate in string {}", At(&(at..at + 12)))));
                }
                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                char::from_u32(code).ok_or_else(|| bad(12))
            }
            0xDC00..=0xDFFF => {
                Err((self.error)(format!("unpaired surrogate in string {}", At(&(at..at + 6)))))
            }
            _ => char::from_u32(hi).ok_or_else(|| bad(6)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::ScimError;

    fn lex(src: &str) -> ScimResult<Vec<TokenKind<'_>>> {
        let mut lexer = Lexer::new(src, ScimError::invalid_filter);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token()?;
            if t.kind == TokenKind::Eof {
                return Ok(out);
            }
            out.push(t.kind);
        }
    }

    /// The trap of RFC 7644 §3.10: a schema URI with `:` and `.` stays one word.
    #[test]
    fn lexer_keeps_schema_uri_in_one_word() {
        let toks = lex("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq \"x\"").unwrap();
        assert_eq!(
            toks,
            vec![
                TokenKind::Word("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName"),
                TokenKind::Word("eq"),
                TokenKind::Str("x".into()),
            ]
        );
    }

    /// RFC 7644 §3.4.2.2: string values are JSON strings (RFC 8259 §7 escapes).
    #[test]
    fn lexer_decodes_json_escapes() {
        let toks = lex(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#).unwrap();
        assert_eq!(toks, vec![TokenKind::Str("a\"b\\c/d\u{8}\u{c}\n\r\té😀".into())]);
    }

    #[test]
    fn lexer_reads_json_numbers() {
        let toks = lex("0 -1 12.5 1e3 -2.5E-2").unwrap();
        let nums: Vec<String> = toks
            .into_iter()
            .map(|t| match t {
                TokenKind::Num(n) => n.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(nums, vec!["0", "-1", "12.5", "1000.0", "-0.025"]);
    }

    #[test]
    fn lexer_rejects_bad_numbers_and_strings() {
        let cases = [
            ("01", "invalid number \"01\" at 0..2"),
            ("1.", "invalid number \"1.\" at 0..2"),
            ("-", "invalid number \"-\" at 0..1"),
            ("1e", "invalid number \"1e\" at 0..2"),
            ("12ab", "invalid number \"12ab\" at 0..4"),
            ("\"abc", "unclosed string at 0.."),
            ("\"abc\\", "unclosed string at 0.."),
            (r#""a\qb""#, "invalid escape \"\\q\" in string at 2..4"),
            (r#""\u12G4""#, "invalid \\u escape in string at 1..7"),
            (r#""\ud83d""#, "unpaired surrogate in string at 1..7"),
            (r#""\ude00""#, "unpaired surrogate in string at 1..7"),
            (r#""\ud83d\u0041""#, "unpaired surrogate in string at 1..13"),
            ("\"a\tb\"", "control character U+0009 in string must be escaped at 2..3"),
            ("#", "unexpected character '#' at 0..1"),
            ("é", "unexpected character 'é' at 0..2"),
        ];
        for (src, want) in cases {
            let err = lex(src).expect_err(src);
            assert_eq!(err.detail, want, "{src}");
        }
    }
}
