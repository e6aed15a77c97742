//! Disk faults seen from clients: write and fsync errors injected at the log's failpoints
//! (`brook::log::faults`), one test per fault site, and a real full file system (a small
//! tmpfs). Each checks the error code the producer gets, that other partitions, topics and
//! offset commits keep working meanwhile, and that after a restart on the same directory
//! with the fault gone exactly the acknowledged records are there (a produce that failed
//! only in its fsync may be there too: its bytes were written, as after a produce timeout).
//!
//! The failpoints are the whole process's, and other tests of this binary run beside these,
//! but a fault fires only for the path it is armed for (and below it): every fault here is
//! armed for a path in the test's own broker's data directory, a fresh temporary directory,
//! so no other broker meets it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook::log::faults::{self, Fault, Point};
use brook::log::Partition;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiVersionsRequest, ProduceRequest};
use kafka_protocol::records::Compression;

use crate::common::groups::*;
use crate::common::*;

fn storage_error() -> i16 {
    ResponseError::KafkaStorageError.code()
}

fn data_dir(b: &TestBroker) -> PathBuf {
    b.handle.as_ref().expect("running").broker.config.data_dir.clone()
}

fn partition_dir(b: &TestBroker, topic: &str, p: i32) -> PathBuf {
    data_dir(b).join(format!("{topic}-{p}"))
}

fn partition(b: &TestBroker, topic: &str, p: i32) -> Arc<Partition> {
    b.handle.as_ref().expect("running").broker.logs.get(topic, p).expect("partition exists")
}

/// Produces one record holding `value`; returns the error code.
async fn send(c: &mut Client, topic: &str, p: i32, value: &str, acks: i16) -> i16 {
    produce_v(c, topic, p, batch(&[value.as_bytes()]), acks, PRODUCE_V).await.error_code
}

/// Produces `value` and asserts it was acknowledged.
async fn send_ok(c: &mut Client, topic: &str, p: i32, value: &str, acks: i16) {
    assert_eq!(send(c, topic, p, value, acks).await, NONE, "produce {value} to {topic}-{p}");
}

/// One produce request with a record for each `(topic, partition, value)`: the codes, in order.
async fn send_many(c: &mut Client, records: &[(&str, i32, &str)], acks: i16) -> Vec<i16> {
    let mut topics: Vec<TopicProduceData> = Vec::new();
    for (t, p, v) in records {
        let data = PartitionProduceData::default().with_index(*p).with_records(Some(batch(&[v.as_bytes()])));
        match topics.iter_mut().find(|x| x.name.0.as_str() == *t) {
            Some(x) => x.partition_data.push(data),
            None => topics.push(TopicProduceData::default().with_name(tn(t)).with_partition_data(vec![data])),
        }
    }
    let req = ProduceRequest::default().with_acks(acks).with_timeout_ms(5000).with_topic_data(topics);
    let resp = c.call(&req, PRODUCE_V).await;
    records
        .iter()
        .map(|(t, p, _)| {
            let tr = resp.responses.iter().find(|r| r.name.0.as_str() == *t).expect("topic answered");
            tr.partition_responses.iter().find(|r| r.index == *p).expect("partition answered").error_code
        })
        .collect()
}

/// Every record value of a partition, from offset 0 (asserting the fetches succeed).
async fn values(c: &mut Client, topic: &str, p: i32) -> Vec<String> {
    fetch_all(c, topic, p, 0)
        .await
        .into_iter()
        .map(|r| String::from_utf8(r.value.expect("a value").to_vec()).expect("utf-8 value"))
        .collect()
}

/// Bytes of whole batches a fetch from offset 0 returns (all of a small partition).
async fn published_bytes(c: &mut Client, topic: &str, p: i32) -> u64 {
    let f = fetch(c, topic, p, 0).await;
    assert_eq!(f.error_code, NONE);
    f.records.map_or(0, |r| r.len() as u64)
}

/// Total length of the partition's segment files on disk.
fn log_file_bytes(dir: &Path) -> u64 {
    files_with_ext(dir, "log").iter().map(|p| std::fs::metadata(p).expect("segment").len()).sum()
}

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .collect();
    v.sort();
    v
}

/// Graceful shutdown (returning what it reported), then a new broker on the same data
/// directory with `config(dir)`. Clients must be dropped first, so the old broker's
/// connections let go of it.
async fn restart(b: &mut TestBroker, config: impl FnOnce(&Path) -> BrokerConfig) -> std::io::Result<PathBuf> {
    let dir = data_dir(b);
    let shut = shutdown(b).await;
    start(b, config(&dir)).await;
    shut.map(|()| dir)
}

async fn shutdown(b: &mut TestBroker) -> std::io::Result<()> {
    b.handle.take().expect("running").shutdown().await
}

async fn start(b: &mut TestBroker, cfg: BrokerConfig) {
    assert!(b.handle.is_none());
    b.handle = Some(brook::server::start(cfg).await.expect("broker restarts"));
    b.wait_coordinators_loaded().await;
}

