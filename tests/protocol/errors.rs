//! Unknown topics and produce-time validation errors, with exact Kafka error codes.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::*;

use crate::common::*;

const CORRUPT_MESSAGE: i16 = 2;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const MESSAGE_TOO_LARGE: i16 = 10;
const INVALID_REQUIRED_ACKS: i16 = 21;
const INVALID_RECORD: i16 = 87;
const UNKNOWN_TOPIC_ID: i16 = 100;

/// The connection still answers: ApiVersions and a produce to `topic` (if given) succeed.
async fn still_works(c: &mut Client, topic: Option<&str>) {
    let r = c.call(&ApiVersionsRequest::default(), 2).await;
    assert_eq!(r.error_code, 0, "ApiVersions after an error");
    if let Some(t) = topic {
        let code = produce(c, t, 0, batch(&[b"after-error"])).await.error_code;
        assert_eq!(code, 0, "produce after an error");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_everywhere() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;

    // Produce to a missing topic does not auto-create it.
    let r = produce(&mut c, "nope", 0, batch(&[b"x"])).await;
    assert_eq!(r.error_code, UNKNOWN_TOPIC_OR_PARTITION, "produce");
    assert_eq!(r.base_offset, -1);

    // Fetch by name.
    let p = fetch(&mut c, "nope", 0, 0).await;
    assert_eq!(p.error_code, UNKNOWN_TOPIC_OR_PARTITION, "fetch by name");

    // Fetch v13+ by an unknown topic id.
    for v in [13i16, 17] {
        let req =
            FetchRequest::default().with_max_wait_ms(0).with_min_bytes(1).with_topics(vec![FetchTopic::default()
                .with_topic_id(uuid::Uuid::new_v4())
                .with_partitions(vec![FetchPartition::default().with_partition(0).with_partition_max_bytes(1 << 20)])]);
        let p = fetch_with(&mut c, req, v).await;
        assert_eq!(p.error_code, UNKNOWN_TOPIC_ID, "fetch v{v} by unknown id");
    }

    // ListOffsets.
    for ts in [-1, -2, 0] {
        let p = list_offsets(&mut c, "nope", 0, ts).await;
        assert_eq!(p.error_code, UNKNOWN_TOPIC_OR_PARTITION, "list offsets ts={ts}");
    }

    // Metadata without auto-creation: error 3, and still not created.
    for _ in 0..2 {
        let md = metadata(&mut c, Some(&["nope"]), false, METADATA_V).await;
        assert_eq!(md.topics.len(), 1);
        assert_eq!(md.topics[0].error_code, UNKNOWN_TOPIC_OR_PARTITION, "metadata no-auto");
    }
    let all = metadata(&mut c, None, false, METADATA_V).await;
    assert!(all.topics.is_empty(), "nothing was created: {:?}", all.topics);

    // Nothing above created the topic, so a produce still fails.
    let r = produce(&mut c, "nope", 0, batch(&[b"x"])).await;
    assert_eq!(r.error_code, UNKNOWN_TOPIC_OR_PARTITION);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_partition_of_existing_topic() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "two", 2).await;
    let r = produce(&mut c, "two", 2, batch(&[b"x"])).await;
    assert_eq!(r.error_code, UNKNOWN_TOPIC_OR_PARTITION, "produce to partition 2 of 2");
    let p = fetch(&mut c, "two", 5, 0).await;
    assert_eq!(p.error_code, UNKNOWN_TOPIC_OR_PARTITION, "fetch partition 5 of 2");
    let p = list_offsets(&mut c, "two", -1, -1).await;
    assert_eq!(p.error_code, UNKNOWN_TOPIC_OR_PARTITION, "list offsets partition -1");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_auto_creates_when_allowed() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let md = metadata(&mut c, Some(&["auto-made"]), true, METADATA_V).await;
    assert_eq!(md.topics.len(), 1);
    let t = &md.topics[0];
    assert_eq!(t.error_code, 0, "auto-create answers with the topic");
    assert_eq!(t.name.as_ref().unwrap().0.as_str(), "auto-made");
    assert_eq!(t.partitions.len(), 1, "num.partitions default is 1");
    assert!(!t.topic_id.is_nil());
    let id = t.topic_id;

    // A second Metadata (all topics, no auto-create) lists it with the same id.
    let all = metadata(&mut c, None, false, METADATA_V).await;
    let listed: Vec<_> =
        all.topics.iter().map(|t| (t.name.as_ref().unwrap().0.to_string(), t.topic_id, t.partitions.len())).collect();
    assert_eq!(listed, vec![("auto-made".to_string(), id, 1)]);

    // And it is usable.
    assert_eq!(produce_ok(&mut c, "auto-made", 0, batch(&[b"v"])).await, 0);

    // Metadata v0..=3 has no flag: auto-creation follows the broker setting.
    let md = metadata(&mut c, Some(&["auto-v1"]), true, 1).await;
    assert_eq!(md.topics[0].error_code, 0, "v1 auto-create");
    assert_eq!(md.topics[0].partitions.len(), 1);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_does_not_auto_create_when_broker_disallows() {
    let b = TestBroker::start_with(|c| c.auto_create_topics_enable = false).await;
    let mut c = b.client().await;
    let md = metadata(&mut c, Some(&["never"]), true, METADATA_V).await;
    assert_eq!(md.topics[0].error_code, UNKNOWN_TOPIC_OR_PARTITION);
    let all = metadata(&mut c, None, false, METADATA_V).await;
    assert!(all.topics.is_empty());
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_corrupt_crc_is_corrupt_message() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "crc", 1).await;
    let good = batch(&[b"hello", b"world"]);
    let mut bad = good.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x55; // a record byte covered by the CRC
    let r = produce(&mut c, "crc", 0, Bytes::from(bad)).await;
    assert_eq!(r.error_code, CORRUPT_MESSAGE, "flipped payload byte");
    assert_eq!(r.base_offset, -1);

    // Corrupt the CRC field itself.
    let mut bad = good.to_vec();
    bad[17] ^= 0xff;
    let r = produce(&mut c, "crc", 0, Bytes::from(bad)).await;
    assert_eq!(r.error_code, CORRUPT_MESSAGE, "flipped CRC byte");

    // Nothing was written; the next good batch lands at offset 0.
    assert_eq!(list_offsets(&mut c, "crc", 0, -1).await.offset, 0);
    still_works(&mut c, Some("crc")).await;
    assert_eq!(list_offsets(&mut c, "crc", 0, -1).await.offset, 1);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_larger_than_topic_max_message_bytes() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "small", 1, &[("max.message.bytes", "1000")]).await;
    let big = vec![b'x'; 1500];
    let big_batch = batch(&[&big]);
    assert!(big_batch.len() > 1000);
    let r = produce(&mut c, "small", 0, big_batch).await;
    assert_eq!(r.error_code, MESSAGE_TOO_LARGE);
    assert_eq!(r.base_offset, -1);

    // Just under the limit is fine.
    let ok = vec![b'y'; 800];
    let ok_batch = batch(&[&ok]);
    assert!(ok_batch.len() <= 1000, "batch is {} bytes", ok_batch.len());
    assert_eq!(produce_ok(&mut c, "small", 0, ok_batch).await, 0);

    // The limit is per topic: another topic takes the big batch.
    create_topic(&mut c, "roomy", 1).await;
    assert_eq!(produce_ok(&mut c, "roomy", 0, batch(&[&big])).await, 0);
    still_works(&mut c, Some("small")).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_invalid_acks() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "acks", 1).await;
    for acks in [2i16, -2, 5] {
        let r = produce_v(&mut c, "acks", 0, batch(&[b"x"]), acks, PRODUCE_V).await;
        assert_eq!(r.error_code, INVALID_REQUIRED_ACKS, "acks={acks}");
    }
    assert_eq!(list_offsets(&mut c, "acks", 0, -1).await.offset, 0, "nothing written");
    still_works(&mut c, Some("acks")).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_two_batches_in_one_partition_is_invalid_record() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "two-batches", 1).await;
    let mut both = BytesMut::new();
    both.extend_from_slice(&batch(&[b"first"]));
    both.extend_from_slice(&batch(&[b"second"]));
    let r = produce(&mut c, "two-batches", 0, both.freeze()).await;
    assert_eq!(r.error_code, INVALID_RECORD);
    assert_eq!(list_offsets(&mut c, "two-batches", 0, -1).await.offset, 0);
    still_works(&mut c, Some("two-batches")).await;
    b.stop().await;
}

