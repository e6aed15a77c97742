//! Metadata (key 3): brokers, cluster id, controller, topics with partitions, leaders and
//! topic ids; auto-creates requested topics when the broker and the request allow it.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{ApiKey, BrokerId, MetadataRequest, MetadataResponse, TopicName};
use uuid::Uuid;

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::error::ErrorCode;
use crate::topic::{validate_name, Topic, TopicError};

pub struct Metadata;

const TOPIC_AUTHORIZATION_FAILED: i16 = ResponseError::TopicAuthorizationFailed.code();

/// The metadata entry of an existing topic.
pub fn topic_entry(broker: &Broker, t: &Topic, version: i16) -> MetadataResponseTopic {
    let ids = |v: Vec<i32>| v.into_iter().map(BrokerId).collect::<Vec<_>>();
    let partitions = (0..t.partition_count())
        .filter_map(|p| {
            let s = broker.metadata.partition_state(t, p)?;
            Some(
                MetadataResponsePartition::default()
                    .with_error_code(NONE)
                    .with_partition_index(p)
                    .with_leader_id(BrokerId(s.leader))
                    .with_leader_epoch(s.leader_epoch)
                    .with_replica_nodes(ids(s.replicas))
                    .with_isr_nodes(ids(s.isr))
                    .with_offline_replicas(ids(s.offline_replicas)),
            )
        })
        .collect();
    let mut entry = MetadataResponseTopic::default()
        .with_error_code(NONE)
        .with_name(Some(TopicName(sb(t.name.to_string()))))
        .with_is_internal(t.internal)
        .with_partitions(partitions);
    if version >= 10 {
        entry.topic_id = t.id;
    }
    entry
}

fn error_entry(name: Option<String>, id: Uuid, code: i16, version: i16) -> MetadataResponseTopic {
    let mut e = MetadataResponseTopic::default().with_error_code(code).with_name(name.map(|n| TopicName(sb(n))));
    if version >= 10 {
        e.topic_id = id;
    }
    e
}

impl Handler for Metadata {
    type Request = MetadataRequest;
    type Response = MetadataResponse;
    const KEY: ApiKey = ApiKey::Metadata;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 13;

