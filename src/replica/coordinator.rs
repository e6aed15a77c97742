//! Coordinator writes: the group and transaction coordinators store their state as
//! key/value records (a null value is a tombstone) in their internal topics, one
//! uncompressed batch per write. A transaction's offset commits are a transactional batch of
//! its producer (no sequence), which the transaction's marker commits or aborts.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

use super::{ProduceError, ReplicaManager};
use crate::log::batch::{self, BatchError};
use crate::log::{AppendError, Partition};
use crate::util::now_ms;

impl ReplicaManager {
    /// Appends `records` to `topic`-`partition` as one batch (transactional, of `producer`'s
    /// id and epoch, when given); the caller waits for durability (`wait_durable`) before it
    /// answers for them.
    pub fn append_coordinator_records(
        &self,
        topic: &str,
        partition: i32,
        records: Vec<(Bytes, Option<Bytes>)>,
        producer: Option<(i64, i16)>,
    ) -> Result<Arc<Partition>, ProduceError> {
        if records.is_empty() {
            return Ok(self.local(topic, partition)?);
        }
        let now = now_ms();
        let recs: Vec<Record> = records
            .into_iter()
            .enumerate()
            .map(|(i, (key, value))| Record {
                transactional: producer.is_some(),
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: producer.map_or(-1, |p| p.0),
                producer_epoch: producer.map_or(-1, |p| p.1),
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // The encoder starts a new batch whenever offset - sequence changes; keeping it
                // constant (and the first sequence at -1, "none") yields one batch.
                sequence: i as i32 - 1,
                timestamp: now,
                key: Some(key),
                value,
                headers: IndexMap::new(),
            })
            .collect();
        self.append_built(topic, partition, &recs)
    }

    /// Appends records the broker made (a share group's dead letters, KIP-1191) to any topic
    /// as one uncompressed batch without producer id: key, value and headers each.
    pub fn append_broker_records(
        &self,
        topic: &str,
        partition: i32,
        records: Vec<BrokerRecord>,
    ) -> Result<Arc<Partition>, ProduceError> {
        let now = now_ms();
        let recs: Vec<Record> = records
            .into_iter()
            .enumerate()
            .map(|(i, (key, value, headers))| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: i as i32 - 1,
                timestamp: now,
                key,
                value,
                headers: headers.into_iter().map(|(k, v)| (StrBytes::from_string(k), Some(v))).collect(),
            })
            .collect();
        self.append_built(topic, partition, &recs)
    }

    /// Encodes `recs` as one batch and appends it as the broker's own write.
    fn append_built(&self, topic: &str, partition: i32, recs: &[Record]) -> Result<Arc<Partition>, ProduceError> {
        if recs.is_empty() {
            return Ok(self.local(topic, partition)?);
        }
        let mut buf = BytesMut::new();
        // Encoding in-memory records fails only past the format's limits (2 GiB batches).
        RecordBatchEncoder::encode(&mut buf, recs, &RecordEncodeOptions { version: 2, compression: Compression::None })
            .map_err(|_| unencodable())?;
        let mut part = None;
        for (header, bytes) in batch::split_batches(buf.freeze()).map_err(AppendError::from)? {
            part = Some(self.append_coordinator(topic, partition, header, bytes)?.0);
        }
        part.ok_or_else(unencodable)
    }
}

/// A record the broker writes: key, value, headers.
pub type BrokerRecord = (Option<Bytes>, Option<Bytes>, Vec<(String, Bytes)>);

fn unencodable() -> ProduceError {
    ProduceError::Append(AppendError::Batch(BatchError::Invalid("the coordinator's records cannot be encoded")))
}
