//! Dynamic broker configs (KIP-226) and group configs (KIP-848) through the wire:
//! IncrementalAlterConfigs on the BROKER resource (this broker's id, or the empty name for
//! every broker's default) changes what the broker enforces at once, DescribeConfigs reports
//! each value's source and synonyms as Kafka does, and both survive a restart; GROUP
//! resources hold a group's own configs within the broker's bounds. Bad input gets Kafka's
//! codes and messages.

use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::incremental_alter_configs_request as inc;
use kafka_protocol::messages::{AlterConfigsRequest, IncrementalAlterConfigsRequest};

use crate::common::*;

const DYNAMIC_TOPIC: i8 = 1;
const DYNAMIC_BROKER: i8 = 2;
const DYNAMIC_DEFAULT_BROKER: i8 = 3;
const DEFAULT: i8 = 5;
const GROUP: i8 = 8;
const INVALID_REQUEST: i16 = 42;
const INVALID_CONFIG: i16 = 40;
const MESSAGE_TOO_LARGE: i16 = 10;

/// One record with a `size`-byte value.
fn record_of(size: usize) -> bytes::Bytes {
    batch(&[&vec![b'x'; size][..]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_configs_change_live_are_described_by_level_and_survive_a_restart() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "dyn", 1).await;
    let topic = describe_configs(&mut c, RESOURCE_TOPIC, "dyn").await;
    assert_eq!(config_row(&topic, "retention.ms"), Some(("604800000".into(), DEFAULT)));

    // The cluster-wide default reaches a topic without its own value.
    let set = [("log.retention.ms", OP_SET, Some("3600000")), ("log.cleanup.policy", OP_SET, Some("compact"))];
    assert_eq!(alter_incremental(&mut c, RESOURCE_BROKER, "", &set, false).await, (0, None));
    let topic = describe_configs(&mut c, RESOURCE_TOPIC, "dyn").await;
    assert_eq!(config_row(&topic, "retention.ms"), Some(("3600000".into(), DYNAMIC_DEFAULT_BROKER)));
    assert_eq!(config_row(&topic, "cleanup.policy"), Some(("compact".into(), DYNAMIC_DEFAULT_BROKER)));
    let row = topic.configs.iter().find(|r| r.name.as_str() == "retention.ms").unwrap();
    let synonyms: Vec<(String, i8)> = row.synonyms.iter().map(|s| (s.name.to_string(), s.source)).collect();
    assert_eq!(
        synonyms,
        [("log.retention.ms".to_string(), DYNAMIC_DEFAULT_BROKER), ("log.retention.ms".into(), DEFAULT)]
    );
    assert!(row.documentation.as_deref().is_some_and(|d| d.contains("segment")), "topic configs are documented");

    // The empty broker name lists only the cluster-wide dynamic configs.
    let defaults = describe_configs(&mut c, RESOURCE_BROKER, "").await;
    assert_eq!(defaults.error_code, 0);
    let mut names: Vec<&str> = defaults.configs.iter().map(|r| r.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["log.cleanup.policy", "log.retention.ms"]);
    assert!(defaults.configs.iter().all(|r| r.config_source == DYNAMIC_DEFAULT_BROKER && !r.read_only));

    // This broker's own value wins, and the log enforces it at once.
    assert_eq!(produce(&mut c, "dyn", 0, record_of(3000)).await.error_code, 0);
    let mine = [("message.max.bytes", OP_SET, Some("2000"))];
    assert_eq!(alter_incremental(&mut c, RESOURCE_BROKER, "1", &mine, false).await, (0, None));
    assert_eq!(produce(&mut c, "dyn", 0, record_of(3000)).await.error_code, MESSAGE_TOO_LARGE);
    let broker = describe_configs(&mut c, RESOURCE_BROKER, "1").await;
    assert_eq!(config_row(&broker, "message.max.bytes"), Some(("2000".into(), DYNAMIC_BROKER)));
    assert_eq!(config_row(&broker, "log.cleanup.policy"), Some(("compact".into(), DYNAMIC_DEFAULT_BROKER)));
    let read_only = |name: &str| broker.configs.iter().find(|r| r.name.as_str() == name).map(|r| r.read_only);
    assert_eq!((read_only("message.max.bytes"), read_only("log.dirs")), (Some(false), Some(true)));

    // Both levels survive a restart.
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    assert_eq!(produce(&mut c, "dyn", 0, record_of(3000)).await.error_code, MESSAGE_TOO_LARGE);
    let topic = describe_configs(&mut c, RESOURCE_TOPIC, "dyn").await;
    assert_eq!(config_row(&topic, "retention.ms"), Some(("3600000".into(), DYNAMIC_DEFAULT_BROKER)));
    assert_eq!(config_row(&topic, "max.message.bytes"), Some(("2000".into(), DYNAMIC_BROKER)));

    // A topic's own value still wins over both; deleting the broker's brings the default back.
    let own = [("max.message.bytes", OP_SET, Some("5000"))];
    assert_eq!(alter_incremental(&mut c, RESOURCE_TOPIC, "dyn", &own, false).await, (0, None));
    assert_eq!(produce(&mut c, "dyn", 0, record_of(3000)).await.error_code, 0);
    let topic = describe_configs(&mut c, RESOURCE_TOPIC, "dyn").await;
    assert_eq!(config_row(&topic, "max.message.bytes"), Some(("5000".into(), DYNAMIC_TOPIC)));
    create_topic(&mut c, "dyn2", 1).await;
    assert_eq!(produce(&mut c, "dyn2", 0, record_of(3000)).await.error_code, MESSAGE_TOO_LARGE);
    let unset = [("message.max.bytes", OP_DELETE, None)];
    assert_eq!(alter_incremental(&mut c, RESOURCE_BROKER, "1", &unset, false).await, (0, None));
    assert_eq!(produce(&mut c, "dyn2", 0, record_of(3000)).await.error_code, 0);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_config_changes_kafka_refuses_are_refused() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let bad = |code: i16, message: &str| (code, Some(message.to_string()));
    assert_eq!(
        alter_incremental(&mut c, RESOURCE_BROKER, "1", &[("log.dirs", OP_SET, Some("/x"))], false).await,
        bad(INVALID_REQUEST, "Cannot update these configs dynamically: Set(log.dirs)")
    );
    assert_eq!(
        alter_incremental(&mut c, RESOURCE_BROKER, "2", &[("message.max.bytes", OP_SET, Some("9"))], false).await,
        bad(INVALID_REQUEST, "Unexpected broker id, expected 1, but received 2")
    );
    assert_eq!(
        alter_incremental(&mut c, RESOURCE_BROKER, "one", &[("message.max.bytes", OP_SET, Some("9"))], false).await,
        bad(INVALID_REQUEST, "Node id must be an integer, but it is: one")
    );
    let code = |r: (i16, Option<String>)| r.0;
    assert_eq!(
        code(
            alter_incremental(&mut c, RESOURCE_BROKER, "", &[("log.segment.bytes", OP_SET, Some("abc"))], false).await
        ),
        INVALID_REQUEST
    );
    let (code_threads, msg) =
        alter_incremental(&mut c, RESOURCE_BROKER, "", &[("log.cleaner.threads", OP_SET, Some("5"))], false).await;
    assert_eq!(code_threads, INVALID_REQUEST);
    assert!(msg.unwrap().contains("more than double"));
    let twice = [("message.max.bytes", OP_SET, Some("9")), ("message.max.bytes", OP_SET, Some("10"))];
    assert_eq!(
        alter_incremental(&mut c, RESOURCE_BROKER, "", &twice, false).await,
        bad(INVALID_REQUEST, "Error due to duplicate config keys")
    );
    assert_eq!(
        alter_incremental(&mut c, RESOURCE_BROKER, "", &[("message.max.bytes", OP_SET, None)], false).await,
        bad(INVALID_REQUEST, "Null value not supported for : message.max.bytes")
    );
    assert_eq!(
        code(
            alter_incremental(&mut c, RESOURCE_BROKER, "", &[("message.max.bytes", OP_APPEND, Some("1"))], false).await
        ),
        INVALID_CONFIG
    );
    // validate_only checks and changes nothing; a name Brook does not know is a custom
    // config, kept as Kafka keeps it.
    let valid = [("message.max.bytes", OP_SET, Some("2000"))];
    assert_eq!(alter_incremental(&mut c, RESOURCE_BROKER, "", &valid, true).await, (0, None));
    create_topic(&mut c, "big", 1).await;
    assert_eq!(produce(&mut c, "big", 0, record_of(3000)).await.error_code, 0);
    let custom = [("my.custom.setting", OP_SET, Some("x"))];
    assert_eq!(alter_incremental(&mut c, RESOURCE_BROKER, "", &custom, false).await, (0, None));
    let defaults = describe_configs(&mut c, RESOURCE_BROKER, "").await;
    assert_eq!(config_row(&defaults, "my.custom.setting"), Some(("x".into(), DYNAMIC_DEFAULT_BROKER)));
    // DescribeConfigs of another broker id.
    let other = describe_configs(&mut c, RESOURCE_BROKER, "7").await;
    assert_eq!(other.error_code, INVALID_REQUEST);

    // The same resource twice in one request: both INVALID_REQUEST.
    let resource = || {
        inc::AlterConfigsResource::default()
            .with_resource_type(RESOURCE_BROKER)
            .with_resource_name(sb(""))
            .with_configs(vec![inc::AlterableConfig::default()
                .with_name(sb("log.roll.ms"))
                .with_value(Some(sb("1000")))])
    };
    let r = c.call(&IncrementalAlterConfigsRequest::default().with_resources(vec![resource(), resource()]), 1).await;
    assert!(r.responses.iter().all(|x| x.error_code == INVALID_REQUEST), "{r:?}");

    // AlterConfigs replaces the whole scope: the custom config goes, the new one stays.
    let req = AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(RESOURCE_BROKER)
        .with_resource_name(sb(""))
        .with_configs(vec![AlterableConfig::default().with_name(sb("log.roll.ms")).with_value(Some(sb("7200000")))])]);
    assert_eq!(c.call(&req, 2).await.responses[0].error_code, 0);
    let defaults = describe_configs(&mut c, RESOURCE_BROKER, "").await;
    let names: Vec<&str> = defaults.configs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["log.roll.ms"]);
    b.stop().await;
}

