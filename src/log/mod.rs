//! The durable, segmented on-disk log: record batches stored as clients sent them.

pub mod batch;
pub mod faults;
pub mod flush;
pub mod index;
pub mod partition;
pub mod segment;

pub use partition::{AppendError, AppendResult, LogConfig, Offsets, Partition, ReadError, RecoveryPoint};
