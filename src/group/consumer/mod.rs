//! Consumer groups of the KIP-848 protocol ("consumer" groups): members heartbeat, the
//! coordinator computes a target assignment with a server-side assignor, and each member
//! moves towards it partition by partition (revoke first, then receive) with no group-wide
//! barrier. The group's state lives in memory and in Kafka's records in
//! `__consumer_offsets` (types 3-8 and 16), written by each operation and replayed at start.
//! See docs/kip848-spec.md for the rules, with the Kafka sources they come from.

pub mod assignor;
pub mod classic;
pub mod heartbeat;
pub mod member;
mod records;
mod regex;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use bytes::Bytes;

use crate::group::GroupError;
use tokio::time::Instant;
use uuid::Uuid;

pub use heartbeat::{Heartbeat, HeartbeatAnswer, HeartbeatEnv, Refusal};
pub use member::{ConsumerMember, MemberState};

/// A duration in milliseconds (negative: none).
fn ms(v: i32) -> Duration {
    Duration::from_millis(v.max(0) as u64)
}

/// Partitions by topic id.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// What a consumer group needs to know about topics.
pub trait TopicLookup {
    /// The topic's id and partition count.
    fn topic(&self, name: &str) -> Option<(Uuid, i32)>;
    fn topic_name(&self, id: &Uuid) -> Option<String>;
    /// Every topic name (regular expressions are matched against them).
    fn names(&self) -> Vec<String>;
    /// Moves when topics are created or deleted.
    fn version(&self) -> u64;
}

impl TopicLookup for crate::topic::TopicRegistry {
    fn topic(&self, name: &str) -> Option<(Uuid, i32)> {
        self.get(name).map(|t| (t.id, t.partition_count()))
    }
    fn topic_name(&self, id: &Uuid) -> Option<String> {
        self.get_by_id(id).map(|t| t.name.to_string())
    }
    fn names(&self) -> Vec<String> {
        self.list().iter().map(|t| t.name.to_string()).collect()
    }
    fn version(&self) -> u64 {
        crate::topic::TopicRegistry::version(self)
    }
}

/// `group.consumer.migration.policy`: which online migrations between the classic and
/// consumer protocols are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationPolicy {
    Bidirectional,
    Upgrade,
    Downgrade,
    Disabled,
}

impl MigrationPolicy {
    /// Kafka's names, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "bidirectional" => Some(Self::Bidirectional),
            "upgrade" => Some(Self::Upgrade),
            "downgrade" => Some(Self::Downgrade),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }

    pub fn allows_upgrade(self) -> bool {
        matches!(self, Self::Bidirectional | Self::Upgrade)
    }

    pub fn allows_downgrade(self) -> bool {
        matches!(self, Self::Bidirectional | Self::Downgrade)
    }
}

/// A regular expression's topics as last evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRegex {
    pub topics: BTreeSet<String>,
    /// The topic registry's version it was evaluated at.
    pub version: i64,
    pub timestamp_ms: i64,
}

/// The group states Kafka reports for consumer groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerGroupState {
    Empty,
    Assigning,
    Reconciling,
    Stable,
}

impl ConsumerGroupState {
    pub fn name(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }
}

