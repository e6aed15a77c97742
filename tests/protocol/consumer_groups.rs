//! The consumer group protocol (KIP-848) with raw ConsumerGroupHeartbeat and
//! ConsumerGroupDescribe requests: members split partitions and move towards their target
//! one step at a time (a partition is revoked and acknowledged before anyone else gets it,
//! checked at every answer); Kafka's error for each refusal; static members; member epochs
//! in offset commits and fetches; the group seen by ConsumerGroupDescribe, ListGroups and
//! DescribeGroups; state replayed after a restart; sessions that lapse; regular expressions.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::*;
use uuid::Uuid;

use crate::common::groups::consumer_join as join;
use crate::common::groups::*;
use crate::common::*;

const FENCED_MEMBER_EPOCH: i16 = 110;
const UNRELEASED_INSTANCE_ID: i16 = 111;
const UNSUPPORTED_ASSIGNOR: i16 = 112;
const STALE_MEMBER_EPOCH: i16 = 113;
const INVALID_REGULAR_EXPRESSION: i16 = 128;
const UNSUPPORTED_VERSION: i16 = 35;

/// Partitions by topic id, as heartbeats carry them.
type Owned = BTreeMap<Uuid, BTreeSet<i32>>;

fn beat(group: &str, member: &str, epoch: i32, owned: Option<&Owned>) -> ConsumerGroupHeartbeatRequest {
    let owned = owned.map(|o| {
        o.iter()
            .map(|(t, ps)| TopicPartitions::default().with_topic_id(*t).with_partitions(ps.iter().copied().collect()))
            .collect()
    });
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_member_id(sb(member))
        .with_member_epoch(epoch)
        .with_topic_partitions(owned)
}

fn assignment(r: &ConsumerGroupHeartbeatResponse) -> Option<Owned> {
    r.assignment
        .as_ref()
        .map(|a| a.topic_partitions.iter().map(|tp| (tp.topic_id, tp.partitions.iter().copied().collect())).collect())
}

fn count(o: &Owned) -> usize {
    o.values().map(BTreeSet::len).sum()
}

async fn hb(c: &mut Client, req: &ConsumerGroupHeartbeatRequest) -> ConsumerGroupHeartbeatResponse {
    c.call(req, 1).await
}

async fn ok(c: &mut Client, req: &ConsumerGroupHeartbeatRequest) -> ConsumerGroupHeartbeatResponse {
    let r = hb(c, req).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    r
}

fn topic_id(b: &TestBroker, name: &str) -> Uuid {
    b.handle.as_ref().expect("running").broker.topics.get(name).expect("topic").id
}

