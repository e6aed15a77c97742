//! Appending produced batches (Kafka's `ReplicaManager.appendRecords`): find each partition,
//! refuse clients' writes to internal topics, append as leader (the log validates), then
//! hand back a waiter for the durability the required acks ask for.

use std::sync::Arc;

use bytes::Bytes;

use super::{DurabilityWaiter, PartitionError, ReplicaManager};
use crate::error::ErrorCode;
use crate::log::batch::BatchHeader;
/// Who appends: a client (Produce) may not write internal topics nor transaction markers; a
/// coordinator may (see [`crate::log::AppendOrigin`]).
pub use crate::log::AppendOrigin;
use crate::log::{AppendError, AppendResult, Partition};

/// One partition's data in a produce request.
pub struct ProduceEntry<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub records: Option<Bytes>,
}

/// Why one partition's batch was not appended.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error(transparent)]
    Partition(#[from] PartitionError),
    #[error("Cannot append to internal topic {0}")]
    InternalTopic(String),
    #[error(transparent)]
    Append(#[from] AppendError),
}

impl ErrorCode for ProduceError {
    fn code(&self) -> i16 {
        match self {
            ProduceError::Partition(e) => e.code(),
            ProduceError::InternalTopic(_) => kafka_protocol::error::ResponseError::InvalidTopicException.code(),
            ProduceError::Append(e) => e.code(),
        }
    }
}

/// What [`ReplicaManager::append_records`] did.
pub struct ProduceOutcome {
    /// One result per entry, in order.
    pub results: Vec<Result<AppendResult, ProduceError>>,
    /// When the acks require durability: resolves with one outcome per entry once the
    /// appended ones are durable (entries that failed to append resolve `Ok`).
    pub durable: Option<DurabilityWaiter>,
}

impl ReplicaManager {
    /// Appends each entry's batch to its partition, in order, and arranges the durability
    /// `acks` asks for (`-1`: wait for it, see [`ProduceOutcome::durable`]; `0`/`1`: a
    /// background round makes it durable later, and in `sync` mode before it is visible).
    /// With [`AppendOrigin::Coordinator`] an entry may be a transaction marker
    /// ([`crate::log::batch::control_batch`]), written verbatim with a broker-assigned offset
    /// (the transaction coordinator appends with `acks = -1` and waits for durability).
    pub fn append_records<'a>(
        self: &Arc<Self>,
        acks: i16,
        origin: AppendOrigin,
        entries: impl IntoIterator<Item = ProduceEntry<'a>>,
    ) -> ProduceOutcome {
        let mut results = Vec::new();
        let mut appended: Vec<(usize, Arc<Partition>)> = Vec::new();
        let mut appended_bytes = 0u64;
        for (i, e) in entries.into_iter().enumerate() {
            let len = e.records.as_ref().map_or(0, |r| r.len() as u64);
            // The batch's record count (v2 header bytes 57..61; the log validated it).
            let count = e
                .records
                .as_ref()
                .and_then(|r| r.get(57..61))
                .map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64);
            let result = self.append_entry(origin, e).map(|(part, r)| {
                if origin == AppendOrigin::Client && !r.duplicate {
                    part.traffic.bytes_in.fetch_add(len, std::sync::atomic::Ordering::Relaxed);
                    part.traffic.records_in.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
                }
                // A duplicate's original may still await its fsync: wait for it too.
                appended.push((i, part));
                appended_bytes += len;
                r
            });
            results.push(result);
        }
        let durability = self.config.durability;
        let parts: Vec<Arc<Partition>> = appended.iter().map(|(_, p)| p.clone()).collect();
        if !durability.fsync_before_ack(acks) {
            self.note_unflushed(appended_bytes);
            if durability.fsync_before_visible() && !parts.is_empty() {
                // Nobody waits for the fsync, but it must still happen for the high watermark
                // (and so consumers) to move past this data.
                tokio::spawn(self.wait_durable(parts));
            }
            return ProduceOutcome { results, durable: None };
        }
        if acks == 0 || parts.is_empty() {
            return ProduceOutcome { results, durable: None };
        }
        // Joins the fsync round now, in request order, rather than when a task first runs.
        let each = self.wait_durable_each(parts);
        let n = results.len();
        let durable: DurabilityWaiter = Box::pin(async move {
            let mut out = vec![Ok(()); n];
            for ((i, _), outcome) in appended.iter().zip(each.await) {
                out[*i] = outcome;
            }
            out
        });
        ProduceOutcome { results, durable: Some(durable) }
    }

    /// Appends a batch the broker built itself (Kafka's `appendRecords` with origin
    /// COORDINATOR: the group coordinator's records in `__consumer_offsets`). Internal topics
    /// are allowed and the batch is not validated (it is well-formed by construction); the
    /// caller waits for durability ([`ReplicaManager::wait_durable`]) with the partition this
    /// returns.
    pub fn append_coordinator(
        &self,
        topic: &str,
        partition: i32,
        header: BatchHeader,
        bytes: Bytes,
    ) -> Result<(Arc<Partition>, AppendResult), ProduceError> {
        let part = self.local(topic, partition)?;
        let r = part.append_from(header, bytes, AppendOrigin::Coordinator)?;
        Ok((part, r))
    }

    fn append_entry(
        &self,
        origin: AppendOrigin,
        e: ProduceEntry<'_>,
    ) -> Result<(Arc<Partition>, AppendResult), ProduceError> {
        let (part, internal) =
            self.logs.get_with_kind(e.topic, e.partition).ok_or(PartitionError::UnknownTopicOrPartition)?;
        if internal && origin == AppendOrigin::Client {
            // Kafka: clients cannot append to internal topics (the broker writes them).
            return Err(ProduceError::InternalTopic(e.topic.to_string()));
        }
        let r = part.append_as_leader(e.records, origin)?;
        Ok((part, r))
    }
}
