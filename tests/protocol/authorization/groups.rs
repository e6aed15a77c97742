//! The classic group APIs (READ on the group, READ on each committed topic), the offset and
//! group admin APIs (DESCRIBE or DELETE on the group, DESCRIBE or READ on the topics) and
//! FindCoordinator.

use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::*;

use super::*;
use crate::common::groups::{
    commit, commit_standalone, committed, consumer_protocols, delete_groups, fetch_offsets, gid, heartbeat,
    join_request, leave, list_groups, offset_fetch_request, stable_single, sync_request, DESCRIBE_GROUPS_V, JOIN_V,
    SYNC_V,
};
use crate::common::*;

/// SyncGroup v5 names its protocol (Kafka checks that before authorizing).
fn sync_of(group: &str, generation: i32, member: &str) -> SyncGroupRequest {
    sync_request(group, generation, member, None, &[])
        .with_protocol_type(Some(sb("consumer")))
        .with_protocol_name(Some(sb("range")))
}

/// OffsetFetch v8 of every committed offset of each of `groups`: (group, error, topics).
async fn fetch_groups(c: &mut Client, groups: &[&str]) -> Vec<(String, i16, Vec<String>)> {
    let req = OffsetFetchRequest::default().with_groups(
        groups.iter().map(|g| OffsetFetchRequestGroup::default().with_group_id(gid(g)).with_topics(None)).collect(),
    );
    let r = c.call(&req, 8).await;
    r.groups
        .iter()
        .map(|g| (g.group_id.to_string(), g.error_code, g.topics.iter().map(|t| t.name.to_string()).collect()))
        .collect()
}

/// OffsetDelete of partition 0 of `topic`: (top-level error, the partition's errors).
async fn offset_delete(c: &mut Client, group: &str, topic: &str) -> (i16, Vec<i16>) {
    let req =
        OffsetDeleteRequest::default().with_group_id(gid(group)).with_topics(vec![OffsetDeleteRequestTopic::default()
            .with_name(tn(topic))
            .with_partitions(vec![OffsetDeleteRequestPartition::default().with_partition_index(0)])]);
    let r = c.call(&req, 0).await;
    (r.error_code, r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect())
}

/// The groups ListGroups shows among `ours`.
async fn listed(c: &mut Client, ours: &[&str]) -> Vec<String> {
    list_groups(c, &[]).await.into_iter().map(|(g, _, _)| g).filter(|g| ours.contains(&g.as_str())).collect()
}

/// Kafka's `handleJoinGroupRequest`, `handleSyncGroupRequest`, `handleHeartbeatRequest`,
/// `handleLeaveGroupRequest` and `handleOffsetCommitRequest`: READ on the group (DESCRIBE is
/// not enough), else GROUP_AUTHORIZATION_FAILED for the whole request; an OffsetCommit
/// topic without READ is TOPIC_AUTHORIZATION_FAILED while the others are committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_group_apis_need_read_on_the_group() {
    let mut s = Setup::start().await;
    s.topics(&["g-t", "g-secret"]).await;
    let protocols = consumer_protocols(&["range"], &["g-t"]);
    let refused = |what: &str, code: i16| assert_eq!(code, GROUP_AUTHORIZATION_FAILED, "{what} without READ");

    for grant in [None, Some(DESCRIBE)] {
        if let Some(op) = grant {
            s.grant(&[allow(GROUP, "g1", op)]).await;
        }
        let join = join_request("g1", "", None, "consumer", protocols.clone());
        refused("JoinGroup", s.alice.call(&join, JOIN_V).await.error_code);
        refused("SyncGroup", s.alice.call(&sync_of("g1", 1, "m"), SYNC_V).await.error_code);
        refused("Heartbeat", heartbeat(&mut s.alice, "g1", 1, "m", None).await);
        let r = leave(&mut s.alice, "g1", &[("m", None)]).await;
        refused("LeaveGroup", r.error_code);
        assert!(r.members.is_empty(), "Kafka's error response lists no member");
        let codes = commit(&mut s.alice, "g1", -1, "", None, &[("g-t", 0, 5, None)]).await;
        assert_eq!(codes, vec![("g-t".into(), 0, GROUP_AUTHORIZATION_FAILED)], "OffsetCommit without READ");
    }

    s.grant(&[allow(GROUP, "g1", READ)]).await;
    let (member, generation) = stable_single(&mut s.alice, "g1", &["g-t"], b"assigned").await;
    assert_eq!(heartbeat(&mut s.alice, "g1", generation, &member, None).await, NONE);
    let codes = commit(&mut s.alice, "g1", generation, &member, None, &[("g-t", 0, 5, None)]).await;
    assert_eq!(codes, vec![("g-t".into(), 0, TOPIC_AUTHORIZATION_FAILED)], "no READ on the topic");
    s.grant(&[allow(TOPIC, "g-t", READ)]).await;
    let mut codes =
        commit(&mut s.alice, "g1", generation, &member, None, &[("g-t", 0, 5, None), ("g-secret", 0, 5, None)]).await;
    codes.sort();
    assert_eq!(codes, vec![("g-secret".into(), 0, TOPIC_AUTHORIZATION_FAILED), ("g-t".into(), 0, NONE)]);
    assert_eq!(committed(&mut s.admin, "g1", "g-t", 0).await, 5);
    assert_eq!(committed(&mut s.admin, "g1", "g-secret", 0).await, -1, "nothing committed for g-secret");
    assert_eq!(leave(&mut s.alice, "g1", &[(&member, None)]).await.error_code, NONE);
    s.stop().await;
}