/// What each member was last told it owns: no partition twice.
fn assert_no_double_owner(owned: &BTreeMap<&str, Owned>) {
    let mut seen = BTreeSet::new();
    for (m, o) in owned {
        for (t, ps) in o {
            for p in ps {
                assert!(seen.insert((*t, *p)), "{t}-{p} owned twice (by {m} and another): {owned:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_split_partitions_revoking_before_anyone_else_takes_them() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "split", 4).await;
    let t = topic_id(&b, "split");
    let mut owned: BTreeMap<&str, Owned> = BTreeMap::new();

    let r = ok(&mut c, &join("g-split", "a", &["split"])).await;
    assert_eq!((r.member_id.as_deref(), r.member_epoch), (Some("a"), 1));
    assert!(r.heartbeat_interval_ms > 0);
    owned.insert("a", assignment(&r).expect("a join answers the assignment"));
    assert_eq!(owned["a"], BTreeMap::from([(t, BTreeSet::from([0, 1, 2, 3]))]));
    // Nothing changed: no assignment in the answer.
    let r = ok(&mut c, &beat("g-split", "a", 1, Some(&owned["a"]))).await;
    assert_eq!((r.member_epoch, assignment(&r)), (1, None));

    // b joins: the group moves to epoch 2, but a still owns everything: b waits.
    let r = ok(&mut c, &join("g-split", "b", &["split"])).await;
    assert_eq!(r.member_epoch, 2);
    owned.insert("b", assignment(&r).expect("join"));
    assert_eq!(count(&owned["b"]), 0, "nothing until a revokes");
    assert_no_double_owner(&owned);
    // a is told to give two up (still at epoch 1).
    let r = ok(&mut c, &beat("g-split", "a", 1, Some(&owned["a"]))).await;
    assert_eq!(r.member_epoch, 1, "revoking: the epoch moves only once done");
    let kept = assignment(&r).expect("the assignment shrank");
    assert_eq!(count(&kept), 2);
    // b still gets nothing while a has not acknowledged.
    let r = ok(&mut c, &beat("g-split", "b", 2, Some(&Owned::new()))).await;
    assert!(assignment(&r).is_none_or(|a| count(&a) == 0));
    assert_no_double_owner(&owned);
    // a acknowledges by reporting what it kept: epoch 2.
    let r = ok(&mut c, &beat("g-split", "a", 1, Some(&kept))).await;
    assert_eq!(r.member_epoch, 2);
    owned.insert("a", kept.clone());
    // Now b gets the other two.
    let r = ok(&mut c, &beat("g-split", "b", 2, Some(&Owned::new()))).await;
    owned.insert("b", assignment(&r).expect("b's partitions arrive"));
    assert_eq!(count(&owned["b"]), 2);
    assert_no_double_owner(&owned);

    // a leaves: b takes everything, the group epoch moves on.
    let r = ok(&mut c, &beat("g-split", "a", -1, None)).await;
    assert_eq!((r.member_epoch, r.heartbeat_interval_ms), (-1, 0));
    let r = ok(&mut c, &beat("g-split", "b", 2, Some(&owned["b"]))).await;
    assert_eq!(r.member_epoch, 3);
    assert_eq!(count(&assignment(&r).expect("all four")), 4);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v0_member_ids_are_made_by_the_coordinator_and_range_is_served() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "v0", 3).await;
    let req = join("g-v0", "", &["v0"]).with_server_assignor(Some(sb("range")));
    let r: ConsumerGroupHeartbeatResponse = c.call(&req, 0).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    let id = r.member_id.expect("an id").to_string();
    assert_eq!(id.len(), 22, "Kafka's base64 uuid: {id}");
    // v1 requires the client's own id.
    assert_eq!(hb(&mut c, &join("g-v0", "", &["v0"])).await.error_code, INVALID_REQUEST);
    let d = describe_consumer(&mut c, "g-v0").await;
    assert_eq!(d.assignor_name.as_str(), "range");
    b.stop().await;
}

async fn describe_consumer(
    c: &mut Client,
    group: &str,
) -> kafka_protocol::messages::consumer_group_describe_response::DescribedGroup {
    let r: ConsumerGroupDescribeResponse =
        c.call(&ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid(group)]), 1).await;
    r.groups.into_iter().next().expect("one group")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_refusals_use_kafkas_codes() {
    let b = TestBroker::start_with(|c| c.group_consumer_max_size = 2).await;
    let mut c = b.client().await;
    create_topic(&mut c, "e", 1).await;
    let code = |r: ConsumerGroupHeartbeatResponse| r.error_code;
    // Malformed requests.
    assert_eq!(code(hb(&mut c, &join("g-e", "m", &["e"]).with_rebalance_timeout_ms(-1)).await), INVALID_REQUEST);
    assert_eq!(code(hb(&mut c, &join("g-e", "m", &["e"]).with_topic_partitions(None)).await), INVALID_REQUEST);
    assert_eq!(code(hb(&mut c, &join("g-e", "m", &["e"]).with_subscribed_topic_names(None)).await), INVALID_REQUEST);
    assert_eq!(code(hb(&mut c, &join(" ", "m", &["e"])).await), INVALID_REQUEST);
    assert_eq!(code(hb(&mut c, &join("g-e", "m", &["e"]).with_instance_id(Some(sb("")))).await), INVALID_REQUEST);
    assert_eq!(code(hb(&mut c, &beat("g-e", "m", -3, None)).await), INVALID_REQUEST);
    let r = hb(&mut c, &join("g-e", "m", &["e"]).with_server_assignor(Some(sb("sticky")))).await;
    assert_eq!(r.error_code, UNSUPPORTED_ASSIGNOR);
    assert!(r.error_message.as_deref().is_some_and(|m| m.contains("uniform, range")), "{:?}", r.error_message);
    let r = hb(&mut c, &join("g-e", "m", &[]).with_subscribed_topic_regex(Some(sb("(unclosed")))).await;
    assert_eq!(r.error_code, INVALID_REGULAR_EXPRESSION);
    // A group that does not exist, a member that does not.
    assert_eq!(code(hb(&mut c, &beat("g-none", "m", 1, None)).await), GROUP_ID_NOT_FOUND);
    let r = ok(&mut c, &join("g-e", "m", &["e"])).await;
    let epoch = r.member_epoch;
    assert_eq!(code(hb(&mut c, &beat("g-e", "ghost", 1, None)).await), UNKNOWN_MEMBER_ID);
    assert_eq!(code(hb(&mut c, &beat("g-e", "ghost", -1, None)).await), UNKNOWN_MEMBER_ID);
    // An epoch from the future is fenced.
    assert_eq!(code(hb(&mut c, &beat("g-e", "m", epoch + 1, None)).await), FENCED_MEMBER_EPOCH);
    // The group is full at two members.
    ok(&mut c, &join("g-e", "second", &["e"])).await;
    assert_eq!(code(hb(&mut c, &join("g-e", "third", &["e"])).await), GROUP_MAX_SIZE_REACHED);
    // m keeps its partition and moves to epoch 2; its previous epoch is accepted only with
    // what it owns (the answer that moved it on was lost), else fenced.
    let owned = assignment(&r).expect("join");
    let moved = ok(&mut c, &beat("g-e", "m", epoch, Some(&owned))).await;
    assert_eq!(moved.member_epoch, epoch + 1);
    assert_eq!(ok(&mut c, &beat("g-e", "m", epoch, Some(&owned))).await.member_epoch, epoch + 1);
    assert_eq!(code(hb(&mut c, &beat("g-e", "m", epoch, None)).await), FENCED_MEMBER_EPOCH);
    // A classic member of another protocol type cannot join a consumer group.
    let j = c.call(&join_request("g-e", "", None, "connect", consumer_protocols(&["range"], &["e"])), JOIN_V).await;
    assert_eq!(j.error_code, INCONSISTENT_GROUP_PROTOCOL);
    b.stop().await;
}

/// With `group.consumer.migration.policy=disabled`, a classic group with members is not a
/// consumer group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_upgrade_when_migration_is_disabled() {
    use brook::group::consumer::MigrationPolicy;
    let b = TestBroker::start_with(|c| c.group_consumer_migration_policy = MigrationPolicy::Disabled).await;
    let mut c = b.client().await;
    create_topic(&mut c, "e", 1).await;
    let _ = join_new(&mut c, "g-classic", consumer_protocols(&["range"], &["e"])).await;
    let r = hb(&mut c, &join("g-classic", "m", &["e"])).await;
    assert_eq!(r.error_code, GROUP_ID_NOT_FOUND);
    assert!(
        r.error_message.as_deref().is_some_and(|m| m.contains("online upgrade is disabled")),
        "{:?}",
        r.error_message
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_members_leave_for_a_while_and_are_replaced() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 2).await;
    let r = ok(&mut c, &join("g-st", "s1", &["st"]).with_instance_id(Some(sb("i1")))).await;
    let first = assignment(&r).expect("join");
    assert_eq!(count(&first), 2);
    // Another process with the same instance id cannot join while s1 holds it.
    let r = hb(&mut c, &join("g-st", "s2", &["st"]).with_instance_id(Some(sb("i1")))).await;
    assert_eq!(r.error_code, UNRELEASED_INSTANCE_ID);
    // s1 leaves for a while (-2): it keeps its partitions; s2 takes its place with them.
    let r = ok(&mut c, &beat("g-st", "s1", -2, None).with_instance_id(Some(sb("i1")))).await;
    assert_eq!(r.member_epoch, -2);
    let r = ok(&mut c, &join("g-st", "s2", &["st"]).with_instance_id(Some(sb("i1")))).await;
    assert_eq!(assignment(&r).expect("join"), first, "the same partitions, no rebalance");
    let d = describe_consumer(&mut c, "g-st").await;
    assert_eq!(d.members.len(), 1);
    assert_eq!(d.members[0].member_id.as_str(), "s2");
    assert_eq!(d.group_epoch, 1, "a replacement does not move the group epoch");
    // The old process is fenced.
    let r = hb(&mut c, &beat("g-st", "s1", 1, None).with_instance_id(Some(sb("i1")))).await;
    assert_eq!(r.error_code, FENCED_INSTANCE_ID);
    b.stop().await;
}

fn fetch_offsets_v9(group: &str, member: Option<&str>, epoch: i32) -> OffsetFetchRequest {
    OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
        .with_group_id(gid(group))
        .with_member_id(member.map(sb))
        .with_member_epoch(epoch)
        .with_topics(None)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_commits_and_fetches_carry_member_epochs() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc", 1).await;
    let r = ok(&mut c, &join("g-oc", "m", &["oc"])).await;
    let epoch = r.member_epoch;
    let offsets: &[CommitEntry] = &[("oc", 0, 5, None)];
    let commit_v = |gen: i32, member: &str, v: i16| (commit_request("g-oc", gen, member, None, offsets), v);
    let codes = |r: OffsetCommitResponse| commit_codes(&r).into_iter().map(|x| x.2).collect::<Vec<_>>();
    let (req, v) = commit_v(epoch, "m", 9);
    assert_eq!(codes(c.call(&req, v).await), [0]);
    let (req, v) = commit_v(epoch - 1, "m", 9);
    assert_eq!(codes(c.call(&req, v).await), [STALE_MEMBER_EPOCH]);
    let (req, v) = commit_v(epoch, "m", 8);
    assert_eq!(codes(c.call(&req, v).await), [UNSUPPORTED_VERSION], "v9 or above for consumer-protocol members");
    let (req, v) = commit_v(epoch, "ghost", 9);
    assert_eq!(codes(c.call(&req, v).await), [UNKNOWN_MEMBER_ID]);
    let (req, v) = commit_v(-1, "", 9);
    assert_eq!(codes(c.call(&req, v).await), [UNKNOWN_MEMBER_ID], "tools commit only while the group is empty");

    let f: OffsetFetchResponse = c.call(&fetch_offsets_v9("g-oc", Some("m"), epoch), 9).await;
    assert_eq!(f.groups[0].error_code, 0);
    assert_eq!(f.groups[0].topics[0].partitions[0].committed_offset, 5);
    let f: OffsetFetchResponse = c.call(&fetch_offsets_v9("g-oc", Some("m"), epoch + 1), 9).await;
    assert_eq!(f.groups[0].error_code, STALE_MEMBER_EPOCH);
    let f: OffsetFetchResponse = c.call(&fetch_offsets_v9("g-oc", None, -1), 9).await;
    assert_eq!(f.groups[0].error_code, 0, "tools read without a member");

    ok(&mut c, &beat("g-oc", "m", -1, None)).await;
    let (req, v) = commit_v(-1, "", 9);
    assert_eq!(codes(c.call(&req, v).await), [0], "an empty group takes a tool's commit");
    b.stop().await;
}

/// Online upgrade: a classic member carried into the consumer group commits at its
/// generation (its member epoch) with any OffsetCommit version, as Kafka's
/// validateOffsetCommit allows (v9 is required of consumer-protocol members only: clients
/// such as kafka-python commit with v8); a wrong generation is ILLEGAL_GENERATION there, not
/// STALE_MEMBER_EPOCH, in OffsetCommit and in OffsetFetch v9.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_members_of_an_upgraded_group_commit_at_their_generation() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "cm", 2).await;
    let (classic, generation) = stable_single(&mut c, "g-cm", &["cm"], &[]).await;
    ok(&mut c, &join("g-cm", "m", &["cm"])).await;
    let d = describe_consumer(&mut c, "g-cm").await;
    assert_eq!(d.members.len(), 2, "upgraded with the classic member in it");
    let offsets: &[CommitEntry] = &[("cm", 0, 7, None)];
    let commit_at = |gen: i32, v: i16| (commit_request("g-cm", gen, &classic, None, offsets), v);
    let codes = |r: OffsetCommitResponse| commit_codes(&r).into_iter().map(|x| x.2).collect::<Vec<_>>();
    for v in [2, 8, 9] {
        let (req, v) = commit_at(generation, v);
        assert_eq!(codes(c.call(&req, v).await), [0], "a classic member commits at its generation with v{v}");
        let (req, v) = commit_at(generation + 1, v);
        assert_eq!(codes(c.call(&req, v).await), [ILLEGAL_GENERATION], "a classic member's wrong generation, v{v}");
    }
    let f: OffsetFetchResponse = c.call(&fetch_offsets_v9("g-cm", Some(&classic), generation + 1), 9).await;
    assert_eq!(f.groups[0].error_code, ILLEGAL_GENERATION);
    let f: OffsetFetchResponse = c.call(&fetch_offsets_v9("g-cm", Some(&classic), generation), 9).await;
    assert_eq!(f.groups[0].error_code, 0);
    assert_eq!(f.groups[0].topics[0].partitions[0].committed_offset, 7);
    // It rejoins (the group moved on) and commits at its new generation.
    assert_eq!(heartbeat(&mut c, "g-cm", generation, &classic, None).await, REBALANCE_IN_PROGRESS);
    let rejoin = join_request("g-cm", &classic, None, "consumer", consumer_protocols(&["range"], &["cm"]));
    let j = c.call(&rejoin, JOIN_V).await;
    assert_eq!(j.error_code, 0);
    assert!(j.generation_id > generation, "generation {} after {generation}", j.generation_id);
    commit_ok(&mut c, "g-cm", j.generation_id, &classic, offsets).await;
    let (req, v) = commit_at(generation, 8);
    assert_eq!(codes(c.call(&req, v).await), [ILLEGAL_GENERATION], "the old generation after the rejoin");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_group_is_described_listed_and_deleted_as_kafka_does() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "d", 2).await;
    let t = topic_id(&b, "d");
    ok(&mut c, &join("g-d", "m", &["d"]).with_rack_id(Some(sb("r1")))).await;
    let d = describe_consumer(&mut c, "g-d").await;
    assert_eq!(d.error_code, 0);
    assert_eq!((d.group_state.as_str(), d.group_epoch, d.assignment_epoch), ("Stable", 1, 1));
    assert_eq!(d.assignor_name.as_str(), "uniform");
    assert_eq!(d.authorized_operations, i32::MIN, "not asked for");
    let m = &d.members[0];
    assert_eq!((m.member_id.as_str(), m.member_epoch, m.rack_id.as_deref()), ("m", 1, Some("r1")));
    assert_eq!(m.client_host.as_str(), "/127.0.0.1");
    assert_eq!(m.subscribed_topic_names, vec![tn("d")]);
    assert_eq!(m.member_type, 1);
    let names: Vec<(Uuid, &str, Vec<i32>)> = m
        .assignment
        .topic_partitions
        .iter()
        .map(|tp| (tp.topic_id, tp.topic_name.as_str(), tp.partitions.clone()))
        .collect();
    assert_eq!(names, [(t, "d", vec![0, 1])]);
    assert_eq!(m.target_assignment.topic_partitions.len(), 1);
    // Unknown and classic groups.
    assert_eq!(describe_consumer(&mut c, "g-missing").await.error_code, GROUP_ID_NOT_FOUND);
    commit_standalone(&mut c, "g-classic-d", &[("d", 0, 1, None)]).await;
    let missing = describe_consumer(&mut c, "g-classic-d").await;
    assert_eq!(missing.error_code, GROUP_ID_NOT_FOUND);
    assert!(missing.error_message.as_deref().is_some_and(|m| m.contains("not a consumer group")));

    // ListGroups: type and protocol type; the type filter.
    let listed: ListGroupsResponse = c.call(&ListGroupsRequest::default(), 5).await;
    let g = listed.groups.iter().find(|g| g.group_id.as_str() == "g-d").expect("listed");
    assert_eq!(
        (g.group_type.as_str(), g.protocol_type.as_str(), g.group_state.as_str()),
        ("consumer", "consumer", "Stable")
    );
    let filter = |t: &str| ListGroupsRequest::default().with_types_filter(vec![sb(t)]);
    let only: ListGroupsResponse = c.call(&filter("Consumer"), 5).await;
    assert!(only.groups.iter().all(|g| g.group_type.as_str() == "consumer"));
    assert!(only.groups.iter().any(|g| g.group_id.as_str() == "g-d"));
    let classic: ListGroupsResponse = c.call(&filter("classic"), 5).await;
    assert!(classic.groups.iter().all(|g| g.group_id.as_str() != "g-d"));

    // DescribeGroups is for classic groups (KIP-1043).
    let old = describe_v(&mut c, "g-d", 5).await;
    assert_eq!((old.error_code, old.group_state.as_str()), (0, "Dead"));
    let new = describe_v(&mut c, "g-d", 6).await;
    assert_eq!((new.error_code, new.group_state.as_str()), (GROUP_ID_NOT_FOUND, "Dead"));

    // OffsetDelete refuses a topic the group subscribes to.
    let od = OffsetDeleteRequest::default().with_group_id(gid("g-d")).with_topics(vec![
        kafka_protocol::messages::offset_delete_request::OffsetDeleteRequestTopic::default()
            .with_name(tn("d"))
            .with_partitions(vec![
                kafka_protocol::messages::offset_delete_request::OffsetDeleteRequestPartition::default()
                    .with_partition_index(0),
            ]),
    ]);
    let r: OffsetDeleteResponse = c.call(&od, 0).await;
    assert_eq!(r.topics[0].partitions[0].error_code, GROUP_SUBSCRIBED_TO_TOPIC);
    // Deleted only once empty.
    assert_eq!(delete_groups(&mut c, &["g-d"]).await, [("g-d".to_string(), NON_EMPTY_GROUP)]);
    ok(&mut c, &beat("g-d", "m", -1, None)).await;
    assert_eq!(describe_consumer(&mut c, "g-d").await.group_state.as_str(), "Empty");
    assert_eq!(delete_groups(&mut c, &["g-d"]).await, [("g-d".to_string(), NONE)]);
    assert_eq!(describe_consumer(&mut c, "g-d").await.error_code, GROUP_ID_NOT_FOUND);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_group_survives_a_restart() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "rs", 4).await;
    let r = ok(&mut c, &join("g-rs", "a", &["rs"]).with_instance_id(Some(sb("ia")))).await;
    let a_owned = assignment(&r).expect("join");
    let r = ok(&mut c, &join("g-rs", "b", &["rs"])).await;
    let b_epoch = r.member_epoch;
    let r = ok(&mut c, &beat("g-rs", "a", 1, Some(&a_owned))).await;
    let a_kept = assignment(&r).expect("revoke");
    let r = ok(&mut c, &beat("g-rs", "a", 1, Some(&a_kept))).await;
    let a_epoch = r.member_epoch;
    let r = ok(&mut c, &beat("g-rs", "b", b_epoch, Some(&Owned::new()))).await;
    let b_owned = assignment(&r).expect("b's partitions");
    let before = describe_consumer(&mut c, "g-rs").await;
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    let after = describe_consumer(&mut c, "g-rs").await;
    assert_eq!((after.group_epoch, after.assignment_epoch), (before.group_epoch, before.assignment_epoch));
    assert_eq!(after.members.len(), 2);
    for (x, y) in before.members.iter().zip(&after.members) {
        assert_eq!((&x.member_id, x.member_epoch, &x.instance_id), (&y.member_id, y.member_epoch, &y.instance_id));
        assert_eq!(x.assignment, y.assignment);
        assert_eq!(x.target_assignment, y.target_assignment);
    }
    // Members carry on with their epochs: nothing to change.
    let r = ok(&mut c, &beat("g-rs", "a", a_epoch, Some(&a_kept)).with_instance_id(Some(sb("ia")))).await;
    assert_eq!((r.member_epoch, assignment(&r)), (a_epoch, None));
    let r = ok(&mut c, &beat("g-rs", "b", b_epoch, Some(&b_owned))).await;
    assert_eq!(r.member_epoch, b_epoch);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_session_fences_the_member() {
    let b = TestBroker::start_with(|c| {
        c.group_defaults.consumer_session_timeout.min = 100;
        c.group_defaults.consumer_session_timeout.default = 400;
        c.group_defaults.consumer_heartbeat_interval.min = 50;
        c.group_defaults.consumer_heartbeat_interval.default = 100;
    })
    .await;
    let mut c = b.client().await;
    create_topic(&mut c, "ss", 2).await;
    let r = ok(&mut c, &join("g-ss", "a", &["ss"])).await;
    let a_owned = assignment(&r).expect("join");
    assert_eq!(r.heartbeat_interval_ms, 100, "the broker's interval");
    // A group config of its own wins (read at each heartbeat).
    let set =
        [("consumer.heartbeat.interval.ms", OP_SET, Some("200")), ("consumer.session.timeout.ms", OP_SET, Some("350"))];
    assert_eq!(alter_incremental(&mut c, RESOURCE_GROUP, "g-ss", &set, false).await, (0, None));
    let r = ok(&mut c, &beat("g-ss", "a", 1, Some(&a_owned))).await;
    assert_eq!(r.heartbeat_interval_ms, 200, "the group's interval");
    ok(&mut c, &join("g-ss", "quiet", &["ss"])).await;
    let r = ok(&mut c, &beat("g-ss", "a", 1, Some(&a_owned))).await;
    let kept = assignment(&r).expect("a revokes one");
    let r = ok(&mut c, &beat("g-ss", "a", 1, Some(&kept))).await;
    let mut epoch = r.member_epoch;
    // "quiet" never heartbeats again: fenced after its session; a gets both partitions.
    let mut all = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = ok(&mut c, &beat("g-ss", "a", epoch, Some(&kept))).await;
        epoch = r.member_epoch;
        if let Some(a) = assignment(&r).filter(|a| count(a) == 2) {
            all = Some(a);
            break;
        }
    }
    assert!(all.is_some(), "a took over the lapsed member's partition");
    let d = describe_consumer(&mut c, "g-ss").await;
    assert_eq!(d.members.len(), 1);
    assert_eq!(hb(&mut c, &beat("g-ss", "quiet", 2, None)).await.error_code, UNKNOWN_MEMBER_ID);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regular_expressions_pick_up_matching_topics() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "rx-1", 1).await;
    create_topic(&mut c, "other", 1).await;
    let req = join("g-rx", "m", &[]).with_subscribed_topic_names(None).with_subscribed_topic_regex(Some(sb("rx-.*")));
    let r = ok(&mut c, &req).await;
    // Kafka resolves a new expression asynchronously: the join is answered before it is, and
    // the group epoch moves once it is, so the next heartbeat brings the matched topics.
    assert_eq!(assignment(&r).expect("join"), BTreeMap::new(), "nothing before the expression is resolved");
    let r = ok(&mut c, &beat("g-rx", "m", r.member_epoch, Some(&BTreeMap::new()))).await;
    let owned = assignment(&r).expect("the resolved expression's topics");
    assert_eq!(owned, BTreeMap::from([(topic_id(&b, "rx-1"), BTreeSet::from([0]))]));
    let d = describe_consumer(&mut c, "g-rx").await;
    assert_eq!(d.members[0].subscribed_topic_regex.as_deref(), Some("rx-.*"));
    // A topic created later is picked up once the broker looks again (at most every 10 s).
    create_topic(&mut c, "rx-2", 1).await;
    let mut epoch = r.member_epoch;
    let mut owned = owned;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while count(&owned) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "rx-2 never assigned");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = ok(&mut c, &beat("g-rx", "m", epoch, Some(&owned))).await;
        epoch = r.member_epoch;
        if let Some(a) = assignment(&r) {
            owned = a;
        }
    }
    assert!(owned.contains_key(&topic_id(&b, "rx-2")));
    b.stop().await;
}

