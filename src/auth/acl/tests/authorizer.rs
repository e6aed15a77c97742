//! The authorizer: StandardAuthorizerTest's cases, and the rules they don't spell out.

use super::*;
use crate::auth::acl::{parse_super_users, AclBindingFilter, PatternTypeFilter};
use crate::auth::Authorizer;
use AclOperation::*;
use ResourceType::{Cluster, Group, Topic};

fn principal(name: &str) -> KafkaPrincipal {
    KafkaPrincipal { principal_type: "User".into(), name: name.into() }
}

fn allowed(a: &AclAuthorizer, who: &Session, checks: &[(AclOperation, ResourceType, &str)]) -> Vec<bool> {
    checks.iter().map(|(op, resource, name)| a.authorize(who, *op, *resource, name)).collect()
}

/// testGetConfiguredSuperUsers.
#[test]
fn super_users_parse_as_kafkas() {
    assert_eq!(parse_super_users(""), Ok(vec![]));
    assert_eq!(parse_super_users(" "), Ok(vec![]));
    assert_eq!(parse_super_users("User:bob;User:alice "), Ok(vec![principal("bob"), principal("alice")]));
    assert_eq!(parse_super_users(";  User:bob  ;  User:alice "), Ok(vec![principal("bob"), principal("alice")]));
    assert_eq!(
        parse_super_users("bob;:alice"),
        Err("expected a string in format principalType:principalName but got bob".into())
    );
    let a = AclAuthorizer::from_settings("User:alice;User:chris", true).expect("settings");
    assert_eq!(a.super_users(), [principal("alice"), principal("chris")]);
    assert!(AclAuthorizer::from_settings("alice", false).is_err());
}

/// Super users may do anything, even what a DENY for them or everyone denies
/// (testAuthorizationPriorToCompleteInitialLoad's superman).
#[test]
fn super_users_are_always_allowed() {
    let a = authorizer([
        acl(Topic, "*", Literal, "User:*", "*", AclOp::All, Deny),
        acl(Group, "wheel", Literal, "User:superman", "*", op(Write), Deny),
    ]);
    let checks = [(Read, Topic, "green1"), (Write, Group, "wheel"), (Alter, Cluster, "kafka-cluster")];
    assert_eq!(allowed(&a, &session("superman"), &checks), [true, true, true]);
    assert_eq!(allowed(&a, &session("bob"), &checks), [false, false, false]);
    // The principal type counts: `Group:superman` is someone else.
    let other = Session::plaintext("127.0.0.1:1".parse().expect("addr"));
    other.authenticated(KafkaPrincipal { principal_type: "Group".into(), name: "superman".into() });
    assert!(!a.authorize(&other, Read, Topic, "green1"));
}

/// With no ACLs at all everyone but the super users is denied (Kafka's default
/// `allow.everyone.if.no.acl.found=false`): why the broker keeps AllowAll unless an
/// authorizer is configured.
#[test]
fn no_acls_deny_everyone_but_super_users() {
    let a = authorizer([]);
    assert!(!a.authorize(&session("bob"), Describe, Topic, "t"));
    assert!(!a.authorize(&session("ANONYMOUS"), Describe, Cluster, "kafka-cluster"));
    assert!(a.authorize(&session("superman"), Describe, Topic, "t"));
}

/// testAllowEveryoneIfNoAclFoundConfigEnabled / ...Disabled: the default applies only to a
/// resource no ACL's pattern matches, whoever that ACL is for.
#[test]
fn allow_everyone_if_no_acl_found_applies_only_to_resources_without_acls() {
    let acls = [acl(Topic, "topic1", Literal, "User:Alice", "*", op(Read), Allow)];
    let enabled = AclAuthorizer::from_settings("User:alice;User:chris", true).expect("settings");
    enabled.replace_acls(acls.iter().cloned().collect());
    let disabled = AclAuthorizer::from_settings("User:alice;User:chris", false).expect("settings");
    disabled.replace_acls(acls.iter().cloned().collect());
    let bob = session("Bob");
    assert_eq!(allowed(&enabled, &bob, &[(Read, Topic, "topic1"), (Read, Topic, "topic2")]), [false, true]);
    assert_eq!(allowed(&disabled, &bob, &[(Read, Topic, "topic1"), (Read, Topic, "topic2")]), [false, false]);
    // A prefixed or wildcard pattern makes ACLs "found" for every name it covers.
    enabled.replace_acls(
        [
            acl(Topic, "top", Prefixed, "User:Alice", "*", op(Read), Allow),
            acl(Group, "*", Literal, "User:Alice", "*", op(Read), Allow),
        ]
        .into_iter()
        .collect(),
    );
    let checks =
        [(Read, Topic, "topic2"), (Read, Topic, "other"), (Read, Group, "g"), (Read, Cluster, "kafka-cluster")];
    assert_eq!(allowed(&enabled, &bob, &checks), [false, true, false, true]);
}

