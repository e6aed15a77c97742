//! Completing a prepared transaction: a commit or abort marker (a control batch) appended to
//! each of its partitions as a coordinator's write and made durable (as acks=all), the
//! group coordinator told to commit or drop the transaction's offsets, then CompleteCommit
//! or CompleteAbort stored. A failure leaves the transaction prepared, and the coordinator's
//! tick tries again (Kafka resends its markers until they are written); a partition whose
//! topic was deleted gets none, as in Kafka.

use std::sync::Arc;

use super::coordinator::TxnRef;
use super::error::TxnError;
use super::metadata::{TopicPartition, TxnState};
use crate::broker::Broker;
use crate::group::OFFSETS_TOPIC;
use crate::replica::{AppendOrigin, PartitionError, ProduceEntry, ProduceError};
use crate::util::now_ms;

/// Completes `id`'s transaction if it is prepared and nothing else is being written for it.
pub async fn complete(broker: &Arc<Broker>, id: &str, txn: &TxnRef) {
    if let Err(e) = try_complete(broker, id, txn).await {
        tracing::warn!(transactional_id = %id, "transaction markers not written yet (retried): {e}");
    }
}

async fn try_complete(broker: &Arc<Broker>, id: &str, txn: &TxnRef) -> Result<(), TxnError> {
    let (transit, producer_id, epoch, commit, partitions) = {
        let mut m = txn.lock();
        if m.pending.is_some() || !matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
            return Ok(());
        }
        let commit = m.state == TxnState::PrepareCommit;
        let partitions: Vec<TopicPartition> = m.partitions.iter().cloned().collect();
        let transit = m.prepare_complete(now_ms())?;
        (transit, m.producer_id, m.producer_epoch, commit, partitions)
    };
    if let Err(e) = write_markers(broker, id, producer_id, epoch, commit, &partitions).await {
        txn.lock().abandon();
        return Err(e);
    }
    broker.txns.store_and_complete(id, txn, &transit).await?;
    tracing::debug!(transactional_id = %id, commit, partitions = partitions.len(), "transaction completed");
    Ok(())
}

/// Appends the marker of `producer_id`'s transaction to each partition (a coordinator's
/// write), returning each partition's outcome (in order) once the appended ones are durable.
/// A marker reaching `__consumer_offsets` settles the producer's pending offsets there.
pub async fn append_markers(
    broker: &Arc<Broker>,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    partitions: &[TopicPartition],
) -> Vec<Result<(), TxnError>> {
    let now = now_ms();
    let entries = partitions.iter().map(|(topic, partition)| ProduceEntry {
        topic,
        partition: *partition,
        records: Some(crate::log::batch::control_batch(producer_id, epoch, commit, coordinator_epoch, now)),
    });
    let outcome = broker.replicas.append_records(-1, AppendOrigin::Coordinator, entries);
    let mut results: Vec<Result<(), TxnError>> =
        outcome.results.into_iter().map(|r| r.map(|_| ()).map_err(|e| TxnError::WriteRejected(Arc::new(e)))).collect();
    if let Some(durable) = outcome.durable {
        for (r, stored) in results.iter_mut().zip(durable.await) {
            if let (Ok(()), Err(e)) = (&r, stored) {
                *r = Err(TxnError::NotStored(e));
            }
        }
    }
    for (r, (topic, partition)) in results.iter().zip(partitions) {
        if r.is_ok() && topic == OFFSETS_TOPIC {
            broker.groups.complete_transaction(*partition, producer_id, commit);
        }
    }
    results
}

/// The coordinator's markers for a completed transaction; a partition whose topic is gone
/// gets none (as in Kafka).
async fn write_markers(
    broker: &Arc<Broker>,
    id: &str,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    partitions: &[TopicPartition],
) -> Result<(), TxnError> {
    let coordinator_epoch = broker.txns.coordinator_epoch(id);
    let results = append_markers(broker, producer_id, epoch, commit, coordinator_epoch, partitions).await;
    for (result, (topic, partition)) in results.into_iter().zip(partitions) {
        match result {
            Err(TxnError::WriteRejected(e))
                if matches!(*e, ProduceError::Partition(PartitionError::UnknownTopicOrPartition)) =>
            {
                tracing::debug!(%topic, partition, "no marker for a partition that is gone");
            }
            other => other?,
        }
    }
    Ok(())
}
