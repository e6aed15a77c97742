//! Kafka's ACL types with their wire codes (`org.apache.kafka.common.acl` and `.resource`):
//! the [`AclBinding`] CreateAcls stores and the [`AclBindingFilter`] DescribeAcls and
//! DeleteAcls select with (the checks of both as requests carry them are in `checks.rs`).
//!
//! The concrete operations and resource types are [`AclOperation`] and [`ResourceType`] (what
//! a request asks about); the codes only ACLs and filters carry are here: ALL (2) as
//! [`AclOp::All`], ANY (1) as `None` in a filter, UNKNOWN (0, and any code Kafka doesn't
//! define, which Kafka's `fromCode` also reads as UNKNOWN) as an INVALID_REQUEST error.

use crate::auth::{AclOperation, ResourceType};

pub use crate::auth::CLUSTER_NAME;
/// The resource name and host that match any (Kafka's `ResourcePattern.WILDCARD_RESOURCE`,
/// `StandardAuthorizerData.WILDCARD`).
pub const WILDCARD: &str = "*";
/// The principal that matches any (Kafka's `StandardAuthorizerData.WILDCARD_PRINCIPAL`).
pub const WILDCARD_PRINCIPAL: &str = "User:*";

/// The ANY code shared by every filter field (Kafka's `*.ANY.code()`).
pub(super) const ANY_CODE: i8 = 1;

/// What an ACL says of its operation: one operation, or ALL (code 2), which matches every
/// operation, for DENY as for ALLOW.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AclOp {
    All,
    Only(AclOperation),
}

impl AclOp {
    pub fn code(self) -> i8 {
        match self {
            AclOp::All => 2,
            AclOp::Only(op) => op.code(),
        }
    }

    /// ALL or a concrete operation; None for UNKNOWN, ANY and undefined codes.
    pub fn from_code(code: i8) -> Option<Self> {
        if code == 2 {
            Some(AclOp::All)
        } else {
            AclOperation::from_code(code).map(AclOp::Only)
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AclOp::All => "ALL",
            AclOp::Only(op) => op.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        if name == "ALL" {
            Some(AclOp::All)
        } else {
            AclOperation::from_name(name).map(AclOp::Only)
        }
    }
}

/// Kafka's `AclPermissionType` (DENY 2, ALLOW 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AclPermission {
    Deny,
    Allow,
}

impl AclPermission {
    pub fn code(self) -> i8 {
        match self {
            AclPermission::Deny => 2,
            AclPermission::Allow => 3,
        }
    }

    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            2 => Some(AclPermission::Deny),
            3 => Some(AclPermission::Allow),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AclPermission::Deny => "DENY",
            AclPermission::Allow => "ALLOW",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [AclPermission::Deny, AclPermission::Allow].into_iter().find(|p| p.name() == name)
    }
}

/// Kafka's `PatternType` of a stored ACL: LITERAL (3) names one resource, or every resource
/// when the name is `*`; PREFIXED (4) every resource whose name starts with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatternType {
    Literal,
    Prefixed,
}

impl PatternType {
    pub fn code(self) -> i8 {
        match self {
            PatternType::Literal => 3,
            PatternType::Prefixed => 4,
        }
    }

    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            3 => Some(PatternType::Literal),
            4 => Some(PatternType::Prefixed),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PatternType::Literal => "LITERAL",
            PatternType::Prefixed => "PREFIXED",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [PatternType::Literal, PatternType::Prefixed].into_iter().find(|p| p.name() == name)
    }
}

/// The pattern type of a filter (Kafka's `PatternType` in a `ResourcePatternFilter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternTypeFilter {
    /// ANY (1): any pattern type, the name compared exactly.
    Any,
    /// MATCH (2): the patterns that would apply to a resource of the filter's name: that
    /// literal name, the literal wildcard `*`, and prefixes of it.
    Match,
    /// LITERAL (3) or PREFIXED (4): that pattern type, the name compared exactly.
    Is(PatternType),
}

