//! The durable, segmented on-disk log: record batches stored as clients sent them.

pub mod batch;
pub mod checkpoint_file;
pub mod cleaner;
pub mod compression;
pub mod config;
pub mod faults;
pub mod flush;
pub mod index;
pub mod leader_epoch;
pub mod manager;
pub mod partition;
pub mod partition_log;
pub mod records;
pub mod segment;
pub mod txn_index;
pub mod validate;

pub use config::LogConfig;
pub use manager::LogManager;
pub use partition::{AppendError, AppendOrigin, AppendResult, Isolation, Offsets, Partition, ReadError, RecoveryPoint};
pub use partition_log::PartitionLog;
