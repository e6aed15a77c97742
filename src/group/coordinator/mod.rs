//! The group coordinator: owns every consumer group, routes group APIs to the state machine,
//! and makes commits and group metadata durable in the internal, Kafka-format
//! `__consumer_offsets` topic, which is replayed after a start, partition by partition, in
//! the background (a group in a partition still loading is answered
//! COORDINATOR_LOAD_IN_PROGRESS, as Kafka does).

mod consumer;
mod share;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::codec::{self, Key, OffsetValue};
use super::state::{Group, GroupState, GroupTimings};
use super::GroupError;
use crate::cluster::PartitionLoads;
use crate::log::{AppendError, LogManager, Partition};
use crate::replica::{ProduceError, ReplicaManager};
use crate::topic::{Topic, TopicRegistry};
use crate::util::now_ms;

/// Kafka's internal offsets topic.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Group settings (Kafka's names in comments).
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// group.initial.rebalance.delay.ms
    pub initial_rebalance_delay: Duration,
    /// group.min.session.timeout.ms / group.max.session.timeout.ms
    pub min_session_timeout: Duration,
    pub max_session_timeout: Duration,
    /// group.max.size
    pub max_size: usize,
    /// group.consumer.max.size
    pub consumer_max_size: usize,
    /// group.consumer.assignors (short names; the first is the default)
    pub consumer_assignors: Vec<String>,
    /// group.consumer.migration.policy
    pub migration_policy: crate::group::consumer::MigrationPolicy,
    /// group.consumer.session.timeout.ms: consumer group sessions restart with it after a load.
    pub consumer_session_timeout: Duration,
    /// group.share.session.timeout.ms: share group sessions restart with it after a load.
    pub share_session_timeout: Duration,
    /// offsets.retention.minutes
    pub offsets_retention: Duration,
    /// offsets.topic.num.partitions
    pub offsets_partitions: i32,
    /// `offsets.topic.segment.bytes`: the offsets topic's segment size at creation.
    pub offsets_segment_bytes: i32,
    /// offset.metadata.max.bytes
    pub max_metadata_bytes: usize,
}

pub type GroupRef = Arc<Mutex<Group>>;

/// What [`GroupCoordinator::store_offsets`] changed in memory, to take back if the records
/// never become durable: a commit answered as failed must not be served by OffsetFetch.
pub struct OffsetsUndo(Vec<((String, i32), Option<OffsetValue>, OffsetValue)>);

impl OffsetsUndo {
    /// Restores each offset this commit set, unless a later commit has replaced it since.
    pub fn apply(self, g: &mut Group) {
        for (key, prev, set) in self.0.into_iter().rev() {
            if g.offsets.get(&key) == Some(&set) {
                match prev {
                    Some(p) => g.offsets.insert(key, p),
                    None => g.offsets.remove(&key),
                };
            }
        }
    }
}

pub struct GroupCoordinator {
    groups: DashMap<String, GroupRef>,
    topics: Arc<TopicRegistry>,
    /// Read at startup to replay `__consumer_offsets`.
    logs: Arc<LogManager>,
    /// Every write goes through it, as a coordinator's append (and its durability wait).
    replicas: Arc<ReplicaManager>,
    /// Created on first use, as Kafka does, so a broker without groups has no internal topic.
    offsets_topic: Mutex<Option<Arc<Topic>>>,
    /// The groups each producer id has transactional offsets in (its marker completes them).
    txn_groups: Mutex<HashMap<i64, HashSet<String>>>,
    /// The `__consumer_offsets` partitions not yet replayed ([`GroupCoordinator::load`]).
    loads: PartitionLoads,
    pub config: CoordinatorConfig,
}

impl GroupCoordinator {
    /// A coordinator with every existing `__consumer_offsets` partition still to replay
    /// ([`GroupCoordinator::load`], run in the background by the broker).
    pub fn open(
        topics: Arc<TopicRegistry>,
        logs: Arc<LogManager>,
        replicas: Arc<ReplicaManager>,
        config: CoordinatorConfig,
    ) -> Self {
        let existing = topics.get(OFFSETS_TOPIC);
        let loads = PartitionLoads::pending(existing.as_ref().map_or(0, |t| t.partition_count().max(0) as usize));
        Self {
            groups: DashMap::new(),
            topics,
            logs,
            replicas,
            offsets_topic: Mutex::new(existing),
            txn_groups: Mutex::new(HashMap::new()),
            loads,
            config,
        }
    }

