//! CreateTopics (key 19): partitions, replication factor (1 on this single node), manual
//! assignments, configs, validate-only; real Kafka error codes per topic.

use std::collections::HashMap;

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::error::ErrorCode;
use crate::topic::TopicError;

pub struct CreateTopics;

fn failed(t: &CreatableTopic, code: i16, message: String) -> CreatableTopicResult {
    CreatableTopicResult::default()
        .with_name(t.name.clone())
        .with_error_code(code)
        .with_error_message(Some(sb(message)))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
}

fn create_one(broker: &Broker, t: &CreatableTopic, validate_only: bool, version: i16) -> CreatableTopicResult {
    let mut partitions = t.num_partitions;
    if !t.assignments.is_empty() {
        if t.num_partitions != -1 || t.replication_factor != -1 {
            return failed(t, E::InvalidRequest.code(), "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into());
        }
        for (i, a) in t.assignments.iter().enumerate() {
            if a.partition_index != i as i32 {
                return failed(
                    t,
                    E::InvalidReplicaAssignment.code(),
                    "Partitions should be 0-based and consecutive".into(),
                );
            }
            // One live broker: each partition's one replica must be it.
            if a.broker_ids.len() != 1 || broker.metadata.node(a.broker_ids[0].0).is_none() {
                return failed(
                    t,
                    E::InvalidReplicaAssignment.code(),
                    format!(
                        "Replica assignment for partition {} names brokers other than the only broker {}",
                        i,
                        broker.metadata.this_node().id
                    ),
                );
            }
        }
        partitions = t.assignments.len() as i32;
    }
    let configs: Vec<(String, Option<String>)> =
        t.configs.iter().map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string()))).collect();
    match broker.topics.create(&t.name.0, partitions, t.replication_factor, &configs, validate_only) {
        Ok(topic) => {
            let mut r = CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_error_code(NONE)
                .with_num_partitions(if validate_only {
                    if partitions == -1 {
                        broker.config.num_partitions
                    } else {
                        partitions
                    }
                } else {
                    topic.partition_count()
                })
                .with_replication_factor(1);
            if version >= 5 {
                let described = topic.configs().describe(&broker.live.current(), broker.live.fixed());
                r.configs = Some(
                    described
                        .into_iter()
                        .map(|c| {
                            CreatableTopicConfigs::default()
                                .with_name(sb(c.name))
                                .with_value(Some(sb(c.value)))
                                .with_read_only(false)
                                .with_config_source(c.source as i8)
                                .with_is_sensitive(false)
                        })
                        .collect(),
                );
            }
            if version >= 7 {
                r.topic_id = topic.id;
            }
            r
        }
        Err(e @ TopicError::Storage(_)) => {
            tracing::error!(topic = %t.name.0, "create failed: {e}");
            failed(t, e.code(), e.to_string())
        }
        Err(e) => failed(t, e.code(), e.to_string()),
    }
}

impl Handler for CreateTopics {
    type Request = CreateTopicsRequest;
    type Response = CreateTopicsResponse;
    const KEY: ApiKey = ApiKey::CreateTopics;
    const MIN_VERSION: i16 = 2;
    const MAX_VERSION: i16 = 7;
    const BLOCKING: bool = true;

    fn handle(ctx: &RequestContext, req: CreateTopicsRequest) -> Reply<CreateTopicsResponse> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for t in &req.topics {
            *counts.entry(&t.name.0).or_default() += 1;
        }
        let create_on_cluster = ctx.cluster_authorized(AclOperation::Create);
        let topics = req
            .topics
            .iter()
            .map(|t| {
                if counts[&*t.name.0] > 1 {
                    return failed(
                        t,
                        E::InvalidRequest.code(),
                        format!("Create topics request contains multiple entries for the topic {}", &*t.name.0),
                    );
                }
                // Kafka's `createTopics` checks: CREATE on the cluster or the topic; its
                // configs are answered only to a principal that may DESCRIBE_CONFIGS it.
                let may_create =
                    create_on_cluster || ctx.authorized(AclOperation::Create, ResourceType::Topic, &t.name);
                if !may_create {
                    return failed(t, E::TopicAuthorizationFailed.code(), "Authorization failed.".into());
                }
                let mut r = create_one(&ctx.broker, t, req.validate_only, ctx.api_version);
                let describable = ctx.authorized(AclOperation::DescribeConfigs, ResourceType::Topic, &t.name);
                if r.error_code == NONE && ctx.api_version >= 5 && !describable {
                    r.topic_config_error_code = E::TopicAuthorizationFailed.code();
                    r.configs = Some(Vec::new());
                }
                r
            })
            .collect();
        Reply::Now(CreateTopicsResponse::default().with_topics(topics))
    }

    fn error_response(req: &CreateTopicsRequest, code: i16) -> CreateTopicsResponse {
        let topics = req.topics.iter().map(|t| failed(t, code, "unsupported version".into())).collect();
        CreateTopicsResponse::default().with_topics(topics)
    }

    fn errors(resp: &CreateTopicsResponse, seen: &mut ResponseErrors) {
        for t in &resp.topics {
            seen.topic(&t.name, t.error_code);
        }
    }
}
