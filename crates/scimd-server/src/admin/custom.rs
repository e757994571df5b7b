//! The custom extension's definitions (DESIGN.md, "Schemas that admins shape"): what admins
//! added, kept, installed and changed.
//!
//! - **Kept** in the PRIMARY store's settings under [`SETTING_KEY`], a versioned JSON document
//!   (`{"attributes": [{<RFC 7643 §7 attribute>, "localClaim": "urn:scimd:claims:..."}]}`), so
//!   that the definitions survive a restart. The document does not hold the schema URI: the
//!   attributes belong to whatever `scim2.custom_user_schema_uri` names, and their values, kept
//!   under their local claims, follow a change of URI.
//! - **Installed** into the live [`Schemas`] ([`with_custom`]): the custom schema (served by
//!   `/Schemas`, listed in the User resource type) and its rows in the dialect mapping
//!   ([`CustomAttribute::rows`]). From the next request step on, validation, PATCH paths,
//!   filters and the claim mapping all see the change. With
//!   `scim2.enable_custom_schema_extension = false` nothing is installed: the extension is gone
//!   everywhere, and the stored definitions and values wait, untouched, for it to be turned on.
//! - **Changed** by [`change`]: read the document and its version, apply the change, check the
//!   result by building the schemas it gives, save it on the version read, install it. In this
//!   process, changes run one at a time (a lock), so that the snapshot installed last is the
//!   newest; a save that loses a race with another process sharing the store (version mismatch)
//!   is retried on the new document, and after [`MAX_ATTEMPTS`] lost races the admin gets 409.

use crate::app::{AppState, Schemas};
use crate::config::Scim2Config;
use crate::error::{ApiError, ApiResult};
use scimd_core::custom::{self, check_schema_uri};
use scimd_core::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use scimd_core::{AttrType, AttributeDef, ResourceKind, ScimError, ScimResult};
use scimd_store::StoreError;
use serde_json::{Map, Value, json};

/// The settings key of the custom extension's definitions.
pub const SETTING_KEY: &str = "scim2.custom_schema";

/// How many times a change is tried when other processes keep saving first.
pub const MAX_ATTEMPTS: usize = 5;

/// Admin changes to the custom schema in this process, one at a time.
static CHANGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One custom attribute: its definition and the local claim that holds its values.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomAttribute {
    pub def: AttributeDef,
    pub local_claim: String,
}

impl CustomAttribute {
    /// An admin's definition (RFC 7643 §7 attribute, plus an optional `localClaim`, by default
    /// `urn:scimd:claims:<name>`), checked.
    pub fn parse(value: &Value) -> ScimResult<Self> {
        let Value::Object(fields) = value else {
            return Err(ScimError::invalid_value("the attribute definition must be a JSON object"));
        };
        let mut def_fields = Map::new();
        let mut local_claim = None;
        for (k, v) in fields {
            if k.eq_ignore_ascii_case("localClaim") {
                match v {
                    Value::String(s) => local_claim = Some(s.clone()),
                    Value::Null => {}
                    _ => return Err(ScimError::invalid_value("localClaim: must be a string")),
                }
            } else {
                def_fields.insert(k.clone(), v.clone());
            }
        }
        let def = custom::parse_attribute(&Value::Object(def_fields))?;
        let local_claim =
            local_claim.unwrap_or_else(|| format!("{}:{}", scimd_claims::claims::LOCAL_DIALECT, def.name));
        scimd_claims::DialectMapping::check_local_claim(&local_claim)
            .map_err(|e| ScimError { detail: e.detail.replacen("claim:", "localClaim:", 1), ..e })?;
        Ok(CustomAttribute { def, local_claim })
    }

    /// Its rows in the dialect mapping under the schema `uri`, `(claim URI, local claim)`
    /// (DESIGN.md, Claim URIs): `<uri>:<name>` → the local claim; for a singular complex
    /// attribute one row per sub-attribute, `<uri>:<name>.<sub>` → `<local claim>.<sub>` (as
    /// `name.givenName`), so that stores see each sub-attribute as a claim of its own.
    pub fn rows(&self, uri: &str) -> Vec<(String, String)> {
        let name = &self.def.name;
        if self.def.attr_type == AttrType::Complex && !self.def.multi_valued {
            self.def
                .sub_attributes
                .iter()
                .map(|s| (format!("{uri}:{name}.{}", s.name), format!("{}.{}", self.local_claim, s.name)))
                .collect()
        } else {
            vec![(format!("{uri}:{name}"), self.local_claim.clone())]
        }
    }

