//! The checks Kafka makes of ACLs and filters as requests carry them, before it acts:
//! CreateAcls' codes, names and principals ([`AclBinding::from_wire`]), DescribeAcls' and
//! DeleteAcls' filter codes ([`AclBindingFilter::from_wire`]), and the errors they answer.

use kafka_protocol::error::ResponseError;

use super::model::{
    split_principal, AclBinding, AclBindingFilter, AclOp, AclPermission, PatternType, PatternTypeFilter, ANY_CODE,
    CLUSTER_NAME,
};
use crate::auth::ResourceType;
use crate::error::{ErrorCode, StorageError};

/// Why an ACL request (or part of it) was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AclError {
    /// Kafka's InvalidRequestException: a code that is UNKNOWN or ANY where a concrete value
    /// is needed, an empty resource name, a principal that isn't `Type:Name`.
    #[error("{0}")]
    InvalidRequest(String),
    /// More changes in one request than Kafka's controller takes in one operation
    /// (`QuorumController.MAX_RECORDS_PER_USER_OP`); Kafka fails with a
    /// `BoundedListTooLongException`, which clients see as UNKNOWN_SERVER_ERROR.
    #[error("{0}")]
    TooManyChanges(String),
    /// `acls.json` could not be written: nothing changed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ErrorCode for AclError {
    fn code(&self) -> i16 {
        match self {
            AclError::InvalidRequest(_) => ResponseError::InvalidRequest.code(),
            AclError::TooManyChanges(_) => ResponseError::UnknownServerError.code(),
            AclError::Storage(e) => e.code(),
        }
    }
}

fn invalid(message: String) -> AclError {
    AclError::InvalidRequest(message)
}

/// Kafka's name for a code that is no concrete value: ANY, or UNKNOWN for the rest.
fn abstract_name(code: i8) -> &'static str {
    if code == ANY_CODE {
        "ANY"
    } else {
        "UNKNOWN"
    }
}

/// One ACL as CreateAcls carries it, codes not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireAcl {
    pub resource_type: i8,
    pub resource_name: String,
    pub pattern_type: i8,
    pub principal: String,
    pub host: String,
    pub operation: i8,
    pub permission: i8,
}

impl AclBinding {
    /// The ACL a CreateAcls creation asks for, refused as Kafka refuses it: a code that is
    /// UNKNOWN or ANY (or MATCH) where a concrete value is needed, with
    /// `AclControlManager.validateNewAcl`'s messages, then [`AclBinding::validate`].
    pub fn from_wire(w: WireAcl) -> Result<Self, AclError> {
        let resource_type = ResourceType::from_code(w.resource_type)
            .ok_or_else(|| invalid(format!("Invalid resourceType {}", abstract_name(w.resource_type))))?;
        let pattern_type = PatternType::from_code(w.pattern_type).ok_or_else(|| {
            let name = if w.pattern_type == 2 { "MATCH" } else { abstract_name(w.pattern_type) };
            invalid(format!("Invalid patternType {name}"))
        })?;
        let operation = AclOp::from_code(w.operation)
            .ok_or_else(|| invalid(format!("Invalid operation {}", abstract_name(w.operation))))?;
        let permission = AclPermission::from_code(w.permission)
            .ok_or_else(|| invalid(format!("Invalid permissionType {}", abstract_name(w.permission))))?;
        let binding = AclBinding {
            resource_type,
            resource_name: w.resource_name,
            pattern_type,
            principal: w.principal,
            host: w.host,
            operation,
            permission,
        };
        binding.validate()?;
        Ok(binding)
    }

    /// Kafka's checks of a new ACL beyond its codes: the CLUSTER resource has one name and
    /// no name is empty (`AclApis.handleCreateAcls`), and the principal is `Type:Name`.
    /// Kafka takes a principal without a colon and fails on it later, at every authorization
    /// that reaches the ACL (`StandardAcl.kafkaPrincipal` throws); refusing it here, with
    /// `SecurityUtils.parseKafkaPrincipal`'s message, keeps such an ACL out.
    pub fn validate(&self) -> Result<(), AclError> {
        if self.resource_type == ResourceType::Cluster && self.resource_name != CLUSTER_NAME {
            return Err(invalid(format!("The only valid name for the CLUSTER resource is {CLUSTER_NAME}")));
        }
        if self.resource_name.is_empty() {
            return Err(invalid("Invalid empty resource name".into()));
        }
        if split_principal(&self.principal).is_none() {
            return Err(invalid(format!(
                "expected a string in format principalType:principalName but got {}",
                self.principal
            )));
        }
        Ok(())
    }
}

/// One filter as DescribeAcls or DeleteAcls carries it, codes not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireAclFilter {
    pub resource_type: i8,
    pub resource_name: Option<String>,
    pub pattern_type: i8,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: i8,
    pub permission: i8,
}

/// A filter code: ANY is `None`, a concrete value `Some`, anything else (UNKNOWN) an error.
fn filter_code<T>(code: i8, concrete: impl FnOnce(i8) -> Option<T>) -> Result<Option<T>, ()> {
    if code == ANY_CODE {
        return Ok(None);
    }
    concrete(code).map(Some).ok_or(())
}

impl AclBindingFilter {
    /// The filter a request carries, refused with INVALID_REQUEST when a code is UNKNOWN (or
    /// undefined), with `AclControlManager.validateFilter`'s messages. Version 0 of
    /// DescribeAcls and DeleteAcls knows no pattern types: its handler reads ANY as LITERAL
    /// and refuses others with UNSUPPORTED_VERSION before this (Kafka's
    /// `normalizeAndValidate`).
    pub fn from_wire(w: WireAclFilter) -> Result<Self, AclError> {
        let resource_type = filter_code(w.resource_type, ResourceType::from_code);
        let pattern_type = PatternTypeFilter::from_code(w.pattern_type);
        let (Ok(resource_type), Some(pattern_type)) = (resource_type, pattern_type) else {
            return Err(invalid("Unknown patternFilter.".into()));
        };
        let operation = filter_code(w.operation, AclOp::from_code);
        let permission = filter_code(w.permission, AclPermission::from_code);
        let (Ok(operation), Ok(permission)) = (operation, permission) else {
            return Err(invalid("Unknown entryFilter.".into()));
        };
        Ok(AclBindingFilter {
            resource_type,
            resource_name: w.resource_name,
            pattern_type,
            principal: w.principal,
            host: w.host,
            operation,
            permission,
        })
    }
}