/// The cleaner threads restart with a dynamic `log.cleaner.threads` and go on cleaning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleaner_threads_follow_a_dynamic_config() {
    let b = TestBroker::start_with(|c| c.log_cleaner_backoff = std::time::Duration::from_millis(20)).await;
    let logs = b.handle.as_ref().unwrap().broker.logs.clone();
    assert_eq!(logs.cleaner_threads_running(), 1);
    let mut c = b.client().await;
    let two = [("log.cleaner.threads", OP_SET, Some("2"))];
    assert_eq!(alter_incremental(&mut c, RESOURCE_BROKER, "1", &two, false).await, (0, None));
    assert_eq!(logs.cleaner_threads_running(), 2);
    assert_eq!(logs.cleaner_settings().threads, 2);
    create_topic_with(
        &mut c,
        "cmp",
        1,
        &[("cleanup.policy", "compact"), ("segment.bytes", "1024"), ("min.cleanable.dirty.ratio", "0.01")],
    )
    .await;
    for round in 0..20 {
        let value = format!("r{round}");
        assert_eq!(produce(&mut c, "cmp", 0, keyed_batch(b"k", value.as_bytes())).await.error_code, 0);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let p = fetch(&mut c, "cmp", 0, 0).await;
        let n = decode_records(&p.records).len();
        if n < 20 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no pass with the new threads within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    b.stop().await;
}

