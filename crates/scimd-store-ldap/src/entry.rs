//! Entries and claims: the layout of one resource kind in the directory ([`Layout`]), claims
//! written as attribute values ([`encode`]) and read back typed ([`decode`]), and the
//! directory's own values (ids, timestamps, versions, creation order).
//!
//! Values by [`ValueKind`] (what was written reads back identically):
//! - strings and references as UTF-8; an empty string is no value (no directory string syntax
//!   holds one);
//! - booleans `TRUE`/`FALSE` (RFC 4517 §3.3.3), read back without regard to case;
//! - integers and decimals as their JSON text, read back as numbers;
//! - dateTimes: GeneralizedTime in UTC (RFC 4517 §3.3.13) where the attribute's syntax is one,
//!   read back as RFC 3339 in UTC (the instant is kept, not the offset it was written with);
//!   else the RFC 3339 text as written;
//! - binary: the bytes of the base64 text, read back as base64;
//! - a value that does not read as its kind (written by another tool) reads back as a string.
//!
//! A list of complex values (`emails`) is kept through typed views only: each element goes to
//! the attribute of the view of its `type` and keeps its `value`; it reads back as
//! `{"value", "type"}`, the elements in the order of the map's views. An element whose type has
//! no view, or that carries another sub-attribute (`primary`, `display`), is refused
//! ([`StoreError::Unmapped`] naming `<claim>.<type>` or `<claim>.<sub>`). The password claim (an
//! argon2id PHC string) is written as `{ARGON2}<phc>` and never read back.

use std::ops::Range;

use base64ct::{Base64, Encoding as _};
use scimd_claims::claims::{GROUP_DISPLAY_NAME, ID, PASSWORD, USER_NAME};
use scimd_claims::eval::parse_instant;
use scimd_store::{AttributeMap, Claims, MappedClaim, ResourceKind, StoreError, StoreResult, ValueKind};
use serde_json::{Map, Number, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::config::LdapConfig;
use crate::schema::{DirSchema, Syntax};
use crate::wire::{Malformed, Reader, tags};

/// The local claim of `meta.created`.
pub const CREATED: &str = "urn:scimd:claims:created";
/// The local claim of `meta.lastModified`.
pub const LAST_MODIFIED: &str = "urn:scimd:claims:lastModified";
/// The local claim of `meta.version`.
pub const VERSION: &str = "urn:scimd:claims:version";

/// The claims the directory keeps itself: never written from claims.
const OWN: [&str; 4] = [ID, CREATED, LAST_MODIFIED, VERSION];

/// An entry as the directory returned it: its DN and its attributes.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawEntry {
    pub(crate) dn: String,
    /// The entry's encoding as the directory sent it: names and values are places in it (one
    /// copy of the reply, not an allocation per value).
    ber: Box<[u8]>,
    /// Each attribute once, as the directory named it: the place of its name, and which of
    /// `values` are its own (an entry has a few dozen attributes at most: a scan without
    /// allocation finds one sooner than a map lookup that lower-cases and hashes the name).
    attrs: Vec<(Range<u32>, Range<u32>)>,
    /// The places of the values, each attribute's together.
    values: Vec<Range<u32>>,
}

impl RawEntry {
    fn at(&self, r: &Range<u32>) -> &[u8] {
        self.ber.get(r.start as usize..r.end as usize).unwrap_or_default()
    }

    /// The values of `attribute` (its name compared without regard to case, RFC 4512 §2.5).
    pub(crate) fn values(&self, attribute: &str) -> AttrValues<'_> {
        let own = self
            .attrs
            .iter()
            .find(|(name, _)| self.at(name).eq_ignore_ascii_case(attribute.as_bytes()))
            .map_or(0..0, |(_, v)| v.start as usize..v.end as usize);
        AttrValues { entry: self, places: self.values.get(own).unwrap_or_default().iter() }
    }
    pub(crate) fn first(&self, attribute: &str) -> Option<&[u8]> {
        self.values(attribute).next()
    }
    pub(crate) fn text(&self, attribute: &str) -> Option<String> {
        self.first(attribute).map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// The values of one attribute of a [`RawEntry`].
#[derive(Clone)]
pub(crate) struct AttrValues<'a> {
    entry: &'a RawEntry,
    places: std::slice::Iter<'a, Range<u32>>,
}

impl AttrValues<'_> {
    pub(crate) fn is_empty(&self) -> bool {
        self.places.len() == 0
    }
}

impl<'a> Iterator for AttrValues<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let entry = self.entry;
        self.places.next().map(|r| entry.at(r))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.places.size_hint()
    }
}

impl ExactSizeIterator for AttrValues<'_> {}

