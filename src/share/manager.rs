//! The share-partition leader's side (Kafka's SharePartitionManager): the share partitions of
//! every group on this broker, created on first fetch from their stored state (or the group's
//! `share.auto.offset.reset`), the fetch that reads the log and acquires records for a member,
//! acknowledgements, lock expiry, and the release of a member's records when its share session
//! ends. Every change to a share partition's state is written to the share coordinator's store
//! while the partition is locked, so the log holds the states in the order they happened; an
//! acknowledgement is answered only once its state is durable.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use kafka_protocol::error::ResponseError as E;
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use super::partition::{AckBatch, AckError, AcquireMode, Acquired, Archived, Limits, LogBatch, SharePartition};
use super::session::Sessions;
use super::store::ShareStateStore;
use crate::error::ErrorCode;
use crate::group::configs::{self, AutoOffsetReset, GroupConfigs, GroupDefaults};
use crate::log::batch::BatchHeader;
use crate::log::{Isolation, Partition, PartitionLog, ReadError};

/// Share group settings (Kafka's names in comments).
#[derive(Debug, Clone)]
pub struct ShareConfig {
    /// group.share.max.size
    pub max_size: usize,
    /// group.share.partition.max.record.locks
    pub max_record_locks: i64,
    /// group.share.max.share.sessions
    pub max_sessions: usize,
    /// share.coordinator.state.topic.num.partitions
    pub state_partitions: i32,
}

/// (group, topic id, partition).
pub type ShareKey = (Arc<str>, Uuid, i32);

struct Slot {
    sp: SharePartition,
    topic: String,
    snapshot_epoch: i32,
    created_ms: i64,
}

/// The group configs a share partition operation runs with.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    pub limits: Limits,
    pub reset: AutoOffsetReset,
    pub read_committed: bool,
    /// KIP-1191's dead-letter topic, and whether records are copied into it.
    pub dlq: Option<(String, bool)>,
}

impl GroupSettings {
    pub fn of(configs: &GroupConfigs, defaults: &GroupDefaults, max_record_locks: i64) -> Self {
        let dlq = configs.string(configs::DLQ_TOPIC_NAME, defaults);
        Self {
            limits: Limits {
                max_delivery_count: configs.int(configs::SHARE_DELIVERY_COUNT_LIMIT, defaults).clamp(1, i16::MAX as i32)
                    as i16,
                max_in_flight: max_record_locks,
                lock_duration: Duration::from_millis(
                    configs.int(configs::SHARE_RECORD_LOCK_DURATION, defaults).max(1) as u64
                ),
            },
            reset: configs::parse_auto_offset_reset(&configs.string(configs::SHARE_AUTO_OFFSET_RESET, defaults))
                .unwrap_or(AutoOffsetReset::Latest),
            read_committed: configs.string(configs::SHARE_ISOLATION_LEVEL, defaults) == "read_committed",
            dlq: (!dlq.is_empty())
                .then(|| (dlq, configs.string(configs::DLQ_COPY_RECORD, defaults).eq_ignore_ascii_case("true"))),
        }
    }
}

/// What one share partition's fetch may take: records (whole batches or exactly, per the
/// mode) and bytes.
#[derive(Debug, Clone, Copy)]
pub struct FetchBudget {
    pub max_records: usize,
    pub max_bytes: usize,
    pub mode: AcquireMode,
}

/// What a fetch got from one share partition.
#[derive(Debug, Default)]
pub struct PartitionFetch {
    pub error: i16,
    pub records: Bytes,
    pub acquired: Vec<Acquired>,
}

/// What an acknowledgement needs to finish: the store partitions to wait on, and what to do
/// after.
pub struct PendingAck {
    key: ShareKey,
    undo: super::partition::Undo,
    pub stored: Option<Arc<Partition>>,
}

/// Records archived by REJECT or the delivery limit, for the dead-letter topic.
pub struct DeadLetters {
    pub group: Arc<str>,
    pub topic: String,
    pub partition: i32,
    pub records: Vec<Archived>,
}

