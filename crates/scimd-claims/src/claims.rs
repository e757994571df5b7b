//! Local claims of one resource.

use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

/// The URI prefix of the local dialect: every local claim is `urn:scimd:claims:<name>`.
pub const LOCAL_DIALECT: &str = "urn:scimd:claims";

/// The local claim that holds a resource's id.
pub const ID: &str = "urn:scimd:claims:id";
/// The local claim that holds a user's userName.
pub const USER_NAME: &str = "urn:scimd:claims:userName";
/// The local claim that holds a resource's externalId.
pub const EXTERNAL_ID: &str = "urn:scimd:claims:externalId";
/// The local claim that holds a displayName (of a group or a user).
pub const DISPLAY_NAME: &str = "urn:scimd:claims:displayName";
/// The local claim that holds a group's displayName.
pub const GROUP_DISPLAY_NAME: &str = "urn:scimd:claims:groupDisplayName";
/// The local claim that holds a user's password, as an argon2id PHC string, never in clear.
pub const PASSWORD: &str = "urn:scimd:claims:password";
/// The local claim that holds a user's emails (a list of objects with `value`, `type`,
/// `primary`, `display`); stores index `emails.value` (RFC 7644 §3.4.2.2 lookups by email).
pub const EMAILS: &str = "urn:scimd:claims:emails";
/// The local claim that holds a user's family name (`name.familyName`).
pub const FAMILY_NAME: &str = "urn:scimd:claims:name.familyName";

/// The claims every store answers equality filters on (by index where it has one).
pub const INDEXED: [&str; 5] = [ID, USER_NAME, EXTERNAL_ID, DISPLAY_NAME, GROUP_DISPLAY_NAME];

/// The local claims of one resource: claim URI to value. A value is simple (string, number,
/// boolean), a list, or complex (an object of sub-attributes), so that a multi-valued complex
/// attribute such as `emails` passes through without loss.
///
/// Claims read from a store as JSON text ([`Claims::from_json`]) keep that text: a response
/// copies each value's text as it is ([`Claims::write_value`]), and the values are parsed into
/// a tree only when something asks for one (a filter evaluated in memory, a PATCH). The first
/// change drops the text.
#[derive(Clone, Default)]
pub struct Claims(Repr);

#[derive(Clone)]
enum Repr {
    Parsed(BTreeMap<String, Value>),
    Text { text: ClaimsText, parsed: OnceLock<BTreeMap<String, Value>> },
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Parsed(BTreeMap::new())
    }
}

/// Where a key and its value are in a JSON object's text.
type Place = (Range<usize>, Range<usize>);

/// A JSON object of claims as text, with the place of each key and value in it, sorted by key.
#[derive(Clone)]
struct ClaimsText {
    text: Box<str>,
    index: Vec<Place>,
}

impl ClaimsText {
    fn key(&self, i: usize) -> &str {
        &self.text[self.index[i].0.clone()]
    }
    fn find(&self, claim: &str) -> Option<&str> {
        let i = self.index.binary_search_by(|(k, _)| self.text[k.clone()].cmp(claim)).ok()?;
        Some(&self.text[self.index[i].1.clone()])
    }
    /// Sets the value of `claim` to `value` in the text: replaced where the claim is, added
    /// at the end otherwise. Fails only if the claim is not a plain key (needs escapes).
    fn set(&mut self, claim: &str, value: &Value) -> Result<(), serde_json::Error> {
        let value_text = serde_json::to_string(value)?;
        match self.index.binary_search_by(|(k, _)| self.text[k.clone()].cmp(claim)) {
            Ok(i) => {
                let old = self.index[i].1.clone();
                let mut text = String::with_capacity(self.text.len() + value_text.len());
                text.push_str(&self.text[..old.start]);
                text.push_str(&value_text);
                text.push_str(&self.text[old.end..]);
                // Every place after the value moves by the difference in length.
                let shift = |at: usize| if at >= old.end { at + value_text.len() - old.len() } else { at };
                for (k, v) in &mut self.index {
                    *k = shift(k.start)..shift(k.end);
                    *v = shift(v.start)..shift(v.end);
                }
                self.index[i].1 = old.start..old.start + value_text.len();
                self.text = text.into_boxed_str();
            }
            Err(i) => {
                let key_text = serde_json::to_string(claim)?;
                if key_text.len() != claim.len() + 2 {
                    // A key that needs escapes cannot be borrowed from the text.
                    return Err(serde_json::Error::io(std::io::Error::other("escaped key")));
                }
                // The text is `{...}`: the new member goes before the closing brace.
                let whole = self.text.trim_end();
                let body = whole[..whole.len() - 1].trim_end();
                let empty = body.len() == 1;
                let mut text = String::with_capacity(body.len() + key_text.len() + value_text.len() + 3);
                text.push_str(body);
                if !empty {
                    text.push(',');
                }
                let key_start = text.len() + 1;
                text.push_str(&key_text);
                text.push(':');
                let value_start = text.len();
                text.push_str(&value_text);
                text.push('}');
                self.index.insert(
                    i,
                    (key_start..key_start + claim.len(), value_start..value_start + value_text.len()),
                );
                self.text = text.into_boxed_str();
            }
        }
        Ok(())
    }

