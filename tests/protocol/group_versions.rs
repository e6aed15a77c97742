//! Every group API at every version Brook advertises (the ranges in `brook::api::HANDLERS`)
//! answers a basic request with a response that decodes at that version.

use std::ops::RangeInclusive;

use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopics};
use kafka_protocol::messages::*;

use crate::common::groups::*;
use crate::common::*;

fn range_of(key: ApiKey) -> RangeInclusive<i16> {
    let e = brook::api::HANDLERS.iter().find(|e| e.key == key).unwrap_or_else(|| panic!("{key:?} is registered"));
    e.min_version..=e.max_version
}

#[test]
fn group_apis_are_registered_with_the_expected_ranges() {
    for (key, range) in [
        (ApiKey::OffsetCommit, 2..=9),
        (ApiKey::OffsetFetch, 1..=9),
        (ApiKey::FindCoordinator, 0..=6),
        (ApiKey::JoinGroup, 0..=9),
        (ApiKey::Heartbeat, 0..=4),
        (ApiKey::LeaveGroup, 0..=5),
        (ApiKey::SyncGroup, 0..=5),
        (ApiKey::DescribeGroups, 0..=6),
        (ApiKey::ListGroups, 0..=5),
        (ApiKey::DeleteGroups, 0..=2),
        (ApiKey::OffsetDelete, 0..=0),
    ] {
        let got = range_of(key);
        assert!(
            got.start() <= range.start() && got.end() >= range.end(),
            "{key:?} serves {got:?}, expected at least {range:?}"
        );
    }
}

