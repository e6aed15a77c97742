//! ConsumerGroupHeartbeat's rules (Kafka's GroupMetadataManager.consumerGroupHeartbeat):
//! join, heartbeat and leave; member and static-member checks; the group epoch; the target
//! assignment; each member's reconciliation; and the records each step writes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use super::assignor::{self, MemberSpec};
use super::member::Reconcile;
use super::{records, regex, Assignment, ConsumerGroup, ConsumerMember, MemberState, ResolvedRegex, TopicLookup};
use crate::group::GroupError;

/// A member may not leave for this epoch and come back as someone else.
const LEAVE_GROUP_MEMBER_EPOCH: i32 = -1;
/// A static member leaving for a while (it keeps its partitions until its session lapses).
const LEAVE_GROUP_STATIC_MEMBER_EPOCH: i32 = -2;
/// Regular expressions are evaluated again at most this often (Kafka's throttle).
const REGEX_REFRESH_MIN: Duration = Duration::from_secs(10);

/// One ConsumerGroupHeartbeat, as the coordinator needs it.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub version: i16,
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    /// The partitions the member owns now (`None`: unchanged since it last said).
    pub owned: Option<Assignment>,
    pub client_id: String,
    pub client_host: String,
}

impl Heartbeat {
    /// A "full" request (sent after errors): the assignment is answered whatever changed.
    fn is_full(&self) -> bool {
        self.rebalance_timeout_ms != -1
            && (self.subscribed_topic_names.is_some() || self.subscribed_topic_regex.is_some())
            && self.owned.is_some()
    }
}

/// What the coordinator's heartbeat work needs besides the request.
pub struct HeartbeatEnv<'a> {
    pub now: Instant,
    pub now_ms: i64,
    pub topics: &'a dyn TopicLookup,
    /// `group.consumer.assignors`; the first is the default.
    pub assignors: &'a [String],
    pub max_size: usize,
    pub session_timeout: Duration,
    /// Whether the heartbeating member's principal may DESCRIBE a topic: a regular expression
    /// it brings or refreshes resolves only to those (Kafka 4.1's regex authorization).
    pub describable: &'a (dyn Fn(&str) -> bool + Sync),
}

impl HeartbeatEnv<'_> {
    /// The topic names a regular expression may resolve to.
    fn visible_names(&self) -> Vec<String> {
        let mut names = self.topics.names();
        names.retain(|n| (self.describable)(n));
        names
    }
}

/// The answer to a heartbeat that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    pub member_id: String,
    pub member_epoch: i32,
    /// The member's assigned partitions, when they changed (or must be repeated).
    pub assignment: Option<Assignment>,
}

/// A refused heartbeat: the error and Kafka's message.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub error: GroupError,
    pub message: Option<String>,
}

impl Refusal {
    pub fn new(error: GroupError, message: impl Into<String>) -> Self {
        Self { error, message: Some(message.into()) }
    }
}

fn invalid(message: &str) -> Refusal {
    Refusal::new(GroupError::InvalidRequest, message)
}

/// The request checks Kafka makes before the group is looked at
/// (throwIfConsumerGroupHeartbeatRequestIsInvalid), in its order.
pub fn validate(req: &Heartbeat, group_id: &str, assignors: &[String]) -> Result<(), Refusal> {
    let blank = |s: &str| s.trim().is_empty();
    let epoch = req.member_epoch;
    if (req.version >= 1 || epoch > 0 || epoch == LEAVE_GROUP_MEMBER_EPOCH) && blank(&req.member_id) {
        return Err(invalid("MemberId can't be empty."));
    }
    if blank(group_id) {
        return Err(invalid("GroupId can't be empty."));
    }
    if req.instance_id.as_deref().is_some_and(blank) {
        return Err(invalid("InstanceId can't be empty."));
    }
    if req.rack_id.as_deref().is_some_and(blank) {
        return Err(invalid("RackId can't be empty."));
    }
    if epoch == 0 {
        if req.rebalance_timeout_ms == -1 {
            return Err(invalid("RebalanceTimeoutMs must be provided in first request."));
        }
        if req.owned.as_ref().is_none_or(|o| !o.is_empty()) {
            return Err(invalid("TopicPartitions must be empty when (re-)joining."));
        }
        if req.subscribed_topic_names.is_none() && req.subscribed_topic_regex.is_none() {
            return Err(invalid(
                "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.",
            ));
        }
    } else if epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH {
        if req.instance_id.is_none() {
            return Err(invalid("InstanceId can't be null."));
        }
    } else if epoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH {
        return Err(invalid("MemberEpoch is invalid."));
    }
    if let Some(a) = &req.server_assignor {
        if !assignors.iter().any(|n| n == a) {
            return Err(Refusal::new(
                GroupError::UnsupportedAssignor,
                format!("ServerAssignor {a} is not supported. Supported assignors: {}.", assignors.join(", ")),
            ));
        }
    }
    Ok(())
}

