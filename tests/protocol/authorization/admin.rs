//! Topic administration (CREATE, DELETE, ALTER on the topic), configs (DESCRIBE_CONFIGS and
//! ALTER_CONFIGS on the topic, the group or the cluster) and the cluster APIs (DESCRIBE or
//! ALTER on the cluster), DescribeProducers (READ on the topic).

use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::*;

use super::*;
use crate::common::*;

/// CreateTopics v7 of one topic (one partition): its result.
async fn create(c: &mut Client, name: &str) -> create_topics_response::CreatableTopicResult {
    let req = CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![creatable(name, 1, &[])]);
    c.call(&req, 7).await.topics.remove(0)
}

/// DeleteTopics v6 of one topic, by name or by id: its result.
async fn delete(c: &mut Client, topic: DeleteTopicState) -> DeletableTopicResult {
    let req = DeleteTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![topic]);
    c.call(&req, 6).await.responses.remove(0)
}

fn by_name(name: &str) -> DeleteTopicState {
    DeleteTopicState::default().with_name(Some(tn(name)))
}

fn by_id(id: uuid::Uuid) -> DeleteTopicState {
    DeleteTopicState::default().with_name(None).with_topic_id(id)
}

/// CreatePartitions v3 growing `topic` to two partitions: the error.
async fn grow(c: &mut Client, topic: &str) -> i16 {
    let req = CreatePartitionsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![CreatePartitionsTopic::default().with_name(tn(topic)).with_count(2).with_assignments(None)]);
    c.call(&req, 3).await.results[0].error_code
}

/// DeleteRecords v2 of partition 0 of `topic` below offset 1: (error, low watermark).
async fn delete_records(c: &mut Client, topic: &str) -> (i16, i64) {
    let req = DeleteRecordsRequest::default().with_timeout_ms(5000).with_topics(vec![DeleteRecordsTopic::default()
        .with_name(tn(topic))
        .with_partitions(vec![DeleteRecordsPartition::default().with_partition_index(0).with_offset(1)])]);
    let p = c.call(&req, 2).await.topics.remove(0).partitions.remove(0);
    (p.error_code, p.low_watermark)
}

/// The legacy AlterConfigs v2 of one resource, setting one config: the error.
async fn alter_legacy(c: &mut Client, resource_type: i8, name: &str, key: &str, value: &str) -> i16 {
    let req = AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(resource_type)
        .with_resource_name(sb(name))
        .with_configs(vec![AlterableConfig::default().with_name(sb(key)).with_value(Some(sb(value)))])]);
    c.call(&req, 2).await.responses[0].error_code
}