/// A broker whose background flush is out of the way (every fsync is one a request asked for).
fn quiet_config(dir: &Path) -> BrokerConfig {
    let mut cfg = BrokerConfig::for_tests(dir);
    cfg.flush_interval = Duration::from_secs(3600);
    cfg
}

async fn quiet_broker() -> TestBroker {
    TestBroker::start_with(|c| c.flush_interval = Duration::from_secs(3600)).await
}

/// Polls `cond` every 10 ms for up to 10 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// ENOSPC on an append's write, with acks=1 on one partition and acks=all on another: both
/// answer KAFKA_STORAGE_ERROR, then and from then on (the fault fired once; the partition
/// stays poisoned until a restart), keep serving their written records, and leave no byte of
/// the failed batch in the file. Other partitions, another topic and offset commits work
/// throughout; after a restart everything acknowledged is there, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_write_enospc_fails_only_that_partition_with_either_acks() {
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 3).await;
    create_topic(&mut c, "other", 1).await;
    send_ok(&mut c, "t", 0, "a0", 1).await;
    send_ok(&mut c, "t", 1, "b0", -1).await;
    let full0 = faults::arm(Point::AppendWrite, partition_dir(&b, "t", 0), Fault::enospc().once());
    let full1 = faults::arm(Point::AppendWrite, partition_dir(&b, "t", 1), Fault::enospc().once());

    assert_eq!(send(&mut c, "t", 0, "a1", 1).await, storage_error(), "acks=1");
    assert_eq!(send(&mut c, "t", 1, "b1", -1).await, storage_error(), "acks=all");
    assert_eq!((full0.hits(), full1.hits()), (1, 1));
    // Meanwhile: another partition, another topic, offset commits.
    send_ok(&mut c, "t", 2, "c0", -1).await;
    send_ok(&mut c, "other", 0, "o0", -1).await;
    commit_standalone(&mut c, "g", &[("t", 2, 1, None)]).await;
    assert_eq!(committed(&mut c, "g", "t", 2).await, 1);
    // Poisoned: the fault is spent, but the partitions refuse writes until a restart.
    assert_eq!(send(&mut c, "t", 0, "a2", -1).await, storage_error());
    assert_eq!(send(&mut c, "t", 1, "b2", 1).await, storage_error());
    // Their written records are still served, and the failed batch left no bytes behind.
    assert_eq!(values(&mut c, "t", 0).await, ["a0"]);
    assert_eq!(values(&mut c, "t", 1).await, ["b0"]);
    for p in [0, 1] {
        assert_eq!(log_file_bytes(&partition_dir(&b, "t", p)), published_bytes(&mut c, "t", p).await);
    }

    drop((full0, full1, c));
    let data = data_dir(&b);
    assert!(shutdown(&mut b).await.is_err(), "the shutdown reports the partitions it could not close cleanly");
    // ... after closing the others and writing every recovery point.
    assert!(data.join("t-2").join("00000000000000000001.snapshot").exists(), "t-2 closed cleanly");
    let checkpoint: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("recovery-point-offset-checkpoint.json")).unwrap()).unwrap();
    // t-0 only ever had an acks=1 record, never fsynced: its recovery point is its start.
    for (p, end) in [("t-0", 0), ("t-1", 1), ("t-2", 1), ("other-0", 1)] {
        assert_eq!(checkpoint[p]["offset"], end, "{p} in {checkpoint}");
    }
    start(&mut b, quiet_config(&data)).await;
    let mut c = b.client().await;
    assert_eq!(values(&mut c, "t", 0).await, ["a0"]);
    assert_eq!(values(&mut c, "t", 1).await, ["b0"]);
    assert_eq!(values(&mut c, "t", 2).await, ["c0"]);
    assert_eq!(values(&mut c, "other", 0).await, ["o0"]);
    assert_eq!(committed(&mut c, "g", "t", 2).await, 1);
    send_ok(&mut c, "t", 0, "a3", -1).await;
    assert_eq!(values(&mut c, "t", 0).await, ["a0", "a3"], "writable again after the restart");
    drop(c);
    b.stop().await;
}

