//! Per-partition producer state: for each producer id the current epoch and the sequence
//! ranges of its last five batches, used to acknowledge retries with their original offsets
//! (dedup) and to reject gaps (`OUT_OF_ORDER_SEQUENCE_NUMBER`) and zombies
//! (`INVALID_PRODUCER_EPOCH`). Follows Kafka's ProducerStateManager rules.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::log::batch::BatchHeader;

/// Batches remembered per producer (Kafka's `max.in.flight.requests.per.connection` bound).
pub const MAX_CACHED_BATCHES: usize = 5;
/// Snapshot format version; bump when the layout changes.
const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub timestamp: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProducerEntry {
    pub epoch: i16,
    pub batches: VecDeque<BatchMeta>,
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
}

#[derive(Debug, Default)]
pub struct ProducerStateTable {
    producers: HashMap<i64, ProducerEntry>,
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
    /// Checks a batch (not yet assigned offsets) from an idempotent producer.
    pub fn check(&self, h: &BatchHeader) -> Result<SequenceCheck, ProducerError> {
        let Some(entry) = self.producers.get(&h.producer_id) else {
            // Unknown producer (new, or its state expired): accept any sequence, as Kafka does.
            return Ok(SequenceCheck::Append);
        };
        if h.producer_epoch < entry.epoch {
            return Err(ProducerError::InvalidEpoch {
                producer_id: h.producer_id,
                got: h.producer_epoch,
                current: entry.epoch,
            });
        }
        if h.producer_epoch > entry.epoch {
            if h.base_sequence != 0 {
                return Err(ProducerError::OutOfOrder {
                    producer_id: h.producer_id,
                    expected: 0,
                    got: h.base_sequence,
                });
            }
            return Ok(SequenceCheck::Append);
        }
        let last_seq = h.last_sequence();
        if let Some(dup) = entry.batches.iter().find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq) {
            return Ok(SequenceCheck::Duplicate(*dup));
        }
        match entry.batches.back() {
            Some(last) if !in_sequence(last.last_seq, h.base_sequence) => Err(ProducerError::OutOfOrder {
                producer_id: h.producer_id,
                expected: last.last_seq.wrapping_add(1),
                got: h.base_sequence,
            }),
            _ => Ok(SequenceCheck::Append),
        }
    }

    /// Records an appended batch (offsets assigned). Also used to replay the log at recovery.
    pub fn record(&mut self, h: &BatchHeader) {
        if !h.has_producer_id() {
            return;
        }
        let entry = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        if h.base_sequence < 0 {
            return; // transactional markers and the like carry no sequence
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

    /// Each producer's last offset in the log (that of its last batch with a sequence).
    pub fn last_offsets(&self) -> HashMap<i64, i64> {
        self.producers.iter().filter_map(|(id, e)| e.batches.back().map(|b| (*id, b.last_offset))).collect()
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

    /// Loads a snapshot, returning the table and the offset it covers up to.
    pub fn from_snapshot(bytes: &[u8]) -> Option<(Self, i64)> {
        let snap: Snapshot = serde_json::from_slice(bytes).ok()?;
        if snap.version != SNAPSHOT_VERSION {
            return None;
        }
        Some((Self { producers: snap.producers.into_iter().collect() }, snap.offset))
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
        assert_eq!(t.check(&b0), Ok(SequenceCheck::Append));
        t.record(&b0);
        let b1 = header(7, 0, 5, 5, 5);
        assert_eq!(t.check(&b1), Ok(SequenceCheck::Append));
        t.record(&b1);
        match t.check(&header(7, 0, 0, 5, 0)) {
            Ok(SequenceCheck::Duplicate(m)) => assert_eq!((m.first_offset, m.last_offset), (0, 4)),
            other => panic!("expected duplicate, got {other:?}"),
        }
        assert!(matches!(t.check(&header(7, 0, 11, 1, 0)), Err(ProducerError::OutOfOrder { expected: 10, .. })));
        assert!(matches!(t.check(&header(7, -1, 10, 1, 0)), Err(ProducerError::InvalidEpoch { .. })));
        assert!(matches!(t.check(&header(7, 1, 3, 1, 0)), Err(ProducerError::OutOfOrder { .. })));
        assert_eq!(t.check(&header(7, 1, 0, 1, 0)), Ok(SequenceCheck::Append));
        // A producer the broker has never seen may start anywhere.
        assert_eq!(t.check(&header(8, 0, 42, 1, 0)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut t = ProducerStateTable::default();
        for i in 0..7 {
            t.record(&header(1, 0, i, 1, i as i64));
        }
        assert!(matches!(t.check(&header(1, 0, 2, 1, 0)), Ok(SequenceCheck::Duplicate(_))));
        // Sequence 1 fell out of the cache: it is neither a duplicate we can answer nor next.
        assert!(t.check(&header(1, 0, 1, 1, 0)).is_err());
    }

    #[test]
    fn snapshot_roundtrip() {
        let mut t = ProducerStateTable::default();
        t.record(&header(3, 2, 0, 4, 10));
        let bytes = t.to_snapshot(14);
        let (t2, off) = ProducerStateTable::from_snapshot(&bytes).unwrap();
        assert_eq!(off, 14);
        assert!(matches!(t2.check(&header(3, 2, 0, 4, 10)), Ok(SequenceCheck::Duplicate(_))));
    }
}
