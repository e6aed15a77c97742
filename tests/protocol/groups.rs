//! Consumer groups (classic protocol) over the wire: FindCoordinator, JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup, DescribeGroups and ListGroups, asserting Kafka's exact error codes
//! and rebalance behaviour.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::*;

use crate::common::groups::*;
use crate::common::*;

fn node_id(b: &TestBroker) -> BrokerId {
    BrokerId(b.handle.as_ref().unwrap().broker.config.node_id)
}

// ---------------------------------------------------------------------------------------
// FindCoordinator
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_coordinator_every_version_returns_this_node() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let port = b.addr().port() as i32;
    for v in 0..=3 {
        let r = c.call(&FindCoordinatorRequest::default().with_key(sb("fc-group")), v).await;
        assert_eq!(r.error_code, NONE, "FindCoordinator v{v} error");
        assert_eq!(r.node_id, node_id(&b), "FindCoordinator v{v} node");
        assert_eq!(r.host.as_str(), "127.0.0.1", "FindCoordinator v{v} host");
        assert_eq!(r.port, port, "FindCoordinator v{v} port");
    }
    for v in 4..=6 {
        let req =
            FindCoordinatorRequest::default().with_key_type(0).with_coordinator_keys(vec![sb("fc-a"), sb("fc-b")]);
        let r = c.call(&req, v).await;
        assert_eq!(r.coordinators.len(), 2, "FindCoordinator v{v} answers every key");
        for (co, key) in r.coordinators.iter().zip(["fc-a", "fc-b"]) {
            assert_eq!(co.key.as_str(), key, "v{v} key order");
            assert_eq!(co.error_code, NONE, "v{v} {key} error");
            assert_eq!(co.node_id, node_id(&b), "v{v} {key} node");
            assert_eq!(co.host.as_str(), "127.0.0.1", "v{v} {key} host");
            assert_eq!(co.port, port, "v{v} {key} port");
        }
    }
    b.stop().await;
}

