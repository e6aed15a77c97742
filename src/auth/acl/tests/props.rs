//! Properties of the authorizer over arbitrary ACLs and requests: it never panics, it agrees
//! with a plain reading of Kafka's rules over the list (so the index loses nothing), and
//! adding a DENY never allows what was denied.

use std::collections::BTreeSet;
use std::net::IpAddr;

use proptest::prelude::*;

use super::*;
use crate::auth::acl::split_principal;

/// Names drawn from a few letters so that literals, prefixes and wildcards collide often, with
/// a multi-byte letter and the odd arbitrary string.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[ab*\u{e9}]{0,4}",
        1 => any::<String>(),
    ]
}

fn principal() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("User:alice".to_string()),
        Just("User:bob".to_string()),
        Just("User:*".to_string()),
        Just("Group:alice".to_string()),
        Just("User:alice:x".to_string()),
        // Never valid: the index must skip it, not trip on it.
        Just("alice".to_string()),
        any::<String>(),
    ]
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        Just("10.0.0.1".to_string()),
        Just("10.0.0.2".to_string()),
        Just("::1".to_string()),
        Just("0:0:0:0:0:0:0:1".to_string()),
        Just("localhost".to_string()),
        any::<String>(),
    ]
}

fn resource_type() -> impl Strategy<Value = ResourceType> {
    prop::sample::select(ResourceType::EVERY.to_vec())
}

fn operation() -> impl Strategy<Value = AclOperation> {
    prop::sample::select(AclOperation::EVERY.to_vec())
}

fn acl_op() -> impl Strategy<Value = AclOp> {
    prop_oneof![1 => Just(AclOp::All), 6 => operation().prop_map(AclOp::Only)]
}

fn binding() -> impl Strategy<Value = AclBinding> {
    (
        resource_type(),
        name(),
        prop_oneof![Just(Literal), Just(Prefixed)],
        principal(),
        host(),
        acl_op(),
        prop_oneof![Just(Allow), Just(Deny)],
    )
        .prop_map(|(resource_type, resource_name, pattern_type, principal, host, operation, permission)| {
            AclBinding { resource_type, resource_name, pattern_type, principal, host, operation, permission }
        })
}

/// Who asks, from where, for what.
#[derive(Debug, Clone)]
struct Request {
    principal: KafkaPrincipal,
    ip: IpAddr,
    op: AclOperation,
    resource: ResourceType,
    name: String,
}

fn request() -> impl Strategy<Value = Request> {
    let who = prop_oneof![
        Just(("User", "alice")),
        Just(("User", "bob")),
        Just(("User", "*")),
        Just(("Group", "alice")),
        Just(("User", "alice:x")),
        Just(("User", "superman")),
    ];
    let ip = prop_oneof![
        Just("10.0.0.1".parse::<IpAddr>().expect("ip")),
        Just("10.0.0.2".parse::<IpAddr>().expect("ip")),
        Just("::1".parse::<IpAddr>().expect("ip")),
    ];
    (who, ip, operation(), resource_type(), name()).prop_map(|((t, n), ip, op, resource, name)| Request {
        principal: KafkaPrincipal { principal_type: t.into(), name: n.into() },
        ip,
        op,
        resource,
        name,
    })
}

/// Kafka's rules read straight off StandardAuthorizerData, over the whole list.
fn reference(acls: &BTreeSet<AclBinding>, allow_if_no_acl: bool, r: &Request) -> bool {
    if r.principal.principal_type == "User" && r.principal.name == "superman" {
        return true;
    }
    let mut found = false;
    let mut allowed = false;
    for acl in acls.iter().filter(|a| a.resource_type == r.resource) {
        let resource_matches = match acl.pattern_type {
            PatternType::Literal => acl.resource_name == r.name || acl.resource_name == "*",
            PatternType::Prefixed => r.name.starts_with(acl.resource_name.as_str()),
        };
        if !resource_matches {
            continue;
        }
        found = true;
        let principal_matches = split_principal(&acl.principal).is_some_and(|(t, n)| {
            (t == r.principal.principal_type && n == r.principal.name) || (t == "User" && n == "*")
        });
        let host_matches = acl.host == "*" || acl.host.parse::<IpAddr>().is_ok_and(|h| h == r.ip);
        let op_matches = match acl.operation {
            AclOp::All => true,
            AclOp::Only(granted) => {
                granted == r.op
                    || (acl.permission == Allow
                        && match r.op {
                            AclOperation::Describe => matches!(
                                granted,
                                AclOperation::Read | AclOperation::Write | AclOperation::Delete | AclOperation::Alter
                            ),
                            AclOperation::DescribeConfigs => granted == AclOperation::AlterConfigs,
                            _ => false,
                        })
            }
        };
        if principal_matches && host_matches && op_matches {
            match acl.permission {
                Deny => return false,
                Allow => allowed = true,
            }
        }
    }
    allowed || (!found && allow_if_no_acl)
}

fn decide(acls: &BTreeSet<AclBinding>, allow_if_no_acl: bool, r: &Request) -> bool {
    let a = AclAuthorizer::from_settings("User:superman", allow_if_no_acl).expect("settings");
    a.replace_acls(acls.clone());
    a.authorize_principal(&r.principal, r.ip, r.op, r.resource, &r.name)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any ACLs, any request: an answer, and the same answer as the plain reading.
    #[test]
    fn authorize_never_panics_and_agrees_with_kafkas_rules(
        acls in prop::collection::btree_set(binding(), 0..24),
        allow_if_no_acl in any::<bool>(),
        requests in prop::collection::vec(request(), 1..8),
    ) {
        for r in &requests {
            prop_assert_eq!(decide(&acls, allow_if_no_acl, r), reference(&acls, allow_if_no_acl, r), "{:?}", r);
        }
    }

    /// A DENY can only take permissions away.
    #[test]
    fn adding_a_deny_never_allows_what_was_denied(
        acls in prop::collection::btree_set(binding(), 0..24),
        deny in binding(),
        allow_if_no_acl in any::<bool>(),
        requests in prop::collection::vec(request(), 1..8),
    ) {
        let deny = AclBinding { permission: Deny, ..deny };
        let mut with_deny = acls.clone();
        with_deny.insert(deny);
        for r in &requests {
            if !decide(&acls, allow_if_no_acl, r) {
                prop_assert!(!decide(&with_deny, allow_if_no_acl, r), "{:?}", r);
            }
        }
    }

    /// Requests for names under the ACLs' own patterns, where prefixes really apply.
    #[test]
    fn prefixes_of_known_names_agree_with_kafkas_rules(
        acls in prop::collection::btree_set(binding(), 1..24),
        pick in any::<prop::sample::Index>(),
        suffix in "[ab\u{e9}]{0,3}",
        r in request(),
    ) {
        let base = *pick.get(&acls.iter().collect::<Vec<_>>());
        let r = Request { resource: base.resource_type, name: format!("{}{suffix}", base.resource_name), ..r };
        prop_assert_eq!(decide(&acls, false, &r), reference(&acls, false, &r));
    }
}