/// EIO in the middle of a batch's write (part of it reached the file). On `t-0` the torn
/// bytes are cut off at once; on `t-1` cutting them fails too, so they stay in the file, past
/// the published end, where neither a fetch nor (after a crash) recovery lets them through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_write_eio_mid_batch_never_exposes_the_torn_batch() {
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 3).await;
    for p in 0..2 {
        send_ok(&mut c, "t", p, &format!("{p}-kept"), -1).await;
    }
    let (dir0, dir1) = (partition_dir(&b, "t", 0), partition_dir(&b, "t", 1));
    let torn0 = faults::arm(Point::AppendWrite, &dir0, Fault::eio().after_bytes(40).once());
    let torn1 = faults::arm(Point::AppendWrite, &dir1, Fault::eio().after_bytes(40).once());
    let stuck1 = faults::arm(Point::AppendTruncate, &dir1, Fault::eio().once());
    let long = "x".repeat(200);
    assert_eq!(send(&mut c, "t", 0, &long, -1).await, storage_error());
    assert_eq!(send(&mut c, "t", 1, &long, 1).await, storage_error());
    assert_eq!((torn0.hits(), torn1.hits(), stuck1.hits()), (1, 1, 1));
    send_ok(&mut c, "t", 2, "healthy", -1).await;

    let published0 = published_bytes(&mut c, "t", 0).await;
    let published1 = published_bytes(&mut c, "t", 1).await;
    assert_eq!(log_file_bytes(&dir0), published0, "the torn bytes were cut");
    assert_eq!(log_file_bytes(&dir1), published1 + 40, "the torn bytes are on disk");
    assert_eq!(values(&mut c, "t", 1).await, ["1-kept"], "but never served");

    drop((torn0, torn1, stuck1, c));
    b.crash_restart().await;
    let mut c = b.client().await;
    assert_eq!(values(&mut c, "t", 0).await, ["0-kept"]);
    assert_eq!(values(&mut c, "t", 1).await, ["1-kept"]);
    assert_eq!(values(&mut c, "t", 2).await, ["healthy"]);
    assert_eq!(log_file_bytes(&dir1), published1, "recovery truncated the torn tail");
    send_ok(&mut c, "t", 1, "after", -1).await;
    assert_eq!(values(&mut c, "t", 1).await, ["1-kept", "after"]);
    drop(c);
    b.stop().await;
}

/// EIO from the fsync of an acks=all group commit. One request for three partitions: the
/// round uses one `syncfs`, which fails, and each partition's own fsync then tells which
/// one to fail: only that partition is answered KAFKA_STORAGE_ERROR (the others are
/// durable; an error would make the client send them twice). The failed partition refuses
/// writes from then on with either acks and serves what it holds. The record whose fsync
/// failed was written (consumers see it at once in `acks` durability, as on Kafka) but not
/// acknowledged: like a produce that timed out, it may or may not survive, and here (the
/// page cache kept it) it does; an idempotent producer's retry would be found a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_eio_in_the_group_commit_fails_only_that_partition() {
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 2).await;
    create_topic(&mut c, "other", 1).await;
    send_ok(&mut c, "t", 0, "a0", -1).await;
    send_ok(&mut c, "t", 1, "b0", -1).await;
    let eio = faults::arm(Point::Fsync, partition_dir(&b, "t", 0), Fault::eio());

    let codes = send_many(&mut c, &[("t", 0, "a1"), ("t", 1, "b1"), ("other", 0, "o0")], -1).await;
    assert_eq!(codes, [storage_error(), NONE, NONE]);
    assert!(eio.hits() >= 1);
    assert_eq!(send(&mut c, "t", 0, "a2", -1).await, storage_error());
    assert_eq!(send(&mut c, "t", 0, "a3", 1).await, storage_error());
    send_ok(&mut c, "t", 1, "b2", -1).await;
    commit_standalone(&mut c, "g", &[("t", 1, 3, None)]).await;
    assert_eq!(committed(&mut c, "g", "t", 1).await, 3);
    assert_eq!(values(&mut c, "t", 0).await, ["a0", "a1"]);

    drop((eio, c));
    let shut = restart(&mut b, quiet_config).await;
    assert!(shut.is_err(), "the poisoned partition could not be closed cleanly");
    let mut c = b.client().await;
    assert_eq!(values(&mut c, "t", 0).await, ["a0", "a1"], "acknowledged, then only what failed in its fsync");
    assert_eq!(values(&mut c, "t", 1).await, ["b0", "b1", "b2"]);
    assert_eq!(values(&mut c, "other", 0).await, ["o0"]);
    assert_eq!(committed(&mut c, "g", "t", 1).await, 3);
    drop(c);
    b.stop().await;
}

/// A v13 produce (topics by id) whose unknown topic ids come first: they append nothing and
/// have no durability outcome, so a failed fsync is still answered on the partition it failed
/// for, and the others in the request are acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_is_answered_on_its_partition_behind_unknown_topic_ids() {
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 2).await;
    let id = topic_id(&mut c, "t").await;
    let eio = faults::arm(Point::Fsync, partition_dir(&b, "t", 0), Fault::eio());
    let topic = |id, parts: &[i32]| {
        let data = parts
            .iter()
            .map(|&p| PartitionProduceData::default().with_index(p).with_records(Some(batch(&[b"v13"]))))
            .collect();
        TopicProduceData::default().with_topic_id(id).with_partition_data(data)
    };
    let unknown = uuid::Uuid::from_u128(0x516);
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        topic(unknown, &[0, 1]),
        topic(id, &[0, 1]),
        topic(unknown, &[2]),
    ]);
    let resp = c.call(&req, 13).await;
    let codes: Vec<(uuid::Uuid, i32, i16)> = resp
        .responses
        .iter()
        .flat_map(|t| t.partition_responses.iter().map(|p| (t.topic_id, p.index, p.error_code)))
        .collect();
    const UNKNOWN_TOPIC_ID: i16 = 100;
    assert_eq!(
        codes,
        [
            (unknown, 0, UNKNOWN_TOPIC_ID),
            (unknown, 1, UNKNOWN_TOPIC_ID),
            (id, 0, storage_error()),
            (id, 1, NONE),
            (unknown, 2, UNKNOWN_TOPIC_ID),
        ]
    );
    assert!(eio.hits() >= 1);
    drop((eio, c));
    assert!(shutdown(&mut b).await.is_err(), "the poisoned partition could not be closed cleanly");
}