    /// The local claims that hold its values.
    pub fn local_claims(&self) -> Vec<String> {
        self.rows("").into_iter().map(|(_, local)| local).collect()
    }

    /// The definition as the admin API shows it: RFC 7643 §7 plus `localClaim`.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::to_value(&self.def).unwrap_or_else(|_| json!({}));
        if let Value::Object(m) = &mut v {
            m.insert("localClaim".into(), Value::String(self.local_claim.clone()));
        }
        v
    }
}

/// Every custom attribute, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomDefinitions {
    pub attributes: Vec<CustomAttribute>,
}

impl CustomDefinitions {
    /// The stored document.
    pub fn to_json(&self) -> Value {
        json!({"attributes": self.attributes.iter().map(CustomAttribute::to_json).collect::<Vec<_>>()})
    }

    /// The stored document, read back (checked as an admin's definitions are).
    pub fn from_json(value: &Value) -> ScimResult<Self> {
        let attributes = match value.get("attributes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                items.iter().map(CustomAttribute::parse).collect::<ScimResult<_>>()?
            }
            Some(_) => return Err(ScimError::invalid_value("attributes: must be an array")),
        };
        Ok(CustomDefinitions { attributes })
    }

    /// The attribute named `name`, without regard to case.
    pub fn get(&self, name: &str) -> Option<&CustomAttribute> {
        self.attributes.iter().find(|a| a.def.name.eq_ignore_ascii_case(name))
    }
}

/// The custom extension's URI when it is turned on.
pub fn custom_uri(config: &Scim2Config) -> Option<&str> {
    config.enable_custom_schema_extension.then_some(config.custom_user_schema_uri.as_str())
}

/// `current` with the custom extension replaced by `defs` (removed when it is turned off):
/// the schema in the registry and the User resource type, and its rows in the dialect mapping.
/// Refused when the definitions do not fit (a name taken, a local claim another attribute maps
/// to): nothing is installed then.
pub fn with_custom(current: &Schemas, config: &Scim2Config, defs: &CustomDefinitions) -> ScimResult<Schemas> {
    let mut registry = current.registry.clone();
    let mut mapping = current.mapping.clone();
    let uri = config.custom_user_schema_uri.as_str();
    registry.remove_extension(uri);
    mapping.remove_schema(uri);
    if config.enable_custom_schema_extension {
        let mut schema = custom::custom_schema(uri, Vec::with_capacity(defs.attributes.len()));
        for a in &defs.attributes {
            custom::check_addition(&schema, &a.def)?;
            schema.attributes.push(a.def.clone());
            for (claim, local) in a.rows(uri) {
                mapping.add(&claim, &local).map_err(|e| ScimError {
                    detail: format!("{}: {}", a.def.name, e.detail.replacen("claim:", "localClaim:", 1)),
                    ..e
                })?;
            }
        }
        registry.add_extension(ResourceKind::User, schema, false)?;
    }
    Ok(Schemas { registry, mapping })
}

/// The stored definitions and their version (`None`: nothing saved yet).
async fn load(state: &AppState) -> ApiResult<(CustomDefinitions, Option<u64>)> {
    match state.settings.load_setting(SETTING_KEY).await {
        Ok(None) => Ok((CustomDefinitions::default(), None)),
        Ok(Some((value, version))) => match CustomDefinitions::from_json(&value) {
            Ok(defs) => Ok((defs, Some(version))),
            Err(e) => Err(ApiError::internal("the stored custom schema", e.detail)),
        },
        Err(e) => Err(ApiError::internal("loading the custom schema", e)),
    }
}

/// At start: checks the configured URI, reads the stored definitions and installs them.
pub async fn install_at_start(state: &AppState) -> Result<(), String> {
    let config = &state.config.scim2;
    if config.enable_custom_schema_extension {
        check_schema_uri(
            &config.custom_user_schema_uri,
            &[USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA],
        )
        .map_err(|e| format!("scim2.custom_user_schema_uri: {}", e.detail))?;
    }
    let defs = match state.settings.load_setting(SETTING_KEY).await {
        Ok(None) => CustomDefinitions::default(),
        Ok(Some((value, _))) => CustomDefinitions::from_json(&value)
            .map_err(|e| format!("the stored custom schema ({SETTING_KEY}) is not valid: {}", e.detail))?,
        Err(e) => return Err(format!("cannot read the custom schema: {e}")),
    };
    let schemas = with_custom(&state.schemas(), config, &defs)
        .map_err(|e| format!("the stored custom schema does not fit: {}", e.detail))?;
    state.set_schemas(schemas);
    Ok(())
}

