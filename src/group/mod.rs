//! Consumer groups: the classic protocol's membership and rebalancing state machine, the
//! consumer group protocol (KIP-848), the coordinator that owns all groups, the durable
//! `__consumer_offsets` formats, and the errors group requests answer; the per-group
//! configs (KIP-848, KIP-932).

pub mod codec;
pub mod configs;
pub mod consumer;
pub mod consumer_records;
pub mod coordinator;
pub mod error;
pub(crate) mod flexible;
pub mod state;

pub use coordinator::{CoordinatorConfig, GroupCoordinator, OFFSETS_TOPIC};
pub use error::GroupError;
