//! The `brook` command line: its subcommands, and clap's side of `ServeArgs` (the flags,
//! then the `BROOK_*` variables for the settings no flag gave).

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand};

use super::settings::{ServeArgs, ServeFlags};

/// Command line of the `brook` binary.
#[derive(Debug, Parser)]
#[command(name = "brook", version, about = "A single-binary, Kafka wire-protocol compatible message broker")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the broker (the default when no subcommand is given).
    Serve(Box<ServeArgs>),
    /// Print the APIs and versions this build serves, as a Markdown table.
    ApiVersions,
    /// Print every setting (flag, TOML keys, variable, default), as the README's Markdown table.
    Settings,
    /// List, create, describe, delete and configure topics of a running broker.
    Topic(crate::cli::topics::TopicArgs),
    /// List and describe groups (members, assignment, lag), reset their offsets, delete them.
    Group(crate::cli::groups::GroupArgs),
    /// Writes records, one per line of stdin or a file, to a topic.
    Produce(crate::cli::produce::ProduceArgs),
    /// Reads records of a topic and prints them, one per line or as JSON lines.
    Consume(crate::cli::consume::ConsumeArgs),
    /// What the cluster is: its id, controller and brokers.
    Cluster(crate::cli::ClusterArgs),
    /// List, describe and abort transactions of a running broker (as kafka-transactions.sh).
    Transactions(crate::cli::transactions::TransactionsArgs),
    /// Add, list and delete SCRAM users (the password never leaves the command).
    User(crate::cli::users::UserArgs),
    /// Add, list and remove ACLs (as kafka-acls.sh).
    Acl(crate::cli::acls::AclArgs),
}

// clap's own `env` would read the process environment while building the command; reading
// it here instead lets tests pass a lookup of their own (`ServeArgs::with_env`).
impl FromArgMatches for ServeArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let flags = ServeFlags::from_arg_matches(matches)?.into_args();
        flags
            .with_env(|var| std::env::var_os(var))
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::InvalidValue, e.to_string()))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        ServeFlags::from_arg_matches(matches)?.overlay(self);
        Ok(())
    }
}

impl Args for ServeArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        ServeFlags::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        ServeFlags::augment_args_for_update(cmd)
    }
}
