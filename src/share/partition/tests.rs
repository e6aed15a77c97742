//! The share partition's state machine: acquisition, acknowledgement, release, lock expiry,
//! the delivery limit, the SPSO, and the snapshot round trip.

use super::*;

fn limits() -> Limits {
    Limits { max_delivery_count: 3, max_in_flight: 100, lock_duration: Duration::from_secs(30) }
}

fn batch(base: i64, last: i64) -> LogBatch {
    LogBatch { base_offset: base, last_offset: last, control: false }
}

fn ack(first: i64, last: i64, t: i8) -> AckBatch {
    AckBatch { first_offset: first, last_offset: last, types: vec![t] }
}

fn member(id: &str) -> Arc<str> {
    Arc::from(id)
}

#[test]
fn acquires_whole_batches_and_accept_moves_the_start() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    let got = p.acquire(&a, &[batch(0, 4), batch(5, 9)], 3, AcquireMode::BatchOptimized, now, &l);
    // The first batch reaches max_records (3 < 5): the second is not taken.
    assert_eq!(got, vec![Acquired { first_offset: 0, last_offset: 4, delivery_count: 1 }]);
    assert_eq!((p.start_offset(), p.end_offset(), p.acquired_count()), (0, 5, 5));
    p.acknowledge("a", &[ack(0, 4, ACK_ACCEPT)], now, &l).unwrap();
    p.advance();
    assert_eq!((p.start_offset(), p.acquired_count(), p.next_fetch_offset()), (5, 0, 5));
}

#[test]
fn a_record_is_acquired_by_one_member_at_a_time() {
    let (l, now) = (limits(), Instant::now());
    let mut p = SharePartition::new(0, 0, 0);
    assert_eq!(p.acquire(&member("a"), &[batch(0, 1)], 10, AcquireMode::BatchOptimized, now, &l).len(), 1);
    assert!(p.acquire(&member("b"), &[batch(0, 1)], 10, AcquireMode::BatchOptimized, now, &l).is_empty());
    // b cannot acknowledge a's records; the refusal changes nothing.
    let err = p.acknowledge("b", &[ack(0, 1, ACK_ACCEPT)], now, &l).unwrap_err();
    assert!(matches!(err, AckError::InvalidRecordState(_)));
    assert_eq!(p.record(0), Some((RecordState::Acquired, 1)));
}

#[test]
fn release_redelivers_with_a_higher_count_and_reject_archives() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    p.acquire(&a, &[batch(0, 2)], 10, AcquireMode::BatchOptimized, now, &l);
    let ack3 = AckBatch { first_offset: 0, last_offset: 2, types: vec![ACK_RELEASE, ACK_REJECT, ACK_ACCEPT] };
    let (_, archived) = p.acknowledge("a", &[ack3], now, &l).unwrap();
    assert_eq!(archived, vec![Archived { offset: 1, delivery_count: 1, cause: ArchiveCause::Rejected }]);
    p.advance();
    assert_eq!(p.next_fetch_offset(), 0);
    let got = p.acquire(&member("b"), &[batch(0, 2)], 10, AcquireMode::BatchOptimized, now, &l);
    assert_eq!(got, vec![Acquired { first_offset: 0, last_offset: 0, delivery_count: 2 }]);
}

#[test]
fn the_delivery_limit_archives_instead_of_releasing() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    for round in 1..=3 {
        let got = p.acquire(&a, &[batch(0, 0)], 10, AcquireMode::BatchOptimized, now, &l);
        assert_eq!(got[0].delivery_count, round);
        let (_, archived) = p.acknowledge("a", &[ack(0, 0, ACK_RELEASE)], now, &l).unwrap();
        p.advance();
        assert_eq!(archived.is_empty(), round < 3, "round {round}");
    }
    assert_eq!(p.start_offset(), 1, "the archived record is done");
    assert!(p.acquire(&a, &[batch(0, 0)], 10, AcquireMode::BatchOptimized, now, &l).is_empty());
}