    fn parse(&self) -> BTreeMap<String, Value> {
        // The text was checked to be a JSON object when it was read: this cannot fail.
        let mut map: BTreeMap<String, Value> = serde_json::from_str(&self.text).unwrap_or_default();
        // As `Claims::insert`: null is no value.
        map.retain(|_, v| !v.is_null());
        map
    }
}

/// A claim's value as JSON: the text a store kept, or a parsed value.
#[derive(Debug, Clone, Copy)]
pub enum ClaimJson<'a> {
    Text(&'a str),
    Value(&'a Value),
}

impl ClaimJson<'_> {
    /// Appends the value as JSON to `out`.
    pub fn write(self, out: &mut Vec<u8>) {
        match self {
            ClaimJson::Text(t) => out.extend_from_slice(t.as_bytes()),
            // Serializing a value to a Vec cannot fail.
            ClaimJson::Value(v) => {
                let _ = serde_json::to_writer(out, v);
            }
        }
    }
}

/// The members of a JSON object, borrowed from its text, in the order written.
struct Entries<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object of claims")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Members)
    }
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.map()).finish()
    }
}

impl PartialEq for Claims {
    fn eq(&self, other: &Self) -> bool {
        self.map() == other.map()
    }
}

impl Claims {
    pub fn new() -> Self {
        Claims(Repr::Parsed(BTreeMap::new()))
    }

    /// Claims from the JSON object text a store keeps them as. The text is checked here (a
    /// JSON object, nothing after it); its values are parsed later, if ever.
    pub fn from_json(text: String) -> Result<Claims, serde_json::Error> {
        let index = match Self::index(&text) {
            Ok(index) => index,
            // A key with escapes cannot be borrowed from the text: parse it all now.
            Err(e) if e.is_data() => {
                let map: BTreeMap<String, Value> = serde_json::from_str(&text)?;
                return Ok(map.into_iter().collect());
            }
            Err(e) => return Err(e),
        };
        Ok(Claims(Repr::Text {
            text: ClaimsText { text: text.into_boxed_str(), index },
            parsed: OnceLock::new(),
        }))
    }

    fn index(text: &str) -> Result<Vec<Place>, serde_json::Error> {
        let mut entries: Vec<(&str, &str)> = match crate::scan::object_members(text) {
            Some(members) => members.into_iter().map(|(k, v)| (&text[k], &text[v])).collect(),
            // Escapes, deep nesting or a fault: serde_json reads it (and names the fault).
            None => {
                let Entries(entries) = serde_json::from_str(text)?;
                entries.into_iter().map(|(k, v)| (k, v.get())).collect()
            }
        };
        // Sorted by key (stored text usually is already); a key given twice keeps its last
        // value, as a parsed map does.
        if !entries.windows(2).all(|w| w[0].0 < w[1].0) {
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut kept: Vec<(&str, &str)> = Vec::with_capacity(entries.len());
            for e in entries {
                match kept.last_mut() {
                    Some(last) if last.0 == e.0 => *last = e,
                    _ => kept.push(e),
                }
            }
            entries = kept;
        }
        let base = text.as_ptr() as usize;
        let at = |s: &str| {
            let start = s.as_ptr() as usize - base;
            start..start + s.len()
        };
        // As `Claims::insert`: null is no value.
        Ok(entries.into_iter().filter(|(_, v)| *v != "null").map(|(k, v)| (at(k), at(v))).collect())
    }

