//! The model: wire codes, CreateAcls validation, and the filters of DescribeAcls and
//! DeleteAcls.

use super::*;
use crate::auth::acl::{AclBindingFilter, AclError, PatternTypeFilter, WireAcl, WireAclFilter};
use crate::error::ErrorCode;
use AclOperation::*;
use ResourceType::{Group, Topic};

const INVALID_REQUEST: i16 = 42;

/// Kafka's AclPermissionType DENY 2 / ALLOW 3, PatternType ANY 1 / MATCH 2 / LITERAL 3 /
/// PREFIXED 4, AclOperation ALL 2; the rest are not values a stored ACL has.
#[test]
fn codes_are_kafkas() {
    assert_eq!((Deny.code(), Allow.code()), (2, 3));
    assert_eq!((Literal.code(), Prefixed.code()), (3, 4));
    assert_eq!(PatternTypeFilter::Any.code(), 1);
    assert_eq!(PatternTypeFilter::Match.code(), 2);
    assert_eq!(AclOp::All.code(), 2);
    assert_eq!(AclOp::from_code(2), Some(AclOp::All));
    assert_eq!(AclOp::from_code(14), Some(op(DescribeTokens)));
    for code in [0, 1, 15, -1] {
        assert_eq!(AclOp::from_code(code), None);
        assert_eq!(AclPermission::from_code(code), None);
        assert_eq!(PatternType::from_code(code), None);
    }
    assert_eq!(PatternType::from_code(2), None, "MATCH is a filter type");
    assert_eq!(PatternTypeFilter::from_code(0), None);
    assert_eq!(PatternTypeFilter::from_code(4), Some(PatternTypeFilter::Is(Prefixed)));
    assert_eq!(AclOp::from_name("ALL"), Some(AclOp::All));
    assert_eq!(AclPermission::from_name("DENY"), Some(Deny));
    assert_eq!(PatternType::from_name("PREFIXED"), Some(Prefixed));
}

fn wire() -> WireAcl {
    WireAcl {
        resource_type: Topic.code(),
        resource_name: "*".into(),
        pattern_type: Literal.code(),
        principal: "User:*".into(),
        host: "*".into(),
        operation: Alter.code(),
        permission: Allow.code(),
    }
}

fn refusal(w: WireAcl) -> String {
    match AclBinding::from_wire(w) {
        Err(e @ AclError::InvalidRequest(_)) => {
            assert_eq!(e.code(), INVALID_REQUEST);
            e.to_string()
        }
        other => panic!("expected INVALID_REQUEST, got {other:?}"),
    }
}

/// AclControlManagerTest.testValidateNewAcl, with ANY and MATCH too (Kafka refuses those
/// when it builds the binding).
#[test]
fn create_refuses_unknown_and_any_codes() {
    let ok = AclBinding::from_wire(wire()).expect("valid");
    assert_eq!(ok, acl(Topic, "*", Literal, "User:*", "*", op(Alter), Allow));
    assert_eq!(refusal(WireAcl { pattern_type: 0, ..wire() }), "Invalid patternType UNKNOWN");
    assert_eq!(refusal(WireAcl { pattern_type: 1, ..wire() }), "Invalid patternType ANY");
    assert_eq!(refusal(WireAcl { pattern_type: 2, ..wire() }), "Invalid patternType MATCH");
    assert_eq!(refusal(WireAcl { resource_type: 0, ..wire() }), "Invalid resourceType UNKNOWN");
    assert_eq!(refusal(WireAcl { resource_type: 1, ..wire() }), "Invalid resourceType ANY");
    assert_eq!(refusal(WireAcl { resource_type: 99, ..wire() }), "Invalid resourceType UNKNOWN");
    assert_eq!(refusal(WireAcl { operation: 0, ..wire() }), "Invalid operation UNKNOWN");
    assert_eq!(refusal(WireAcl { operation: 1, ..wire() }), "Invalid operation ANY");
    assert_eq!(refusal(WireAcl { permission: 0, ..wire() }), "Invalid permissionType UNKNOWN");
    assert_eq!(refusal(WireAcl { permission: 1, ..wire() }), "Invalid permissionType ANY");
    let all = AclBinding::from_wire(WireAcl { operation: 2, permission: 2, ..wire() }).expect("ALL DENY");
    assert_eq!((all.operation, all.permission), (AclOp::All, Deny));
}

