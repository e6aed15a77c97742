//! The coordinator's request flows, as Kafka's TransactionCoordinator runs them:
//! InitProducerId (epoch bump, KIP-360 recovery, fencing an ongoing transaction, producer id
//! rotation), AddPartitionsToTxn (and its verification, KIP-890), AddOffsetsToTxn, EndTxn.
//! Each prepares a change under the id's lock, stores it, then completes it.
//!
//! Two client transaction versions: 0 (Kafka's TV_0, every client before Kafka 4.0: the
//! epoch stays for the life of the producer, partitions are added with AddPartitionsToTxn),
//! and 2 (TV_2, KIP-890 part 2: Produce v12+ and TxnOffsetCommit v5 add their partitions
//! themselves, and every EndTxn v5 bumps the epoch, so a late write of the last transaction
//! can never join the next one).

use std::sync::Arc;

use super::coordinator::TxnRef;
use super::error::TxnError;
use super::markers;
use super::metadata::{is_epoch_exhausted, TopicPartition, Transit, TxnState, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};
use crate::broker::Broker;
use crate::util::now_ms;

/// Kafka's TV_0: a client before transaction version 2.
pub const TV_0: i16 = 0;
/// Kafka's TV_2: the epoch is bumped at every EndTxn; partitions are added implicitly.
pub const TV_2: i16 = 2;

/// InitProducerId with a transactional id: the producer id and epoch to use.
/// `expected` is the (producer id, epoch) a producer recovering from an error gives (KIP-360).
pub async fn init_producer_id(
    broker: Arc<Broker>,
    id: String,
    timeout_ms: i32,
    expected: Option<(i64, i16)>,
) -> Result<(i64, i16), TxnError> {
    if id.is_empty() {
        return Err(TxnError::InvalidRequest("empty transactional id"));
    }
    if timeout_ms <= 0 || timeout_ms > broker.txns.config.max_timeout_ms {
        return Err(TxnError::InvalidTransactionTimeout);
    }
    let coord = broker.txns.clone();
    let txn = coord.get_or_create(&id, timeout_ms)?;
    enum Next {
        Store(Transit),
        Fence(Transit),
    }
    let next = {
        let mut m = txn.lock();
        if m.pending.is_some() {
            return Err(TxnError::ConcurrentTransactions);
        }
        // Kafka's isValidProducerId: a new id, the current producer id, or the previous one
        // whose epoch ran out (a retry of the rotation).
        let valid = expected.is_none_or(|(pid, epoch)| {
            m.producer_epoch == NO_PRODUCER_EPOCH
                || pid == m.producer_id
                || (pid == m.previous_producer_id && is_epoch_exhausted(epoch))
        });
        if !valid {
            return Err(TxnError::ProducerFenced);
        }
        match m.state {
            TxnState::PrepareAbort | TxnState::PrepareCommit => return Err(TxnError::ConcurrentTransactions),
            TxnState::CompleteAbort | TxnState::CompleteCommit | TxnState::Empty => {
                if m.is_epoch_exhausted() && expected.is_none_or(|(_, e)| e == m.producer_epoch) {
                    let pid = coord.new_producer_id()?;
                    Next::Store(m.prepare_producer_id_rotation(pid, timeout_ms, now_ms(), expected.is_some())?)
                } else {
                    match m.prepare_increment_epoch(timeout_ms, expected.map(|e| e.1), now_ms()) {
                        Ok(t) => Next::Store(t?),
                        Err(super::metadata::Fenced) => return Err(TxnError::ProducerFenced),
                    }
                }
            }
            // The ongoing transaction is aborted under a bumped epoch (fencing its producer);
            // this producer retries after CONCURRENT_TRANSACTIONS and gets the next epoch.
            TxnState::Ongoing => Next::Fence(m.prepare_fence_epoch()?),
            TxnState::Dead | TxnState::PrepareEpochFence => {
                return Err(super::metadata::IllegalTransition {
                    id: id.clone(),
                    what: format!("InitProducerId found state {:?}", m.state),
                }
                .into())
            }
        }
    };
    match next {
        Next::Store(t) => {
            broker.txns.store_and_complete(&id, &txn, &t).await?;
            tracing::info!(transactional_id = %id, producer_id = t.producer_id, epoch = t.producer_epoch, "initialized transactional producer");
            Ok((t.producer_id, t.producer_epoch))
        }
        Next::Fence(t) => {
            // Kafka aborts at the broker's transaction version; Brook at the transaction's own,
            // so version 1 producers keep the epochs a Kafka 3.x broker gives them.
            let version = txn.lock().client_version;
            end_transaction(broker, id, t.producer_id, t.producer_epoch, false, false, version).await?;
            Err(TxnError::ConcurrentTransactions)
        }
    }
}