/// An offset commit whose `__consumer_offsets` partition cannot be fsynced is answered
/// NOT_COORDINATOR, as Kafka answers a commit it could not store (clients retry it, where
/// KAFKA_STORAGE_ERROR is no OffsetCommit error to them and fails the Java consumer's
/// commit); groups kept in the other offsets partitions go on committing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offset_commit_that_cannot_be_fsynced_is_answered_retriably() {
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 1).await;
    let broker = b.handle.as_ref().expect("running").broker.clone();
    let home = broker.groups.partition_for("g").expect("offsets partition");
    let elsewhere = (0..100)
        .map(|i| format!("h{i}"))
        .find(|g| broker.groups.partition_for(g).expect("offsets partition").index != home.index)
        .expect("a group kept in another offsets partition");
    let eio = faults::arm(Point::Fsync, home.dir(), Fault::eio());
    let codes = commit(&mut c, "g", -1, "", None, &[("t", 0, 5, None)]).await;
    assert_eq!(codes, [("t".to_string(), 0, ResponseError::NotCoordinator.code())]);
    assert!(eio.hits() >= 1);
    // Answered as failed, so not served as committed either (Kafka applies it only once
    // written).
    assert_eq!(committed(&mut c, "g", "t", 0).await, -1, "the failed commit is not visible");
    commit_standalone(&mut c, &elsewhere, &[("t", 0, 7, None)]).await;
    assert_eq!(committed(&mut c, &elsewhere, "t", 0).await, 7);
    send_ok(&mut c, "t", 0, "still producing", -1).await;
    drop((eio, home, broker, c));
    assert!(shutdown(&mut b).await.is_err(), "the poisoned offsets partition is reported");
}

fn not_coordinator() -> i16 {
    ResponseError::NotCoordinator.code()
}

