//! Queries: the filter compiled for the directory, the rest answered in memory, the order and
//! the page.
//!
//! - **Order.** Creation order is the directory's sequence: the time of OpenLDAP's version-1
//!   `entryUUID`s, or the `sequence_attribute` (Active Directory's `uSNCreated`); ties (which
//!   these do not have) by id. A sort key (RFC 7644 §3.4.2.3) orders first, values compared as
//!   the SQL stores do (no value last ascending and first descending; numbers before text;
//!   text folded unless caseExact; dateTimes as instants).
//! - **Exact filters, creation order.** One request reads the matches whole, at most a page
//!   of the directory's results (`page_size`, by the size limit): if that was every match, it
//!   is the total and the page (one search). Past a page (and for a filter on every entry of
//!   the kind, which is not tried), one paged search (RFC 2696) reads the id (and sequence) of
//!   every match: the total, and the page's entries, read by DN unless the first request read
//!   them. No bound: no candidate is examined in memory. A query for the total alone reads no
//!   attribute (`1.1`).
//! - **Everything else** (a filter the directory answers with a superset, a sort key): the
//!   candidates are read whole, at most `max_candidates` of them (past that,
//!   [`StoreError::TooMany`]), checked with `scimd_claims::eval` and ordered in memory.
//! - **Groups.** Users are read with `memberOf` where the directory may keep it; each user on
//!   the page is noted for the memberships asked next (`member_of`).
//! - **Keyset cursors.** A position is the sort value and the sequence of the last resource
//!   seen; the next page starts after it in the order above, so a walk sees each resource that
//!   stays (and keeps its sort value) once. A position whose sequence is not unique among the
//!   candidates would be ambiguous: it is refused ([`StoreError::Unsupported`]), never answered
//!   with a wrong page.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use crate::wire::Scope;
use futures_util::StreamExt as _;
use scimd_claims::claims::ID;
use scimd_claims::eval::{self, Subject, SubjectMember};
use scimd_claims::filter::{ClaimPath, Column, MemberField};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{
    Before, ClaimFilter, Keyset, Page, ResourceKind, SortKey, SortValue, StoreError, StoreQuery, StoreResult,
    StoredResource,
};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use crate::dn;
use crate::entry::{Decoded, Layout, RawEntry};
use crate::filter::{Cx, member_ids};
use crate::lookups::Shape;
use crate::members::{id_of, seq_of};
use crate::search::stored;
use crate::store::LdapStore;

/// Page entries read at once.
const IN_FLIGHT: usize = 16;

/// Whether the filter reads group members.
fn reads_members(filter: &ClaimFilter) -> bool {
    match filter {
        ClaimFilter::And(p) | ClaimFilter::Or(p) => p.iter().any(reads_members),
        ClaimFilter::Not(f) => reads_members(f),
        ClaimFilter::ElementMatch { of: scimd_claims::Collection::Members, .. } => true,
        ClaimFilter::ElementMatch { filter, .. } => reads_members(filter),
        ClaimFilter::Compare { path: ClaimPath::Member(_), .. }
        | ClaimFilter::Present { path: ClaimPath::Member(_) } => true,
        _ => false,
    }
}

/// Whether the filter reads `meta.created` or `meta.lastModified`: only then are a candidate's
/// times written out for the evaluator.
fn reads_times(filter: &ClaimFilter) -> bool {
    const TIMES: fn(&ClaimPath) -> bool =
        |p| matches!(p, ClaimPath::Column(Column::Created | Column::LastModified));
    match filter {
        ClaimFilter::And(p) | ClaimFilter::Or(p) => p.iter().any(reads_times),
        ClaimFilter::Not(f) | ClaimFilter::ElementMatch { filter: f, .. } => reads_times(f),
        ClaimFilter::Compare { path, .. } | ClaimFilter::Present { path } => TIMES(path),
        ClaimFilter::All | ClaimFilter::Eq { .. } => false,
    }
}

/// RFC 3339 as the server renders `meta` times.
fn rfc3339(t: time::OffsetDateTime) -> Option<String> {
    t.format(&Rfc3339).ok()
}

