//! Consumer groups (classic protocol): membership and rebalancing state machine, the
//! coordinator that owns all groups, the durable `__consumer_offsets` format, and the
//! errors group requests answer.

pub mod codec;
pub mod coordinator;
pub mod error;
pub mod state;

pub use coordinator::{GroupConfig, GroupCoordinator, OFFSETS_TOPIC};
pub use error::GroupError;
