//! Consumer groups (classic protocol): membership and rebalancing state machine, the
//! coordinator that owns all groups, and the durable `__consumer_offsets` format.

pub mod codec;
pub mod coordinator;
pub mod state;

pub use coordinator::{GroupConfig, GroupCoordinator, OFFSETS_TOPIC};
