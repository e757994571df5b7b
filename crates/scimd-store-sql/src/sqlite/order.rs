//! The creation order of each kind's resources, kept in memory beside the database.
//!
//! Listing without a filter is what clients do to walk a store (`startIndex=50001&count=100`).
//! In SQL that is an `OFFSET` walk over the index, and a `count(*)`, both growing with the
//! store. With the order in memory (8 bytes a resource), the page starts at a known `seq` and
//! the total is a length: the work grows with the page, not with the store.
//!
//! Kept true by the writer: it is updated after each commit that adds or removes a resource,
//! under the writer connection (so in commit order), and loaded from the table at open. The
//! embedded store has one process; that is what makes an in-process index safe.

use std::sync::RwLock;

use rusqlite::Connection;
use scimd_store::{ResourceKind, StoreResult};

use super::error::{from_sqlite, poisoned};
use super::resource::kind_from_code;

/// The `seq`s of each kind, ascending.
#[derive(Debug, Default)]
pub(crate) struct Order {
    kinds: RwLock<[Vec<i64>; 2]>,
}

fn slot(kind: ResourceKind) -> usize {
    match kind {
        ResourceKind::User => 0,
        ResourceKind::Group => 1,
    }
}

impl Order {
    /// Loads the order from the database.
    pub(crate) fn load(conn: &Connection) -> StoreResult<Order> {
        let mut kinds: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
        let mut stmt = conn.prepare("SELECT kind, seq FROM resources ORDER BY seq").map_err(from_sqlite)?;
        let mut rows = stmt.query([]).map_err(from_sqlite)?;
        while let Some(row) = rows.next().map_err(from_sqlite)? {
            let kind = kind_from_code(row.get(0).map_err(from_sqlite)?)?;
            kinds[slot(kind)].push(row.get(1).map_err(from_sqlite)?);
        }
        Ok(Order { kinds: RwLock::new(kinds) })
    }

    /// Records a committed creation (seqs only grow, so this appends).
    pub(crate) fn added(&self, kind: ResourceKind, seq: i64) -> StoreResult<()> {
        let mut kinds = self.kinds.write().map_err(poisoned)?;
        let list = &mut kinds[slot(kind)];
        match list.last() {
            Some(&last) if last > seq => {
                let at = list.partition_point(|&s| s < seq);
                list.insert(at, seq);
            }
            _ => list.push(seq),
        }
        Ok(())
    }

    /// Records a committed deletion.
    pub(crate) fn removed(&self, kind: ResourceKind, seq: i64) -> StoreResult<()> {
        let mut kinds = self.kinds.write().map_err(poisoned)?;
        let list = &mut kinds[slot(kind)];
        if let Ok(at) = list.binary_search(&seq) {
            list.remove(at);
        }
        Ok(())
    }

    /// How many resources of the kind there are, and the `seq` at `offset` in creation order.
    pub(crate) fn window(&self, kind: ResourceKind, offset: u64) -> StoreResult<(u64, Option<i64>)> {
        let kinds = self.kinds.read().map_err(poisoned)?;
        let list = &kinds[slot(kind)];
        let start = usize::try_from(offset).ok().and_then(|o| list.get(o).copied());
        Ok((list.len() as u64, start))
    }

    /// How many resources of the kind there are, and the first `seq` after `after` (keyset
    /// paging in creation order: a binary search, whatever was created or deleted meanwhile).
    pub(crate) fn after(&self, kind: ResourceKind, after: i64) -> StoreResult<(u64, Option<i64>)> {
        let kinds = self.kinds.read().map_err(poisoned)?;
        let list = &kinds[slot(kind)];
        let at = list.partition_point(|&s| s <= after);
        Ok((list.len() as u64, list.get(at).copied()))
    }

    /// How many resources of the kind there are, and the first `seq` and length of the last
    /// `limit` before `before` (the end: `None`): a backward keyset page in creation order.
    pub(crate) fn before(
        &self,
        kind: ResourceKind,
        before: Option<i64>,
        limit: u64,
    ) -> StoreResult<(u64, Option<i64>, u64)> {
        let kinds = self.kinds.read().map_err(poisoned)?;
        let list = &kinds[slot(kind)];
        let end = before.map_or(list.len(), |b| list.partition_point(|&s| s < b));
        let start = end.saturating_sub(usize::try_from(limit).unwrap_or(usize::MAX));
        let first = if start < end { list.get(start).copied() } else { None };
        Ok((list.len() as u64, first, (end - start) as u64))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn window_follows_additions_and_removals_per_kind() {
        let o = Order::default();
        for s in [1, 2, 5, 9] {
            o.added(ResourceKind::User, s).unwrap();
        }
        o.added(ResourceKind::Group, 3).unwrap();
        assert_eq!(o.window(ResourceKind::User, 0).unwrap(), (4, Some(1)));
        assert_eq!(o.window(ResourceKind::User, 2).unwrap(), (4, Some(5)));
        assert_eq!(o.window(ResourceKind::User, 4).unwrap(), (4, None));
        o.removed(ResourceKind::User, 2).unwrap();
        assert_eq!(o.window(ResourceKind::User, 1).unwrap(), (3, Some(5)));
        assert_eq!(o.window(ResourceKind::Group, 0).unwrap(), (1, Some(3)));
        o.added(ResourceKind::User, 4).unwrap();
        assert_eq!(o.window(ResourceKind::User, 1).unwrap(), (4, Some(4)));
    }

    /// RFC 9865 `previousCursor`: the last `limit` before a position, or before the end.
    #[test]
    fn before_finds_the_last_seqs_before_a_position() {
        let o = Order::default();
        for s in [1, 2, 5, 9] {
            o.added(ResourceKind::User, s).unwrap();
        }
        assert_eq!(o.before(ResourceKind::User, Some(9), 2).unwrap(), (4, Some(2), 2));
        assert_eq!(o.before(ResourceKind::User, Some(6), 5).unwrap(), (4, Some(1), 3), "fewer than asked");
        assert_eq!(o.before(ResourceKind::User, Some(1), 2).unwrap(), (4, None, 0), "nothing before");
        assert_eq!(o.before(ResourceKind::User, None, 3).unwrap(), (4, Some(2), 3), "before the end");
        assert_eq!(o.before(ResourceKind::Group, None, 3).unwrap(), (0, None, 0));
    }
}