/// The content of a `SearchResultEntry` (RFC 4511 §4.5.2). A post-read control's value (RFC
/// 4527) is a whole one: [`parse_entry_element`].
pub(crate) fn parse_entry(content: &[u8]) -> Result<RawEntry, Malformed> {
    let base = content.as_ptr() as usize;
    let place = |part: &[u8]| -> Result<Range<u32>, Malformed> {
        let start = u32::try_from(part.as_ptr() as usize - base).map_err(|_| Malformed)?;
        let len = u32::try_from(part.len()).map_err(|_| Malformed)?;
        Ok(start..start + len)
    };
    let mut r = Reader::new(content);
    let dn = String::from_utf8(r.expect(tags::OCTET_STRING)?.to_vec()).map_err(|_| Malformed)?;
    let mut list = r.enter(tags::SEQUENCE)?;
    let mut attrs: Vec<(Range<u32>, Range<u32>)> = Vec::with_capacity(24);
    let mut values: Vec<Range<u32>> = Vec::with_capacity(32);
    while !list.is_empty() {
        let mut a = list.enter(tags::SEQUENCE)?;
        let name = a.expect(tags::OCTET_STRING)?;
        std::str::from_utf8(name).map_err(|_| Malformed)?;
        let mut set = a.enter(tags::SET)?;
        let first = u32::try_from(values.len()).map_err(|_| Malformed)?;
        while !set.is_empty() {
            values.push(place(set.expect(tags::OCTET_STRING)?)?);
        }
        let end = u32::try_from(values.len()).map_err(|_| Malformed)?;
        let known = attrs.iter().position(|(n, _)| {
            content.get(n.start as usize..n.end as usize).is_some_and(|n| n.eq_ignore_ascii_case(name))
        });
        match known.and_then(|i| attrs.get_mut(i)) {
            // A directory names each attribute once; should one come twice, its values join
            // the first's: those move to the end, before the new ones.
            Some((_, own)) => {
                let moved: Vec<Range<u32>> =
                    values.get(own.start as usize..own.end as usize).unwrap_or_default().to_vec();
                let n = u32::try_from(moved.len()).map_err(|_| Malformed)?;
                values.splice(first as usize..first as usize, moved);
                *own = first..end + n;
            }
            None => attrs.push((place(name)?, first..end)),
        }
    }
    Ok(RawEntry { dn, ber: content.into(), attrs, values })
}

/// A whole `SearchResultEntry` element (the value of a post-read control, RFC 4527 §3.2).
pub(crate) fn parse_entry_element(bytes: &[u8]) -> Result<RawEntry, Malformed> {
    parse_entry(Reader::new(bytes).expect(tags::SEARCH_RESULT_ENTRY)?)
}

/// How one resource kind is laid out in the directory.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) kind: ResourceKind,
    pub(crate) map: AttributeMap,
    pub(crate) base: String,
    pub(crate) object_classes: Vec<String>,
    pub(crate) kind_filter: String,
    pub(crate) rdn_attr: String,
    /// The claim that names the resource (userName, or the group's displayName).
    pub(crate) name_claim: &'static str,
    pub(crate) id_attr: String,
    pub(crate) created_attr: String,
    pub(crate) modified_attr: String,
    pub(crate) version_attr: String,
    pub(crate) seq_attr: Option<String>,
    pub(crate) password_attr: Option<String>,
    /// The attributes of a read, worked out once ([`Layout::read_attrs`]).
    reads: [Vec<String>; 4],
}

impl Layout {
    /// A filter for the entries of this kind among those `term` selects, where an index
    /// narrows `term` to a few entries (an id, a name, a member): the kind's filter is put
    /// under a double negation, which means the same (LDAP's three-valued logic included) but
    /// which a directory does not answer from an index. Otherwise OpenLDAP reads the kind's
    /// whole candidate list from its objectClass index (every user) to intersect it with the
    /// one entry `term` finds, which doubles the cost of a lookup; the entries `term` finds
    /// are tested against the kind's filter one by one instead.
    pub(crate) fn narrowed(&self, term: &str) -> String {
        format!("(&(!(!{})){term})", self.kind_filter)
    }

