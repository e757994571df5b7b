//! The members a write names: resolved against the store (members of this store) or kept as
//! given (members of other domains), and written to `members` in one statement per kind of
//! change, whatever their number.
//!
//! Members of this store are locked `FOR KEY SHARE` while the write runs, so that a concurrent
//! delete of one waits for the write (and then removes the member with it) rather than leaving
//! a member row behind that points at nothing.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::Transaction;
use scimd_store::{Member, StoreError};

use crate::error::{OpResult, from_pg};
use crate::resource::{kind_code, kind_from_code};

/// A member as it is written to `members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub(crate) id: String,
    /// The member's row in `resources`; `None` for a member of another domain.
    pub(crate) seq: Option<i64>,
    pub(crate) kind: i16,
    pub(crate) domain: Option<String>,
    pub(crate) display: Option<String>,
}

impl Resolved {
    pub(crate) fn to_member(&self) -> OpResult<Member> {
        Ok(Member {
            id: self.id.clone(),
            kind: Some(kind_from_code(self.kind)?),
            display: self.display.clone(),
            domain: self.domain.clone(),
        })
    }
}

/// Resolves the members of the group `group_id`, the first of duplicate ids winning. A member
/// of this store must exist with the kind given (if one is): else `UnknownMember`; the group
/// itself is refused. A member of another domain is kept as given, and must say its kind.
pub(crate) async fn resolve(
    tx: &Transaction<'_>,
    group_id: &str,
    members: Vec<Member>,
) -> OpResult<Vec<Resolved>> {
    let mut seen = HashSet::with_capacity(members.len());
    let members: Vec<Member> = members.into_iter().filter(|m| seen.insert(m.id.clone())).collect();
    let local: Vec<&str> = members.iter().filter(|m| m.domain.is_none()).map(|m| m.id.as_str()).collect();
    if local.contains(&group_id) {
        return Err(StoreError::Unsupported("a group cannot be a member of itself".to_owned()).into());
    }
    let mut found: HashMap<String, (i64, i16)> = HashMap::with_capacity(local.len());
    if !local.is_empty() {
        let stmt = tx
            .prepare_cached("SELECT id, seq, kind FROM resources WHERE id = ANY($1) FOR KEY SHARE")
            .await
            .map_err(from_pg)?;
        for row in tx.query(&stmt, &[&local]).await.map_err(from_pg)? {
            found.insert(
                row.try_get(0).map_err(from_pg)?,
                (row.try_get(1).map_err(from_pg)?, row.try_get(2).map_err(from_pg)?),
            );
        }
    }
    members
        .into_iter()
        .map(|m| match m.domain {
            Some(domain) => {
                let kind = m.kind.ok_or_else(|| {
                    StoreError::Unsupported(format!("the member {} of domain {domain} has no type", m.id))
                })?;
                Ok(Resolved {
                    id: m.id,
                    seq: None,
                    kind: kind_code(kind),
                    domain: Some(domain),
                    display: m.display,
                })
            }
            None => {
                let unknown = || StoreError::UnknownMember { id: m.id.clone(), expected: m.kind };
                let &(seq, code) = found.get(&m.id).ok_or_else(unknown)?;
                if m.kind.is_some_and(|expected| kind_code(expected) != code) {
                    return Err(unknown().into());
                }
                Ok(Resolved { id: m.id, seq: Some(seq), kind: code, domain: None, display: m.display })
            }
        })
        .collect()
}

/// Appends `members` to the group at positions from `first_pos` on, in order; members already
/// there stay as they are. Returns how many were added.
pub(crate) async fn insert(
    tx: &Transaction<'_>,
    group_seq: i64,
    first_pos: i64,
    members: &[Resolved],
) -> OpResult<u64> {
    if members.is_empty() {
        return Ok(0);
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO members (group_seq, member_id, member_seq, kind, domain, display, pos) \
             SELECT $1, t.member_id, t.member_seq, t.kind, t.domain, t.display, $2 + t.ord - 1 \
             FROM unnest($3::text[], $4::int8[], $5::int2[], $6::text[], $7::text[]) \
                  WITH ORDINALITY AS t (member_id, member_seq, kind, domain, display, ord) \
             ON CONFLICT (group_seq, member_id) DO NOTHING",
        )
        .await
        .map_err(from_pg)?;
    let columns = Columns::of(members);
    tx.execute(
        &stmt,
        &[
            &group_seq,
            &first_pos,
            &columns.ids,
            &columns.seqs,
            &columns.kinds,
            &columns.domains,
            &columns.displays,
        ],
    )
    .await
    .map_err(from_pg)
}

/// The position after the group's last member (one probe of `members_group_pos`).
pub(crate) async fn next_pos(tx: &Transaction<'_>, group_seq: i64) -> OpResult<i64> {
    let stmt = tx
        .prepare_cached("SELECT coalesce(max(pos), -1) + 1 FROM members WHERE group_seq = $1")
        .await
        .map_err(from_pg)?;
    tx.query_one(&stmt, &[&group_seq]).await.map_err(from_pg)?.try_get(0).map_err(from_pg)
}

