//! The log side of transactions through the wire: transactional batches produced with raw
//! requests (producer ids from InitProducerId), commit and abort markers written as the
//! transaction coordinator writes them (the broker's `ReplicaManager`, origin coordinator,
//! acks=all durability), then read_committed fetches stopping at the last stable offset with
//! the aborted transactions, ListOffsets `latest` at the LSO, read_uncommitted seeing
//! everything with the markers; Kafka's error codes; the long-poll woken by a marker; all of
//! it across graceful and unclean restarts, retention, DeleteRecords and a compaction pass.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;

use brook::replica::{AppendOrigin, ProduceEntry};

use crate::common::*;

const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_TXN_STATE: i16 = 48;
const TRANSACTION_COORDINATOR_FENCED: i16 = 52;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
const INVALID_RECORD: i16 = 87;

/// The transactional id each test producer registered with the coordinator.
/// Keyed by topic and producer id: each test has its own topic (and its broker its own
/// producer ids, which restarts keep).
static TXN_IDS: std::sync::Mutex<Vec<((String, i64), String)>> = std::sync::Mutex::new(Vec::new());

/// A transactional producer (epoch 0) whose transaction has partition 0 of `topic`: the
/// coordinator's side of the setup (InitProducerId with a transactional id, then
/// AddPartitionsToTxn), so its produces pass KIP-890's check; these tests then write the
/// markers themselves, as the coordinator would.
async fn txn_producer(c: &mut Client, topic: &str) -> (i64, i16) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = format!("txl-{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let init = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(sb(&id))))
        .with_transaction_timeout_ms(600_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let r = c.call(&init, 4).await;
    assert_eq!(r.error_code, 0, "InitProducerId({id})");
    let add = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(sb(&id)))
        .with_v3_and_below_producer_id(r.producer_id)
        .with_v3_and_below_producer_epoch(r.producer_epoch)
        .with_v3_and_below_topics(vec![add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
            .with_name(tn(topic))
            .with_partitions(vec![0])]);
    let added = c.call(&add, 3).await;
    assert_eq!(added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code, 0);
    TXN_IDS.lock().unwrap().push(((topic.to_string(), r.producer_id.0), id));
    (r.producer_id.0, r.producer_epoch)
}

/// Produces a transactional batch (the request carries its producer's transactional id): the
/// partition's (error code, base offset).
async fn produce_txn(c: &mut Client, topic: &str, records: Bytes) -> (i16, i64) {
    let pid = i64::from_be_bytes(records[43..51].try_into().expect("a batch header"));
    let key = (topic.to_string(), pid);
    let id = TXN_IDS
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(k, _)| *k == key)
        .map_or_else(|| "txn-log-test".to_string(), |e| e.1.clone());
    let req = produce_request(topic, 0, records, -1).with_transactional_id(Some(TransactionalId(sb(&id))));
    let resp = c.call(&req, PRODUCE_V).await;
    let p = &resp.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// Writes a marker the way the transaction coordinator does: through the replica manager,
/// origin coordinator, waiting for durability as acks=all does. (error code, offset).
async fn write_marker(
    b: &TestBroker,
    topic: &str,
    pid: i64,
    epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
) -> (i16, i64) {
    let replicas = b.handle.as_ref().expect("broker running").broker.replicas.clone();
    let marker = brook::log::batch::control_batch(pid, epoch, commit, coordinator_epoch, now_ms());
    let entry = ProduceEntry { topic, partition: 0, records: Some(marker) };
    let outcome = replicas.append_records(-1, AppendOrigin::Coordinator, [entry]);
    let result = outcome.results.into_iter().next().expect("one result");
    if let Some(durable) = outcome.durable {
        for r in durable.await {
            r.expect("the marker is durable");
        }
    }
    match result {
        Ok(r) => (0, r.base_offset),
        Err(e) => (brook::error::ErrorCode::code(&e), -1),
    }
}

async fn commit(b: &TestBroker, topic: &str, pid: i64) -> i64 {
    let (code, offset) = write_marker(b, topic, pid, 0, true, 0).await;
    assert_eq!(code, 0, "commit marker");
    offset
}