    /// The layout of `kind` with `map`; refuses a map without the mandatory claims or, when
    /// the schema was read, with an attribute the directory does not define.
    pub(crate) fn new(
        domain: &str,
        kind: ResourceKind,
        map: &AttributeMap,
        config: &LdapConfig,
        schema: &DirSchema,
    ) -> StoreResult<Layout> {
        let (which, name_claim) = match kind {
            ResourceKind::User => ("user", USER_NAME),
            ResourceKind::Group => ("group", GROUP_DISPLAY_NAME),
        };
        let required = |claim: &str| -> StoreResult<String> {
            map.of_claim(claim).map(|e| e.attribute.clone()).ok_or_else(|| {
                StoreError::Rejected(format!(
                    "the {which} attribute map of domain {domain} must map claim {claim}"
                ))
            })
        };
        let id_attr = required(ID)?;
        let created_attr = required(CREATED)?;
        let modified_attr = required(LAST_MODIFIED)?;
        let version_attr = required(VERSION)?;
        required(name_claim)?;
        if schema.is_known() {
            for e in map.entries() {
                if schema.get(&e.attribute).is_none() {
                    return Err(StoreError::Rejected(format!(
                        "the {which} attribute map of domain {domain} maps claim {} to attribute {}, \
                         which the directory's schema does not define",
                        e.claim, e.attribute
                    )));
                }
            }
        }
        let (base, object_classes, rdn_attr, filter) = match kind {
            ResourceKind::User => (
                &config.user_base,
                &config.user_object_classes,
                &config.user_rdn_attribute,
                &config.user_filter,
            ),
            ResourceKind::Group => (
                &config.group_base,
                &config.group_object_classes,
                &config.group_rdn_attribute,
                &config.group_filter,
            ),
        };
        let Some(first_class) = object_classes.first() else {
            return Err(StoreError::Rejected(format!("domain {domain} names no {which} object class")));
        };
        let kind_filter = match filter {
            Some(f) if f.starts_with('(') => f.clone(),
            Some(f) => format!("({f})"),
            None => format!("(objectClass={})", crate::filter::escape(first_class.as_bytes())),
        };
        if let Err(e) = crate::wire::check_filter(&kind_filter) {
            let setting = if kind == ResourceKind::User { "user_filter" } else { "group_filter" };
            return Err(StoreError::Rejected(format!("domain {domain}: {setting} {kind_filter} is {e}")));
        }
        let mut read_attrs: Vec<String> = Vec::new();
        let mut want = |a: &str| {
            if !read_attrs.iter().any(|r| r.eq_ignore_ascii_case(a)) {
                read_attrs.push(a.to_owned());
            }
        };
        for e in map.entries() {
            if e.claim != PASSWORD {
                want(&e.attribute);
            }
        }
        want(rdn_attr);
        if let Some(s) = &config.sequence_attribute {
            want(s);
        }
        if kind == ResourceKind::Group {
            want(&config.member_attribute);
        }
        Ok(Layout {
            kind,
            map: map.clone(),
            base: base.clone(),
            object_classes: object_classes.clone(),
            kind_filter,
            rdn_attr: rdn_attr.clone(),
            name_claim,
            id_attr,
            created_attr,
            modified_attr,
            version_attr,
            seq_attr: config.sequence_attribute.clone(),
            password_attr: map.of_claim(PASSWORD).map(|e| e.attribute.clone()),
            reads: std::array::from_fn(|i| {
                let (with_members, with_member_of) = (i & 1 == 1, i & 2 == 2);
                let mut attrs: Vec<String> = read_attrs
                    .iter()
                    .filter(|a| {
                        with_members
                            || kind != ResourceKind::Group
                            || !a.eq_ignore_ascii_case(&config.member_attribute)
                    })
                    .cloned()
                    .collect();
                if with_member_of {
                    attrs.push(config.member_of_attribute.clone());
                }
                attrs
            }),
        })
    }

    /// The attributes a read asks for: every one (`with_members`), or all but the member
    /// attribute of groups; and the directory's memberOf if `with_member_of`.
    pub(crate) fn read_attrs(&self, with_members: bool, with_member_of: bool) -> &[String] {
        let at = usize::from(with_members) | usize::from(with_member_of) << 1;
        self.reads.get(at).map_or(&[], Vec::as_slice)
    }

    /// The attributes a replace rewrites: every mapped attribute but the directory's own and
    /// the password (kept unless a new one is written).
    pub(crate) fn writable_attrs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in self.map.entries() {
            if OWN.contains(&e.claim.as_str()) || e.claim == PASSWORD {
                continue;
            }
            if !out.iter().any(|a| a.eq_ignore_ascii_case(&e.attribute)) {
                out.push(&e.attribute);
            }
        }
        out
    }

    /// Whether the id attribute holds binary GUIDs (Active Directory's objectGUID).
    pub(crate) fn binary_id(&self) -> bool {
        self.id_attr.eq_ignore_ascii_case("objectGUID")
    }
}

/// Attribute values to write, in the order claims named them.
pub(crate) type Values = Vec<(String, Vec<Vec<u8>>)>;