fn foo_acl(operation: AclOperation, permission: AclPermission) -> AclBinding {
    acl(Topic, "foo_", Prefixed, "User:bob", "*", op(operation), permission)
}

/// testFindResultImplication: an ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE,
/// of ALTER_CONFIGS DESCRIBE_CONFIGS; a DENY denies only its own operation.
#[test]
fn allows_imply_describe_and_denies_do_not() {
    let bob = session("bob");
    for granted in [Describe, Read, Write, Delete, Alter] {
        assert!(authorizer([foo_acl(granted, Allow)]).authorize(&bob, Describe, Topic, "foo_bar"), "{granted:?}");
    }
    assert!(!authorizer([foo_acl(Create, Allow)]).authorize(&bob, Describe, Topic, "foo_bar"));
    for granted in [DescribeConfigs, AlterConfigs] {
        assert!(authorizer([foo_acl(granted, Allow)]).authorize(&bob, DescribeConfigs, Topic, "foo_bar"));
    }
    assert!(!authorizer([foo_acl(Read, Allow)]).authorize(&bob, DescribeConfigs, Topic, "foo_bar"));
    // A DENY of READ (WRITE, ...) leaves an ALLOW of DESCRIBE standing...
    for denied in [Read, Write, Delete, Alter] {
        let a = authorizer([foo_acl(denied, Deny), foo_acl(Describe, Allow)]);
        assert!(a.authorize(&bob, Describe, Topic, "foo_bar"), "{denied:?}");
        assert!(!a.authorize(&bob, denied, Topic, "foo_bar"), "{denied:?}");
    }
    let a = authorizer([foo_acl(AlterConfigs, Deny), foo_acl(DescribeConfigs, Allow)]);
    assert!(a.authorize(&bob, DescribeConfigs, Topic, "foo_bar"));
    // ...but a DENY of DESCRIBE itself denies, whatever implies it.
    let a = authorizer([foo_acl(Describe, Deny), foo_acl(Read, Allow)]);
    assert_eq!(allowed(&a, &bob, &[(Describe, Topic, "foo_bar"), (Read, Topic, "foo_bar")]), [false, true]);
    let a = authorizer([foo_acl(AlterConfigs, Deny), foo_acl(AlterConfigs, Allow)]);
    assert!(!a.authorize(&bob, AlterConfigs, Topic, "foo_bar"));
}

/// testFindResultPrincipalMatching: the principal must be the session's, or `User:*`.
#[test]
fn principal_matches_exactly_or_by_wildcard() {
    let a = authorizer([
        foo_acl(Read, Allow),
        acl(Group, "bar", Literal, "User:*", "*", op(Read), Deny),
        acl(Group, "bar", Literal, "User:alice", "*", op(Read), Allow),
    ]);
    assert!(a.authorize(&session("bob"), Read, Topic, "foo_bar"));
    assert!(!a.authorize(&session("alice"), Read, Topic, "foo_bar"));
    assert!(!a.authorize(&session("alice"), Read, Group, "bar"));
    // `User:*` covers principals of any type (Kafka matches the set {principal, User:*}).
    let service = Session::plaintext("127.0.0.1:1".parse().expect("addr"));
    service.authenticated(KafkaPrincipal { principal_type: "Service".into(), name: "x".into() });
    let a = authorizer([acl(Topic, "t", Literal, "User:*", "*", op(Read), Allow)]);
    assert!(a.authorize(&service, Read, Topic, "t"));
    // The name is case-sensitive, and must be the whole name.
    let a = authorizer([acl(Topic, "t", Literal, "User:Bob", "*", op(Read), Allow)]);
    assert!(!a.authorize(&session("bob"), Read, Topic, "t"));
    assert!(!a.authorize(&session("Bo"), Read, Topic, "t"));
}

/// testSimpleAuthorizations.
#[test]
fn simple_authorizations() {
    let a = authorizer([
        foo_acl(Read, Allow),
        foo_acl(Write, Allow),
        acl(Group, "bar", Literal, "User:*", "*", op(DescribeConfigs), Allow),
        acl(Group, "bar", Literal, "User:*", "*", op(AlterConfigs), Allow),
    ]);
    assert!(a.authorize(&session("bob"), Read, Topic, "foo_"));
    assert!(a.authorize(&session("fred"), AlterConfigs, Group, "bar"));
}

