//! Writes: create, replace, change_members, delete, forget_member, remove_claim.
//!
//! A write that is one statement runs as one (autocommit); one that needs several runs them
//! in one READ COMMITTED transaction whose first statement locks the row written (the version
//! bump), so that what follows sees every write committed before it and none after. Each
//! function is one attempt: the store runs it again on a serialization failure or a deadlock.

use deadpool_postgres::Object;
use scimd_store::{MemberChange, NewResource, Replacement, ResourceKind, StoreError, StoredResource};
use time::OffsetDateTime;

use crate::error::{OpResult, from_pg};
use crate::members::{self, Resolved};
use crate::resource::{
    ClaimsFromDb, ClaimsJson, format_time, kind_code, kind_from_code, parse_time, to_utc, version_from_db,
    version_to_db,
};

pub(crate) async fn create(client: &mut Object, new: &NewResource) -> OpResult<StoredResource> {
    if new.kind == ResourceKind::User && !new.members.is_empty() {
        return Err(StoreError::Unsupported("a user has no members".to_owned()).into());
    }
    let now = to_utc(new.now)?;
    let now_text = format_time(now)?;
    const INSERT: &str = "INSERT INTO resources (id, kind, created, last_modified, version, claims) \
                          VALUES ($1, $2, $3, $3, 1, $4) RETURNING seq";
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&new.id, &kind_code(new.kind), &now_text, &ClaimsJson(&new.claims)];
    let members = if new.kind == ResourceKind::Group && !new.members.is_empty() {
        let tx = client.transaction().await.map_err(from_pg)?;
        let stmt = tx.prepare_cached(INSERT).await.map_err(from_pg)?;
        let seq: i64 = tx.query_one(&stmt, &params).await.map_err(from_pg)?.try_get(0).map_err(from_pg)?;
        let resolved = members::resolve(&tx, &new.id, new.members.clone()).await?;
        members::insert(&tx, seq, 0, &resolved).await?;
        tx.commit().await.map_err(from_pg)?;
        Some(resolved.iter().map(Resolved::to_member).collect::<OpResult<Vec<_>>>()?)
    } else {
        let stmt = client.prepare_cached(INSERT).await.map_err(from_pg)?;
        client.execute(&stmt, &params).await.map_err(from_pg)?;
        (new.kind == ResourceKind::Group).then(Vec::new)
    };
    Ok(StoredResource {
        id: new.id.clone(),
        kind: new.kind,
        claims: new.claims.clone(),
        created: now,
        last_modified: now,
        version: 1,
        members,
    })
}

/// Why a conditional write of `id` touched no row: it is absent, of another kind, or at
/// another version than `expected`.
async fn missed(client: &Object, kind: ResourceKind, id: &str) -> OpResult<StoreError> {
    let stmt =
        client.prepare_cached("SELECT kind, version FROM resources WHERE id = $1").await.map_err(from_pg)?;
    let not_found = || StoreError::NotFound { kind, id: id.to_owned() };
    let Some(row) = client.query_opt(&stmt, &[&id]).await.map_err(from_pg)? else { return Ok(not_found()) };
    if kind_from_code(row.try_get(0).map_err(from_pg)?)? != kind {
        return Ok(not_found());
    }
    Ok(StoreError::VersionMismatch { current: version_from_db(row.try_get(1).map_err(from_pg)?)? })
}

/// The version bump that starts every write of an existing resource: claims (if given),
/// lastModified and version, on the stored version `expected` if given. Returns seq, new
/// version, created, claims.
const BUMP: &str = "UPDATE resources SET claims = coalesce($1, claims), last_modified = $2, version = version + 1 \
                    WHERE id = $3 AND kind = $4 AND ($5::int8 IS NULL OR version = $5) \
                    RETURNING seq, version, created, claims";

struct Bumped {
    seq: i64,
    version: u64,
    created: OffsetDateTime,
    claims: scimd_store::Claims,
}

fn bumped(row: &tokio_postgres::Row) -> OpResult<Bumped> {
    let ClaimsFromDb(claims) = row.try_get(3).map_err(from_pg)?;
    Ok(Bumped {
        seq: row.try_get(0).map_err(from_pg)?,
        version: version_from_db(row.try_get(1).map_err(from_pg)?)?,
        created: parse_time(row.try_get(2).map_err(from_pg)?)?,
        claims,
    })
}

pub(crate) async fn replace(client: &mut Object, rep: &Replacement) -> OpResult<StoredResource> {
    if rep.kind == ResourceKind::User && rep.members.as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(StoreError::Unsupported("a user has no members".to_owned()).into());
    }
    let now = to_utc(rep.now)?;
    let now_text = format_time(now)?;
    let expected = rep.expected_version.map(version_to_db).transpose()?;
    let claims = Some(ClaimsJson(&rep.claims));
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
        [&claims, &now_text, &rep.id, &kind_code(rep.kind), &expected];
    let (row, members) = match (&rep.members, rep.kind) {
        (Some(wanted), ResourceKind::Group) => {
            let tx = client.transaction().await.map_err(from_pg)?;
            let stmt = tx.prepare_cached(BUMP).await.map_err(from_pg)?;
            let Some(row) = tx.query_opt(&stmt, &params).await.map_err(from_pg)? else {
                drop(tx);
                return Err(missed(client, rep.kind, &rep.id).await?.into());
            };
            let seq: i64 = row.try_get(0).map_err(from_pg)?;
            let resolved = members::resolve(&tx, &rep.id, wanted.clone()).await?;
            let stored = members::replace(&tx, seq, resolved).await?;
            tx.commit().await.map_err(from_pg)?;
            (row, Some(stored.iter().map(Resolved::to_member).collect::<OpResult<Vec<_>>>()?))
        }
        _ => {
            let stmt = client.prepare_cached(BUMP).await.map_err(from_pg)?;
            let Some(row) = client.query_opt(&stmt, &params).await.map_err(from_pg)? else {
                return Err(missed(client, rep.kind, &rep.id).await?.into());
            };
            (row, None)
        }
    };
    let b = bumped(&row)?;
    Ok(StoredResource {
        id: rep.id.clone(),
        kind: rep.kind,
        claims: rep.claims.clone(),
        created: b.created,
        last_modified: now,
        version: b.version,
        members,
    })
}

