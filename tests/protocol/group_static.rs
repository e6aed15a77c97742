//! Static group membership (KIP-345, group.instance.id, JoinGroup v5+): no MEMBER_ID_REQUIRED,
//! restarts without a rebalance, fencing of the replaced member id, LeaveGroup by instance id.

use bytes::Bytes;
use kafka_protocol::messages::*;

use crate::common::groups::*;
use crate::common::*;

const INST: &str = "inst-a";

/// A static member joins at `v` and syncs `assignment`; returns (member id, generation).
async fn static_stable(c: &mut Client, group: &str, v: i16, assignment: &[u8]) -> (String, i32) {
    let r =
        c.call(&join_request(group, "", Some(INST), "consumer", consumer_protocols(&["range"], &["st-t"])), v).await;
    assert_eq!(r.error_code, NONE, "JoinGroup v{v}: a static member joins without MEMBER_ID_REQUIRED");
    assert_eq!(r.generation_id, 1);
    let id = r.member_id.to_string();
    assert!(!id.is_empty());
    assert_eq!(r.leader.as_str(), id);
    assert_eq!(r.members.len(), 1);
    assert_eq!(
        r.members[0].group_instance_id.as_ref().map(|s| s.as_str()),
        Some(INST),
        "instance id in the member list"
    );
    let s = sync(c, group, 1, &id, Some(INST), &[(&id, assignment)]).await;
    assert_eq!(s.error_code, NONE);
    assert_eq!(s.assignment.as_ref(), assignment);
    (id, 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_member_restart_keeps_generation_and_assignment_and_fences_old_id() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "st-t", 1).await;
    let group = "st-restart";
    let (old, gen) = static_stable(&mut c, group, 9, b"P").await;

    // The "restarted" instance: same group.instance.id, empty member id.
    let mut c2 = b.client().await;
    let r =
        c2.call(&join_request(group, "", Some(INST), "consumer", consumer_protocols(&["range"], &["st-t"])), 9).await;
    assert_eq!(r.error_code, NONE);
    assert_eq!(r.generation_id, gen, "same generation: no rebalance");
    let new = r.member_id.to_string();
    assert_ne!(new, old, "a new member id");
    assert_eq!(r.protocol_name.as_ref().map(|s| s.as_str()), Some("range"));
    // v9 (KIP-814): the rejoining static leader learns it leads but must skip the assignment.
    assert_eq!(r.leader.as_str(), new, "v9: the leader id is the new member id");
    assert!(r.skip_assignment, "v9: the static leader skips the assignment");
    assert_eq!(r.members.len(), 1, "v9: the leader still gets the member list");
    assert_eq!(group_state(&mut c2, group).await, "Stable", "no rebalance");

    let s = sync(&mut c2, group, gen, &new, Some(INST), &[]).await;
    assert_eq!(s.error_code, NONE);
    assert_eq!(s.assignment.as_ref(), b"P", "the old assignment");
    assert_eq!(heartbeat(&mut c2, group, gen, &new, Some(INST)).await, NONE);

    // The old member id is fenced everywhere.
    assert_eq!(heartbeat(&mut c, group, gen, &old, Some(INST)).await, FENCED_INSTANCE_ID, "Heartbeat");
    assert_eq!(sync(&mut c, group, gen, &old, Some(INST), &[]).await.error_code, FENCED_INSTANCE_ID, "SyncGroup");
    let codes = commit(&mut c, group, gen, &old, Some(INST), &[("st-t", 0, 3, None)]).await;
    assert_eq!(codes, vec![("st-t".to_string(), 0, FENCED_INSTANCE_ID)], "OffsetCommit");
    let r =
        c.call(&join_request(group, &old, Some(INST), "consumer", consumer_protocols(&["range"], &["st-t"])), 9).await;
    assert_eq!(r.error_code, FENCED_INSTANCE_ID, "JoinGroup with the old member id");
    let r = leave(&mut c, group, &[(&old, Some(INST))]).await;
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].error_code, FENCED_INSTANCE_ID, "LeaveGroup with the old member id");
    // The new one commits fine.
    let codes = commit(&mut c2, group, gen, &new, Some(INST), &[("st-t", 0, 4, None)]).await;
    assert_eq!(codes, vec![("st-t".to_string(), 0, NONE)]);

    // LeaveGroup by instance id alone.
    let r = leave(&mut c2, group, &[("", Some(INST))]).await;
    assert_eq!(r.error_code, NONE);
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].error_code, NONE, "LeaveGroup by group.instance.id");
    assert_eq!(r.members[0].group_instance_id.as_ref().map(|s| s.as_str()), Some(INST));
    assert_eq!(group_state(&mut c2, group).await, "Empty");
    assert_eq!(committed(&mut c2, group, "st-t", 0).await, 4);
    b.stop().await;
}