/// Kafka's `handleOffsetFetchRequest` (DESCRIBE on the group: for the one group of v7 the
/// top-level error, from v8 each group's; a named topic the principal may not DESCRIBE is
/// TOPIC_AUTHORIZATION_FAILED, and left out of "all partitions"), `handleDescribeGroupsRequest`
/// and `handleListGroupsRequest` (DESCRIBE on each group, or on the cluster to list all),
/// `handleDeleteGroupsRequest` and `handleOffsetDeleteRequest` (DELETE on the group, then READ
/// on each topic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_and_group_admin_need_describe_or_delete() {
    let mut s = Setup::start().await;
    s.topics(&["og-a", "og-b"]).await;
    commit_standalone(&mut s.admin, "og", &[("og-a", 0, 5, None), ("og-b", 0, 7, None)]).await;
    commit_standalone(&mut s.admin, "og2", &[("og-a", 0, 1, None)]).await;

    let r = s.alice.call(&offset_fetch_request("og", Some(&[("og-a", &[0])])), 7).await;
    assert_eq!((r.error_code, r.topics.len()), (GROUP_AUTHORIZATION_FAILED, 0), "OffsetFetch v7");
    let both = fetch_groups(&mut s.alice, &["og", "og2"]).await;
    assert!(both.iter().all(|(_, e, t)| *e == GROUP_AUTHORIZATION_FAILED && t.is_empty()), "{both:?}");

    s.grant(&[allow(GROUP, "og", DESCRIBE), allow(TOPIC, "og-a", DESCRIBE)]).await;
    let both = fetch_groups(&mut s.alice, &["og", "og2"]).await;
    assert_eq!(
        both,
        vec![("og".into(), NONE, vec!["og-a".into()]), ("og2".into(), GROUP_AUTHORIZATION_FAILED, vec![])],
        "all partitions: og-b, not describable, is left out"
    );
    let named = fetch_offsets(&mut s.alice, "og", Some(&[("og-a", &[0]), ("og-b", &[0])])).await;
    assert_eq!(
        named,
        vec![
            ("og-a".into(), 0, 5, Some(String::new()), NONE),
            ("og-b".into(), 0, -1, Some(String::new()), TOPIC_AUTHORIZATION_FAILED)
        ]
    );
    let all = fetch_offsets(&mut s.alice, "og", None).await;
    assert_eq!(all.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), vec!["og-a"], "v7 all partitions");

    // DescribeGroups: each group checked; a refused one carries nothing else.
    let req = DescribeGroupsRequest::default()
        .with_groups(vec![gid("og"), gid("og2")])
        .with_include_authorized_operations(true);
    let r = s.alice.call(&req, DESCRIBE_GROUPS_V).await;
    let og = r.groups.iter().find(|g| g.group_id.as_str() == "og").unwrap();
    assert_eq!((og.error_code, og.authorized_operations), (NONE, bits(&[DESCRIBE])));
    let og2 = r.groups.iter().find(|g| g.group_id.as_str() == "og2").unwrap();
    assert_eq!(og2.error_code, GROUP_AUTHORIZATION_FAILED);
    assert_eq!((og2.group_state.as_str(), og2.authorized_operations), ("", OPERATIONS_OMITTED));

    // ListGroups: the describable groups, or all of them with DESCRIBE on the cluster.
    assert_eq!(listed(&mut s.alice, &["og", "og2"]).await, vec!["og"]);
    s.grant(&[allow(CLUSTER, KAFKA_CLUSTER, DESCRIBE)]).await;
    assert_eq!(listed(&mut s.alice, &["og", "og2"]).await, vec!["og", "og2"]);

    // DeleteGroups: DELETE on each group.
    assert_eq!(delete_groups(&mut s.alice, &["og2"]).await, vec![("og2".into(), GROUP_AUTHORIZATION_FAILED)]);
    s.grant(&[allow(GROUP, "og2", DELETE)]).await;
    assert_eq!(delete_groups(&mut s.alice, &["og2"]).await, vec![("og2".into(), NONE)]);

    // OffsetDelete: DELETE on the group for the request, READ (not DESCRIBE) on each topic.
    assert_eq!(offset_delete(&mut s.alice, "og", "og-a").await, (GROUP_AUTHORIZATION_FAILED, vec![]));
    s.grant(&[allow(GROUP, "og", DELETE)]).await;
    assert_eq!(offset_delete(&mut s.alice, "og", "og-a").await, (NONE, vec![TOPIC_AUTHORIZATION_FAILED]));
    s.grant(&[allow(TOPIC, "og-a", READ)]).await;
    assert_eq!(offset_delete(&mut s.alice, "og", "og-a").await, (NONE, vec![NONE]));
    assert_eq!(committed(&mut s.admin, "og", "og-a", 0).await, -1, "deleted");
    s.stop().await;
}

