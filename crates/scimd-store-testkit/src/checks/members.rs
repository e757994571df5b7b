//! Group members (RFC 7643 §4.2), nested groups and the `groups` of a resource (§4.1.2), and
//! the writes that change members: create, PUT (§3.5.1), PATCH (§3.5.2), DELETE (§3.6).

use std::collections::HashSet;
use std::sync::Arc;

use scimd_claims::claims::{GROUP_DISPLAY_NAME, USER_NAME};
use scimd_store::{Member, MemberChange, ResourceKind, StoreError, UserStore};
use serde_json::json;

use crate::fixtures::*;

pub async fn create_group_keeps_members_in_order_with_kinds_and_display(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_user("u2", "b")).await.unwrap();
    store.create(new_group("inner", "Inner", &[])).await.unwrap();
    let mut group = new_group("g", "Outer", &["u2", "inner", "u1", "u2"]);
    group.members[0].display = Some("Bee".to_owned());
    let created = store.create(group).await.unwrap();
    let expected = vec![
        Member::new("u2", Some(ResourceKind::User), Some("Bee".to_owned())),
        Member::new("inner", Some(ResourceKind::Group), None),
        Member::new("u1", Some(ResourceKind::User), None),
    ];
    assert_eq!(created.members.as_deref(), Some(&expected[..]), "duplicates: the first wins");
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(got.members, Some(expected));
    let without = store.get(ResourceKind::Group, "g", false).await.unwrap().unwrap();
    assert_eq!(without.members, None);
    let empty = store.get(ResourceKind::Group, "inner", true).await.unwrap().unwrap();
    assert_eq!(empty.members, Some(vec![]));
}

pub async fn create_group_refuses_an_unknown_member(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    let err = store.create(new_group("g", "G", &["u1", "ghost"])).await.unwrap_err();
    assert!(matches!(&err, StoreError::UnknownMember { id, expected: None } if id == "ghost"), "{err:?}");
    // Nothing of the failed create remains.
    assert!(store.get(ResourceKind::Group, "g", true).await.unwrap().is_none());
    assert!(store.memberships("u1").await.unwrap().is_empty());
}

pub async fn create_group_refuses_a_member_of_another_kind(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    let mut group = new_group("g", "G", &[]);
    group.members = vec![Member::new("u1", Some(ResourceKind::Group), None)];
    let err = store.create(group).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownMember { id, expected: Some(ResourceKind::Group) } if id == "u1"),
        "{err:?}"
    );
}

pub async fn a_group_cannot_be_its_own_member(store: Arc<dyn UserStore>) {
    store.create(new_group("g", "G", &[])).await.unwrap();
    let mut rep = replacement("g", ResourceKind::Group, None, claims(&[(GROUP_DISPLAY_NAME, json!("G"))]));
    rep.members = Some(vec![member("g")]);
    let err = store.replace(rep).await.unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err:?}");
    let err = store.change_members(MemberChange { add: vec![member("g")], ..change("g") }).await.unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err:?}");
    assert_eq!(store.get(ResourceKind::Group, "g", false).await.unwrap().unwrap().version, 1);
}

/// RFC 7644 §3.5.1: a PUT of a group replaces its members; the store keeps the ones kept in
/// their place and appends new ones.
pub async fn replace_members_keeps_the_order_of_kept_ones_and_appends_new_ones(store: Arc<dyn UserStore>) {
    for (id, name) in [("u1", "a"), ("u2", "b"), ("u3", "c"), ("u4", "d")] {
        store.create(new_user(id, name)).await.unwrap();
    }
    store.create(new_group("g", "G", &["u1", "u2", "u3"])).await.unwrap();
    let mut rep = replacement("g", ResourceKind::Group, Some(1), claims(&[(GROUP_DISPLAY_NAME, json!("G"))]));
    let mut members = vec![member("u4"), member("u3"), member("u1")];
    members[1].display = Some("Cee".to_owned());
    rep.members = Some(members);
    let replaced = store.replace(rep).await.unwrap();
    assert_eq!(replaced.version, 2);
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    let got_members = got.members.unwrap();
    assert_eq!(member_ids(&got_members), ["u1", "u3", "u4"]);
    assert_eq!(got_members[1].display.as_deref(), Some("Cee"));
    assert_eq!(replaced.members.unwrap(), got_members);
    // `None` leaves the members as they are.
    let rep = replacement("g", ResourceKind::Group, Some(2), claims(&[(GROUP_DISPLAY_NAME, json!("H"))]));
    assert_eq!(store.replace(rep).await.unwrap().members, None);
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(member_ids(got.members.as_deref().unwrap()), ["u1", "u3", "u4"]);
    assert_eq!(got.claims.get_str(GROUP_DISPLAY_NAME), Some("H"));
}