/// SyncGroup: when the leader's assignment cannot be made durable (the fsync of the group's
/// `__consumer_offsets` partition fails), no member is handed an assignment. The leader and
/// the follower waiting for it are answered NOT_COORDINATOR, as Kafka answers a SyncGroup whose
/// group metadata it could not store (clients look the coordinator up again and rejoin), and
/// the group goes back to rebalancing. With the partition poisoned from then on, the next
/// leader's SyncGroup cannot even append the assignment and is answered the same at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_group_whose_assignment_cannot_be_fsynced_hands_out_no_assignment() {
    use kafka_protocol::messages::{JoinGroupRequest, SyncGroupRequest};
    let mut b = quiet_broker().await;
    let mut ca = b.client().await;
    let mut cb = b.client().await;
    create_topic(&mut ca, "t", 2).await;
    let protos = consumer_protocols(&["range"], &["t"]);
    // A alone is Stable in generation 1 (its assignment stored fine); B joins, A rejoins.
    let (a, _) = stable_single(&mut ca, "g", &["t"], b"a-gen1").await;
    let b_id = member_id_required(&mut cb, "g", protos.clone()).await;
    let b_join = cb.send(&join_request("g", &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    assert_no_response(&mut cb, 300, "B's JoinGroup while A has not rejoined").await;
    assert_eq!(heartbeat(&mut ca, "g", 1, &a, None).await, REBALANCE_IN_PROGRESS);
    let ja = ca.call(&join_request("g", &a, None, "consumer", protos.clone()), JOIN_V).await;
    let jb = recv_for::<JoinGroupRequest>(&mut cb, b_join, JOIN_V).await;
    assert_eq!((ja.error_code, jb.error_code, ja.generation_id, ja.leader.as_str()), (NONE, NONE, 2, a.as_str()));

    let broker = b.handle.as_ref().expect("running").broker.clone();
    let home = broker.groups.partition_for("g").expect("offsets partition");
    let eio = faults::arm(Point::Fsync, home.dir(), Fault::eio());
    let b_sync = cb.send(&sync_request("g", 2, &b_id, None, &[]), SYNC_V).await;
    assert_no_response(&mut cb, 300, "the follower's SyncGroup before the leader's").await;
    let sa = sync(&mut ca, "g", 2, &a, None, &[(&a, b"assign-a"), (&b_id, b"assign-b")]).await;
    let sb = recv_for::<SyncGroupRequest>(&mut cb, b_sync, SYNC_V).await;
    assert!(eio.hits() >= 1);
    for (who, s) in [("leader", &sa), ("follower", &sb)] {
        assert_eq!(s.error_code, not_coordinator(), "{who}: the assignment was not stored");
        assert!(s.assignment.is_empty(), "{who} is handed no assignment");
    }
    assert_eq!(group_state(&mut ca, "g").await, "PreparingRebalance");
    assert_eq!(heartbeat(&mut cb, "g", 2, &b_id, None).await, REBALANCE_IN_PROGRESS);
    assert!(describe(&mut ca, "g").await.members.iter().all(|m| m.member_assignment.is_empty()));

    // Both rejoin (generation 3); the poisoned partition refuses the leader's next assignment.
    let a_join = ca.send(&join_request("g", &a, None, "consumer", protos.clone()), JOIN_V).await;
    assert_no_response(&mut ca, 200, "A's JoinGroup while B has not rejoined").await;
    let jb = cb.call(&join_request("g", &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    let ja = recv_for::<JoinGroupRequest>(&mut ca, a_join, JOIN_V).await;
    assert_eq!((ja.error_code, jb.error_code, ja.generation_id), (NONE, NONE, 3));
    let b_sync = cb.send(&sync_request("g", 3, &b_id, None, &[]), SYNC_V).await;
    assert_no_response(&mut cb, 200, "the follower's SyncGroup before the leader's").await;
    let sa = sync(&mut ca, "g", 3, &a, None, &[(&a, b"assign-a"), (&b_id, b"assign-b")]).await;
    let sb = recv_for::<SyncGroupRequest>(&mut cb, b_sync, SYNC_V).await;
    assert_eq!((sa.error_code, sb.error_code), (not_coordinator(), not_coordinator()));
    assert!(sa.assignment.is_empty() && sb.assignment.is_empty());
    drop((eio, home, broker, ca, cb));
    assert!(shutdown(&mut b).await.is_err(), "the poisoned offsets partition is reported");
}

/// JoinGroup: a restarted static member that replaces its old member id in a Stable group is
/// answered once the group's new metadata is stored; when that fsync fails it is answered
/// NOT_COORDINATOR (and retries), not told it joined with an id that was never made durable.
/// Its retry finds the partition poisoned and is answered the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_rejoin_that_cannot_be_fsynced_is_answered_retriably() {
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 1).await;
    let protos = consumer_protocols(&["range"], &["t"]);
    let j = c.call(&join_request("g", "", Some("i"), "consumer", protos.clone()), JOIN_V).await;
    assert_eq!((j.error_code, j.generation_id), (NONE, 1), "static members skip MEMBER_ID_REQUIRED");
    let id = j.member_id.to_string();
    assert_eq!(sync(&mut c, "g", 1, &id, Some("i"), &[(&id, b"P")]).await.error_code, NONE);

    let broker = b.handle.as_ref().expect("running").broker.clone();
    let home = broker.groups.partition_for("g").expect("offsets partition");
    let eio = faults::arm(Point::Fsync, home.dir(), Fault::eio());
    let again = c.call(&join_request("g", "", Some("i"), "consumer", protos.clone()), JOIN_V).await;
    assert_eq!(again.error_code, not_coordinator(), "the replacement was not stored");
    assert!(eio.hits() >= 1);
    let retry = c.call(&join_request("g", "", Some("i"), "consumer", protos.clone()), JOIN_V).await;
    assert_eq!(retry.error_code, not_coordinator(), "the poisoned partition refuses the retry's record");
    drop((eio, home, broker, c));
    assert!(shutdown(&mut b).await.is_err(), "the poisoned offsets partition is reported");
}

/// LeaveGroup: the last member leaving empties the group, which is stored; when that fsync
/// fails the leave is answered NOT_COORDINATOR (v0-2 and v3+), not as done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_group_that_cannot_be_fsynced_is_answered_retriably() {
    use kafka_protocol::messages::LeaveGroupRequest;
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 1).await;
    let (a, _) = stable_single(&mut c, "g", &["t"], b"A").await;
    let broker = b.handle.as_ref().expect("running").broker.clone();
    // A second group kept in the same offsets partition, for the v0-2 form.
    let home = broker.groups.partition_for("g").expect("offsets partition");
    let other = (0..1000)
        .map(|i| format!("h{i}"))
        .find(|g| broker.groups.partition_for(g).expect("offsets partition").index == home.index)
        .expect("another group kept in the same offsets partition");
    let (o, _) = stable_single(&mut c, &other, &["t"], b"O").await;

    let eio = faults::arm(Point::Fsync, home.dir(), Fault::eio());
    let r = leave(&mut c, "g", &[(&a, None)]).await;
    assert_eq!(r.error_code, not_coordinator(), "LeaveGroup v{LEAVE_V}: the empty group was not stored");
    assert!(eio.hits() >= 1);
    let r = c.call(&LeaveGroupRequest::default().with_group_id(gid(&other)).with_member_id(sb(&o)), 2).await;
    assert_eq!(r.error_code, not_coordinator(), "LeaveGroup v2");
    drop((eio, home, broker, c));
    assert!(shutdown(&mut b).await.is_err(), "the poisoned offsets partition is reported");
}

