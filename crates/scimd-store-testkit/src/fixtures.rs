//! What the checks build on: fixed times, resources, members, queries.

use scimd_claims::ClaimPath;
use scimd_claims::claims::{DISPLAY_NAME, EXTERNAL_ID, GROUP_DISPLAY_NAME, USER_NAME};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{
    ClaimFilter, Claims, Member, MemberChange, Membership, NewResource, Replacement, ResourceKind,
    StoreQuery, UserStore,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

pub const NOW: OffsetDateTime = datetime!(2025-03-01 10:00:00.123456789 UTC);
pub const LATER: OffsetDateTime = datetime!(2025-03-02 11:30:00.5 UTC);

pub fn claims(pairs: &[(&str, Value)]) -> Claims {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

pub fn new_user(id: &str, user_name: &str) -> NewResource {
    NewResource {
        id: id.to_owned(),
        kind: ResourceKind::User,
        claims: claims(&[(USER_NAME, json!(user_name))]),
        members: vec![],
        now: NOW,
    }
}

/// A member of the store (kind left to the store).
pub fn member(id: &str) -> Member {
    Member::new(id, None, None)
}

pub fn new_group(id: &str, name: &str, members: &[&str]) -> NewResource {
    NewResource {
        id: id.to_owned(),
        kind: ResourceKind::Group,
        claims: claims(&[(GROUP_DISPLAY_NAME, json!(name))]),
        members: members.iter().map(|m| member(m)).collect(),
        now: NOW,
    }
}

pub fn replacement(
    id: &str,
    kind: ResourceKind,
    expected_version: Option<u64>,
    claims: Claims,
) -> Replacement {
    Replacement { id: id.to_owned(), kind, expected_version, claims, members: None, now: LATER }
}

/// A change of the group's members that changes nothing yet.
pub fn change(group: &str) -> MemberChange {
    MemberChange {
        group_id: group.to_owned(),
        expected_version: None,
        clear: false,
        remove: vec![],
        add: vec![],
        claims: None,
        now: LATER,
    }
}

pub fn eq(claim: &str, value: &str) -> ClaimFilter {
    ClaimFilter::Eq { claim: claim.to_owned(), value: value.to_owned(), case_exact: false }
}

pub fn eq_exact(claim: &str, value: &str) -> ClaimFilter {
    ClaimFilter::Eq { claim: claim.to_owned(), value: value.to_owned(), case_exact: true }
}

/// `claim op "value"` on a single-valued string claim, as a filter of a client compiles.
pub fn compare(claim: &str, op: CompareOp, value: &str, case_exact: bool) -> ClaimFilter {
    ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: claim.to_owned(), sub: None },
        op,
        value: CompValue::Str(value.to_owned()),
        attr_type: AttrType::String,
        case_exact,
    }
}

/// A query of users: the first 100 in creation order.
pub fn users(filter: ClaimFilter) -> StoreQuery {
    StoreQuery {
        kind: ResourceKind::User,
        filter,
        offset: 0,
        limit: 100,
        with_members: false,
        sort: None,
        after: None,
        before: None,
    }
}

/// A query of groups: the first 100 in creation order.
pub fn groups(filter: ClaimFilter) -> StoreQuery {
    StoreQuery { kind: ResourceKind::Group, ..users(filter) }
}

pub async fn ids(store: &dyn UserStore, query: StoreQuery) -> Vec<String> {
    store.query(&query).await.unwrap().items.into_iter().map(|r| r.id).collect()
}

pub fn member_ids(members: &[Member]) -> Vec<&str> {
    members.iter().map(|m| m.id.as_str()).collect()
}

pub fn membership(group_id: &str, display: &str, direct: bool) -> Membership {
    Membership { group_id: group_id.to_owned(), display: Some(display.to_owned()), direct }
}

/// Five users with userName, externalId, displayName, title, a list and a number, and one
/// group with the first of them.
pub async fn seed_people(store: &dyn UserStore) {
    let people = [
        ("p1", "Alice", "ext-A", "Alice Liddell"),
        ("p2", "bob", "ext-b", "Bob Builder"),
        ("p3", "Carol", "EXT-C", "alice liddell"),
        ("p4", "dave", "ext-d", "Dave"),
        ("p5", "Eve", "ext-e", "Eve"),
    ];
    for (id, user_name, external_id, display) in people {
        let mut new = new_user(id, user_name);
        new.claims.insert(EXTERNAL_ID, json!(external_id));
        new.claims.insert(DISPLAY_NAME, json!(display));
        new.claims.insert("urn:scimd:claims:title", json!(format!("Title {id}")));
        new.claims.insert("urn:scimd:claims:devices", json!([format!("Phone-{id}"), "shared"]));
        new.claims.insert("urn:scimd:claims:level", json!(id.len() * 10 + usize::from(id == "p5")));
        store.create(new).await.unwrap();
    }
    store.create(new_group("g1", "Alice", &["p1"])).await.unwrap();
}