/// The stored definitions now.
pub async fn current(state: &AppState) -> ApiResult<CustomDefinitions> {
    Ok(load(state).await?.0)
}

/// Applies `edit` to the stored definitions, saves them on the version read and installs
/// them (see the module docs). `edit` sees the definitions as stored now and may refuse; it
/// runs again after a lost race. Returns what the last run of `edit` returned.
pub async fn change<T>(
    state: &AppState,
    mut edit: impl FnMut(&mut CustomDefinitions) -> ApiResult<T>,
) -> ApiResult<T> {
    let _one_at_a_time = CHANGES.lock().await;
    for _ in 0..MAX_ATTEMPTS {
        let (mut defs, version) = load(state).await?;
        let out = edit(&mut defs)?;
        let schemas = with_custom(&state.schemas(), &state.config.scim2, &defs)?;
        match state.settings.save_setting(SETTING_KEY, &defs.to_json(), version).await {
            Ok(_) => {
                state.set_schemas(schemas);
                return Ok(out);
            }
            Err(StoreError::VersionMismatch { .. }) => continue,
            Err(e) => return Err(ApiError::internal("saving the custom schema", e)),
        }
    }
    Err(ScimError::status(
        409,
        format!("the custom schema kept changing under this request ({MAX_ATTEMPTS} attempts); try again"),
    )
    .into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use scimd_claims::DialectMapping;
    use scimd_core::SchemaRegistry;
    use scimd_store::SettingsStore;
    use std::sync::Arc;

    fn builtin() -> Schemas {
        Schemas { registry: SchemaRegistry::builtin().unwrap(), mapping: DialectMapping::builtin().unwrap() }
    }

    fn defs(items: Value) -> CustomDefinitions {
        CustomDefinitions::from_json(&json!({ "attributes": items })).unwrap()
    }

    /// DESIGN.md: the custom extension is served, empty, when turned on; its attributes resolve
    /// and map to their local claims; turned off, it is gone from the registry, the User
    /// resource type and the mapping.
    #[test]
    fn custom_extension_is_installed_and_removed_whole() {
        let config = Scim2Config::default();
        let empty = with_custom(&builtin(), &config, &CustomDefinitions::default()).unwrap();
        assert!(empty.registry.schema("urn:scim:wso2:schema").is_some_and(|s| s.attributes.is_empty()));
        let d = defs(
            json!([{"name": "devices", "multiValued": true}, {"name": "badge", "localClaim": "urn:scimd:claims:badgeNo"}]),
        );
        let on = with_custom(&empty, &config, &d).unwrap();
        let ext = on.registry.extension(ResourceKind::User, "urn:scim:wso2:schema").unwrap();
        assert_eq!(ext.attributes.len(), 2);
        assert_eq!(on.mapping.local_claim("urn:scim:wso2:schema:devices"), Some("urn:scimd:claims:devices"));
        assert_eq!(on.mapping.local_claim("urn:scim:wso2:schema:badge"), Some("urn:scimd:claims:badgeNo"));
        // Installing again replaces rather than adds.
        let again = with_custom(&on, &config, &defs(json!([{"name": "devices"}]))).unwrap();
        assert!(again.mapping.local_claim("urn:scim:wso2:schema:badge").is_none());
        let off_config = Scim2Config { enable_custom_schema_extension: false, ..Scim2Config::default() };
        let off = with_custom(&on, &off_config, &d).unwrap();
        assert!(off.registry.schema("urn:scim:wso2:schema").is_none());
        let rt = off.registry.resource_type(ResourceKind::User).unwrap();
        assert!(rt.schema_extensions.iter().all(|e| e.schema != "urn:scim:wso2:schema"));
        assert!(off.mapping.local_claim("urn:scim:wso2:schema:devices").is_none());
    }

    /// A definition that does not fit is refused, naming the attribute and the field.
    #[test]
    fn definitions_that_do_not_fit_are_refused() {
        let config = Scim2Config::default();
        let e = with_custom(&builtin(), &config, &defs(json!([{"name": "title"}]))).err().unwrap();
        assert!(
            e.detail.contains("title: localClaim: the local claim urn:scimd:claims:title is already mapped"),
            "{}",
            e.detail
        );
        let e = with_custom(
            &builtin(),
            &config,
            &defs(json!([{"name": "a"}, {"name": "A", "localClaim": "urn:scimd:claims:a2"}])),
        )
        .err()
        .unwrap();
        assert!(e.detail.starts_with("name:"), "{}", e.detail);
        let e = CustomAttribute::parse(&json!({"name": "x", "localClaim": "x"})).unwrap_err();
        assert!(e.detail.starts_with("localClaim:"), "{}", e.detail);
    }

    /// DESIGN.md (Claim URIs): a singular complex attribute maps one claim per sub-attribute;
    /// a multi-valued complex one, like a simple one, maps whole.
    #[test]
    fn complex_attributes_map_as_the_claim_uris_say() {
        let config = Scim2Config::default();
        let d = defs(json!([
            {"name": "card", "type": "complex", "subAttributes": [{"name": "serial"}, {"name": "floor", "type": "integer"}]},
            {"name": "badges", "type": "complex", "multiValued": true, "subAttributes": [{"name": "value"}]}
        ]));
        let s = with_custom(&builtin(), &config, &d).unwrap();
        assert_eq!(
            s.mapping.local_claim("urn:scim:wso2:schema:card.serial"),
            Some("urn:scimd:claims:card.serial")
        );
        assert_eq!(
            s.mapping.local_claim("urn:scim:wso2:schema:card.floor"),
            Some("urn:scimd:claims:card.floor")
        );
        assert!(s.mapping.local_claim("urn:scim:wso2:schema:card").is_none());
        assert_eq!(s.mapping.local_claim("urn:scim:wso2:schema:badges"), Some("urn:scimd:claims:badges"));
        assert_eq!(
            d.attributes[0].local_claims(),
            ["urn:scimd:claims:card.serial", "urn:scimd:claims:card.floor"]
        );
        let e = with_custom(
            &builtin(),
            &config,
            &defs(json!([
            {"name": "name", "type": "complex", "subAttributes": [{"name": "givenName"}]}])),
        )
        .err()
        .unwrap();
        assert!(e.detail.contains("urn:scimd:claims:name.givenName is already mapped"), "{}", e.detail);
    }

    /// A settings store whose first save loses a race: another process saves an attribute
    /// `rival` just before it.
    struct Racing {
        inner: Arc<scimd_store_sql::SqliteStore>,
        raced: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl SettingsStore for Racing {
        async fn load_setting(&self, key: &str) -> scimd_store::StoreResult<Option<(Value, u64)>> {
            self.inner.load_setting(key).await
        }
        async fn save_setting(
            &self,
            key: &str,
            value: &Value,
            expected: Option<u64>,
        ) -> scimd_store::StoreResult<u64> {
            if !self.raced.swap(true, std::sync::atomic::Ordering::SeqCst) {
                let rival =
                    json!({"attributes": [{"name": "rival", "localClaim": "urn:scimd:claims:rival"}]});
                self.inner.save_setting(key, &rival, expected).await?;
            }
            self.inner.save_setting(key, value, expected).await
        }
    }

    /// DESIGN.md (Scale): a change that loses a race with another process sharing the store is
    /// made again on the newer document; neither change is lost.
    #[tokio::test]
    async fn a_lost_race_is_retried_on_the_newer_document() {
        let (_dir, store) = crate::app::temp_store().await;
        let settings = Arc::new(Racing { inner: store.clone(), raced: false.into() });
        let credentials = crate::auth::Credentials::with_admin_token("admin", "t");
        let state = AppState::new(crate::Config::default(), store.clone(), settings, credentials).unwrap();
        install_at_start(&state).await.unwrap();
        let mut runs = 0;
        change(&state, |defs| {
            runs += 1;
            defs.attributes.push(CustomAttribute::parse(&json!({"name": "mine"}))?);
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(runs, 2, "the edit ran again on the newer document");
        let names: Vec<String> =
            current(&state).await.unwrap().attributes.into_iter().map(|a| a.def.name).collect();
        assert_eq!(names, ["rival", "mine"]);
        let ext = state.schemas();
        let ext = ext.registry.extension(ResourceKind::User, "urn:scim:wso2:schema").unwrap();
        assert_eq!(ext.attributes.len(), 2, "what is installed is what was saved");
    }

    /// The stored document reads back as written.
    #[test]
    fn document_round_trips() {
        let d = defs(json!([
            {"name": "devices", "multiValued": true, "description": "Devices"},
            {"name": "card", "type": "complex", "subAttributes": [{"name": "serial", "caseExact": true}], "localClaim": "urn:scimd:claims:card"}
        ]));
        assert_eq!(CustomDefinitions::from_json(&d.to_json()).unwrap(), d);
    }
}
