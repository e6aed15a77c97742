//! ListOffsets: earliest, latest, by timestamp (inside batches, compressed batches, across
//! segments) and max timestamp.

use kafka_protocol::records::Compression;

use crate::common::*;

/// (value, timestamp) batches and their compression; offsets are assigned 0.. in order.
type Batch = (Vec<(&'static [u8], i64)>, Compression);

fn layout() -> Vec<Batch> {
    vec![
        // offsets 0..=2
        (vec![(b"a0", 1000), (b"a1", 1100), (b"a2", 1200)], Compression::None),
        // offsets 3..=6 (gzip)
        (vec![(b"b0", 2000), (b"b1", 2050), (b"b2", 2100), (b"b3", 2150)], Compression::Gzip),
        // offset 7
        (vec![(b"c0", 3000)], Compression::None),
        // offsets 8..=10 (gzip, timestamps not monotonic; max 4000 at offset 9)
        (vec![(b"d0", 2500), (b"d1", 4000), (b"d2", 3500)], Compression::Gzip),
        // offset 11
        (vec![(b"e0", 3900)], Compression::None),
    ]
}

/// (target timestamp, expected offset, expected timestamp)
const BY_TIME: &[(i64, i64, i64)] = &[
    (0, 0, 1000),
    (1000, 0, 1000),
    (1001, 1, 1100), // inside the first batch
    (1150, 2, 1200), // last record of a batch
    (1201, 3, 2000), // first record of a gzip batch
    (2060, 5, 2100), // inside a gzip batch
    (2150, 6, 2150), // exact, last of the gzip batch
    (2151, 7, 3000), // next batch
    (2400, 7, 3000), // offset 8 (2500) also qualifies, but 7 comes first
    (3001, 9, 4000), // inside the second gzip batch, non-monotonic timestamps
    (3600, 9, 4000), // offset 11 (3900) qualifies too, but 9 comes first
    (4000, 9, 4000),
    (4001, -1, -1), // after every record
    (i64::MAX, -1, -1),
];

async fn fill(c: &mut Client, topic: &str) {
    let mut next = 0;
    for (values, compression) in layout() {
        let n = values.len() as i64;
        let b = batch_full(&values, NO_PRODUCER, compression);
        assert_eq!(produce_ok(c, topic, 0, b).await, next);
        next += n;
    }
}

async fn check(c: &mut Client, topic: &str) {
    let e = list_offsets(c, topic, 0, -2).await;
    assert_eq!((e.error_code, e.offset), (0, 0), "{topic} earliest");
    let l = list_offsets(c, topic, 0, -1).await;
    assert_eq!((l.error_code, l.offset), (0, 12), "{topic} latest");

    let mut got = Vec::new();
    let mut want = Vec::new();
    for &(ts, off, rts) in BY_TIME {
        let r = list_offsets(c, topic, 0, ts).await;
        assert_eq!(r.error_code, 0, "{topic} ts={ts}");
        got.push((ts, r.offset, r.timestamp));
        want.push((ts, off, rts));
        if off >= 0 {
            assert_eq!(r.leader_epoch, 0, "{topic} ts={ts} leader epoch");
        } else {
            assert_eq!(r.leader_epoch, -1, "{topic} ts={ts} not found has no leader epoch");
        }
    }
    assert_eq!(got, want, "{topic}: (target, offset, timestamp) by timestamp");

    // MAX_TIMESTAMP (v7+): the record holding the largest timestamp.
    let m = list_offsets_v(c, topic, 0, -3, 7).await;
    assert_eq!((m.error_code, m.offset, m.timestamp), (0, 9, 4000), "{topic} max timestamp");
    // Same answers at the newest version.
    let m = list_offsets_v(c, topic, 0, -3, 9).await;
    assert_eq!((m.offset, m.timestamp), (9, 4000), "{topic} max timestamp v9");
    let r = list_offsets_v(c, topic, 0, 2060, 1).await;
    assert_eq!(r.offset, 5, "{topic} by timestamp at v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_single_segment() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "lo", 1).await;
    fill(&mut c, "lo").await;
    check(&mut c, "lo").await;
    b.stop().await;
}

/// Tiny segments (each batch its own segment) and a dense time index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_across_segments() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "lo-seg", 1, &[("segment.bytes", "100"), ("index.interval.bytes", "1")]).await;
    fill(&mut c, "lo-seg").await;
    let segments = std::fs::read_dir(b.path().join("lo-seg-0"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "log"))
        .count();
    assert!(segments >= 4, "expected several segments, found {segments}");
    check(&mut c, "lo-seg").await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_survive_restart() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "lo-r", 1).await;
    fill(&mut c, "lo-r").await;
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    check(&mut c, "lo-r").await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_empty_partition() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "empty", 1).await;
    assert_eq!(list_offsets(&mut c, "empty", 0, -2).await.offset, 0);
    assert_eq!(list_offsets(&mut c, "empty", 0, -1).await.offset, 0);
    let r = list_offsets(&mut c, "empty", 0, 1000).await;
    assert_eq!((r.error_code, r.offset, r.timestamp), (0, -1, -1));
    let r = list_offsets(&mut c, "empty", 0, -3).await;
    assert_eq!((r.error_code, r.offset, r.timestamp), (0, -1, -1));
    b.stop().await;
}