/// JoinGroup v5-v8 (no KIP-814 skip_assignment): Kafka answers a rejoining static leader of
/// a Stable group with the OLD leader id and no member list, so that it does not think it is
/// the leader and run a pointless assignment (GroupCoordinator.updateStaticMemberAndRebalance,
/// GroupMetadataManager.updateStaticMemberThenRebalanceOrCompleteJoin: `setLeader(currentLeader)`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_leader_restart_v5_to_v8_reports_the_old_leader_id() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for v in 5..=8i16 {
        let group = format!("st-old-leader-v{v}");
        let (old, gen) = static_stable(&mut c, &group, v, b"Q").await;
        let r = c
            .call(&join_request(&group, "", Some(INST), "consumer", consumer_protocols(&["range"], &["st-t"])), v)
            .await;
        assert_eq!((r.error_code, r.generation_id), (NONE, gen), "JoinGroup v{v}: no rebalance");
        let new = r.member_id.to_string();
        assert_ne!(new, old);
        assert!(r.members.is_empty(), "v{v}: no member list");
        assert_eq!(r.leader.as_str(), old, "v{v}: the leader id is the old member id");
        let s = sync(&mut c, &group, gen, &new, Some(INST), &[]).await;
        assert_eq!((s.error_code, s.assignment.clone()), (NONE, Bytes::from_static(b"Q")), "v{v}");
    }
    b.stop().await;
}

/// Kafka: a known static member rejoining (new member id) while the group is
/// CompletingRebalance triggers a new rebalance, since the leader may be assigning to the old
/// member id (updateStaticMemberAndRebalance, `case CompletingRebalance => prepareRebalance`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_member_rejoin_during_completing_rebalance_starts_a_new_generation() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let group = "st-completing";
    let protos = consumer_protocols(&["range"], &["st-t"]);
    let r = c.call(&join_request(group, "", Some(INST), "consumer", protos.clone()), 9).await;
    assert_eq!((r.error_code, r.generation_id), (NONE, 1));
    let old = r.member_id.to_string();
    assert_eq!(group_state(&mut c, group).await, "CompletingRebalance");

    let mut c2 = b.client().await;
    let r = c2.call(&join_request(group, "", Some(INST), "consumer", protos.clone()), 9).await;
    assert_eq!(r.error_code, NONE);
    let new = r.member_id.to_string();
    assert_ne!(new, old);
    assert_eq!(r.generation_id, 2, "the rejoin starts (and, alone, completes) a new generation");
    assert_eq!(r.leader.as_str(), new);
    assert_eq!(r.members.len(), 1);
    assert_eq!(sync(&mut c, group, 1, &old, Some(INST), &[]).await.error_code, FENCED_INSTANCE_ID);
    let s = sync(&mut c2, group, r.generation_id, &new, Some(INST), &[(&new, b"N")]).await;
    assert_eq!((s.error_code, s.assignment.as_ref()), (NONE, &b"N"[..]));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_member_with_unknown_instance_and_member_id_is_unknown() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let protos = consumer_protocols(&["range"], &["st-t"]);
    let (id, gen) = static_stable(&mut c, "st-unknown", 5, b"x").await;
    let r = c.call(&join_request("st-unknown", "ghost", Some("inst-ghost"), "consumer", protos.clone()), 9).await;
    assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "JoinGroup with an unknown member and instance");
    // Known member id with a different (unknown) instance id.
    assert_eq!(heartbeat(&mut c, "st-unknown", gen, &id, Some(INST)).await, NONE);
    let r = leave(&mut c, "st-unknown", &[("", Some("inst-ghost"))]).await;
    assert_eq!(r.members[0].error_code, UNKNOWN_MEMBER_ID, "LeaveGroup by an unknown instance id");
    assert_eq!(group_state(&mut c, "st-unknown").await, "Stable");
    b.stop().await;
}

