//! Reading requests: JSON bodies (content type, size limit, syntax), query parameters and the
//! ETag preconditions of RFC 7644 §3.14.

use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::http::{HeaderMap, header};
use scimd_core::ScimError;
use serde_json::Value;

/// Reads a JSON body: `application/scim+json` or `application/json` (RFC 7644 §3.1; a missing
/// Content-Type is read as JSON), at most `limit` bytes (else 413), valid JSON (else 400
/// `invalidSyntax` with the line and column).
pub async fn json_body(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Value> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if ct != "application/scim+json" && ct != "application/json" {
            return Err(ScimError::status(
                415,
                format!(
                    "content type \"{ct}\" is not accepted; send application/scim+json or application/json"
                ),
            )
            .into());
        }
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large =
            std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::from(ScimError::payload_too_large(format!(
                "the request body is larger than the limit of {limit} bytes"
            )))
        } else {
            ApiError::from(ScimError::bad_request("the request body could not be read"))
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::from(ScimError::invalid_syntax(format!(
            "the request body is not valid JSON: {} at line {} column {}",
            describe_json_error(&e),
            e.line(),
            e.column()
        )))
    })
}

fn describe_json_error(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "unexpected end of input",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected data",
        Category::Io => "read error",
    }
}

/// The query parameters of a SCIM request, names without regard to case.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        QueryParams(pairs)
    }
    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// An integer parameter; not an integer → 400 naming it.
    pub fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                ApiError::from(ScimError::bad_request(format!(
                    "query parameter {name}: \"{v}\" is not an integer"
                )))
            }),
        }
    }
}

/// An entity tag of a precondition header.
#[derive(Debug, PartialEq, Eq)]
pub enum EntityTag {
    Any,
    Version(u64),
    /// A tag that is not one of ours: matches no resource.
    Foreign,
}

/// Parses an `If-Match` / `If-None-Match` header: `*`, or a list of (weak or strong) tags.
pub fn entity_tags(headers: &HeaderMap, name: header::HeaderName) -> Option<Vec<EntityTag>> {
    let raw = headers.get(name)?.to_str().ok()?;
    Some(
        raw.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                if t == "*" {
                    return EntityTag::Any;
                }
                let t = t.strip_prefix("W/").unwrap_or(t);
                t.trim_matches('"').parse().map(EntityTag::Version).unwrap_or(EntityTag::Foreign)
            })
            .collect(),
    )
}

/// The version an `If-Match` header requires: `Ok(None)` when absent or `*`.
/// A tag that is not one of ours can never match: 412.
pub fn if_match_version(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(tags) = entity_tags(headers, header::IF_MATCH) else { return Ok(None) };
    if tags.contains(&EntityTag::Any) {
        return Ok(None);
    }
    match tags.iter().find_map(|t| if let EntityTag::Version(v) = t { Some(*v) } else { None }) {
        Some(v) if tags.len() == 1 => Ok(Some(v)),
        _ => {
            Err(ScimError::precondition_failed("If-Match does not match the resource's current version")
                .into())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn entity_tags_parse_weak_strong_and_star() {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"3\""));
        assert_eq!(if_match_version(&h).unwrap(), Some(3));
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match_version(&h).unwrap(), None);
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"abc\""));
        assert_eq!(if_match_version(&h).unwrap_err().error.status, 412);
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("W/\"1\", \"2\""));
        assert_eq!(
            entity_tags(&h, header::IF_NONE_MATCH).unwrap(),
            vec![EntityTag::Version(1), EntityTag::Version(2)]
        );
    }
}
