//! The transaction coordinator through raw requests, Kafka's codes for each transition:
//! InitProducerId with a transactional id (epoch bumps, KIP-360 recovery, fencing, timeouts
//! against `transaction.max.timeout.ms`), AddPartitionsToTxn (v0-3 and the v4-5
//! broker-to-broker form), AddOffsetsToTxn, TxnOffsetCommit with OffsetFetch's
//! `require_stable`, EndTxn, DescribeTransactions and ListTransactions, and the state kept
//! across a restart.

use kafka_protocol::messages::add_partitions_to_txn_request::{AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction};
use kafka_protocol::messages::offset_fetch_request;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;

use crate::common::groups::{fetch_offsets_v, NONE, UNKNOWN_TOPIC_OR_PARTITION};
use crate::common::txn::*;
use crate::common::*;

/// InitProducerId for `id` (v`version`): (error, producer id, epoch).
async fn init(
    c: &mut Client,
    id: &str,
    timeout_ms: i32,
    expected: Option<(i64, i16)>,
    version: i16,
) -> (i16, i64, i16) {
    let (pid, epoch) = expected.unwrap_or((-1, -1));
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(sb(id))))
        .with_transaction_timeout_ms(timeout_ms)
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch);
    let r = c.call(&req, version).await;
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

/// AddPartitionsToTxn v`version` (v0-3): each partition's code.
async fn add_partitions(
    c: &mut Client,
    id: &str,
    pid: i64,
    epoch: i16,
    parts: &[(&str, i32)],
    version: i16,
) -> Vec<(String, i32, i16)> {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(sb(id)))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(topics(parts));
    let r = c.call(&req, version).await;
    r.results_by_topic_v3_and_below
        .iter()
        .flat_map(|t| {
            t.results_by_partition
                .iter()
                .map(move |p| (t.name.0.to_string(), p.partition_index, p.partition_error_code))
        })
        .collect()
}

/// A new transactional producer `id` (InitProducerId v4) with `parts` added to its
/// transaction (AddPartitionsToTxn v3): its producer id and epoch.
async fn open_txn(c: &mut Client, id: &str, parts: &[(&str, i32)]) -> (i64, i16) {
    let (code, pid, epoch) = init(c, id, 60_000, None, 4).await;
    assert_eq!(code, NONE, "InitProducerId of {id}");
    assert!(add_partitions(c, id, pid, epoch, parts, 3).await.iter().all(|r| r.2 == NONE), "partitions added");
    (pid, epoch)
}

fn topics(parts: &[(&str, i32)]) -> Vec<AddPartitionsToTxnTopic> {
    let mut out: Vec<AddPartitionsToTxnTopic> = Vec::new();
    for (t, p) in parts {
        match out.iter_mut().find(|x| x.name.0.as_str() == *t) {
            Some(x) => x.partitions.push(*p),
            None => out.push(AddPartitionsToTxnTopic::default().with_name(tn(t)).with_partitions(vec![*p])),
        }
    }
    out
}