    /// COORDINATOR_LOAD_IN_PROGRESS while the partition that owns `group` is being replayed.
    pub fn check_loaded(&self, group: &str) -> Result<(), GroupError> {
        if !self.loads.any_loading() {
            return Ok(());
        }
        match self.partition_index(group) {
            Ok(idx) if self.loads.is_loading(idx) => Err(GroupError::CoordinatorLoadInProgress),
            _ => Ok(()),
        }
    }

    /// Whether some `__consumer_offsets` partition is still being replayed (ListGroups
    /// answers COORDINATOR_LOAD_IN_PROGRESS then, as Kafka does).
    pub fn loading(&self) -> bool {
        self.loads.any_loading()
    }

    /// The internal offsets topic, created on first use.
    pub fn offsets_topic(&self) -> Result<Arc<Topic>, GroupError> {
        let mut slot = self.offsets_topic.lock();
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        let cfg = vec![
            ("cleanup.policy".to_string(), Some("compact".to_string())),
            ("segment.bytes".to_string(), Some(self.config.offsets_segment_bytes.to_string())),
        ];
        let t = match self.topics.create(OFFSETS_TOPIC, self.config.offsets_partitions, 1, &cfg, false) {
            Ok(t) => t,
            Err(e) => match self.topics.get(OFFSETS_TOPIC) {
                Some(t) => t,
                None => {
                    tracing::error!("cannot create {OFFSETS_TOPIC}: {e}");
                    return Err(GroupError::OffsetsTopicUnavailable(Arc::new(e)));
                }
            },
        };
        *slot = Some(t.clone());
        Ok(t)
    }

    /// The state machine's settings.
    pub fn timings(&self) -> GroupTimings {
        GroupTimings { initial_rebalance_delay: self.config.initial_rebalance_delay, max_size: self.config.max_size }
    }

    /// Replays the `__consumer_offsets` partitions still loading into memory, one after
    /// another; each partition's groups are served once it is done. Blocking (reads the log).
    /// A partition that cannot be read stays loading (its groups are refused, retriably,
    /// rather than served wrong) for a later call to retry: replaying a partition again from
    /// its start ends in the same state. True once every partition is loaded.
    pub fn load(&self) -> bool {
        if !self.loads.any_loading() {
            return true;
        }
        let started = std::time::Instant::now();
        let mut records = 0usize;
        for part in self.logs.partitions(OFFSETS_TOPIC) {
            if !self.loads.is_loading(part.index) {
                continue;
            }
            match self.load_partition(&part) {
                Ok(n) => {
                    records += n;
                    self.loads.done(part.index);
                }
                Err(e) => tracing::error!(partition = part.index, "cannot replay {OFFSETS_TOPIC} (retried later): {e}"),
            }
        }
        let done = !self.loads.any_loading();
        tracing::info!(
            groups = self.groups.len(),
            records,
            ms = started.elapsed().as_millis() as u64,
            done,
            "loaded consumer groups from {OFFSETS_TOPIC}"
        );
        done
    }

