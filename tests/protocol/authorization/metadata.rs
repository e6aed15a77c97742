//! Metadata: DESCRIBE decides what is shown, CREATE what is auto-created, and the
//! `authorized_operations` fields (KIP-430).

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::*;

use super::*;
use crate::common::*;

/// The entry of `name` in a Metadata response.
fn entry<'a>(md: &'a MetadataResponse, name: &str) -> &'a MetadataResponseTopic {
    md.topics.iter().find(|t| name_of(&t.name) == Some(name)).unwrap_or_else(|| panic!("{name} not answered"))
}

/// Metadata v12 of the named topics, with their authorized operations.
async fn with_operations(c: &mut Client, topics: &[&str]) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(Some(topics.iter().map(|t| MetadataRequestTopic::default().with_name(Some(tn(t)))).collect()))
        .with_allow_auto_topic_creation(false)
        .with_include_topic_authorized_operations(true);
    c.call(&req, METADATA_V).await
}

/// Metadata v10 asking for the cluster's authorized operations (v8-10 carry them).
async fn cluster_operations(c: &mut Client) -> i32 {
    let req = MetadataRequest::default().with_topics(Some(Vec::new())).with_include_cluster_authorized_operations(true);
    c.call(&req, 10).await.cluster_authorized_operations
}

/// Auto-creation through Metadata: the entry's code (Kafka answers LEADER_NOT_AVAILABLE while
/// a topic it just created has no leader yet).
async fn auto_create(c: &mut Client, topic: &str) -> i16 {
    let md = metadata(c, Some(&[topic]), true, METADATA_V).await;
    entry(&md, topic).error_code
}

/// Kafka's `handleTopicMetadataRequest`: an all-topics request leaves out the topics the
/// principal may not DESCRIBE; a named one is TOPIC_AUTHORIZATION_FAILED without its id or
/// partitions, whether it exists or not; asked by id (v12+) it is refused without its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_hides_topics_that_may_not_be_described() {
    let mut s = Setup::start().await;
    s.topics(&["m-seen", "m-hidden"]).await;
    s.grant(&[allow(TOPIC, "m-seen", DESCRIBE)]).await;

    let all = metadata(&mut s.alice, None, false, METADATA_V).await;
    let names: Vec<_> = all.topics.iter().filter_map(|t| name_of(&t.name)).collect();
    assert!(names.contains(&"m-seen"), "{names:?}");
    assert!(!names.contains(&"m-hidden"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("__")), "internal topics are not described either: {names:?}");
    let all = metadata(&mut s.admin, None, false, METADATA_V).await;
    assert!(all.topics.iter().any(|t| name_of(&t.name) == Some("m-hidden")), "the super user sees it");

    let md = metadata(&mut s.alice, Some(&["m-seen", "m-hidden", "m-ghost"]), false, METADATA_V).await;
    assert_eq!(md.topics.len(), 3);
    let seen = entry(&md, "m-seen");
    assert_eq!(seen.error_code, NONE);
    assert!(!seen.topic_id.is_nil());
    assert_eq!(seen.partitions.len(), 1);
    for name in ["m-hidden", "m-ghost"] {
        let t = entry(&md, name);
        assert_eq!(t.error_code, TOPIC_AUTHORIZATION_FAILED, "{name}");
        assert!(t.topic_id.is_nil(), "{name}: no topic id");
        assert!(t.partitions.is_empty(), "{name}: no partitions");
    }

    // By id: the id is not secret, the name is.
    let hidden = topic_id(&mut s.admin, "m-hidden").await;
    let req = MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(None).with_topic_id(hidden)]))
        .with_allow_auto_topic_creation(false);
    let md = s.alice.call(&req, METADATA_V).await;
    assert_eq!(md.topics.len(), 1);
    assert_eq!(md.topics[0].error_code, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(md.topics[0].name, None);
    assert_eq!(md.topics[0].topic_id, hidden);
    assert!(md.topics[0].partitions.is_empty());
    s.stop().await;
}

