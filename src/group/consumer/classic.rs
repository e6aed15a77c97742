//! Online migration (KIP-848): a classic group whose members use the consumer protocol type
//! becomes a consumer group when a consumer-protocol member joins it, and its classic
//! members keep working inside it through JoinGroup, SyncGroup, Heartbeat and LeaveGroup
//! (Kafka's classicGroup*ToConsumerGroup). A classic member never leads: the coordinator
//! assigns, and SyncGroup hands each member its partitions in the consumer protocol's
//! assignment format. The member's epoch is its generation.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedPartition;
use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::time::Instant;

use super::heartbeat::{new_member_id, HeartbeatEnv, MemberChange};
use super::member::ClassicMember;
use super::{records, Assignment, ConsumerGroup, ConsumerMember, MemberState, TopicLookup};
use crate::group::codec::{GroupValue, StoredMember};
use crate::group::state::Group;
use crate::group::GroupError;

/// The protocol type of consumers (the only one a consumer group takes).
const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// A JoinGroup into a consumer group.
pub struct ClassicJoin {
    pub version: i16,
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
}

/// What a JoinGroup into a consumer group is answered.
#[derive(Debug)]
pub struct ClassicJoined {
    pub member_id: String,
    pub generation: i32,
    pub protocol_name: String,
}

/// A decoded subscription (ConsumerProtocolSubscription, its version first).
struct Subscription {
    topics: Vec<String>,
    owned: Vec<(String, Vec<i32>)>,
    rack: Option<String>,
}

fn decode_subscription(metadata: &Bytes) -> Option<Subscription> {
    let mut b = metadata.clone();
    if b.remaining() < 2 {
        return None;
    }
    let version = b.get_i16();
    let s = ConsumerProtocolSubscription::decode(&mut b, version.clamp(0, 3)).ok()?;
    Some(Subscription {
        topics: s.topics.iter().map(|t| t.to_string()).collect(),
        owned: s.owned_partitions.iter().map(|tp| (tp.topic.to_string(), tp.partitions.clone())).collect(),
        rack: s.rack_id.map(|r| r.to_string()),
    })
}

/// The version a member's subscription was written in (its assignment is answered in it).
fn subscription_version(metadata: &Bytes) -> i16 {
    if metadata.len() < 2 {
        return 0;
    }
    i16::from_be_bytes([metadata[0], metadata[1]]).clamp(0, 3)
}

/// Partitions by topic name, as ids (topics that do not exist are left out).
fn by_id(parts: &[(String, Vec<i32>)], topics: &dyn TopicLookup) -> Assignment {
    let mut a = Assignment::new();
    for (name, ps) in parts {
        if let Some((id, _)) = topics.topic(name) {
            if !ps.is_empty() {
                a.entry(id).or_default().extend(ps.iter().copied());
            }
        }
    }
    a
}

/// An assignment in the consumer protocol's format, `version` first.
pub fn encode_assignment(a: &Assignment, version: i16, topics: &dyn TopicLookup) -> Bytes {
    let assigned = a
        .iter()
        .filter_map(|(id, ps)| {
            let name = topics.topic_name(id)?;
            Some(
                AssignedPartition::default()
                    .with_topic(TopicName(StrBytes::from_string(name)))
                    .with_partitions(ps.iter().copied().collect()),
            )
        })
        .collect();
    let mut b = BytesMut::new();
    b.put_i16(version);
    let encoded = ConsumerProtocolAssignment::default().with_assigned_partitions(assigned).encode(&mut b, version);
    if encoded.is_err() {
        return Bytes::new();
    }
    b.freeze()
}

impl ConsumerGroup {
    /// The protocol every classic member (and this join's) supports, in the joiner's order.
    fn common_protocol(&self, joining: &ClassicJoin) -> Option<String> {
        let others = self.members.values().filter(|m| m.id != joining.member_id).filter_map(|m| m.classic.as_ref());
        let others: Vec<&ClassicMember> = others.collect();
        joining
            .protocols
            .iter()
            .map(|(n, _)| n)
            .find(|n| others.iter().all(|o| o.protocols.iter().any(|(p, _)| p == *n)))
            .cloned()
    }