async fn end_txn(c: &mut Client, id: &str, pid: i64, epoch: i16, commit: bool, version: i16) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(sb(id)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    c.call(&req, version).await.error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_producer_id_bumps_the_epoch_and_fences_with_kafkas_codes() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    // Empty ids and timeouts beyond transaction.max.timeout.ms (900000 by default).
    assert_eq!(init(&mut c, "", 60_000, None, 4).await.0, INVALID_REQUEST);
    assert_eq!(init(&mut c, "t1", 900_001, None, 4).await.0, INVALID_TRANSACTION_TIMEOUT);
    assert_eq!(init(&mut c, "t1", 0, None, 4).await.0, INVALID_TRANSACTION_TIMEOUT);
    let (code, pid, epoch) = init(&mut c, "t1", 60_000, None, 4).await;
    assert_eq!((code, epoch), (NONE, 0));
    assert!(pid >= 0);
    // A second instance bumps the epoch; the same producer id stays.
    assert_eq!(init(&mut c, "t1", 60_000, None, 4).await, (NONE, pid, 1));
    // KIP-360: the producer recovering with its current epoch gets the next one; a retry of
    // that call (with the epoch it had) gets the same again; any other epoch is fenced.
    assert_eq!(init(&mut c, "t1", 60_000, Some((pid, 1)), 4).await, (NONE, pid, 2));
    assert_eq!(init(&mut c, "t1", 60_000, Some((pid, 1)), 4).await, (NONE, pid, 2));
    assert_eq!(init(&mut c, "t1", 60_000, Some((pid, 0)), 4).await.0, PRODUCER_FENCED);
    assert_eq!(init(&mut c, "t1", 60_000, Some((pid + 1000, 0)), 4).await.0, PRODUCER_FENCED);
    // Before v4 (KIP-588) a fenced producer is told INVALID_PRODUCER_EPOCH.
    assert_eq!(init(&mut c, "t1", 60_000, Some((pid + 1000, 0)), 3).await.0, INVALID_PRODUCER_EPOCH);
    let (code, state, dpid, depoch, parts) = describe(&mut c, "t1").await;
    assert_eq!((code, state.as_str(), dpid, depoch, parts.len()), (NONE, "Empty", pid, 2, 0));
    assert_eq!(describe(&mut c, "nobody").await.0, TRANSACTIONAL_ID_NOT_FOUND);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_partitions_checks_the_producer_and_the_partitions() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "in-txn", 2).await;
    let (_, pid, epoch) = init(&mut c, "t2", 60_000, None, 4).await;
    // Unknown transactional id, wrong producer id, older epoch.
    let one = [("in-txn", 0)];
    assert_eq!(add_partitions(&mut c, "nope", pid, epoch, &one, 3).await[0].2, INVALID_PRODUCER_ID_MAPPING);
    assert_eq!(add_partitions(&mut c, "t2", pid + 7, epoch, &one, 3).await[0].2, INVALID_PRODUCER_ID_MAPPING);
    assert_eq!(add_partitions(&mut c, "t2", pid, epoch + 1, &one, 3).await[0].2, PRODUCER_FENCED);
    assert_eq!(add_partitions(&mut c, "t2", pid, epoch + 1, &one, 1).await[0].2, INVALID_PRODUCER_EPOCH);
    // A partition of an unknown topic fails it and leaves the others not attempted.
    let mixed = add_partitions(&mut c, "t2", pid, epoch, &[("in-txn", 0), ("ghost", 0), ("in-txn", 5)], 3).await;
    let codes: Vec<i16> = mixed.iter().map(|r| r.2).collect();
    assert_eq!(codes, [OPERATION_NOT_ATTEMPTED, UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_OR_PARTITION]);
    assert_eq!(describe(&mut c, "t2").await.1, "Empty");
    // Added: the transaction is Ongoing with both partitions.
    let added = add_partitions(&mut c, "t2", pid, epoch, &[("in-txn", 0), ("in-txn", 1)], 3).await;
    assert!(added.iter().all(|r| r.2 == NONE), "{added:?}");
    let (_, state, _, _, parts) = describe(&mut c, "t2").await;
    assert_eq!((state.as_str(), parts), ("Ongoing", vec![("in-txn".to_string(), 0), ("in-txn".to_string(), 1)]));
    // v4+ verify-only (KIP-890, broker to broker): in the transaction or TRANSACTION_ABORTABLE
    // (v5; v4 gets INVALID_TXN_STATE).
    for (v, not_added) in [(5, TRANSACTION_ABORTABLE), (4, INVALID_TXN_STATE)] {
        let req =
            AddPartitionsToTxnRequest::default().with_transactions(vec![AddPartitionsToTxnTransaction::default()
                .with_transactional_id(TransactionalId(sb("t2")))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_verify_only(true)
                .with_topics(topics(&[("in-txn", 1), ("in-txn", 0)]))]);
        let r = c.call(&req, v).await;
        assert_eq!(r.error_code, NONE);
        let res = &r.results_by_transaction[0].topic_results[0].results_by_partition;
        assert!(res.iter().all(|p| p.partition_error_code == NONE), "v{v}: {res:?}");
        let other = format!("other-{v}");
        create_topic(&mut c, &other, 1).await;
        let req =
            AddPartitionsToTxnRequest::default().with_transactions(vec![AddPartitionsToTxnTransaction::default()
                .with_transactional_id(TransactionalId(sb("t2")))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_verify_only(true)
                .with_topics(topics(&[(&other, 0)]))]);
        let r = c.call(&req, v).await;
        let code = r.results_by_transaction[0].topic_results[0].results_by_partition[0].partition_error_code;
        assert_eq!(code, not_added, "v{v}");
    }
    // EndTxn with a stale epoch is fenced; a new instance fences the ongoing transaction
    // (CONCURRENT_TRANSACTIONS while its abort completes).
    assert_eq!(end_txn(&mut c, "t2", pid, epoch + 3, true, 4).await, PRODUCER_FENCED);
    assert_eq!(end_txn(&mut c, "t2", pid, epoch + 3, true, 1).await, INVALID_PRODUCER_EPOCH);
    // The state survives a restart.
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    let (code, state, dpid, depoch, parts) = describe(&mut c, "t2").await;
    assert_eq!((code, state.as_str(), dpid, depoch, parts.len()), (NONE, "Ongoing", pid, epoch, 2));
    let list = c.call(&ListTransactionsRequest::default().with_duration_filter(-1), 1).await;
    let listed: Vec<(String, String)> = list
        .transaction_states
        .iter()
        .map(|t| (t.transactional_id.0.to_string(), t.transaction_state.to_string()))
        .collect();
    assert!(listed.contains(&("t2".to_string(), "Ongoing".to_string())), "{listed:?}");
    let filtered = c
        .call(
            &ListTransactionsRequest::default()
                .with_state_filters(vec![sb("Empty"), sb("Sleeping")])
                .with_duration_filter(-1),
            1,
        )
        .await;
    assert!(filtered.transaction_states.iter().all(|t| t.transaction_state.as_str() == "Empty"));
    assert_eq!(filtered.unknown_state_filters, vec![sb("Sleeping")]);
    let pattern = c
        .call(
            &ListTransactionsRequest::default()
                .with_transactional_id_pattern(Some(sb("t[0-9]")))
                .with_duration_filter(-1),
            2,
        )
        .await;
    assert!(pattern.transaction_states.iter().any(|t| t.transactional_id.0.as_str() == "t2"));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_txn_codes_follow_the_state() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let (_, pid, epoch) = init(&mut c, "t3", 60_000, None, 4).await;
    // Nothing to end in Empty.
    assert_eq!(end_txn(&mut c, "t3", pid, epoch, true, 4).await, INVALID_TXN_STATE);
    assert_eq!(end_txn(&mut c, "t3", pid, epoch, false, 4).await, INVALID_TXN_STATE);
    assert_eq!(end_txn(&mut c, "nope", pid, epoch, true, 4).await, INVALID_PRODUCER_ID_MAPPING);
    assert_eq!(end_txn(&mut c, "", pid, epoch, true, 4).await, INVALID_REQUEST);
    assert_eq!(end_txn(&mut c, "t3", pid, epoch - 1, true, 4).await, PRODUCER_FENCED);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txn_offset_commit_needs_the_offsets_partition_in_the_transaction_and_stays_pending() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "src", 1).await;
    let (_, pid, epoch) = init(&mut c, "t4", 60_000, None, 4).await;
    let commit = |version: i16| {
        let req = TxnOffsetCommitRequest::default()
            .with_transactional_id(TransactionalId(sb("t4")))
            .with_group_id(GroupId(sb("g4")))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_generation_id(-1)
            .with_topics(vec![TxnOffsetCommitRequestTopic::default().with_name(tn("src")).with_partitions(vec![
                TxnOffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(42),
                TxnOffsetCommitRequestPartition::default().with_partition_index(9).with_committed_offset(1),
            ])]);
        (req, version)
    };
    // Without AddOffsetsToTxn the group's partition is not in the transaction.
    let (req, v) = commit(3);
    let r = c.call(&req, v).await;
    assert_eq!(r.topics[0].partitions[0].error_code, INVALID_TXN_STATE);
    let (req, v) = commit(4);
    assert_eq!(c.call(&req, v).await.topics[0].partitions[0].error_code, TRANSACTION_ABORTABLE);
    let add = AddOffsetsToTxnRequest::default()
        .with_transactional_id(TransactionalId(sb("t4")))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_group_id(GroupId(sb("g4")));
    assert_eq!(c.call(&add, 3).await.error_code, NONE);
    let (_, state, _, _, parts) = describe(&mut c, "t4").await;
    assert_eq!((state.as_str(), parts.len(), parts[0].0.as_str()), ("Ongoing", 1, "__consumer_offsets"));
    let (req, v) = commit(3);
    let r = c.call(&req, v).await;
    let codes: Vec<i16> = r.topics[0].partitions.iter().map(|p| p.error_code).collect();
    assert_eq!(codes, [NONE, UNKNOWN_TOPIC_OR_PARTITION]);
    // Pending: not committed yet, and unstable for require_stable readers.
    let plain = fetch_offsets_v(&mut c, "g4", Some(&[("src", &[0])]), 6).await;
    assert_eq!((plain[0].2, plain[0].4), (-1, NONE));
    let req = OffsetFetchRequest::default()
        .with_group_id(GroupId(sb("g4")))
        .with_topics(Some(vec![offset_fetch_request::OffsetFetchRequestTopic::default()
            .with_name(tn("src"))
            .with_partition_indexes(vec![0])]))
        .with_require_stable(true);
    let r = c.call(&req, 7).await;
    assert_eq!(r.topics[0].partitions[0].error_code, UNSTABLE_OFFSET_COMMIT);
    b.stop().await;
}

