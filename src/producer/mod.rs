//! Idempotent producers: producer id allocation and per-partition sequence state.
//! Transactions (later) extend the same per-producer entries.

pub mod ids;
pub mod state;