/// Two static members: a follower restarting gets the current generation, no member list,
/// the current leader, and its old assignment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_follower_restart_keeps_its_assignment() {
    let b = TestBroker::start().await;
    let group = "st-follower";
    let protos = consumer_protocols(&["range"], &["st-t"]);
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let ja = ca.call(&join_request(group, "", Some("inst-1"), "consumer", protos.clone()), 9).await;
    let a = ja.member_id.to_string();
    assert_eq!(sync(&mut ca, group, 1, &a, Some("inst-1"), &[(&a, b"A1")]).await.error_code, NONE);
    let b_cid = cb.send(&join_request(group, "", Some("inst-2"), "consumer", protos.clone()), 9).await;
    assert_no_response(&mut cb, 200, "the second static member's JoinGroup").await;
    assert_eq!(heartbeat(&mut ca, group, 1, &a, Some("inst-1")).await, REBALANCE_IN_PROGRESS);
    let ja = ca.call(&join_request(group, &a, Some("inst-1"), "consumer", protos.clone()), 9).await;
    let jb = recv_for::<JoinGroupRequest>(&mut cb, b_cid, 9).await;
    assert_eq!((ja.generation_id, jb.generation_id), (2, 2));
    let b_old = jb.member_id.to_string();
    assert_eq!(ja.leader.as_str(), a);
    let mut ids: Vec<(String, Option<String>)> = ja
        .members
        .iter()
        .map(|m| (m.member_id.to_string(), m.group_instance_id.as_ref().map(|s| s.to_string())))
        .collect();
    ids.sort();
    let mut want = vec![(a.clone(), Some("inst-1".to_string())), (b_old.clone(), Some("inst-2".to_string()))];
    want.sort();
    assert_eq!(ids, want, "the leader sees both instance ids");
    assert_eq!(sync(&mut ca, group, 2, &a, Some("inst-1"), &[(&a, b"A2"), (&b_old, b"B2")]).await.error_code, NONE);
    assert_eq!(sync(&mut cb, group, 2, &b_old, Some("inst-2"), &[]).await.assignment.as_ref(), b"B2");

    let mut cb2 = b.client().await;
    let r = cb2.call(&join_request(group, "", Some("inst-2"), "consumer", protos.clone()), 9).await;
    assert_eq!((r.error_code, r.generation_id), (NONE, 2));
    assert!(r.members.is_empty(), "a follower gets no member list");
    assert!(!r.skip_assignment);
    assert_eq!(r.leader.as_str(), a, "the leader is unchanged");
    let b_new = r.member_id.to_string();
    let s = sync(&mut cb2, group, 2, &b_new, Some("inst-2"), &[]).await;
    assert_eq!((s.error_code, s.assignment.as_ref()), (NONE, &b"B2"[..]));
    assert_eq!(heartbeat(&mut ca, group, 2, &a, Some("inst-1")).await, NONE, "the leader is undisturbed");
    assert_eq!(heartbeat(&mut cb, group, 2, &b_old, Some("inst-2")).await, FENCED_INSTANCE_ID);
    let d = describe(&mut ca, group).await;
    assert_eq!(d.group_state.as_str(), "Stable");
    let mut inst: Vec<(String, String)> = d
        .members
        .iter()
        .map(|m| (m.group_instance_id.as_ref().map(|s| s.to_string()).unwrap_or_default(), m.member_id.to_string()))
        .collect();
    inst.sort();
    assert_eq!(inst, vec![("inst-1".to_string(), a.clone()), ("inst-2".to_string(), b_new.clone())]);
    b.stop().await;
}

