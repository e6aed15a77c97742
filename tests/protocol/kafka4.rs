//! The versions Kafka 4.x clients send beyond Kafka 3.9's, field by field: Produce v12 (v11
//! without `transaction.version` 2) and v13 (topics by id), Fetch v18, FindCoordinator v6
//! (share-group keys) and DescribeGroups v6 (unknown groups as GROUP_ID_NOT_FOUND); and that
//! the versions before them still answer as they did.

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::*;
use uuid::Uuid;

use crate::common::groups::*;
use crate::common::*;

// ---------------------------------------------------------------------------------------
// Produce v12, v13
// ---------------------------------------------------------------------------------------

const UNKNOWN_TOPIC_ID: i16 = 100;
const INVALID_TOPIC_EXCEPTION: i16 = 17;

fn partitions(indexes: &[i32], value: &[u8]) -> Vec<PartitionProduceData> {
    indexes.iter().map(|&i| PartitionProduceData::default().with_index(i).with_records(Some(batch(&[value])))).collect()
}

fn produce_topics(acks: i16, topics: Vec<TopicProduceData>) -> ProduceRequest {
    ProduceRequest::default().with_acks(acks).with_timeout_ms(5000).with_topic_data(topics)
}

/// (index, error code, base offset, log append time, log start offset, error message).
fn outcome(p: &PartitionProduceResponse) -> (i32, i16, i64, i64, i64, Option<String>) {
    let message = p.error_message.as_ref().map(|m| m.to_string());
    (p.index, p.error_code, p.base_offset, p.log_append_time_ms, p.log_start_offset, message)
}

/// A partition answered with `code` and nothing else (Kafka's `new PartitionResponse(error)`).
fn refused(index: i32, code: i16) -> (i32, i16, i64, i64, i64, Option<String>) {
    (index, code, -1, -1, -1, None)
}

/// v12 (KIP-890 part 2) is v11 for a broker that does not finalize `transaction.version` 2:
/// the same answers, field by field, for a known topic, a missing partition and an unknown
/// topic, each named by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_v12_answers_as_v11() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "p12", 1).await;
    for v in [11, 12] {
        let req = produce_topics(
            -1,
            vec![
                TopicProduceData::default().with_name(tn("p12")).with_partition_data(partitions(&[0, 4], b"x")),
                TopicProduceData::default().with_name(tn("p12-missing")).with_partition_data(partitions(&[0], b"y")),
            ],
        );
        let r = c.call(&req, v).await;
        let got: Vec<_> = r
            .responses
            .iter()
            .map(|t| (t.name.to_string(), t.partition_responses.iter().map(outcome).collect::<Vec<_>>()))
            .collect();
        let offset = (v - 11) as i64;
        let want = vec![
            ("p12".to_string(), vec![(0, NONE, offset, -1, 0, None), refused(4, UNKNOWN_TOPIC_OR_PARTITION)]),
            ("p12-missing".to_string(), vec![refused(0, UNKNOWN_TOPIC_OR_PARTITION)]),
        ];
        assert_eq!(got, want, "Produce v{v}");
    }
    let values: Vec<Bytes> = fetch_all(&mut c, "p12", 0, 0).await.into_iter().map(|r| r.value.unwrap()).collect();
    assert_eq!(values, [&b"x"[..], &b"x"[..]]);
    b.stop().await;
}

