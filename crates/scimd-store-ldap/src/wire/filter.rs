//! RFC 4515 filter strings written as the BER of RFC 4511 §4.5.1.7, in one pass without a
//! tree: the searches send the filters [`crate::filter`] compiles (and the configured class
//! filters) in this form.

use super::ber::{OCTET_STRING, SEQUENCE, Writer};

const AND: u8 = 0xa0;
const OR: u8 = 0xa1;
const NOT: u8 = 0xa2;
const EQUALITY: u8 = 0xa3;
const SUBSTRINGS: u8 = 0xa4;
const GREATER_OR_EQUAL: u8 = 0xa5;
const LESS_OR_EQUAL: u8 = 0xa6;
const PRESENT: u8 = 0x87;
const APPROX: u8 = 0xa8;
const EXTENSIBLE: u8 = 0xa9;
const INITIAL: u8 = 0x80;
const ANY: u8 = 0x81;
const FINAL: u8 = 0x82;
const MATCHING_RULE: u8 = 0x81;
const TYPE: u8 = 0x82;
const MATCH_VALUE: u8 = 0x83;
const DN_ATTRIBUTES: u8 = 0x84;

/// How deep filters may nest; a deeper one is refused rather than recursed into.
const MAX_DEPTH: usize = 64;

/// A filter string that is not RFC 4515: the byte offset where reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadFilter {
    pub(crate) at: usize,
}

impl std::fmt::Display for BadFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not an RFC 4515 filter at byte {}", self.at)
    }
}

/// Writes `filter` as BER into `w`.
pub(crate) fn encode(filter: &str, w: &mut Writer) -> Result<(), BadFilter> {
    let mut p = Parser { s: filter.as_bytes(), at: 0 };
    p.filter(w, 0)?;
    if p.at != p.s.len() {
        return Err(BadFilter { at: p.at });
    }
    Ok(())
}

