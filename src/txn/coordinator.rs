//! The transaction coordinator's store: every transactional id's metadata in memory, each
//! change written to `__transaction_state` (created on first use, compacted, Kafka's
//! record format) before it takes effect, and the topic replayed after a start, in the
//! background (an id in a partition still loading is answered COORDINATOR_LOAD_IN_PROGRESS,
//! and the periodic duties leave it alone until it is loaded). The request
//! flows (`txn::ops`) and the markers (`txn::markers`) build on it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::Mutex;

use super::codec;
use super::error::TxnError;
use super::metadata::{TransactionMetadata, Transit, TxnState};
use crate::cluster::PartitionLoads;
use crate::log::{AppendError, LogManager, Partition};
use crate::producer::ids::ProducerIdAllocator;
use crate::replica::{ProduceError, ReplicaManager};
use crate::topic::{Topic, TopicRegistry};
use crate::util::now_ms;

/// Kafka's internal transaction state topic.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// The coordinator's settings (Kafka's `transaction.*` names).
#[derive(Debug, Clone)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`.
    pub max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`.
    pub id_expiration_ms: i32,
    /// `transaction.state.log.num.partitions`.
    pub state_partitions: i32,
    /// `transaction.state.log.segment.bytes`: the state topic's segment size at creation.
    pub state_segment_bytes: i32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`.
    pub abort_check_interval: Duration,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`.
    pub expiration_check_interval: Duration,
}

/// One transactional id's metadata, locked while a request reads or prepares a change.
pub type TxnRef = Arc<Mutex<TransactionMetadata>>;

pub struct TransactionCoordinator {
    txns: DashMap<String, TxnRef>,
    topics: Arc<TopicRegistry>,
    logs: Arc<LogManager>,
    replicas: Arc<ReplicaManager>,
    producer_ids: Arc<ProducerIdAllocator>,
    /// Created on first use, as Kafka does.
    state_topic: Mutex<Option<Arc<Topic>>>,
    /// The `__transaction_state` partitions not yet replayed ([`TransactionCoordinator::load`]).
    loads: PartitionLoads,
    pub config: TxnConfig,
}

impl TransactionCoordinator {
    /// A coordinator with every existing `__transaction_state` partition still to replay
    /// ([`TransactionCoordinator::load`], run in the background by the broker).
    pub fn open(
        topics: Arc<TopicRegistry>,
        logs: Arc<LogManager>,
        replicas: Arc<ReplicaManager>,
        producer_ids: Arc<ProducerIdAllocator>,
        config: TxnConfig,
    ) -> Self {
        let existing = topics.get(TRANSACTION_STATE_TOPIC);
        let loads = PartitionLoads::pending(existing.as_ref().map_or(0, |t| t.partition_count().max(0) as usize));
        let state_topic = Mutex::new(existing);
        Self { txns: DashMap::new(), topics, logs, replicas, producer_ids, state_topic, loads, config }
    }

    /// Replays the `__transaction_state` partitions still loading, one after another; each
    /// partition's ids are served once it is done. Blocking. A partition that cannot be read
    /// stays loading for a later call to retry (a replay from the start ends in the same
    /// state). True once every partition is loaded.
    pub fn load(&self) -> bool {
        if !self.loads.any_loading() {
            return true;
        }
        let mut records = 0usize;
        for part in self.logs.partitions(TRANSACTION_STATE_TOPIC) {
            if !self.loads.is_loading(part.index) {
                continue;
            }
            match self.load_partition(&part) {
                Ok(n) => {
                    records += n;
                    self.loads.done(part.index);
                }
                Err(e) => {
                    tracing::error!(
                        partition = part.index,
                        "cannot replay {TRANSACTION_STATE_TOPIC} (retried later): {e}"
                    )
                }
            }
        }
        let done = !self.loads.any_loading();
        tracing::info!(
            transactional_ids = self.txns.len(),
            records,
            done,
            "loaded transactions from {TRANSACTION_STATE_TOPIC}"
        );
        done
    }

    /// Whether some `__transaction_state` partition is still being replayed.
    pub fn loading(&self) -> bool {
        self.loads.any_loading()
    }

    /// COORDINATOR_LOAD_IN_PROGRESS while the partition that owns the id is being replayed.
    fn check_loaded(&self, transactional_id: &str) -> Result<(), TxnError> {
        if !self.loads.any_loading() {
            return Ok(());
        }
        match self.partition_index(transactional_id) {
            Ok(idx) if self.loads.is_loading(idx) => Err(TxnError::CoordinatorLoadInProgress),
            _ => Ok(()),
        }
    }

    /// Replays one partition: the number of records read.
    fn load_partition(&self, part: &Partition) -> Result<usize, crate::error::StorageError> {
        let mut records = 0usize;
        {
            part.for_each_batch(0, |batch| {
                // Brook writes this topic uncompressed and clients cannot produce to it: a
                // compressed batch here is damage, and is not inflated whatever it claims.
                if crate::log::batch::BatchHeader::parse(&batch).map_or(true, |h| h.compression() != 0) {
                    tracing::warn!("skipping a compressed or unreadable batch in {TRANSACTION_STATE_TOPIC}");
                    return;
                }
                let Ok(set) = kafka_protocol::records::RecordBatchDecoder::decode(&mut batch.clone()) else {
                    tracing::warn!("skipping an undecodable batch in {TRANSACTION_STATE_TOPIC}");
                    return;
                };
                for r in set.records {
                    records += 1;
                    let Some(id) = r.key.and_then(codec::decode_key) else { continue };
                    match r.value.map(codec::decode_value) {
                        Some(Some(t)) => {
                            self.txns
                                .insert(id.clone(), Arc::new(Mutex::new(TransactionMetadata::from_transit(&id, &t))));
                        }
                        Some(None) => {
                            tracing::warn!(transactional_id = %id, "skipping an unreadable transaction state")
                        }
                        None => {
                            self.txns.remove(&id);
                        }
                    }
                }
            })?;
        }
        Ok(records)
    }

    /// The internal state topic, created on first use.
    pub fn state_topic(&self) -> Result<Arc<Topic>, TxnError> {
        let mut slot = self.state_topic.lock();
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let cfg = vec![
            ("cleanup.policy".to_string(), Some("compact".to_string())),
            ("segment.bytes".to_string(), Some(self.config.state_segment_bytes.to_string())),
        ];
        let t = match self.topics.create(TRANSACTION_STATE_TOPIC, self.config.state_partitions, 1, &cfg, false) {
            Ok(t) => t,
            Err(e) => match self.topics.get(TRANSACTION_STATE_TOPIC) {
                Some(t) => t,
                None => {
                    tracing::error!("cannot create {TRANSACTION_STATE_TOPIC}: {e}");
                    return Err(TxnError::CoordinatorNotAvailable(e.to_string()));
                }
            },
        };
        *slot = Some(t.clone());
        Ok(t)
    }

    fn partition_index(&self, transactional_id: &str) -> Result<i32, TxnError> {
        let topic = self.state_topic()?;
        Ok(crate::cluster::coordinator_partition(transactional_id, topic.partition_count()))
    }

    /// The coordinator epoch markers carry: the leader epoch of the id's state partition.
    pub fn coordinator_epoch(&self, transactional_id: &str) -> i32 {
        self.partition_index(transactional_id)
            .ok()
            .and_then(|idx| self.replicas.local(TRANSACTION_STATE_TOPIC, idx).ok())
            .map_or(0, |p| p.leader_epoch())
    }

    /// The id's metadata, if any; COORDINATOR_LOAD_IN_PROGRESS while its partition loads.
    pub fn get(&self, transactional_id: &str) -> Result<Option<TxnRef>, TxnError> {
        self.check_loaded(transactional_id)?;
        Ok(self.txns.get(transactional_id).map(|t| t.clone()))
    }

    /// The id's metadata, created with a fresh producer id (no epoch yet) if it has none.
    pub fn get_or_create(&self, transactional_id: &str, timeout_ms: i32) -> Result<TxnRef, TxnError> {
        if let Some(t) = self.get(transactional_id)? {
            return Ok(t);
        }
        self.state_topic()?;
        let producer_id = self.new_producer_id()?;
        let created = TransactionMetadata::new(transactional_id, producer_id, timeout_ms, now_ms());
        Ok(self.txns.entry(transactional_id.to_string()).or_insert_with(|| Arc::new(Mutex::new(created))).clone())
    }

    pub fn new_producer_id(&self) -> Result<i64, TxnError> {
        self.producer_ids.next().map_err(|e| {
            tracing::error!("cannot persist the producer id block: {e}");
            TxnError::CoordinatorNotAvailable(e.to_string())
        })
    }

    /// Every transactional id of the loaded partitions, sorted.
    pub fn list(&self) -> Vec<(String, TxnRef)> {
        let mut v: Vec<(String, TxnRef)> = self
            .txns
            .iter()
            .filter(|e| self.check_loaded(e.key()).is_ok())
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Forgets an expired id (its tombstone is written).
    pub fn remove(&self, transactional_id: &str) {
        self.txns.remove(transactional_id);
    }

    /// Writes the transit (None: a tombstone) of `transactional_id` and waits until it is
    /// durable.
    pub fn store(
        self: &Arc<Self>,
        transactional_id: &str,
        transit: Option<&Transit>,
    ) -> impl std::future::Future<Output = Result<(), TxnError>> + Send + 'static {
        let written = self.write(transactional_id, transit);
        let replicas = self.replicas.clone();
        async move {
            let part = written?;
            replicas.wait_durable(vec![part]).await.map_err(|e| {
                tracing::error!("transaction state not durable: {e}");
                TxnError::NotStored(e)
            })
        }
    }

    /// Stores `transit` for `transactional_id`, then completes it in `txn` (or abandons it
    /// if the write failed).
    pub async fn store_and_complete(
        self: &Arc<Self>,
        transactional_id: &str,
        txn: &TxnRef,
        transit: &Transit,
    ) -> Result<(), TxnError> {
        match self.store(transactional_id, Some(transit)).await {
            Ok(()) => Ok(txn.lock().complete(transit)?),
            Err(e) => {
                txn.lock().abandon();
                Err(e)
            }
        }
    }

    fn write(&self, transactional_id: &str, transit: Option<&Transit>) -> Result<Arc<Partition>, TxnError> {
        let idx = self.partition_index(transactional_id)?;
        let value: Option<Bytes> = transit.map(codec::value);
        self.replicas
            .append_coordinator_records(TRANSACTION_STATE_TOPIC, idx, vec![(codec::key(transactional_id), value)], None)
            .map_err(|e| match e {
                ProduceError::Append(AppendError::Storage(s)) => TxnError::NotStored(s),
                ProduceError::Partition(_) => {
                    TxnError::CoordinatorNotAvailable(format!("{TRANSACTION_STATE_TOPIC}-{idx} is missing"))
                }
                other => TxnError::WriteRejected(Arc::new(other)),
            })
    }

    /// Ids whose transactions must be completed (state PrepareCommit or PrepareAbort, no
    /// change being written): after a restart, or after a marker write failed.
    pub fn to_complete(&self) -> Vec<(String, TxnRef)> {
        self.list()
            .into_iter()
            .filter(|(_, t)| {
                let m = t.lock();
                m.pending.is_none() && matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort)
            })
            .collect()
    }
}
