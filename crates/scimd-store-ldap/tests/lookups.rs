//! What a lookup costs in searches, and that the short paths answer as the long ones: a query
//! whose matches fit in one page of the directory's results is one search; the groups of a user
//! on its page come from `memberOf` where the directory keeps it (the memberof overlay of the
//! test slapd), else are searched; a query over more than a page answers as with one page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use common::*;
use scimd_claims::claims::{GROUP_DISPLAY_NAME, USER_NAME};
use scimd_claims::filter::ClaimPath;
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{
    ClaimFilter, Claims, Keyset, Member, MemberChange, Membership, NewResource, Page, ResourceKind,
    StoreQuery, UserStore,
};
use scimd_store_ldap::{LdapConfig, LdapStore};
use scimd_store_testkit::fixtures::{compare, users};
use serde_json::json;
use time::OffsetDateTime;

fn person(user_name: &str) -> Claims {
    [
        (format!("{U}userName"), json!(user_name)),
        (format!("{U}name.formatted"), json!(format!("{user_name} Person"))),
        (format!("{U}name.familyName"), json!("Person")),
    ]
    .into_iter()
    .collect()
}

fn group(name: &str) -> Claims {
    [(GROUP_DISPLAY_NAME.to_owned(), json!(name))].into_iter().collect()
}

fn new(kind: ResourceKind, claims: Claims, members: Vec<Member>) -> NewResource {
    NewResource { id: "ignored".into(), kind, claims, members, now: OffsetDateTime::now_utc() }
}

fn by_name(name: &str) -> StoreQuery {
    users(compare(USER_NAME, CompareOp::Eq, name, false))
}

async fn connect(config: LdapConfig) -> LdapStore {
    LdapStore::connect("LDAP", config, map()).await.unwrap()
}

/// What a page says, to compare.
fn summary(p: &Page) -> (u64, Vec<(String, Claims, u64)>, Vec<Keyset>) {
    (p.total, p.items.iter().map(|r| (r.id.clone(), r.claims.clone(), r.version)).collect(), p.keys.clone())
}

/// The users kim (in no group), lee (in G1, and through it in G2) and a group G1 holding lee,
/// G2 holding G1; written by a store of `config`.
async fn people(config: LdapConfig) -> (String, String, Vec<Membership>) {
    let store = connect(config).await;
    let kim = store.create(new(ResourceKind::User, person("kim"), vec![])).await.unwrap();
    let lee = store.create(new(ResourceKind::User, person("lee"), vec![])).await.unwrap();
    let g1 = store
        .create(new(
            ResourceKind::Group,
            group("G1"),
            vec![Member::new(&lee.id, Some(ResourceKind::User), None)],
        ))
        .await
        .unwrap();
    let g2 = store
        .create(new(
            ResourceKind::Group,
            group("G2"),
            vec![Member::new(&g1.id, Some(ResourceKind::Group), None)],
        ))
        .await
        .unwrap();
    let lee_groups = vec![
        Membership { group_id: g1.id.clone(), display: Some("G1".into()), direct: true },
        Membership { group_id: g2.id.clone(), display: Some("G2".into()), direct: false },
    ];
    (kim.id, lee.id, lee_groups)
}

