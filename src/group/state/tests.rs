//! Unit tests of the state machine (no IO, no clock: `now` is passed in).

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::*;
use crate::error::ErrorCode;

fn timings() -> GroupTimings {
    GroupTimings { initial_rebalance_delay: Duration::ZERO, max_size: 100 }
}

fn req(member_id: &str, instance: Option<&str>) -> JoinRequest {
    JoinRequest {
        member_id: member_id.into(),
        instance_id: instance.map(str::to_string),
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(30),
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"meta"))],
        require_known_member_id: true,
        supports_skip_assignment: true,
    }
}

fn member<'a>(member_id: &'a str, instance: Option<&'a str>, generation: i32) -> MemberRef<'a> {
    MemberRef { member_id, group_instance_id: instance, generation_id: generation }
}

fn sync_req<'a>(m: MemberRef<'a>, assignments: Vec<(String, Bytes)>) -> SyncRequest<'a> {
    SyncRequest { member: m, protocol_type: None, protocol_name: None, assignments }
}

fn now_result<T>(p: Pending<T>) -> T {
    match p {
        Pending::Now(o) => o,
        Pending::Wait(mut rx) => rx.try_recv().expect("answered"),
    }
}

fn join_error(p: Pending<JoinResult>) -> JoinError {
    now_result(p).expect_err("join fails")
}

fn join_fresh(g: &mut Group, now: Instant) -> JoinOutcome {
    let first = join_error(g.join(req("", None), now, &timings()));
    assert_eq!(first.error.code(), GroupError::MemberIdRequired.code());
    now_result(g.join(req(&first.member_id, None), now, &timings())).expect("joined")
}

fn code<T>(r: Result<T, GroupError>) -> i16 {
    r.map_or_else(|e| e.code(), |_| 0)
}

/// The leader's SyncGroup, its assignment stored: the group is Stable.
fn sync_stored(
    g: &mut Group,
    m: MemberRef<'_>,
    assignments: Vec<(String, Bytes)>,
    now: Instant,
) -> Pending<SyncResult> {
    let p = g.sync(sync_req(m, assignments), now);
    if g.take_store_request() {
        g.assignment_stored(m.generation_id, Ok(()), now, &timings());
    }
    p
}

#[test]
fn first_member_becomes_leader_and_group_stabilises() {
    let now = Instant::now();
    let mut g = Group::new("g");
    let j = join_fresh(&mut g, now);
    assert_eq!(j.generation, 1);
    assert_eq!(j.leader, j.member_id);
    assert_eq!(j.members.len(), 1);
    assert_eq!(g.state, GroupState::CompletingRebalance);
    let s = g.sync(sync_req(member(&j.member_id, None, 1), vec![(j.member_id.clone(), Bytes::from_static(b"A"))]), now);
    let Pending::Wait(mut rx) = s else { panic!("leader sync waits for its own answer") };
    assert!(g.take_store_request(), "the assignment is stored first");
    assert!(rx.try_recv().is_err(), "not answered before it is stored");
    assert_eq!(g.state, GroupState::CompletingRebalance);
    g.assignment_stored(1, Ok(()), now, &timings());
    assert_eq!(rx.try_recv().unwrap().unwrap().assignment.as_ref(), b"A");
    assert_eq!(g.state, GroupState::Stable);
    assert_eq!(code(g.heartbeat(member(&j.member_id, None, 1), now)), 0);
    assert_eq!(code(g.heartbeat(member(&j.member_id, None, 0), now)), GroupError::IllegalGeneration.code());
    assert_eq!(code(g.heartbeat(member("nobody", None, 1), now)), GroupError::UnknownMemberId.code());
}

