//! The transaction coordinator (Kafka's, KIP-98): transactional ids, their producer ids and
//! epochs, each transaction's partitions and state, stored in `__transaction_state`
//! (`coordinator`, `codec`, `metadata`); the request flows (`ops`); the commit and abort
//! markers it writes (`markers`); the timeouts and expirations it enforces (`timers`).

pub mod codec;
pub mod coordinator;
pub mod error;
pub mod markers;
pub mod metadata;
pub mod ops;
pub mod timers;

pub use coordinator::{TransactionCoordinator, TxnConfig, TRANSACTION_STATE_TOPIC};
pub use error::TxnError;
