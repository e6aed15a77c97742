//! Produce (WRITE on each topic, WRITE on the transactional id for transactional records),
//! Fetch (READ), ListOffsets and OffsetForLeaderEpoch (DESCRIBE).

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ReplicaState};
use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use uuid::Uuid;

use super::*;
use crate::common::txn::txn_produce;
use crate::common::*;

/// One request producing `value` to partition 0 of each of `topics`.
fn produce_to(topics: &[&str], value: &str) -> ProduceRequest {
    let data = topics
        .iter()
        .map(|t| {
            TopicProduceData::default().with_name(tn(t)).with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch(&[value.as_bytes()])))])
        })
        .collect();
    ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(data)
}

/// Fetch v13+ of partition 0 of the topic `id`, from offset 0.
fn fetch_by_id(id: Uuid) -> FetchRequest {
    FetchRequest::default().with_max_wait_ms(0).with_min_bytes(1).with_max_bytes(1 << 20).with_topics(vec![
        FetchTopic::default().with_topic_id(id).with_partitions(vec![FetchPartition::default()
            .with_partition(0)
            .with_fetch_offset(0)
            .with_partition_max_bytes(1 << 20)]),
    ])
}

/// OffsetForLeaderEpoch (v4) of partition 0 of `topic`: the partition's error code.
async fn epoch_end_code(c: &mut Client, topic: &str) -> i16 {
    let req = OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        OffsetForLeaderTopic::default().with_topic(tn(topic)).with_partitions(vec![OffsetForLeaderPartition::default(
        )
        .with_partition(0)
        .with_current_leader_epoch(-1)
        .with_leader_epoch(0)]),
    ]);
    let r = c.call(&req, 4).await;
    r.topics[0].partitions[0].error_code
}

