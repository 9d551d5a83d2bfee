//! `dimctl sandbox serve|seed`: run or fill the built-in simulator of the API.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::sandbox::faults::{FaultConfig, Faults};
use crate::sandbox::{persist, seed, serve};

use super::{CliError, CliResult, exit};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the simulated API over HTTP: the API under /api/v1.0, the OAuth token
    /// endpoint at /connect/token, request counters at /_sandbox/stats. Prints
    /// `listening on http://IP:PORT/api/v1.0` first; stops (saving its state) on Ctrl-C
    /// or SIGTERM.
    Serve(Box<ServeArgs>),
    /// Fill a sandbox state file with N realistic customers (appended to what it holds),
    /// and with `--users M`, M users for each of them (every third one as the PBX import
    /// leaves it: only the role customer.user.pbx).
    Seed(SeedArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The state file (JSON); created when missing.
    #[arg(long, value_name = "FILE", default_value = ".dimctl/sandbox.json")]
    pub state: PathBuf,
    /// A YAML file of fault settings (the flags below in camelCase); flags win over it.
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
    #[command(flatten)]
    pub config: FaultConfig,
}

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// How many customers to add.
    #[arg(long, value_name = "N")]
    pub customers: usize,
    /// The state file (JSON); created when missing.
    #[arg(long, value_name = "FILE", default_value = ".dimctl/sandbox.json")]
    pub state: PathBuf,
    /// The RNG seed, so the same customers come out every time.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// How many users to add to each new customer (every third one PBX-imported).
    #[arg(long, value_name = "M", default_value_t = 0)]
    pub users: usize,
}

pub async fn run(cmd: Command) -> CliResult {
    match cmd {
        Command::Serve(a) => run_serve(*a).await,
        Command::Seed(a) => run_seed(a),
    }
}

async fn run_serve(a: ServeArgs) -> CliResult {
    let config = match &a.faults {
        Some(path) => a
            .config
            .clone()
            .or(FaultConfig::from_yaml_file(path).map_err(|e| CliError::usage(e.to_string()))?),
        None => a.config.clone(),
    };
    let mut store = persist::load(&a.state).map_err(|e| CliError::failure(e.to_string()))?;
    if config.no_trial_permission {
        store.parent.trial_permission = false;
    }
    if !config.omit_fields.is_empty() {
        store.omit_fields = config.omit_fields.clone();
    }
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| CliError::failure(format!("cannot listen on {}: {e}", a.listen)))?;
    let addr = listener.local_addr()?;
    super::write_stdout(format!("{}\n", serve::listening_line(addr)).as_bytes())?;
    serve::serve(listener, &a.state, store, Faults::new(config))
        .await
        .map_err(|e| CliError::failure(format!("sandbox state {}: {e}", a.state.display())))?;
    Ok(exit::OK)
}

fn run_seed(a: SeedArgs) -> CliResult {
    let mut store = persist::load(&a.state).map_err(|e| CliError::failure(e.to_string()))?;
    let n = seed::seed(
        &mut store,
        a.customers,
        a.seed,
        &crate::sandbox::inprocess::now_utc(),
    );
    let users = seed::seed_users(&mut store, n, a.users, a.seed);
    persist::save(&a.state, &store).map_err(|e| CliError::failure(e.to_string()))?;
    super::write_stdout(
        format!(
            "seeded {n} customers and {users} users into {} ({} customers in total)\n",
            a.state.display(),
            store.len()
        )
        .as_bytes(),
    )?;
    Ok(exit::OK)
}
