//! One transactional id's state as the coordinator keeps it (Kafka's TransactionMetadata):
//! its producer id and epochs, the transaction's partitions and timestamps, its state, and
//! the transition being written to `__transaction_state` (`pending`). A change is prepared
//! (checked against the states it may come from, and marked pending so that concurrent
//! requests get `CONCURRENT_TRANSACTIONS`), written, then completed.

use std::collections::BTreeSet;

/// Kafka's TransactionState, with the ids `__transaction_state` stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    Empty = 0,
    Ongoing = 1,
    PrepareCommit = 2,
    PrepareAbort = 3,
    CompleteCommit = 4,
    CompleteAbort = 5,
    Dead = 6,
    PrepareEpochFence = 7,
}

impl TxnState {
    pub fn from_id(id: i8) -> Option<Self> {
        use TxnState::*;
        Some(match id {
            0 => Empty,
            1 => Ongoing,
            2 => PrepareCommit,
            3 => PrepareAbort,
            4 => CompleteCommit,
            5 => CompleteAbort,
            6 => Dead,
            7 => PrepareEpochFence,
            _ => return None,
        })
    }

    /// The name DescribeTransactions and ListTransactions report (and filter on).
    pub fn name(self) -> &'static str {
        use TxnState::*;
        match self {
            Empty => "Empty",
            Ongoing => "Ongoing",
            PrepareCommit => "PrepareCommit",
            PrepareAbort => "PrepareAbort",
            CompleteCommit => "CompleteCommit",
            CompleteAbort => "CompleteAbort",
            Dead => "Dead",
            PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// The states a transition to `self` may start from (Kafka's validPreviousStates).
    fn valid_previous(self) -> &'static [TxnState] {
        use TxnState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            // Transaction version 2 may abort with no transaction ongoing (a bare epoch bump).
            PrepareAbort => &[Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteCommit, CompleteAbort],
            PrepareEpochFence => &[Ongoing],
        }
    }

    /// A transaction is open or being completed.
    pub fn is_pending_transaction(self) -> bool {
        matches!(self, TxnState::Ongoing | TxnState::PrepareCommit | TxnState::PrepareAbort)
    }
}

pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_PRODUCER_EPOCH: i16 = -1;

/// No epoch past this is handed out, so the coordinator can always fence a producer.
pub fn is_epoch_exhausted(epoch: i16) -> bool {
    epoch >= i16::MAX - 1
}

/// A partition of a transaction.
pub type TopicPartition = (String, i32);

/// The values a transition writes (Kafka's TxnTransitMetadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transit {
    pub producer_id: i64,
    pub previous_producer_id: i64,
    /// Transaction version 2: the producer id the client continues with once this
    /// transaction completes, when its epoch ran out (-1: none).
    pub next_producer_id: i64,
    pub producer_epoch: i16,
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    pub start_ms: i64,
    pub update_ms: i64,
    /// The transaction version of the client that made the last change (Kafka's
    /// clientTransactionVersion): 2 bumps the epoch at every EndTxn (KIP-890).
    pub client_version: i16,
}

/// A transition that the rules forbid: the coordinator's bug, never the client's (Kafka
/// throws IllegalStateException); answered as an unknown server error.
#[derive(Debug, thiserror::Error)]
#[error("transactional id {id}: {what}")]
pub struct IllegalTransition {
    pub id: String,
    pub what: String,
}

/// A producer whose epoch is neither the current nor the last one: PRODUCER_FENCED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fenced;

#[derive(Debug, Clone)]
pub struct TransactionMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub previous_producer_id: i64,
    pub producer_epoch: i16,
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    pub start_ms: i64,
    pub update_ms: i64,
    /// See [`Transit::next_producer_id`].
    pub next_producer_id: i64,
    /// See [`Transit::client_version`].
    pub client_version: i16,
    /// The state being written, if any.
    pub pending: Option<TxnState>,
}

