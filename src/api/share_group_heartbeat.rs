//! ShareGroupHeartbeat (key 76, v1): a share consumer joins (epoch 0), heartbeats and leaves
//! (epoch -1) its share group and learns the partitions it fetches from (KIP-932). Checked in
//! Kafka's order with Kafka's messages; answered once the group's records are durable.

use std::time::Duration;

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::share_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ApiKey, ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};

use super::{sb, when_stored, Handler, Reply, RequestContext, ResponseErrors, Subject};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::configs::{SHARE_HEARTBEAT_INTERVAL, SHARE_SESSION_TIMEOUT};
use crate::group::consumer::Refusal;
use crate::group::GroupError;
use crate::share::group::{ShareAnswer, ShareHeartbeat, LEAVE_EPOCH, MAX_MEMBER_ID_LEN};

pub struct ShareGroupHeartbeat;

fn refused(r: Refusal) -> ShareGroupHeartbeatResponse {
    ShareGroupHeartbeatResponse::default().with_error_code(r.error.code()).with_error_message(r.message.map(sb))
}

fn invalid(message: &str) -> ShareGroupHeartbeatResponse {
    refused(Refusal::new(GroupError::InvalidRequest, message))
}

fn answered(a: ShareAnswer, interval_ms: i32) -> ShareGroupHeartbeatResponse {
    let leaving = a.member_epoch == LEAVE_EPOCH;
    let assignment = a.assignment.map(|parts| {
        let topic_partitions = parts
            .into_iter()
            .map(|(t, ps)| TopicPartitions::default().with_topic_id(t).with_partitions(ps.into_iter().collect()))
            .collect();
        Assignment::default().with_topic_partitions(topic_partitions)
    });
    ShareGroupHeartbeatResponse::default()
        .with_member_id(Some(sb(a.member_id)))
        .with_member_epoch(a.member_epoch)
        .with_heartbeat_interval_ms(if leaving { 0 } else { interval_ms })
        .with_assignment(assignment)
}

/// Kafka's throwIfShareGroupHeartbeatRequestIsInvalid, in its order.
fn validate(req: &ShareGroupHeartbeatRequest) -> Result<(), &'static str> {
    let blank = |s: &str| s.trim().is_empty();
    if req.member_id.is_empty() || req.member_id.len() > MAX_MEMBER_ID_LEN {
        return Err("Invalid member id in the request.");
    }
    if blank(&req.member_id) {
        return Err("MemberId can't be empty.");
    }
    if blank(&req.group_id.0) {
        return Err("GroupId can't be empty.");
    }
    if req.rack_id.as_deref().is_some_and(blank) {
        return Err("RackId can't be empty.");
    }
    if req.member_epoch == 0 && req.subscribed_topic_names.as_ref().is_none_or(|t| t.is_empty()) {
        return Err("SubscribedTopicNames must be set in first request.");
    }
    if req.member_epoch < LEAVE_EPOCH {
        return Err("MemberEpoch is invalid.");
    }
    Ok(())
}

impl Handler for ShareGroupHeartbeat {
    type Request = ShareGroupHeartbeatRequest;
    type Response = ShareGroupHeartbeatResponse;
    const KEY: ApiKey = ApiKey::ShareGroupHeartbeat;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 1;

    fn handle(ctx: &RequestContext, req: ShareGroupHeartbeatRequest) -> Reply<ShareGroupHeartbeatResponse> {
        let broker = &ctx.broker;
        let group_id = req.group_id.0.to_string();
        if !ctx.authorized(AclOperation::Read, ResourceType::Group, &group_id) {
            return Reply::Now(Self::error_response(&req, E::GroupAuthorizationFailed.code()));
        }
        if let Err(message) = validate(&req) {
            return Reply::Now(invalid(message));
        }
        if let Some(names) = &req.subscribed_topic_names {
            if names.iter().any(|t| !ctx.authorized(AclOperation::Describe, ResourceType::Topic, &t.0)) {
                return Reply::Now(Self::error_response(&req, E::TopicAuthorizationFailed.code()));
            }
        }
        let hb = ShareHeartbeat {
            member_id: req.member_id.to_string(),
            member_epoch: req.member_epoch,
            rack_id: req.rack_id.as_ref().map(|s| s.to_string()),
            subscribed_topic_names: req
                .subscribed_topic_names
                .as_ref()
                .map(|v| v.iter().map(|t| t.0.to_string()).collect()),
            client_id: ctx.client_id.clone().unwrap_or_default(),
            client_host: ctx.client_host().to_string(),
        };
        let coord = &broker.groups;
        let defaults = broker.live.current().group_defaults;
        let configs = broker.live.group_configs(&group_id);
        let session_ms = configs.int(SHARE_SESSION_TIMEOUT, &defaults);
        let interval_ms = configs.int(SHARE_HEARTBEAT_INTERVAL, &defaults);
        let env = coord.share_env(broker.shares.config.max_size, Duration::from_millis(session_ms.max(1) as u64));
        match coord.share_heartbeat(&group_id, &hb, &env) {
            Err(r) => Reply::Now(refused(r)),
            Ok((answer, None)) => Reply::Now(answered(answer, interval_ms)),
            Ok((answer, Some(part))) => {
                when_stored(coord.wait_stored(vec![part]), answered(answer, interval_ms), |e| {
                    refused(Refusal { error: e, message: None })
                })
            }
        }
    }

    fn error_response(_req: &ShareGroupHeartbeatRequest, code: i16) -> ShareGroupHeartbeatResponse {
        ShareGroupHeartbeatResponse::default().with_error_code(code)
    }

    fn subject(req: &ShareGroupHeartbeatRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &ShareGroupHeartbeatResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