/// One candidate, ordered.
struct Row {
    seq: i64,
    key: Option<SortValue>,
    id: String,
    item: Option<(Decoded, Option<Vec<scimd_store::Member>>)>,
    dn: String,
    /// Whether its memberOf names a group (users, where read).
    in_a_group: Option<bool>,
    /// The entry whole, read but not decoded yet.
    raw: Option<RawEntry>,
}

impl LdapStore {
    pub(crate) async fn run_query(&self, q: &StoreQuery) -> StoreResult<Page> {
        let layouts = self.layouts();
        let layout = layouts.of(q.kind);
        let mut ids = Vec::new();
        member_ids(&q.filter, &mut ids);
        let member_dns = self.resolve_filter_ids(&ids).await?;
        let cx = Cx {
            layout,
            schema: &self.schema,
            member_attr: &self.config.member_attribute,
            empty_member: self.config.empty_group_member.as_deref(),
            member_dns: &member_dns,
        };
        let compiled = cx.compile(&q.filter);
        // Every entry of the kind; else whether index lookups find every match.
        let every = compiled.filter == "(objectClass=*)";
        let narrowed = !every && narrowed_by_id_or_name(&q.filter, layout);
        let filter = if every {
            layout.kind_filter.clone()
        } else if narrowed {
            layout.narrowed(&compiled.filter)
        } else {
            format!("(&{}{})", layout.kind_filter, compiled.filter)
        };
        q.check_keyset()?;
        let position = match (&q.after, &q.before) {
            (Some(p), _) | (None, Some(Before::Position(p))) => Some(p),
            (None, Some(Before::End) | None) => None,
        };
        if q.sort.is_some() && position.is_some_and(|a| a.key.is_none()) {
            return Err(StoreError::Unsupported(
                "a position in creation order for a sorted query".to_owned(),
            ));
        }

        // Users' memberOf, read with them for the memberships asked next (`member_of`).
        let member_of = match q.kind {
            ResourceKind::User => self.member_of_attr().map(str::to_owned),
            ResourceKind::Group => None,
        };
        let in_a_group = |e: &RawEntry| member_of.as_deref().map(|a| crate::member_of::in_a_group(e, a));
        let whole = layout.read_attrs(q.kind == ResourceKind::Group && q.with_members, member_of.is_some());

        // A lookup by userName: searched together with the others waiting (`lookups.rs`);
        // `None` when it runs alone.
        let batched = || async {
            let name = q.user_name_lookup().filter(|_| narrowed && q.sort.is_none())?;
            let shape = Shape {
                layouts: Arc::clone(&layouts),
                member_of: member_of.is_some(),
                exact: compiled.exact,
            };
            self.lookups.find(self, shape, name, &compiled.filter).await
        };
        let mut rows: Vec<Row> = if compiled.exact && q.sort.is_none() {
            if q.limit == 0 && q.after.is_none() {
                // The total alone: no attribute read.
                let entries =
                    self.matches(narrowed, &layout.base, &filter, &["1.1".to_owned()], None).await?;
                return Ok(Page { total: entries.len() as u64, items: Vec::new(), keys: Vec::new() });
            }
            // The matches whole in one request, if they fit in a page (not tried for every
            // entry of the kind, which rarely do).
            let (probed, complete) = if let Some(found) = batched().await {
                (found, true)
            } else if every {
                (Vec::new(), false)
            } else {
                let page_size = u64::from(self.config.page_size);
                self.probe(&layout.base, &filter, whole, page_size).await?
            };
            let row = |e: RawEntry, keep: bool| {
                let id = id_of(&e, layout)?;
                Some(Row {
                    seq: seq_of(&e, layout, &id),
                    key: None,
                    id,
                    item: None,
                    dn: e.dn.clone(),
                    in_a_group: None,
                    raw: keep.then_some(e),
                })
            };
            if complete {
                probed.into_iter().filter_map(|e| row(e, true)).collect()
            } else {
                // More than a page: the ids (and sequence) of every match from one paged
                // search; the entries the probe read are not read again.
                let mut attrs = vec![layout.id_attr.clone(), layout.created_attr.clone()];
                attrs.extend(layout.seq_attr.clone());
                let mut read: HashMap<String, RawEntry> =
                    probed.into_iter().map(|e| (dn::normalize(&e.dn), e)).collect();
                let entries = self.search(&layout.base, Scope::Subtree, &filter, &attrs, None).await?;
                entries
                    .into_iter()
                    .filter_map(|e| {
                        let mut r = row(e, false)?;
                        r.raw = read.remove(&dn::normalize(&r.dn));
                        Some(r)
                    })
                    .collect()
            }
        } else {
            let with_members = q.kind == ResourceKind::Group && (q.with_members || reads_members(&q.filter));
            let attrs = layout.read_attrs(with_members, member_of.is_some());
            let entries = match batched().await {
                Some(found) => found,
                None => {
                    self.matches(narrowed, &layout.base, &filter, attrs, Some(self.config.max_candidates))
                        .await?
                }
            };
            let mut rows = Vec::with_capacity(entries.len());
            let times = reads_times(&q.filter);
            for e in &entries {
                let d = self.decode(layout, e)?;
                let members =
                    if with_members { Some(self.members_of_dns(&d.member_dns).await?) } else { None };
                let keep = compiled.exact || {
                    let views: Vec<SubjectMember<'_>> = members
                        .iter()
                        .flatten()
                        .map(|m| SubjectMember {
                            value: &m.id,
                            kind: m.kind.unwrap_or(ResourceKind::User),
                            display: m.display.as_deref(),
                        })
                        .collect();
                    let (created, modified) =
                        if times { (rfc3339(d.created), rfc3339(d.last_modified)) } else { (None, None) };
                    let subject = Subject {
                        id: &d.id,
                        claims: &d.claims,
                        created: created.as_deref(),
                        last_modified: modified.as_deref(),
                        members: &views,
                    };
                    eval::matches(&q.filter, &subject)
                };
                if !keep {
                    continue;
                }
                let key = match &q.sort {
                    Some(k) => Some(sort_value(k, &d)?),
                    None => None,
                };
                rows.push(Row {
                    seq: d.seq,
                    key,
                    id: d.id.clone(),
                    dn: d.dn.clone(),
                    item: Some((d, members)),
                    in_a_group: in_a_group(e),
                    raw: None,
                });
            }
            rows
        };

        let descending = q.sort.as_ref().is_some_and(|k| k.descending);
        rows.sort_by(|a, b| order(a, b, descending));
        let total = rows.len() as u64;
        if let Some(p) = position
            && rows.iter().filter(|r| r.seq == p.seq).count() > 1
        {
            return Err(StoreError::Unsupported(format!(
                "the cursor position {} is not unique in domain {}'s creation order; page with startIndex",
                p.seq, self.domain
            )));
        }
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let (start, end) = match (&q.after, &q.before) {
            (Some(after), _) => {
                let start =
                    rows.iter().position(|r| after_position(r, after, descending)).unwrap_or(rows.len());
                (start, start.saturating_add(limit).min(rows.len()))
            }
            // RFC 9865 `previousCursor`: the last `limit` rows before the position, in order.
            (None, Some(before)) => {
                let end = match before {
                    Before::Position(p) => rows.partition_point(|r| before_position(r, p, descending)),
                    Before::End => rows.len(),
                };
                (end.saturating_sub(limit), end)
            }
            (None, None) => {
                let start = usize::try_from(q.offset).unwrap_or(usize::MAX).min(rows.len());
                (start, start.saturating_add(limit).min(rows.len()))
            }
        };
        let page: Vec<Row> = rows.drain(start..end).collect();

        // Entries not read yet (exact filters, more than a page of them) are read by DN, in
        // parallel, in page order; a page read whole (most pages) is decoded as it is.
        let in_a_group = &in_a_group;
        let settle = |row: Row| match (row.item, row.raw) {
            (Some(item), _) => Ok(Ok(Some((row.seq, row.key, (item, row.in_a_group))))),
            (None, Some(e)) => {
                let item = ((self.decode(layout, &e)?, None), in_a_group(&e));
                Ok(Ok(Some((row.seq, row.key, item))))
            }
            (None, None) => Ok(Err((row.seq, row.key, row.dn))),
        };
        let reads = if page.iter().all(|r| r.item.is_some() || r.raw.is_some()) {
            page.into_iter().map(|row| settle(row).map(|r| r.ok().flatten())).collect::<Vec<_>>()
        } else {
            let whole = &attr_refs(whole);
            futures_util::stream::iter(page.into_iter().map(|row| async move {
                let (seq, key, dn) = match settle(row)? {
                    Ok(read) => return Ok(read),
                    Err(unread) => unread,
                };
                Ok::<_, StoreError>(match self.search_base(&dn, "(objectClass=*)", whole).await? {
                    Some(e) => Some((seq, key, ((self.decode(layout, &e)?, None), in_a_group(&e)))),
                    // Deleted since the search: not on the page.
                    None => None,
                })
            }))
            .buffered(IN_FLIGHT)
            .collect::<Vec<_>>()
            .await
        };
        let mut items = Vec::new();
        let mut keys = Vec::new();
        for read in reads {
            let Some((seq, key, ((d, members), in_a_group))) = read? else { continue };
            let members = match (q.kind, q.with_members, members) {
                (ResourceKind::Group, true, Some(m)) => Some(m),
                (ResourceKind::Group, true, None) => Some(self.members_of_dns(&d.member_dns).await?),
                _ => None,
            };
            if q.kind == ResourceKind::User {
                self.member_of.note(&d.id, &d.dn, in_a_group);
            }
            keys.push(Keyset { key, seq });
            items.push(stored(q.kind, d, members));
        }
        let items: Vec<StoredResource> = items;
        Ok(Page { total, items, keys })
    }
}

