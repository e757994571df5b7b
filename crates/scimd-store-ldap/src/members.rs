//! Members and memberships. A group's member attribute holds DNs: members are written as the
//! DNs of the resources their ids name, and read back as the ids, kinds and display names of
//! the entries those DNs name (a DN that names no user or group of this domain, such as the
//! empty-group member, is not a member). `members.display` is not kept by the directory: it
//! reads back as the member's displayName (else its userName) or the group's displayName.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt as _;
use scimd_claims::claims::{DISPLAY_NAME, GROUP_DISPLAY_NAME, USER_NAME};
use scimd_store::{Member, Membership, ResourceKind, StoreError, StoreResult};

use crate::dn;
use crate::entry::{Layout, RawEntry, format_guid, parse_generalized_time, uuid_v1_time};
use crate::filter::{escape, id_assertion, member_key};
use crate::store::{Layouts, LdapStore};

/// Ids per search when resolving many.
const CHUNK: usize = 100;
/// Member DNs read at once.
const IN_FLIGHT: usize = 32;

/// The id of an entry of `layout`'s kind.
pub(crate) fn id_of(entry: &RawEntry, layout: &Layout) -> Option<String> {
    let raw = entry.first(&layout.id_attr)?;
    if layout.binary_id() { format_guid(raw) } else { Some(String::from_utf8_lossy(raw).into_owned()) }
}

/// The creation order of an entry (see `entry::decode`).
pub(crate) fn seq_of(entry: &RawEntry, layout: &Layout, id: &str) -> i64 {
    if let Some(attr) = &layout.seq_attr {
        return entry.text(attr).and_then(|t| t.trim().parse().ok()).unwrap_or(i64::MAX);
    }
    uuid_v1_time(id).unwrap_or_else(|| {
        entry
            .first(&layout.created_attr)
            .and_then(parse_generalized_time)
            .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1000).ok())
            .unwrap_or(i64::MAX)
    })
}

/// The attribute that holds a claim of `layout`'s kind, if mapped.
fn attr_of<'l>(layout: &'l Layout, claim: &str) -> Option<&'l str> {
    layout.map.of_claim(claim).map(|e| e.attribute.as_str())
}

/// What a member's `display` reads back as.
fn display_of(entry: &RawEntry, layout: &Layout) -> Option<String> {
    let claims: &[&str] = match layout.kind {
        ResourceKind::User => &[DISPLAY_NAME, USER_NAME],
        ResourceKind::Group => &[GROUP_DISPLAY_NAME],
    };
    claims.iter().find_map(|c| attr_of(layout, c).and_then(|a| entry.text(a)))
}

/// The attributes that make a member of either kind.
fn member_attrs(layouts: &Layouts) -> Vec<String> {
    let mut out: Vec<String> = vec!["objectClass".to_owned()];
    for layout in [&layouts.users, &layouts.groups] {
        let mut want = vec![layout.id_attr.as_str()];
        for c in [DISPLAY_NAME, USER_NAME, GROUP_DISPLAY_NAME] {
            if let Some(a) = attr_of(layout, c) {
                want.push(a);
            }
        }
        for a in want {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(a)) {
                out.push(a.to_owned());
            }
        }
    }
    out
}

/// The kind of an entry by its object classes (the first group class, else the first user class).
fn kind_of(entry: &RawEntry, layouts: &Layouts) -> Option<ResourceKind> {
    let classes: Vec<String> =
        entry.values("objectClass").map(|b| String::from_utf8_lossy(b).to_lowercase()).collect();
    let has =
        |layout: &Layout| layout.object_classes.first().is_some_and(|c| classes.contains(&c.to_lowercase()));
    if has(&layouts.groups) {
        Some(ResourceKind::Group)
    } else if has(&layouts.users) {
        Some(ResourceKind::User)
    } else {
        None
    }
}

fn member_of_entry(entry: &RawEntry, layouts: &Layouts) -> Option<Member> {
    let kind = kind_of(entry, layouts)?;
    let layout = layouts.of(kind);
    let id = id_of(entry, layout)?;
    Some(Member { id, kind: Some(kind), display: display_of(entry, layout), domain: None })
}