#[test]
fn expired_locks_release_the_records() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    p.acquire(&a, &[batch(0, 9)], 100, AcquireMode::BatchOptimized, now, &l);
    assert!(!p.expire(now + Duration::from_secs(29), &l).0);
    assert!(p.expire(now + Duration::from_secs(30), &l).0);
    assert_eq!((p.acquired_count(), p.next_fetch_offset()), (0, 0));
    // The member's late acknowledgement is refused: the records are not its any more.
    assert!(p.acknowledge("a", &[ack(0, 9, ACK_ACCEPT)], now, &l).is_err());
}

#[test]
fn renew_extends_the_lock() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    p.acquire(&a, &[batch(0, 0)], 10, AcquireMode::BatchOptimized, now, &l);
    let later = now + Duration::from_secs(20);
    p.acknowledge("a", &[ack(0, 0, ACK_RENEW)], later, &l).unwrap();
    assert!(!p.expire(now + Duration::from_secs(31), &l).0);
    assert_eq!(p.record(0), Some((RecordState::Acquired, 1)));
    assert!(p.expire(later + Duration::from_secs(30), &l).0);
}

#[test]
fn session_release_frees_only_that_members_records() {
    let (l, now) = (limits(), Instant::now());
    let mut p = SharePartition::new(0, 0, 0);
    p.acquire(&member("a"), &[batch(0, 1)], 2, AcquireMode::BatchOptimized, now, &l);
    p.acquire(&member("b"), &[batch(2, 3)], 2, AcquireMode::BatchOptimized, now, &l);
    assert!(p.release_member("a", &l).0);
    assert_eq!(p.record(0), Some((RecordState::Available, 1)));
    assert_eq!(p.record(2), Some((RecordState::Acquired, 1)));
}

#[test]
fn the_window_bounds_new_acquisitions_but_not_redelivery() {
    let l = Limits { max_in_flight: 4, ..limits() };
    let (now, a) = (Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    p.acquire(&a, &[batch(0, 3)], 100, AcquireMode::BatchOptimized, now, &l);
    assert!(!p.can_acquire(&l));
    assert!(p.acquire(&a, &[batch(4, 7)], 100, AcquireMode::BatchOptimized, now, &l).is_empty());
    p.acknowledge("a", &[ack(0, 0, ACK_RELEASE)], now, &l).unwrap();
    assert!(p.can_acquire(&l));
    assert_eq!(p.acquire(&a, &[batch(0, 3)], 100, AcquireMode::BatchOptimized, now, &l).len(), 1);
}

#[test]
fn acknowledgements_are_all_or_nothing_and_below_the_start_are_skipped() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(10, 0, 0);
    p.acquire(&a, &[batch(10, 14)], 100, AcquireMode::BatchOptimized, now, &l);
    // Beyond what was delivered: INVALID_REQUEST, nothing applied.
    let err = p.acknowledge("a", &[ack(10, 10, ACK_ACCEPT), ack(15, 15, ACK_ACCEPT)], now, &l).unwrap_err();
    assert!(matches!(err, AckError::InvalidRequest(_)));
    assert_eq!(p.record(10), Some((RecordState::Acquired, 1)));
    // Below the SPSO: skipped; a range straddling it counts from the SPSO.
    p.acknowledge("a", &[ack(0, 5, ACK_ACCEPT), ack(8, 11, ACK_ACCEPT)], now, &l).unwrap();
    p.advance();
    assert_eq!(p.start_offset(), 12);
}

#[test]
fn a_failed_write_is_undone() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    p.acquire(&a, &[batch(0, 1)], 100, AcquireMode::BatchOptimized, now, &l);
    let (undo, _) = p.acknowledge("a", &[ack(0, 1, ACK_ACCEPT)], now, &l).unwrap();
    p.undo(undo, now, &l);
    assert_eq!((p.record(0), p.acquired_count()), (Some((RecordState::Acquired, 1)), 2));
    p.acknowledge("a", &[ack(0, 1, ACK_ACCEPT)], now, &l).unwrap();
}

#[test]
fn control_batches_are_archived_not_delivered() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    let marker = LogBatch { base_offset: 2, last_offset: 2, control: true };
    let got = p.acquire(&a, &[batch(0, 1), marker, batch(3, 3)], 100, AcquireMode::BatchOptimized, now, &l);
    assert_eq!(
        got,
        vec![
            Acquired { first_offset: 0, last_offset: 1, delivery_count: 1 },
            Acquired { first_offset: 3, last_offset: 3, delivery_count: 1 }
        ]
    );
    p.acknowledge("a", &[ack(0, 1, ACK_ACCEPT), ack(3, 3, ACK_ACCEPT)], now, &l).unwrap();
    p.advance();
    assert_eq!(p.start_offset(), 4);
}