fn attr_refs(attrs: &[String]) -> Vec<&str> {
    attrs.iter().map(String::as_str).collect()
}

/// The order of rows: by sort key (if any), then creation sequence, then id.
fn order(a: &Row, b: &Row, descending: bool) -> Ordering {
    cmp_keys(a.key.as_ref(), b.key.as_ref(), descending).then(a.seq.cmp(&b.seq)).then_with(|| a.id.cmp(&b.id))
}

/// Whether `row` comes after the position `after`.
fn after_position(row: &Row, after: &Keyset, descending: bool) -> bool {
    cmp_keys(row.key.as_ref(), after.key.as_ref(), descending).then(row.seq.cmp(&after.seq))
        == Ordering::Greater
}

/// Whether `row` comes before the position `before`.
fn before_position(row: &Row, before: &Keyset, descending: bool) -> bool {
    cmp_keys(row.key.as_ref(), before.key.as_ref(), descending).then(row.seq.cmp(&before.seq))
        == Ordering::Less
}

/// RFC 7644 §3.4.2.3 ([`SortValue::order`]); positions without a key are equal.
fn cmp_keys(a: Option<&SortValue>, b: Option<&SortValue>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.order(b, descending),
        _ => Ordering::Equal,
    }
}

/// The value a resource sorts by (RFC 7644 §3.4.2.3: for a multi-valued attribute, the
/// primary value, else the first).
fn sort_value(key: &SortKey, d: &Decoded) -> StoreResult<SortValue> {
    let text;
    let value: Option<&Value> = match &key.path {
        ClaimPath::Column(c) => {
            let s = match c {
                Column::Id => Some(d.id.clone()),
                Column::Created => rfc3339(d.created),
                Column::LastModified => rfc3339(d.last_modified),
            };
            text = s.map(Value::String);
            text.as_ref()
        }
        ClaimPath::Claim { claim, sub: None } => match d.claims.get(claim) {
            Some(Value::Array(items)) => items.iter().find(|v| !v.is_null()),
            other => other.filter(|v| !v.is_null()),
        },
        ClaimPath::Claim { claim, sub: Some(sub) } => {
            let elements: Vec<&serde_json::Map<String, Value>> = match d.claims.get(claim) {
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
                Some(Value::Object(o)) => vec![o],
                _ => Vec::new(),
            };
            let chosen = elements
                .iter()
                .find(|e| e.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| elements.first());
            chosen.and_then(|e| e.get(sub.as_str())).filter(|v| !v.is_null())
        }
        ClaimPath::Element { .. }
        | ClaimPath::Member(MemberField::Value | MemberField::Display | MemberField::Type) => {
            return Err(StoreError::Unsupported("sorting by a member or element field".to_owned()));
        }
    };
    Ok(match value {
        None => SortValue::Null,
        Some(Value::Bool(b)) => SortValue::Integer(i64::from(*b)),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => SortValue::Integer(i),
            None => SortValue::Real(n.as_f64().unwrap_or(0.0)),
        },
        Some(Value::String(s)) => SortValue::Text(match key.attr_type {
            AttrType::DateTime => match eval::parse_instant(s) {
                Some((secs, nanos)) => canonical_instant(secs, nanos).unwrap_or_else(|| s.clone()),
                None => s.clone(),
            },
            AttrType::String | AttrType::Reference if !key.case_exact => s.to_lowercase(),
            _ => s.clone(),
        }),
        Some(other) => SortValue::Text(other.to_string()),
    })
}

