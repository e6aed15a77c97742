//! Consumer-group helpers for the group protocol tests: request builders for the classic
//! group APIs, a real `ConsumerProtocolSubscription` encoding, and shortcuts that drive a
//! member through JoinGroup/SyncGroup.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, Request};

use super::{sb, tn, Client};

// Kafka error codes (org.apache.kafka.common.protocol.Errors).
pub const NONE: i16 = 0;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const OFFSET_METADATA_TOO_LARGE: i16 = 12;
pub const INVALID_REQUEST: i16 = 42;
pub const ILLEGAL_GENERATION: i16 = 22;
pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
pub const INVALID_GROUP_ID: i16 = 24;
pub const UNKNOWN_MEMBER_ID: i16 = 25;
pub const INVALID_SESSION_TIMEOUT: i16 = 26;
pub const REBALANCE_IN_PROGRESS: i16 = 27;
pub const NON_EMPTY_GROUP: i16 = 68;
pub const GROUP_ID_NOT_FOUND: i16 = 69;
pub const MEMBER_ID_REQUIRED: i16 = 79;
pub const GROUP_MAX_SIZE_REACHED: i16 = 81;
pub const FENCED_INSTANCE_ID: i16 = 82;
pub const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;

// Modern versions used unless a test says otherwise.
pub const JOIN_V: i16 = 9;
pub const SYNC_V: i16 = 5;
pub const HEARTBEAT_V: i16 = 4;
pub const LEAVE_V: i16 = 5;
pub const COMMIT_V: i16 = 8;
pub const OFFSET_FETCH_V: i16 = 7;
pub const DESCRIBE_GROUPS_V: i16 = 5;
pub const LIST_GROUPS_V: i16 = 5;

pub const SESSION_MS: i32 = 10_000;
pub const REBALANCE_MS: i32 = 10_000;

pub fn gid(s: &str) -> GroupId {
    GroupId(sb(s))
}

/// Consumer protocol metadata as the Java client writes it: i16 version, then
/// `ConsumerProtocolSubscription` encoded at that version.
pub fn subscription_v(topics: &[&str], version: i16) -> Bytes {
    let sub = ConsumerProtocolSubscription::default().with_topics(topics.iter().map(|t| sb(t)).collect());
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    sub.encode(&mut buf, version).expect("encode subscription");
    buf.freeze()
}

pub fn subscription(topics: &[&str]) -> Bytes {
    subscription_v(topics, 3)
}

pub fn protocol(name: &str, metadata: Bytes) -> JoinGroupRequestProtocol {
    JoinGroupRequestProtocol::default().with_name(sb(name)).with_metadata(metadata)
}

/// One protocol per name, all with the same subscription to `topics`.
pub fn consumer_protocols(names: &[&str], topics: &[&str]) -> Vec<JoinGroupRequestProtocol> {
    names.iter().map(|n| protocol(n, subscription(topics))).collect()
}

pub fn join_request(
    group: &str,
    member_id: &str,
    instance: Option<&str>,
    protocol_type: &str,
    protocols: Vec<JoinGroupRequestProtocol>,
) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(SESSION_MS)
        .with_rebalance_timeout_ms(REBALANCE_MS)
        .with_member_id(sb(member_id))
        .with_group_instance_id(instance.map(sb))
        .with_protocol_type(sb(protocol_type))
        .with_protocols(protocols)
}

/// A dynamic consumer's first join at JOIN_V: MEMBER_ID_REQUIRED, then the rejoin with the
/// given id. Returns the final response (which may only arrive after a rebalance completes).
pub async fn join_new(c: &mut Client, group: &str, protocols: Vec<JoinGroupRequestProtocol>) -> JoinGroupResponse {
    let id = member_id_required(c, group, protocols.clone()).await;
    c.call(&join_request(group, &id, None, "consumer", protocols), JOIN_V).await
}

/// Sends the first (empty member id) JoinGroup at JOIN_V and returns the member id handed out
/// with MEMBER_ID_REQUIRED.
pub async fn member_id_required(c: &mut Client, group: &str, protocols: Vec<JoinGroupRequestProtocol>) -> String {
    let r = c.call(&join_request(group, "", None, "consumer", protocols), JOIN_V).await;
    assert_eq!(r.error_code, MEMBER_ID_REQUIRED, "first JoinGroup v{JOIN_V} with an empty member id");
    assert!(!r.member_id.is_empty(), "MEMBER_ID_REQUIRED carries the member id");
    r.member_id.to_string()
}

pub fn sync_request(
    group: &str,
    generation: i32,
    member: &str,
    instance: Option<&str>,
    assignments: &[(&str, &[u8])],
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(sb(member))
        .with_group_instance_id(instance.map(sb))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(sb(m))
                        .with_assignment(Bytes::copy_from_slice(a))
                })
                .collect(),
        )
}