async fn abort(b: &TestBroker, topic: &str, pid: i64) -> i64 {
    let (code, offset) = write_marker(b, topic, pid, 0, false, 0).await;
    assert_eq!(code, 0, "abort marker");
    offset
}

fn fetch_at(topic: &str, offset: i64, committed: bool, max_wait_ms: i32) -> FetchRequest {
    fetch_request(topic, 0, offset, max_wait_ms).with_isolation_level(if committed { 1 } else { 0 })
}

/// The offset after the last batch in fetched bytes (empty batches the cleaner left count).
fn next_offset(records: &Option<Bytes>, from: i64) -> i64 {
    let Some(bytes) = records else { return from };
    let mut next = from;
    let mut pos = 0;
    while pos + 61 <= bytes.len() {
        let base = i64::from_be_bytes(bytes[pos..pos + 8].try_into().unwrap());
        let len = i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
        let delta = i32::from_be_bytes(bytes[pos + 23..pos + 27].try_into().unwrap()) as i64;
        next = next.max(base + delta + 1);
        pos += 12 + len;
    }
    next
}

/// What a read_committed consumer sees from `offset`: the batches' base offsets, the aborted
/// transactions (producer id, first offset), and the last stable offset.
async fn committed_view(c: &mut Client, topic: &str, offset: i64) -> (Vec<i64>, Vec<(i64, i64)>, i64) {
    let p = fetch_with(c, fetch_at(topic, offset, true, 0), FETCH_V).await;
    assert_eq!(p.error_code, 0);
    let aborted = p
        .aborted_transactions
        .as_ref()
        .expect("read_committed gets the aborted transactions (maybe none)")
        .iter()
        .map(|a| (a.producer_id.0, a.first_offset))
        .collect();
    (batch_base_offsets(&p.records), aborted, p.last_stable_offset)
}

/// Every aborted transaction a read_committed consumer reading the whole partition is told
/// of (fetches return one segment at most, each with the transactions overlapping it).
async fn all_aborted(c: &mut Client, topic: &str) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    let mut offset = list_offsets(c, topic, 0, -2).await.offset;
    loop {
        let p = fetch_with(c, fetch_at(topic, offset, true, 0), FETCH_V).await;
        assert_eq!(p.error_code, 0);
        for a in p.aborted_transactions.unwrap_or_default() {
            if !out.contains(&(a.producer_id.0, a.first_offset)) {
                out.push((a.producer_id.0, a.first_offset));
            }
        }
        let next = next_offset(&p.records, offset);
        if next == offset {
            return out;
        }
        offset = next;
    }
}

/// The values a read_committed consumer delivers, applying the aborted transactions the way
/// clients do (an aborted producer's records from its transaction's first offset to its
/// abort marker are dropped), and never a control record.
async fn committed_values(c: &mut Client, topic: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = list_offsets(c, topic, 0, -2).await.offset;
    loop {
        let p = fetch_with(c, fetch_at(topic, offset, true, 0), FETCH_V).await;
        assert_eq!(p.error_code, 0);
        let Some(bytes) = p.records.clone() else { break };
        let next = next_offset(&p.records, offset);
        if bytes.is_empty() || next == offset {
            break;
        }
        let mut aborted: Vec<(i64, i64)> =
            p.aborted_transactions.unwrap_or_default().iter().map(|a| (a.producer_id.0, a.first_offset)).collect();
        let mut b = bytes.clone();
        let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut b).expect("decode");
        // As the Java consumer does: an aborted transaction's producer is dropped from its
        // first offset on (every aborted transaction reached so far counts, whatever the
        // record's producer), until that producer's abort marker.
        let mut dropping: Vec<i64> = Vec::new();
        for set in sets {
            for r in set.records {
                if r.offset < offset {
                    continue;
                }
                while let Some(i) = aborted.iter().position(|(_, first)| *first <= r.offset) {
                    let (pid, _) = aborted.remove(i);
                    if !dropping.contains(&pid) {
                        dropping.push(pid);
                    }
                }
                if r.control {
                    let is_abort = r.key.as_ref().is_some_and(|k| k.len() >= 4 && k[3] == 0);
                    if is_abort {
                        dropping.retain(|pid| *pid != r.producer_id);
                    }
                    continue;
                }
                if r.transactional && dropping.contains(&r.producer_id) {
                    continue;
                }
                out.push(String::from_utf8(r.value.unwrap_or_default().to_vec()).unwrap());
            }
        }
        offset = next;
    }
    out
}

