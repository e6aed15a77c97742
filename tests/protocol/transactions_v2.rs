//! Transactions version 2 (KIP-890 part 2) through raw requests, in the order a Kafka 4.x
//! producer sends them once ApiVersions finalizes `transaction.version` 2: InitProducerId,
//! Produce v12 adding its partitions itself (no AddPartitionsToTxn), TxnOffsetCommit v5
//! adding the offsets partition itself (no AddOffsetsToTxn), EndTxn v5 bumping the epoch at
//! every end and answering the producer id and epoch to continue with. Kafka's table of
//! EndTxn v5 retries and states, a late write of an ended transaction fenced, and the state
//! (its client version included) kept across a restart.

use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;

use crate::common::groups::{committed, NONE};
use crate::common::txn::*;
use crate::common::*;

/// Produce v12 of one transactional batch: the partition's code.
/// `producer`: (producer id, epoch, base sequence).
async fn produce_v12(
    c: &mut Client,
    id: &str,
    topic: &str,
    partition: i32,
    producer: (i64, i16, i32),
    v: &[&str],
) -> i16 {
    let req = txn_produce(id, topic, partition, producer, v);
    c.call(&req, 12).await.responses[0].partition_responses[0].error_code
}

/// EndTxn v5: (error, producer id, epoch) as answered.
async fn end_v5(c: &mut Client, id: &str, pid: i64, epoch: i16, commit: bool) -> (i16, i64, i16) {
    let req = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(sb(id)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    let r = c.call(&req, 5).await;
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_finalizes_transaction_version_2() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let req = ApiVersionsRequest::default()
        .with_client_software_name(sb("brook-test"))
        .with_client_software_version(sb("1.0"));
    let r = c.call(&req, 3).await;
    let supported = r.supported_features.iter().find(|f| f.name.as_str() == "transaction.version").expect("supported");
    assert_eq!((supported.min_version, supported.max_version), (0, 2));
    let finalized = r.finalized_features.iter().find(|f| f.name.as_str() == "transaction.version").expect("finalized");
    assert_eq!((finalized.min_version_level, finalized.max_version_level), (2, 2));
    assert!(r.finalized_features_epoch >= 0);
    let max = |key: i16| r.api_keys.iter().find(|k| k.api_key == key).map(|k| k.max_version);
    // The versions transaction version 2 producers send.
    assert!(max(0) >= Some(12), "Produce v12");
    assert_eq!(max(26), Some(5), "EndTxn v5");
    assert_eq!(max(28), Some(5), "TxnOffsetCommit v5");
    b.stop().await;
}

/// A Kafka 4.x consume-transform-produce loop's transaction: partitions and the group's
/// offsets join without AddPartitionsToTxn / AddOffsetsToTxn, the commit bumps the epoch, and
/// the next transaction runs under the bumped one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_and_txn_offset_commit_add_their_partitions_and_end_txn_bumps_the_epoch() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "v2-out", 2).await;
    create_topic(&mut c, "v2-in", 1).await;
    let (pid, epoch) = init_txn(&mut c, "app", 60_000).await;
    assert_eq!(epoch, 0);
    assert_eq!(produce_v12(&mut c, "app", "v2-out", 0, (pid, 0, 0), &["a0", "a1"]).await, NONE);
    assert_eq!(produce_v12(&mut c, "app", "v2-out", 1, (pid, 0, 0), &["b0"]).await, NONE);
    let (code, state, _, _, mut parts) = describe(&mut c, "app").await;
    parts.sort();
    assert_eq!((code, state.as_str()), (NONE, "Ongoing"));
    assert_eq!(parts, vec![("v2-out".to_string(), 0), ("v2-out".to_string(), 1)], "added by the produces");

    // TxnOffsetCommit v5: the offsets partition joins too; pending until the commit.
    let req = TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(sb("app")))
        .with_group_id(GroupId(sb("app-group")))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(0)
        .with_generation_id(-1)
        .with_member_id(sb(""))
        .with_topics(vec![TxnOffsetCommitRequestTopic::default().with_name(tn("v2-in")).with_partitions(vec![
            TxnOffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(42),
        ])]);
    let r = c.call(&req, 5).await;
    assert_eq!(r.topics[0].partitions[0].error_code, NONE, "TxnOffsetCommit v5 without AddOffsetsToTxn");
    assert!(describe(&mut c, "app").await.4.iter().any(|(t, _)| t == "__consumer_offsets"));
    let stable = OffsetFetchRequest::default()
        .with_group_id(GroupId(sb("app-group")))
        .with_topics(Some(vec![offset_fetch_request::OffsetFetchRequestTopic::default()
            .with_name(tn("v2-in"))
            .with_partition_indexes(vec![0])]))
        .with_require_stable(true);
    assert_eq!(c.call(&stable, 7).await.topics[0].partitions[0].error_code, UNSTABLE_OFFSET_COMMIT);

    // EndTxn v5: committed, the epoch bumped, and the answer says so.
    assert_eq!(end_v5(&mut c, "app", pid, 0, true).await, (NONE, pid, 1));
    let (values, lso, _) = fetch_committed(&mut c, "v2-out", 0).await;
    assert_eq!((values, lso), (vec!["a0".to_string(), "a1".to_string()], 3), "committed, past the marker");
    assert_eq!(committed(&mut c, "app-group", "v2-in", 0).await, 42);
    let (_, state, p, e, _) = describe(&mut c, "app").await;
    assert_eq!((state.as_str(), p, e), ("CompleteCommit", pid, 1));
    // The retry of that EndTxn (the epoch before the bump) is answered as done.
    assert_eq!(end_v5(&mut c, "app", pid, 0, true).await, (NONE, pid, 1), "a retry");

    // A late write of the ended transaction (its old epoch) cannot join the next one.
    assert_eq!(produce_v12(&mut c, "app", "v2-out", 0, (pid, 0, 2), &["late"]).await, INVALID_PRODUCER_EPOCH);

    // The next transaction runs under epoch 1 (sequences restart with the epoch) and aborts.
    assert_eq!(produce_v12(&mut c, "app", "v2-out", 0, (pid, 1, 0), &["x"]).await, NONE);
    assert_eq!(end_v5(&mut c, "app", pid, 1, false).await, (NONE, pid, 2));
    let (values, lso, aborted) = fetch_committed(&mut c, "v2-out", 0).await;
    assert_eq!((values.len(), lso, aborted), (2, 5, vec![(pid, 3)]), "the aborted record stays invisible");
    // An epoch that is neither current nor the retry's is fenced.
    assert_eq!(end_v5(&mut c, "app", pid, 0, false).await.0, PRODUCER_FENCED);
    drop(c);
    b.stop().await;
}