/// DeleteGroups and OffsetDelete write tombstones to `__consumer_offsets`: when those cannot
/// be fsynced they are answered with the retriable NOT_COORDINATOR, not success (the
/// deletion would come back after a restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_deletions_that_cannot_be_fsynced_are_not_answered_as_done() {
    use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
    use kafka_protocol::messages::{DeleteGroupsRequest, GroupId, OffsetDeleteRequest};
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 1).await;
    commit_standalone(&mut c, "g", &[("t", 0, 5, None)]).await;
    let broker = b.handle.as_ref().expect("running").broker.clone();
    let home = broker.groups.partition_for("g").expect("offsets partition");
    let eio = faults::arm(Point::Fsync, home.dir(), Fault::eio());
    let req = OffsetDeleteRequest::default().with_group_id(GroupId(sb("g"))).with_topics(vec![
        OffsetDeleteRequestTopic::default()
            .with_name(tn("t"))
            .with_partitions(vec![OffsetDeleteRequestPartition::default().with_partition_index(0)]),
    ]);
    let resp = c.call(&req, 0).await;
    assert_eq!(resp.error_code, ResponseError::NotCoordinator.code(), "offset delete");
    let resp = c.call(&DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb("g"))]), 2).await;
    // The offsets partition is poisoned by now: the group's tombstone cannot even be written.
    assert_ne!(resp.results[0].error_code, 0, "delete groups is not answered as done");
    assert!(eio.hits() >= 1);
    drop((eio, home, broker, c));
    assert!(shutdown(&mut b).await.is_err(), "the poisoned offsets partition is reported");
}

/// acks=1 in `acks` durability is answered once written, before its fsync (as documented);
/// when the background fsync round then fails, the partition refuses further writes, and
/// the acknowledged record survives the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_eio_after_an_acks_1_answer_poisons_the_partition_and_keeps_the_record() {
    let config = |dir: &Path| {
        let mut cfg = BrokerConfig::for_tests(dir);
        cfg.flush_interval = Duration::from_millis(50);
        cfg
    };
    let mut b = TestBroker::start_with(|c| c.flush_interval = Duration::from_millis(50)).await;
    let mut c = b.client().await;
    create_topic(&mut c, "t", 2).await;
    let eio = faults::arm(Point::Fsync, partition_dir(&b, "t", 0), Fault::eio());
    send_ok(&mut c, "t", 0, "a0", 1).await;
    let p0 = partition(&b, "t", 0);
    eventually("the background round fails the partition", || p0.is_poisoned()).await;
    assert_eq!(send(&mut c, "t", 0, "a1", 1).await, storage_error());
    send_ok(&mut c, "t", 1, "b0", 1).await;
    let p1 = partition(&b, "t", 1);
    eventually("the healthy partition is fsynced in the background", || p1.recovery_point().offset == 1).await;
    assert!(!p1.is_poisoned());
    assert_eq!(values(&mut c, "t", 0).await, ["a0"]);

    drop((eio, c, p0, p1));
    assert!(restart(&mut b, config).await.is_err());
    let mut c = b.client().await;
    assert_eq!(values(&mut c, "t", 0).await, ["a0"]);
    assert_eq!(values(&mut c, "t", 1).await, ["b0"]);
    drop(c);
    b.stop().await;
}

/// The next segment cannot be created when the active one rolls: the produce that needed
/// the roll is answered KAFKA_STORAGE_ERROR and so is every later one, the old segment stays
/// active and whole, and the restart copes with the empty segment file the failed create
/// left behind. A failed seal of the old segment, on the other hand, touches only derived
/// data (reserved space, indexes): the roll goes on and nothing is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_roll_failures_leave_the_partition_consistent() {
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "r", 2, &[("segment.bytes", "1024")]).await;
    let (dir0, dir1) = (partition_dir(&b, "r", 0), partition_dir(&b, "r", 1));
    let create = faults::arm(Point::RollCreate, &dir0, Fault::enospc());
    let seal = faults::arm(Point::RollSeal, &dir1, Fault::eio());

    let mut acked0 = Vec::new();
    let mut refused = None;
    for i in 0..60 {
        let v = format!("r0-{i:02}-{}", "p".repeat(60));
        match send(&mut c, "r", 0, &v, -1).await {
            NONE => acked0.push(v),
            code => {
                refused = Some(code);
                break;
            }
        }
    }
    assert_eq!(refused, Some(storage_error()), "the produce needing the roll is refused");
    assert!(acked0.len() >= 5 && create.hits() == 1, "{} acked, {} hits", acked0.len(), create.hits());
    assert_eq!(send(&mut c, "r", 0, "later", 1).await, storage_error());
    assert_eq!(values(&mut c, "r", 0).await, acked0);

    let mut acked1 = Vec::new();
    for i in 0..40 {
        let v = format!("r1-{i:02}-{}", "p".repeat(60));
        send_ok(&mut c, "r", 1, &v, -1).await;
        acked1.push(v);
    }
    assert!(seal.hits() >= 2, "rolled despite failed seals");
    assert!(files_with_ext(&dir1, "log").len() >= 3);
    assert_eq!(values(&mut c, "r", 1).await, acked1);

    drop((create, seal, c));
    assert!(restart(&mut b, quiet_config).await.is_err());
    let mut c = b.client().await;
    assert_eq!(values(&mut c, "r", 0).await, acked0);
    assert_eq!(values(&mut c, "r", 1).await, acked1);
    for i in 0..30 {
        let v = format!("r0-again-{i:02}-{}", "p".repeat(60));
        send_ok(&mut c, "r", 0, &v, -1).await;
        acked0.push(v);
    }
    assert!(files_with_ext(&dir0, "log").len() >= 3, "rolls again after the restart");
    assert_eq!(values(&mut c, "r", 0).await, acked0);
    drop(c);
    b.stop().await;
}