/// Kafka only drops *dynamic* members that miss a rebalance (onCompleteJoin:
/// `notYetRejoinedMembers.filterNot(_.isStaticMember)`); a static member keeps its membership
/// (and must rejoin with the new generation) until its session expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_member_that_misses_a_rebalance_keeps_its_membership() {
    let b = TestBroker::start().await;
    let group = "st-laggard";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["st-t"]);
    let ja = ca
        .call(&join_request(group, "", Some("inst-s"), "consumer", protos.clone()).with_rebalance_timeout_ms(1000), 9)
        .await;
    let a = ja.member_id.to_string();
    assert_eq!(sync(&mut ca, group, 1, &a, Some("inst-s"), &[(&a, b"x")]).await.error_code, NONE);
    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let jb =
        cb.call(&join_request(group, &b_id, None, "consumer", protos.clone()).with_rebalance_timeout_ms(1000), 9).await;
    assert_eq!((jb.error_code, jb.generation_id), (NONE, 2), "the join phase ends at the rebalance timeout");
    assert_eq!(jb.leader.as_str(), b_id, "a member that rejoined leads");
    let mut ids: Vec<String> = jb.members.iter().map(|m| m.member_id.to_string()).collect();
    ids.sort();
    let mut want = vec![a.clone(), b_id.clone()];
    want.sort();
    assert_eq!(ids, want, "the static member is still a member");
    assert_eq!(heartbeat(&mut ca, group, 1, &a, Some("inst-s")).await, ILLEGAL_GENERATION, "it must rejoin");
    b.stop().await;
}

/// A static member that goes silent is gone at its session's end for the requests that read
/// membership, not only once the 50 ms timer loop has come round: DeleteGroups a moment after
/// the deadline succeeds, and ListGroups shows the group Empty (librdkafka's 0081 admin test
/// closes static consumers, waits the session timeout and deletes their groups).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_just_ended_is_over_for_delete_and_list_groups() {
    use std::time::Duration;
    let b = TestBroker::start_with(|cfg| cfg.group_min_session_timeout_ms = 100).await;
    let mut c = b.client().await;
    create_topic(&mut c, "st-t", 1).await;
    let session = Duration::from_millis(300);
    for i in 0..6 {
        let group = format!("st-ended-{i}");
        let protos = consumer_protocols(&["range"], &["st-t"]);
        let join = join_request(&group, "", Some(INST), "consumer", protos).with_session_timeout_ms(300);
        let r = c.call(&join, 9).await;
        assert_eq!(r.error_code, NONE);
        let id = r.member_id.to_string();
        assert_eq!(sync(&mut c, &group, r.generation_id, &id, Some(INST), &[(&id, b"P")]).await.error_code, NONE);
        // The SyncGroup answer left after the broker restarted the session: 4 ms past its end
        // here is past it there.
        tokio::time::sleep(session + Duration::from_millis(4)).await;
        if i % 2 == 0 {
            assert_eq!(delete_groups(&mut c, &[&group]).await, vec![(group.clone(), NONE)], "round {i}: deleted");
        } else {
            let listed = list_groups(&mut c, &[]).await;
            let state = listed.iter().find(|(g, _, _)| *g == group).map(|(_, _, s)| s.as_str());
            assert_eq!(state, Some("Empty"), "round {i}: the silent member is gone");
        }
    }
    b.stop().await;
}
