//! ListGroups (key 16): every group, classic and consumer (KIP-848), optionally filtered by
//! state (v4+) and type (v5+).

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{ApiKey, GroupId, ListGroupsRequest, ListGroupsResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::state::GroupState;
use crate::group::GroupError;

pub struct ListGroups;

impl Handler for ListGroups {
    type Request = ListGroupsRequest;
    type Response = ListGroupsResponse;
    const KEY: ApiKey = ApiKey::ListGroups;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    fn handle(ctx: &RequestContext, req: ListGroupsRequest) -> Reply<ListGroupsResponse> {
        // As Kafka: no partial list while some `__consumer_offsets` partition still loads.
        if ctx.broker.groups.loading() {
            return Reply::Now(Self::error_response(&req, GroupError::CoordinatorLoadInProgress.code()));
        }
        // Kafka's `handleListGroupsRequest`: DESCRIBE on the cluster lists every group, else
        // only the groups the principal may describe.
        let all = ctx.cluster_authorized(AclOperation::Describe);
        let groups = ctx
            .broker
            .groups
            .list()
            .into_iter()
            .filter_map(|g| {
                let mut g = g.lock();
                ctx.broker.groups.run_timers(&mut g);
                if g.state == GroupState::Dead {
                    return None;
                }
                if !all && !ctx.authorized(AclOperation::Describe, ResourceType::Group, &g.id) {
                    return None;
                }
                let (state, kind) = (g.state_name(), g.group_type());
                if !req.states_filter.is_empty() && !req.states_filter.iter().any(|s| s.eq_ignore_ascii_case(state)) {
                    return None;
                }
                if !req.types_filter.is_empty() && !req.types_filter.iter().any(|t| t.eq_ignore_ascii_case(kind)) {
                    return None;
                }
                let protocol_type = match (&g.share, &g.consumer) {
                    (Some(_), _) => "share".to_string(),
                    (None, Some(_)) => "consumer".to_string(),
                    (None, None) => g.protocol_type.clone().unwrap_or_default(),
                };
                Some(
                    ListedGroup::default()
                        .with_group_id(GroupId(sb(g.id.clone())))
                        .with_protocol_type(sb(protocol_type))
                        .with_group_state(sb(state))
                        .with_group_type(sb(kind)),
                )
            })
            .collect();
        Reply::Now(ListGroupsResponse::default().with_error_code(NONE).with_groups(groups))
    }

    fn error_response(_req: &ListGroupsRequest, code: i16) -> ListGroupsResponse {
        ListGroupsResponse::default().with_error_code(code)
    }

    fn errors(resp: &ListGroupsResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
