//! The replica manager (Kafka's `ReplicaManager`): the one way handlers write to and read
//! from partition logs. It appends with the required acks and then waits until the data is
//! durable (today one group-commit fsync round; with replication, the followers' acks: the
//! shape of Kafka's `DelayedProduce`), checks leader epochs, and runs the background
//! flushes that `acks=0/1` data and rolled segments need.

mod append;
mod coordinator;
mod durability;

pub use append::{AppendOrigin, ProduceEntry, ProduceError, ProduceOutcome};
pub use durability::DurabilityWaiter;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use crate::config::BrokerConfig;
use crate::log::flush::GroupCommit;
use crate::log::{LogManager, Partition, PartitionLog};

pub struct ReplicaManager {
    config: Arc<BrokerConfig>,
    logs: Arc<LogManager>,
    group_commit: GroupCommit,
    /// acks=0/1 bytes appended in `acks` mode since the last background round began.
    unflushed_bytes: AtomicU64,
    /// A background round is running (at most one at a time).
    background_flushing: AtomicBool,
}

/// Why a partition cannot be served here (Kafka's `getPartitionOrError` and
/// `checkCurrentLeaderEpoch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PartitionError {
    #[error("This server does not host this topic-partition.")]
    UnknownTopicOrPartition,
    #[error("The leader epoch in the request is newer than the leader's.")]
    UnknownLeaderEpoch,
    #[error("The leader epoch in the request is older than the leader's.")]
    FencedLeaderEpoch,
}

impl crate::error::ErrorCode for PartitionError {
    fn code(&self) -> i16 {
        use kafka_protocol::error::ResponseError as E;
        match self {
            PartitionError::UnknownTopicOrPartition => E::UnknownTopicOrPartition.code(),
            PartitionError::UnknownLeaderEpoch => E::UnknownLeaderEpoch.code(),
            PartitionError::FencedLeaderEpoch => E::FencedLeaderEpoch.code(),
        }
    }
}

impl ReplicaManager {
    pub fn new(config: Arc<BrokerConfig>, logs: Arc<LogManager>) -> std::io::Result<Self> {
        let group_commit = GroupCommit::start(&config.data_dir)?;
        Ok(Self {
            config,
            logs,
            group_commit,
            unflushed_bytes: AtomicU64::new(0),
            background_flushing: AtomicBool::new(false),
        })
    }

    /// The group commit's fsync rounds so far (`/metrics`).
    pub fn fsync_stats(&self) -> &crate::log::flush::FsyncStats {
        &self.group_commit.stats
    }

    /// The log of a partition this broker leads, as requests see it.
    pub fn partition(&self, topic: &str, index: i32) -> Result<Arc<dyn PartitionLog>, PartitionError> {
        self.local(topic, index).map(|p| p as Arc<dyn PartitionLog>)
    }

    /// The local log itself (what durability waits and the stuck-write check need).
    pub fn local(&self, topic: &str, index: i32) -> Result<Arc<Partition>, PartitionError> {
        self.logs.get(topic, index).ok_or(PartitionError::UnknownTopicOrPartition)
    }

    /// [`ReplicaManager::partition`], checking the leader epoch a client sent (Kafka's
    /// `checkCurrentLeaderEpoch`: -1 means the client does not know it).
    pub fn partition_at_epoch(
        &self,
        topic: &str,
        index: i32,
        current_leader_epoch: i32,
    ) -> Result<Arc<dyn PartitionLog>, PartitionError> {
        let part = self.partition(topic, index)?;
        let local = part.leader_epoch();
        match current_leader_epoch {
            -1 => Ok(part),
            e if e > local => Err(PartitionError::UnknownLeaderEpoch),
            e if e < local => Err(PartitionError::FencedLeaderEpoch),
            _ => Ok(part),
        }
    }
}