/// Kafka's table for EndTxn v5 with no transaction ongoing: an abort bumps the epoch (from
/// Empty, CompleteCommit, CompleteAbort), a commit is INVALID_TXN_STATE, a retry answers its
/// own result or INVALID_TXN_STATE for the other one, and a prepared end is
/// CONCURRENT_TRANSACTIONS for its own result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_txn_v5_follows_kafkas_table_without_a_transaction() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "v2-table", 1).await;
    let (pid, _) = init_txn(&mut c, "tbl", 60_000).await;
    // Empty: commit refused, abort bumps.
    assert_eq!(end_v5(&mut c, "tbl", pid, 0, true).await.0, INVALID_TXN_STATE);
    assert_eq!(end_v5(&mut c, "tbl", pid, 0, false).await, (NONE, pid, 1));
    // CompleteAbort: retry of the abort NONE, retry as commit refused, current abort bumps.
    assert_eq!(end_v5(&mut c, "tbl", pid, 0, false).await, (NONE, pid, 1));
    assert_eq!(end_v5(&mut c, "tbl", pid, 0, true).await.0, INVALID_TXN_STATE);
    assert_eq!(end_v5(&mut c, "tbl", pid, 1, true).await.0, INVALID_TXN_STATE);
    assert_eq!(end_v5(&mut c, "tbl", pid, 1, false).await, (NONE, pid, 2));
    // CompleteCommit: retry as abort refused, current commit refused, current abort bumps.
    assert_eq!(produce_v12(&mut c, "tbl", "v2-table", 0, (pid, 2, 0), &["c"]).await, NONE);
    assert_eq!(end_v5(&mut c, "tbl", pid, 2, true).await, (NONE, pid, 3));
    assert_eq!(end_v5(&mut c, "tbl", pid, 2, false).await.0, INVALID_TXN_STATE);
    assert_eq!(end_v5(&mut c, "tbl", pid, 3, true).await.0, INVALID_TXN_STATE);
    assert_eq!(end_v5(&mut c, "tbl", pid, 3, false).await, (NONE, pid, 4));
    // A prepared commit (its marker cannot be written: the disk is full) is
    // CONCURRENT_TRANSACTIONS for a retry of the commit.
    use brook::log::faults::{self, Fault, Point};
    assert_eq!(produce_v12(&mut c, "tbl", "v2-table", 0, (pid, 4, 0), &["p"]).await, NONE);
    let full = faults::arm(Point::AppendWrite, b.path().join("v2-table-0"), Fault::enospc().times(1_000_000));
    assert_eq!(end_v5(&mut c, "tbl", pid, 4, true).await, (NONE, pid, 5), "answered once prepared");
    assert_eq!(describe(&mut c, "tbl").await.1, "PrepareCommit");
    assert_eq!(end_v5(&mut c, "tbl", pid, 4, true).await.0, CONCURRENT_TRANSACTIONS);
    // The failed append poisoned the partition until a restart: no graceful stop.
    drop((full, c, b));
}

