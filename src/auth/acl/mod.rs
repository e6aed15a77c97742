//! ACLs (issue 17): Kafka's ACL model (`model.rs`) and its checks of requests (`checks.rs`),
//! the authorizer that enforces them with Kafka's `StandardAuthorizer` rules
//! ([`AclAuthorizer`]), and their durable store ([`AclStore`]). Used only when an authorizer
//! is configured: without one the broker keeps [`super::AllowAll`], as Kafka without
//! `authorizer.class.name` does, because with no ACLs this authorizer denies everyone but
//! the super users.

mod authorizer;
mod checks;
mod model;
mod store;

#[cfg(test)]
mod tests;

pub use authorizer::{parse_super_users, AclAuthorizer};
pub use checks::{AclError, WireAcl, WireAclFilter};
pub use model::{
    split_principal, AclBinding, AclBindingFilter, AclOp, AclPermission, PatternType, PatternTypeFilter, CLUSTER_NAME,
    WILDCARD, WILDCARD_PRINCIPAL,
};
pub use store::{AclStore, ACLS_FILE, MAX_CHANGES_PER_REQUEST};
