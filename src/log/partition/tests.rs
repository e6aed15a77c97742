//! Partition log tests: append/read across segments, recovery, sync mode, stuck writes,
//! retention.

use super::*;
use crate::log::batch::{build_batch, BatchHeader};
use std::io::Write;

fn config(segment_bytes: u64) -> LogConfig {
    LogConfig::for_tests(segment_bytes)
}

fn open(dir: &Path, cfg: LogConfig, rp: Option<RecoveryPoint>) -> Partition {
    Partition::open(dir.to_path_buf(), "t".into(), 0, cfg, rp, false).unwrap().0
}

fn append(p: &Partition, count: i32, ts: i64, body: &[u8]) -> AppendResult {
    let b = build_batch(0, count, ts, body);
    p.append(BatchHeader::parse(&b).unwrap(), b).unwrap()
}

fn idempotent(pid: i64, epoch: i16, seq: i32) -> (BatchHeader, Bytes) {
    let mut b = build_batch(0, 2, 10, b"payload").to_vec();
    b[43..51].copy_from_slice(&pid.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    b[53..57].copy_from_slice(&seq.to_be_bytes());
    let crc = batch::compute_crc(&b);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    let b = Bytes::from(b);
    (BatchHeader::parse(&b).unwrap(), b)
}

/// All batches readable from `from`, as (base offset, record count).
fn read_all(p: &Partition, from: i64) -> Vec<(i64, i32)> {
    let mut out = Vec::new();
    let mut next = from;
    for _ in 0..10_000 {
        let r = p.read(next, 1 << 20, true).unwrap();
        if r.records.is_empty() {
            break;
        }
        let mut buf = &r.records[..];
        while buf.len() >= batch::HEADER_LEN {
            let h = BatchHeader::parse(buf).unwrap();
            if h.total_len() > buf.len() {
                break;
            }
            batch::validate(&buf[..h.total_len()]).unwrap();
            if h.last_offset() >= next {
                out.push((h.base_offset, h.records_count));
                next = h.next_offset();
            }
            buf = &buf[h.total_len()..];
        }
    }
    out
}

#[test]
fn append_assigns_offsets_and_reads_back_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), config(1000), None);
    for i in 0..100 {
        assert_eq!(append(&p, 3, 1000 + i, &[i as u8; 50]).base_offset, i * 3);
    }
    assert!(list_by_ext(dir.path(), "log").unwrap().len() > 5, "segments rolled by size");
    let batches = read_all(&p, 0);
    assert_eq!(batches.len(), 100);
    assert!(batches.iter().enumerate().all(|(i, &(o, c))| o == i as i64 * 3 && c == 3));
    // Reading from the middle of a batch starts with that batch.
    assert_eq!(read_all(&p, 151)[0], (150, 3));
    assert_eq!(p.offsets().high_watermark, 300);
    assert!(matches!(p.read(301, 100, true), Err(ReadError::OffsetOutOfRange { .. })));
    assert!(p.read(300, 100, true).unwrap().records.is_empty());
}

#[test]
fn max_bytes_still_returns_one_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), config(1 << 20), None);
    append(&p, 1, 1, &[1u8; 500]);
    append(&p, 1, 1, &[2u8; 500]);
    let r = p.read(0, 10, true).unwrap();
    assert_eq!(r.records.len(), batch::HEADER_LEN + 500);
    assert!(p.read(0, 10, false).unwrap().records.is_empty());
}

#[test]
fn max_bytes_cuts_at_a_batch_boundary_not_inside_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), config(1 << 20), None);
    for i in 0..3u8 {
        append(&p, 1, 1, &[i; 500]);
    }
    let one = batch::HEADER_LEN + 500;
    // Room for two and a half batches: two whole ones come back.
    assert_eq!(p.read(0, one * 5 / 2, true).unwrap().records.len(), 2 * one);
    assert_eq!(p.read(0, 3 * one, true).unwrap().records.len(), 3 * one);
    // Starting inside the range works the same.
    assert_eq!(p.read(1, one + one / 2, true).unwrap().records.len(), one);
}

#[test]
fn timestamp_lookups_use_the_time_index() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), config(2000), None);
    for i in 0..50 {
        append(&p, 1, 1000 + i * 10, &[0u8; 100]);
    }
    // build_batch bodies are not real records, so the lookup falls back to the batch.
    assert_eq!(p.offset_for_timestamp(1000).unwrap().map(|x| x.0), Some(0));
    assert_eq!(p.offset_for_timestamp(1205).unwrap().map(|x| x.0), Some(21));
    assert_eq!(p.offset_for_timestamp(99_999).unwrap(), None);
    assert_eq!(p.max_timestamp_offset().unwrap(), Some((49, 1490)));
}