/// A stable 64-bit hash of the named topics' ids, names and partition counts (FNV-1a: only
/// ever compared with itself); 0 when none exists. A change moves a group's epoch.
pub fn metadata_hash(names: &BTreeSet<String>, topics: &dyn TopicLookup) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut any = false;
    for n in names {
        let Some((id, count)) = topics.topic(n) else { continue };
        any = true;
        for b in id.as_bytes().iter().chain(n.as_bytes()).chain(&count.to_be_bytes()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    if any {
        h as i64
    } else {
        0
    }
}

/// A key and value (None: a tombstone) for `__consumer_offsets`.
pub type Record = (Bytes, Option<Bytes>);

#[derive(Debug)]
pub struct ConsumerGroup {
    pub id: String,
    pub group_epoch: i32,
    /// Of the subscribed topics' metadata: a change bumps the group epoch.
    pub metadata_hash: i64,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    /// Each member's target assignment.
    pub target: BTreeMap<String, Assignment>,
    /// Static members: instance id -> member id.
    static_members: HashMap<String, String>,
    pub regexes: BTreeMap<String, ResolvedRegex>,
    /// The group has a 4.0 partition-metadata record to tombstone.
    has_partition_metadata: bool,
    /// Records of the operation under way, for the coordinator to append.
    records: Vec<Record>,
    /// Moves whenever the subscribed topic names may have changed (a member's subscription,
    /// a member gone, a regular expression's topics).
    subscriptions_version: u64,
    /// The metadata hash last computed: (topics version, subscriptions version, hash).
    hash_cache: Option<(u64, u64, i64)>,
    /// The group epoch before the operation under way fenced its first member: a downgrade
    /// right after it keeps that epoch as the classic generation, as Kafka (which converts
    /// instead of fencing) does, so the classic members' heartbeats still match it.
    epoch_before_fence: Option<i32>,
}

impl ConsumerGroup {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_string(),
            group_epoch: 0,
            metadata_hash: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            target: BTreeMap::new(),
            static_members: HashMap::new(),
            regexes: BTreeMap::new(),
            has_partition_metadata: false,
            records: Vec::new(),
            subscriptions_version: 0,
            hash_cache: None,
            epoch_before_fence: None,
        }
    }

    pub fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            ConsumerGroupState::Assigning
        } else if self.members.values().any(|m| !m.is_reconciled_to(self.assignment_epoch)) {
            ConsumerGroupState::Reconciling
        } else {
            ConsumerGroupState::Stable
        }
    }

    /// The records the last operations produced (to append, in order).
    pub fn take_records(&mut self) -> Vec<Record> {
        self.epoch_before_fence = None;
        std::mem::take(&mut self.records)
    }

    /// The member holding `instance_id`, if any.
    pub fn static_member(&self, instance_id: &str) -> Option<&str> {
        self.static_members.get(instance_id).map(String::as_str)
    }

    /// Every topic name some member subscribes to by name or through a resolved regex.
    pub fn subscribed_topic_names(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for m in self.members.values() {
            out.extend(m.subscribed_topic_names.iter().cloned());
            if let Some(r) = self.regexes.get(&m.subscribed_topic_regex) {
                out.extend(r.topics.iter().cloned());
            }
        }
        out
    }

    /// The topic ids `m` subscribes to now (names and its regex's topics that exist).
    fn subscribed_ids(&self, m: &ConsumerMember, topics: &dyn TopicLookup) -> BTreeSet<Uuid> {
        let regex = self.regexes.get(&m.subscribed_topic_regex).map(|r| &r.topics);
        m.subscribed_topic_names
            .iter()
            .chain(regex.into_iter().flatten())
            .filter_map(|n| topics.topic(n).map(|(id, _)| id))
            .collect()
    }

    /// Who owns each partition now (assigned or revoking), with their epoch.
    fn owners(&self) -> HashMap<(Uuid, i32), (i32, &str)> {
        let mut out = HashMap::new();
        for m in self.members.values() {
            for a in [&m.assigned, &m.pending_revocation] {
                for (t, ps) in a {
                    for p in ps {
                        out.insert((*t, *p), (m.member_epoch, m.id.as_str()));
                    }
                }
            }
        }
        out
    }

    /// Puts `m` in the group (replacing the member with its id), keeping the static index.
    fn put_member(&mut self, m: ConsumerMember) {
        let same = self.members.get(&m.id).is_some_and(|old| {
            old.subscribed_topic_names == m.subscribed_topic_names
                && old.subscribed_topic_regex == m.subscribed_topic_regex
        });
        if !same {
            self.subscriptions_changed();
        }
        if let Some(i) = &m.instance_id {
            self.static_members.insert(i.clone(), m.id.clone());
        }
        self.members.insert(m.id.clone(), m);
    }

    /// Removes a member with its records' tombstones (current assignment, target, metadata,
    /// in Kafka's order) and those of regexes nobody else uses; the group epoch moves so the
    /// next heartbeat computes a new target assignment.
    pub fn fence(&mut self, member_id: &str, topics: &dyn TopicLookup) {
        let Some(m) = self.remove_member_records(member_id) else { return };
        self.epoch_before_fence.get_or_insert(self.group_epoch);
        tracing::info!(group = %self.id, member = %m.id, "consumer group member removed");
        self.bump_epoch(topics);
    }

    /// Tombstones a member and forgets it, without moving the epoch.
    fn remove_member_records(&mut self, member_id: &str) -> Option<ConsumerMember> {
        let m = self.members.remove(member_id)?;
        self.subscriptions_changed();
        self.records.push(records::current_assignment_tombstone(&self.id, member_id));
        self.records.push(records::target_member_tombstone(&self.id, member_id));
        self.records.push(records::member_metadata_tombstone(&self.id, member_id));
        self.target.remove(member_id);
        if let Some(i) = &m.instance_id {
            if self.static_members.get(i).map(String::as_str) == Some(member_id) {
                self.static_members.remove(i);
            }
        }
        let regex = &m.subscribed_topic_regex;
        if !regex.is_empty() && !self.members.values().any(|o| &o.subscribed_topic_regex == regex) {
            self.regexes.remove(regex);
            self.records.push(records::regex_tombstone(&self.id, regex));
        }
        Some(m)
    }

    /// The group epoch moves (and is stored with the subscribed topics' hash).
    fn bump_epoch(&mut self, topics: &dyn TopicLookup) {
        self.metadata_hash = self.compute_metadata_hash(topics);
        self.group_epoch += 1;
        self.records.push(records::group_metadata(&self.id, self.group_epoch, self.metadata_hash));
        if std::mem::take(&mut self.has_partition_metadata) {
            self.records.push(records::partition_metadata_tombstone(&self.id));
        }
    }

    /// The subscribed topic names may have changed: the metadata hash is computed again.
    fn subscriptions_changed(&mut self) {
        self.subscriptions_version += 1;
    }

    /// A stable 64-bit hash of the subscribed topics' ids, names and partition counts
    /// (FNV-1a: only ever compared with itself), computed again only when topics or
    /// subscriptions changed since.
    fn compute_metadata_hash(&mut self, topics: &dyn TopicLookup) -> i64 {
        let key = (topics.version(), self.subscriptions_version);
        if let Some((tv, sv, h)) = self.hash_cache {
            if (tv, sv) == key {
                return h;
            }
        }
        let h = self.hash_now(topics);
        self.hash_cache = Some((key.0, key.1, h));
        h
    }

    fn hash_now(&self, topics: &dyn TopicLookup) -> i64 {
        metadata_hash(&self.subscribed_topic_names(), topics)
    }

    /// Timer work: members whose session lapsed, or who did not revoke within their
    /// rebalance timeout, are fenced. True if any was.
    pub fn tick(&mut self, now: Instant, topics: &dyn TopicLookup) -> bool {
        let expired: Vec<(String, &'static str)> = self
            .members
            .values()
            .filter_map(|m| {
                if m.session_deadline <= now {
                    Some((m.id.clone(), "session timeout"))
                } else if m.revocation_deadline.is_some_and(|(d, e)| d <= now && e == m.member_epoch) {
                    Some((m.id.clone(), "rebalance timeout while revoking"))
                } else if m.rejoin_deadline.is_some_and(|d| d <= now) {
                    Some((m.id.clone(), "no JoinGroup within the rebalance timeout"))
                } else {
                    None
                }
            })
            .collect();
        for (id, why) in &expired {
            tracing::info!(group = %self.id, member = %id, "{why}: fencing the member");
            self.fence(id, topics);
        }
        !expired.is_empty()
    }

    /// After a load: every member's session starts now, and members revoking get their
    /// rebalance timeout again.
    pub fn arm_timers(&mut self, now: Instant, session_timeout: Duration) {
        for m in self.members.values_mut() {
            m.session_deadline = now + m.classic.as_ref().map_or(session_timeout, |c| ms(c.session_timeout_ms));
            if m.state == MemberState::UnrevokedPartitions {
                let timeout = Duration::from_millis(m.rebalance_timeout_ms.max(0) as u64);
                m.revocation_deadline = Some((now + timeout, m.member_epoch));
            }
        }
    }

    /// The tombstones that delete the whole group, in Kafka's order.
    pub fn tombstones(&self) -> Vec<Record> {
        let mut out = Vec::new();
        for id in self.members.keys() {
            out.push(records::current_assignment_tombstone(&self.id, id));
        }
        for id in self.target.keys() {
            out.push(records::target_member_tombstone(&self.id, id));
        }
        out.push(records::target_metadata_tombstone(&self.id));
        for id in self.members.keys() {
            out.push(records::member_metadata_tombstone(&self.id, id));
        }
        for r in self.regexes.keys() {
            out.push(records::regex_tombstone(&self.id, r));
        }
        out.push(records::partition_metadata_tombstone(&self.id));
        out.push(records::group_metadata_tombstone(&self.id));
        out
    }
}