impl TransactionMetadata {
    /// A new transactional id with its first producer id, before any epoch.
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now_ms: i64) -> Self {
        Self {
            transactional_id: transactional_id.to_string(),
            producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            update_ms: now_ms,
            next_producer_id: NO_PRODUCER_ID,
            client_version: 0,
            pending: None,
        }
    }

    /// The metadata a stored record holds (its producer's last epoch is not stored).
    pub fn from_transit(transactional_id: &str, t: &Transit) -> Self {
        Self {
            transactional_id: transactional_id.to_string(),
            producer_id: t.producer_id,
            previous_producer_id: t.previous_producer_id,
            producer_epoch: t.producer_epoch,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms: t.timeout_ms,
            state: t.state,
            partitions: t.partitions.clone(),
            start_ms: t.start_ms,
            update_ms: t.update_ms,
            next_producer_id: t.next_producer_id,
            client_version: t.client_version,
            pending: None,
        }
    }

    /// The current state as a record writes it.
    pub fn as_transit(&self) -> Transit {
        Transit {
            producer_id: self.producer_id,
            previous_producer_id: self.previous_producer_id,
            next_producer_id: self.next_producer_id,
            producer_epoch: self.producer_epoch,
            last_producer_epoch: self.last_producer_epoch,
            timeout_ms: self.timeout_ms,
            state: self.state,
            partitions: self.partitions.clone(),
            start_ms: self.start_ms,
            update_ms: self.update_ms,
            client_version: self.client_version,
        }
    }

    pub fn is_epoch_exhausted(&self) -> bool {
        is_epoch_exhausted(self.producer_epoch)
    }

    fn illegal(&self, what: String) -> IllegalTransition {
        IllegalTransition { id: self.transactional_id.clone(), what }
    }

    /// Marks `next` (the current state changed as a transition wants) pending, if the rules
    /// allow it (Kafka's prepareTransitionTo).
    fn prepare(&mut self, next: Transit) -> Result<Transit, IllegalTransition> {
        if let Some(p) = self.pending {
            return Err(self.illegal(format!("preparing {:?} while {p:?} is pending", next.state)));
        }
        if next.producer_id < 0 || (next.state != TxnState::Dead && next.producer_epoch < 0) {
            return Err(self.illegal(format!(
                "illegal producer id {} or epoch {} for {:?}",
                next.producer_id, next.producer_epoch, next.state
            )));
        }
        if !next.state.valid_previous().contains(&self.state) {
            return Err(self.illegal(format!("{:?} cannot follow {:?}", next.state, self.state)));
        }
        self.pending = Some(next.state);
        Ok(Transit { previous_producer_id: self.producer_id, ..next })
    }

    /// The current state moving to `state`, everything else kept (the base of a transition).
    fn to(&self, state: TxnState) -> Transit {
        Transit { state, ..self.as_transit() }
    }

    /// InitProducerId: the next epoch of the same producer id (Kafka's
    /// prepareIncrementProducerEpoch). `expected` is the epoch a producer recovering from an
    /// error (KIP-360) says it has: its retry gets the current epoch again; another epoch is
    /// fenced (Err(Fenced)).
    pub fn prepare_increment_epoch(
        &mut self,
        timeout_ms: i32,
        expected: Option<i16>,
        now_ms: i64,
    ) -> Result<Result<Transit, IllegalTransition>, Fenced> {
        if self.is_epoch_exhausted() {
            return Ok(Err(self.illegal("the producer epoch is exhausted".into())));
        }
        let bumped = self.producer_epoch + 1;
        let (epoch, last) = match expected {
            None => (bumped, NO_PRODUCER_EPOCH),
            Some(e) if self.producer_epoch == NO_PRODUCER_EPOCH || e == self.producer_epoch => {
                (bumped, self.producer_epoch)
            }
            Some(e) if e == self.last_producer_epoch => (self.producer_epoch, self.last_producer_epoch),
            Some(_) => return Err(Fenced),
        };
        Ok(self.prepare(Transit {
            producer_epoch: epoch,
            last_producer_epoch: last,
            timeout_ms,
            partitions: BTreeSet::new(),
            start_ms: -1,
            update_ms: now_ms,
            ..self.to(TxnState::Empty)
        }))
    }

    /// InitProducerId when the epoch is exhausted: a new producer id at epoch 0.
    pub fn prepare_producer_id_rotation(
        &mut self,
        producer_id: i64,
        timeout_ms: i32,
        now_ms: i64,
        record_last_epoch: bool,
    ) -> Result<Transit, IllegalTransition> {
        if self.state.is_pending_transaction() {
            return Err(self.illegal("rotating producer ids while a transaction is pending".into()));
        }
        let last = if record_last_epoch { self.producer_epoch } else { NO_PRODUCER_EPOCH };
        self.prepare(Transit {
            producer_id,
            producer_epoch: 0,
            last_producer_epoch: last,
            timeout_ms,
            partitions: BTreeSet::new(),
            start_ms: -1,
            update_ms: now_ms,
            ..self.to(TxnState::Empty)
        })
    }

    /// An ongoing transaction to be aborted under a bumped epoch, fencing its producer.
    pub fn prepare_fence_epoch(&mut self) -> Result<Transit, IllegalTransition> {
        if self.is_epoch_exhausted() {
            return Err(self.illegal("cannot fence: the producer epoch is exhausted".into()));
        }
        self.prepare(Transit {
            producer_epoch: self.producer_epoch + 1,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            ..self.to(TxnState::PrepareEpochFence)
        })
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn, or (transaction version 2) a produce or
    /// TxnOffsetCommit adding its partition: the transaction, started now if none was.
    pub fn prepare_add_partitions(
        &mut self,
        added: impl IntoIterator<Item = TopicPartition>,
        client_version: i16,
        now_ms: i64,
    ) -> Result<Transit, IllegalTransition> {
        let start = match self.state {
            TxnState::Empty | TxnState::CompleteAbort | TxnState::CompleteCommit => now_ms,
            _ => self.start_ms,
        };
        let mut partitions = self.partitions.clone();
        partitions.extend(added);
        self.prepare(Transit {
            partitions,
            start_ms: start,
            update_ms: now_ms,
            client_version,
            ..self.to(TxnState::Ongoing)
        })
    }

    /// EndTxn: PrepareCommit or PrepareAbort. With transaction version 2 the epoch is bumped
    /// (the markers carry the new one, and the client continues with it), and
    /// `next_producer_id` is the id the client continues with when the epoch ran out. An
    /// abort with no partition added starts the transaction now (Kafka's noPartitionAdded).
    pub fn prepare_abort_or_commit(
        &mut self,
        state: TxnState,
        client_version: i16,
        next_producer_id: i64,
        now_ms: i64,
        no_partition_added: bool,
    ) -> Result<Transit, IllegalTransition> {
        let (epoch, last) = if client_version >= 2 {
            (self.producer_epoch.saturating_add(1), self.producer_epoch)
        } else {
            (self.producer_epoch, self.last_producer_epoch)
        };
        self.prepare(Transit {
            next_producer_id,
            producer_epoch: epoch,
            last_producer_epoch: last,
            start_ms: if no_partition_added { now_ms } else { self.start_ms },
            update_ms: now_ms,
            client_version,
            ..self.to(state)
        })
    }

    /// The markers are written: CompleteCommit or CompleteAbort, no partitions. A
    /// transaction version 2 producer whose epoch ran out continues as its next producer id,
    /// at epoch 0.
    pub fn prepare_complete(&mut self, now_ms: i64) -> Result<Transit, IllegalTransition> {
        let state =
            if self.state == TxnState::PrepareCommit { TxnState::CompleteCommit } else { TxnState::CompleteAbort };
        let (producer_id, epoch) = if self.client_version >= 2 && self.next_producer_id != NO_PRODUCER_ID {
            (self.next_producer_id, 0)
        } else {
            (self.producer_id, self.producer_epoch)
        };
        self.prepare(Transit {
            producer_id,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: epoch,
            partitions: BTreeSet::new(),
            update_ms: now_ms,
            ..self.to(state)
        })
    }

    /// An idle transactional id expires.
    pub fn prepare_dead(&mut self) -> Result<Transit, IllegalTransition> {
        self.prepare(Transit { partitions: BTreeSet::new(), ..self.to(TxnState::Dead) })
    }

    /// The prepared transition is stored: it becomes the state.
    pub fn complete(&mut self, t: &Transit) -> Result<(), IllegalTransition> {
        if self.pending != Some(t.state) {
            return Err(self.illegal(format!("completing {:?} while {:?} is pending", t.state, self.pending)));
        }
        self.pending = None;
        // Kafka keeps the previous producer id across an id change: InitProducerId's
        // rotation, and a version 2 completion that moves to the next id.
        if t.producer_id != self.producer_id {
            self.previous_producer_id = t.previous_producer_id;
        }
        self.producer_id = t.producer_id;
        self.next_producer_id = t.next_producer_id;
        self.client_version = t.client_version;
        self.producer_epoch = t.producer_epoch;
        self.last_producer_epoch = t.last_producer_epoch;
        self.timeout_ms = t.timeout_ms;
        self.state = t.state;
        self.partitions = t.partitions.clone();
        self.start_ms = t.start_ms;
        self.update_ms = t.update_ms;
        Ok(())
    }

    /// The write of the prepared transition failed: nothing changes.
    pub fn abandon(&mut self) {
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> TransactionMetadata {
        TransactionMetadata::new("t", 7, 60_000, 1)
    }

    fn step(m: &mut TransactionMetadata, t: Result<Transit, IllegalTransition>) {
        let t = t.unwrap();
        m.complete(&t).unwrap();
    }

    #[test]
    fn a_transaction_goes_through_kafkas_states() {
        let mut m = meta();
        let t = m.prepare_increment_epoch(60_000, None, 2).unwrap();
        step(&mut m, t);
        assert_eq!((m.producer_epoch, m.state), (0, TxnState::Empty));
        let t = m.prepare_add_partitions([("a".to_string(), 0)], 0, 5);
        step(&mut m, t);
        assert_eq!((m.state, m.start_ms, m.partitions.len()), (TxnState::Ongoing, 5, 1));
        let t = m.prepare_add_partitions([("b".to_string(), 1)], 0, 9);
        step(&mut m, t);
        assert_eq!((m.start_ms, m.partitions.len()), (5, 2), "the start stays");
        let t = m.prepare_abort_or_commit(TxnState::PrepareCommit, 0, NO_PRODUCER_ID, 10, false);
        step(&mut m, t);
        let t = m.prepare_complete(11);
        step(&mut m, t);
        assert_eq!((m.state, m.partitions.len()), (TxnState::CompleteCommit, 0));
        // A commit cannot follow a completed commit without a new transaction.
        assert!(m.prepare_abort_or_commit(TxnState::PrepareCommit, 0, NO_PRODUCER_ID, 12, false).is_err());
    }

    #[test]
    fn a_pending_transition_blocks_another() {
        let mut m = meta();
        let t = m.prepare_increment_epoch(60_000, None, 2).unwrap();
        step(&mut m, t);
        let _t = m.prepare_add_partitions([("a".to_string(), 0)], 0, 3).unwrap();
        assert!(m.prepare_abort_or_commit(TxnState::PrepareCommit, 0, NO_PRODUCER_ID, 4, false).is_err());
        m.abandon();
        assert_eq!(m.state, TxnState::Empty);
        assert!(m.prepare_add_partitions([("a".to_string(), 0)], 0, 3).is_ok());
    }

    #[test]
    fn kip_360_retries_and_fencing() {
        let mut m = meta();
        let t = m.prepare_increment_epoch(60_000, None, 2).unwrap();
        step(&mut m, t); // epoch 0
        let t = m.prepare_increment_epoch(60_000, Some(0), 3).unwrap();
        step(&mut m, t); // epoch 1, last 0
        assert_eq!((m.producer_epoch, m.last_producer_epoch), (1, 0));
        // The producer retries with its old epoch: same epoch again.
        let t = m.prepare_increment_epoch(60_000, Some(0), 4).unwrap().unwrap();
        assert_eq!(t.producer_epoch, 1);
        m.abandon();
        // Another epoch is fenced.
        assert!(m.prepare_increment_epoch(60_000, Some(5), 4).is_err());
    }

    #[test]
    fn fencing_an_ongoing_transaction_bumps_the_epoch_then_aborts() {
        let mut m = meta();
        let t = m.prepare_increment_epoch(60_000, None, 2).unwrap();
        step(&mut m, t);
        let t = m.prepare_add_partitions([("a".to_string(), 0)], 0, 5);
        step(&mut m, t);
        let fence = m.prepare_fence_epoch().unwrap();
        assert_eq!((fence.state, fence.producer_epoch), (TxnState::PrepareEpochFence, 1));
        assert!(TxnState::PrepareAbort.valid_previous().contains(&TxnState::PrepareEpochFence));
        assert!(is_epoch_exhausted(i16::MAX - 1) && !is_epoch_exhausted(5));
    }

    #[test]
    fn version_2_bumps_the_epoch_at_every_end_and_rotates_the_id_when_it_runs_out() {
        let mut m = meta();
        let t = m.prepare_increment_epoch(60_000, None, 2).unwrap();
        step(&mut m, t);
        let t = m.prepare_add_partitions([("a".to_string(), 0)], 2, 5);
        step(&mut m, t);
        assert_eq!(m.client_version, 2);
        let t = m.prepare_abort_or_commit(TxnState::PrepareCommit, 2, NO_PRODUCER_ID, 6, false);
        step(&mut m, t);
        assert_eq!((m.producer_epoch, m.last_producer_epoch), (1, 0), "the markers carry the bumped epoch");
        let t = m.prepare_complete(7);
        step(&mut m, t);
        assert_eq!((m.state, m.producer_id, m.producer_epoch), (TxnState::CompleteCommit, 7, 1));
        // An abort with nothing ongoing is a bare epoch bump, its start now.
        let t = m.prepare_abort_or_commit(TxnState::PrepareAbort, 2, NO_PRODUCER_ID, 8, true).unwrap();
        assert_eq!((t.producer_epoch, t.start_ms, t.partitions.len()), (2, 8, 0));
        m.complete(&t).unwrap();
        let t = m.prepare_complete(9);
        step(&mut m, t);
        // The epoch runs out: the completion moves to the next producer id at epoch 0, and
        // the old id is remembered (a retry of the end names it).
        m.producer_epoch = i16::MAX - 1;
        let t = m.prepare_add_partitions([("a".to_string(), 0)], 2, 10);
        step(&mut m, t);
        let t = m.prepare_abort_or_commit(TxnState::PrepareCommit, 2, 99, 11, false);
        step(&mut m, t);
        assert_eq!((m.producer_id, m.producer_epoch, m.next_producer_id), (7, i16::MAX, 99));
        let t = m.prepare_complete(12);
        step(&mut m, t);
        assert_eq!((m.producer_id, m.producer_epoch, m.previous_producer_id, m.next_producer_id), (99, 0, 7, -1));
        // Below version 2 the epoch stays.
        let mut v0 = meta();
        let t = v0.prepare_increment_epoch(60_000, None, 2).unwrap();
        step(&mut v0, t);
        let t = v0.prepare_add_partitions([("a".to_string(), 0)], 0, 3);
        step(&mut v0, t);
        let t = v0.prepare_abort_or_commit(TxnState::PrepareAbort, 0, NO_PRODUCER_ID, 4, false);
        step(&mut v0, t);
        assert_eq!(v0.producer_epoch, 0);
    }
}
