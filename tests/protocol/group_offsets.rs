//! Committed offsets over the wire: OffsetCommit admission (generation/member checks,
//! standalone commits), per-partition errors, OffsetFetch (single and batched groups),
//! DeleteGroups and OffsetDelete.

use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopics};
use kafka_protocol::messages::*;

use crate::common::groups::*;
use crate::common::*;

fn f(t: &str, p: i32, o: i64, m: &str) -> Fetched {
    (t.to_string(), p, o, Some(m.to_string()), NONE)
}

// ---------------------------------------------------------------------------------------
// OffsetCommit
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_commit_creates_group_and_round_trips_metadata() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-t", 3).await;
    let group = "oc-solo";
    commit_standalone(
        &mut c,
        group,
        &[("oc-t", 0, 10, Some("meta-0")), ("oc-t", 1, 20, Some("")), ("oc-t", 2, 30, None)],
    )
    .await;
    let got = fetch_offsets(&mut c, group, Some(&[("oc-t", &[0, 1, 2])])).await;
    assert_eq!(got, vec![f("oc-t", 0, 10, "meta-0"), f("oc-t", 1, 20, ""), f("oc-t", 2, 30, "")]);
    let d = describe(&mut c, group).await;
    assert_eq!((d.group_state.as_str(), d.protocol_type.as_str()), ("Empty", ""), "an offsets-only group");
    // A later commit overwrites.
    commit_standalone(&mut c, group, &[("oc-t", 0, 11, Some("meta-0b"))]).await;
    let got = fetch_offsets(&mut c, group, Some(&[("oc-t", &[0])])).await;
    assert_eq!(got, vec![f("oc-t", 0, 11, "meta-0b")]);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_round_trips_leader_epoch() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-epoch", 1).await;
    let req = OffsetCommitRequest::default().with_group_id(gid("oc-epoch-g")).with_topics(vec![
        OffsetCommitRequestTopic::default().with_name(tn("oc-epoch")).with_partitions(vec![
            OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(42)
                .with_committed_leader_epoch(7)
                .with_committed_metadata(Some(sb("e"))),
        ]),
    ]);
    let r = c.call(&req, 8).await;
    assert_eq!(commit_codes(&r), vec![("oc-epoch".to_string(), 0, NONE)]);
    let r = c.call(&offset_fetch_request("oc-epoch-g", Some(&[("oc-epoch", &[0])])), 7).await;
    let p = &r.topics[0].partitions[0];
    assert_eq!((p.committed_offset, p.committed_leader_epoch, p.error_code), (42, 7, NONE));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_checks_member_and_generation() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-m", 1).await;
    let group = "oc-member";
    let (a, gen) = stable_single(&mut c, group, &["oc-m"], b"x").await;
    let ok = commit(&mut c, group, gen, &a, None, &[("oc-m", 0, 5, Some("by-a"))]).await;
    assert_eq!(ok, vec![("oc-m".to_string(), 0, NONE)], "member with the current generation");
    for bad in [gen + 1, gen - 1] {
        let r = commit(&mut c, group, bad, &a, None, &[("oc-m", 0, 6, None)]).await;
        assert_eq!(r, vec![("oc-m".to_string(), 0, ILLEGAL_GENERATION)], "generation {bad}");
    }
    let r = commit(&mut c, group, gen, "ghost", None, &[("oc-m", 0, 6, None)]).await;
    assert_eq!(r, vec![("oc-m".to_string(), 0, UNKNOWN_MEMBER_ID)], "unknown member");
    assert_eq!(fetch_offsets(&mut c, group, Some(&[("oc-m", &[0])])).await, vec![f("oc-m", 0, 5, "by-a")]);
    b.stop().await;
}

