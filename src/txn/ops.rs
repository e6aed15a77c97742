//! The coordinator's request flows, as Kafka's TransactionCoordinator runs them (with
//! transaction version 1: the client's epoch stays for the life of the producer):
//! InitProducerId (epoch bump, KIP-360 recovery, fencing an ongoing transaction, producer id
//! rotation), AddPartitionsToTxn (and its verification, KIP-890), AddOffsetsToTxn, EndTxn.
//! Each prepares a change under the id's lock, stores it, then completes it.

use std::sync::Arc;

use super::coordinator::TxnRef;
use super::error::TxnError;
use super::markers;
use super::metadata::{is_epoch_exhausted, TopicPartition, Transit, TxnState, NO_PRODUCER_EPOCH};
use crate::broker::Broker;
use crate::util::now_ms;

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
            end_transaction(broker, id, t.producer_id, t.producer_epoch, false, false).await?;
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

/// AddPartitionsToTxn (and AddOffsetsToTxn, with the group's offsets partition): the
/// partitions join the transaction, which starts if none was ongoing.
pub async fn add_partitions(
    broker: Arc<Broker>,
    id: String,
    producer_id: i64,
    epoch: i16,
    partitions: Vec<TopicPartition>,
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
        m.prepare_add_partitions(partitions, now_ms())?
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
/// the markers are then written (see `txn::markers`).
pub async fn end_transaction(
    broker: Arc<Broker>,
    id: String,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    from_client: bool,
) -> Result<(), TxnError> {
    if id.is_empty() {
        return Err(TxnError::InvalidRequest("empty transactional id"));
    }
    let txn = broker.txns.get(&id)?.ok_or(TxnError::InvalidProducerIdMapping)?;
    let transit = {
        let mut m = txn.lock();
        if m.producer_id != producer_id {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        // Transaction version 1: a client's epoch must be the current one; the coordinator's
        // own abort may carry the bumped epoch of a fence.
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
                    // The fence's epoch becomes the transaction's: its markers fence the
                    // old producer's writes.
                    m.pending = None;
                    m.producer_epoch = epoch;
                    m.last_producer_epoch = NO_PRODUCER_EPOCH;
                }
                let next = if commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort };
                m.prepare_abort_or_commit(next, now_ms())?
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => return Ok(()), // a retry
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                return Err(TxnError::ConcurrentTransactions)
            }
            (TxnState::Dead | TxnState::PrepareEpochFence, _) => {
                return Err(super::metadata::IllegalTransition {
                    id: id.clone(),
                    what: format!("EndTxn found state {:?}", m.state),
                }
                .into())
            }
            _ => return Err(TxnError::InvalidTxnState),
        }
    };
    broker.txns.store_and_complete(&id, &txn, &transit).await?;
    tracing::debug!(transactional_id = %id, commit, "transaction prepared; writing markers");
    markers::complete(&broker, &id, &txn).await;
    Ok(())
}