/// AclApis.handleCreateAcls: one CLUSTER name, no empty names; and a principal must be
/// `Type:Name` (SecurityUtils.parseKafkaPrincipal).
#[test]
fn create_refuses_bad_names_and_principals() {
    assert_eq!(refusal(WireAcl { resource_name: String::new(), ..wire() }), "Invalid empty resource name");
    let cluster =
        |name: &str| WireAcl { resource_type: ResourceType::Cluster.code(), resource_name: name.into(), ..wire() };
    assert_eq!(refusal(cluster("other")), "The only valid name for the CLUSTER resource is kafka-cluster");
    assert!(AclBinding::from_wire(cluster("kafka-cluster")).is_ok());
    assert_eq!(
        refusal(WireAcl { principal: "alice".into(), ..wire() }),
        "expected a string in format principalType:principalName but got alice"
    );
    assert_eq!(
        refusal(WireAcl { principal: String::new(), ..wire() }),
        "expected a string in format principalType:principalName but got "
    );
    // Kafka splits at the first colon: the name may hold more.
    assert!(AclBinding::from_wire(WireAcl { principal: "User:CN=a:b".into(), ..wire() }).is_ok());
    // Kafka doesn't refuse PREFIXED `*`: it matches names that start with `*`.
    assert!(AclBinding::from_wire(WireAcl { pattern_type: Prefixed.code(), ..wire() }).is_ok());
}

fn wire_filter() -> WireAclFilter {
    WireAclFilter {
        resource_type: 1,
        resource_name: Some("*".into()),
        pattern_type: Literal.code(),
        principal: Some("User:*".into()),
        host: Some("*".into()),
        operation: 1,
        permission: 1,
    }
}

/// AclControlManagerTest.testValidateFilter.
#[test]
fn filters_refuse_unknown_codes() {
    let f = AclBindingFilter::from_wire(wire_filter()).expect("valid");
    assert_eq!((f.resource_type, f.operation, f.permission), (None, None, None));
    let refused = |w: WireAclFilter| AclBindingFilter::from_wire(w).expect_err("unknown").to_string();
    assert_eq!(refused(WireAclFilter { pattern_type: 0, ..wire_filter() }), "Unknown patternFilter.");
    assert_eq!(refused(WireAclFilter { resource_type: 0, ..wire_filter() }), "Unknown patternFilter.");
    assert_eq!(refused(WireAclFilter { pattern_type: 2, permission: 0, ..wire_filter() }), "Unknown entryFilter.");
    assert_eq!(refused(WireAclFilter { operation: 0, ..wire_filter() }), "Unknown entryFilter.");
    assert_eq!(refused(WireAclFilter { operation: 20, ..wire_filter() }), "Unknown entryFilter.");
    let all = AclBindingFilter::from_wire(WireAclFilter { operation: 2, permission: 3, ..wire_filter() }).expect("ok");
    assert_eq!((all.operation, all.permission), (Some(AclOp::All), Some(Allow)));
}

fn pattern_filter(
    resource_type: Option<ResourceType>,
    name: Option<&str>,
    pattern: PatternTypeFilter,
) -> AclBindingFilter {
    AclBindingFilter {
        resource_type,
        resource_name: name.map(str::to_string),
        pattern_type: pattern,
        ..AclBindingFilter::any()
    }
}

fn pattern(resource_type: ResourceType, name: &str, pattern_type: PatternType) -> AclBinding {
    acl(resource_type, name, pattern_type, "User:ANONYMOUS", "*", op(Read), Allow)
}