/// testDenyPrecedenceWithOperationAll: DENY wins over ALLOW, and ALL denies every operation.
#[test]
fn deny_wins_and_all_denies_everything() {
    let a = authorizer([
        acl(Topic, "foo", Literal, "User:alice", "*", AclOp::All, Deny),
        acl(Topic, "foo", Prefixed, "User:alice", "*", op(Read), Allow),
        acl(Topic, "foo", Literal, "User:*", "*", AclOp::All, Deny),
        acl(Topic, "foo", Prefixed, "User:*", "*", op(Describe), Allow),
    ]);
    let checks = [(Write, Topic, "foo"), (Read, Topic, "foo"), (Describe, Topic, "foo"), (Read, Topic, "foobar")];
    assert_eq!(allowed(&a, &session("alice"), &checks), [false, false, false, true]);
    let checks = [
        (Describe, Topic, "foo"),
        (Read, Topic, "foo"),
        (Write, Topic, "foo"),
        (Describe, Topic, "foobaz"),
        (Read, Topic, "foobaz"),
    ];
    assert_eq!(allowed(&a, &session("bob"), &checks), [false, false, false, true, false]);
}

/// testTopicAclWithOperationAll: an ALLOW of ALL allows every operation.
#[test]
fn allow_all_allows_every_operation() {
    let a = authorizer([
        acl(Topic, "foo", Literal, "User:*", "*", AclOp::All, Allow),
        acl(Topic, "bar", Prefixed, "User:alice", "*", AclOp::All, Allow),
        acl(Topic, "baz", Literal, "User:bob", "*", AclOp::All, Allow),
    ]);
    let alice = [(Write, Topic, "foo"), (DescribeConfigs, Topic, "bar"), (Describe, Topic, "baz")];
    assert_eq!(allowed(&a, &session("alice"), &alice), [true, true, false]);
    let bob = [(Write, Topic, "foo"), (Read, Topic, "bar"), (Describe, Topic, "baz")];
    assert_eq!(allowed(&a, &session("bob"), &bob), [true, false, true]);
    let malory = [(Describe, Topic, "foo"), (Write, Topic, "bar"), (Read, Topic, "baz")];
    assert_eq!(allowed(&a, &session("malory"), &malory), [true, false, false]);
}

/// testHostAddressAclValidation (the local host as 127.0.0.1): a host is the client's
/// address exactly, or `*`.
#[test]
fn host_matches_exact_address_or_wildcard() {
    let (local, host1, host2) = ("127.0.0.1", "192.168.1.1", "192.168.1.2");
    let a = authorizer([
        acl(Topic, "foo", Literal, "User:alice", host1, op(Read), Deny),
        acl(Topic, "foo", Literal, "User:alice", "*", op(Read), Allow),
        acl(Topic, "bar", Literal, "User:bob", host2, op(Read), Allow),
        acl(Topic, "bar", Literal, "User:*", local, op(Describe), Allow),
    ]);
    let checks = [(Read, Topic, "foo"), (Read, Topic, "bar"), (Describe, Topic, "bar")];
    let from = |who: &str, ip: &str| allowed(&a, &session_from(who, ip), &checks);
    assert_eq!(from("alice", local), [true, false, true]);
    assert_eq!(from("alice", host1), [false, false, false]);
    assert_eq!(from("alice", host2), [true, false, false]);
    assert_eq!(from("bob", local), [false, false, true]);
    assert_eq!(from("bob", host1), [false, false, false]);
    assert_eq!(from("bob", host2), [false, true, true]);
}

/// IPv6 addresses compare as addresses (Java writes `0:0:0:0:0:0:0:1`, people `::1`); an
/// IPv4 client on a dual-stack socket is its IPv4 address, as Java reports it; a host name
/// never matches (Kafka compares with the client's address, never a name).
#[test]
fn hosts_compare_as_addresses() {
    let a = authorizer([
        acl(Topic, "v6", Literal, "User:bob", "0:0:0:0:0:0:0:1", op(Read), Allow),
        acl(Topic, "v4", Literal, "User:bob", "10.0.0.1", op(Read), Allow),
        acl(Topic, "name", Literal, "User:bob", "localhost", op(Read), Allow),
    ]);
    assert!(a.authorize(&session_from("bob", "::1"), Read, Topic, "v6"));
    assert!(a.authorize(&session_from("bob", "::ffff:10.0.0.1"), Read, Topic, "v4"));
    assert!(!a.authorize(&session_from("bob", "::ffff:10.0.0.2"), Read, Topic, "v4"));
    assert!(!a.authorize(&session_from("bob", "127.0.0.1"), Read, Topic, "name"));
}

