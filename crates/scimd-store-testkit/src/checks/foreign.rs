//! Members of a group that live in another domain (a PRIMARY group with LDAP users; see the
//! `scimd_store` crate docs): kept as given, without an existence check, found by memberships
//! and member filters (RFC 7643 §4.2, RFC 7644 §3.4.2.2), dropped by `forget_member`.

use std::sync::Arc;

use scimd_claims::{ClaimPath, Collection, MemberField};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, Member, MemberChange, Membership, ResourceKind, UserStore};

use crate::fixtures::*;

/// A member of the domain `domain`.
fn foreign(id: &str, kind: ResourceKind, display: Option<&str>, domain: &str) -> Member {
    Member {
        id: id.to_owned(),
        kind: Some(kind),
        display: display.map(str::to_owned),
        domain: Some(domain.to_owned()),
    }
}

fn member_eq(field: MemberField, value: &str) -> ClaimFilter {
    ClaimFilter::Compare {
        path: ClaimPath::Member(field),
        op: CompareOp::Eq,
        value: CompValue::Str(value.into()),
        attr_type: AttrType::String,
        case_exact: false,
    }
}

pub async fn members_of_other_domains_are_kept_as_given(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "local")).await.unwrap();
    let mut group = new_group("g", "Mixed", &[]);
    group.members = vec![
        foreign("ldap-1", ResourceKind::User, Some("Kim (LDAP)"), "LDAP"),
        member("u1"),
        foreign("ldap-g", ResourceKind::Group, None, "LDAP"),
        foreign("p-9", ResourceKind::User, None, "PARTNERS"),
    ];
    let created = store.create(group.clone()).await.unwrap();
    let expected = vec![
        foreign("ldap-1", ResourceKind::User, Some("Kim (LDAP)"), "LDAP"),
        Member::new("u1", Some(ResourceKind::User), None),
        foreign("ldap-g", ResourceKind::Group, None, "LDAP"),
        foreign("p-9", ResourceKind::User, None, "PARTNERS"),
    ];
    assert_eq!(created.members.as_deref(), Some(&expected[..]));
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(got.members, Some(expected.clone()));
    let page = store.query(&StoreQueryExt::with_members(groups(ClaimFilter::All))).await.unwrap();
    assert_eq!(page.items[0].members, Some(expected.clone()));
    // Read in slices of two, in the same order, members of both kinds of storage interleaved.
    let first = store.members_slice("g", None, 2).await.unwrap().unwrap();
    let rest = store.members_slice("g", first.next, 2).await.unwrap().unwrap();
    assert!(rest.next.is_none());
    assert_eq!([first.members, rest.members].concat(), expected);
    // No member of this domain has those ids.
    assert!(store.get(ResourceKind::User, "ldap-1", false).await.unwrap().is_none());
}

pub async fn members_of_other_domains_are_found_by_memberships_and_filters(store: Arc<dyn UserStore>) {
    let mut inner = new_group("inner", "Inner", &[]);
    inner.members = vec![foreign("ldap-1", ResourceKind::User, Some("Kim"), "LDAP")];
    store.create(inner).await.unwrap();
    store.create(new_group("outer", "Outer", &["inner"])).await.unwrap();
    store.create(new_group("other", "Other", &[])).await.unwrap();
    assert_eq!(
        store.memberships("ldap-1").await.unwrap(),
        vec![membership("inner", "Inner", true), membership("outer", "Outer", false)]
    );
    let batched = store.memberships_of(&["ldap-1".to_owned(), "nobody".to_owned()]).await.unwrap();
    assert_eq!(batched[0].len(), 2);
    assert!(batched[1].is_empty());
    assert_eq!(ids(&*store, groups(member_eq(MemberField::Value, "LDAP-1"))).await, ["inner"]);
    assert_eq!(ids(&*store, groups(member_eq(MemberField::Display, "kim"))).await, ["inner"]);
    let typed = ClaimFilter::ElementMatch {
        of: Collection::Members,
        filter: Box::new(ClaimFilter::And(vec![
            member_eq(MemberField::Value, "ldap-1"),
            member_eq(MemberField::Type, "User"),
        ])),
    };
    assert_eq!(ids(&*store, groups(typed)).await, ["inner"]);
    let present = ClaimFilter::Present { path: ClaimPath::Member(MemberField::Value) };
    assert_eq!(ids(&*store, groups(present)).await, ["inner", "outer"]);
}

