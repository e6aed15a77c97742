//! The transaction coordinator (Kafka's, KIP-98): transactional ids, their producer ids and
//! epochs, each transaction's partitions and state, stored in `__transaction_state`; the
//! commit and abort markers it writes; the timeouts and expirations it enforces.

pub mod codec;
pub mod metadata;
