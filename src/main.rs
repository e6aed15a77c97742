//! The `brook` binary: parse configuration, recover the data dir, serve until a signal.

use std::time::Instant;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use brook::config::{BrokerConfig, Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::ApiVersions) => {
            print!("{}", brook::api::compatibility_table());
            return std::process::ExitCode::SUCCESS;
        }
        Some(Command::Settings) => {
            print!("{}", brook::config::settings_table());
            return std::process::ExitCode::SUCCESS;
        }
        Some(Command::Transactions(args)) => return brook::cli::run_command(brook::cli::transactions::run(args)),
        Some(Command::Produce(args)) => return brook::cli::run_command(brook::cli::produce::run(args)),
        Some(Command::Consume(args)) => return brook::cli::run_command(brook::cli::consume::run(args)),
        Some(Command::Topic(args)) => return brook::cli::run_command(brook::cli::topics::run(args)),
        Some(Command::Group(args)) => return brook::cli::run_command(brook::cli::groups::run(args)),
        Some(Command::User(args)) => return brook::cli::run_command(brook::cli::users::run(args)),
        Some(Command::Acl(args)) => return brook::cli::run_command(brook::cli::acls::run(args)),
        Some(Command::Cluster(args)) => match args.command {
            brook::cli::ClusterCommand::Info => {
                return brook::cli::run_command(brook::cli::cluster_info::run(args.common))
            }
        },
        Some(Command::Serve(args)) => *args,
        None => cli.serve,
    };
    let config = match BrokerConfig::resolve(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("brook: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    raise_fd_limit();
    tune_malloc();
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    match config.log_format {
        brook::config::LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init(),
        brook::config::LogFormat::Json => tracing_subscriber::fmt().json().with_env_filter(filter).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("brook: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(serve(config));
    // Dropping the runtime would wait for every thread, and one stuck in a system call (a
    // write held by a failing disk) never returns: exit regardless after a short grace.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("brook: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: BrokerConfig) -> std::io::Result<()> {
    let started = Instant::now();
    let data_dir = config.data_dir.clone();
    let durability = config.durability.name();
    let handle = brook::server::start(config).await?;
    let r = &handle.load_report;
    let b = &handle.broker.config;
    println!(
        "brook listening on {} (advertised {}:{}), data dir {}, durability {}, {} topics / {} partitions recovered in {} ms",
        handle.addr,
        b.advertised_host,
        b.advertised_port,
        data_dir.display(),
        durability,
        r.topics,
        r.partitions,
        started.elapsed().as_millis()
    );
    if let Some(m) = &handle.metrics {
        tracing::info!("metrics on http://{}/metrics, health on /health/live and /health/ready", m.addr);
    }
    if r.recovery.truncated_bytes > 0 {
        tracing::warn!(bytes = r.recovery.truncated_bytes, "truncated torn or corrupt log tails during recovery");
    }
    wait_for_signal().await;
    tracing::info!("shutting down: answering requests in flight, then flushing logs (a second signal exits at once)");
    tokio::select! {
        done = handle.shutdown() => done,
        () = wait_for_signal() => Err(std::io::Error::other(
            "second signal: exiting without a clean shutdown; the next start recovers the logs",
        )),
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Every segment holds one file descriptor and every client one socket: lift the soft
/// RLIMIT_NOFILE to the hard limit, as Kafka's docs ask operators to do.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Keeps request-sized buffers (produce frames up to a few MiB) in glibc's heap instead of a
/// fresh `mmap` each: otherwise every frame costs an mmap, a page fault per 4 KiB as it fills
/// and an munmap (about 7% of the broker's CPU under a 100 B-record produce load). Freed
/// memory above 16 MiB at the top of the heap still goes back to the OS.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator thresholds; called before other threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 8 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}