/// A transactional id's coordinator is this node (the leader of its `__transaction_state`
/// partition, created on first use); an empty id is INVALID_REQUEST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_coordinator_transaction_key_is_this_node() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let port = b.addr().port() as i32;
    for v in 1..=3 {
        let r = c.call(&FindCoordinatorRequest::default().with_key(sb("txn-1")).with_key_type(1), v).await;
        assert_eq!(
            (r.error_code, r.node_id, r.port),
            (NONE, node_id(&b), port),
            "FindCoordinator v{v} transaction key"
        );
    }
    assert!(b.handle.as_ref().unwrap().broker.topics.get("__transaction_state").is_some(), "created on first use");
    for v in 4..=6 {
        let req =
            FindCoordinatorRequest::default().with_key_type(1).with_coordinator_keys(vec![sb("t1"), sb(""), sb("t2")]);
        let r = c.call(&req, v).await;
        let codes: Vec<i16> = r.coordinators.iter().map(|co| co.error_code).collect();
        assert_eq!(codes, [NONE, INVALID_REQUEST, NONE], "v{v}");
        assert_eq!(r.coordinators[0].node_id, node_id(&b));
    }
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// JoinGroup
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_v4_plus_requires_member_id_then_forms_generation_1() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for v in 4..=9i16 {
        let group = format!("jg-v{v}");
        let meta = subscription(&["jg-topic"]);
        let protos = vec![protocol("range", meta.clone())];
        let first = c.call(&join_request(&group, "", None, "consumer", protos.clone()), v).await;
        assert_eq!(first.error_code, MEMBER_ID_REQUIRED, "JoinGroup v{v} first join");
        let id = first.member_id.to_string();
        assert!(!id.is_empty(), "v{v}: MEMBER_ID_REQUIRED hands out a member id");
        assert_eq!(first.generation_id, -1, "v{v}: no generation with MEMBER_ID_REQUIRED");

        let r = c.call(&join_request(&group, &id, None, "consumer", protos), v).await;
        assert_eq!(r.error_code, NONE, "JoinGroup v{v} rejoin with the given id");
        assert_eq!(r.member_id.as_str(), id, "v{v} member id");
        assert_eq!(r.generation_id, 1, "v{v} generation");
        assert_eq!(r.leader.as_str(), id, "v{v} leader");
        assert_eq!(r.protocol_name.as_ref().map(|s| s.as_str()), Some("range"), "v{v} protocol");
        if v >= 7 {
            assert_eq!(r.protocol_type.as_ref().map(|s| s.as_str()), Some("consumer"), "v{v} protocol type");
        }
        assert_eq!(r.members.len(), 1, "v{v}: the leader gets the member list");
        assert_eq!(r.members[0].member_id.as_str(), id);
        assert_eq!(r.members[0].metadata, meta, "v{v}: the leader gets each member's metadata");
        if v >= 5 {
            assert_eq!(r.members[0].group_instance_id, None);
        }
        if v >= 9 {
            assert!(!r.skip_assignment, "v{v}: a fresh generation needs an assignment");
        }
        assert_eq!(group_state(&mut c, &group).await, "CompletingRebalance", "v{v}");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_v0_to_v3_joins_directly() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for v in 0..=3i16 {
        let group = format!("jg-old-v{v}");
        let meta = Bytes::from_static(b"old-client-metadata");
        let r = c.call(&join_request(&group, "", None, "consumer", vec![protocol("range", meta.clone())]), v).await;
        assert_eq!(r.error_code, NONE, "JoinGroup v{v} joins without MEMBER_ID_REQUIRED");
        assert!(!r.member_id.is_empty(), "v{v} member id");
        assert_eq!(r.generation_id, 1, "v{v} generation");
        assert_eq!(r.leader, r.member_id, "v{v} leader");
        assert_eq!(r.protocol_name.as_ref().map(|s| s.as_str()), Some("range"), "v{v} protocol");
        assert_eq!(r.members.len(), 1);
        assert_eq!(r.members[0].metadata, meta);
        let id = r.member_id.to_string();
        let s = c.call(&sync_request(&group, 1, &id, None, &[(&id, b"a")]), 0).await;
        assert_eq!(s.error_code, NONE, "SyncGroup v0 after JoinGroup v{v}");
        assert_eq!(s.assignment.as_ref(), b"a");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_rejects_invalid_group_id_and_session_timeouts() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let protos = consumer_protocols(&["range"], &["t"]);
    for v in [0i16, 5, 9] {
        let r = c.call(&join_request("", "", None, "consumer", protos.clone()), v).await;
        assert_eq!(r.error_code, INVALID_GROUP_ID, "JoinGroup v{v} empty group id");
    }
    // group.min.session.timeout.ms = 6000, group.max.session.timeout.ms = 1800000
    for (timeout, what) in [(5_999, "below the minimum"), (1_800_001, "above the maximum"), (0, "zero")] {
        let req = join_request("jg-timeout", "", None, "consumer", protos.clone()).with_session_timeout_ms(timeout);
        let r = c.call(&req, JOIN_V).await;
        assert_eq!(r.error_code, INVALID_SESSION_TIMEOUT, "session timeout {timeout} ({what})");
    }
    // The bounds themselves are fine.
    let req = join_request("jg-timeout", "", None, "consumer", protos.clone()).with_session_timeout_ms(6_000);
    assert_eq!(c.call(&req, JOIN_V).await.error_code, MEMBER_ID_REQUIRED, "session timeout at the minimum");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_with_unknown_member_id_is_rejected() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let protos = consumer_protocols(&["range"], &["t"]);
    // No such group.
    let r = c.call(&join_request("jg-nogroup", "ghost", None, "consumer", protos.clone()), JOIN_V).await;
    assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "unknown member of an unknown group");
    // An existing group without that member.
    stable_single(&mut c, "jg-known", &["t"], b"x").await;
    let r = c.call(&join_request("jg-known", "ghost", None, "consumer", protos.clone()), JOIN_V).await;
    assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "unknown member of an existing group");
    for v in [1i16, 3, 5] {
        let r = c.call(&join_request("jg-known", "ghost-old", None, "consumer", protos.clone()), v).await;
        assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "JoinGroup v{v} unknown member");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_with_inconsistent_protocol_is_rejected() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    // An empty group still needs a protocol type and at least one protocol.
    let r = c.call(&join_request("jg-proto-empty", "", None, "", consumer_protocols(&["range"], &["t"])), JOIN_V).await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL, "empty protocol type");
    let r = c.call(&join_request("jg-proto-empty", "", None, "consumer", vec![]), JOIN_V).await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL, "no protocols");

    let (a, gen) = stable_single(&mut c, "jg-proto", &["t"], b"x").await;
    let mut c2 = b.client().await;
    // Different protocol type.
    let r =
        c2.call(&join_request("jg-proto", "", None, "connect", consumer_protocols(&["range"], &["t"])), JOIN_V).await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL, "different protocol type");
    // Same type, no protocol in common.
    let r = c2
        .call(
            &join_request("jg-proto", "", None, "consumer", consumer_protocols(&["roundrobin", "sticky"], &["t"])),
            JOIN_V,
        )
        .await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL, "no common protocol");
    // The same check applies to old versions.
    let r =
        c2.call(&join_request("jg-proto", "", None, "consumer", consumer_protocols(&["roundrobin"], &["t"])), 2).await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL, "JoinGroup v2 no common protocol");
    // The group is untouched.
    assert_eq!(heartbeat(&mut c, "jg-proto", gen, &a, None).await, NONE);
    assert_eq!(group_state(&mut c, "jg-proto").await, "Stable");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_beyond_group_max_size_is_rejected() {
    let b = TestBroker::start_with(|cfg| cfg.group_max_size = 1).await;
    let mut c = b.client().await;
    let (a, gen) = stable_single(&mut c, "jg-max", &["t"], b"x").await;
    let mut c2 = b.client().await;
    let r =
        c2.call(&join_request("jg-max", "", None, "consumer", consumer_protocols(&["range"], &["t"])), JOIN_V).await;
    assert_eq!(r.error_code, GROUP_MAX_SIZE_REACHED, "second member of a group with group.max.size=1");
    let r = c2.call(&join_request("jg-max", "", None, "consumer", consumer_protocols(&["range"], &["t"])), 3).await;
    assert_eq!(r.error_code, GROUP_MAX_SIZE_REACHED, "JoinGroup v3 second member");
    assert_eq!(heartbeat(&mut c, "jg-max", gen, &a, None).await, NONE, "the member in the group is unaffected");
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// Rebalances with several members
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_member_triggers_rebalance_and_both_get_generation_2() {
    let b = TestBroker::start().await;
    let group = "rb-two";
    let mut ca = b.client_as("client-a").await;
    let mut cb = b.client_as("client-b").await;
    let meta_a = subscription(&["rb-topic"]);
    let meta_b = subscription(&["rb-topic", "rb-other"]);
    let protos_a = vec![protocol("range", meta_a.clone()), protocol("roundrobin", meta_a.clone())];
    let protos_b = vec![protocol("sticky", meta_b.clone()), protocol("roundrobin", meta_b.clone())];

    // A alone: generation 1, "range".
    let ja = join_new(&mut ca, group, protos_a.clone()).await;
    assert_eq!((ja.error_code, ja.generation_id), (NONE, 1));
    assert_eq!(ja.protocol_name.as_ref().map(|s| s.as_str()), Some("range"));
    let a = ja.member_id.to_string();
    let s = sync(&mut ca, group, 1, &a, None, &[(&a, b"a-gen1")]).await;
    assert_eq!(s.error_code, NONE);
    assert_eq!(heartbeat(&mut ca, group, 1, &a, None).await, NONE, "stable");

    // B joins: its JoinGroup waits for A to rejoin.
    let b_id = member_id_required(&mut cb, group, protos_b.clone()).await;
    let b_cid = cb.send(&join_request(group, &b_id, None, "consumer", protos_b.clone()), JOIN_V).await;
    assert_no_response(&mut cb, 300, "B's JoinGroup while A has not rejoined").await;
    assert_eq!(heartbeat(&mut ca, group, 1, &a, None).await, REBALANCE_IN_PROGRESS, "A is told to rejoin");
    assert_eq!(group_state(&mut ca, group).await, "PreparingRebalance");

    // A rejoins: both JoinGroups complete with generation 2.
    let ja2 = ca.call(&join_request(group, &a, None, "consumer", protos_a.clone()), JOIN_V).await;
    let jb = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    for (who, r) in [("A", &ja2), ("B", &jb)] {
        assert_eq!(r.error_code, NONE, "{who} JoinGroup");
        assert_eq!(r.generation_id, 2, "{who} generation");
        assert_eq!(r.leader.as_str(), a, "{who}: A stays the leader");
        assert_eq!(r.protocol_name.as_ref().map(|s| s.as_str()), Some("roundrobin"), "{who}: the common protocol");
        assert_eq!(r.protocol_type.as_ref().map(|s| s.as_str()), Some("consumer"));
    }
    assert_eq!(ja2.member_id.as_str(), a);
    assert_eq!(jb.member_id.as_str(), b_id);
    assert!(jb.members.is_empty(), "followers get no member list");
    let mut members: Vec<(String, Bytes)> =
        ja2.members.iter().map(|m| (m.member_id.to_string(), m.metadata.clone())).collect();
    members.sort();
    let mut expected = vec![(a.clone(), meta_a.clone()), (b_id.clone(), meta_b.clone())];
    expected.sort();
    assert_eq!(members, expected, "the leader gets every member's roundrobin metadata");
    assert_eq!(group_state(&mut ca, group).await, "CompletingRebalance");
    assert_eq!(heartbeat(&mut cb, group, 2, &b_id, None).await, NONE, "heartbeat in CompletingRebalance");

    // The follower's SyncGroup waits for the leader's.
    let b_sync = cb.send(&sync_request(group, 2, &b_id, None, &[]), SYNC_V).await;
    assert_no_response(&mut cb, 300, "follower SyncGroup before the leader's").await;
    let sa = sync(&mut ca, group, 2, &a, None, &[(&a, b"assign-a"), (&b_id, b"assign-b")]).await;
    assert_eq!(sa.error_code, NONE);
    assert_eq!(sa.assignment.as_ref(), b"assign-a");
    let sb_ = recv_for::<SyncGroupRequest>(&mut cb, b_sync, SYNC_V).await;
    assert_eq!(sb_.error_code, NONE);
    assert_eq!(sb_.assignment.as_ref(), b"assign-b", "the follower gets its own assignment");
    assert_eq!(sb_.protocol_name.as_ref().map(|s| s.as_str()), Some("roundrobin"));

    assert_eq!(heartbeat(&mut ca, group, 2, &a, None).await, NONE);
    assert_eq!(heartbeat(&mut cb, group, 2, &b_id, None).await, NONE);
    let d = describe(&mut ca, group).await;
    assert_eq!(d.group_state.as_str(), "Stable");
    assert_eq!(d.protocol_data.as_str(), "roundrobin");
    let mut got: Vec<(String, String, Bytes)> = d
        .members
        .iter()
        .map(|m| (m.member_id.to_string(), m.client_id.to_string(), m.member_assignment.clone()))
        .collect();
    got.sort();
    let mut want = vec![
        (a.clone(), "client-a".to_string(), Bytes::from_static(b"assign-a")),
        (b_id.clone(), "client-b".to_string(), Bytes::from_static(b"assign-b")),
    ];
    want.sort();
    assert_eq!(got, want);
    b.stop().await;
}

/// Kafka picks, among the protocols every member supports, the one most members prefer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_is_chosen_by_member_vote() {
    let b = TestBroker::start().await;
    let group = "rb-vote";
    let (mut ca, mut cb, mut cc) = (b.client().await, b.client().await, b.client().await);
    let prefer_range = consumer_protocols(&["range", "roundrobin"], &["t"]);
    let prefer_rr = consumer_protocols(&["roundrobin", "range"], &["t"]);

    let ja = join_new(&mut ca, group, prefer_range.clone()).await;
    assert_eq!(ja.protocol_name.as_ref().map(|s| s.as_str()), Some("range"), "alone, A's preference wins");
    let a = ja.member_id.to_string();
    assert_eq!(sync(&mut ca, group, 1, &a, None, &[(&a, b"x")]).await.error_code, NONE);

    let b_id = member_id_required(&mut cb, group, prefer_rr.clone()).await;
    let b_cid = cb.send(&join_request(group, &b_id, None, "consumer", prefer_rr.clone()), JOIN_V).await;
    let c_id = member_id_required(&mut cc, group, prefer_rr.clone()).await;
    let c_cid = cc.send(&join_request(group, &c_id, None, "consumer", prefer_rr.clone()), JOIN_V).await;
    // Wait until both are members of the rebalancing group.
    for _ in 0..100 {
        if describe(&mut ca, group).await.members.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(describe(&mut ca, group).await.members.len(), 3, "three members");
    let ja2 = ca.call(&join_request(group, &a, None, "consumer", prefer_range.clone()), JOIN_V).await;
    let jb = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    let jc = recv_for::<JoinGroupRequest>(&mut cc, c_cid, JOIN_V).await;
    for (who, r) in [("A", &ja2), ("B", &jb), ("C", &jc)] {
        assert_eq!((r.error_code, r.generation_id), (NONE, 2), "{who}");
        assert_eq!(r.protocol_name.as_ref().map(|s| s.as_str()), Some("roundrobin"), "{who}: two votes to one");
    }
    assert_eq!(ja2.members.len(), 3);
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// SyncGroup
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_group_member_and_generation_errors() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let (a, gen) = stable_single(&mut c, "sg-err", &["t"], b"mine").await;
    assert_eq!(gen, 1);
    for bad in [0, 2, -1] {
        let r = sync(&mut c, "sg-err", bad, &a, None, &[]).await;
        assert_eq!(r.error_code, ILLEGAL_GENERATION, "SyncGroup with generation {bad}");
    }
    let r = sync(&mut c, "sg-err", 1, "ghost", None, &[]).await;
    assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "unknown member");
    let r = sync(&mut c, "sg-no-such-group", 1, "ghost", None, &[]).await;
    assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "unknown group");
    // A Stable group answers with the current assignment (the leader's new one is ignored).
    let r = sync(&mut c, "sg-err", 1, &a, None, &[(&a, b"other")]).await;
    assert_eq!(r.error_code, NONE);
    assert_eq!(r.assignment.as_ref(), b"mine");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_group_during_preparing_rebalance_is_rebalance_in_progress() {
    let b = TestBroker::start().await;
    let group = "sg-prep";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["t"]);
    let (a, _) = stable_single(&mut ca, group, &["t"], b"x").await;
    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let b_cid = cb.send(&join_request(group, &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    assert_no_response(&mut cb, 200, "B's JoinGroup").await;
    let r = sync(&mut ca, group, 1, &a, None, &[(&a, b"y")]).await;
    assert_eq!(r.error_code, REBALANCE_IN_PROGRESS, "SyncGroup while PreparingRebalance");
    // Finish the rebalance.
    let ja = ca.call(&join_request(group, &a, None, "consumer", protos.clone()), JOIN_V).await;
    let jb = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    assert_eq!((ja.generation_id, jb.generation_id), (2, 2));
    // Members the leader leaves out get an empty assignment.
    let r = sync(&mut ca, group, 2, &a, None, &[(&a, b"all")]).await;
    assert_eq!(r.assignment.as_ref(), b"all");
    let r = sync(&mut cb, group, 2, &b_id, None, &[]).await;
    assert_eq!(r.error_code, NONE);
    assert!(r.assignment.is_empty(), "no assignment for B");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_group_v5_checks_protocol_type_and_name() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let (a, gen) = stable_single(&mut c, "sg-v5", &["t"], b"mine").await;
    let base = sync_request("sg-v5", gen, &a, None, &[]);
    let r =
        c.call(&base.clone().with_protocol_type(Some(sb("connect"))).with_protocol_name(Some(sb("range"))), 5).await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL, "protocol type mismatch");
    let r = c
        .call(&base.clone().with_protocol_type(Some(sb("consumer"))).with_protocol_name(Some(sb("roundrobin"))), 5)
        .await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL, "protocol name mismatch");
    let r =
        c.call(&base.clone().with_protocol_type(Some(sb("consumer"))).with_protocol_name(Some(sb("range"))), 5).await;
    assert_eq!(r.error_code, NONE, "matching protocol");
    assert_eq!(r.protocol_type.as_ref().map(|s| s.as_str()), Some("consumer"));
    assert_eq!(r.protocol_name.as_ref().map(|s| s.as_str()), Some("range"));
    assert_eq!(r.assignment.as_ref(), b"mine");
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// Heartbeat and session expiry
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_codes() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let (a, gen) = stable_single(&mut c, "hb", &["t"], b"x").await;
    for v in 0..=4 {
        let r = c.call(&heartbeat_request("hb", gen, &a, None), v).await;
        assert_eq!(r.error_code, NONE, "Heartbeat v{v} in Stable");
    }
    assert_eq!(heartbeat(&mut c, "hb", gen - 1, &a, None).await, ILLEGAL_GENERATION, "old generation");
    assert_eq!(heartbeat(&mut c, "hb", gen + 1, &a, None).await, ILLEGAL_GENERATION, "future generation");
    assert_eq!(heartbeat(&mut c, "hb", gen, "ghost", None).await, UNKNOWN_MEMBER_ID, "unknown member");
    assert_eq!(heartbeat(&mut c, "hb-nope", 1, "ghost", None).await, UNKNOWN_MEMBER_ID, "unknown group");
    b.stop().await;
}

