//! The authorizer seam (Kafka's `Authorizer`): may this session perform this operation on
//! this resource? [`AllowAll`] is the default (no authorizer configured); the ACL authorizer
//! is in [`super::acl`].

use super::Session;

/// Kafka's `AclOperation`, with its wire code: the operations a request can ask for. The
/// codes an ACL or a filter may carry besides these (UNKNOWN 0, ANY 1, ALL 2) are in
/// [`super::acl`]. Declared in code order, so the derived order is the code order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl AclOperation {
    /// Every operation, in code order.
    pub const EVERY: [AclOperation; 12] = {
        use AclOperation::*;
        [
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
            CreateTokens,
            DescribeTokens,
        ]
    };

    /// The wire code (Kafka's `AclOperation.code()`).
    pub fn code(self) -> i8 {
        self as i8
    }

    /// The operation of a wire code; None for UNKNOWN, ANY, ALL and codes Kafka doesn't define.
    pub fn from_code(code: i8) -> Option<Self> {
        Self::EVERY.into_iter().find(|op| op.code() == code)
    }

    /// Kafka's name for it (`DESCRIBE_CONFIGS`), as DescribeAcls tools print it.
    pub fn name(self) -> &'static str {
        use AclOperation::*;
        match self {
            Read => "READ",
            Write => "WRITE",
            Create => "CREATE",
            Delete => "DELETE",
            Alter => "ALTER",
            Describe => "DESCRIBE",
            ClusterAction => "CLUSTER_ACTION",
            DescribeConfigs => "DESCRIBE_CONFIGS",
            AlterConfigs => "ALTER_CONFIGS",
            IdempotentWrite => "IDEMPOTENT_WRITE",
            CreateTokens => "CREATE_TOKENS",
            DescribeTokens => "DESCRIBE_TOKENS",
        }
    }

    /// The operation Kafka calls `name` (exactly, upper case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::EVERY.into_iter().find(|op| op.name() == name)
    }
}

impl ResourceType {
    /// Every resource type, in code order.
    pub const EVERY: [ResourceType; 6] = [
        ResourceType::Topic,
        ResourceType::Group,
        ResourceType::Cluster,
        ResourceType::TransactionalId,
        ResourceType::DelegationToken,
        ResourceType::User,
    ];

    /// The wire code (Kafka's `ResourceType.code()`; UNKNOWN 0 and ANY 1 are filter codes).
    pub fn code(self) -> i8 {
        match self {
            ResourceType::Topic => 2,
            ResourceType::Group => 3,
            ResourceType::Cluster => 4,
            ResourceType::TransactionalId => 5,
            ResourceType::DelegationToken => 6,
            ResourceType::User => 7,
        }
    }

    /// The resource type of a wire code; None for UNKNOWN, ANY and codes Kafka doesn't define.
    pub fn from_code(code: i8) -> Option<Self> {
        Self::EVERY.into_iter().find(|t| t.code() == code)
    }

    /// Kafka's name for it (`TRANSACTIONAL_ID`).
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::Topic => "TOPIC",
            ResourceType::Group => "GROUP",
            ResourceType::Cluster => "CLUSTER",
            ResourceType::TransactionalId => "TRANSACTIONAL_ID",
            ResourceType::DelegationToken => "DELEGATION_TOKEN",
            ResourceType::User => "USER",
        }
    }

    /// The resource type Kafka calls `name` (exactly, upper case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::EVERY.into_iter().find(|t| t.name() == name)
    }

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

/// Kafka's `ResourceType` (the concrete ones; codes in [`ResourceType::code`]). Declared in
/// code order, so the derived order is the code order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

    /// Whether `session`'s principal may perform `op` on some resource of type `resource`
    /// (Kafka's `Authorizer.authorizeByResourceType`: an idempotent producer without
    /// IDEMPOTENT_WRITE on the cluster needs WRITE on some topic).
    fn authorize_any(&self, session: &Session, op: AclOperation, resource: ResourceType) -> bool;
}

/// No authorizer configured: everything is allowed (Kafka's behaviour without
/// `authorizer.class.name`).
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _: &Session, _: AclOperation, _: ResourceType, _: &str) -> bool {
        true
    }

    fn authorize_any(&self, _: &Session, _: AclOperation, _: ResourceType) -> bool {
        true
    }
}

/// The name of the one CLUSTER resource (Kafka's `Resource.CLUSTER_NAME`).
pub const CLUSTER_NAME: &str = "kafka-cluster";

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

    /// Kafka's `AclOperation` READ 3 .. DESCRIBE_TOKENS 14 and `ResourceType` TOPIC 2 .. USER 7
    /// (clients/src/main/java/org/apache/kafka/common/{acl,resource}); the other codes are not
    /// concrete operations or resource types.
    #[test]
    fn wire_codes_and_names_are_kafkas() {
        let codes: Vec<i8> = AclOperation::EVERY.iter().map(|op| op.code()).collect();
        assert_eq!(codes, (3..=14).collect::<Vec<i8>>());
        assert_eq!(AclOperation::from_code(10), Some(AclOperation::DescribeConfigs));
        assert_eq!(AclOperation::from_name("IDEMPOTENT_WRITE"), Some(AclOperation::IdempotentWrite));
        for code in [i8::MIN, -1, 0, 1, 2, 15, i8::MAX] {
            assert_eq!(AclOperation::from_code(code), None, "{code}");
        }
        let codes: Vec<i8> = ResourceType::EVERY.iter().map(|t| t.code()).collect();
        assert_eq!(codes, (2..=7).collect::<Vec<i8>>());
        assert_eq!(ResourceType::from_code(5), Some(ResourceType::TransactionalId));
        assert_eq!(ResourceType::from_name("DELEGATION_TOKEN"), Some(ResourceType::DelegationToken));
        for code in [0, 1, 8, -1] {
            assert_eq!(ResourceType::from_code(code), None, "{code}");
        }
        for t in ResourceType::EVERY {
            assert_eq!(ResourceType::from_name(t.name()), Some(t));
        }
        for op in AclOperation::EVERY {
            assert_eq!(AclOperation::from_name(op.name()), Some(op));
        }
    }
}
