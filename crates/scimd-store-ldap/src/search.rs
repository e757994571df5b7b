//! Reads: searches (paged, bounded, retried once on a new connection when the old one broke),
//! lookups (a filter an index narrows: one request, not paged unless the directory cut it
//! short), probes (one request, at most a page of entries, saying whether that was all) and
//! reads of one resource.

use scimd_store::{ResourceKind, StoreError, StoreResult, StoredResource};

use crate::entry::{Decoded, Layout, RawEntry, decode, parse_entry};
use crate::error::{self, rc};
use crate::filter::id_assertion;
use crate::store::LdapStore;
use crate::wire::{Cut, Error as WireError, Scope, Search};

/// How many entries a search may return.
#[derive(Debug, Clone, Copy)]
enum Bound {
    /// All of them (paged).
    All,
    /// At most this many (paged); past it, [`StoreError::TooMany`].
    Refuse(u64),
    /// At most this many, in one request with the size limit (RFC 4511 §4.5.1.5) instead of
    /// paging; past it, the entries read and `false`.
    Stop(u64),
}

/// Why one search attempt failed.
enum Failure {
    /// The connection broke: try once more on a new one.
    Connection(WireError),
    Store(StoreError),
}

impl LdapStore {
    /// The entry `dn` (RFC 4511 base search), `None` if there is none or it does not match
    /// `filter`.
    pub(crate) async fn search_base(
        &self,
        dn: &str,
        filter: &str,
        attrs: &[&str],
    ) -> StoreResult<Option<RawEntry>> {
        let attrs: Vec<String> = attrs.iter().map(|a| (*a).to_owned()).collect();
        let mut entries = self.search(dn, Scope::Base, filter, &attrs, None).await?;
        Ok(entries.pop())
    }

