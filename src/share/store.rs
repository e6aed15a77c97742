//! The share coordinator's durable state (Kafka's ShareCoordinator, KIP-932): each share
//! partition's start offset and the delivery state of its in-flight records, kept in the
//! internal topic `__share_group_state` in Kafka's record format, and replayed at start.
//!
//! Kafka writes a ShareUpdate per write and a full ShareSnapshot every 500 updates, on a topic
//! pruned by DeleteRecords. Brook is in-process with the share partitions and their in-flight
//! window is bounded, so every write is a full ShareSnapshot (a few runs of offsets): the
//! latest record per key is the whole state, the topic is compacted like
//! `__consumer_offsets`, and a tombstone deletes a key. ShareUpdate records (another broker's
//! format) are still merged when replayed.

use std::collections::BTreeMap;
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::Mutex;
use uuid::Uuid;

use super::records::{decode_state_key, ShareSnapshotValue, ShareUpdateValue, StateBatch, StateKey, StateKind};
use crate::group::GroupError;
use crate::log::{LogManager, Partition};
use crate::replica::ReplicaManager;
use crate::topic::{Topic, TopicRegistry};

/// Kafka's internal share-group state topic.
pub const STATE_TOPIC: &str = "__share_group_state";

/// A stored share partition state, with the write count it was stored at.
#[derive(Debug, Clone)]
pub struct Stored {
    pub value: ShareSnapshotValue,
}

pub struct ShareStateStore {
    topics: Arc<TopicRegistry>,
    logs: Arc<LogManager>,
    replicas: Arc<ReplicaManager>,
    /// Created on first use, so a broker without share groups has no such topic.
    topic: Mutex<Option<Arc<Topic>>>,
    partitions: i32,
    states: DashMap<(String, Uuid, i32), Stored>,
    loaded: std::sync::atomic::AtomicBool,
}

impl ShareStateStore {
    pub fn open(
        topics: Arc<TopicRegistry>,
        logs: Arc<LogManager>,
        replicas: Arc<ReplicaManager>,
        partitions: i32,
    ) -> Self {
        let existing = topics.get(STATE_TOPIC);
        let loaded = existing.is_none();
        Self {
            topics,
            logs,
            replicas,
            topic: Mutex::new(existing),
            partitions,
            states: DashMap::new(),
            loaded: std::sync::atomic::AtomicBool::new(loaded),
        }
    }

    /// Whether the stored states have been replayed (share partitions wait until then).
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Replays `__share_group_state` (blocking: reads the log). True once done.
    pub fn load(&self) -> bool {
        if self.is_loaded() {
            return true;
        }
        let started = std::time::Instant::now();
        let mut records = 0usize;
        for part in self.logs.partitions(STATE_TOPIC) {
            let replayed = part.for_each_batch(0, |batch| {
                if crate::log::batch::BatchHeader::parse(&batch).map_or(true, |h| h.compression() != 0) {
                    tracing::warn!("skipping a compressed or unreadable batch in {STATE_TOPIC}");
                    return;
                }
                let Ok(set) = kafka_protocol::records::RecordBatchDecoder::decode(&mut batch.clone()) else {
                    tracing::warn!("skipping an undecodable batch in {STATE_TOPIC}");
                    return;
                };
                for r in set.records {
                    let Some((kind, key)) = r.key.and_then(decode_state_key) else { continue };
                    records += 1;
                    self.replay(kind, key, r.value);
                }
            });
            if let Err(e) = replayed {
                tracing::error!(partition = part.index, "cannot replay {STATE_TOPIC} (retried later): {e}");
                self.states.clear();
                return false;
            }
        }
        tracing::info!(
            states = self.states.len(),
            records,
            ms = started.elapsed().as_millis() as u64,
            "loaded share group state from {STATE_TOPIC}"
        );
        self.loaded.store(true, std::sync::atomic::Ordering::Release);
        true
    }