/// A legacy (magic 1) message set, as an old producer would send it.
fn legacy_v1_message(value: &[u8]) -> Bytes {
    let mut body = BytesMut::new();
    body.put_i8(1); // magic
    body.put_i8(0); // attributes
    body.put_i64(now_ms()); // timestamp
    body.put_i32(-1); // null key
    body.put_i32(value.len() as i32);
    body.extend_from_slice(value);
    let crc = kafka_protocol::records::IEEE.checksum(&body);
    let mut m = BytesMut::new();
    m.put_i64(0); // offset
    m.put_i32((4 + body.len()) as i32); // message size
    m.put_u32(crc);
    m.extend_from_slice(&body);
    m.freeze()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_magic_v1_is_invalid_record() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "legacy", 1).await;

    // Kafka answers every one of these with INVALID_RECORD ("Produce requests with version
    // >= 3 are only allowed to contain record batches with magic version 2"), never with
    // CORRUPT_MESSAGE: the legacy message sets are well formed.
    let mut relabelled = batch(&[b"relabelled"]).to_vec();
    relabelled[16] = 1;
    let cases: Vec<(&str, Bytes)> = vec![
        // A v2 batch relabelled magic 1 (as long as a v2 header).
        ("v2 batch relabelled magic 1", Bytes::from(relabelled)),
        // A genuine legacy message big enough to span a v2 header's size.
        ("large legacy v1 message", legacy_v1_message(&[b'z'; 200])),
        // A genuine, small (46 bytes), legacy v1 message.
        ("small legacy v1 message", legacy_v1_message(b"old-school")),
    ];
    let mut got = Vec::new();
    for (what, records) in cases {
        let r = produce(&mut c, "legacy", 0, records).await;
        got.push((what, r.error_code));
    }
    assert_eq!(list_offsets(&mut c, "legacy", 0, -1).await.offset, 0);
    still_works(&mut c, Some("legacy")).await;
    assert_eq!(
        got,
        vec![
            ("v2 batch relabelled magic 1", INVALID_RECORD),
            ("large legacy v1 message", INVALID_RECORD),
            ("small legacy v1 message", INVALID_RECORD),
        ]
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_empty_or_truncated_records() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "trunc", 1).await;
    // A batch cut short: its batchLength claims more bytes than are present.
    let good = batch(&[b"some value here"]);
    let cut = good.slice(0..good.len() - 5);
    let r = produce(&mut c, "trunc", 0, cut).await;
    assert_eq!(r.error_code, CORRUPT_MESSAGE, "truncated batch");
    assert_eq!(list_offsets(&mut c, "trunc", 0, -1).await.offset, 0);
    still_works(&mut c, Some("trunc")).await;
    b.stop().await;
}