/// Kafka answers every occurrence of a partition listed twice in one ListOffsets request with
/// INVALID_REQUEST (42); other partitions are answered normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_duplicate_partitions_are_invalid_request() {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::{BrokerId, ListOffsetsRequest};
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "dups", 2).await;
    produce_ok(&mut c, "dups", 1, batch(&[b"a", b"b"])).await;
    let part = |i: i32| ListOffsetsPartition::default().with_partition_index(i).with_timestamp(-1);
    let req =
        ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![ListOffsetsTopic::default()
            .with_name(tn("dups"))
            .with_partitions(vec![part(0), part(1), part(0)])]);
    let resp = c.call(&req, LIST_OFFSETS_V).await;
    let got: Vec<(i32, i16, i64)> =
        resp.topics[0].partitions.iter().map(|p| (p.partition_index, p.error_code, p.offset)).collect();
    assert_eq!(got, vec![(0, 42, -1), (1, 0, 2), (0, 42, -1)]);
    b.stop().await;
}

/// A CreateTime batch whose header `maxTimestamp` is lower than its records' largest (a
/// client bug) is stored with the header corrected, as Kafka's LogValidator does: the time
/// index and MAX_TIMESTAMP see the true largest timestamp, and the fetched batch says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_max_timestamp_in_the_header_is_corrected() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "lying-max", 1).await;
    let now = now_ms();
    let honest =
        batch_full(&[(b"x", now - 3000), (b"y", now - 1000), (b"z", now - 2000)], NO_PRODUCER, Compression::None);
    let mut lying = honest.to_vec();
    lying[35..43].copy_from_slice(&(now - 3000).to_be_bytes()); // maxTimestamp = the first record's
    let crc = brook::log::batch::compute_crc(&lying);
    lying[17..21].copy_from_slice(&crc.to_be_bytes());
    produce_ok(&mut c, "lying-max", 0, bytes::Bytes::from(lying)).await;
    let max = list_offsets_v(&mut c, "lying-max", 0, -3, 7).await;
    assert_eq!((max.offset, max.timestamp), (1, now - 1000), "MAX_TIMESTAMP finds the true largest");
    let fetched = fetch(&mut c, "lying-max", 0, 0).await.records.expect("records");
    let stored_max = i64::from_be_bytes(fetched[35..43].try_into().unwrap());
    assert_eq!(stored_max, now - 1000, "the stored header carries the records' largest timestamp");
    assert_eq!(decode_records(&Some(fetched)).len(), 3);
}
