//! A fast, strict reader of the members of a JSON object as a store keeps claims: where each
//! key and its value are in the text, without building any value.
//!
//! Every read of a stored resource indexes its claims text ([`crate::Claims::from_json`]); with
//! serde_json's borrowed `RawValue` entries that cost about 14 instructions a byte, more than
//! the database's own work for a point read. This reader takes the common shape alone (keys
//! and strings without escapes, values nested at most [`MAX_DEPTH`] deep) and checks it as
//! strictly as serde_json does (RFC 8259: numbers, literals, control characters, commas, what
//! follows the object); anything else it declines (`None`) and the caller reads the text with
//! serde_json, which also names the fault. So it never accepts text serde_json refuses, and
//! where it accepts, it finds the same members (a property test holds the two together).

use std::ops::Range;

/// Nesting past this depth is left to serde_json (its own limit is 128).
const MAX_DEPTH: usize = 32;

/// The members of the JSON object `text` is, in the order written: the place of each key
/// (between its quotes) and of its value. `None` if the text is not an object this reader
/// takes (see the module docs): it may still be valid JSON.
pub(crate) fn object_members(text: &str) -> Option<Vec<(Range<usize>, Range<usize>)>> {
    let b = text.as_bytes();
    let mut at = skip_ws(b, 0);
    if b.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_ws(b, at + 1);
    let mut members = Vec::with_capacity(16);
    if b.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            let key_end = string(b, at)?;
            let key = at + 1..key_end - 1;
            at = skip_ws(b, key_end);
            if b.get(at) != Some(&b':') {
                return None;
            }
            let start = skip_ws(b, at + 1);
            let end = value(b, start, 1)?;
            members.push((key, start..end));
            at = skip_ws(b, end);
            match b.get(at) {
                Some(b',') => at = skip_ws(b, at + 1),
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, at) == b.len()).then_some(members)
}

fn skip_ws(b: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(at) {
        at += 1;
    }
    at
}