pub async fn sync(
    c: &mut Client,
    group: &str,
    generation: i32,
    member: &str,
    instance: Option<&str>,
    assignments: &[(&str, &[u8])],
) -> SyncGroupResponse {
    c.call(&sync_request(group, generation, member, instance, assignments), SYNC_V).await
}

pub fn heartbeat_request(group: &str, generation: i32, member: &str, instance: Option<&str>) -> HeartbeatRequest {
    HeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_generation_id(generation)
        .with_member_id(sb(member))
        .with_group_instance_id(instance.map(sb))
}

pub async fn heartbeat(c: &mut Client, group: &str, generation: i32, member: &str, instance: Option<&str>) -> i16 {
    c.call(&heartbeat_request(group, generation, member, instance), HEARTBEAT_V).await.error_code
}

/// A one-member consumer group, Stable: join (with the MEMBER_ID_REQUIRED round trip),
/// then SyncGroup handing itself `assignment`. Returns (member id, generation).
pub async fn stable_single(c: &mut Client, group: &str, topics: &[&str], assignment: &[u8]) -> (String, i32) {
    let j = join_new(c, group, consumer_protocols(&["range"], topics)).await;
    assert_eq!(j.error_code, NONE, "JoinGroup of the only member of {group}");
    let id = j.member_id.to_string();
    assert_eq!(j.leader.as_str(), id, "the only member leads");
    let s = sync(c, group, j.generation_id, &id, None, &[(&id, assignment)]).await;
    assert_eq!(s.error_code, NONE, "leader SyncGroup of {group}");
    assert_eq!(s.assignment.as_ref(), assignment);
    (id, j.generation_id)
}

pub async fn describe_v(c: &mut Client, group: &str, version: i16) -> DescribedGroup {
    let r = c.call(&DescribeGroupsRequest::default().with_groups(vec![gid(group)]), version).await;
    assert_eq!(r.groups.len(), 1, "one described group");
    assert_eq!(r.groups[0].group_id.as_str(), group);
    r.groups[0].clone()
}

pub async fn describe(c: &mut Client, group: &str) -> DescribedGroup {
    describe_v(c, group, DESCRIBE_GROUPS_V).await
}

pub async fn group_state(c: &mut Client, group: &str) -> String {
    let d = describe(c, group).await;
    assert_eq!(d.error_code, NONE, "DescribeGroups {group}");
    d.group_state.to_string()
}

/// LeaveGroup v3+ for a batch of (member id, instance id).
pub fn leave_request(group: &str, members: &[(&str, Option<&str>)]) -> LeaveGroupRequest {
    LeaveGroupRequest::default().with_group_id(gid(group)).with_members(
        members
            .iter()
            .map(|(m, i)| MemberIdentity::default().with_member_id(sb(m)).with_group_instance_id(i.map(sb)))
            .collect(),
    )
}

pub async fn leave(c: &mut Client, group: &str, members: &[(&str, Option<&str>)]) -> LeaveGroupResponse {
    c.call(&leave_request(group, members), LEAVE_V).await
}

/// (topic, partition, offset, metadata)
pub type CommitEntry<'a> = (&'a str, i32, i64, Option<&'a str>);

pub fn commit_request(
    group: &str,
    generation: i32,
    member: &str,
    instance: Option<&str>,
    offsets: &[CommitEntry],
) -> OffsetCommitRequest {
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for (t, p, o, m) in offsets {
        let part = OffsetCommitRequestPartition::default()
            .with_partition_index(*p)
            .with_committed_offset(*o)
            .with_committed_metadata(m.map(sb));
        match topics.iter_mut().find(|x| x.name.as_str() == *t) {
            Some(x) => x.partitions.push(part),
            None => topics.push(OffsetCommitRequestTopic::default().with_name(tn(t)).with_partitions(vec![part])),
        }
    }
    OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(sb(member))
        .with_group_instance_id(instance.map(sb))
        .with_topics(topics)
}

/// Flattens an OffsetCommit response into (topic, partition, error).
pub fn commit_codes(r: &OffsetCommitResponse) -> Vec<(String, i32, i16)> {
    r.topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.name.to_string(), p.partition_index, p.error_code)))
        .collect()
}