/// Joins `group` with a fresh dynamic member at `v` (handling MEMBER_ID_REQUIRED on v4+).
async fn join_at(c: &mut Client, group: &str, v: i16) -> JoinGroupResponse {
    let protos = consumer_protocols(&["range"], &["ver-t"]);
    let first = c.call(&join_request(group, "", None, "consumer", protos.clone()), v).await;
    if v < 4 {
        return first;
    }
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED, "JoinGroup v{v} first join");
    c.call(&join_request(group, &first.member_id, None, "consumer", protos), v).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_apis_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let port = b.addr().port() as i32;

    for v in range_of(ApiKey::FindCoordinator) {
        let req = if v >= 4 {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![sb("ver-g")])
        } else {
            FindCoordinatorRequest::default().with_key(sb("ver-g"))
        };
        let r = c.call(&req, v).await;
        if v >= 4 {
            assert_eq!(r.coordinators.len(), 1, "FindCoordinator v{v}");
            assert_eq!((r.coordinators[0].error_code, r.coordinators[0].port), (NONE, port), "FindCoordinator v{v}");
        } else {
            assert_eq!((r.error_code, r.port), (NONE, port), "FindCoordinator v{v}");
        }
    }

    for v in range_of(ApiKey::JoinGroup) {
        let group = format!("ver-join-{v}");
        let r = join_at(&mut c, &group, v).await;
        assert_eq!((r.error_code, r.generation_id), (NONE, 1), "JoinGroup v{v}");
        assert_eq!(r.leader, r.member_id, "JoinGroup v{v}");
        assert_eq!(r.members.len(), 1, "JoinGroup v{v}");
    }

    for v in range_of(ApiKey::SyncGroup) {
        let group = format!("ver-sync-{v}");
        let j = join_at(&mut c, &group, JOIN_V).await;
        let id = j.member_id.to_string();
        let mut req = sync_request(&group, j.generation_id, &id, None, &[(&id, b"assigned")]);
        if v >= 5 {
            req = req.with_protocol_type(Some(sb("consumer"))).with_protocol_name(Some(sb("range")));
        }
        let r = c.call(&req, v).await;
        assert_eq!(r.error_code, NONE, "SyncGroup v{v}");
        assert_eq!(r.assignment.as_ref(), b"assigned", "SyncGroup v{v}");
    }

    let (member, gen) = stable_single(&mut c, "ver-stable", &["ver-t"], b"a").await;
    for v in range_of(ApiKey::Heartbeat) {
        let r = c.call(&heartbeat_request("ver-stable", gen, &member, None), v).await;
        assert_eq!(r.error_code, NONE, "Heartbeat v{v}");
    }
    for v in range_of(ApiKey::DescribeGroups) {
        let r =
            c.call(&DescribeGroupsRequest::default().with_groups(vec![gid("ver-stable"), gid("ver-none")]), v).await;
        assert_eq!(r.groups.len(), 2, "DescribeGroups v{v}");
        assert_eq!((r.groups[0].error_code, r.groups[0].group_state.as_str()), (NONE, "Stable"), "DescribeGroups v{v}");
        assert_eq!(r.groups[0].members.len(), 1, "DescribeGroups v{v}");
        // KIP-1043: v6 reports a group that does not exist as GROUP_ID_NOT_FOUND.
        let unknown = if v >= 6 { GROUP_ID_NOT_FOUND } else { NONE };
        assert_eq!(
            (r.groups[1].error_code, r.groups[1].group_state.as_str()),
            (unknown, "Dead"),
            "DescribeGroups v{v}"
        );
    }
    for v in range_of(ApiKey::ListGroups) {
        let r = c.call(&ListGroupsRequest::default(), v).await;
        assert_eq!(r.error_code, NONE, "ListGroups v{v}");
        assert!(r.groups.iter().any(|g| g.group_id.as_str() == "ver-stable"), "ListGroups v{v}");
    }
    for v in range_of(ApiKey::LeaveGroup) {
        let group = format!("ver-leave-{v}");
        let (id, _) = stable_single(&mut c, &group, &["ver-t"], b"a").await;
        let req = if v >= 3 {
            LeaveGroupRequest::default()
                .with_group_id(gid(&group))
                .with_members(vec![MemberIdentity::default().with_member_id(sb(&id))])
        } else {
            LeaveGroupRequest::default().with_group_id(gid(&group)).with_member_id(sb(&id))
        };
        let r = c.call(&req, v).await;
        assert_eq!(r.error_code, NONE, "LeaveGroup v{v}");
        if v >= 3 {
            assert_eq!(r.members.len(), 1, "LeaveGroup v{v}");
            assert_eq!(r.members[0].error_code, NONE, "LeaveGroup v{v}");
        }
        assert_eq!(group_state(&mut c, &group).await, "Empty", "LeaveGroup v{v}");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_apis_every_version() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "ver-t", 1).await;

    for v in range_of(ApiKey::OffsetCommit) {
        let offset = 100 + v as i64;
        let r = c.call(&commit_request("ver-oc", -1, "", None, &[("ver-t", 0, offset, Some("vm"))]), v).await;
        assert_eq!(commit_codes(&r), vec![("ver-t".to_string(), 0, NONE)], "OffsetCommit v{v}");
        assert_eq!(committed(&mut c, "ver-oc", "ver-t", 0).await, offset, "OffsetCommit v{v} stored");
    }
    let last = 100 + *range_of(ApiKey::OffsetCommit).end() as i64;

    for v in range_of(ApiKey::OffsetFetch) {
        if v >= 8 {
            let req = OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(gid("ver-oc"))
                .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                    .with_name(tn("ver-t"))
                    .with_partition_indexes(vec![0])]))]);
            let r = c.call(&req, v).await;
            assert_eq!(r.groups.len(), 1, "OffsetFetch v{v}");
            assert_eq!(r.groups[0].error_code, NONE, "OffsetFetch v{v}");
            let p = &r.groups[0].topics[0].partitions[0];
            assert_eq!((p.committed_offset, p.error_code), (last, NONE), "OffsetFetch v{v}");
            assert_eq!(p.metadata.as_ref().map(|m| m.as_str()), Some("vm"), "OffsetFetch v{v}");
        } else {
            let r = c.call(&offset_fetch_request("ver-oc", Some(&[("ver-t", &[0])])), v).await;
            assert_eq!(
                fetched_v1_7(&r),
                vec![("ver-t".to_string(), 0, last, Some("vm".to_string()), NONE)],
                "OffsetFetch v{v}"
            );
        }
    }

    for v in range_of(ApiKey::OffsetDelete) {
        let group = format!("ver-od-{v}");
        commit_standalone(&mut c, &group, &[("ver-t", 0, 1, None)]).await;
        let req = OffsetDeleteRequest::default().with_group_id(gid(&group)).with_topics(vec![
            OffsetDeleteRequestTopic::default()
                .with_name(tn("ver-t"))
                .with_partitions(vec![OffsetDeleteRequestPartition::default().with_partition_index(0)]),
        ]);
        let r = c.call(&req, v).await;
        assert_eq!(r.error_code, NONE, "OffsetDelete v{v}");
        assert_eq!(r.topics[0].partitions[0].error_code, NONE, "OffsetDelete v{v}");
        assert_eq!(committed(&mut c, &group, "ver-t", 0).await, -1, "OffsetDelete v{v}");
    }

    for v in range_of(ApiKey::DeleteGroups) {
        let group = format!("ver-dg-{v}");
        commit_standalone(&mut c, &group, &[("ver-t", 0, 1, None)]).await;
        let r =
            c.call(&DeleteGroupsRequest::default().with_groups_names(vec![gid(&group), gid("ver-dg-none")]), v).await;
        let mut codes: Vec<(String, i16)> = r.results.iter().map(|g| (g.group_id.to_string(), g.error_code)).collect();
        codes.sort();
        assert_eq!(
            codes,
            vec![(group.clone(), NONE), ("ver-dg-none".to_string(), GROUP_ID_NOT_FOUND)],
            "DeleteGroups v{v}"
        );
    }
    b.stop().await;
}
