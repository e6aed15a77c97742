//! The `brook` commands for people that talk to a running broker over the Kafka protocol (so
//! to any Kafka broker): a small client (`client`), the cluster's routing (`cluster`), table
//! and JSON output (`output`), and one module per command group.

pub mod client;
pub mod cluster;
pub mod output;
pub mod transactions;

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