/// v13 (KIP-516) names each topic by id: a known id appends as a name did and is answered by
/// id; an unknown id (the nil one included) gets UNKNOWN_TOPIC_ID for each of its partitions
/// and appends nothing, wherever it stands among the request's topics; a missing partition of a
/// known id is UNKNOWN_TOPIC_OR_PARTITION, and the internal offsets topic is refused by id as by
/// name. Kafka's handleProduceRequest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_v13_names_topics_by_id() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "p13", 2).await;
    create_topic(&mut c, "p13-other", 1).await;
    commit_standalone(&mut c, "p13-g", &[("p13", 0, 0, None)]).await;
    let id = topic_id(&mut c, "p13").await;
    let other = topic_id(&mut c, "p13-other").await;
    let offsets = topic_id(&mut c, "__consumer_offsets").await;
    let unknown = Uuid::from_u128(0x516_0013);
    let by_id = |id: Uuid, parts: &[i32], value: &[u8]| {
        TopicProduceData::default().with_topic_id(id).with_partition_data(partitions(parts, value))
    };
    for acks in [-1, 1] {
        let req = produce_topics(
            acks,
            vec![
                by_id(unknown, &[0, 7], b"lost"),
                by_id(id, &[0, 1, 2], b"p13"),
                by_id(Uuid::nil(), &[0], b"lost"),
                by_id(other, &[0], b"other"),
                by_id(offsets, &[0], b"internal"),
            ],
        );
        let r = c.call(&req, 13).await;
        let got: Vec<_> = r
            .responses
            .iter()
            .map(|t| {
                // The name is not in v13's response; the request's empty one stays.
                assert_eq!(t.name.as_str(), "", "acks={acks}");
                (t.topic_id, t.partition_responses.iter().map(outcome).collect::<Vec<_>>())
            })
            .collect();
        let base = if acks == -1 { 0 } else { 1 };
        let internal = Some("Cannot append to internal topic __consumer_offsets".to_string());
        let want = vec![
            (unknown, vec![refused(0, UNKNOWN_TOPIC_ID), refused(7, UNKNOWN_TOPIC_ID)]),
            (
                id,
                vec![
                    (0, NONE, base, -1, 0, None),
                    (1, NONE, base, -1, 0, None),
                    refused(2, UNKNOWN_TOPIC_OR_PARTITION),
                ],
            ),
            (Uuid::nil(), vec![refused(0, UNKNOWN_TOPIC_ID)]),
            (other, vec![(0, NONE, base, -1, 0, None)]),
            (offsets, vec![(0, INVALID_TOPIC_EXCEPTION, -1, -1, -1, internal)]),
        ];
        assert_eq!(got, want, "Produce v13 acks={acks}");
    }
    for (topic, p, want) in [("p13", 0, &b"p13"[..]), ("p13", 1, b"p13"), ("p13-other", 0, b"other")] {
        let values: Vec<Bytes> = fetch_all(&mut c, topic, p, 0).await.into_iter().map(|r| r.value.unwrap()).collect();
        assert_eq!(values, [want, want], "{topic}-{p}");
    }
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// Fetch v18
// ---------------------------------------------------------------------------------------

/// v18 adds only a follower's `high_watermark` (KIP-1166, a tagged field a consumer leaves at
/// its default): whatever it says, a v18 fetch is answered exactly as at v17.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_v18_answers_as_v17_whatever_the_high_watermark_field() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "f18", 1).await;
    produce_ok(&mut c, "f18", 0, batch(&[b"a", b"b"])).await;
    let id = topic_id(&mut c, "f18").await;
    let fetch = |high_watermark: i64| {
        FetchRequest::default().with_max_wait_ms(0).with_min_bytes(1).with_max_bytes(1 << 20).with_topics(vec![
            FetchTopic::default().with_topic_id(id).with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)
                .with_high_watermark(high_watermark)]),
        ])
    };
    let v17 = c.call(&fetch(i64::MAX), 17).await;
    assert_eq!(v17.error_code, NONE);
    assert_eq!(v17.responses.len(), 1);
    assert_eq!(v17.responses[0].topic_id, id);
    let p = &v17.responses[0].partitions[0];
    assert_eq!((p.partition_index, p.error_code, p.high_watermark, p.log_start_offset), (0, NONE, 2, 0));
    let values: Vec<_> = decode_records(&p.records).into_iter().map(|r| r.value.unwrap()).collect();
    assert_eq!(values, [&b"a"[..], &b"b"[..]]);
    // The default (not sent), unknown (-1), behind and ahead of the leader's.
    for hw in [i64::MAX, -1, 1, 5] {
        assert_eq!(c.call(&fetch(hw), 18).await, v17, "Fetch v18 with high_watermark {hw}");
    }
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// FindCoordinator v6
// ---------------------------------------------------------------------------------------

const INVALID_REQUEST: i16 = 42;
const KEY_TYPE_SHARE: i8 = 2;

