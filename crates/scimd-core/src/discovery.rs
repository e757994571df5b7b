//! Discovery documents (RFC 7644 §4, RFC 7643 §5-§7) and the ListResponse (RFC 7644 §3.4.2).
//!
//! Pure builders: the caller passes the features it serves and each document's `location`
//! (the absolute URL), and gets the JSON body back.

use crate::schema::{ResourceType, Schema};
use serde_json::{Map, Value, json};

/// The URI of the ServiceProviderConfig schema (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// The URI of the ResourceType schema (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// The URI of the Schema schema (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The URI of the ListResponse message (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// One authentication scheme of RFC 7643 §5 `authenticationSchemes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthScheme {
    /// `oauthbearertoken`, `httpbasic`, ...
    pub type_: String,
    pub name: String,
    pub description: String,
    pub primary: bool,
}

/// What the server supports, as advertised by `/ServiceProviderConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    pub patch: bool,
    /// `(maxOperations, maxPayloadSize)` when bulk is supported.
    pub bulk: Option<(u64, u64)>,
    /// `maxResults` when filtering is supported; `None` = unsupported.
    pub filter_max_results: Option<u64>,
    pub change_password: bool,
    pub sort: bool,
    pub etag: bool,
    pub auth_schemes: Vec<AuthScheme>,
    pub documentation_uri: Option<String>,
    /// The `pagination` object of RFC 9865 §4, when announced.
    pub pagination: Option<Pagination>,
}

/// RFC 9865 §4: the pagination methods a service provider supports and their limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pagination {
    pub cursor: bool,
    pub index: bool,
    /// `"cursor"` or `"index"`: used when a request asks for neither.
    pub default_pagination_method: &'static str,
    pub default_page_size: u64,
    pub max_page_size: u64,
    /// Seconds a cursor stays valid after it is issued.
    pub cursor_timeout: u64,
}

/// `/ServiceProviderConfig` (RFC 7643 §5).
pub fn service_provider_config(features: &Features, location: &str) -> Value {
    let (bulk_supported, max_ops, max_payload) = match features.bulk {
        Some((ops, payload)) => (true, ops, payload),
        None => (false, 0, 0),
    };
    let auth: Vec<Value> = features
        .auth_schemes
        .iter()
        .map(|a| json!({"type": a.type_, "name": a.name, "description": a.description, "primary": a.primary}))
        .collect();
    let mut body = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": features.patch},
        "bulk": {"supported": bulk_supported, "maxOperations": max_ops, "maxPayloadSize": max_payload},
        "filter": {"supported": features.filter_max_results.is_some(), "maxResults": features.filter_max_results.unwrap_or(0)},
        "changePassword": {"supported": features.change_password},
        "sort": {"supported": features.sort},
        "etag": {"supported": features.etag},
        "authenticationSchemes": auth,
        "meta": {"resourceType": "ServiceProviderConfig", "location": location},
    });
    if let (Some(p), Some(obj)) = (&features.pagination, body.as_object_mut()) {
        obj.insert(
            "pagination".into(),
            json!({
                "cursor": p.cursor,
                "index": p.index,
                "defaultPaginationMethod": p.default_pagination_method,
                "defaultPageSize": p.default_page_size,
                "maxPageSize": p.max_page_size,
                "cursorTimeout": p.cursor_timeout,
            }),
        );
    }
    if let (Some(uri), Some(obj)) = (&features.documentation_uri, body.as_object_mut()) {
        obj.insert("documentationUri".into(), Value::String(uri.clone()));
    }
    body
}

/// One `/ResourceTypes` entry (RFC 7643 §6).
pub fn resource_type_json(rt: &ResourceType, location: &str) -> Value {
    let name = rt.kind.name();
    let extensions: Vec<Value> =
        rt.schema_extensions.iter().map(|e| json!({"schema": e.schema, "required": e.required})).collect();
    let mut body = Map::new();
    body.insert("schemas".into(), json!([RESOURCE_TYPE_SCHEMA]));
    body.insert("id".into(), json!(name));
    body.insert("name".into(), json!(name));
    body.insert("endpoint".into(), json!(rt.kind.endpoint()));
    body.insert("description".into(), json!(rt.description));
    body.insert("schema".into(), json!(rt.schema));
    if !extensions.is_empty() {
        body.insert("schemaExtensions".into(), Value::Array(extensions));
    }
    body.insert("meta".into(), json!({"resourceType": "ResourceType", "location": location}));
    Value::Object(body)
}

/// One `/Schemas` entry (RFC 7643 §7): the schema's own serde form plus `schemas` and `meta`.
pub fn schema_json(schema: &Schema, location: &str) -> Value {
    let attributes = serde_json::to_value(&schema.attributes).unwrap_or_else(|_| Value::Array(Vec::new()));
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": location},
    })
}

