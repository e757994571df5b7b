//! Writes: create, replace, delete. Each runs in one `BEGIN IMMEDIATE` transaction on the
//! writer connection; a create, in the transaction of its batch (see `batch`), under a
//! savepoint of its own.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use scimd_store::{
    Member, MemberChange, NewResource, Replacement, ResourceKind, StoreError, StoreResult, StoredResource,
};
use time::OffsetDateTime;

use super::error::from_sqlite;
use super::read::load_members;
use super::resource::{
    Derived, claims_to_json, fold_case, format_time, kind_code, kind_from_code, to_db_int, to_utc,
    version_from_db,
};

/// Creates a resource; returns it with its `seq` (its place in creation order).
#[cfg(test)]
pub(crate) fn create(conn: &mut Connection, new: NewResource) -> StoreResult<(i64, StoredResource)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
    let created = create_in(&tx, new)?;
    tx.commit().map_err(from_sqlite)?;
    Ok(created)
}

/// Creates a resource within the transaction (or savepoint) `conn` is in; returns it with its
/// `seq`. Nothing is committed: see `batch`, which commits several creates at once.
pub(crate) fn create_in(conn: &Connection, new: NewResource) -> StoreResult<(i64, StoredResource)> {
    if new.kind == ResourceKind::User && !new.members.is_empty() {
        return Err(StoreError::Unsupported("a user has no members".to_owned()));
    }
    // Ids compare without regard to case (`members.value`, RFC 7643 §4.2): kept folded, an id
    // is found by the unique index on its folded form. The server generates them lower-case.
    if new.id != fold_case(&new.id) {
        return Err(StoreError::Unsupported(format!(
            "the resource id \"{}\" has upper-case letters; this store keeps ids lower-case",
            new.id
        )));
    }
    let now = to_utc(new.now)?;
    let now_text = format_time(now)?;
    let derived = Derived::of(new.kind, &new.claims);
    let claims_json = claims_to_json(&new.claims)?;

    conn.prepare_cached(
        "INSERT INTO resources (id, kind, user_name_ci, external_id, display_name_ci, family_name_ci, \
         created, last_modified, version, claims) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1, ?8)",
    )
    .map_err(from_sqlite)?
    .execute(params![
        new.id,
        kind_code(new.kind),
        derived.user_name_ci,
        derived.external_id,
        derived.display_name_ci,
        derived.family_name_ci,
        now_text,
        claims_json,
    ])
    .map_err(from_sqlite)?;
    let seq = conn.last_insert_rowid();
    insert_emails(conn, seq, &derived)?;

    let members = match new.kind {
        ResourceKind::Group => {
            let resolved = resolve_members(conn, &new.id, new.members)?;
            for (pos, m) in (0_i64..).zip(&resolved) {
                insert_member(conn, seq, m, pos)?;
            }
            Some(resolved.into_iter().map(|m| m.member).collect())
        }
        ResourceKind::User => None,
    };
    Ok((
        seq,
        StoredResource {
            id: new.id,
            kind: new.kind,
            claims: new.claims,
            created: now,
            last_modified: now,
            version: 1,
            members,
        },
    ))
}

/// The row of a stored resource that a write checks against.
struct Current {
    seq: i64,
    version: u64,
    created: String,
}

/// The stored resource `id` of `kind`, checked against `expected_version`.
fn current(
    conn: &Connection,
    kind: ResourceKind,
    id: &str,
    expected_version: Option<u64>,
) -> StoreResult<Current> {
    let row = conn
        .prepare_cached("SELECT seq, kind, version, created FROM resources WHERE id = ?1")
        .map_err(from_sqlite)?
        .query_row([id], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .optional()
        .map_err(from_sqlite)?;
    let not_found = || StoreError::NotFound { kind, id: id.to_owned() };
    let (seq, stored_kind, version, created) = row.ok_or_else(not_found)?;
    if kind_from_code(stored_kind)? != kind {
        return Err(not_found());
    }
    let version = version_from_db(version)?;
    if expected_version.is_some_and(|expected| expected != version) {
        return Err(StoreError::VersionMismatch { current: version });
    }
    Ok(Current { seq, version, created })
}

pub(crate) fn replace(conn: &mut Connection, rep: Replacement) -> StoreResult<StoredResource> {
    if rep.kind == ResourceKind::User && rep.members.as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(StoreError::Unsupported("a user has no members".to_owned()));
    }
    let now = to_utc(rep.now)?;
    let now_text = format_time(now)?;
    let derived = Derived::of(rep.kind, &rep.claims);
    let claims_json = claims_to_json(&rep.claims)?;

    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
    let cur = current(&tx, rep.kind, &rep.id, rep.expected_version)?;
    let version = cur.version + 1;
    update_row(&tx, cur.seq, &derived, &claims_json, &now_text, version)?;

    let members = match (rep.kind, rep.members) {
        (ResourceKind::Group, Some(members)) => {
            let resolved = resolve_members(&tx, &rep.id, members)?;
            replace_members(&tx, cur.seq, resolved)?;
            Some(load_members(&tx, cur.seq)?)
        }
        _ => None,
    };
    tx.commit().map_err(from_sqlite)?;
    Ok(StoredResource {
        id: rep.id,
        kind: rep.kind,
        claims: rep.claims,
        created: super::resource::parse_time(&cur.created)?,
        last_modified: now,
        version,
        members,
    })
}