#[test]
fn a_snapshot_restores_what_was_done_and_frees_what_was_acquired() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 3, 0);
    p.acquire(&a, &[batch(0, 5)], 100, AcquireMode::BatchOptimized, now, &l);
    let types = vec![ACK_RELEASE, ACK_ACCEPT, ACK_REJECT];
    p.acknowledge("a", &[AckBatch { first_offset: 1, last_offset: 3, types }], now, &l).unwrap();
    p.advance();
    let snap = p.snapshot(7, 1000, 900);
    assert_eq!((snap.start_offset, snap.state_epoch, snap.snapshot_epoch), (0, 3, 7));
    assert_eq!(snap.delivery_complete_count, 2);
    let r = SharePartition::from_snapshot(&snap, 0);
    assert_eq!(r.start_offset(), 0);
    assert_eq!(r.end_offset(), 6);
    assert_eq!(r.record(0), Some((RecordState::Available, 0)), "an acquisition is not persisted");
    assert_eq!(r.record(1), Some((RecordState::Available, 1)));
    assert_eq!(r.record(2), Some((RecordState::Acknowledged, 1)));
    assert_eq!(r.record(3), Some((RecordState::Archived, 1)));
    assert_eq!(r.acquired_count(), 0);
    assert_eq!(r.next_fetch_offset(), 0);
}

#[test]
fn a_damaged_snapshot_cannot_make_the_broker_allocate_without_bound() {
    let snap = ShareSnapshotValue {
        start_offset: 0,
        state_batches: vec![StateBatch {
            first_offset: 0,
            last_offset: i64::MAX,
            delivery_state: 2,
            delivery_count: 1,
        }],
        ..Default::default()
    };
    let p = SharePartition::from_snapshot(&snap, 0);
    assert!(p.end_offset() <= MAX_RESTORED_SPAN);
}

#[test]
fn the_log_start_passing_the_start_drops_what_is_gone() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    p.acquire(&a, &[batch(0, 3)], 100, AcquireMode::BatchOptimized, now, &l);
    p.acknowledge("a", &[ack(0, 3, ACK_RELEASE)], now, &l).unwrap();
    p.advance();
    p.log_start_moved(10);
    assert_eq!((p.start_offset(), p.end_offset(), p.next_fetch_offset()), (10, 10, 10));
}

#[test]
fn record_limit_mode_stops_inside_a_batch() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    let got = p.acquire(&a, &[batch(0, 9)], 3, AcquireMode::RecordLimit, now, &l);
    assert_eq!(got, vec![Acquired { first_offset: 0, last_offset: 2, delivery_count: 1 }]);
    assert_eq!((p.end_offset(), p.next_fetch_offset()), (3, 3));
    // The next fetch reads the same batch again and takes the next three.
    let got = p.acquire(&member("b"), &[batch(0, 9)], 3, AcquireMode::RecordLimit, now, &l);
    assert_eq!(got, vec![Acquired { first_offset: 3, last_offset: 5, delivery_count: 1 }]);
}

#[test]
fn a_snapshot_taken_before_the_start_moves_stores_it_moved() {
    let (l, now, a) = (limits(), Instant::now(), member("a"));
    let mut p = SharePartition::new(0, 0, 0);
    p.acquire(&a, &[batch(0, 4)], 100, AcquireMode::BatchOptimized, now, &l);
    p.acknowledge("a", &[ack(0, 1, ACK_ACCEPT), ack(3, 3, ACK_ACCEPT)], now, &l).unwrap();
    let snap = p.snapshot(1, 0, 0);
    assert_eq!((snap.start_offset, snap.delivery_complete_count), (2, 1));
    assert_eq!(snap.state_batches.first().map(|b| b.first_offset), Some(2));
    let r = SharePartition::from_snapshot(&snap, 0);
    assert_eq!((r.start_offset(), r.next_fetch_offset(), r.end_offset()), (2, 2, 5));
}
