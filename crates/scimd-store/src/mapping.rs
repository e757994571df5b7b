//! The attribute map of a directory domain: which store attribute holds each local claim.
//!
//! SQL stores keep every claim losslessly and need no map. Directory stores (LDAP, Active
//! Directory) keep only the claims their map names; a write of any other claim is refused with
//! [`crate::StoreError::Unmapped`] naming it, never dropped. The server builds the map from the
//! claim mappings (defaults, presets, per-domain overrides; see `scimd-claims`) and the schemas,
//! and installs a new one with [`crate::UserStore::set_attribute_map`] when an admin changes it.

use std::collections::BTreeMap;

/// How the values of a claim are typed, so that a directory's strings read back as what the
/// client wrote (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    String,
    Boolean,
    Integer,
    Decimal,
    /// An RFC 3339 instant on the SCIM side.
    DateTime,
    /// A URI or id (`$ref`, `manager.value`).
    Reference,
    /// Base64 on the SCIM side.
    Binary,
}

/// One mapped claim (or one typed view of a claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedClaim {
    /// The local claim, e.g. `urn:scimd:claims:name.givenName` or `urn:scimd:claims:emails`.
    pub claim: String,
    /// For a typed view (`urn:scimd:claims:emails.work`, DESIGN.md Claim URIs): the `type` of
    /// the element of the claim's list that this attribute holds. The attribute holds that
    /// element's `value`; the element reads back as `{"type": <view_type>, "value": ...}`.
    pub view_type: Option<String>,
    /// The store attribute (LDAP attribute description), as the directory spells it.
    pub attribute: String,
    /// The type of the claim's values (of the `value` sub-attribute for a typed view).
    pub kind: ValueKind,
    /// Whether the claim holds a list of values (a multi-valued simple attribute).
    pub multi_valued: bool,
    /// Whether values compare with regard to case.
    pub case_exact: bool,
}

/// The attribute map of one directory domain, for one resource kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeMap {
    entries: Vec<MappedClaim>,
}

impl AttributeMap {
    pub fn new(entries: Vec<MappedClaim>) -> Self {
        AttributeMap { entries }
    }
    pub fn entries(&self) -> &[MappedClaim] {
        &self.entries
    }
    /// The entry that holds `claim` (no view).
    pub fn of_claim(&self, claim: &str) -> Option<&MappedClaim> {
        self.entries.iter().find(|e| e.view_type.is_none() && e.claim == claim)
    }
    /// The entry that holds the element of `claim` whose type is `view_type` (compared without
    /// regard to case).
    pub fn of_view(&self, claim: &str, view_type: &str) -> Option<&MappedClaim> {
        self.entries.iter().find(|e| {
            e.claim == claim && e.view_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(view_type))
        })
    }
    /// The entries that hold `attribute` (compared without regard to case, as LDAP does).
    pub fn of_attribute<'a>(&'a self, attribute: &'a str) -> impl Iterator<Item = &'a MappedClaim> + 'a {
        self.entries.iter().filter(move |e| e.attribute.eq_ignore_ascii_case(attribute))
    }
    /// The claims mapped, by claim (typed views under `<claim>.<type>`).
    pub fn by_claim(&self) -> BTreeMap<String, &MappedClaim> {
        self.entries
            .iter()
            .map(|e| match &e.view_type {
                Some(t) => (format!("{}.{t}", e.claim), e),
                None => (e.claim.clone(), e),
            })
            .collect()
    }
}

/// The attribute maps of one directory domain: one for users, one for groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainMap {
    pub users: AttributeMap,
    pub groups: AttributeMap,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(claim: &str, view: Option<&str>, attribute: &str) -> MappedClaim {
        MappedClaim {
            claim: claim.into(),
            view_type: view.map(Into::into),
            attribute: attribute.into(),
            kind: ValueKind::String,
            multi_valued: false,
            case_exact: false,
        }
    }

    #[test]
    fn finds_entries_by_claim_view_and_attribute() {
        let map = AttributeMap::new(vec![
            entry("urn:scimd:claims:userName", None, "uid"),
            entry("urn:scimd:claims:emails", Some("work"), "mail"),
            entry("urn:scimd:claims:emails", Some("home"), "otherMailbox"),
        ]);
        assert_eq!(map.of_claim("urn:scimd:claims:userName").map(|e| e.attribute.as_str()), Some("uid"));
        assert!(map.of_claim("urn:scimd:claims:emails").is_none());
        assert_eq!(
            map.of_view("urn:scimd:claims:emails", "Work").map(|e| e.attribute.as_str()),
            Some("mail")
        );
        assert_eq!(map.of_attribute("MAIL").count(), 1);
        assert!(map.by_claim().contains_key("urn:scimd:claims:emails.home"));
    }
}
