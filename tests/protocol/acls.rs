//! ACLs with raw requests: CreateAcls, DescribeAcls and DeleteAcls on a broker with an
//! authorizer (SASL PLAIN users, a super user), Kafka's errors (CLUSTER_AUTHORIZATION_FAILED
//! for a user without ALTER on the cluster, SECURITY_DISABLED without an authorizer,
//! INVALID_REQUEST for a malformed ACL), ACLs kept across a restart, and an ACL deciding a
//! request (a share group's READ).

use bytes::Bytes;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::*;

use brook::config::listeners::resolve;

use crate::common::*;

const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const SECURITY_DISABLED: i16 = 54;
const INVALID_REQUEST: i16 = 42;
const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const ANY: i8 = 1;
const READ: i8 = 3;
const ALLOW: i8 = 3;

fn acl_config(c: &mut brook::config::BrokerConfig) {
    c.listeners = resolve(c.listen, "SASL_PLAINTEXT://127.0.0.1:0", "", "SASL_PLAINTEXT:SASL_PLAINTEXT").unwrap();
    c.sasl.plain_users = "admin:admin-pw,bob:bob-pw".into();
    c.acl.enabled = true;
    c.acl.super_users = "User:admin".into();
}

async fn login(b: &TestBroker, user: &str, password: &str) -> Client {
    let mut c = b.client().await;
    let h: SaslHandshakeResponse = c.call(&SaslHandshakeRequest::default().with_mechanism(sb("PLAIN")), 1).await;
    assert_eq!(h.error_code, 0);
    let msg = format!("\0{user}\0{password}");
    let r = c.call(&SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(msg)), 2).await;
    assert_eq!(r.error_code, 0, "{user} logs in");
    c
}

fn creation(resource_type: i8, name: &str, pattern: i8, principal: &str) -> AclCreation {
    AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(sb(name))
        .with_resource_pattern_type(pattern)
        .with_principal(sb(principal))
        .with_host(sb("*"))
        .with_operation(READ)
        .with_permission_type(ALLOW)
}

fn describe_all() -> DescribeAclsRequest {
    DescribeAclsRequest::default()
        .with_resource_name_filter(None)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_resource_type_filter(ANY)
        .with_pattern_type_filter(ANY)
        .with_operation(ANY)
        .with_permission_type(ANY)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_are_created_described_deleted_and_kept() {
    let mut b = TestBroker::start_with(acl_config).await;
    let mut admin = login(&b, "admin", "admin-pw").await;
    let create = CreateAclsRequest::default().with_creations(vec![
        creation(TOPIC, "orders", LITERAL, "User:bob"),
        creation(GROUP, "bob-", PREFIXED, "User:bob"),
        creation(TOPIC, "", LITERAL, "User:bob"),
        creation(TOPIC, "x", LITERAL, "bob-without-type"),
    ]);
    let codes: Vec<i16> = admin.call(&create, 3).await.results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, 0, INVALID_REQUEST, INVALID_REQUEST]);
    let d = admin.call(&describe_all(), 3).await;
    let listed: Vec<(i8, String, i8, usize)> = d
        .resources
        .iter()
        .map(|r| (r.resource_type, r.resource_name.to_string(), r.pattern_type, r.acls.len()))
        .collect();
    assert_eq!(listed, vec![(TOPIC, "orders".into(), LITERAL, 1), (GROUP, "bob-".into(), PREFIXED, 1)]);

    // bob may not manage ACLs.
    let mut bob = login(&b, "bob", "bob-pw").await;
    let r = bob.call(&create, 3).await;
    assert!(r.results.iter().all(|x| x.error_code == CLUSTER_AUTHORIZATION_FAILED));
    assert_eq!(bob.call(&describe_all(), 3).await.error_code, CLUSTER_AUTHORIZATION_FAILED);

    // The prefixed GROUP ACL decides a share group's READ: bob-workers yes, other no.
    create_topic(&mut admin, "orders", 1).await;
    let join = |g: &str| {
        ShareGroupHeartbeatRequest::default()
            .with_group_id(GroupId(sb(g)))
            .with_member_id(sb("bob-member"))
            .with_subscribed_topic_names(Some(vec![tn("orders")]))
    };
    assert_eq!(bob.call(&join("bob-workers"), 1).await.error_code, 0);
    assert_eq!(bob.call(&join("other"), 1).await.error_code, GROUP_AUTHORIZATION_FAILED);

    // Kept across a restart.
    drop((admin, bob));
    b.handle.take().expect("running").shutdown().await.expect("clean stop");
    b.start_again(acl_config).await;
    let mut admin = login(&b, "admin", "admin-pw").await;
    assert_eq!(admin.call(&describe_all(), 3).await.resources.len(), 2);
    let del = DeleteAclsRequest::default().with_filters(vec![DeleteAclsFilter::default()
        .with_resource_name_filter(None)
        .with_principal_filter(None)
        .with_host_filter(None)
        .with_resource_type_filter(TOPIC)
        .with_pattern_type_filter(ANY)
        .with_operation(ANY)
        .with_permission_type(ANY)]);
    let r = admin.call(&del, 3).await;
    assert_eq!(r.filter_results[0].matching_acls.len(), 1);
    assert_eq!(admin.call(&describe_all(), 3).await.resources.len(), 1);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_authorizer_acl_requests_are_security_disabled() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    assert_eq!(c.call(&describe_all(), 3).await.error_code, SECURITY_DISABLED);
    let create = CreateAclsRequest::default().with_creations(vec![creation(TOPIC, "t", LITERAL, "User:x")]);
    assert_eq!(c.call(&create, 3).await.results[0].error_code, SECURITY_DISABLED);
    b.stop().await;
}
