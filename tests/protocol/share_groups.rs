//! Share groups (KIP-932) with raw requests: ShareGroupHeartbeat membership and its errors,
//! share sessions and their epochs, the share partition's state machine through ShareFetch and
//! ShareAcknowledge (acquire, accept, release with a higher delivery count, reject, the
//! delivery limit, lock expiry, release when the connection closes), state that survives a
//! crash, the admin APIs, ListGroups and DeleteGroups, and dead-letter topics.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::share_acknowledge_request::{AcknowledgePartition, AcknowledgeTopic};
use kafka_protocol::messages::share_fetch_request::{AcknowledgementBatch, FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::*;
use uuid::Uuid;

use crate::common::groups::*;
use crate::common::*;

const INVALID_REQUEST: i16 = 42;
const GROUP_ID_NOT_FOUND: i16 = 69;
const UNKNOWN_MEMBER_ID: i16 = 25;
const FENCED_MEMBER_EPOCH: i16 = 110;
const GROUP_MAX_SIZE_REACHED: i16 = 81;
const INVALID_RECORD_STATE: i16 = 121;
const SHARE_SESSION_NOT_FOUND: i16 = 122;
const INVALID_SHARE_SESSION_EPOCH: i16 = 123;
const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const NON_EMPTY_GROUP: i16 = 68;

const ACCEPT: i8 = 1;
const RELEASE: i8 = 2;
const REJECT: i8 = 3;

fn join(group: &str, member: &str, topics: &[&str]) -> ShareGroupHeartbeatRequest {
    ShareGroupHeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_member_id(sb(member))
        .with_member_epoch(0)
        .with_subscribed_topic_names(Some(topics.iter().map(|t| tn(t)).collect()))
}

fn beat(group: &str, member: &str, epoch: i32) -> ShareGroupHeartbeatRequest {
    ShareGroupHeartbeatRequest::default().with_group_id(gid(group)).with_member_id(sb(member)).with_member_epoch(epoch)
}

fn partitions(r: &ShareGroupHeartbeatResponse) -> usize {
    r.assignment.as_ref().map_or(0, |a| a.topic_partitions.iter().map(|t| t.partitions.len()).sum())
}

async fn earliest(c: &mut Client, group: &str) {
    let (code, msg) =
        alter_incremental(c, RESOURCE_GROUP, group, &[("share.auto.offset.reset", OP_SET, Some("earliest"))], false)
            .await;
    assert_eq!(code, 0, "{msg:?}");
}

/// A ShareFetch of `partitions` (epoch 0 opens the session) with acknowledgements.
fn share_fetch(
    group: &str,
    member: &str,
    epoch: i32,
    topic: Uuid,
    parts: &[i32],
    acks: &[(i32, i64, i64, i8)],
) -> ShareFetchRequest {
    let mut by_part: BTreeMap<i32, Vec<AcknowledgementBatch>> = parts.iter().map(|p| (*p, Vec::new())).collect();
    for (p, first, last, t) in acks {
        by_part.entry(*p).or_default().push(
            AcknowledgementBatch::default()
                .with_first_offset(*first)
                .with_last_offset(*last)
                .with_acknowledge_types(vec![*t]),
        );
    }
    let partitions = by_part
        .into_iter()
        .map(|(p, b)| FetchPartition::default().with_partition_index(p).with_acknowledgement_batches(b))
        .collect();
    ShareFetchRequest::default()
        .with_group_id(Some(gid(group)))
        .with_member_id(Some(sb(member)))
        .with_share_session_epoch(epoch)
        .with_max_wait_ms(200)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_max_records(500)
        .with_batch_size(500)
        .with_topics(vec![FetchTopic::default().with_topic_id(topic).with_partitions(partitions)])
}

/// (first, last, delivery count) of what partition `p` acquired, and its ack error.
fn acquired(r: &ShareFetchResponse, p: i32) -> (Vec<(i64, i64, i16)>, i16) {
    let Some(part) = r.responses.iter().flat_map(|t| &t.partitions).find(|x| x.partition_index == p) else {
        return (Vec::new(), 0);
    };
    assert_eq!(part.error_code, 0, "{:?}", part.error_message);
    let ranges = part.acquired_records.iter().map(|a| (a.first_offset, a.last_offset, a.delivery_count)).collect();
    (ranges, part.acknowledge_error_code)
}

async fn produce_n(c: &mut Client, topic: &str, partition: i32, n: usize) {
    for i in 0..n {
        produce_ok(c, topic, partition, batch(&[format!("r{i}").as_bytes()])).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_join_share_partitions_and_leave() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 2).await;
    let a = c.call(&join("sg", "member-a", &["st"]), 1).await;
    // Kafka's order: the first heartbeat initializes the partitions' share state, the next
    // one assigns them.
    assert_eq!((a.error_code, a.member_epoch, partitions(&a)), (0, 1, 0), "{:?}", a.error_message);
    assert!(a.heartbeat_interval_ms > 0);
    let a = c.call(&beat("sg", "member-a", 1), 1).await;
    assert_eq!((a.member_epoch, partitions(&a)), (2, 2), "the initialized partitions");
    let bm = c.call(&join("sg", "member-b", &["st"]), 1).await;
    assert_eq!((bm.member_epoch, partitions(&bm)), (3, 1));
    let a = c.call(&beat("sg", "member-a", 2), 1).await;
    assert_eq!((a.member_epoch, partitions(&a)), (3, 1), "a moves straight to its half");
    // A third member: more members than partitions, so partitions are shared.
    let cm = c.call(&join("sg", "member-c", &["st"]), 1).await;
    assert_eq!(partitions(&cm), 1);
    // Errors, as Kafka answers them.
    let e = c.call(&beat("sg", "member-a", 9), 1).await;
    assert_eq!(e.error_code, FENCED_MEMBER_EPOCH);
    assert_eq!(c.call(&beat("sg", "nobody", 1), 1).await.error_code, UNKNOWN_MEMBER_ID);
    assert_eq!(c.call(&beat("nogroup", "m", 1), 1).await.error_code, GROUP_ID_NOT_FOUND);
    let no_topics = beat("sg", "member-d", 0);
    assert_eq!(c.call(&no_topics, 1).await.error_code, INVALID_REQUEST);
    assert_eq!(c.call(&join("sg", &"x".repeat(37), &["st"]), 1).await.error_code, INVALID_REQUEST);
    // Describe and list it.
    let d = c.call(&ShareGroupDescribeRequest::default().with_group_ids(vec![gid("sg")]), 1).await;
    let g = &d.groups[0];
    assert_eq!((g.error_code, g.group_state.as_str(), g.assignor_name.as_str()), (0, "Stable", "simple"));
    assert_eq!(g.members.len(), 3);
    let listed = c.call(&ListGroupsRequest::default().with_types_filter(vec![sb("share")]), 5).await;
    let row = listed.groups.iter().find(|r| r.group_id.0.as_str() == "sg").expect("listed");
    assert_eq!((row.group_type.as_str(), row.protocol_type.as_str()), ("share", "share"));
    // Other group protocols are refused on a share group, and the reverse.
    let classic = JoinGroupRequest::default()
        .with_group_id(gid("sg"))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(sb("consumer"));
    assert_eq!(c.call(&classic, 5).await.error_code, INCONSISTENT_GROUP_PROTOCOL);
    let cg = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("sg"))
        .with_member_id(sb("m"))
        .with_rebalance_timeout_ms(1000)
        .with_subscribed_topic_names(Some(vec![tn("st")]))
        .with_topic_partitions(Some(Vec::new()));
    assert_eq!(c.call(&cg, 1).await.error_code, GROUP_ID_NOT_FOUND);
    // DeleteGroups refuses while members are in it; leaving ends that.
    let del = DeleteGroupsRequest::default().with_groups_names(vec![gid("sg")]);
    assert_eq!(c.call(&del, 2).await.results[0].error_code, NON_EMPTY_GROUP);
    for (m, e) in [("member-a", 2), ("member-b", 2), ("member-c", 3)] {
        let left = c.call(&beat("sg", m, -1).with_member_epoch(-1), 1).await;
        assert_eq!((left.error_code, left.member_epoch), (0, -1), "{m} {e}");
    }
    assert_eq!(c.call(&del, 2).await.results[0].error_code, 0);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_group_size_is_bounded() {
    let b = TestBroker::start_with(|c| c.share.max_size = 1).await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 1).await;
    assert_eq!(c.call(&join("sg", "a", &["st"]), 1).await.error_code, 0);
    assert_eq!(c.call(&join("sg", "b", &["st"]), 1).await.error_code, GROUP_MAX_SIZE_REACHED);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_acquired_once_accepted_released_and_rejected() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 1).await;
    let t = topic_id(&mut c, "st").await;
    earliest(&mut c, "sg").await;
    produce_n(&mut c, "st", 0, 5).await;
    let mut a = b.client().await;
    let mut m2 = b.client().await;
    let r = a.call(&share_fetch("sg", "a", 0, t, &[0], &[]), 1).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert!(r.acquisition_lock_timeout_ms > 0);
    assert_eq!(acquired(&r, 0).0, vec![(0, 4, 1)]);
    // Someone else gets nothing while a holds them.
    let other = m2.call(&share_fetch("sg", "b", 0, t, &[0], &[]), 1).await;
    assert!(acquired(&other, 0).0.is_empty());
    // Accept 0-1, release 2, reject 3; 4 stays acquired.
    let acks = [(0, 0, 1, ACCEPT), (0, 2, 2, RELEASE), (0, 3, 3, REJECT)];
    let r = a.call(&share_fetch("sg", "a", 1, t, &[0], &acks), 1).await;
    let (ranges, ack) = acquired(&r, 0);
    assert_eq!(ack, 0);
    assert_eq!(ranges, vec![(2, 2, 2)], "the released record comes back with delivery count 2");
    // Acknowledging what b does not hold is INVALID_RECORD_STATE.
    let r = m2.call(&share_fetch("sg", "b", 1, t, &[0], &[(0, 4, 4, ACCEPT)]), 1).await;
    assert_eq!(acquired(&r, 0).1, INVALID_RECORD_STATE);
    // ShareAcknowledge in the same session sequence.
    let ack = ShareAcknowledgeRequest::default()
        .with_group_id(Some(gid("sg")))
        .with_member_id(Some(sb("a")))
        .with_share_session_epoch(2)
        .with_topics(vec![AcknowledgeTopic::default().with_topic_id(t).with_partitions(vec![
            // Offset 3 was rejected: it is no one's to acknowledge any more.
            AcknowledgePartition::default().with_partition_index(0).with_acknowledgement_batches(vec![
                share_acknowledge_request::AcknowledgementBatch::default()
                    .with_first_offset(2)
                    .with_last_offset(2)
                    .with_acknowledge_types(vec![ACCEPT]),
                share_acknowledge_request::AcknowledgementBatch::default()
                    .with_first_offset(4)
                    .with_last_offset(4)
                    .with_acknowledge_types(vec![ACCEPT]),
            ]),
        ])]);
    let r = a.call(&ack, 1).await;
    assert_eq!((r.error_code, r.responses[0].partitions[0].error_code), (0, 0));
    // Everything is done: the start offset moved past all five.
    let d = describe_offsets(&mut c, "sg").await;
    assert_eq!(d, vec![(0, 5, 0)]);
    b.stop().await;
}

