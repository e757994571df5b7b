//! The command line and configuration of `scimd serve`.

use crate::harness::*;
use std::process::Command;

#[test]
fn help_documents_every_config_key_and_its_environment_variable() {
    for args in [vec!["--help"], vec!["serve", "--help"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_scimd")).args(&args).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for key in [
            "SCIMD_SERVER_LISTEN",
            "SCIMD_SERVER_BASE_URL",
            "SCIMD_STORAGE_DATA_DIR",
            "SCIMD_SCIM2_ENABLE_CUSTOM_SCHEMA_EXTENSION",
            "SCIMD_SCIM2_CUSTOM_USER_SCHEMA_URI",
            "SCIMD_ADMIN_TOKEN",
        ] {
            assert!(text.contains(key), "{args:?} help lacks {key}");
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_scimd")).args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("--listen") && text.contains("--data-dir") && text.contains("--config"));
}

/// Every key has a default; the environment overrides the file; the file overrides defaults.
#[test]
fn config_shows_file_and_environment_merged() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("scimd.toml");
    std::fs::write(&f, "[server]\nlisten = \"127.0.0.1:9999\"\n[scim2]\nmax_results = 77\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["config", "--config"])
        .arg(&f)
        .env("SCIMD_SCIM2_MAX_RESULTS", "55")
        .env("SCIMD_SCIM2_ENABLE_CUSTOM_SCHEMA_EXTENSION", "false")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("listen = \"127.0.0.1:9999\""), "{text}");
    assert!(text.contains("max_results = 55"), "{text}");
    assert!(text.contains("enable_custom_schema_extension = false"), "{text}");
    let bad = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["config"])
        .env("SCIMD_SERVER_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("server.listen"));
}

/// A config file's keys apply to the running server (here the page size maximum).
#[tokio::test]
async fn serve_reads_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("scimd.toml");
    std::fs::write(&f, "[scim2]\nmax_results = 3\n").unwrap();
    let s = builder().arg("--config").arg(f.to_str().unwrap()).start();
    for i in 0..5 {
        s.create_user(&format!("cfg{i}")).await;
    }
    let r = s.get("/Users?count=100").await;
    assert_eq!(r.body["itemsPerPage"], 3);
    assert_eq!(r.body["totalResults"], 5);
    assert_eq!(s.get("/ServiceProviderConfig").await.body["filter"]["maxResults"], 3);
    let health = send(s.raw().get(format!("{}/healthz", s.root))).await;
    assert_eq!(health.status, 200);
    let ready = send(s.raw().get(format!("{}/readyz", s.root))).await;
    assert_eq!(ready.status, 200);
}

/// `server.scim_path` places every SCIM endpoint, the root included (RFC 7644 §3.13: the base
/// URI is the service provider's choice); resources' locations carry it, and paths outside it
/// are 404 SCIM errors.
#[tokio::test]
async fn the_scim_endpoints_live_under_the_configured_path() {
    for (path, base) in [("/", ""), ("/api/scim/", "/api/scim")] {
        let s = builder().env("SCIMD_SERVER_SCIM_PATH", path).start();
        let root = s.base.strip_suffix(base).unwrap();
        assert!(
            root.starts_with("http://127.0.0.1:") && !root["http://".len()..].contains('/'),
            "{}",
            s.base
        );
        assert_eq!(s.get("/ServiceProviderConfig").await.status, 200, "{path}");
        let user = s.create_user("kim").await;
        let location = user["meta"]["location"].as_str().unwrap();
        assert_eq!(location, format!("{}/Users/{}", s.base, user["id"].as_str().unwrap()));
        assert_eq!(s.get(location).await.body["userName"], "kim");
        if !base.is_empty() {
            s.get(&format!("{root}/scim/v2/Users")).await.assert_error(404, None);
        }
        s.get(&format!("{root}/nowhere")).await.assert_error(404, None);
        assert_eq!(send(s.raw().get(format!("{root}/healthz"))).await.status, 200);
    }
}