/// Kafka accepts a commit with generation -1 only while the group is Empty; for an active
/// group the (empty) member id is unknown: UNKNOWN_MEMBER_ID (GroupCoordinator.doCommitOffsets:
/// `!group.has(memberId)`; ClassicGroup.validateOffsetCommit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_commit_into_an_active_group_is_unknown_member() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-active", 1).await;
    stable_single(&mut c, "oc-active-g", &["oc-active"], b"x").await;
    let r = commit(&mut c, "oc-active-g", -1, "", None, &[("oc-active", 0, 1, None)]).await;
    assert_eq!(r, vec![("oc-active".to_string(), 0, UNKNOWN_MEMBER_ID)]);
    assert_eq!(committed(&mut c, "oc-active-g", "oc-active", 0).await, -1, "nothing stored");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_during_rebalance() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-rb", 1).await;
    let group = "oc-rebalance";
    // CompletingRebalance: the member knows the generation but has no assignment yet.
    let j = join_new(&mut c, group, consumer_protocols(&["range"], &["oc-rb"])).await;
    let a = j.member_id.to_string();
    let r = commit(&mut c, group, 1, &a, None, &[("oc-rb", 0, 1, None)]).await;
    assert_eq!(r, vec![("oc-rb".to_string(), 0, REBALANCE_IN_PROGRESS)], "commit while CompletingRebalance");
    assert_eq!(sync(&mut c, group, 1, &a, None, &[(&a, b"x")]).await.error_code, NONE);
    // PreparingRebalance: commits with the current generation are still allowed.
    let mut c2 = b.client().await;
    let protos = consumer_protocols(&["range"], &["oc-rb"]);
    let b_id = member_id_required(&mut c2, group, protos.clone()).await;
    let _ = c2.send(&join_request(group, &b_id, None, "consumer", protos), JOIN_V).await;
    assert_no_response(&mut c2, 200, "B's JoinGroup").await;
    assert_eq!(group_state(&mut c, group).await, "PreparingRebalance");
    let r = commit(&mut c, group, 1, &a, None, &[("oc-rb", 0, 2, None)]).await;
    assert_eq!(r, vec![("oc-rb".to_string(), 0, NONE)], "commit while PreparingRebalance");
    assert_eq!(committed(&mut c, group, "oc-rb", 0).await, 2);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_unknown_topic_fails_only_its_partitions() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-known", 2).await;
    let r = commit(
        &mut c,
        "oc-unknown-topic",
        -1,
        "",
        None,
        &[("oc-known", 0, 1, None), ("oc-missing", 0, 2, None), ("oc-missing", 1, 3, None), ("oc-known", 1, 4, None)],
    )
    .await;
    let mut r = r;
    r.sort();
    assert_eq!(
        r,
        vec![
            ("oc-known".to_string(), 0, NONE),
            ("oc-known".to_string(), 1, NONE),
            ("oc-missing".to_string(), 0, UNKNOWN_TOPIC_OR_PARTITION),
            ("oc-missing".to_string(), 1, UNKNOWN_TOPIC_OR_PARTITION),
        ]
    );
    let got = fetch_offsets(&mut c, "oc-unknown-topic", None).await;
    assert_eq!(got, vec![f("oc-known", 0, 1, ""), f("oc-known", 1, 4, "")], "only the known topic is stored");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_metadata_over_4096_bytes_is_too_large() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-meta", 3).await;
    let max = "m".repeat(4096);
    let over = "m".repeat(4097);
    let mut r = commit(
        &mut c,
        "oc-meta-g",
        -1,
        "",
        None,
        &[("oc-meta", 0, 1, Some(&max)), ("oc-meta", 1, 2, Some(&over)), ("oc-meta", 2, 3, None)],
    )
    .await;
    r.sort();
    assert_eq!(
        r,
        vec![
            ("oc-meta".to_string(), 0, NONE),
            ("oc-meta".to_string(), 1, OFFSET_METADATA_TOO_LARGE),
            ("oc-meta".to_string(), 2, NONE),
        ]
    );
    let got = fetch_offsets(&mut c, "oc-meta-g", Some(&[("oc-meta", &[0, 1, 2])])).await;
    assert_eq!(got, vec![f("oc-meta", 0, 1, &max), f("oc-meta", 1, -1, ""), f("oc-meta", 2, 3, "")]);
    b.stop().await;
}