pub async fn replace_of_a_big_group_adding_one_keeps_the_rest(store: Arc<dyn UserStore>) {
    let user_ids: Vec<String> = (0..2_001).map(|i| format!("user-{i:05}")).collect();
    for id in &user_ids {
        store.create(new_user(id, id)).await.unwrap();
    }
    let mut group = new_group("big", "Big", &[]);
    group.members = user_ids[..2_000].iter().map(|id| member(id)).collect();
    store.create(group).await.unwrap();
    let mut rep =
        replacement("big", ResourceKind::Group, Some(1), claims(&[(GROUP_DISPLAY_NAME, json!("Big"))]));
    rep.members = Some(user_ids.iter().map(|id| member(id)).collect());
    let replaced = store.replace(rep).await.unwrap();
    assert_eq!(replaced.version, 2);
    let got = store.get(ResourceKind::Group, "big", true).await.unwrap().unwrap();
    let got_members = got.members.unwrap();
    assert_eq!(got_members.len(), 2_001);
    assert!(got_members.iter().map(|m| &m.id).eq(user_ids.iter()));
    assert_eq!(store.memberships("user-02000").await.unwrap().len(), 1);
}

/// RFC 7644 §3.6: a deleted resource leaves every group, whose version moves on.
pub async fn delete_of_a_user_removes_it_from_groups_and_bumps_their_version(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_user("u2", "b")).await.unwrap();
    store.create(new_group("g1", "G1", &["u1", "u2"])).await.unwrap();
    store.create(new_group("g2", "G2", &["u2"])).await.unwrap();
    store.create(new_group("g3", "G3", &["u1"])).await.unwrap();
    store.delete(ResourceKind::User, "u2", Some(1)).await.unwrap();
    assert!(store.get(ResourceKind::User, "u2", false).await.unwrap().is_none());
    let g1 = store.get(ResourceKind::Group, "g1", true).await.unwrap().unwrap();
    assert_eq!(member_ids(g1.members.as_deref().unwrap()), ["u1"]);
    assert_eq!(g1.version, 2);
    assert!(g1.last_modified > NOW);
    let g2 = store.get(ResourceKind::Group, "g2", true).await.unwrap().unwrap();
    assert_eq!(g2.members, Some(vec![]));
    assert_eq!(g2.version, 2);
    let g3 = store.get(ResourceKind::Group, "g3", true).await.unwrap().unwrap();
    assert_eq!(g3.version, 1, "a group the user was not in is untouched");
    assert!(store.memberships("u2").await.unwrap().is_empty());
    // The userName is free again.
    store.create(new_user("u3", "B")).await.unwrap();
}

pub async fn delete_of_a_group_removes_it_from_parent_groups(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_group("child", "Child", &["u1"])).await.unwrap();
    store.create(new_group("parent", "Parent", &["child", "u1"])).await.unwrap();
    store.delete(ResourceKind::Group, "child", None).await.unwrap();
    let parent = store.get(ResourceKind::Group, "parent", true).await.unwrap().unwrap();
    assert_eq!(member_ids(parent.members.as_deref().unwrap()), ["u1"]);
    assert_eq!(parent.version, 2);
    assert!(store.get(ResourceKind::User, "u1", false).await.unwrap().is_some());
    assert_eq!(store.memberships("u1").await.unwrap(), vec![membership("parent", "Parent", true)]);
}

/// RFC 7643 §4.1.2 `groups`: direct and indirect (nested) memberships, in creation order of
/// the groups.
pub async fn memberships_report_direct_and_indirect_groups(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_group("team", "Team", &["u1"])).await.unwrap();
    store.create(new_group("dept", "Dept", &["team"])).await.unwrap();
    store.create(new_group("org", "Org", &["dept", "u1"])).await.unwrap();
    store.create(new_group("other", "Other", &[])).await.unwrap();
    let got = store.memberships("u1").await.unwrap();
    assert_eq!(
        got,
        vec![
            membership("team", "Team", true),
            membership("dept", "Dept", false),
            membership("org", "Org", true)
        ]
    );
    assert_eq!(store.memberships("team").await.unwrap().len(), 2);
    assert!(store.memberships("nobody").await.unwrap().is_empty());
}

