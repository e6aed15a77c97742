//! Share group membership: join, heartbeat, epochs, leave, session expiry, replay.

use std::collections::HashMap;

use super::*;
use crate::error::ErrorCode;
use crate::group::consumer_records::decode_key as decode_consumer_key;
use crate::share::records::decode_key;

struct Topics(HashMap<String, (Uuid, i32)>);

impl TopicLookup for Topics {
    fn topic(&self, name: &str) -> Option<(Uuid, i32)> {
        self.0.get(name).copied()
    }
    fn topic_name(&self, id: &Uuid) -> Option<String> {
        self.0.iter().find(|(_, (i, _))| i == id).map(|(n, _)| n.clone())
    }
    fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
    fn version(&self) -> u64 {
        0
    }
}

fn topics(list: &[(&str, u8, i32)]) -> Topics {
    Topics(list.iter().map(|(n, id, c)| (n.to_string(), (Uuid::from_bytes([*id; 16]), *c))).collect())
}

fn env(t: &Topics) -> ShareEnv<'_> {
    ShareEnv { now: Instant::now(), topics: t, max_size: 3, session_timeout: Duration::from_secs(45) }
}

fn join(id: &str, names: &[&str]) -> ShareHeartbeat {
    ShareHeartbeat {
        member_id: id.into(),
        member_epoch: 0,
        rack_id: None,
        subscribed_topic_names: Some(names.iter().map(|s| s.to_string()).collect()),
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
    }
}

fn beat(id: &str, epoch: i32) -> ShareHeartbeat {
    ShareHeartbeat { member_epoch: epoch, subscribed_topic_names: None, ..join(id, &[]) }
}

fn count(a: &Assignment) -> usize {
    a.values().map(BTreeSet::len).sum()
}

/// Kafka's order: the first heartbeat initializes the partitions' share state after computing
/// the (empty) assignment; the next one assigns them.
#[test]
fn the_first_member_gets_the_partitions_at_its_next_heartbeat() {
    let t = topics(&[("t", 1, 4)]);
    let mut g = ShareGroup::new("g");
    let a = g.heartbeat(&join("a", &["t"]), &env(&t)).unwrap();
    assert_eq!(a.member_epoch, 1);
    assert_eq!(a.assignment.as_ref().map(count), Some(0), "a join is answered its (empty) assignment");
    assert_eq!(g.state_name(), "Stable");
    // The records: member metadata, group epoch, target, its epoch, current, initialized.
    let kinds: Vec<i16> = g.take_records().iter().map(|(k, _)| i16::from_be_bytes([k[0], k[1]])).collect();
    assert_eq!(kinds, vec![10, 11, 13, 12, 14, 15]);
    assert!(g.initialized[&Uuid::from_bytes([1; 16])].1.len() == 4);
    let a = g.heartbeat(&beat("a", 1), &env(&t)).unwrap();
    assert_eq!((a.member_epoch, a.assignment.as_ref().map(count)), (2, Some(4)));
    // Nothing pending any more: the next heartbeat changes nothing.
    let a = g.heartbeat(&beat("a", 2), &env(&t)).unwrap();
    assert_eq!((a.member_epoch, a.assignment), (2, None));
}

#[test]
fn a_second_member_splits_the_partitions_without_revocation() {
    let t = topics(&[("t", 1, 4)]);
    let mut g = ShareGroup::new("g");
    g.heartbeat(&join("a", &["t"]), &env(&t)).unwrap();
    let b = g.heartbeat(&join("b", &["t"]), &env(&t)).unwrap();
    assert_eq!((b.member_epoch, count(b.assignment.as_ref().unwrap())), (2, 2));
    // a's next heartbeat moves it straight to its half: the epoch it sent was current.
    let a = g.heartbeat(&beat("a", 1), &env(&t)).unwrap();
    assert_eq!(a.member_epoch, 2);
    assert_eq!(count(a.assignment.as_ref().unwrap()), 2);
    // A heartbeat with nothing new answers no assignment.
    assert_eq!(g.heartbeat(&beat("a", 2), &env(&t)).unwrap().assignment, None);
}

