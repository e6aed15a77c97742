//! ShareGroupDescribe (key 77, v1): share groups (KIP-932) with their epochs, assignor and
//! members, each with its assignment by topic id and name.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::share_group_describe_response::{Assignment, DescribedGroup, Member, TopicPartitions};
use kafka_protocol::messages::{ApiKey, ShareGroupDescribeRequest, ShareGroupDescribeResponse, TopicName};

use super::consumer_group_describe::UNDESCRIBABLE_TOPICS;
use super::{sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::consumer::{self, TopicLookup};
use crate::share::ShareGroup;

pub struct ShareGroupDescribe;

/// `authorized_operations` when the client did not ask for them.
const NOT_REQUESTED: i32 = i32::MIN;

/// Partitions by topic, named (topics deleted meanwhile are left out).
fn described(a: &consumer::Assignment, topics: &dyn TopicLookup) -> Assignment {
    let topic_partitions = a
        .iter()
        .filter_map(|(id, ps)| {
            let name = topics.topic_name(id)?;
            Some(
                TopicPartitions::default()
                    .with_topic_id(*id)
                    .with_topic_name(TopicName(sb(name)))
                    .with_partitions(ps.iter().copied().collect()),
            )
        })
        .collect();
    Assignment::default().with_topic_partitions(topic_partitions)
}

fn describe(s: &ShareGroup, ctx: &RequestContext) -> DescribedGroup {
    let topics: &dyn TopicLookup = &*ctx.broker.topics;
    let members = s
        .members
        .values()
        .map(|m| {
            Member::default()
                .with_member_id(sb(m.id.clone()))
                .with_rack_id(m.rack_id.clone().map(sb))
                .with_member_epoch(m.member_epoch)
                .with_client_id(sb(m.client_id.clone()))
                .with_client_host(sb(m.client_host.clone()))
                .with_subscribed_topic_names(
                    m.subscribed_topic_names.iter().map(|n| TopicName(sb(n.clone()))).collect(),
                )
                .with_assignment(described(&m.assigned, topics))
        })
        .collect();
    DescribedGroup::default()
        .with_group_state(sb(s.state_name()))
        .with_group_epoch(s.group_epoch)
        .with_assignment_epoch(s.assignment_epoch)
        .with_assignor_name(sb("simple"))
        .with_members(members)
}

impl Handler for ShareGroupDescribe {
    type Request = ShareGroupDescribeRequest;
    type Response = ShareGroupDescribeResponse;
    const KEY: ApiKey = ApiKey::ShareGroupDescribe;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 1;

    fn handle(ctx: &RequestContext, req: ShareGroupDescribeRequest) -> Reply<ShareGroupDescribeResponse> {
        let groups = req
            .group_ids
            .iter()
            .map(|id| {
                let base =
                    DescribedGroup::default().with_group_id(id.clone()).with_authorized_operations(NOT_REQUESTED);
                if !ctx.authorized(AclOperation::Describe, ResourceType::Group, id) {
                    return base.with_error_code(E::GroupAuthorizationFailed.code());
                }
                if id.is_empty() {
                    return base.with_error_code(E::InvalidGroupId.code());
                }
                let not_found = |message: String| {
                    base.clone().with_error_code(E::GroupIdNotFound.code()).with_error_message(Some(sb(message)))
                };
                let g = match ctx.broker.groups.get_any(id) {
                    Ok(Some(g)) => g,
                    Ok(None) => return not_found(format!("Group {} not found.", id.0)),
                    Err(e) => return base.with_error_code(e.code()),
                };
                let mut g = g.lock();
                ctx.broker.groups.run_timers(&mut g);
                let Some(s) = &g.share else { return not_found(format!("Group {} is not a share group.", id.0)) };
                let operations = if req.include_authorized_operations {
                    ctx.authorized_operations(ResourceType::Group, id)
                } else {
                    NOT_REQUESTED
                };
                let described = describe(s, ctx);
                // Kafka 4: a group whose members own a topic the principal may not describe is
                // not shown.
                let assigned = described.members.iter().flat_map(|m| m.assignment.topic_partitions.iter());
                if assigned
                    .map(|tp| &tp.topic_name)
                    .any(|t| !ctx.authorized(AclOperation::Describe, ResourceType::Topic, t))
                {
                    return base
                        .with_error_code(E::TopicAuthorizationFailed.code())
                        .with_error_message(Some(sb(UNDESCRIBABLE_TOPICS)));
                }
                described.with_group_id(id.clone()).with_authorized_operations(operations)
            })
            .collect();
        Reply::Now(ShareGroupDescribeResponse::default().with_groups(groups))
    }

    fn error_response(req: &ShareGroupDescribeRequest, code: i16) -> ShareGroupDescribeResponse {
        let groups = req
            .group_ids
            .iter()
            .map(|id| DescribedGroup::default().with_group_id(id.clone()).with_error_code(code))
            .collect();
        ShareGroupDescribeResponse::default().with_groups(groups)
    }

    fn errors(resp: &ShareGroupDescribeResponse, seen: &mut ResponseErrors) {
        for g in &resp.groups {
            seen.group(&g.group_id, g.error_code);
        }
    }
}