/// Kafka's OffsetMetadataManager: ILLEGAL_GENERATION below v9, GROUP_ID_NOT_FOUND from v9.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_with_generation_to_unknown_group_is_refused() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-ng", 1).await;
    for (gen, member) in [(1, "m"), (0, "")] {
        for (v, want) in [(8, ILLEGAL_GENERATION), (9, GROUP_ID_NOT_FOUND)] {
            let req = commit_request("oc-no-group", gen, member, None, &[("oc-ng", 0, 1, None)]);
            let r = commit_codes(&c.call(&req, v).await);
            assert_eq!(r, vec![("oc-ng".to_string(), 0, want)], "v{v} generation {gen}");
        }
    }
    let d = describe(&mut c, "oc-no-group").await;
    assert_eq!(d.group_state.as_str(), "Dead", "no group was created");
    assert!(list_groups(&mut c, &[]).await.is_empty());
    b.stop().await;
}

/// Kafka keeps accepting the empty group id for OffsetCommit/OffsetFetch "for backwards
/// compatibility" (GroupCoordinatorService.commitOffsets rejects only a null group id).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_and_fetch_accept_the_empty_group_id() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-empty-id", 1).await;
    let r = commit(&mut c, "", -1, "", None, &[("oc-empty-id", 0, 9, Some("legacy"))]).await;
    assert_eq!(r, vec![("oc-empty-id".to_string(), 0, NONE)]);
    assert_eq!(fetch_offsets(&mut c, "", Some(&[("oc-empty-id", &[0])])).await, vec![f("oc-empty-id", 0, 9, "legacy")]);
    b.stop().await;
}

