//! A resource's attributes written as JSON straight from its claims.
//!
//! [`crate::DialectMapping::to_resource`] builds a SCIM resource as a tree of values, which a
//! response then serializes. For the representation most responses carry (no `attributes`, no
//! `excludedAttributes`) that tree is pure overhead: a layout, worked out once per mapping,
//! says in which order and under which names the claims of a resource are written, and a
//! [`ResourceWriter`] copies each claim's value into the output, as stored
//! ([`Claims::write_value`]).
//!
//! The attributes come out in the order of the mapping's rows: an extension or a complex
//! attribute where its first row is. The JSON is the same as `to_resource`'s, serialized.

use crate::claims::{ClaimJson, Claims};
use scimd_core::name::eq_ci;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

/// Where each claim of a resource of one kind is written, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    nodes: Vec<Node>,
    /// How many top-level attributes there are (each has a `slot` below this).
    slots: usize,
    /// Each claim written, to its leaf number (the first attribute that reads it back). Looked
    /// up for every claim of every resource written: hashed a word at a time (`WordHash`), which
    /// costs a fraction of SipHash or of a byte-at-a-time hash on these keys (the mapping's
    /// claim names, not input: the table is fixed, a lookup cannot make it degrade).
    leaves: HashMap<String, usize, BuildHasherDefault<WordHash>>,
    /// A cache of the masks of the top-level attributes hidden, worked out so far.
    masks: Masks,
}

/// The attributes a writer hides, by the list of hidden attributes it was made for: a response
/// under the default projection (the same few lists again and again) need not match every
/// attribute of the layout against the list. At most [`Masks::LIMIT`] lists are kept (a client
/// chooses `excludedAttributes`); past that, the cache starts over.
#[derive(Debug, Default)]
struct Masks(Mutex<Vec<(Hidden, Arc<[bool]>)>>);

/// Top-level attributes, as (extension URI or `None`, name).
type Hidden = Vec<(Option<String>, String)>;

impl Masks {
    const LIMIT: usize = 16;

    fn get(&self, hidden: &[(Option<String>, String)]) -> Option<Arc<[bool]>> {
        let masks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        masks.iter().find(|(h, _)| h.as_slice() == hidden).map(|(_, m)| Arc::clone(m))
    }

    fn put(&self, hidden: &[(Option<String>, String)], mask: Arc<[bool]>) {
        let mut masks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if masks.len() >= Self::LIMIT {
            masks.clear();
        }
        masks.push((hidden.to_vec(), mask));
    }
}

/// A copy of a layout works its masks out again.
impl Clone for Masks {
    fn clone(&self) -> Self {
        Masks::default()
    }
}

/// A multiplicative hash read eight bytes at a time (the mixing step of FxHash), with a final
/// avalanche so that the low bits, which pick the bucket, depend on every input bit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WordHash(u64);

impl WordHash {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        let h = self.0;
        (h ^ (h >> 32)).wrapping_mul(Self::K) ^ (h >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.add(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length tells "ab" from "ab\0".
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    /// A simple or multi-valued attribute, or a complex one kept whole: one claim.
    Attr { slot: usize, name: String, key: String, leaf: usize },
    /// A singular complex attribute whose sub-attributes are claims of their own.
    Complex { slot: usize, name: String, key: String, subs: Vec<(String, usize)> },
    /// An extension's attributes, under its schema URI.
    Extension { uri: String, key: String, nodes: Vec<Node> },
}

/// `"name":`, escaped as JSON requires.
fn key(name: &str) -> String {
    let mut out = serde_json::to_string(name).unwrap_or_else(|_| format!("\"{name}\""));
    out.push(':');
    out
}

impl Layout {
    /// Adds the claim `local`, read back as `attr` (or `attr.sub`), under the extension `ext`
    /// or at the top. A claim read back already is not written twice.
    pub(crate) fn push(&mut self, ext: Option<&str>, attr: &str, sub: Option<&str>, local: &str) {
        if self.leaves.contains_key(local) {
            return;
        }
        let leaf = self.leaves.len();
        self.leaves.insert(local.to_owned(), leaf);
        let nodes = match ext {
            None => &mut self.nodes,
            Some(uri) => {
                let at = self
                    .nodes
                    .iter()
                    .position(|n| matches!(n, Node::Extension { uri: u, .. } if u == uri))
                    .unwrap_or_else(|| {
                        self.nodes.push(Node::Extension {
                            uri: uri.to_owned(),
                            key: key(uri),
                            nodes: Vec::new(),
                        });
                        self.nodes.len() - 1
                    });
                match &mut self.nodes[at] {
                    Node::Extension { nodes, .. } => nodes,
                    _ => return,
                }
            }
        };
        match sub {
            None => {
                nodes.push(Node::Attr { slot: self.slots, name: attr.to_owned(), key: key(attr), leaf });
                self.slots += 1;
            }
            Some(sub) => {
                let existing = nodes.iter_mut().find_map(|n| match n {
                    Node::Complex { name, subs, .. } if name == attr => Some(subs),
                    _ => None,
                });
                match existing {
                    Some(subs) => subs.push((key(sub), leaf)),
                    None => {
                        nodes.push(Node::Complex {
                            slot: self.slots,
                            name: attr.to_owned(),
                            key: key(attr),
                            subs: vec![(key(sub), leaf)],
                        });
                        self.slots += 1;
                    }
                }
            }
        }
    }
}

/// Writes the attributes of resources of one kind, leaving out the top-level attributes a
/// projection hides (`returned: never` or `request` under the default projection).
#[derive(Debug)]
pub struct ResourceWriter<'m> {
    layout: &'m Layout,
    hidden: Arc<[bool]>,
}

/// The values of one resource's claims, by leaf of the layout.
pub struct Values<'c>(Vec<Option<ClaimJson<'c>>>);