    /// Replays one partition: the number of records read.
    fn load_partition(&self, part: &Partition) -> Result<usize, crate::error::StorageError> {
        let now = Instant::now();
        let mut loaded = 0usize;
        {
            part.for_each_batch(0, |batch| {
                // Brook writes this topic uncompressed (and clients cannot produce to it): a
                // compressed batch here is damage, and is not inflated whatever it claims.
                if crate::log::batch::BatchHeader::parse(&batch).map_or(true, |h| h.compression() != 0) {
                    tracing::warn!("skipping a compressed or unreadable batch in {OFFSETS_TOPIC}");
                    return;
                }
                let Ok(set) = kafka_protocol::records::RecordBatchDecoder::decode(&mut batch.clone()) else {
                    tracing::warn!("skipping an undecodable batch in {OFFSETS_TOPIC}");
                    return;
                };
                for r in set.records {
                    loaded += 1;
                    if r.control {
                        // A transaction's marker: its offsets in this partition are settled.
                        if let Some(commit) = r.key.as_deref().and_then(marker_commits) {
                            self.complete_transaction_in(part.index, r.producer_id, commit);
                        }
                        continue;
                    }
                    let Some(raw) = r.key else { continue };
                    let Some(key) = codec::decode_key(raw.clone()) else {
                        if let Some(k) = crate::share::records::decode_key(raw.clone()) {
                            self.replay_share(k, r.value, now);
                        } else if let Some(k) = crate::group::consumer_records::decode_key(raw) {
                            self.replay_consumer(k, r.value, now);
                        }
                        continue;
                    };
                    match key {
                        Key::Offset { group, topic, partition } if r.transactional => {
                            if let Some(v) = r.value.and_then(codec::decode_offset_value) {
                                self.entry(&group)
                                    .lock()
                                    .txn_offsets
                                    .entry(r.producer_id)
                                    .or_default()
                                    .insert((topic, partition), v);
                                self.txn_groups.lock().entry(r.producer_id).or_default().insert(group);
                            }
                        }
                        Key::Offset { group, topic, partition } => {
                            let g = self.entry(&group);
                            let mut g = g.lock();
                            match r.value.and_then(codec::decode_offset_value) {
                                Some(v) => {
                                    g.offsets.insert((topic, partition), v);
                                }
                                None => {
                                    g.offsets.remove(&(topic, partition));
                                }
                            }
                        }
                        Key::Group { group } => match r.value.and_then(codec::decode_group_value) {
                            Some(v) => self.entry(&group).lock().restore(v, now),
                            // The classic group ended (deleted, or now a consumer group): its
                            // membership goes; its offsets have their own records.
                            None => {
                                if let Some(g) = self.lookup(&group) {
                                    g.lock().hand_over_members();
                                }
                            }
                        },
                    }
                }
            })?;
        }
        // This partition's groups with neither members nor offsets (committed or pending)
        // left are gone.
        let count = part.index.max(0) + 1;
        let count = self.offsets_topic.lock().as_ref().map_or(count, |t| t.partition_count());
        self.groups.retain(|id, g| {
            if crate::cluster::coordinator_partition(id, count) != part.index {
                return true;
            }
            let mut g = g.lock();
            if let Some(c) = g.consumer.as_mut() {
                c.arm_timers(now, self.config.consumer_session_timeout);
                return true;
            }
            if let Some(s) = g.share.as_mut() {
                s.arm_timers(now, self.config.share_session_timeout);
                return true;
            }
            !(g.members.is_empty() && g.offsets.is_empty() && g.txn_offsets.is_empty() && g.generation == 0)
        });
        Ok(loaded)
    }

    /// Stores a transaction's offsets for `group` (TxnOffsetCommit) as a transactional batch
    /// of its producer; once durable they are pending in the group until the transaction's
    /// marker reaches this partition ([`GroupCoordinator::complete_transaction`]).
    pub fn store_txn_offsets(
        &self,
        group: &str,
        producer_id: i64,
        producer_epoch: i16,
        offsets: &[((String, i32), OffsetValue)],
    ) -> Result<Arc<Partition>, GroupError> {
        let idx = self.partition_index(group)?;
        let records =
            offsets.iter().map(|((t, p), v)| (codec::offset_key(group, t, *p), Some(codec::offset_value(v)))).collect();
        self.replicas
            .append_coordinator_records(OFFSETS_TOPIC, idx, records, Some((producer_id, producer_epoch)))
            .map_err(|e| append_error(idx, e))
    }

    /// The stored transactional offsets become pending in the group.
    pub fn add_txn_offsets(&self, group: &str, producer_id: i64, offsets: Vec<((String, i32), OffsetValue)>) {
        self.entry(group).lock().txn_offsets.entry(producer_id).or_default().extend(offsets);
        self.txn_groups.lock().entry(producer_id).or_default().insert(group.to_string());
    }

    /// A transaction's marker reached `__consumer_offsets` partition `partition`: the
    /// producer's pending offsets of the groups there are committed or dropped.
    pub fn complete_transaction(&self, partition: i32, producer_id: i64, commit: bool) {
        self.complete_transaction_in(partition, producer_id, commit);
    }

