//! The LDAP store against a real slapd (`scripts/ldap-server`, started by `scripts/test`). Each
//! test works in its own `ou` subtree, so tests run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use scimd_claims::claims::{DISPLAY_NAME, GROUP_DISPLAY_NAME, PASSWORD, USER_NAME};
use scimd_claims::filter::{ClaimPath, Collection, MemberField};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{
    ClaimFilter, Claims, Keyset, Member, MemberChange, NewResource, Replacement, ResourceKind, SortKey,
    StoreError, StoreQuery, UserStore,
};
use scimd_store_ldap::{LdapConfig, LdapStore};
use serde_json::{Value, json};
use time::OffsetDateTime;

fn claims(pairs: &[(&str, Value)]) -> Claims {
    pairs.iter().map(|(k, v)| (format!("{U}{k}"), v.clone())).collect()
}

fn person(user_name: &str) -> Claims {
    claims(&[
        ("userName", json!(user_name)),
        ("name.formatted", json!(format!("{user_name} Person"))),
        ("name.familyName", json!("Person")),
    ])
}

fn new(kind: ResourceKind, claims: Claims, members: Vec<Member>) -> NewResource {
    NewResource { id: "ignored".into(), kind, claims, members, now: OffsetDateTime::now_utc() }
}

fn group(name: &str) -> Claims {
    [(GROUP_DISPLAY_NAME.to_owned(), json!(name))].into_iter().collect()
}

fn query(kind: ResourceKind, filter: ClaimFilter) -> StoreQuery {
    StoreQuery { kind, ..scimd_store_testkit::fixtures::users(filter) }
}

fn eq(claim: &str, v: &str) -> ClaimFilter {
    ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: claim.into(), sub: None },
        op: CompareOp::Eq,
        value: CompValue::Str(v.into()),
        attr_type: AttrType::String,
        case_exact: false,
    }
}

