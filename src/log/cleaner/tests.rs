//! Cleaning passes on real partitions: one value per key survives with its offset, the key
//! map bounds a pass, idempotent producers keep their sequence, and a crash at each step of
//! the swap recovers to a log where every key's latest value is readable.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use super::*;
use crate::log::batch::{self, build_batch};
use crate::log::partition::clean::CrashAt;
use crate::log::records::encode_record;
use crate::log::{LogConfig, Partition, RecoveryPoint};

const CFG: CleanerConfig = CleanerConfig { dedupe_bytes: 1 << 20, io_max_bytes_per_second: f64::MAX };
static GO: AtomicBool = AtomicBool::new(false);

fn config() -> LogConfig {
    LogConfig { compacted: true, min_cleanable_ratio: 0.0, ..LogConfig::for_tests(600) }
}

fn open(dir: &Path) -> Partition {
    Partition::open(dir.to_path_buf(), "t".into(), 0, config(), None, false).unwrap().0
}

/// Appends one batch of (key, value) records; returns its base offset.
fn put(p: &Partition, recs: &[(&str, Option<&str>)], ts: i64) -> i64 {
    let mut body = Vec::new();
    for (i, (k, v)) in recs.iter().enumerate() {
        encode_record(&mut body, 0, i as i32, Some(k.as_bytes()), v.map(str::as_bytes), &[]);
    }
    let b = build_batch(0, recs.len() as i32, ts, &body);
    p.append(batch::BatchHeader::parse(&b).unwrap(), b).unwrap().base_offset
}

/// Every record readable, as (offset, key, value), checking offsets only increase.
fn read_all(p: &Partition) -> Vec<(i64, String, Option<String>)> {
    let mut out: Vec<(i64, String, Option<String>)> = Vec::new();
    p.for_each_batch(0, |b| {
        let h = batch::validate(&b).expect("every stored batch is whole");
        let payload = filter::payload(&h, &b, 1 << 20).unwrap();
        for r in filter::records(&h, &payload).unwrap() {
            let s = |x: &[u8]| String::from_utf8(x.to_vec()).unwrap();
            out.push((r.offset, s(r.key.unwrap()), r.value.map(s)));
        }
    })
    .unwrap();
    assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "offsets increase: {out:?}");
    out
}

/// Writes 20 rounds of updates of 5 keys (one batch a round: `k{i}` = `v{round}`); returns
/// each key's latest (offset, value).
fn fill(p: &Partition) -> BTreeMap<String, (i64, String)> {
    let mut latest = BTreeMap::new();
    for round in 0..20 {
        let vals: Vec<(String, String)> = (0..5).map(|i| (format!("k{i}"), format!("v{round}"))).collect();
        let recs: Vec<(&str, Option<&str>)> = vals.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))).collect();
        let base = put(p, &recs, 1_000 + round);
        for (i, (k, v)) in vals.into_iter().enumerate() {
            latest.insert(k, (base + i as i64, v));
        }
    }
    latest
}

/// The records of the cleaned range are exactly each key's latest; the active segment's
/// records (not cleaned) are whatever was written there.
fn assert_latest_survive(p: &Partition, latest: &BTreeMap<String, (i64, String)>) {
    let all = read_all(p);
    for (k, (off, v)) in latest {
        assert!(all.iter().any(|(o, kk, vv)| o == off && kk == k && vv.as_deref() == Some(v)), "{k}@{off} survives");
    }
}

#[test]
fn one_value_per_key_survives_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path());
    let latest = fill(&p);
    let before = p.offsets();
    let stats = clean_partition(&p, &CFG, 10_000, &GO).unwrap().expect("a pass");
    assert!(stats.records_kept < stats.records_read);
    assert_eq!(p.offsets(), before, "log start and end are unchanged");
    let all = read_all(&p);
    let active_base = p.cleaner_view().active_base;
    let cleaned: Vec<_> = all.iter().filter(|r| r.0 < stats.end_offset).collect();
    let mut keys: Vec<&String> = cleaned.iter().map(|r| &r.1).collect();
    keys.dedup();
    assert_eq!(cleaned.len(), {
        let mut k = keys.clone();
        k.sort();
        k.dedup();
        k.len()
    });
    assert!(stats.end_offset <= active_base);
    assert_latest_survive(&p, &latest);
    // Reopened, the cleaned log reads the same.
    drop(p);
    let p = open(dir.path());
    assert_eq!(read_all(&p), all);
    assert_eq!(p.offsets().log_end, before.log_end);
    // Nothing left to do: the dirty part is empty now (the active segment is not cleaned).
    p.set_first_dirty_offset(stats.end_offset);
    assert!(clean_partition(&p, &CFG, 10_000, &GO).unwrap().is_none());
}