/// Kafka's `createTopics` (CREATE on the cluster or the topic, else TOPIC_AUTHORIZATION_FAILED
/// "Authorization failed."; the configs of a created topic answered only with DESCRIBE_CONFIGS
/// on it, else `topic_config_error_code` TOPIC_AUTHORIZATION_FAILED), `deleteTopics` (DELETE;
/// a topic asked by id that may not even be described is refused without its name),
/// `createPartitions` (ALTER) and `handleDeleteRecordsRequest` (DELETE).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_admin_needs_create_delete_and_alter() {
    let mut s = Setup::start().await;
    let r = create(&mut s.alice, "ta-new").await;
    assert_eq!(r.error_code, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(r.error_message.as_deref(), Some("Authorization failed."));
    assert!(!exists(&mut s.admin, "ta-new").await);
    s.grant(&[allow(TOPIC, "ta-new", CREATE)]).await;
    let r = create(&mut s.alice, "ta-new").await;
    assert_eq!((r.error_code, r.topic_config_error_code), (NONE, TOPIC_AUTHORIZATION_FAILED), "{:?}", r.error_message);
    assert!(r.configs.as_ref().is_none_or(|c| c.is_empty()), "no configs without DESCRIBE_CONFIGS");
    assert!(exists(&mut s.admin, "ta-new").await);
    s.grant(&[allow(CLUSTER, KAFKA_CLUSTER, CREATE), allow(TOPIC, "ta-described", DESCRIBE_CONFIGS)]).await;
    let r = create(&mut s.alice, "ta-described").await;
    assert_eq!((r.error_code, r.topic_config_error_code), (NONE, NONE), "CREATE on the cluster");
    assert!(r.configs.as_ref().is_some_and(|c| !c.is_empty()), "configs with DESCRIBE_CONFIGS");

    s.topics(&["ta-victim", "ta-grow", "ta-records"]).await;
    let id = topic_id(&mut s.admin, "ta-victim").await;
    let r = delete(&mut s.alice, by_name("ta-victim")).await;
    assert_eq!((name_of(&r.name), r.error_code), (Some("ta-victim"), TOPIC_AUTHORIZATION_FAILED));
    let r = delete(&mut s.alice, by_name("ta-ghost")).await;
    assert_eq!(r.error_code, TOPIC_AUTHORIZATION_FAILED, "existence not told");
    // ControllerApis.deleteTopics: with DESCRIBE, a missing topic is unknown before DELETE is asked.
    s.grant(&[allow(TOPIC, "ta-ghost", DESCRIBE)]).await;
    let r = delete(&mut s.alice, by_name("ta-ghost")).await;
    assert_eq!(r.error_code, UNKNOWN_TOPIC_OR_PARTITION, "DESCRIBE may know it does not exist");
    let r = delete(&mut s.alice, by_id(id)).await;
    assert_eq!((name_of(&r.name), r.topic_id, r.error_code), (None, id, TOPIC_AUTHORIZATION_FAILED), "name hidden");
    s.grant(&[allow(TOPIC, "ta-victim", DESCRIBE)]).await;
    let r = delete(&mut s.alice, by_id(id)).await;
    assert_eq!((name_of(&r.name), r.error_code), (Some("ta-victim"), TOPIC_AUTHORIZATION_FAILED), "DESCRIBE only");
    s.grant(&[allow(TOPIC, "ta-victim", DELETE)]).await;
    assert_eq!(delete(&mut s.alice, by_id(id)).await.error_code, NONE);
    assert!(!exists(&mut s.admin, "ta-victim").await);

    assert_eq!(grow(&mut s.alice, "ta-grow").await, TOPIC_AUTHORIZATION_FAILED);
    s.grant(&[allow(TOPIC, "ta-grow", ALTER)]).await;
    assert_eq!(grow(&mut s.alice, "ta-grow").await, NONE);

    produce_ok(&mut s.admin, "ta-records", 0, batch(&[b"a", b"b"])).await;
    assert_eq!(delete_records(&mut s.alice, "ta-records").await, (TOPIC_AUTHORIZATION_FAILED, -1));
    s.grant(&[allow(TOPIC, "ta-records", DELETE)]).await;
    assert_eq!(delete_records(&mut s.alice, "ta-records").await, (NONE, 1));
    s.stop().await;
}