/// Removes the members `ids` of the group (ids that are not members are ignored).
pub(crate) async fn remove(tx: &Transaction<'_>, group_seq: i64, ids: &[String]) -> OpResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached("DELETE FROM members WHERE group_seq = $1 AND member_id = ANY($2)")
        .await
        .map_err(from_pg)?;
    tx.execute(&stmt, &[&group_seq, &ids]).await.map_err(from_pg)?;
    Ok(())
}

/// Removes every member of the group.
pub(crate) async fn clear(tx: &Transaction<'_>, group_seq: i64) -> OpResult<()> {
    let stmt = tx.prepare_cached("DELETE FROM members WHERE group_seq = $1").await.map_err(from_pg)?;
    tx.execute(&stmt, &[&group_seq]).await.map_err(from_pg)?;
    Ok(())
}

/// Makes the group's members exactly `wanted` (a PUT), writing only the difference: members
/// gone are deleted, new ones appended after the last position (in the order given), kept ones
/// keep their position and are rewritten only if their kind, domain or display changed.
/// Returns the members in their stored order.
pub(crate) async fn replace(
    tx: &Transaction<'_>,
    group_seq: i64,
    wanted: Vec<Resolved>,
) -> OpResult<Vec<Resolved>> {
    let stmt = tx
        .prepare_cached(
            "SELECT member_id, member_seq, kind, domain, display, pos FROM members \
             WHERE group_seq = $1 ORDER BY pos",
        )
        .await
        .map_err(from_pg)?;
    let mut existing: Vec<(Resolved, i64)> = Vec::new();
    for row in tx.query(&stmt, &[&group_seq]).await.map_err(from_pg)? {
        existing.push((
            Resolved {
                id: row.try_get(0).map_err(from_pg)?,
                seq: row.try_get(1).map_err(from_pg)?,
                kind: row.try_get(2).map_err(from_pg)?,
                domain: row.try_get(3).map_err(from_pg)?,
                display: row.try_get(4).map_err(from_pg)?,
            },
            row.try_get(5).map_err(from_pg)?,
        ));
    }
    let next = existing.last().map_or(0, |(_, pos)| pos + 1);
    let mut wanted_by_id: HashMap<&str, &Resolved> = wanted.iter().map(|m| (m.id.as_str(), m)).collect();
    let mut kept = Vec::with_capacity(wanted.len());
    let mut changed = Vec::new();
    let mut gone = Vec::new();
    for (old, _) in &existing {
        match wanted_by_id.remove(old.id.as_str()) {
            Some(new) => {
                if new != old {
                    changed.push(new.clone());
                }
                kept.push(new.clone());
            }
            None => gone.push(old.id.clone()),
        }
    }
    let added: Vec<Resolved> =
        wanted.iter().filter(|m| wanted_by_id.contains_key(m.id.as_str())).cloned().collect();
    remove(tx, group_seq, &gone).await?;
    update(tx, group_seq, &changed).await?;
    insert(tx, group_seq, next, &added).await?;
    kept.extend(added);
    Ok(kept)
}

/// Rewrites the kind, domain, row and display of members kept by a PUT.
async fn update(tx: &Transaction<'_>, group_seq: i64, members: &[Resolved]) -> OpResult<()> {
    if members.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached(
            "UPDATE members AS m SET member_seq = t.member_seq, kind = t.kind, domain = t.domain, \
             display = t.display \
             FROM unnest($2::text[], $3::int8[], $4::int2[], $5::text[], $6::text[]) \
                  AS t (member_id, member_seq, kind, domain, display) \
             WHERE m.group_seq = $1 AND m.member_id = t.member_id",
        )
        .await
        .map_err(from_pg)?;
    let columns = Columns::of(members);
    tx.execute(
        &stmt,
        &[&group_seq, &columns.ids, &columns.seqs, &columns.kinds, &columns.domains, &columns.displays],
    )
    .await
    .map_err(from_pg)?;
    Ok(())
}

/// Members as column arrays, for `unnest`.
struct Columns<'a> {
    ids: Vec<&'a str>,
    seqs: Vec<Option<i64>>,
    kinds: Vec<i16>,
    domains: Vec<Option<&'a str>>,
    displays: Vec<Option<&'a str>>,
}

impl<'a> Columns<'a> {
    fn of(members: &'a [Resolved]) -> Columns<'a> {
        Columns {
            ids: members.iter().map(|m| m.id.as_str()).collect(),
            seqs: members.iter().map(|m| m.seq).collect(),
            kinds: members.iter().map(|m| m.kind).collect(),
            domains: members.iter().map(|m| m.domain.as_deref()).collect(),
            displays: members.iter().map(|m| m.display.as_deref()).collect(),
        }
    }
}