/// An instant as UTC text with nine fractional digits (sorts in time order), as the SQL stores
/// sort dateTimes.
fn canonical_instant(secs: i64, nanos: u32) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Whether index lookups by the resource's id or name find every match of `filter`
/// (`ClaimFilter::narrowed_by`): the lookups a directory keeps an index for (see
/// [`Layout::narrowed`]).
fn narrowed_by_id_or_name(filter: &ClaimFilter, layout: &Layout) -> bool {
    filter.narrowed_by(&|leaf| match leaf {
        ClaimFilter::Eq { claim, .. } => claim == ID || claim == layout.name_claim,
        ClaimFilter::Compare { path, op: CompareOp::Eq, value: CompValue::Str(_), .. } => match path {
            ClaimPath::Column(Column::Id) => true,
            ClaimPath::Claim { claim, sub: None } => claim == layout.name_claim,
            _ => false,
        },
        _ => false,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn row(seq: i64, key: Option<SortValue>) -> Row {
        Row { seq, key, id: format!("i{seq}"), item: None, dn: String::new(), in_a_group: None, raw: None }
    }

    #[test]
    fn only_filters_on_meta_times_read_the_candidates_times() {
        let created = ClaimFilter::Present { path: ClaimPath::Column(Column::Created) };
        let name = ClaimFilter::Eq { claim: "userName".into(), value: "kim".into(), case_exact: false };
        assert!(!reads_times(&name));
        assert!(!reads_times(&ClaimFilter::Present { path: ClaimPath::Column(Column::Id) }));
        assert!(reads_times(&created));
        let nested = ClaimFilter::And(vec![name.clone(), ClaimFilter::Not(Box::new(created))]);
        assert!(reads_times(&ClaimFilter::Or(vec![name, nested])));
    }

    /// RFC 7644 §3.4.2.3: missing values last ascending, first descending; ties by creation.
    #[test]
    fn rows_order_by_key_then_creation_with_missing_values_at_the_end() {
        let mut rows = [
            row(3, Some(SortValue::Text("b".into()))),
            row(1, Some(SortValue::Null)),
            row(2, Some(SortValue::Text("a".into()))),
            row(4, Some(SortValue::Integer(7))),
            row(0, Some(SortValue::Text("a".into()))),
        ];
        rows.sort_by(|a, b| order(a, b, false));
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 0, 2, 3, 1]);
        rows.sort_by(|a, b| order(a, b, true));
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 3, 0, 2, 4]);
        let after = Keyset { key: Some(SortValue::Text("a".into())), seq: 0 };
        let next: Vec<i64> = rows.iter().filter(|r| after_position(r, &after, true)).map(|r| r.seq).collect();
        assert_eq!(next, [2, 4]);
        let before: Vec<i64> =
            rows.iter().filter(|r| before_position(r, &after, true)).map(|r| r.seq).collect();
        assert_eq!(before, [1, 3], "RFC 9865 previousCursor: the rows before, in order");
    }
}
