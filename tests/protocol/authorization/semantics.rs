//! How ACLs decide (Kafka's StandardAuthorizer): DENY beats ALLOW, prefixed and wildcard
//! patterns, `User:*`, the ALL operation, super users, `allow.everyone.if.no.acl.found`; and
//! a broker without an authorizer, where none of this applies.

use kafka_protocol::messages::*;

use super::*;
use crate::common::groups::stable_single;
use crate::common::txn::init_txn;
use crate::common::*;

/// Produces one record to partition 0 of `topic`: the error.
async fn write(c: &mut Client, topic: &str) -> i16 {
    produce(c, topic, 0, batch(&[b"x"])).await.error_code
}

/// A DENY (for the principal, or for `User:*`) beats any ALLOW, a prefixed ACL covers every
/// name it starts, a literal `*` every name, the ALL operation every operation; a super user
/// is never refused, not even by a DENY naming him.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_wins_and_patterns_match() {
    let mut s = Setup::start().await;
    s.topics(&["sem-a", "sem-b", "team-x", "team-y", "any-1"]).await;

    s.grant(&[allow(TOPIC, "sem-a", WRITE), deny(TOPIC, "sem-a", WRITE)]).await;
    assert_eq!(write(&mut s.alice, "sem-a").await, TOPIC_AUTHORIZATION_FAILED, "alice's DENY");
    s.grant(&[allow(TOPIC, "sem-b", WRITE), deny(TOPIC, "sem-", WRITE).prefixed().to("User:*")]).await;
    assert_eq!(write(&mut s.alice, "sem-b").await, TOPIC_AUTHORIZATION_FAILED, "everyone's prefixed DENY");

    s.grant(&[allow(TOPIC, "team-", WRITE).prefixed()]).await;
    assert_eq!(write(&mut s.alice, "team-x").await, NONE, "a prefixed ALLOW");
    assert_eq!(write(&mut s.alice, "team-y").await, NONE);
    s.grant(&[deny(TOPIC, "team-y", WRITE)]).await;
    assert_eq!(write(&mut s.alice, "team-y").await, TOPIC_AUTHORIZATION_FAILED, "a literal DENY under the prefix");
    assert_eq!(write(&mut s.alice, "team-x").await, NONE);

    // A literal `*` matches every name; ALL every operation.
    assert_eq!(fetch(&mut s.alice, "any-1", 0, 0).await.error_code, TOPIC_AUTHORIZATION_FAILED);
    s.grant(&[allow(TOPIC, "*", READ)]).await;
    assert_eq!(fetch(&mut s.alice, "any-1", 0, 0).await.error_code, NONE);
    assert_eq!(write(&mut s.alice, "any-1").await, TOPIC_AUTHORIZATION_FAILED, "READ is not WRITE");
    s.grant(&[allow(TOPIC, "any-1", ALL)]).await;
    assert_eq!(write(&mut s.alice, "any-1").await, NONE);
    // bob is not alice: none of her ACLs are his.
    let mut bob = login(&s.b, "bob").await;
    assert_eq!(write(&mut bob, "team-x").await, TOPIC_AUTHORIZATION_FAILED);

    // The super user passes every check, a DENY naming him included.
    s.grant(&[deny(TOPIC, "sem-a", WRITE).to("User:admin"), deny(CLUSTER, KAFKA_CLUSTER, ALL).to("User:*")]).await;
    assert_eq!(write(&mut s.admin, "sem-a").await, NONE);
    assert_eq!(fetch(&mut s.admin, "sem-a", 0, 0).await.error_code, NONE);
    stable_single(&mut s.admin, "sem-g", &["sem-a"], b"a").await;
    init_txn(&mut s.admin, "sem-txn", 60_000).await;
    let r = s.admin.call(&DescribeLogDirsRequest::default().with_topics(None), 4).await;
    assert_eq!(r.error_code, NONE);
    drop(bob);
    s.stop().await;
}

/// `allow.everyone.if.no.acl.found=true`: a resource no ACL names is open to everyone; once
/// one names it (even for someone else), only the ACLs decide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_everyone_applies_only_to_resources_without_acls() {
    let mut s = Setup::start_with(|c| c.acl.allow_everyone_if_no_acl_found = true).await;
    s.topics(&["ev-free", "ev-bound"]).await;
    assert_eq!(write(&mut s.alice, "ev-free").await, NONE);
    assert_eq!(write(&mut s.alice, "ev-bound").await, NONE);
    s.grant(&[allow(TOPIC, "ev-bound", READ).to("User:bob")]).await;
    assert_eq!(write(&mut s.alice, "ev-bound").await, TOPIC_AUTHORIZATION_FAILED, "an ACL names it now");
    assert_eq!(write(&mut s.alice, "ev-free").await, NONE);
    let md = metadata(&mut s.alice, Some(&["ev-free", "ev-bound"]), false, METADATA_V).await;
    let codes: Vec<(Option<&str>, i16)> = md.topics.iter().map(|t| (name_of(&t.name), t.error_code)).collect();
    assert!(codes.contains(&(Some("ev-free"), NONE)), "{codes:?}");
    assert!(codes.contains(&(Some("ev-bound"), TOPIC_AUTHORIZATION_FAILED)), "{codes:?}");
    s.stop().await;
}

/// Without an authorizer (the default) every principal may do everything: the requests
/// refused above are served, and the authorized operations are every supported one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_authorizer_everything_is_served() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    assert!([NONE, LEADER_NOT_AVAILABLE]
        .contains(&metadata(&mut c, Some(&["plain"]), true, METADATA_V).await.topics[0].error_code));
    assert_eq!(write(&mut c, "plain").await, NONE);
    assert_eq!(fetch(&mut c, "plain", 0, 0).await.error_code, NONE);
    let req = MetadataRequest::default()
        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default().with_name(Some(tn("plain")))]))
        .with_include_topic_authorized_operations(true);
    let every = bits(&[READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS]);
    assert_eq!(c.call(&req, METADATA_V).await.topics[0].topic_authorized_operations, every);
    let r = c.call(&DescribeClusterRequest::default().with_include_cluster_authorized_operations(true), 1).await;
    assert_ne!(r.cluster_authorized_operations & bits(&[DESCRIBE, ALTER]), 0);
    stable_single(&mut c, "plain-g", &["plain"], b"a").await;
    init_txn(&mut c, "plain-txn", 60_000).await;
    init_producer_id(&mut c).await;
    assert_eq!(c.call(&DescribeLogDirsRequest::default().with_topics(None), 4).await.error_code, NONE);
    assert_eq!(describe_configs(&mut c, RESOURCE_BROKER, "1").await.error_code, NONE);
    b.stop().await;
}