/// A member id as Kafka makes them: a random UUID in URL-safe base64 without padding.
pub fn new_member_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Kafka's member epoch check (with the fix of KAFKA-19233: a known member rejoining with
/// epoch 0 is accepted): an epoch from the future is fenced; one from the past only if it is
/// the member's previous epoch and it owns nothing beyond its assignment (the answer that
/// moved it on was lost).
fn check_epoch(m: &ConsumerMember, received: i32, owned: Option<&Assignment>) -> Result<(), Refusal> {
    let fenced = || {
        Refusal::new(
            GroupError::FencedMemberEpoch,
            format!("The consumer group member has a greater member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.", m.member_epoch),
        )
    };
    if received == 0 {
        return Ok(());
    }
    if received > m.member_epoch {
        return Err(fenced());
    }
    if received < m.member_epoch {
        let within = |o: &Assignment| o.iter().all(|(t, ps)| m.assigned.get(t).is_some_and(|a| ps.is_subset(a)));
        if received != m.previous_member_epoch || !owned.is_some_and(within) {
            return Err(Refusal::new(
                GroupError::FencedMemberEpoch,
                format!("The consumer group member has a smaller member epoch ({received}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.", m.member_epoch),
            ));
        }
    }
    Ok(())
}

impl ConsumerGroup {
    /// One heartbeat of a member of this group (join, heartbeat or leave). Records to store
    /// are left in the group ([`ConsumerGroup::take_records`]).
    pub fn heartbeat(&mut self, req: &Heartbeat, env: &HeartbeatEnv<'_>) -> Result<HeartbeatAnswer, Refusal> {
        if req.member_epoch < 0 {
            return self.leave(req, env);
        }
        if self.members.len() >= env.max_size
            && (req.member_id.is_empty() || !self.members.contains_key(&req.member_id))
        {
            return Err(Refusal::new(
                GroupError::GroupMaxSizeReached,
                format!("The consumer group has reached its maximum capacity of {} members.", env.max_size),
            ));
        }
        let member_id = if req.member_id.is_empty() { new_member_id() } else { req.member_id.clone() };
        let owned = req.owned.as_ref();
        // The member as it was (a new one is the default member), and the static member it
        // replaces, if any.
        let (old, replaces) = match &req.instance_id {
            None => match self.members.get(&member_id) {
                None if req.member_epoch == 0 => (ConsumerMember::new(&member_id, env.now), None),
                None => return Err(unknown_member(&member_id, &self.id)),
                Some(m) => {
                    check_epoch(m, req.member_epoch, owned)?;
                    (m.clone(), None)
                }
            },
            // A holder missing from the members (damaged records) counts as no holder.
            Some(instance) => {
                match self.static_members.get(instance).filter(|h| self.members.contains_key(*h)).cloned() {
                    None if req.member_epoch == 0 => (ConsumerMember::new(&member_id, env.now), None),
                    None => {
                        return Err(Refusal::new(
                            GroupError::UnknownMemberId,
                            format!("Instance id {instance} is unknown."),
                        ))
                    }
                    Some(holder) if holder == member_id => {
                        let m = &self.members[&holder];
                        check_epoch(m, req.member_epoch, owned)?;
                        (m.clone(), None)
                    }
                    Some(holder) if req.member_epoch == 0 => {
                        let h = &self.members[&holder];
                        if h.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH {
                            return Err(Refusal::new(
                            GroupError::UnreleasedInstanceId,
                            format!("Static member {member_id} with instance id {instance} cannot join the group because the instance id is owned by {holder} member."),
                        ));
                        }
                        // It takes the place of the member that left for a while: same
                        // assignment, same target, a new id.
                        let mut m = h.clone();
                        m.id = member_id.clone();
                        m.member_epoch = 0;
                        m.previous_member_epoch = 0;
                        (m, Some(holder))
                    }
                    Some(holder) => {
                        return Err(Refusal::new(
                            GroupError::FencedInstanceId,
                            format!(
                                "Static member {member_id} with instance id {instance} was fenced by member {holder}."
                            ),
                        ))
                    }
                }
            }
        };
        if old.state == MemberState::Unknown && owned.is_none_or(|o| !o.is_empty()) {
            return Err(Refusal::new(
                GroupError::FencedMemberEpoch,
                "The consumer group member is in a unknown state. The member must abandon all its partitions and rejoin.",
            ));
        }
        let mut updated = old.clone();
        apply_request(&mut updated, req);
        // A new regular expression is checked (and evaluated) before anything changes.
        let regex_changed = updated.subscribed_topic_regex != old.subscribed_topic_regex;
        let new_regex = &updated.subscribed_topic_regex;
        let resolved = if regex_changed && !new_regex.is_empty() && !self.regexes.contains_key(new_regex) {
            let re = regex::compile(new_regex).map_err(|m| Refusal::new(GroupError::InvalidRegularExpression, m))?;
            let names = env.visible_names();
            Some(ResolvedRegex {
                topics: regex::resolve(&re, &names),
                version: env.topics.version() as i64,
                timestamp_ms: env.now_ms,
            })
        } else {
            None
        };

        let change =
            MemberChange { old: &old, updated, replaces, resolved, owned, session_timeout: env.session_timeout };
        let next = self.update_member(change, env);
        let assignment =
            (req.member_epoch == 0 || req.is_full() || next.assigned != old.assigned).then(|| next.assigned.clone());
        Ok(HeartbeatAnswer { member_id: next.id.clone(), member_epoch: next.member_epoch, assignment })
    }