/// Index files are derived data: a failed index write fails no produce and no read (reads
/// use the entries in memory), and the files it leaves are either rebuilt at startup or
/// still right. Here the time index cannot be written while the offset index could: had
/// the offset index been written further, recovery would scan only the batches after its
/// last entry and miss the largest timestamp written before it, so a timestamp lookup after
/// the restart would find nothing. A torn offset-index write is repaired by the next write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_write_failures_never_make_a_read_wrong() {
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "i", 1, &[("index.interval.bytes", "64")]).await;
    let dir = partition_dir(&b, "i", 0);
    let p = partition(&b, "i", 0);
    let early = now_ms() - 60_000;
    let one = |i: i64, ts: i64| batch_full(&[(format!("v{i}").as_bytes(), ts)], NO_PRODUCER, Compression::None);
    for i in 0..20 {
        assert_eq!(produce(&mut c, "i", 0, one(i, early + i)).await.error_code, NONE);
    }
    p.persist_indexes().expect("indexes written");
    let stem = "00000000000000000000";
    let time_index = dir.join(format!("{stem}.timeindex"));
    let offset_index = dir.join(format!("{stem}.index"));
    assert!(time_index.exists() && offset_index.exists());

    let time_fails = faults::arm(Point::IndexWrite, &time_index, Fault::eio());
    let late = now_ms() + 60_000;
    assert_eq!(produce(&mut c, "i", 0, one(20, late)).await.error_code, NONE);
    for i in 21..40 {
        assert_eq!(produce(&mut c, "i", 0, one(i, early + i)).await.error_code, NONE);
    }
    // The periodic checkpoint: index write failures are logged, the recovery point (past
    // everything, all of it fsynced) is written, so recovery will trust the index files.
    let broker = b.handle.as_ref().expect("running").broker.clone();
    broker.logs.write_checkpoints().expect("checkpoint written");
    assert!(time_fails.hits() >= 1);
    assert_eq!(list_offsets(&mut c, "i", 0, late).await.offset, 20);

    drop((time_fails, p, c, broker));
    b.crash_restart().await;
    let mut c = b.client().await;
    assert_eq!(list_offsets(&mut c, "i", 0, late).await.offset, 20, "the late timestamp is found after a restart");
    assert_eq!(list_offsets(&mut c, "i", 0, -3).await.offset, 20, "MAX_TIMESTAMP");
    for o in 0..40 {
        let got = fetch_all(&mut c, "i", 0, o).await;
        assert_eq!(got.first().map(|r| r.offset), Some(o), "a fetch from {o} starts at {o}");
    }

    // A torn offset-index write (a few bytes of an entry): the next write repairs the file.
    let p = partition(&b, "i", 0);
    let torn = faults::arm(Point::IndexWrite, &dir, Fault::enospc().after_bytes(5).once());
    for i in 40..60 {
        assert_eq!(produce(&mut c, "i", 0, one(i, early + i)).await.error_code, NONE);
    }
    assert!(p.persist_indexes().is_err());
    assert_eq!(torn.hits(), 1);
    let broker = b.handle.as_ref().expect("running").broker.clone();
    broker.logs.write_checkpoints().expect("the next write succeeds");
    assert_eq!(std::fs::metadata(&offset_index).unwrap().len() % 8, 0, "no torn entry left");
    assert_eq!(std::fs::metadata(&time_index).unwrap().len() % 12, 0, "no torn entry left");
    drop((torn, p, c, broker));
    b.crash_restart().await;
    let mut c = b.client().await;
    for o in 0..60 {
        let got = fetch_all(&mut c, "i", 0, o).await;
        assert_eq!(got.first().map(|r| r.offset), Some(o), "a fetch from {o} starts at {o}");
    }
    assert_eq!(list_offsets(&mut c, "i", 0, late).await.offset, 20);
    drop(c);
    b.stop().await;
}

