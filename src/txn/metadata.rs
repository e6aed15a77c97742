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
            PrepareAbort => &[Ongoing, PrepareEpochFence],
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
    pub producer_epoch: i16,
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    pub start_ms: i64,
    pub update_ms: i64,
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
            pending: None,
        }
    }

    /// The current state as a record writes it.
    pub fn as_transit(&self) -> Transit {
        Transit {
            producer_id: self.producer_id,
            previous_producer_id: self.previous_producer_id,
            producer_epoch: self.producer_epoch,
            last_producer_epoch: self.last_producer_epoch,
            timeout_ms: self.timeout_ms,
            state: self.state,
            partitions: self.partitions.clone(),
            start_ms: self.start_ms,
            update_ms: self.update_ms,
        }
    }

    pub fn is_epoch_exhausted(&self) -> bool {
        is_epoch_exhausted(self.producer_epoch)
    }

    fn illegal(&self, what: String) -> IllegalTransition {
        IllegalTransition { id: self.transactional_id.clone(), what }
    }

    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &mut self,
        state: TxnState,
        producer_id: i64,
        epoch: i16,
        last_epoch: i16,
        timeout_ms: i32,
        partitions: BTreeSet<TopicPartition>,
        start_ms: i64,
        update_ms: i64,
    ) -> Result<Transit, IllegalTransition> {
        if let Some(p) = self.pending {
            return Err(self.illegal(format!("preparing {state:?} while {p:?} is pending")));
        }
        if producer_id < 0 || (state != TxnState::Dead && epoch < 0) {
            return Err(self.illegal(format!("illegal producer id {producer_id} or epoch {epoch} for {state:?}")));
        }
        if !state.valid_previous().contains(&self.state) {
            return Err(self.illegal(format!("{state:?} cannot follow {:?}", self.state)));
        }
        self.pending = Some(state);
        Ok(Transit {
            producer_id,
            previous_producer_id: self.producer_id,
            producer_epoch: epoch,
            last_producer_epoch: last_epoch,
            timeout_ms,
            state,
            partitions,
            start_ms,
            update_ms,
        })
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
        Ok(self.prepare(TxnState::Empty, self.producer_id, epoch, last, timeout_ms, BTreeSet::new(), -1, now_ms))
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
        self.prepare(TxnState::Empty, producer_id, 0, last, timeout_ms, BTreeSet::new(), -1, now_ms)
    }

    /// An ongoing transaction to be aborted under a bumped epoch, fencing its producer.
    pub fn prepare_fence_epoch(&mut self) -> Result<Transit, IllegalTransition> {
        if self.is_epoch_exhausted() {
            return Err(self.illegal("cannot fence: the producer epoch is exhausted".into()));
        }
        let (parts, start, update) = (self.partitions.clone(), self.start_ms, self.update_ms);
        self.prepare(
            TxnState::PrepareEpochFence,
            self.producer_id,
            self.producer_epoch + 1,
            NO_PRODUCER_EPOCH,
            self.timeout_ms,
            parts,
            start,
            update,
        )
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: the transaction (started now if none was).
    pub fn prepare_add_partitions(
        &mut self,
        added: impl IntoIterator<Item = TopicPartition>,
        now_ms: i64,
    ) -> Result<Transit, IllegalTransition> {
        let start = match self.state {
            TxnState::Empty | TxnState::CompleteAbort | TxnState::CompleteCommit => now_ms,
            _ => self.start_ms,
        };
        let mut parts = self.partitions.clone();
        parts.extend(added);
        self.prepare(
            TxnState::Ongoing,
            self.producer_id,
            self.producer_epoch,
            self.last_producer_epoch,
            self.timeout_ms,
            parts,
            start,
            now_ms,
        )
    }

    /// EndTxn: PrepareCommit or PrepareAbort.
    pub fn prepare_abort_or_commit(&mut self, state: TxnState, now_ms: i64) -> Result<Transit, IllegalTransition> {
        let parts = self.partitions.clone();
        self.prepare(
            state,
            self.producer_id,
            self.producer_epoch,
            self.last_producer_epoch,
            self.timeout_ms,
            parts,
            self.start_ms,
            now_ms,
        )
    }

    /// The markers are written: CompleteCommit or CompleteAbort, no partitions.
    pub fn prepare_complete(&mut self, now_ms: i64) -> Result<Transit, IllegalTransition> {
        let state =
            if self.state == TxnState::PrepareCommit { TxnState::CompleteCommit } else { TxnState::CompleteAbort };
        self.prepare(
            state,
            self.producer_id,
            self.producer_epoch,
            self.last_producer_epoch,
            self.timeout_ms,
            BTreeSet::new(),
            self.start_ms,
            now_ms,
        )
    }

    /// An idle transactional id expires.
    pub fn prepare_dead(&mut self) -> Result<Transit, IllegalTransition> {
        self.prepare(
            TxnState::Dead,
            self.producer_id,
            self.producer_epoch,
            self.last_producer_epoch,
            self.timeout_ms,
            BTreeSet::new(),
            self.start_ms,
            self.update_ms,
        )
    }

    /// The prepared transition is stored: it becomes the state.
    pub fn complete(&mut self, t: &Transit) -> Result<(), IllegalTransition> {
        if self.pending != Some(t.state) {
            return Err(self.illegal(format!("completing {:?} while {:?} is pending", t.state, self.pending)));
        }
        self.pending = None;
        if t.state == TxnState::Empty {
            self.previous_producer_id = t.previous_producer_id;
        }
        self.producer_id = t.producer_id;
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
        let t = m.prepare_add_partitions([("a".to_string(), 0)], 5);
        step(&mut m, t);
        assert_eq!((m.state, m.start_ms, m.partitions.len()), (TxnState::Ongoing, 5, 1));
        let t = m.prepare_add_partitions([("b".to_string(), 1)], 9);
        step(&mut m, t);
        assert_eq!((m.start_ms, m.partitions.len()), (5, 2), "the start stays");
        let t = m.prepare_abort_or_commit(TxnState::PrepareCommit, 10);
        step(&mut m, t);
        let t = m.prepare_complete(11);
        step(&mut m, t);
        assert_eq!((m.state, m.partitions.len()), (TxnState::CompleteCommit, 0));
        // A commit cannot follow a completed commit without a new transaction.
        assert!(m.prepare_abort_or_commit(TxnState::PrepareCommit, 12).is_err());
    }

    #[test]
    fn a_pending_transition_blocks_another() {
        let mut m = meta();
        let t = m.prepare_increment_epoch(60_000, None, 2).unwrap();
        step(&mut m, t);
        let _t = m.prepare_add_partitions([("a".to_string(), 0)], 3).unwrap();
        assert!(m.prepare_abort_or_commit(TxnState::PrepareCommit, 4).is_err());
        m.abandon();
        assert_eq!(m.state, TxnState::Empty);
        assert!(m.prepare_add_partitions([("a".to_string(), 0)], 3).is_ok());
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
        let t = m.prepare_add_partitions([("a".to_string(), 0)], 5);
        step(&mut m, t);
        let fence = m.prepare_fence_epoch().unwrap();
        assert_eq!((fence.state, fence.producer_epoch), (TxnState::PrepareEpochFence, 1));
        assert!(TxnState::PrepareAbort.valid_previous().contains(&TxnState::PrepareEpochFence));
        assert!(is_epoch_exhausted(i16::MAX - 1) && !is_epoch_exhausted(5));
    }
}