/// Deletes `id`; the foreign keys remove it from every group and remove its own member rows.
/// The groups it leaves get a new version and lastModified (`now`), in the same transaction.
pub(crate) fn delete(
    conn: &mut Connection,
    kind: ResourceKind,
    id: &str,
    expected_version: Option<u64>,
    now: OffsetDateTime,
) -> StoreResult<i64> {
    let now_text = format_time(now)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
    let cur = current(&tx, kind, id, expected_version)?;
    tx.prepare_cached(
        "UPDATE resources SET version = version + 1, last_modified = ?1 \
         WHERE seq IN (SELECT group_seq FROM members WHERE member_seq = ?2)",
    )
    .map_err(from_sqlite)?
    .execute(params![now_text, cur.seq])
    .map_err(from_sqlite)?;
    tx.prepare_cached("DELETE FROM resources WHERE seq = ?1")
        .map_err(from_sqlite)?
        .execute([cur.seq])
        .map_err(from_sqlite)?;
    tx.commit().map_err(from_sqlite)?;
    Ok(cur.seq)
}

/// A member resolved against the store: its row here, or `None` for a member of another
/// domain (kept by id in `external_members`).
struct Resolved {
    seq: Option<i64>,
    member: Member,
}

/// Inserts a member row at `pos`, unless the member is there already; returns whether it was
/// inserted.
fn insert_member(conn: &Connection, group_seq: i64, m: &Resolved, pos: i64) -> StoreResult<bool> {
    let inserted = match (m.seq, &m.member.domain) {
        (Some(member_seq), _) => conn
            .prepare_cached(
                "INSERT INTO members (group_seq, member_seq, pos, display) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (group_seq, member_seq) DO NOTHING",
            )
            .map_err(from_sqlite)?
            .execute(params![group_seq, member_seq, pos, m.member.display])
            .map_err(from_sqlite)?,
        (None, domain) => conn
            .prepare_cached(
                "INSERT INTO external_members (group_seq, member_id, kind, domain, pos, display, member_id_ci) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (group_seq, member_id) DO NOTHING",
            )
            .map_err(from_sqlite)?
            .execute(params![
                group_seq,
                m.member.id,
                kind_code(m.member.kind.unwrap_or(ResourceKind::User)),
                domain.as_deref().unwrap_or(""),
                pos,
                m.member.display,
                fold_case(&m.member.id),
            ])
            .map_err(from_sqlite)?,
    };
    Ok(inserted > 0)
}

/// The position after the last member of a group, of this store or another domain.
fn next_position(conn: &Connection, group_seq: i64) -> StoreResult<i64> {
    conn.prepare_cached(
        "SELECT max(coalesce((SELECT max(pos) FROM members WHERE group_seq = ?1), -1), \
                    coalesce((SELECT max(pos) FROM external_members WHERE group_seq = ?1), -1)) + 1",
    )
    .map_err(from_sqlite)?
    .query_row([group_seq], |row| row.get(0))
    .map_err(from_sqlite)
}

/// Drops the member `id` of another domain from every group here; those groups get a new
/// version and lastModified.
pub(crate) fn forget_member(conn: &mut Connection, id: &str, now: OffsetDateTime) -> StoreResult<()> {
    let now_text = format_time(now)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
    tx.prepare_cached(
        "UPDATE resources SET version = version + 1, last_modified = ?1 \
         WHERE seq IN (SELECT group_seq FROM external_members WHERE member_id = ?2)",
    )
    .map_err(from_sqlite)?
    .execute(params![now_text, id])
    .map_err(from_sqlite)?;
    tx.prepare_cached("DELETE FROM external_members WHERE member_id = ?1")
        .map_err(from_sqlite)?
        .execute([id])
        .map_err(from_sqlite)?;
    tx.commit().map_err(from_sqlite)?;
    Ok(())
}