/// (partition, start offset, lag) per partition of `topic "st"` from DescribeShareGroupOffsets.
async fn describe_offsets(c: &mut Client, group: &str) -> Vec<(i32, i64, i64)> {
    use describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup;
    let req =
        DescribeShareGroupOffsetsRequest::default().with_groups(vec![DescribeShareGroupOffsetsRequestGroup::default()
            .with_group_id(gid(group))
            .with_topics(None)]);
    let r = c.call(&req, 1).await;
    assert_eq!(r.groups[0].error_code, 0);
    r.groups[0]
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (p.partition_index, p.start_offset, p.lag)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_epochs_are_checked() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 2).await;
    let t = topic_id(&mut c, "st").await;
    let r = c.call(&share_fetch("sg", "m", 3, t, &[0], &[]), 1).await;
    assert_eq!(r.error_code, SHARE_SESSION_NOT_FOUND);
    let r = c.call(&share_fetch("sg", "m", 0, t, &[0], &[(0, 0, 0, ACCEPT)]), 1).await;
    assert_eq!(r.error_code, INVALID_REQUEST, "acknowledgements on the opening fetch");
    assert_eq!(c.call(&share_fetch("sg", "m", 0, t, &[0], &[]), 1).await.error_code, 0);
    assert_eq!(c.call(&share_fetch("sg", "m", 5, t, &[], &[]), 1).await.error_code, INVALID_SHARE_SESSION_EPOCH);
    // An incremental fetch adds partition 1 and forgets 0.
    let mut req = share_fetch("sg", "m", 1, t, &[1], &[]);
    req.forgotten_topics_data = vec![ForgottenTopic::default().with_topic_id(t).with_partitions(vec![0])];
    assert_eq!(c.call(&req, 1).await.error_code, 0);
    let bad_member = share_fetch("sg", "", 0, t, &[0], &[]);
    assert_eq!(c.call(&bad_member, 1).await.error_code, INVALID_REQUEST);
    // Epoch -1 closes the session; the next incremental fetch finds none.
    assert_eq!(c.call(&share_fetch("sg", "m", -1, t, &[], &[]), 1).await.error_code, 0);
    assert_eq!(c.call(&share_fetch("sg", "m", 3, t, &[], &[]), 1).await.error_code, SHARE_SESSION_NOT_FOUND);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_releases_its_records_and_locks_expire() {
    let b = TestBroker::start_with(|c| {
        c.group_defaults.share_record_lock_duration.min = 1000;
        c.group_defaults.share_record_lock_duration.default = 1000;
    })
    .await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 1).await;
    let t = topic_id(&mut c, "st").await;
    earliest(&mut c, "sg").await;
    produce_n(&mut c, "st", 0, 3).await;
    {
        let mut gone = b.client().await;
        let r = gone.call(&share_fetch("sg", "a", 0, t, &[0], &[]), 1).await;
        assert_eq!(acquired(&r, 0).0, vec![(0, 2, 1)]);
    } // the connection closes with the records held
    let mut other = b.client().await;
    let mut got = Vec::new();
    for _ in 0..20 {
        let r = other.call(&share_fetch("sg", "b", 0, t, &[0], &[]), 1).await;
        got = acquired(&r, 0).0;
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got, vec![(0, 2, 2)], "released at once, not after the lock");
    // b holds them and goes quiet: after the 1 s lock they are delivered again.
    let mut third = b.client().await;
    let start = std::time::Instant::now();
    let mut again = Vec::new();
    while start.elapsed() < Duration::from_secs(5) && again.is_empty() {
        let r = third.call(&share_fetch("sg", "c", 0, t, &[0], &[]).with_max_wait_ms(500), 1).await;
        again = acquired(&r, 0).0;
    }
    assert_eq!(again, vec![(0, 2, 3)]);
    assert!(start.elapsed() >= Duration::from_millis(500), "not before the lock expired");
    drop(other);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_limit_archives_and_dead_letters_a_poison_record() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 1).await;
    create_topic_with(&mut c, "dlq.st", 1, &[("errors.deadletterqueue.group.enable", "true")]).await;
    let t = topic_id(&mut c, "st").await;
    let cfg = [
        ("share.auto.offset.reset", OP_SET, Some("earliest")),
        ("share.delivery.count.limit", OP_SET, Some("2")),
        ("errors.deadletterqueue.topic.name", OP_SET, Some("dlq.st")),
        ("errors.deadletterqueue.copy.record.enable", OP_SET, Some("true")),
    ];
    let (code, msg) = alter_incremental(&mut c, RESOURCE_GROUP, "sg", &cfg, false).await;
    assert_eq!(code, 0, "{msg:?}");
    produce_ok(&mut c, "st", 0, batch(&[b"poison"])).await;
    produce_ok(&mut c, "st", 0, batch(&[b"rejected"])).await;
    let r = c.call(&share_fetch("sg", "a", 0, t, &[0], &[]), 1).await;
    assert_eq!(acquired(&r, 0).0, vec![(0, 1, 1)]);
    let r = c.call(&share_fetch("sg", "a", 1, t, &[0], &[(0, 0, 0, RELEASE), (0, 1, 1, REJECT)]), 1).await;
    assert_eq!(acquired(&r, 0).0, vec![(0, 0, 2)], "delivered a second time");
    let r = c.call(&share_fetch("sg", "a", 2, t, &[0], &[(0, 0, 0, RELEASE)]), 1).await;
    assert!(acquired(&r, 0).0.is_empty(), "archived at the limit, not delivered a third time");
    assert_eq!(describe_offsets(&mut c, "sg").await, vec![(0, 2, 0)]);
    let dead = fetch_all(&mut c, "dlq.st", 0, 0).await;
    assert_eq!(dead.len(), 2, "the rejected and the poison record are parked");
    let header = |r: &kafka_protocol::records::Record, k: &str| {
        r.headers
            .iter()
            .find(|(n, _)| n.as_str() == k)
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v).to_string())
    };
    let by_offset: BTreeMap<String, &kafka_protocol::records::Record> =
        dead.iter().map(|r| (header(r, "__dlq.errors.offset").expect("offset header"), r)).collect();
    let rejected = by_offset["1"];
    assert_eq!(header(rejected, "__dlq.errors.message").as_deref(), Some("Offset rejected by client."));
    assert_eq!(rejected.value.as_deref(), Some(&b"rejected"[..]));
    let poison = by_offset["0"];
    assert_eq!(header(poison, "__dlq.errors.topic").as_deref(), Some("st"));
    assert_eq!(header(poison, "__dlq.errors.group").as_deref(), Some("sg"));
    assert_eq!(header(poison, "__dlq.errors.delivery.count").as_deref(), Some("2"));
    assert_eq!(
        header(poison, "__dlq.errors.message").as_deref(),
        Some("Offset delivery count exceeded the threshold.")
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_survive_a_crash_and_acquisitions_do_not() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 1).await;
    let t = topic_id(&mut c, "st").await;
    earliest(&mut c, "sg").await;
    produce_n(&mut c, "st", 0, 6).await;
    let r = c.call(&share_fetch("sg", "a", 0, t, &[0], &[]), 1).await;
    assert_eq!(acquired(&r, 0).0, vec![(0, 5, 1)]);
    let r = c.call(&share_fetch("sg", "a", 1, t, &[0], &[(0, 0, 2, ACCEPT)]), 1).await;
    assert_eq!(acquired(&r, 0).1, 0);
    b.crash_restart().await;
    b.wait_coordinators_loaded().await;
    let mut c = b.client().await;
    let mut got = Vec::new();
    for _ in 0..40 {
        let r = c.call(&share_fetch("sg", "b", 0, t, &[0], &[]), 1).await;
        if r.responses.iter().flat_map(|x| &x.partitions).any(|p| p.error_code != 0) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        got = acquired(&r, 0).0;
        if !got.is_empty() {
            break;
        }
    }
    // The accepted ones are done; the others come back. Their delivery count is 1 when the
    // crash came first (acquisitions are not stored), 2 when the in-process crash closed the
    // member's connection first (a release is stored, as in Kafka).
    assert_eq!(got.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), vec![(3, 5)], "{got:?}");
    assert!(got[0].2 <= 2, "{got:?}");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_apis_set_and_delete_share_offsets() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 2).await;
    let t = topic_id(&mut c, "st").await;
    produce_n(&mut c, "st", 0, 10).await;
    use alter_share_group_offsets_request::{
        AlterShareGroupOffsetsRequestPartition as P, AlterShareGroupOffsetsRequestTopic as T,
    };
    let alter = AlterShareGroupOffsetsRequest::default().with_group_id(gid("sg")).with_topics(vec![
        T::default().with_topic_name(tn("st")).with_partitions(vec![
            P::default().with_partition_index(0).with_start_offset(7),
            P::default().with_partition_index(9).with_start_offset(0),
        ]),
        T::default().with_topic_name(tn("missing")).with_partitions(vec![P::default().with_partition_index(0)]),
    ]);
    let r = c.call(&alter, 0).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    let codes: Vec<Vec<i16>> =
        r.responses.iter().map(|t| t.partitions.iter().map(|p| p.error_code).collect()).collect();
    assert_eq!(codes, vec![vec![0, 3], vec![3]]);
    assert_eq!(describe_offsets(&mut c, "sg").await, vec![(0, 7, 3)]);
    // A member joining gets the altered start: offsets 7-9.
    let j = c.call(&join("sg", "m", &["st"]), 1).await;
    assert_eq!(j.error_code, 0);
    let r = c.call(&share_fetch("sg", "m", 0, t, &[0], &[]), 1).await;
    assert_eq!(acquired(&r, 0).0, vec![(7, 9, 1)]);
    assert_eq!(c.call(&alter, 0).await.error_code, NON_EMPTY_GROUP);
    assert_eq!(c.call(&beat("sg", "m", -1), 1).await.error_code, 0);
    use delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic as D;
    let del = DeleteShareGroupOffsetsRequest::default()
        .with_group_id(gid("sg"))
        .with_topics(vec![D::default().with_topic_name(tn("st")), D::default().with_topic_name(tn("other"))]);
    let r = c.call(&del, 0).await;
    assert_eq!(r.error_code, 0);
    let codes: Vec<i16> = r.responses.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![0, 3]);
    assert!(describe_offsets(&mut c, "sg").await.is_empty());
    let missing = DeleteShareGroupOffsetsRequest::default().with_group_id(gid("nope"));
    assert_eq!(c.call(&missing, 0).await.error_code, GROUP_ID_NOT_FOUND);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_survives_a_restart() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 3).await;
    let a = c.call(&join("sg", "a", &["st"]), 1).await;
    assert_eq!(a.error_code, 0);
    let a = c.call(&beat("sg", "a", 1), 1).await;
    assert_eq!((a.error_code, a.member_epoch, partitions(&a)), (0, 2, 3));
    b.restart().await;
    b.wait_coordinators_loaded().await;
    let mut c = b.client().await;
    let d = c.call(&ShareGroupDescribeRequest::default().with_group_ids(vec![gid("sg")]), 1).await;
    let g = &d.groups[0];
    assert_eq!((g.error_code, g.group_epoch, g.members.len()), (0, 2, 1));
    assert_eq!(g.members[0].assignment.topic_partitions[0].partitions.len(), 3);
    let again = c.call(&beat("sg", "a", 2), 1).await;
    assert_eq!((again.error_code, again.member_epoch), (0, 2));
    b.stop().await;
}