/// The coordinator stores a version 2 transaction's state as TransactionLogValue v1 (with
/// its client transaction version): after a restart the retry of the last EndTxn is still
/// recognised (the epoch before the bump), and the next transaction goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_2_state_survives_a_restart() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "v2-restart", 1).await;
    let (pid, _) = init_txn(&mut c, "rs", 60_000).await;
    assert_eq!(produce_v12(&mut c, "rs", "v2-restart", 0, (pid, 0, 0), &["r0"]).await, NONE);
    assert_eq!(end_v5(&mut c, "rs", pid, 0, true).await, (NONE, pid, 1));
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    let (_, state, p, e, _) = describe(&mut c, "rs").await;
    assert_eq!((state.as_str(), p, e), ("CompleteCommit", pid, 1));
    assert_eq!(end_v5(&mut c, "rs", pid, 0, true).await, (NONE, pid, 1), "the retry after a restart");
    assert_eq!(produce_v12(&mut c, "rs", "v2-restart", 0, (pid, 1, 0), &["r1"]).await, NONE);
    assert_eq!(end_v5(&mut c, "rs", pid, 1, true).await, (NONE, pid, 2));
    assert_eq!(fetch_committed(&mut c, "v2-restart", 0).await.0, vec!["r0".to_string(), "r1".to_string()]);
    drop(c);
    b.stop().await;
}

/// A version 2 transaction left open past its timeout is aborted by the coordinator as
/// Kafka 4.x does: the fence bumps the epoch and the abort under version 2 bumps it again;
/// the producer's late write and its EndTxn are fenced, and consumers move on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_transaction_past_its_timeout_is_aborted_and_fenced() {
    let b =
        TestBroker::start_with(|c| c.transactions.abort_check_interval = std::time::Duration::from_millis(50)).await;
    let mut c = b.client().await;
    create_topic(&mut c, "v2-slow", 1).await;
    let (pid, _) = init_txn(&mut c, "slow", 300).await;
    assert_eq!(produce_v12(&mut c, "slow", "v2-slow", 0, (pid, 0, 0), &["slow"]).await, NONE);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, state, p, e, _) = describe(&mut c, "slow").await;
        if state == "CompleteAbort" {
            assert_eq!((p, e), (pid, 2), "fenced (+1), then aborted under version 2 (+1)");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not aborted within 10 s (state {state})");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (values, lso, aborted) = fetch_committed(&mut c, "v2-slow", 0).await;
    assert_eq!((values.len(), lso, aborted), (0, 2, vec![(pid, 0)]), "consumers move on past the abort");
    assert_eq!(produce_v12(&mut c, "slow", "v2-slow", 0, (pid, 0, 1), &["late"]).await, INVALID_PRODUCER_EPOCH);
    assert_eq!(end_v5(&mut c, "slow", pid, 0, true).await.0, PRODUCER_FENCED);
    drop(c);
    b.stop().await;
}