pub async fn commit(
    c: &mut Client,
    group: &str,
    generation: i32,
    member: &str,
    instance: Option<&str>,
    offsets: &[CommitEntry<'_>],
) -> Vec<(String, i32, i16)> {
    let r = c.call(&commit_request(group, generation, member, instance, offsets), COMMIT_V).await;
    commit_codes(&r)
}

/// Asserts every partition of the commit succeeded.
pub async fn commit_ok(c: &mut Client, group: &str, generation: i32, member: &str, offsets: &[CommitEntry<'_>]) {
    let codes = commit(c, group, generation, member, None, offsets).await;
    assert_eq!(codes.len(), offsets.len());
    for (t, p, e) in codes {
        assert_eq!(e, NONE, "commit {group} {t}-{p}");
    }
}

/// Standalone commit (generation -1, no member), as assign()-mode consumers and admin tools do.
pub async fn commit_standalone(c: &mut Client, group: &str, offsets: &[CommitEntry<'_>]) {
    commit_ok(c, group, -1, "", offsets).await
}

/// (topic, partition, committed offset, metadata, error)
pub type Fetched = (String, i32, i64, Option<String>, i16);

pub fn offset_fetch_request(group: &str, topics: Option<&[(&str, &[i32])]>) -> OffsetFetchRequest {
    OffsetFetchRequest::default().with_group_id(gid(group)).with_topics(topics.map(|ts| {
        ts.iter()
            .map(|(t, ps)| OffsetFetchRequestTopic::default().with_name(tn(t)).with_partition_indexes(ps.to_vec()))
            .collect()
    }))
}

pub fn fetched_v1_7(r: &OffsetFetchResponse) -> Vec<Fetched> {
    let mut v: Vec<Fetched> = r
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    t.name.to_string(),
                    p.partition_index,
                    p.committed_offset,
                    p.metadata.as_ref().map(|m| m.to_string()),
                    p.error_code,
                )
            })
        })
        .collect();
    v.sort();
    v
}

/// OffsetFetch (single group) at `version` (1..=7); asserts no top-level error (v2+).
pub async fn fetch_offsets_v(
    c: &mut Client,
    group: &str,
    topics: Option<&[(&str, &[i32])]>,
    version: i16,
) -> Vec<Fetched> {
    let r = c.call(&offset_fetch_request(group, topics), version).await;
    assert_eq!(r.error_code, NONE, "OffsetFetch v{version} {group} top-level error");
    fetched_v1_7(&r)
}

pub async fn fetch_offsets(c: &mut Client, group: &str, topics: Option<&[(&str, &[i32])]>) -> Vec<Fetched> {
    fetch_offsets_v(c, group, topics, OFFSET_FETCH_V).await
}

/// The committed offset of one partition (-1 when none).
pub async fn committed(c: &mut Client, group: &str, topic: &str, partition: i32) -> i64 {
    let f = fetch_offsets(c, group, Some(&[(topic, &[partition])])).await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].4, NONE, "OffsetFetch {group} {topic}-{partition}");
    f[0].2
}

/// DeleteGroups v2: (group, error), sorted by group id.
pub async fn delete_groups(c: &mut Client, groups: &[&str]) -> Vec<(String, i16)> {
    let r = c.call(&DeleteGroupsRequest::default().with_groups_names(groups.iter().map(|g| gid(g)).collect()), 2).await;
    // Kafka answers from a map keyed by group id: compare without relying on the order.
    let mut v: Vec<(String, i16)> = r.results.iter().map(|g| (g.group_id.to_string(), g.error_code)).collect();
    v.sort();
    v
}

/// ListGroups v5 with a states filter: (group, protocol type, state), sorted.
pub async fn list_groups(c: &mut Client, states: &[&str]) -> Vec<(String, String, String)> {
    let req = ListGroupsRequest::default().with_states_filter(states.iter().map(|s| sb(s)).collect());
    let r = c.call(&req, LIST_GROUPS_V).await;
    assert_eq!(r.error_code, NONE, "ListGroups");
    let mut v: Vec<(String, String, String)> = r
        .groups
        .iter()
        .map(|g| (g.group_id.to_string(), g.protocol_type.to_string(), g.group_state.to_string()))
        .collect();
    v.sort();
    v
}

/// Asserts that no response arrives on `c` within `ms` milliseconds (a parked request).
pub async fn assert_no_response(c: &mut Client, ms: u64, what: &str) {
    match c.read_frame_within(Duration::from_millis(ms)).await {
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
        Ok(Some(f)) => panic!("{what}: expected no response yet, got a {}-byte response", f.len()),
        Ok(None) => panic!("{what}: connection closed"),
        Err(e) => panic!("{what}: read failed: {e}"),
    }
}

/// Reads the response of a request sent earlier with `send` and checks its correlation id.
pub async fn recv_for<R: Request>(c: &mut Client, cid: i32, version: i16) -> R::Response {
    let (got, resp) = c.recv::<R>(version).await;
    assert_eq!(got, cid, "correlation id");
    resp
}

/// A ConsumerGroupHeartbeat that joins `group` as a new member (epoch 0) subscribed to `topics`.
pub fn consumer_join(group: &str, member: &str, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_member_id(sb(member))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(topics.iter().map(|t| tn(t)).collect()))
        .with_topic_partitions(Some(Vec::new()))
}