fn push(out: &mut Values, attribute: &str, value: Vec<u8>) {
    match out.iter_mut().find(|(a, _)| a.eq_ignore_ascii_case(attribute)) {
        Some((_, values)) => values.push(value),
        None => out.push((attribute.to_owned(), vec![value])),
    }
}

fn get_ci<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// The attribute values of `claims` (see the module docs). Nothing is dropped: a claim the map
/// does not hold is [`StoreError::Unmapped`].
pub(crate) fn encode(claims: &Claims, layout: &Layout, schema: &DirSchema) -> StoreResult<Values> {
    let mut out = Values::new();
    for (claim, value) in claims.iter() {
        if OWN.contains(&claim.as_str()) {
            return Err(StoreError::Rejected(format!("claim {claim} is kept by the directory itself")));
        }
        if claim == PASSWORD {
            let attr = layout
                .password_attr
                .as_deref()
                .ok_or_else(|| StoreError::Unmapped { claim: claim.clone() })?;
            let Value::String(phc) = value else {
                return Err(StoreError::Rejected(format!("claim {claim} must be a PHC string")));
            };
            push(&mut out, attr, format!("{{ARGON2}}{phc}").into_bytes());
            continue;
        }
        let complex = match value {
            Value::Array(items) => items.iter().any(Value::is_object),
            Value::Object(_) => true,
            _ => false,
        };
        if !complex {
            let entry =
                layout.map.of_claim(claim).ok_or_else(|| StoreError::Unmapped { claim: claim.clone() })?;
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().filter(|v| !v.is_null()).collect(),
                Value::Null => Vec::new(),
                v => vec![v],
            };
            for v in items {
                if let Some(bytes) = encode_value(claim, entry, schema, v)? {
                    push(&mut out, &entry.attribute, bytes);
                }
            }
            continue;
        }
        let elements: Vec<&Value> = match value {
            Value::Array(items) => items.iter().filter(|v| !v.is_null()).collect(),
            v => vec![v],
        };
        for element in elements {
            let Value::Object(obj) = element else {
                return Err(StoreError::Unmapped { claim: claim.clone() });
            };
            let Some(ty) = get_ci(obj, "type").and_then(Value::as_str) else {
                return Err(StoreError::Unmapped { claim: claim.clone() });
            };
            let view = layout
                .map
                .of_view(claim, ty)
                .ok_or_else(|| StoreError::Unmapped { claim: format!("{claim}.{ty}") })?;
            for (sub, v) in obj {
                if !v.is_null() && !sub.eq_ignore_ascii_case("type") && !sub.eq_ignore_ascii_case("value") {
                    return Err(StoreError::Unmapped { claim: format!("{claim}.{sub}") });
                }
            }
            match get_ci(obj, "value").filter(|v| !v.is_null()) {
                Some(v) => {
                    if let Some(bytes) = encode_value(claim, view, schema, v)? {
                        push(&mut out, &view.attribute, bytes);
                    }
                }
                None => {
                    return Err(StoreError::Rejected(format!(
                        "the {ty} element of claim {claim} has no value to keep"
                    )));
                }
            }
        }
    }
    Ok(out)
}

fn encode_value(
    claim: &str,
    entry: &MappedClaim,
    schema: &DirSchema,
    v: &Value,
) -> StoreResult<Option<Vec<u8>>> {
    let wrong = |what: &str| {
        Err(StoreError::Rejected(format!("claim {claim} (attribute {}): {v} is not {what}", entry.attribute)))
    };
    Ok(match (entry.kind, v) {
        (ValueKind::String | ValueKind::Reference, Value::String(s)) => {
            (!s.is_empty()).then(|| s.as_bytes().to_vec())
        }
        (ValueKind::String | ValueKind::Reference, _) => return wrong("a string"),
        (ValueKind::Boolean, Value::Bool(b)) => Some(if *b { b"TRUE".to_vec() } else { b"FALSE".to_vec() }),
        (ValueKind::Boolean, _) => return wrong("a boolean"),
        (ValueKind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
            Some(n.to_string().into_bytes())
        }
        (ValueKind::Integer, _) => return wrong("an integer"),
        (ValueKind::Decimal, Value::Number(n)) => Some(n.to_string().into_bytes()),
        (ValueKind::Decimal, _) => return wrong("a number"),
        (ValueKind::DateTime, Value::String(s)) => {
            if schema.info(&entry.attribute).syntax == Syntax::GeneralizedTime {
                let Some((secs, nanos)) = parse_instant(s) else { return wrong("an RFC 3339 dateTime") };
                let Some(t) = instant_to_time(secs, nanos) else { return wrong("a dateTime in range") };
                Some(format_generalized_time(t).into_bytes())
            } else {
                (!s.is_empty()).then(|| s.as_bytes().to_vec())
            }
        }
        (ValueKind::DateTime, _) => return wrong("a dateTime"),
        (ValueKind::Binary, Value::String(s)) => {
            let Ok(bytes) = Base64::decode_vec(s) else { return wrong("base64") };
            (!bytes.is_empty()).then_some(bytes)
        }
        (ValueKind::Binary, _) => return wrong("base64 text"),
    })
}