/// Kafka validates the generation before looking at the state: an old generation is
/// ILLEGAL_GENERATION even while the group is rebalancing (GroupCoordinator.handleHeartbeat /
/// GroupMetadataManager.validateClassicGroupHeartbeat).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_with_stale_generation_during_rebalance_is_illegal_generation() {
    let b = TestBroker::start().await;
    let group = "hb-stale";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["t"]);
    let (a, gen) = stable_single(&mut ca, group, &["t"], b"x").await;
    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let _ = cb.send(&join_request(group, &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    assert_no_response(&mut cb, 200, "B's JoinGroup").await;
    assert_eq!(heartbeat(&mut ca, group, gen, &a, None).await, REBALANCE_IN_PROGRESS, "current generation");
    assert_eq!(heartbeat(&mut ca, group, gen - 1, &a, None).await, ILLEGAL_GENERATION, "stale generation");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_timeout_removes_a_silent_member_and_rebalances_without_it() {
    let b = TestBroker::start_with(|cfg| cfg.group_min_session_timeout_ms = 500).await;
    let group = "hb-expiry";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["t"]);
    // A: short session (1 s); B: long session.
    let a_id = member_id_required(&mut ca, group, protos.clone()).await;
    let ja = ca
        .call(&join_request(group, &a_id, None, "consumer", protos.clone()).with_session_timeout_ms(1000), JOIN_V)
        .await;
    assert_eq!((ja.error_code, ja.generation_id), (NONE, 1));
    assert_eq!(sync(&mut ca, group, 1, &a_id, None, &[(&a_id, b"a")]).await.error_code, NONE);

    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let b_cid = cb.send(&join_request(group, &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    assert_no_response(&mut cb, 150, "B's JoinGroup").await;
    assert_eq!(heartbeat(&mut ca, group, 1, &a_id, None).await, REBALANCE_IN_PROGRESS);
    let ja = ca
        .call(&join_request(group, &a_id, None, "consumer", protos.clone()).with_session_timeout_ms(1000), JOIN_V)
        .await;
    let jb = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    assert_eq!((ja.generation_id, jb.generation_id), (2, 2));
    let leader = ja.leader.to_string();
    let (lc, fc, fid) =
        if leader == a_id { (&mut ca, &mut cb, b_id.clone()) } else { (&mut cb, &mut ca, a_id.clone()) };
    let fcid = fc.send(&sync_request(group, 2, &fid, None, &[]), SYNC_V).await;
    let s = sync(lc, group, 2, &leader, None, &[(&a_id, b"a2"), (&b_id, b"b2")]).await;
    assert_eq!(s.error_code, NONE);
    assert_eq!(recv_for::<SyncGroupRequest>(fc, fcid, SYNC_V).await.error_code, NONE);

    // A goes silent; B keeps heartbeating until it is told to rejoin.
    let started = tokio::time::Instant::now();
    let mut code = NONE;
    while started.elapsed() < Duration::from_secs(5) {
        code = heartbeat(&mut cb, group, 2, &b_id, None).await;
        if code != NONE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(code, REBALANCE_IN_PROGRESS, "B is told to rejoin once A's session expires");
    assert!(started.elapsed() >= Duration::from_millis(500), "not before A's session could expire");
    let jb = cb.call(&join_request(group, &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    assert_eq!((jb.error_code, jb.generation_id), (NONE, 3), "the rebalance completes without A");
    assert_eq!(jb.leader.as_str(), b_id, "B leads");
    let ids: Vec<String> = jb.members.iter().map(|m| m.member_id.to_string()).collect();
    assert_eq!(ids, vec![b_id.clone()], "only B is a member");
    assert_eq!(heartbeat(&mut ca, group, 2, &a_id, None).await, UNKNOWN_MEMBER_ID, "A was removed");
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// LeaveGroup
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_group_v0_to_v2_single_member() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for v in 0..=2i16 {
        let group = format!("lv-v{v}");
        let (a, _) = stable_single(&mut c, &group, &["t"], b"x").await;
        let unknown = LeaveGroupRequest::default().with_group_id(gid(&group)).with_member_id(sb("ghost"));
        assert_eq!(c.call(&unknown, v).await.error_code, UNKNOWN_MEMBER_ID, "LeaveGroup v{v} unknown member");
        let req = LeaveGroupRequest::default().with_group_id(gid(&group)).with_member_id(sb(&a));
        assert_eq!(c.call(&req, v).await.error_code, NONE, "LeaveGroup v{v}");
        assert_eq!(group_state(&mut c, &group).await, "Empty", "v{v}: the last member left");
        assert_eq!(heartbeat(&mut c, &group, 1, &a, None).await, UNKNOWN_MEMBER_ID, "v{v}: gone");
        let unknown_group = LeaveGroupRequest::default().with_group_id(gid("lv-none")).with_member_id(sb("ghost"));
        assert_eq!(c.call(&unknown_group, v).await.error_code, UNKNOWN_MEMBER_ID, "LeaveGroup v{v} unknown group");
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_group_v3_plus_batch_with_per_member_errors() {
    let b = TestBroker::start().await;
    for v in 3..=5i16 {
        let group = format!("lv-batch-v{v}");
        let (mut ca, mut cb) = (b.client().await, b.client().await);
        let protos = consumer_protocols(&["range"], &["t"]);
        let (a, _) = stable_single(&mut ca, &group, &["t"], b"x").await;
        let b_id = member_id_required(&mut cb, &group, protos.clone()).await;
        let b_cid = cb.send(&join_request(&group, &b_id, None, "consumer", protos.clone()), JOIN_V).await;
        let _ = ca.call(&join_request(&group, &a, None, "consumer", protos.clone()), JOIN_V).await;
        let jb = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
        assert_eq!(jb.generation_id, 2);
        assert_eq!(sync(&mut ca, &group, 2, &a, None, &[]).await.error_code, NONE, "leader SyncGroup");
        assert_eq!(sync(&mut cb, &group, 2, &b_id, None, &[]).await.error_code, NONE, "follower SyncGroup");

        let req = leave_request(&group, &[(&a, None), ("ghost", None), (&b_id, None)]);
        let r = ca.call(&req, v).await;
        assert_eq!(r.error_code, NONE, "LeaveGroup v{v} top level");
        let codes: Vec<(String, i16)> = r.members.iter().map(|m| (m.member_id.to_string(), m.error_code)).collect();
        assert_eq!(
            codes,
            vec![(a.clone(), NONE), ("ghost".to_string(), UNKNOWN_MEMBER_ID), (b_id.clone(), NONE)],
            "LeaveGroup v{v} per-member errors"
        );
        assert_eq!(group_state(&mut cb, &group).await, "Empty", "v{v}: everyone left");
        let d = describe(&mut cb, &group).await;
        assert!(d.members.is_empty());
    }
    b.stop().await;
}

/// Kafka answers a LeaveGroup for an unknown group with no top-level error and
/// UNKNOWN_MEMBER_ID for each member (v3+).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_group_v3_plus_unknown_group_reports_per_member() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    for v in 3..=5i16 {
        let r = c.call(&leave_request("lv-unknown", &[("m1", None), ("m2", None)]), v).await;
        let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
        assert_eq!(codes, vec![UNKNOWN_MEMBER_ID, UNKNOWN_MEMBER_ID], "LeaveGroup v{v} member errors");
        assert_eq!(r.error_code, NONE, "LeaveGroup v{v} top-level error for an unknown group");
    }
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// DescribeGroups / ListGroups
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_groups_states_members_and_assignment() {
    let b = TestBroker::start().await;
    create_topic(&mut b.client().await, "dg-t", 1).await;
    let mut ca = b.client_as("dg-client-a").await;
    let mut cb = b.client_as("dg-client-b").await;
    let group = "dg";
    let protos = consumer_protocols(&["range"], &["dg-t"]);

    // Unknown: Dead, no error.
    let d = describe(&mut ca, "dg-nope").await;
    assert_eq!((d.error_code, d.group_state.as_str()), (NONE, "Dead"));
    assert!(d.members.is_empty());
    assert_eq!(d.protocol_type.as_str(), "");

    // Empty: a group that only stores offsets.
    commit_standalone(&mut ca, "dg-offsets-only", &[("dg-t", 0, 5, None)]).await;
    let d = describe(&mut ca, "dg-offsets-only").await;
    assert_eq!((d.error_code, d.group_state.as_str()), (NONE, "Empty"));
    assert!(d.members.is_empty());

    // CompletingRebalance: joined, no SyncGroup yet.
    let ja = join_new(&mut ca, group, protos.clone()).await;
    let a = ja.member_id.to_string();
    assert_eq!(describe(&mut ca, group).await.group_state.as_str(), "CompletingRebalance");

    // Stable.
    let assignment = Bytes::from_static(b"\x00\x03dg-assignment");
    assert_eq!(sync(&mut ca, group, 1, &a, None, &[(&a, &assignment)]).await.error_code, NONE);
    for v in 0..=6i16 {
        let d = describe_v(&mut ca, group, v).await;
        assert_eq!((d.error_code, d.error_message), (NONE, None), "v{v}");
        assert_eq!(d.group_state.as_str(), "Stable", "v{v}");
        assert_eq!(d.protocol_type.as_str(), "consumer", "v{v}");
        assert_eq!(d.protocol_data.as_str(), "range", "v{v}");
        assert_eq!(d.members.len(), 1, "v{v}");
        let m = &d.members[0];
        assert_eq!(m.member_id.as_str(), a, "v{v}");
        assert_eq!(m.client_id.as_str(), "dg-client-a", "v{v}");
        assert_eq!(m.client_host.as_str(), "/127.0.0.1", "v{v}");
        assert_eq!(m.member_metadata, subscription(&["dg-t"]), "v{v}");
        assert_eq!(m.member_assignment, assignment, "v{v}");
        if v >= 4 {
            assert_eq!(m.group_instance_id, None, "v{v}");
        }
    }

    // PreparingRebalance: B joins.
    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let b_cid = cb.send(&join_request(group, &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    assert_no_response(&mut cb, 200, "B's JoinGroup").await;
    let d = describe(&mut ca, group).await;
    assert_eq!(d.group_state.as_str(), "PreparingRebalance");
    assert_eq!(d.members.len(), 2, "B is a member while the group rebalances");
    let _ = ca.call(&join_request(group, &a, None, "consumer", protos.clone()), JOIN_V).await;
    let _ = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    let d = describe(&mut ca, group).await;
    assert_eq!(d.group_state.as_str(), "CompletingRebalance");
    let mut clients: Vec<String> = d.members.iter().map(|m| m.client_id.to_string()).collect();
    clients.sort();
    assert_eq!(clients, vec!["dg-client-a", "dg-client-b"]);
    b.stop().await;
}

/// Kafka's GroupMetadata.summary: only a Stable group reports its protocol and each member's
/// metadata and assignment; in every other state protocol_data is "" and members carry
/// neither (summaryNoMetadata / describeNoMetadata).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_groups_non_stable_group_omits_protocol_and_member_metadata() {
    let b = TestBroker::start().await;
    let group = "dg-ns";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["t"]);
    let (a, _) = stable_single(&mut ca, group, &["t"], b"assigned").await;
    let d = describe(&mut ca, group).await;
    assert_eq!((d.group_state.as_str(), d.protocol_data.as_str()), ("Stable", "range"));
    assert!(!d.members[0].member_metadata.is_empty() && !d.members[0].member_assignment.is_empty());

    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let b_cid = cb.send(&join_request(group, &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    assert_no_response(&mut cb, 200, "B's JoinGroup").await;
    let check = |d: &kafka_protocol::messages::describe_groups_response::DescribedGroup, state: &str| {
        assert_eq!(d.group_state.as_str(), state);
        assert_eq!(d.protocol_type.as_str(), "consumer", "{state}: the protocol type is reported");
        assert_eq!(d.members.len(), 2, "{state}");
        assert_eq!(d.protocol_data.as_str(), "", "{state}: no protocol reported outside Stable");
        for m in &d.members {
            assert!(m.member_metadata.is_empty(), "{state}: no member metadata outside Stable");
            assert!(m.member_assignment.is_empty(), "{state}: no assignment outside Stable");
        }
    };
    check(&describe(&mut ca, group).await, "PreparingRebalance");
    let _ = ca.call(&join_request(group, &a, None, "consumer", protos.clone()), JOIN_V).await;
    let _ = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    check(&describe(&mut ca, group).await, "CompletingRebalance");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_groups_every_version_and_filters() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "lg-t", 1).await;
    stable_single(&mut c, "lg-stable", &["lg-t"], b"x").await;
    commit_standalone(&mut c, "lg-empty", &[("lg-t", 0, 1, None)]).await;
    let mut c2 = b.client().await;
    join_new(&mut c2, "lg-completing", consumer_protocols(&["range"], &["lg-t"])).await;

    let all = [
        ("lg-completing", "consumer", "CompletingRebalance"),
        ("lg-empty", "", "Empty"),
        ("lg-stable", "consumer", "Stable"),
    ];
    for v in 0..=5i16 {
        let r = c.call(&ListGroupsRequest::default(), v).await;
        assert_eq!(r.error_code, NONE, "ListGroups v{v}");
        let mut got: Vec<(String, String, String)> = r
            .groups
            .iter()
            .map(|g| {
                (
                    g.group_id.to_string(),
                    g.protocol_type.to_string(),
                    if v >= 4 { g.group_state.to_string() } else { String::new() },
                )
            })
            .collect();
        got.sort();
        let want: Vec<(String, String, String)> = all
            .iter()
            .map(|(g, p, s)| (g.to_string(), p.to_string(), if v >= 4 { s.to_string() } else { String::new() }))
            .collect();
        assert_eq!(got, want, "ListGroups v{v}");
        if v >= 5 {
            assert!(r.groups.iter().all(|g| g.group_type.as_str() == "classic"), "v{v} group type");
        }
    }
    for v in 4..=5i16 {
        let req = ListGroupsRequest::default().with_states_filter(vec![sb("Stable")]);
        let r = c.call(&req, v).await;
        let ids: Vec<String> = r.groups.iter().map(|g| g.group_id.to_string()).collect();
        assert_eq!(ids, vec!["lg-stable"], "ListGroups v{v} states_filter=[Stable]");
        let req = ListGroupsRequest::default().with_states_filter(vec![sb("Empty"), sb("CompletingRebalance")]);
        let mut ids: Vec<String> = c.call(&req, v).await.groups.iter().map(|g| g.group_id.to_string()).collect();
        ids.sort();
        assert_eq!(ids, vec!["lg-completing", "lg-empty"], "ListGroups v{v} two states");
        let req = ListGroupsRequest::default().with_states_filter(vec![sb("PreparingRebalance")]);
        assert!(c.call(&req, v).await.groups.is_empty(), "ListGroups v{v} no PreparingRebalance group");
    }
    let req = ListGroupsRequest::default().with_types_filter(vec![sb("classic")]);
    assert_eq!(c.call(&req, 5).await.groups.len(), 3, "types_filter=[classic]");
    let req = ListGroupsRequest::default().with_types_filter(vec![sb("consumer")]);
    assert!(c.call(&req, 5).await.groups.is_empty(), "types_filter=[consumer]: no KIP-848 groups");
    b.stop().await;
}

// ---------------------------------------------------------------------------------------
// Rejoins, timeouts and laggards
// ---------------------------------------------------------------------------------------

/// A Stable group: the leader's JoinGroup forces a rebalance (so it can react to metadata
/// changes the broker cannot see); a follower's JoinGroup with unchanged metadata just gets
/// the current generation; with changed metadata it forces a rebalance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejoin_in_stable_group() {
    let b = TestBroker::start().await;
    let group = "rj";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["t"]);
    let (a, _) = stable_single(&mut ca, group, &["t"], b"x").await;
    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let b_cid = cb.send(&join_request(group, &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    assert_no_response(&mut cb, 200, "B's JoinGroup").await;
    let _ = ca.call(&join_request(group, &a, None, "consumer", protos.clone()), JOIN_V).await;
    let _ = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    assert_eq!(sync(&mut ca, group, 2, &a, None, &[(&a, b"A"), (&b_id, b"B")]).await.error_code, NONE);
    assert_eq!(sync(&mut cb, group, 2, &b_id, None, &[]).await.error_code, NONE);

    // Follower, same metadata: current generation at once, group stays Stable.
    let r = cb.call(&join_request(group, &b_id, None, "consumer", protos.clone()), JOIN_V).await;
    assert_eq!((r.error_code, r.generation_id), (NONE, 2), "follower rejoin with unchanged metadata");
    assert_eq!(r.leader.as_str(), a);
    assert!(r.members.is_empty());
    assert_eq!(group_state(&mut ca, group).await, "Stable");
    assert_eq!(heartbeat(&mut ca, group, 2, &a, None).await, NONE);

    // Follower, changed metadata: rebalance.
    let changed = consumer_protocols(&["range"], &["t", "t2"]);
    let b_cid = cb.send(&join_request(group, &b_id, None, "consumer", changed.clone()), JOIN_V).await;
    assert_no_response(&mut cb, 200, "B's JoinGroup with new metadata").await;
    assert_eq!(heartbeat(&mut ca, group, 2, &a, None).await, REBALANCE_IN_PROGRESS);
    let ja = ca.call(&join_request(group, &a, None, "consumer", protos.clone()), JOIN_V).await;
    let jb = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    assert_eq!((ja.generation_id, jb.generation_id), (3, 3));
    let meta_b = ja.members.iter().find(|m| m.member_id.as_str() == b_id).unwrap().metadata.clone();
    assert_eq!(meta_b, subscription(&["t", "t2"]), "the leader sees B's new metadata");
    assert_eq!(sync(&mut ca, group, 3, &a, None, &[(&a, b"A"), (&b_id, b"B")]).await.error_code, NONE);
    assert_eq!(sync(&mut cb, group, 3, &b_id, None, &[]).await.error_code, NONE);

    // Leader, same metadata: rebalance.
    let a_cid = ca.send(&join_request(group, &a, None, "consumer", protos.clone()), JOIN_V).await;
    assert_no_response(&mut ca, 200, "the leader's JoinGroup").await;
    assert_eq!(
        heartbeat(&mut cb, group, 3, &b_id, None).await,
        REBALANCE_IN_PROGRESS,
        "the leader's rejoin rebalances"
    );
    let jb = cb.call(&join_request(group, &b_id, None, "consumer", changed.clone()), JOIN_V).await;
    let ja = recv_for::<JoinGroupRequest>(&mut ca, a_cid, JOIN_V).await;
    assert_eq!((ja.generation_id, jb.generation_id), (4, 4));
    b.stop().await;
}

/// A member id handed out with MEMBER_ID_REQUIRED lapses after the session timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_member_id_expires_after_the_session_timeout() {
    let b = TestBroker::start_with(|cfg| cfg.group_min_session_timeout_ms = 100).await;
    let mut c = b.client().await;
    let protos = consumer_protocols(&["range"], &["t"]);
    // Keep the group itself alive with a member with a long session.
    stable_single(&mut c, "pend", &["t"], b"x").await;
    let first =
        c.call(&join_request("pend", "", None, "consumer", protos.clone()).with_session_timeout_ms(300), JOIN_V).await;
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = c
        .call(&join_request("pend", &first.member_id, None, "consumer", protos).with_session_timeout_ms(300), JOIN_V)
        .await;
    assert_eq!(r.error_code, UNKNOWN_MEMBER_ID, "the pending member id expired");
    assert_eq!(group_state(&mut c, "pend").await, "Stable");
    b.stop().await;
}

/// Kafka expires a *new* member waiting in JoinGroup only after NewMemberJoinTimeoutMs
/// (5 minutes), not after its session timeout: it cannot heartbeat while its JoinGroup is
/// parked (GroupCoordinator.addMemberAndRebalance / MemberMetadata.hasSatisfiedHeartbeat).
/// Here the new member's session is 1 s and the existing member rejoins after 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_member_waiting_in_join_is_not_expired_by_its_session_timeout() {
    let b = TestBroker::start_with(|cfg| cfg.group_min_session_timeout_ms = 500).await;
    let group = "newjoin";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["t"]);
    let (a, _) = stable_single(&mut ca, group, &["t"], b"x").await;
    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let b_cid = cb
        .send(&join_request(group, &b_id, None, "consumer", protos.clone()).with_session_timeout_ms(1000), JOIN_V)
        .await;
    // A is slow to rejoin (but heartbeats).
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(heartbeat(&mut ca, group, 1, &a, None).await, REBALANCE_IN_PROGRESS);
    }
    let ja = ca.call(&join_request(group, &a, None, "consumer", protos.clone()), JOIN_V).await;
    let jb = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    assert_eq!((jb.error_code, jb.generation_id), (NONE, 2), "B's JoinGroup completes normally");
    assert_eq!((ja.error_code, ja.generation_id), (NONE, 2));
    assert_eq!(ja.members.len(), 2, "both members are in generation 2");
    b.stop().await;
}

/// A dynamic member that does not rejoin within the rebalance timeout is dropped when the
/// join phase completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_that_does_not_rejoin_is_removed_after_the_rebalance_timeout() {
    let b = TestBroker::start().await;
    let group = "laggard";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["t"]);
    let a_id = member_id_required(&mut ca, group, protos.clone()).await;
    let ja = ca
        .call(&join_request(group, &a_id, None, "consumer", protos.clone()).with_rebalance_timeout_ms(1000), JOIN_V)
        .await;
    assert_eq!(ja.error_code, NONE);
    assert_eq!(sync(&mut ca, group, 1, &a_id, None, &[(&a_id, b"x")]).await.error_code, NONE);

    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let started = tokio::time::Instant::now();
    let jb = cb
        .call(&join_request(group, &b_id, None, "consumer", protos.clone()).with_rebalance_timeout_ms(1000), JOIN_V)
        .await;
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "B waited for the rebalance timeout: {:?}",
        started.elapsed()
    );
    assert_eq!((jb.error_code, jb.generation_id), (NONE, 2));
    assert_eq!(jb.leader.as_str(), b_id, "B leads the new generation");
    let ids: Vec<String> = jb.members.iter().map(|m| m.member_id.to_string()).collect();
    assert_eq!(ids, vec![b_id.clone()], "A did not rejoin and was removed");
    assert_eq!(heartbeat(&mut ca, group, 1, &a_id, None).await, UNKNOWN_MEMBER_ID);
    b.stop().await;
}

/// Kafka's pending-sync timeout (DelayedSync, KAFKA-13046): members that have not sent
/// SyncGroup within the rebalance timeout after the join phase are removed and the group
/// rebalances, also when the leader's SyncGroup already made the group Stable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_that_never_syncs_is_removed_after_the_rebalance_timeout() {
    let b = TestBroker::start().await;
    let group = "nosync";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["t"]);
    let join = |id: &str| join_request(group, id, None, "consumer", protos.clone()).with_rebalance_timeout_ms(1000);
    let a_id = member_id_required(&mut ca, group, protos.clone()).await;
    assert_eq!(ca.call(&join(&a_id), JOIN_V).await.error_code, NONE);
    assert_eq!(sync(&mut ca, group, 1, &a_id, None, &[(&a_id, b"x")]).await.error_code, NONE);
    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let b_cid = cb.send(&join(&b_id), JOIN_V).await;
    assert_no_response(&mut cb, 100, "B's JoinGroup").await;
    let ja = ca.call(&join(&a_id), JOIN_V).await;
    let jb = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    assert_eq!((ja.generation_id, jb.generation_id, ja.leader.as_str()), (2, 2, a_id.as_str()));
    assert_eq!(sync(&mut ca, group, 2, &a_id, None, &[(&a_id, b"A"), (&b_id, b"B")]).await.error_code, NONE);
    assert_eq!(group_state(&mut ca, group).await, "Stable");

    // B heartbeats but never sends SyncGroup.
    let started = tokio::time::Instant::now();
    let mut code = NONE;
    while started.elapsed() < Duration::from_secs(3) {
        let _ = heartbeat(&mut cb, group, 2, &b_id, None).await;
        code = heartbeat(&mut ca, group, 2, &a_id, None).await;
        if code != NONE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(code, REBALANCE_IN_PROGRESS, "B was removed for not syncing and the group rebalances");
    assert_eq!(heartbeat(&mut cb, group, 2, &b_id, None).await, UNKNOWN_MEMBER_ID);
    b.stop().await;
}

