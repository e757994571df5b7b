//! Mapped attributes (DESIGN.md, Words): which store attribute holds each local claim in a
//! directory domain.
//!
//! Each local claim has one default mapped attribute (shipped as data in
//! `mappings/attributes.json`, changeable by an admin) and, per domain, an optional override: an
//! attribute, or "unmapped". A domain may start from a preset (the Active Directory names),
//! which sits between the defaults and the domain's own overrides. SQL domains keep every claim
//! losslessly and use no mapping; directory domains keep exactly what their effective mapping
//! names ([`ClaimMappings::effective`]), typed from the schemas ([`domain_map`]).
//!
//! A typed view (DESIGN.md, Claim URIs) is written `<local claim>.<type>`:
//! `urn:scimd:claims:emails.work` is the `value` of the element of `emails` whose type is work.

use scimd_claims::DialectMapping;
use scimd_claims::claims::{GROUP_DISPLAY_NAME, ID, USER_NAME};
use scimd_core::schema::AttrType;
use scimd_core::{AttrPath, ResourceKind, SchemaRegistry};
use scimd_store::{AttributeMap, DomainMap, MappedClaim, ValueKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const DEFAULTS: &str = include_str!("../mappings/attributes.json");

/// The local claim of `meta.created`.
pub const CREATED: &str = "urn:scimd:claims:created";
/// The local claim of `meta.lastModified`.
pub const LAST_MODIFIED: &str = "urn:scimd:claims:lastModified";
/// The local claim of `meta.version`.
pub const VERSION: &str = "urn:scimd:claims:version";

/// The claims every store must keep for users (DESIGN.md, Claim URIs; `meta.location` and
/// `meta.resourceType` are derived by scimd for every store).
pub const MANDATORY_USER: [&str; 5] = [ID, USER_NAME, CREATED, LAST_MODIFIED, VERSION];
/// The claims every store must keep for groups.
pub const MANDATORY_GROUP: [&str; 5] = [ID, GROUP_DISPLAY_NAME, CREATED, LAST_MODIFIED, VERSION];

/// The default mapped attributes and the per-domain overrides: what an admin changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMappings {
    /// Local claim (or typed view) to its default mapped attribute.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    /// Local claims that have no default mapped attribute, whatever the shipped defaults say.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub unmapped: BTreeSet<String>,
    /// Per domain: local claim to its attribute there, or `null` for unmapped there.
    #[serde(default)]
    pub domains: BTreeMap<String, BTreeMap<String, Option<String>>>,
}

#[derive(Deserialize)]
struct DefaultsFile {
    defaults: BTreeMap<String, String>,
}

impl ClaimMappings {
    /// The shipped defaults, no overrides.
    pub fn builtin() -> Result<Self, String> {
        let file: DefaultsFile = serde_json::from_str(DEFAULTS)
            .map_err(|e| format!("the shipped attribute mapping does not parse: {e}"))?;
        Ok(ClaimMappings { defaults: file.defaults, ..ClaimMappings::default() })
    }

    /// The effective mapping of `domain`: its overrides over `preset` over the defaults.
    pub fn effective(&self, domain: &str, preset: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut out = self.defaults.clone();
        out.extend(preset.iter().map(|(c, a)| (c.clone(), a.clone())));
        if let Some(overrides) = self.domains.get(domain) {
            for (claim, attr) in overrides {
                match attr {
                    Some(a) => out.insert(claim.clone(), a.clone()),
                    None => out.remove(claim),
                };
            }
        }
        out
    }
}

/// The local claims (and typed views) that can be mapped, with their shape, from the dialect
/// mapping and the schemas.
pub fn claim_catalogue(registry: &SchemaRegistry, dialect: &DialectMapping) -> BTreeMap<String, ClaimShape> {
    let mut out = BTreeMap::new();
    for (uri, local, kinds) in dialect.rows() {
        let operational = match local {
            ID => Some((ValueKind::String, true)),
            CREATED | LAST_MODIFIED => Some((ValueKind::DateTime, false)),
            VERSION => Some((ValueKind::Integer, false)),
            _ => None,
        };
        if let Some((kind, case_exact)) = operational {
            out.insert(
                local.to_owned(),
                ClaimShape { kind, multi_valued: false, case_exact, kinds, view_of: None },
            );
            continue;
        }
        let resource = if kinds[0] { ResourceKind::User } else { ResourceKind::Group };
        let Some(def) = AttrPath::parse(uri).ok().and_then(|p| registry.resolve(resource, &p).ok()) else {
            continue;
        };
        let leaf = def.leaf();
        if leaf.attr_type == AttrType::Complex {
            // A multi-valued complex attribute (emails): its typed views hold the `value`.
            let Some(value) = leaf.sub_attribute("value") else { continue };
            let types = leaf.sub_attribute("type").map(|t| t.canonical_values.clone()).unwrap_or_default();
            for t in types {
                out.insert(
                    format!("{local}.{t}"),
                    ClaimShape {
                        kind: value_kind(value.attr_type),
                        multi_valued: false,
                        case_exact: value.is_case_exact(),
                        kinds,
                        view_of: Some((local.to_owned(), t.clone())),
                    },
                );
            }
            continue;
        }
        out.insert(
            local.to_owned(),
            ClaimShape {
                kind: value_kind(leaf.attr_type),
                multi_valued: leaf.multi_valued,
                case_exact: leaf.is_case_exact(),
                kinds,
                view_of: None,
            },
        );
    }
    out
}

/// What a mappable local claim holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimShape {
    pub kind: ValueKind,
    pub multi_valued: bool,
    pub case_exact: bool,
    /// Whether users and groups have it (`[User, Group]`).
    pub kinds: [bool; 2],
    /// For a typed view, the claim it views and the type.
    pub view_of: Option<(String, String)>,
}

