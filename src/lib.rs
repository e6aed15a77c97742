//! Brook: a single-binary, Kafka wire-protocol compatible message broker.
//!
//! Layers (docs/design.md): `server` (connections, framing, order) and `auth` (sessions, the
//! dispatch gate) -> `api` (one handler per Kafka API) -> `cluster` (metadata cache),
//! `replica` (appends with acks, durability), `group`, `share` (KIP-932 share groups; only their
//! record formats so far), `txn` (the transaction coordinator) and
//! `producer` -> `log` (log manager,
//! partition logs, segments) and `topic` (durable topic metadata); `config` declares every
//! setting once and `error` maps every error to its Kafka code.

pub mod api;
pub mod auth;
pub mod broker;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod error;
pub mod group;
pub mod log;
pub mod metrics;
pub mod producer;
pub mod replica;
pub mod server;
pub mod share;
pub mod topic;
pub mod txn;
pub mod util;
pub mod wire;