impl<'m> ResourceWriter<'m> {
    /// `hidden`: the top-level attributes left out, as (extension URI or `None`, name).
    pub(crate) fn new(layout: &'m Layout, hidden: &[(Option<String>, String)]) -> Self {
        if let Some(mask) = layout.masks.get(hidden) {
            return ResourceWriter { layout, hidden: mask };
        }
        let mut mask = vec![false; layout.slots];
        let mut mark = |ext: Option<&str>, nodes: &[Node]| {
            for node in nodes {
                let (slot, name) = match node {
                    Node::Attr { slot, name, .. } | Node::Complex { slot, name, .. } => (*slot, name),
                    Node::Extension { .. } => continue,
                };
                mask[slot] = hidden.iter().any(|(e, n)| {
                    eq_ci(n, name)
                        && match (e.as_deref(), ext) {
                            (None, None) => true,
                            (Some(a), Some(b)) => eq_ci(a, b),
                            _ => false,
                        }
                });
            }
        };
        if !hidden.is_empty() {
            mark(None, &layout.nodes);
            for node in &layout.nodes {
                if let Node::Extension { uri, nodes, .. } = node {
                    mark(Some(uri), nodes);
                }
            }
        }
        let mask: Arc<[bool]> = mask.into();
        layout.masks.put(hidden, Arc::clone(&mask));
        ResourceWriter { layout, hidden: mask }
    }