/// Every record a read_uncommitted consumer gets (control records included), as (offset,
/// control, value).
async fn uncommitted_records(c: &mut Client, topic: &str) -> Vec<(i64, bool, String)> {
    let mut out = Vec::new();
    let mut offset = list_offsets(c, topic, 0, -2).await.offset;
    loop {
        let p = fetch(c, topic, 0, offset).await;
        assert_eq!(p.error_code, 0);
        assert!(p.aborted_transactions.is_none(), "read_uncommitted gets no aborted transactions");
        let recs: Vec<_> = decode_records(&p.records).into_iter().filter(|r| r.offset >= offset).collect();
        let next = next_offset(&p.records, offset);
        if next == offset {
            break;
        }
        offset = next;
        out.extend(recs.into_iter().map(|r| {
            let v = if r.control {
                String::new()
            } else {
                String::from_utf8(r.value.unwrap_or_default().to_vec()).unwrap()
            };
            (r.offset, r.control, v)
        }));
    }
    out
}

async fn latest(c: &mut Client, topic: &str, committed: bool) -> i64 {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(if committed { 1 } else { 0 })
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(tn(topic))
            .with_partitions(vec![ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1)])]);
    let resp = c.call(&req, LIST_OFFSETS_V).await;
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_stops_at_the_last_stable_offset_with_the_aborted_transactions() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "txl", 1).await;
    let (a, _) = txn_producer(&mut c, "txl").await;
    let (bb, _) = txn_producer(&mut c, "txl").await;
    assert_eq!(produce_ok(&mut c, "txl", 0, batch(&[b"plain-0"])).await, 0);
    assert_eq!(produce_txn(&mut c, "txl", txn_batch(a, 0, 0, &["a-1", "a-2"])).await, (0, 1));
    assert_eq!(produce_txn(&mut c, "txl", txn_batch(bb, 0, 0, &["b-1"])).await, (0, 3));
    // Both open: the LSO is A's first offset.
    assert_eq!(committed_view(&mut c, "txl", 0).await, (vec![0], vec![], 1));
    assert_eq!((latest(&mut c, "txl", true).await, latest(&mut c, "txl", false).await), (1, 4));
    let p = fetch(&mut c, "txl", 0, 0).await;
    assert_eq!((p.high_watermark, p.last_stable_offset), (4, 1));
    assert_eq!(batch_base_offsets(&p.records), vec![0, 1, 3], "read_uncommitted sees the open transactions");
    // Past the LSO, read_committed gets nothing (and no error).
    assert_eq!(committed_view(&mut c, "txl", 2).await, (vec![], vec![], 1));

    // A aborts: B still pins the LSO.
    assert_eq!(abort(&b, "txl", a).await, 4);
    assert_eq!(committed_view(&mut c, "txl", 0).await, (vec![0, 1], vec![(a, 1)], 3));
    assert_eq!(latest(&mut c, "txl", true).await, 3);
    // B commits: everything is stable; the abort is reported, the commit is not.
    assert_eq!(commit(&b, "txl", bb).await, 5);
    assert_eq!(committed_view(&mut c, "txl", 0).await, (vec![0, 1, 3, 4, 5], vec![(a, 1)], 6));
    assert_eq!(committed_view(&mut c, "txl", 5).await, (vec![5], vec![], 6), "the abort ended before");
    assert_eq!(latest(&mut c, "txl", true).await, 6);
    assert_eq!(committed_values(&mut c, "txl").await, vec!["plain-0", "b-1"]);
    let all = uncommitted_records(&mut c, "txl").await;
    assert_eq!(
        all,
        vec![
            (0, false, "plain-0".into()),
            (1, false, "a-1".into()),
            (2, false, "a-2".into()),
            (3, false, "b-1".into()),
            (4, true, String::new()),
            (5, true, String::new()),
        ],
        "read_uncommitted sees aborted records and both markers"
    );

    // Kafka's refusals.
    let (code, _) = produce_txn(&mut c, "txl", txn_batch(a, 0, 2, &["a-3"])).await;
    assert_eq!(code, 0, "A's next transaction");
    let nontxn = idempotent_batch(a, 0, 3, 1);
    assert_eq!(
        produce(&mut c, "txl", 0, nontxn).await.error_code,
        INVALID_TXN_STATE,
        "plain write inside a transaction"
    );
    assert_eq!(write_marker(&b, "txl", a, -1, true, 0).await.0, INVALID_PRODUCER_EPOCH, "a marker of an older epoch");
    assert_eq!(write_marker(&b, "txl", a, 0, true, 3).await.0, 0);
    assert_eq!(write_marker(&b, "txl", a, 0, false, 2).await.0, TRANSACTION_COORDINATOR_FENCED, "an older coordinator");
    let without_id = produce_request("txl", 0, txn_batch(a, 0, 3, &["a-4"]), -1);
    let resp = c.call(&without_id, PRODUCE_V).await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    let control = brook::log::batch::control_batch(a, 0, true, 3, now_ms());
    assert_eq!(produce_txn(&mut c, "txl", control).await.0, INVALID_RECORD, "clients write no control batch");
    assert_eq!(committed_values(&mut c, "txl").await, vec!["plain-0", "b-1", "a-3"]);
    b.stop().await;
}