/// Kafka drops the committed offsets of a deleted topic's partitions from every group
/// (GroupCoordinator.onPartitionsDeleted / handleDeletedPartitions), so a topic re-created
/// under the same name does not inherit stale positions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_topic_removes_its_committed_offsets() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oc-doomed", 2).await;
    create_topic(&mut c, "oc-kept", 1).await;
    commit_standalone(&mut c, "oc-del-g", &[("oc-doomed", 0, 50, None)]).await;
    commit_standalone(&mut c, "oc-del-g", &[("oc-doomed", 1, 60, None)]).await;
    commit_standalone(&mut c, "oc-del-g", &[("oc-kept", 0, 70, None)]).await;
    let req = DeleteTopicsRequest::default().with_timeout_ms(5000).with_topic_names(vec![tn("oc-doomed")]);
    assert_eq!(c.call(&req, 5).await.responses[0].error_code, NONE);
    assert_eq!(
        fetch_offsets(&mut c, "oc-del-g", None).await,
        vec![f("oc-kept", 0, 70, "")],
        "only the surviving topic's offsets remain"
    );
    create_topic(&mut c, "oc-doomed", 2).await;
    assert_eq!(committed(&mut c, "oc-del-g", "oc-doomed", 0).await, -1, "a re-created topic starts without offsets");
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// OffsetFetch
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_fetch_v1_to_v7_single_group() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "of-a", 3).await;
    create_topic(&mut c, "of-b", 1).await;
    let group = "of-g";
    commit_standalone(&mut c, group, &[("of-a", 0, 5, Some("m0")), ("of-a", 1, 7, None), ("of-b", 0, 1, Some("b"))])
        .await;
    for v in 1..=7i16 {
        let r = c.call(&offset_fetch_request(group, Some(&[("of-a", &[0, 1, 2])])), v).await;
        if v >= 2 {
            assert_eq!(r.error_code, NONE, "OffsetFetch v{v} top-level error");
        }
        assert_eq!(
            fetched_v1_7(&r),
            vec![f("of-a", 0, 5, "m0"), f("of-a", 1, 7, ""), f("of-a", 2, -1, "")],
            "OffsetFetch v{v}: a partition without a commit answers -1"
        );
        if v >= 5 {
            let p2 = r.topics[0].partitions.iter().find(|p| p.partition_index == 2).unwrap();
            assert_eq!(p2.committed_leader_epoch, -1, "v{v} leader epoch without a commit");
        }
        if v >= 2 {
            let r = c.call(&offset_fetch_request(group, None), v).await;
            assert_eq!(r.error_code, NONE);
            assert_eq!(
                fetched_v1_7(&r),
                vec![f("of-a", 0, 5, "m0"), f("of-a", 1, 7, ""), f("of-b", 0, 1, "b")],
                "OffsetFetch v{v} with null topics returns every committed partition"
            );
        }
        // An unknown group answers -1 without an error.
        let r = c.call(&offset_fetch_request("of-nobody", Some(&[("of-a", &[0])])), v).await;
        assert_eq!(fetched_v1_7(&r), vec![f("of-a", 0, -1, "")], "v{v} unknown group");
        if v >= 2 {
            assert_eq!(r.error_code, NONE);
            let r = c.call(&offset_fetch_request("of-nobody", None), v).await;
            assert!(r.topics.is_empty(), "v{v}: nothing committed for an unknown group");
        }
    }
    // require_stable (v7) is accepted.
    let req = offset_fetch_request(group, Some(&[("of-b", &[0])])).with_require_stable(true);
    let r = c.call(&req, 7).await;
    assert_eq!(r.error_code, NONE);
    assert_eq!(fetched_v1_7(&r), vec![f("of-b", 0, 1, "b")]);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_fetch_v8_v9_several_groups() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "ofm", 2).await;
    commit_standalone(&mut c, "ofm-1", &[("ofm", 0, 100, Some("one"))]).await;
    commit_standalone(&mut c, "ofm-2", &[("ofm", 0, 200, None), ("ofm", 1, 201, Some("two"))]).await;
    let topics = |ps: &[i32]| {
        Some(vec![OffsetFetchRequestTopics::default().with_name(tn("ofm")).with_partition_indexes(ps.to_vec())])
    };
    for v in 8..=9i16 {
        for require_stable in [false, true] {
            let req = OffsetFetchRequest::default()
                .with_groups(vec![
                    OffsetFetchRequestGroup::default().with_group_id(gid("ofm-1")).with_topics(topics(&[0, 1])),
                    OffsetFetchRequestGroup::default().with_group_id(gid("ofm-2")).with_topics(None),
                    OffsetFetchRequestGroup::default().with_group_id(gid("ofm-none")).with_topics(topics(&[1])),
                ])
                .with_require_stable(require_stable);
            let r = c.call(&req, v).await;
            assert_eq!(r.groups.len(), 3, "OffsetFetch v{v}: one answer per group");
            let per_group: Vec<(String, i16, Vec<Fetched>)> = r
                .groups
                .iter()
                .map(|g| {
                    let mut parts: Vec<Fetched> = g
                        .topics
                        .iter()
                        .flat_map(|t| {
                            t.partitions.iter().map(move |p| {
                                (
                                    t.name.to_string(),
                                    p.partition_index,
                                    p.committed_offset,
                                    p.metadata.as_ref().map(|m| m.to_string()),
                                    p.error_code,
                                )
                            })
                        })
                        .collect();
                    parts.sort();
                    (g.group_id.to_string(), g.error_code, parts)
                })
                .collect();
            assert_eq!(
                per_group,
                vec![
                    ("ofm-1".to_string(), NONE, vec![f("ofm", 0, 100, "one"), f("ofm", 1, -1, "")]),
                    ("ofm-2".to_string(), NONE, vec![f("ofm", 0, 200, ""), f("ofm", 1, 201, "two")]),
                    ("ofm-none".to_string(), NONE, vec![f("ofm", 1, -1, "")]),
                ],
                "OffsetFetch v{v} require_stable={require_stable}"
            );
        }
    }
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// DeleteGroups
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_groups_codes_and_offsets_are_gone() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "dlg", 2).await;
    stable_single(&mut c, "dlg-active", &["dlg"], b"x").await;
    commit_standalone(&mut c, "dlg-empty", &[("dlg", 0, 3, Some("x")), ("dlg", 1, 4, None)]).await;
    let r = delete_groups(&mut c, &["dlg-active", "dlg-unknown", "dlg-empty"]).await;
    assert_eq!(
        r,
        vec![
            ("dlg-active".to_string(), NON_EMPTY_GROUP),
            ("dlg-empty".to_string(), NONE),
            ("dlg-unknown".to_string(), GROUP_ID_NOT_FOUND),
        ]
    );
    assert_eq!(
        fetch_offsets(&mut c, "dlg-empty", Some(&[("dlg", &[0, 1])])).await,
        vec![f("dlg", 0, -1, ""), f("dlg", 1, -1, "")],
        "the deleted group's offsets are gone"
    );
    assert!(fetch_offsets(&mut c, "dlg-empty", None).await.is_empty());
    assert_eq!(describe(&mut c, "dlg-empty").await.group_state.as_str(), "Dead");
    let listed: Vec<String> = list_groups(&mut c, &[]).await.into_iter().map(|g| g.0).collect();
    assert_eq!(listed, vec!["dlg-active"]);
    assert_eq!(delete_groups(&mut c, &["dlg-empty"]).await, vec![("dlg-empty".to_string(), GROUP_ID_NOT_FOUND)]);
    // Every version answers.
    for v in 0..=2i16 {
        let r = c.call(&DeleteGroupsRequest::default().with_groups_names(vec![gid("dlg-active")]), v).await;
        assert_eq!(r.results[0].error_code, NON_EMPTY_GROUP, "DeleteGroups v{v}");
    }
    // A group whose last member left is Empty and can be deleted.
    let mut c2 = b.client().await;
    let (a, gen) = stable_single(&mut c2, "dlg-left", &["dlg"], b"x").await;
    commit_ok(&mut c2, "dlg-left", gen, &a, &[("dlg", 0, 8, None)]).await;
    assert_eq!(leave(&mut c2, "dlg-left", &[(&a, None)]).await.members[0].error_code, NONE);
    assert_eq!(delete_groups(&mut c2, &["dlg-left"]).await, vec![("dlg-left".to_string(), NONE)]);
    assert_eq!(committed(&mut c2, "dlg-left", "dlg", 0).await, -1);
    b.stop().await;
}

