//! The partition-log interface the replica manager serves requests through: append, read,
//! offsets, and waiting for new data, at the level of whole record batches kept as the
//! client sent them (reads hand out `Bytes` of the file's content, no re-encoding). The local
//! segmented log ([`Partition`]) is one implementation; a replicated or tiered backend can
//! stand beside it.

use bytes::Bytes;
use tokio::sync::watch;

use super::{AppendError, AppendOrigin, AppendResult, Isolation, Offsets, Partition, ReadError};
use crate::error::StorageError;
use crate::log::partition::ReadResult;
use crate::producer::state::ActiveProducer;

pub trait PartitionLog: Send + Sync {
    fn topic(&self) -> &str;
    fn index(&self) -> i32;
    /// Validates a batch and appends it with leader-assigned offsets: a client's produce, or
    /// (origin coordinator) a coordinator's batch, which may be a transaction marker.
    fn append_as_leader(&self, records: Option<Bytes>, origin: AppendOrigin) -> Result<AppendResult, AppendError>;
    /// Whole batches from the one holding `offset`, up to `max_bytes` (the first whole if
    /// `min_one_batch`), never past the high watermark.
    fn read(&self, offset: i64, max_bytes: usize, min_one_batch: bool) -> Result<ReadResult, ReadError>;
    /// [`PartitionLog::read`] up to the bound of `isolation` (the last stable offset for
    /// read_committed; an offset between it and the high watermark reads nothing).
    fn read_at(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
        isolation: Isolation,
    ) -> Result<ReadResult, ReadError>;
    fn offsets(&self) -> Offsets;
    /// The last stable offset: the first offset of the earliest undecided transaction (never
    /// below the log start), else the high watermark.
    fn last_stable_offset(&self) -> i64;
    /// The aborted transactions overlapping `[from_offset, upper_offset)`, as (producer id,
    /// first offset): what a read_committed fetch returns with its records.
    fn aborted_transactions(&self, from_offset: i64, upper_offset: i64) -> Vec<(i64, i64)>;
    /// The ongoing transactions, as (producer id, first offset), oldest first.
    fn ongoing_transactions(&self) -> Vec<(i64, i64)>;
    /// Every producer with state here (DescribeProducers), by producer id.
    fn active_producers(&self) -> Vec<ActiveProducer>;
    /// Changes whenever the high watermark or the last stable offset advances (long-poll
    /// fetches wait on it).
    fn subscribe(&self) -> watch::Receiver<i64>;
    fn leader_epoch(&self) -> i32;
    /// Counts the bytes and records a fetch read from here (`/metrics`).
    fn note_fetched(&self, records: &[u8]);
    /// OffsetForLeaderEpoch: the largest known epoch <= `epoch` and where the next starts
    /// (Kafka's `endOffsetFor`; `(-1, -1)` when undefined).
    fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64);
    /// ListOffsets by timestamp: the first record at or after `ts`, as (offset, timestamp).
    fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, StorageError>;
    /// ListOffsets MAX_TIMESTAMP: the record with the largest timestamp.
    fn max_timestamp_offset(&self) -> Result<Option<(i64, i64)>, StorageError>;
}

impl PartitionLog for Partition {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn index(&self) -> i32 {
        self.index
    }
    fn append_as_leader(&self, records: Option<Bytes>, origin: AppendOrigin) -> Result<AppendResult, AppendError> {
        Partition::append_as_leader(self, records, origin)
    }
    fn read(&self, offset: i64, max_bytes: usize, min_one_batch: bool) -> Result<ReadResult, ReadError> {
        Partition::read(self, offset, max_bytes, min_one_batch)
    }
    fn read_at(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
        isolation: Isolation,
    ) -> Result<ReadResult, ReadError> {
        Partition::read_at(self, offset, max_bytes, min_one_batch, isolation)
    }
    fn offsets(&self) -> Offsets {
        Partition::offsets(self)
    }
    fn last_stable_offset(&self) -> i64 {
        Partition::last_stable_offset(self)
    }
    fn aborted_transactions(&self, from_offset: i64, upper_offset: i64) -> Vec<(i64, i64)> {
        Partition::aborted_transactions(self, from_offset, upper_offset)
    }
    fn ongoing_transactions(&self) -> Vec<(i64, i64)> {
        Partition::ongoing_transactions(self)
    }
    fn active_producers(&self) -> Vec<ActiveProducer> {
        Partition::active_producers(self)
    }
    fn subscribe(&self) -> watch::Receiver<i64> {
        Partition::subscribe(self)
    }
    fn leader_epoch(&self) -> i32 {
        Partition::leader_epoch(self)
    }
    fn note_fetched(&self, records: &[u8]) {
        use std::sync::atomic::Ordering::Relaxed;
        self.traffic.bytes_out.fetch_add(records.len() as u64, Relaxed);
        self.traffic.records_out.fetch_add(crate::log::batch::data_records_in(records), Relaxed);
    }
    fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        Partition::end_offset_for_epoch(self, epoch)
    }
    fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, StorageError> {
        Partition::offset_for_timestamp(self, ts)
    }
    fn max_timestamp_offset(&self) -> Result<Option<(i64, i64)>, StorageError> {
        Partition::max_timestamp_offset(self)
    }
}