/// A read_committed consumer long-polling at the LSO wakes when the marker lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_committed_long_poll_wakes_when_the_transaction_commits() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "txl-wait", 1).await;
    let (pid, _) = txn_producer(&mut c, "txl-wait").await;
    assert_eq!(produce_txn(&mut c, "txl-wait", txn_batch(pid, 0, 0, &["w-1"])).await, (0, 0));
    let mut waiter = b.client().await;
    let started = Instant::now();
    let req = fetch_at("txl-wait", 0, true, 8_000);
    let cid = waiter.send(&req, FETCH_V).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    commit(&b, "txl-wait", pid).await;
    let (got, resp) = waiter.recv::<FetchRequest>(FETCH_V).await;
    assert_eq!(got, cid);
    let p = &resp.responses[0].partitions[0];
    assert_eq!(batch_base_offsets(&p.records), vec![0, 1]);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "woken by the marker, not the timeout: {:?}",
        started.elapsed()
    );
    b.stop().await;
}

/// What restarts must keep: the LSO, the committed view with its aborted transactions, the
/// high watermark.
async fn txn_state(c: &mut Client, topic: &str) -> (i64, i64, Vec<(i64, i64)>, Vec<String>) {
    (
        latest(c, topic, true).await,
        latest(c, topic, false).await,
        all_aborted(c, topic).await,
        committed_values(c, topic).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_survive_graceful_and_unclean_restarts() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "txl-restart", 1, &[("segment.bytes", "400")]).await;
    let (a, _) = txn_producer(&mut c, "txl-restart").await;
    let (bb, _) = txn_producer(&mut c, "txl-restart").await;
    let mut seq = (0, 0);
    for round in 0..4 {
        let va = format!("a-{round}");
        let vb = format!("b-{round}");
        assert_eq!(produce_txn(&mut c, "txl-restart", txn_batch(a, 0, seq.0, &[&va])).await.0, 0);
        assert_eq!(produce_txn(&mut c, "txl-restart", txn_batch(bb, 0, seq.1, &[&vb])).await.0, 0);
        seq = (seq.0 + 1, seq.1 + 1);
        produce_ok(&mut c, "txl-restart", 0, batch(&[format!("plain-{round}").as_bytes()])).await;
        if round % 2 == 0 {
            abort(&b, "txl-restart", a).await;
        } else {
            commit(&b, "txl-restart", a).await;
        }
        commit(&b, "txl-restart", bb).await;
    }
    // B's last transaction stays open.
    produce_txn(&mut c, "txl-restart", txn_batch(bb, 0, seq.1, &["b-open"])).await;
    let before = txn_state(&mut c, "txl-restart").await;
    assert_eq!(before.3, vec!["b-0", "plain-0", "a-1", "b-1", "plain-1", "b-2", "plain-2", "a-3", "b-3", "plain-3"]);
    assert_eq!(before.2.len(), 2, "two aborts of A");
    assert!(before.0 < before.1, "the open transaction pins the LSO below the high watermark");
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    assert_eq!(txn_state(&mut c, "txl-restart").await, before, "graceful restart");
    drop(c);
    b.crash_restart().await;
    let mut c = b.client().await;
    assert_eq!(txn_state(&mut c, "txl-restart").await, before, "unclean restart");
    // The open transaction is still B's: its commit makes it visible.
    commit(&b, "txl-restart", bb).await;
    let after = txn_state(&mut c, "txl-restart").await;
    assert_eq!(after.0, after.1, "nothing unstable");
    assert_eq!(after.3.last().map(String::as_str), Some("b-open"));
    // And another abort after the crash is indexed like the others, across a second crash.
    produce_txn(&mut c, "txl-restart", txn_batch(a, 0, seq.0, &["a-late"])).await;
    abort(&b, "txl-restart", a).await;
    let final_state = txn_state(&mut c, "txl-restart").await;
    assert_eq!(final_state.2.len(), 3);
    drop(c);
    b.crash_restart().await;
    let mut c = b.client().await;
    assert_eq!(txn_state(&mut c, "txl-restart").await, final_state);
    b.stop().await;
}