pub struct ShareManager {
    pub store: ShareStateStore,
    pub config: ShareConfig,
    partitions: DashMap<ShareKey, Arc<Mutex<Slot>>>,
    pub sessions: Sessions,
    /// Moves when records may have become available (release, expiry, acknowledgement):
    /// waiting share fetches look again.
    changed: watch::Sender<u64>,
}

impl ShareManager {
    pub fn new(store: ShareStateStore, config: ShareConfig) -> Self {
        let sessions = Sessions::new(config.max_sessions);
        Self { store, config, partitions: DashMap::new(), sessions, changed: watch::channel(0).0 }
    }

    /// A receiver that changes when share records may have become available.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn wake(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// The share partition, created from its stored state or the group's reset strategy.
    fn slot(
        &self,
        key: &ShareKey,
        topic: &str,
        log: &dyn PartitionLog,
        settings: &GroupSettings,
    ) -> Result<Arc<Mutex<Slot>>, i16> {
        if let Some(s) = self.partitions.get(key) {
            return Ok(s.clone());
        }
        if !self.store.is_loaded() {
            return Err(E::CoordinatorNotAvailable.code());
        }
        let now_ms = crate::util::now_ms();
        let (group, topic_id, partition) = (key.0.as_ref(), key.1, key.2);
        let slot = match self.store.get(group, topic_id, partition) {
            Some(s) => {
                let mut sp = SharePartition::from_snapshot(&s, log.leader_epoch());
                sp.log_start_moved(log.offsets().log_start);
                Slot { sp, topic: topic.to_string(), snapshot_epoch: s.snapshot_epoch, created_ms: s.create_timestamp }
            }
            None => {
                let offsets = log.offsets();
                let start = match settings.reset {
                    AutoOffsetReset::Earliest => offsets.log_start,
                    AutoOffsetReset::Latest => offsets.high_watermark,
                    AutoOffsetReset::ByDuration(d) => {
                        let ts = now_ms.saturating_sub(d.as_millis().min(i64::MAX as u128) as i64);
                        match log.offset_for_timestamp(ts) {
                            Ok(Some((offset, _))) => offset,
                            Ok(None) => offsets.high_watermark,
                            Err(e) => return Err(e.code()),
                        }
                    }
                };
                let sp = SharePartition::new(start, 0, log.leader_epoch());
                // The resolved start is stored at once, so a restart before the first
                // acknowledgement cannot resolve `latest` again past records produced since.
                let value = sp.snapshot(0, now_ms, now_ms);
                if let Ok(part) = self.store.write(group, topic_id, partition, value) {
                    tokio::spawn(self.store.wait_stored(vec![part]));
                }
                Slot { sp, topic: topic.to_string(), snapshot_epoch: 0, created_ms: now_ms }
            }
        };
        Ok(self.partitions.entry(key.clone()).or_insert_with(|| Arc::new(Mutex::new(slot))).clone())
    }

    /// Stores a share partition's state (with it locked): the store partition to wait on.
    fn persist(&self, key: &ShareKey, slot: &mut Slot) -> Result<Arc<Partition>, i16> {
        slot.snapshot_epoch = slot.snapshot_epoch.wrapping_add(1);
        let value = slot.sp.snapshot(slot.snapshot_epoch, crate::util::now_ms(), slot.created_ms);
        self.store.write(&key.0, key.1, key.2, value).map_err(|e| e.code())
    }