/// RFC 7644 §3.4.2.2 `userName eq`: one search gives the total and the page; the groups of a
/// user the directory's memberOf puts in none cost no search; a user in some group has them
/// searched, and they are what the store answers without memberOf.
#[tokio::test]
async fn a_lookup_by_user_name_is_one_search_and_a_user_in_no_group_costs_no_other() {
    let s = server();
    let t = tree(&s, "lookups").await;
    let (kim, lee, lee_groups) = people(config(&s, &t)).await;
    let store = connect(config(&s, &t)).await;
    let mut plain_config = config(&s, &t);
    plain_config.member_of_attribute = String::new();
    let plain = connect(plain_config).await;
    // The first memberships asked check once that the directory keeps memberOf.
    store.query(&by_name("kim")).await.unwrap();
    assert_eq!(store.memberships_of(std::slice::from_ref(&kim)).await.unwrap(), [vec![]]);

    let before = store.searches_sent();
    let page = store.query(&by_name("KIM")).await.unwrap();
    assert_eq!(store.searches_sent() - before, 1, "the total and the page in one search");
    assert_eq!(summary(&page), summary(&plain.query(&by_name("KIM")).await.unwrap()));
    assert_eq!((page.total, page.items[0].id.as_str()), (1, kim.as_str()));
    let before = store.searches_sent();
    assert_eq!(store.memberships_of(std::slice::from_ref(&kim)).await.unwrap(), [vec![]]);
    assert_eq!(store.searches_sent() - before, 0, "memberOf names no group");

    let page = store.query(&by_name("lee")).await.unwrap();
    assert_eq!(page.items[0].id, lee);
    let groups = store.memberships_of(std::slice::from_ref(&lee)).await.unwrap();
    assert_eq!(groups, std::slice::from_ref(&lee_groups));
    plain.query(&by_name("lee")).await.unwrap();
    assert_eq!(
        plain.memberships_of(std::slice::from_ref(&lee)).await.unwrap(),
        std::slice::from_ref(&lee_groups)
    );
    // Without a query's note, and for ids of both kinds at once.
    assert_eq!(
        store.memberships_of(&[kim.clone(), lee.clone()]).await.unwrap(),
        [vec![], lee_groups.clone()]
    );

    // A GET with its groups: one search for a user in none.
    let before = store.searches_sent();
    let (got, groups) = store.get_with_memberships(ResourceKind::User, &kim).await.unwrap().unwrap();
    assert_eq!(store.searches_sent() - before, 1);
    assert_eq!((got.id.as_str(), groups), (kim.as_str(), vec![]));
    let (got, groups) = store.get_with_memberships(ResourceKind::User, &lee).await.unwrap().unwrap();
    let want = plain.get(ResourceKind::User, &lee, false).await.unwrap().unwrap();
    assert_eq!((got.claims, got.version, groups), (want.claims, want.version, lee_groups));
}