/// One attribute value read back as its kind.
pub(crate) fn decode_value(entry: &MappedClaim, schema: &DirSchema, bytes: &[u8]) -> Value {
    let text = || String::from_utf8_lossy(bytes).into_owned();
    let as_text = || Value::String(text());
    match entry.kind {
        ValueKind::String | ValueKind::Reference => as_text(),
        ValueKind::Boolean => match bytes {
            b if b.eq_ignore_ascii_case(b"TRUE") => Value::Bool(true),
            b if b.eq_ignore_ascii_case(b"FALSE") => Value::Bool(false),
            _ => as_text(),
        },
        ValueKind::Integer => text().parse::<i64>().map_or_else(|_| as_text(), |i| Value::Number(i.into())),
        ValueKind::Decimal => {
            let t = text();
            if !t.contains(['.', 'e', 'E'])
                && let Ok(i) = t.parse::<i64>()
            {
                return Value::Number(i.into());
            }
            t.parse::<f64>().ok().and_then(Number::from_f64).map_or_else(|| Value::String(t), Value::Number)
        }
        ValueKind::DateTime => {
            if schema.info(&entry.attribute).syntax == Syntax::GeneralizedTime
                && let Some(t) = parse_generalized_time(bytes)
                && let Ok(s) = t.format(&Rfc3339)
            {
                return Value::String(s);
            }
            as_text()
        }
        ValueKind::Binary => Value::String(Base64::encode_string(bytes)),
    }
}

/// What a read makes of an entry.
#[derive(Debug, Clone)]
pub(crate) struct Decoded {
    pub(crate) dn: String,
    pub(crate) id: String,
    pub(crate) claims: Claims,
    pub(crate) created: OffsetDateTime,
    pub(crate) last_modified: OffsetDateTime,
    pub(crate) version: u64,
    /// The version attribute's value as stored (for the assertion of a conditional write).
    pub(crate) version_raw: Vec<u8>,
    /// Creation order.
    pub(crate) seq: i64,
    /// The member DNs (groups, when asked for), the empty-group member left out.
    pub(crate) member_dns: Vec<String>,
}

/// Reads an entry of `layout`'s kind. Fails only when the directory's own attributes (id,
/// timestamps, version) are missing or unreadable.
pub(crate) fn decode(
    entry: &RawEntry,
    layout: &Layout,
    schema: &DirSchema,
    member_attr: &str,
    empty_member: Option<&str>,
) -> StoreResult<Decoded> {
    let missing = |what: &str, attr: &str| {
        StoreError::Backend(format!("entry {} has no readable {what} (attribute {attr})", entry.dn))
    };
    let id_bytes = entry.first(&layout.id_attr).ok_or_else(|| missing("id", &layout.id_attr))?;
    let id = if layout.binary_id() {
        format_guid(id_bytes).ok_or_else(|| missing("id", &layout.id_attr))?
    } else {
        String::from_utf8_lossy(id_bytes).into_owned()
    };
    let time_of = |attr: &str, what: &str| {
        entry.first(attr).and_then(parse_generalized_time).ok_or_else(|| missing(what, attr))
    };
    let created = time_of(&layout.created_attr, "creation time")?;
    let last_modified = time_of(&layout.modified_attr, "modification time")?;
    let version_raw =
        entry.first(&layout.version_attr).ok_or_else(|| missing("version", &layout.version_attr))?;
    let version = parse_version(version_raw).ok_or_else(|| missing("version", &layout.version_attr))?;
    let seq = match &layout.seq_attr {
        Some(attr) => entry
            .text(attr)
            .and_then(|t| t.trim().parse::<i64>().ok())
            .ok_or_else(|| missing("creation order", attr))?,
        None => uuid_v1_time(&id)
            .unwrap_or_else(|| i64::try_from(created.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)),
    };

    let mut claims = Claims::new();
    let mut lists: Vec<(String, Vec<Value>)> = Vec::new();
    for e in layout.map.entries() {
        if OWN.contains(&e.claim.as_str()) || e.claim == PASSWORD {
            continue;
        }
        let values = entry.values(&e.attribute);
        if values.is_empty() {
            continue;
        }
        let typed = values.map(|b| decode_value(e, schema, b));
        match &e.view_type {
            Some(t) => {
                let elements = typed.map(|v| {
                    let mut m = Map::new();
                    m.insert("value".into(), v);
                    m.insert("type".into(), Value::String(t.clone()));
                    Value::Object(m)
                });
                match lists.iter_mut().find(|(c, _)| c == &e.claim) {
                    Some((_, list)) => list.extend(elements),
                    None => lists.push((e.claim.clone(), elements.collect())),
                }
            }
            None if e.multi_valued => {
                let list: Vec<Value> = typed.collect();
                match lists.iter_mut().find(|(c, _)| c == &e.claim) {
                    Some((_, l)) => l.extend(list),
                    None => lists.push((e.claim.clone(), list)),
                }
            }
            None => {
                if let Some(first) = typed.into_iter().next() {
                    claims.insert(e.claim.clone(), first);
                }
            }
        }
    }
    for (claim, list) in lists {
        claims.insert(claim, Value::Array(list));
    }
    let member_dns = if layout.kind == ResourceKind::Group {
        let empty = empty_member.map(crate::dn::normalize);
        entry
            .values(member_attr)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .filter(|dn| empty.as_deref() != Some(crate::dn::normalize(dn).as_str()))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Decoded {
        dn: entry.dn.clone(),
        id,
        claims,
        created,
        last_modified,
        version,
        version_raw: version_raw.to_vec(),
        seq,
        member_dns,
    })
}