    /// Reads `log` from where the share partition delivers next and acquires for `member`
    /// within `budget`.
    pub fn fetch(
        &self,
        key: &ShareKey,
        topic: &str,
        log: &dyn PartitionLog,
        member: &Arc<str>,
        budget: FetchBudget,
        settings: &GroupSettings,
    ) -> PartitionFetch {
        let FetchBudget { max_records, max_bytes, mode } = budget;
        let slot = match self.slot(key, topic, log, settings) {
            Ok(s) => s,
            Err(error) => return PartitionFetch { error, ..Default::default() },
        };
        let now = Instant::now();
        let mut s = slot.lock();
        let (expired, _) = s.sp.expire(now, &settings.limits);
        if expired {
            let _ = self.persist(key, &mut s);
        }
        if max_records == 0 || !s.sp.can_acquire(&settings.limits) {
            return PartitionFetch::default();
        }
        let isolation = if settings.read_committed { Isolation::Committed } else { Isolation::HighWatermark };
        let mut read = log.read_at(s.sp.next_fetch_offset(), max_bytes, true, isolation);
        if let Err(ReadError::OffsetOutOfRange { log_start, .. }) = &read {
            // Retention or DeleteRecords moved the log start past what was left to deliver.
            s.sp.log_start_moved(*log_start);
            read = log.read_at(s.sp.next_fetch_offset(), max_bytes, true, isolation);
        }
        let records = match read {
            Ok(r) => r.records,
            Err(ReadError::OffsetOutOfRange { .. }) => return PartitionFetch::default(),
            Err(ReadError::Storage(e)) => {
                tracing::error!(topic, partition = key.2, "share fetch read failed: {e}");
                return PartitionFetch { error: E::KafkaStorageError.code(), ..Default::default() };
            }
        };
        let batches = log_batches(&records, settings.read_committed, log);
        let log_batches: Vec<LogBatch> = batches.iter().map(|b| b.0).collect();
        let acquired = s.sp.acquire(member, &log_batches, max_records, mode, now, &settings.limits);
        drop(s);
        let (Some(first), Some(last)) = (acquired.first(), acquired.last()) else {
            return PartitionFetch::default();
        };
        log.note_fetched(&records);
        // The log batches spanning what was acquired, as stored.
        let from = batches.iter().find(|b| b.0.last_offset >= first.first_offset).map_or(0, |b| b.1);
        let to = batches.iter().find(|b| b.0.last_offset >= last.last_offset).map_or(records.len(), |b| b.2);
        PartitionFetch { error: 0, records: records.slice(from..to.max(from)), acquired }
    }

    /// Applies `member`'s acknowledgements to one share partition (all or nothing) and stores
    /// the new state. The caller waits for `stored` and then calls [`ShareManager::acked`].
    pub fn acknowledge(
        &self,
        key: &ShareKey,
        member: &str,
        batches: &[AckBatch],
        settings: &GroupSettings,
    ) -> Result<(PendingAck, Option<DeadLetters>), (i16, String)> {
        let Some(slot) = self.partitions.get(key).map(|s| s.clone()) else {
            return Err((E::UnknownTopicOrPartition.code(), "The share partition is not fetched here.".into()));
        };
        let mut s = slot.lock();
        let now = Instant::now();
        let (undo, archived) = s.sp.acknowledge(member, batches, now, &settings.limits).map_err(|e| match e {
            AckError::InvalidRecordState(m) => (E::InvalidRecordState.code(), m),
            AckError::InvalidRequest(m) => (E::InvalidRequest.code(), m),
        })?;
        let stored = self.persist(key, &mut s).map_err(|code| (code, String::new()));
        let dead = (!archived.is_empty()).then(|| DeadLetters {
            group: key.0.clone(),
            topic: s.topic.clone(),
            partition: key.2,
            records: archived,
        });
        match stored {
            Ok(part) => Ok((PendingAck { key: key.clone(), undo, stored: Some(part) }, dead)),
            Err(e) => {
                s.sp.undo(undo, now, &settings.limits);
                Err(e)
            }
        }
    }

    /// An acknowledgement's state write finished: on success the start offset moves and
    /// waiting fetches look again; on failure the acknowledgement is taken back.
    pub fn acked(&self, pending: PendingAck, ok: bool, settings: &GroupSettings) {
        let Some(slot) = self.partitions.get(&pending.key).map(|s| s.clone()) else { return };
        let mut s = slot.lock();
        if ok {
            s.sp.advance();
        } else {
            s.sp.undo(pending.undo, Instant::now(), &settings.limits);
        }
        drop(s);
        self.wake();
    }

