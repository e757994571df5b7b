//! The schema registry: every schema and resource type the server knows, and the binding of an
//! attribute path to its definition (`resolve`).
//!
//! The built-in schemas are data (`schemas/*.json`, RFC 7643 §7 form) embedded at build time:
//! core User, core Group and the Enterprise User extension, served by `/Schemas`; and the common
//! attributes of RFC 7643 §3.1 (`id`, `externalId`, `meta`), which every resource type has but
//! which are not a schema of their own, so `/Schemas` does not list them.
//!
//! Resolution rules (RFC 7644 §3.10, RFC 7643 §2.1):
//! - names and schema URIs compare without regard to case;
//! - a schema prefix must be the resource type's core schema, one of its extensions, or the
//!   common prefix `urn:ietf:params:scim:schemas:core:2.0`;
//! - an unprefixed name is looked up in the common attributes, then in the core schema
//!   (extension attributes must be qualified);
//! - `attr.sub` needs `attr` to be complex and `sub` to be one of its sub-attributes.
//!
//! Extensions can be added at run time ([`SchemaRegistry::add_extension`]) for the custom schema.

use crate::error::{ScimError, ScimResult};
use crate::name::eq_ci;
use crate::path::AttrPath;
use crate::schema::{
    AttrType, AttributeDef, CORE_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, ResourceKind, ResourceType,
    Schema, SchemaExtension, USER_SCHEMA,
};

const USER_JSON: &str = include_str!("../schemas/user.json");
const GROUP_JSON: &str = include_str!("../schemas/group.json");
const ENTERPRISE_USER_JSON: &str = include_str!("../schemas/enterprise_user.json");
const COMMON_JSON: &str = include_str!("../schemas/common.json");

/// Every schema and resource type the server serves.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    schemas: Vec<Schema>,
    resource_types: Vec<ResourceType>,
    /// The common attributes (RFC 7643 §3.1): resolved for every resource type, never served.
    common: Schema,
    /// What the default projection of each kind hides (`crate::project`), worked out on first
    /// use after each change.
    pub(crate) hidden_by_default: std::sync::OnceLock<[Option<crate::project::Hidden>; 2]>,
}

/// An attribute path bound to its definitions.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The schema the attribute belongs to (the resource type's core schema for common
    /// attributes `id`, `externalId`, `meta`).
    pub schema: &'a Schema,
    /// Whether the schema is an extension (its attributes sit under its URI in a payload).
    pub is_extension: bool,
    pub attr: &'a AttributeDef,
    pub sub: Option<&'a AttributeDef>,
}

impl Resolved<'_> {
    /// The definition the path ends at: the sub-attribute if there is one, else the attribute.
    pub fn leaf(&self) -> &AttributeDef {
        self.sub.unwrap_or(self.attr)
    }
    /// The path in the schema's spelling: unqualified for core and common attributes,
    /// `urn:...:attr[.sub]` for extension attributes.
    pub fn canonical_path(&self) -> String {
        let mut s = String::new();
        if self.is_extension {
            s.push_str(&self.schema.id);
            s.push(':');
        }
        s.push_str(&self.attr.name);
        if let Some(sub) = self.sub {
            s.push('.');
            s.push_str(&sub.name);
        }
        s
    }
}

fn parse_schema(name: &str, text: &str) -> ScimResult<Schema> {
    serde_json::from_str(text)
        .map_err(|e| ScimError::status(500, format!("built-in schema {name} does not parse: {e}")))
}