/// A member to write, resolved.
pub(crate) struct Resolved {
    pub(crate) dn: String,
    pub(crate) member: Member,
}

impl LdapStore {
    /// The members the DNs name, in their order (DNs that name no user or group are left out).
    pub(crate) async fn members_of_dns(&self, dns: &[String]) -> StoreResult<Vec<Member>> {
        let layouts = self.layouts();
        let attrs = member_attrs(&layouts);
        let attr_refs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        let attr_refs = &attr_refs;
        let reads = futures_util::stream::iter(
            dns.iter()
                .cloned()
                .map(|dn| async move { self.search_base(&dn, "(objectClass=*)", attr_refs).await }),
        )
        .buffered(IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
        let mut out = Vec::with_capacity(dns.len());
        for read in reads {
            if let Some(entry) = read? {
                out.extend(member_of_entry(&entry, &layouts));
            }
        }
        Ok(out)
    }

    /// The entries of `layout`'s kind with these ids (escaped assertion values), by id.
    async fn entries_by_ids(
        &self,
        layout: &Layout,
        ids: &[String],
        attrs: &[String],
    ) -> StoreResult<HashMap<String, RawEntry>> {
        let mut out = HashMap::new();
        let assertions: Vec<String> = ids.iter().filter_map(|id| id_assertion(layout, id, true)).collect();
        for chunk in assertions.chunks(CHUNK) {
            let any: String = chunk.iter().map(|a| format!("({}={a})", layout.id_attr)).collect();
            let filter = layout.narrowed(&format!("(|{any})"));
            for entry in self.lookup(&layout.base, &filter, attrs, None).await? {
                if let Some(id) = id_of(&entry, layout) {
                    out.insert(id, entry);
                }
            }
        }
        Ok(out)
    }

    /// The members to write, resolved to DNs: each must exist with the kind given (else
    /// [`StoreError::UnknownMember`]) and be of this domain (else [`StoreError::Unsupported`]);
    /// duplicates keep their first place; the group itself is refused.
    pub(crate) async fn resolve_members(
        &self,
        members: &[Member],
        group_dn: Option<&str>,
    ) -> StoreResult<Vec<Resolved>> {
        for m in members {
            if let Some(domain) = &m.domain {
                return Err(StoreError::Unsupported(format!(
                    "domain {} is a directory whose groups hold DNs of its own entries: member {} of domain {domain} cannot be kept",
                    self.domain, m.id
                )));
            }
        }
        let layouts = self.layouts();
        let attrs = member_attrs(&layouts);
        let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();
        let users = self.entries_by_ids(&layouts.users, &ids, &attrs).await?;
        let groups = self.entries_by_ids(&layouts.groups, &ids, &attrs).await?;
        let group_norm = group_dn.map(dn::normalize);
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(members.len());
        for m in members {
            if !seen.insert(m.id.clone()) {
                continue;
            }
            let found = match m.kind {
                Some(ResourceKind::User) => users.get(&m.id).map(|e| (e, ResourceKind::User)),
                Some(ResourceKind::Group) => groups.get(&m.id).map(|e| (e, ResourceKind::Group)),
                None => groups
                    .get(&m.id)
                    .map(|e| (e, ResourceKind::Group))
                    .or_else(|| users.get(&m.id).map(|e| (e, ResourceKind::User))),
            };
            let Some((entry, kind)) = found else {
                return Err(StoreError::UnknownMember { id: m.id.clone(), expected: m.kind });
            };
            if group_norm.as_deref() == Some(dn::normalize(&entry.dn).as_str()) {
                return Err(StoreError::Unsupported("a group cannot be a member of itself".to_owned()));
            }
            let display = display_of(entry, layouts.of(kind));
            out.push(Resolved {
                dn: entry.dn.clone(),
                member: Member { id: m.id.clone(), kind: Some(kind), display, domain: None },
            });
        }
        Ok(out)
    }

    /// The DNs of the entries (of either kind) with these ids; ids no entry has are left out.
    pub(crate) async fn dns_of_ids(&self, ids: &[String]) -> StoreResult<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let layouts = self.layouts();
        let mut out = Vec::new();
        for layout in [&layouts.users, &layouts.groups] {
            let attrs = vec![layout.id_attr.clone()];
            out.extend(self.entries_by_ids(layout, ids, &attrs).await?.into_values().map(|e| e.dn));
        }
        Ok(out)
    }

