//! Local claims of one resource.

use serde_json::Value;
use std::collections::BTreeMap;

/// The URI prefix of the local dialect: every local claim is `urn:scimd:claims:<name>`.
pub const LOCAL_DIALECT: &str = "urn:scimd:claims";

/// The local claim that holds a resource's id.
pub const ID: &str = "urn:scimd:claims:id";
/// The local claim that holds a user's userName.
pub const USER_NAME: &str = "urn:scimd:claims:userName";
/// The local claim that holds a resource's externalId.
pub const EXTERNAL_ID: &str = "urn:scimd:claims:externalId";
/// The local claim that holds a displayName (of a group or a user).
pub const DISPLAY_NAME: &str = "urn:scimd:claims:displayName";
/// The local claim that holds a group's displayName.
pub const GROUP_DISPLAY_NAME: &str = "urn:scimd:claims:groupDisplayName";
/// The local claim that holds a user's password, as an argon2id PHC string, never in clear.
pub const PASSWORD: &str = "urn:scimd:claims:password";

/// The claims every store answers equality filters on (by index where it has one).
pub const INDEXED: [&str; 5] = [ID, USER_NAME, EXTERNAL_ID, DISPLAY_NAME, GROUP_DISPLAY_NAME];

/// The local claims of one resource: claim URI to value. A value is simple (string, number,
/// boolean), a list, or complex (an object of sub-attributes), so that a multi-valued complex
/// attribute such as `emails` passes through without loss.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(BTreeMap<String, Value>);

impl Claims {
    pub fn new() -> Self {
        Claims(BTreeMap::new())
    }
    pub fn get(&self, claim: &str) -> Option<&Value> {
        self.0.get(claim)
    }
    /// The claim's value if it is a string.
    pub fn get_str(&self, claim: &str) -> Option<&str> {
        self.0.get(claim).and_then(Value::as_str)
    }
    /// Sets a claim; a `null` value removes it (SCIM treats null as unassigned).
    pub fn insert(&mut self, claim: impl Into<String>, value: Value) {
        if value.is_null() {
            self.0.remove(&claim.into());
        } else {
            self.0.insert(claim.into(), value);
        }
    }
    pub fn remove(&mut self, claim: &str) -> Option<Value> {
        self.0.remove(claim)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, Value)> for Claims {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        let mut c = Claims::new();
        for (k, v) in iter {
            c.insert(k, v);
        }
        c
    }
}

impl IntoIterator for Claims {
    type Item = (String, Value);
    type IntoIter = std::collections::btree_map::IntoIter<String, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