    /// Every entry under `base` matching `filter`, with `attrs`; past `limit` entries,
    /// [`StoreError::TooMany`]. A missing base is no entry.
    pub(crate) async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[String],
        limit: Option<u64>,
    ) -> StoreResult<Vec<RawEntry>> {
        let bound = match limit {
            Some(l) => Bound::Refuse(l),
            None => Bound::All,
        };
        Ok(self.search_bounded(base, scope, filter, attrs, bound).await?.0)
    }

    /// Every entry under `base` matching `filter`, a filter that an index narrows to a few
    /// entries ([`Layout::narrowed`]): one request without the paged-results control (RFC
    /// 2696), whose paging state costs the directory and the client work for a reply that fits
    /// in one (about a tenth of slapd's time on a lookup by userName); paged only if the
    /// directory's own size limit cut the reply short. Past `limit` entries,
    /// [`StoreError::TooMany`]. A missing base is no entry.
    pub(crate) async fn lookup(
        &self,
        base: &str,
        filter: &str,
        attrs: &[String],
        limit: Option<u64>,
    ) -> StoreResult<Vec<RawEntry>> {
        // One past the limit, so that a reply cut by it tells a match too many.
        let stop = limit.map_or(i32::MAX as u64, |l| l.saturating_add(1));
        let (entries, complete) =
            self.search_bounded(base, Scope::Subtree, filter, attrs, Bound::Stop(stop)).await?;
        if let Some(limit) = limit
            && entries.len() as u64 > limit
        {
            return Err(StoreError::TooMany { limit });
        }
        if complete {
            return Ok(entries);
        }
        // The directory's own size limit, below ours: page through the matches.
        self.search(base, Scope::Subtree, filter, attrs, limit).await
    }

    /// Every entry under `base` matching `filter`: a [`LdapStore::lookup`] where an index
    /// narrows the filter (`narrowed`), else a (paged) [`LdapStore::search`] of the subtree.
    pub(crate) async fn matches(
        &self,
        narrowed: bool,
        base: &str,
        filter: &str,
        attrs: &[String],
        limit: Option<u64>,
    ) -> StoreResult<Vec<RawEntry>> {
        if narrowed {
            self.lookup(base, filter, attrs, limit).await
        } else {
            self.search(base, Scope::Subtree, filter, attrs, limit).await
        }
    }

    /// The entries under `base` matching `filter`, with `attrs`, if there are at most `limit`
    /// of them: one search request, and whether it returned every match (if not, the entries
    /// it did return, in the directory's order). A directory's own size limit below `limit`
    /// also reads as not every match.
    pub(crate) async fn probe(
        &self,
        base: &str,
        filter: &str,
        attrs: &[String],
        limit: u64,
    ) -> StoreResult<(Vec<RawEntry>, bool)> {
        self.search_bounded(base, Scope::Subtree, filter, attrs, Bound::Stop(limit)).await
    }

    /// The searches this store has sent since it connected (a paged search counts once, a
    /// retry on a new connection again): for tests and metrics.
    pub fn searches_sent(&self) -> u64 {
        self.searches.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn search_bounded(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[String],
        bound: Bound,
    ) -> StoreResult<(Vec<RawEntry>, bool)> {
        let mut fresh = false;
        let mut last = None;
        for _ in 0..2 {
            self.searches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match self.search_once(fresh, base, scope, filter, attrs, bound).await {
                Ok(found) => return Ok(found),
                Err(Failure::Store(e)) => return Err(e),
                Err(Failure::Connection(e)) => {
                    // The connection broke (the directory restarted, or dropped an idle
                    // connection): the other idle ones are likely gone too.
                    self.readers.forget_idle();
                    fresh = true;
                    last = Some(e);
                }
            }
        }
        Err(match last {
            Some(e) => error::wire(self.pool.url(), e),
            None => StoreError::Unavailable(format!("cannot reach {}", self.pool.url())),
        })
    }

    async fn search_once(
        &self,
        fresh: bool,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[String],
        bound: Bound,
    ) -> Result<(Vec<RawEntry>, bool), Failure> {
        let url = self.pool.url();
        let mut lease = match self.readers.get(fresh).await {
            Ok(lease) => lease,
            // A new connection that fails will not do better at once.
            Err(e) => return Err(Failure::Store(error::wire(url, e))),
        };
        let (limit, size_limit) = match bound {
            Bound::All => (None, 0),
            Bound::Refuse(l) => (Some(l), 0),
            Bound::Stop(l) => (None, i32::try_from(l.max(1)).unwrap_or(i32::MAX)),
        };
        let paged = self.controls.paged && scope != Scope::Base && !matches!(bound, Bound::Stop(_));
        let page_size = i32::try_from(self.config.page_size).unwrap_or(i32::MAX);
        let mut out: Vec<RawEntry> = Vec::new();
        let mut cookie: Vec<u8> = Vec::new();
        loop {
            let search = Search {
                base,
                scope,
                filter,
                attrs,
                size_limit,
                page: paged.then_some((page_size, cookie.as_slice())),
            };
            let cap = limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX).saturating_sub(out.len()));
            let page = match lease.conn().search(&search, cap, parse_entry).await {
                Ok(Ok(page)) => page,
                // The lease is dropped with its connection, on which replies may follow.
                Ok(Err(Cut)) => {
                    return Err(Failure::Store(StoreError::TooMany { limit: limit.unwrap_or(0) }));
                }
                Err(e) if e.is_connection() => return Err(Failure::Connection(e)),
                Err(WireError::Filter(bad)) => {
                    return Err(Failure::Store(StoreError::Backend(format!(
                        "{url}: the filter {filter} is {bad}"
                    ))));
                }
                Err(e) => return Err(Failure::Store(error::wire(url, e))),
            };
            out.extend(page.entries);
            let res = page.result;
            let done = match res.rc {
                0 => match page.cookie {
                    Some(next) if paged && !next.is_empty() => {
                        cookie = next;
                        None
                    }
                    _ => Some(Ok((std::mem::take(&mut out), true))),
                },
                rc::NO_SUCH_OBJECT => Some(Ok((Vec::new(), true))),
                rc::SIZE_LIMIT_EXCEEDED | rc::ADMIN_LIMIT_EXCEEDED if matches!(bound, Bound::Stop(_)) => {
                    Some(Ok((std::mem::take(&mut out), false)))
                }
                rc::SIZE_LIMIT_EXCEEDED => Some(Err(Failure::Store(StoreError::TooMany {
                    limit: limit.unwrap_or(out.len() as u64),
                }))),
                _ => Some(Err(Failure::Store(StoreError::Backend(format!(
                    "{url}: searching {base} for {filter}: {}",
                    error::describe(&res)
                ))))),
            };
            if let Some(done) = done {
                lease.keep();
                return done;
            }
        }
    }

    /// The entry of the resource `id` of `layout`'s kind.
    pub(crate) async fn find(
        &self,
        layout: &Layout,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<RawEntry>> {
        let Some(assertion) = id_assertion(layout, id, true) else { return Ok(None) };
        let filter = layout.narrowed(&format!("({}={assertion})", layout.id_attr));
        let attrs = layout.read_attrs(with_members, false);
        let mut found = self.lookup(&layout.base, &filter, attrs, Some(16)).await?;
        Ok(found.pop())
    }

    /// An entry of `layout`'s kind decoded.
    pub(crate) fn decode(&self, layout: &Layout, entry: &RawEntry) -> StoreResult<Decoded> {
        decode(
            entry,
            layout,
            &self.schema,
            &self.config.member_attribute,
            self.config.empty_group_member.as_deref(),
        )
    }

    pub(crate) async fn get_resource(
        &self,
        kind: ResourceKind,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<StoredResource>> {
        let layouts = self.layouts();
        let layout = layouts.of(kind);
        let with_members = with_members && kind == ResourceKind::Group;
        let Some(entry) = self.find(layout, id, with_members).await? else { return Ok(None) };
        let decoded = self.decode(layout, &entry)?;
        let members = if with_members { Some(self.members_of_dns(&decoded.member_dns).await?) } else { None };
        Ok(Some(stored(kind, decoded, members)))
    }
}

impl LdapStore {
    /// The resource `id` and its groups: one search where the directory's `memberOf` says the
    /// entry is in no group (`member_of`), else its groups searched from its DN.
    pub(crate) async fn get_resource_with_memberships(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<(StoredResource, Vec<scimd_store::Membership>)>> {
        let layouts = self.layouts();
        let layout = layouts.of(kind);
        let Some(assertion) = id_assertion(layout, id, true) else { return Ok(None) };
        let filter = layout.narrowed(&format!("({}={assertion})", layout.id_attr));
        let member_of = self.member_of_attr().map(str::to_owned);
        let attrs = layout.read_attrs(false, member_of.is_some());
        let mut found = self.lookup(&layout.base, &filter, attrs, Some(16)).await?;
        let Some(entry) = found.pop() else { return Ok(None) };
        let decoded = self.decode(layout, &entry)?;
        let in_no_group = member_of.is_some_and(|a| !crate::member_of::in_a_group(&entry, &a));
        let groups = if in_no_group && self.member_of_trusted().await {
            Vec::new()
        } else {
            self.memberships_of_dn(&decoded.dn).await?
        };
        Ok(Some((stored(kind, decoded, None), groups)))
    }
}

/// A decoded entry as the store returns it.
pub(crate) fn stored(
    kind: ResourceKind,
    d: Decoded,
    members: Option<Vec<scimd_store::Member>>,
) -> StoredResource {
    StoredResource {
        id: d.id,
        kind,
        claims: d.claims,
        created: d.created,
        last_modified: d.last_modified,
        version: d.version,
        members,
    }
}
