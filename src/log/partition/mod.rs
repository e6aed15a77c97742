//! One partition's log: ordered segments, offsets (log start, high watermark, log end),
//! idempotent-producer state, durability bookkeeping and startup recovery.
//!
//! Concurrency: a short `parking_lot::Mutex` per partition guards the segment list and
//! offsets. Appends take it twice: to check and place the batch (and, rarely, to roll the
//! segment), and to publish it once written; the `writev` itself runs outside it, under the
//! partition's append lock (one append at a time), so a write that blocks in the page cache
//! (writeback holding the page) holds up only the partition's other appends, not its
//! readers or the fsync rounds. Reads hold the state lock only to locate a file range and
//! then read with `pread` outside it. Different partitions never contend.

mod append;
pub mod clean;
mod read;
mod recovery;
mod retention;
mod sync;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod txn_tests;

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::{ErrorCode, StorageContext, StorageError, StorageOp};
use crate::log::batch::{self, BatchError, BatchHeader};
use crate::log::faults::{self, Point};
use crate::log::leader_epoch::LeaderEpochCache;
use crate::log::records;
use crate::log::segment::{self, read_bytes_at, read_header_at, PreparedBatch, Segment};
use crate::log::txn_index::{AbortedTxn, TxnIndex};
use crate::log::validate::{self, RecordRules, ValidationError};
use crate::producer::state::{ActiveProducer, ProducerError, ProducerStateTable, SequenceCheck};
use crate::util::{monotonic_us, now_ms, sync_dir, write_atomic_failpoint};

pub use super::config::LogConfig;
pub use sync::FlushTicket;

/// The last fsynced position of a partition: recovery validates only what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    pub offset: i64,
    pub segment: i64,
    pub position: u64,
}

impl RecoveryPoint {
    /// "Everything on disk is durable and whole": the log was closed by a graceful shutdown
    /// (its clean-shutdown marker was found), so recovery validates nothing and the recovery
    /// point is the log end, as Kafka's log loader does after a clean shutdown.
    pub const WHOLE_LOG: RecoveryPoint = RecoveryPoint { offset: i64::MAX, segment: i64::MAX, position: u64::MAX };
}

/// Who appends (Kafka's `AppendOrigin`). A client's produce is validated in full (its
/// sequence checked, a retry recognised, a control batch refused); a coordinator's batch (the
/// group coordinator's records, the transaction coordinator's markers) may be a transaction
/// marker and only has its producer epoch checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOrigin {
    Client,
    Coordinator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub base_offset: i64,
    /// The broker timestamp for LogAppendTime topics, -1 otherwise.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("produce request carries no records")]
    NoRecords,
    #[error("{0}")]
    Batch(#[from] BatchError),
    #[error("Produce requests (v3+) must carry exactly one record batch per partition")]
    NotOneBatch,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge { size: usize, max: usize },
    #[error(transparent)]
    Producer(#[from] ProducerError),
    #[error(transparent)]
    Storage(StorageError),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("offset {offset} is out of range [{log_start}, {high_watermark}]")]
    OffsetOutOfRange { offset: i64, log_start: i64, high_watermark: i64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ErrorCode for AppendError {
    fn code(&self) -> i16 {
        use kafka_protocol::error::ResponseError as E;
        match self {
            AppendError::NoRecords | AppendError::NotOneBatch => E::InvalidRecord.code(),
            AppendError::Batch(BatchError::Truncated | BatchError::CrcMismatch { .. }) => E::CorruptMessage.code(),
            AppendError::Batch(BatchError::UnsupportedMagic(_) | BatchError::Invalid(_)) => E::InvalidRecord.code(),
            AppendError::Invalid(ValidationError::InvalidRecord { .. }) => E::InvalidRecord.code(),
            AppendError::Invalid(ValidationError::InvalidTimestamp { .. }) => E::InvalidTimestamp.code(),
            AppendError::Invalid(ValidationError::Corrupt(_)) => E::CorruptMessage.code(),
            AppendError::MessageTooLarge { .. } => E::MessageTooLarge.code(),
            AppendError::Producer(ProducerError::InvalidEpoch { .. }) => E::InvalidProducerEpoch.code(),
            AppendError::Producer(ProducerError::OutOfOrder { .. }) => E::OutOfOrderSequenceNumber.code(),
            AppendError::Producer(ProducerError::InvalidTxnState { .. }) => E::InvalidTxnState.code(),
            AppendError::Producer(ProducerError::CoordinatorFenced { .. }) => E::TransactionCoordinatorFenced.code(),
            AppendError::Storage(e) => e.code(),
        }
    }
}

impl ErrorCode for ReadError {
    fn code(&self) -> i16 {
        match self {
            ReadError::OffsetOutOfRange { .. } => kafka_protocol::error::ResponseError::OffsetOutOfRange.code(),
            ReadError::Storage(e) => e.code(),
        }
    }
}

/// Why DeleteRecords cannot move a partition's log start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeleteRecordsError {
    #[error("Records can not be deleted due to the configured cleanup.policy")]
    PolicyViolation,
    #[error("The offset {offset} is not valid (high watermark {high_watermark})")]
    OffsetOutOfRange { offset: i64, high_watermark: i64 },
}

impl ErrorCode for DeleteRecordsError {
    fn code(&self) -> i16 {
        use kafka_protocol::error::ResponseError as E;
        match self {
            DeleteRecordsError::PolicyViolation => E::PolicyViolation.code(),
            DeleteRecordsError::OffsetOutOfRange { .. } => E::OffsetOutOfRange.code(),
        }
    }
}

/// Offsets a fetch or list-offsets response reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    pub log_start: i64,
    pub high_watermark: i64,
    pub last_stable: i64,
    pub log_end: i64,
}