/// A transactional produce to a partition the transaction does not have is refused before
/// it reaches the log (KIP-890 part 1): INVALID_TXN_STATE before Produce v11,
/// TRANSACTION_ABORTABLE from v11; a stale epoch gets INVALID_PRODUCER_EPOCH.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transactional_produce_to_a_partition_not_in_the_transaction_is_refused() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "verify", 2).await;
    let (pid, epoch) = open_txn(&mut c, "t5", &[("verify", 0)]).await;
    let produce_txn = |partition: i32, epoch: i16| txn_produce("t5", "verify", partition, (pid, epoch, 0), &["late"]);
    for (v, code) in [(9, INVALID_TXN_STATE), (10, INVALID_TXN_STATE), (11, TRANSACTION_ABORTABLE)] {
        let r = c.call(&produce_txn(1, epoch), v).await;
        let p = &r.responses[0].partition_responses[0];
        assert_eq!(p.error_code, code, "Produce v{v}");
        assert_eq!(p.error_message.as_deref(), Some("Partition was not added to the transaction"));
    }
    let r = c.call(&produce_txn(0, epoch - 1), 11).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, INVALID_PRODUCER_EPOCH);
    // Nothing was written.
    assert_eq!(list_offsets(&mut c, "verify", 1, -1).await.offset, 0);
    b.stop().await;
}

