//! The admin APIs tools call beside topic admin: OffsetForLeaderEpoch, DescribeCluster,
//! DescribeLogDirs, ElectLeaders and DeleteRecords, at every version served, with Kafka's
//! error codes.

use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use kafka_protocol::messages::*;

use crate::common::*;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const INVALID_REQUEST: i16 = 42;
const POLICY_VIOLATION: i16 = 44;
const UNKNOWN_LEADER_EPOCH: i16 = 75;
const ELECTION_NOT_NEEDED: i16 = 84;
const MISMATCHED_ENDPOINT_TYPE: i16 = 114;
const UNSUPPORTED_ENDPOINT_TYPE: i16 = 115;

async fn epoch_end(c: &mut Client, topic: &str, epoch: i32, current: i32, version: i16) -> (i16, i32, i64) {
    let req = OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        OffsetForLeaderTopic::default().with_topic(tn(topic)).with_partitions(vec![OffsetForLeaderPartition::default(
        )
        .with_partition(0)
        .with_current_leader_epoch(current)
        .with_leader_epoch(epoch)]),
    ]);
    let resp = c.call(&req, version).await;
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.leader_epoch, p.end_offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_for_leader_epoch_answers_from_the_epoch_cache() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "ofle", 1).await;
    for v in [&b"a"[..], b"b", b"c"] {
        produce_ok(&mut c, "ofle", 0, batch(&[v])).await;
    }
    for version in 2..=4 {
        assert_eq!(
            epoch_end(&mut c, "ofle", 0, -1, version).await,
            (0, 0, 3),
            "v{version}: the latest epoch ends at the log end"
        );
        assert_eq!(epoch_end(&mut c, "ofle", 0, 0, version).await, (0, 0, 3), "v{version}: current epoch checked");
        assert_eq!(epoch_end(&mut c, "ofle", 7, -1, version).await, (0, -1, -1), "v{version}: unknown epoch");
        assert_eq!(epoch_end(&mut c, "ofle", -1, -1, version).await, (0, -1, -1), "v{version}: undefined epoch");
        assert_eq!(epoch_end(&mut c, "ofle", 0, 3, version).await.0, UNKNOWN_LEADER_EPOCH, "v{version}");
        assert_eq!(epoch_end(&mut c, "nope", 0, -1, version).await.0, UNKNOWN_TOPIC_OR_PARTITION, "v{version}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_cluster_reports_the_metadata_caches_view() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let md = metadata(&mut c, None, false, METADATA_V).await;
    for version in 0..=2 {
        let resp = c.call(&DescribeClusterRequest::default().with_endpoint_type(1), version).await;
        assert_eq!(resp.error_code, 0, "v{version}");
        assert_eq!(Some(resp.cluster_id.clone()), md.cluster_id, "v{version}");
        assert_eq!(resp.controller_id, md.controller_id);
        assert_eq!(resp.brokers.len(), 1);
        assert_eq!((resp.brokers[0].broker_id, resp.brokers[0].port), (md.brokers[0].node_id, md.brokers[0].port));
        assert_eq!(resp.cluster_authorized_operations, i32::MIN, "not asked for");
        let asked =
            DescribeClusterRequest::default().with_include_cluster_authorized_operations(true).with_endpoint_type(1);
        // No authorizer: every CLUSTER operation (CREATE, ALTER, DESCRIBE, CLUSTER_ACTION,
        // DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE), as Kafka reports it.
        assert_eq!(c.call(&asked, version).await.cluster_authorized_operations, 8096, "v{version}");
    }
    for version in 1..=2 {
        let controller = c.call(&DescribeClusterRequest::default().with_endpoint_type(2), version).await;
        assert_eq!(controller.error_code, MISMATCHED_ENDPOINT_TYPE, "v{version}");
        let unknown = c.call(&DescribeClusterRequest::default().with_endpoint_type(9), version).await;
        assert_eq!(unknown.error_code, UNSUPPORTED_ENDPOINT_TYPE, "v{version}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_log_dirs_lists_partition_sizes() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "dirs", 2).await;
    produce_ok(&mut c, "dirs", 1, batch(&[&[7u8; 500][..]])).await;
    for version in 1..=4 {
        let all = c.call(&DescribeLogDirsRequest::default().with_topics(None), version).await;
        assert_eq!(all.results.len(), 1, "one log dir");
        let dir = &all.results[0];
        assert_eq!(dir.error_code, 0);
        assert_eq!(
            std::path::Path::new(dir.log_dir.as_str()),
            std::fs::canonicalize(b.path()).unwrap().as_path(),
            "v{version}"
        );
        let t = dir.topics.iter().find(|t| t.name.0.as_str() == "dirs").expect("the topic is listed");
        let mut sizes: Vec<(i32, i64)> = t.partitions.iter().map(|p| (p.partition_index, p.partition_size)).collect();
        sizes.sort();
        assert_eq!(sizes[0], (0, 0), "v{version}: partition 0 is empty");
        assert!(sizes[1].0 == 1 && sizes[1].1 > 500, "v{version}: partition 1 holds the batch: {sizes:?}");
        if version >= 4 {
            assert!(dir.total_bytes > 0 && dir.usable_bytes > 0 && dir.usable_bytes <= dir.total_bytes);
        } else {
            assert_eq!((dir.total_bytes, dir.usable_bytes), (-1, -1));
        }
        let some = DescribeLogDirsRequest::default().with_topics(Some(vec![
            DescribableLogDirTopic::default().with_topic(tn("dirs")).with_partitions(vec![1, 9]),
            DescribableLogDirTopic::default().with_topic(tn("missing")).with_partitions(vec![0]),
        ]));
        let resp = c.call(&some, version).await;
        let topics = &resp.results[0].topics;
        assert_eq!(topics.len(), 1, "v{version}: partitions not hosted here are left out");
        assert_eq!(topics[0].partitions.iter().map(|p| p.partition_index).collect::<Vec<_>>(), vec![1]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elect_leaders_needs_no_election_on_one_node() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "elect", 2).await;
    for version in 0..=2 {
        let req = ElectLeadersRequest::default().with_election_type(0).with_timeout_ms(1000).with_topic_partitions(
            Some(vec![
                TopicPartitions::default().with_topic(tn("elect")).with_partitions(vec![0, 1, 5]),
                TopicPartitions::default().with_topic(tn("missing")).with_partitions(vec![0]),
            ]),
        );
        let resp = c.call(&req, version).await;
        assert_eq!(resp.error_code, 0);
        let codes: Vec<Vec<i16>> = resp
            .replica_election_results
            .iter()
            .map(|t| t.partition_result.iter().map(|p| p.error_code).collect())
            .collect();
        assert_eq!(
            codes,
            vec![
                vec![ELECTION_NOT_NEEDED, ELECTION_NOT_NEEDED, UNKNOWN_TOPIC_OR_PARTITION],
                vec![UNKNOWN_TOPIC_OR_PARTITION]
            ],
            "v{version}"
        );
        let all = c.call(&ElectLeadersRequest::default().with_topic_partitions(None), version).await;
        assert_eq!(all.error_code, 0);
        assert!(all.replica_election_results.is_empty(), "v{version}: nothing was elected");
    }
    let bad = ElectLeadersRequest::default().with_election_type(7).with_topic_partitions(None);
    assert_eq!(c.call(&bad, 2).await.error_code, INVALID_REQUEST);
}

async fn delete_records(c: &mut Client, topic: &str, offset: i64, version: i16) -> (i16, i64) {
    let req = DeleteRecordsRequest::default().with_timeout_ms(5000).with_topics(vec![DeleteRecordsTopic::default()
        .with_name(tn(topic))
        .with_partitions(vec![DeleteRecordsPartition::default().with_partition_index(0).with_offset(offset)])]);
    let resp = c.call(&req, version).await;
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.low_watermark)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_records_moves_the_log_start_durably() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    // Small segments: deleting records also deletes whole segments below the new start.
    create_topic_with(&mut c, "trim", 1, &[("segment.bytes", "300")]).await;
    for i in 0..10 {
        produce_ok(&mut c, "trim", 0, batch(&[format!("record-{i}").as_bytes()])).await;
    }
    let segments = |b: &TestBroker| {
        std::fs::read_dir(b.path().join("trim-0"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "log"))
            .count()
    };
    let before = segments(&b);
    assert_eq!(delete_records(&mut c, "trim", 4, 0).await, (0, 4));
    assert!(segments(&b) < before, "segments wholly below the new start are deleted");
    assert_eq!(delete_records(&mut c, "trim", 2, 1).await, (0, 4), "the log start never moves back");
    assert_eq!(list_offsets(&mut c, "trim", 0, -2).await.offset, 4, "earliest is the new start");
    assert_eq!(fetch(&mut c, "trim", 0, 3).await.error_code, OFFSET_OUT_OF_RANGE, "below the start");
    let rest = fetch_all(&mut c, "trim", 0, 4).await;
    assert_eq!(rest.first().map(|r| r.offset), Some(4));
    assert_eq!(delete_records(&mut c, "trim", 11, 2).await.0, OFFSET_OUT_OF_RANGE, "past the high watermark");
    assert_eq!(delete_records(&mut c, "trim", -5, 2).await.0, OFFSET_OUT_OF_RANGE);
    assert_eq!(delete_records(&mut c, "trim", 7, 2).await, (0, 7));

    // Survives a crash (the checkpoint is written before the answer) and a graceful restart.
    drop(c);
    b.crash_restart().await;
    let mut c = b.client().await;
    assert_eq!(list_offsets(&mut c, "trim", 0, -2).await.offset, 7, "after a crash");
    assert_eq!(fetch(&mut c, "trim", 0, 6).await.error_code, OFFSET_OUT_OF_RANGE);
    assert_eq!(delete_records(&mut c, "trim", -1, 2).await, (0, 10), "-1 means the high watermark");
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    assert_eq!(list_offsets(&mut c, "trim", 0, -2).await.offset, 10, "after a graceful restart");
    assert_eq!(list_offsets(&mut c, "trim", 0, -1).await.offset, 10);

    create_topic_with(&mut c, "kept", 1, &[("cleanup.policy", "compact")]).await;
    assert_eq!(delete_records(&mut c, "kept", 0, 2).await.0, POLICY_VIOLATION, "compacted topics keep their records");
    assert_eq!(delete_records(&mut c, "absent", 0, 2).await.0, UNKNOWN_TOPIC_OR_PARTITION);
    let _ = c.call(&FindCoordinatorRequest::default().with_key(sb("g")).with_key_type(0), 3).await;
    assert_eq!(delete_records(&mut c, "__consumer_offsets", 0, 2).await.0, INVALID_TOPIC_EXCEPTION);
}

/// KIP-430: with no authorizer, Metadata and DescribeGroups report every supported operation
/// when asked (topic: 3576, cluster: 8096, group: 3400, Kafka's bit fields), and the
/// "not asked" marker (i32::MIN) otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorized_operations_are_reported_when_asked() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "ops", 1).await;
    for version in 8..=12 {
        let req = MetadataRequest::default()
            .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default().with_name(Some(tn("ops")))]))
            .with_include_topic_authorized_operations(true)
            .with_include_cluster_authorized_operations(version <= 10);
        let resp = c.call(&req, version).await;
        assert_eq!(resp.topics[0].topic_authorized_operations, 3576, "v{version}");
        let cluster = if version <= 10 { 8096 } else { i32::MIN };
        assert_eq!(resp.cluster_authorized_operations, cluster, "v{version}");
        let plain = metadata(&mut c, Some(&["ops"]), false, version).await;
        assert_eq!(plain.topics[0].topic_authorized_operations, i32::MIN, "v{version}: not asked");
    }
    for version in 3..=5 {
        let req = DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(sb("g-ops"))])
            .with_include_authorized_operations(true);
        assert_eq!(c.call(&req, version).await.groups[0].authorized_operations, 3400, "v{version}");
        let plain = DescribeGroupsRequest::default().with_groups(vec![GroupId(sb("g-ops"))]);
        assert_eq!(c.call(&plain, version).await.groups[0].authorized_operations, i32::MIN, "v{version}");
    }
}