/// Writes a resource's new claims, the columns derived from them, and its new version.
fn update_row(
    conn: &Connection,
    seq: i64,
    derived: &Derived,
    claims_json: &str,
    now_text: &str,
    version: u64,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE resources SET user_name_ci = ?1, external_id = ?2, display_name_ci = ?3, \
         family_name_ci = ?8, last_modified = ?4, version = ?5, claims = ?6 WHERE seq = ?7",
    )
    .map_err(from_sqlite)?
    .execute(params![
        derived.user_name_ci,
        derived.external_id,
        derived.display_name_ci,
        now_text,
        to_db_int(version),
        claims_json,
        seq,
        derived.family_name_ci,
    ])
    .map_err(from_sqlite)?;
    conn.prepare_cached("DELETE FROM user_emails WHERE seq = ?1")
        .map_err(from_sqlite)?
        .execute([seq])
        .map_err(from_sqlite)?;
    insert_emails(conn, seq, derived)
}

/// The `user_emails` rows of a resource (users only have any).
fn insert_emails(conn: &Connection, seq: i64, derived: &Derived) -> StoreResult<()> {
    if derived.emails.is_empty() {
        return Ok(());
    }
    let mut insert = conn
        .prepare_cached("INSERT INTO user_emails (seq, pos, type_ci, value_ci) VALUES (?1, ?2, ?3, ?4)")
        .map_err(from_sqlite)?;
    for row in &derived.emails {
        insert.execute(params![seq, row.pos, row.type_ci, row.value_ci]).map_err(from_sqlite)?;
    }
    Ok(())
}

/// Changes a group's members naming only those changed: removals by (group, member) key,
/// additions appended after the current last position (`members_group_pos` gives it in one
/// probe). Nothing reads or rewrites the members that stay.
pub(crate) fn change_members(conn: &mut Connection, ch: MemberChange) -> StoreResult<StoredResource> {
    let now = to_utc(ch.now)?;
    let now_text = format_time(now)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
    let cur = current(&tx, ResourceKind::Group, &ch.group_id, ch.expected_version)?;
    if ch.clear {
        for table in
            ["DELETE FROM members WHERE group_seq = ?1", "DELETE FROM external_members WHERE group_seq = ?1"]
        {
            tx.prepare_cached(table).map_err(from_sqlite)?.execute([cur.seq]).map_err(from_sqlite)?;
        }
    }
    {
        let mut remove = tx
            .prepare_cached(
                "DELETE FROM members WHERE group_seq = ?1 \
                 AND member_seq = (SELECT seq FROM resources WHERE id = ?2)",
            )
            .map_err(from_sqlite)?;
        let mut remove_external = tx
            .prepare_cached("DELETE FROM external_members WHERE group_seq = ?1 AND member_id = ?2")
            .map_err(from_sqlite)?;
        for id in &ch.remove {
            remove.execute(params![cur.seq, id]).map_err(from_sqlite)?;
            remove_external.execute(params![cur.seq, id]).map_err(from_sqlite)?;
        }
    }
    if !ch.add.is_empty() {
        let resolved = resolve_members(&tx, &ch.group_id, ch.add)?;
        let mut pos = next_position(&tx, cur.seq)?;
        for m in &resolved {
            if insert_member(&tx, cur.seq, m, pos)? {
                pos += 1;
            }
        }
    }
    let version = cur.version + 1;
    match &ch.claims {
        Some(claims) => {
            let derived = Derived::of(ResourceKind::Group, claims);
            update_row(&tx, cur.seq, &derived, &claims_to_json(claims)?, &now_text, version)?;
        }
        None => {
            tx.prepare_cached("UPDATE resources SET last_modified = ?1, version = ?2 WHERE seq = ?3")
                .map_err(from_sqlite)?
                .execute(params![now_text, to_db_int(version), cur.seq])
                .map_err(from_sqlite)?;
        }
    }
    let (_, stored) = super::read::get_by_id(&tx, &ch.group_id)?
        .ok_or_else(|| StoreError::NotFound { kind: ResourceKind::Group, id: ch.group_id.clone() })?;
    tx.commit().map_err(from_sqlite)?;
    Ok(stored)
}

