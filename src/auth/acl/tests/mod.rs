//! Unit tests of the ACLs, most of them Kafka's own cases (StandardAuthorizerTest,
//! AclControlManagerTest, ResourcePatternFilterTest, AclBindingTest) in Brook's terms.

mod authorizer;
mod model;
mod props;
mod store;

use std::net::SocketAddr;

use super::{AclAuthorizer, AclBinding, AclOp, AclPermission, PatternType};
use crate::auth::{AclOperation, KafkaPrincipal, ResourceType, Session};

use AclPermission::{Allow, Deny};
use PatternType::{Literal, Prefixed};

/// An ACL the way Kafka's tests write a `StandardAcl`.
fn acl(
    resource_type: ResourceType,
    name: &str,
    pattern_type: PatternType,
    principal: &str,
    host: &str,
    operation: AclOp,
    permission: AclPermission,
) -> AclBinding {
    AclBinding {
        resource_type,
        resource_name: name.into(),
        pattern_type,
        principal: principal.into(),
        host: host.into(),
        operation,
        permission,
    }
}

fn op(operation: AclOperation) -> AclOp {
    AclOp::Only(operation)
}

/// A session of `User:<name>` from `ip` (Kafka's MockAuthorizableRequestContext).
fn session_from(name: &str, ip: &str) -> Session {
    let peer: SocketAddr = SocketAddr::new(ip.parse().expect("test address"), 50000);
    let session = Session::plaintext(peer);
    session.authenticated(KafkaPrincipal { principal_type: "User".into(), name: name.into() });
    session
}

fn session(name: &str) -> Session {
    session_from(name, "127.0.0.1")
}

/// Kafka's `createAndInitializeStandardAuthorizer`: super user `User:superman`, then `acls`.
fn authorizer(acls: impl IntoIterator<Item = AclBinding>) -> AclAuthorizer {
    let authorizer = AclAuthorizer::from_settings("User:superman", false).expect("settings");
    authorizer.replace_acls(acls.into_iter().collect());
    authorizer
}
