//! Create, read, replace, delete: ids, uniqueness, versions (RFC 7644 §3.14 ETags), times.

use std::sync::Arc;

use scimd_claims::claims::{DISPLAY_NAME, EXTERNAL_ID, ID, USER_NAME};
use scimd_store::{Claims, ResourceKind, StoreError, StoreQuery, UserStore};
use serde_json::json;
use time::macros::datetime;

use crate::fixtures::*;

pub async fn create_then_get_returns_what_was_stored(store: Arc<dyn UserStore>) {
    let mut new = new_user("u1", "Kim");
    new.claims = claims(&[
        (USER_NAME, json!("Kim")),
        (EXTERNAL_ID, json!("ext-1")),
        ("urn:scimd:claims:emails", json!([{"value": "kim@example.com", "type": "work", "primary": true}])),
        ("urn:scimd:claims:active", json!(true)),
        ("urn:scimd:claims:name", json!({"givenName": "Kim", "familyName": "Lee"})),
        ("urn:scimd:claims:level", json!(1.5)),
        ("urn:scimd:claims:big", json!(9_007_199_254_740_993_u64)),
        ("urn:scimd:claims:devices", json!(["a", "b", "é"])),
    ]);
    let created = store.create(new.clone()).await.unwrap();
    assert_eq!(created.version, 1, "RFC 7644 §3.14: a new resource has its first version");
    assert_eq!(created.created, NOW);
    assert_eq!(created.last_modified, NOW);
    assert_eq!(created.members, None);
    let got = store.get(ResourceKind::User, "u1", false).await.unwrap().unwrap();
    assert_eq!(got.claims, new.claims, "every claim is kept losslessly");
    assert_eq!(got, created);
}

pub async fn get_is_none_for_an_absent_id_or_another_kind(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "kim")).await.unwrap();
    assert!(store.get(ResourceKind::User, "nope", false).await.unwrap().is_none());
    assert!(store.get(ResourceKind::Group, "u1", true).await.unwrap().is_none());
    assert!(store.get_with_memberships(ResourceKind::Group, "u1").await.unwrap().is_none());
}

/// RFC 7643 §3.1 `meta.created`: an instant; kept to the nanosecond whatever its offset.
pub async fn times_are_kept_to_the_nanosecond_as_instants(store: Arc<dyn UserStore>) {
    let mut new = new_user("u1", "kim");
    new.now = datetime!(2025-03-01 12:00:00.000000001 +02:00);
    let created = store.create(new).await.unwrap();
    let got = store.get(ResourceKind::User, "u1", false).await.unwrap().unwrap();
    assert_eq!(got.created, datetime!(2025-03-01 10:00:00.000000001 UTC));
    assert_eq!(got, created);
}

/// RFC 7643 §4.1.1: userName is unique and caseExact false.
pub async fn create_refuses_a_user_name_taken_in_another_case(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "Kim")).await.unwrap();
    let err = store.create(new_user("u2", "kIM")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == USER_NAME), "{err:?}");
    assert!(store.get(ResourceKind::User, "u2", false).await.unwrap().is_none());
}

pub async fn create_refuses_a_user_name_taken_in_another_unicode_case(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "ÉLODIE")).await.unwrap();
    let err = store.create(new_user("u2", "élodie")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == USER_NAME), "{err:?}");
    store.create(new_user("u3", "ΣΟΦΙΑΣ")).await.unwrap();
    let err = store.create(new_user("u4", "σοφιας")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == USER_NAME), "{err:?}");
}

/// RFC 7643 §3.1: an id is unique across the service provider's resources.
pub async fn create_refuses_a_taken_id(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    let err = store.create(new_user("u1", "b")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == ID), "{err:?}");
    let err = store.create(new_group("u1", "b", &[])).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == ID), "{err:?}");
}

pub async fn a_group_may_share_a_name_with_a_user(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "admins")).await.unwrap();
    let mut group = new_group("g1", "admins", &[]);
    group.claims.insert(USER_NAME, json!("admins"));
    store.create(group).await.unwrap();
}

/// RFC 7644 §3.3: of concurrent creates of one userName, one succeeds, the others conflict.
pub async fn concurrent_creates_of_one_user_name_admit_exactly_one(store: Arc<dyn UserStore>) {
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&store);
            let name = if i % 2 == 0 { "Racer" } else { "rACER" };
            tokio::spawn(async move { store.create(new_user(&format!("u{i}"), name)).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict { claim }) => assert_eq!(claim, USER_NAME),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.query(&users(eq(USER_NAME, "racer"))).await.unwrap().total, 1);
}

/// RFC 7644 §3.14: a write on a stale version is refused (412), naming the current one.
pub async fn replace_with_a_wrong_version_is_refused_with_the_current_one(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "kim")).await.unwrap();
    let rep = replacement("u1", ResourceKind::User, Some(7), claims(&[(USER_NAME, json!("kim2"))]));
    let err = store.replace(rep).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionMismatch { current: 1 }), "{err:?}");
    let got = store.get(ResourceKind::User, "u1", false).await.unwrap().unwrap();
    assert_eq!(got.claims.get_str(USER_NAME), Some("kim"));
    assert_eq!(got.version, 1);
}

