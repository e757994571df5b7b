//! The test harness: starts the real binary and talks to it.

use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A running scimd process on its own port and data directory; killed when dropped.
pub struct TestServer {
    child: Child,
    /// The SCIM base URL, `http://127.0.0.1:PORT/scim/v2`.
    pub base: String,
    /// The server root, `http://127.0.0.1:PORT`.
    pub root: String,
    pub token: String,
    pub data_dir: PathBuf,
    /// Lines the server printed before it listened.
    pub banner: Vec<String>,
    _dir: Option<tempfile::TempDir>,
    client: reqwest::Client,
}

/// How to start a server.
pub struct Builder {
    env: Vec<(String, String)>,
    args: Vec<String>,
    data_dir: Option<PathBuf>,
    token: Option<String>,
}

impl Builder {
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }
    /// Use this data directory (kept by the caller) instead of a fresh one.
    pub fn data_dir(mut self, p: &Path) -> Self {
        self.data_dir = Some(p.to_path_buf());
        self
    }
    /// Start without SCIMD_ADMIN_TOKEN: the server generates (or reuses) its own.
    pub fn no_token(mut self) -> Self {
        self.token = None;
        self
    }
    pub fn start(self) -> TestServer {
        let (dir, data_dir) = match self.data_dir {
            Some(p) => (None, p),
            None => {
                let d = tempfile::tempdir().unwrap();
                let p = d.path().join("data");
                (Some(d), p)
            }
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimd"));
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data-dir").arg(&data_dir);
        cmd.args(&self.args);
        cmd.env_remove("SCIMD_ADMIN_TOKEN").env("RUST_LOG", "warn");
        if let Some(t) = &self.token {
            cmd.env("SCIMD_ADMIN_TOKEN", t);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn scimd");
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut banner = Vec::new();
        let mut base = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                panic!("scimd exited before listening ({status}); printed: {banner:?}");
            }
            let line = line.trim_end().to_string();
            if let Some(rest) = line.split("SCIM endpoint ").nth(1) {
                base = rest.trim().to_string();
            }
            let done = line.starts_with("Authenticate") || line.starts_with("  curl");
            banner.push(line);
            if done {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                sink.clear();
            }
        });
        let root = base.trim_end_matches("/scim/v2").to_string();
        let token = self.token.unwrap_or_else(|| {
            banner
                .iter()
                .find_map(|l| l.strip_prefix("Admin token (shown this once; only its digest is stored): "))
                .map(str::to_string)
                .unwrap_or_default()
        });
        TestServer { child, base, root, token, data_dir, banner, _dir: dir, client: reqwest::Client::new() }
    }
}

/// A response: status, headers, JSON body (Null when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts a SCIM error (RFC 7644 §3.12) with this status and scimType.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{}", self.text);
        assert_eq!(self.body["status"], status.to_string(), "{}", self.text);
        assert_eq!(self.body.get("scimType").and_then(Value::as_str), scim_type, "{}", self.text);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", self.text);
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
    }
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or("")
    }
}

pub fn builder() -> Builder {
    Builder { env: Vec::new(), args: Vec::new(), data_dir: None, token: Some("test-admin-token".into()) }
}

pub fn start() -> TestServer {
    builder().start()
}

impl TestServer {
    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A request with the admin token; `path` is relative to the SCIM base unless it starts
    /// with `http`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{}", self.base, path) };
        let mut rb = self.client.request(method, url).bearer_auth(&self.token);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "application/scim+json").body(b.to_string());
        }
        send(rb).await
    }

    pub fn raw(&self) -> &reqwest::Client {
        &self.client
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::POST, path, Some(body), &[]).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::PUT, path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.request(Method::DELETE, path, None, &[]).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::PATCH, path, Some(body), &[]).await
    }

    /// A request to the admin API: `path` is relative to `/admin/v1`.
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        self.request(method, &format!("{}/admin/v1{path}", self.root), body, &[]).await
    }

    /// Creates a user and returns its body; panics unless 201.
    pub async fn create_user(&self, user_name: &str) -> Value {
        let r =
            self.post("/Users", &serde_json::json!({"schemas": [USER_SCHEMA], "userName": user_name})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    }

    /// Creates a group with members (ids) and returns its body; panics unless 201.
    pub async fn create_group(&self, name: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|m| serde_json::json!({"value": m})).collect();
        let r = self
            .post(
                "/Groups",
                &serde_json::json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": members}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    }
}

pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let resp = rb.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, headers, body, text }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
