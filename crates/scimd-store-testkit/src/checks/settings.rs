//! Admin state shared by every node (DESIGN.md, Scale): versioned documents whose writes on a
//! stale version are refused rather than lost.

use std::sync::Arc;

use scimd_store::{SettingsStore, StoreError};
use serde_json::json;

pub async fn settings_are_versioned_and_refuse_stale_writes(store: Arc<dyn SettingsStore>) {
    assert!(store.load_setting("domains").await.unwrap().is_none());
    assert_eq!(store.save_setting("domains", &json!({"b": 1, "a": [1, 2]}), None).await.unwrap(), 1);
    // A writer that read no document, or an old version, is refused: nothing is lost.
    let stale = store.save_setting("domains", &json!({"b": 2}), None).await.unwrap_err();
    assert!(matches!(stale, StoreError::VersionMismatch { current: 1 }), "{stale:?}");
    let stale = store.save_setting("domains", &json!({"b": 2}), Some(7)).await.unwrap_err();
    assert!(matches!(stale, StoreError::VersionMismatch { current: 1 }), "{stale:?}");
    let absent = store.save_setting("other", &json!(1), Some(1)).await.unwrap_err();
    assert!(matches!(absent, StoreError::VersionMismatch { current: 0 }), "{absent:?}");
    assert_eq!(store.save_setting("domains", &json!({"z": 2, "a": 1}), Some(1)).await.unwrap(), 2);
    let (value, version) = store.load_setting("domains").await.unwrap().unwrap();
    assert_eq!((value, version), (json!({"z": 2, "a": 1}), 2));
    assert!(store.load_setting("other").await.unwrap().is_none());
}

/// Of concurrent saves on one version (two nodes), exactly one wins.
pub async fn concurrent_saves_on_one_version_admit_exactly_one(store: Arc<dyn SettingsStore>) {
    for expected in [None, Some(1)] {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(
                    async move { store.save_setting("schemas", &json!({ "writer": i }), expected).await },
                )
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(version) => {
                    won += 1;
                    assert_eq!(Some(version), Some(expected.map_or(1, |v| v + 1)));
                }
                Err(StoreError::VersionMismatch { .. }) => {}
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(won, 1);
    }
}