/// The end (past its closing quote) of the string starting at `at`, if it has no escape and no
/// control character.
fn string(b: &[u8], at: usize) -> Option<usize> {
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    // Eight bytes at a time: the first byte that ends the string or needs a look decides.
    while let Some(chunk) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let found = special(u64::from_le_bytes(w));
        if found != 0 {
            let j = i + (found.trailing_zeros() / 8) as usize;
            return (b[j] == b'"').then_some(j + 1);
        }
        i += 8;
    }
    loop {
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' | 0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// The bytes of `w` (little-endian) that are `"`, `\\` or a control character (below 0x20),
/// each marked by its high bit; the lowest mark is exact, those above it may not be. This is
/// the classic "has a zero byte" test, `(v - 0x01..) & !v & 0x80..`, which marks the bytes of
/// `v` below 1 (below `n` with `n` for 0x01, `n` up to 0x80): a borrow only runs upward from
/// a byte that was marked rightly.
fn special(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero(w ^ (ONES * u64::from(b'"')));
    let backslash = zero(w ^ (ONES * u64::from(b'\\')));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    quote | backslash | control
}

/// The end of the value starting at `at` (no whitespace before it), nested `depth` deep.
fn value(b: &[u8], at: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    match *b.get(at)? {
        b'"' => string(b, at),
        b'{' => {
            let mut i = skip_ws(b, at + 1);
            if b.get(i) == Some(&b'}') {
                return Some(i + 1);
            }
            loop {
                i = skip_ws(b, string(b, i)?);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_ws(b, value(b, skip_ws(b, i + 1), depth + 1)?);
                match b.get(i)? {
                    b',' => i = skip_ws(b, i + 1),
                    b'}' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'[' => {
            let mut i = skip_ws(b, at + 1);
            if b.get(i) == Some(&b']') {
                return Some(i + 1);
            }
            loop {
                i = skip_ws(b, value(b, i, depth + 1)?);
                match b.get(i)? {
                    b',' => i = skip_ws(b, i + 1),
                    b']' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b't' => literal(b, at, b"true"),
        b'f' => literal(b, at, b"false"),
        b'n' => literal(b, at, b"null"),
        b'-' | b'0'..=b'9' => number(b, at),
        _ => None,
    }
}

fn literal(b: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    (b.get(at..at + word.len())? == word).then_some(at + word.len())
}

/// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number(b: &[u8], mut at: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    if b.get(at) == Some(&b'-') {
        at += 1;
    }
    at = match b.get(at)? {
        b'0' => at + 1,
        b'1'..=b'9' => digits(at)?,
        _ => return None,
    };
    if b.get(at) == Some(&b'.') {
        at = digits(at + 1)?;
    }
    if let Some(b'e' | b'E') = b.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = b.get(at) {
            at += 1;
        }
        at = digits(at)?;
    }
    // serde_json refuses a number run into a letter or another number (`1x`, `01`): so does
    // the caller, since only `,`, `}`, `]` or whitespace may follow a value.
    Some(at)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;
    use serde_json::value::RawValue;

    /// What serde_json finds: the members as (key, value) text, or `None` if it refuses the
    /// text or is not an object of plain keys.
    fn serde_members(text: &str) -> Option<Vec<(String, String)>> {
        let map: Vec<(String, String)> =
            serde_json::from_str::<std::collections::BTreeMap<String, &RawValue>>(text)
                .ok()
                .map(|m| m.into_iter().map(|(k, v)| (k, v.get().to_owned())).collect())?;
        Some(map)
    }

    fn ours(text: &str) -> Option<Vec<(String, String)>> {
        let mut m: Vec<(String, String)> = object_members(text)?
            .into_iter()
            .map(|(k, v)| (text[k].to_owned(), text[v].to_owned()))
            .collect();
        // serde_json's map keeps the last of a key given twice, in key order.
        m.reverse();
        m.sort_by(|a, b| a.0.cmp(&b.0));
        m.dedup_by(|later, first| later.0 == first.0);
        Some(m)
    }

    #[test]
    fn stored_claims_are_read_member_by_member() {
        let text = r#"{"urn:scimd:claims:active":true,"urn:scimd:claims:emails":[{"primary":true,"type":"work","value":"kim@example.com"}],"urn:scimd:claims:n":-1.5e+3,"urn:scimd:claims:x":null,"urn:scimd:claims:é":"Zoë"}"#;
        let m = object_members(text).unwrap();
        let got: Vec<(&str, &str)> = m.iter().map(|(k, v)| (&text[k.clone()], &text[v.clone()])).collect();
        assert_eq!(
            got,
            vec![
                ("urn:scimd:claims:active", "true"),
                ("urn:scimd:claims:emails", r#"[{"primary":true,"type":"work","value":"kim@example.com"}]"#),
                ("urn:scimd:claims:n", "-1.5e+3"),
                ("urn:scimd:claims:x", "null"),
                ("urn:scimd:claims:é", r#""Zoë""#),
            ]
        );
        assert_eq!(object_members(" { } ").unwrap(), vec![]);
        assert_eq!(object_members(" {\n\"a\" :\t[ 1 , { } , [ ] ] }\n").unwrap().len(), 1);
    }

    #[test]
    fn what_serde_json_refuses_is_declined() {
        for text in [
            "",
            "{",
            "}",
            "[]",
            "\"a\"",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1 \"b\":2}",
            "{\"a\":[1,]}",
            "{\"a\":{\"b\":1,}}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":-}",
            "{\"a\":+1}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":True}",
            "{\"a\":1}x",
            "{\"a\":1}{}",
            "{\"a\":\"b\nc\"}",
            "{\"a\":\"b",
            "{\"a\":[1 2]}",
            "{\"a\":1x}",
            "{\"a\":NaN}",
            "{a:1}",
            "{\"a\":'b'}",
        ] {
            assert_eq!(object_members(text), None, "{text:?}");
            assert!(serde_json::from_str::<Value>(text).map(|v| !v.is_object()).unwrap_or(true), "{text:?}");
        }
    }

    #[test]
    fn the_lowest_mark_of_a_word_is_its_first_special_byte() {
        let is_special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        for filler in [b'a', b' ', 0x7f, 0x80, 0xc3, 0xff] {
            for byte in 0..=255u8 {
                for at in 0..8 {
                    // The byte alone in the word, and followed by specials (a borrow upward).
                    for after in [filler, 0x00, b'"', 0x1f] {
                        let mut w = [filler; 8];
                        w[at] = byte;
                        w[at + 1..].fill(after);
                        let want = w.iter().position(|&b| is_special(b));
                        let marks = special(u64::from_le_bytes(w));
                        let got = (marks != 0).then(|| (marks.trailing_zeros() / 8) as usize);
                        assert_eq!(got, want, "{w:x?}");
                    }
                }
            }
        }
    }

    #[test]
    fn escapes_and_deep_nesting_are_left_to_serde_json() {
        assert_eq!(object_members(r#"{"a":"b\"c"}"#), None);
        assert_eq!(object_members(r#"{"a\u0041":1}"#), None);
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert_eq!(object_members(&deep), None);
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(20), "]".repeat(20));
        assert!(object_members(&ok).is_some());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            "[a-z\"\\\\\u{e9}\u{1f600} \n]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\"]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Where this reader accepts a text, serde_json accepts it and finds the same members;
        /// on serde_json's own output without escapes, it accepts.
        #[test]
        fn agrees_with_serde_json(
            members in prop::collection::btree_map("[a-z:\"]{0,6}", json_value(), 0..6),
            pretty in any::<bool>(),
            cut in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let object = Value::Object(members.into_iter().collect());
            let text = if pretty { serde_json::to_string_pretty(&object) } else { serde_json::to_string(&object) }.unwrap();
            match ours(&text) {
                Some(m) => prop_assert_eq!(Some(m), serde_members(&text)),
                None => prop_assert!(text.contains('\\'), "declined {}", text),
            }
            // A byte changed or the text cut: never accepted where serde_json refuses.
            let mut bytes = text.clone().into_bytes();
            let i = cut.index(bytes.len());
            bytes[i] = byte;
            for t in [String::from_utf8(bytes).ok(), Some(text[..text.floor_char_boundary(i)].to_owned())].into_iter().flatten() {
                if let Some(m) = ours(&t) {
                    prop_assert_eq!(Some(m), serde_members(&t), "{}", t);
                }
            }
        }
    }
}