/// A transaction through raw requests: its records are invisible to read_committed until
/// EndTxn commits (the LSO holds at its first offset), an aborted one stays invisible and is
/// listed as aborted, and DescribeTransactions follows Ongoing -> CompleteCommit/Abort.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_and_abort_through_raw_requests() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "tx-data", 1).await;
    let (_, pid, epoch) = init(&mut c, "t6", 60_000, None, 4).await;
    let produce_txn =
        |values: &[&str], first_seq: i32| txn_produce("t6", "tx-data", 0, (pid, epoch, first_seq), values);
    assert!(add_partitions(&mut c, "t6", pid, epoch, &[("tx-data", 0)], 3).await.iter().all(|r| r.2 == NONE));
    let r = c.call(&produce_txn(&["c0", "c1"], 0), 10).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, NONE);
    let (values, lso, _) = fetch_committed(&mut c, "tx-data", 0).await;
    assert_eq!((values.len(), lso), (0, 0), "open: nothing visible, the LSO at the first offset");
    // DescribeProducers (kafka-transactions.sh find-hanging) shows the open transaction.
    let req = DescribeProducersRequest::default()
        .with_topics(vec![describe_producers_request::TopicRequest::default()
            .with_name(tn("tx-data"))
            .with_partition_indexes(vec![0, 7])]);
    let r = c.call(&req, 0).await;
    let parts = &r.topics[0].partitions;
    assert_eq!((parts[0].error_code, parts[1].error_code), (NONE, UNKNOWN_TOPIC_OR_PARTITION));
    let p = &parts[0].active_producers[0];
    assert_eq!(
        (p.producer_id.0, p.producer_epoch, p.last_sequence, p.current_txn_start_offset),
        (pid, epoch as i32, 1, 0)
    );
    assert_eq!(end_txn(&mut c, "t6", pid, epoch, true, 3).await, NONE);
    assert_eq!(describe(&mut c, "t6").await.1, "CompleteCommit");
    let (values, lso, aborted) = fetch_committed(&mut c, "tx-data", 0).await;
    assert_eq!((values, lso, aborted), (vec!["c0".to_string(), "c1".to_string()], 3, vec![]));
    // A retried commit is answered NONE; an abort now is INVALID_TXN_STATE.
    assert_eq!(end_txn(&mut c, "t6", pid, epoch, true, 3).await, NONE);
    assert_eq!(end_txn(&mut c, "t6", pid, epoch, false, 3).await, INVALID_TXN_STATE);

    assert!(add_partitions(&mut c, "t6", pid, epoch, &[("tx-data", 0)], 3).await.iter().all(|r| r.2 == NONE));
    let r = c.call(&produce_txn(&["a0"], 2), 10).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, NONE);
    assert_eq!(end_txn(&mut c, "t6", pid, epoch, false, 3).await, NONE);
    assert_eq!(describe(&mut c, "t6").await.1, "CompleteAbort");
    let (values, lso, aborted) = fetch_committed(&mut c, "tx-data", 0).await;
    assert_eq!((values.len(), lso), (2, 5), "the aborted record stays out; the LSO passes its marker");
    assert_eq!(aborted, vec![(pid, 3)]);
    // All of it after an unclean restart.
    drop(c);
    b.crash_restart().await;
    let mut c = b.client().await;
    assert_eq!(describe(&mut c, "t6").await.1, "CompleteAbort");
    let (values, lso, aborted) = fetch_committed(&mut c, "tx-data", 0).await;
    assert_eq!((values.len(), lso, aborted), (2, 5, vec![(pid, 3)]));
    b.stop().await;
}