/// Rewrites header bytes of a v2 batch and recomputes its CRC32C, so only the edited field is
/// wrong.
fn patch_batch(b: &Bytes, at: usize, bytes: &[u8]) -> Bytes {
    let mut v = b.to_vec();
    v[at..at + bytes.len()].copy_from_slice(bytes);
    let crc = crc32c::crc32c(&v[21..]);
    v[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(v)
}

/// Kafka's LogValidator.validateBatch rules for client batches, all INVALID_RECORD (87).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_invalid_batch_headers_are_invalid_record() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "hdr", 1).await;
    let two = batch(&[b"one", b"two"]);
    let mut control = batch(&[b"ctl"]).to_vec();
    control[22] |= 0x20; // control attribute
    let control = patch_batch(&Bytes::from(control), 0, &0i64.to_be_bytes());
    let cases: Vec<(&str, Bytes)> = vec![
        // recordsCount 3 but lastOffsetDelta 1
        ("count != lastOffsetDelta+1", patch_batch(&two, 57, &3i32.to_be_bytes())),
        // lastOffsetDelta -1: empty offset range
        ("negative lastOffsetDelta", patch_batch(&two, 23, &(-1i32).to_be_bytes())),
        ("zero record count", patch_batch(&patch_batch(&two, 57, &0i32.to_be_bytes()), 23, &(-1i32).to_be_bytes())),
        ("control batch from a client", control),
        // producer id set but no base sequence
        ("producer id without sequence", patch_batch(&two, 43, &42i64.to_be_bytes())),
    ];
    let mut got = Vec::new();
    for (what, records) in cases {
        let r = produce(&mut c, "hdr", 0, records).await;
        got.push((what, r.error_code));
    }
    assert_eq!(list_offsets(&mut c, "hdr", 0, -1).await.offset, 0, "nothing appended");
    still_works(&mut c, Some("hdr")).await;
    assert_eq!(
        got,
        vec![
            ("count != lastOffsetDelta+1", INVALID_RECORD),
            ("negative lastOffsetDelta", INVALID_RECORD),
            ("zero record count", INVALID_RECORD),
            ("control batch from a client", INVALID_RECORD),
            ("producer id without sequence", INVALID_RECORD),
        ]
    );
    b.stop().await;
}

