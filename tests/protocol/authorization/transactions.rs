//! Transactions: WRITE on the transactional id for InitProducerId, AddPartitionsToTxn,
//! AddOffsetsToTxn, TxnOffsetCommit and EndTxn (plus WRITE on each added topic, READ on the
//! group and its committed topics), IDEMPOTENT_WRITE or some topic WRITE for an idempotent
//! producer, DESCRIBE to see a transaction, the cluster's for WriteTxnMarkers.

use kafka_protocol::messages::add_partitions_to_txn_request::{AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::*;

use super::*;
use crate::common::txn::{describe, init_txn, txn_produce};
use crate::common::*;

fn txn(id: &str) -> TransactionalId {
    TransactionalId(sb(id))
}

/// InitProducerId v5 (`id` None: an idempotent producer): (error, producer id).
async fn init(c: &mut Client, id: Option<&str>) -> (i16, i64) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(id.map(txn))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let r = c.call(&req, 5).await;
    (r.error_code, r.producer_id.0)
}

fn partitions(topics: &[&str]) -> Vec<AddPartitionsToTxnTopic> {
    topics.iter().map(|t| AddPartitionsToTxnTopic::default().with_name(tn(t)).with_partitions(vec![0])).collect()
}

/// AddPartitionsToTxn v3 of partition 0 of each of `topics`: (topic, error), sorted.
async fn add(c: &mut Client, id: &str, producer: (i64, i16), topics: &[&str]) -> Vec<(String, i16)> {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(txn(id))
        .with_v3_and_below_producer_id(ProducerId(producer.0))
        .with_v3_and_below_producer_epoch(producer.1)
        .with_v3_and_below_topics(partitions(topics));
    let r = c.call(&req, 3).await;
    let mut v: Vec<(String, i16)> = r
        .results_by_topic_v3_and_below
        .iter()
        .flat_map(|t| t.results_by_partition.iter().map(move |p| (t.name.to_string(), p.partition_error_code)))
        .collect();
    v.sort();
    v
}

/// AddOffsetsToTxn v3: the error.
async fn add_offsets(c: &mut Client, id: &str, producer: (i64, i16), group: &str) -> i16 {
    let req = AddOffsetsToTxnRequest::default()
        .with_transactional_id(txn(id))
        .with_producer_id(ProducerId(producer.0))
        .with_producer_epoch(producer.1)
        .with_group_id(GroupId(sb(group)));
    c.call(&req, 3).await.error_code
}

/// TxnOffsetCommit v3 of offset 1 of partition 0 of each of `topics`: (topic, error), sorted.
async fn txn_commit(
    c: &mut Client,
    id: &str,
    producer: (i64, i16),
    group: &str,
    topics: &[&str],
) -> Vec<(String, i16)> {
    let req = TxnOffsetCommitRequest::default()
        .with_transactional_id(txn(id))
        .with_group_id(GroupId(sb(group)))
        .with_producer_id(ProducerId(producer.0))
        .with_producer_epoch(producer.1)
        .with_generation_id(-1)
        .with_topics(
            topics
                .iter()
                .map(|t| {
                    TxnOffsetCommitRequestTopic::default().with_name(tn(t)).with_partitions(vec![
                        TxnOffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(1),
                    ])
                })
                .collect(),
        );
    let r = c.call(&req, 3).await;
    let mut v: Vec<(String, i16)> =
        r.topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.name.to_string(), p.error_code))).collect();
    v.sort();
    v
}

/// EndTxn v3: the error.
async fn end(c: &mut Client, id: &str, producer: (i64, i16), commit: bool) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(txn(id))
        .with_producer_id(ProducerId(producer.0))
        .with_producer_epoch(producer.1)
        .with_committed(commit);
    c.call(&req, 3).await.error_code
}

/// The transactional ids ListTransactions (v1) shows.
async fn listed(c: &mut Client) -> Vec<String> {
    let r = c.call(&ListTransactionsRequest::default().with_duration_filter(-1), 1).await;
    assert_eq!(r.error_code, NONE);
    let mut v: Vec<String> = r.transaction_states.iter().map(|t| t.transactional_id.to_string()).collect();
    v.sort();
    v
}