/// ResourcePatternFilterTest, case by case.
#[test]
fn resource_pattern_filters_match_as_kafkas() {
    use PatternTypeFilter::{Any, Is, Match};
    let cases: [(AclBindingFilter, AclBinding, bool); 20] = [
        (pattern_filter(Some(Topic), Some("Name"), Is(Literal)), pattern(Group, "Name", Literal), false),
        (pattern_filter(Some(Topic), Some("Different"), Is(Prefixed)), pattern(Topic, "Name", Prefixed), false),
        (pattern_filter(Some(Topic), Some("NAME"), Is(Literal)), pattern(Topic, "Name", Literal), false),
        (pattern_filter(Some(Topic), Some("Name"), Is(Literal)), pattern(Topic, "Name", Prefixed), false),
        (pattern_filter(None, Some("Name"), Is(Prefixed)), pattern(Topic, "Name", Prefixed), true),
        (pattern_filter(Some(Topic), None, Is(Prefixed)), pattern(Topic, "Name", Prefixed), true),
        (pattern_filter(Some(Topic), None, Any), pattern(Topic, "Name", Prefixed), true),
        (pattern_filter(Some(Topic), None, Match), pattern(Topic, "Name", Prefixed), true),
        (pattern_filter(Some(Topic), Some("Name"), Is(Literal)), pattern(Topic, "Name", Literal), true),
        (pattern_filter(Some(Topic), Some("Name"), Any), pattern(Topic, "Name", Literal), true),
        (pattern_filter(Some(Topic), Some("Name"), Match), pattern(Topic, "Name", Literal), true),
        (pattern_filter(Some(Topic), Some("Name-something"), Match), pattern(Topic, "Name", Literal), false),
        (pattern_filter(Some(Topic), Some("*"), Is(Literal)), pattern(Topic, "*", Literal), true),
        (pattern_filter(Some(Topic), Some("Name"), Is(Literal)), pattern(Topic, "*", Literal), false),
        (pattern_filter(Some(Topic), Some("*"), Is(Literal)), pattern(Topic, "Name", Literal), false),
        (pattern_filter(Some(Topic), Some("Name"), Any), pattern(Topic, "*", Literal), false),
        (pattern_filter(Some(Topic), Some("Name"), Match), pattern(Topic, "*", Literal), true),
        (pattern_filter(Some(Topic), Some("Name"), Is(Prefixed)), pattern(Topic, "Name", Prefixed), true),
        (pattern_filter(Some(Topic), Some("Name"), Is(Prefixed)), pattern(Topic, "Name-something", Prefixed), false),
        (pattern_filter(Some(Topic), Some("Name-something"), Is(Prefixed)), pattern(Topic, "Name", Prefixed), false),
    ];
    for (i, (filter, binding, expected)) in cases.iter().enumerate() {
        assert_eq!(filter.matches(binding), *expected, "case {i}: {filter:?} on {binding:?}");
    }
    // ...NamePrefixedAnyFilterTypeIsAny / ...IsMatch.
    let prefixed = pattern(Topic, "Name", Prefixed);
    assert!(!pattern_filter(Some(Topic), Some("Name-something"), Any).matches(&prefixed));
    assert!(pattern_filter(Some(Topic), Some("Name-something"), Match).matches(&prefixed));
}

/// AclBindingTest.testMatching: the entry filter's null principal and host, ANY operation
/// and permission match anything; set fields compare exactly.
#[test]
fn entry_filters_match_as_kafkas() {
    let acl1 = acl(Topic, "mytopic", Literal, "User:ANONYMOUS", "", AclOp::All, Allow);
    let acl2 = acl(Topic, "mytopic", Literal, "User:*", "", op(Read), Allow);
    let acl3 = acl(Topic, "mytopic2", Literal, "User:ANONYMOUS", "127.0.0.1", op(Read), Deny);
    let any_anonymous = AclBindingFilter { principal: Some("User:ANONYMOUS".into()), ..AclBindingFilter::any() };
    let any_deny = AclBindingFilter { permission: Some(Deny), ..AclBindingFilter::any() };
    let any_mytopic = pattern_filter(Some(Topic), Some("mytopic"), PatternTypeFilter::Is(Literal));
    let matches = |f: &AclBindingFilter| [&acl1, &acl2, &acl3].map(|a| f.matches(a));
    assert_eq!(matches(&AclBindingFilter::any()), [true, true, true]);
    assert_eq!(matches(&any_anonymous), [true, false, true]);
    assert_eq!(matches(&any_deny), [false, false, true]);
    assert_eq!(matches(&any_mytopic), [true, true, false]);
    let by_host = AclBindingFilter { host: Some("127.0.0.1".into()), ..AclBindingFilter::any() };
    assert_eq!(matches(&by_host), [false, false, true]);
    // A filter for READ does not select an ALL ACL: the operation compares exactly.
    let read = AclBindingFilter { operation: Some(op(Read)), ..AclBindingFilter::any() };
    assert_eq!(matches(&read), [false, true, true]);
    let all = AclBindingFilter { operation: Some(AclOp::All), ..AclBindingFilter::any() };
    assert_eq!(matches(&all), [true, false, false]);
    for a in [&acl1, &acl2, &acl3] {
        assert!(a.to_filter().matches(a));
    }
    assert!(!acl1.to_filter().matches(&acl2));
}