/// Offsets and members (Kafka's ConsumerGroup.validateOffsetCommit / validateOffsetFetch):
/// member epochs travel in the old generation fields.
impl ConsumerGroup {
    /// OffsetCommit: a member's commit at its current epoch; a commit with a negative epoch
    /// only while the group has no members (tools, `assign()` consumers).
    pub fn validate_offset_commit(&self, member_id: &str, epoch: i32, version: i16) -> Result<(), GroupError> {
        if epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        let m = self.members.get(member_id).ok_or(GroupError::UnknownMemberId)?;
        // A classic member (online migration) commits with its epoch as generation.
        if m.classic.is_some() {
            return if epoch == m.member_epoch { Ok(()) } else { Err(GroupError::IllegalGeneration) };
        }
        if version < 9 {
            return Err(GroupError::UnsupportedVersion);
        }
        if epoch != m.member_epoch {
            return Err(GroupError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// TxnOffsetCommit: as OffsetCommit, but a stale epoch is ILLEGAL_GENERATION and a
    /// commit naming no member is accepted (producers before KIP-447).
    pub fn validate_txn_offset_commit(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        epoch: i32,
    ) -> Result<(), GroupError> {
        if epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        if epoch == -1 && member_id.is_empty() && instance_id.is_none() {
            return Ok(());
        }
        let m = self.members.get(member_id).ok_or(GroupError::UnknownMemberId)?;
        if epoch != m.member_epoch {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// OffsetFetch v9+: a member asking at an epoch that is not its own is stale.
    pub fn validate_offset_fetch(&self, member_id: Option<&str>, epoch: i32) -> Result<(), GroupError> {
        let Some(member_id) = member_id.filter(|_| epoch >= 0) else { return Ok(()) };
        let m = self.members.get(member_id).ok_or(GroupError::UnknownMemberId)?;
        match (epoch == m.member_epoch, m.classic.is_some()) {
            (true, _) => Ok(()),
            (false, true) => Err(GroupError::IllegalGeneration),
            (false, false) => Err(GroupError::StaleMemberEpoch),
        }
    }
}
