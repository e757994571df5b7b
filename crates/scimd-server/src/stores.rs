//! Opening the store of a secondary domain by its type, and the directory presets.

use crate::domains::{DomainConfig, StoreType, open_sqlite};
use scimd_store::{DomainMap, StoreError, StoreResult, UserStore};
use scimd_store_ldap::{LdapConfig, LdapStore, PresetResource};
use scimd_store_pg::PgStore;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The preset a directory domain uses when it names none.
pub(crate) const DEFAULT_PRESET: &str = "openldap";

/// Opens (connects) the store of a domain with its attribute map.
pub(crate) async fn open(
    config: &DomainConfig,
    data_dir: &Path,
    map: DomainMap,
) -> StoreResult<Arc<dyn UserStore>> {
    match config.store_type {
        StoreType::Sqlite => open_sqlite(config, data_dir).await,
        StoreType::Postgres => {
            let url = config.url.as_deref().unwrap_or_default();
            let pool_size = config.pool_size.unwrap_or(8);
            Ok(Arc::new(PgStore::connect_with(url, pool_size, config.ca_file.as_deref()).await?))
        }
        StoreType::Ldap => {
            let ldap = ldap_config(config).map_err(StoreError::Rejected)?;
            Ok(Arc::new(LdapStore::connect(&config.name, ldap, map).await?))
        }
    }
}

/// The LDAP settings of a domain: the preset's layout (object classes, RDN and member
/// attributes, ...) with the domain's own `ldap` keys over it.
pub(crate) fn ldap_config(config: &DomainConfig) -> Result<LdapConfig, String> {
    let name = config.preset.as_deref().unwrap_or(DEFAULT_PRESET);
    let preset = scimd_store_ldap::preset(name).ok_or_else(|| {
        format!("domain {}: no preset named {name} (openldap, active-directory)", config.name)
    })?;
    let mut merged: Map<String, Value> = match json!({
        "user_object_classes": preset.user_object_classes,
        "group_object_classes": preset.group_object_classes,
        "user_rdn_attribute": preset.user_rdn_attribute,
        "group_rdn_attribute": preset.group_rdn_attribute,
        "member_attribute": preset.member_attribute,
        "empty_group_member": preset.empty_group_member,
        "user_filter": preset.user_filter,
        "group_filter": preset.group_filter,
        "sequence_attribute": preset.sequence_attribute,
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    match &config.ldap {
        Some(Value::Object(own)) => merged.extend(own.clone()),
        _ => return Err(format!("domain {}: `ldap` must be a table of settings", config.name)),
    }
    serde_json::from_value(Value::Object(merged))
        .map_err(|e| format!("domain {}: ldap settings: {e}", config.name))
}

/// The attribute names of a directory preset, local claim to attribute (users' and groups'
/// rows together: a claim both kinds have maps to one attribute).
pub(crate) fn preset(name: &str) -> BTreeMap<String, String> {
    let Some(preset) = scimd_store_ldap::preset(name) else { return BTreeMap::new() };
    let mut out = BTreeMap::new();
    // Users' rows win where a claim has one for each kind.
    for kind in [PresetResource::Group, PresetResource::User] {
        for row in preset.rows.iter().filter(|r| r.resource == kind) {
            out.insert(row.claim.clone(), row.attribute.clone());
        }
    }
    out
}
