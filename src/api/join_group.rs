//! JoinGroup (key 11): enters the group's rebalance; the answer waits until every member has
//! (re)joined or the rebalance timeout passes. KIP-394 member ids, KIP-345 static members.

use std::time::Duration;

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{ApiKey, JoinGroupRequest, JoinGroupResponse};

use super::{sb, Handler, Reply, RequestContext};
use crate::group::state::{GroupTimings, JoinOutcome, JoinRequest, Pending};

pub struct JoinGroup;

fn response(o: JoinOutcome) -> JoinGroupResponse {
    let members = o
        .members
        .into_iter()
        .map(|(id, instance, meta)| {
            JoinGroupResponseMember::default()
                .with_member_id(sb(id))
                .with_group_instance_id(instance.map(sb))
                .with_metadata(meta)
        })
        .collect();
    JoinGroupResponse::default()
        .with_error_code(o.error)
        .with_generation_id(o.generation)
        .with_protocol_type(o.protocol_type.map(sb))
        .with_protocol_name(o.protocol_name.map(sb))
        .with_leader(sb(o.leader))
        .with_skip_assignment(o.skip_assignment)
        .with_member_id(sb(o.member_id))
        .with_members(members)
}

/// Protocol name is nullable only from v7; older versions need a string.
fn for_version(mut r: JoinGroupResponse, v: i16) -> JoinGroupResponse {
    if v < 7 && r.protocol_name.is_none() {
        r.protocol_name = Some(sb(""));
    }
    r
}

impl Handler for JoinGroup {
    type Request = JoinGroupRequest;
    type Response = JoinGroupResponse;
    const KEY: ApiKey = ApiKey::JoinGroup;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 9;
    /// A join waits for the rest of the group (up to the rebalance timeout).
    const LONG_WAIT: bool = true;

    fn handle(ctx: &RequestContext, req: JoinGroupRequest) -> Reply<JoinGroupResponse> {
        let v = ctx.api_version;
        let coord = &ctx.broker.groups;
        let cfg = &coord.config;
        let member_id = req.member_id.to_string();
        if req.group_id.0.is_empty() {
            return Reply::Now(for_version(response(JoinOutcome::error(E::InvalidGroupId.code(), &member_id)), v));
        }
        let session = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
        if req.session_timeout_ms < 0 || session < cfg.min_session_timeout || session > cfg.max_session_timeout {
            return Reply::Now(for_version(
                response(JoinOutcome::error(E::InvalidSessionTimeout.code(), &member_id)),
                v,
            ));
        }
        if let Err(e) = coord.offsets_topic() {
            tracing::error!("{e}");
            return Reply::Now(for_version(
                response(JoinOutcome::error(E::CoordinatorNotAvailable.code(), &member_id)),
                v,
            ));
        }
        let rebalance = if v >= 1 { Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64) } else { session };
        let join = JoinRequest {
            member_id: member_id.clone(),
            instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
            client_id: ctx.client_id.clone().unwrap_or_default(),
            client_host: ctx.client_host().to_string(),
            session_timeout: session,
            rebalance_timeout: rebalance,
            protocol_type: req.protocol_type.to_string(),
            protocols: req.protocols.iter().map(|p| (p.name.to_string(), p.metadata.clone())).collect(),
            require_known_member_id: v >= 4,
            supports_skip_assignment: v >= 9,
        };
        let group = if member_id.is_empty() {
            coord.group_or_create(&req.group_id.0)
        } else {
            match coord.get(&req.group_id.0) {
                Some(g) => g,
                None => {
                    return Reply::Now(for_version(
                        response(JoinOutcome::error(E::UnknownMemberId.code(), &member_id)),
                        v,
                    ))
                }
            }
        };
        let timings = GroupTimings { initial_rebalance_delay: cfg.initial_rebalance_delay, max_size: cfg.max_size };
        let (pending, durable) = {
            let mut g = group.lock();
            let p = g.join(join, tokio::time::Instant::now(), &timings);
            (p, coord.persist(&mut g))
        };
        let broker = ctx.broker.clone();
        match pending {
            Pending::Now(o) if durable.is_none() => Reply::Now(for_version(response(o), v)),
            Pending::Now(o) => Reply::Later(
                async move {
                    let _ = broker.replicas.wait_durable(durable.into_iter().collect()).await;
                    for_version(response(o), v)
                }
                .boxed(),
            ),
            Pending::Wait(rx) => Reply::Later(
                async move {
                    let o = rx.await.unwrap_or_else(|_| JoinOutcome::error(E::UnknownMemberId.code(), &member_id));
                    for_version(response(o), v)
                }
                .boxed(),
            ),
        }
    }

    fn error_response(req: &JoinGroupRequest, code: i16) -> JoinGroupResponse {
        for_version(response(JoinOutcome::error(code, &req.member_id)), 0)
    }
}