/// Kafka deduplicates the group ids of a DeleteGroups request (KafkaApis.handleDeleteGroupsRequest:
/// `groupsNames.asScala.distinct`; the response is a collection keyed by group id): a repeated
/// id is deleted once and answered once, not rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_groups_deduplicates_repeated_group_ids() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "dlg-dup", 1).await;
    commit_standalone(&mut c, "dlg-dup-g", &[("dlg-dup", 0, 3, None)]).await;
    assert_eq!(
        delete_groups(&mut c, &["dlg-dup-g", "dlg-dup-g"]).await,
        vec![("dlg-dup-g".to_string(), NONE)],
        "one result for a repeated group id"
    );
    assert_eq!(committed(&mut c, "dlg-dup-g", "dlg-dup", 0).await, -1, "the group was deleted");
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// OffsetDelete
// ---------------------------------------------------------------------------------------

fn offset_delete_request(group: &str, topics: &[(&str, &[i32])]) -> OffsetDeleteRequest {
    OffsetDeleteRequest::default().with_group_id(gid(group)).with_topics(
        topics
            .iter()
            .map(|(t, ps)| {
                OffsetDeleteRequestTopic::default().with_name(tn(t)).with_partitions(
                    ps.iter().map(|p| OffsetDeleteRequestPartition::default().with_partition_index(*p)).collect(),
                )
            })
            .collect(),
    )
}

