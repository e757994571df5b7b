//! SCIM errors (RFC 7644 §3.12).
//!
//! Which error to use where:
//! - a value that breaks a schema rule: [`ScimError::invalid_value`] (or `invalid_syntax` when the
//!   body is not a SCIM resource at all);
//! - a write to a readOnly or already-set immutable attribute: [`ScimError::mutability`];
//! - a duplicate of a unique attribute: [`ScimError::uniqueness`];
//! - a bad `filter` query: [`ScimError::invalid_filter`], with the byte span at fault;
//! - more results than the server will evaluate: [`ScimError::too_many`];
//! - a resource that does not exist: [`ScimError::not_found`].
//!
//! Details start lower-case and name the attribute (or the filter position, `at 17..21`). They
//! never carry SQL, LDAP or other internal error text.

use serde_json::{Value, json};
use std::fmt;

/// The URI of the SCIM Error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` values of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    /// RFC 9865 §2.3: a cursor that is not one the server issued for this query.
    InvalidCursor,
    /// RFC 9865 §2.3: a cursor older than the announced `cursorTimeout`.
    ExpiredCursor,
}

impl ScimType {
    /// The keyword as it appears in a SCIM error body.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
        }
    }

    /// The one HTTP status each `scimType` is answered with (RFC 7644 §3.12, Table 9).
    pub fn status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            ScimType::InvalidFilter
            | ScimType::TooMany
            | ScimType::Mutability
            | ScimType::InvalidSyntax
            | ScimType::InvalidPath
            | ScimType::NoTarget
            | ScimType::InvalidValue
            | ScimType::InvalidVers
            | ScimType::InvalidCursor
            | ScimType::ExpiredCursor => 400,
        }
    }
}

/// A SCIM error: an HTTP status, an optional `scimType` and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    /// An error of one of the `scimType`s; the status comes from [`ScimType::status`].
    pub fn typed(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError { status: scim_type.status(), scim_type: Some(scim_type), detail: detail.into() }
    }
    /// An error with a status and no `scimType`.
    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type: None, detail: detail.into() }
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidFilter, detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::TooMany, detail)
    }
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::Uniqueness, detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::Mutability, detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidSyntax, detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidPath, detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::NoTarget, detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidValue, detail)
    }
    pub fn invalid_version(detail: impl Into<String>) -> Self {
        Self::typed(ScimType::InvalidVers, detail)
    }
    /// 400 without a `scimType`: a request the server cannot understand (bad query parameter).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::status(400, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::status(401, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::status(403, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(404, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::status(409, detail)
    }
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::status(412, detail)
    }
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::status(413, detail)
    }
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::status(501, detail)
    }

    /// The SCIM Error message body (RFC 7644 §3.12): `status` is a string.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(obj)) = (self.scim_type, body.as_object_mut()) {
            obj.insert("scimType".into(), Value::String(t.as_str().into()));
        }
        body
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t.as_str(), self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimError {}

/// The result type of the SCIM core.
pub type ScimResult<T> = Result<T, ScimError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7644 §3.12: status is a JSON string, scimType is present for the typed errors.
    #[test]
    fn error_body_has_status_as_string_and_scim_type() {
        let e = ScimError::uniqueness("userName \"bjensen\" is already taken");
        let v = e.to_json();
        assert_eq!(v["status"], "409");
        assert_eq!(v["scimType"], "uniqueness");
        assert_eq!(v["schemas"][0], ERROR_SCHEMA);
        let nf = ScimError::not_found("no User with id \"x\"").to_json();
        assert!(nf.get("scimType").is_none());
        assert_eq!(nf["status"], "404");
    }
}