    /// JoinGroup of a classic member: its subscription (from its protocol metadata) updates
    /// it as a heartbeat would, the partitions it reports owning acknowledge revocations, and
    /// it is answered at once with its epoch as generation. `Err` carries the member id.
    pub fn classic_join(
        &mut self,
        req: &ClassicJoin,
        env: &HeartbeatEnv<'_>,
    ) -> Result<ClassicJoined, (GroupError, String)> {
        let fail = |e: GroupError| Err((e, req.member_id.clone()));
        if req.protocol_type != CONSUMER_PROTOCOL_TYPE || req.protocols.is_empty() {
            return fail(GroupError::InconsistentGroupProtocol);
        }
        let Some(protocol) = self.common_protocol(req) else { return fail(GroupError::InconsistentGroupProtocol) };
        let known = self.members.contains_key(&req.member_id);
        if !known && self.members.len() >= env.max_size {
            return fail(GroupError::GroupMaxSizeReached);
        }
        let mut member_id = req.member_id.clone();
        let mut replaces = None;
        match (&req.instance_id, member_id.is_empty()) {
            (None, true) => {
                member_id = format!("{}-{}", req.client_id, new_member_id());
                if req.version >= 4 {
                    return Err((GroupError::MemberIdRequired, member_id));
                }
            }
            (Some(instance), empty) => {
                match self.static_members.get(instance).filter(|h| self.members.contains_key(*h)).cloned() {
                    Some(holder) if empty => {
                        member_id = format!("{}-{}", req.client_id, new_member_id());
                        replaces = Some(holder);
                    }
                    Some(holder) if holder != member_id => return fail(GroupError::FencedInstanceId),
                    None if empty => member_id = format!("{}-{}", req.client_id, new_member_id()),
                    _ => {}
                }
            }
            (None, false) => {}
        }
        let metadata = req.protocols.iter().find(|(n, _)| *n == protocol).map(|(_, m)| m.clone()).unwrap_or_default();
        let Some(sub) = decode_subscription(&metadata) else { return fail(GroupError::InconsistentGroupProtocol) };
        let old = match &replaces {
            Some(holder) => {
                let mut m = self.members[holder].clone();
                m.id = member_id.clone();
                m.member_epoch = 0;
                m.previous_member_epoch = 0;
                m
            }
            None => self.members.get(&member_id).cloned().unwrap_or_else(|| ConsumerMember::new(&member_id, env.now)),
        };
        let mut updated = old.clone();
        updated.instance_id = req.instance_id.clone().or(updated.instance_id);
        updated.rack_id = sub.rack.or(updated.rack_id);
        updated.client_id = req.client_id.clone();
        updated.client_host = req.client_host.clone();
        updated.rebalance_timeout_ms = req.rebalance_timeout_ms;
        updated.subscribed_topic_names = sub.topics.into_iter().collect::<BTreeSet<_>>();
        updated.subscribed_topic_regex = String::new();
        updated.server_assignor = None;
        updated.classic =
            Some(ClassicMember { session_timeout_ms: req.session_timeout_ms, protocols: req.protocols.clone() });
        let owned = by_id(&sub.owned, env.topics);
        let session_timeout = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
        let change =
            MemberChange { old: &old, updated, replaces, resolved: None, owned: Some(&owned), session_timeout };
        let next = self.update_member(change, env);
        Ok(ClassicJoined { member_id: next.id, generation: next.member_epoch, protocol_name: protocol })
    }