/// Producer snapshots and recovery checkpoints are derived data too: when they cannot be
/// written, produces (an idempotent producer's, across segment rolls) still succeed, the
/// periodic checkpoint and the shutdown report the failure and leave no temp files, and
/// after the restart recovery validates more of the log instead: every record is there and
/// the producer's sequence state is rebuilt from the log (a retry is a duplicate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_checkpoint_failures_lose_nothing() {
    let mut b = quiet_broker().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "s", 1, &[("segment.bytes", "1024")]).await;
    create_topic(&mut c, "other", 1).await;
    let data = data_dir(&b);
    let dir = partition_dir(&b, "s", 0);
    let snapshots = faults::arm(Point::SnapshotWrite, &dir, Fault::eio().after_bytes(3));
    let checkpoints = faults::arm(Point::CheckpointWrite, &data, Fault::enospc().after_bytes(10));
    let (pid, epoch) = init_producer_id(&mut c).await;
    let mut offsets = Vec::new();
    for seq in 0..30 {
        let r = produce(&mut c, "s", 0, idempotent_batch(pid, epoch, seq, 1)).await;
        assert_eq!(r.error_code, NONE, "seq {seq}");
        offsets.push(r.base_offset);
    }
    assert!(snapshots.hits() >= 1, "segments rolled, their snapshots failed");
    assert!(files_with_ext(&dir, "log").len() >= 2);
    send_ok(&mut c, "other", 0, "o0", -1).await;
    let broker = b.handle.as_ref().expect("running").broker.clone();
    assert!(broker.logs.write_checkpoints().is_err(), "the checkpoint write fails");
    assert!(checkpoints.hits() >= 1);
    drop(broker);
    assert!(files_with_ext(&dir, "tmp").is_empty() && files_with_ext(&data, "tmp").is_empty(), "no temp files left");
    assert!(files_with_ext(&dir, "snapshot").is_empty());

    drop(c);
    assert!(shutdown(&mut b).await.is_err(), "the shutdown's snapshot and checkpoint failed");
    assert!(!data.join(".clean-shutdown").exists());
    assert!(files_with_ext(&dir, "snapshot").is_empty() && files_with_ext(&data, "tmp").is_empty());
    drop((snapshots, checkpoints));
    start(&mut b, quiet_config(&data)).await;
    let mut c = b.client().await;
    let got = values(&mut c, "s", 0).await;
    assert_eq!(got, (0..30).map(|s| format!("idem-{s}-0")).collect::<Vec<_>>());
    assert_eq!(values(&mut c, "other", 0).await, ["o0"]);
    let retry = produce(&mut c, "s", 0, idempotent_batch(pid, epoch, 29, 1)).await;
    assert_eq!((retry.error_code, retry.base_offset), (NONE, offsets[29]), "a retry is a duplicate");
    let next = produce(&mut c, "s", 0, idempotent_batch(pid, epoch, 30, 1)).await;
    assert_eq!((next.error_code, next.base_offset), (NONE, 30));
    drop(c);
    b.stop().await;
}

/// A tmpfs of a given size mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Self> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(at.to_path_buf()))
    }

    fn resize(&self, size: &str) {
        let ok = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {} with size {size}", self.0.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A real full file system (a 2 MiB tmpfs, when this test may mount one): filling it
/// through produce ends in KAFKA_STORAGE_ERROR, not in a hang, a crash or a garbled log;
/// the broker keeps answering everything else; once there is room again a restart finds
/// exactly the acknowledged records and the partition takes writes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_file_system_answers_storage_error_and_the_broker_keeps_serving() {
    let mnt = tempfile::tempdir().expect("tempdir");
    let Some(fs) = Tmpfs::mount(mnt.path(), "2m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)");
        return;
    };
    let data = mnt.path().join("data");
    let config = |data: &Path| {
        let mut cfg = BrokerConfig::for_tests(data);
        cfg.flush_interval = Duration::from_secs(3600);
        cfg
    };
    let mut b = TestBroker::start_with(|c| *c = config(&data)).await;
    let mut c = b.client().await;
    create_topic(&mut c, "full", 2).await;
    create_topic(&mut c, "small", 1).await;
    send_ok(&mut c, "small", 0, "before", -1).await;

    let chunk = "z".repeat(64 << 10);
    let mut acked = 0usize;
    let mut refused = None;
    for _ in 0..100 {
        match send(&mut c, "full", 0, &chunk, -1).await {
            NONE => acked += 1,
            code => {
                refused = Some(code);
                break;
            }
        }
    }
    assert_eq!(refused, Some(storage_error()), "after {acked} acknowledged 64 KiB records");
    assert!(acked >= 10, "{acked}");
    // Still serving: metadata, fetches of the full partition and of others, api versions.
    let md = metadata(&mut c, Some(&["full", "small"]), false, METADATA_V).await;
    assert!(md.topics.iter().all(|t| t.error_code == NONE));
    assert_eq!(values(&mut c, "full", 0).await.len(), acked);
    assert_eq!(values(&mut c, "small", 0).await, ["before"]);
    let code = send(&mut c, "full", 1, "maybe", -1).await;
    assert!(code == NONE || code == storage_error(), "{code}");
    assert_eq!(send(&mut c, "full", 0, "x", -1).await, storage_error());
    let versions = c.call(&ApiVersionsRequest::default(), 2).await;
    assert_eq!(versions.error_code, NONE);

    drop(c);
    fs.resize("16m");
    let _ = restart(&mut b, config).await;
    let mut c = b.client().await;
    let got = values(&mut c, "full", 0).await;
    assert_eq!(got.len(), acked, "exactly the acknowledged records");
    assert!(got.iter().all(|v| *v == chunk));
    send_ok(&mut c, "full", 0, "room again", -1).await;
    drop(c);
    b.stop().await;
    drop(fs);
}
