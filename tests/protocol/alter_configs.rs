//! AlterConfigs / IncrementalAlterConfigs: overrides change what DescribeConfigs reports and
//! what the log enforces, survive a restart, and bad input gets Kafka's error codes.

use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{AlterConfigsRequest, DescribeConfigsRequest};

use crate::common::*;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;

async fn incremental(
    c: &mut Client,
    resource_type: i8,
    name: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> i16 {
    alter_incremental(c, resource_type, name, ops, validate_only).await.0
}

async fn described(c: &mut Client, topic: &str, key: &str) -> (String, i8) {
    let req = DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
        .with_resource_type(TOPIC)
        .with_resource_name(sb(topic))
        .with_configuration_keys(Some(vec![sb(key)]))]);
    let r = c.call(&req, 4).await;
    let row = &r.results[0].configs[0];
    (row.value.as_deref().unwrap_or("").to_string(), row.config_source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_set_delete_append_subtract() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "cfg", 1).await;
    assert_eq!(incremental(&mut c, TOPIC, "cfg", &[("retention.ms", 0, Some("60000"))], false).await, 0);
    assert_eq!(described(&mut c, "cfg", "retention.ms").await, ("60000".into(), 1));
    assert_eq!(incremental(&mut c, TOPIC, "cfg", &[("cleanup.policy", 2, Some("compact"))], false).await, 0);
    assert_eq!(described(&mut c, "cfg", "cleanup.policy").await.0, "delete,compact");
    assert_eq!(incremental(&mut c, TOPIC, "cfg", &[("cleanup.policy", 3, Some("delete"))], false).await, 0);
    assert_eq!(described(&mut c, "cfg", "cleanup.policy").await.0, "compact");
    // validate_only changes nothing.
    assert_eq!(incremental(&mut c, TOPIC, "cfg", &[("retention.ms", 0, Some("1"))], true).await, 0);
    assert_eq!(described(&mut c, "cfg", "retention.ms").await.0, "60000");
    // Survives a restart.
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    assert_eq!(described(&mut c, "cfg", "retention.ms").await, ("60000".into(), 1));
    assert_eq!(incremental(&mut c, TOPIC, "cfg", &[("retention.ms", 1, None)], false).await, 0);
    assert_eq!(described(&mut c, "cfg", "retention.ms").await, ("604800000".into(), 5));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_use_kafka_codes() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "cfg2", 1).await;
    assert_eq!(incremental(&mut c, TOPIC, "nope", &[("retention.ms", 0, Some("1"))], false).await, 3);
    assert_eq!(incremental(&mut c, TOPIC, "cfg2", &[("no.such.config", 0, Some("1"))], false).await, 40);
    assert_eq!(incremental(&mut c, TOPIC, "cfg2", &[("segment.bytes", 0, Some("abc"))], false).await, 40);
    assert_eq!(incremental(&mut c, BROKER, "1", &[("num.partitions", 0, Some("3"))], false).await, 42);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_message_bytes_takes_effect_immediately() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "cfg3", 1).await;
    let big = batch(&[&[7u8; 3000]]);
    assert_eq!(produce(&mut c, "cfg3", 0, big.clone()).await.error_code, 0);
    let req = AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(TOPIC)
        .with_resource_name(sb("cfg3"))
        .with_configs(vec![AlterableConfig::default()
            .with_name(sb("max.message.bytes"))
            .with_value(Some(sb("1000")))])]);
    assert_eq!(c.call(&req, 2).await.responses[0].error_code, 0);
    assert_eq!(produce(&mut c, "cfg3", 0, big).await.error_code, 10, "MESSAGE_TOO_LARGE after the change");
    b.stop().await;
}