    fn handle(ctx: &RequestContext, req: MetadataRequest) -> Reply<MetadataResponse> {
        let broker = &ctx.broker;
        let v = ctx.api_version;
        let cfg = &broker.config;
        // v0: an empty list means "all topics"; v1+: null means all, empty means none.
        let all = req.topics.is_none() || (v == 0 && req.topics.as_ref().is_some_and(|t| t.is_empty()));
        let allow_auto = cfg.auto_create_topics_enable && (v < 4 || req.allow_auto_topic_creation);
        let mut topics = Vec::new();
        let describable = |name: &str| ctx.authorized(AclOperation::Describe, ResourceType::Topic, name);
        if all {
            // Topics the principal may not describe are left out, not even named.
            let listed = broker.topics.list();
            topics = listed.iter().filter(|t| describable(&t.name)).map(|t| topic_entry(broker, t, v)).collect();
        } else {
            let mut seen = std::collections::HashSet::new();
            for rt in req.topics.unwrap_or_default() {
                if !seen.insert((rt.name.clone(), rt.topic_id)) {
                    continue; // Kafka answers each requested topic once
                }
                topics.push(match rt.name {
                    // Refused before it is looked up: whether it exists is not told.
                    Some(name) if !describable(&name) => {
                        error_entry(Some(name.to_string()), Uuid::nil(), TOPIC_AUTHORIZATION_FAILED, v)
                    }
                    Some(name) => lookup_or_create(ctx, &name, allow_auto, v),
                    None => match broker.topics.get_by_id(&rt.topic_id) {
                        // Kafka: an id is not secret, the name is.
                        Some(t) if !describable(&t.name) => {
                            error_entry(None, rt.topic_id, TOPIC_AUTHORIZATION_FAILED, v)
                        }
                        Some(t) => topic_entry(broker, &t, v),
                        None => error_entry(None, rt.topic_id, ResponseError::UnknownTopicId.code(), v),
                    },
                });
            }
        }
        // KIP-430: the operations this principal may perform, when asked (v8+), on the topics
        // it may describe.
        if v >= 8 && req.include_topic_authorized_operations {
            let described = |t: &&mut MetadataResponseTopic| {
                t.error_code != TOPIC_AUTHORIZATION_FAILED && t.error_code != ResponseError::UnknownTopicId.code()
            };
            for t in topics.iter_mut().filter(described) {
                let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
                t.topic_authorized_operations = ctx.authorized_operations(ResourceType::Topic, &name);
            }
        }
        let brokers = broker
            .metadata
            .alive_nodes_on(&ctx.session.listener)
            .iter()
            .map(|n| {
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(n.id))
                    .with_host(sb(n.host.clone()))
                    .with_port(n.port)
                    .with_rack(n.rack.clone().map(sb))
            })
            .collect();
        let mut resp = MetadataResponse::default()
            .with_brokers(brokers)
            .with_cluster_id(Some(sb(broker.metadata.cluster_id().to_string())))
            .with_controller_id(BrokerId(broker.metadata.controller_id()))
            .with_topics(topics);
        // The cluster's operations went to DescribeCluster from v11 on.
        // Without DESCRIBE on the cluster, none (Kafka answers 0).
        if (8..=10).contains(&v) && req.include_cluster_authorized_operations {
            resp.cluster_authorized_operations = if ctx.cluster_authorized(AclOperation::Describe) {
                ctx.authorized_operations(ResourceType::Cluster, CLUSTER_NAME)
            } else {
                0
            };
        }
        Reply::Now(resp)
    }

    fn error_response(req: &MetadataRequest, code: i16) -> MetadataResponse {
        let topics = req
            .topics
            .iter()
            .flatten()
            .map(|t| MetadataResponseTopic::default().with_error_code(code).with_name(t.name.clone()))
            .collect();
        MetadataResponse::default().with_topics(topics)
    }

    fn errors(resp: &MetadataResponse, seen: &mut ResponseErrors) {
        for t in &resp.topics {
            let name = t.name.clone().unwrap_or_default();
            seen.topic_or_id(&name, t.topic_id, t.error_code);
            for p in &t.partitions {
                seen.topic_or_id(&name, t.topic_id, p.error_code);
            }
        }
    }
}

/// The entry of a topic the principal may describe; one that does not exist is created when
/// allowed, and when the principal may CREATE it (on the cluster, or the topic itself).
fn lookup_or_create(ctx: &RequestContext, name: &str, allow_auto: bool, v: i16) -> MetadataResponseTopic {
    let broker = &ctx.broker;
    if let Some(t) = broker.topics.get(name) {
        return topic_entry(broker, &t, v);
    }
    let may_create = || {
        ctx.cluster_authorized(AclOperation::Create) || ctx.authorized(AclOperation::Create, ResourceType::Topic, name)
    };
    if allow_auto && !may_create() {
        return error_entry(Some(name.to_string()), Uuid::nil(), TOPIC_AUTHORIZATION_FAILED, v);
    }
    if validate_name(name).is_err() {
        return error_entry(Some(name.to_string()), Uuid::nil(), ResponseError::InvalidTopicException.code(), v);
    }
    if !allow_auto {
        return error_entry(Some(name.to_string()), Uuid::nil(), ResponseError::UnknownTopicOrPartition.code(), v);
    }
    match broker.topics.create(name, -1, -1, &[], false) {
        Ok(t) => topic_entry(broker, &t, v),
        // Another request created it concurrently: answer with it.
        Err(TopicError::AlreadyExists(_)) => match broker.topics.get(name) {
            Some(t) => topic_entry(broker, &t, v),
            None => error_entry(Some(name.to_string()), Uuid::nil(), ResponseError::LeaderNotAvailable.code(), v),
        },
        Err(e) => {
            tracing::warn!(topic = name, "auto-create failed: {e}");
            error_entry(Some(name.to_string()), Uuid::nil(), e.code(), v)
        }
    }
}