/// RFC 7643 §2.3: every value kind reads back as written; the entry holds the mapped
/// attributes (seen with plain ldap3); typed views keep their element's value.
#[tokio::test]
async fn users_round_trip_with_typed_values_and_views() {
    let s = server();
    let t = tree(&s, "roundtrip").await;
    let store = store(&s, &t).await;
    let mut written = claims(&[
        ("userName", json!("bjensen")),
        ("name.formatted", json!("Barbara Jensen")),
        ("name.familyName", json!("Jensen")),
        ("name.givenName", json!("Barbara")),
        ("displayName", json!("Babs Jensen, Ph.D. (Émile)")),
        ("title", json!("Tour Guide")),
        (
            "emails",
            json!([{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}]),
        ),
        (
            "phoneNumbers",
            json!([{"value": "+1 555 555 5555", "type": "work"}, {"value": "+1 555 555 4444", "type": "mobile"}]),
        ),
        ("active", json!(true)),
        ("level", json!(42)),
        ("hired", json!("2024-05-06T07:08:09.5Z")),
        ("externalId", json!("Ext-1")),
        ("devices", json!(["b-phone", "a-laptop", "c-watch"])),
        ("employeeNumber", json!("701984")),
    ]);
    written.insert(PASSWORD, json!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"));
    let created = store.create(new(ResourceKind::User, written.clone(), vec![])).await.unwrap();
    assert_eq!(created.id.len(), 36, "an entryUUID: {}", created.id);
    let mut expected = written.clone();
    expected.remove(PASSWORD);
    assert_eq!(created.claims, expected);
    let got = store.get(ResourceKind::User, &created.id, false).await.unwrap().unwrap();
    assert_eq!(got.claims, expected);
    assert_eq!((got.version, got.created), (created.version, created.created));

    let dn = format!("uid=bjensen,{}", t.people);
    let e = entry(&s, &dn).await.expect("the entry is named by its uid");
    assert_eq!(e["uid"], ["bjensen"]);
    assert_eq!(e["mail"], ["bjensen@example.com"]);
    assert_eq!(e["scimdhomemail"], ["babs@jensen.org"]);
    assert_eq!(e["telephonenumber"], ["+1 555 555 5555"]);
    assert_eq!(e["mobile"], ["+1 555 555 4444"]);
    assert_eq!(e["scimdactive"], ["TRUE"]);
    assert_eq!(e["scimdlevel"], ["42"]);
    assert_eq!(e["scimdhired"], ["20240506070809.5Z"]);
    assert_eq!(e["scimdnote"], ["b-phone", "a-laptop", "c-watch"], "values keep their order");
    assert_eq!(e["entryuuid"], [created.id.as_str()]);
    assert!(e["objectclass"].iter().any(|c| c == "scimdTestUser"));
    // The password is written for the directory to check, and never read back.
    let mut ldap = plain(&s).await;
    let (rs, _) = ldap
        .search(&dn, ldap3::Scope::Base, "(objectClass=*)", vec!["userPassword"])
        .await
        .unwrap()
        .success()
        .unwrap();
    let pw = ldap3::SearchEntry::construct(rs.into_iter().next().unwrap());
    let pw =
        pw.attrs.get("userPassword").or(pw.bin_attrs.get("userPassword").map(|_| unreachable!())).unwrap();
    assert!(pw[0].starts_with("{ARGON2}$argon2id$"), "{pw:?}");
}

/// RFC 7644 §3.5.1: a PUT replaces the claims; a new userName renames the entry (modrdn); the
/// version grows; If-Match on an old version is refused; delete removes it.
#[tokio::test]
async fn replace_renames_and_checks_versions_then_delete_removes() {
    let s = server();
    let t = tree(&s, "replace").await;
    let store = store(&s, &t).await;
    let mut c = person("kim");
    c.insert(format!("{U}title"), json!("Boss"));
    let v1 = store.create(new(ResourceKind::User, c, vec![])).await.unwrap();
    let mut c2 = person("kim.b");
    c2.insert(format!("{U}active"), json!(false));
    let rep = |claims: Claims, expected| Replacement {
        id: v1.id.clone(),
        kind: ResourceKind::User,
        expected_version: expected,
        claims,
        members: None,
        now: OffsetDateTime::now_utc(),
    };
    let v2 = store.replace(rep(c2.clone(), Some(v1.version))).await.unwrap();
    assert!(v2.version > v1.version);
    assert_eq!(v2.id, v1.id);
    assert_eq!(v2.claims, c2);
    assert!(entry(&s, &format!("uid=kim,{}", t.people)).await.is_none());
    let e = entry(&s, &format!("uid=kim.b,{}", t.people)).await.unwrap();
    assert!(!e.contains_key("title"), "a claim no longer written is removed");
    assert_eq!(e["scimdactive"], ["FALSE"]);
    match store.replace(rep(person("kim.c"), Some(v1.version))).await {
        Err(StoreError::VersionMismatch { current }) => assert_eq!(current, v2.version),
        other => panic!("{other:?}"),
    }
    // A change of case only keeps the entry.
    let v3 = store.replace(rep(person("KIM.B"), None)).await.unwrap();
    assert_eq!(v3.claims.get_str(USER_NAME), Some("KIM.B"));
    match store.delete(ResourceKind::User, &v1.id, Some(v1.version)).await {
        Err(StoreError::VersionMismatch { .. }) => {}
        other => panic!("{other:?}"),
    }
    store.delete(ResourceKind::User, &v1.id, Some(v3.version)).await.unwrap();
    assert!(store.get(ResourceKind::User, &v1.id, false).await.unwrap().is_none());
    assert!(matches!(store.delete(ResourceKind::User, &v1.id, None).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.replace(rep(person("x"), None)).await, Err(StoreError::NotFound { .. })));
}

/// DESIGN.md: a directory keeps only what is mapped; nothing is dropped silently.
#[tokio::test]
async fn unmapped_claims_are_refused_by_name() {
    let s = server();
    let t = tree(&s, "unmapped").await;
    let store = store(&s, &t).await;
    let refused = |extra: (&str, Value)| {
        let mut c = person("u1");
        c.insert(format!("{U}{}", extra.0), extra.1);
        new(ResourceKind::User, c, vec![])
    };
    let unmapped = |r: Result<_, StoreError>| match r {
        Err(StoreError::Unmapped { claim }) => claim,
        other => panic!("{other:?}"),
    };
    assert_eq!(unmapped(store.create(refused(("nickName", json!("Babs")))).await), format!("{U}nickName"));
    assert_eq!(
        unmapped(store.create(refused(("emails", json!([{"value": "a@b.c", "type": "other"}])))).await),
        format!("{U}emails.other")
    );
    assert_eq!(
        unmapped(
            store
                .create(refused(("emails", json!([{"value": "a@b.c", "type": "work", "primary": true}]))))
                .await
        ),
        format!("{U}emails.primary")
    );
    assert!(dns(&s, &t.people, "(uid=u1)").await.is_empty(), "nothing was written");
}

/// The directory's schema violations name the attribute; the store's own checks too.
#[tokio::test]
async fn schema_violations_are_rejected_naming_the_attribute() {
    let s = server();
    let t = tree(&s, "rejected").await;
    let store = store(&s, &t).await;
    let c = claims(&[("userName", json!("nosn")), ("name.formatted", json!("No Sn"))]);
    match store.create(new(ResourceKind::User, c, vec![])).await {
        Err(StoreError::Rejected(m)) => assert!(m.contains("sn"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut c = person("badphone");
    c.insert(format!("{U}phoneNumbers"), json!([{"value": "ünïcode", "type": "work"}]));
    match store.create(new(ResourceKind::User, c, vec![])).await {
        Err(StoreError::Rejected(m)) => assert!(m.to_lowercase().contains("telephonenumber"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut c = person("badlevel");
    c.insert(format!("{U}level"), json!("high"));
    assert!(
        matches!(store.create(new(ResourceKind::User, c, vec![])).await, Err(StoreError::Rejected(m)) if m.contains("level"))
    );
}

/// The store contract: userName is unique without regard to case (the DN clashes).
#[tokio::test]
async fn taken_user_names_conflict() {
    let s = server();
    let t = tree(&s, "conflict").await;
    let store = store(&s, &t).await;
    store.create(new(ResourceKind::User, person("Kim"), vec![])).await.unwrap();
    let other = store.create(new(ResourceKind::User, person("lee"), vec![])).await.unwrap();
    match store.create(new(ResourceKind::User, person("KIM"), vec![])).await {
        Err(StoreError::Conflict { claim }) => assert_eq!(claim, USER_NAME),
        other => panic!("{other:?}"),
    }
    let rename = Replacement {
        id: other.id.clone(),
        kind: ResourceKind::User,
        expected_version: None,
        claims: person("kim"),
        members: None,
        now: OffsetDateTime::now_utc(),
    };
    assert!(matches!(store.replace(rename).await, Err(StoreError::Conflict { .. })));
    assert_eq!(dns(&s, &t.people, "(uid=lee)").await.len(), 1, "the failed rename left the entry as it was");
}

/// A claim remapped by set_attribute_map is written to its new attribute from the next write on.
#[tokio::test]
async fn remapped_claims_go_to_the_new_attribute_from_the_next_write() {
    let s = server();
    let t = tree(&s, "remap").await;
    let store = store(&s, &t).await;
    let mut c = person("remap");
    c.insert(DISPLAY_NAME, json!("Before"));
    let u = store.create(new(ResourceKind::User, c.clone(), vec![])).await.unwrap();
    let mut rows = rows();
    for r in &mut rows {
        if r.claim == DISPLAY_NAME {
            r.attribute = "description".into();
        }
    }
    store.set_attribute_map(scimd_store_ldap::domain_map(&rows, types).unwrap()).unwrap();
    c.insert(DISPLAY_NAME, json!("After"));
    let rep = Replacement {
        id: u.id.clone(),
        kind: ResourceKind::User,
        expected_version: None,
        claims: c.clone(),
        members: None,
        now: OffsetDateTime::now_utc(),
    };
    let v2 = store.replace(rep).await.unwrap();
    assert_eq!(v2.claims.get_str(DISPLAY_NAME), Some("After"));
    let e = entry(&s, &format!("uid=remap,{}", t.people)).await.unwrap();
    assert_eq!(e["description"], ["After"]);
    assert_eq!(e["displayname"], ["Before"], "the old attribute is no longer the claim's");
    // A map without a mandatory claim is refused, and the one in force stays.
    let mut broken = rows.clone();
    broken.retain(|r| !r.claim.ends_with(":created"));
    match store.set_attribute_map(scimd_store_ldap::domain_map(&broken, types).unwrap()) {
        Err(StoreError::Rejected(m)) => assert!(m.contains("urn:scimd:claims:created"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut unknown = rows.clone();
    unknown[5].attribute = "noSuchAttribute".into();
    assert!(store.set_attribute_map(scimd_store_ldap::domain_map(&unknown, types).unwrap()).is_err());
    assert!(store.get(ResourceKind::User, &u.id, false).await.unwrap().is_some());
    match LdapStore::connect("LDAP", config(&s, &t), scimd_store_ldap::domain_map(&broken, types).unwrap())
        .await
    {
        Err(StoreError::Rejected(m)) => assert!(m.contains("created"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// RFC 7643 §4.2 members; §4.1.2 groups, direct and through nested groups, cycles included.
#[tokio::test]
async fn groups_keep_members_and_nested_memberships() {
    let s = server();
    let t = tree(&s, "groups").await;
    let store = store(&s, &t).await;
    let mut kc = person("kim");
    kc.insert(DISPLAY_NAME, json!("Kim K"));
    let kim = store.create(new(ResourceKind::User, kc, vec![])).await.unwrap();
    let lee = store.create(new(ResourceKind::User, person("lee"), vec![])).await.unwrap();
    let empty = store.create(new(ResourceKind::Group, group("Empty"), vec![])).await.unwrap();
    assert_eq!(empty.members, Some(vec![]));
    let e = entry(&s, &format!("cn=Empty,{}", t.groups)).await.unwrap();
    assert_eq!(e["member"], [""], "groupOfNames keeps the empty-group member");
    assert_eq!(store.get(ResourceKind::Group, &empty.id, true).await.unwrap().unwrap().members, Some(vec![]));

    let g1 = store
        .create(new(
            ResourceKind::Group,
            group("G1"),
            vec![Member::new(&lee.id, None, None), Member::new(&kim.id, Some(ResourceKind::User), None)],
        ))
        .await
        .unwrap();
    let g2 = store
        .create(new(ResourceKind::Group, group("G2"), vec![Member::new(&g1.id, None, None)]))
        .await
        .unwrap();
    let g3 = store
        .create(new(ResourceKind::Group, group("G3"), vec![Member::new(&g2.id, None, None)]))
        .await
        .unwrap();
    // A cycle: G1 holds G3.
    let ch = MemberChange {
        group_id: g1.id.clone(),
        expected_version: None,
        clear: false,
        remove: vec![],
        add: vec![Member::new(&g3.id, Some(ResourceKind::Group), None)],
        claims: None,
        now: OffsetDateTime::now_utc(),
    };
    let g1v = store.change_members(ch.clone()).await.unwrap();
    assert!(g1v.version > g1.version);
    let members = store.get(ResourceKind::Group, &g1.id, true).await.unwrap().unwrap().members.unwrap();
    let got: Vec<(&str, Option<ResourceKind>, Option<&str>)> =
        members.iter().map(|m| (m.id.as_str(), m.kind, m.display.as_deref())).collect();
    assert_eq!(
        got,
        [
            (lee.id.as_str(), Some(ResourceKind::User), Some("lee")),
            (kim.id.as_str(), Some(ResourceKind::User), Some("Kim K")),
            (g3.id.as_str(), Some(ResourceKind::Group), Some("G3")),
        ],
        "in the order added; display from the member's entry"
    );
    let m = store.memberships(&kim.id).await.unwrap();
    let m: Vec<(&str, bool)> = m.iter().map(|m| (m.group_id.as_str(), m.direct)).collect();
    assert_eq!(m, [(g1.id.as_str(), true), (g2.id.as_str(), false), (g3.id.as_str(), false)]);
    let m = store.memberships(&g1.id).await.unwrap();
    let m: Vec<(&str, bool)> = m.iter().map(|m| (m.group_id.as_str(), m.direct)).collect();
    assert_eq!(m, [(g2.id.as_str(), true), (g3.id.as_str(), false)], "the group itself is left out");

    // members[value eq kim] and members.value eq lee find G1 only.
    let member_is = |id: &str| ClaimFilter::ElementMatch {
        of: Collection::Members,
        filter: Box::new(ClaimFilter::Compare {
            path: ClaimPath::Member(MemberField::Value),
            op: CompareOp::Eq,
            value: CompValue::Str(id.into()),
            attr_type: AttrType::String,
            case_exact: true,
        }),
    };
    let page = store.query(&query(ResourceKind::Group, member_is(&kim.id))).await.unwrap();
    assert_eq!(page.items.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), [g1.id.as_str()]);

    // Unknown members, and members of other domains, are refused.
    let bad = MemberChange {
        add: vec![Member::new("00000000-0000-1000-8000-000000000000", None, None)],
        ..ch.clone()
    };
    assert!(matches!(store.change_members(bad).await, Err(StoreError::UnknownMember { .. })));
    let wrong_kind =
        MemberChange { add: vec![Member::new(&kim.id, Some(ResourceKind::Group), None)], ..ch.clone() };
    assert!(matches!(store.change_members(wrong_kind).await, Err(StoreError::UnknownMember { .. })));
    let mut foreign = Member::new("x", Some(ResourceKind::User), None);
    foreign.domain = Some("PRIMARY".into());
    match store.change_members(MemberChange { add: vec![foreign], ..ch.clone() }).await {
        Err(StoreError::Unsupported(m)) => assert!(m.contains("PRIMARY"), "{m}"),
        other => panic!("{other:?}"),
    }
    let selfish = MemberChange { add: vec![Member::new(&g1.id, None, None)], ..ch.clone() };
    assert!(matches!(store.change_members(selfish).await, Err(StoreError::Unsupported(_))));

    // Removing all members leaves the empty-group member; deleting a user leaves its groups.
    let clear = MemberChange { clear: true, add: vec![Member::new(&kim.id, None, None)], ..ch.clone() };
    store.change_members(clear).await.unwrap();
    let members = store.get(ResourceKind::Group, &g1.id, true).await.unwrap().unwrap().members.unwrap();
    assert_eq!(members.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [kim.id.as_str()]);
    store.delete(ResourceKind::User, &kim.id, None).await.unwrap();
    assert_eq!(store.get(ResourceKind::Group, &g1.id, true).await.unwrap().unwrap().members, Some(vec![]));
    let e = entry(&s, &format!("cn=G1,{}", t.groups)).await.unwrap();
    assert_eq!(e["member"], [""]);

    // PUT with a member list writes the difference.
    let rep = Replacement {
        id: g2.id.clone(),
        kind: ResourceKind::Group,
        expected_version: None,
        claims: group("G2 renamed"),
        members: Some(vec![Member::new(&lee.id, None, None), Member::new(&g1.id, None, None)]),
        now: OffsetDateTime::now_utc(),
    };
    let g2v = store.replace(rep).await.unwrap();
    assert_eq!(g2v.members.unwrap().len(), 2);
    assert!(entry(&s, &format!("cn=G2 renamed,{}", t.groups)).await.is_some());
    let members = store.get(ResourceKind::Group, &g2.id, true).await.unwrap().unwrap().members.unwrap();
    assert_eq!(members.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [g1.id.as_str(), lee.id.as_str()]);
}

/// Paging (RFC 7644 §3.4.2.4), sorting (§3.4.2.3) and keyset cursors (RFC 9865).
#[tokio::test]
async fn pages_sort_and_walk_with_cursors() {
    let s = server();
    let t = tree(&s, "paging").await;
    let store = store(&s, &t).await;
    let names = ["d", "b", "e", "a", "c"];
    let mut ids = Vec::new();
    for n in names {
        ids.push(store.create(new(ResourceKind::User, person(n), vec![])).await.unwrap().id);
    }
    let all = query(ResourceKind::User, ClaimFilter::All);
    let page = store.query(&StoreQuery { offset: 1, limit: 2, ..all.clone() }).await.unwrap();
    assert_eq!(page.total, 5);
    assert_eq!(page.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids[1..3], "creation order");
    let total = store.query(&StoreQuery { limit: 0, ..all.clone() }).await.unwrap();
    assert_eq!((total.total, total.items.len()), (5, 0));
    // A keyset walk in creation order.
    let mut seen = Vec::new();
    let mut after: Option<Keyset> = None;
    loop {
        let p = store.query(&StoreQuery { limit: 2, after: after.clone(), ..all.clone() }).await.unwrap();
        assert_eq!(p.total, 5);
        if p.items.is_empty() {
            break;
        }
        seen.extend(p.items.iter().map(|r| r.id.clone()));
        after = p.keys.last().cloned();
    }
    assert_eq!(seen, ids);
    // Sorted by userName descending, walked with the sort key.
    let sort = SortKey {
        path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
        attr_type: AttrType::String,
        case_exact: false,
        descending: true,
    };
    let sorted = StoreQuery { sort: Some(sort), limit: 2, ..all.clone() };
    let mut got = Vec::new();
    let mut after: Option<Keyset> = None;
    loop {
        let p = store.query(&StoreQuery { after: after.clone(), ..sorted.clone() }).await.unwrap();
        if p.items.is_empty() {
            break;
        }
        got.extend(p.items.iter().map(|r| r.claims.get_str(USER_NAME).unwrap().to_owned()));
        after = p.keys.last().cloned();
    }
    assert_eq!(got, ["e", "d", "c", "b", "a"]);
    // userName eq, the lookup before a create.
    let p =
        store.query(&StoreQuery { limit: 1, ..query(ResourceKind::User, eq(USER_NAME, "B")) }).await.unwrap();
    assert_eq!((p.total, p.items[0].id.as_str()), (1, ids[1].as_str()));
}

/// RFC 9865 §2.2 `previousCursor`: backward pages in the store's in-memory order are slices of
/// the forward order: creation order, and sorted (RFC 7644 §3.4.2.3) by a claim with ties and
/// resources without a value, ascending and descending, with and without a filter.
#[tokio::test]
async fn backward_pages_follow_the_order_in_memory() {
    let s = server();
    let t = tree(&s, "backward").await;
    let store = store(&s, &t).await;
    for (i, display) in [Some("b"), None, Some("a"), Some("B"), None, Some("c"), Some("a")].iter().enumerate()
    {
        let mut c = person(&format!("p{i}"));
        if let Some(d) = display {
            c.insert(DISPLAY_NAME, json!(d));
        }
        store.create(new(ResourceKind::User, c, vec![])).await.unwrap();
    }
    let by = |claim: &str, descending| SortKey {
        path: ClaimPath::Claim { claim: claim.into(), sub: None },
        attr_type: AttrType::String,
        case_exact: false,
        descending,
    };
    let sorts =
        [None, Some(by(DISPLAY_NAME, false)), Some(by(DISPLAY_NAME, true)), Some(by(USER_NAME, true))];
    for sort in sorts {
        for filter in [ClaimFilter::All, ClaimFilter::Not(Box::new(eq(USER_NAME, "p3")))] {
            let q = StoreQuery { sort: sort.clone(), ..query(ResourceKind::User, filter) };
            scimd_store_testkit::checks::backward::assert_backward_pages(&store, &q).await;
        }
    }
}

/// Past max_candidates candidates examined in memory, the query is refused (never a full scan).
#[tokio::test]
async fn queries_that_would_examine_too_many_candidates_are_refused() {
    let s = server();
    let t = tree(&s, "toomany").await;
    let mut c = config(&s, &t);
    c.max_candidates = 3;
    c.page_size = 2;
    let store = LdapStore::connect("LDAP", c, map()).await.unwrap();
    for i in 0..5 {
        store.create(new(ResourceKind::User, person(&format!("tm{i}")), vec![])).await.unwrap();
    }
    let sw = ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: USER_NAME.into(), sub: None },
        op: CompareOp::Sw,
        value: CompValue::Str("tm".into()),
        attr_type: AttrType::String,
        case_exact: false,
    };
    match store.query(&query(ResourceKind::User, sw.clone())).await {
        Err(StoreError::TooMany { limit }) => assert_eq!(limit, 3),
        other => panic!("{other:?}"),
    }
    // The directory answers an unfiltered list exactly: no bound, paged by 2.
    let p = store.query(&query(ResourceKind::User, ClaimFilter::All)).await.unwrap();
    assert_eq!(p.total, 5);
    let p = store
        .query(&query(ResourceKind::User, ClaimFilter::And(vec![sw, eq(USER_NAME, "tm1")])))
        .await
        .unwrap();
    assert_eq!(p.total, 1);
}

/// A directory that cannot be reached is Unavailable, naming its URL.
#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let s = server();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("ldap://127.0.0.1:{port}");
    let mut c = LdapConfig::new(&url, &s.bind_dn, &s.password, "ou=x", "ou=y");
    c.operation_timeout_ms = 2000;
    match LdapStore::connect("LDAP", c, map()).await {
        Err(StoreError::Unavailable(m)) => assert!(m.contains(&url), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut c = LdapConfig::new(&s.url, &s.bind_dn, "wrong", "ou=x", "ou=y");
    c.operation_timeout_ms = 2000;
    assert!(
        matches!(LdapStore::connect("LDAP", c, map()).await, Err(StoreError::Unavailable(m)) if m.contains("bind"))
    );
}

/// A TCP proxy to slapd that drops every connection it carries when told: a directory that
/// restarts, or closes idle connections, while the store keeps them (a fault slapd cannot be
/// made to show on demand).
struct DroppingProxy {
    url: String,
    drop_all: tokio::sync::watch::Sender<u64>,
}

impl DroppingProxy {
    async fn start(target: &str) -> DroppingProxy {
        let target = target.trim_start_matches("ldap://").trim_end_matches('/').to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ldap://{}", listener.local_addr().unwrap());
        let (drop_all, rx) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                let (target, mut rx) = (target.clone(), rx.clone());
                rx.mark_unchanged();
                tokio::spawn(async move {
                    let mut outbound = tokio::net::TcpStream::connect(&target).await.unwrap();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        DroppingProxy { url, drop_all }
    }

    fn drop_connections(&self) {
        self.drop_all.send_modify(|n| *n += 1);
    }
}

/// A read connection the directory closed while it sat idle costs no failed request: the
/// search is sent again, once, on a new connection.
#[tokio::test]
async fn a_search_on_a_connection_closed_while_idle_is_sent_again_on_a_new_one() {
    let s = server();
    let t = tree(&s, "dropped").await;
    let proxy = DroppingProxy::start(&s.url).await;
    let mut c = config(&s, &t);
    c.url = proxy.url.clone();
    let store = LdapStore::connect("LDAP", c, map()).await.unwrap();
    let created = store
        .create(new(
            ResourceKind::User,
            claims(&[
                ("userName", json!("idle")),
                ("name.familyName", json!("Idle")),
                ("name.formatted", json!("I. Idle")),
            ]),
            vec![],
        ))
        .await
        .unwrap();
    // The search leaves its connection idle in the pool; the proxy then closes it.
    assert!(store.get(ResourceKind::User, &created.id, false).await.unwrap().is_some());
    proxy.drop_connections();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let before = store.searches_sent();
    let got = store.get(ResourceKind::User, &created.id, false).await.unwrap().unwrap();
    assert_eq!(got.claims.get(USER_NAME), Some(&json!("idle")));
    assert_eq!(store.searches_sent() - before, 2, "sent on the closed connection, then on a new one");
    // The new connection is kept: the next search goes out once.
    let before = store.searches_sent();
    assert!(store.get(ResourceKind::User, &created.id, false).await.unwrap().is_some());
    assert_eq!(store.searches_sent() - before, 1);
}

/// RFC 4513 §3 StartTLS and LDAP over TLS, trusting the throwaway CA.
#[tokio::test]
async fn tls_connections_work_with_ldaps_and_start_tls() {
    let s = server();
    let (Some(ldaps), Some(ca)) = (s.ldaps_url.clone(), s.ca_file.clone()) else {
        panic!("SCIMD_TEST_LDAPS_URL and SCIMD_TEST_LDAP_CA_FILE are not set: run scripts/test");
    };
    let t = tree(&s, "tls").await;
    for (url, start_tls) in [(ldaps.as_str(), false), (s.url.as_str(), true)] {
        let mut c = config(&s, &t);
        c.url = url.to_owned();
        c.start_tls = start_tls;
        c.ca_file = Some(ca.clone().into());
        let store = LdapStore::connect("LDAP", c, map()).await.unwrap();
        let name = format!("tls{start_tls}");
        let u = store.create(new(ResourceKind::User, person(&name), vec![])).await.unwrap();
        assert!(store.get(ResourceKind::User, &u.id, false).await.unwrap().is_some());
    }
    // Without the CA, the server's certificate is not trusted.
    let mut c = config(&s, &t);
    c.url = ldaps;
    assert!(matches!(LdapStore::connect("LDAP", c, map()).await, Err(StoreError::Unavailable(_))));
}