    /// Epoch -1 (leave) or -2 (a static member leaving for a while).
    fn leave(&mut self, req: &Heartbeat, env: &HeartbeatEnv<'_>) -> Result<HeartbeatAnswer, Refusal> {
        let member_id = match &req.instance_id {
            None => {
                if !self.members.contains_key(&req.member_id) {
                    return Err(unknown_member(&req.member_id, &self.id));
                }
                req.member_id.clone()
            }
            Some(instance) => match self.static_members.get(instance) {
                None => {
                    return Err(Refusal::new(
                        GroupError::UnknownMemberId,
                        format!("Instance id {instance} is unknown."),
                    ))
                }
                Some(holder) if *holder != req.member_id => {
                    return Err(Refusal::new(
                        GroupError::FencedInstanceId,
                        format!(
                            "Static member {} with instance id {instance} was fenced by member {holder}.",
                            req.member_id
                        ),
                    ))
                }
                Some(holder) => holder.clone(),
            },
        };
        if req.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH {
            // Keeps its partitions (nobody else gets them) until its session lapses.
            let m = self.members.get_mut(&member_id).expect("checked above");
            m.previous_member_epoch = m.member_epoch;
            m.member_epoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH;
            m.pending_revocation.clear();
            let record = records::current_assignment(&self.id, m);
            self.records.push(record);
        } else {
            self.fence(&member_id, env.topics);
        }
        Ok(HeartbeatAnswer { member_id: req.member_id.clone(), member_epoch: req.member_epoch, assignment: None })
    }