/// `ConsumerProtocolSubscription` v1 (with owned partitions), its version first.
fn subscription_owning(topic: &str, owned: &[i32]) -> bytes::Bytes {
    use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedPartition;
    use kafka_protocol::protocol::Encodable;
    let sub = ConsumerProtocolSubscription::default()
        .with_topics(vec![sb(topic)])
        .with_owned_partitions(vec![OwnedPartition::default().with_topic(tn(topic)).with_partitions(owned.to_vec())]);
    let mut b = bytes::BytesMut::new();
    bytes::BufMut::put_i16(&mut b, 1);
    sub.encode(&mut b, 1).expect("encode");
    b.freeze()
}

/// `ConsumerProtocolAssignment` of `topic`'s `partitions`, its version first.
fn assignment_bytes(topic: &str, partitions: &[i32]) -> bytes::Bytes {
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as Assigned;
    use kafka_protocol::protocol::Encodable;
    let a = ConsumerProtocolAssignment::default()
        .with_assigned_partitions(vec![Assigned::default().with_topic(tn(topic)).with_partitions(partitions.to_vec())]);
    let mut b = bytes::BytesMut::new();
    bytes::BufMut::put_i16(&mut b, 1);
    a.encode(&mut b, 1).expect("encode");
    b.freeze()
}

