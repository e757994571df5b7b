//! The SCIM dialects and their mapping to the local dialect.
//!
//! Each mappable SCIM attribute is named by its claim URI (DESIGN.md, Claim URIs):
//! `<schema>:<attr>` for a simple or multi-valued attribute, `<schema>:<attr>.<sub>` for a
//! sub-attribute of a singular complex attribute. The default mapping is data,
//! `mappings/scim2.json`, embedded at build time.
//!
//! A normalised SCIM resource (as `scimd_core::validate` returns it: names in the schema's
//! spelling, extension attributes under their schema URI) becomes [`Claims`] with
//! [`DialectMapping::to_claims`], and claims become a resource again with
//! [`DialectMapping::to_resource`]. A SCIM attribute with no mapping cannot be written: it is
//! refused with an error naming it, never dropped.

use crate::claims::Claims;
use crate::layout::{Layout, ResourceWriter};
use scimd_core::schema::{CORE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use scimd_core::{ResourceKind, ScimError, ScimResult};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

const DEFAULT_MAPPING: &str = include_str!("../mappings/scim2.json");

/// Attributes that are not claims: the resource's own identity and metadata, kept by the store
/// itself, and relations (`members`, `groups`) kept by the store as such.
const NOT_CLAIMS: [&str; 4] = ["schemas", "id", "meta", "members"];

#[derive(Deserialize)]
struct MappingFile {
    mappings: Vec<MappingRow>,
}

#[derive(Deserialize)]
struct MappingRow {
    claim: String,
    local: String,
}

/// Where a SCIM attribute sits in a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ScimLocation {
    /// The extension URI the attribute sits under, or `None` for a core attribute.
    extension: Option<String>,
    attr: String,
    sub: Option<String>,
}

/// One row of the mapping, parsed.
#[derive(Debug, Clone)]
struct Entry {
    /// The SCIM claim URI as the mapping spells it.
    claim: String,
    location: ScimLocation,
    local: String,
    /// Which resource kinds read this claim back as a SCIM attribute (`[User, Group]`). The
    /// resource's own columns (`id`, `meta.*`) and the password hash are read back by nobody.
    read_back: [bool; 2],
}

fn kind_slot(kind: ResourceKind) -> usize {
    match kind {
        ResourceKind::User => 0,
        ResourceKind::Group => 1,
    }
}

/// The mapping between SCIM claim URIs and local claims, for both resource kinds.
#[derive(Debug, Clone)]
pub struct DialectMapping {
    entries: Vec<Entry>,
    /// Lower-cased SCIM claim URI to the index of its entry.
    by_claim: HashMap<String, usize>,
    /// The layout of each kind's resources, worked out on first use after each change.
    layouts: OnceLock<[Layout; 2]>,
}

/// The core schema whose attributes are written unqualified in a payload of this kind.
fn core_schema(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => USER_SCHEMA,
        ResourceKind::Group => GROUP_SCHEMA,
    }
}

/// Splits a claim URI into the schema URI and the `attr[.sub]` after its last `:`.
fn split_claim_uri(uri: &str) -> Option<(&str, &str, Option<&str>)> {
    let i = uri.rfind(':')?;
    let (schema, rest) = (&uri[..i], &uri[i + 1..]);
    Some(match rest.split_once('.') {
        Some((a, s)) => (schema, a, Some(s)),
        None => (schema, rest, None),
    })
}

impl DialectMapping {
    /// The shipped default mapping.
    pub fn builtin() -> ScimResult<Self> {
        Self::from_json(DEFAULT_MAPPING)
    }

    /// A mapping from its JSON form (`{"mappings": [{"claim": ..., "local": ...}]}`).
    pub fn from_json(text: &str) -> ScimResult<Self> {
        let file: MappingFile = serde_json::from_str(text)
            .map_err(|e| ScimError::status(500, format!("the claim mapping is not valid: {e}")))?;
        let mut mapping = DialectMapping {
            entries: Vec::with_capacity(file.mappings.len()),
            by_claim: HashMap::new(),
            layouts: OnceLock::new(),
        };
        for row in file.mappings {
            mapping.push_row(row.claim, row.local).map_err(|e| ScimError::status(500, e.detail))?;
        }
        Ok(mapping)
    }