pub async fn replace_with_the_right_version_bumps_version_and_last_modified(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "kim")).await.unwrap();
    let new_claims = claims(&[(USER_NAME, json!("Kimberly")), (DISPLAY_NAME, json!("K"))]);
    let rep = replacement("u1", ResourceKind::User, Some(1), new_claims.clone());
    let replaced = store.replace(rep).await.unwrap();
    assert_eq!(replaced.version, 2);
    assert_eq!(replaced.created, NOW);
    assert_eq!(replaced.last_modified, LATER);
    let got = store.get(ResourceKind::User, "u1", false).await.unwrap().unwrap();
    assert_eq!(got, replaced);
    assert_eq!(got.claims, new_claims);
    // Unconditional replace.
    let rep = replacement("u1", ResourceKind::User, None, new_claims);
    assert_eq!(store.replace(rep).await.unwrap().version, 3);
    // The old userName is free again, the new one is indexed.
    store.create(new_user("u2", "KIM")).await.unwrap();
    assert_eq!(ids(&*store, users(eq(USER_NAME, "kimberly"))).await, ["u1"]);
}

pub async fn replace_of_an_absent_resource_or_another_kind_is_not_found(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "kim")).await.unwrap();
    let err = store.replace(replacement("nope", ResourceKind::User, None, Claims::new())).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { kind: ResourceKind::User, .. }), "{err:?}");
    let err = store.replace(replacement("u1", ResourceKind::Group, None, Claims::new())).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { kind: ResourceKind::Group, .. }), "{err:?}");
    let err =
        store.replace(replacement("u1", ResourceKind::Group, Some(1), Claims::new())).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { kind: ResourceKind::Group, .. }), "{err:?}");
}

pub async fn replace_refuses_the_user_name_of_another_user(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "kim")).await.unwrap();
    store.create(new_user("u2", "lee")).await.unwrap();
    let rep = replacement("u2", ResourceKind::User, None, claims(&[(USER_NAME, json!("KIM"))]));
    let err = store.replace(rep).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { claim } if claim == USER_NAME), "{err:?}");
    let got = store.get(ResourceKind::User, "u2", false).await.unwrap().unwrap();
    assert_eq!((got.claims.get_str(USER_NAME), got.version), (Some("lee"), 1));
}

/// RFC 7644 §3.6 and §3.14: DELETE with If-Match on a stale version is refused.
pub async fn delete_checks_version_kind_and_existence(store: Arc<dyn UserStore>) {
    store.create(new_user("u1", "a")).await.unwrap();
    let err = store.delete(ResourceKind::User, "u1", Some(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionMismatch { current: 1 }), "{err:?}");
    let err = store.delete(ResourceKind::Group, "u1", None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store.delete(ResourceKind::User, "nope", None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(store.get(ResourceKind::User, "u1", false).await.unwrap().is_some());
    store.delete(ResourceKind::User, "u1", Some(1)).await.unwrap();
    assert!(store.get(ResourceKind::User, "u1", false).await.unwrap().is_none());
    // The userName and the id are free again.
    store.create(new_user("u1", "A")).await.unwrap();
}

/// An attribute an admin deleted leaves every resource of the kind, versions untouched.
pub async fn remove_claim_drops_it_from_every_resource_of_the_kind(store: Arc<dyn UserStore>) {
    let devices = "urn:scimd:claims:devices";
    for (id, list) in [("a", Some(json!(["d1"]))), ("b", None), ("c", Some(json!(["d2", "d3"])))] {
        let mut new = new_user(id, id);
        if let Some(list) = list {
            new.claims.insert(devices, list);
        }
        store.create(new).await.unwrap();
    }
    let mut group = new_group("g", "g", &[]);
    group.claims.insert(devices, json!(["x"]));
    store.create(group).await.unwrap();
    match store.remove_claim(ResourceKind::User, devices).await {
        Err(StoreError::Unsupported(_)) => return,
        other => assert_eq!(other.unwrap(), 2),
    }
    assert_eq!(store.remove_claim(ResourceKind::User, devices).await.unwrap(), 0);
    for id in ["a", "b", "c"] {
        let got = store.get(ResourceKind::User, id, false).await.unwrap().unwrap();
        assert!(got.claims.get(devices).is_none(), "{id}");
        assert_eq!(got.claims.get_str(USER_NAME), Some(id), "other claims stay");
        assert_eq!(got.version, 1);
    }
    let q = StoreQuery { kind: ResourceKind::Group, ..users(eq(devices, "x")) };
    assert_eq!(store.query(&q).await.unwrap().total, 1, "the other kind keeps it");
}
