//! The domain router: PRIMARY and the secondary domains behind one [`UserStore`].

use crate::merge::{bound_before, compare_positions, encode, threshold};
use crate::names::{self, name_claim};
use async_trait::async_trait;
use scimd_claims::filter::{ClaimFilter, ClaimPath};
use scimd_core::ResourceKind;
use scimd_core::filter::{CompValue, CompareOp};
use scimd_store::{
    Before, Keyset, Member, MemberChange, Membership, NewResource, Page, Replacement, SortValue, StoreError,
    StoreQuery, StoreResult, StoredResource, UserStore,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// The name of the domain every unqualified name goes to.
pub const PRIMARY: &str = "PRIMARY";

/// The local claim the router sets on users of a read-only domain (the Enterprise extension's
/// `isReadOnlyUser`).
pub const IS_READ_ONLY_USER: &str = "urn:scimd:claims:isReadOnlyUser";

/// A secondary domain.
#[derive(Clone)]
pub struct Domain {
    /// Its name, the prefix of the names it keeps (`LDAP` for `LDAP/kim`).
    pub name: String,
    pub store: Arc<dyn UserStore>,
    /// Writes are refused; users read back with `isReadOnlyUser` true.
    pub read_only: bool,
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain").field("name", &self.name).field("read_only", &self.read_only).finish()
    }
}

/// The domains in force: PRIMARY (index 0) and the secondaries (index 1..), in order.
struct Domains {
    primary: Arc<dyn UserStore>,
    secondaries: Vec<Domain>,
}

impl Domains {
    fn count(&self) -> usize {
        1 + self.secondaries.len()
    }
    fn store(&self, i: usize) -> &Arc<dyn UserStore> {
        match i {
            0 => &self.primary,
            _ => &self.secondaries[i - 1].store,
        }
    }
    fn name(&self, i: usize) -> &str {
        match i {
            0 => PRIMARY,
            _ => &self.secondaries[i - 1].name,
        }
    }
    fn read_only(&self, i: usize) -> bool {
        i > 0 && self.secondaries[i - 1].read_only
    }
    /// The prefix of the names of domain `i` (`LDAP/`), none for PRIMARY.
    fn prefix(&self, i: usize) -> Option<String> {
        (i > 0).then(|| format!("{}/", self.secondaries[i - 1].name))
    }
    fn index_of(&self, name: &str) -> Option<usize> {
        if name.eq_ignore_ascii_case(PRIMARY) {
            return Some(0);
        }
        self.secondaries.iter().position(|d| d.name.eq_ignore_ascii_case(name)).map(|i| i + 1)
    }
    /// The domain a name goes to and the name as that domain keeps it.
    fn route<'n>(&self, name: &'n str) -> (usize, &'n str) {
        let names: Vec<&str> = self.secondaries.iter().map(|d| d.name.as_str()).collect();
        match names::split(name, &names) {
            Some((i, rest)) => (i + 1, rest),
            None => (0, name),
        }
    }
    /// `e` naming domain `i`, where there is more than one domain to tell apart.
    fn wrap(&self, i: usize, e: StoreError) -> StoreError {
        if self.secondaries.is_empty()
            || matches!(e, StoreError::InDomain { .. } | StoreError::ReadOnly { .. })
        {
            return e;
        }
        StoreError::InDomain { domain: self.name(i).to_owned(), error: Box::new(e) }
    }
    fn check_writable(&self, i: usize) -> StoreResult<()> {
        if self.read_only(i) {
            return Err(StoreError::ReadOnly { domain: self.name(i).to_owned() });
        }
        Ok(())
    }
    /// A resource of domain `i` as SCIM sees it: its name qualified, `isReadOnlyUser` set.
    fn outbound(&self, i: usize, mut r: StoredResource) -> StoredResource {
        if let Some(prefix) = self.prefix(i) {
            let claim = name_claim(r.kind);
            if let Some(name) = r.claims.get_str(claim) {
                let qualified = format!("{prefix}{name}");
                r.claims.insert(claim, Value::String(qualified));
            }
            if self.read_only(i) && r.kind == ResourceKind::User {
                r.claims.insert(IS_READ_ONLY_USER, Value::Bool(true));
            }
        }
        r
    }
    fn outbound_memberships(&self, i: usize, groups: Vec<Membership>) -> Vec<Membership> {
        match self.prefix(i) {
            None => groups,
            Some(prefix) => groups
                .into_iter()
                .map(|mut m| {
                    m.display = m.display.map(|d| format!("{prefix}{d}"));
                    m
                })
                .collect(),
        }
    }
    /// The claims a resource of domain `i` is written with: its name unqualified.
    fn inbound(&self, i: usize, kind: ResourceKind, claims: &mut scimd_store::Claims) -> StoreResult<()> {
        let claim = name_claim(kind);
        let Some(name) = claims.get_str(claim) else { return Ok(()) };
        let (target, stored) = self.route(name);
        if target != i {
            return Err(StoreError::Rejected(format!(
                "{}: \"{name}\" names the user store domain {}, but the resource is kept in {}; \
                 a resource cannot move between domains",
                if kind == ResourceKind::User { "userName" } else { "displayName" },
                self.name(target),
                self.name(i)
            )));
        }
        if i > 0 {
            let stored = stored.to_owned();
            claims.insert(claim, Value::String(stored));
        }
        Ok(())
    }
}

