//! Case-insensitive names: attribute names and schema URIs (RFC 7643 §2.1: attribute names and
//! schema URIs are case-insensitive).

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};

/// An attribute name or schema URI compared without regard to ASCII case. Keeps the spelling it
/// was made with (the schema's spelling, when made from a definition).
#[derive(Clone, Debug, Eq)]
pub struct CiName(String);

impl CiName {
    pub fn new(s: impl Into<String>) -> Self {
        CiName(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The key used in maps: the lower-cased spelling.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl PartialEq for CiName {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl PartialEq<str> for CiName {
    fn eq(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl Hash for CiName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.0.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for CiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for CiName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Whether two names are equal without regard to ASCII case.
pub fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_case() {
        assert_eq!(CiName::new("userName"), CiName::new("USERNAME"));
        assert!(CiName::new("userName") == *"username");
        assert_ne!(CiName::new("userName"), CiName::new("user"));
    }
}
