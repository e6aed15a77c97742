//! Writes the committed seed corpus (`fuzz/corpus/<target>/`): valid inputs of each kind the
//! targets read, so fuzzing starts deep inside the decoders. Run from `fuzz/`:
//! `cargo run --example seeds`.

use std::path::Path;

use brook::group::codec;
use brook::log::batch::{self, build_batch, BatchHeader};
use brook::log::records::encode_record;
use brook::producer::state::ProducerStateTable;
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    std::fs::write(dir.join(name), data).expect("write seed");
}

fn records_batch(compression: Compression, n: usize) -> Bytes {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(format!("value-{i}").repeat(3))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression })
        .expect("encode");
    buf.freeze()
}

fn frame<R: Encodable + HeaderVersion>(key: ApiKey, version: i16, req: &R) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("seed")));
    let mut b = BytesMut::new();
    header.encode(&mut b, R::header_version(version)).expect("header");
    req.encode(&mut b, version).expect("body");
    b.to_vec()
}

fn main() {
    let codecs = [
        ("none", Compression::None),
        ("gzip", Compression::Gzip),
        ("snappy", Compression::Snappy),
        ("lz4", Compression::Lz4),
        ("zstd", Compression::Zstd),
    ];
    for (name, c) in codecs {
        let b = records_batch(c, 5);
        write("produce_batch", name, &b);
        let mut t = 1_700_000_000_002i64.to_be_bytes().to_vec();
        t.extend_from_slice(&b);
        write("timestamp_lookup", name, &t);
    }

    let topic = |name: &str| TopicName(StrBytes::from_string(name.into()));
    let produce = ProduceRequest::default().with_acks(-1).with_timeout_ms(1000).with_topic_data(vec![
        produce_request::TopicProduceData::default().with_name(topic("t")).with_partition_data(vec![
            produce_request::PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records_batch(Compression::None, 2))),
        ]),
    ]);
    write("request", "produce_v9", &frame(ApiKey::Produce, 9, &produce));
    write("request", "produce_v3", &frame(ApiKey::Produce, 3, &produce));
    let fetch = FetchRequest::default().with_max_wait_ms(100).with_max_bytes(1 << 20).with_topics(vec![
        fetch_request::FetchTopic::default().with_topic(topic("t")).with_partitions(vec![
            fetch_request::FetchPartition::default().with_partition(0).with_partition_max_bytes(1 << 20),
        ]),
    ]);
    write("request", "fetch_v12", &frame(ApiKey::Fetch, 12, &fetch));
    write("request", "fetch_v4", &frame(ApiKey::Fetch, 4, &fetch));
    let metadata = MetadataRequest::default().with_topics(Some(vec![
        metadata_request::MetadataRequestTopic::default().with_name(Some(topic("t"))),
    ]));
    write("request", "metadata_v12", &frame(ApiKey::Metadata, 12, &metadata));
    write("request", "metadata_v1", &frame(ApiKey::Metadata, 1, &metadata));
    write("request", "api_versions_v3", &frame(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()));
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_session_timeout_ms(10_000)
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::from_static(b"\x00\x01\x00\x00\x00\x01\x00\x01t"))]);
    write("request", "join_group_v9", &frame(ApiKey::JoinGroup, 9, &join));
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(topic("t"))
            .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default()
                .with_committed_offset(5)])]);
    write("request", "offset_commit_v8", &frame(ApiKey::OffsetCommit, 8, &commit));
    let create = CreateTopicsRequest::default().with_topics(vec![create_topics_request::CreatableTopic::default()
        .with_name(topic("t"))
        .with_num_partitions(3)
        .with_replication_factor(1)]);
    write("request", "create_topics_v7", &frame(ApiKey::CreateTopics, 7, &create));
    let list = ListOffsetsRequest::default().with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
        .with_name(topic("t"))
        .with_partitions(vec![list_offsets_request::ListOffsetsPartition::default().with_timestamp(-1)])]);
    write("request", "list_offsets_v7", &frame(ApiKey::ListOffsets, 7, &list));

    // A segment of three batches with a matching (empty) index and a snapshot.
    let mut log = Vec::new();
    let mut producers = ProducerStateTable::default();
    for i in 0..3i64 {
        let mut body = Vec::new();
        encode_record(&mut body, 0, 0, Some(b"k"), Some(b"stored"), &[]);
        let b = build_batch(i, 1, 1_700_000_000_000 + i, &body);
        let mut m = b.to_vec();
        m[..16].copy_from_slice(&batch::patched_prefix(&b, i, 0));
        producers.record(&BatchHeader::parse(&m).expect("header"));
        log.extend_from_slice(&m);
    }
    let snapshot = producers.to_snapshot(3);
    let mut rec = vec![0u8, 0, (snapshot.len() / 16) as u8, 0];
    rec.extend_from_slice(&snapshot[..(snapshot.len() / 16) * 16]);
    rec.extend_from_slice(&log);
    write("recovery", "three_batches", &rec);

    write("state_readers", "snapshot", &snapshot);
    write("state_readers", "offset_key", &codec::offset_key("g", "t", 3));
    write("state_readers", "group_key", &codec::group_key("g"));
    let v = codec::OffsetValue { offset: 42, leader_epoch: 0, metadata: "m".into(), commit_timestamp: 1 };
    write("state_readers", "offset_value", &codec::offset_value(&v));
    println!("seeds written under corpus/");
}