/// Kafka's `ConfigHelper.handleDescribeConfigsRequest` and `authorizeAlterResource`
/// (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs): DESCRIBE_CONFIGS or ALTER_CONFIGS
/// on the topic (else TOPIC_AUTHORIZATION_FAILED), on the group (GROUP_AUTHORIZATION_FAILED) or,
/// for a broker, on the cluster (CLUSTER_AUTHORIZATION_FAILED), each with Kafka's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configs_need_describe_configs_and_alter_configs() {
    let mut s = Setup::start().await;
    s.topics(&["cf-t"]).await;
    let refusals = [
        (RESOURCE_TOPIC, "cf-t", TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed."),
        (RESOURCE_BROKER, "1", CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed."),
        (RESOURCE_GROUP, "cf-g", GROUP_AUTHORIZATION_FAILED, "Group authorization failed."),
    ];
    for (resource_type, name, code, message) in refusals {
        let r = describe_configs(&mut s.alice, resource_type, name).await;
        assert_eq!((r.error_code, r.error_message.as_deref()), (code, Some(message)), "DescribeConfigs {name}");
        assert!(r.configs.is_empty());
    }
    s.grant(&[
        allow(TOPIC, "cf-t", DESCRIBE_CONFIGS),
        allow(CLUSTER, KAFKA_CLUSTER, DESCRIBE_CONFIGS),
        allow(GROUP, "cf-g", DESCRIBE_CONFIGS),
    ])
    .await;
    for (resource_type, name, _, _) in refusals {
        let r = describe_configs(&mut s.alice, resource_type, name).await;
        assert_eq!(r.error_code, NONE, "DescribeConfigs {name} with DESCRIBE_CONFIGS: {:?}", r.error_message);
    }

    // DESCRIBE_CONFIGS does not let one alter.
    let changes = [
        (RESOURCE_TOPIC, "cf-t", "retention.ms", "3600000"),
        (RESOURCE_BROKER, "1", "log.retention.ms", "3600000"),
        (RESOURCE_GROUP, "cf-g", "consumer.session.timeout.ms", "50000"),
    ];
    for ((resource_type, name, key, value), (_, _, code, message)) in changes.into_iter().zip(refusals) {
        let set = [(key, OP_SET, Some(value))];
        let r = alter_incremental(&mut s.alice, resource_type, name, &set, false).await;
        assert_eq!(r, (code, Some(message.to_string())), "IncrementalAlterConfigs {name}");
        if resource_type != RESOURCE_GROUP {
            assert_eq!(alter_legacy(&mut s.alice, resource_type, name, key, value).await, code, "AlterConfigs {name}");
        }
    }
    s.grant(&[
        allow(TOPIC, "cf-t", ALTER_CONFIGS),
        allow(CLUSTER, KAFKA_CLUSTER, ALTER_CONFIGS),
        allow(GROUP, "cf-g", ALTER_CONFIGS),
    ])
    .await;
    for (resource_type, name, key, value) in changes {
        let set = [(key, OP_SET, Some(value))];
        assert_eq!(alter_incremental(&mut s.alice, resource_type, name, &set, false).await, (NONE, None), "{name}");
        if resource_type != RESOURCE_GROUP {
            assert_eq!(alter_legacy(&mut s.alice, resource_type, name, key, value).await, NONE, "AlterConfigs {name}");
        }
    }
    let r = describe_configs(&mut s.alice, RESOURCE_TOPIC, "cf-t").await;
    assert_eq!(config_row(&r, "retention.ms").map(|(v, _)| v), Some("3600000".into()));
    s.stop().await;
}

/// Kafka's `computeDescribeClusterResponse` (`cluster_authorized_operations` 0 without
/// DESCRIBE on the cluster), `handleDescribeLogDirsRequest` (DESCRIBE on the cluster, else
/// CLUSTER_AUTHORIZATION_FAILED and no log dirs), `handleElectLeaders` (ALTER on the cluster)
/// and `handleDescribeProducersRequest` (READ on the topic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_apis_need_cluster_acls() {
    let mut s = Setup::start().await;
    s.topics(&["cl-t"]).await;
    let describe_cluster = DescribeClusterRequest::default().with_include_cluster_authorized_operations(true);
    let r = s.alice.call(&describe_cluster, 1).await;
    assert_eq!((r.error_code, r.cluster_authorized_operations), (NONE, 0));
    assert!(!r.brokers.is_empty(), "DescribeCluster itself needs no ACL");
    let log_dirs = DescribeLogDirsRequest::default().with_topics(None);
    let r = s.alice.call(&log_dirs, 4).await;
    assert_eq!((r.error_code, r.results.len()), (CLUSTER_AUTHORIZATION_FAILED, 0));
    let elect = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_timeout_ms(1000)
        .with_topic_partitions(Some(vec![TopicPartitions::default().with_topic(tn("cl-t")).with_partitions(vec![0])]));
    let r = s.alice.call(&elect, 2).await;
    assert_eq!(r.error_code, CLUSTER_AUTHORIZATION_FAILED);
    assert_eq!(r.replica_election_results[0].partition_result[0].error_code, CLUSTER_AUTHORIZATION_FAILED);
    let producers = DescribeProducersRequest::default()
        .with_topics(vec![TopicRequest::default().with_name(tn("cl-t")).with_partition_indexes(vec![0])]);
    let p = s.alice.call(&producers, 0).await.topics.remove(0).partitions.remove(0);
    assert_eq!(
        (p.error_code, p.error_message.as_deref()),
        (TOPIC_AUTHORIZATION_FAILED, Some("Topic authorization failed."))
    );

    s.grant(&[allow(CLUSTER, KAFKA_CLUSTER, DESCRIBE), allow(TOPIC, "cl-t", READ)]).await;
    let r = s.alice.call(&describe_cluster, 1).await;
    assert_eq!(r.cluster_authorized_operations, bits(&[DESCRIBE]));
    let r = s.alice.call(&log_dirs, 4).await;
    assert_eq!(r.error_code, NONE);
    assert!(!r.results.is_empty());
    assert_eq!(s.alice.call(&elect, 2).await.error_code, CLUSTER_AUTHORIZATION_FAILED, "DESCRIBE is not ALTER");
    assert_eq!(s.alice.call(&producers, 0).await.topics[0].partitions[0].error_code, NONE);
    s.grant(&[allow(CLUSTER, KAFKA_CLUSTER, ALTER)]).await;
    let r = s.alice.call(&elect, 2).await;
    assert_eq!(r.error_code, NONE);
    let code = r.replica_election_results[0].partition_result[0].error_code;
    assert_ne!(code, CLUSTER_AUTHORIZATION_FAILED, "elected, or no election needed");
    s.stop().await;
}