/// The leader never sends SyncGroup: once the rebalance timeout passes it is removed and the
/// waiting follower's SyncGroup is answered REBALANCE_IN_PROGRESS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_that_never_syncs_is_removed_and_followers_are_told_to_rejoin() {
    let b = TestBroker::start().await;
    let group = "noleader";
    let (mut ca, mut cb) = (b.client().await, b.client().await);
    let protos = consumer_protocols(&["range"], &["t"]);
    let join = |id: &str| join_request(group, id, None, "consumer", protos.clone()).with_rebalance_timeout_ms(1000);
    let a_id = member_id_required(&mut ca, group, protos.clone()).await;
    assert_eq!(ca.call(&join(&a_id), JOIN_V).await.error_code, NONE);
    assert_eq!(sync(&mut ca, group, 1, &a_id, None, &[(&a_id, b"x")]).await.error_code, NONE);
    let b_id = member_id_required(&mut cb, group, protos.clone()).await;
    let b_cid = cb.send(&join(&b_id), JOIN_V).await;
    assert_no_response(&mut cb, 100, "B's JoinGroup").await;
    let ja = ca.call(&join(&a_id), JOIN_V).await;
    let _ = recv_for::<JoinGroupRequest>(&mut cb, b_cid, JOIN_V).await;
    assert_eq!(ja.leader.as_str(), a_id);
    let started = tokio::time::Instant::now();
    let s = cb.call(&sync_request(group, 2, &b_id, None, &[]), SYNC_V).await;
    assert_eq!(s.error_code, REBALANCE_IN_PROGRESS, "the follower is told to rejoin");
    assert!(started.elapsed() >= Duration::from_millis(700), "after the rebalance timeout: {:?}", started.elapsed());
    assert_eq!(heartbeat(&mut ca, group, 2, &a_id, None).await, UNKNOWN_MEMBER_ID, "the leader was removed");
    let jb = cb.call(&join(&b_id), JOIN_V).await;
    assert_eq!((jb.error_code, jb.generation_id, jb.leader.as_str()), (NONE, 3, b_id.as_str()));
    b.stop().await;
}