    /// Evaluates the group's regular expressions again when topics were created or deleted
    /// since (at most every ten seconds): true if some resolved to other topics.
    fn refresh_regexes(&mut self, env: &HeartbeatEnv<'_>) -> bool {
        let version = env.topics.version() as i64;
        let last = self.regexes.values().map(|r| r.timestamp_ms).max().unwrap_or(i64::MIN);
        let stale = self.regexes.values().any(|r| r.version != version);
        if !stale || env.now_ms.saturating_sub(last) < REGEX_REFRESH_MIN.as_millis() as i64 {
            return false;
        }
        let names = env.visible_names();
        let mut changed = false;
        let patterns: Vec<String> = self.regexes.keys().cloned().collect();
        for p in patterns {
            let Ok(re) = regex::compile(&p) else { continue };
            let r = ResolvedRegex { topics: regex::resolve(&re, &names), version, timestamp_ms: env.now_ms };
            if self.regexes.get(&p).is_some_and(|old| old.topics != r.topics) {
                changed = true;
                self.subscriptions_changed();
            }
            self.records.push(records::regex(&self.id, &p, &r));
            self.regexes.insert(p, r);
        }
        changed
    }

    /// A new target assignment for every member, at the group epoch; records for the
    /// members whose target changed, then the assignment epoch.
    fn compute_target(&mut self, env: &HeartbeatEnv<'_>) {
        let assignor = self.preferred_assignor(env.assignors);
        let subscribed: Vec<BTreeSet<uuid::Uuid>> =
            self.members.values().map(|m| self.subscribed_ids(m, env.topics)).collect();
        let empty = Assignment::new();
        let specs: Vec<MemberSpec<'_>> = self
            .members
            .values()
            .zip(subscribed)
            .map(|(m, subscribed)| MemberSpec {
                member_id: &m.id,
                instance_id: m.instance_id.as_deref(),
                subscribed,
                current: self.target.get(&m.id).unwrap_or(&empty),
            })
            .collect();
        let mut partitions = BTreeMap::new();
        for name in self.subscribed_topic_names() {
            if let Some((id, count)) = env.topics.topic(&name) {
                partitions.insert(id, count);
            }
        }
        let result = assignor::assign(&assignor, &specs, &partitions);
        drop(specs);
        for (member, a) in result {
            if self.target.get(&member) != Some(&a) {
                self.records.push(records::target_member(&self.id, &member, &a));
                self.target.insert(member, a);
            }
        }
        self.assignment_epoch = self.group_epoch;
        self.records.push(records::target_metadata(&self.id, self.assignment_epoch));
    }

    /// The assignor most members ask for, else the broker's default.
    pub fn preferred_assignor(&self, assignors: &[String]) -> String {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(a) = &m.server_assignor {
                *votes.entry(a).or_default() += 1;
            }
        }
        let best = votes.into_iter().max_by_key(|(name, n)| (*n, std::cmp::Reverse(*name)));
        best.map(|(n, _)| n.to_string())
            .or_else(|| assignors.first().cloned())
            .unwrap_or_else(|| assignor::UNIFORM.to_string())
    }
}

/// A member's update, checked and ready to apply.
pub(super) struct MemberChange<'a> {
    /// The member as it was (a new one: the default member).
    pub old: &'a ConsumerMember,
    /// With the request applied.
    pub updated: ConsumerMember,
    /// The static member it takes the place of.
    pub replaces: Option<String>,
    /// Its new regular expression, evaluated.
    pub resolved: Option<ResolvedRegex>,
    pub owned: Option<&'a Assignment>,
    pub session_timeout: Duration,
}

