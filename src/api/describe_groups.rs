//! DescribeGroups (key 15): state, protocol and members (with metadata and assignment).

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{ApiKey, DescribeGroupsRequest, DescribeGroupsResponse};

use super::{sb, Handler, Reply, RequestContext, NONE};
use crate::auth::ResourceType;
use crate::group::state::GroupState;

pub struct DescribeGroups;

impl Handler for DescribeGroups {
    type Request = DescribeGroupsRequest;
    type Response = DescribeGroupsResponse;
    const KEY: ApiKey = ApiKey::DescribeGroups;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    fn handle(ctx: &RequestContext, req: DescribeGroupsRequest) -> Reply<DescribeGroupsResponse> {
        let groups = req
            .groups
            .iter()
            .map(|id| {
                let mut base = DescribedGroup::default().with_group_id(id.clone()).with_error_code(NONE);
                // KIP-430 (v3+): what this principal may do with the group, when asked.
                if ctx.api_version >= 3 && req.include_authorized_operations {
                    base.authorized_operations = ctx.authorized_operations(ResourceType::Group, id);
                }
                let Some(g) = ctx.broker.groups.get(id) else {
                    // Kafka describes an unknown group as Dead with no error.
                    return base.with_group_state(sb(GroupState::Dead.name()));
                };
                let g = g.lock();
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
}