/// Kafka's `getCoordinator`: a group key needs DESCRIBE on the group, else
/// GROUP_AUTHORIZATION_FAILED; a transaction key DESCRIBE on the transactional id, else
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; no node is told either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_coordinator_needs_describe_on_the_key() {
    let mut s = Setup::start().await;
    let find = |key_type: i8, keys: &[&str]| {
        FindCoordinatorRequest::default()
            .with_key_type(key_type)
            .with_coordinator_keys(keys.iter().map(|k| sb(k)).collect())
    };
    let r = s.alice.call(&find(0, &["fc-g"]), 4).await;
    let c = &r.coordinators[0];
    assert_eq!((c.error_code, c.node_id.0, c.port), (GROUP_AUTHORIZATION_FAILED, -1, -1));
    let r = s.alice.call(&find(1, &["fc-t"]), 4).await;
    assert_eq!(r.coordinators[0].error_code, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    let r = s.alice.call(&FindCoordinatorRequest::default().with_key(sb("fc-g")), 3).await;
    assert_eq!((r.error_code, r.node_id.0), (GROUP_AUTHORIZATION_FAILED, -1), "v3");
    assert_eq!(r.error_message.as_deref(), Some("Group authorization failed."), "v3: Kafka's message");

    s.grant(&[allow(GROUP, "fc-g", DESCRIBE), allow(TRANSACTIONAL_ID, "fc-t", DESCRIBE)]).await;
    let r = s.alice.call(&find(0, &["fc-g", "fc-other"]), 4).await;
    let codes: Vec<i16> = r.coordinators.iter().map(|c| c.error_code).collect();
    assert_eq!(codes, vec![NONE, GROUP_AUTHORIZATION_FAILED], "each key checked");
    assert!(r.coordinators[0].node_id.0 >= 0);
    assert_eq!(s.alice.call(&find(1, &["fc-t"]), 4).await.coordinators[0].error_code, NONE);
    s.stop().await;
}