/// Resolves each member id, first occurrence wins for duplicates. An unknown id, or a kind that
/// differs from the stored one, is `UnknownMember`; the group itself is refused as a member.
fn resolve_members(conn: &Connection, group_id: &str, members: Vec<Member>) -> StoreResult<Vec<Resolved>> {
    let mut lookup =
        conn.prepare_cached("SELECT seq, kind FROM resources WHERE id = ?1").map_err(from_sqlite)?;
    let mut seen = HashSet::with_capacity(members.len());
    let mut out = Vec::with_capacity(members.len());
    for member in members {
        if !seen.insert(member.id.clone()) {
            continue;
        }
        if member.id == group_id {
            return Err(StoreError::Unsupported("a group cannot be a member of itself".to_owned()));
        }
        if member.domain.is_some() {
            // A member of another domain, checked there by the router: kept as given.
            if member.kind.is_none() {
                return Err(StoreError::UnknownMember { id: member.id, expected: None });
            }
            out.push(Resolved { seq: None, member });
            continue;
        }
        let found = lookup
            .query_row([&member.id], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))
            .optional()
            .map_err(from_sqlite)?;
        let unknown = || StoreError::UnknownMember { id: member.id.clone(), expected: member.kind };
        let (seq, kind) = found.ok_or_else(unknown)?;
        let kind = kind_from_code(kind)?;
        if member.kind.is_some_and(|expected| expected != kind) {
            return Err(unknown());
        }
        out.push(Resolved {
            seq: Some(seq),
            member: Member { id: member.id, kind: Some(kind), display: member.display, domain: None },
        });
    }
    Ok(out)
}

/// Makes the group's members exactly `wanted`, writing only the difference: removed members are
/// deleted, new ones appended after the current last position (in request order), kept ones
/// keep their position and get their display updated only if it changed.
fn replace_members(conn: &Connection, group_seq: i64, wanted: Vec<Resolved>) -> StoreResult<()> {
    // Current members by key: the member's seq here, or its id for another domain's.
    #[derive(PartialEq, Eq, Hash)]
    enum Key {
        Here(i64),
        Elsewhere(String),
    }
    let mut existing: HashMap<Key, Option<String>> = HashMap::new();
    {
        let mut stmt = conn
            .prepare_cached("SELECT member_seq, display FROM members WHERE group_seq = ?1")
            .map_err(from_sqlite)?;
        let mut rows = stmt.query([group_seq]).map_err(from_sqlite)?;
        while let Some(row) = rows.next().map_err(from_sqlite)? {
            existing.insert(Key::Here(row.get(0).map_err(from_sqlite)?), row.get(1).map_err(from_sqlite)?);
        }
        let mut stmt = conn
            .prepare_cached("SELECT member_id, display FROM external_members WHERE group_seq = ?1")
            .map_err(from_sqlite)?;
        let mut rows = stmt.query([group_seq]).map_err(from_sqlite)?;
        while let Some(row) = rows.next().map_err(from_sqlite)? {
            existing
                .insert(Key::Elsewhere(row.get(0).map_err(from_sqlite)?), row.get(1).map_err(from_sqlite)?);
        }
    }
    let mut next_pos = next_position(conn, group_seq)?;
    for m in wanted {
        let key = match m.seq {
            Some(seq) => Key::Here(seq),
            None => Key::Elsewhere(m.member.id.clone()),
        };
        match existing.remove(&key) {
            Some(display) if display == m.member.display => {}
            Some(_) => {
                let sql = match key {
                    Key::Here(_) => {
                        "UPDATE members SET display = ?3 WHERE group_seq = ?1 AND member_seq = ?2"
                    }
                    Key::Elsewhere(_) => {
                        "UPDATE external_members SET display = ?3 WHERE group_seq = ?1 AND member_id = ?2"
                    }
                };
                let target = match &key {
                    Key::Here(seq) => rusqlite::types::Value::Integer(*seq),
                    Key::Elsewhere(id) => rusqlite::types::Value::Text(id.clone()),
                };
                conn.prepare_cached(sql)
                    .map_err(from_sqlite)?
                    .execute(params![group_seq, target, m.member.display])
                    .map_err(from_sqlite)?;
            }
            None => {
                insert_member(conn, group_seq, &m, next_pos)?;
                next_pos += 1;
            }
        }
    }
    for key in existing.into_keys() {
        match key {
            Key::Here(member_seq) => conn
                .prepare_cached("DELETE FROM members WHERE group_seq = ?1 AND member_seq = ?2")
                .map_err(from_sqlite)?
                .execute([group_seq, member_seq])
                .map_err(from_sqlite)?,
            Key::Elsewhere(id) => conn
                .prepare_cached("DELETE FROM external_members WHERE group_seq = ?1 AND member_id = ?2")
                .map_err(from_sqlite)?
                .execute(params![group_seq, id])
                .map_err(from_sqlite)?,
        };
    }
    Ok(())
}

