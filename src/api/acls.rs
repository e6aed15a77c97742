//! What the three ACL handlers share: the store (SECURITY_DISABLED without an authorizer),
//! the cluster permission they need, and ACL bindings and filters to and from the wire.

use kafka_protocol::error::ResponseError as E;

use super::RequestContext;
use crate::auth::acl::{AclBinding, AclStore, WireAclFilter};
use crate::auth::AclOperation;

/// The ACL store, if an authorizer is configured and `op` on the cluster is allowed; else
/// the error and message to answer.
pub fn store(ctx: &RequestContext, op: AclOperation) -> Result<&AclStore, (i16, &'static str)> {
    let Some(store) = ctx.broker.acls.as_ref() else {
        return Err((E::SecurityDisabled.code(), "No Authorizer is configured on the broker"));
    };
    if !ctx.cluster_authorized(op) {
        return Err((E::ClusterAuthorizationFailed.code(), "Cluster authorization failed."));
    }
    Ok(store)
}

/// A filter's wire fields, borrowed from DescribeAcls or a DeleteAcls filter.
#[allow(clippy::too_many_arguments)]
pub fn filter(
    resource_type: i8,
    resource_name: Option<&str>,
    pattern_type: i8,
    principal: Option<&str>,
    host: Option<&str>,
    operation: i8,
    permission: i8,
) -> WireAclFilter {
    WireAclFilter {
        resource_type,
        resource_name: resource_name.map(str::to_string),
        pattern_type,
        principal: principal.map(str::to_string),
        host: host.map(str::to_string),
        operation,
        permission,
    }
}

/// (resource type, name, pattern type, principal, host, operation, permission) codes of a
/// binding, as the responses carry them.
pub fn wire(b: &AclBinding) -> (i8, String, i8, String, String, i8, i8) {
    (
        b.resource_type.code(),
        b.resource_name.clone(),
        b.pattern_type.code(),
        b.principal.clone(),
        b.host.clone(),
        b.operation.code(),
        b.permission.code(),
    )
}