/// One record keyed `key`.
fn keyed_batch(key: &[u8], value: &[u8]) -> bytes::Bytes {
    use kafka_protocol::indexmap::IndexMap;
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now_ms(),
        key: Some(bytes::Bytes::copy_from_slice(key)),
        value: Some(bytes::Bytes::copy_from_slice(value)),
        headers: IndexMap::new(),
    };
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [record].iter(),
        &RecordEncodeOptions { version: 2, compression: Compression::None },
    )
    .unwrap();
    buf.freeze()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_configs_hold_within_the_broker_bounds_and_survive_a_restart() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    // Any group name has configs, even before the group exists: the broker's defaults.
    let g = describe_configs(&mut c, RESOURCE_GROUP, "orders").await;
    assert_eq!(g.error_code, 0);
    assert_eq!(config_row(&g, "consumer.session.timeout.ms"), Some(("45000".into(), DEFAULT)));
    assert_eq!(config_row(&g, "consumer.heartbeat.interval.ms"), Some(("5000".into(), DEFAULT)));
    assert_eq!(config_row(&g, "share.auto.offset.reset"), Some(("latest".into(), DEFAULT)));
    assert_eq!(config_row(&g, "share.record.lock.duration.ms"), Some(("30000".into(), DEFAULT)));
    assert!(g.configs.iter().all(|r| !r.read_only && r.documentation.is_some()));

    let set = [
        ("consumer.session.timeout.ms", OP_SET, Some("50000")),
        ("share.auto.offset.reset", OP_SET, Some("by_duration:PT1H")),
    ];
    assert_eq!(alter_incremental(&mut c, RESOURCE_GROUP, "orders", &set, false).await, (0, None));
    let g = describe_configs(&mut c, RESOURCE_GROUP, "orders").await;
    assert_eq!(config_row(&g, "consumer.session.timeout.ms"), Some(("50000".into(), GROUP)));
    assert_eq!(config_row(&g, "share.auto.offset.reset"), Some(("by_duration:PT1H".into(), GROUP)));
    let other = describe_configs(&mut c, RESOURCE_GROUP, "payments").await;
    assert_eq!(config_row(&other, "consumer.session.timeout.ms"), Some(("45000".into(), DEFAULT)));

    // Kafka's checks and messages.
    let refused = |code: i16, message: &str| (code, Some(message.to_string()));
    assert_eq!(
        alter_incremental(
            &mut c,
            RESOURCE_GROUP,
            "orders",
            &[("consumer.session.timeout.ms", OP_SET, Some("1000"))],
            false
        )
        .await,
        refused(
            INVALID_CONFIG,
            "consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms"
        )
    );
    assert_eq!(
        alter_incremental(&mut c, RESOURCE_GROUP, "orders", &[("nope", OP_SET, Some("1"))], false).await,
        refused(INVALID_CONFIG, "Unknown group config name: nope")
    );
    assert_eq!(
        alter_incremental(&mut c, RESOURCE_GROUP, "", &[("consumer.session.timeout.ms", OP_SET, Some("50000"))], false)
            .await,
        refused(INVALID_REQUEST, "Default group resources are not allowed.")
    );
    let bad_reset = [("share.auto.offset.reset", OP_SET, Some("sometime"))];
    assert_eq!(alter_incremental(&mut c, RESOURCE_GROUP, "orders", &bad_reset, false).await.0, INVALID_CONFIG);
    assert_eq!(describe_configs(&mut c, RESOURCE_GROUP, "").await.error_code, INVALID_REQUEST);

    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    let g = describe_configs(&mut c, RESOURCE_GROUP, "orders").await;
    assert_eq!(config_row(&g, "consumer.session.timeout.ms"), Some(("50000".into(), GROUP)));
    let unset = [("consumer.session.timeout.ms", OP_DELETE, None)];
    assert_eq!(alter_incremental(&mut c, RESOURCE_GROUP, "orders", &unset, false).await, (0, None));
    let g = describe_configs(&mut c, RESOURCE_GROUP, "orders").await;
    assert_eq!(config_row(&g, "consumer.session.timeout.ms"), Some(("45000".into(), DEFAULT)));
    b.stop().await;
}

/// `offsets.topic.segment.bytes` sets the segment size `__consumer_offsets` is created with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offsets_topic_is_created_with_offsets_topic_segment_bytes() {
    let b = TestBroker::start_with(|c| c.offsets_topic_segment_bytes = 1 << 20).await;
    let mut c = b.client().await;
    create_topic(&mut c, "src", 1).await;
    crate::common::groups::commit_standalone(&mut c, "g", &[("src", 0, 1, None)]).await;
    let d = describe_configs(&mut c, RESOURCE_TOPIC, "__consumer_offsets").await;
    assert_eq!(config_row(&d, "segment.bytes"), Some(("1048576".into(), DYNAMIC_TOPIC)));
    assert_eq!(config_row(&d, "cleanup.policy"), Some(("compact".into(), DYNAMIC_TOPIC)));
    b.stop().await;
}