/// DescribeConfigs on the BROKER resource: each setting's source (set here, or the default),
/// its synonyms most specific first as Kafka lists them, and (v3+, when asked) its
/// documentation from the settings table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_configs_have_sources_synonyms_and_documentation() {
    let b = TestBroker::start_with(|c| c.num_partitions = 3).await;
    let mut c = b.client().await;
    let node = metadata(&mut c, None, false, METADATA_V).await.brokers[0].node_id.0;
    let describe = |version: i16| {
        let req = DescribeConfigsRequest::default()
            .with_include_synonyms(true)
            .with_include_documentation(version >= 3)
            .with_resources(vec![describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(sb(&node.to_string()))
                .with_configuration_keys(Some(vec![
                    sb("num.partitions"),
                    sb("message.max.bytes"),
                    sb("log.retention.ms"),
                ]))]);
        (req, version)
    };
    for version in 1..=4 {
        let (req, v) = describe(version);
        let resp = c.call(&req, v).await;
        let result = &resp.results[0];
        assert_eq!(result.error_code, 0, "v{version}");
        let get = |name: &str| {
            result.configs.iter().find(|r| r.name.as_str() == name).unwrap_or_else(|| panic!("{name}")).clone()
        };
        let syns = |name: &str| -> Vec<(String, String, i8)> {
            get(name)
                .synonyms
                .iter()
                .map(|s| (s.name.to_string(), s.value.as_ref().map(|v| v.to_string()).unwrap_or_default(), s.source))
                .collect()
        };
        let parts = get("num.partitions");
        assert_eq!((parts.value.as_deref(), parts.config_source), (Some("3"), 4), "v{version}: STATIC_BROKER_CONFIG");
        assert_eq!(get("message.max.bytes").config_source, 5, "v{version}: DEFAULT_CONFIG");
        assert_eq!(
            syns("num.partitions"),
            vec![("num.partitions".into(), "3".into(), 4), ("num.partitions".into(), "1".into(), 5)],
            "v{version}"
        );
        assert_eq!(syns("log.retention.ms")[0].0, "log.retention.hours", "v{version}");
        let doc = parts.documentation.map(|d| d.to_string());
        if version >= 3 {
            assert_eq!(doc.as_deref(), Some("partitions of auto-created topics"), "v{version}");
        } else {
            assert!(doc.unwrap_or_default().is_empty(), "v{version}: no documentation before v3");
        }
    }
}