/// A ListResponse (RFC 7644 §3.4.2): `itemsPerPage` is the number of resources in this page.
pub fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    // Built by hand: `json!` would serialize the resources into a copy of themselves.
    let mut body = serde_json::Map::with_capacity(5);
    body.insert("schemas".into(), json!([LIST_RESPONSE_SCHEMA]));
    body.insert("totalResults".into(), total.into());
    body.insert("itemsPerPage".into(), resources.len().into());
    body.insert("startIndex".into(), start_index.into());
    body.insert("Resources".into(), Value::Array(resources));
    Value::Object(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::registry::SchemaRegistry;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, ResourceKind, USER_SCHEMA};

    /// RFC 7643 §5: every capability is present with `supported`; bulk and filter carry limits.
    #[test]
    fn service_provider_config_lists_features() {
        let f = Features {
            patch: true,
            bulk: Some((1000, 1_048_576)),
            filter_max_results: Some(200),
            etag: true,
            auth_schemes: vec![AuthScheme {
                type_: "oauthbearertoken".into(),
                name: "OAuth Bearer Token".into(),
                description: "Authentication scheme using the OAuth Bearer Token Standard".into(),
                primary: true,
            }],
            documentation_uri: Some("https://example.com/help".into()),
            ..Features::default()
        };
        let v = service_provider_config(&f, "https://h/scim/v2/ServiceProviderConfig");
        assert_eq!(v["schemas"][0], SERVICE_PROVIDER_CONFIG_SCHEMA);
        assert_eq!(v["patch"]["supported"], true);
        assert_eq!(v["bulk"], json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576}));
        assert_eq!(v["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(v["changePassword"]["supported"], false);
        assert_eq!(v["sort"]["supported"], false);
        assert_eq!(v["etag"]["supported"], true);
        assert_eq!(v["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(v["documentationUri"], "https://example.com/help");
        assert_eq!(v["meta"]["resourceType"], "ServiceProviderConfig");
        let none = service_provider_config(&Features::default(), "l");
        assert_eq!(none["filter"]["supported"], false);
        assert!(none.get("documentationUri").is_none());
    }

    /// RFC 7643 §6: the User resource type names its core schema and the Enterprise extension.
    #[test]
    fn resource_type_document() {
        let r = SchemaRegistry::builtin().unwrap();
        let v = resource_type_json(
            r.resource_type(ResourceKind::User).unwrap(),
            "https://h/scim/v2/ResourceTypes/User",
        );
        assert_eq!(v["schemas"][0], RESOURCE_TYPE_SCHEMA);
        assert_eq!((v["id"].as_str(), v["name"].as_str()), (Some("User"), Some("User")));
        assert_eq!(v["endpoint"], "/Users");
        assert_eq!(v["schema"], USER_SCHEMA);
        assert_eq!(v["schemaExtensions"], json!([{"schema": ENTERPRISE_USER_SCHEMA, "required": false}]));
        assert_eq!(v["meta"]["resourceType"], "ResourceType");
        let g = resource_type_json(r.resource_type(ResourceKind::Group).unwrap(), "l");
        assert_eq!(g["endpoint"], "/Groups");
    }

    /// RFC 7643 §7: a schema is served with every characteristic, in camelCase, without the
    /// server-only `canonicalOnly`; caseExact only for string, reference and binary (§8.7.1).
    #[test]
    fn schema_document() {
        let r = SchemaRegistry::builtin().unwrap();
        let v = schema_json(r.schema(USER_SCHEMA).unwrap(), "https://h/scim/v2/Schemas/x");
        assert_eq!(v["schemas"][0], SCHEMA_SCHEMA);
        assert_eq!(v["id"], USER_SCHEMA);
        assert_eq!(v["meta"]["resourceType"], "Schema");
        let attrs = v["attributes"].as_array().unwrap();
        let user_name = attrs.iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["multiValued"], false);
        let active = attrs.iter().find(|a| a["name"] == "active").unwrap();
        assert!(active.get("caseExact").is_none());
        let groups = attrs.iter().find(|a| a["name"] == "groups").unwrap();
        let ty = groups["subAttributes"].as_array().unwrap().iter().find(|a| a["name"] == "type").unwrap();
        assert_eq!(ty["canonicalValues"], json!(["direct", "indirect"]));
        assert!(ty.get("canonicalOnly").is_none());
    }

    /// RFC 7644 §3.4.2: ListResponse carries totalResults, itemsPerPage, startIndex, Resources.
    #[test]
    fn list_response_shape() {
        let v = list_response(vec![json!({"id": "1"}), json!({"id": "2"})], 10, 3);
        assert_eq!(
            v,
            json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 10, "itemsPerPage": 2, "startIndex": 3,
                "Resources": [{"id": "1"}, {"id": "2"}]})
        );
    }
}