/// A transaction of `id` writing `values` to st-0, then committed or aborted.
async fn transaction(c: &mut Client, id: &str, values: &[&str], commit: Option<bool>) {
    use add_partitions_to_txn_request::AddPartitionsToTxnTopic;
    let (pid, epoch) = crate::common::txn::init_txn(c, id, 60_000).await;
    let add = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(sb(id)))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(tn("st"))
            .with_partitions(vec![0])]);
    c.call(&add, 3).await;
    let r = c.call(&crate::common::txn::txn_produce(id, "st", 0, (pid, epoch, 0), values), 9).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    if let Some(commit) = commit {
        let end = EndTxnRequest::default()
            .with_transactional_id(TransactionalId(sb(id)))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_committed(commit);
        assert_eq!(c.call(&end, 3).await.error_code, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_groups_never_get_aborted_or_open_transactions() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 1).await;
    let t = topic_id(&mut c, "st").await;
    let cfg = [
        ("share.auto.offset.reset", OP_SET, Some("earliest")),
        ("share.isolation.level", OP_SET, Some("read_committed")),
    ];
    assert_eq!(alter_incremental(&mut c, RESOURCE_GROUP, "rc", &cfg, false).await.0, 0);
    earliest(&mut c, "ru").await;
    transaction(&mut c, "aborts", &["a1", "a2"], Some(false)).await; // 0-1, marker 2
    transaction(&mut c, "commits", &["b1"], Some(true)).await; // 3, marker 4
    produce_ok(&mut c, "st", 0, batch(&[b"plain"])).await; // 5
    transaction(&mut c, "open", &["o1"], None).await; // 6, undecided
    produce_ok(&mut c, "st", 0, batch(&[b"after"])).await; // 7
    let r = c.call(&share_fetch("rc", "m", 0, t, &[0], &[]), 1).await;
    assert_eq!(acquired(&r, 0).0, vec![(3, 3, 1), (5, 5, 1)], "committed and plain records, up to the open one");
    // A read_uncommitted group gets every data record (markers are never delivered).
    let r = c.call(&share_fetch("ru", "m", 0, t, &[0], &[]), 1).await;
    assert_eq!(acquired(&r, 0).0, vec![(0, 1, 1), (3, 3, 1), (5, 7, 1)]);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_share_requests_get_kafkas_errors() {
    const SHARE_SESSION_LIMIT_REACHED: i16 = 133;
    const UNKNOWN_TOPIC_ID: i16 = 100;
    let b = TestBroker::start_with(|c| c.share.max_sessions = 1).await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 1).await;
    let t = topic_id(&mut c, "st").await;
    produce_n(&mut c, "st", 0, 3).await;
    earliest(&mut c, "sg").await;
    assert_eq!(c.call(&share_fetch("sg", "a", 0, t, &[0], &[]), 1).await.error_code, 0);
    // The session cache holds one session.
    let r = c.call(&share_fetch("sg", "b", 0, t, &[0], &[]).with_max_wait_ms(0), 1).await;
    assert_eq!(r.error_code, SHARE_SESSION_LIMIT_REACHED);
    // Acknowledgement batches out of order, or with a type count that does not match.
    let bad = [(0, 1, 1, ACCEPT), (0, 0, 0, ACCEPT)];
    let r = c.call(&share_fetch("sg", "a", 1, t, &[0], &bad), 1).await;
    assert_eq!(acquired(&r, 0).1, INVALID_REQUEST);
    // An unknown topic id in the session.
    let ghost = Uuid::from_u128(7);
    let r = c.call(&share_fetch("sg", "a", 2, ghost, &[0], &[]), 1).await;
    let codes: Vec<i16> = r
        .responses
        .iter()
        .filter(|x| x.topic_id == ghost)
        .flat_map(|x| x.partitions.iter().map(|p| p.error_code))
        .collect();
    assert_eq!(codes, vec![UNKNOWN_TOPIC_ID]);
    // v2: a renewal fetches nothing, so its fetch limits must be 0.
    let renew = share_fetch("sg", "a", 3, t, &[], &[]).with_is_renew_ack(true);
    assert_eq!(c.call(&renew, 2).await.error_code, INVALID_REQUEST);
    let renew = renew.with_max_wait_ms(0).with_min_bytes(0).with_max_bytes(0).with_max_records(0);
    let r = c.call(&renew, 2).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert!(r.responses.iter().all(|x| x.partitions.iter().all(|p| p.acquired_records.is_empty())));
    // v2 record_limit mode: exactly MaxRecords, not whole batches.
    let mut c2 = b.client().await;
    assert_eq!(c2.call(&share_fetch("sg", "a", -1, t, &[], &[]), 2).await.error_code, 0);
    produce_ok(&mut c, "st", 0, batch(&[b"x1", b"x2", b"x3", b"x4"])).await; // 3-6
    let limited = share_fetch("sg", "z", 0, t, &[0], &[]).with_share_acquire_mode(1).with_max_records(2);
    let r = c2.call(&limited, 2).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert_eq!(acquired(&r, 0).0.iter().map(|a| a.1 - a.0 + 1).sum::<i64>(), 2);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_offset_reset_latest_earliest_and_by_duration() {
    use kafka_protocol::records::Compression;
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st", 1).await;
    let t = topic_id(&mut c, "st").await;
    let old = now_ms() - 2 * 3_600_000;
    produce_ok(&mut c, "st", 0, batch_full(&[(b"old1", old), (b"old2", old)], NO_PRODUCER, Compression::None)).await;
    produce_n(&mut c, "st", 0, 2).await; // offsets 2-3, now
    for (g, v) in [("hour", "by_duration:PT1H"), ("early", "earliest")] {
        let ops = [("share.auto.offset.reset", OP_SET, Some(v))];
        assert_eq!(alter_incremental(&mut c, RESOURCE_GROUP, g, &ops, false).await.0, 0, "{v}");
    }
    let bad = alter_incremental(
        &mut c,
        RESOURCE_GROUP,
        "x",
        &[("share.auto.offset.reset", OP_SET, Some("by_duration:-PT1H"))],
        false,
    );
    assert_eq!(bad.await.0, 40, "negative durations are INVALID_CONFIG");
    let r = c.call(&share_fetch("hour", "m", 0, t, &[0], &[]), 1).await;
    assert_eq!(acquired(&r, 0).0, vec![(2, 3, 1)], "only the last hour's records");
    let r = c.call(&share_fetch("early", "m", 0, t, &[0], &[]), 1).await;
    assert_eq!(acquired(&r, 0).0, vec![(0, 3, 1)]);
    // latest (the default): the high watermark when the share partition first initializes.
    let r = c.call(&share_fetch("latest", "m", 0, t, &[0], &[]).with_max_wait_ms(0), 1).await;
    assert!(acquired(&r, 0).0.is_empty());
    produce_n(&mut c, "st", 0, 1).await; // offset 4
    let r = c.call(&share_fetch("latest", "m", 1, t, &[], &[]), 1).await;
    assert_eq!(acquired(&r, 0).0, vec![(4, 4, 1)]);
    b.stop().await;
}
