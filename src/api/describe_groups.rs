//! DescribeGroups (key 15): state, protocol and members (with metadata and assignment).
//!
//! A group that does not exist is described as Dead; v6 (KIP-1043) adds GROUP_ID_NOT_FOUND and
//! a message to that (Kafka's `GroupMetadataManager.describeGroups`, which also answers so for a
//! group of another type: "Group {id} is not a classic group.", once Brook has KIP-848 groups).

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{ApiKey, DescribeGroupsRequest, DescribeGroupsResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::state::GroupState;

pub struct DescribeGroups;

/// The first version that answers an unknown group with an error (KIP-1043).
const GROUP_NOT_FOUND_ERROR: i16 = 6;

impl Handler for DescribeGroups {
    type Request = DescribeGroupsRequest;
    type Response = DescribeGroupsResponse;
    const KEY: ApiKey = ApiKey::DescribeGroups;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 6;

    fn handle(ctx: &RequestContext, req: DescribeGroupsRequest) -> Reply<DescribeGroupsResponse> {
        let groups = req
            .groups
            .iter()
            .map(|id| {
                // Kafka's `handleDescribeGroupsRequest`: a group the principal may not
                // describe is refused, whether it exists or not.
                if !ctx.authorized(AclOperation::Describe, ResourceType::Group, id) {
                    return DescribedGroup::default()
                        .with_group_id(id.clone())
                        .with_error_code(E::GroupAuthorizationFailed.code())
                        .with_authorized_operations(i32::MIN);
                }
                let base = DescribedGroup::default().with_group_id(id.clone()).with_error_code(NONE);
                let not_found_as = |base: DescribedGroup, message: String| {
                    let dead = base.with_group_state(sb(GroupState::Dead.name()));
                    if ctx.api_version < GROUP_NOT_FOUND_ERROR {
                        return with_operations(ctx, &req, dead);
                    }
                    dead.with_error_code(E::GroupIdNotFound.code()).with_error_message(Some(sb(message)))
                };
                let not_found = |base: DescribedGroup| not_found_as(base, format!("Group {} not found.", id.0));
                let g = match ctx.broker.groups.get(id) {
                    Ok(Some(g)) => g,
                    Ok(None) => return not_found(base),
                    Err(e) => return with_operations(ctx, &req, base).with_error_code(e.code()),
                };
                let mut g = g.lock();
                ctx.broker.groups.run_timers(&mut g);
                // A deleted group may linger in the registry as Dead: Kafka no longer has it.
                if g.state == GroupState::Dead {
                    return not_found(base);
                }
                // Consumer groups are described by ConsumerGroupDescribe; admin clients fall
                // back to it on this answer (KIP-1043).
                if g.consumer.is_some() {
                    return not_found_as(base, format!("Group {} is not a classic group.", id.0));
                }
                let base = with_operations(ctx, &req, base);
                // Only a Stable group reports its protocol and member metadata (Kafka's
                // summaryNoMetadata otherwise).
                let stable = g.state == GroupState::Stable;
                let protocol = if stable { g.protocol.clone().unwrap_or_default() } else { String::new() };
                let members = g
                    .members
                    .values()
                    .map(|m| {
                        let meta = m
                            .protocols
                            .iter()
                            .find(|(n, _)| *n == protocol)
                            .map(|(_, b)| b.clone())
                            .unwrap_or_default();
                        DescribedGroupMember::default()
                            .with_member_id(sb(m.id.clone()))
                            .with_group_instance_id(m.instance_id.clone().map(sb))
                            .with_client_id(sb(m.client_id.clone()))
                            .with_client_host(sb(m.client_host.clone()))
                            .with_member_metadata(if stable { meta } else { Default::default() })
                            .with_member_assignment(if stable { m.assignment.clone() } else { Default::default() })
                    })
                    .collect();
                base.with_group_state(sb(g.state.name()))
                    .with_protocol_type(sb(g.protocol_type.clone().unwrap_or_default()))
                    .with_protocol_data(sb(protocol))
                    .with_members(members)
            })
            .collect();
        Reply::Now(DescribeGroupsResponse::default().with_groups(groups))
    }

    fn error_response(req: &DescribeGroupsRequest, code: i16) -> DescribeGroupsResponse {
        let groups = req
            .groups
            .iter()
            .map(|id| DescribedGroup::default().with_group_id(id.clone()).with_error_code(code))
            .collect();
        DescribeGroupsResponse::default().with_groups(groups)
    }

    fn errors(resp: &DescribeGroupsResponse, seen: &mut ResponseErrors) {
        for g in &resp.groups {
            seen.group(&g.group_id, g.error_code);
        }
    }
}

/// KIP-430 (v3+): what this principal may do with a group answered without error, when asked.
fn with_operations(ctx: &RequestContext, req: &DescribeGroupsRequest, group: DescribedGroup) -> DescribedGroup {
    if ctx.api_version >= 3 && req.include_authorized_operations {
        let ops = ctx.authorized_operations(ResourceType::Group, &group.group_id);
        return group.with_authorized_operations(ops);
    }
    group
}