fn decoded_assignment(bytes: &bytes::Bytes) -> BTreeSet<i32> {
    use kafka_protocol::protocol::Decodable;
    let mut b = bytes.clone();
    let version = bytes::Buf::get_i16(&mut b);
    let a = ConsumerProtocolAssignment::decode(&mut b, version).expect("an assignment");
    a.assigned_partitions.iter().flat_map(|tp| tp.partitions.iter().copied()).collect()
}

/// Online upgrade: a consumer-protocol member joins a classic group with a member; the
/// group becomes a consumer group; the classic member is told to rejoin, revokes what it
/// must (acknowledged by the partitions it reports owning at its JoinGroup) and gets its
/// assignment through SyncGroup; the new member gets its partitions only after that; a
/// the last consumer-protocol member leaving turns it back into a classic group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_group_upgrades_and_its_members_carry_on() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "up", 4).await;
    let t = topic_id(&b, "up");
    let (classic, generation) = stable_single(&mut c, "g-up", &["up"], &assignment_bytes("up", &[0, 1, 2, 3])).await;
    commit_ok(&mut c, "g-up", generation, &classic, &[("up", 0, 3, None)]).await;

    let r = ok(&mut c, &join("g-up", "new", &["up"])).await;
    assert_eq!(r.member_epoch, generation + 1, "the joiner moves the group on");
    let mut new_owned = assignment(&r).expect("join");
    assert_eq!(count(&new_owned), 0, "the classic member still owns everything");
    let d = describe_consumer(&mut c, "g-up").await;
    assert_eq!(d.members.len(), 2);
    let types: BTreeMap<String, i8> = d.members.iter().map(|m| (m.member_id.to_string(), m.member_type)).collect();
    assert_eq!(types, BTreeMap::from([(classic.clone(), 0), ("new".to_string(), 1)]));
    assert_eq!(committed(&mut c, "g-up", "up", 0).await, 3, "offsets stay");

    // The classic member must rejoin.
    assert_eq!(heartbeat(&mut c, "g-up", generation, &classic, None).await, REBALANCE_IN_PROGRESS);
    let rejoin = |owned: &[i32]| {
        join_request("g-up", &classic, None, "consumer", vec![protocol("range", subscription_owning("up", owned))])
    };
    let j = c.call(&rejoin(&[0, 1, 2, 3]), JOIN_V).await;
    assert_eq!((j.error_code, j.generation_id), (NONE, generation), "revoking at its epoch");
    assert_eq!(j.leader.as_str(), "", "the coordinator assigns: no leader");
    assert!(j.members.is_empty());
    let s = sync(&mut c, "g-up", generation, &classic, None, &[]).await;
    assert_eq!(s.error_code, NONE);
    let kept = decoded_assignment(&s.assignment);
    assert_eq!(kept.len(), 2, "two partitions to give up");
    // The new member still waits: the classic member has not acknowledged yet.
    let r = ok(&mut c, &beat("g-up", "new", generation + 1, Some(&new_owned))).await;
    assert!(assignment(&r).is_none_or(|a| count(&a) == 0));
    assert_eq!(heartbeat(&mut c, "g-up", generation, &classic, None).await, REBALANCE_IN_PROGRESS);
    // It rejoins owning only what it kept: acknowledged, at the new epoch.
    let kept_vec: Vec<i32> = kept.iter().copied().collect();
    let j = c.call(&rejoin(&kept_vec), JOIN_V).await;
    assert_eq!((j.error_code, j.generation_id), (NONE, generation + 1));
    let s = sync(&mut c, "g-up", generation + 1, &classic, None, &[]).await;
    assert_eq!(decoded_assignment(&s.assignment), kept);
    assert_eq!(heartbeat(&mut c, "g-up", generation + 1, &classic, None).await, NONE);
    let r = ok(&mut c, &beat("g-up", "new", generation + 1, Some(&new_owned))).await;
    new_owned = assignment(&r).expect("the released partitions");
    let theirs: BTreeSet<i32> = new_owned.get(&t).cloned().unwrap_or_default();
    assert_eq!(theirs.len(), 2);
    assert!(theirs.is_disjoint(&kept), "no partition has two owners");
    // Commits of the classic member use its epoch as generation.
    commit_ok(&mut c, "g-up", generation + 1, &classic, &[("up", kept_vec[0], 5, None)]).await;

    // The last consumer-protocol member leaves: the group goes back to the classic protocol
    // (online downgrade) at generation = group epoch, and its member rejoins as a classic one.
    ok(&mut c, &beat("g-up", "new", generation + 1, None).with_member_epoch(-1)).await;
    assert_eq!(describe_consumer(&mut c, "g-up").await.error_code, GROUP_ID_NOT_FOUND);
    let listed: ListGroupsResponse = c.call(&ListGroupsRequest::default(), 5).await;
    let g = listed.groups.iter().find(|g| g.group_id.as_str() == "g-up").expect("listed");
    assert_eq!((g.group_type.as_str(), g.group_state.as_str()), ("classic", "PreparingRebalance"));
    assert_ne!(heartbeat(&mut c, "g-up", generation + 1, &classic, None).await, NONE, "told to rejoin");
    let j = c.call(&rejoin(&kept_vec), JOIN_V).await;
    assert_eq!((j.error_code, j.leader.as_str()), (NONE, classic.as_str()), "a classic rebalance, it leads");
    assert!(j.generation_id > generation + 1);
    let s =
        sync(&mut c, "g-up", j.generation_id, &classic, None, &[(&classic, &assignment_bytes("up", &[0, 1, 2, 3]))])
            .await;
    assert_eq!(decoded_assignment(&s.assignment).len(), 4);
    assert_eq!(committed(&mut c, "g-up", "up", kept_vec[0]).await, 5, "offsets stay");
    b.stop().await;
}