/// testAuthorizationWithManyAcls: literal, wildcard and prefixed patterns together; the
/// longest prefix doesn't hide a shorter one's DENY.
#[test]
fn many_acls() {
    let a = authorizer([
        acl(Topic, "green2", Literal, "User:*", "*", op(Read), Allow),
        acl(Topic, "green", Prefixed, "User:bob", "*", op(Read), Allow),
        acl(Topic, "betamax4", Literal, "User:bob", "*", op(Read), Allow),
        acl(Topic, "betamax", Literal, "User:bob", "*", op(Read), Allow),
        acl(Topic, "beta", Prefixed, "User:*", "*", op(Read), Allow),
        acl(Topic, "alpha", Prefixed, "User:*", "*", op(Read), Allow),
        acl(Topic, "alp", Prefixed, "User:bob", "*", op(Read), Deny),
        acl(Group, "*", Literal, "User:bob", "*", op(Write), Allow),
        acl(Group, "wheel", Literal, "User:*", "*", op(Write), Deny),
    ]);
    let bob = session("bob");
    assert_eq!(allowed(&a, &bob, &[(Read, Topic, "green1"), (Write, Group, "wheel")]), [true, false]);
    let checks = [(Read, Topic, "alpha"), (Write, Group, "arbitrary"), (Read, Topic, "ala")];
    assert_eq!(allowed(&a, &bob, &checks), [false, true, false]);
    // Others: `alpha*` and `beta*` are everyone's; `betamax` only bob's.
    let carol = session("carol");
    let checks =
        [(Read, Topic, "alphabet"), (Read, Topic, "betamax"), (Read, Topic, "green1"), (Read, Topic, "green2")];
    assert_eq!(allowed(&a, &carol, &checks), [true, true, false, true]);
}

/// testPrefixAcls: a prefix matches names that start with it (the whole name included), not
/// names it merely shares a start with.
#[test]
fn prefixed_patterns() {
    let a = authorizer([
        acl(Topic, "fooa", Prefixed, "User:alice", "*", AclOp::All, Allow),
        acl(Topic, "foobar", Literal, "User:bob", "*", AclOp::All, Allow),
        acl(Topic, "f", Prefixed, "User:bob", "*", AclOp::All, Allow),
    ]);
    let bob = [(Write, Topic, "foobarr"), (Read, Topic, "goobar"), (Read, Topic, "fooa")];
    assert_eq!(allowed(&a, &session("bob"), &bob), [true, false, true]);
    let alice = [(Describe, Topic, "fooa"), (Write, Topic, "bar"), (Read, Topic, "baz")];
    assert_eq!(allowed(&a, &session("alice"), &alice), [true, false, false]);
    // A literal name that is a prefix of the resource is not a match.
    let a = authorizer([acl(Topic, "foo", Literal, "User:bob", "*", op(Read), Allow)]);
    assert!(!a.authorize(&session("bob"), Read, Topic, "foobar"));
    // A literal `*` is every name; a prefixed `*` only names that start with `*`.
    let a = authorizer([
        acl(Topic, "*", Literal, "User:bob", "*", op(Read), Allow),
        acl(Group, "*", Prefixed, "User:bob", "*", op(Read), Allow),
    ]);
    let checks = [(Read, Topic, "anything"), (Read, Group, "anything"), (Read, Group, "*g")];
    assert_eq!(allowed(&a, &session("bob"), &checks), [true, false, true]);
    // Patterns of one resource type say nothing of another's.
    assert!(!a.authorize(&session("bob"), Read, ResourceType::TransactionalId, "anything"));
}

/// Prefixes that diverge from the name between matching ones (Kafka's `checkSection`
/// example: foobar, foob, foo, fb, fa, f), and multi-byte characters.
#[test]
fn prefix_walk_finds_every_matching_prefix() {
    let names = ["gar", "foobar", "foo", "fb", "fa", "f", "eeee", "fooz", "fo\u{e9}"];
    for deny in names {
        let mut acls: Vec<AclBinding> =
            names.iter().map(|p| acl(Topic, p, Prefixed, "User:bob", "*", op(Describe), Allow)).collect();
        acls.retain(|a| a.resource_name != deny);
        acls.push(acl(Topic, deny, Prefixed, "User:bob", "*", op(Describe), Deny));
        let a = authorizer(acls);
        let denied = "foobar".starts_with(deny);
        assert_eq!(a.authorize(&session("bob"), Describe, Topic, "foobar"), !denied, "deny {deny}");
        assert_eq!(
            a.authorize(&session("bob"), Describe, Topic, "fo\u{e9}t"),
            !"fo\u{e9}t".starts_with(deny),
            "{deny}"
        );
    }
}

