//! JoinGroup (key 11): enters the group's rebalance; the answer waits until every member has
//! (re)joined or the rebalance timeout passes. KIP-394 member ids, KIP-345 static members.

use std::time::Duration;

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{ApiKey, JoinGroupRequest, JoinGroupResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::consumer::classic::{ClassicJoin, ClassicJoined};
use crate::group::state::{JoinError, JoinRequest, JoinResult, Pending};
use crate::group::{GroupCoordinator, GroupError};

pub struct JoinGroup;

/// A failed join's answer: the code and the member id (the one handed out, with
/// MEMBER_ID_REQUIRED).
fn failure(code: i16, member_id: String) -> JoinGroupResponse {
    JoinGroupResponse::default()
        .with_error_code(code)
        .with_generation_id(-1)
        .with_protocol_type(None)
        .with_protocol_name(None)
        .with_leader(sb(String::new()))
        .with_skip_assignment(false)
        .with_member_id(sb(member_id))
        .with_members(Vec::new())
}

fn response(r: JoinResult) -> JoinGroupResponse {
    let o = match r {
        Ok(o) => o,
        Err(e) => return failure(e.error.code(), e.member_id),
    };
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
        .with_error_code(NONE)
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

fn failed(error: GroupError, member_id: &str, v: i16) -> Reply<JoinGroupResponse> {
    Reply::Now(for_version(response(Err(JoinError::new(error, member_id))), v))
}

/// The JoinGroup as a consumer group takes it.
fn classic_join(join: &JoinRequest, v: i16, req: &JoinGroupRequest) -> ClassicJoin {
    ClassicJoin {
        version: v,
        member_id: join.member_id.clone(),
        instance_id: join.instance_id.clone(),
        client_id: join.client_id.clone(),
        client_host: join.client_host.clone(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: join.rebalance_timeout.as_millis().min(i32::MAX as u128) as i32,
        protocol_type: join.protocol_type.clone(),
        protocols: join.protocols.clone(),
    }
}

/// A classic member's join into a consumer group: its epoch as generation, never the
/// leader, no member list; answered once its records are durable.
fn answer_classic_join(
    coord: &GroupCoordinator,
    joined: Result<ClassicJoined, (GroupError, String)>,
    stored: Result<Option<std::sync::Arc<crate::log::Partition>>, GroupError>,
    v: i16,
) -> Reply<JoinGroupResponse> {
    let joined = match joined {
        Ok(j) => j,
        Err((e, member_id)) => return failed(e, &member_id, v),
    };
    let ok = JoinGroupResponse::default()
        .with_error_code(NONE)
        .with_generation_id(joined.generation)
        .with_protocol_type(Some(sb("consumer")))
        .with_protocol_name(Some(sb(joined.protocol_name)))
        .with_leader(sb(String::new()))
        .with_member_id(sb(joined.member_id.clone()))
        .with_members(Vec::new());
    match stored {
        Err(e) => failed(e, &joined.member_id, v),
        Ok(None) => Reply::Now(for_version(ok, v)),
        Ok(Some(part)) => {
            let stored = coord.wait_stored(vec![part]);
            let member_id = joined.member_id;
            Reply::Later(
                async move {
                    match stored.await {
                        Ok(()) => for_version(ok, v),
                        Err(e) => for_version(response(Err(JoinError::new(e, &member_id))), v),
                    }
                }
                .boxed(),
            )
        }
    }
}

impl Handler for JoinGroup {
    type Request = JoinGroupRequest;
    type Response = JoinGroupResponse;
    const KEY: ApiKey = ApiKey::JoinGroup;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 9;
    /// A join waits for the rest of the group (up to the rebalance timeout).
    const LONG_WAIT: bool = true;

    /// READ on the group (Kafka's `handleJoinGroupRequest`).
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        ctx.require(AclOperation::Read, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: JoinGroupRequest) -> Reply<JoinGroupResponse> {
        let v = ctx.api_version;
        let coord = &ctx.broker.groups;
        let cfg = &coord.config;
        let member_id = req.member_id.to_string();
        if req.group_id.0.is_empty() {
            return failed(GroupError::InvalidGroupId, &member_id, v);
        }
        let session = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
        if req.session_timeout_ms < 0 || session < cfg.min_session_timeout || session > cfg.max_session_timeout {
            return failed(GroupError::InvalidSessionTimeout, &member_id, v);
        }
        if let Err(e) = coord.offsets_topic() {
            return failed(e, &member_id, v);
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
        if coord.is_share_group(&req.group_id.0) {
            return failed(GroupError::InconsistentGroupProtocol, &member_id, v);
        }
        let group = if member_id.is_empty() {
            match coord.group_or_create(&req.group_id.0) {
                Ok(g) => g,
                Err(e) => return failed(e, &member_id, v),
            }
        } else {
            match coord.get(&req.group_id.0) {
                Ok(Some(g)) => g,
                Ok(None) => return failed(GroupError::UnknownMemberId, &member_id, v),
                Err(e) => return failed(e, &member_id, v),
            }
        };
        let (pending, stored) = {
            let mut g = group.lock();
            // A classic member of a consumer group (KIP-848 online migration) is answered at
            // once; an empty consumer group becomes a classic group.
            if let Some(c) = g.consumer.as_mut().filter(|c| !c.members.is_empty()) {
                let env = coord.heartbeat_env(session);
                let joined = c.classic_join(&classic_join(&join, v, &req), &env);
                let stored = coord.persist(&mut g);
                drop(g);
                return answer_classic_join(coord, joined, stored, v);
            }
            if let Err(e) = coord.make_classic(&mut g) {
                return failed(e, &member_id, v);
            }
            let p = g.join(join, tokio::time::Instant::now(), &coord.timings());
            (p, coord.persist(&mut g))
        };
        // A join that changed the stored group (a static member replacing its old id) is
        // answered once that is durable; if it cannot be stored, with the error instead.
        let stored = match stored {
            Ok(None) => None,
            Ok(Some(part)) => Some(coord.wait_stored(vec![part])),
            Err(e) => return failed(e, &member_id, v),
        };
        match (pending, stored) {
            (Pending::Now(r), None) => Reply::Now(for_version(response(r), v)),
            (Pending::Now(r), Some(stored)) => Reply::Later(
                async move {
                    let r = match stored.await {
                        Ok(()) => r,
                        Err(e) => Err(JoinError::new(e, &member_id)),
                    };
                    for_version(response(r), v)
                }
                .boxed(),
            ),
            (Pending::Wait(rx), stored) => Reply::Later(
                async move {
                    if let Some(stored) = stored {
                        if let Err(e) = stored.await {
                            return for_version(response(Err(JoinError::new(e, &member_id))), v);
                        }
                    }
                    let r = rx.await.unwrap_or_else(|_| Err(JoinError::new(GroupError::UnknownMemberId, &member_id)));
                    for_version(response(r), v)
                }
                .boxed(),
            ),
        }
    }

    fn error_response(req: &JoinGroupRequest, code: i16) -> JoinGroupResponse {
        for_version(failure(code, req.member_id.to_string()), 0)
    }

    fn subject(req: &JoinGroupRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &JoinGroupResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