/// Kafka's `handleInitProducerIdRequest`: a transactional id needs WRITE on it, else
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; an idempotent producer IDEMPOTENT_WRITE on the
/// cluster or WRITE on some topic (`authorizeByResourceType`), else
/// CLUSTER_AUTHORIZATION_FAILED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_producer_id_needs_write_on_the_id_or_a_topic() {
    let mut s = Setup::start().await;
    assert_eq!(init(&mut s.alice, Some("tx-a")).await, (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1));
    assert_eq!(init(&mut s.alice, None).await, (CLUSTER_AUTHORIZATION_FAILED, -1));
    // READ on a topic, or WRITE on a group, is not WRITE on a topic.
    s.grant(&[allow(TOPIC, "ip-t", READ), allow(GROUP, "ip-g", WRITE)]).await;
    assert_eq!(init(&mut s.alice, None).await.0, CLUSTER_AUTHORIZATION_FAILED);
    // WRITE on any topic (here by a prefix, for a topic that does not even exist) will do.
    s.grant(&[allow(TOPIC, "ip-", WRITE).prefixed()]).await;
    let (code, pid) = init(&mut s.alice, None).await;
    assert_eq!(code, NONE);
    assert!(pid >= 0);
    // So does IDEMPOTENT_WRITE on the cluster, for bob who may write nowhere.
    let mut bob = login(&s.b, "bob").await;
    assert_eq!(init(&mut bob, None).await.0, CLUSTER_AUTHORIZATION_FAILED);
    s.grant(&[allow(CLUSTER, KAFKA_CLUSTER, IDEMPOTENT_WRITE).to("User:bob")]).await;
    assert_eq!(init(&mut bob, None).await.0, NONE);
    // WRITE on the transactional id; DESCRIBE is not enough.
    s.grant(&[allow(TRANSACTIONAL_ID, "tx-a", DESCRIBE)]).await;
    assert_eq!(init(&mut s.alice, Some("tx-a")).await.0, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    s.grant(&[allow(TRANSACTIONAL_ID, "tx-a", WRITE)]).await;
    assert_eq!(init(&mut s.alice, Some("tx-a")).await.0, NONE);
    drop(bob);
    s.stop().await;
}

