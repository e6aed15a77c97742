//! What the cluster looks like to clients: its nodes and, per partition, the leader, leader
//! epoch, replicas and in-sync replicas ([`MetadataCache`]). Metadata, FindCoordinator,
//! DescribeCluster and the admin handlers answer from here and never hard-code the node;
//! replication across machines changes this module, not them.

mod loading;
mod metadata_cache;

pub use loading::PartitionLoads;

pub use metadata_cache::{coordinator_partition, MetadataCache, Node, PartitionState};