/// Where the router last found an id of a secondary domain: saves probing the domains in turn.
/// PRIMARY's ids are not noted: PRIMARY is asked first when no home is known, and most ids are
/// its. Bounded; forgotten whole when full or when the domains change.
struct Homes {
    map: Mutex<HashMap<String, String>>,
}

const HOMES_LIMIT: usize = 100_000;

impl Homes {
    fn get(&self, id: &str) -> Option<String> {
        self.map.lock().ok()?.get(id).cloned()
    }
    fn put(&self, id: &str, domain: &str) {
        if domain.eq_ignore_ascii_case(PRIMARY) {
            return;
        }
        if let Ok(mut map) = self.map.lock() {
            // Most reads are of resources read before: nothing to copy for them.
            if map.get(id).is_some_and(|known| known == domain) {
                return;
            }
            if map.len() >= HOMES_LIMIT {
                map.clear();
            }
            map.insert(id.to_owned(), domain.to_owned());
        }
    }
    fn forget(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }
    fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}

/// Which domains have groups with members of other domains, as last asked (a store is asked
/// again after [`FOREIGN_TTL`]; a write of such a member through this router marks its domain
/// at once). Saves asking every domain for the groups of every resource read.
struct Foreign {
    known: Mutex<HashMap<String, (bool, std::time::Instant)>>,
}

/// How long an answer of [`UserStore::holds_members_of_other_domains`] is trusted: another node
/// may add such a member; its groups show here within this time.
const FOREIGN_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// PRIMARY and the secondary domains behind one [`UserStore`] (see the crate docs).
pub struct Router {
    live: RwLock<Arc<Domains>>,
    homes: Homes,
    foreign: Foreign,
}

impl Router {
    /// A router with PRIMARY alone: every call goes straight to it.
    pub fn new(primary: Arc<dyn UserStore>) -> Router {
        Router {
            live: RwLock::new(Arc::new(Domains { primary, secondaries: Vec::new() })),
            homes: Homes { map: Mutex::new(HashMap::new()) },
            foreign: Foreign { known: Mutex::new(HashMap::new()) },
        }
    }

    /// Whether domain `j` may have groups with members of other domains.
    async fn holds_foreign(&self, d: &Domains, j: usize) -> StoreResult<bool> {
        let store = d.store(j);
        if !store.keeps_every_claim() {
            return Ok(false);
        }
        let name = d.name(j);
        if let Ok(known) = self.foreign.known.lock()
            && let Some((holds, at)) = known.get(name)
            && (*holds || at.elapsed() < FOREIGN_TTL)
        {
            return Ok(*holds);
        }
        let holds = store.holds_members_of_other_domains().await.map_err(|e| d.wrap(j, e))?;
        if let Ok(mut known) = self.foreign.known.lock() {
            known.insert(name.to_owned(), (holds, std::time::Instant::now()));
        }
        Ok(holds)
    }

    fn mark_foreign(&self, name: &str) {
        if let Ok(mut known) = self.foreign.known.lock() {
            known.insert(name.to_owned(), (true, std::time::Instant::now()));
        }
    }

    /// Puts a new set of secondary domains in force, from the next call on. Names must be
    /// unique, without '/', and not PRIMARY (the caller validates them).
    pub fn set_secondaries(&self, secondaries: Vec<Domain>) {
        let next = {
            let now = self.domains();
            Arc::new(Domains { primary: now.primary.clone(), secondaries })
        };
        match self.live.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        self.homes.clear();
    }