    /// Appends one row; refused when its claim URI has no attribute or is mapped already.
    fn push_row(&mut self, claim: String, local: String) -> ScimResult<()> {
        let Some((schema, attr, sub)) = split_claim_uri(&claim) else {
            return Err(ScimError::invalid_value(format!("claim URI {claim} has no attribute")));
        };
        let is_core = schema.eq_ignore_ascii_case(CORE_SCHEMA)
            || schema.eq_ignore_ascii_case(USER_SCHEMA)
            || schema.eq_ignore_ascii_case(GROUP_SCHEMA);
        let location = ScimLocation {
            extension: (!is_core).then(|| schema.to_string()),
            attr: attr.to_string(),
            sub: sub.map(str::to_string),
        };
        if self.by_claim.contains_key(&claim.to_ascii_lowercase()) {
            return Err(ScimError::invalid_value(format!("claim URI {claim} is mapped twice")));
        }
        // meta.* and id come from the store's own columns; the password claim holds a hash.
        let store_column = schema.eq_ignore_ascii_case(CORE_SCHEMA) && attr != "externalId";
        let readable = !store_column && local != crate::claims::PASSWORD;
        let belongs = |kind: ResourceKind| match &location.extension {
            Some(_) => kind == ResourceKind::User,
            None => {
                schema.eq_ignore_ascii_case(core_schema(kind)) || schema.eq_ignore_ascii_case(CORE_SCHEMA)
            }
        };
        let read_back = [readable && belongs(ResourceKind::User), readable && belongs(ResourceKind::Group)];
        self.by_claim.insert(claim.to_ascii_lowercase(), self.entries.len());
        self.entries.push(Entry { claim, location, local, read_back });
        self.layouts = OnceLock::new();
        Ok(())
    }