/// An upgraded group and its offsets are what a restart replays (the classic group's
/// tombstone ends its membership, not its offsets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_group_keeps_its_offsets_across_a_restart() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "upr", 2).await;
    let (classic, generation) = stable_single(&mut c, "g-upr", &["upr"], &assignment_bytes("upr", &[0, 1])).await;
    commit_ok(&mut c, "g-upr", generation, &classic, &[("upr", 0, 3, None), ("upr", 1, 4, None)]).await;
    ok(&mut c, &join("g-upr", "new", &["upr"])).await;
    // An empty classic group with offsets only, taken over too.
    commit_standalone(&mut c, "g-empty", &[("upr", 1, 9, None)]).await;
    ok(&mut c, &join("g-empty", "only", &["upr"])).await;
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    assert_eq!(committed(&mut c, "g-upr", "upr", 0).await, 3);
    assert_eq!(committed(&mut c, "g-upr", "upr", 1).await, 4);
    assert_eq!(committed(&mut c, "g-empty", "upr", 1).await, 9);
    let d = describe_consumer(&mut c, "g-upr").await;
    assert_eq!((d.error_code, d.members.len()), (0, 2));
    assert_eq!(describe_consumer(&mut c, "g-empty").await.members.len(), 1);
    b.stop().await;
}

