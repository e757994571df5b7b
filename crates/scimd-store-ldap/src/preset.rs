//! Presets: the attribute maps and layouts of common directories, as data
//! (`presets/openldap.json`, `presets/active-directory.json`), and [`domain_map`], which turns
//! untyped rows into a [`DomainMap`] with the kinds the server knows from its schemas.

use scimd_claims::claims::{ID, PASSWORD};
use scimd_store::{AttributeMap, DomainMap, MappedClaim, StoreError, StoreResult, ValueKind};
use serde::Deserialize;

use crate::entry::{CREATED, LAST_MODIFIED, VERSION};

/// The resource kind a preset row maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PresetResource {
    User,
    Group,
}

/// One row: the local claim (`urn:scimd:claims:emails.work` for a typed view) and the
/// attribute that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetRow {
    pub resource: PresetResource,
    pub claim: String,
    pub attribute: String,
}

/// A directory's layout and attribute map. Apply the layout to a configuration with
/// [`crate::LdapConfig::with_preset`] and type the rows with [`domain_map`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Preset {
    pub name: String,
    pub user_object_classes: Vec<String>,
    pub group_object_classes: Vec<String>,
    pub user_rdn_attribute: String,
    pub group_rdn_attribute: String,
    pub member_attribute: String,
    pub empty_group_member: Option<String>,
    pub user_filter: Option<String>,
    pub group_filter: Option<String>,
    pub sequence_attribute: Option<String>,
    pub rows: Vec<PresetRow>,
}

const OPENLDAP: &str = include_str!("../presets/openldap.json");
const ACTIVE_DIRECTORY: &str = include_str!("../presets/active-directory.json");

/// The preset named `name` (`openldap` or `active-directory`, without regard to case).
pub fn preset(name: &str) -> Option<Preset> {
    let text = if name.eq_ignore_ascii_case("openldap") {
        OPENLDAP
    } else if name.eq_ignore_ascii_case("active-directory") {
        ACTIVE_DIRECTORY
    } else {
        return None;
    };
    // The files are ours and tested to parse; a broken one is no preset.
    serde_json::from_str(text).ok()
}

/// The kind, multi-valuedness and case-exactness of a local claim, as the server's schemas say.
pub type ClaimType = (ValueKind, bool, bool);

/// Turns preset (or admin) rows into a [`DomainMap`].
///
/// `types` gives the type of a local claim. A row whose claim it does not know but whose claim
/// without its last `.suffix` it does is a typed view (DESIGN.md, Claim URIs): `emails.work`
/// holds the `value` of the element of `emails` whose type is `work`, typed as `types` says for
/// `<claim>.value` (else for `<claim>`). The claims a directory keeps itself (id, created,
/// lastModified, version) and the password are typed here. A row whose claim is unknown is
/// refused, naming it.
pub fn domain_map(rows: &[PresetRow], types: impl Fn(&str) -> Option<ClaimType>) -> StoreResult<DomainMap> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    for row in rows {
        let entry = typed(row, &types)?;
        match row.resource {
            PresetResource::User => users.push(entry),
            PresetResource::Group => groups.push(entry),
        }
    }
    Ok(DomainMap { users: AttributeMap::new(users), groups: AttributeMap::new(groups) })
}

fn typed(row: &PresetRow, types: &impl Fn(&str) -> Option<ClaimType>) -> StoreResult<MappedClaim> {
    let fixed = match row.claim.as_str() {
        c if c == ID => Some((ValueKind::Reference, false, true)),
        c if c == CREATED || c == LAST_MODIFIED => Some((ValueKind::DateTime, false, false)),
        c if c == VERSION => Some((ValueKind::Integer, false, true)),
        c if c == PASSWORD => Some((ValueKind::String, false, true)),
        _ => None,
    };
    let entry = |claim: &str, view: Option<&str>, (kind, multi_valued, case_exact): ClaimType| MappedClaim {
        claim: claim.to_owned(),
        view_type: view.map(str::to_owned),
        attribute: row.attribute.clone(),
        kind,
        multi_valued,
        case_exact,
    };
    if let Some(t) = fixed.or_else(|| types(&row.claim)) {
        return Ok(entry(&row.claim, None, t));
    }
    if let Some((base, view)) = row.claim.rsplit_once('.')
        && let Some((kind, _, case_exact)) = types(&format!("{base}.value")).or_else(|| types(base))
    {
        return Ok(entry(base, Some(view), (kind, false, case_exact)));
    }
    Err(StoreError::Rejected(format!(
        "the attribute map names claim {} (attribute {}), which no schema defines",
        row.claim, row.attribute
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn types(claim: &str) -> Option<ClaimType> {
        let name = claim.strip_prefix("urn:scimd:claims:")?;
        match name {
            "emails" | "phoneNumbers" => Some((ValueKind::String, true, false)),
            "active" => Some((ValueKind::Boolean, false, false)),
            "emails.value" | "phoneNumbers.value" => Some((ValueKind::String, false, false)),
            n if !n.contains('.') || n.starts_with("name.") => Some((ValueKind::String, false, false)),
            _ => None,
        }
    }

    #[test]
    fn both_presets_load_and_type_with_views() {
        for name in ["openldap", "Active-Directory"] {
            let p = preset(name).unwrap();
            let map = domain_map(&p.rows, types).unwrap();
            let mail = map.users.of_view("urn:scimd:claims:emails", "work").unwrap();
            assert_eq!(mail.attribute, "mail");
            assert!(map.users.of_claim(ID).is_some());
            assert!(map.groups.of_claim("urn:scimd:claims:groupDisplayName").is_some());
            assert_eq!(map.users.of_claim(VERSION).unwrap().kind, ValueKind::Integer);
        }
        assert_eq!(preset("openldap").unwrap().empty_group_member.as_deref(), Some(""));
        assert_eq!(preset("active-directory").unwrap().sequence_attribute.as_deref(), Some("uSNCreated"));
        assert!(preset("novell").is_none());
    }

    #[test]
    fn a_row_whose_claim_no_schema_knows_is_refused_by_name() {
        let rows = [PresetRow {
            resource: PresetResource::User,
            claim: "urn:scimd:claims:nothing.here.too".into(),
            attribute: "x".into(),
        }];
        let e = domain_map(&rows, types).unwrap_err();
        assert!(e.to_string().contains("urn:scimd:claims:nothing.here.too"), "{e}");
    }
}
