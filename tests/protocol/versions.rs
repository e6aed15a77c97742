//! ApiVersions, and every served API answered at every version it advertises.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::common::*;

const UNSUPPORTED_VERSION: i16 = 35;

fn handlers() -> Vec<(i16, i16, i16)> {
    let mut v: Vec<(i16, i16, i16)> =
        brook::api::HANDLERS.iter().map(|e| (e.key as i16, e.min_version, e.max_version)).collect();
    v.sort();
    v
}

fn advertised(resp: &ApiVersionsResponse) -> Vec<(i16, i16, i16)> {
    let mut v: Vec<(i16, i16, i16)> = resp.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
    v.sort();
    v
}

fn range_of(key: ApiKey) -> std::ops::RangeInclusive<i16> {
    let e = brook::api::HANDLERS.iter().find(|e| e.key == key).unwrap_or_else(|| panic!("{key:?} is registered"));
    e.min_version..=e.max_version
}

fn api_versions_request() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
        .with_client_software_name(sb("brook-protocol-tests"))
        .with_client_software_version(sb("1.0.0"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_every_version_advertises_the_handler_table() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let expected = handlers();
    assert!(expected.len() >= 10, "the registry has the ten initial APIs");
    for v in 0..=4 {
        let resp = c.call(&api_versions_request(), v).await;
        assert_eq!(resp.error_code, 0, "ApiVersions v{v} error");
        assert_eq!(advertised(&resp), expected, "ApiVersions v{v} api list");
    }
    // The ApiVersions entry itself advertises 0..=4.
    assert!(expected.contains(&(ApiKey::ApiVersions as i16, 0, 4)));
    b.stop().await;
}

/// KIP-511: an ApiVersions request at a version newer than served gets a v0-format response
/// with UNSUPPORTED_VERSION and the supported list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_unknown_version_gets_v0_unsupported_response() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for (cid, bad_version) in [(77, 99i16), (78, 5i16)] {
        // A v3 (flexible) request, relabelled as a newer version, as a new client would send.
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::ApiVersions as i16)
            .with_request_api_version(3)
            .with_correlation_id(cid)
            .with_client_id(Some(sb("future-client")));
        let mut body = BytesMut::new();
        header.encode(&mut body, 2).unwrap();
        api_versions_request().encode(&mut body, 3).unwrap();
        body[2..4].copy_from_slice(&bad_version.to_be_bytes());
        let mut frame = BytesMut::new();
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        c.send_raw(&frame).await.unwrap();

        let mut resp = c.read_frame().await.unwrap().expect("a response, not a closed connection");
        // v0 response header: correlation id only, then the v0 body.
        let h = ResponseHeader::decode(&mut resp, 0).unwrap();
        assert_eq!(h.correlation_id, cid);
        let body = ApiVersionsResponse::decode(&mut resp, 0).expect("v0 ApiVersions body");
        assert_eq!(bytes::Buf::remaining(&resp), 0, "v0 body has no trailing bytes");
        assert_eq!(body.error_code, UNSUPPORTED_VERSION, "ApiVersions v{bad_version}");
        assert_eq!(advertised(&body), handlers());
    }
    // Connection still usable afterwards.
    let resp = c.call(&api_versions_request(), 3).await;
    assert_eq!(resp.error_code, 0);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "md", 2).await;
    let id = topic_id(&mut c, "md").await;
    let port = b.addr().port() as i32;
    for v in range_of(ApiKey::Metadata) {
        let req = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(tn("md")))]))
            // The flag exists from v4; earlier versions must leave it at its default.
            .with_allow_auto_topic_creation(v < 4);
        let resp = c.call(&req, v).await;
        assert_eq!(resp.brokers.len(), 1, "Metadata v{v} brokers");
        assert_eq!(resp.brokers[0].port, port, "Metadata v{v} advertised port");
        assert_eq!(resp.brokers[0].host.as_str(), "127.0.0.1");
        assert_eq!(resp.topics.len(), 1, "Metadata v{v} topics");
        let t = &resp.topics[0];
        assert_eq!(t.error_code, 0, "Metadata v{v} topic error");
        assert_eq!(t.name.as_ref().map(|n| n.0.as_str()), Some("md"));
        assert_eq!(t.partitions.len(), 2, "Metadata v{v} partitions");
        for (i, p) in t.partitions.iter().enumerate() {
            assert_eq!(p.partition_index, i as i32);
            assert_eq!(p.error_code, 0);
            assert_eq!(p.leader_id, resp.brokers[0].node_id);
        }
        if v >= 1 {
            assert_eq!(resp.controller_id, resp.brokers[0].node_id, "Metadata v{v} controller");
        }
        if v >= 2 {
            assert!(resp.cluster_id.is_some(), "Metadata v{v} cluster id");
        }
        if v >= 10 {
            assert_eq!(t.topic_id, id, "Metadata v{v} topic id");
        }
        // Null topic list = all topics (v1+).
        if v >= 1 {
            let all = c.call(&MetadataRequest::default().with_topics(None), v).await;
            assert!(
                all.topics.iter().any(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some("md")),
                "Metadata v{v} all-topics lists md"
            );
        }
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "pv", 1).await;
    let id = topic_id(&mut c, "pv").await;
    for (expected_offset, v) in range_of(ApiKey::Produce).enumerate() {
        let expected_offset = expected_offset as i64;
        let value = format!("produce-v{v}");
        let records = batch(&[value.as_bytes()]);
        let r = if v >= 13 {
            // KIP-516: the topic by id, answered by id.
            let resp = c.call(&produce_request_by_id(id, 0, records, -1), v).await;
            assert_eq!(resp.responses.len(), 1, "Produce v{v} topics");
            assert_eq!(resp.responses[0].topic_id, id, "Produce v{v} topic id");
            resp.responses[0].partition_responses[0].clone()
        } else {
            produce_v(&mut c, "pv", 0, records, -1, v).await
        };
        assert_eq!(r.error_code, 0, "Produce v{v}: {:?}", r.error_message);
        assert_eq!(r.base_offset, expected_offset, "Produce v{v} base offset");
        if v >= 5 {
            assert_eq!(r.log_start_offset, 0, "Produce v{v} log start offset");
        }
        // CreateTime topic: no append time.
        assert_eq!(r.log_append_time_ms, -1, "Produce v{v} log append time");
    }
    let recs = fetch_all(&mut c, "pv", 0, 0).await;
    let values: Vec<String> =
        recs.iter().map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap()).collect();
    let want: Vec<String> = range_of(ApiKey::Produce).map(|v| format!("produce-v{v}")).collect();
    assert_eq!(values, want);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "fv", 1).await;
    produce_ok(&mut c, "fv", 0, batch(&[b"a", b"b"])).await;
    produce_ok(&mut c, "fv", 0, batch(&[b"c"])).await;
    let id = topic_id(&mut c, "fv").await;
    for v in range_of(ApiKey::Fetch) {
        let mut topic = FetchTopic::default().with_partitions(vec![FetchPartition::default()
            .with_partition(0)
            .with_fetch_offset(1)
            .with_partition_max_bytes(1 << 20)]);
        if v >= 13 {
            topic.topic_id = id;
        } else {
            topic.topic = tn("fv");
        }
        let req = FetchRequest::default()
            .with_max_wait_ms(0)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_topics(vec![topic]);
        let resp = c.call(&req, v).await;
        assert_eq!(resp.error_code, 0, "Fetch v{v} top-level error");
        assert_eq!(resp.responses.len(), 1, "Fetch v{v} topics");
        if v >= 13 {
            assert_eq!(resp.responses[0].topic_id, id, "Fetch v{v} topic id");
        } else {
            assert_eq!(resp.responses[0].topic.0.as_str(), "fv", "Fetch v{v} topic");
        }
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0, "Fetch v{v} partition error");
        assert_eq!(p.high_watermark, 3, "Fetch v{v} high watermark");
        if v >= 5 {
            assert_eq!(p.log_start_offset, 0, "Fetch v{v} log start");
        }
        assert_eq!(p.last_stable_offset, 3, "Fetch v{v} last stable offset");
        let recs = decode_records(&p.records);
        // The batch holding offset 1 is returned whole (offsets 0 and 1), then offset 2.
        let offsets: Vec<i64> = recs.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, vec![0, 1, 2], "Fetch v{v} offsets");
        assert_eq!(recs[1].value.as_deref(), Some(&b"b"[..]));
        assert_eq!(recs[2].value.as_deref(), Some(&b"c"[..]));
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "lv", 1).await;
    produce_ok(&mut c, "lv", 0, batch(&[b"a", b"b", b"c"])).await;
    for v in range_of(ApiKey::ListOffsets) {
        let req = |ts: i64| {
            ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![ListOffsetsTopic::default()
                .with_name(tn("lv"))
                .with_partitions(vec![ListOffsetsPartition::default().with_partition_index(0).with_timestamp(ts)])])
        };
        let latest = c.call(&req(-1), v).await;
        let p = &latest.topics[0].partitions[0];
        assert_eq!(p.error_code, 0, "ListOffsets v{v} latest error");
        assert_eq!(p.offset, 3, "ListOffsets v{v} latest");
        let earliest = c.call(&req(-2), v).await;
        let p = &earliest.topics[0].partitions[0];
        assert_eq!(p.error_code, 0, "ListOffsets v{v} earliest error");
        assert_eq!(p.offset, 0, "ListOffsets v{v} earliest");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topics_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for v in range_of(ApiKey::CreateTopics) {
        let name = format!("ct-v{v}");
        let req = CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![creatable(
            &name,
            2,
            &[("retention.ms", "1234567")],
        )]);
        let resp = c.call(&req, v).await;
        assert_eq!(resp.topics.len(), 1);
        let t = &resp.topics[0];
        assert_eq!(t.name.0.as_str(), name);
        assert_eq!(t.error_code, 0, "CreateTopics v{v}: {:?}", t.error_message);
        if v >= 5 {
            assert_eq!(t.num_partitions, 2, "CreateTopics v{v} num partitions");
            assert_eq!(t.replication_factor, 1, "CreateTopics v{v} replication factor");
            let cfgs = t.configs.as_ref().expect("v5+ returns configs");
            let r = cfgs.iter().find(|c| c.name.as_str() == "retention.ms").expect("retention.ms listed");
            assert_eq!(r.value.as_deref(), Some("1234567"));
        }
        if v >= 7 {
            assert!(!t.topic_id.is_nil(), "CreateTopics v{v} topic id");
            assert_eq!(t.topic_id, topic_id(&mut c, &name).await);
        }
        let md = metadata(&mut c, Some(&[name.as_str()]), false, METADATA_V).await;
        assert_eq!(md.topics[0].error_code, 0, "{name} exists");
        assert_eq!(md.topics[0].partitions.len(), 2);
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_topics_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for v in range_of(ApiKey::DeleteTopics) {
        let name = format!("dt-v{v}");
        create_topic(&mut c, &name, 1).await;
        let mut req = DeleteTopicsRequest::default().with_timeout_ms(5000);
        if v >= 6 {
            req.topics = vec![DeleteTopicState::default().with_name(Some(tn(&name)))];
        } else {
            req.topic_names = vec![tn(&name)];
        }
        let resp = c.call(&req, v).await;
        assert_eq!(resp.responses.len(), 1);
        let r = &resp.responses[0];
        assert_eq!(r.error_code, 0, "DeleteTopics v{v}: {:?}", r.error_message);
        assert_eq!(r.name.as_ref().map(|n| n.0.as_str()), Some(name.as_str()));
        let md = metadata(&mut c, Some(&[name.as_str()]), false, METADATA_V).await;
        assert_eq!(md.topics[0].error_code, 3, "{name} is gone after DeleteTopics v{v}");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for v in range_of(ApiKey::CreatePartitions) {
        let name = format!("cp-v{v}");
        create_topic(&mut c, &name, 1).await;
        let req =
            CreatePartitionsRequest::default().with_timeout_ms(5000).with_topics(vec![CreatePartitionsTopic::default(
            )
            .with_name(tn(&name))
            .with_count(2)
            .with_assignments(None)]);
        let resp = c.call(&req, v).await;
        assert_eq!(resp.results.len(), 1);
        let r = &resp.results[0];
        assert_eq!(r.name.0.as_str(), name);
        assert_eq!(r.error_code, 0, "CreatePartitions v{v}: {:?}", r.error_message);
        let md = metadata(&mut c, Some(&[name.as_str()]), false, METADATA_V).await;
        assert_eq!(md.topics[0].partitions.len(), 2, "CreatePartitions v{v} grew the topic");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_configs_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "dc", 1, &[("retention.ms", "3600000")]).await;
    for v in range_of(ApiKey::DescribeConfigs) {
        let req = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(sb("dc"))
                .with_configuration_keys(None),
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(sb("1"))
                .with_configuration_keys(None),
        ]);
        let resp = c.call(&req, v).await;
        assert_eq!(resp.results.len(), 2, "DescribeConfigs v{v} results");
        let t = &resp.results[0];
        assert_eq!(t.error_code, 0, "DescribeConfigs v{v} topic: {:?}", t.error_message);
        let r = t
            .configs
            .iter()
            .find(|c| c.name.as_str() == "retention.ms")
            .unwrap_or_else(|| panic!("DescribeConfigs v{v} lists retention.ms"));
        assert_eq!(r.value.as_deref(), Some("3600000"));
        assert_eq!(r.config_source, 1, "DescribeConfigs v{v} source");
        let br = &resp.results[1];
        assert_eq!(br.error_code, 0, "DescribeConfigs v{v} broker: {:?}", br.error_message);
        assert!(
            br.configs.iter().any(|c| c.name.as_str() == "message.max.bytes"),
            "DescribeConfigs v{v} broker lists message.max.bytes"
        );
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_producer_id_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let mut seen = std::collections::HashSet::new();
    for v in range_of(ApiKey::InitProducerId) {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let resp = c.call(&req, v).await;
        assert_eq!(resp.error_code, 0, "InitProducerId v{v}");
        assert!(resp.producer_id.0 >= 0, "InitProducerId v{v} pid");
        assert_eq!(resp.producer_epoch, 0, "InitProducerId v{v} epoch");
        assert!(seen.insert(resp.producer_id.0), "InitProducerId v{v} pid is fresh");
    }
    b.stop().await;
}