fn delete_codes(r: &OffsetDeleteResponse) -> Vec<(String, i32, i16)> {
    let mut v: Vec<(String, i32, i16)> = r
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.name.to_string(), p.partition_index, p.error_code)))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_delete_unknown_group_is_group_id_not_found() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let r = c.call(&offset_delete_request("od-nobody", &[("t", &[0])]), 0).await;
    assert_eq!(r.error_code, GROUP_ID_NOT_FOUND);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_delete_refuses_subscribed_topics_and_deletes_others() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "od-sub", 2).await;
    create_topic(&mut c, "od-other", 1).await;
    let group = "od-g";
    // The member's metadata is a real ConsumerProtocolSubscription for od-sub.
    let (a, gen) = stable_single(&mut c, group, &["od-sub"], b"x").await;
    commit_ok(&mut c, group, gen, &a, &[("od-sub", 0, 1, None), ("od-sub", 1, 2, None), ("od-other", 0, 3, None)])
        .await;
    let r = c.call(&offset_delete_request(group, &[("od-sub", &[0, 1]), ("od-other", &[0])]), 0).await;
    assert_eq!(r.error_code, NONE);
    assert_eq!(
        delete_codes(&r),
        vec![
            ("od-other".to_string(), 0, NONE),
            ("od-sub".to_string(), 0, GROUP_SUBSCRIBED_TO_TOPIC),
            ("od-sub".to_string(), 1, GROUP_SUBSCRIBED_TO_TOPIC),
        ]
    );
    assert_eq!(
        fetch_offsets(&mut c, group, None).await,
        vec![f("od-sub", 0, 1, ""), f("od-sub", 1, 2, "")],
        "only the unsubscribed topic's offset is gone"
    );
    // Older subscription encodings (v0) are understood too.
    let mut c2 = b.client().await;
    let j = join_new(&mut c2, "od-v0", vec![protocol("range", subscription_v(&["od-other"], 0))]).await;
    let id = j.member_id.to_string();
    assert_eq!(sync(&mut c2, "od-v0", j.generation_id, &id, None, &[(&id, b"x")]).await.error_code, NONE);
    commit_ok(&mut c2, "od-v0", j.generation_id, &id, &[("od-other", 0, 5, None), ("od-sub", 0, 6, None)]).await;
    let r = c2.call(&offset_delete_request("od-v0", &[("od-other", &[0]), ("od-sub", &[0])]), 0).await;
    assert_eq!(
        delete_codes(&r),
        vec![("od-other".to_string(), 0, GROUP_SUBSCRIBED_TO_TOPIC), ("od-sub".to_string(), 0, NONE)]
    );
    // Once the group is empty, every offset can go.
    assert_eq!(leave(&mut c, group, &[(&a, None)]).await.members[0].error_code, NONE);
    let r = c.call(&offset_delete_request(group, &[("od-sub", &[0, 1])]), 0).await;
    assert_eq!(r.error_code, NONE);
    assert_eq!(delete_codes(&r), vec![("od-sub".to_string(), 0, NONE), ("od-sub".to_string(), 1, NONE)]);
    assert!(fetch_offsets(&mut c, group, None).await.is_empty());
    b.stop().await;
}

/// Kafka refuses OffsetDelete for a non-empty group that does not use the consumer protocol
/// (it cannot tell which topics are in use): NON_EMPTY_GROUP (GroupCoordinator.handleDeleteOffsets,
/// ClassicGroup.validateOffsetDelete).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_delete_on_active_non_consumer_group_is_non_empty_group() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "od-connect", 1).await;
    let group = "od-connect-g";
    let protos = vec![protocol("sessioned", bytes::Bytes::from_static(b"connect-metadata"))];
    let id = member_id_required(&mut c, group, protos.clone()).await;
    let j = c.call(&join_request(group, &id, None, "connect", protos), JOIN_V).await;
    assert_eq!(j.error_code, NONE);
    assert_eq!(sync(&mut c, group, j.generation_id, &id, None, &[(&id, b"x")]).await.error_code, NONE);
    commit_ok(&mut c, group, j.generation_id, &id, &[("od-connect", 0, 1, None)]).await;
    let r = c.call(&offset_delete_request(group, &[("od-connect", &[0])]), 0).await;
    assert_eq!(r.error_code, NON_EMPTY_GROUP);
    assert_eq!(committed(&mut c, group, "od-connect", 0).await, 1, "the offset is kept");
    b.stop().await;
}
