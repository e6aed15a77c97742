//! The versions Kafka 4.x clients send beyond Kafka 3.9's, field by field: Produce v12 (v11
//! without `transaction.version` 2) and v13 (topics by id), Fetch v18, FindCoordinator v6
//! (share-group keys) and DescribeGroups v6 (unknown groups as GROUP_ID_NOT_FOUND); and that
//! the versions before them still answer as they did.

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::*;

use crate::common::groups::*;
use crate::common::*;

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

/// v6 (KIP-932) may ask for a share-group key (`groupId:topicId:partition`). Brook has no
/// share coordinator, and answers as Kafka's getCoordinator does without one (share groups
/// not enabled): INVALID_REQUEST and no node for every key, well-formed or not, as it answers
/// the key type below v6. Group keys are answered at v6 as at v5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_coordinator_v6_share_keys_are_invalid_without_a_share_coordinator() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let share_key = format!("fc6-g:{}:0", uuid::Uuid::from_u128(0x516_0932));
    let keys = || vec![sb(&share_key), sb("not-a-share-key"), sb("")];

    let group = c.call(&FindCoordinatorRequest::default().with_coordinator_keys(vec![sb("fc6-g")]), 6).await;
    let v5 = c.call(&FindCoordinatorRequest::default().with_coordinator_keys(vec![sb("fc6-g")]), 5).await;
    assert_eq!(group, v5, "a group key at v6 is answered as at v5");
    assert_eq!((group.coordinators[0].error_code, group.coordinators[0].port), (NONE, b.addr().port() as i32));

    for v in 4..=6 {
        let req = FindCoordinatorRequest::default().with_key_type(KEY_TYPE_SHARE).with_coordinator_keys(keys());
        let r = c.call(&req, v).await;
        let got: Vec<_> = r
            .coordinators
            .iter()
            .map(|co| (co.key.to_string(), co.error_code, co.node_id.0, co.host.to_string(), co.port))
            .collect();
        let want: Vec<_> = keys().iter().map(|k| (k.to_string(), INVALID_REQUEST, -1, String::new(), -1)).collect();
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