fn value_kind(t: AttrType) -> ValueKind {
    match t {
        AttrType::String | AttrType::Complex => ValueKind::String,
        AttrType::Boolean => ValueKind::Boolean,
        AttrType::Decimal => ValueKind::Decimal,
        AttrType::Integer => ValueKind::Integer,
        AttrType::DateTime => ValueKind::DateTime,
        AttrType::Binary => ValueKind::Binary,
        AttrType::Reference => ValueKind::Reference,
    }
}

/// Builds the attribute map of a directory domain from its effective mapping, or says what is
/// wrong with the mapping: unknown claims, one attribute mapped to two claims of one kind of
/// resource, mandatory claims left unmapped.
pub fn domain_map(
    domain: &str,
    effective: &BTreeMap<String, String>,
    catalogue: &BTreeMap<String, ClaimShape>,
) -> Result<DomainMap, Vec<String>> {
    let mut problems = Vec::new();
    let mut users = Vec::new();
    let mut groups = Vec::new();
    for (claim, attribute) in effective {
        let Some(shape) = catalogue.get(claim) else {
            problems.push(format!("{claim} is not a local claim"));
            continue;
        };
        let (base, view_type) = match &shape.view_of {
            Some((c, t)) => (c.clone(), Some(t.clone())),
            None => (claim.clone(), None),
        };
        let entry = MappedClaim {
            claim: base,
            view_type,
            attribute: attribute.clone(),
            kind: shape.kind,
            multi_valued: shape.multi_valued,
            case_exact: shape.case_exact,
        };
        if shape.kinds[0] {
            users.push(entry.clone());
        }
        if shape.kinds[1] {
            groups.push(entry);
        }
    }
    for (entries, mandatory, what) in
        [(&users, &MANDATORY_USER, "users"), (&groups, &MANDATORY_GROUP, "groups")]
    {
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for e in entries.iter() {
            // The operational attributes (id, timestamps, version) are read, never written,
            // and id may share nothing; other attributes hold one claim each.
            let key = e.attribute.to_ascii_lowercase();
            let name = e.claim.as_str();
            if let Some(other) = seen.insert(key, name)
                && other != name
            {
                problems.push(format!(
                    "in domain {domain}, the attribute {} is mapped to both {other} and {name} for {what}",
                    e.attribute
                ));
            }
        }
        let mapped: BTreeSet<&str> =
            entries.iter().filter(|e| e.view_type.is_none()).map(|e| e.claim.as_str()).collect();
        let missing: Vec<&str> = mandatory.iter().copied().filter(|c| !mapped.contains(c)).collect();
        if !missing.is_empty() {
            problems.push(format!(
                "domain {domain} leaves mandatory claims unmapped for {what}: {}",
                missing.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(DomainMap { users: AttributeMap::new(users), groups: AttributeMap::new(groups) })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn catalogue() -> BTreeMap<String, ClaimShape> {
        claim_catalogue(&SchemaRegistry::builtin().unwrap(), &DialectMapping::builtin().unwrap())
    }

    #[test]
    fn the_catalogue_types_claims_and_typed_views_from_the_schemas() {
        let c = catalogue();
        assert_eq!(c["urn:scimd:claims:active"].kind, ValueKind::Boolean);
        assert_eq!(
            c["urn:scimd:claims:emails.work"].view_of,
            Some(("urn:scimd:claims:emails".into(), "work".into()))
        );
        assert!(c["urn:scimd:claims:id"].case_exact);
        assert_eq!(c[GROUP_DISPLAY_NAME].kinds, [false, true]);
        assert_eq!(c[ID].kinds, [true, true]);
    }

    #[test]
    fn the_shipped_defaults_make_a_valid_directory_mapping() {
        let m = ClaimMappings::builtin().unwrap();
        let map = domain_map("LDAP", &m.effective("LDAP", &BTreeMap::new()), &catalogue()).unwrap();
        assert_eq!(map.users.of_claim(USER_NAME).unwrap().attribute, "uid");
        assert_eq!(map.users.of_view("urn:scimd:claims:emails", "work").unwrap().attribute, "mail");
        assert_eq!(map.groups.of_claim(GROUP_DISPLAY_NAME).unwrap().attribute, "cn");
        assert!(map.groups.of_claim(USER_NAME).is_none());
    }

    #[test]
    fn overrides_win_and_problems_are_named() {
        let mut m = ClaimMappings::builtin().unwrap();
        let overrides = m.domains.entry("AD".into()).or_default();
        overrides.insert(USER_NAME.into(), Some("sAMAccountName".into()));
        overrides.insert("urn:scimd:claims:title".into(), None);
        let eff = m.effective("AD", &BTreeMap::new());
        assert_eq!(eff[USER_NAME], "sAMAccountName");
        assert!(!eff.contains_key("urn:scimd:claims:title"));
        assert_eq!(m.effective("LDAP", &BTreeMap::new())[USER_NAME], "uid", "other domains keep the default");

        let mut bad = eff.clone();
        bad.remove(VERSION);
        bad.insert("urn:scimd:claims:nickName".into(), "sn".into());
        bad.insert("urn:scimd:claims:nope".into(), "x".into());
        let problems = domain_map("AD", &bad, &catalogue()).unwrap_err().join("\n");
        assert!(problems.contains("urn:scimd:claims:nope is not a local claim"), "{problems}");
        assert!(problems.contains("sn is mapped to both"), "{problems}");
        assert!(
            problems.contains("mandatory claims unmapped for users: urn:scimd:claims:version"),
            "{problems}"
        );
    }
}