    /// Releases what `member` holds in the share partitions of `partitions` (its share
    /// session closed): the store partitions to wait on, and records archived at the limit.
    pub fn release(
        &self,
        group: &Arc<str>,
        member: &str,
        partitions: &[(Uuid, i32)],
        settings: &GroupSettings,
    ) -> (Vec<Arc<Partition>>, Vec<DeadLetters>) {
        let mut parts = Vec::new();
        let mut dead = Vec::new();
        for (t, p) in partitions {
            let key: ShareKey = (group.clone(), *t, *p);
            let Some(slot) = self.partitions.get(&key).map(|s| s.clone()) else { continue };
            let mut s = slot.lock();
            let (changed, archived) = s.sp.release_member(member, &settings.limits);
            tracing::debug!(%group, member, partition = p, changed, "share session ended: records released");
            if changed {
                if let Ok(part) = self.persist(&key, &mut s) {
                    parts.push(part);
                }
            }
            if !archived.is_empty() {
                dead.push(DeadLetters {
                    group: group.clone(),
                    topic: s.topic.clone(),
                    partition: *p,
                    records: archived,
                });
            }
        }
        self.wake();
        (parts, dead)
    }

    /// Drops `group`'s share partitions from memory once none of its members has a session
    /// here (Kafka does the same): their state is all stored, and the next fetch reads it
    /// back, so memory follows the groups in use, not every group ever fetched. Partitions
    /// still holding acquired records stay until those are released or expire.
    pub fn evict_idle(&self, group: &str) {
        if self.sessions.has_group(group) {
            return;
        }
        self.partitions.retain(|k, slot| k.0.as_ref() != group || slot.lock().sp.acquired_count() > 0);
    }

    /// Lock expiry for every share partition: the store partitions written, and records
    /// archived at the limit. `settings` gives each group's configs.
    pub fn tick(&self, settings: impl Fn(&str) -> GroupSettings) -> (Vec<Arc<Partition>>, Vec<DeadLetters>) {
        let now = Instant::now();
        let mut parts = Vec::new();
        let mut dead = Vec::new();
        let mut cache: HashMap<Arc<str>, GroupSettings> = HashMap::new();
        let slots: Vec<(ShareKey, Arc<Mutex<Slot>>)> = self
            .partitions
            .iter()
            .filter(|e| e.value().lock().sp.next_deadline().is_some_and(|d| d <= now))
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        for (key, slot) in slots {
            let settings = cache.entry(key.0.clone()).or_insert_with(|| settings(&key.0));
            let mut s = slot.lock();
            let (changed, archived) = s.sp.expire(now, &settings.limits);
            if changed {
                if let Ok(part) = self.persist(&key, &mut s) {
                    parts.push(part);
                }
            }
            if !archived.is_empty() {
                dead.push(DeadLetters {
                    group: key.0.clone(),
                    topic: s.topic.clone(),
                    partition: key.2,
                    records: archived,
                });
            }
        }
        if !parts.is_empty() {
            self.wake();
        }
        (parts, dead)
    }

    /// The share partition's start offset and completed-delivery count, if it is active here
    /// (else from the store).
    pub fn start_offset(&self, group: &str, topic_id: Uuid, partition: i32) -> Option<(i64, i64)> {
        let key: ShareKey = (Arc::from(group), topic_id, partition);
        if let Some(slot) = self.partitions.get(&key) {
            let s = slot.lock();
            return Some((s.sp.start_offset(), s.sp.delivery_complete_count()));
        }
        self.store
            .get(group, topic_id, partition)
            .map(|v| (v.start_offset, i64::from(v.delivery_complete_count.max(0))))
    }