    /// The secondary domains in force.
    pub fn secondaries(&self) -> Vec<Domain> {
        self.domains().secondaries.clone()
    }

    fn domains(&self) -> Arc<Domains> {
        match self.live.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Finds resource `id` of `kind`: in the domain it was last seen in, else PRIMARY, then each
    /// secondary. A domain that fails is skipped; if the id is found nowhere and one failed,
    /// that failure is the answer (the resource may be there).
    async fn find(
        &self,
        d: &Domains,
        kind: ResourceKind,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<(usize, StoredResource)>> {
        let hint = self.homes.get(id).and_then(|name| d.index_of(&name));
        let order = hint.into_iter().chain((0..d.count()).filter(|i| Some(*i) != hint));
        let mut failure = None;
        for i in order {
            match d.store(i).get(kind, id, with_members).await {
                Ok(Some(r)) => {
                    self.homes.put(id, d.name(i));
                    return Ok(Some((i, r)));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(domain = d.name(i), "looking up {id}: {e}");
                    failure.get_or_insert(d.wrap(i, e));
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    /// The domain of resource `id` of `kind`, or NotFound.
    async fn home(&self, d: &Domains, kind: ResourceKind, id: &str) -> StoreResult<usize> {
        match self.find(d, kind, id, false).await? {
            Some((i, _)) => Ok(i),
            None => Err(StoreError::NotFound { kind, id: id.to_owned() }),
        }
    }

    /// Runs a write of domain `i` that names members; a member the domain does not know is
    /// looked up in the other domains and, where found, passed as a member of that domain.
    async fn with_members<T, F, Fut>(
        &self,
        d: &Domains,
        i: usize,
        mut members: Vec<Member>,
        op: F,
    ) -> StoreResult<T>
    where
        F: Fn(Vec<Member>) -> Fut,
        Fut: std::future::Future<Output = StoreResult<T>>,
    {
        loop {
            let e = match op(members.clone()).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let StoreError::UnknownMember { id, expected } = &e else { return Err(d.wrap(i, e)) };
            let kinds = match expected {
                Some(k) => vec![*k],
                None => vec![ResourceKind::User, ResourceKind::Group],
            };
            let mut found = None;
            'domains: for j in (0..d.count()).filter(|j| *j != i) {
                for kind in &kinds {
                    match d.store(j).get(*kind, id, false).await {
                        Ok(Some(_)) => {
                            found = Some((j, *kind));
                            break 'domains;
                        }
                        Ok(None) => {}
                        Err(err) => return Err(d.wrap(j, err)),
                    }
                }
            }
            let Some((j, kind)) = found else { return Err(d.wrap(i, e)) };
            self.mark_foreign(d.name(i));
            let mut marked = false;
            for m in members.iter_mut().filter(|m| m.id == *id && m.domain.is_none()) {
                m.domain = Some(d.name(j).to_owned());
                m.kind = Some(kind);
                marked = true;
            }
            if !marked {
                return Err(d.wrap(i, e));
            }
        }
    }

    /// A query over the domains its filter can match in, merged. With `with_memberships`, when
    /// only one domain can match, that domain's page comes with its own groups of each
    /// resource (one store call), returned with the domain's index.
    async fn query_in(
        &self,
        d: &Domains,
        q: &StoreQuery,
        with_memberships: bool,
    ) -> StoreResult<(Page, Option<(usize, Vec<Vec<Membership>>)>)> {
        let candidates: Vec<usize> = match pinned(&|name| d.route(name).0, q.kind, &q.filter) {
            Some(i) => vec![i],
            None => (0..d.count()).collect(),
        };
        // Each domain with the filter as it reads there; a domain where no name can match
        // (`userName eq "kim"` in `LDAP`) is not asked.
        let mut asked = Vec::with_capacity(candidates.len());
        for i in candidates {
            let prefix = d.prefix(i);
            let filter = match &prefix {
                Some(p) => names::simplify(names::for_domain(&q.filter, q.kind, p)),
                None => q.filter.clone(),
            };
            if !names::is_never(&filter) {
                asked.push((i, prefix, filter));
            }
        }
        q.check_keyset()?;
        let single = with_memberships && asked.len() == 1;
        let by_name = sorts_by_name(q);
        let descending = q.sort.as_ref().is_some_and(|s| s.descending);
        // One domain asked skips `offset` itself. Of several, a keyset page asks each for
        // `limit` after (or before) the position, an offset page for the first `offset +
        // limit`; the merge keeps the first (or last) `limit` of them, past `offset`.
        let alone = asked.len() == 1;
        let (offset, window) =
            if alone || q.by_keyset() { (q.offset, q.limit) } else { (0, q.offset.saturating_add(q.limit)) };
        // The query as one domain reads it (without cloning the filter twice).
        let sub = |filter, offset, limit, after, before| StoreQuery {
            kind: q.kind,
            filter,
            offset,
            limit,
            with_members: q.with_members,
            sort: q.sort.clone(),
            after,
            before,
        };

        let mut total = 0_u64;
        let mut rows: Vec<(Keyset, usize, StoredResource, Vec<Membership>)> = Vec::new();
        for (i, prefix, filter) in asked {
            let name_prefix = prefix.as_deref().filter(|_| by_name);
            let resume = match (&q.after, &q.before) {
                (Some(pos), _) => match domain_after(pos, i, name_prefix, descending) {
                    Resume::Skip => None,
                    Resume::All => Some((None, None)),
                    Resume::At(k) => Some((Some(k), None)),
                },
                (None, Some(Before::Position(pos))) => match domain_before(pos, i, name_prefix, descending) {
                    Resume::Skip => None,
                    Resume::All => Some((None, Some(Before::End))),
                    Resume::At(k) => Some((None, Some(Before::Position(k)))),
                },
                (None, before) => Some((None, before.clone())),
            };
            let Some((after, before)) = resume else {
                // Nothing of this domain comes after (or before) the position, but its matches
                // still count.
                let count = sub(filter, 0, 0, None, None);
                total += d.store(i).query(&count).await.map_err(|e| d.wrap(i, e))?.total;
                continue;
            };
            let sub = sub(filter, offset, window, after, before);
            let (page, own) = if single {
                d.store(i).query_with_memberships(&sub).await.map_err(|e| d.wrap(i, e))?
            } else {
                (d.store(i).query(&sub).await.map_err(|e| d.wrap(i, e))?, Vec::new())
            };
            total += page.total;
            let mut own = own.into_iter();
            for (item, key) in page.items.into_iter().zip(page.keys) {
                let groups = d.outbound_memberships(i, own.next().unwrap_or_default());
                let key_value = match (&prefix, by_name, key.key) {
                    (Some(p), true, Some(SortValue::Text(t))) => {
                        Some(SortValue::Text(format!("{}{t}", folded_prefix(p))))
                    }
                    (_, _, k) => k,
                };
                rows.push((Keyset { key: key_value, seq: encode(key.seq, i) }, i, item, groups));
            }
        }
        rows.sort_by(|a, b| compare_positions(&a.0, &b.0, descending));
        let take = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let skip = match (&q.after, &q.before) {
            (None, Some(_)) => rows.len().saturating_sub(take),
            (Some(_), _) => 0,
            (None, None) if alone => 0,
            (None, None) => usize::try_from(q.offset).unwrap_or(usize::MAX),
        };
        let n = rows.len().saturating_sub(skip).min(take);
        let (mut items, mut keys, mut groups) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut home = None;
        for (key, i, item, g) in rows.into_iter().skip(skip).take(take) {
            self.homes.put(&item.id, d.name(i));
            items.push(d.outbound(i, item));
            keys.push(key);
            groups.push(g);
            home = Some(i);
        }
        let own = match (single, home) {
            (true, Some(i)) => Some((i, groups)),
            // No resource: no groups to add to.
            (true, None) => Some((0, Vec::new())),
            (false, _) => None,
        };
        Ok((Page { total, items, keys }, own))
    }

    /// The memberships of `id` kept in the domains other than its own `home` that can keep
    /// members of other domains.
    async fn foreign_memberships(&self, d: &Domains, home: usize, id: &str) -> StoreResult<Vec<Membership>> {
        let mut out = Vec::new();
        for j in (0..d.count()).filter(|j| *j != home) {
            if !self.holds_foreign(d, j).await? {
                continue;
            }
            let groups = d.store(j).memberships(id).await.map_err(|e| d.wrap(j, e))?;
            out.extend(d.outbound_memberships(j, groups));
        }
        Ok(out)
    }
}

/// The domain a filter pins, alone or in an AND: an equality on the name claim, in the domain
/// its value routes to (`userName eq "LDAP/kim"` in LDAP; `userName eq "kim"`, the lookup before
/// every create, in PRIMARY: no qualified name equals it), or a start of the name qualified
/// with a secondary domain (`userName sw "LDAP/"`). Exactly where `names::for_domain` leaves
/// the filter something to match (the test below holds the two together); `route` is
/// the domain `Domains::route` gives a name.
fn pinned(route: &dyn Fn(&str) -> usize, kind: ResourceKind, filter: &ClaimFilter) -> Option<usize> {
    let claim = name_claim(kind);
    match filter {
        ClaimFilter::And(parts) => parts.iter().find_map(|p| pinned(route, kind, p)),
        ClaimFilter::Eq { claim: c, value, .. } if c == claim => Some(route(value)),
        ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: c, sub: None },
            op: CompareOp::Eq,
            value: CompValue::Str(v),
            ..
        } if c == claim => Some(route(v)),
        ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: c, sub: None },
            op: CompareOp::Sw,
            value: CompValue::Str(v),
            ..
        } if c == claim => Some(route(v)).filter(|&i| i > 0),
        _ => None,
    }
}

/// Whether the query sorts by the routed name (whose values a secondary domain keeps
/// unqualified).
fn sorts_by_name(q: &StoreQuery) -> bool {
    matches!(&q.sort, Some(k) if matches!(&k.path, ClaimPath::Claim { claim, sub: None } if claim == name_claim(q.kind)))
}

/// The text a sort by name compares (the stores fold names to lower case).
fn folded_prefix(prefix: &str) -> String {
    prefix.to_lowercase()
}

#[async_trait]
impl UserStore for Router {
    async fn create(&self, mut new: NewResource) -> StoreResult<StoredResource> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.create(new).await;
        }
        let i = match new.claims.get_str(name_claim(new.kind)) {
            Some(name) => d.route(name).0,
            None => 0,
        };
        d.check_writable(i)?;
        d.inbound(i, new.kind, &mut new.claims)?;
        let members = std::mem::take(&mut new.members);
        let store = d.store(i).clone();
        let created = self
            .with_members(&d, i, members, |members| {
                let mut new = new.clone();
                new.members = members;
                let store = store.clone();
                async move { store.create(new).await }
            })
            .await?;
        self.homes.put(&created.id, d.name(i));
        Ok(d.outbound(i, created))
    }

    async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<StoredResource>> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.get(kind, id, with_members).await;
        }
        Ok(self.find(&d, kind, id, with_members).await?.map(|(i, r)| d.outbound(i, r)))
    }

    async fn replace(&self, mut rep: Replacement) -> StoreResult<StoredResource> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.replace(rep).await;
        }
        let i = self.home(&d, rep.kind, &rep.id).await?;
        d.check_writable(i)?;
        d.inbound(i, rep.kind, &mut rep.claims)?;
        let store = d.store(i).clone();
        let replaced = match rep.members.take() {
            None => store.replace(rep).await.map_err(|e| d.wrap(i, e))?,
            Some(members) => {
                self.with_members(&d, i, members, |members| {
                    let mut rep = rep.clone();
                    rep.members = Some(members);
                    let store = store.clone();
                    async move { store.replace(rep).await }
                })
                .await?
            }
        };
        Ok(d.outbound(i, replaced))
    }

    async fn change_members(&self, mut change: MemberChange) -> StoreResult<StoredResource> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.change_members(change).await;
        }
        let i = self.home(&d, ResourceKind::Group, &change.group_id).await?;
        d.check_writable(i)?;
        if let Some(claims) = change.claims.as_mut() {
            d.inbound(i, ResourceKind::Group, claims)?;
        }
        let add = std::mem::take(&mut change.add);
        let store = d.store(i).clone();
        let changed = self
            .with_members(&d, i, add, |add| {
                let mut change = change.clone();
                change.add = add;
                let store = store.clone();
                async move { store.change_members(change).await }
            })
            .await?;
        Ok(d.outbound(i, changed))
    }

    async fn delete(&self, kind: ResourceKind, id: &str, expected_version: Option<u64>) -> StoreResult<()> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.delete(kind, id, expected_version).await;
        }
        let i = self.home(&d, kind, id).await?;
        d.check_writable(i)?;
        d.store(i).delete(kind, id, expected_version).await.map_err(|e| d.wrap(i, e))?;
        self.homes.forget(id);
        // The resource may be a member of groups of other domains. Each domain drops it in its
        // own transaction; one that fails now keeps a member that no longer resolves, which
        // reads back as it was written and is logged here.
        for j in (0..d.count()).filter(|j| *j != i) {
            if let Err(e) = d.store(j).forget_member(id).await {
                tracing::warn!(domain = d.name(j), "dropping deleted member {id} from its groups: {e}");
            }
        }
        Ok(())
    }

    async fn query(&self, q: &StoreQuery) -> StoreResult<Page> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.query(q).await;
        }
        Ok(self.query_in(&d, q, false).await?.0)
    }

    async fn query_with_memberships(&self, q: &StoreQuery) -> StoreResult<(Page, Vec<Vec<Membership>>)> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.query_with_memberships(q).await;
        }
        let (page, own) = self.query_in(&d, q, true).await?;
        let ids: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
        let groups = match own {
            // One domain answered, with its own groups of each resource: add those of the
            // domains that hold members of other domains.
            Some((home, mut groups)) => {
                for j in (0..d.count()).filter(|&j| j != home) {
                    if ids.is_empty() || !self.holds_foreign(&d, j).await? {
                        continue;
                    }
                    let found = d.store(j).memberships_of(&ids).await.map_err(|e| d.wrap(j, e))?;
                    for (k, more) in found.into_iter().enumerate() {
                        if let Some(g) = groups.get_mut(k) {
                            g.extend(d.outbound_memberships(j, more));
                        }
                    }
                }
                groups
            }
            None if ids.is_empty() => Vec::new(),
            None => self.memberships_of(&ids).await?,
        };
        Ok((page, groups))
    }

    async fn members_slice(
        &self,
        id: &str,
        after: Option<i64>,
        limit: usize,
    ) -> StoreResult<Option<scimd_store::MembersSlice>> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.members_slice(id, after, limit).await;
        }
        let Some((i, _)) = self.find(&d, ResourceKind::Group, id, false).await? else { return Ok(None) };
        // The group as SCIM sees it (`outbound`: its name qualified); members are stored as the
        // server gave them. A store that cannot slice says so as it is, so that the caller reads
        // the group whole.
        match d.store(i).members_slice(id, after, limit).await {
            Err(e @ StoreError::Unsupported(_)) => Err(e),
            Err(e) => Err(d.wrap(i, e)),
            Ok(slice) => Ok(slice.map(|s| scimd_store::MembersSlice { group: d.outbound(i, s.group), ..s })),
        }
    }

    async fn memberships(&self, id: &str) -> StoreResult<Vec<Membership>> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.memberships(id).await;
        }
        let home = match self.find(&d, ResourceKind::User, id, false).await? {
            Some((i, _)) => Some(i),
            None => self.find(&d, ResourceKind::Group, id, false).await?.map(|(i, _)| i),
        };
        let Some(i) = home else { return Ok(Vec::new()) };
        let own = d.store(i).memberships(id).await.map_err(|e| d.wrap(i, e))?;
        let mut groups = d.outbound_memberships(i, own);
        groups.extend(self.foreign_memberships(&d, i, id).await?);
        Ok(groups)
    }

    async fn get_with_memberships(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<(StoredResource, Vec<Membership>)>> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.get_with_memberships(kind, id).await;
        }
        let hint = self.homes.get(id).and_then(|name| d.index_of(&name)).unwrap_or(0);
        let found = match d.store(hint).get_with_memberships(kind, id).await {
            Ok(Some(pair)) => Some((hint, pair)),
            _ => match self.find(&d, kind, id, false).await? {
                Some((i, _)) => {
                    d.store(i).get_with_memberships(kind, id).await.map_err(|e| d.wrap(i, e))?.map(|p| (i, p))
                }
                None => None,
            },
        };
        let Some((i, (resource, own))) = found else { return Ok(None) };
        self.homes.put(id, d.name(i));
        let mut groups = d.outbound_memberships(i, own);
        groups.extend(self.foreign_memberships(&d, i, id).await?);
        Ok(Some((d.outbound(i, resource), groups)))
    }

    async fn memberships_of(&self, ids: &[String]) -> StoreResult<Vec<Vec<Membership>>> {
        let d = self.domains();
        if d.secondaries.is_empty() {
            return d.primary.memberships_of(ids).await;
        }
        let mut out: Vec<Vec<Membership>> = vec![Vec::new(); ids.len()];
        for j in 0..d.count() {
            let store = d.store(j);
            // Stores that keep members of other domains answer for every id; a directory only
            // for its own.
            // A store with members of other domains answers for every id; any other for its
            // own (an id of unknown home is PRIMARY's).
            let asked: Vec<usize> = if self.holds_foreign(&d, j).await? {
                (0..ids.len()).collect()
            } else {
                (0..ids.len())
                    .filter(|&k| self.homes.get(&ids[k]).and_then(|h| d.index_of(&h)).unwrap_or(0) == j)
                    .collect()
            };
            if asked.is_empty() {
                continue;
            }
            let subset: Vec<String> = asked.iter().map(|&k| ids[k].clone()).collect();
            let found = store.memberships_of(&subset).await.map_err(|e| d.wrap(j, e))?;
            for (k, groups) in asked.into_iter().zip(found) {
                out[k].extend(d.outbound_memberships(j, groups));
            }
        }
        Ok(out)
    }

    async fn forget_member(&self, id: &str) -> StoreResult<()> {
        let d = self.domains();
        for i in 0..d.count() {
            d.store(i).forget_member(id).await.map_err(|e| d.wrap(i, e))?;
        }
        Ok(())
    }

    async fn remove_claim(&self, kind: ResourceKind, claim: &str) -> StoreResult<u64> {
        let d = self.domains();
        let mut removed = 0;
        for i in (0..d.count()).filter(|i| d.store(*i).keeps_every_claim()) {
            removed += d.store(i).remove_claim(kind, claim).await.map_err(|e| d.wrap(i, e))?;
        }
        Ok(removed)
    }
}