/// A version from the version attribute: an OpenLDAP CSN (`YYYYmmddHHMMSS.uuuuuuZ#count#sid#mod`,
/// as microseconds since the epoch times 1000 plus the change count, which grows with every
/// change) or an integer (Active Directory's uSNChanged).
pub(crate) fn parse_version(raw: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(raw).ok()?.trim();
    if let Some((stamp, rest)) = text.split_once('#') {
        let t = parse_generalized_time(stamp.as_bytes())?;
        let micros = u64::try_from(t.unix_timestamp_nanos() / 1000).ok()?;
        let count = u64::from_str_radix(rest.split('#').next()?, 16).ok()?.min(999);
        return micros.checked_mul(1000)?.checked_add(count);
    }
    text.parse::<u64>().ok()
}

fn instant_to_time(secs: i64, nanos: u32) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    t.replace_nanosecond(nanos).ok()
}

/// An instant as GeneralizedTime in UTC (RFC 4517 §3.3.13), fractions only when there are.
pub(crate) fn format_generalized_time(t: OffsetDateTime) -> String {
    // Out of range in UTC (a client's year 9999 with a negative offset): kept in its own
    // offset rather than a panic; the directory refuses it as a syntax error.
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    let mut s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if t.nanosecond() > 0 {
        let frac = format!("{:09}", t.nanosecond());
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// GeneralizedTime (RFC 4517 §3.3.13): `YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|(+|-)HH[MM])`, the
/// fraction of the last unit given.
pub(crate) fn parse_generalized_time(raw: &[u8]) -> Option<OffsetDateTime> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    let bytes = s.as_bytes();
    // `n` ASCII digits at `a` (read on every entry: no str parsing, no allocation).
    let num = |a: usize, n: usize| -> Option<u32> {
        bytes
            .get(a..a + n)?
            .iter()
            .try_fold(0u32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
    };
    let year = i32::try_from(num(0, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(4, 2)?).ok()?).ok()?;
    let day = u8::try_from(num(6, 2)?).ok()?;
    let hour = num(8, 2)?;
    let mut at = 10;
    let mut unit_secs: u64 = 3600;
    let minute = match num(at, 2) {
        Some(m) => {
            at += 2;
            unit_secs = 60;
            m
        }
        None => 0,
    };
    let second = match (unit_secs == 60).then(|| num(at, 2)).flatten() {
        Some(sec) => {
            at += 2;
            unit_secs = 1;
            sec
        }
        None => 0,
    };
    let mut frac_nanos: u64 = 0;
    if matches!(bytes.get(at), Some(b'.' | b',')) {
        at += 1;
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return None;
        }
        // The first nine digits, as billionths of the unit.
        let mut billionths: u64 = 0;
        for (i, &d) in bytes[start..at].iter().take(9).enumerate() {
            billionths += u64::from(d - b'0') * 10u64.pow(8 - i as u32);
        }
        frac_nanos = billionths.checked_mul(unit_secs)?;
    }
    let offset = match bytes.get(at) {
        Some(b'Z') => {
            at += 1;
            UtcOffset::UTC
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = i8::try_from(num(at + 1, 2)?).ok()?;
            at += 3;
            let om = match num(at, 2) {
                Some(m) => {
                    at += 2;
                    i8::try_from(m).ok()?
                }
                None => 0,
            };
            let (oh, om) = if sign == b'-' { (-oh, -om) } else { (oh, om) };
            UtcOffset::from_hms(oh, om, 0).ok()?
        }
        _ => return None,
    };
    if at != s.len() {
        return None;
    }
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second.min(59)).ok()?,
    )
    .ok()?;
    let base = PrimitiveDateTime::new(date, time).assume_offset(offset);
    let extra = time::Duration::nanoseconds(i64::try_from(frac_nanos).ok()?);
    base.checked_add(extra)?.checked_to_offset(UtcOffset::UTC)
}