#[test]
fn unclean_restart_truncates_a_torn_tail_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    {
        let p = open(dir.path(), config(1 << 20), None);
        for i in 0..10 {
            append(&p, 2, i, b"abcdef");
        }
    } // dropped without close(): like kill -9
    let log = dir.path().join(format!("{}.log", segment::file_stem(0)));
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&build_batch(0, 1, 1, b"torn")[..30]).unwrap();
    let (p, rep) = Partition::open(dir.path().to_path_buf(), "t".into(), 0, config(1 << 20), None, false).unwrap();
    assert_eq!(rep.truncated_bytes, 30);
    assert_eq!(p.offsets().log_end, 20);
    assert_eq!(read_all(&p, 0).len(), 10);
    assert_eq!(append(&p, 1, 1, b"x").base_offset, 20);
}

#[test]
fn corrupt_last_batch_is_dropped_after_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let rp = {
        let p = open(dir.path(), config(1 << 20), None);
        append(&p, 1, 1, b"first");
        p.flush().unwrap();
        let rp = p.recovery_point();
        append(&p, 1, 1, b"second");
        rp
    };
    let log = dir.path().join(format!("{}.log", segment::file_stem(0)));
    let len = std::fs::metadata(&log).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"Z", len - 1).unwrap();
    let (p, rep) = Partition::open(dir.path().to_path_buf(), "t".into(), 0, config(1 << 20), Some(rp), false).unwrap();
    assert_eq!(rep.validated_bytes, 0, "only bytes after the recovery point are validated");
    assert!(rep.truncated_bytes > 0);
    assert_eq!(p.offsets().log_end, 1);
}

#[test]
fn idempotent_state_survives_unclean_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let p = open(dir.path(), config(400), None);
        for seq in (0..20).step_by(2) {
            let (h, b) = idempotent(42, 0, seq);
            p.append(h, b).unwrap();
        }
    }
    let p = open(dir.path(), config(400), None);
    let (h, b) = idempotent(42, 0, 18);
    let r = p.append(h, b).unwrap();
    assert!(r.duplicate);
    assert_eq!(r.base_offset, 18);
    let (h, b) = idempotent(42, 0, 30);
    assert!(matches!(p.append(h, b), Err(AppendError::Producer(ProducerError::OutOfOrder { .. }))));
    let (h, b) = idempotent(42, 0, 20);
    assert_eq!(p.append(h, b).unwrap().base_offset, 20);
}

#[test]
fn sync_mode_hides_unflushed_data_from_readers() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = Partition::open(dir.path().to_path_buf(), "t".into(), 0, config(1 << 20), None, true).unwrap();
    append(&p, 1, 1, b"a");
    assert_eq!(p.offsets().high_watermark, 0);
    assert!(p.read(0, 100, true).unwrap().records.is_empty());
    p.flush().unwrap();
    assert_eq!(p.offsets().high_watermark, 1);
    assert_eq!(read_all(&p, 0), vec![(0, 1)]);
}