/// Where domain `i` resumes after (or before) a merged position.
enum Resume {
    /// None of its resources come after (before) the position.
    Skip,
    /// All of them do.
    All,
    /// After (before) this position of its own.
    At(Keyset),
}

/// Where domain `i` resumes after the merged position `pos`. `name_prefix` is the domain's
/// prefix when the query sorts by the name it keeps unqualified.
fn domain_after(pos: &Keyset, i: usize, name_prefix: Option<&str>, descending: bool) -> Resume {
    domain_bound(pos, i, name_prefix, descending, false)
}

/// Where domain `i` ends before the merged position `pos` (RFC 9865 `previousCursor`): the
/// mirror of [`domain_after`].
fn domain_before(pos: &Keyset, i: usize, name_prefix: Option<&str>, descending: bool) -> Resume {
    domain_bound(pos, i, name_prefix, descending, true)
}

/// [`domain_after`], or with `backward` [`domain_before`].
fn domain_bound(
    pos: &Keyset,
    i: usize,
    name_prefix: Option<&str>,
    descending: bool,
    backward: bool,
) -> Resume {
    let seq = if backward { bound_before(pos.seq, i) } else { threshold(pos.seq, i) };
    let key = match (name_prefix, &pos.key) {
        (Some(prefix), Some(SortValue::Text(t))) => {
            let p = folded_prefix(prefix);
            match t.strip_prefix(&p) {
                Some(rest) => Some(SortValue::Text(rest.to_owned())),
                None => {
                    // Every name of the domain starts with `p`: they all sort on one side of `t`,
                    // the side the walk goes to (all of them) or the other (none).
                    let domain_after_t = p.as_bytes() > t.as_bytes();
                    let ahead = (domain_after_t != descending) != backward;
                    return if ahead { Resume::All } else { Resume::Skip };
                }
            }
        }
        (_, k) => k.clone(),
    };
    Resume::At(Keyset { key, seq })
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_resumes_where_the_merged_position_says() {
        let pos = Keyset { key: Some(SortValue::Text("ldap/kim".into())), seq: encode(3, 1) };
        match domain_after(&pos, 1, Some("LDAP/"), false) {
            Resume::At(k) => {
                assert_eq!(k.key, Some(SortValue::Text("kim".into())));
                assert_eq!(k.seq, 3);
            }
            _ => panic!("expected a position"),
        }
        let pos = Keyset { key: Some(SortValue::Text("alice".into())), seq: encode(3, 0) };
        assert!(matches!(domain_after(&pos, 1, Some("LDAP/"), false), Resume::All));
        assert!(matches!(domain_after(&pos, 1, Some("LDAP/"), true), Resume::Skip));
        let pos = Keyset { key: Some(SortValue::Text("zed".into())), seq: encode(3, 0) };
        assert!(matches!(domain_after(&pos, 1, Some("LDAP/"), false), Resume::Skip));
    }

    /// RFC 9865 `previousCursor`: a domain ends before a merged position where it says, the
    /// mirror of where it resumes after it.
    #[test]
    fn a_domain_ends_before_the_merged_position() {
        let pos = Keyset { key: Some(SortValue::Text("ldap/kim".into())), seq: encode(3, 1) };
        match domain_before(&pos, 1, Some("LDAP/"), false) {
            Resume::At(k) => {
                assert_eq!(k.key, Some(SortValue::Text("kim".into())));
                assert_eq!(k.seq, 3);
            }
            _ => panic!("expected a position"),
        }
        let pos = Keyset { key: Some(SortValue::Text("alice".into())), seq: encode(3, 0) };
        assert!(matches!(domain_before(&pos, 1, Some("LDAP/"), false), Resume::Skip));
        assert!(matches!(domain_before(&pos, 1, Some("LDAP/"), true), Resume::All));
        let pos = Keyset { key: Some(SortValue::Text("zed".into())), seq: encode(3, 0) };
        assert!(matches!(domain_before(&pos, 1, Some("LDAP/"), false), Resume::All));
        // Unsorted: domain 1's seq 3 (encoded 193) comes after PRIMARY's seq 3 (192).
        match domain_before(&Keyset { key: None, seq: encode(3, 0) }, 1, None, false) {
            Resume::At(k) => assert_eq!(k.seq, 3),
            _ => panic!("expected a position"),
        }
    }

    #[test]
    fn merged_positions_keep_the_domain() {
        assert_eq!(threshold(encode(10, 2), 2), 10);
        assert_eq!(crate::merge::DOMAINS, 64);
    }

    /// A filter pinned to a domain can match in no other: every other secondary domain's
    /// rewrite of it (`names::for_domain`) never matches, so asking only the pinned domain
    /// answers the same.
    #[test]
    fn a_pinned_domain_is_the_only_one_a_filter_can_match_in() {
        let secondaries = ["LDAP", "PG"];
        let route = |name: &str| names::split(name, &secondaries).map_or(0, |(i, _)| i + 1);
        let name = |op: CompareOp, v: &str| ClaimFilter::Compare {
            path: ClaimPath::Claim { claim: name_claim(ResourceKind::User).to_owned(), sub: None },
            op,
            value: CompValue::Str(v.to_owned()),
            attr_type: scimd_core::schema::AttrType::String,
            case_exact: false,
        };
        let title = ClaimFilter::Eq {
            claim: "urn:scimd:claims:title".into(),
            value: "boss".into(),
            case_exact: false,
        };
        let values = ["kim", "LDAP/kim", "ldap/KIM", "PG/", "pg", "P", "other/kim", "", "LDAP", "a/LDAP/b"];
        let mut filters = Vec::new();
        for v in values {
            for op in [CompareOp::Eq, CompareOp::Sw, CompareOp::Co, CompareOp::Ne] {
                filters.push(name(op, v));
                filters.push(ClaimFilter::And(vec![title.clone(), name(op, v)]));
            }
            filters.push(ClaimFilter::Eq {
                claim: name_claim(ResourceKind::User).to_owned(),
                value: v.to_owned(),
                case_exact: false,
            });
        }
        let mut pinned_to = [0; 3];
        for f in &filters {
            let Some(p) = pinned(&route, ResourceKind::User, f) else { continue };
            pinned_to[p] += 1;
            for (j, domain) in secondaries.iter().enumerate().map(|(j, d)| (j + 1, d)) {
                let there = names::simplify(names::for_domain(f, ResourceKind::User, &format!("{domain}/")));
                assert_eq!(names::is_never(&there), j != p, "{f:?} pinned to {p}, in {domain}: {there:?}");
            }
        }
        // PRIMARY (an unqualified equality), LDAP and PG were each pinned by some filter.
        assert!(pinned_to.iter().all(|&n| n > 0), "{pinned_to:?}");
    }
}