/// A transaction open past its `transaction.timeout.ms` is aborted by the coordinator under a
/// bumped epoch: its producer is fenced, and read_committed readers move past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_past_its_timeout_is_aborted_and_its_producer_fenced() {
    let b =
        TestBroker::start_with(|c| c.transactions.abort_check_interval = std::time::Duration::from_millis(50)).await;
    let mut c = b.client().await;
    create_topic(&mut c, "tx-slow", 1).await;
    let (_, pid, epoch) = init(&mut c, "t7", 300, None, 4).await;
    assert!(add_partitions(&mut c, "t7", pid, epoch, &[("tx-slow", 0)], 3).await.iter().all(|r| r.2 == NONE));
    let req = txn_produce("t7", "tx-slow", 0, (pid, epoch, 0), &["slow"]);
    assert_eq!(c.call(&req, 10).await.responses[0].partition_responses[0].error_code, NONE);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, state, _, e, _) = describe(&mut c, "t7").await;
        if state == "CompleteAbort" {
            assert_eq!(e, epoch + 1, "aborted under a bumped epoch");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not aborted within 10 s: {state}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(end_txn(&mut c, "t7", pid, epoch, true, 3).await, PRODUCER_FENCED);
    let (values, lso, aborted) = fetch_committed(&mut c, "tx-slow", 0).await;
    assert_eq!((values.len(), lso, aborted), (0, 2, vec![(pid, 0)]));
    b.stop().await;
}