#[derive(Debug)]
pub struct ReadResult {
    pub records: Bytes,
    pub offsets: Offsets,
}

/// How far a read may go (Kafka's `FetchIsolation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Up to the high watermark: everything, markers and open transactions included
    /// (read_uncommitted).
    HighWatermark,
    /// Up to the last stable offset (read_committed).
    Committed,
}

/// What startup recovery found, for the log line.
#[derive(Debug, Default, Clone, Copy)]
pub struct RecoveryReport {
    pub segments: usize,
    pub truncated_bytes: u64,
    pub validated_bytes: u64,
    pub indexes_rebuilt: usize,
    pub dropped_segments: usize,
    pub producers: usize,
    /// Aborted-transaction index entries rebuilt from the log.
    pub aborts_rebuilt: usize,
}

pub struct Partition {
    pub topic: Arc<str>,
    pub index: i32,
    dir: PathBuf,
    /// In `sync` durability the high watermark only advances past fsynced data.
    sync_mode: bool,
    /// Held for a whole append, so appends are placed, written and published one at a time.
    append_lock: Mutex<()>,
    /// When the write in progress began ([`monotonic_us`], at least 1), or 0 when none is.
    write_began: AtomicU64,
    /// Tests hold this to stop appends between placing and writing a batch.
    #[cfg(test)]
    write_gate: Mutex<()>,
    log: Mutex<PartitionLog>,
    flush_lock: Mutex<()>,
    hw_tx: watch::Sender<i64>,
    dirty: AtomicBool,
    /// The current leader epoch, stamped on every batch appended (a single node keeps the
    /// one its checkpoint last recorded; replication will move it on leader changes).
    leader_epoch: AtomicI32,
    /// Held by the cleaner for a whole pass on this partition (retention skips meanwhile).
    clean_lock: Mutex<()>,
    /// The cleaner's checkpoint: the first offset it has not cleaned (-1: unknown).
    first_dirty: AtomicI64,
    /// A cleaning pass failed (unreadable data, I/O error): the cleaner leaves this log alone
    /// until the next start (Kafka's uncleanable partitions).
    uncleanable: AtomicBool,
    /// Bytes and records clients produced here and bytes fetched from here (`/metrics`).
    pub traffic: Traffic,
}

/// A partition's client traffic since the start: relaxed counters, added once per produced
/// batch and per fetched partition read.
#[derive(Debug, Default)]
pub struct Traffic {
    pub bytes_in: AtomicU64,
    pub records_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub records_out: AtomicU64,
}

struct PartitionLog {
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    log_end_offset: i64,
    high_watermark: i64,
    /// (segment base, byte position) of the high watermark: readers never see past it.
    hw_position: (i64, u64),
    producers: ProducerStateTable,
    /// Rolled segments whose data is not yet fsynced.
    unflushed: Vec<Arc<File>>,
    recovery_point: RecoveryPoint,
    /// Set after a write or fsync failure: the partition refuses writes rather than pretend.
    poisoned: Option<StorageError>,
    /// Where each leader epoch starts (`leader-epoch-checkpoint`).
    epochs: LeaderEpochCache,
}

pub(super) fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{}.snapshot", segment::file_stem(offset)))
}