/// Topic changes move the group on: a subscribed topic created later, grown with
/// CreatePartitions, then deleted, each reaches the member's assignment at its next heartbeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_changes_reach_the_assignment() {
    use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let r = ok(&mut c, &join("g-tc", "m", &["later"])).await;
    assert_eq!(count(&assignment(&r).expect("join")), 0, "nothing to assign yet");
    let mut epoch = r.member_epoch;
    let mut owned = Owned::new();
    create_topic(&mut c, "later", 2).await;
    let r = ok(&mut c, &beat("g-tc", "m", epoch, Some(&owned))).await;
    (epoch, owned) = (r.member_epoch, assignment(&r).expect("the new topic"));
    assert_eq!(count(&owned), 2);
    let grow =
        CreatePartitionsRequest::default().with_timeout_ms(5000).with_topics(vec![CreatePartitionsTopic::default()
            .with_name(tn("later"))
            .with_count(3)
            .with_assignments(None)]);
    assert_eq!(c.call(&grow, 3).await.results[0].error_code, NONE);
    let r = ok(&mut c, &beat("g-tc", "m", epoch, Some(&owned))).await;
    (epoch, owned) = (r.member_epoch, assignment(&r).expect("the new partition"));
    assert_eq!(count(&owned), 3);
    let delete = DeleteTopicsRequest::default().with_timeout_ms(5000).with_topic_names(vec![tn("later")]);
    assert_eq!(c.call(&delete, 5).await.responses[0].error_code, NONE);
    let r = ok(&mut c, &beat("g-tc", "m", epoch, Some(&owned))).await;
    assert_eq!(count(&assignment(&r).expect("revoked")), 0);
    b.stop().await;
}