/// A 16-byte GUID (Active Directory's objectGUID: the first three fields little-endian) as
/// lower-case UUID text.
pub(crate) fn format_guid(b: &[u8]) -> Option<String> {
    let b: &[u8; 16] = b.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    ))
}

/// The 16 bytes of a UUID's text (8-4-4-4-12 hex digits, either case).
pub(crate) fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    // 8-4-4-4-12 hex digits; read on every entry (its creation order), so without allocating.
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    let b = text.as_bytes();
    if b.len() != 36 || DASHES.iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut digits =
        b.iter().enumerate().filter(|(i, _)| !DASHES.contains(i)).map(|(_, &c)| char::from(c).to_digit(16));
    let mut out = [0u8; 16];
    for byte in &mut out {
        let (high, low) = (digits.next()??, digits.next()??);
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(out)
}

/// The GUID bytes (objectGUID order) of a UUID's text.
pub(crate) fn guid_bytes(text: &str) -> Option<[u8; 16]> {
    let u = uuid_bytes(text)?;
    Some([
        u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15],
    ])
}

/// The 60-bit timestamp of a version-1 UUID (RFC 9562 §5.1): OpenLDAP's entryUUIDs are time
/// based, so this is the entry's creation order.
pub(crate) fn uuid_v1_time(text: &str) -> Option<i64> {
    let u = uuid_bytes(text)?;
    if u[6] >> 4 != 1 {
        return None;
    }
    let low = u64::from(u32::from_be_bytes([u[0], u[1], u[2], u[3]]));
    let mid = u64::from(u16::from_be_bytes([u[4], u[5]]));
    let high = u64::from(u16::from_be_bytes([u[6], u[7]]) & 0x0fff);
    i64::try_from((high << 48) | (mid << 32) | low).ok()
}