/// Whether `filter` is an RFC 4515 filter this module can send.
pub(crate) fn check(filter: &str) -> Result<(), BadFilter> {
    encode(filter, &mut Writer::default())
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn bad<T>(&self) -> Result<T, BadFilter> {
        Err(BadFilter { at: self.at })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> Result<(), BadFilter> {
        if self.peek() == Some(b) {
            self.at += 1;
            Ok(())
        } else {
            self.bad()
        }
    }

    /// filter = "(" filtercomp ")"
    fn filter(&mut self, w: &mut Writer, depth: usize) -> Result<(), BadFilter> {
        if depth > MAX_DEPTH {
            return self.bad();
        }
        self.eat(b'(')?;
        let mut result = Ok(());
        match self.peek() {
            Some(b'&') => {
                self.at += 1;
                w.nest(AND, |w| result = self.list(w, depth));
            }
            Some(b'|') => {
                self.at += 1;
                w.nest(OR, |w| result = self.list(w, depth));
            }
            Some(b'!') => {
                self.at += 1;
                w.nest(NOT, |w| result = self.filter(w, depth + 1));
            }
            _ => result = self.item(w),
        }
        result?;
        self.eat(b')')
    }

    /// filterlist = *filter (RFC 4526 allows none: absolute true and false).
    fn list(&mut self, w: &mut Writer, depth: usize) -> Result<(), BadFilter> {
        while self.peek() == Some(b'(') {
            self.filter(w, depth + 1)?;
        }
        Ok(())
    }

    fn item(&mut self, w: &mut Writer) -> Result<(), BadFilter> {
        let attr = self.description();
        match self.peek() {
            Some(b':') => self.extensible(attr, w),
            Some(b'=') if !attr.is_empty() => {
                self.at += 1;
                self.equality_or_substrings(attr, w)
            }
            Some(op @ (b'~' | b'>' | b'<')) if !attr.is_empty() && self.s.get(self.at + 1) == Some(&b'=') => {
                self.at += 2;
                let tag = match op {
                    b'~' => APPROX,
                    b'>' => GREATER_OR_EQUAL,
                    _ => LESS_OR_EQUAL,
                };
                let mut result = Ok(());
                w.nest(tag, |w| {
                    w.bytes(OCTET_STRING, attr);
                    result = self.value(w, OCTET_STRING);
                });
                result
            }
            _ => self.bad(),
        }
    }

    /// attr "=" ( "*" / [initial] any [final] / value ): present, substrings or equality.
    fn equality_or_substrings(&mut self, attr: &'a [u8], w: &mut Writer) -> Result<(), BadFilter> {
        let start = self.at;
        let end = start + self.s[start..].iter().position(|b| *b == b')').unwrap_or(self.s.len() - start);
        let raw = &self.s[start..end];
        if raw == b"*" {
            self.at = end;
            w.bytes(PRESENT, attr);
            return Ok(());
        }
        if !raw.contains(&b'*') {
            let mut result = Ok(());
            w.nest(EQUALITY, |w| {
                w.bytes(OCTET_STRING, attr);
                result = self.value(w, OCTET_STRING);
            });
            return result;
        }
        let pieces = raw.split(|b| *b == b'*').count();
        let mut result = Ok(());
        w.nest(SUBSTRINGS, |w| {
            w.bytes(OCTET_STRING, attr);
            w.nest(SEQUENCE, |w| result = self.substrings(pieces, w));
        });
        result
    }

    /// The `pieces` parts of a substring assertion between `*`s: an initial and a final part
    /// may be empty (no such part); an empty part between two `*`s is refused, and so is an
    /// assertion with no part at all (RFC 4511: `SIZE (1..MAX)`).
    fn substrings(&mut self, pieces: usize, w: &mut Writer) -> Result<(), BadFilter> {
        let mut written = 0;
        for i in 0..pieces {
            if i > 0 {
                self.eat(b'*')?;
            }
            let empty = matches!(self.peek(), Some(b'*' | b')') | None);
            if empty {
                if i > 0 && i + 1 < pieces {
                    return self.bad();
                }
                continue;
            }
            let tag = if i == 0 {
                INITIAL
            } else if i + 1 == pieces {
                FINAL
            } else {
                ANY
            };
            self.value(w, tag)?;
            written += 1;
        }
        if written == 0 { self.bad() } else { Ok(()) }
    }

    /// extensible = [attr] [":dn"] [":" matchingrule] ":=" assertionvalue, with an attribute
    /// or a matching rule.
    fn extensible(&mut self, attr: &'a [u8], w: &mut Writer) -> Result<(), BadFilter> {
        // ":dn" (case-blind, as RFC 5234 strings are) only where a ":" follows it.
        let dn = self.s.get(self.at..self.at + 4).is_some_and(|t| t.eq_ignore_ascii_case(b":dn:"));
        if dn {
            self.at += 3;
        }
        let mut rule: &[u8] = &[];
        if self.peek() == Some(b':') && self.s.get(self.at + 1) != Some(&b'=') {
            self.at += 1;
            rule = self.description();
            if rule.is_empty() || rule.contains(&b';') {
                return self.bad();
            }
        }
        if attr.is_empty() && rule.is_empty() {
            return self.bad();
        }
        self.eat(b':')?;
        self.eat(b'=')?;
        let mut result = Ok(());
        w.nest(EXTENSIBLE, |w| {
            if !rule.is_empty() {
                w.bytes(MATCHING_RULE, rule);
            }
            if !attr.is_empty() {
                w.bytes(TYPE, attr);
            }
            result = self.value(w, MATCH_VALUE);
            if dn {
                w.boolean(DN_ATTRIBUTES, true);
            }
        });
        result
    }

    /// An attribute description (RFC 4512 §2.5: a descr or numericoid, then `;options`), or
    /// nothing.
    fn description(&mut self) -> &'a [u8] {
        let s = self.s;
        let start = self.at;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b';' {
                self.at += 1;
            } else {
                break;
            }
        }
        let found = &s[start..self.at];
        if !is_description(found) {
            self.at = start;
            return &[];
        }
        found
    }

    /// An assertion value up to the next `*` or `)`, unescaped (`\` and two hex digits), as
    /// an element of `tag`.
    fn value(&mut self, w: &mut Writer, tag: u8) -> Result<(), BadFilter> {
        let start = self.at;
        let mut escaped = false;
        while let Some(b) = self.peek() {
            match b {
                b'*' | b')' => break,
                b'(' | 0 => return self.bad(),
                b'\\' => {
                    escaped = true;
                    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
                    if hex(self.s.get(self.at + 1)).is_none() || hex(self.s.get(self.at + 2)).is_none() {
                        return self.bad();
                    }
                    self.at += 3;
                }
                _ => self.at += 1,
            }
        }
        let raw = &self.s[start..self.at];
        if !escaped {
            w.bytes(tag, raw);
            return Ok(());
        }
        let mut value = Vec::with_capacity(raw.len());
        let mut i = 0;
        while let Some(&b) = raw.get(i) {
            if b == b'\\' {
                let digit = |k: usize| raw.get(k).and_then(|b| (*b as char).to_digit(16)).unwrap_or(0) as u8;
                value.push(digit(i + 1) << 4 | digit(i + 2));
                i += 3;
            } else {
                value.push(b);
                i += 1;
            }
        }
        w.bytes(tag, &value);
        Ok(())
    }
}

