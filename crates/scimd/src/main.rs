//! The `scimd` binary: command line and wiring only. Everything else is in the library crates.

use anyhow::Context;
use clap::{Parser, Subcommand};
use scimd_server::auth::AdminToken;
use scimd_server::config::Config;
use std::path::PathBuf;

mod schema;

const CONFIG_HELP: &str = "\
Configuration (TOML; every key optional, every key overridable by SCIMD_<SECTION>_<KEY>):
  [server]   listen = \"127.0.0.1:8080\"      SCIMD_SERVER_LISTEN
             base_url = \"\"  (http://<listen>) SCIMD_SERVER_BASE_URL
             scim_path = \"/scim/v2\"          SCIMD_SERVER_SCIM_PATH
             max_body_bytes = 1048576        SCIMD_SERVER_MAX_BODY_BYTES
  [storage]  data_dir = \"./data\"             SCIMD_STORAGE_DATA_DIR
             read_connections = 4            SCIMD_STORAGE_READ_CONNECTIONS
  [scim2]    enable_custom_schema_extension = true   SCIMD_SCIM2_ENABLE_CUSTOM_SCHEMA_EXTENSION
             custom_user_schema_uri = \"urn:scim:wso2:schema\"  SCIMD_SCIM2_CUSTOM_USER_SCHEMA_URI
             max_results = 1000              SCIMD_SCIM2_MAX_RESULTS
             max_filter_candidates = 10000   SCIMD_SCIM2_MAX_FILTER_CANDIDATES
             bulk_max_operations = 1000      SCIMD_SCIM2_BULK_MAX_OPERATIONS
             bulk_max_payload_bytes = 1048576  SCIMD_SCIM2_BULK_MAX_PAYLOAD_BYTES
  [auth]     admin_user = \"admin\"            SCIMD_AUTH_ADMIN_USER
  [log]      level = \"info\"                  SCIMD_LOG_LEVEL (RUST_LOG wins)

SCIMD_ADMIN_TOKEN, when set, is the bootstrap admin's bearer token (also the Basic password of
auth.admin_user). When unset, the first start generates a token, prints it once and keeps only
its digest in <data_dir>/admin-token.";

/// scimd: a SCIM 2.0 inbound-provisioning server.
#[derive(Parser)]
#[command(version, about, after_help = CONFIG_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SQLite under ./data, 127.0.0.1:8080, SCIM at /scim/v2 by default).
    #[command(after_help = CONFIG_HELP)]
    Serve {
        #[command(flatten)]
        common: Common,
        /// Listen on ADDR:PORT (overrides server.listen).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
        /// Keep data in DIR (overrides storage.data_dir).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Print the effective configuration (defaults, file and environment merged) and exit.
    Config {
        #[command(flatten)]
        common: Common,
    },
    /// Schemas of a running server, through its admin API: list and show them; add and delete
    /// attributes of the custom extension (docs/schemas.md).
    Schema(Box<SchemaArgs>),
}

#[derive(clap::Args)]
struct SchemaArgs {
    #[command(flatten)]
    remote: schema::Remote,
    #[command(subcommand)]
    command: schema::SchemaCommand,
}

#[derive(clap::Args)]
struct Common {
    /// The TOML configuration file.
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn load(common: &Common) -> anyhow::Result<Config> {
    Ok(Config::load(common.config.as_deref(), std::env::vars())?)
}

/// mimalloc rather than the system's allocator: a request allocates a few hundred times (parsed
/// JSON, claims, rendered text), and with the system's, allocation was about a quarter of the
/// CPU of a lookup in a directory or PostgreSQL domain (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Config { common } => {
            print!("{}", load(&common)?.to_toml());
            Ok(())
        }
        Command::Schema(args) => {
            let SchemaArgs { remote, command } = *args;
            schema::run(remote, command)
        }
        Command::Serve { common, listen, data_dir } => {
            let mut config = load(&common)?;
            if let Some(l) = listen {
                config.server.listen = l;
            }
            if let Some(d) = data_dir {
                config.storage.data_dir = d;
            }
            let addr = config.listen_addr()?;
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log.level))
                .context("log.level is not a valid filter")?;
            tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(config.server.worker_threads())
                .enable_all()
                .build()?;
            runtime.block_on(serve(config, addr))
        }
    }
}

async fn serve(config: Config, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let admin_token = std::env::var("SCIMD_ADMIN_TOKEN").ok();
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let mut config = config;
    // With port 0 the base URL must name the port actually bound.
    if config.server.base_url.is_empty() {
        config.server.base_url = format!("http://{local}");
    }
    let (state, how) =
        scimd_server::start::open(config, admin_token.as_deref()).await.map_err(anyhow::Error::msg)?;
    let base = state.scim_base_url.clone();
    println!("scimd listening on {local}; SCIM endpoint {base}");
    match how {
        AdminToken::Generated(token) => {
            println!("Admin token (shown this once; only its digest is stored): {token}");
            println!("  curl -H 'Authorization: Bearer {token}' {base}/ServiceProviderConfig");
        }
        AdminToken::FromEnvironment => {
            println!(
                "Authenticate with the token in SCIMD_ADMIN_TOKEN: Authorization: Bearer $SCIMD_ADMIN_TOKEN"
            );
        }
        AdminToken::Stored => {
            println!(
                "Authenticate with the admin token printed at the first start (Authorization: Bearer <token>);\n\
                 lost it? stop scimd, delete admin-token in the data directory, start again."
            );
        }
    }
    scimd_server::run(listener, state, shutdown_signal()).await?;
    tracing::info!("scimd stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