/// Changes a group's members naming only those changed: the group's row is locked by the
/// version bump (so concurrent changes of one group run one after the other, and each sees
/// the other's members), removals go by (group, member) key, additions after the last position
/// (one index probe). Nothing reads or rewrites the members that stay.
pub(crate) async fn change_members(client: &mut Object, ch: &MemberChange) -> OpResult<StoredResource> {
    let now = to_utc(ch.now)?;
    let now_text = format_time(now)?;
    let expected = ch.expected_version.map(version_to_db).transpose()?;
    let claims = ch.claims.as_ref().map(ClaimsJson);
    let kind = kind_code(ResourceKind::Group);
    let tx = client.transaction().await.map_err(from_pg)?;
    let stmt = tx.prepare_cached(BUMP).await.map_err(from_pg)?;
    let Some(row) =
        tx.query_opt(&stmt, &[&claims, &now_text, &ch.group_id, &kind, &expected]).await.map_err(from_pg)?
    else {
        drop(tx);
        return Err(missed(client, ResourceKind::Group, &ch.group_id).await?.into());
    };
    let b = bumped(&row)?;
    if ch.clear {
        members::clear(&tx, b.seq).await?;
    }
    members::remove(&tx, b.seq, &ch.remove).await?;
    if !ch.add.is_empty() {
        let resolved = members::resolve(&tx, &ch.group_id, ch.add.clone()).await?;
        let next = members::next_pos(&tx, b.seq).await?;
        members::insert(&tx, b.seq, next, &resolved).await?;
    }
    tx.commit().await.map_err(from_pg)?;
    Ok(StoredResource {
        id: ch.group_id.clone(),
        kind: ResourceKind::Group,
        claims: b.claims,
        created: b.created,
        last_modified: now,
        version: b.version,
        members: None,
    })
}

/// Deletes `id`: locks its row (a concurrent addition of it to a group waits, or is waited
/// for), bumps the version and lastModified of the groups it leaves, and deletes the row; the
/// foreign keys remove it from every group and remove its own member rows.
pub(crate) async fn delete(
    client: &mut Object,
    kind: ResourceKind,
    id: &str,
    expected_version: Option<u64>,
    now: OffsetDateTime,
) -> OpResult<()> {
    let now_text = format_time(now)?;
    let tx = client.transaction().await.map_err(from_pg)?;
    let stmt = tx
        .prepare_cached("SELECT seq, kind, version FROM resources WHERE id = $1 FOR UPDATE")
        .await
        .map_err(from_pg)?;
    let not_found = || StoreError::NotFound { kind, id: id.to_owned() };
    let row = tx.query_opt(&stmt, &[&id]).await.map_err(from_pg)?.ok_or_else(not_found)?;
    let seq: i64 = row.try_get(0).map_err(from_pg)?;
    if kind_from_code(row.try_get(1).map_err(from_pg)?)? != kind {
        return Err(not_found().into());
    }
    let version = version_from_db(row.try_get(2).map_err(from_pg)?)?;
    if expected_version.is_some_and(|expected| expected != version) {
        return Err(StoreError::VersionMismatch { current: version }.into());
    }
    let stmt = tx
        .prepare_cached(
            "WITH left_groups AS (\
                 UPDATE resources SET version = version + 1, last_modified = $2 \
                 WHERE seq IN (SELECT group_seq FROM members WHERE member_seq = $1)) \
             DELETE FROM resources WHERE seq = $1",
        )
        .await
        .map_err(from_pg)?;
    tx.execute(&stmt, &[&seq, &now_text]).await.map_err(from_pg)?;
    tx.commit().await.map_err(from_pg)?;
    Ok(())
}

/// Removes the member `id` of another domain from every group, bumping the groups' versions.
pub(crate) async fn forget_member(client: &mut Object, id: &str, now: OffsetDateTime) -> OpResult<()> {
    let now_text = format_time(now)?;
    let stmt = client
        .prepare_cached(
            "WITH gone AS (DELETE FROM members WHERE member_id = $1 AND domain IS NOT NULL RETURNING group_seq) \
             UPDATE resources SET version = version + 1, last_modified = $2 \
             WHERE seq IN (SELECT group_seq FROM gone)",
        )
        .await
        .map_err(from_pg)?;
    client.execute(&stmt, &[&id, &now_text]).await.map_err(from_pg)?;
    Ok(())
}

/// Removes `claim` from every resource of `kind` that has it, without bumping versions;
/// returns how many had it.
pub(crate) async fn remove_claim(client: &mut Object, kind: ResourceKind, claim: &str) -> OpResult<u64> {
    let stmt = client
        .prepare_cached(
            "UPDATE resources SET claims = claims - $2::text WHERE kind = $1 AND claims ? $2::text",
        )
        .await
        .map_err(from_pg)?;
    client.execute(&stmt, &[&kind_code(kind), &claim]).await.map_err(from_pg)
}