/// The checks every request of an ongoing transaction makes: the id, its producer id and
/// epoch, and no completion in progress (nor, when `pending_blocks`, any change being
/// written: KIP-890's verification does not wait for those). Returns the id's metadata.
fn checked_txn(
    broker: &Broker,
    id: &str,
    producer_id: i64,
    epoch: i16,
    pending_blocks: bool,
) -> Result<TxnRef, TxnError> {
    if id.is_empty() {
        return Err(TxnError::InvalidRequest("empty transactional id"));
    }
    let txn = broker.txns.get(id)?.ok_or(TxnError::InvalidProducerIdMapping)?;
    {
        let m = txn.lock();
        if m.producer_id != producer_id {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        if m.producer_epoch != epoch {
            return Err(TxnError::ProducerFenced);
        }
        let completing = matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort);
        if completing || (pending_blocks && m.pending.is_some()) {
            return Err(TxnError::ConcurrentTransactions);
        }
    }
    Ok(txn)
}

/// AddPartitionsToTxn (and AddOffsetsToTxn, with the group's offsets partition; with
/// transaction version 2 a produce's or TxnOffsetCommit's own partition): the partitions
/// join the transaction, which starts if none was ongoing.
pub async fn add_partitions(
    broker: Arc<Broker>,
    id: String,
    producer_id: i64,
    epoch: i16,
    partitions: Vec<TopicPartition>,
    client_version: i16,
) -> Result<(), TxnError> {
    let txn = checked_txn(&broker, &id, producer_id, epoch, true)?;
    let transit = {
        let mut m = txn.lock();
        if m.pending.is_some() {
            return Err(TxnError::ConcurrentTransactions);
        }
        if m.state == TxnState::Ongoing && partitions.iter().all(|p| m.partitions.contains(p)) {
            return Ok(()); // already there: nothing to store
        }
        m.prepare_add_partitions(partitions, client_version, now_ms())?
    };
    broker.txns.store_and_complete(&id, &txn, &transit).await
}

/// KIP-890's verification (AddPartitionsToTxn v4+ `verify_only`, and a transactional
/// produce): per partition, whether it is in the ongoing transaction (NONE) or not
/// (TRANSACTION_ABORTABLE); the whole check fails as Kafka's does.
pub fn verify_partitions(
    broker: &Broker,
    id: &str,
    producer_id: i64,
    epoch: i16,
    partitions: &[TopicPartition],
) -> Result<Vec<Result<(), TxnError>>, TxnError> {
    let txn = checked_txn(broker, id, producer_id, epoch, false)?;
    let m = txn.lock();
    Ok(partitions
        .iter()
        .map(|p| if m.partitions.contains(p) { Ok(()) } else { Err(TxnError::TransactionAbortable) })
        .collect())
}

/// EndTxn (and the coordinator's own aborts: `from_client` false, when fencing a producer or
/// aborting a transaction past its timeout). Answered once the prepared outcome is stored;
/// the markers are then written (see `txn::markers`). Returns the producer id and epoch the
/// client continues with (EndTxn v5 reports them: with transaction version 2 the bumped
/// epoch, or the next producer id at epoch 0 once the epoch ran out).
pub async fn end_transaction(
    broker: Arc<Broker>,
    id: String,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    from_client: bool,
    client_version: i16,
) -> Result<(i64, i16), TxnError> {
    if id.is_empty() {
        return Err(TxnError::InvalidRequest("empty transactional id"));
    }
    let txn = broker.txns.get(&id)?.ok_or(TxnError::InvalidProducerIdMapping)?;
    let transit = {
        let mut m = txn.lock();
        let prepared = if client_version >= TV_2 {
            prepare_end_v2(&broker, &mut m, producer_id, epoch, commit, from_client)?
        } else {
            prepare_end_v0(&mut m, producer_id, epoch, commit, from_client)?
        };
        match prepared {
            Some(t) => t,
            None => return Ok((m.producer_id, m.producer_epoch)), // a retry of a completed end
        }
    };
    broker.txns.store_and_complete(&id, &txn, &transit).await?;
    tracing::debug!(transactional_id = %id, commit, "transaction prepared; writing markers");
    markers::complete(&broker, &id, &txn).await;
    Ok(if transit.next_producer_id != NO_PRODUCER_ID {
        (transit.next_producer_id, 0)
    } else {
        (transit.producer_id, transit.producer_epoch)
    })
}

