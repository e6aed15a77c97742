//! ConsumerGroupHeartbeat (key 68, v0-1): the consumer group protocol's one request (KIP-848)
//! to join, heartbeat and leave. v0 as the Java 3.9 client sends it (the coordinator makes
//! member ids), v1 as librdkafka 2.12+ and Kafka 4.x clients do (client-made ids, KIP-1082;
//! server-side regular expressions). Answered once the group's records are durable.

use std::time::Duration;

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions as OwnedPartitions;
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ApiKey, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};

use super::{sb, when_stored, Handler, Reply, RequestContext, ResponseErrors, Subject};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::configs::{CONSUMER_HEARTBEAT_INTERVAL, CONSUMER_SESSION_TIMEOUT};
use crate::group::consumer::{self, heartbeat, Heartbeat, HeartbeatAnswer, HeartbeatEnv, Refusal};

pub struct ConsumerGroupHeartbeat;

fn owned(parts: &[OwnedPartitions]) -> consumer::Assignment {
    let mut a = consumer::Assignment::new();
    for tp in parts {
        if !tp.partitions.is_empty() {
            a.entry(tp.topic_id).or_default().extend(tp.partitions.iter().copied());
        }
    }
    a
}

fn refused(r: Refusal) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse::default().with_error_code(r.error.code()).with_error_message(r.message.map(sb))
}

fn answered(a: HeartbeatAnswer, interval_ms: i32) -> ConsumerGroupHeartbeatResponse {
    let leaving = a.member_epoch < 0;
    let assignment = a.assignment.map(|parts| {
        let topic_partitions = parts
            .into_iter()
            .map(|(t, ps)| TopicPartitions::default().with_topic_id(t).with_partitions(ps.into_iter().collect()))
            .collect();
        Assignment::default().with_topic_partitions(topic_partitions)
    });
    ConsumerGroupHeartbeatResponse::default()
        .with_member_id(Some(sb(a.member_id)))
        .with_member_epoch(a.member_epoch)
        .with_heartbeat_interval_ms(if leaving { 0 } else { interval_ms })
        .with_assignment(assignment)
}

impl Handler for ConsumerGroupHeartbeat {
    type Request = ConsumerGroupHeartbeatRequest;
    type Response = ConsumerGroupHeartbeatResponse;
    const KEY: ApiKey = ApiKey::ConsumerGroupHeartbeat;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;

    /// READ on the group (Kafka's `handleConsumerGroupHeartbeat`); the subscribed topics'
    /// DESCRIBE is checked in `handle`.
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        ctx.require(AclOperation::Read, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: ConsumerGroupHeartbeatRequest) -> Reply<ConsumerGroupHeartbeatResponse> {
        let broker = &ctx.broker;
        let group_id = req.group_id.0.to_string();
        let hb = Heartbeat {
            version: ctx.api_version,
            member_id: req.member_id.to_string(),
            member_epoch: req.member_epoch,
            instance_id: req.instance_id.as_ref().map(|s| s.to_string()),
            rack_id: req.rack_id.as_ref().map(|s| s.to_string()),
            rebalance_timeout_ms: req.rebalance_timeout_ms,
            subscribed_topic_names: req
                .subscribed_topic_names
                .as_ref()
                .map(|v| v.iter().map(|t| t.0.to_string()).collect()),
            // v0 has no such field: the client evaluates its pattern itself.
            subscribed_topic_regex: req.subscribed_topic_regex.as_ref().map(|s| s.to_string()),
            server_assignor: req.server_assignor.as_ref().map(|s| s.to_string()),
            owned: req.topic_partitions.as_deref().map(owned),
            client_id: ctx.client_id.clone().unwrap_or_default(),
            client_host: ctx.client_host().to_string(),
        };
        let coord = &broker.groups;
        // Kafka's `handleConsumerGroupHeartbeat`, before the coordinator validates the request:
        // every subscribed topic name needs DESCRIBE; a regular expression resolves only to
        // topics the member may describe.
        let describable = |t: &str| ctx.authorized(AclOperation::Describe, ResourceType::Topic, t);
        if hb.subscribed_topic_names.as_ref().is_some_and(|names| names.iter().any(|t| !describable(t))) {
            return Reply::Now(Self::error_response(&req, E::TopicAuthorizationFailed.code()));
        }
        if let Err(r) = heartbeat::validate(&hb, &group_id, &coord.config.consumer_assignors) {
            return Reply::Now(refused(r));
        }
        let defaults = broker.live.current().group_defaults;
        let configs = broker.live.group_configs(&group_id);
        let session_ms = configs.int(CONSUMER_SESSION_TIMEOUT, &defaults);
        let interval_ms = configs.int(CONSUMER_HEARTBEAT_INTERVAL, &defaults);
        let env = HeartbeatEnv {
            describable: &describable,
            ..coord.heartbeat_env(Duration::from_millis(session_ms.max(1) as u64))
        };
        match coord.consumer_heartbeat(&group_id, &hb, &env) {
            Err(r) => Reply::Now(refused(r)),
            Ok((answer, None)) => Reply::Now(answered(answer, interval_ms)),
            Ok((answer, Some(part))) => {
                when_stored(coord.wait_stored(vec![part]), answered(answer, interval_ms), |e| {
                    refused(Refusal { error: e, message: None })
                })
            }
        }
    }

    fn error_response(_req: &ConsumerGroupHeartbeatRequest, code: i16) -> ConsumerGroupHeartbeatResponse {
        ConsumerGroupHeartbeatResponse::default().with_error_code(code)
    }

    fn subject(req: &ConsumerGroupHeartbeatRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &ConsumerGroupHeartbeatResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