/// descr / numericoid (RFC 4512 §1.4), then `;` options of letters, digits and hyphens.
fn is_description(d: &[u8]) -> bool {
    let mut parts = d.split(|b| *b == b';');
    let kind = parts.next().unwrap_or_default();
    let type_ok = match kind.first() {
        Some(b) if b.is_ascii_alphabetic() => kind.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-'),
        Some(b) if b.is_ascii_digit() => kind
            .split(|b| *b == b'.')
            .all(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit) && (n.len() == 1 || n[0] != b'0')),
        _ => false,
    };
    type_ok && parts.all(|o| !o.is_empty() && o.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use ldap3::asn1::ASNTag as _;
    use proptest::prelude::*;

    /// ldap3's encoding of `filter`: the reference this module is checked against.
    fn ldap3(filter: &str) -> Option<Vec<u8>> {
        let tag = ldap3::parse_filter(filter).ok()?;
        let mut buf = bytes::BytesMut::new();
        ldap3::asn1::write::encode_into(&mut buf, tag.into_structure()).ok()?;
        Some(buf.to_vec())
    }

    fn ours(filter: &str) -> Option<Vec<u8>> {
        let mut w = Writer::default();
        encode(filter, &mut w).ok()?;
        Some(w.into_bytes())
    }

    /// RFC 4515 §4's examples, and the shapes the compiler writes.
    #[test]
    fn filters_encode_as_ldap3_encodes_them() {
        for f in [
            "(cn=Babs Jensen)",
            "(!(cn=Tim Howes))",
            "(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))",
            "(o=univ*of*mich*)",
            "(seeAlso=)",
            "(cn:caseExactMatch:=Fred Flintstone)",
            "(cn:=Betty Rubble)",
            "(sn:dn:2.4.6.8.10:=Barney Rubble)",
            "(o:dn:=Ace Industry)",
            "(:1.2.3:=Wilma Flintstone)",
            "(o=Parens R Us \\28for all your parenthetical needs\\29)",
            "(cn=*\\2A*)",
            "(filename=C:\\5cMyFile)",
            "(bin=\\00\\00\\00\\04)",
            "(sn=Lu\\c4\\8di\\c4\\87)",
            "(1.3.6.1.4.1.1466.0=\\04\\02\\48\\69)",
            "(uid=*)",
            "(uid=kim*)",
            "(uid=*kim)",
            "(uid=a*b*c)",
            "(createTimestamp>=20260101000000Z)",
            "(createTimestamp<=20260101000000Z)",
            "(cn~=kim)",
            "(cn;lang-en=kim)",
            "(&)",
            "(|)",
            "(&(objectClass=inetOrgPerson)(uid=http000017))",
            "(&(objectClass=inetOrgPerson)(!(|(mail=a@b)(mail=*x*))))",
            "(uid=Ünïcödé ✓)",
        ] {
            assert_eq!(ours(f), ldap3(f), "{f}");
            assert!(ours(f).is_some(), "{f}");
        }
        // RFC 4515 §4 writes ":DN"; ldap3 knows only ":dn".
        assert_eq!(ours("(:DN:2.4.6.8.10:=Dino)"), ours("(:dn:2.4.6.8.10:=Dino)"));
        // A matching rule that starts with "dn" is no ":dn" (ldap3 takes it for one).
        assert!(ours("(cn:dnQualifier:=x)").is_some_and(|b| b.windows(11).any(|w| w == b"dnQualifier")));
    }

    #[test]
    fn malformed_filters_are_refused_where_they_go_wrong() {
        for (f, at) in [
            ("", 0),
            ("uid=kim", 0),
            ("(uid=kim", 8),
            ("(uid=kim))", 9),
            ("(uid=k(im)", 6),
            ("(uid=\\4)", 5),
            ("(uid=\\zz)", 5),
            ("(=kim)", 1),
            ("(uid>kim)", 4),
            ("(uid=a**b)", 7),
            ("(uid=**)", 6),
            ("(:=kim)", 1),
            ("(uid:rule;x:=a)", 11),
            ("(&(uid=a)x)", 9),
        ] {
            assert_eq!(check(f), Err(BadFilter { at }), "{f}");
        }
        let deep = "(!".repeat(MAX_DEPTH + 2) + "(a=b)" + &")".repeat(MAX_DEPTH + 2);
        assert!(check(&deep).is_err());
        let fine = "(!".repeat(MAX_DEPTH) + "(a=b)" + &")".repeat(MAX_DEPTH);
        assert_eq!(ours(&fine), ldap3(&fine));
    }

    /// A random filter of the grammar's every form.
    fn arb_filter() -> impl Strategy<Value = String> {
        let attr = prop_oneof![
            Just("cn".to_owned()),
            Just("uid".to_owned()),
            Just("2.5.4.3".to_owned()),
            Just("cn;lang-en".to_owned()),
            Just("x-Attr9".to_owned())
        ];
        let value = proptest::collection::vec(
            prop_oneof![
                Just("a".to_owned()),
                Just(" ".to_owned()),
                Just("é".to_owned()),
                Just("\\2a".to_owned()),
                Just("\\28".to_owned()),
                Just("\\00".to_owned()),
                Just("\\5C".to_owned()),
                Just("=".to_owned()),
                Just(":".to_owned()),
            ],
            0..4,
        )
        .prop_map(|v| v.concat());
        let leaf =
            (attr, value.clone(), value.clone(), value, 0..9u8).prop_map(|(a, v, v2, v3, op)| match op {
                0 => format!("({a}={v})"),
                1 => format!("({a}=*)"),
                2 => format!("({a}={v}*)"),
                3 => format!("({a}=*{v}x*{v2})"),
                4 => format!("({a}={v}*{v2}y*{v3})"),
                5 => format!("({a}>={v})"),
                6 => format!("({a}<={v})"),
                7 => format!("({a}~={v})"),
                _ => format!("({a}:dn:1.2.3:={v})"),
            });
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("(&{})", v.concat())),
                proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("(|{})", v.concat())),
                inner.prop_map(|f| format!("(!{f})")),
            ]
        })
    }

    proptest! {
        /// Every filter of the grammar encodes as ldap3 encodes it.
        #[test]
        fn random_filters_encode_as_ldap3_encodes_them(f in arb_filter()) {
            prop_assert_eq!(ours(&f), ldap3(&f));
        }

        /// Where either refuses a string, both do (but for ldap3's bare items without
        /// parentheses, which RFC 4515 does not allow).
        #[test]
        fn random_strings_are_refused_alike(s in "[(&|!)a=*\\\\2:~<>]{0,12}") {
            if !s.starts_with('(') {
                prop_assert!(ours(&s).is_none());
            } else {
                prop_assert_eq!(ours(&s), ldap3(&s), "{}", s);
            }
        }
    }
}