/// Markers that cannot be written leave the transaction prepared (EndTxn is answered once the
/// outcome is stored, as in Kafka; requests for the id get CONCURRENT_TRANSACTIONS meanwhile).
/// A prepared transaction found at startup is completed by the coordinator: its markers
/// written, its records visible to read_committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_transaction_is_completed_after_a_crash() {
    use brook::log::faults::{self, Fault, Point};
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "tx-crash", 1).await;
    let (pid, epoch) = open_txn(&mut c, "t8", &[("tx-crash", 0)]).await;
    let req = txn_produce("t8", "tx-crash", 0, (pid, epoch, 0), &["kept"]);
    assert_eq!(c.call(&req, 10).await.responses[0].partition_responses[0].error_code, NONE);
    let full = faults::arm(Point::AppendWrite, b.path().join("tx-crash-0"), Fault::enospc().times(1_000_000));
    assert_eq!(end_txn(&mut c, "t8", pid, epoch, true, 3).await, NONE, "answered once PrepareCommit is stored");
    assert_eq!(describe(&mut c, "t8").await.1, "PrepareCommit");
    assert_eq!(end_txn(&mut c, "t8", pid, epoch, true, 3).await, CONCURRENT_TRANSACTIONS);
    assert_eq!(init(&mut c, "t8", 60_000, None, 4).await.0, CONCURRENT_TRANSACTIONS);
    assert_eq!(fetch_committed(&mut c, "tx-crash", 0).await.0.len(), 0);
    // The failed append poisoned the partition until a restart (as a failed log dir in
    // Kafka): the coordinator's retries cannot help before one. The disk recovers, the
    // broker crashes: the restarted coordinator finds the transaction prepared and completes it.
    drop(full);
    drop(c);
    b.crash_restart().await;
    let mut c = b.client().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while describe(&mut c, "t8").await.1 != "CompleteCommit" {
        assert!(
            std::time::Instant::now() < deadline,
            "the prepared transaction is not completed within 10 s of the start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (values, lso, aborted) = fetch_committed(&mut c, "tx-crash", 0).await;
    assert_eq!((values, lso, aborted), (vec!["kept".to_string()], 2, vec![]));
    b.stop().await;
}

/// WriteTxnMarkers (`kafka-transactions.sh abort`): an abort marker written for a producer's
/// open transaction on a partition ends it there (the LSO moves past it, its records are
/// listed as aborted); an unknown partition answers UNKNOWN_TOPIC_OR_PARTITION.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_txn_markers_aborts_a_hanging_transaction() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "tx-hang", 1).await;
    let (pid, epoch) = open_txn(&mut c, "t9", &[("tx-hang", 0)]).await;
    let req = txn_produce("t9", "tx-hang", 0, (pid, epoch, 0), &["hung"]);
    assert_eq!(c.call(&req, 10).await.responses[0].partition_responses[0].error_code, NONE);
    assert_eq!(fetch_committed(&mut c, "tx-hang", 0).await.1, 0, "the open transaction pins the LSO");
    let markers =
        WriteTxnMarkersRequest::default().with_markers(vec![write_txn_markers_request::WritableTxnMarker::default()
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_transaction_result(false)
            .with_coordinator_epoch(0)
            .with_topics(vec![write_txn_markers_request::WritableTxnMarkerTopic::default()
                .with_name(tn("tx-hang"))
                .with_partition_indexes(vec![0, 3])])]);
    let r = c.call(&markers, 1).await;
    let codes: Vec<i16> = r.markers[0].topics[0].partitions.iter().map(|p| p.error_code).collect();
    assert_eq!(codes, [NONE, UNKNOWN_TOPIC_OR_PARTITION]);
    let (values, lso, aborted) = fetch_committed(&mut c, "tx-hang", 0).await;
    assert_eq!((values.len(), lso, aborted), (0, 2, vec![(pid, 0)]));
    b.stop().await;
}