    fn replay(&self, kind: StateKind, key: StateKey, value: Option<bytes::Bytes>) {
        let k = (key.group, key.topic_id, key.partition);
        match (kind, value) {
            (StateKind::Snapshot, None) => {
                self.states.remove(&k);
            }
            (StateKind::Snapshot, Some(v)) => {
                if let Some(value) = ShareSnapshotValue::decode(v) {
                    self.states.insert(k, Stored { value });
                }
            }
            (StateKind::Update, Some(v)) => {
                let (Some(u), Some(mut s)) = (ShareUpdateValue::decode(v), self.states.get_mut(&k)) else { return };
                merge_update(&mut s.value, u);
            }
            (StateKind::Update, None) => {}
        }
    }

    /// The stored state of a share partition.
    pub fn get(&self, group: &str, topic_id: Uuid, partition: i32) -> Option<ShareSnapshotValue> {
        self.states.get(&(group.to_string(), topic_id, partition)).map(|s| s.value.clone())
    }

    /// Every stored share partition of `group`, by topic id.
    pub fn partitions_of(&self, group: &str) -> BTreeMap<Uuid, Vec<(i32, ShareSnapshotValue)>> {
        let mut out: BTreeMap<Uuid, Vec<(i32, ShareSnapshotValue)>> = BTreeMap::new();
        for e in self.states.iter().filter(|e| e.key().0 == group) {
            out.entry(e.key().1).or_default().push((e.key().2, e.value().value.clone()));
        }
        for v in out.values_mut() {
            v.sort_by_key(|(p, _)| *p);
        }
        out
    }

    /// Stores a share partition's full state: the partition to wait on for durability.
    pub fn write(
        &self,
        group: &str,
        topic_id: Uuid,
        partition: i32,
        value: ShareSnapshotValue,
    ) -> Result<Arc<Partition>, GroupError> {
        let key = StateKey { group: group.to_string(), topic_id, partition };
        let record = (key.encode(StateKind::Snapshot), Some(value.encode()));
        let part = self.append(&key, vec![record])?;
        self.states.insert((key.group, topic_id, partition), Stored { value });
        Ok(part)
    }

    /// Deletes a share partition's state (a tombstone): the partition to wait on, if there
    /// was a state.
    pub fn delete(&self, group: &str, topic_id: Uuid, partition: i32) -> Result<Option<Arc<Partition>>, GroupError> {
        let k = (group.to_string(), topic_id, partition);
        if !self.states.contains_key(&k) {
            return Ok(None);
        }
        let key = StateKey { group: k.0.clone(), topic_id, partition };
        let part = self.append(&key, vec![(key.encode(StateKind::Snapshot), None)])?;
        self.states.remove(&k);
        Ok(Some(part))
    }

    /// Tombstones every state of a deleted topic.
    pub fn on_topic_deleted(&self, topic_id: Uuid) -> Vec<Arc<Partition>> {
        let keys: Vec<(String, Uuid, i32)> =
            self.states.iter().filter(|e| e.key().1 == topic_id).map(|e| e.key().clone()).collect();
        keys.into_iter().filter_map(|(g, t, p)| self.delete(&g, t, p).ok().flatten()).collect()
    }

    /// Waits until records appended to `parts` are durable.
    pub fn wait_stored(
        &self,
        parts: Vec<Arc<Partition>>,
    ) -> impl std::future::Future<Output = Result<(), GroupError>> + Send + 'static {
        let durable = self.replicas.wait_durable(parts);
        async move {
            durable.await.map_err(|e| {
                tracing::error!("share state not durable: {e}");
                GroupError::from(e).not_stored()
            })
        }
    }

    fn append(
        &self,
        key: &StateKey,
        records: Vec<(bytes::Bytes, Option<bytes::Bytes>)>,
    ) -> Result<Arc<Partition>, GroupError> {
        let topic = self.state_topic()?;
        // Kafka's partitioning: "group:topicId:partition" hashed as a Java string.
        let routing = format!("{}:{}:{}", key.group, key.topic_id, key.partition);
        let idx = crate::cluster::coordinator_partition(&routing, topic.partition_count());
        self.replicas.append_coordinator_records(STATE_TOPIC, idx, records, None).map_err(|e| {
            tracing::error!(group = %key.group, "cannot store share state: {e}");
            GroupError::CoordinatorNotAvailable
        })
    }

    fn state_topic(&self) -> Result<Arc<Topic>, GroupError> {
        let mut slot = self.topic.lock();
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let cfg = vec![("cleanup.policy".to_string(), Some("compact".to_string()))];
        let t = match self.topics.create(STATE_TOPIC, self.partitions, 1, &cfg, false) {
            Ok(t) => t,
            Err(e) => match self.topics.get(STATE_TOPIC) {
                Some(t) => t,
                None => {
                    tracing::error!("cannot create {STATE_TOPIC}: {e}");
                    return Err(GroupError::CoordinatorNotAvailable);
                }
            },
        };
        *slot = Some(t.clone());
        Ok(t)
    }
}

