//! Transactions seen by a cleaning pass (Kafka's `CleanedTransactionMetadata`): which data
//! batches belong to aborted transactions (removed whatever their keys, and kept out of the
//! key map), and when a marker may go.
//!
//! The pass walks the log in offset order from where it starts. Each aborted transaction (from
//! the aborted-transaction indexes) becomes "ongoing" for its producer once the walk reaches
//! its first offset; the producer's transactional batches are then its batches, until its
//! abort marker. A transactional batch of a producer without an ongoing aborted transaction
//! belongs to a committed one. A marker may be discarded only if no batch of its transaction
//! was seen in this pass (so a commit marker stays while its data does, and an abort marker
//! while any of its aborted batches is still in the log, keeping read_committed readers from
//! seeing aborted data); an abort marker that stays keeps its index entry in the cleaned
//! segment. A discardable marker then follows the tombstone rule (a delete horizon, gone at
//! the first pass after it), which the filter applies.

use std::collections::{HashMap, HashSet};

use crate::log::batch::{BatchHeader, EndTxnMarker};
use crate::log::txn_index::AbortedTxn;

/// An aborted transaction the walk is inside, and whether one of its batches was seen.
struct OngoingAbort {
    txn: AbortedTxn,
    seen_batch: bool,
}

pub struct CleanedTxns {
    /// Aborted transactions by first offset, not yet reached by the walk.
    pending: Vec<AbortedTxn>,
    next: usize,
    aborted: HashMap<i64, OngoingAbort>,
    /// Producers with a committed transaction whose batches the walk saw.
    committed: HashSet<i64>,
}

impl CleanedTxns {
    /// For a walk starting at `from`: the aborted transactions whose marker is at or after it.
    pub fn new(aborted: &[AbortedTxn], from: i64) -> Self {
        let mut pending: Vec<AbortedTxn> = aborted.iter().filter(|t| t.last_offset >= from).copied().collect();
        pending.sort_by_key(|t| (t.first_offset, t.last_offset));
        Self { pending, next: 0, aborted: HashMap::new(), committed: HashSet::new() }
    }

    /// Starts the aborted transactions beginning at or before `offset` (Kafka's
    /// `consumeAbortedTxnsUpTo`).
    fn reach(&mut self, offset: i64) {
        while let Some(t) = self.pending.get(self.next).filter(|t| t.first_offset <= offset) {
            self.aborted.entry(t.producer_id).or_insert(OngoingAbort { txn: *t, seen_batch: false });
            self.next += 1;
        }
    }

    /// A data batch the walk reads: true if it belongs to an aborted transaction (its records
    /// go, whatever their keys).
    pub fn on_batch(&mut self, h: &BatchHeader) -> bool {
        self.reach(h.last_offset());
        if !h.is_transactional() {
            return false;
        }
        match self.aborted.get_mut(&h.producer_id) {
            Some(a) => {
                a.seen_batch = true;
                true
            }
            None => {
                self.committed.insert(h.producer_id);
                false
            }
        }
    }

    /// A control batch the walk reads, with its marker (`None`: no record, the cleaner already
    /// emptied it; `Err(())`: a control record that is no transaction marker). Returns
    /// whether the batch may be discarded (after its delete horizon), and the index entry the
    /// cleaned segment keeps for an abort marker that stays.
    pub fn on_control(
        &mut self,
        h: &BatchHeader,
        marker: Result<Option<EndTxnMarker>, ()>,
    ) -> (bool, Option<AbortedTxn>) {
        self.reach(h.last_offset());
        match marker {
            Ok(None) => (true, None),
            Err(()) => (false, None),
            Ok(Some(m)) if !m.commit => match self.aborted.remove(&h.producer_id) {
                Some(a) if a.seen_batch => (false, Some(a.txn)),
                _ => (true, None),
            },
            Ok(Some(_)) => (!self.committed.remove(&h.producer_id), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{build_batch, ATTR_CONTROL, ATTR_TRANSACTIONAL};

    fn h(pid: i64, base: i64, count: i32, attrs: i16) -> BatchHeader {
        let mut h = BatchHeader::parse(&build_batch(0, count, 1, b"")).unwrap();
        h.base_offset = base;
        h.producer_id = pid;
        h.attributes = attrs;
        h
    }

    const TXN: i16 = ATTR_TRANSACTIONAL;
    const MARKER: i16 = ATTR_TRANSACTIONAL | ATTR_CONTROL;
    const ABORT: Result<Option<EndTxnMarker>, ()> = Ok(Some(EndTxnMarker { commit: false, coordinator_epoch: 0 }));
    const COMMIT: Result<Option<EndTxnMarker>, ()> = Ok(Some(EndTxnMarker { commit: true, coordinator_epoch: 0 }));

    #[test]
    fn aborted_batches_go_and_markers_stay_while_their_data_does() {
        let aborted = [AbortedTxn { producer_id: 1, first_offset: 0, last_offset: 5, last_stable_offset: 2 }];
        let mut t = CleanedTxns::new(&aborted, 0);
        assert!(t.on_batch(&h(1, 0, 2, TXN)), "producer 1's batch is aborted");
        assert!(!t.on_batch(&h(2, 2, 2, TXN)), "producer 2's is committed");
        assert!(!t.on_batch(&h(-1, 4, 1, 0)), "plain data is neither");
        assert_eq!(
            t.on_control(&h(1, 5, 1, MARKER), ABORT),
            (false, Some(aborted[0])),
            "the abort keeps its data's marker"
        );
        assert_eq!(t.on_control(&h(2, 6, 1, MARKER), COMMIT), (false, None));
        // A later transaction of producer 1 is not the aborted one.
        assert!(!t.on_batch(&h(1, 7, 1, TXN)));
        assert_eq!(t.on_control(&h(1, 8, 1, MARKER), COMMIT), (false, None));

        // The next pass: the aborted data is gone, so is the committed data of producer 2.
        let mut t = CleanedTxns::new(&aborted, 0);
        assert_eq!(t.on_control(&h(1, 5, 1, MARKER), ABORT), (true, None), "nothing of it left: discardable");
        assert_eq!(t.on_control(&h(2, 6, 1, MARKER), COMMIT), (true, None));
        assert_eq!(t.on_control(&h(3, 9, 0, MARKER), Ok(None)), (true, None), "an emptied control batch");
        assert_eq!(t.on_control(&h(3, 10, 1, MARKER), Err(())), (false, None), "an unknown control record stays");
    }

    #[test]
    fn a_walk_starting_later_ignores_transactions_that_ended_before_it() {
        let aborted = [AbortedTxn { producer_id: 1, first_offset: 0, last_offset: 3, last_stable_offset: 4 }];
        let mut t = CleanedTxns::new(&aborted, 10);
        assert!(!t.on_batch(&h(1, 10, 1, TXN)), "a committed transaction of the same producer");
    }
}
