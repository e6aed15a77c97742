//! Transactions in a partition log: the last stable offset, read_committed reads, markers and
//! their fencing, the aborted-transaction index across restarts (graceful, unclean, damaged
//! index), `sync` durability, retention and DeleteRecords.

use super::*;
use crate::log::batch::{build_batch, control_batch, BatchHeader, ATTR_TRANSACTIONAL};
use crate::log::txn_index::AbortedTxn;
use std::io::Write;

fn config(segment_bytes: u64) -> LogConfig {
    LogConfig::for_tests(segment_bytes)
}

fn open_at(dir: &Path, segment_bytes: u64, rp: Option<RecoveryPoint>, sync_mode: bool) -> Partition {
    Partition::open(dir.to_path_buf(), "t".into(), 0, config(segment_bytes), rp, sync_mode).unwrap().0
}

/// A batch of `count` records from producer `pid` (transactional if `txn`).
fn producer_batch(pid: i64, epoch: i16, seq: i32, count: i32, txn: bool) -> (BatchHeader, Bytes) {
    let mut b = build_batch(0, count, 10, &[5u8; 40]).to_vec();
    b[43..51].copy_from_slice(&pid.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    b[53..57].copy_from_slice(&seq.to_be_bytes());
    if txn {
        b[21..23].copy_from_slice(&ATTR_TRANSACTIONAL.to_be_bytes());
    }
    let crc = batch::compute_crc(&b);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    let b = Bytes::from(b);
    (BatchHeader::parse(&b).unwrap(), b)
}

fn txn(p: &Partition, pid: i64, seq: i32, count: i32) -> i64 {
    let (h, b) = producer_batch(pid, 0, seq, count, true);
    p.append(h, b).unwrap().base_offset
}

fn plain(p: &Partition) -> i64 {
    let b = build_batch(0, 1, 10, b"plain");
    p.append(BatchHeader::parse(&b).unwrap(), b).unwrap().base_offset
}

fn marker_as(
    p: &Partition,
    pid: i64,
    epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
) -> Result<AppendResult, AppendError> {
    p.append_as_leader(Some(control_batch(pid, epoch, commit, coordinator_epoch, 10)), AppendOrigin::Coordinator)
}

fn marker(p: &Partition, pid: i64, commit: bool) -> i64 {
    marker_as(p, pid, 0, commit, 0).unwrap().base_offset
}

/// Base offsets of the batches a read at `isolation` returns from `from` on.
fn batches(p: &Partition, from: i64, isolation: Isolation) -> Vec<i64> {
    let mut out = Vec::new();
    let mut next = from;
    loop {
        let r = p.read_at(next, 1 << 20, true, isolation).unwrap();
        let mut buf = &r.records[..];
        if buf.is_empty() {
            return out;
        }
        while let Ok(h) = BatchHeader::parse(buf) {
            batch::validate(&buf[..h.total_len()]).unwrap();
            out.push(h.base_offset);
            next = h.next_offset();
            buf = &buf[h.total_len()..];
        }
    }
}

/// Every segment's aborted-transaction index entries.
fn index_entries(p: &Partition) -> Vec<(i64, Vec<AbortedTxn>)> {
    p.log.lock().segments.values().map(|s| (s.base_offset, s.txn_index().entries().to_vec())).collect()
}

#[test]
fn the_last_stable_offset_follows_open_transactions_and_read_committed_stops_there() {
    let dir = tempfile::tempdir().unwrap();
    let p = open_at(dir.path(), 1 << 20, None, false);
    assert_eq!(plain(&p), 0);
    assert_eq!(p.last_stable_offset(), 1);
    assert_eq!(txn(&p, 1, 0, 2), 1);
    assert_eq!(plain(&p), 3);
    assert_eq!((p.last_stable_offset(), p.offsets().last_stable, p.offsets().high_watermark), (1, 1, 4));
    assert_eq!(batches(&p, 0, Isolation::Committed), vec![0], "read_committed stops at the open transaction");
    assert_eq!(batches(&p, 0, Isolation::HighWatermark), vec![0, 1, 3]);
    assert!(
        p.read_at(3, 1 << 20, true, Isolation::Committed).unwrap().records.is_empty(),
        "past the LSO: nothing, no error"
    );
    assert_eq!(txn(&p, 2, 0, 1), 4);
    assert_eq!(p.ongoing_transactions(), vec![(1, 1), (2, 4)]);
    // Producer 1 aborts: the LSO moves to producer 2's transaction, recorded in the index.
    assert_eq!(marker(&p, 1, false), 5);
    assert_eq!(p.last_stable_offset(), 4);
    assert_eq!(batches(&p, 0, Isolation::Committed), vec![0, 1, 3]);
    assert_eq!(
        index_entries(&p),
        vec![(0, vec![AbortedTxn { producer_id: 1, first_offset: 1, last_offset: 5, last_stable_offset: 4 }])]
    );
    assert_eq!(p.aborted_transactions(0, 4), vec![(1, 1)]);
    // Producer 2 commits: nothing is unstable.
    assert_eq!(marker(&p, 2, true), 6);
    assert_eq!(p.last_stable_offset(), 7);
    assert_eq!(batches(&p, 0, Isolation::Committed), vec![0, 1, 3, 4, 5, 6], "markers are read too");
    assert_eq!(p.aborted_transactions(0, 7), vec![(1, 1)]);
    assert_eq!(p.aborted_transactions(6, 7), vec![], "the abort ended before the range");
    assert_eq!(p.aborted_transactions(0, 1), vec![], "the abort started after the range");
    assert!(p.ongoing_transactions().is_empty());
}

/// Kafka's checks on markers and transactional batches, with their error codes.
#[test]
fn markers_and_batches_are_fenced_with_kafkas_codes() {
    use crate::error::ErrorCode;
    use kafka_protocol::error::ResponseError as E;
    let dir = tempfile::tempdir().unwrap();
    let p = open_at(dir.path(), 1 << 20, None, false);
    let (h, b) = producer_batch(7, 3, 0, 1, true);
    p.append(h, b).unwrap();
    // A non-transactional batch in the middle of the producer's transaction.
    let (h, b) = producer_batch(7, 3, 1, 1, false);
    assert_eq!(p.append(h, b).unwrap_err().code(), E::InvalidTxnState.code());
    // A marker of an older producer epoch, then of an older coordinator epoch.
    assert_eq!(marker_as(&p, 7, 2, true, 5).unwrap_err().code(), E::InvalidProducerEpoch.code());
    assert_eq!(marker_as(&p, 7, 3, true, 5).unwrap().base_offset, 1);
    assert_eq!(marker_as(&p, 7, 3, false, 4).unwrap_err().code(), E::TransactionCoordinatorFenced.code());
    assert_eq!(marker_as(&p, 7, 3, false, 5).unwrap().base_offset, 2, "a marker without data is written too");
    assert!(index_entries(&p)[0].1.is_empty(), "an abort without data has no index entry");
    // A client may not write a control batch, even through append_as_leader.
    let err = p.append_as_leader(Some(control_batch(7, 3, true, 5, 10)), AppendOrigin::Client).unwrap_err();
    assert_eq!(err.code(), E::InvalidRecord.code());
    // The coordinator's control batch must be a well-formed marker.
    let mut bad = control_batch(7, 3, true, 5, 10).to_vec();
    // The record ends with: key (version, type), value length, value (6 bytes), header count.
    let key_type_low = bad.len() - 9;
    assert_eq!(bad[key_type_low], 1, "the commit type");
    bad[key_type_low] = 7;
    let crc = batch::compute_crc(&bad);
    bad[17..21].copy_from_slice(&crc.to_be_bytes());
    let err = p.append_as_leader(Some(Bytes::from(bad)), AppendOrigin::Coordinator).unwrap_err();
    assert_eq!(err.code(), E::InvalidRecord.code(), "{err}");
    assert_eq!(p.offsets().log_end, 3);
    // What DescribeProducers reports.
    let (h, b) = producer_batch(7, 3, 1, 2, true);
    p.append(h, b).unwrap();
    assert_eq!(
        p.active_producers(),
        vec![crate::producer::state::ActiveProducer {
            producer_id: 7,
            epoch: 3,
            last_sequence: 2,
            last_timestamp: 10,
            coordinator_epoch: 5,
            current_txn_start_offset: 3,
        }]
    );
}

/// A transaction's first batch and its markers in different segments; aborts, commits and
/// one transaction left open; then a graceful restart, an unclean one from scratch, one from a
/// recovery point in the middle, and one with a damaged index: the same state every time.
#[test]
fn transactions_and_their_index_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let p = open_at(dir.path(), 400, None, false);
        let mut seq = [0i32; 4];
        for round in 0..6 {
            for pid in 1..4i64 {
                txn(&p, pid, seq[pid as usize], 2);
                seq[pid as usize] += 2;
                plain(&p);
            }
            marker(&p, 1, round % 2 == 0);
            marker(&p, 2, false);
            if round < 5 {
                marker(&p, 3, true);
            }
        }
        assert!(list_by_ext(dir.path(), "log").unwrap().len() > 4, "several segments");
        let snapshot = (p.offsets(), p.ongoing_transactions(), p.aborted_transactions(0, i64::MAX), index_entries(&p));
        assert_eq!(snapshot.1.len(), 1, "producer 3's last transaction is open");
        assert_eq!(snapshot.2.len(), 9, "three aborts of producer 1, six of producer 2");
        p.close().unwrap();
        snapshot
    };
    let state =
        |p: &Partition| (p.offsets(), p.ongoing_transactions(), p.aborted_transactions(0, i64::MAX), index_entries(p));
    let p = open_at(dir.path(), 400, Some(RecoveryPoint::WHOLE_LOG), false);
    assert_eq!(state(&p), expected, "graceful restart");
    let middle = {
        let segs = list_by_ext(dir.path(), "log").unwrap();
        let base = segs[segs.len() / 2];
        RecoveryPoint { offset: base, segment: base, position: 0 }
    };
    drop(p);
    let (p, rep) = Partition::open(dir.path().to_path_buf(), "t".into(), 0, config(400), None, false).unwrap();
    assert_eq!(state(&p), expected, "unclean restart, everything validated and rebuilt");
    assert_eq!(rep.aborts_rebuilt, 9);
    drop(p);
    let (p, rep) = Partition::open(dir.path().to_path_buf(), "t".into(), 0, config(400), Some(middle), false).unwrap();
    assert_eq!(state(&p), expected, "unclean restart from a recovery point in the middle");
    assert!(rep.aborts_rebuilt > 0 && rep.aborts_rebuilt < 9, "only the entries after it: {}", rep.aborts_rebuilt);
    drop(p);
    // A torn index file before the recovery point: detected, and rebuilt from the log.
    let first_with_entries = expected.3.iter().find(|(_, e)| !e.is_empty()).unwrap().0;
    let path = dir.path().join(format!("{}.txnindex", segment::file_stem(first_with_entries)));
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(&[0u8; 7]).unwrap();
    let p = open_at(dir.path(), 400, Some(RecoveryPoint::WHOLE_LOG), false);
    assert_eq!(state(&p), expected, "damaged index rebuilt");
    // The log goes on where it was.
    assert_eq!(marker(&p, 3, false), expected.0.log_end);
    assert!(p.ongoing_transactions().is_empty());
    assert_eq!(p.aborted_transactions(0, i64::MAX).len(), 10);
}

