//! ConsumerGroupDescribe (key 69, v0-1): consumer groups (KIP-848) with their epochs,
//! assignor and members, each with its current and target assignment by topic id and name.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::consumer_group_describe_response::{Assignment, DescribedGroup, Member, TopicPartitions};
use kafka_protocol::messages::{ApiKey, ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::consumer::{self, ConsumerGroup, TopicLookup};

pub struct ConsumerGroupDescribe;

/// `authorized_operations` when the client did not ask for them.
const NOT_REQUESTED: i32 = i32::MIN;
/// Member types of v1 (KIP-1099): the member speaks the classic or the consumer protocol.
const MEMBER_TYPE_CLASSIC: i8 = 0;
const MEMBER_TYPE_CONSUMER: i8 = 1;

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

fn describe(c: &ConsumerGroup, ctx: &RequestContext) -> DescribedGroup {
    let topics: &dyn TopicLookup = &*ctx.broker.topics;
    let none = consumer::Assignment::new();
    let members = c
        .members
        .values()
        .map(|m| {
            let mut names: Vec<TopicName> = m.subscribed_topic_names.iter().map(|n| TopicName(sb(n.clone()))).collect();
            names.sort();
            Member::default()
                .with_member_id(sb(m.id.clone()))
                .with_instance_id(m.instance_id.clone().map(sb))
                .with_rack_id(m.rack_id.clone().map(sb))
                .with_member_epoch(m.member_epoch)
                .with_client_id(sb(m.client_id.clone()))
                .with_client_host(sb(m.client_host.clone()))
                .with_subscribed_topic_names(names)
                .with_subscribed_topic_regex(Some(sb(m.subscribed_topic_regex.clone())))
                .with_assignment(described(&m.assigned, topics))
                .with_target_assignment(described(c.target.get(&m.id).unwrap_or(&none), topics))
                .with_member_type(if m.classic.is_some() { MEMBER_TYPE_CLASSIC } else { MEMBER_TYPE_CONSUMER })
        })
        .collect();
    DescribedGroup::default()
        .with_group_state(sb(c.state().name()))
        .with_group_epoch(c.group_epoch)
        .with_assignment_epoch(c.assignment_epoch)
        .with_assignor_name(sb(c.preferred_assignor(&ctx.broker.groups.config.consumer_assignors)))
        .with_members(members)
}

/// Kafka's message for a group shown with a topic the principal may not describe.
pub(super) const UNDESCRIBABLE_TOPICS: &str =
    "The group has described topic(s) that the client is not authorized to describe.";

/// Whether the principal may DESCRIBE every topic the group's members own or are to own (Kafka
/// 4's `handleConsumerGroupDescribe` checks the assignments, not the subscriptions).
fn all_describable(ctx: &RequestContext, group: &DescribedGroup) -> bool {
    group.members.iter().all(|m| {
        let mut assigned = [&m.assignment, &m.target_assignment]
            .into_iter()
            .flat_map(|a| a.topic_partitions.iter().map(|tp| tp.topic_name.0.as_str()));
        assigned.all(|t| ctx.authorized(AclOperation::Describe, ResourceType::Topic, t))
    })
}

impl Handler for ConsumerGroupDescribe {
    type Request = ConsumerGroupDescribeRequest;
    type Response = ConsumerGroupDescribeResponse;
    const KEY: ApiKey = ApiKey::ConsumerGroupDescribe;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;

    fn handle(ctx: &RequestContext, req: ConsumerGroupDescribeRequest) -> Reply<ConsumerGroupDescribeResponse> {
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
                let g = match ctx.broker.groups.get(id) {
                    Ok(Some(g)) => g,
                    Ok(None) => return not_found(format!("Group {} not found.", id.0)),
                    Err(e) => return base.with_error_code(e.code()),
                };
                let mut g = g.lock();
                ctx.broker.groups.run_timers(&mut g);
                let Some(c) = &g.consumer else { return not_found(format!("Group {} is not a consumer group.", id.0)) };
                let operations = if req.include_authorized_operations {
                    ctx.authorized_operations(ResourceType::Group, id)
                } else {
                    NOT_REQUESTED
                };
                let described = describe(c, ctx);
                // Kafka 4: a group whose members own or are to own a topic the principal may
                // not describe is not shown.
                if !all_describable(ctx, &described) {
                    return base
                        .with_error_code(E::TopicAuthorizationFailed.code())
                        .with_error_message(Some(sb(UNDESCRIBABLE_TOPICS)));
                }
                described.with_group_id(id.clone()).with_authorized_operations(operations)
            })
            .collect();
        Reply::Now(ConsumerGroupDescribeResponse::default().with_groups(groups))
    }

    fn error_response(req: &ConsumerGroupDescribeRequest, code: i16) -> ConsumerGroupDescribeResponse {
        let groups = req
            .group_ids
            .iter()
            .map(|id| DescribedGroup::default().with_group_id(id.clone()).with_error_code(code))
            .collect();
        ConsumerGroupDescribeResponse::default().with_groups(groups)
    }

    fn errors(resp: &ConsumerGroupDescribeResponse, seen: &mut ResponseErrors) {
        for g in &resp.groups {
            seen.group(&g.group_id, g.error_code);
        }
    }
}