/// Starts an append of `count` records on another thread and returns once it is parked
/// between placing and writing its batch (held there until the returned guard drops).
fn start_held_append<'p>(
    p: &'p Arc<Partition>,
    count: i32,
    body: &'static [u8],
) -> (parking_lot::MutexGuard<'p, ()>, std::thread::JoinHandle<Result<AppendResult, AppendError>>) {
    let gate = p.write_gate.lock();
    let writer = {
        let p = p.clone();
        std::thread::spawn(move || {
            let b = build_batch(0, count, 2, body);
            p.append(BatchHeader::parse(&b).unwrap(), b)
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !p.append_lock.is_locked() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(p.append_lock.is_locked(), "the held append started");
    (gate, writer)
}

/// A write that blocks (writeback holding the page) holds up neither readers nor the
/// fsync bookkeeping of the partition, only its other appends.
#[test]
fn a_blocked_write_does_not_block_readers_or_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let p = Arc::new(open(dir.path(), config(1 << 20), None));
    append(&p, 2, 1, b"first");
    let (gate, writer) = start_held_append(&p, 3, b"second");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = {
        let p = p.clone();
        std::thread::spawn(move || {
            let seen = (p.offsets().log_end, read_all(&p, 0));
            p.flush().unwrap();
            let _ = tx.send(seen);
        })
    };
    let seen = rx.recv_timeout(std::time::Duration::from_secs(10));
    drop(gate);
    assert_eq!(seen.expect("reads and flushes finish while a write is blocked"), (2, vec![(0, 2)]));
    assert_eq!(writer.join().unwrap().unwrap().base_offset, 2);
    reader.join().unwrap();
    assert_eq!(read_all(&p, 0), vec![(0, 2), (2, 3)]);
}

/// A batch being written when a failed fsync poisons the partition is not published:
/// the append fails, the log end stays, and the file holds only published batches.
#[test]
fn a_write_overtaken_by_poison_is_not_published() {
    let dir = tempfile::tempdir().unwrap();
    let p = Arc::new(open(dir.path(), config(1 << 20), None));
    append(&p, 1, 1, b"kept");
    let (gate, writer) = start_held_append(&p, 1, b"lost");
    let ticket = p.begin_flush(true).unwrap();
    assert!(p.finish_flush(ticket, Err(io::Error::other("disk gone"))).is_err());
    drop(gate);
    assert!(matches!(writer.join().unwrap(), Err(AppendError::Storage(_))));
    assert_eq!(p.offsets().log_end, 1);
    let published = p.log.lock().active().size();
    assert_eq!(std::fs::metadata(dir.path().join("00000000000000000000.log")).unwrap().len(), published);
}

#[test]
fn too_large_batches_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(1 << 20);
    cfg.max_message_bytes = 100;
    let p = open(dir.path(), cfg, None);
    let b = build_batch(0, 1, 1, &[0u8; 200]);
    assert!(matches!(p.append(BatchHeader::parse(&b).unwrap(), b), Err(AppendError::MessageTooLarge { .. })));
}

#[test]
fn retention_by_size_and_time_drops_oldest_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(1000);
    cfg.retention_bytes = 3000;
    let p = open(dir.path(), cfg.clone(), None);
    for i in 0..40 {
        append(&p, 1, 1000 + i, &[0u8; 200]);
    }
    let before = list_by_ext(dir.path(), "log").unwrap().len();
    let removed = p.enforce_retention(2000);
    assert!(removed > 0);
    assert_eq!(list_by_ext(dir.path(), "log").unwrap().len(), before - removed);
    let start = p.offsets().log_start;
    assert!(start > 0);
    assert!(matches!(p.read(0, 100, true), Err(ReadError::OffsetOutOfRange { .. })));
    assert_eq!(read_all(&p, start).len() as i64, 40 - start);
    // Time: everything older than 10 ms at "now" = 1_000_000 goes, except the active segment.
    let mut cfg2 = cfg;
    cfg2.retention_bytes = -1;
    cfg2.retention_ms = 10;
    p.set_config(cfg2);
    p.enforce_retention(1_000_000);
    assert_eq!(list_by_ext(dir.path(), "log").unwrap().len(), 1);
    assert_eq!(p.offsets().log_end, 40);
    drop(p);
    let p = open(dir.path(), config(1000), None);
    assert_eq!(p.offsets().log_start, *list_by_ext(dir.path(), "log").unwrap().first().unwrap());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    /// Append random batches across segment rolls, cut the last segment file at a random
    /// byte (a crash mid-write), reopen: every batch that lies wholly before the cut is
    /// readable with its original offsets, nothing after it is, and appends continue at
    /// the next offset.
    #[test]
    fn recovery_keeps_exactly_the_whole_batches(sizes in proptest::collection::vec((1i32..5, 0usize..300), 1..40), cut in 0.0f64..1.0) {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        {
            let p = open(dir.path(), config(2048), None);
            for (count, body) in &sizes {
                let r = append(&p, *count, 7, &vec![9u8; *body]);
                expected.push((r.base_offset, *count));
            }
        }
        let bases = list_by_ext(dir.path(), "log").unwrap();
        let last = dir.path().join(format!("{}.log", segment::file_stem(*bases.last().unwrap())));
        let len = std::fs::metadata(&last).unwrap().len();
        let keep = (len as f64 * cut) as u64;
        std::fs::OpenOptions::new().write(true).open(&last).unwrap().set_len(keep).unwrap();
        let p = open(dir.path(), config(2048), None);
        let got = read_all(&p, 0);
        proptest::prop_assert!(got.len() <= expected.len());
        proptest::prop_assert_eq!(&got[..], &expected[..got.len()]);
        let lost = &expected[got.len()..];
        proptest::prop_assert!(lost.iter().all(|(o, _)| *o >= *bases.last().unwrap()), "only the cut segment loses data");
        let next = got.last().map(|(o, c)| o + *c as i64).unwrap_or(0);
        proptest::prop_assert_eq!(append(&p, 1, 1, b"z").base_offset, next);
    }
}

/// DeleteRecords during a cleaning pass moves the log start at once but leaves the segments
/// below it to the next retention round (the pass may be replacing them), which deletes them
/// whatever the retention settings (Kafka's deleteLogStartOffsetBreachedSegments).
#[test]
fn segments_below_a_moved_log_start_go_after_a_cleaning_pass() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), config(1000), None);
    for i in 0..40 {
        append(&p, 1, 1000 + i, &[0u8; 200]);
    }
    let before = list_by_ext(dir.path(), "log").unwrap().len();
    let pass = p.try_clean_lock().expect("no pass running");
    assert_eq!(p.delete_records_before(30), Ok(30));
    assert_eq!(p.offsets().log_start, 30);
    assert!(matches!(p.read(29, 100, true), Err(ReadError::OffsetOutOfRange { .. })));
    assert_eq!(list_by_ext(dir.path(), "log").unwrap().len(), before, "the pass's segments stay");
    assert_eq!(p.enforce_retention(i64::MAX / 2), 0, "retention waits for the pass");
    drop(pass);
    let removed = p.enforce_retention(0);
    assert!(removed > 0, "no retention limit is set: only the log start deletes");
    assert_eq!(list_by_ext(dir.path(), "log").unwrap().len(), before - removed);
    assert_eq!(p.offsets().log_start, 30, "the start stays where DeleteRecords put it");
    assert_eq!(read_all(&p, 30).first().map(|b| b.0), Some(30));
}