fn txnindex_files(b: &TestBroker, dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(b.path().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".txnindex"))
        .collect();
    v.sort();
    v
}

/// DeleteRecords and retention past an aborted transaction: its index goes with its segment,
/// and read_committed consumers read on from the new start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_delete_records_past_an_aborted_transaction() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "txl-trim", 1, &[("segment.bytes", "300")]).await;
    let (pid, _) = txn_producer(&mut c, "txl-trim").await;
    produce_txn(&mut c, "txl-trim", txn_batch(pid, 0, 0, &["gone-1", "gone-2"])).await;
    abort(&b, "txl-trim", pid).await;
    for i in 0..6 {
        produce_ok(&mut c, "txl-trim", 0, batch(&[format!("plain-{i}").as_bytes()])).await;
    }
    produce_txn(&mut c, "txl-trim", txn_batch(pid, 0, 2, &["late"])).await;
    let late_abort = abort(&b, "txl-trim", pid).await;
    for i in 6..12 {
        produce_ok(&mut c, "txl-trim", 0, batch(&[format!("plain-{i}").as_bytes()])).await;
    }
    assert_eq!(txnindex_files(&b, "txl-trim-0").len(), 2, "one index per segment holding an abort");
    assert_eq!(all_aborted(&mut c, "txl-trim").await, vec![(pid, 0), (pid, late_abort - 1)]);
    // DeleteRecords past the first abort (its segment goes, with its index).
    let req = DeleteRecordsRequest::default().with_timeout_ms(5000).with_topics(vec![DeleteRecordsTopic::default()
        .with_name(tn("txl-trim"))
        .with_partitions(vec![DeleteRecordsPartition::default().with_partition_index(0).with_offset(5)])]);
    let resp = c.call(&req, 2).await;
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
    assert_eq!(txnindex_files(&b, "txl-trim-0").len(), 1);
    assert_eq!(all_aborted(&mut c, "txl-trim").await, vec![(pid, late_abort - 1)]);
    let values = committed_values(&mut c, "txl-trim").await;
    assert!(!values.iter().any(|v| v.starts_with("gone") || v == "late"), "{values:?}");
    assert_eq!(values.len(), 10, "plain-2 .. plain-11: {values:?}");
    // Retention by size keeps the active segment only: the other index goes too.
    let broker = b.handle.as_ref().unwrap().broker.clone();
    let mut cfg = broker.logs.get("txl-trim", 0).unwrap().cleaner_view().config;
    cfg.retention_bytes = 1;
    broker.logs.get("txl-trim", 0).unwrap().set_config(cfg);
    broker.logs.enforce_retention(now_ms());
    assert!(txnindex_files(&b, "txl-trim-0").is_empty(), "{:?}", txnindex_files(&b, "txl-trim-0"));
    let start = list_offsets(&mut c, "txl-trim", 0, -2).await.offset;
    assert!(start > late_abort);
    assert_eq!(committed_view(&mut c, "txl-trim", start).await.1, vec![]);
    assert_eq!(latest(&mut c, "txl-trim", true).await, latest(&mut c, "txl-trim", false).await);
    drop(broker);
    b.stop().await;
}