    /// The DNs of the member ids a filter compares with `members.value eq`, by
    /// [`member_key`]; `None` for an id no entry has.
    pub(crate) async fn resolve_filter_ids(
        &self,
        ids: &[(String, bool)],
    ) -> StoreResult<HashMap<String, Option<String>>> {
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let layouts = self.layouts();
        let wanted: Vec<String> =
            ids.iter().map(|(id, exact)| if *exact { id.clone() } else { id.to_lowercase() }).collect();
        let attrs = vec![layouts.users.id_attr.clone(), layouts.groups.id_attr.clone()];
        let users = self.entries_by_ids(&layouts.users, &wanted, &attrs).await?;
        let groups = self.entries_by_ids(&layouts.groups, &wanted, &attrs).await?;
        for (id, exact) in ids {
            let key = member_key(id, *exact);
            let dn = users.get(&key).or_else(|| groups.get(&key)).map(|e| e.dn.clone());
            out.insert(key, dn);
        }
        Ok(out)
    }

    /// The DN of the resource `id`, of either kind.
    async fn dn_of_id(&self, id: &str) -> StoreResult<Option<String>> {
        let layouts = self.layouts();
        for layout in [&layouts.users, &layouts.groups] {
            let attrs = vec![layout.id_attr.clone()];
            if let Some(e) = self.entries_by_ids(layout, &[id.to_owned()], &attrs).await?.remove(id) {
                return Ok(Some(e.dn));
            }
        }
        Ok(None)
    }

    /// The groups the resource `id` belongs to, directly or through nested groups, in the
    /// groups' creation order; a group reached both ways is direct; cycles end (each group is
    /// visited once) and the resource itself is left out.
    /// A query's fresh note of `id` (`member_of`) spares finding its DN, and where `memberOf`
    /// is trusted and names no group, any search.
    pub(crate) async fn memberships_of_id(&self, id: &str) -> StoreResult<Vec<Membership>> {
        if let Some(groups) = self.noted_memberships(id).await? {
            return Ok(groups);
        }
        let Some(start) = self.dn_of_id(id).await? else { return Ok(Vec::new()) };
        self.memberships_of_dn(&start).await
    }

    pub(crate) async fn memberships_of_dn(&self, start: &str) -> StoreResult<Vec<Membership>> {
        let layouts = self.layouts();
        let groups = &layouts.groups;
        let mut attrs = vec![groups.id_attr.clone(), groups.created_attr.clone()];
        if let Some(s) = &groups.seq_attr {
            attrs.push(s.clone());
        }
        if let Some(a) = attr_of(groups, GROUP_DISPLAY_NAME) {
            attrs.push(a.to_owned());
        }
        let member_attr = &self.config.member_attribute;
        let mut visited: HashSet<String> = HashSet::from([dn::normalize(start)]);
        let mut frontier = vec![start.to_owned()];
        let mut found: Vec<(i64, Membership)> = Vec::new();
        let mut direct = true;
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for chunk in frontier.chunks(CHUNK) {
                let any: String =
                    chunk.iter().map(|d| format!("({member_attr}={})", escape(d.as_bytes()))).collect();
                let filter = groups.narrowed(&format!("(|{any})"));
                for entry in self.lookup(&groups.base, &filter, &attrs, None).await? {
                    if !visited.insert(dn::normalize(&entry.dn)) {
                        continue;
                    }
                    let Some(group_id) = id_of(&entry, groups) else { continue };
                    let seq = seq_of(&entry, groups, &group_id);
                    found.push((seq, Membership { group_id, display: display_of(&entry, groups), direct }));
                    next.push(entry.dn);
                }
            }
            frontier = next;
            direct = false;
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.group_id.cmp(&b.1.group_id)));
        Ok(found.into_iter().map(|(_, m)| m).collect())
    }
}