/// Lookups by name or id test each entry they find against the kind's filter (which they send
/// where no index answers it, see `Layout::narrowed`): an entry under the user base with the
/// name but not the user's object class is no user, and does not hold the name.
#[tokio::test]
async fn a_lookup_by_name_finds_entries_of_the_kind_only() {
    let s = server();
    let t = tree(&s, "kinds").await;
    let mut ldap = plain(&s).await;
    let sub = format!("ou=sub,{}", t.people);
    ldap.add(
        &sub,
        vec![("objectClass", HashSet::from(["organizationalUnit"])), ("ou", HashSet::from(["sub"]))],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let other = format!("uid=kim,{sub}");
    ldap.add(&other, vec![("objectClass", HashSet::from(["account"])), ("uid", HashSet::from(["kim"]))])
        .await
        .unwrap()
        .success()
        .unwrap();
    let store = connect(config(&s, &t)).await;
    let page = store.query(&by_name("kim")).await.unwrap();
    assert_eq!((page.total, page.items.len()), (0, 0), "an account is not a user");
    let kim = store.create(new(ResourceKind::User, person("kim"), vec![])).await.unwrap();
    let page = store.query(&by_name("kim")).await.unwrap();
    assert_eq!((page.total, page.items[0].id.as_str()), (1, kim.id.as_str()));
    let g = store.create(new(ResourceKind::Group, group("G"), vec![])).await.unwrap();
    assert!(store.get(ResourceKind::User, &g.id, false).await.unwrap().is_none());
    assert!(store.get_with_memberships(ResourceKind::Group, &kim.id).await.unwrap().is_none());
    assert_eq!(store.get(ResourceKind::User, &kim.id, false).await.unwrap().unwrap().id, kim.id);
}

/// A directory that does not keep memberOf for the domain's groups (the test slapd's overlay
/// knows groupOfNames/member only): the groups are searched, found as by a store told not to
/// read memberOf, whether the groups were there before the store connected or written
/// through it after it found none.
#[tokio::test]
async fn groups_are_searched_where_the_directory_does_not_keep_member_of() {
    let s = server();
    let unique = |t: &Tree| {
        let mut c = config(&s, t);
        c.group_object_classes = vec!["groupOfUniqueNames".into()];
        c.member_attribute = "uniqueMember".into();
        c
    };
    let t = tree(&s, "unique").await;
    let (kim, lee, lee_groups) = people(unique(&t)).await;
    let store = connect(unique(&t)).await;
    store.query(&by_name("lee")).await.unwrap();
    assert_eq!(
        store.memberships_of(std::slice::from_ref(&lee)).await.unwrap(),
        std::slice::from_ref(&lee_groups)
    );
    let (_, groups) = store.get_with_memberships(ResourceKind::User, &lee).await.unwrap().unwrap();
    assert_eq!(groups, lee_groups);
    store.query(&by_name("kim")).await.unwrap();
    assert_eq!(store.memberships_of(&[kim]).await.unwrap(), [vec![]]);

    // No group with a member when the store first checks: memberOf is trusted until a member
    // is written through the store.
    let t = tree(&s, "unique-late").await;
    let store = connect(unique(&t)).await;
    let kim = store.create(new(ResourceKind::User, person("kim"), vec![])).await.unwrap();
    let g = store.create(new(ResourceKind::Group, group("G"), vec![])).await.unwrap();
    store.query(&by_name("kim")).await.unwrap();
    assert_eq!(store.memberships_of(std::slice::from_ref(&kim.id)).await.unwrap(), [vec![]]);
    let add = MemberChange {
        group_id: g.id.clone(),
        expected_version: None,
        clear: false,
        remove: vec![],
        add: vec![Member::new(&kim.id, Some(ResourceKind::User), None)],
        claims: None,
        now: OffsetDateTime::now_utc(),
    };
    store.change_members(add).await.unwrap();
    store.query(&by_name("kim")).await.unwrap();
    let want = vec![Membership { group_id: g.id.clone(), display: Some("G".into()), direct: true }];
    assert_eq!(
        store.memberships_of(std::slice::from_ref(&kim.id)).await.unwrap(),
        std::slice::from_ref(&want)
    );
    let (_, groups) = store.get_with_memberships(ResourceKind::User, &kim.id).await.unwrap().unwrap();
    assert_eq!(groups, want);
}

fn level(op: CompareOp, n: i64) -> ClaimFilter {
    ClaimFilter::Compare {
        path: ClaimPath::Claim { claim: format!("{U}level"), sub: None },
        op,
        value: CompValue::Num(n.into()),
        attr_type: AttrType::Integer,
        case_exact: false,
    }
}

/// RFC 7644 §3.4.2.4: queries over more matches than a page of the directory's results (page
/// size 2) answer as with one page (page size 500): totals, pages at every offset, creation
/// order, keyset walks. Exact filters (integers) of at most a page of matches cost one search.
#[tokio::test]
async fn queries_over_more_than_a_page_answer_as_with_one() {
    let s = server();
    let t = tree(&s, "pages").await;
    let wide = connect(config(&s, &t)).await;
    let mut small = config(&s, &t);
    small.page_size = 2;
    let narrow = connect(small).await;
    for (n, l) in [("d", 1), ("b", 2), ("e", 2), ("a", 3), ("c", 3), ("ab", 3), ("ba", 4)] {
        let mut c = person(n);
        c.insert(format!("{U}level"), json!(l));
        wide.create(new(ResourceKind::User, c, vec![])).await.unwrap();
    }
    let filters = [
        ClaimFilter::All,
        level(CompareOp::Eq, 2),
        level(CompareOp::Eq, 3),
        level(CompareOp::Ge, 3),
        level(CompareOp::Eq, 9),
        ClaimFilter::Or(vec![level(CompareOp::Eq, 1), level(CompareOp::Eq, 4)]),
        ClaimFilter::Not(Box::new(level(CompareOp::Eq, 3))),
        compare(USER_NAME, CompareOp::Eq, "ab", false),
        compare(USER_NAME, CompareOp::Sw, "a", false),
    ];
    for filter in filters {
        let all = StoreQuery { filter: filter.clone(), ..by_name("") };
        for offset in 0..8 {
            for limit in [0, 1, 2, 3, 100] {
                let q = StoreQuery { offset, limit, ..all.clone() };
                let (a, b) = (wide.query(&q).await.unwrap(), narrow.query(&q).await.unwrap());
                assert_eq!(summary(&a), summary(&b), "{filter:?} offset {offset} limit {limit}");
            }
        }
        let mut after: Option<Keyset> = None;
        loop {
            let q = StoreQuery { limit: 2, after: after.clone(), ..all.clone() };
            let (a, b) = (wide.query(&q).await.unwrap(), narrow.query(&q).await.unwrap());
            assert_eq!(summary(&a), summary(&b), "{filter:?} after {after:?}");
            if a.items.is_empty() {
                break;
            }
            after = a.keys.last().cloned();
        }
    }
    // At most a page of matches: one search; more: a probe, the ids of every match, and the
    // page's entries the probe did not read.
    let searches = |filter: ClaimFilter| {
        let narrow = &narrow;
        async move {
            let before = narrow.searches_sent();
            let page = narrow.query(&StoreQuery { filter, limit: 2, ..by_name("") }).await.unwrap();
            (page.total, narrow.searches_sent() - before)
        }
    };
    assert_eq!(searches(level(CompareOp::Eq, 2)).await, (2, 1));
    assert_eq!(searches(level(CompareOp::Eq, 9)).await, (0, 1));
    let (total, n) = searches(level(CompareOp::Eq, 3)).await;
    assert_eq!(total, 3);
    assert!((2..=4).contains(&n), "{n} searches");
}

/// A lookup by name (a filter an index narrows, here an `or` of `userName eq`) is one request
/// without paging; where the directory's own size limit cuts that reply short (a limit set for
/// the store's bind DN alone), the store pages through the matches rather than answer with
/// part of them. Past `max_candidates` matches, such a lookup is refused, as any query that
/// examines candidates in memory.
#[tokio::test]
async fn a_lookup_cut_short_by_the_directory_pages_through_the_rest() {
    let s = server();
    let t = tree(&s, "cut").await;
    let store = connect(config(&s, &t)).await;
    let names = ["cut0", "cut1", "cut2", "cut3"];
    for n in names {
        store.create(new(ResourceKind::User, person(n), vec![])).await.unwrap();
    }
    let any_of = |names: &[&str]| StoreQuery {
        filter: ClaimFilter::Or(names.iter().map(|n| compare(USER_NAME, CompareOp::Eq, n, false)).collect()),
        ..by_name("")
    };

    // A bind DN that the directory answers with at most 2 entries per request, and as many as
    // it asks for across pages (slapd.conf(5) `limits`).
    let reader = format!("uid=reader,{}", t.dn);
    let mut admin = plain(&s).await;
    admin
        .add(
            &reader,
            vec![
                ("objectClass", HashSet::from(["inetOrgPerson"])),
                ("uid", HashSet::from(["reader"])),
                ("cn", HashSet::from(["reader"])),
                ("sn", HashSet::from(["reader"])),
                ("userPassword", HashSet::from(["reader-secret"])),
            ],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let (conn, mut config_admin) = ldap3::LdapConnAsync::new(&s.url).await.unwrap();
    ldap3::drive!(conn);
    config_admin.simple_bind("cn=admin,cn=config", &s.password).await.unwrap().success().unwrap();
    let limit =
        format!("dn.exact=\"{reader}\" size.soft=2 size.hard=2 size.pr=unlimited size.prtotal=unlimited");
    config_admin
        .modify(
            "olcDatabase={1}mdb,cn=config",
            vec![ldap3::Mod::Add("olcLimits", HashSet::from([limit.as_str()]))],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let mut limited = config(&s, &t);
    limited.bind_dn = reader.clone();
    limited.bind_secret = "reader-secret".into();
    limited.page_size = 2;
    let limited = connect(limited).await;

    let before = limited.searches_sent();
    let page = limited.query(&any_of(&names)).await.unwrap();
    let mut got: Vec<String> =
        page.items.iter().map(|r| r.claims.get_str(USER_NAME).unwrap().to_owned()).collect();
    got.sort();
    assert_eq!((page.total, got), (4, names.map(str::to_owned).to_vec()));
    assert_eq!(limited.searches_sent() - before, 2, "the request the directory cut, then the paged search");
    // Within the directory's limit: one request.
    let before = limited.searches_sent();
    assert_eq!(limited.query(&any_of(&names[..2])).await.unwrap().total, 2);
    assert_eq!(limited.searches_sent() - before, 1);

    let mut bounded = config(&s, &t);
    bounded.max_candidates = 3;
    let bounded = connect(bounded).await;
    match bounded.query(&any_of(&names)).await {
        Err(scimd_store::StoreError::TooMany { limit }) => assert_eq!(limit, 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(bounded.query(&any_of(&names[..3])).await.unwrap().total, 3);
}

/// Lookups by userName that arrive together share a search (`lookups.rs`): each still gets
/// the page a lookup alone gets (RFC 7643 §4.1.1: userName compared without regard to case),
/// with its groups, and the directory sees fewer searches than lookups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_that_arrive_together_share_searches_and_each_get_their_own_users() {
    let s = server();
    let t = tree(&s, "together").await;
    let (kim, lee, lee_groups) = people(config(&s, &t)).await;
    let store = std::sync::Arc::new(connect(config(&s, &t)).await);
    for i in 0..20 {
        store.create(new(ResourceKind::User, person(&format!("user{i}")), vec![])).await.unwrap();
    }
    // 24 names, 22 of them stored; asked one at a time first (nothing to share).
    let name = |n: usize| match n {
        20 => "KIM".to_owned(),
        21 => "lee".to_owned(),
        n => format!("User{n}"),
    };
    let mut alone = Vec::new();
    for n in 0..24 {
        alone.push(summary(&store.query(&by_name(&name(n))).await.unwrap()));
    }
    assert_eq!(alone[20].1[0].0, kim);
    assert!(alone[22].1.is_empty() && alone[23].1.is_empty());

    let before = store.searches_sent();
    let mut tasks = Vec::new();
    for i in 0..480_usize {
        let store = std::sync::Arc::clone(&store);
        tasks
            .push(tokio::spawn(async move { (i % 24, store.query(&by_name(&name(i % 24))).await.unwrap()) }));
    }
    for task in tasks {
        let (n, page) = task.await.unwrap();
        assert_eq!(summary(&page), alone[n], "{}", name(n));
    }
    let sent = store.searches_sent() - before;
    assert!(sent < 480, "{sent} searches for 480 lookups");

    // With their groups: lee's are searched (nested through G1), the others' come from
    // memberOf.
    let before = store.searches_sent();
    let mut tasks = Vec::new();
    for i in 0..480_usize {
        let store = std::sync::Arc::clone(&store);
        let asked = if i % 2 == 0 { name(i % 24).to_uppercase() } else { name(i % 24).to_lowercase() };
        tasks.push(tokio::spawn(async move {
            let (page, groups) = store.query_with_memberships(&by_name(&asked)).await.unwrap();
            (i % 24, summary(&page), groups)
        }));
    }
    for task in tasks {
        let (n, page, groups) = task.await.unwrap();
        assert_eq!(page, alone[n], "{}", name(n));
        let expected = if n == 21 { vec![lee_groups.clone()] } else { vec![vec![]; page.1.len()] };
        assert_eq!(groups, expected, "{}", name(n));
    }
    assert_eq!(alone[21].1[0].0, lee);
    let sent = store.searches_sent() - before;
    // Alone: 480 searches, and the groups of lee's 20 lookups besides.
    assert!(sent < 480, "{sent} searches for 480 lookups, 20 of them of a user in groups");
}