impl SchemaRegistry {
    /// The built-in schemas: core User, core Group, Enterprise User, and the common attributes.
    pub fn builtin() -> ScimResult<Self> {
        let user = parse_schema("user.json", USER_JSON)?;
        let group = parse_schema("group.json", GROUP_JSON)?;
        let enterprise = parse_schema("enterprise_user.json", ENTERPRISE_USER_JSON)?;
        let common = parse_schema("common.json", COMMON_JSON)?;
        let resource_types = vec![
            ResourceType {
                kind: ResourceKind::User,
                description: "User Account".into(),
                schema: user.id.clone(),
                schema_extensions: vec![SchemaExtension { schema: enterprise.id.clone(), required: false }],
            },
            ResourceType {
                kind: ResourceKind::Group,
                description: "Group".into(),
                schema: group.id.clone(),
                schema_extensions: Vec::new(),
            },
        ];
        debug_assert_eq!(user.id, USER_SCHEMA);
        debug_assert_eq!(group.id, GROUP_SCHEMA);
        debug_assert_eq!(enterprise.id, ENTERPRISE_USER_SCHEMA);
        debug_assert_eq!(common.id, CORE_SCHEMA);
        Ok(SchemaRegistry {
            schemas: vec![user, group, enterprise],
            resource_types,
            common,
            hidden_by_default: std::sync::OnceLock::new(),
        })
    }
    /// The schemas served by `/Schemas`, in order.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }
    /// The schema whose id is `uri`, without regard to case.
    pub fn schema(&self, uri: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(uri))
    }
    /// The resource types served by `/ResourceTypes`.
    pub fn resource_types(&self) -> &[ResourceType] {
        &self.resource_types
    }
    /// The resource type of a kind.
    pub fn resource_type(&self, kind: ResourceKind) -> Option<&ResourceType> {
        self.resource_types.iter().find(|r| r.kind == kind)
    }
    /// The common attributes of RFC 7643 §3.1 (`id`, `externalId`, `meta`).
    pub fn common(&self) -> &Schema {
        &self.common
    }
    /// The core schema of a resource type.
    pub fn core_schema(&self, kind: ResourceKind) -> Option<&Schema> {
        self.resource_type(kind).and_then(|rt| self.schema(&rt.schema))
    }
    /// The extension schemas of a resource type, in declaration order.
    pub fn extensions(&self, kind: ResourceKind) -> Vec<&Schema> {
        self.resource_type(kind)
            .map(|rt| rt.schema_extensions.iter().filter_map(|e| self.schema(&e.schema)).collect())
            .unwrap_or_default()
    }
    /// The extension of a resource type whose URI is `uri`, without regard to case. This is
    /// also how a whole extension named in `attributes=urn:...:enterprise:2.0:User` is found.
    pub fn extension(&self, kind: ResourceKind, uri: &str) -> Option<&Schema> {
        self.extensions(kind).into_iter().find(|s| eq_ci(&s.id, uri.trim()))
    }
    /// Whether `uri` is the core schema or an extension of the resource type.
    pub fn is_schema_uri(&self, kind: ResourceKind, uri: &str) -> bool {
        self.core_schema(kind).is_some_and(|s| eq_ci(&s.id, uri)) || self.extension(kind, uri).is_some()
    }
    /// The extension of `kind` that a qualified top-level key such as
    /// `urn:...:enterprise:2.0:User:employeeNumber` starts with, and the rest after the `:`.
    pub fn split_extension_key<'k>(&self, kind: ResourceKind, key: &'k str) -> Option<(&Schema, &'k str)> {
        self.extensions(kind).into_iter().find_map(|s| {
            let n = s.id.len();
            match (key.get(..n), key.get(n..)) {
                (Some(head), Some(rest)) if eq_ci(head, &s.id) => {
                    rest.strip_prefix(':').filter(|r| !r.is_empty()).map(|r| (s, r))
                }
                _ => None,
            }
        })
    }

    /// Adds (or replaces) an extension schema of a resource type: the custom schema, defined at
    /// run time. The schema is served by `/Schemas` and listed in the resource type.
    pub fn add_extension(&mut self, kind: ResourceKind, schema: Schema, required: bool) -> ScimResult<()> {
        self.hidden_by_default = std::sync::OnceLock::new();
        let Some(rt) = self.resource_types.iter_mut().find(|r| r.kind == kind) else {
            return Err(ScimError::not_found(format!("no resource type {}", kind.name())));
        };
        if eq_ci(&rt.schema, &schema.id) || eq_ci(&schema.id, CORE_SCHEMA) {
            return Err(ScimError::invalid_value(format!("\"{}\" is a core schema", schema.id)));
        }
        match rt.schema_extensions.iter_mut().find(|e| eq_ci(&e.schema, &schema.id)) {
            Some(e) => e.required = required,
            None => rt.schema_extensions.push(SchemaExtension { schema: schema.id.clone(), required }),
        }
        match self.schemas.iter_mut().find(|s| eq_ci(&s.id, &schema.id)) {
            Some(s) => *s = schema,
            None => self.schemas.push(schema),
        }
        Ok(())
    }

    /// Removes an extension schema (the custom schema turned off). Built-in core schemas stay.
    pub fn remove_extension(&mut self, uri: &str) {
        self.hidden_by_default = std::sync::OnceLock::new();
        for rt in &mut self.resource_types {
            rt.schema_extensions.retain(|e| !eq_ci(&e.schema, uri));
        }
        let resource_types = &self.resource_types;
        self.schemas
            .retain(|s| !eq_ci(&s.id, uri) || resource_types.iter().any(|rt| eq_ci(&rt.schema, &s.id)));
    }

    /// Binds a path to its definition for a resource type. Unknown attribute: `invalidPath`
    /// naming it (the filter parser re-labels it `invalidFilter`).
    pub fn resolve(&self, kind: ResourceKind, path: &AttrPath) -> ScimResult<Resolved<'_>> {
        let unknown = || ScimError::invalid_path(format!("unknown attribute \"{path}\""));
        let core = self.core_schema(kind).ok_or_else(unknown)?;
        let (schema, is_extension, attr) = match &path.schema {
            Some(uri) if eq_ci(uri, &core.id) || eq_ci(uri, CORE_SCHEMA) => {
                let in_common = self.common.attribute(&path.attr);
                let in_core = if eq_ci(uri, CORE_SCHEMA) { None } else { core.attribute(&path.attr) };
                (core, false, in_common.or(in_core).ok_or_else(unknown)?)
            }
            Some(uri) => {
                let ext = self.extension(kind, uri).ok_or_else(unknown)?;
                (ext, true, ext.attribute(&path.attr).ok_or_else(unknown)?)
            }
            None => {
                let attr = self.common.attribute(&path.attr).or_else(|| core.attribute(&path.attr));
                (core, false, attr.ok_or_else(unknown)?)
            }
        };
        let sub = match &path.sub {
            None => None,
            Some(name) if attr.attr_type == AttrType::Complex => {
                Some(attr.sub_attribute(name).ok_or_else(unknown)?)
            }
            Some(_) => return Err(unknown()),
        };
        Ok(Resolved { schema, is_extension, attr, sub })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{Mutability, Returned, Uniqueness};

    fn reg() -> SchemaRegistry {
        SchemaRegistry::builtin().unwrap()
    }

    fn res(kind: ResourceKind, p: &str) -> ScimResult<String> {
        let r = reg();
        r.resolve(kind, &AttrPath::parse(p)?).map(|r| r.canonical_path())
    }

    /// RFC 7643 §7, §8.7.1: the built-in schemas parse and `/Schemas` serves User, Group and
    /// the Enterprise User extension (not the common attributes of §3.1).
    #[test]
    fn builtin_serves_three_schemas() {
        let r = reg();
        let ids: Vec<&str> = r.schemas().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        assert_eq!(r.resource_types().len(), 2);
        assert_eq!(r.extensions(ResourceKind::User)[0].id, ENTERPRISE_USER_SCHEMA);
        assert!(r.extensions(ResourceKind::Group).is_empty());
    }

    /// RFC 7643 §8.7.1: every User attribute is defined, with the RFC's characteristics.
    #[test]
    fn user_schema_has_every_rfc_attribute() {
        let r = reg();
        let user = r.schema(USER_SCHEMA).unwrap();
        let names: Vec<&str> = user.attributes.iter().map(|a| a.name.as_str()).collect();
        for n in [
            "userName",
            "name",
            "displayName",
            "nickName",
            "profileUrl",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
            "active",
            "password",
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "groups",
            "entitlements",
            "roles",
            "x509Certificates",
        ] {
            assert!(names.contains(&n), "missing {n}");
        }
        let user_name = user.attribute("username").unwrap();
        assert!(user_name.required);
        assert_eq!(user_name.uniqueness(), Uniqueness::Server);
        let pw = user.attribute("password").unwrap();
        assert_eq!((pw.mutability, pw.returned), (Mutability::WriteOnly, Returned::Never));
        let groups = user.attribute("groups").unwrap();
        assert_eq!(groups.mutability, Mutability::ReadOnly);
        assert!(groups.sub_attribute("type").unwrap().canonical_only);
        assert_eq!(
            user.attribute("x509Certificates").unwrap().sub_attribute("value").unwrap().attr_type,
            AttrType::Binary
        );
        let addr = user.attribute("addresses").unwrap();
        for s in [
            "formatted",
            "streetAddress",
            "locality",
            "region",
            "postalCode",
            "country",
            "type",
            "value",
            "primary",
        ] {
            assert!(addr.sub_attribute(s).is_some(), "addresses.{s}");
        }
    }

    /// RFC 7643 §8.7.1: Group members' value, $ref and type are immutable; type is User or Group.
    #[test]
    fn group_members_are_immutable_references() {
        let r = reg();
        let members = r.schema(GROUP_SCHEMA).unwrap().attribute("members").unwrap();
        for s in ["value", "$ref", "type"] {
            assert_eq!(members.sub_attribute(s).unwrap().mutability, Mutability::Immutable, "{s}");
        }
        let ty = members.sub_attribute("type").unwrap();
        assert!(ty.canonical_only);
        assert_eq!(ty.canonical_values, ["User", "Group"]);
    }

    /// RFC 7643 §3.1: id is readOnly, returned always, caseExact, unique in the server.
    #[test]
    fn common_id_characteristics() {
        let r = reg();
        let id = r.common().attribute("id").unwrap();
        assert_eq!(id.mutability, Mutability::ReadOnly);
        assert_eq!(id.returned, Returned::Always);
        assert!(id.is_case_exact());
        assert_eq!(id.uniqueness(), Uniqueness::Server);
    }

    /// RFC 7644 §3.10, RFC 7643 §2.1: paths resolve case-insensitively, with or without the
    /// schema prefix, to the schema's spelling.
    #[test]
    fn resolve_table() {
        use ResourceKind::{Group, User};
        let ok: &[(ResourceKind, &str, &str)] = &[
            (User, "userName", "userName"),
            (User, "USERNAME", "userName"),
            (User, "name.givenname", "name.givenName"),
            (User, "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", "name.givenName"),
            (User, "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:userName", "userName"),
            (User, "id", "id"),
            (User, "meta.lastModified", "meta.lastModified"),
            (User, "urn:ietf:params:scim:schemas:core:2.0:meta.created", "meta.created"),
            (User, "emails.value", "emails.value"),
            (User, "groups.$ref", "groups.$ref"),
            (
                User,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            ),
            (Group, "displayName", "displayName"),
            (Group, "members.type", "members.type"),
            (Group, "externalId", "externalId"),
        ];
        for (kind, input, want) in ok {
            assert_eq!(res(*kind, input).as_deref(), Ok(*want), "{input}");
        }
    }

    /// RFC 7644 §3.10: an unknown attribute or sub-attribute, a foreign schema prefix, an
    /// unqualified extension attribute, or a sub-attribute of a simple attribute are errors.
    #[test]
    fn resolve_rejects_unknown_paths() {
        use ResourceKind::{Group, User};
        let bad: &[(ResourceKind, &str)] = &[
            (User, "foo"),
            (User, "name.foo"),
            (User, "userName.value"),
            (User, "employeeNumber"),
            (User, "urn:ietf:params:scim:schemas:core:2.0:Group:displayName"),
            (Group, "userName"),
            (Group, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
        ];
        for (kind, input) in bad {
            let e = res(*kind, input).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{input}");
            assert!(e.detail.contains(input), "{}", e.detail);
        }
    }

    /// RFC 7643 §3.3: extension attributes are qualified by the extension's URI.
    #[test]
    fn extension_lookup_helpers() {
        let r = reg();
        let ent = "urn:ietf:params:scim:schemas:extension:Enterprise:2.0:user";
        assert!(r.is_schema_uri(ResourceKind::User, ent));
        assert!(r.is_schema_uri(ResourceKind::User, "urn:ietf:params:scim:schemas:core:2.0:user"));
        assert!(!r.is_schema_uri(ResourceKind::Group, ent));
        assert_eq!(r.extension(ResourceKind::User, ent).unwrap().id, ENTERPRISE_USER_SCHEMA);
        let key = format!("{ent}:employeeNumber");
        let (s, rest) = r.split_extension_key(ResourceKind::User, &key).unwrap();
        assert_eq!((s.id.as_str(), rest), (ENTERPRISE_USER_SCHEMA, "employeeNumber"));
        assert!(r.split_extension_key(ResourceKind::User, ent).is_none());
    }

    /// RFC 7643 §3.3: an extension added at run time resolves and is served; removing it undoes that.
    #[test]
    fn custom_extension_added_and_removed() {
        let mut r = reg();
        let custom: Schema = serde_json::from_value(serde_json::json!({
            "id": "urn:scim:wso2:schema", "name": "Custom", "attributes": [
                {"name": "devices", "type": "string", "multiValued": true, "required": false,
                 "mutability": "readWrite", "returned": "default"}
            ]
        }))
        .unwrap();
        r.add_extension(ResourceKind::User, custom, false).unwrap();
        assert_eq!(res_in(&r, "urn:scim:wso2:schema:devices"), Ok("urn:scim:wso2:schema:devices".into()));
        assert_eq!(r.schemas().len(), 4);
        r.remove_extension("URN:scim:wso2:schema");
        assert_eq!(r.schemas().len(), 3);
        assert!(res_in(&r, "urn:scim:wso2:schema:devices").is_err());
    }

    fn res_in(r: &SchemaRegistry, p: &str) -> ScimResult<String> {
        r.resolve(ResourceKind::User, &AttrPath::parse(p)?).map(|x| x.canonical_path())
    }
}
