//! Per-partition producer state: for each producer id the current epoch, the sequence ranges
//! of its last five batches, the coordinator epoch of its last transaction marker and its
//! ongoing transaction, used to acknowledge retries with their original offsets (dedup), to
//! reject gaps (`OUT_OF_ORDER_SEQUENCE_NUMBER`), zombies (`INVALID_PRODUCER_EPOCH`), stale
//! coordinators (`TRANSACTION_COORDINATOR_FENCED`) and non-transactional writes inside a
//! transaction (`INVALID_TXN_STATE`), and to find the last stable offset. Follows Kafka's
//! ProducerStateManager, ProducerAppendInfo and ProducerStateEntry rules.
//!
//! Transactions: a producer's first transactional batch opens its transaction (its first
//! offset); its commit or abort marker closes it. The partition's ongoing transactions, by
//! first offset, give the first unstable offset; a transaction whose marker is written but
//! not yet below the high watermark (`sync` durability) still counts until it is (Kafka's
//! `unreplicatedTxns`).

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::log::batch::{BatchHeader, EndTxnMarker};

/// Batches remembered per producer (Kafka's `max.in.flight.requests.per.connection` bound).
pub const MAX_CACHED_BATCHES: usize = 5;
/// Snapshot format version; bump when the layout changes. Version 2 added each producer's
/// coordinator epoch and ongoing transaction; version 1 snapshots (written when transactions
/// were refused, so none was ongoing) are still read.
const SNAPSHOT_VERSION: u32 = 2;
/// "No coordinator epoch seen yet" (Kafka's empty entry).
const NO_COORDINATOR_EPOCH: i32 = -1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub timestamp: i64,
}

/// Where a transaction's first batch lies: its offset, and (when known) its segment and byte
/// position, so a read_committed read finds where to stop without a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnStart {
    pub first_offset: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<(i64, u64)>,
}

fn no_coordinator_epoch() -> i32 {
    NO_COORDINATOR_EPOCH
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProducerEntry {
    pub epoch: i16,
    pub batches: VecDeque<BatchMeta>,
    /// The coordinator epoch of the last marker written for this producer.
    #[serde(default = "no_coordinator_epoch")]
    pub coordinator_epoch: i32,
    /// The ongoing transaction, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn: Option<TxnStart>,
    /// The timestamp of its last batch or marker (-1: unknown).
    #[serde(default = "no_timestamp")]
    pub last_timestamp: i64,
}

fn no_timestamp() -> i64 {
    -1
}

impl Default for ProducerEntry {
    fn default() -> Self {
        Self {
            epoch: 0,
            batches: VecDeque::new(),
            coordinator_epoch: NO_COORDINATOR_EPOCH,
            txn: None,
            last_timestamp: -1,
        }
    }
}

/// One producer as DescribeProducers reports it (Kafka's `ActiveProducer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveProducer {
    pub producer_id: i64,
    pub epoch: i16,
    /// The last sequence written (-1 if none is known).
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    /// The first offset of its ongoing transaction, -1 if none.
    pub current_txn_start_offset: i64,
}

/// Result of checking an incoming batch against the producer's state.
#[derive(Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// New data: append it.
    Append,
    /// A retry of a batch already in the log: acknowledge with its original offsets.
    Duplicate(BatchMeta),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProducerError {
    #[error("producer {producer_id} epoch {got} is older than the current epoch {current}")]
    InvalidEpoch { producer_id: i64, got: i16, current: i16 },
    #[error("out of order sequence for producer {producer_id}: expected {expected}, got {got}")]
    OutOfOrder { producer_id: i64, expected: i32, got: i32 },
    /// A non-transactional batch from a producer with an ongoing transaction.
    #[error("Expected transactional write from producer {producer_id}")]
    InvalidTxnState { producer_id: i64 },
    /// A marker from a coordinator older than the last one that wrote for this producer.
    #[error("Invalid coordinator epoch for producerId {producer_id}: {got} (zombie), {current} (current)")]
    CoordinatorFenced { producer_id: i64, got: i32, current: i32 },
}