pub async fn memberships_terminate_on_a_cycle(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    store.create(new_group("a", "A", &["u1"])).await.unwrap();
    store.create(new_group("b", "B", &["a"])).await.unwrap();
    let mut rep = replacement("a", ResourceKind::Group, None, claims(&[(GROUP_DISPLAY_NAME, json!("A"))]));
    rep.members = Some(vec![member("u1"), member("b")]);
    store.replace(rep).await.unwrap();
    let got = store.memberships("u1").await.unwrap();
    assert_eq!(got, vec![membership("a", "A", true), membership("b", "B", false)]);
    // A group in a cycle does not list itself.
    assert_eq!(store.memberships("a").await.unwrap(), vec![membership("b", "B", true)]);
}

/// The batched reads answer what one call per resource answers.
pub async fn memberships_of_a_page_and_get_with_memberships_agree(store: Arc<dyn UserStore>) {
    for i in 0..4 {
        store.create(new_user(&format!("u{i}"), &format!("user{i}"))).await.unwrap();
    }
    store.create(new_group("g1", "G1", &["u0", "u2"])).await.unwrap();
    store.create(new_group("g2", "G2", &["g1", "u2"])).await.unwrap();
    let ids: Vec<String> =
        ["u0", "u1", "u2", "u3", "nobody", "u0", "g1"].iter().map(|s| (*s).to_owned()).collect();
    let batched = store.memberships_of(&ids).await.unwrap();
    assert_eq!(batched.len(), ids.len());
    for (id, got) in ids.iter().zip(&batched) {
        assert_eq!(got, &store.memberships(id).await.unwrap(), "{id}");
    }
    assert_eq!(batched[2], vec![membership("g1", "G1", true), membership("g2", "G2", true)]);
    assert_eq!(batched[0], vec![membership("g1", "G1", true), membership("g2", "G2", false)]);
    let (user, groups) = store.get_with_memberships(ResourceKind::User, "u0").await.unwrap().unwrap();
    assert_eq!(user, store.get(ResourceKind::User, "u0", false).await.unwrap().unwrap());
    assert_eq!(groups, batched[0]);
    let (_, none) = store.get_with_memberships(ResourceKind::User, "u1").await.unwrap().unwrap();
    assert!(none.is_empty());
    assert!(store.memberships_of(&[]).await.unwrap().is_empty());
    // A page with its users' groups in one call: the same as the two calls it replaces, for a
    // lookup an index narrows and for a whole list.
    // Also sorted, paged past the first, and with a filter no index narrows.
    let by_name = |descending| scimd_store::SortKey {
        path: scimd_claims::ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
        descending,
        attr_type: scimd_core::schema::AttrType::String,
        case_exact: false,
    };
    let present = scimd_store::ClaimFilter::Present {
        path: scimd_claims::ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
    };
    let queries = [
        users(eq(USER_NAME, "USER2")),
        users(scimd_store::ClaimFilter::All),
        scimd_store::StoreQuery { offset: 1, limit: 2, ..users(scimd_store::ClaimFilter::All) },
        users(present.clone()),
        scimd_store::StoreQuery { sort: Some(by_name(true)), ..users(present) },
        scimd_store::StoreQuery {
            sort: Some(by_name(false)),
            offset: 2,
            ..users(scimd_store::ClaimFilter::All)
        },
    ];
    for query in queries {
        let (page, groups) = store.query_with_memberships(&query).await.unwrap();
        let plain = store.query(&query).await.unwrap();
        assert_eq!(page.items, plain.items, "{query:?}");
        assert_eq!(page.total, plain.total);
        assert_eq!(page.keys, plain.keys);
        let ids: Vec<String> = plain.items.iter().map(|r| r.id.clone()).collect();
        assert_eq!(groups, store.memberships_of(&ids).await.unwrap(), "{query:?}");
        assert!(groups.iter().any(|g| !g.is_empty()) || !ids.iter().any(|i| i == "u0" || i == "u2"));
    }
    // A full first page is counted: its length is not the total.
    let present = scimd_store::ClaimFilter::Present {
        path: scimd_claims::ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
    };
    let (page, groups) =
        store.query_with_memberships(&scimd_store::StoreQuery { limit: 2, ..users(present) }).await.unwrap();
    assert_eq!((page.items.len(), page.total, groups.len()), (2, 4, 2));
    assert_eq!(groups[0], batched[0]);
    let (page, groups) = store.query_with_memberships(&users(eq(USER_NAME, "user2"))).await.unwrap();
    assert_eq!((page.items.len(), groups), (1, vec![batched[2].clone()]));
    let (empty, none) = store.query_with_memberships(&users(eq(USER_NAME, "nobody"))).await.unwrap();
    assert!(empty.items.is_empty() && none.is_empty());
}