/// v6 (KIP-932) may ask for a share-partition key (`groupId:topicId:partition`): this broker
/// is the share coordinator. Malformed keys, and the key type below v6, are INVALID_REQUEST.
/// Group keys are answered at v6 as at v5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_coordinator_v6_answers_share_keys() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let share_key = format!("fc6-g:{}:0", uuid::Uuid::from_u128(0x516_0932));
    let keys = || vec![sb(&share_key), sb("not-a-share-key"), sb(""), sb("g:t:-1")];

    let group = c.call(&FindCoordinatorRequest::default().with_coordinator_keys(vec![sb("fc6-g")]), 6).await;
    let v5 = c.call(&FindCoordinatorRequest::default().with_coordinator_keys(vec![sb("fc6-g")]), 5).await;
    assert_eq!(group, v5, "a group key at v6 is answered as at v5");
    let port = b.addr().port() as i32;
    assert_eq!((group.coordinators[0].error_code, group.coordinators[0].port), (NONE, port));

    for v in 4..=6 {
        let req = FindCoordinatorRequest::default().with_key_type(KEY_TYPE_SHARE).with_coordinator_keys(keys());
        let r = c.call(&req, v).await;
        let got: Vec<_> = r.coordinators.iter().map(|co| (co.key.to_string(), co.error_code, co.port)).collect();
        let want: Vec<_> = keys()
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let ok = v == 6 && i == 0;
                (k.to_string(), if ok { NONE } else { INVALID_REQUEST }, if ok { port } else { -1 })
            })
            .collect();
        assert_eq!(got, want, "FindCoordinator v{v} share keys");
    }
    for v in 1..=3 {
        let r =
            c.call(&FindCoordinatorRequest::default().with_key_type(KEY_TYPE_SHARE).with_key(sb(&share_key)), v).await;
        assert_eq!((r.error_code, r.node_id.0, r.port), (INVALID_REQUEST, -1, -1), "FindCoordinator v{v} share key");
        assert!(r.error_message.is_some(), "FindCoordinator v{v} says why");
    }
    // Kafka's CoordinatorType.forId refuses a key type it does not know.
    let r =
        c.call(&FindCoordinatorRequest::default().with_key_type(3).with_coordinator_keys(vec![sb("fc6-g")]), 6).await;
    assert_eq!((r.coordinators[0].error_code, r.coordinators[0].node_id.0), (INVALID_REQUEST, -1));
    // The connection, and group keys, still work.
    let again = c.call(&FindCoordinatorRequest::default().with_coordinator_keys(vec![sb("fc6-g")]), 6).await;
    assert_eq!(again, group);
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// DescribeGroups v6
// ---------------------------------------------------------------------------------------

/// Every version, a group that does not exist (never did, or deleted) is described as Dead
/// with nothing else; v6 (KIP-1043) adds GROUP_ID_NOT_FOUND and Kafka's message to it, and no
/// authorized operations (Kafka fills them only for a group answered without error). Groups
/// that exist are described at v6 as at v5, with no error message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_groups_v6_reports_a_missing_group_as_not_found() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "dg6-t", 1).await;
    stable_single(&mut c, "dg6-stable", &["dg6-t"], b"a").await;
    commit_standalone(&mut c, "dg6-empty", &[("dg6-t", 0, 1, None)]).await;
    commit_standalone(&mut c, "dg6-deleted", &[("dg6-t", 0, 1, None)]).await;
    assert_eq!(delete_groups(&mut c, &["dg6-deleted"]).await, [("dg6-deleted".to_string(), NONE)]);
    let groups = ["dg6-stable", "dg6-empty", "dg6-never", "dg6-deleted"];

    for v in 0..=6 {
        let req = DescribeGroupsRequest::default()
            .with_groups(groups.iter().map(|g| gid(g)).collect())
            .with_include_authorized_operations(v >= 3);
        let r = c.call(&req, v).await;
        let got: Vec<_> = r
            .groups
            .iter()
            .map(|g| {
                let message = g.error_message.as_ref().map(|m| m.to_string());
                (g.group_id.to_string(), g.error_code, g.group_state.to_string(), message, g.members.len())
            })
            .collect();
        let missing = |g: &str| {
            if v >= 6 {
                (g.to_string(), GROUP_ID_NOT_FOUND, "Dead".to_string(), Some(format!("Group {g} not found.")), 0)
            } else {
                (g.to_string(), NONE, "Dead".to_string(), None, 0)
            }
        };
        let want = vec![
            ("dg6-stable".to_string(), NONE, "Stable".to_string(), None, 1),
            ("dg6-empty".to_string(), NONE, "Empty".to_string(), None, 0),
            missing("dg6-never"),
            missing("dg6-deleted"),
        ];
        assert_eq!(got, want, "DescribeGroups v{v}");
        for g in &r.groups {
            assert_eq!(g.protocol_type.as_str(), if g.group_id.as_str() == "dg6-stable" { "consumer" } else { "" });
            // Group operations with no authorizer (Kafka's bit field), when asked and answered.
            let ops = if v >= 3 && g.error_code == NONE { 3400 } else { i32::MIN };
            assert_eq!(g.authorized_operations, ops, "DescribeGroups v{v} {}", g.group_id.as_str());
        }
    }
    b.stop().await;
}
