#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]
//! The floor of a `userName eq` lookup on PostgreSQL: the least an HTTP server that asks the
//! database for each lookup can do, for `bench/domains` to measure scimd's PostgreSQL figure
//! against (beside the limit reference, which answers from memory).
//!
//! `GET /Users?filter=userName eq "PG/<name>"` (any other request: 404) checks the bearer
//! token, takes the name between the quotes (no filter parser), asks the database for that
//! userName's row in scimd's own table with one prepared statement over the same index scimd
//! uses, and answers a ListResponse holding the row's stored claims as they are (no mapping,
//! no rendering). The statements of concurrent requests are pipelined on a few shared
//! connections, as scimd's point reads are (crates/scimd-store-pg/src/readers.rs).
//!
//! ```sh
//! cargo run --release -p scimd --example pg_floor -- 127.0.0.1:8200 TOKEN 'postgres://…/bench' [CONNECTIONS]
//! ```
//! The database is one a scimd PostgreSQL domain wrote its users to.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_postgres::{Client, NoTls, Statement};

/// The statement: the row of one userName, by the unique index on its folded value.
const LOOKUP: &str = "SELECT id, claims::text FROM resources \
    WHERE kind = 1 AND scimd_fold(claims ->> 'urn:scimd:claims:userName') = scimd_fold($1)";

struct Floor {
    token: String,
    connections: Vec<(Client, Statement)>,
    next: AtomicUsize,
}

async fn users(
    State(floor): State<Arc<Floor>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == floor.token);
    if !authorized {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(name) = q.get("filter").and_then(|f| f.split('"').nth(1)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let name = name.strip_prefix("PG/").unwrap_or(name);
    let (client, statement) =
        &floor.connections[floor.next.fetch_add(1, Ordering::Relaxed) % floor.connections.len()];
    let rows = client.query(statement, &[&name]).await.unwrap();
    let mut body = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":{},"itemsPerPage":{},"startIndex":1,"Resources":["#,
        rows.len(),
        rows.len()
    );
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let id: &str = row.get(0);
        let claims: &str = row.get(1);
        body.push_str(&format!(r#"{{"id":"{id}","claims":{claims}}}"#));
    }
    body.push_str("]}");
    ([(header::CONTENT_TYPE, "application/scim+json")], body).into_response()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, token, url, rest @ ..] = args.as_slice() else {
        panic!("usage: pg_floor LISTEN TOKEN POSTGRES_URL [CONNECTIONS] (see the example's docs)");
    };
    let n: usize = rest.first().map_or(2, |c| c.parse().unwrap());
    let mut connections = Vec::with_capacity(n);
    for _ in 0..n {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
        tokio::spawn(connection);
        let statement = client.prepare_typed(LOOKUP, &[tokio_postgres::types::Type::TEXT]).await.unwrap();
        connections.push((client, statement));
    }
    let floor = Arc::new(Floor { token: token.clone(), connections, next: AtomicUsize::new(0) });
    let app = Router::new().route("/Users", get(users)).with_state(floor);
    let listener = tokio::net::TcpListener::bind(listen.as_str()).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