impl ConsumerGroup {
    /// Applies a member's update: its records, the group epoch, a new target assignment if
    /// the epoch moved, and its reconciliation. The member as it is now (in the group).
    pub(super) fn update_member(&mut self, change: MemberChange<'_>, env: &HeartbeatEnv<'_>) -> ConsumerMember {
        let MemberChange { old, updated, replaces, resolved, owned, session_timeout } = change;
        let regex_changed = updated.subscribed_topic_regex != old.subscribed_topic_regex;
        let new_regex = &updated.subscribed_topic_regex;
        let is_new = !self.members.contains_key(&old.id) || replaces.is_some();
        if let Some(holder) = &replaces {
            let target = self.target.get(holder).cloned().unwrap_or_default();
            self.remove_member_records(holder);
            self.records.push(records::member_metadata(&self.id, &updated));
            self.records.push(records::target_member(&self.id, &updated.id, &target));
            self.records.push(records::current_assignment(&self.id, &updated));
            self.target.insert(updated.id.clone(), target);
        } else if is_new || updated.metadata_differs(old) {
            self.records.push(records::member_metadata(&self.id, &updated));
        }
        let names_changed = updated.subscribed_topic_names != old.subscribed_topic_names;
        let mut bump = self.group_epoch == 0 || names_changed || regex_changed;
        if regex_changed && !old.subscribed_topic_regex.is_empty() {
            let still_used =
                self.members.values().any(|m| m.id != old.id && m.subscribed_topic_regex == old.subscribed_topic_regex);
            if !still_used {
                self.regexes.remove(&old.subscribed_topic_regex);
                self.records.push(records::regex_tombstone(&self.id, &old.subscribed_topic_regex));
            }
        }
        self.put_member(updated.clone());
        bump |= self.refresh_regexes(env);
        if bump || self.compute_metadata_hash(env.topics) != self.metadata_hash {
            self.bump_epoch(env.topics);
        }
        if self.group_epoch > self.assignment_epoch {
            self.compute_target(env);
        }

        // Reconciliation towards the member's target (the usual heartbeat of a reconciled
        // member skips it, and the partition owners it would need).
        let subscription_changed = names_changed || regex_changed;
        let mut next = if !subscription_changed && updated.is_reconciled_to(self.assignment_epoch) {
            updated.clone()
        } else {
            let target = self.target.get(&updated.id).cloned().unwrap_or_default();
            let subscribed = self.subscribed_ids(&updated, env.topics);
            let owners = self.owners();
            let owner_epoch = |t: &uuid::Uuid, p: i32| owners.get(&(*t, p)).copied();
            let r = Reconcile {
                target_epoch: self.assignment_epoch,
                target: &target,
                subscribed: &subscribed,
                subscription_changed,
                owned,
                owner_epoch: &owner_epoch,
            };
            updated.reconciled(&r)
        };
        if next.assignment_differs(&updated) {
            self.records.push(records::current_assignment(&self.id, &next));
            next.revocation_deadline = (next.state == MemberState::UnrevokedPartitions).then(|| {
                let timeout = Duration::from_millis(next.rebalance_timeout_ms.max(0) as u64);
                (env.now + timeout, next.member_epoch)
            });
        }
        next.session_deadline = env.now + session_timeout;
        next.rejoin_deadline = None;
        self.put_member(next.clone());
        // A regular expression new to the group resolves after this heartbeat's assignment,
        // with a new group epoch, so the topics it matches come at the next heartbeat: Kafka
        // resolves it asynchronously and clients expect the literal topics first (librdkafka's
        // 0045 resubscribe test).
        if let Some(r) = resolved {
            self.records.push(records::regex(&self.id, new_regex, &r));
            self.regexes.insert(new_regex.clone(), r);
            self.subscriptions_changed();
            self.bump_epoch(env.topics);
        }
        next
    }
}

fn unknown_member(member_id: &str, group: &str) -> Refusal {
    Refusal::new(GroupError::UnknownMemberId, format!("Member {member_id} is not a member of group {group}."))
}

/// The request's non-null fields replace the member's (null means unchanged).
fn apply_request(m: &mut ConsumerMember, req: &Heartbeat) {
    if let Some(i) = &req.instance_id {
        m.instance_id = Some(i.clone());
    }
    if let Some(r) = &req.rack_id {
        m.rack_id = Some(r.clone());
    }
    if req.rebalance_timeout_ms != -1 {
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    }
    if let Some(names) = &req.subscribed_topic_names {
        m.subscribed_topic_names = names.iter().cloned().collect();
    }
    if let Some(re) = &req.subscribed_topic_regex {
        m.subscribed_topic_regex = re.clone();
    }
    if let Some(a) = &req.server_assignor {
        m.server_assignor = Some(a.clone());
    }
    m.client_id = req.client_id.clone();
    m.client_host = req.client_host.clone();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_look_like_kafkas() {
        let id = new_member_id();
        assert_eq!(id.len(), 22, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(id, new_member_id());
    }
}