/// An entry with `dn` and `attrs` (small: each element under 128 bytes), as a search returns
/// it; for tests.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) fn parse_entry_for_tests(dn: &str, attrs: &[(&str, &[&str])]) -> RawEntry {
    fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
        let content = parts.concat();
        let len = u8::try_from(content.len()).ok().filter(|l| *l < 128).expect("a small element");
        [&[tag, len][..], &content].concat()
    }
    let s = |v: &str| tlv(0x04, &[v.as_bytes()]);
    let attrs: Vec<Vec<u8>> = attrs
        .iter()
        .map(|(name, values)| {
            let values: Vec<Vec<u8>> = values.iter().map(|v| s(v)).collect();
            let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            tlv(0x30, &[&s(name), &tlv(0x31, &refs)])
        })
        .collect();
    let refs: Vec<&[u8]> = attrs.iter().map(Vec::as_slice).collect();
    parse_entry(&[s(dn), tlv(0x30, &refs)].concat()).unwrap()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// RFC 4511 §4.5.2: an entry's DN and attributes read from its BER; names compared
    /// without regard to case (RFC 4512 §2.5), an attribute named twice keeps every value in
    /// order, an attribute with no value reads as none; what is not an entry is refused.
    #[test]
    fn a_search_result_entry_reads_its_dn_and_values() {
        fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
            let content = parts.concat();
            assert!(content.len() < 128);
            [&[tag, content.len() as u8][..], &content].concat()
        }
        let s = |v: &str| tlv(0x04, &[v.as_bytes()]);
        let attr = |name: &str, values: &[&str]| {
            let values: Vec<Vec<u8>> = values.iter().map(|v| s(v)).collect();
            let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            tlv(0x30, &[&s(name), &tlv(0x31, &refs)])
        };
        let content = [
            s("uid=kim,ou=people"),
            tlv(
                0x30,
                &[
                    &attr("uid", &["kim"]),
                    &attr("mail", &["a@x", "b@x"]),
                    &attr("empty", &[]),
                    &attr("cn", &["Kim"]),
                    &attr("MAIL", &["c@x"]),
                ],
            ),
        ]
        .concat();
        let e = parse_entry(&content).unwrap();
        assert_eq!(e.dn, "uid=kim,ou=people");
        let all = |a: &str| e.values(a).map(|v| String::from_utf8_lossy(v).into_owned()).collect::<Vec<_>>();
        assert_eq!(all("mail"), ["a@x", "b@x", "c@x"]);
        assert_eq!(all("Mail").len(), 3);
        assert_eq!(all("UID"), ["kim"]);
        assert_eq!(all("cn"), ["Kim"]);
        assert!(e.values("empty").is_empty() && e.values("absent").is_empty());
        assert_eq!(e.first("cn"), Some(&b"Kim"[..]));
        assert_eq!(e.text("uid").as_deref(), Some("kim"));
        let element = tlv(0x64, &[&content]);
        assert_eq!(parse_entry_element(&element).unwrap().values("mail").len(), 3);
        assert!(parse_entry(&content[..content.len() - 1]).is_err());
        assert!(parse_entry_element(&content).is_err());
    }

    /// RFC 4517 §3.3.13 GeneralizedTime, both ways.
    #[test]
    fn generalized_time_round_trips_in_utc() {
        let t = datetime!(2024-02-29 23:59:58.123 +02:00);
        assert_eq!(format_generalized_time(t), "20240229215958.123Z");
        assert_eq!(parse_generalized_time(b"20240229215958.123Z"), Some(t));
        assert_eq!(parse_generalized_time(b"20240101000000Z"), Some(datetime!(2024-01-01 0:00 UTC)));
        assert_eq!(parse_generalized_time(b"202401010100+0100"), Some(datetime!(2024-01-01 0:00 UTC)));
        assert_eq!(parse_generalized_time(b"2024010112.5Z"), Some(datetime!(2024-01-01 12:30 UTC)));
        assert_eq!(parse_generalized_time(b"20240101000000.0Z"), Some(datetime!(2024-01-01 0:00 UTC)));
        // A fraction of the last unit given; digits past the ninth are below a nanosecond.
        assert_eq!(parse_generalized_time(b"202401011230,5Z"), Some(datetime!(2024-01-01 12:30:30 UTC)));
        assert_eq!(
            parse_generalized_time(b"20240101000000.1234567891Z"),
            Some(datetime!(2024-01-01 0:00:00.123456789 UTC))
        );
        assert!(parse_generalized_time(b"20240101000000.Z").is_none());
        assert!(parse_generalized_time(b"2024010100000xZ").is_none());
        assert!(parse_generalized_time(b"20241301000000Z").is_none());
        assert!(parse_generalized_time(b"20240101000000").is_none());
    }

    #[test]
    fn versions_grow_with_the_csn_and_read_integers() {
        let a = parse_version(b"20261123130226.890707Z#000000#000#000000").unwrap();
        let b = parse_version(b"20261123130226.890707Z#000001#000#000000").unwrap();
        let c = parse_version(b"20261123130245.978620Z#000000#000#000000").unwrap();
        assert!(a < b && b < c);
        assert_eq!(parse_version(b"12345"), Some(12345));
        assert_eq!(parse_version(b"x#y"), None);
    }

    #[test]
    fn guids_and_uuid_times() {
        // objectGUID bytes as AD stores them, and the text AD tools print.
        let bytes = [0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4];
        let text = format_guid(&bytes).unwrap();
        assert_eq!(text, "12345678-1234-5678-9abc-def001020304");
        assert_eq!(guid_bytes(&text), Some(bytes));
        assert!(format_guid(&bytes[..15]).is_none());
        let a = uuid_v1_time("e0877c0c-7b89-1041-942b-c101d54e9bf8").unwrap();
        let b = uuid_v1_time("e087879c-7b89-1041-942c-c101d54e9bf8").unwrap();
        assert!(a < b);
        assert!(uuid_v1_time("e087879c-7b89-4041-942c-c101d54e9bf8").is_none());
        // Upper-case digits read as lower-case ones; anything but 8-4-4-4-12 hex digits is refused.
        assert_eq!(uuid_bytes("12345678-1234-5678-9ABC-DEF001020304"), uuid_bytes(&text));
        for bad in [
            "",
            "12345678123456789abcdef001020304",
            "12345678-1234-5678-9abc-def00102030",
            "12345678-1234-5678-9abc-def0010203045",
            "1234567-81234-5678-9abc-def001020304",
            "12345678-1234-5678-9abc-def00102030g",
            "+2345678-1234-5678-9abc-def001020304",
            "12345678-1234-5678-9abc-def00102030\u{e9}",
        ] {
            assert_eq!(uuid_bytes(bad), None, "{bad}");
        }
    }
}
