//! The consumer group protocol (KIP-848): ConsumerGroupHeartbeat (READ on the group,
//! DESCRIBE on each subscribed topic, a regular expression resolved only to describable
//! topics) and ConsumerGroupDescribe (DESCRIBE on the group and on the topics it shows).

use std::collections::BTreeSet;

use kafka_protocol::messages::*;
use uuid::Uuid;

use super::*;
use crate::common::groups::{consumer_join as join, gid};
use crate::common::*;

/// The topic ids of a heartbeat's assignment.
fn assigned(r: &ConsumerGroupHeartbeatResponse) -> BTreeSet<Uuid> {
    let a = r.assignment.as_ref().expect("a joining member is told its assignment");
    a.topic_partitions.iter().filter(|tp| !tp.partitions.is_empty()).map(|tp| tp.topic_id).collect()
}

async fn describe(c: &mut Client, group: &str) -> consumer_group_describe_response::DescribedGroup {
    let r = c.call(&ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid(group)]), 1).await;
    r.groups.into_iter().next().expect("one group")
}

/// Kafka's `handleConsumerGroupHeartbeat` (4.x): READ on the group, else
/// GROUP_AUTHORIZATION_FAILED; every subscribed topic name needs DESCRIBE, else
/// TOPIC_AUTHORIZATION_FAILED; a regular expression resolves only to the topics the member
/// may describe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_group_heartbeat_needs_read_and_describable_topics() {
    let mut s = Setup::start().await;
    s.topics(&["cg-a", "cgx-1", "cgx-2"]).await;
    let a = topic_id(&mut s.admin, "cg-a").await;
    let x1 = topic_id(&mut s.admin, "cgx-1").await;

    let r = s.alice.call(&join("cg", "m1", &["cg-a"]), 1).await;
    assert_eq!(r.error_code, GROUP_AUTHORIZATION_FAILED);
    s.grant(&[allow(GROUP, "cg", READ)]).await;
    let r = s.alice.call(&join("cg", "m1", &["cg-a"]), 1).await;
    assert_eq!(r.error_code, TOPIC_AUTHORIZATION_FAILED, "cg-a may not be described");
    // Whether a subscribed topic exists is not told either.
    let r = s.alice.call(&join("cg", "m1", &["cg-ghost"]), 1).await;
    assert_eq!(r.error_code, TOPIC_AUTHORIZATION_FAILED, "an unknown topic");
    s.grant(&[allow(TOPIC, "cg-a", DESCRIBE)]).await;
    let r = s.alice.call(&join("cg", "m1", &["cg-a"]), 1).await;
    assert_eq!(r.error_code, NONE, "{:?}", r.error_message);
    assert_eq!(assigned(&r), BTreeSet::from([a]));

    // A regular expression: only the topics alice may describe.
    s.grant(&[allow(GROUP, "cgr", READ), allow(TOPIC, "cgx-1", DESCRIBE)]).await;
    // A new expression resolves after the join's assignment (as Kafka's asynchronous
    // resolution): its topics come with the member's next heartbeat.
    let rx = join("cgr", "m2", &[]).with_subscribed_topic_names(None).with_subscribed_topic_regex(Some(sb("cgx-.*")));
    let r = s.alice.call(&rx, 1).await;
    assert_eq!(r.error_code, NONE, "{:?}", r.error_message);
    assert_eq!(assigned(&r), BTreeSet::new(), "nothing until the expression is resolved");
    let r = s.alice.call(&rx.clone().with_member_epoch(r.member_epoch), 1).await;
    assert_eq!(r.error_code, NONE, "{:?}", r.error_message);
    assert_eq!(assigned(&r), BTreeSet::from([x1]), "cgx-2 is not describable");
    // The super user's member of the same expression gets both.
    let rx =
        join("cgr-admin", "m3", &[]).with_subscribed_topic_names(None).with_subscribed_topic_regex(Some(sb("cgx-.*")));
    let r = s.admin.call(&rx, 1).await;
    let r = s.admin.call(&rx.clone().with_member_epoch(r.member_epoch), 1).await;
    assert_eq!(assigned(&r).len(), 2);
    s.stop().await;
}

/// Kafka's `handleConsumerGroupDescribe` (4.x): DESCRIBE on each group, else
/// GROUP_AUTHORIZATION_FAILED; a group whose members own or are to own partitions of a topic
/// the principal may not DESCRIBE is TOPIC_AUTHORIZATION_FAILED with Kafka's message and
/// no members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_group_describe_needs_describe_on_group_and_topics() {
    let mut s = Setup::start().await;
    s.topics(&["cd-open", "cd-secret"]).await;
    let r = s.admin.call(&join("cd", "m1", &["cd-open"]), 1).await;
    assert_eq!(r.error_code, NONE);
    let r = s.admin.call(&join("cd-s", "m2", &["cd-secret"]), 1).await;
    assert_eq!(r.error_code, NONE);

    let d = describe(&mut s.alice, "cd").await;
    assert_eq!((d.group_id.as_str(), d.error_code), ("cd", GROUP_AUTHORIZATION_FAILED));
    assert!(d.members.is_empty());
    s.grant(&[allow(GROUP, "cd", DESCRIBE), allow(GROUP, "cd-s", DESCRIBE), allow(TOPIC, "cd-open", DESCRIBE)]).await;
    let d = describe(&mut s.alice, "cd").await;
    assert_eq!(d.error_code, NONE);
    assert_eq!(d.members.len(), 1);
    let d = describe(&mut s.alice, "cd-s").await;
    assert_eq!(d.error_code, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(
        d.error_message.as_deref(),
        Some("The group has described topic(s) that the client is not authorized to describe.")
    );
    assert!(d.members.is_empty());
    s.stop().await;
}

/// The same rule for share groups (Kafka 4's `handleShareGroupDescribe`): DESCRIBE on the group,
/// and on every topic its members are assigned, else TOPIC_AUTHORIZATION_FAILED and no members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_group_describe_needs_describe_on_assigned_topics() {
    let mut s = Setup::start().await;
    s.topics(&["sd-secret"]).await;
    let join = ShareGroupHeartbeatRequest::default()
        .with_group_id(gid("sd"))
        .with_member_id(sb("m1"))
        .with_member_epoch(0)
        .with_subscribed_topic_names(Some(vec![tn("sd-secret")]));
    assert_eq!(s.admin.call(&join, 1).await.error_code, NONE);
    // The second heartbeat assigns the partitions the first one initialized.
    let beat =
        ShareGroupHeartbeatRequest::default().with_group_id(gid("sd")).with_member_id(sb("m1")).with_member_epoch(1);
    assert_eq!(s.admin.call(&beat, 1).await.error_code, NONE);
    let describe = |g: &str| ShareGroupDescribeRequest::default().with_group_ids(vec![gid(g)]);

    let d = s.alice.call(&describe("sd"), 1).await.groups.remove(0);
    assert_eq!(d.error_code, GROUP_AUTHORIZATION_FAILED);
    s.grant(&[allow(GROUP, "sd", DESCRIBE)]).await;
    let d = s.alice.call(&describe("sd"), 1).await.groups.remove(0);
    assert_eq!(d.error_code, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(
        d.error_message.as_deref(),
        Some("The group has described topic(s) that the client is not authorized to describe.")
    );
    assert!(d.members.is_empty());
    s.grant(&[allow(TOPIC, "sd-secret", DESCRIBE)]).await;
    let d = s.alice.call(&describe("sd"), 1).await.groups.remove(0);
    assert_eq!((d.error_code, d.members.len()), (NONE, 1));
    s.stop().await;
}