/// Removes `claim` from every resource of `kind` that has it; returns how many had it.
pub(crate) fn remove_claim(conn: &mut Connection, kind: ResourceKind, claim: &str) -> StoreResult<u64> {
    let path = super::filter::json_path(claim)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(from_sqlite)?;
    let changed = tx
        .prepare_cached(
            "UPDATE resources SET claims = json_remove(claims, ?2) \
             WHERE kind = ?1 AND json_type(claims, ?2) IS NOT NULL",
        )
        .map_err(from_sqlite)?
        .execute(params![kind_code(kind), path])
        .map_err(from_sqlite)?;
    // What is derived from the claim goes with it.
    if kind == ResourceKind::User && claim == scimd_claims::claims::EMAILS {
        tx.execute("DELETE FROM user_emails", []).map_err(from_sqlite)?;
    }
    if kind == ResourceKind::User && claim == scimd_claims::claims::FAMILY_NAME {
        tx.execute("UPDATE resources SET family_name_ci = NULL WHERE kind = 1", []).map_err(from_sqlite)?;
    }
    tx.commit().map_err(from_sqlite)?;
    Ok(changed as u64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use scimd_claims::claims::{GROUP_DISPLAY_NAME, USER_NAME};
    use scimd_store::Claims;
    use serde_json::json;

    fn conn() -> Connection {
        // As the store opens its connections (its SQL functions registered), but in memory.
        let mut conn = super::super::connect(std::path::Path::new(":memory:"), &Default::default()).unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn claims(claim: &str, value: &str) -> Claims {
        [(claim.to_owned(), json!(value))].into_iter().collect()
    }

    fn member(id: &str) -> Member {
        Member::new(id, None, None)
    }

    #[test]
    fn remove_claim_drops_it_from_every_resource_of_the_kind_that_has_it() {
        let mut conn = conn();
        let now = OffsetDateTime::UNIX_EPOCH;
        for (id, devices) in [("a", Some(json!(["d1"]))), ("b", None), ("c", Some(json!(["d2", "d3"])))] {
            let mut c = claims(USER_NAME, id);
            if let Some(d) = devices {
                c.insert("urn:scimd:claims:devices", d);
            }
            create(
                &mut conn,
                NewResource { id: id.into(), kind: ResourceKind::User, claims: c, members: vec![], now },
            )
            .unwrap();
        }
        assert_eq!(remove_claim(&mut conn, ResourceKind::User, "urn:scimd:claims:devices").unwrap(), 2);
        assert_eq!(remove_claim(&mut conn, ResourceKind::User, "urn:scimd:claims:devices").unwrap(), 0);
        let left: i64 = conn
            .query_row("SELECT count(*) FROM resources WHERE claims LIKE '%devices%'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
        let user_names: i64 = conn
            .query_row("SELECT count(*) FROM resources WHERE json_type(claims, '$.\"urn:scimd:claims:userName\"') IS NOT NULL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(user_names, 3, "other claims stay");
    }

    #[test]
    fn replace_of_big_group_adding_one_member_writes_only_the_difference() {
        let mut conn = conn();
        let now = OffsetDateTime::UNIX_EPOCH;
        let ids: Vec<String> = (0..10_001).map(|i| format!("u{i}")).collect();
        for id in &ids {
            let new = NewResource {
                id: id.clone(),
                kind: ResourceKind::User,
                claims: claims(USER_NAME, id),
                members: vec![],
                now,
            };
            create(&mut conn, new).unwrap();
        }
        let group = NewResource {
            id: "g".to_owned(),
            kind: ResourceKind::Group,
            claims: claims(GROUP_DISPLAY_NAME, "big"),
            members: ids[..10_000].iter().map(|id| member(id)).collect(),
            now,
        };
        create(&mut conn, group).unwrap();

        let before = conn.total_changes();
        let rep = Replacement {
            id: "g".to_owned(),
            kind: ResourceKind::Group,
            expected_version: Some(1),
            claims: claims(GROUP_DISPLAY_NAME, "big"),
            members: Some(ids.iter().map(|id| member(id)).collect()),
            now,
        };
        let stored = replace(&mut conn, rep).unwrap();
        // One UPDATE of the group's row, one INSERT of the new member; nothing else.
        assert_eq!(conn.total_changes() - before, 2);
        let members = stored.members.unwrap();
        assert_eq!(members.len(), 10_001);
        assert!(members.iter().map(|m| m.id.as_str()).eq(ids.iter().map(String::as_str)));
    }
}