/// A key map too small for the dirty keys cleans only up to the last offset it covers
/// (Kafka's rule); the next pass goes on from there.
#[test]
fn a_full_key_map_bounds_the_pass() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path());
    let mut latest = BTreeMap::new();
    for round in 0..4 {
        let vals: Vec<(String, String)> = (0..10).map(|i| (format!("k{round}-{i}"), format!("v{round}"))).collect();
        let recs: Vec<(&str, Option<&str>)> = vals.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))).collect();
        let base = put(&p, &recs, 1_000);
        for (i, (k, v)) in vals.into_iter().enumerate() {
            latest.insert(k, (base + i as i64, v));
        }
    }
    let tiny = CleanerConfig { dedupe_bytes: 24 * 10, ..CFG };
    let stats = clean_partition(&p, &tiny, 10_000, &GO).unwrap().expect("a pass");
    assert_eq!((stats.map_keys, stats.end_offset), (9, 9), "9 keys fill 10 slots");
    assert_eq!(p.first_dirty_offset(), 9);
    assert_latest_survive(&p, &latest);
    let next = clean_partition(&p, &tiny, 10_000, &GO).unwrap().expect("the next pass");
    assert!(next.end_offset > 9);
    assert_latest_survive(&p, &latest);
    assert_eq!(read_all(&p).len(), 40, "distinct keys: nothing to drop");
}

/// An idempotent producer's last batch stays (empty, with its offsets and sequence) when
/// its records are superseded, so a producer state rebuilt from the log still knows it.
#[test]
fn an_idempotent_producers_last_batch_keeps_its_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path());
    let mut body = Vec::new();
    encode_record(&mut body, 0, 0, Some(b"a"), Some(b"old"), &[]);
    let mut b = build_batch(0, 1, 1_000, &body).to_vec();
    b[43..51].copy_from_slice(&42i64.to_be_bytes());
    b[51..53].copy_from_slice(&0i16.to_be_bytes());
    b[53..57].copy_from_slice(&7i32.to_be_bytes());
    let crc = batch::compute_crc(&b);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    let b = bytes::Bytes::from(b);
    let first = p.append(batch::BatchHeader::parse(&b).unwrap(), b.clone()).unwrap();
    for _ in 0..30 {
        put(&p, &[("a", Some("new")), ("b", Some("x"))], 2_000);
    }
    clean_partition(&p, &CFG, 10_000, &GO).unwrap().expect("a pass");
    let mut found = None;
    p.for_each_batch(0, |x| {
        let h = batch::validate(&x).unwrap();
        if h.producer_id == 42 {
            found = Some(h);
        }
    })
    .unwrap();
    let h = found.expect("the producer's batch stays");
    assert_eq!((h.records_count, h.base_offset, h.base_sequence), (0, first.base_offset, 7));
    // Rebuilt from the log alone (no snapshot), the retry is still recognised.
    drop(p);
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "snapshot") {
            std::fs::remove_file(f).unwrap();
        }
    }
    let p = open(dir.path());
    let again = p.append(batch::BatchHeader::parse(&b).unwrap(), b).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.base_offset, first.base_offset);
}

/// A crash at each step of the swap (files left as they were at that point, then the
/// partition reopened): recovery rolls a `.cleaned` back and completes a `.swap`, and every
/// key's latest value is readable at its offset, with no offset twice.
#[test]
fn a_crash_at_each_swap_step_recovers() {
    for crash in [CrashAt::Cleaned, CrashAt::Swapped, CrashAt::OneOldDeleted, CrashAt::OldDeleted] {
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path());
        // A first pass leaves small cleaned segments, which the next pass groups: the crash
        // then hits a swap replacing several segments.
        fill(&p);
        clean_partition(&p, &CFG, 10_000, &GO).unwrap().expect("a first pass");
        let latest = fill(&p);
        let end = p.offsets().log_end;
        let view = p.cleaner_view();
        let first_group = plan::group_by_size(&view.segments, config().segment_bytes)[0].len();
        assert!(first_group >= 2, "the first group replaces {first_group} segments");
        let segments = view.segments.len();
        clean_partition_until(&p, &CFG, 10_000, &GO, Some(crash)).unwrap().expect("a pass");
        drop(p);
        let names = || {
            let mut v: Vec<String> =
                std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            v.sort();
            v
        };
        let before = names();
        assert!(before.iter().any(|n| n.ends_with(".cleaned") || n.ends_with(".swap")), "{crash:?}: {before:?}");
        let p =
            Partition::open(dir.path().to_path_buf(), "t".into(), 0, config(), Some(RecoveryPoint::WHOLE_LOG), false)
                .unwrap()
                .0;
        let after = names();
        assert!(!after.iter().any(|n| n.ends_with(".cleaned") || n.ends_with(".swap")), "{crash:?}: {after:?}");
        assert_eq!(p.offsets().log_end, end, "{crash:?}");
        assert_latest_survive(&p, &latest);
        read_all(&p); // offsets only increase
        let now = p.cleaner_view().segments.len();
        if crash == CrashAt::Cleaned {
            assert_eq!(now, segments, "rolled back: nothing replaced");
        } else {
            assert_eq!(now, segments + 1 - first_group, "{crash:?}: completed: the cleaned segment replaced its group");
        }
        // A pass after recovery finishes the job.
        clean_partition(&p, &CFG, 10_000, &GO).unwrap();
        assert_latest_survive(&p, &latest);
    }
}