/// One produce request, several partitions, each judged on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_mixed_partitions_are_independent() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "mix", 3).await;
    let mut corrupt = batch(&[b"bad"]).to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    let pd = |i: i32, r: Bytes| PartitionProduceData::default().with_index(i).with_records(Some(r));
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![
        TopicProduceData::default().with_name(tn("mix")).with_partition_data(vec![
            pd(0, batch(&[b"good0"])),
            pd(1, Bytes::from(corrupt)),
            pd(2, batch(&[b"good2"])),
            pd(3, batch(&[b"no-such-partition"])),
        ]),
        TopicProduceData::default().with_name(tn("mix-missing")).with_partition_data(vec![pd(0, batch(&[b"x"]))]),
    ]);
    let resp = c.call(&req, PRODUCE_V).await;
    let got: Vec<(String, i32, i16, i64)> = resp
        .responses
        .iter()
        .flat_map(|t| {
            t.partition_responses.iter().map(|p| (t.name.0.to_string(), p.index, p.error_code, p.base_offset))
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("mix".into(), 0, 0, 0),
            ("mix".into(), 1, CORRUPT_MESSAGE, -1),
            ("mix".into(), 2, 0, 0),
            ("mix".into(), 3, UNKNOWN_TOPIC_OR_PARTITION, -1),
            ("mix-missing".into(), 0, UNKNOWN_TOPIC_OR_PARTITION, -1),
        ]
    );
    assert_eq!(fetch_all(&mut c, "mix", 2, 0).await.len(), 1);
    assert_eq!(fetch_all(&mut c, "mix", 1, 0).await.len(), 0);
    b.stop().await;
}

/// Leader epochs: this single node is always at epoch 0. A client that knows a newer epoch
/// gets UNKNOWN_LEADER_EPOCH (75); an older one FENCED_LEADER_EPOCH (74) cannot occur below 0
/// (-1 means "no epoch").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_epoch_checks() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "ep", 1).await;
    produce_ok(&mut c, "ep", 0, batch(&[b"x"])).await;
    let md = metadata(&mut c, Some(&["ep"]), false, METADATA_V).await;
    assert_eq!(md.topics[0].partitions[0].leader_epoch, 0);
    let mut got = Vec::new();
    for epoch in [-1, 0, 1] {
        let mut req = fetch_request("ep", 0, 0, 0);
        req.topics[0].partitions[0].current_leader_epoch = epoch;
        let p = fetch_with(&mut c, req, FETCH_V).await;
        got.push(("fetch", epoch, p.error_code));
        let req = ListOffsetsRequest::default().with_topics(vec![
            kafka_protocol::messages::list_offsets_request::ListOffsetsTopic::default()
                .with_name(tn("ep"))
                .with_partitions(vec![kafka_protocol::messages::list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_current_leader_epoch(epoch)
                    .with_timestamp(-1)]),
        ]);
        let r = c.call(&req, 7).await;
        got.push(("list_offsets", epoch, r.topics[0].partitions[0].error_code));
    }
    assert_eq!(
        got,
        vec![
            ("fetch", -1, 0),
            ("list_offsets", -1, 0),
            ("fetch", 0, 0),
            ("list_offsets", 0, 0),
            ("fetch", 1, 75),
            ("list_offsets", 1, 75),
        ]
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_invalid_name_with_auto_create() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let long = "x".repeat(250);
    let md = metadata(&mut c, Some(&["bad name", long.as_str(), "good-name"]), true, METADATA_V).await;
    let got: Vec<(String, i16)> =
        md.topics.iter().map(|t| (t.name.as_ref().unwrap().0.to_string(), t.error_code)).collect();
    assert_eq!(got, vec![("bad name".into(), 17), (long.clone(), 17), ("good-name".into(), 0),]);
    b.stop().await;
}

/// A deleted topic's id is unknown afterwards, even once the name is re-created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_by_stale_topic_id() {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "stale", 1).await;
    produce_ok(&mut c, "stale", 0, batch(&[b"old"])).await;
    let old = topic_id(&mut c, "stale").await;
    let req = DeleteTopicsRequest::default().with_timeout_ms(5000).with_topic_names(vec![tn("stale")]);
    assert_eq!(c.call(&req, 5).await.responses[0].error_code, 0);
    create_topic(&mut c, "stale", 1).await;
    let new = topic_id(&mut c, "stale").await;
    assert_ne!(old, new);
    for (id, want) in [(old, UNKNOWN_TOPIC_ID), (new, 0)] {
        let req = FetchRequest::default().with_max_wait_ms(0).with_topics(vec![FetchTopic::default()
            .with_topic_id(id)
            .with_partitions(vec![FetchPartition::default().with_partition(0).with_partition_max_bytes(1 << 20)])]);
        let p = fetch_with(&mut c, req, 13).await;
        assert_eq!(p.error_code, want, "fetch by id {id}");
        assert!(decode_records(&p.records).is_empty(), "no data from the old topic");
    }
    b.stop().await;
}
