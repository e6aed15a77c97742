//! What AlterShareGroupOffsets and DeleteShareGroupOffsets share: the group permission, an
//! empty share group held locked while the request's work runs on it, and the group's records
//! stored after it.

use std::sync::Arc;

use kafka_protocol::error::ResponseError as E;

use super::RequestContext;
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::log::Partition;
use crate::share::ShareGroup;

/// A refused request: the top-level error and its message.
pub type Refused = (i16, Option<String>);

/// Runs `work` on share group `group_id` (created empty if `create`, as AlterShareGroupOffsets
/// does) with the group locked, after Kafka's checks: `op` on the group, a valid id, a share
/// group, no members. Returns what `work` returned and the partition the group's records went
/// to, if any (to wait on before answering).
pub fn with_empty_share_group<R>(
    ctx: &RequestContext,
    group_id: &str,
    op: AclOperation,
    create: bool,
    work: impl FnOnce(&mut ShareGroup) -> R,
) -> Result<(R, Option<Arc<Partition>>), Refused> {
    if !ctx.authorized(op, ResourceType::Group, group_id) {
        return Err((E::GroupAuthorizationFailed.code(), None));
    }
    if group_id.is_empty() {
        return Err((E::InvalidGroupId.code(), None));
    }
    let not_share = || Some(format!("Group {group_id} is not a share group."));
    let coord = &ctx.broker.groups;
    let group = coord.share_group_or_create(group_id, create).map_err(|e| (e.code(), not_share()))?;
    let mut g = group.lock();
    // Deleted, or turned into another kind of group, since it was looked up.
    let Some(s) = g.share.as_mut() else { return Err((E::GroupIdNotFound.code(), not_share())) };
    if !s.members.is_empty() {
        return Err((E::NonEmptyGroup.code(), Some("The group is not empty.".into())));
    }
    let out = work(s);
    let stored = coord.store_share_records(&mut g).map_err(|e| (e.code(), None))?;
    Ok((out, stored))
}
