//! The `brook` commands for people that talk to a running broker over the Kafka protocol (so
//! to any Kafka broker): a small client (`client`) over plain TCP or TLS with a SASL login
//! (`connect`, configured by `secure` and `properties`), the cluster's routing (`cluster`),
//! table and JSON output (`output`), and one module per command group.

pub mod acls;
pub mod client;
pub mod cluster;
pub mod cluster_info;
pub mod connect;
pub mod consume;
pub mod groups;
pub mod output;
pub mod produce;
pub mod properties;
pub mod secure;
pub mod topics;
pub mod transactions;
pub mod users;

/// The options every client command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// A broker to start from (`host:port`).
    #[arg(long, default_value = "localhost:9092", global = true)]
    pub bootstrap_server: String,
    /// `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub format: output::Format,
    /// How long to wait for each broker, in milliseconds.
    #[arg(long, default_value_t = 10_000, global = true)]
    pub timeout_ms: u64,
    #[command(flatten)]
    pub security: secure::SecurityArgs,
}

impl Common {
    /// How this command connects: its timeout, TLS and SASL login.
    pub fn connector(&self) -> Result<client::Connector, client::CliError> {
        Ok(client::Connector::new(std::time::Duration::from_millis(self.timeout_ms), self.security.resolve()?))
    }
}

/// `brook cluster ...`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: ClusterCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// The cluster id, the controller, the brokers, and how many topics and partitions.
    Info,
}

/// Runs a client command on its own small runtime: its output, or its error as one line.
pub fn run_command(
    command: impl std::future::Future<Output = Result<String, client::CliError>>,
) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("brook: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(out) => {
            print!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("brook: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