    /// The classic member `member_id` at `generation` (its epoch): the checks SyncGroup,
    /// Heartbeat and OffsetCommit share.
    fn classic_member(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<&mut ConsumerMember, GroupError> {
        if let Some(i) = instance_id {
            if self.static_members.get(i).is_some_and(|holder| holder != member_id) {
                return Err(GroupError::FencedInstanceId);
            }
        }
        let m = self.members.get_mut(member_id).filter(|m| m.classic.is_some()).ok_or(GroupError::UnknownMemberId)?;
        if generation != m.member_epoch {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(m)
    }

    /// SyncGroup of a classic member: its assigned partitions, unless it must rejoin first
    /// (REBALANCE_IN_PROGRESS while the group moved on and it has nothing to revoke).
    pub fn classic_sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        now: Instant,
        topics: &dyn TopicLookup,
    ) -> Result<Bytes, GroupError> {
        let group_epoch = self.group_epoch;
        let m = self.classic_member(member_id, instance_id, generation)?;
        if protocol_type.is_some_and(|t| t != CONSUMER_PROTOCOL_TYPE) {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        let classic = m.classic.as_ref().expect("a classic member");
        m.session_deadline = now + Duration::from_millis(classic.session_timeout_ms.max(0) as u64);
        if group_epoch > m.member_epoch && m.state != MemberState::UnrevokedPartitions {
            return Err(GroupError::RebalanceInProgress);
        }
        let version = classic.protocols.first().map_or(0, |(_, meta)| subscription_version(meta));
        Ok(encode_assignment(&m.assigned, version, topics))
    }

    /// Heartbeat of a classic member: REBALANCE_IN_PROGRESS when it must rejoin (the group
    /// moved on, it has partitions to revoke, or partitions it waits for were released).
    pub fn classic_heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Result<(), GroupError> {
        let group_epoch = self.group_epoch;
        let owners = self.owners_by_member();
        let target = self.target.get(member_id).cloned();
        let m = self.classic_member(member_id, instance_id, generation)?;
        let classic = m.classic.as_ref().expect("a classic member");
        m.session_deadline = now + Duration::from_millis(classic.session_timeout_ms.max(0) as u64);
        let waiting_on_others = || {
            target.as_ref().is_some_and(|t| {
                t.iter().any(|(topic, ps)| {
                    ps.iter().any(|p| {
                        !m.assigned.get(topic).is_some_and(|a| a.contains(p))
                            && owners.get(&(*topic, *p)).is_some_and(|o| o != member_id)
                    })
                })
            })
        };
        let rejoin = m.member_epoch < group_epoch
            || m.state == MemberState::UnrevokedPartitions
            || (m.state == MemberState::UnreleasedPartitions && !waiting_on_others());
        if rejoin {
            let timeout = Duration::from_millis(m.rebalance_timeout_ms.max(0) as u64);
            m.rejoin_deadline.get_or_insert(now + timeout);
            return Err(GroupError::RebalanceInProgress);
        }
        Ok(())
    }

    /// Who owns each partition now, by member id.
    fn owners_by_member(&self) -> std::collections::HashMap<(uuid::Uuid, i32), String> {
        self.owners().into_iter().map(|(k, (_, m))| (k, m.to_string())).collect()
    }

    /// LeaveGroup of a classic member (by id, or by instance id for a static one).
    pub fn classic_leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        topics: &dyn TopicLookup,
    ) -> Result<(), GroupError> {
        let id = match instance_id {
            Some(i) => match self.static_members.get(i) {
                Some(holder) if member_id.is_empty() || holder == member_id => holder.clone(),
                Some(_) => return Err(GroupError::FencedInstanceId),
                None => return Err(GroupError::UnknownMemberId),
            },
            None => member_id.to_string(),
        };
        if self.members.get(&id).is_none_or(|m| m.classic.is_none()) {
            return Err(GroupError::UnknownMemberId);
        }
        self.fence(&id, topics);
        Ok(())
    }

    /// The consumer group a classic group becomes (online upgrade): each member keeps its
    /// generation as epoch, its subscription and its last assignment, which is also its
    /// target; the records that store it all. `Err` says why the group cannot be upgraded.
    pub fn from_classic(g: &Group, topics: &dyn TopicLookup, now: Instant) -> Result<ConsumerGroup, String> {
        if g.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
            return Err(format!(
                "Cannot upgrade classic group {} to consumer group because it is not using the consumer protocol.",
                g.id
            ));
        }
        let protocol = g.protocol.clone().unwrap_or_default();
        let mut c = ConsumerGroup::new(&g.id);
        c.group_epoch = g.generation;
        c.assignment_epoch = g.generation;
        for cm in g.members.values() {
            let metadata =
                cm.protocols.iter().find(|(n, _)| *n == protocol).or(cm.protocols.first()).map(|(_, m)| m.clone());
            let sub = metadata.as_ref().and_then(decode_subscription).ok_or_else(|| {
                format!("Cannot upgrade classic group {} to consumer group because the embedded consumer protocol is malformed.", g.id)
            })?;
            let assigned = decode_assignment(&cm.assignment)
                .map(|parts| by_id(&parts, topics))
                .ok_or_else(|| format!("Cannot upgrade classic group {} to consumer group because the embedded consumer protocol is malformed.", g.id))?;
            let mut m = ConsumerMember::new(&cm.id, now);
            m.instance_id = cm.instance_id.clone();
            m.rack_id = sub.rack;
            m.client_id = cm.client_id.clone();
            m.client_host = cm.client_host.clone();
            m.subscribed_topic_names = sub.topics.into_iter().collect();
            m.rebalance_timeout_ms = cm.rebalance_timeout.as_millis().min(i32::MAX as u128) as i32;
            m.member_epoch = g.generation;
            m.previous_member_epoch = g.generation;
            m.assigned = assigned.clone();
            m.classic = Some(ClassicMember {
                session_timeout_ms: cm.session_timeout.as_millis().min(i32::MAX as u128) as i32,
                protocols: cm.protocols.clone(),
            });
            m.session_deadline = now + cm.session_timeout;
            c.target.insert(m.id.clone(), assigned);
            c.put_member(m);
        }
        c.metadata_hash = c.compute_metadata_hash(topics);
        for m in c.members.values() {
            c.records.push(records::member_metadata(&c.id, m));
        }
        c.records.push(records::group_metadata(&c.id, c.group_epoch, c.metadata_hash));
        for (id, a) in &c.target {
            c.records.push(records::target_member(&c.id, id, a));
        }
        c.records.push(records::target_metadata(&c.id, c.assignment_epoch));
        for m in c.members.values() {
            c.records.push(records::current_assignment(&c.id, m));
        }
        Ok(c)
    }
}