/// The transition of an EndTxn below transaction version 2 (Kafka's endTransactionWithTV1):
/// None for a retry of the end already completed.
fn prepare_end_v0(
    m: &mut super::metadata::TransactionMetadata,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    from_client: bool,
) -> Result<Option<Transit>, TxnError> {
    if m.producer_id != producer_id {
        return Err(TxnError::InvalidProducerIdMapping);
    }
    // A client's epoch must be the current one; the coordinator's own abort may carry the
    // bumped epoch of a fence.
    if !((!from_client || epoch == m.producer_epoch) && epoch >= m.producer_epoch) {
        return Err(TxnError::ProducerFenced);
    }
    let fencing = m.pending == Some(TxnState::PrepareEpochFence);
    if m.pending.is_some() && !fencing {
        return Err(TxnError::ConcurrentTransactions);
    }
    match (m.state, commit) {
        (TxnState::Ongoing, _) => {
            if fencing {
                if commit {
                    return Err(TxnError::ConcurrentTransactions);
                }
                adopt_fence(m, epoch);
            }
            let next = if commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort };
            Ok(Some(m.prepare_abort_or_commit(next, TV_0, NO_PRODUCER_ID, now_ms(), false)?))
        }
        (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(None),
        (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => Err(TxnError::ConcurrentTransactions),
        (TxnState::Dead | TxnState::PrepareEpochFence, _) => Err(illegal_end(m)),
        _ => Err(TxnError::InvalidTxnState),
    }
}

/// The transition of an EndTxn v5+ (Kafka's endTransaction for transaction version 2): the
/// epoch is bumped at every end, so a retry carries the epoch before the bump (or, after the
/// epoch ran out, the previous producer id at `i16::MAX - 1`). As Kafka's table:
///
/// | state          | abort retry | abort current | commit retry | commit current |
/// |----------------|-------------|---------------|--------------|----------------|
/// | Empty          | fenced      | bump          | fenced       | INVALID_TXN_STATE |
/// | CompleteAbort  | NONE        | bump          | INVALID_TXN_STATE | INVALID_TXN_STATE |
/// | CompleteCommit | INVALID_TXN_STATE | bump    | NONE         | INVALID_TXN_STATE |
///
/// None for a retry of the end already completed.
fn prepare_end_v2(
    broker: &Broker,
    m: &mut super::metadata::TransactionMetadata,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    from_client: bool,
) -> Result<Option<Transit>, TxnError> {
    let fencing = m.pending == Some(TxnState::PrepareEpochFence);
    let retry_on_overflow =
        !fencing && m.previous_producer_id == producer_id && epoch == i16::MAX - 1 && m.producer_epoch == 0;
    let retry_on_bump = !fencing && i32::from(m.producer_epoch) == i32::from(epoch) + 1;
    let valid_epoch = if fencing {
        (!from_client || epoch == m.producer_epoch) && epoch >= m.producer_epoch
    } else {
        match m.state {
            TxnState::Ongoing | TxnState::Empty | TxnState::Dead | TxnState::PrepareEpochFence => {
                epoch == m.producer_epoch
            }
            TxnState::PrepareCommit | TxnState::PrepareAbort => retry_on_bump,
            TxnState::CompleteCommit | TxnState::CompleteAbort => {
                retry_on_bump || retry_on_overflow || epoch == m.producer_epoch
            }
        }
    };
    let retry = retry_on_bump || retry_on_overflow;
    if m.producer_id != producer_id && !retry_on_overflow {
        return Err(TxnError::InvalidProducerIdMapping);
    }
    if !valid_epoch {
        return Err(TxnError::ProducerFenced);
    }
    if m.pending.is_some() && !fencing {
        return Err(TxnError::ConcurrentTransactions);
    }
    let end = |m: &mut super::metadata::TransactionMetadata, next: TxnState, no_partition_added: bool| {
        // The epoch about to be bumped past the last one handed out: the client continues
        // as a new producer id (Kafka's nextProducerId).
        let next_pid = if !fencing && m.is_epoch_exhausted() { broker.txns.new_producer_id()? } else { NO_PRODUCER_ID };
        if fencing {
            if next != TxnState::PrepareAbort {
                return Err(TxnError::ConcurrentTransactions);
            }
            adopt_fence(m, epoch);
        }
        Ok(Some(m.prepare_abort_or_commit(next, TV_2, next_pid, now_ms(), no_partition_added)?))
    };
    match (m.state, commit) {
        (TxnState::Ongoing, true) => end(m, TxnState::PrepareCommit, false),
        (TxnState::Ongoing, false) => end(m, TxnState::PrepareAbort, false),
        (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) if retry => Ok(None),
        (TxnState::CompleteCommit | TxnState::CompleteAbort | TxnState::Empty, false) if !retry => {
            end(m, TxnState::PrepareAbort, true)
        }
        (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => Err(TxnError::ConcurrentTransactions),
        (TxnState::Dead | TxnState::PrepareEpochFence, _) => Err(illegal_end(m)),
        _ => Err(TxnError::InvalidTxnState),
    }
}

/// The fence's epoch becomes the transaction's: its markers fence the old producer's writes.
fn adopt_fence(m: &mut super::metadata::TransactionMetadata, epoch: i16) {
    m.pending = None;
    m.producer_epoch = epoch;
    m.last_producer_epoch = NO_PRODUCER_EPOCH;
}

fn illegal_end(m: &super::metadata::TransactionMetadata) -> TxnError {
    super::metadata::IllegalTransition {
        id: m.transactional_id.clone(),
        what: format!("EndTxn found state {:?}", m.state),
    }
    .into()
}