#[test]
fn an_assignment_that_cannot_be_stored_is_handed_to_nobody() {
    let now = Instant::now();
    let mut g = Group::new("g");
    let a = join_fresh(&mut g, now);
    let first = join_error(g.join(req("", None), now, &timings()));
    let b_join = g.join(req(&first.member_id, None), now, &timings());
    let a_join = g.join(req(&a.member_id, None), now, &timings());
    let (a, b) = (now_result(a_join).unwrap(), now_result(b_join).unwrap());
    assert_eq!((a.generation, b.generation), (2, 2));
    let Pending::Wait(mut b_rx) = g.sync(sync_req(member(&b.member_id, None, 2), vec![]), now) else {
        panic!("the follower waits for the leader")
    };
    let assignments =
        vec![(a.member_id.clone(), Bytes::from_static(b"A")), (b.member_id.clone(), Bytes::from_static(b"B"))];
    let Pending::Wait(mut a_rx) = g.sync(sync_req(member(&a.member_id, None, 2), assignments), now) else {
        panic!("the leader waits for the store")
    };
    assert!(g.take_store_request());
    assert!(b_rx.try_recv().is_err(), "the follower is not answered before the store");
    g.assignment_stored(2, Err(GroupError::NotCoordinator), now, &timings());
    for rx in [&mut a_rx, &mut b_rx] {
        assert_eq!(rx.try_recv().unwrap().unwrap_err().code(), GroupError::NotCoordinator.code());
    }
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert!(g.members.values().all(|m| m.assignment.is_empty()));
    assert_eq!(code(g.heartbeat(member(&b.member_id, None, 2), now)), GroupError::RebalanceInProgress.code());
    // A late store outcome for a generation the group has left does nothing.
    g.assignment_stored(2, Ok(()), now, &timings());
    assert_eq!(g.state, GroupState::PreparingRebalance);
}

#[test]
fn session_timeout_removes_member_and_rebalances() {
    let now = Instant::now();
    let mut g = Group::new("g");
    let a = join_fresh(&mut g, now);
    let _ = sync_stored(&mut g, member(&a.member_id, None, 1), vec![], now);
    assert_eq!(g.state, GroupState::Stable);
    assert!(g.tick(now + Duration::from_secs(11), &timings()));
    assert_eq!(g.state, GroupState::Empty);
    assert!(g.members.is_empty());
}

#[test]
fn static_member_rejoins_without_rebalance_and_old_id_is_fenced() {
    let now = Instant::now();
    let mut g = Group::new("g");
    let a =
        now_result(g.join(req("", Some("inst-a")), now, &timings())).expect("static members skip MEMBER_ID_REQUIRED");
    let _ = sync_stored(
        &mut g,
        member(&a.member_id, Some("inst-a"), 1),
        vec![(a.member_id.clone(), Bytes::from_static(b"P"))],
        now,
    );
    assert_eq!(g.state, GroupState::Stable);
    let again = now_result(g.join(req("", Some("inst-a")), now, &timings())).unwrap();
    assert_eq!(again.generation, 1, "same generation: no rebalance");
    assert!(g.take_store_request(), "the new member id is stored");
    assert_ne!(again.member_id, a.member_id);
    assert_eq!(g.state, GroupState::Stable);
    assert_eq!(code(g.heartbeat(member(&a.member_id, Some("inst-a"), 1), now)), GroupError::FencedInstanceId.code());
    match g.sync(sync_req(member(&again.member_id, Some("inst-a"), 1), vec![]), now) {
        Pending::Now(s) => assert_eq!(s.unwrap().assignment.as_ref(), b"P", "keeps its old assignment"),
        Pending::Wait(_) => panic!("stable group answers sync at once"),
    }
}

#[test]
fn inconsistent_protocols_are_rejected() {
    let now = Instant::now();
    let mut g = Group::new("g");
    join_fresh(&mut g, now);
    let mut other = req("", None);
    other.protocols = vec![("roundrobin".into(), Bytes::new())];
    assert_eq!(join_error(g.join(other, now, &timings())).error.code(), GroupError::InconsistentGroupProtocol.code());
}