    fn complete_transaction_in(&self, partition: i32, producer_id: i64, commit: bool) {
        let count = self.offsets_topic.lock().as_ref().map_or(0, |t| t.partition_count());
        let mut txn_groups = self.txn_groups.lock();
        let Some(groups) = txn_groups.get_mut(&producer_id) else { return };
        groups.retain(|group| {
            if crate::cluster::coordinator_partition(group, count) != partition {
                return true;
            }
            if let Some(g) = self.lookup(group) {
                g.lock().complete_transaction(producer_id, commit);
            }
            false
        });
        if groups.is_empty() {
            txn_groups.remove(&producer_id);
        }
    }

    /// The classic or consumer group, if it exists; COORDINATOR_LOAD_IN_PROGRESS while its
    /// partition loads, GROUP_ID_NOT_FOUND if it is a share group (Kafka: "Group G is not a
    /// consumer group").
    pub fn get(&self, group: &str) -> Result<Option<GroupRef>, GroupError> {
        self.check_loaded(group)?;
        let g = self.lookup(group);
        if g.as_ref().is_some_and(|g| g.lock().share.is_some()) {
            return Err(GroupError::GroupIdNotFound);
        }
        Ok(g)
    }

    /// The classic or consumer group, created empty if new; as [`GroupCoordinator::get`]
    /// otherwise.
    pub fn group_or_create(&self, group: &str) -> Result<GroupRef, GroupError> {
        self.check_loaded(group)?;
        let g = self.entry(group);
        if g.lock().share.is_some() {
            return Err(GroupError::GroupIdNotFound);
        }
        Ok(g)
    }

    /// Whether `group` is a share group (classic joins answer INCONSISTENT_GROUP_PROTOCOL).
    pub fn is_share_group(&self, group: &str) -> bool {
        self.lookup(group).is_some_and(|g| g.lock().share.is_some())
    }

    /// Any group, share groups included (ListGroups-like views, DeleteGroups).
    pub fn get_any(&self, group: &str) -> Result<Option<GroupRef>, GroupError> {
        self.check_loaded(group)?;
        Ok(self.lookup(group))
    }

    /// The group whether or not its partition is loaded (the replay and markers).
    fn lookup(&self, group: &str) -> Option<GroupRef> {
        self.groups.get(group).map(|g| g.clone())
    }

    fn entry(&self, group: &str) -> GroupRef {
        self.groups.entry(group.to_string()).or_insert_with(|| Arc::new(Mutex::new(Group::new(group)))).clone()
    }

