//! [`LdapStore`]: connecting, the attribute map in force, and the [`UserStore`] operations,
//! which live in `search` (reads), `members`, `query` and `write`.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use scimd_store::{
    DomainMap, MemberChange, Membership, NewResource, Page, Replacement, ResourceKind, StoreError,
    StoreQuery, StoreResult, StoredResource, UserStore,
};

use crate::config::LdapConfig;
use crate::entry::Layout;
use crate::member_of::MemberOf;
use crate::pool::Pool;
use crate::schema::DirSchema;
use crate::wire;

/// The LDAP controls the store uses when the directory supports them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Controls {
    /// RFC 4528 assertion: conditional writes on the version.
    pub(crate) assertion: bool,
    /// RFC 4527 post-read: a write returns the entry it left.
    pub(crate) post_read: bool,
    /// RFC 2696 paged results.
    pub(crate) paged: bool,
}

pub(crate) const ASSERTION_OID: &str = "1.3.6.1.1.12";
pub(crate) const POST_READ_OID: &str = "1.3.6.1.1.13.2";
pub(crate) const PAGED_OID: &str = "1.2.840.113556.1.4.319";

/// The layouts of both kinds under one attribute map.
#[derive(Debug)]
pub(crate) struct Layouts {
    pub(crate) users: Layout,
    pub(crate) groups: Layout,
}

impl Layouts {
    pub(crate) fn new(
        domain: &str,
        map: &DomainMap,
        config: &LdapConfig,
        schema: &DirSchema,
    ) -> StoreResult<Layouts> {
        Ok(Layouts {
            users: Layout::new(domain, ResourceKind::User, &map.users, config, schema)?,
            groups: Layout::new(domain, ResourceKind::Group, &map.groups, config, schema)?,
        })
    }

    pub(crate) fn of(&self, kind: ResourceKind) -> &Layout {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }
}

/// A user store over an LDAP directory (OpenLDAP, Active Directory). See the crate docs.
pub struct LdapStore {
    pub(crate) domain: String,
    pub(crate) config: Arc<LdapConfig>,
    /// ldap3's connections, for writes.
    pub(crate) pool: Pool,
    /// The connections of searches.
    pub(crate) readers: wire::ReadPool,
    pub(crate) schema: DirSchema,
    pub(crate) controls: Controls,
    layouts: RwLock<Arc<Layouts>>,
    /// Searches sent ([`LdapStore::searches_sent`]).
    pub(crate) searches: AtomicU64,
    pub(crate) member_of: MemberOf,
    /// Lookups by userName waiting to be searched together (`lookups.rs`).
    pub(crate) lookups: crate::lookups::Lookups,
}

impl std::fmt::Debug for LdapStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapStore")
            .field("domain", &self.domain)
            .field("url", &self.config.url)
            .finish_non_exhaustive()
    }
}

impl LdapStore {
    /// Connects to the directory of domain `domain_name` and checks the attribute map: the
    /// mandatory claims (id, the kind's name, created, lastModified, version) must be mapped,
    /// and every mapped attribute must be in the directory's schema. A directory that cannot be
    /// reached, or refuses the bind, is [`StoreError::Unavailable`] naming the URL.
    pub async fn connect(domain_name: &str, config: LdapConfig, map: DomainMap) -> StoreResult<LdapStore> {
        if config.page_size == 0 {
            return Err(StoreError::Rejected(format!("domain {domain_name}: page_size must be at least 1")));
        }
        let config = Arc::new(config);
        let address = wire::Address::parse(&config.url).map_err(|e| crate::error::wire(&config.url, e))?;
        let start_tls = config.start_tls && !address.tls;
        let tls = crate::pool::tls_config(&config, address.tls || start_tls)?;
        let readers = wire::ReadPool::new(
            wire::Settings {
                address,
                start_tls,
                tls: tls.clone(),
                bind_dn: config.bind_dn.clone(),
                bind_secret: config.bind_secret.clone(),
                timeout: config.timeout(),
            },
            config.read_connections,
        );
        let pool = Pool::open(Arc::clone(&config), tls, start_tls).await?;
        let mut store = LdapStore {
            domain: domain_name.to_owned(),
            config: Arc::clone(&config),
            pool,
            readers,
            schema: DirSchema::default(),
            controls: Controls::default(),
            layouts: RwLock::new(Arc::new(Layouts::new(domain_name, &map, &config, &DirSchema::default())?)),
            searches: AtomicU64::new(0),
            member_of: MemberOf::new("", false),
            lookups: crate::lookups::Lookups::default(),
        };
        let (schema, controls) = store.read_root().await?;
        let layouts = Layouts::new(domain_name, &map, &config, &schema)?;
        store.schema = schema;
        store.controls = controls;
        store.layouts = RwLock::new(Arc::new(layouts));
        let member_of = &store.config.member_of_attribute;
        let known = !store.schema.is_known() || store.schema.get(member_of).is_some();
        store.member_of = MemberOf::new(member_of, known);
        Ok(store)
    }