/// RFC 7644 §3.5.2: PATCH add and remove of members of other domains.
pub async fn change_members_adds_and_removes_members_of_other_domains(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "local")).await.unwrap();
    store.create(new_group("g", "G", &["u1"])).await.unwrap();
    let add = vec![
        foreign("ldap-1", ResourceKind::User, None, "LDAP"),
        foreign("ldap-2", ResourceKind::User, None, "LDAP"),
    ];
    let g = store.change_members(MemberChange { add, ..change("g") }).await.unwrap();
    assert_eq!(g.version, 2);
    store.change_members(MemberChange { remove: vec!["ldap-1".to_owned()], ..change("g") }).await.unwrap();
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(member_ids(got.members.as_deref().unwrap()), ["u1", "ldap-2"]);
    assert_eq!(got.version, 3);
    assert!(store.memberships("ldap-1").await.unwrap().is_empty());
    assert_eq!(store.memberships("ldap-2").await.unwrap(), vec![membership("g", "G", true)]);
}

/// RFC 7644 §3.5.1: a PUT keeps, adds and drops members of other domains by difference.
pub async fn replace_keeps_members_of_other_domains_by_difference(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "local")).await.unwrap();
    let mut group = new_group("g", "G", &[]);
    group.members = vec![
        foreign("ldap-1", ResourceKind::User, None, "LDAP"),
        member("u1"),
        foreign("ldap-2", ResourceKind::User, None, "LDAP"),
    ];
    store.create(group).await.unwrap();
    let mut rep = replacement("g", ResourceKind::Group, Some(1), new_group("g", "G", &[]).claims);
    rep.members = Some(vec![
        foreign("ldap-3", ResourceKind::Group, Some("Three"), "LDAP"),
        foreign("ldap-2", ResourceKind::User, Some("Two"), "LDAP"),
        member("u1"),
    ]);
    let replaced = store.replace(rep).await.unwrap();
    let expected = vec![
        Member::new("u1", Some(ResourceKind::User), None),
        foreign("ldap-2", ResourceKind::User, Some("Two"), "LDAP"),
        foreign("ldap-3", ResourceKind::Group, Some("Three"), "LDAP"),
    ];
    assert_eq!(replaced.members.as_deref(), Some(&expected[..]));
    let got = store.get(ResourceKind::Group, "g", true).await.unwrap().unwrap();
    assert_eq!(got.members, Some(expected));
}

/// A member deleted in its own domain leaves every group of this one; local members with
/// other ids, and the groups it was not in, are untouched.
pub async fn forget_member_removes_a_member_of_another_domain_from_every_group(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "local")).await.unwrap();
    for (id, with) in [("g1", true), ("g2", true), ("g3", false)] {
        let mut group = new_group(id, id, &["u1"]);
        if with {
            group.members.push(foreign("ldap-1", ResourceKind::User, None, "LDAP"));
        }
        group.members.push(foreign("ldap-2", ResourceKind::User, None, "LDAP"));
        store.create(group).await.unwrap();
    }
    store.forget_member("ldap-1").await.unwrap();
    assert!(store.memberships("ldap-1").await.unwrap().is_empty());
    for id in ["g1", "g2", "g3"] {
        let g = store.get(ResourceKind::Group, id, true).await.unwrap().unwrap();
        assert_eq!(member_ids(g.members.as_deref().unwrap()), ["u1", "ldap-2"], "{id}");
    }
    assert_eq!(store.memberships("ldap-2").await.unwrap().len(), 3);
    let expected: Vec<Membership> = ["g1", "g2", "g3"].iter().map(|g| membership(g, g, true)).collect();
    assert_eq!(store.memberships("u1").await.unwrap(), expected);
    // Forgetting a member of this store's id does nothing: it is deleted through `delete`.
    store.forget_member("u1").await.unwrap();
    assert_eq!(store.memberships("u1").await.unwrap().len(), 3);
    store.forget_member("never-a-member").await.unwrap();
}

/// `with_members` on a query.
trait StoreQueryExt {
    fn with_members(self) -> Self;
}

impl StoreQueryExt for scimd_store::StoreQuery {
    fn with_members(self) -> Self {
        scimd_store::StoreQuery { with_members: true, ..self }
    }
}