    pub fn list(&self) -> Vec<GroupRef> {
        let mut v: Vec<(String, GroupRef)> = self.groups.iter().map(|e| (e.key().clone(), e.value().clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.into_iter().map(|(_, g)| g).collect()
    }

    /// The `__consumer_offsets` partition that owns `group`.
    pub fn partition_for(&self, group: &str) -> Result<Arc<Partition>, GroupError> {
        let idx = self.partition_index(group)?;
        self.replicas.local(OFFSETS_TOPIC, idx).map_err(|_| GroupError::OffsetsPartitionMissing(idx))
    }

    fn partition_index(&self, group: &str) -> Result<i32, GroupError> {
        let topic = self.offsets_topic()?;
        Ok(crate::cluster::coordinator_partition(group, topic.partition_count()))
    }

    /// Appends key/value records (None = tombstone) for `group` as one batch, through the
    /// replica manager as a coordinator's write; the caller waits for durability
    /// ([`GroupCoordinator::wait_stored`]).
    pub fn append(&self, group: &str, records: Vec<(Bytes, Option<Bytes>)>) -> Result<Arc<Partition>, GroupError> {
        if records.is_empty() {
            return self.partition_for(group);
        }
        let idx = self.partition_index(group)?;
        self.replicas.append_coordinator_records(OFFSETS_TOPIC, idx, records, None).map_err(|e| append_error(idx, e))
    }

    /// Waits until records appended to `parts` are durable. A failure is answered as Kafka
    /// answers a coordinator write that failed: NOT_COORDINATOR (see
    /// [`GroupError::not_stored`]). The fsync round is joined at the call.
    pub fn wait_stored(
        &self,
        parts: Vec<Arc<Partition>>,
    ) -> impl Future<Output = Result<(), GroupError>> + Send + 'static {
        let durable = self.replicas.wait_durable(parts);
        async move {
            durable.await.map_err(|e| {
                tracing::error!("group records not durable: {e}");
                GroupError::from(e).not_stored()
            })
        }
    }

    /// Persists the group's metadata if a state change asked for it: the partition to wait
    /// on, if any. A failed append is the error members are answered (Kafka's storeGroup).
    pub fn persist(&self, g: &mut Group) -> Result<Option<Arc<Partition>>, GroupError> {
        if g.consumer.is_some() {
            return self.store_consumer_records(g);
        }
        if !g.take_store_request() {
            return Ok(None);
        }
        match self.append(&g.id, vec![(codec::group_key(&g.id), Some(codec::group_value(&g.to_value())))]) {
            Ok(p) => Ok(Some(p)),
            Err(e) => {
                tracing::error!(group = %g.id, "cannot persist group metadata: {e}");
                Err(e.not_stored())
            }
        }
    }

    /// After a SyncGroup (with the group locked): if the leader handed in the assignment,
    /// stores it and, once that is durable or has failed, answers every waiting member
    /// ([`Group::assignment_stored`]). The answer does not depend on the leader's connection
    /// staying open.
    pub fn store_assignment(&self, group: &GroupRef, g: &mut Group) {
        let generation = g.generation;
        match self.persist(g) {
            Ok(None) => {}
            Ok(Some(part)) => {
                let stored = self.wait_stored(vec![part]);
                let (group, t) = (group.clone(), self.timings());
                tokio::spawn(async move {
                    let stored = stored.await;
                    group.lock().assignment_stored(generation, stored, Instant::now(), &t);
                });
            }
            Err(e) => g.assignment_stored(generation, Err(e), Instant::now(), &self.timings()),
        }
    }

    /// Deletes a group and all its offsets (DeleteGroups): tombstones, then forget it.
    pub fn delete_group(&self, group: &str) -> Result<Arc<Partition>, GroupError> {
        let Some(g) = self.get_any(group)? else { return Err(GroupError::GroupIdNotFound) };
        let mut g = g.lock();
        // Expired members first; their records land before the tombstones, on the same
        // partition, so waiting for the deletion covers them.
        self.run_timers(&mut g);
        if let Some(s) = &g.share {
            if !s.members.is_empty() {
                return Err(GroupError::NonEmptyGroup);
            }
            let part = self.append(group, s.tombstones())?;
            g.share = None;
            g.state = GroupState::Dead;
            drop(g);
            self.groups.remove(group);
            return Ok(part);
        }
        match (&g.consumer, g.state) {
            (Some(c), _) if !c.members.is_empty() => return Err(GroupError::NonEmptyGroup),
            (Some(_), _) => {}
            (None, GroupState::Dead) => return Err(GroupError::GroupIdNotFound),
            (None, GroupState::Empty) => {}
            (None, _) => return Err(GroupError::NonEmptyGroup),
        }
        let mut records: Vec<(Bytes, Option<Bytes>)> =
            g.offsets.keys().map(|(t, p)| (codec::offset_key(group, t, *p), None)).collect();
        match &g.consumer {
            Some(c) => records.extend(c.tombstones()),
            None => records.push((codec::group_key(group), None)),
        }
        let part = self.append(group, records).map_err(|e| {
            tracing::error!(group, "cannot delete group: {e}");
            e
        })?;
        g.offsets.clear();
        g.consumer = None;
        g.state = GroupState::Dead;
        drop(g);
        self.groups.remove(group);
        Ok(part)
    }

    /// Stores committed offsets (already admitted) and returns the partition to make durable.
    /// A failed append is answered COORDINATOR_NOT_AVAILABLE, whatever failed.
    pub fn store_offsets(
        &self,
        g: &mut Group,
        offsets: Vec<(String, i32, OffsetValue)>,
    ) -> Result<(Arc<Partition>, OffsetsUndo), GroupError> {
        let records =
            offsets.iter().map(|(t, p, v)| (codec::offset_key(&g.id, t, *p), Some(codec::offset_value(v)))).collect();
        let part = self.append(&g.id, records).map_err(|e| {
            tracing::error!(group = %g.id, "cannot store offsets: {e}");
            GroupError::CoordinatorNotAvailable
        })?;
        let mut undo = Vec::with_capacity(offsets.len());
        for (t, p, v) in offsets {
            let prev = g.offsets.insert((t.clone(), p), v.clone());
            undo.push(((t, p), prev, v));
        }
        Ok((part, OffsetsUndo(undo)))
    }

    /// Forgets every group's committed offsets for a deleted topic (tombstones included), as
    /// Kafka's onPartitionsDeleted does, so a re-created topic starts fresh.
    pub fn on_topic_deleted(&self, topic: &str) -> Vec<Arc<Partition>> {
        let mut touched = Vec::new();
        for g in self.list() {
            let mut g = g.lock();
            let gone: Vec<(String, i32)> = g.offsets.keys().filter(|(t, _)| t == topic).cloned().collect();
            if gone.is_empty() {
                continue;
            }
            let records = gone.iter().map(|(t, p)| (codec::offset_key(&g.id, t, *p), None)).collect();
            match self.append(&g.id, records) {
                Ok(p) => {
                    for k in &gone {
                        g.offsets.remove(k);
                    }
                    touched.push(p);
                }
                Err(e) => tracing::error!(group = %g.id, topic, "cannot drop offsets of a deleted topic: {e}"),
            }
        }
        touched
    }

    /// The group's timer work that is due (sessions that ended, join and sync deadlines that
    /// passed), its records appended and made durable in the background. The timer loop runs
    /// it every 50 ms; requests that read membership (DeleteGroups, the describes, ListGroups)
    /// run it first, so a session that ended a moment ago is over for them too, as Kafka's
    /// exact timers make it (a tool that waits out a static member's session and then deletes
    /// the group must not lose the race to the next tick).
    pub fn run_timers(&self, g: &mut Group) {
        if self.check_loaded(&g.id).is_err() {
            return; // restored, not complete: its replay may still change it
        }
        if let Some(p) = self.run_timers_at(g, Instant::now(), &self.timings()) {
            tokio::spawn(self.replicas.wait_durable(vec![p]));
        }
    }

    /// [`Self::run_timers`] at `now`: the partition its records went to, to make durable.
    fn run_timers_at(&self, g: &mut Group, now: Instant, t: &GroupTimings) -> Option<Arc<Partition>> {
        if g.share.is_some() {
            return self.tick_share(g, now);
        }
        if g.consumer.is_some() {
            return self.tick_consumer(g, now);
        }
        g.tick(now, t);
        self.persist(g).ok().flatten()
    }

    /// Timer work for every group; also expires offsets of groups empty for longer than
    /// offsets.retention.minutes.
    pub fn tick(&self) -> Vec<Arc<Partition>> {
        let now = Instant::now();
        let t = self.timings();
        let mut touched = Vec::new();
        let mut dead = Vec::new();
        for g in self.list() {
            let mut g = g.lock();
            if self.check_loaded(&g.id).is_err() {
                continue; // restored, not complete: its replay may still change it
            }
            let retention = self.config.offsets_retention.as_millis() as i64;
            touched.extend(self.run_timers_at(&mut g, now, &t));
            if g.share.is_some() {
                continue; // share groups never expire (their state is deleted explicitly)
            }
            if g.consumer.is_some() {
                // An empty consumer group's offsets expire with the last commit.
                let last_commit = g.offsets.values().map(|v| v.commit_timestamp).max();
                if g.has_no_members() && last_commit.is_some_and(|t| now_ms() - t > retention) {
                    dead.push(g.id.clone());
                }
                continue;
            }
            if g.state == GroupState::Empty && !g.offsets.is_empty() && now_ms() - g.state_since_ms > retention {
                dead.push(g.id.clone());
            }
        }
        for id in dead {
            tracing::info!(group = %id, "offsets expired (offsets.retention.minutes)");
            if let Ok(p) = self.delete_group(&id) {
                touched.push(p);
            }
        }
        touched
    }
}

/// Whether a control record's key is a COMMIT marker (Some(true)) or an ABORT (Some(false)):
/// Kafka's ControlRecordType, `version int16, type int16`.
fn marker_commits(key: &[u8]) -> Option<bool> {
    match key.get(2..4)? {
        [0, 0] => Some(false),
        [0, 1] => Some(true),
        _ => None,
    }
}

/// A failed coordinator append, typed: a missing partition, the log's storage failure (its
/// kind kept), or anything else the log refused.
fn append_error(idx: i32, e: ProduceError) -> GroupError {
    match e {
        ProduceError::Partition(_) => GroupError::OffsetsPartitionMissing(idx),
        ProduceError::Append(AppendError::Storage(s)) => GroupError::Storage(s),
        other => GroupError::Rejected(Arc::new(other)),
    }
}