    /// Checks a local claim URI: the local dialect's prefix `urn:scimd:claims:`, then a name (a
    /// letter, then letters, digits, `-`, `_`, `$` or `.`), at most 200 characters in all.
    pub fn check_local_claim(local: &str) -> ScimResult<()> {
        let prefix = format!("{}:", crate::claims::LOCAL_DIALECT);
        let name = local
            .get(..prefix.len())
            .filter(|p| p.eq_ignore_ascii_case(&prefix))
            .and_then(|_| local.get(prefix.len()..))
            .unwrap_or("");
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || "-_$.".contains(c))
            && local.len() <= 200;
        if valid {
            Ok(())
        } else {
            Err(ScimError::invalid_value(format!(
                "claim: \"{local}\" is not a local claim URI ({prefix}<name>, the name a letter, then \
                 letters, digits, \"-\", \"_\", \"$\" or \".\")"
            )))
        }
    }

    /// The SCIM claim URI that maps to the local claim `local`, if one does.
    pub fn claim_mapped_to(&self, local: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.local.eq_ignore_ascii_case(local)).map(|e| e.claim.as_str())
    }

    /// Adds a row at run time (a custom attribute an admin defined): the SCIM claim URI `claim`
    /// maps to the local claim `local`. Refused (`invalidValue`, naming it) when `local` is not
    /// a local claim URI, when another SCIM attribute already maps to `local` (two attributes
    /// writing one claim would overwrite each other), or when `claim` is mapped already.
    pub fn add(&mut self, claim: &str, local: &str) -> ScimResult<()> {
        Self::check_local_claim(local)?;
        if let Some(other) = self.claim_mapped_to(local) {
            return Err(ScimError::invalid_value(format!(
                "claim: the local claim {local} is already mapped to {other}; choose another"
            )));
        }
        self.push_row(claim.to_string(), local.to_string())
    }

    /// Removes every row of the extension `schema` (the custom extension, replaced or turned
    /// off); returns how many rows went.
    pub fn remove_schema(&mut self, schema: &str) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|e| !e.location.extension.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(schema)));
        self.by_claim =
            self.entries.iter().enumerate().map(|(i, e)| (e.claim.to_ascii_lowercase(), i)).collect();
        self.layouts = OnceLock::new();
        before - self.entries.len()
    }

    /// Every row of the mapping: the SCIM claim URI, its local claim, and the kinds of resource
    /// whose dialects hold it (`[User, Group]`).
    pub fn rows(&self) -> impl Iterator<Item = (&str, &str, [bool; 2])> + '_ {
        self.entries.iter().map(|e| {
            let belongs = |kind: ResourceKind| match &e.location.extension {
                Some(_) => kind == ResourceKind::User,
                None => {
                    let schema = e.claim.rsplit_once(':').map_or("", |(s, _)| s);
                    schema.eq_ignore_ascii_case(core_schema(kind)) || schema.eq_ignore_ascii_case(CORE_SCHEMA)
                }
            };
            (e.claim.as_str(), e.local.as_str(), [belongs(ResourceKind::User), belongs(ResourceKind::Group)])
        })
    }

    /// The local claim a SCIM claim URI maps to.
    pub fn local_claim(&self, claim_uri: &str) -> Option<&str> {
        self.by_claim.get(&claim_uri.to_ascii_lowercase()).map(|&i| self.entries[i].local.as_str())
    }

    /// The local claim of an attribute of a resource kind: a core attribute by its unqualified
    /// name (common attributes `id`, `externalId` and `meta.*` too), an extension attribute
    /// with its schema URI.
    pub fn local_claim_of(
        &self,
        kind: ResourceKind,
        extension: Option<&str>,
        attr: &str,
        sub: Option<&str>,
    ) -> Option<&str> {
        // `schema:attr.sub`, concatenated (every filter and PATCH path asks this; a
        // `format!` cost more than the lookup).
        let claim = |schema: &str| {
            [schema, ":", attr, if sub.is_some() { "." } else { "" }, sub.unwrap_or("")].concat()
        };
        match extension {
            Some(uri) => self.local_claim(&claim(uri)),
            None => {
                self.local_claim(&claim(core_schema(kind))).or_else(|| self.local_claim(&claim(CORE_SCHEMA)))
            }
        }
    }

    fn claim_for(&self, kind: ResourceKind, extension: Option<&str>, attr: &str) -> String {
        match extension {
            Some(uri) => format!("{uri}:{attr}"),
            None if attr == "externalId" => format!("{CORE_SCHEMA}:{attr}"),
            None => format!("{}:{attr}", core_schema(kind)),
        }
    }

    /// Maps one attribute's value into claims: the whole value if the attribute is mapped as a
    /// whole, else each sub-attribute of a singular complex value.
    fn map_attribute(
        &self,
        kind: ResourceKind,
        extension: Option<&str>,
        attr: &str,
        value: &Value,
        claims: &mut Claims,
    ) -> ScimResult<()> {
        let claim = self.claim_for(kind, extension, attr);
        if let Some(local) = self.local_claim(&claim) {
            claims.insert(local, value.clone());
            return Ok(());
        }
        if let Value::Object(subs) = value {
            for (sub, v) in subs {
                let sub_claim = format!("{claim}.{sub}");
                let Some(local) = self.local_claim(&sub_claim) else {
                    return Err(ScimError::invalid_value(format!(
                        "attribute \"{attr}.{sub}\" has no claim mapping and cannot be stored"
                    )));
                };
                claims.insert(local, v.clone());
            }
            return Ok(());
        }
        Err(ScimError::invalid_value(format!(
            "attribute \"{attr}\" has no claim mapping and cannot be stored"
        )))
    }

    /// Turns a normalised resource into local claims. `schemas`, `id`, `meta` and `members`
    /// are not claims (the store keeps them as such) and are skipped; `groups` is derived and
    /// never written.
    pub fn to_claims(&self, kind: ResourceKind, resource: &Map<String, Value>) -> ScimResult<Claims> {
        let mut claims = Claims::new();
        for (key, value) in resource {
            if NOT_CLAIMS.contains(&key.as_str()) || key == "groups" {
                continue;
            }
            if key.starts_with("urn:") {
                let Value::Object(attrs) = value else {
                    return Err(ScimError::invalid_value(format!("extension \"{key}\" must be an object")));
                };
                for (attr, v) in attrs {
                    self.map_attribute(kind, Some(key), attr, v, &mut claims)?;
                }
            } else {
                self.map_attribute(kind, None, key, value, &mut claims)?;
            }
        }
        Ok(claims)
    }

    /// Turns local claims into a SCIM resource (without `schemas`, `id`, `meta`, `members` and
    /// `groups`, which the caller adds), attributes in the mapping's order. Local claims that no
    /// SCIM attribute of this kind maps to are left out.
    pub fn to_resource(&self, kind: ResourceKind, claims: &Claims) -> Map<String, Value> {
        self.build_resource(kind, |local| claims.get(local).cloned())
    }

    /// [`Self::to_resource`], moving the values out of `claims` instead of copying them.
    pub fn into_resource(&self, kind: ResourceKind, mut claims: Claims) -> Map<String, Value> {
        self.build_resource(kind, |local| claims.remove(local))
    }

    /// Writes resources of `kind` as JSON straight from their claims, as [`Self::to_resource`]
    /// would build them, without the top-level attributes in `hidden` (extension URI or
    /// `None`, name).
    pub fn writer(&self, kind: ResourceKind, hidden: &[(Option<String>, String)]) -> ResourceWriter<'_> {
        let layouts =
            self.layouts.get_or_init(|| [self.layout(ResourceKind::User), self.layout(ResourceKind::Group)]);
        ResourceWriter::new(&layouts[kind_slot(kind)], hidden)
    }

    fn layout(&self, kind: ResourceKind) -> Layout {
        let slot = kind_slot(kind);
        let mut layout = Layout::default();
        for e in self.entries.iter().filter(|e| e.read_back[slot]) {
            layout.push(
                e.location.extension.as_deref(),
                &e.location.attr,
                e.location.sub.as_deref(),
                &e.local,
            );
        }
        layout
    }

    fn build_resource(
        &self,
        kind: ResourceKind,
        mut take: impl FnMut(&str) -> Option<Value>,
    ) -> Map<String, Value> {
        let slot = kind_slot(kind);
        let mut out = Map::new();
        for entry in self.entries.iter().filter(|e| e.read_back[slot]) {
            let Some(value) = take(&entry.local) else { continue };
            let target = match &entry.location.extension {
                Some(uri) => {
                    let ext = out.entry(uri.clone()).or_insert_with(|| Value::Object(Map::new()));
                    match ext {
                        Value::Object(m) => m,
                        _ => continue,
                    }
                }
                None => &mut out,
            };
            match &entry.location.sub {
                None => {
                    target.insert(entry.location.attr.clone(), value);
                }
                Some(sub) => {
                    let parent = target
                        .entry(entry.location.attr.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = parent {
                        m.insert(sub.clone(), value);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::claims;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn builtin_mapping_loads_and_names_the_well_known_claims() {
        let m = DialectMapping::builtin().unwrap();
        assert_eq!(
            m.local_claim("urn:ietf:params:scim:schemas:core:2.0:User:userName"),
            Some(claims::USER_NAME)
        );
        assert_eq!(
            m.local_claim("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:USERNAME"),
            Some(claims::USER_NAME)
        );
        assert_eq!(m.local_claim_of(ResourceKind::User, None, "externalId", None), Some(claims::EXTERNAL_ID));
        assert_eq!(
            m.local_claim_of(ResourceKind::Group, None, "displayName", None),
            Some(claims::GROUP_DISPLAY_NAME)
        );
        assert_eq!(
            m.local_claim_of(ResourceKind::User, None, "displayName", None),
            Some(claims::DISPLAY_NAME)
        );
        assert_eq!(m.local_claim_of(ResourceKind::User, None, "password", None), Some(claims::PASSWORD));
    }

    /// DESIGN.md: a resource passes through claims without loss (complex, multi-valued complex
    /// and extension attributes).
    #[test]
    fn user_round_trips_through_claims() {
        let m = DialectMapping::builtin().unwrap();
        let user = obj(json!({
            "externalId": "e-1",
            "userName": "kim",
            "name": {"givenName": "Kim", "familyName": "Berry"},
            "emails": [{"type": "home", "value": "kim@gmail.com", "primary": true}],
            "active": true,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "1234A",
                "manager": {"value": "Taylor", "displayName": "Taylor Smith"}
            }
        }));
        let c = m.to_claims(ResourceKind::User, &user).unwrap();
        assert_eq!(c.get_str(claims::USER_NAME), Some("kim"));
        assert_eq!(c.get_str("urn:scimd:claims:name.givenName"), Some("Kim"));
        assert_eq!(c.get_str("urn:scimd:claims:manager.value"), Some("Taylor"));
        let back = m.to_resource(ResourceKind::User, &c);
        assert_eq!(Value::Object(back), Value::Object(user));
    }

    #[test]
    fn group_display_name_is_its_own_claim_and_members_are_not_claims() {
        let m = DialectMapping::builtin().unwrap();
        let g = obj(json!({"displayName": "Admins", "members": [{"value": "x"}]}));
        let c = m.to_claims(ResourceKind::Group, &g).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.get_str(claims::GROUP_DISPLAY_NAME), Some("Admins"));
        let back = m.to_resource(ResourceKind::Group, &c);
        assert_eq!(Value::Object(back), json!({"displayName": "Admins"}));
    }

    /// Nothing is silently dropped: an attribute without a mapping is refused, named.
    #[test]
    fn unmapped_attribute_is_refused_with_its_name() {
        let m = DialectMapping::from_json(
            r#"{"mappings":[{"claim":"urn:ietf:params:scim:schemas:core:2.0:User:userName","local":"urn:scimd:claims:userName"}]}"#,
        )
        .unwrap();
        let e = m.to_claims(ResourceKind::User, &obj(json!({"userName": "a", "title": "x"}))).unwrap_err();
        assert_eq!(e.scim_type, Some(scimd_core::ScimType::InvalidValue));
        assert!(e.detail.contains("\"title\""), "{}", e.detail);
    }

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    /// DESIGN.md ("Schemas that admins shape"): every server-managed Enterprise attribute has
    /// its local claim (the domain router writes `isReadOnlyUser` by that name) and reads back
    /// under the extension.
    #[test]
    fn server_managed_enterprise_attributes_are_mapped() {
        let m = DialectMapping::builtin().unwrap();
        for name in [
            "accountState",
            "lastLoginTime",
            "lastPasswordUpdateTime",
            "lockedReason",
            "isReadOnlyUser",
            "pendingEmails",
            "oneTimePassword",
        ] {
            let local = format!("urn:scimd:claims:{name}");
            assert_eq!(m.local_claim(&format!("{ENT}:{name}")), Some(local.as_str()), "{name}");
        }
        let mut c = Claims::new();
        c.insert("urn:scimd:claims:isReadOnlyUser", json!(true));
        c.insert("urn:scimd:claims:pendingEmails", json!([{"value": "a@b.c"}]));
        let back = m.to_resource(ResourceKind::User, &c);
        assert_eq!(
            Value::Object(back),
            json!({ENT: {"isReadOnlyUser": true, "pendingEmails": [{"value": "a@b.c"}]}})
        );
    }

    /// DESIGN.md (claim URIs): a custom attribute added at run time maps both ways, a
    /// multi-valued simple one as a list and a complex one whole; removing the schema's rows
    /// undoes that.
    #[test]
    fn custom_rows_added_at_run_time_map_both_ways_and_go() {
        let mut m = DialectMapping::builtin().unwrap();
        let n = m.rows().count();
        m.add("urn:scim:wso2:schema:devices", "urn:scimd:claims:devices").unwrap();
        m.add("urn:scim:wso2:schema:customAttribute", "urn:scimd:claims:customAttribute").unwrap();
        m.add("urn:scim:wso2:schema:badge", "urn:scimd:claims:badge").unwrap();
        let user = obj(json!({"userName": "kim", "urn:scim:wso2:schema": {
            "customAttribute": "v", "devices": ["d1", "d2"], "badge": {"serial": "S1", "floor": 3}}}));
        let c = m.to_claims(ResourceKind::User, &user).unwrap();
        assert_eq!(c.get("urn:scimd:claims:devices"), Some(&json!(["d1", "d2"])));
        assert_eq!(c.get("urn:scimd:claims:badge"), Some(&json!({"serial": "S1", "floor": 3})));
        assert_eq!(Value::Object(m.to_resource(ResourceKind::User, &c)), Value::Object(user));
        assert_eq!(m.claim_mapped_to("URN:SCIMD:CLAIMS:DEVICES"), Some("urn:scim:wso2:schema:devices"));
        assert_eq!(m.remove_schema("URN:SCIM:WSO2:SCHEMA"), 3);
        assert_eq!(m.rows().count(), n);
        assert!(m.local_claim("urn:scim:wso2:schema:devices").is_none());
        assert_eq!(m.local_claim(&format!("{ENT}:manager.value")), Some("urn:scimd:claims:manager.value"));
        let back = m.to_resource(ResourceKind::User, &c);
        assert!(back.get("urn:scim:wso2:schema").is_none(), "unmapped claims are not read back");
    }

    /// A local claim is named in the local dialect, and one claim holds one SCIM attribute.
    #[test]
    fn run_time_rows_are_checked() {
        let mut m = DialectMapping::builtin().unwrap();
        let cases = [
            ("urn:scim:wso2:schema:x", "devices", "is not a local claim URI"),
            ("urn:scim:wso2:schema:x", "urn:scimd:claims:", "is not a local claim URI"),
            ("urn:scim:wso2:schema:x", "urn:scimd:claims:a b", "is not a local claim URI"),
            ("urn:scim:wso2:schema:x", "urn:other:claims:x", "is not a local claim URI"),
            (
                "urn:scim:wso2:schema:title",
                "urn:scimd:claims:title",
                "already mapped to urn:ietf:params:scim:schemas:core:2.0:User:title",
            ),
            ("urn:scim:wso2:schema:pw", "urn:scimd:claims:password", "already mapped"),
            (&format!("{ENT}:department"), "urn:scimd:claims:dept2", "mapped twice"),
        ];
        for (claim, local, want) in cases {
            let e = m.add(claim, local).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(e.detail.contains(want), "{claim} -> {local}: {}", e.detail);
        }
        assert!(m.add("urn:scim:wso2:schema:x", "urn:scimd:claims:x.y-z_1").is_ok());
    }
}
