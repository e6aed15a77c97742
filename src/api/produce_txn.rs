//! The transaction checks of a produce with a transactional id (KIP-890). Each transactional
//! batch is verified with the transaction coordinator first, as Kafka 3.6+ does: its
//! partition must be in its producer's ongoing transaction, or the partition is refused
//! (INVALID_TXN_STATE; TRANSACTION_ABORTABLE from v11), so a late write of a producer whose
//! transaction was aborted cannot join the next one. From v12 (transaction version 2, KIP-890
//! part 2) the produce adds its partitions to the transaction itself first, as Kafka's
//! `addPartition` operation does for a Kafka 4.x producer (which sends no AddPartitionsToTxn).

use std::sync::Arc;

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::ProduceRequest;

use super::produce::TopicNames;
use crate::broker::Broker;
use crate::error::ErrorCode;
use crate::txn::metadata::TopicPartition;
use crate::txn::TxnError;

/// The first version that knows TRANSACTION_ABORTABLE (KIP-890).
const ABORTABLE_SINCE: i16 = 11;
/// The first version of transaction version 2 producers: partitions join implicitly.
const IMPLICIT_ADD_SINCE: i16 = 12;

/// The transactional batches of a request: (topic, partition, producer id, epoch).
fn transactional_batches<'a>(
    req: &'a ProduceRequest,
    names: &'a TopicNames,
) -> impl Iterator<Item = (&'a str, i32, i64, i16)> + 'a {
    req.topic_data.iter().enumerate().flat_map(move |(i, td)| {
        let topic = names.name(i, &td.name);
        td.partition_data.iter().filter_map(move |pd| {
            let header = pd.records.as_deref().and_then(|r| crate::log::batch::BatchHeader::parse(r).ok())?;
            header.is_transactional().then_some((topic?, pd.index, header.producer_id, header.producer_epoch))
        })
    })
}

/// The partitions a v12+ produce must add to its transaction first: those of its
/// producer's transactional batches that the coordinator does not have in the ongoing
/// transaction. None when there is nothing to add (or the producer does not check out: the
/// verification that follows answers that). acks=0 produces never add (no answer to wait on).
pub(super) fn implicit_adds(
    broker: &Broker,
    version: i16,
    transactional_id: &str,
    req: &ProduceRequest,
    names: &TopicNames,
) -> Option<(i64, i16, Vec<TopicPartition>)> {
    if version < IMPLICIT_ADD_SINCE || req.acks == 0 {
        return None;
    }
    let mut batches = transactional_batches(req, names).peekable();
    let &(_, _, producer_id, epoch) = batches.peek()?;
    let partitions: Vec<TopicPartition> =
        batches.filter(|b| (b.2, b.3) == (producer_id, epoch)).map(|(t, p, _, _)| (t.to_string(), p)).collect();
    let verdicts =
        crate::txn::ops::verify_partitions(broker, transactional_id, producer_id, epoch, &partitions).ok()?;
    let missing: Vec<TopicPartition> = partitions
        .into_iter()
        .zip(verdicts)
        .filter(|(_, v)| matches!(v, Err(TxnError::TransactionAbortable)))
        .map(|(p, _)| p)
        .collect();
    (!missing.is_empty()).then_some((producer_id, epoch, missing))
}

/// Adds `missing` (from [`implicit_adds`]) to the transaction, as a transaction version 2
/// client's add. A failure is left to the verification that follows.
pub(super) async fn add(broker: &Arc<Broker>, transactional_id: &str, missing: (i64, i16, Vec<TopicPartition>)) {
    let (producer_id, epoch, partitions) = missing;
    let added = crate::txn::ops::add_partitions(
        broker.clone(),
        transactional_id.to_string(),
        producer_id,
        epoch,
        partitions,
        crate::txn::ops::TV_2,
    )
    .await;
    if let Err(e) = added {
        tracing::debug!(transactional_id, "produce could not add its partitions to the transaction: {e}");
    }
}

/// The partitions whose transactional batch the coordinator does not verify: (topic,
/// partition, code, message), with Kafka's translation of the coordinator's errors.
pub(super) fn verify(
    broker: &Broker,
    version: i16,
    transactional_id: &str,
    req: &ProduceRequest,
    names: &TopicNames,
) -> Vec<(String, i32, i16, String)> {
    let mut refused = Vec::new();
    for (topic, partition, producer_id, epoch) in transactional_batches(req, names) {
        let verdict = crate::txn::ops::verify_partitions(
            broker,
            transactional_id,
            producer_id,
            epoch,
            &[(topic.to_string(), partition)],
        )
        .and_then(|mut each| each.pop().unwrap_or(Ok(())));
        let Err(e) = verdict else { continue };
        let (code, message) = match e {
            TxnError::TransactionAbortable if version >= ABORTABLE_SINCE => {
                (E::TransactionAbortable.code(), "Partition was not added to the transaction".to_string())
            }
            TxnError::TransactionAbortable | TxnError::InvalidTxnState => {
                (E::InvalidTxnState.code(), "Partition was not added to the transaction".to_string())
            }
            TxnError::ProducerFenced => (E::InvalidProducerEpoch.code(), e.to_string()),
            // Retriable for the coordinator; older clients retry NOT_ENOUGH_REPLICAS
            // without a metadata refresh (Kafka's translation).
            TxnError::ConcurrentTransactions
            | TxnError::CoordinatorNotAvailable(_)
            | TxnError::CoordinatorLoadInProgress
            | TxnError::NotStored(_) => (
                E::NotEnoughReplicas.code(),
                format!("Unable to verify the partition has been added to the transaction. Underlying error: {e}"),
            ),
            other => (other.code(), other.to_string()),
        };
        refused.push((topic.to_string(), partition, code, message));
    }
    refused
}
