//! The equalities clients filter on most are index lookups, never scans: `userName` (what a
//! provisioning client asks before every create), `id`, `externalId`, `displayName` of users and
//! groups, `emails.value` and `members.value` (RFC 7644 §3.4.2.2 `eq`). Checked on the generic
//! plan, the one a statement prepared once per connection may settle on, with statistics of a
//! populated table.

use scimd_claims::claims::{DISPLAY_NAME, EMAILS, EXTERNAL_ID, GROUP_DISPLAY_NAME, USER_NAME};
use scimd_claims::{ClaimPath, Collection, Column, MemberField};
use scimd_core::filter::{CompValue, CompareOp};
use scimd_core::schema::AttrType;
use scimd_store::{ClaimFilter, Member, NewResource, ResourceKind, StoreQuery, UserStore};
use scimd_store_testkit::fixtures::{NOW, claims};
use serde_json::json;

use super::server::{admin_client, base_url, new_schema, url_with_schema};

fn eq(path: ClaimPath, value: &str, case_exact: bool) -> ClaimFilter {
    ClaimFilter::Compare {
        path,
        op: CompareOp::Eq,
        value: CompValue::Str(value.into()),
        attr_type: AttrType::String,
        case_exact,
    }
}

fn claim(c: &str) -> ClaimPath {
    ClaimPath::Claim { claim: c.into(), sub: None }
}

fn query(kind: ResourceKind, filter: ClaimFilter) -> StoreQuery {
    StoreQuery { kind, ..scimd_store_testkit::fixtures::users(filter) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equalities_on_indexed_attributes_are_index_lookups() {
    let schema = new_schema().await;
    let store = scimd_store_pg::PgStore::connect(&url_with_schema(&base_url(), &schema), 4).await.unwrap();
    for i in 0..2_000 {
        let claims = claims(&[
            (USER_NAME, json!(format!("User{i}"))),
            (EXTERNAL_ID, json!(format!("ext-{i}"))),
            (DISPLAY_NAME, json!(format!("User Number {i}"))),
            (EMAILS, json!([{"value": format!("user{i}@example.com"), "type": "work", "primary": true}])),
        ]);
        let new =
            NewResource { id: format!("u{i}"), kind: ResourceKind::User, claims, members: vec![], now: NOW };
        store.create(new).await.unwrap();
    }
    for g in 0..200 {
        let members = (0..5).map(|k| Member::new(format!("u{}", g * 10 + k), None, None)).collect();
        let claims = claims(&[(GROUP_DISPLAY_NAME, json!(format!("Group {g}")))]);
        let new = NewResource { id: format!("g{g}"), kind: ResourceKind::Group, claims, members, now: NOW };
        store.create(new).await.unwrap();
    }
    admin_client()
        .await
        .batch_execute(&format!("ANALYZE {schema}.resources; ANALYZE {schema}.members"))
        .await
        .unwrap();

    let emails_value = ClaimPath::Claim { claim: EMAILS.into(), sub: Some("value".into()) };
    let cases = [
        ("userName", query(ResourceKind::User, eq(claim(USER_NAME), "USER77", false)), "resources_user_name"),
        ("id", query(ResourceKind::User, eq(ClaimPath::Column(Column::Id), "u77", true)), "resources_id_key"),
        (
            "externalId",
            query(ResourceKind::User, eq(claim(EXTERNAL_ID), "ext-77", true)),
            "resources_external_id",
        ),
        (
            "user displayName",
            query(ResourceKind::User, eq(claim(DISPLAY_NAME), "user number 77", false)),
            "resources_user_display_name",
        ),
        (
            "group displayName",
            query(ResourceKind::Group, eq(claim(GROUP_DISPLAY_NAME), "GROUP 7", false)),
            "resources_group_display_name",
        ),
        (
            "emails.value",
            query(ResourceKind::User, eq(emails_value, "USER77@example.com", false)),
            "resources_emails_value",
        ),
        (
            "emails[type eq work and value eq ...]",
            query(
                ResourceKind::User,
                ClaimFilter::ElementMatch {
                    of: Collection::Claim(EMAILS.into()),
                    filter: Box::new(ClaimFilter::And(vec![
                        eq(ClaimPath::Element { sub: "type".into() }, "work", false),
                        eq(ClaimPath::Element { sub: "value".into() }, "user77@example.com", false),
                    ])),
                },
            ),
            "resources_emails_value",
        ),
        (
            "members.value",
            query(ResourceKind::Group, eq(ClaimPath::Member(MemberField::Value), "U72", false)),
            "members_member_id_folded",
        ),
    ];
    for (name, q, index) in cases {
        let plan = store.explain(&q).await.unwrap();
        assert!(plan.contains(index), "{name}: {index} not used:\n{plan}");
        assert!(!plan.contains("Seq Scan on resources"), "{name}: scans resources:\n{plan}");
        // And the answer is right.
        assert_eq!(store.query(&q).await.unwrap().total, 1, "{name}");
    }
}
