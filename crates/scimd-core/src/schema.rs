//! Schema definitions (RFC 7643 §2, §7): attributes and their characteristics, schemas, resource
//! types, and the registry that validation, filters, projection and `/Schemas` all read.
//!
//! The built-in schemas (core User, core Group, Enterprise User) are data: `schemas/*.json`, in
//! the RFC 7643 §7 representation, embedded at build time. What `/Schemas` serves is what
//! validates requests, because both read the same [`Schema`] values.

use crate::name::eq_ci;
use serde::{Deserialize, Serialize};

/// The URI of the core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The URI of the core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The URI of the Enterprise User extension.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The URI prefix of the attributes common to every resource (`id`, `externalId`, `meta`).
pub const CORE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0";

/// The data types of RFC 7643 §2.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    #[default]
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    #[default]
    Default,
    Request,
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    #[default]
    None,
    Server,
    Global,
}

/// One attribute definition with every characteristic of RFC 7643 §7.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    pub name: String,
    #[serde(rename = "type")]
    pub attr_type: AttrType,
    pub multi_valued: bool,
    #[serde(default)]
    pub description: String,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// Serialized only for string, reference and binary attributes, as RFC 7643 §8.7.1 does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_exact: Option<bool>,
    pub mutability: Mutability,
    pub returned: Returned,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniqueness: Option<Uniqueness>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<AttributeDef>,
    /// Server-side: whether `canonicalValues` is a closed set (values outside it are refused).
    /// RFC 7643 fixes the set for a few attributes only (`members.type`, `groups.type`); for the
    /// others the canonical values are a suggestion.
    #[serde(default, skip_serializing)]
    pub canonical_only: bool,
}

impl AttributeDef {
    /// Whether string comparison on this attribute is case-exact (default false, RFC 7643 §2.2).
    pub fn is_case_exact(&self) -> bool {
        self.case_exact.unwrap_or(false)
    }
    /// The uniqueness of this attribute (default none).
    pub fn uniqueness(&self) -> Uniqueness {
        self.uniqueness.unwrap_or_default()
    }
    /// The sub-attribute named `name`, without regard to case.
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes.iter().find(|a| eq_ci(&a.name, name))
    }
}

/// A schema (RFC 7643 §7): an id (its URI), a name, a description and attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// The top-level attribute named `name`, without regard to case.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| eq_ci(&a.name, name))
    }
}

/// A schema extension of a resource type (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaExtension {
    pub schema: String,
    pub required: bool,
}

/// The kinds of resource scimd serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// The resource type's name, as in `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }
    /// The endpoint, relative to the SCIM base.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }
}

/// A resource type (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub kind: ResourceKind,
    pub description: String,
    /// The core schema's URI.
    pub schema: String,
    pub schema_extensions: Vec<SchemaExtension>,
}