    /// Sets a share partition's start offset (AlterShareGroupOffsets, on an empty group): its
    /// in-flight state starts afresh there.
    pub fn reset(
        &self,
        group: &str,
        topic_id: Uuid,
        partition: i32,
        start: i64,
        state_epoch: i32,
    ) -> Result<Arc<Partition>, i16> {
        let key: ShareKey = (Arc::from(group), topic_id, partition);
        self.partitions.remove(&key);
        let now_ms = crate::util::now_ms();
        let sp = SharePartition::new(start, state_epoch, 0);
        self.store.write(group, topic_id, partition, sp.snapshot(0, now_ms, now_ms)).map_err(|e| e.code())
    }

    /// Deletes share partitions' state (DeleteShareGroupOffsets, DeleteGroups).
    pub fn delete(&self, group: &str, keys: &[(Uuid, i32)]) -> Result<Vec<Arc<Partition>>, i16> {
        let mut parts = Vec::new();
        for (t, p) in keys {
            self.partitions.remove(&(Arc::from(group), *t, *p));
            if let Some(part) = self.store.delete(group, *t, *p).map_err(|e| e.code())? {
                parts.push(part);
            }
        }
        Ok(parts)
    }

    /// Every share partition of `group` with stored state.
    pub fn partitions_of(&self, group: &str) -> Vec<(Uuid, i32)> {
        let mut out: HashSet<(Uuid, i32)> = HashSet::new();
        for (t, ps) in self.store.partitions_of(group) {
            out.extend(ps.into_iter().map(|(p, _)| (t, p)));
        }
        out.extend(self.partitions.iter().filter(|e| e.key().0.as_ref() == group).map(|e| (e.key().1, e.key().2)));
        let mut v: Vec<_> = out.into_iter().collect();
        v.sort();
        v
    }

    /// A topic was deleted: its share partitions and their state go.
    pub fn on_topic_deleted(&self, topic_id: Uuid) -> Vec<Arc<Partition>> {
        self.partitions.retain(|k, _| k.1 != topic_id);
        self.store.on_topic_deleted(topic_id)
    }
}

/// The log batches in `records` with their byte ranges. read_committed: batches of aborted
/// transactions count as not deliverable, like markers (a consumer would drop them).
fn log_batches(records: &Bytes, read_committed: bool, log: &dyn PartitionLog) -> Vec<(LogBatch, usize, usize)> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while let Ok(h) = BatchHeader::parse(&records[off..]) {
        let len = h.total_len();
        if len < crate::log::batch::HEADER_LEN || off + len > records.len() {
            break;
        }
        out.push((
            LogBatch { base_offset: h.base_offset, last_offset: h.last_offset(), control: h.is_control() },
            off,
            off + len,
            h,
        ));
        off += len;
    }
    if read_committed {
        if let (Some(first), Some(last)) = (out.first(), out.last()) {
            let aborted = log.aborted_transactions(first.0.base_offset, last.0.last_offset + 1);
            if !aborted.is_empty() {
                mark_aborted(&mut out, &aborted);
            }
        }
    }
    out.into_iter().map(|(b, from, to, _)| (b, from, to)).collect()
}

/// Marks the batches of aborted transactions (a consumer's read_committed filter: a producer's
/// transactional batches from an aborted transaction's first offset up to its marker).
fn mark_aborted(batches: &mut [(LogBatch, usize, usize, BatchHeader)], aborted: &[(i64, i64)]) {
    let mut open: HashSet<i64> = HashSet::new();
    let mut pending: Vec<(i64, i64)> = aborted.to_vec();
    pending.sort_by_key(|a| a.1);
    let mut next = 0usize;
    for (b, _, _, h) in batches.iter_mut() {
        while next < pending.len() && pending[next].1 <= b.base_offset {
            open.insert(pending[next].0);
            next += 1;
        }
        if !h.is_transactional() || !open.contains(&h.producer_id) {
            continue;
        }
        if h.is_control() {
            open.remove(&h.producer_id);
        } else {
            b.control = true;
        }
    }
}