/// RFC 7644 §3.5.2: a PATCH of a big group names only the members it changes; the others stay,
/// in order; a member added again goes last.
pub async fn change_members_touches_only_the_members_named(store: Arc<dyn UserStore>) {
    let ids: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
    for id in &ids {
        store.create(new_user(id, id)).await.unwrap();
    }
    let refs: Vec<&str> = ids[..450].iter().map(String::as_str).collect();
    store.create(new_group("big", "big", &refs)).await.unwrap();
    let g = store
        .change_members(MemberChange { add: ids[450..].iter().map(|i| member(i)).collect(), ..change("big") })
        .await
        .unwrap();
    assert_eq!(g.version, 2);
    assert_eq!(g.last_modified, LATER);
    assert!(g.members.is_none());
    assert_eq!(g.claims.get_str(GROUP_DISPLAY_NAME), Some("big"));
    store
        .change_members(MemberChange {
            remove: ids[..50].iter().cloned().chain(["not-a-member".to_owned()]).collect(),
            add: vec![member("m0"), member("m475")],
            ..change("big")
        })
        .await
        .unwrap();
    let g = store.get(ResourceKind::Group, "big", true).await.unwrap().unwrap();
    let members = g.members.unwrap();
    let expected: Vec<&str> = ids[50..].iter().map(String::as_str).chain(["m0"]).collect();
    assert_eq!(member_ids(&members), expected, "kept members keep their order; re-added go last");
    assert_eq!(g.version, 3);
    // `clear` then `add`: the new list, in order.
    store
        .change_members(MemberChange { clear: true, add: vec![member("m7"), member("m3")], ..change("big") })
        .await
        .unwrap();
    let g = store.get(ResourceKind::Group, "big", true).await.unwrap().unwrap();
    assert_eq!(member_ids(g.members.as_deref().unwrap()), ["m7", "m3"]);
}

pub async fn change_members_is_all_or_nothing_and_checks_versions(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "u1")).await.unwrap();
    store.create(new_group("g", "g", &["u1"])).await.unwrap();
    let err = store
        .change_members(MemberChange { clear: true, add: vec![member("ghost")], ..change("g") })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownMember { ref id, .. } if id == "ghost"), "{err:?}");
    let g = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(member_ids(g.members.as_ref().unwrap()), ["u1"]);
    assert_eq!(g.version, 1);
    let err =
        store.change_members(MemberChange { expected_version: Some(7), ..change("g") }).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionMismatch { current: 1 }), "{err:?}");
    let err = store.change_members(change("nope")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store.change_members(change("u1")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { kind: ResourceKind::Group, .. }), "{err:?}");
    let g = store.change_members(MemberChange { expected_version: Some(1), ..change("g") }).await.unwrap();
    assert_eq!(g.version, 2);
}

/// A PATCH that changes members and other attributes writes both in one transaction.
pub async fn change_members_with_claims_replaces_the_claims(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "u1")).await.unwrap();
    store.create(new_group("g", "Old", &[])).await.unwrap();
    let new_claims = claims(&[(GROUP_DISPLAY_NAME, json!("New"))]);
    let g = store
        .change_members(MemberChange {
            add: vec![member("u1")],
            claims: Some(new_claims.clone()),
            ..change("g")
        })
        .await
        .unwrap();
    assert_eq!(g.claims, new_claims);
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(got.claims, new_claims);
    assert_eq!(member_ids(got.members.as_deref().unwrap()), ["u1"]);
    assert_eq!(ids(&*store, groups(eq(GROUP_DISPLAY_NAME, "new"))).await, ["g"]);
    assert!(ids(&*store, groups(eq(GROUP_DISPLAY_NAME, "old"))).await.is_empty());
}

