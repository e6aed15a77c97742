//! The authorizer seam (Kafka's `Authorizer`): may this session perform this operation on
//! this resource? [`AllowAll`] is the default (no authorizer configured).

use super::Session;

/// Kafka's `AclOperation`, with its wire code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AclOperation {
    Read = 3,
    Write = 4,
    Create = 5,
    Delete = 6,
    Alter = 7,
    Describe = 8,
    ClusterAction = 9,
    DescribeConfigs = 10,
    AlterConfigs = 11,
    IdempotentWrite = 12,
    CreateTokens = 13,
    DescribeTokens = 14,
}

impl ResourceType {
    /// The operations ACLs can grant on this resource type (Kafka's
    /// `AclEntry.supportedOperations`).
    pub fn supported_operations(self) -> &'static [AclOperation] {
        use AclOperation::*;
        match self {
            ResourceType::Topic => &[Read, Write, Create, Describe, Delete, Alter, DescribeConfigs, AlterConfigs],
            ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
            ResourceType::Cluster => {
                &[Create, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, Alter, Describe]
            }
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
        }
    }
}

/// The `authorized_operations` bit field of Metadata, DescribeGroups and DescribeCluster: bit
/// `code` set for each supported operation `allowed` says yes to (Kafka's
/// `Utils.to32BitField`).
pub fn operations_bitfield(resource: ResourceType, mut allowed: impl FnMut(AclOperation) -> bool) -> i32 {
    resource.supported_operations().iter().filter(|op| allowed(**op)).fold(0i32, |bits, op| bits | 1 << (*op as i32))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit fields a Kafka broker without an authorizer reports (every supported
    /// operation), e.g. 3576 for a topic: READ(3) WRITE(4) CREATE(5) DELETE(6) ALTER(7)
    /// DESCRIBE(8) DESCRIBE_CONFIGS(10) ALTER_CONFIGS(11).
    #[test]
    fn every_supported_operation_sets_its_bit() {
        assert_eq!(operations_bitfield(ResourceType::Topic, |_| true), 0b1101_1111_1000);
        assert_eq!(operations_bitfield(ResourceType::Group, |_| true), 0b1101_0100_1000);
        assert_eq!(operations_bitfield(ResourceType::Cluster, |_| true), 0b1_1111_1010_0000);
        assert_eq!(operations_bitfield(ResourceType::Topic, |op| op == AclOperation::Read), 1 << 3);
    }
}
