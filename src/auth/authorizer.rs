//! The authorizer seam (Kafka's `Authorizer`): may this session perform this operation on
//! this resource? [`AllowAll`] is the default (no authorizer configured).

use super::Session;

/// Kafka's `AclOperation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AclOperation {
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
}

/// Kafka's `ResourceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    Topic,
    Group,
    Cluster,
    TransactionalId,
    DelegationToken,
    User,
}

pub trait Authorizer: Send + Sync {
    /// Whether `session`'s principal may perform `op` on the resource `name` of `resource`.
    fn authorize(&self, session: &Session, op: AclOperation, resource: ResourceType, name: &str) -> bool;
}

/// No authorizer configured: everything is allowed (Kafka's behaviour without
/// `authorizer.class.name`).
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _: &Session, _: AclOperation, _: ResourceType, _: &str) -> bool {
        true
    }
}