    fn map(&self) -> &BTreeMap<String, Value> {
        match &self.0 {
            Repr::Parsed(map) => map,
            Repr::Text { text, parsed } => parsed.get_or_init(|| text.parse()),
        }
    }

    fn map_mut(&mut self) -> &mut BTreeMap<String, Value> {
        if let Repr::Text { text, parsed } = &mut self.0 {
            let map = parsed.take().unwrap_or_else(|| text.parse());
            self.0 = Repr::Parsed(map);
        }
        match &mut self.0 {
            Repr::Parsed(map) => map,
            Repr::Text { .. } => unreachable!("made Parsed above"),
        }
    }

    pub fn get(&self, claim: &str) -> Option<&Value> {
        self.map().get(claim)
    }
    /// The claim's value if it is a string.
    pub fn get_str(&self, claim: &str) -> Option<&str> {
        if let Repr::Text { text, parsed } = &self.0 {
            // A string without escapes is its text between the quotes: no need to parse the
            // other claims.
            if parsed.get().is_none() {
                let raw = text.find(claim)?;
                if let Some(plain) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
                    && !plain.contains('\\')
                {
                    return Some(plain);
                }
                if !raw.starts_with('"') {
                    return None;
                }
            }
        }
        self.map().get(claim).and_then(Value::as_str)
    }
    /// Whether the claim has a value.
    pub fn contains(&self, claim: &str) -> bool {
        match &self.0 {
            Repr::Parsed(map) => map.contains_key(claim),
            Repr::Text { text, .. } => text.find(claim).is_some(),
        }
    }
    /// Appends the claim's value as JSON to `out` (the stored text as it is, when there is one);
    /// false when the claim has no value.
    pub fn write_value(&self, claim: &str, out: &mut Vec<u8>) -> bool {
        let value = match &self.0 {
            Repr::Parsed(map) => map.get(claim).map(ClaimJson::Value),
            Repr::Text { text, .. } => text.find(claim).map(ClaimJson::Text),
        };
        value.map(|v| v.write(out)).is_some()
    }
    /// Each claim with its value as JSON, in order (without parsing stored text).
    pub fn json_values(&self) -> Box<dyn Iterator<Item = (&str, ClaimJson<'_>)> + '_> {
        match &self.0 {
            Repr::Parsed(map) => Box::new(map.iter().map(|(k, v)| (k.as_str(), ClaimJson::Value(v)))),
            Repr::Text { text, .. } => Box::new(
                text.index
                    .iter()
                    .map(|(k, v)| (&text.text[k.clone()], ClaimJson::Text(&text.text[v.clone()]))),
            ),
        }
    }
    /// Sets a claim; a `null` value removes it (SCIM treats null as unassigned).
    pub fn insert(&mut self, claim: impl Into<String>, value: Value) {
        if let Repr::Text { text, parsed } = &mut self.0 {
            // Stored text not parsed yet keeps being text: the value's text is written in
            // place (a name qualified with its domain on every read need not parse the rest).
            if parsed.get().is_none() && !value.is_null() {
                let claim = claim.into();
                if text.set(&claim, &value).is_ok() {
                    return;
                }
                self.map_mut().insert(claim, value);
                return;
            }
        }
        if value.is_null() {
            self.map_mut().remove(&claim.into());
        } else {
            self.map_mut().insert(claim.into(), value);
        }
    }
    pub fn remove(&mut self, claim: &str) -> Option<Value> {
        self.map_mut().remove(claim)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.map().iter()
    }
    /// The claim URIs, in order (without parsing stored text).
    pub fn keys(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match &self.0 {
            Repr::Parsed(map) => Box::new(map.keys().map(String::as_str)),
            Repr::Text { text, .. } => Box::new((0..text.index.len()).map(|i| text.key(i))),
        }
    }
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Parsed(map) => map.len(),
            Repr::Text { text, .. } => text.index.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FromIterator<(String, Value)> for Claims {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        let mut c = Claims::new();
        for (k, v) in iter {
            c.insert(k, v);
        }
        c
    }
}

impl IntoIterator for Claims {
    type Item = (String, Value);
    type IntoIter = std::collections::btree_map::IntoIter<String, Value>;
    fn into_iter(mut self) -> Self::IntoIter {
        std::mem::take(self.map_mut()).into_iter()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(text: &str) -> Claims {
        Claims::from_json(text.to_owned()).unwrap()
    }

    fn is_text(c: &Claims) -> bool {
        matches!(&c.0, Repr::Text { parsed, .. } if parsed.get().is_none())
    }

    fn written(c: &Claims) -> String {
        let mut out = Vec::new();
        for (i, (k, v)) in c.json_values().enumerate() {
            out.extend_from_slice(if i == 0 { b"{" } else { b"," });
            out.extend_from_slice(serde_json::to_string(k).unwrap().as_bytes());
            out.push(b':');
            v.write(&mut out);
        }
        out.push(b'}');
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_plain_string_is_read_from_the_text_without_parsing() {
        let c = stored(r#"{"urn:x:a": "kim", "urn:x:b": [1, 2], "urn:x:c": "a\"b", "urn:x:d": 7}"#);
        assert_eq!(c.get_str("urn:x:a"), Some("kim"));
        assert_eq!(c.get_str("urn:x:d"), None);
        assert_eq!(c.get_str("urn:x:b"), None);
        assert_eq!(c.get_str("urn:x:missing"), None);
        assert!(is_text(&c));
        // A string with escapes is parsed.
        assert_eq!(c.get_str("urn:x:c"), Some("a\"b"));
    }

    #[test]
    fn a_value_set_in_stored_text_keeps_it_text_and_agrees_with_the_parsed_map() {
        let text = r#"{"urn:x:a": "kim", "urn:x:b": [1, 2], "urn:x:d": {"e": "f"}}
"#;
        let cases: Vec<(&str, Value)> = vec![
            ("urn:x:a", json!("PG/kim")),
            ("urn:x:a", json!("")),
            ("urn:x:b", json!({"long": ["value", "that", "is", "longer"]})),
            ("urn:x:d", json!(true)),
            ("urn:x:0", json!("first")),
            ("urn:x:c", json!("between")),
            ("urn:x:z", json!(["last"])),
        ];
        for (claim, value) in cases {
            let mut c = stored(text);
            c.insert(claim, value.clone());
            assert!(is_text(&c), "{claim} made the claims parsed");
            let mut expected: BTreeMap<String, Value> = serde_json::from_str(text).unwrap();
            expected.insert(claim.to_owned(), value.clone());
            // Each value as the text has it, each key where the index says.
            assert_eq!(c.keys().collect::<Vec<_>>(), expected.keys().map(String::as_str).collect::<Vec<_>>());
            let back: BTreeMap<String, Value> = serde_json::from_str(&written(&c)).unwrap();
            assert_eq!(back, expected, "after setting {claim}");
            assert_eq!(c.map(), &expected);
        }
        // Twice in a row, and into an empty object.
        let mut c = stored(text);
        c.insert("urn:x:a", json!("one much longer value"));
        c.insert("urn:x:b", json!(0));
        assert_eq!(c.get("urn:x:a"), Some(&json!("one much longer value")));
        assert_eq!(c.get("urn:x:b"), Some(&json!(0)));
        let mut e = stored("{ }");
        e.insert("urn:x:a", json!(1));
        assert_eq!(written(&e), r#"{"urn:x:a":1}"#);
        // null removes, as on parsed claims.
        let mut c = stored(text);
        c.insert("urn:x:a", Value::Null);
        assert!(!c.contains("urn:x:a"));
    }
}