/// testListAcls: `describe` with filters, after a removal.
#[test]
fn describe_filters_the_acls_in_force() {
    let foo = [foo_acl(Read, Allow), foo_acl(Write, Allow)];
    let bar = [
        acl(Group, "bar", Literal, "User:*", "*", op(DescribeConfigs), Deny),
        acl(Group, "bar", Literal, "User:*", "*", op(AlterConfigs), Deny),
    ];
    let a = authorizer(foo.iter().chain(&bar).cloned());
    let mut all = a.describe(&AclBindingFilter::any());
    all.sort();
    let mut expected: Vec<AclBinding> = foo.iter().chain(&bar).cloned().collect();
    expected.sort();
    assert_eq!(all, expected);
    a.replace_acls([foo[0].clone(), bar[0].clone(), bar[1].clone()].into_iter().collect());
    assert_eq!(a.describe(&AclBindingFilter::any()).len(), 3);
    let topics = AclBindingFilter {
        resource_type: Some(Topic),
        pattern_type: PatternTypeFilter::Any,
        ..AclBindingFilter::any()
    };
    assert_eq!(a.describe(&topics), [foo[0].clone()]);
}

/// A change swaps the whole snapshot: what was allowed by a removed ACL no longer is.
#[test]
fn replacing_the_acls_takes_effect_at_once() {
    let a = authorizer([acl(Topic, "t", Literal, "User:bob", "*", op(Read), Allow)]);
    let bob = session("bob");
    assert!(a.authorize(&bob, Read, Topic, "t"));
    a.replace_acls([acl(Topic, "t", Literal, "User:bob", "*", op(Read), Deny)].into_iter().collect());
    assert!(!a.authorize(&bob, Read, Topic, "t"));
    a.replace_acls(Default::default());
    assert!(!a.authorize(&bob, Read, Topic, "t"));
}

/// Kafka's `authorizeByResourceType` (AuthorizerInterfaceDefaultTest's cases): some ALLOW of
/// the operation on a resource of the type that no DENY dominates.
#[test]
fn authorize_any_needs_an_undominated_allow() {
    let bob = session("bob");
    let any = |acls: Vec<AclBinding>| authorizer(acls).authorize_any(&bob, Write, Topic);
    assert!(!any(vec![]), "no ACLs: denied");
    assert!(authorizer([]).authorize_any(&session("superman"), Write, Topic), "super user");
    assert!(any(vec![acl(Topic, "foo", Literal, "User:bob", "*", op(Write), Allow)]));
    assert!(any(vec![acl(Topic, "foo", Literal, "User:*", "*", AclOp::All, Allow)]));
    assert!(!any(vec![acl(Topic, "foo", Literal, "User:bob", "*", op(Read), Allow)]), "another operation");
    assert!(!any(vec![acl(Group, "foo", Literal, "User:bob", "*", op(Read), Allow)]), "another type");
    assert!(!any(vec![acl(Topic, "foo", Literal, "User:alice", "*", op(Write), Allow)]), "someone else");
    assert!(!any(vec![acl(Topic, "foo", Literal, "User:bob", "10.0.0.9", op(Write), Allow)]), "another host");
    assert!(!any(vec![
        acl(Topic, "foo", Literal, "User:bob", "*", op(Write), Allow),
        acl(Topic, "foo", Literal, "User:bob", "*", op(Write), Deny),
    ]));
    assert!(!any(vec![
        acl(Topic, "foo", Prefixed, "User:bob", "*", op(Write), Allow),
        acl(Topic, "fo", Prefixed, "User:bob", "*", op(Write), Deny),
    ]));
    assert!(any(vec![
        acl(Topic, "foo", Prefixed, "User:bob", "*", op(Write), Allow),
        acl(Topic, "foob", Prefixed, "User:bob", "*", op(Write), Deny),
    ]));
    assert!(!any(vec![
        acl(Topic, "foo", Literal, "User:bob", "*", op(Write), Allow),
        acl(Topic, "*", Literal, "User:*", "*", op(Write), Deny),
    ]));
    assert!(any(vec![
        acl(Topic, "*", Literal, "User:bob", "*", op(Write), Allow),
        acl(Topic, "foo", Literal, "User:bob", "*", op(Write), Deny),
    ]));
}