/// `__transaction_state` is replayed in the background after a start: an id whose partition
/// is not replayed yet is answered COORDINATOR_LOAD_IN_PROGRESS (InitProducerId, EndTxn,
/// DescribeTransactions per id, ListTransactions as a whole), ids of replayed partitions are
/// served, and the id comes back as it was once its retried load succeeds (partition 0
/// unreadable until the injected EIO is lifted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_load_in_the_background_and_answer_load_in_progress_meanwhile() {
    use brook::log::faults::{self, Fault, Point};
    const LOADING: i16 = 14;
    let id_in = |partition: i32, prefix: &str| {
        (0..1000)
            .map(|i| format!("{prefix}-{i}"))
            .find(|id| brook::cluster::coordinator_partition(id, 3) == partition)
            .expect("some id hashes there")
    };
    let (stuck, served) = (id_in(0, "stuck"), id_in(1, "served"));
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    let (code, stuck_pid, stuck_epoch) = init(&mut c, &stuck, 60_000, None, 4).await;
    assert_eq!(code, NONE);
    let (code, served_pid, _) = init(&mut c, &served, 60_000, None, 4).await;
    assert_eq!(code, NONE);
    drop(c);
    b.handle.take().expect("running").shutdown().await.expect("graceful shutdown");
    let armed = faults::arm(Point::ReplayRead, b.path().join("__transaction_state-0"), Fault::eio());
    b.start_loading(|_| {}).await;
    let mut c = b.client().await;

    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    loop {
        let (code, state, pid, _, _) = describe(&mut c, &served).await;
        if code == NONE {
            assert_eq!((state.as_str(), pid), ("Empty", served_pid), "the served id as it was");
            break;
        }
        assert_eq!(code, LOADING);
        assert!(tokio::time::Instant::now() < deadline, "partition 1 never loaded");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(describe(&mut c, &stuck).await.0, LOADING, "DescribeTransactions");
    assert_eq!(init(&mut c, &stuck, 60_000, None, 4).await.0, LOADING, "InitProducerId");
    assert_eq!(end_txn(&mut c, &stuck, stuck_pid, stuck_epoch, true, 3).await, LOADING, "EndTxn");
    let r = c.call(&ListTransactionsRequest::default(), 1).await;
    assert_eq!(r.error_code, LOADING, "ListTransactions while any partition loads");

    drop(armed);
    b.wait_coordinators_loaded().await;
    let (code, state, pid, epoch, _) = describe(&mut c, &stuck).await;
    assert_eq!((code, state.as_str(), pid, epoch), (NONE, "Empty", stuck_pid, stuck_epoch), "after its retried load");
    let r = c.call(&ListTransactionsRequest::default(), 1).await;
    assert_eq!((r.error_code, r.transaction_states.len()), (NONE, 2));
    drop(c);
    b.stop().await;
}

/// The producer ids with state in `topic`-0 (DescribeProducers), sorted.
async fn producers_of(c: &mut Client, topic: &str) -> Vec<i64> {
    let req = DescribeProducersRequest::default()
        .with_topics(vec![describe_producers_request::TopicRequest::default()
            .with_name(tn(topic))
            .with_partition_indexes(vec![0])]);
    let r = c.call(&req, 0).await;
    let mut ids: Vec<i64> = r.topics[0].partitions[0].active_producers.iter().map(|p| p.producer_id.0).collect();
    ids.sort();
    ids
}

/// `producer.id.expiration.ms`: a partition forgets a producer whose last batch is that old,
/// unless its transaction is still open (Kafka's removeExpiredProducers), so the producer
/// state of a partition written by many short-lived idempotent producers stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_producer_ids_expire_but_an_open_transaction_keeps_its_producer() {
    let b = TestBroker::start_with(|c| {
        c.producer_id_expiration_ms = 400;
        c.producer_id_expiration_check_interval = std::time::Duration::from_millis(50);
    })
    .await;
    let mut c = b.client().await;
    create_topic(&mut c, "expiry", 1).await;
    let req = InitProducerIdRequest::default().with_transactional_id(None).with_producer_id(ProducerId(-1));
    let r = c.call(&req.with_transaction_timeout_ms(60_000), 4).await;
    assert_eq!(r.error_code, NONE);
    let idempotent = r.producer_id.0;
    produce_ok(&mut c, "expiry", 0, idempotent_batch(idempotent, 0, 0, 2)).await;
    let (pid, epoch) = open_txn(&mut c, "t-expiry", &[("expiry", 0)]).await;
    let req = txn_produce("t-expiry", "expiry", 0, (pid, epoch, 0), &["open"]);
    assert_eq!(c.call(&req, 10).await.responses[0].partition_responses[0].error_code, NONE);
    let mut both = vec![idempotent, pid];
    both.sort();
    assert_eq!(producers_of(&mut c, "expiry").await, both, "both producers have state at first");
    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    while producers_of(&mut c, "expiry").await != vec![pid] {
        assert!(tokio::time::Instant::now() < deadline, "the idle idempotent producer never expired");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Well past the expiration, the open transaction's producer is still there (it pins the LSO).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(producers_of(&mut c, "expiry").await, vec![pid]);
    assert_eq!(end_txn(&mut c, "t-expiry", pid, epoch, true, 3).await, NONE);
    drop(c);
    b.stop().await;
}