#[test]
fn epochs_are_checked_as_kafka_does() {
    let t = topics(&[("t", 1, 2)]);
    let mut g = ShareGroup::new("g");
    g.heartbeat(&join("a", &["t"]), &env(&t)).unwrap();
    let err = |g: &mut ShareGroup, hb| g.heartbeat(&hb, &env(&t)).unwrap_err().error.code();
    assert_eq!(err(&mut g, beat("a", 5)), GroupError::FencedMemberEpoch.code());
    assert_eq!(err(&mut g, beat("x", 1)), GroupError::UnknownMemberId.code());
    assert_eq!(err(&mut g, beat("x", -1)), GroupError::UnknownMemberId.code());
    // Epoch 0 from a known member keeps it (a rejoin); this heartbeat also assigns the
    // partitions initialized by the first one, so the epoch moves on.
    assert_eq!(g.heartbeat(&join("a", &["t"]), &env(&t)).unwrap().member_epoch, 2);
}

#[test]
fn the_group_size_is_bounded() {
    let t = topics(&[("t", 1, 2)]);
    let mut g = ShareGroup::new("g");
    for id in ["a", "b", "c"] {
        g.heartbeat(&join(id, &["t"]), &env(&t)).unwrap();
    }
    let e = g.heartbeat(&join("d", &["t"]), &env(&t)).unwrap_err();
    assert_eq!(e.error.code(), GroupError::GroupMaxSizeReached.code());
    // More members than partitions: they share them (sharing = ceil(3/2) = 2).
    let held: usize = ["a", "b", "c"].iter().map(|m| count(&g.target[*m])).sum();
    assert_eq!(held, 4);
}

#[test]
fn leaving_and_expiring_fence_and_move_the_epoch() {
    let t = topics(&[("t", 1, 2)]);
    let mut g = ShareGroup::new("g");
    g.heartbeat(&join("a", &["t"]), &env(&t)).unwrap();
    g.heartbeat(&join("b", &["t"]), &env(&t)).unwrap();
    let left = g.heartbeat(&beat("a", -1), &env(&t)).unwrap();
    assert_eq!(left.member_epoch, -1);
    assert_eq!(g.group_epoch, 3);
    assert!(g.tick(Instant::now() + Duration::from_secs(46), &t));
    assert!(g.members.is_empty());
    assert_eq!(g.state_name(), "Empty");
}

#[test]
fn records_replay_to_the_same_group() {
    let t = topics(&[("t", 1, 3), ("u", 2, 1)]);
    let mut g = ShareGroup::new("g");
    g.heartbeat(&join("a", &["t"]), &env(&t)).unwrap();
    g.heartbeat(&join("b", &["t", "u"]), &env(&t)).unwrap();
    g.heartbeat(&beat("a", 1), &env(&t)).unwrap();
    let mut r = ShareGroup::new("g");
    for (k, v) in g.take_records() {
        assert!(decode_consumer_key(k.clone()).is_none(), "a share record is not a consumer one");
        r.replay(&decode_key(k).unwrap(), v, Instant::now());
    }
    assert_eq!(
        (r.group_epoch, r.assignment_epoch, r.metadata_hash),
        (g.group_epoch, g.assignment_epoch, g.metadata_hash)
    );
    assert_eq!(r.target, g.target);
    assert_eq!(r.initialized, g.initialized);
    for (id, m) in &g.members {
        let n = &r.members[id];
        assert_eq!(
            (n.member_epoch, &n.assigned, &n.subscribed_topic_names),
            (m.member_epoch, &m.assigned, &m.subscribed_topic_names)
        );
    }
}

#[test]
fn a_new_partition_is_assigned_at_the_heartbeat_after_its_initialization() {
    let mut g = ShareGroup::new("g");
    g.heartbeat(&join("a", &["t"]), &env(&topics(&[("t", 1, 1)]))).unwrap();
    let grown = topics(&[("t", 1, 3)]);
    // The heartbeat that sees the topic grow assigns what was initialized (partition 0)...
    let a = g.heartbeat(&beat("a", 1), &env(&grown)).unwrap();
    assert_eq!((a.member_epoch, count(a.assignment.as_ref().unwrap())), (2, 1));
    // ...and initializes the new partitions, which the next one assigns.
    let a = g.heartbeat(&beat("a", 2), &env(&grown)).unwrap();
    assert_eq!((a.member_epoch, count(a.assignment.as_ref().unwrap())), (3, 3));
}
