//! Durability modes seen from a producer: which acknowledgements wait for the fsync. After each
//! answer the partition's recovery point (the offset known to be on disk) is checked against the
//! offsets just written.

use std::time::{Duration, Instant};

use brook::config::Durability;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::ProduceRequest;

use crate::common::*;

/// Offset up to which `topic`/`partition` is known to be fsynced.
fn durable_offset(b: &TestBroker, topic: &str, partition: i32) -> i64 {
    let logs = &b.handle.as_ref().expect("running").broker.logs;
    logs.get(topic, partition).expect("partition exists").recovery_point().offset
}

/// Produces 3 records with `acks` and returns the log end offset after them.
async fn produce_three(c: &mut Client, topic: &str, partition: i32, acks: i16) -> i64 {
    let r = produce_v(c, topic, partition, batch(&[b"a", b"b", b"c"]), acks, PRODUCE_V).await;
    assert_eq!(r.error_code, 0, "{r:?}");
    r.base_offset + 3
}

async fn broker_in(mode: Durability) -> (TestBroker, Client) {
    broker_with(mode, Duration::from_secs(3600)).await
}

/// A broker whose background flush (`flush_interval`) is out of the way unless asked for.
async fn broker_with(mode: Durability, flush_interval: Duration) -> (TestBroker, Client) {
    let b = TestBroker::start_with(|c| {
        c.durability = mode;
        c.flush_interval = flush_interval;
    })
    .await;
    let mut c = b.client().await;
    create_topic(&mut c, "d", 3).await;
    (b, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_mode_is_acks() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(BrokerConfig::for_tests(dir.path()).durability, Durability::Acks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_mode_fsyncs_acks_all_before_the_answer_and_not_acks_1() {
    let (b, mut c) = broker_in(Durability::Acks).await;
    let end = produce_three(&mut c, "d", 0, 1).await;
    assert!(durable_offset(&b, "d", 0) < end, "acks=1 is answered without waiting for an fsync");
    let end = produce_three(&mut c, "d", 0, -1).await;
    assert!(durable_offset(&b, "d", 0) >= end, "acks=all is answered after the fsync");
    // The acks=1 records become visible at once (no fsync needed for consumers).
    let end1 = produce_three(&mut c, "d", 1, 1).await;
    let f = fetch(&mut c, "d", 1, 0).await;
    assert_eq!(f.high_watermark, end1);
    b.stop().await;
}

/// acks=1 data nobody waited for still reaches the disk within a flush interval (bounding
/// what a power cut loses and what a restart after a crash must validate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_and_interval_modes_flush_unacknowledged_data_in_the_background() {
    for mode in [Durability::Acks, Durability::Interval] {
        let (b, mut c) = broker_with(mode, Duration::from_millis(50)).await;
        let end = produce_three(&mut c, "d", 2, 1).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while durable_offset(&b, "d", 2) < end {
            assert!(Instant::now() < deadline, "{mode:?}: acks=1 data still not fsynced after 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        b.stop().await;
    }
}

/// A busy broker does not wait for the flush interval: in `acks` mode, once `flush_bytes` of
/// acks=1 data is unflushed a background round starts, and it covers every dirty partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_mode_flushes_early_once_flush_bytes_are_unflushed() {
    let b = TestBroker::start_with(|c| {
        c.durability = Durability::Acks;
        c.flush_interval = Duration::from_secs(3600);
        c.flush_bytes = 64 << 10;
    })
    .await;
    let mut c = b.client().await;
    create_topic(&mut c, "d", 3).await;
    let small_end = produce_three(&mut c, "d", 0, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(durable_offset(&b, "d", 0) < small_end, "flushed below flush_bytes and before the interval");
    let big = vec![b'x'; 70 << 10];
    let r = produce_v(&mut c, "d", 1, batch(&[&big]), 1, PRODUCE_V).await;
    assert_eq!(r.error_code, 0, "{r:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while durable_offset(&b, "d", 1) <= r.base_offset || durable_offset(&b, "d", 0) < small_end {
        assert!(Instant::now() < deadline, "no background round 10 s after passing flush_bytes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.stop().await;
}

/// With a long flush interval nothing is flushed early (the interval is honoured, not the
/// background job's one-second tick).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_mode_waits_for_its_interval() {
    let (b, mut c) = broker_with(Durability::Interval, Duration::from_secs(3600)).await;
    let end = produce_three(&mut c, "d", 0, -1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(durable_offset(&b, "d", 0) < end, "flushed before its interval");
    b.stop().await;
}

/// Which acknowledgements wait for the fsync, mode by mode: all of them in `sync`, none in
/// `os` and `interval` (the answer comes first, the fsync later or never).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_mode_fsyncs_before_exactly_the_acks_it_promises() {
    for (mode, fsynced) in [(Durability::Sync, true), (Durability::Os, false), (Durability::Interval, false)] {
        let (b, mut c) = broker_in(mode).await;
        for acks in [1, -1] {
            let end = produce_three(&mut c, "d", 0, acks).await;
            assert_eq!(durable_offset(&b, "d", 0) >= end, fsynced, "{mode:?} acks={acks}");
        }
        b.stop().await;
    }
}

/// One request for three partitions: the group-commit round covers them all at once (one
/// `syncfs` for the round), and each is durable when the answer comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_partition_round_makes_every_partition_durable() {
    for mode in [Durability::Acks, Durability::Sync] {
        let (b, mut c) = broker_in(mode).await;
        let parts = (0..3)
            .map(|p| PartitionProduceData::default().with_index(p).with_records(Some(batch(&[b"x", b"y"]))))
            .collect();
        let req = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default().with_name(tn("d")).with_partition_data(parts)]);
        let resp = c.call(&req, PRODUCE_V).await;
        let parts = &resp.responses[0].partition_responses;
        assert_eq!(parts.len(), 3);
        for p in parts {
            assert_eq!(p.error_code, 0, "{p:?}");
            assert!(durable_offset(&b, "d", p.index) >= p.base_offset + 2, "{mode:?} partition {}", p.index);
        }
        b.stop().await;
    }
}