/// A compaction pass over a partition with aborted and committed transactions: the aborted
/// records are gone for every reader, the committed ones stay (each key's latest), the
/// markers the committed data needs stay, and nothing aborted comes back after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_removes_aborted_transactions_and_keeps_committed_ones() {
    let mut b = TestBroker::start_with(|c| c.log_cleaner_enable = false).await;
    let mut c = b.client().await;
    create_topic_with(
        &mut c,
        "txl-compact",
        1,
        &[("cleanup.policy", "compact"), ("segment.bytes", "500"), ("min.cleanable.dirty.ratio", "0.01")],
    )
    .await;
    let (a, _) = txn_producer(&mut c, "txl-compact").await;
    let (bb, _) = txn_producer(&mut c, "txl-compact").await;
    // Keys are `key-<value>`: "x" values share a key, so compaction has something to do.
    for round in 0..6 {
        let va = format!("a{round}");
        assert_eq!(produce_txn(&mut c, "txl-compact", txn_batch(a, 0, round * 2, &[&va, "x"])).await.0, 0);
        let vb = format!("b{round}");
        assert_eq!(produce_txn(&mut c, "txl-compact", txn_batch(bb, 0, round * 2, &["x", &vb])).await.0, 0);
        if round % 2 == 0 {
            abort(&b, "txl-compact", a).await;
        } else {
            commit(&b, "txl-compact", a).await;
        }
        commit(&b, "txl-compact", bb).await;
    }
    for i in 0..8 {
        produce_ok(&mut c, "txl-compact", 0, batch(&[format!("pad-{i}").as_bytes()])).await;
    }
    let before = committed_values(&mut c, "txl-compact").await;
    let broker = b.handle.as_ref().unwrap().broker.clone();
    let cleaned = broker.logs.clean_once(now_ms());
    assert_eq!(cleaned.len(), 1, "one pass");
    let after = committed_values(&mut c, "txl-compact").await;
    let uncommitted: Vec<String> =
        uncommitted_records(&mut c, "txl-compact").await.into_iter().filter(|r| !r.1).map(|r| r.2).collect();
    for round in [0, 2, 4] {
        let aborted = format!("a{round}");
        assert!(before.iter().all(|v| *v != aborted), "read_committed never saw {aborted}");
        assert!(!uncommitted.contains(&aborted), "{aborted} is gone even for read_uncommitted: {uncommitted:?}");
    }
    for v in ["a1", "a3", "a5", "b0", "b1", "b2", "b3", "b4", "b5"] {
        assert!(after.contains(&v.to_string()), "committed {v} stays: {after:?} (before: {before:?})");
    }
    assert_eq!(after.iter().filter(|v| *v == "x").count(), 1, "one 'x' left: {after:?}");
    drop(broker);
    drop(c);
    b.crash_restart().await;
    let mut c = b.client().await;
    assert_eq!(committed_values(&mut c, "txl-compact").await, after);
    assert_eq!(
        latest(&mut c, "txl-compact", true).await,
        latest(&mut c, "txl-compact", false).await,
        "no open transaction"
    );
    b.stop().await;
}
