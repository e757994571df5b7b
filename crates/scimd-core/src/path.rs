//! Attribute paths (RFC 7644 §3.10): `[schemaURI ":"] attrName ["." subAttr]`.
//!
//! ```text
//! ATTRNAME  = ALPHA *(nameChar)          nameChar = "-" / "_" / DIGIT / ALPHA / "$"
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! subAttr   = "." ATTRNAME
//! ```
//!
//! The trap: schema URIs contain `:` and `.` (`urn:ietf:params:scim:schemas:core:2.0:User`).
//! The URI prefix ends at the last `:`; the attribute name follows it. Parsing is syntactic; the
//! [`crate::registry::SchemaRegistry`] binds a path to its definition (`resolve`), and also
//! knows that a bare schema URI (`urn:...:enterprise:2.0:User`) names a whole extension.

use crate::error::{ScimError, ScimResult};
use std::fmt;

/// A parsed attribute path. Names keep the client's spelling until resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URI prefix, if the path had one.
    pub schema: Option<String>,
    /// The attribute name.
    pub attr: String,
    /// The sub-attribute name, if any.
    pub sub: Option<String>,
}

/// Whether `c` may appear in an attribute name (RFC 7643 §2.1 `nameChar`).
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$'
}

fn check_name(name: &str, whole: &str) -> ScimResult<()> {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        _ => return Err(ScimError::invalid_path(format!("\"{whole}\" is not a valid attribute path"))),
    }
    if chars.all(is_name_char) {
        Ok(())
    } else {
        Err(ScimError::invalid_path(format!("\"{whole}\" is not a valid attribute path")))
    }
}

impl AttrPath {
    /// A path with no schema prefix and no sub-attribute.
    pub fn simple(attr: impl Into<String>) -> Self {
        AttrPath { schema: None, attr: attr.into(), sub: None }
    }

    /// Parses `[URI:]attr[.sub]`. Errors are `invalidPath`; the filter parser re-labels them.
    pub fn parse(text: &str) -> ScimResult<Self> {
        let text = text.trim();
        let (schema, rest) = match text.rfind(':') {
            Some(i) => (Some(text[..i].to_string()), &text[i + 1..]),
            None => (None, text),
        };
        if schema.as_ref().is_some_and(|s| s.is_empty()) {
            return Err(ScimError::invalid_path(format!("\"{text}\" is not a valid attribute path")));
        }
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        check_name(attr, text)?;
        if let Some(s) = sub {
            check_name(s, text)?;
        }
        Ok(AttrPath { schema, attr: attr.to_string(), sub: sub.map(str::to_string) })
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.schema {
            write!(f, "{s}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 7644 §3.10: a fully qualified path keeps the URI (with its dots) as the prefix.
    #[test]
    fn path_with_schema_uri_splits_at_last_colon() {
        let p = AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();
        assert_eq!(p.schema.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
        assert_eq!(p.attr, "name");
        assert_eq!(p.sub.as_deref(), Some("givenName"));
        assert_eq!(p.to_string(), "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName");
    }

    #[test]
    fn path_without_prefix() {
        let p = AttrPath::parse("emails.value").unwrap();
        assert_eq!(p, AttrPath { schema: None, attr: "emails".into(), sub: Some("value".into()) });
    }

    #[test]
    fn path_rejects_bad_names() {
        assert!(AttrPath::parse("1abc").is_err());
        assert!(AttrPath::parse("a b").is_err());
        assert!(AttrPath::parse("").is_err());
        assert!(AttrPath::parse(":x").is_err());
    }
}