/// KIP-511: ApiVersions v3+ carries client_software_name/version, which must match
/// `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`; Kafka answers INVALID_REQUEST (42) otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_v3_validates_client_software() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let mut got = Vec::new();
    for (name, version) in [
        ("brook-tests", "1.0.0"), // valid
        ("bad name!", "1.0"),
        ("", "1.0"),
        ("client", "-1.0"),
        ("client", ""),
    ] {
        let req =
            ApiVersionsRequest::default().with_client_software_name(sb(name)).with_client_software_version(sb(version));
        let resp = c.call(&req, 3).await;
        got.push((name, version, resp.error_code));
    }
    assert_eq!(
        got,
        vec![
            ("brook-tests", "1.0.0", 0),
            ("bad name!", "1.0", 42),
            ("", "1.0", 42),
            ("client", "-1.0", 42),
            ("client", "", 42),
        ]
    );
    b.stop().await;
}

/// Metadata v0: an empty topic list means all topics; v1+: empty means none, null means all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_empty_and_null_topic_lists() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "t1", 1).await;
    create_topic(&mut c, "t2", 1).await;
    let names = |r: &MetadataResponse| {
        let mut v: Vec<String> = r.topics.iter().map(|t| t.name.as_ref().unwrap().0.to_string()).collect();
        v.sort();
        v
    };
    let v0 = c.call(&MetadataRequest::default().with_topics(Some(vec![])), 0).await;
    assert_eq!(names(&v0), vec!["t1", "t2"], "v0 empty list = all");
    for v in [1i16, 4, 9, 12] {
        let none = c
            .call(&MetadataRequest::default().with_topics(Some(vec![])).with_allow_auto_topic_creation(v < 4), v)
            .await;
        assert!(none.topics.is_empty(), "v{v} empty list = none");
        let all = c.call(&MetadataRequest::default().with_topics(None), v).await;
        assert_eq!(names(&all), vec!["t1", "t2"], "v{v} null = all");
    }
    b.stop().await;
}