pub(super) fn list_by_ext(dir: &Path, ext: &str) -> io::Result<Vec<i64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some(ext) {
            if let Some(n) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<i64>().ok()) {
                out.push(n);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

impl PartitionLog {
    fn active(&self) -> &Segment {
        self.segments.values().next_back().expect("a partition always has an active segment")
    }
    fn active_mut(&mut self) -> &mut Segment {
        self.segments.values_mut().next_back().expect("a partition always has an active segment")
    }
    fn offsets(&self) -> Offsets {
        Offsets {
            log_start: self.log_start_offset,
            high_watermark: self.high_watermark,
            last_stable: self.last_stable_offset(),
            log_end: self.log_end_offset,
        }
    }
    /// Kafka's `lastStableOffset`: the first unstable offset (never below the log start) if it
    /// is below the high watermark, else the high watermark.
    fn last_stable_offset(&self) -> i64 {
        match self.producers.first_unstable() {
            Some((first, _)) if first < self.high_watermark => first.max(self.log_start_offset),
            _ => self.high_watermark,
        }
    }
    /// Where reads at `isolation` stop: the offset, and the (segment, position) of the batch
    /// starting there when known (`None`: unknown, the read stops by offset alone).
    fn read_bound(&self, isolation: Isolation) -> (i64, Option<(i64, u64)>) {
        if isolation == Isolation::Committed {
            if let Some((first, position)) = self.producers.first_unstable() {
                if first < self.high_watermark {
                    return if first < self.log_start_offset {
                        (self.log_start_offset, None)
                    } else {
                        (first, position)
                    };
                }
            }
        }
        (self.high_watermark, Some(self.hw_position))
    }
    /// Byte range of `seg` that readers may see.
    fn visible_end(&self, seg: &Segment) -> u64 {
        Self::visible_end_at(seg, self.hw_position)
    }
    /// Byte range of `seg` before the position `(bound_seg, bound_pos)`.
    fn visible_end_at(seg: &Segment, (hw_seg, hw_pos): (i64, u64)) -> u64 {
        if seg.base_offset < hw_seg {
            seg.size()
        } else if seg.base_offset == hw_seg {
            hw_pos.min(seg.size())
        } else {
            0
        }
    }
}

impl Partition {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn set_config(&self, config: LogConfig) {
        self.log.lock().config = config;
    }

    /// The rules a batch produced here must pass (read once per produce, before the append).
    pub fn record_rules(&self) -> RecordRules {
        self.log.lock().config.record_rules()
    }

    /// The current leader epoch (what Metadata reports and batches are stamped with).
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch.load(Ordering::Relaxed)
    }

    /// OffsetForLeaderEpoch: (epoch, end offset) as [`LeaderEpochCache::end_offset_for`].
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        let log = self.log.lock();
        log.epochs.end_offset_for(epoch, log.log_end_offset)
    }

    pub fn offsets(&self) -> Offsets {
        self.log.lock().offsets()
    }

    /// The last stable offset (Kafka's `lastStableOffset`): the first offset of the earliest
    /// transaction not yet decided (or decided with its marker above the high watermark), but
    /// never below the log start; the high watermark when there is none.
    pub fn last_stable_offset(&self) -> i64 {
        self.log.lock().last_stable_offset()
    }

    /// Every ongoing transaction here, as (producer id, first offset), oldest first.
    pub fn ongoing_transactions(&self) -> Vec<(i64, i64)> {
        self.log.lock().producers.ongoing_transactions()
    }

    /// Forgets producers idle for `expiration_ms` (no ongoing transaction): how many.
    pub fn expire_producers(&self, now_ms: i64, expiration_ms: i64) -> usize {
        self.log.lock().producers.remove_expired(now_ms, expiration_ms)
    }

    /// Every producer with state here (DescribeProducers), by producer id.
    pub fn active_producers(&self) -> Vec<ActiveProducer> {
        self.log.lock().producers.active_producers()
    }

    /// The aborted transactions overlapping `[from_offset, upper_offset)`, as (producer id,
    /// first offset) (Kafka's `collectAbortedTransactions`): from the index of the segment
    /// holding `from_offset` on, until an entry shows that later segments cannot hold more.
    pub fn aborted_transactions(&self, from_offset: i64, upper_offset: i64) -> Vec<(i64, i64)> {
        let log = self.log.lock();
        let start = log.segments.range(..=from_offset).next_back().map_or(i64::MIN, |(b, _)| *b);
        let mut found = Vec::new();
        for seg in log.segments.range(start..).map(|(_, s)| s) {
            if seg.txn_index().collect(from_offset, upper_offset, &mut found) {
                break;
            }
        }
        found.into_iter().map(|t| (t.producer_id, t.first_offset)).collect()
    }

    /// Bytes of this partition's segments on disk (DescribeLogDirs).
    pub fn size_bytes(&self) -> u64 {
        self.log.lock().segments.values().map(|s| s.size()).sum()
    }

    pub fn recovery_point(&self) -> RecoveryPoint {
        self.log.lock().recovery_point
    }

    /// Receiver that changes whenever the high watermark advances (wakes long-poll fetches).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.hw_tx.subscribe()
    }

    /// Whether rolled segments still await their fsync.
    pub fn has_unflushed_segments(&self) -> bool {
        !self.log.lock().unflushed.is_empty()
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }
}