/// A transaction a marker completed (Kafka's `CompletedTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The marker's offset.
    pub last_offset: i64,
    pub aborted: bool,
}

/// A transaction counted by the first unstable offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TxnInfo {
    producer_id: i64,
    position: Option<(i64, u64)>,
    /// Its marker's offset, once written.
    last_offset: Option<i64>,
}

/// What the cleaner must keep of an active producer (Kafka's `LastRecord`): the batch holding
/// its last data offset, or, when its last entry is a marker, the marker of its epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastRecord {
    pub last_data_offset: Option<i64>,
    pub epoch: i16,
}

#[derive(Debug, Default)]
pub struct ProducerStateTable {
    producers: HashMap<i64, ProducerEntry>,
    /// Undecided transactions by first offset (Kafka's `ongoingTxns`).
    ongoing: BTreeMap<i64, TxnInfo>,
    /// Decided transactions whose marker is not yet below the high watermark.
    unreplicated: BTreeMap<i64, TxnInfo>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    offset: i64,
    producers: Vec<(i64, ProducerEntry)>,
}

fn in_sequence(last: i32, next: i32) -> bool {
    next == last.wrapping_add(1) || (next == 0 && last == i32::MAX)
}

impl ProducerStateTable {
    /// Checks a data batch (not yet assigned offsets) from a producer. `client`: it comes from
    /// a client's produce, so its sequence is checked and a retry is recognised; a coordinator's
    /// batch (transactional offset commits) only has its epoch checked (Kafka's
    /// `AppendOrigin.COORDINATOR`).
    pub fn check(&self, h: &BatchHeader, client: bool) -> Result<SequenceCheck, ProducerError> {
        let Some(entry) = self.producers.get(&h.producer_id) else {
            // Unknown producer (new, or its state expired): accept any sequence, as Kafka does.
            return Ok(SequenceCheck::Append);
        };
        if client && h.producer_epoch == entry.epoch {
            let last_seq = h.last_sequence();
            if let Some(dup) = entry.batches.iter().find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq) {
                return Ok(SequenceCheck::Duplicate(*dup));
            }
        }
        if h.producer_epoch < entry.epoch {
            return Err(ProducerError::InvalidEpoch {
                producer_id: h.producer_id,
                got: h.producer_epoch,
                current: entry.epoch,
            });
        }
        if client {
            if h.producer_epoch > entry.epoch {
                if h.base_sequence != 0 {
                    return Err(ProducerError::OutOfOrder {
                        producer_id: h.producer_id,
                        expected: 0,
                        got: h.base_sequence,
                    });
                }
            } else if let Some(last) = entry.batches.back() {
                if !in_sequence(last.last_seq, h.base_sequence) {
                    return Err(ProducerError::OutOfOrder {
                        producer_id: h.producer_id,
                        expected: last.last_seq.wrapping_add(1),
                        got: h.base_sequence,
                    });
                }
            }
        }
        if entry.txn.is_some() && !h.is_transactional() {
            return Err(ProducerError::InvalidTxnState { producer_id: h.producer_id });
        }
        Ok(SequenceCheck::Append)
    }

    /// Checks a transaction marker for producer `h.producer_id` (Kafka's
    /// `appendEndTxnMarker`): its producer epoch may not be older than the producer's
    /// (`INVALID_PRODUCER_EPOCH`), nor its coordinator epoch older than the last marker's
    /// (`TRANSACTION_COORDINATOR_FENCED`).
    pub fn check_marker(&self, h: &BatchHeader, marker: &EndTxnMarker) -> Result<(), ProducerError> {
        let Some(entry) = self.producers.get(&h.producer_id) else { return Ok(()) };
        if h.producer_epoch < entry.epoch {
            return Err(ProducerError::InvalidEpoch {
                producer_id: h.producer_id,
                got: h.producer_epoch,
                current: entry.epoch,
            });
        }
        if entry.coordinator_epoch > marker.coordinator_epoch {
            return Err(ProducerError::CoordinatorFenced {
                producer_id: h.producer_id,
                got: marker.coordinator_epoch,
                current: entry.coordinator_epoch,
            });
        }
        Ok(())
    }

    /// The transaction a marker for `producer_id` at `offset` would complete, if the
    /// producer has one ongoing (a marker without data completes nothing, Kafka's rule).
    pub fn completing(&self, producer_id: i64, offset: i64, marker: &EndTxnMarker) -> Option<CompletedTxn> {
        let txn = self.producers.get(&producer_id)?.txn?;
        Some(CompletedTxn { producer_id, first_offset: txn.first_offset, last_offset: offset, aborted: !marker.commit })
    }

    /// The last stable offset to record with a completed transaction's index entry (Kafka's
    /// `lastStableOffset(completedTxn)`): the first offset of the earliest transaction of
    /// another producer still ongoing, else the offset after the marker.
    pub fn last_stable_offset_for(&self, c: &CompletedTxn) -> i64 {
        self.ongoing.iter().find(|(_, t)| t.producer_id != c.producer_id).map_or(c.last_offset + 1, |(first, _)| *first)
    }

    /// Records an appended data batch (offsets assigned; `position`: its segment and byte
    /// position). Also used to replay the log at recovery.
    pub fn record(&mut self, h: &BatchHeader, position: Option<(i64, u64)>) {
        if !h.has_producer_id() {
            return;
        }
        let entry = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.last_timestamp = h.max_timestamp;
        if h.is_transactional() && entry.txn.is_none() {
            entry.txn = Some(TxnStart { first_offset: h.base_offset, position });
            self.ongoing.insert(h.base_offset, TxnInfo { producer_id: h.producer_id, position, last_offset: None });
        }
        if h.base_sequence < 0 {
            return; // coordinator batches carry no sequence
        }
        entry.batches.push_back(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
            timestamp: h.max_timestamp,
        });
        while entry.batches.len() > MAX_CACHED_BATCHES {
            entry.batches.pop_front();
        }
    }

    /// Records an appended marker (at `h.base_offset`): the producer's epoch and coordinator
    /// epoch move to the marker's, and its ongoing transaction, if any, is decided. Returns
    /// that transaction; the caller writes its index entry (for an abort) and then calls
    /// [`ProducerStateTable::complete`]. Also used to replay the log (no checks).
    pub fn record_marker(&mut self, h: &BatchHeader, marker: &EndTxnMarker) -> Option<CompletedTxn> {
        let entry = self.producers.entry(h.producer_id).or_default();
        let completed = entry.txn.take().map(|t| CompletedTxn {
            producer_id: h.producer_id,
            first_offset: t.first_offset,
            last_offset: h.base_offset,
            aborted: !marker.commit,
        });
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.coordinator_epoch = marker.coordinator_epoch;
        entry.last_timestamp = h.max_timestamp;
        completed
    }

    /// Marks a transaction decided (Kafka's `completeTxn`): it stops counting for the first
    /// unstable offset once the high watermark passes its marker.
    pub fn complete(&mut self, c: &CompletedTxn) {
        if let Some(mut t) = self.ongoing.remove(&c.first_offset) {
            t.last_offset = Some(c.last_offset);
            self.unreplicated.insert(c.first_offset, t);
        }
    }

    /// The high watermark moved to `hw`: decided transactions whose marker is below it are
    /// stable (Kafka's `onHighWatermarkUpdated`). Also called when the log start moves.
    pub fn on_high_watermark(&mut self, hw: i64) {
        if !self.unreplicated.is_empty() {
            self.unreplicated.retain(|_, t| t.last_offset.is_none_or(|l| l >= hw));
        }
    }

    /// The first unstable offset (Kafka's `firstUnstableOffset`): the first offset of the
    /// earliest undecided transaction, or of a decided one whose marker is not yet below the
    /// high watermark; with its segment and position when known.
    pub fn first_unstable(&self) -> Option<(i64, Option<(i64, u64)>)> {
        let ongoing = self.ongoing.first_key_value();
        let unreplicated = self.unreplicated.first_key_value();
        let first = match (ongoing, unreplicated) {
            (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        first.map(|(o, t)| (*o, t.position))
    }

    /// Keeps the known position of each transaction's first batch only where `valid(first
    /// offset, (segment, position))` holds (a snapshot's positions checked against the log;
    /// segments the cleaner rewrote).
    pub fn retain_positions(&mut self, mut valid: impl FnMut(i64, (i64, u64)) -> bool) {
        for (first, t) in self.ongoing.iter_mut().chain(self.unreplicated.iter_mut()) {
            if t.position.is_some_and(|p| !valid(*first, p)) {
                t.position = None;
            }
        }
        for e in self.producers.values_mut() {
            if let Some(t) = &mut e.txn {
                if t.position.is_some_and(|p| !valid(t.first_offset, p)) {
                    t.position = None;
                }
            }
        }
    }

    /// Every ongoing transaction, as (producer id, first offset), in first-offset order.
    pub fn ongoing_transactions(&self) -> Vec<(i64, i64)> {
        self.ongoing.iter().map(|(first, t)| (t.producer_id, *first)).collect()
    }

    /// Drops the decided-but-unstable transactions: at recovery, where the whole log
    /// recovered is below the high watermark.
    pub fn clear_unreplicated(&mut self) {
        self.unreplicated.clear();
    }

    /// Each producer's last offset in the log (that of its last batch with a sequence).
    pub fn last_offsets(&self) -> HashMap<i64, i64> {
        self.producers.iter().filter_map(|(id, e)| e.batches.back().map(|b| (*id, b.last_offset))).collect()
    }

    /// What the cleaner keeps of each producer (Kafka's `lastRecordsOfActiveProducers`).
    pub fn last_records(&self) -> HashMap<i64, LastRecord> {
        self.producers
            .iter()
            .map(|(id, e)| {
                (*id, LastRecord { last_data_offset: e.batches.back().map(|b| b.last_offset), epoch: e.epoch })
            })
            .collect()
    }

    /// Every producer with state here (Kafka's `activeProducers`), by producer id.
    pub fn active_producers(&self) -> Vec<ActiveProducer> {
        let mut out: Vec<ActiveProducer> = self
            .producers
            .iter()
            .map(|(id, e)| ActiveProducer {
                producer_id: *id,
                epoch: e.epoch,
                last_sequence: e.batches.back().map_or(-1, |b| b.last_seq),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                current_txn_start_offset: e.txn.map_or(-1, |t| t.first_offset),
            })
            .collect();
        out.sort_by_key(|p| p.producer_id);
        out
    }

    /// Forgets producers idle for `expiration_ms` (`producer.id.expiration.ms`): no ongoing
    /// transaction and a last batch or marker timestamp that old, as Kafka's
    /// `removeExpiredProducers`. Bounds the table for brokers that see many short-lived
    /// idempotent producers. How many were removed.
    pub fn remove_expired(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers.retain(|_, e| e.txn.is_some() || now_ms.saturating_sub(e.last_timestamp) < expiration_ms);
        before - self.producers.len()
    }

    /// The state of one producer.
    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// Serialises the table as of log offset `offset` (the next offset to be written).
    pub fn to_snapshot(&self, offset: i64) -> Vec<u8> {
        let mut producers: Vec<(i64, ProducerEntry)> = self.producers.iter().map(|(k, v)| (*k, v.clone())).collect();
        producers.sort_by_key(|(k, _)| *k);
        serde_json::to_vec(&Snapshot { version: SNAPSHOT_VERSION, offset, producers }).unwrap_or_default()
    }

    /// Loads a snapshot (this version or version 1), returning the table and the offset it
    /// covers up to.
    pub fn from_snapshot(bytes: &[u8]) -> Option<(Self, i64)> {
        let snap: Snapshot = serde_json::from_slice(bytes).ok()?;
        if snap.version != SNAPSHOT_VERSION && snap.version != 1 {
            return None;
        }
        let mut table = Self::default();
        for (id, mut entry) in snap.producers {
            if snap.version == 1 {
                entry.txn = None;
            }
            if let Some(t) = entry.txn {
                if t.first_offset >= snap.offset || table.ongoing.contains_key(&t.first_offset) {
                    return None; // not a state this log could have been in
                }
                table
                    .ongoing
                    .insert(t.first_offset, TxnInfo { producer_id: id, position: t.position, last_offset: None });
            }
            table.producers.insert(id, entry);
        }
        Some((table, snap.offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::build_batch;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32, base: i64) -> BatchHeader {
        let mut h = BatchHeader::parse(&build_batch(0, count, 1, b"")).unwrap();
        h.producer_id = pid;
        h.producer_epoch = epoch;
        h.base_sequence = seq;
        h.base_offset = base;
        h
    }

    #[test]
    fn retries_are_duplicates_and_gaps_are_rejected() {
        let mut t = ProducerStateTable::default();
        let b0 = header(7, 0, 0, 5, 0);
        assert_eq!(t.check(&b0, true), Ok(SequenceCheck::Append));
        t.record(&b0, None);
        let b1 = header(7, 0, 5, 5, 5);
        assert_eq!(t.check(&b1, true), Ok(SequenceCheck::Append));
        t.record(&b1, None);
        match t.check(&header(7, 0, 0, 5, 0), true) {
            Ok(SequenceCheck::Duplicate(m)) => assert_eq!((m.first_offset, m.last_offset), (0, 4)),
            other => panic!("expected duplicate, got {other:?}"),
        }
        assert!(matches!(t.check(&header(7, 0, 11, 1, 0), true), Err(ProducerError::OutOfOrder { expected: 10, .. })));
        assert!(matches!(t.check(&header(7, -1, 10, 1, 0), true), Err(ProducerError::InvalidEpoch { .. })));
        assert!(matches!(t.check(&header(7, 1, 3, 1, 0), true), Err(ProducerError::OutOfOrder { .. })));
        assert_eq!(t.check(&header(7, 1, 0, 1, 0), true), Ok(SequenceCheck::Append));
        // A producer the broker has never seen may start anywhere.
        assert_eq!(t.check(&header(8, 0, 42, 1, 0), true), Ok(SequenceCheck::Append));
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut t = ProducerStateTable::default();
        for i in 0..7 {
            t.record(&header(1, 0, i, 1, i as i64), None);
        }
        assert!(matches!(t.check(&header(1, 0, 2, 1, 0), true), Ok(SequenceCheck::Duplicate(_))));
        // Sequence 1 fell out of the cache: it is neither a duplicate we can answer nor next.
        assert!(t.check(&header(1, 0, 1, 1, 0), true).is_err());
    }

    #[test]
    fn idle_producers_expire_unless_a_transaction_is_open() {
        let mut t = ProducerStateTable::default();
        let mut old = header(1, 0, 0, 1, 0);
        old.max_timestamp = 1_000;
        t.record(&old, None);
        let mut recent = header(2, 0, 0, 1, 1);
        recent.max_timestamp = 9_500;
        t.record(&recent, None);
        let mut open = txn_header(3, 0, 0, 1, 2);
        open.max_timestamp = 1_000;
        t.record(&open, None);
        assert_eq!(t.remove_expired(10_000, 1_000), 1, "only the idle producer without a transaction");
        assert!(t.get(1).is_none() && t.get(2).is_some() && t.get(3).is_some());
        assert_eq!(t.remove_expired(10_500, 1_000), 1, "the recent one, once idle as long");
        assert_eq!(t.len(), 1);
        assert_eq!(t.first_unstable().map(|(o, _)| o), Some(2), "the open transaction still pins the LSO");
    }

    #[test]
    fn snapshot_roundtrip() {
        let mut t = ProducerStateTable::default();
        t.record(&header(3, 2, 0, 4, 10), None);
        let bytes = t.to_snapshot(14);
        let (t2, off) = ProducerStateTable::from_snapshot(&bytes).unwrap();
        assert_eq!(off, 14);
        assert!(matches!(t2.check(&header(3, 2, 0, 4, 10), true), Ok(SequenceCheck::Duplicate(_))));
    }

    fn txn_header(pid: i64, epoch: i16, seq: i32, count: i32, base: i64) -> BatchHeader {
        let mut h = header(pid, epoch, seq, count, base);
        h.attributes |= crate::log::batch::ATTR_TRANSACTIONAL;
        h
    }

    fn marker_header(pid: i64, epoch: i16, offset: i64) -> BatchHeader {
        let mut h = header(pid, epoch, -1, 1, offset);
        h.attributes |= crate::log::batch::ATTR_TRANSACTIONAL | crate::log::batch::ATTR_CONTROL;
        h
    }

    const COMMIT: EndTxnMarker = EndTxnMarker { commit: true, coordinator_epoch: 3 };
    const ABORT: EndTxnMarker = EndTxnMarker { commit: false, coordinator_epoch: 3 };

    /// A transactional batch opens the producer's transaction at its first offset; later ones
    /// join it; the marker closes it; the first unstable offset follows, until the high
    /// watermark passes the marker.
    #[test]
    fn a_transaction_opens_at_its_first_batch_and_closes_at_its_marker() {
        let mut t = ProducerStateTable::default();
        assert_eq!(t.first_unstable(), None);
        t.record(&txn_header(1, 0, 0, 2, 10), Some((0, 100)));
        t.record(&txn_header(1, 0, 2, 2, 14), Some((0, 300)));
        assert_eq!(t.first_unstable(), Some((10, Some((0, 100)))));
        assert_eq!(t.get(1).unwrap().txn.map(|x| x.first_offset), Some(10));
        t.record(&txn_header(2, 0, 0, 1, 12), None);
        assert_eq!(t.ongoing_transactions(), vec![(1, 10), (2, 12)]);
        let m = marker_header(1, 0, 20);
        t.check_marker(&m, &ABORT).unwrap();
        let c = t.completing(1, 20, &ABORT).unwrap();
        assert_eq!(c, CompletedTxn { producer_id: 1, first_offset: 10, last_offset: 20, aborted: true });
        // The other producer's transaction still pins the stable offset.
        assert_eq!(t.last_stable_offset_for(&c), 12);
        assert_eq!(t.record_marker(&m, &ABORT), Some(c));
        t.complete(&c);
        assert_eq!(t.first_unstable().map(|x| x.0), Some(10), "decided, not yet below the high watermark");
        t.on_high_watermark(21);
        assert_eq!(t.first_unstable().map(|x| x.0), Some(12));
        let m2 = marker_header(2, 0, 21);
        let c2 = t.completing(2, 21, &COMMIT).unwrap();
        assert_eq!(t.last_stable_offset_for(&c2), 22, "no other transaction: the offset after the marker");
        t.record_marker(&m2, &COMMIT);
        t.complete(&c2);
        t.on_high_watermark(22);
        assert_eq!(t.first_unstable(), None);
        // A marker for a producer without data completes nothing (Kafka writes no index entry).
        assert_eq!(t.completing(2, 30, &ABORT), None);
        assert_eq!(t.record_marker(&marker_header(9, 0, 30), &ABORT), None);
        assert_eq!(t.get(9).map(|e| (e.epoch, e.coordinator_epoch)), Some((0, 3)));
    }

    /// Kafka's fencing: a marker with an older producer epoch is INVALID_PRODUCER_EPOCH, one
    /// from an older coordinator TRANSACTION_COORDINATOR_FENCED; a non-transactional batch in
    /// the middle of a transaction is INVALID_TXN_STATE; a marker may bump the epoch.
    #[test]
    fn markers_and_batches_are_fenced_as_kafka_does() {
        let mut t = ProducerStateTable::default();
        t.record(&txn_header(1, 2, 0, 1, 0), None);
        assert!(matches!(
            t.check_marker(&marker_header(1, 1, 1), &COMMIT),
            Err(ProducerError::InvalidEpoch { got: 1, current: 2, .. })
        ));
        assert!(matches!(
            t.check(&header(1, 2, 1, 1, 1), true),
            Err(ProducerError::InvalidTxnState { producer_id: 1 })
        ));
        assert_eq!(t.check(&txn_header(1, 2, 1, 1, 1), true), Ok(SequenceCheck::Append));
        // An abort with a bumped epoch (the coordinator fencing the producer) is accepted.
        let m = marker_header(1, 3, 1);
        t.check_marker(&m, &ABORT).unwrap();
        let c = t.record_marker(&m, &ABORT).unwrap();
        t.complete(&c);
        assert_eq!(t.get(1).map(|e| (e.epoch, e.batches.len())), Some((3, 0)));
        let older_coordinator = EndTxnMarker { commit: true, coordinator_epoch: 2 };
        assert!(matches!(
            t.check_marker(&marker_header(1, 3, 2), &older_coordinator),
            Err(ProducerError::CoordinatorFenced { got: 2, current: 3, .. })
        ));
        t.check_marker(&marker_header(1, 3, 2), &COMMIT).unwrap();
        // Epoch 2 is fenced for data too, now.
        assert!(matches!(t.check(&txn_header(1, 2, 1, 1, 2), true), Err(ProducerError::InvalidEpoch { .. })));
        // A coordinator's batch (no sequence) only has its epoch checked.
        assert_eq!(t.check(&txn_header(1, 3, -1, 1, 2), false), Ok(SequenceCheck::Append));
        assert!(matches!(t.check(&txn_header(1, 2, -1, 1, 2), false), Err(ProducerError::InvalidEpoch { .. })));
    }

    /// Ongoing transactions (with positions) and coordinator epochs survive a snapshot;
    /// version 1 snapshots still load.
    #[test]
    fn snapshots_carry_ongoing_transactions() {
        let mut t = ProducerStateTable::default();
        t.record(&txn_header(4, 1, 0, 3, 7), Some((0, 4096)));
        t.record_marker(&marker_header(5, 0, 10), &COMMIT);
        let (t2, off) = ProducerStateTable::from_snapshot(&t.to_snapshot(11)).unwrap();
        assert_eq!(off, 11);
        assert_eq!(t2.first_unstable(), Some((7, Some((0, 4096)))));
        assert_eq!(t2.get(5).unwrap().coordinator_epoch, 3);
        let v1 = br#"{"version":1,"offset":5,"producers":[[3,{"epoch":2,"batches":[{"first_seq":0,"last_seq":3,"first_offset":1,"last_offset":4,"timestamp":9}]}]]}"#;
        let (t1, off) = ProducerStateTable::from_snapshot(v1).unwrap();
        assert_eq!((off, t1.first_unstable()), (5, None));
        assert_eq!(t1.get(3).map(|e| (e.epoch, e.coordinator_epoch)), Some((2, -1)));
        assert!(ProducerStateTable::from_snapshot(br#"{"version":3,"offset":5,"producers":[]}"#).is_none());
        // A transaction starting at or past the snapshot's offset is not a possible state.
        let mut bad = ProducerStateTable::default();
        bad.record(&txn_header(4, 1, 0, 3, 20), None);
        assert!(ProducerStateTable::from_snapshot(&bad.to_snapshot(11)).is_none());
    }
}