/// Kafka's `handleTopicMetadataRequest` auto-creates a topic the principal may DESCRIBE only
/// with CREATE on the cluster or on the topic (a literal or prefixed ACL); without it the
/// topic is TOPIC_AUTHORIZATION_FAILED and not created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_auto_creates_only_with_create() {
    let mut s = Setup::start().await;
    assert_eq!(auto_create(&mut s.alice, "m-auto").await, TOPIC_AUTHORIZATION_FAILED);
    // DESCRIBE alone does not create.
    s.grant(&[allow(TOPIC, "m-auto", DESCRIBE)]).await;
    assert_eq!(auto_create(&mut s.alice, "m-auto").await, TOPIC_AUTHORIZATION_FAILED);
    // CREATE alone neither: the topic must be described first (CREATE does not imply DESCRIBE).
    s.grant(&[allow(TOPIC, "m-blind", CREATE)]).await;
    assert_eq!(auto_create(&mut s.alice, "m-blind").await, TOPIC_AUTHORIZATION_FAILED);
    assert!(!exists(&mut s.admin, "m-auto").await && !exists(&mut s.admin, "m-blind").await);

    s.grant(&[allow(TOPIC, "m-auto", CREATE)]).await;
    assert!([NONE, LEADER_NOT_AVAILABLE].contains(&auto_create(&mut s.alice, "m-auto").await));
    assert!(exists(&mut s.admin, "m-auto").await, "created with CREATE on the topic");

    s.grant(&[allow(TOPIC, "m-pre-", DESCRIBE).prefixed(), allow(TOPIC, "m-pre-", CREATE).prefixed()]).await;
    assert!([NONE, LEADER_NOT_AVAILABLE].contains(&auto_create(&mut s.alice, "m-pre-x").await));
    assert!(exists(&mut s.admin, "m-pre-x").await, "created with a prefixed CREATE");

    s.grant(&[allow(TOPIC, "m-c-", DESCRIBE).prefixed()]).await;
    assert_eq!(auto_create(&mut s.alice, "m-c-1").await, TOPIC_AUTHORIZATION_FAILED);
    s.grant(&[allow(CLUSTER, KAFKA_CLUSTER, CREATE)]).await;
    assert!([NONE, LEADER_NOT_AVAILABLE].contains(&auto_create(&mut s.alice, "m-c-1").await));
    assert!(exists(&mut s.admin, "m-c-1").await, "created with CREATE on the cluster");
    s.stop().await;
}

/// KIP-430 in Kafka's `handleTopicMetadataRequest`: `topic_authorized_operations` holds the
/// operations granted (READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies
/// DESCRIBE_CONFIGS), left unset on a refused topic; `cluster_authorized_operations` (v8-10)
/// is 0 without DESCRIBE on the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_authorized_operations_are_the_granted_ones() {
    let mut s = Setup::start().await;
    s.topics(&["o-read", "o-write", "o-alter", "o-none"]).await;
    s.grant(&[
        allow(TOPIC, "o-read", READ),
        allow(TOPIC, "o-write", WRITE),
        allow(TOPIC, "o-write", ALTER_CONFIGS),
        allow(TOPIC, "o-alter", ALL),
    ])
    .await;
    let md = with_operations(&mut s.alice, &["o-read", "o-write", "o-alter", "o-none"]).await;
    assert_eq!(entry(&md, "o-read").topic_authorized_operations, bits(&[READ, DESCRIBE]));
    assert_eq!(
        entry(&md, "o-write").topic_authorized_operations,
        bits(&[WRITE, DESCRIBE, ALTER_CONFIGS, DESCRIBE_CONFIGS])
    );
    let every = bits(&[READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS]);
    assert_eq!(entry(&md, "o-alter").topic_authorized_operations, every, "ALL: every topic operation");
    let none = entry(&md, "o-none");
    assert_eq!(none.error_code, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(none.topic_authorized_operations, OPERATIONS_OMITTED);
    let md = with_operations(&mut s.admin, &["o-none"]).await;
    assert_eq!(entry(&md, "o-none").topic_authorized_operations, every, "the super user may do everything");

    assert_eq!(cluster_operations(&mut s.alice).await, 0, "no DESCRIBE on the cluster");
    s.grant(&[allow(CLUSTER, KAFKA_CLUSTER, DESCRIBE), allow(CLUSTER, KAFKA_CLUSTER, IDEMPOTENT_WRITE)]).await;
    assert_eq!(cluster_operations(&mut s.alice).await, bits(&[DESCRIBE, IDEMPOTENT_WRITE]));
    s.stop().await;
}