/// RFC 7644 §3.5.2 without If-Match: concurrent additions and removals of members of one group
/// commute, and every one takes effect.
pub async fn concurrent_change_members_all_take_effect(store: Arc<dyn UserStore>) {
    let writers = 8;
    let per_writer = 10;
    for w in 0..writers {
        for i in 0..per_writer {
            store.create(new_user(&format!("w{w}-{i}"), &format!("w{w}-{i}"))).await.unwrap();
        }
    }
    for i in 0..writers {
        store.create(new_user(&format!("old{i}"), &format!("old{i}"))).await.unwrap();
    }
    let old: Vec<String> = (0..writers).map(|i| format!("old{i}")).collect();
    let old_refs: Vec<&str> = old.iter().map(String::as_str).collect();
    store.create(new_group("g", "g", &old_refs)).await.unwrap();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..per_writer {
                    let remove = if i == 0 { vec![format!("old{w}")] } else { vec![] };
                    let add = vec![member(&format!("w{w}-{i}"))];
                    store.change_members(MemberChange { remove, add, ..change("g") }).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let g = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    let members = g.members.unwrap();
    let got: HashSet<&str> = members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(got.len(), members.len(), "no duplicates");
    let want: HashSet<String> =
        (0..writers).flat_map(|w| (0..per_writer).map(move |i| format!("w{w}-{i}"))).collect();
    assert_eq!(got, want.iter().map(String::as_str).collect::<HashSet<_>>());
    assert_eq!(g.version, 1 + (writers * per_writer) as u64, "every change bumped the version once");
    // Each writer's additions are in its order.
    for w in 0..writers {
        let mine: Vec<&str> =
            members.iter().map(|m| m.id.as_str()).filter(|id| id.starts_with(&format!("w{w}-"))).collect();
        let want: Vec<String> = (0..per_writer).map(|i| format!("w{w}-{i}")).collect();
        assert_eq!(mine, want.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// The members of a group, read in slices (issue 4: a group of 100,000 members read in bounded
/// memory): the slices, one after another, are the group's members in order; each carries the
/// group's version; an absent group, or a user, has none.
pub async fn members_slices_are_the_members_in_order_with_the_version(store: Arc<dyn UserStore>) {
    let mut ids = Vec::new();
    for i in 0..7 {
        let id = format!("u{i}");
        store.create(new_user(&id, &format!("user{i}"))).await.unwrap();
        ids.push(id);
    }
    store.create(new_group("inner", "Inner", &[])).await.unwrap();
    let mut order: Vec<&str> = ids.iter().map(String::as_str).collect();
    order.insert(3, "inner");
    let created = store.create(new_group("g", "G", &order)).await.unwrap();
    let whole = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap().members.unwrap();
    for limit in [1, 3, 8, 100] {
        let (mut after, mut read) = (None, Vec::new());
        loop {
            let slice = store.members_slice("g", after, limit).await.unwrap().expect("the group exists");
            assert_eq!(slice.group.version, created.version);
            assert_eq!(slice.group.members, None, "the group comes without its members");
            assert!(slice.members.len() <= limit);
            read.extend(slice.members);
            match slice.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(read, whole, "slices of {limit}");
    }
    let empty = store.members_slice("inner", None, 10).await.unwrap().unwrap();
    assert!(empty.members.is_empty() && empty.next.is_none());
    assert!(store.members_slice("nope", None, 10).await.unwrap().is_none());
    assert!(store.members_slice("u1", None, 10).await.unwrap().is_none(), "a user is no group");

    // A change shows in the version of the next slice.
    let first = store.members_slice("g", None, 2).await.unwrap().unwrap();
    let change = MemberChange {
        group_id: "g".into(),
        expected_version: None,
        clear: false,
        remove: vec!["u5".into()],
        add: vec![],
        claims: None,
        now: NOW,
    };
    store.change_members(change).await.unwrap();
    let next = store.members_slice("g", first.next, 2).await.unwrap().unwrap();
    assert_ne!(next.group.version, first.group.version);
}