/// A snapshot written while a transaction is open carries it, with where its first batch is.
#[test]
fn a_restart_from_a_snapshot_keeps_the_open_transaction_and_its_position() {
    let dir = tempfile::tempdir().unwrap();
    {
        let p = open_at(dir.path(), 1 << 20, None, false);
        plain(&p);
        txn(&p, 5, 0, 3);
        plain(&p);
        p.close().unwrap();
    }
    let p = open_at(dir.path(), 1 << 20, Some(RecoveryPoint::WHOLE_LOG), false);
    assert_eq!(p.ongoing_transactions(), vec![(5, 1)]);
    assert!(p.log.lock().producers.first_unstable().unwrap().1.is_some(), "position verified and kept");
    assert_eq!(batches(&p, 0, Isolation::Committed), vec![0]);
    marker(&p, 5, true);
    assert_eq!(batches(&p, 0, Isolation::Committed), vec![0, 1, 4, 5]);
}

/// In `sync` durability a decided transaction stays unstable until the high watermark (the
/// fsync) passes its marker, as Kafka keeps it until replicated.
#[test]
fn sync_mode_keeps_a_decided_transaction_unstable_until_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let p = open_at(dir.path(), 1 << 20, None, true);
    plain(&p);
    p.flush().unwrap();
    txn(&p, 1, 0, 2);
    marker(&p, 1, true);
    assert_eq!((p.offsets().high_watermark, p.last_stable_offset()), (1, 1));
    p.flush().unwrap();
    assert_eq!((p.offsets().high_watermark, p.last_stable_offset()), (4, 4));
    assert_eq!(batches(&p, 0, Isolation::Committed), vec![0, 1, 3]);
}