impl PatternTypeFilter {
    pub fn code(self) -> i8 {
        match self {
            PatternTypeFilter::Any => ANY_CODE,
            PatternTypeFilter::Match => 2,
            PatternTypeFilter::Is(p) => p.code(),
        }
    }

    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            ANY_CODE => Some(PatternTypeFilter::Any),
            2 => Some(PatternTypeFilter::Match),
            _ => PatternType::from_code(code).map(PatternTypeFilter::Is),
        }
    }
}

/// Splits a principal at its first colon, as Kafka's `SecurityUtils.parseKafkaPrincipal`
/// and `StandardAcl.kafkaPrincipal` do: `User:CN=a,O=b` is type `User`, name `CN=a,O=b`.
pub fn split_principal(principal: &str) -> Option<(&str, &str)> {
    principal.split_once(':')
}

/// One ACL (Kafka's `AclBinding`: a `ResourcePattern` and an `AccessControlEntry`). The
/// derived order (resource type, name, pattern type, then the entry) keeps the ACLs of one
/// resource pattern together, as DescribeAcls answers them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    /// `Type:Name` (`User:alice`); `User:*` is every principal.
    pub principal: String,
    /// An IP address as the client connects from, or `*` for any.
    pub host: String,
    pub operation: AclOp,
    pub permission: AclPermission,
}

impl AclBinding {
    /// The filter that matches exactly this ACL (Kafka's `AclBinding.toFilter`).
    pub fn to_filter(&self) -> AclBindingFilter {
        AclBindingFilter {
            resource_type: Some(self.resource_type),
            resource_name: Some(self.resource_name.clone()),
            pattern_type: PatternTypeFilter::Is(self.pattern_type),
            principal: Some(self.principal.clone()),
            host: Some(self.host.clone()),
            operation: Some(self.operation),
            permission: Some(self.permission),
        }
    }
}

/// Selects ACLs for DescribeAcls and DeleteAcls (Kafka's `AclBindingFilter`: a
/// `ResourcePatternFilter` and an `AccessControlEntryFilter`). `None` is ANY for the codes and
/// null for the strings: it matches every value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBindingFilter {
    pub resource_type: Option<ResourceType>,
    pub resource_name: Option<String>,
    pub pattern_type: PatternTypeFilter,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Option<AclOp>,
    pub permission: Option<AclPermission>,
}

impl AclBindingFilter {
    /// Matches every ACL (Kafka's `AclBindingFilter.ANY`).
    pub fn any() -> Self {
        AclBindingFilter {
            resource_type: None,
            resource_name: None,
            pattern_type: PatternTypeFilter::Any,
            principal: None,
            host: None,
            operation: None,
            permission: None,
        }
    }

    /// Whether `acl` is selected: `ResourcePatternFilter.matches` and
    /// `AccessControlEntryFilter.matches`.
    pub fn matches(&self, acl: &AclBinding) -> bool {
        self.matches_pattern(acl) && self.matches_entry(acl)
    }

    fn matches_pattern(&self, acl: &AclBinding) -> bool {
        if self.resource_type.is_some_and(|t| t != acl.resource_type) {
            return false;
        }
        if let PatternTypeFilter::Is(p) = self.pattern_type {
            if p != acl.pattern_type {
                return false;
            }
        }
        let Some(name) = &self.resource_name else {
            return true;
        };
        match self.pattern_type {
            PatternTypeFilter::Any | PatternTypeFilter::Is(_) => *name == acl.resource_name,
            // The ACLs that would apply to a resource called `name`.
            PatternTypeFilter::Match => match acl.pattern_type {
                PatternType::Literal => *name == acl.resource_name || acl.resource_name == WILDCARD,
                PatternType::Prefixed => name.starts_with(acl.resource_name.as_str()),
            },
        }
    }

    fn matches_entry(&self, acl: &AclBinding) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == acl.principal)
            && self.host.as_ref().is_none_or(|h| *h == acl.host)
            && self.operation.is_none_or(|op| op == acl.operation)
            && self.permission.is_none_or(|p| p == acl.permission)
    }
}