/// Kafka's `handleAddPartitionsToTxnRequest` (v3: WRITE on the id, else every partition
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; a topic without WRITE TOPIC_AUTHORIZATION_FAILED and
/// the others OPERATION_NOT_ATTEMPTED; v4+ only from brokers), `handleAddOffsetsToTxnRequest`
/// and `handleTxnOffsetCommitRequest` (WRITE on the id, then READ on the group, then READ on
/// each topic), `handleEndTxnRequest` (WRITE on the id) and `handleWriteTxnMarkersRequest`
/// (brokers only: CLUSTER_AUTHORIZATION_FAILED).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_apis_need_write_on_the_transactional_id() {
    let mut s = Setup::start().await;
    s.topics(&["tx-t", "tx-other"]).await;
    s.grant(&[allow(TRANSACTIONAL_ID, "tx-a", WRITE), allow(TOPIC, "tx-t", WRITE)]).await;
    let p = init_txn(&mut s.alice, "tx-a", 60_000).await;

    assert_eq!(
        add(&mut s.alice, "tx-a", p, &["tx-t", "tx-other"]).await,
        vec![("tx-other".into(), TOPIC_AUTHORIZATION_FAILED), ("tx-t".into(), OPERATION_NOT_ATTEMPTED)]
    );
    assert_eq!(
        add(&mut s.alice, "tx-b", p, &["tx-t"]).await,
        vec![("tx-t".into(), TRANSACTIONAL_ID_AUTHORIZATION_FAILED)]
    );
    let v4 = AddPartitionsToTxnRequest::default().with_transactions(vec![AddPartitionsToTxnTransaction::default()
        .with_transactional_id(txn("tx-a"))
        .with_producer_id(ProducerId(p.0))
        .with_producer_epoch(p.1)
        .with_verify_only(true)
        .with_topics(partitions(&["tx-t"]))]);
    assert_eq!(s.alice.call(&v4, 4).await.error_code, CLUSTER_AUTHORIZATION_FAILED, "v4 is the brokers'");
    assert_eq!(add(&mut s.alice, "tx-a", p, &["tx-t"]).await, vec![("tx-t".into(), NONE)]);
    let r = s.alice.call(&txn_produce("tx-a", "tx-t", 0, (p.0, p.1, 0), &["v"]), PRODUCE_V).await;
    assert_eq!(produce_codes(&r), vec![("tx-t".into(), 0, NONE)]);

    assert_eq!(add_offsets(&mut s.alice, "tx-b", p, "tx-g").await, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert_eq!(add_offsets(&mut s.alice, "tx-a", p, "tx-g").await, GROUP_AUTHORIZATION_FAILED);
    s.grant(&[allow(GROUP, "tx-g", READ)]).await;
    assert_eq!(add_offsets(&mut s.alice, "tx-a", p, "tx-g").await, NONE);

    let both = ["tx-t", "tx-other"];
    let each = |code: i16| vec![("tx-other".to_string(), code), ("tx-t".to_string(), code)];
    assert_eq!(txn_commit(&mut s.alice, "tx-b", p, "tx-g", &both).await, each(TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
    assert_eq!(txn_commit(&mut s.alice, "tx-a", p, "tx-g2", &both).await, each(GROUP_AUTHORIZATION_FAILED));
    assert_eq!(
        txn_commit(&mut s.alice, "tx-a", p, "tx-g", &both).await,
        each(TOPIC_AUTHORIZATION_FAILED),
        "WRITE is not READ"
    );
    s.grant(&[allow(TOPIC, "tx-t", READ)]).await;
    assert_eq!(
        txn_commit(&mut s.alice, "tx-a", p, "tx-g", &both).await,
        vec![("tx-other".into(), TOPIC_AUTHORIZATION_FAILED), ("tx-t".into(), NONE)]
    );

    assert_eq!(end(&mut s.alice, "tx-b", p, true).await, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert_eq!(end(&mut s.alice, "tx-a", p, true).await, NONE);

    let markers = WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
        .with_producer_id(ProducerId(p.0))
        .with_producer_epoch(p.1)
        .with_transaction_result(true)
        .with_topics(vec![WritableTxnMarkerTopic::default().with_name(tn("tx-t")).with_partition_indexes(vec![0])])]);
    let r = s.alice.call(&markers, 1).await;
    let codes: Vec<i16> = r
        .markers
        .iter()
        .flat_map(|m| m.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)))
        .collect();
    assert_eq!(codes, vec![CLUSTER_AUTHORIZATION_FAILED]);
    s.stop().await;
}

/// Kafka's `handleDescribeTransactionsRequest` (DESCRIBE on each id, else
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; only the describable topics of a transaction are
/// shown) and `handleListTransactionsRequest` (only describable ids listed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_seen_only_with_describe() {
    let mut s = Setup::start().await;
    s.topics(&["td-open", "td-secret"]).await;
    // The super user's transaction writes to both topics; alice's only to the one she may.
    let admin_p = init_txn(&mut s.admin, "td-admin", 60_000).await;
    assert_eq!(add(&mut s.admin, "td-admin", admin_p, &["td-open", "td-secret"]).await.len(), 2);
    s.grant(&[allow(TRANSACTIONAL_ID, "td-alice", WRITE), allow(TOPIC, "td-open", WRITE)]).await;
    let p = init_txn(&mut s.alice, "td-alice", 60_000).await;
    assert_eq!(add(&mut s.alice, "td-alice", p, &["td-open"]).await, vec![("td-open".into(), NONE)]);

    assert_eq!(listed(&mut s.alice).await, vec!["td-alice"]);
    assert_eq!(listed(&mut s.admin).await, vec!["td-admin", "td-alice"]);
    assert_eq!(describe(&mut s.alice, "td-admin").await.0, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    let (code, state, _, _, parts) = describe(&mut s.alice, "td-alice").await;
    assert_eq!((code, state.as_str(), parts), (NONE, "Ongoing", vec![("td-open".into(), 0)]));

    s.grant(&[allow(TRANSACTIONAL_ID, "td-admin", DESCRIBE)]).await;
    let (code, _, _, _, parts) = describe(&mut s.alice, "td-admin").await;
    assert_eq!((code, parts), (NONE, vec![("td-open".into(), 0)]), "td-secret is not describable");
    let (_, _, _, _, mut parts) = describe(&mut s.admin, "td-admin").await;
    parts.sort();
    assert_eq!(parts, vec![("td-open".into(), 0), ("td-secret".into(), 0)]);
    s.stop().await;
}