/// Retention and DeleteRecords take a segment's index with it; a transaction still open below
/// a new log start leaves the last stable offset at the log start.
#[test]
fn retention_and_delete_records_drop_the_index_with_its_segment() {
    let dir = tempfile::tempdir().unwrap();
    let p = open_at(dir.path(), 300, None, false);
    txn(&p, 1, 0, 2);
    marker(&p, 1, false);
    let first_index = dir.path().join(format!("{}.txnindex", segment::file_stem(0)));
    assert!(first_index.exists());
    for _ in 0..6 {
        plain(&p);
    }
    txn(&p, 2, 0, 1);
    for _ in 0..6 {
        plain(&p);
    }
    let open_at_offset = p.ongoing_transactions()[0].1;
    assert_eq!(p.last_stable_offset(), open_at_offset);
    let second = list_by_ext(dir.path(), "log").unwrap()[1];
    assert_eq!(p.delete_records_before(second), Ok(second));
    assert!(!first_index.exists(), "the index went with its segment");
    assert_eq!(p.aborted_transactions(0, i64::MAX), vec![]);
    let target = open_at_offset + 2;
    assert_eq!(p.delete_records_before(target), Ok(target));
    assert_eq!(p.last_stable_offset(), target, "never below the log start");
    assert!(batches(&p, target, Isolation::Committed).is_empty());
    marker(&p, 2, true);
    assert_eq!(p.last_stable_offset(), p.offsets().high_watermark);
    assert!(!batches(&p, target, Isolation::Committed).is_empty());
}
