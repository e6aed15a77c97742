//! Brook: a single-binary, Kafka wire-protocol compatible message broker.
//!
//! Layers: `server` (TCP, framing, ordering) -> `api` (one handler per Kafka API) ->
//! `topic` (registry, configs) and `log` (segments, indexes, recovery, durability),
//! with `producer` holding idempotent-producer state.

pub mod api;
pub mod auth;
pub mod broker;
pub mod cluster;
pub mod config;
pub mod error;
pub mod group;
pub mod log;
pub mod producer;
pub mod replica;
pub mod server;
pub mod topic;
pub mod util;
