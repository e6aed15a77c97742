//! `brook acl`'s checks of its options and the filters and ACLs they become.

use super::*;

fn spec() -> AclSpec {
    AclSpec::default()
}

fn usage_of(r: Result<impl std::fmt::Debug, CliError>) -> String {
    match r {
        Err(CliError::Usage(m)) => m,
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[test]
fn operations_read_in_kafkas_names_in_any_case() {
    assert_eq!(parse_operation("Read").unwrap(), AclOp::Only(crate::auth::AclOperation::Read));
    assert_eq!(parse_operation("describeconfigs").unwrap().name(), "DESCRIBE_CONFIGS");
    assert_eq!(parse_operation("DESCRIBE_CONFIGS").unwrap().name(), "DESCRIBE_CONFIGS");
    assert_eq!(parse_operation("IdempotentWrite").unwrap().name(), "IDEMPOTENT_WRITE");
    assert_eq!(parse_operation("all").unwrap(), AclOp::All);
    assert!(usage_of(parse_operation("Any")).contains("unknown operation"));
}

#[test]
fn add_is_the_product_and_refuses_what_kafka_refuses() {
    let s = AclSpec {
        allow_principals: vec!["User:alice".into()],
        deny_principals: vec!["User:mallory".into()],
        operations: vec!["Read".into(), "Describe".into()],
        topics: vec!["orders".into()],
        groups: vec!["billing-".into()],
        resource_pattern_type: Some("PREFIXED".into()),
        ..spec()
    };
    let acls = bindings(&s).unwrap();
    assert_eq!(acls.len(), 2 * 2 * 2);
    assert!(acls.iter().all(|a| a.host == "*" && a.pattern_type == PatternType::Prefixed.code()));
    assert!(acls.iter().any(|a| a.principal == "User:mallory" && a.permission == AclPermission::Deny.code()));

    for (bad, why) in [
        (AclSpec { topics: vec![], groups: vec![], ..s.clone() }, "needs a resource"),
        (AclSpec { allow_principals: vec![], deny_principals: vec![], ..s.clone() }, "needs --allow-principal"),
        (AclSpec { principals: vec!["User:x".into()], ..s.clone() }, "--principal is for list and remove"),
        (AclSpec { operations: vec![], ..s.clone() }, "needs --operation"),
        (AclSpec { resource_pattern_type: Some("match".into()), ..s.clone() }, "literal or prefixed"),
        (AclSpec { resource_pattern_type: Some("glob".into()), ..s.clone() }, "unknown resource pattern type"),
        (AclSpec { allow_principals: vec!["alice".into()], ..s.clone() }, "is not Type:Name"),
        (AclSpec { operations: vec!["ClusterAction".into()], ..s.clone() }, "TOPIC ACLs cannot grant CLUSTER_ACTION"),
        (AclSpec { topics: vec!["".into()], ..s.clone() }, "an empty topic name"),
    ] {
        let err = usage_of(bindings(&bad));
        assert!(err.contains(why), "{err}");
    }
    let cluster = AclSpec { topics: vec![], groups: vec![], cluster: true, operations: vec!["All".into()], ..s };
    assert!(bindings(&cluster).unwrap().iter().all(|a| a.resource_name == CLUSTER_NAME));
}

#[test]
fn filters_match_anything_left_out_and_remove_needs_a_resource() {
    let all = filters(&spec(), false).unwrap();
    assert_eq!(all.len(), 1);
    let f = &all[0];
    assert!(f.resource.is_none() && f.principal.is_none() && f.operation.is_none() && f.host.is_none());
    assert_eq!(f.pattern, PatternTypeFilter::Any);
    assert!(usage_of(filters(&spec(), true)).contains("acl remove needs a resource"));
    let s = AclSpec {
        principals: vec!["User:a".into()],
        deny_principals: vec!["User:b".into()],
        topics: vec!["t".into()],
        resource_pattern_type: Some("match".into()),
        ..spec()
    };
    let fs = filters(&s, true).unwrap();
    assert_eq!(fs.len(), 2);
    assert!(fs.iter().all(|f| f.pattern == PatternTypeFilter::Match));
    assert!(fs.iter().any(|f| f.principal.as_deref() == Some("User:a") && f.permission.is_none()));
    assert!(fs.iter().any(|f| f.principal.as_deref() == Some("User:b") && f.permission == Some(AclPermission::Deny)));
}
