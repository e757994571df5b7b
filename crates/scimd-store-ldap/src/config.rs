//! [`LdapConfig`]: where a directory domain lives and how its entries are laid out, as the
//! server reads it from its TOML configuration.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The configuration of one LDAP (or Active Directory) domain.
///
/// ```toml
/// url = "ldaps://ldap.example.com"
/// bind_dn = "cn=scimd,dc=example,dc=com"
/// bind_secret = "..."
/// user_base = "ou=people,dc=example,dc=com"
/// group_base = "ou=groups,dc=example,dc=com"
/// ```
///
/// The other keys have the OpenLDAP defaults (`inetOrgPerson` users named by `uid`,
/// `groupOfNames` groups named by `cn`, members in `member`); a [`crate::Preset`] carries the
/// values for Active Directory.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// The DN the store binds as.
    pub bind_dn: String,
    /// Its password (never printed by `Debug`).
    pub bind_secret: String,
    /// Where users are created and searched (subtree).
    pub user_base: String,
    /// Where groups are created and searched (subtree).
    pub group_base: String,
    /// The object classes of a new user; the first one also selects users in searches unless
    /// `user_filter` is set.
    #[serde(default = "default_user_classes")]
    pub user_object_classes: Vec<String>,
    /// The object classes of a new group; the first one also selects groups.
    #[serde(default = "default_group_classes")]
    pub group_object_classes: Vec<String>,
    /// The attribute of a user's RDN (`uid`, or `cn` in Active Directory).
    #[serde(default = "default_user_rdn")]
    pub user_rdn_attribute: String,
    /// The attribute of a group's RDN (`cn`).
    #[serde(default = "default_group_rdn")]
    pub group_rdn_attribute: String,
    /// The attribute that holds a group's member DNs: `member` or `uniqueMember`.
    #[serde(default = "default_member")]
    pub member_attribute: String,
    /// For group classes that require a member (`groupOfNames`): the DN kept in the member
    /// attribute of a group without members, never read back as a member (the empty DN `""`
    /// works with OpenLDAP). `None`: groups may have no member value (Active Directory).
    #[serde(default)]
    pub empty_group_member: Option<String>,
    /// The LDAP filter that selects users (default: `(objectClass=<first user class>)`).
    #[serde(default)]
    pub user_filter: Option<String>,
    /// The LDAP filter that selects groups (default: `(objectClass=<first group class>)`).
    #[serde(default)]
    pub group_filter: Option<String>,
    /// The attribute in which the directory keeps the groups an entry is a direct member of
    /// (OpenLDAP's memberof overlay, Active Directory): read with the entries of a query so
    /// that the groups of an entry in none cost no search. Trusted only once checked (see the
    /// crate's Limits); empty: never read, the groups are always searched.
    #[serde(default = "default_member_of")]
    pub member_of_attribute: String,
    /// An integer attribute that gives entries their creation order (`uSNCreated` in Active
    /// Directory). `None`: the time in the entry's version-1 `entryUUID` (OpenLDAP).
    #[serde(default)]
    pub sequence_attribute: Option<String>,
    /// Connections kept open to the directory.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Connections for searches, opened as searches need them: each carries one search at a
    /// time, so this many searches run at once.
    #[serde(default = "default_read_connections")]
    pub read_connections: usize,
    /// How long one LDAP operation (or one reply of a search) may take, in milliseconds; also
    /// the connect timeout.
    #[serde(default = "default_timeout_ms")]
    pub operation_timeout_ms: u64,
    /// The most candidates a query examines in memory (filters and orders the directory cannot
    /// answer exactly); past it the query fails with `StoreError::TooMany`.
    #[serde(default = "default_max_candidates")]
    pub max_candidates: u64,
    /// The page size of the paged-results searches (RFC 2696); Active Directory allows 1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Upgrade an `ldap://` connection with StartTLS (RFC 4513 §3).
    #[serde(default)]
    pub start_tls: bool,
    /// A PEM file of the CA certificates to trust for TLS; default: the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn default_user_classes() -> Vec<String> {
    vec!["inetOrgPerson".to_owned()]
}
fn default_group_classes() -> Vec<String> {
    vec!["groupOfNames".to_owned()]
}
fn default_user_rdn() -> String {
    "uid".to_owned()
}
fn default_group_rdn() -> String {
    "cn".to_owned()
}
fn default_member() -> String {
    "member".to_owned()
}
fn default_member_of() -> String {
    "memberOf".to_owned()
}
fn default_pool_size() -> usize {
    4
}
fn default_read_connections() -> usize {
    16
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_max_candidates() -> u64 {
    10_000
}
fn default_page_size() -> u32 {
    500
}

impl LdapConfig {
    /// A configuration with the OpenLDAP defaults.
    pub fn new(
        url: impl Into<String>,
        bind_dn: impl Into<String>,
        bind_secret: impl Into<String>,
        user_base: impl Into<String>,
        group_base: impl Into<String>,
    ) -> LdapConfig {
        LdapConfig {
            url: url.into(),
            bind_dn: bind_dn.into(),
            bind_secret: bind_secret.into(),
            user_base: user_base.into(),
            group_base: group_base.into(),
            user_object_classes: default_user_classes(),
            group_object_classes: default_group_classes(),
            user_rdn_attribute: default_user_rdn(),
            group_rdn_attribute: default_group_rdn(),
            member_attribute: default_member(),
            member_of_attribute: default_member_of(),
            empty_group_member: None,
            user_filter: None,
            group_filter: None,
            sequence_attribute: None,
            pool_size: default_pool_size(),
            read_connections: default_read_connections(),
            operation_timeout_ms: default_timeout_ms(),
            max_candidates: default_max_candidates(),
            page_size: default_page_size(),
            start_tls: false,
            ca_file: None,
        }
    }

    /// The layout defaults of a preset (object classes, RDN and member attributes, filters,
    /// the empty-group member, the sequence attribute) over this configuration.
    pub fn with_preset(mut self, preset: &crate::Preset) -> LdapConfig {
        self.user_object_classes = preset.user_object_classes.clone();
        self.group_object_classes = preset.group_object_classes.clone();
        self.user_rdn_attribute = preset.user_rdn_attribute.clone();
        self.group_rdn_attribute = preset.group_rdn_attribute.clone();
        self.member_attribute = preset.member_attribute.clone();
        self.empty_group_member = preset.empty_group_member.clone();
        self.user_filter = preset.user_filter.clone();
        self.group_filter = preset.group_filter.clone();
        self.sequence_attribute = preset.sequence_attribute.clone();
        self
    }

    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_millis(self.operation_timeout_ms.max(1))
    }
}