/// Applies a ShareUpdate to a snapshot as Kafka's share coordinator replays it: the start
/// offset and leader epoch unless -1, and the batches combined (an overlap goes to the higher
/// delivery count, then the higher state), pruned below the start.
pub fn merge_update(s: &mut ShareSnapshotValue, u: ShareUpdateValue) {
    if u.start_offset != -1 {
        s.start_offset = u.start_offset;
    }
    if u.leader_epoch != -1 {
        s.leader_epoch = u.leader_epoch;
    }
    s.delivery_complete_count = u.delivery_complete_count;
    s.state_batches = combine(&s.state_batches, &u.state_batches, s.start_offset);
}

/// Kafka's PersisterStateBatchCombiner, per offset over a bounded span: later batches with a
/// higher (delivery count, state) win the offsets they overlap.
fn combine(old: &[StateBatch], new: &[StateBatch], start: i64) -> Vec<StateBatch> {
    const MAX_SPAN: i64 = 1 << 20;
    let mut per: BTreeMap<i64, (i16, i8)> = BTreeMap::new();
    for b in old.iter().chain(new) {
        let first = b.first_offset.max(start);
        let last = b.last_offset.min(start.saturating_add(MAX_SPAN));
        for o in first..=last {
            let v = (b.delivery_count, b.delivery_state);
            per.entry(o).and_modify(|cur| *cur = (*cur).max(v)).or_insert(v);
        }
    }
    let mut out: Vec<StateBatch> = Vec::new();
    for (o, (count, state)) in per {
        match out.last_mut() {
            Some(b) if b.last_offset + 1 == o && b.delivery_count == count && b.delivery_state == state => {
                b.last_offset = o
            }
            _ => out.push(StateBatch { first_offset: o, last_offset: o, delivery_state: state, delivery_count: count }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(first: i64, last: i64, state: i8, count: i16) -> StateBatch {
        StateBatch { first_offset: first, last_offset: last, delivery_state: state, delivery_count: count }
    }

    #[test]
    fn updates_merge_as_kafka_combines_them() {
        let mut s = ShareSnapshotValue { start_offset: 0, state_batches: vec![b(0, 9, 0, 1)], ..Default::default() };
        let u = ShareUpdateValue {
            start_offset: 2,
            leader_epoch: -1,
            state_batches: vec![b(3, 4, 2, 1)],
            ..Default::default()
        };
        merge_update(&mut s, u);
        assert_eq!(s.start_offset, 2);
        assert_eq!(s.state_batches, vec![b(2, 2, 0, 1), b(3, 4, 2, 1), b(5, 9, 0, 1)]);
        // A higher delivery count wins over a higher state.
        let u = ShareUpdateValue { state_batches: vec![b(5, 5, 0, 2)], ..Default::default() };
        merge_update(&mut s, u);
        assert_eq!(s.state_batches[2], b(5, 5, 0, 2));
    }

    #[test]
    fn a_damaged_update_cannot_make_the_broker_allocate_without_bound() {
        let mut s = ShareSnapshotValue { start_offset: 0, ..Default::default() };
        let u = ShareUpdateValue { state_batches: vec![b(0, i64::MAX, 2, 1)], ..Default::default() };
        merge_update(&mut s, u);
        assert!(s.state_batches[0].last_offset <= 1 << 20);
    }
}