    /// Finds the value of each claim the layout writes (claims it does not write are not
    /// read back: the password hash, the resource's own columns).
    pub fn values<'c>(&self, claims: &'c Claims) -> Values<'c> {
        let mut values = vec![None; self.layout.leaves.len()];
        for (claim, value) in claims.json_values() {
            if let Some(&leaf) = self.layout.leaves.get(claim) {
                values[leaf] = Some(value);
            }
        }
        Values(values)
    }

    /// Whether `node` writes anything for these values.
    fn shows(&self, node: &Node, values: &Values<'_>) -> bool {
        match node {
            Node::Attr { slot, leaf, .. } => !self.hidden[*slot] && values.0[*leaf].is_some(),
            Node::Complex { slot, subs, .. } => {
                !self.hidden[*slot] && subs.iter().any(|(_, leaf)| values.0[*leaf].is_some())
            }
            Node::Extension { nodes, .. } => nodes.iter().any(|n| self.shows(n, values)),
        }
    }

    /// The URIs of the extensions the values give attributes to, in the order written.
    pub fn extensions<'a>(&'a self, values: &'a Values<'_>) -> impl Iterator<Item = &'m str> + 'a {
        self.layout.nodes.iter().filter_map(move |n| match n {
            Node::Extension { uri, .. } if self.shows(n, values) => Some(uri.as_str()),
            _ => None,
        })
    }

    /// Appends `,"name":value` for each attribute the values give, in the layout's order.
    pub fn write(&self, values: &Values<'_>, out: &mut Vec<u8>) {
        self.write_nodes(&self.layout.nodes, values, out, false);
    }

    fn write_nodes(&self, nodes: &[Node], values: &Values<'_>, out: &mut Vec<u8>, mut first: bool) {
        for node in nodes {
            if !self.shows(node, values) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            match node {
                Node::Attr { key, leaf, .. } => {
                    out.extend_from_slice(key.as_bytes());
                    if let Some(v) = values.0[*leaf] {
                        v.write(out);
                    }
                }
                Node::Complex { key, subs, .. } => {
                    out.extend_from_slice(key.as_bytes());
                    out.push(b'{');
                    let mut first_sub = true;
                    for (sub_key, leaf) in subs {
                        let Some(v) = values.0[*leaf] else { continue };
                        if !first_sub {
                            out.push(b',');
                        }
                        first_sub = false;
                        out.extend_from_slice(sub_key.as_bytes());
                        v.write(out);
                    }
                    out.push(b'}');
                }
                Node::Extension { key, nodes, .. } => {
                    out.extend_from_slice(key.as_bytes());
                    out.push(b'{');
                    self.write_nodes(nodes, values, out, true);
                    out.push(b'}');
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use crate::claims::Claims;
    use crate::dialect::DialectMapping;
    use scimd_core::ResourceKind;
    use scimd_core::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::{Value, json};

    #[test]
    fn word_hash_tells_apart_keys_that_differ_anywhere_or_in_length() {
        use super::WordHash;
        use std::hash::{BuildHasher, BuildHasherDefault};
        let hash = |k: &str| BuildHasherDefault::<WordHash>::default().hash_one(k);
        let keys = [
            "urn:scimd:claims:name.familyName",
            "urn:scimd:claims:name.familyNamf",
            "vrn:scimd:claims:name.familyName",
            "urn:scimd:claims:name.familyNam",
            "urn:scimd:claims:name.familyName\0",
            "ab",
            "ab\0",
            "",
        ];
        let hashes: std::collections::HashSet<u64> = keys.iter().map(|k| hash(k)).collect();
        assert_eq!(hashes.len(), keys.len());
        // The bucket bits (the low ones) differ too for keys that differ in one late byte.
        assert_ne!(hash(keys[0]) & 0xff, hash(keys[1]) & 0xff);
    }

    fn user_claims() -> Claims {
        let mapping = DialectMapping::builtin().unwrap();
        let resource = json!({
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}, {"value": "bj@x.org"}],
            "active": true,
            "externalId": "e-1",
            "password": "$argon2id$hash",
            ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984", "manager": {"value": "m-1"}},
        });
        mapping.to_claims(ResourceKind::User, resource.as_object().unwrap()).unwrap()
    }

    fn written(mapping: &DialectMapping, claims: &Claims, hidden: &[(Option<String>, String)]) -> Value {
        let mut out = b"{\"x\":0".to_vec();
        let w = mapping.writer(ResourceKind::User, hidden);
        w.write(&w.values(claims), &mut out);
        out.push(b'}');
        let mut v: Value = serde_json::from_slice(&out).unwrap();
        v.as_object_mut().unwrap().remove("x");
        v
    }

    /// What the writer writes is what `to_resource` builds, serialized: from parsed claims and
    /// from claims kept as the text a store read.
    #[test]
    fn writes_what_to_resource_builds() {
        let mapping = DialectMapping::builtin().unwrap();
        let claims = user_claims();
        let built = Value::Object(mapping.to_resource(ResourceKind::User, &claims));
        assert_eq!(written(&mapping, &claims, &[]), built);
        let text =
            serde_json::to_string(&claims.iter().collect::<std::collections::BTreeMap<_, _>>()).unwrap();
        let stored = Claims::from_json(text).unwrap();
        assert_eq!(stored, claims);
        assert_eq!(written(&mapping, &stored, &[]), built);
        // The extension is listed once, for `schemas`.
        let w = mapping.writer(ResourceKind::User, &[]);
        assert_eq!(w.extensions(&w.values(&stored)).collect::<Vec<_>>(), vec![ENTERPRISE_USER_SCHEMA]);
    }

    /// RFC 7643 §7: a hidden top-level attribute is left out, and an extension left with no
    /// attribute is not written (nor listed).
    #[test]
    fn hidden_attributes_are_left_out() {
        let mapping = DialectMapping::builtin().unwrap();
        let claims = user_claims();
        let hidden = vec![
            (None, "EMAILS".to_owned()),
            (Some(ENTERPRISE_USER_SCHEMA.to_owned()), "employeeNumber".to_owned()),
            (Some(ENTERPRISE_USER_SCHEMA.to_owned()), "manager".to_owned()),
        ];
        let v = written(&mapping, &claims, &hidden);
        assert!(v.get("emails").is_none());
        assert!(v.get(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(v["name"]["givenName"], "Barbara");
        let w = mapping.writer(ResourceKind::User, &hidden);
        assert_eq!(w.extensions(&w.values(&claims)).count(), 0);
    }

    /// A writer's mask comes from a cache of the lists of hidden attributes seen: asked again,
    /// and after more lists than the cache keeps, each list hides what it hid the first time.
    #[test]
    fn a_cached_mask_hides_what_it_hid_when_worked_out() {
        let mapping = DialectMapping::builtin().unwrap();
        let claims = user_claims();
        let names = ["userName", "name", "emails", "active", "externalId", "title", "nickName", "locale"];
        let lists: Vec<Vec<(Option<String>, String)>> = (0..40)
            .map(|i: usize| {
                names
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| i & (1 << (b % 5)) != 0)
                    .map(|(_, n)| (None, n.to_string()))
                    .collect()
            })
            .collect();
        let first: Vec<Value> = lists.iter().map(|h| written(&mapping, &claims, h)).collect();
        for _ in 0..2 {
            for (h, want) in lists.iter().zip(&first) {
                assert_eq!(&written(&mapping, &claims, h), want, "{h:?}");
                for (_, n) in h {
                    assert!(want.get(n.as_str()).is_none(), "{n} shown though hidden");
                }
            }
        }
        assert_eq!(first[0], written(&DialectMapping::builtin().unwrap(), &claims, &[]));
    }

    /// Stored text is copied as it is (PostgreSQL's jsonb text has spaces; keys in any order).
    #[test]
    fn stored_text_is_copied_as_stored() {
        let mapping = DialectMapping::builtin().unwrap();
        let text = r#"{"urn:scimd:claims:userName": "kim", "urn:scimd:claims:name.givenName": "K\u00e9", "urn:scimd:claims:emails": [{"value": "k@x"}]}"#;
        let claims = Claims::from_json(text.to_owned()).unwrap();
        let mut out = Vec::new();
        let w = mapping.writer(ResourceKind::User, &[]);
        w.write(&w.values(&claims), &mut out);
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(r#""userName":"kim""#), "{out}");
        assert!(out.contains(r#""name":{"givenName":"K\u00e9"}"#), "{out}");
        assert!(out.contains(r#""emails":[{"value": "k@x"}]"#), "{out}");
    }

    #[test]
    fn claims_text_is_checked_and_keys_with_escapes_still_read() {
        assert!(Claims::from_json("[1]".into()).is_err());
        assert!(Claims::from_json("{\"a\":1} x".into()).is_err());
        assert!(Claims::from_json("{\"a\":".into()).is_err());
        let c = Claims::from_json(r#"{"urn:x:\u0061": 1, "urn:x:b": 2, "urn:x:b": 3}"#.into()).unwrap();
        assert_eq!(c.get("urn:x:a"), Some(&json!(1)));
        assert_eq!(c.get("urn:x:b"), Some(&json!(3)));
        let mut c = Claims::from_json(r#"{"urn:x:b": 2, "urn:x:b": 3, "urn:x:a": [true]}"#.into()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.keys().collect::<Vec<_>>(), vec!["urn:x:a", "urn:x:b"]);
        let mut out = Vec::new();
        assert!(c.write_value("urn:x:b", &mut out));
        assert_eq!(out, b"3");
        // A change drops the text: what is written afterwards is the changed value.
        c.insert("urn:x:b", json!("new"));
        out.clear();
        assert!(c.write_value("urn:x:b", &mut out));
        assert_eq!(out, b"\"new\"");
        assert!(!c.write_value("urn:x:none", &mut out));
        // Null is no value, read from text as when set.
        let c = Claims::from_json(r#"{"urn:x:a": null, "urn:x:b": 1}"#.into()).unwrap();
        assert_eq!((c.len(), c.contains("urn:x:a"), c.get("urn:x:a")), (1, false, None));
        assert_eq!(c, [("urn:x:b".to_owned(), json!(1))].into_iter().collect());
    }
}