/// A member that does not revoke within its rebalance timeout is fenced, even while it keeps
/// heartbeating, and the partitions go to the member that waited for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_does_not_revoke_in_time_is_fenced() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "rv", 2).await;
    let r = ok(&mut c, &join("g-rv", "slow", &["rv"]).with_rebalance_timeout_ms(300)).await;
    let all = assignment(&r).expect("join");
    let r = ok(&mut c, &join("g-rv", "waiting", &["rv"])).await;
    let epoch = r.member_epoch;
    // slow is told to revoke one partition and never does.
    let r = ok(&mut c, &beat("g-rv", "slow", 1, Some(&all))).await;
    assert_eq!(count(&assignment(&r).expect("revoke")), 1);
    let mut fenced = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = hb(&mut c, &beat("g-rv", "slow", 1, Some(&all))).await;
        if r.error_code == UNKNOWN_MEMBER_ID {
            fenced = true;
            break;
        }
        assert_eq!(r.error_code, NONE);
    }
    assert!(fenced, "fenced after its rebalance timeout");
    let r = ok(&mut c, &beat("g-rv", "waiting", epoch, Some(&Owned::new()))).await;
    assert_eq!(count(&assignment(&r).expect("both partitions")), 2);
    b.stop().await;
}

/// A classic member inside a consumer group that is told to rejoin and keeps heartbeating
/// without rejoining is fenced after its rebalance timeout (Kafka's classic join timer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_member_that_never_rejoins_is_fenced() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "nj", 2).await;
    let (classic, _) = stable_single(&mut c, "g-nj", &["nj"], &assignment_bytes("nj", &[0, 1])).await;
    ok(&mut c, &join("g-nj", "new", &["nj"])).await;
    // It rejoins once with a short rebalance timeout, then only heartbeats.
    let rejoin =
        join_request("g-nj", &classic, None, "consumer", vec![protocol("range", subscription_owning("nj", &[]))])
            .with_rebalance_timeout_ms(300);
    let j = c.call(&rejoin, JOIN_V).await;
    assert_eq!(j.error_code, NONE);
    let gen = j.generation_id;
    // Another consumer-protocol member moves the group on: the classic member must rejoin.
    ok(&mut c, &join("g-nj", "new2", &["nj"])).await;
    let mut fenced = false;
    for _ in 0..40 {
        let code = heartbeat(&mut c, "g-nj", gen, &classic, None).await;
        if code == UNKNOWN_MEMBER_ID {
            fenced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(fenced, "fenced without its JoinGroup");
    b.stop().await;
}