impl std::fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapConfig")
            .field("url", &self.url)
            .field("bind_dn", &self.bind_dn)
            .field("bind_secret", &"<redacted>")
            .field("user_base", &self.user_base)
            .field("group_base", &self.group_base)
            .field("user_object_classes", &self.user_object_classes)
            .field("group_object_classes", &self.group_object_classes)
            .field("member_attribute", &self.member_attribute)
            .field("pool_size", &self.pool_size)
            .field("read_connections", &self.read_connections)
            .field("start_tls", &self.start_tls)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn reads_from_toml_with_defaults_and_hides_the_secret() {
        let c: LdapConfig = toml::from_str(
            r#"
            url = "ldap://127.0.0.1:389"
            bind_dn = "cn=admin,dc=x"
            bind_secret = "s3cret"
            user_base = "ou=people,dc=x"
            group_base = "ou=groups,dc=x"
            member_attribute = "uniqueMember"
            start_tls = true
            "#,
        )
        .unwrap();
        assert_eq!(c.user_object_classes, ["inetOrgPerson"]);
        assert_eq!(c.member_attribute, "uniqueMember");
        assert!(c.start_tls);
        assert_eq!(c.max_candidates, 10_000);
        assert_eq!(c.member_of_attribute, "memberOf");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(toml::from_str::<LdapConfig>("url = \"x\"\nfoo = 1").is_err());
    }
}