/// Kafka's `handleProduceRequest`: each topic (named, or by id from v13) needs WRITE, checked
/// before the topic is looked up (an unknown topic is TOPIC_AUTHORIZATION_FAILED too, its
/// existence not disclosed; an unknown id UNKNOWN_TOPIC_ID); the allowed topics of a mixed
/// request are written; transactional records need WRITE on the transactional id, else
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED for the whole request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_needs_write_on_each_topic() {
    let mut s = Setup::start().await;
    s.topics(&["p-open", "p-closed"]).await;

    let r = s.alice.call(&produce_to(&["p-closed"], "x"), PRODUCE_V).await;
    assert_eq!(produce_codes(&r), vec![("p-closed".into(), 0, TOPIC_AUTHORIZATION_FAILED)]);
    let r = s.alice.call(&produce_to(&["p-ghost"], "x"), PRODUCE_V).await;
    assert_eq!(produce_codes(&r), vec![("p-ghost".into(), 0, TOPIC_AUTHORIZATION_FAILED)], "existence not told");

    s.grant(&[allow(TOPIC, "p-open", WRITE), allow(TOPIC, "p-ghost", WRITE)]).await;
    assert_eq!(produce_ok(&mut s.alice, "p-open", 0, batch(&[b"first"])).await, 0);
    // With WRITE, an unknown topic is told as such (and Produce does not create it).
    let r = s.alice.call(&produce_to(&["p-ghost"], "x"), PRODUCE_V).await;
    assert_eq!(produce_codes(&r), vec![("p-ghost".into(), 0, UNKNOWN_TOPIC_OR_PARTITION)]);

    // Allowed and denied in one request: each answered, the allowed one written.
    let r = s.alice.call(&produce_to(&["p-closed", "p-open"], "second"), PRODUCE_V).await;
    assert_eq!(produce_codes(&r), vec![("p-closed".into(), 0, TOPIC_AUTHORIZATION_FAILED), ("p-open".into(), 0, NONE)]);
    let written = r.responses.iter().find(|t| t.name.as_str() == "p-open").unwrap();
    assert_eq!(written.partition_responses[0].base_offset, 1);
    assert_eq!(fetch_all(&mut s.admin, "p-open", 0, 0).await.len(), 2, "both writes to p-open landed");
    assert_eq!(fetch_all(&mut s.admin, "p-closed", 0, 0).await.len(), 0, "nothing reached p-closed");

    // Transactional records: WRITE on the topic is not enough; without a transactional id,
    // or with one alice may not WRITE, every partition is refused.
    let mut req = txn_produce("tx-p", "p-open", 0, (4242, 0, 0), &["t"]);
    let r = s.alice.call(&req, PRODUCE_V).await;
    assert_eq!(produce_codes(&r), vec![("p-open".into(), 0, TRANSACTIONAL_ID_AUTHORIZATION_FAILED)]);
    req.transactional_id = None;
    let r = s.alice.call(&req, PRODUCE_V).await;
    assert_eq!(produce_codes(&r), vec![("p-open".into(), 0, TRANSACTIONAL_ID_AUTHORIZATION_FAILED)]);

    // By topic id (v13): the topic's name decides; an unknown id is told as such.
    let closed = topic_id(&mut s.admin, "p-closed").await;
    let by_id = |id| produce_request_by_id(id, 0, batch(&[b"x"]), -1);
    let code = |r: &ProduceResponse| r.responses[0].partition_responses[0].error_code;
    assert_eq!(code(&s.alice.call(&by_id(closed), 13).await), TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(code(&s.alice.call(&by_id(Uuid::new_v4()), 13).await), UNKNOWN_TOPIC_ID);
    let open = topic_id(&mut s.admin, "p-open").await;
    assert_eq!(code(&s.alice.call(&by_id(open), 13).await), NONE);
    s.stop().await;
}

/// Kafka's `handleFetchRequest` (READ on each topic, by name up to v12 and by topic id from
/// v13; an unknown id is UNKNOWN_TOPIC_ID, as there is no name to authorize; a follower's
/// fetch CLUSTER_ACTION on the cluster instead),
/// `handleListOffsetRequest` and `handleOffsetForLeaderEpochRequest` (DESCRIBE, which READ
/// implies).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_needs_read_and_offsets_need_describe() {
    let mut s = Setup::start().await;
    s.topics(&["f-t"]).await;
    produce_ok(&mut s.admin, "f-t", 0, batch(&[b"a", b"b"])).await;
    let id = topic_id(&mut s.admin, "f-t").await;

    let p = fetch(&mut s.alice, "f-t", 0, 0).await;
    assert_eq!(p.error_code, TOPIC_AUTHORIZATION_FAILED);
    assert!(decode_records(&p.records).is_empty(), "no records without READ");
    assert_eq!(fetch(&mut s.alice, "f-ghost", 0, 0).await.error_code, TOPIC_AUTHORIZATION_FAILED);
    let r = s.alice.call(&fetch_by_id(id), 13).await;
    assert_eq!(r.responses[0].topic_id, id);
    assert_eq!(r.responses[0].partitions[0].error_code, TOPIC_AUTHORIZATION_FAILED);
    let r = s.alice.call(&fetch_by_id(Uuid::new_v4()), 13).await;
    assert_eq!(r.responses[0].partitions[0].error_code, UNKNOWN_TOPIC_ID);
    let lo = list_offsets(&mut s.alice, "f-t", 0, -1).await;
    assert_eq!((lo.error_code, lo.offset), (TOPIC_AUTHORIZATION_FAILED, -1));
    assert_eq!(list_offsets(&mut s.alice, "f-ghost", 0, -1).await.error_code, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(epoch_end_code(&mut s.alice, "f-t").await, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(epoch_end_code(&mut s.alice, "f-ghost").await, TOPIC_AUTHORIZATION_FAILED);

    // DESCRIBE is enough for the offsets, not for the records.
    s.grant(&[allow(TOPIC, "f-t", DESCRIBE)]).await;
    let lo = list_offsets(&mut s.alice, "f-t", 0, -1).await;
    assert_eq!((lo.error_code, lo.offset), (NONE, 2));
    assert_eq!(epoch_end_code(&mut s.alice, "f-t").await, NONE);
    assert_eq!(fetch(&mut s.alice, "f-t", 0, 0).await.error_code, TOPIC_AUTHORIZATION_FAILED);

    s.grant(&[allow(TOPIC, "f-t", READ)]).await;
    let values: Vec<_> = fetch_all(&mut s.alice, "f-t", 0, 0).await.into_iter().filter_map(|r| r.value).collect();
    assert_eq!(values, vec![&b"a"[..], &b"b"[..]]);
    let r = s.alice.call(&fetch_by_id(id), 13).await;
    assert_eq!(r.responses[0].partitions[0].error_code, NONE);
    assert_eq!(decode_records(&r.responses[0].partitions[0].records).len(), 2);

    // A fetch naming a replica id is a follower's: CLUSTER_ACTION on the cluster, READ or not.
    let follower_v12 = fetch_request("f-t", 0, 0, 0).with_replica_id(BrokerId(1));
    let follower_v15 = fetch_by_id(id).with_replica_state(ReplicaState::default().with_replica_id(BrokerId(1)));
    assert_eq!(fetch_with(&mut s.alice, follower_v12.clone(), 12).await.error_code, TOPIC_AUTHORIZATION_FAILED);
    let r = s.alice.call(&follower_v15, 15).await;
    assert_eq!(r.responses[0].partitions[0].error_code, TOPIC_AUTHORIZATION_FAILED);
    s.grant(&[allow(CLUSTER, KAFKA_CLUSTER, CLUSTER_ACTION)]).await;
    assert_eq!(fetch_with(&mut s.alice, follower_v12, 12).await.error_code, NONE);
    let r = s.alice.call(&follower_v15, 15).await;
    assert_eq!(r.responses[0].partitions[0].error_code, NONE);
    s.stop().await;
}