impl ConsumerGroup {
    /// The classic group this one becomes when only classic members are left (online
    /// downgrade): generation = the group epoch (before the fencing that led here), each
    /// member's target assignment in its
    /// protocol's format. `None` without members, with a consumer-protocol member, or without
    /// a protocol every member supports.
    pub fn to_classic(&self, topics: &dyn TopicLookup) -> Option<GroupValue> {
        let classic: Vec<(&ConsumerMember, &ClassicMember)> =
            self.members.values().map(|m| Some((m, m.classic.as_ref()?))).collect::<Option<_>>()?;
        let (_, first) = classic.first()?;
        let protocol = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .find(|n| classic.iter().all(|(_, c)| c.protocols.iter().any(|(p, _)| p == *n)))?
            .clone();
        let none = Assignment::new();
        let members = classic
            .iter()
            .map(|(m, c)| {
                let subscription =
                    c.protocols.iter().find(|(n, _)| *n == protocol).map(|(_, s)| s.clone()).unwrap_or_default();
                let target = self.target.get(&m.id).unwrap_or(&none);
                StoredMember {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout_ms,
                    session_timeout: c.session_timeout_ms,
                    assignment: encode_assignment(target, subscription_version(&subscription), topics),
                    subscription,
                }
            })
            .collect::<Vec<_>>();
        Some(GroupValue {
            protocol_type: CONSUMER_PROTOCOL_TYPE.into(),
            generation: self.epoch_before_fence.unwrap_or(self.group_epoch),
            protocol: Some(protocol),
            leader: members.first().map(|m| m.member_id.clone()),
            state_timestamp: crate::util::now_ms(),
            members,
        })
    }
}

/// A classic member's assignment (ConsumerProtocolAssignment, its version first); empty
/// bytes (never synced) are no partitions.
fn decode_assignment(bytes: &Bytes) -> Option<Vec<(String, Vec<i32>)>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let mut b = bytes.clone();
    if b.remaining() < 2 {
        return None;
    }
    let version = b.get_i16();
    let a = ConsumerProtocolAssignment::decode(&mut b, version.clamp(0, 3)).ok()?;
    Some(a.assigned_partitions.iter().map(|tp| (tp.topic.to_string(), tp.partitions.clone())).collect())
}