    /// The domain's name.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The layouts in force for this operation.
    pub(crate) fn layouts(&self) -> Arc<Layouts> {
        match self.layouts.read() {
            Ok(l) => Arc::clone(&l),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The root DSE's supported controls and the subschema's attribute types (RFC 4512 §5.1).
    async fn read_root(&self) -> StoreResult<(DirSchema, Controls)> {
        let root = self
            .search_base("", "(objectClass=*)", &["subschemaSubentry", "supportedControl"])
            .await?
            .unwrap_or_default();
        let supported: Vec<String> =
            root.values("supportedControl").map(|b| String::from_utf8_lossy(b).into_owned()).collect();
        let has = |oid: &str| supported.iter().any(|s| s == oid);
        let controls =
            Controls { assertion: has(ASSERTION_OID), post_read: has(POST_READ_OID), paged: has(PAGED_OID) };
        let schema = match root.text("subschemaSubentry") {
            Some(dn) => match self.search_base(&dn, "(objectClass=subschema)", &["attributeTypes"]).await {
                Ok(Some(entry)) => {
                    let texts: Vec<String> = entry
                        .values("attributeTypes")
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .collect();
                    DirSchema::parse(texts.iter().map(String::as_str))
                }
                Ok(None) => DirSchema::default(),
                Err(e) => {
                    tracing::warn!(domain = %self.domain, error = %e, "the directory's schema is unreadable; no filter is pushed down exactly");
                    DirSchema::default()
                }
            },
            None => DirSchema::default(),
        };
        Ok((schema, controls))
    }
}

#[async_trait]
impl UserStore for LdapStore {
    async fn create(&self, new: NewResource) -> StoreResult<StoredResource> {
        let adds_members = !new.members.is_empty();
        let created = self.create_entry(new).await;
        if adds_members {
            self.member_of.members_written();
        }
        created
    }

    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<StoredResource>> {
        self.get_resource(kind, id, with_members).await
    }

    async fn replace(&self, replacement: Replacement) -> StoreResult<StoredResource> {
        let adds_members = replacement.members.as_ref().is_some_and(|m| !m.is_empty());
        let replaced = self.replace_entry(replacement).await;
        // A rename changes the DN a query noted.
        self.member_of.forget();
        if adds_members {
            self.member_of.members_written();
        }
        replaced
    }

    async fn change_members(&self, change: MemberChange) -> StoreResult<StoredResource> {
        let changed = self.change_group_members(change).await;
        self.member_of.members_written();
        changed
    }

    async fn delete(&self, kind: ResourceKind, id: &str, expected_version: Option<u64>) -> StoreResult<()> {
        let deleted = self.delete_entry(kind, id, expected_version).await;
        self.member_of.forget();
        deleted
    }

    async fn query(&self, query: &StoreQuery) -> StoreResult<Page> {
        self.run_query(query).await
    }

    async fn memberships(&self, id: &str) -> StoreResult<Vec<Membership>> {
        self.memberships_of_id(id).await
    }

    async fn memberships_of(&self, ids: &[String]) -> StoreResult<Vec<Vec<Membership>>> {
        use futures_util::StreamExt as _;
        // One resource (a lookup, a GET): no stream to build for it.
        if let [id] = ids {
            return Ok(vec![self.memberships_of_id(id).await?]);
        }
        let lookups: Vec<_> = ids.iter().map(|id| self.memberships_of_id(id)).collect();
        futures_util::stream::iter(lookups).buffered(16).collect::<Vec<_>>().await.into_iter().collect()
    }

    async fn get_with_memberships(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<(StoredResource, Vec<Membership>)>> {
        self.get_resource_with_memberships(kind, id).await
    }

    fn keeps_every_claim(&self) -> bool {
        false
    }

    fn set_attribute_map(&self, map: DomainMap) -> StoreResult<()> {
        let layouts = Arc::new(Layouts::new(&self.domain, &map, &self.config, &self.schema)?);
        match self.layouts.write() {
            Ok(mut l) => *l = layouts,
            Err(poisoned) => *poisoned.into_inner() = layouts,
        }
        Ok(())
    }
}