/// An injected failure before the swap leaves the log as it was, with no cleaned files.
#[test]
fn a_failed_swap_leaves_the_log_untouched() {
    use crate::log::faults::{self, Fault, Point};
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path());
    let latest = fill(&p);
    let all = read_all(&p);
    let armed = faults::arm(Point::CleanerSwap, dir.path(), Fault::eio().once());
    assert!(clean_partition(&p, &CFG, 10_000, &GO).is_err());
    assert_eq!(armed.hits(), 1);
    assert_eq!(read_all(&p), all);
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_str().unwrap().contains(".cleaned"))
        .count();
    assert_eq!(leftovers, 0);
    clean_partition(&p, &CFG, 10_000, &GO).unwrap().expect("the next pass works");
    assert_latest_survive(&p, &latest);
}

/// `compact,delete`: retention waits while a pass holds the partition, then deletes
/// segments; the next pass starts again from the new log start (the checkpoint behind it is
/// reset, Kafka's rule).
#[test]
fn retention_and_cleaning_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig { retention_ms: 1, ..config() };
    let p = Partition::open(dir.path().to_path_buf(), "t".into(), 0, cfg, None, false).unwrap().0;
    fill(&p);
    p.set_first_dirty_offset(0);
    let held = p.try_clean_lock().expect("free");
    assert_eq!(p.enforce_retention(i64::MAX / 2), 0, "retention skips a round while a pass runs");
    drop(held);
    assert!(p.enforce_retention(i64::MAX / 2) > 0);
    let start = p.offsets().log_start;
    assert!(start > 0);
    let latest = fill(&p);
    let stats = clean_partition(&p, &CFG, 10_000, &GO).unwrap().expect("a pass");
    assert!(stats.end_offset > start);
    assert_latest_survive(&p, &latest);
    assert_eq!(p.offsets().log_start, start);
}

/// Appends one transactional batch of (key, value) records from producer `pid`.
fn put_txn(p: &Partition, pid: i64, seq: i32, recs: &[(&str, Option<&str>)]) -> i64 {
    let mut body = Vec::new();
    for (i, (k, v)) in recs.iter().enumerate() {
        encode_record(&mut body, 0, i as i32, Some(k.as_bytes()), v.map(str::as_bytes), &[]);
    }
    let mut b = build_batch(0, recs.len() as i32, 1_000, &body).to_vec();
    b[21..23].copy_from_slice(&batch::ATTR_TRANSACTIONAL.to_be_bytes());
    b[43..51].copy_from_slice(&pid.to_be_bytes());
    b[51..53].copy_from_slice(&0i16.to_be_bytes());
    b[53..57].copy_from_slice(&seq.to_be_bytes());
    let crc = batch::compute_crc(&b);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    let b = bytes::Bytes::from(b);
    p.append(batch::BatchHeader::parse(&b).unwrap(), b).unwrap().base_offset
}

fn end_txn(p: &Partition, pid: i64, commit: bool) -> i64 {
    let b = batch::control_batch(pid, 0, commit, 0, 1_000);
    p.append_as_leader(Some(b), crate::log::AppendOrigin::Coordinator).unwrap().base_offset
}

/// Every control batch in the log, as (offset, producer id, has a delete horizon).
fn markers(p: &Partition) -> Vec<(i64, i64, bool)> {
    let mut out = Vec::new();
    p.for_each_batch(0, |b| {
        let h = batch::validate(&b).unwrap();
        if h.is_control() && h.records_count > 0 {
            out.push((h.base_offset, h.producer_id, h.attributes & filter::ATTR_DELETE_HORIZON != 0));
        }
    })
    .unwrap();
    out
}

