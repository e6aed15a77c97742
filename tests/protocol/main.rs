//! The protocol tests: one test binary, one module per area, sharing the helpers in `common`
//! (a broker started in-process on a temporary data directory and an ephemeral port, a raw
//! Kafka wire client, record-batch builders). Tests run concurrently with those of other
//! modules, so none may depend on the process being theirs; the few that measure the whole
//! process (RSS, thread count) run in a child process of this binary, alone
//! ([`common::rerun_alone`]).

mod common;

mod acls;
mod admin;
mod admin_apis;
mod alter_configs;
mod authorization;
mod cli;
mod cli_security;
mod compaction;
mod connection;
mod consumer_groups;
mod disk_faults;
mod durability;
mod dynamic_configs;
mod errors;
mod fetch;
mod flush_scaling;
mod fuzz;
mod group_durability;
mod group_offsets;
mod group_static;
mod group_versions;
mod groups;
mod hostile;
mod idempotence;
mod kafka4;
mod leader_epoch;
mod limits;
mod list_offsets;
mod logs;
mod metrics;
mod readme;
mod restart;
mod sasl;
mod share_groups;
mod tls;
mod transactions;
mod transactions_v2;
mod txn_log;
mod versions;