/// Kafka's cleaner and transactions: an aborted transaction's records go at once whatever
/// their keys (and never supersede a committed value), a committed one's stay like any
/// records; a marker stays while its transaction has data in the log, then gets a delete
/// horizon, then goes; the aborted-transaction index keeps the entries of the markers kept;
/// and a pass never reaches an undecided transaction.
#[test]
fn aborted_transactions_go_and_markers_stay_until_safe() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path());
    put(&p, &[("a", Some("v1")), ("b", Some("v1"))], 1_000);
    let aborted_at = put_txn(&p, 1, 0, &[("a", Some("aborted")), ("c", Some("aborted"))]);
    let abort_marker = end_txn(&p, 1, false);
    let committed_at = put_txn(&p, 2, 0, &[("b", Some("v2")), ("d", Some("v2"))]);
    let commit_marker = end_txn(&p, 2, true);
    // Producer 1 goes on (its aborted batch is not its last one any more).
    put_txn(&p, 1, 2, &[("e", Some("v1"))]);
    let later_commit = end_txn(&p, 1, true);
    for i in 0..40 {
        put(&p, &[(&format!("x{}", i % 4), Some("x"))], 1_000);
    }
    let (pass1_end, before) = {
        let stats = clean_partition(&p, &CFG, 10_000, &GO).unwrap().expect("a pass");
        (stats.end_offset, p.aborted_transactions(0, i64::MAX))
    };
    assert!(pass1_end > later_commit, "the pass covered the transactions");
    assert_eq!(before, vec![(1, aborted_at)]);
    let all = read_all(&p);
    let value = |k: &str| all.iter().rev().find(|r| r.1 == k).and_then(|r| r.2.clone());
    assert!(all.iter().all(|r| r.2.as_deref() != Some("aborted")), "no aborted record is left: {all:?}");
    assert_eq!(value("a").as_deref(), Some("v1"), "the aborted 'a' did not supersede the committed one");
    assert_eq!(value("b").as_deref(), Some("v2"));
    assert_eq!(value("c"), None);
    assert!(all.iter().any(|r| r.0 == committed_at + 1), "the committed 'd' stays at its offset");
    // Both markers stay: each transaction's batches were still there in this pass.
    let m = markers(&p);
    assert!(m.contains(&(abort_marker, 1, false)) && m.contains(&(commit_marker, 2, false)), "{m:?}");
    // Second pass: the abort marker's transaction left nothing: a horizon; the commit's data
    // is still there: kept as is.
    p.set_first_dirty_offset(0);
    clean_partition(&p, &CFG, 10_000, &GO).unwrap().expect("a second pass");
    let m = markers(&p);
    assert!(m.contains(&(abort_marker, 1, true)), "{m:?}");
    assert!(m.contains(&(commit_marker, 2, false)), "{m:?}");
    assert_eq!(p.aborted_transactions(0, i64::MAX), vec![], "its index entry went with its data");
    // After the horizon the abort marker goes; the commit marker still guards its data.
    p.set_first_dirty_offset(0);
    clean_partition(&p, &CFG, 10_000 + 86_400_001, &GO).unwrap().expect("a third pass");
    let m = markers(&p);
    assert!(!m.iter().any(|x| x.0 == abort_marker), "{m:?}");
    assert!(m.contains(&(commit_marker, 2, false)), "{m:?}");
    // Producer state rebuilt from the cleaned log has no open transaction.
    drop(p);
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "snapshot") {
            std::fs::remove_file(f).unwrap();
        }
    }
    let p = Partition::open(dir.path().to_path_buf(), "t".into(), 0, config(), None, false).unwrap().0;
    assert!(p.ongoing_transactions().is_empty());
    assert_eq!(p.last_stable_offset(), p.offsets().high_watermark);
}

/// A pass stops before the segment holding the first offset of an undecided transaction.
#[test]
fn a_pass_never_reaches_an_open_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path());
    fill(&p);
    let open_at = put_txn(&p, 9, 0, &[("k0", Some("pending"))]);
    fill(&p);
    let stats = clean_partition(&p, &CFG, 10_000, &GO).unwrap().expect("a pass");
    assert!(stats.end_offset <= open_at, "cleaned up to {} past the open transaction at {open_at}", stats.end_offset);
    assert!(read_all(&p).iter().any(|r| r.0 == open_at && r.2.as_deref() == Some("pending")));
}
