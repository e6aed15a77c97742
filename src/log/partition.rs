//! One partition's log: ordered segments, offsets (log start, high watermark, log end),
//! idempotent-producer state, durability bookkeeping and startup recovery.
//!
//! Concurrency: a short `parking_lot::Mutex` per partition guards the segment list and
//! offsets. Appends take it twice: to check and place the batch (and, rarely, to roll the
//! segment), and to publish it once written; the `writev` itself runs outside it, under the
//! partition's append lock (one append at a time), so a write that blocks in the page cache
//! (writeback holding the page) holds up only the partition's other appends, not its
//! readers or the fsync rounds. Reads hold the state lock only to locate a file range and
//! then read with `pread` outside it. Different partitions never contend.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::batch::{self, BatchHeader};
use super::faults::{self, Point};
use super::records;
use super::segment::{self, read_bytes_at, read_header_at, PreparedBatch, Segment};
use super::validate::RecordRules;
use crate::producer::state::{ProducerError, ProducerStateTable, SequenceCheck};
use crate::util::{monotonic_us, now_ms, sync_dir, write_atomic_failpoint};

/// A read's unused tail beyond this is returned to the allocator (see [`Partition::read`]).
const SHRINK_TAIL: usize = 256 * 1024;

/// The leader epoch this single-node broker stamps on batches and reports in metadata.
pub const LEADER_EPOCH: i32 = 0;

/// Per-partition log settings, derived from the topic's configs.
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub segment_bytes: u64,
    pub segment_ms: i64,
    pub index_interval: u64,
    pub max_message_bytes: usize,
    pub log_append_time: bool,
    /// Retention (cleanup.policy includes `delete`): -1 means no limit.
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub delete_retention: bool,
    /// `cleanup.policy` includes `compact` (produced records need keys).
    pub compacted: bool,
    /// `message.timestamp.before.max.ms` / `after.max.ms`.
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    /// Most bytes a compressed batch may inflate to (`max.uncompressed.batch.bytes`).
    pub max_uncompressed_bytes: u64,
}

impl LogConfig {
    /// The rules produced batches are validated against.
    pub fn record_rules(&self) -> RecordRules {
        RecordRules {
            log_append_time: self.log_append_time,
            timestamp_before_max_ms: self.timestamp_before_max_ms,
            timestamp_after_max_ms: self.timestamp_after_max_ms,
            compacted: self.compacted,
            max_uncompressed_bytes: self.max_uncompressed_bytes,
            max_batch_bytes: self.max_message_bytes,
        }
    }

    /// Settings for tests, benchmarks and fuzzing: `segment_bytes` per segment, an index
    /// entry every 256 bytes, no time-based roll, no retention or timestamp limits.
    pub fn for_tests(segment_bytes: u64) -> Self {
        Self {
            segment_bytes,
            segment_ms: i64::MAX / 2,
            index_interval: 256,
            max_message_bytes: 1 << 20,
            log_append_time: false,
            retention_ms: -1,
            retention_bytes: -1,
            delete_retention: true,
            compacted: false,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: i64::MAX,
            max_uncompressed_bytes: 64 << 20,
        }
    }
}

/// The last fsynced position of a partition: recovery validates only what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    pub offset: i64,
    pub segment: i64,
    pub position: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    pub base_offset: i64,
    /// The broker timestamp for LogAppendTime topics, -1 otherwise.
    pub log_append_time: i64,
    pub log_start_offset: i64,
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge { size: usize, max: usize },
    #[error(transparent)]
    Producer(#[from] ProducerError),
    #[error("storage error: {0}")]
    Storage(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("offset {offset} is out of range [{log_start}, {high_watermark}]")]
    OffsetOutOfRange { offset: i64, log_start: i64, high_watermark: i64 },
    #[error("storage error: {0}")]
    Storage(#[from] io::Error),
}

/// Offsets a fetch or list-offsets response reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    pub log_start: i64,
    pub high_watermark: i64,
    pub last_stable: i64,
    pub log_end: i64,
}

#[derive(Debug)]
pub struct ReadResult {
    pub records: Bytes,
    pub offsets: Offsets,
}

/// What startup recovery found, for the log line.
#[derive(Debug, Default, Clone, Copy)]
pub struct RecoveryReport {
    pub segments: usize,
    pub truncated_bytes: u64,
    pub validated_bytes: u64,
    pub indexes_rebuilt: usize,
    pub dropped_segments: usize,
    pub producers: usize,
}

pub struct Partition {
    pub topic: Arc<str>,
    pub index: i32,
    dir: PathBuf,
    /// In `sync` durability the high watermark only advances past fsynced data.
    sync_mode: bool,
    /// Held for a whole append, so appends are placed, written and published one at a time.
    append_lock: Mutex<()>,
    /// When the write in progress began ([`monotonic_us`], at least 1), or 0 when none is.
    write_began: AtomicU64,
    /// Tests hold this to stop appends between placing and writing a batch.
    #[cfg(test)]
    write_gate: Mutex<()>,
    log: Mutex<PartitionLog>,
    flush_lock: Mutex<()>,
    hw_tx: watch::Sender<i64>,
    dirty: AtomicBool,
}

/// A flush between [`Partition::begin_flush`] and [`Partition::finish_flush`]: holds the
/// partition's flush turn, so flushes of one partition complete in order.
pub struct FlushTicket<'a> {
    _serial: parking_lot::MutexGuard<'a, ()>,
    /// Files whose data must be durable (rolled segments, and the active one if asked).
    pub files: Vec<Arc<File>>,
    target: RecoveryPoint,
    active_too: bool,
}

struct PartitionLog {
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    log_end_offset: i64,
    high_watermark: i64,
    /// (segment base, byte position) of the high watermark: readers never see past it.
    hw_position: (i64, u64),
    producers: ProducerStateTable,
    /// Rolled segments whose data is not yet fsynced.
    unflushed: Vec<Arc<File>>,
    recovery_point: RecoveryPoint,
    /// Set after a write or fsync failure: the partition refuses writes rather than pretend.
    poisoned: Option<String>,
}

impl PartitionLog {
    fn active(&self) -> &Segment {
        self.segments.values().next_back().expect("a partition always has an active segment")
    }
    fn active_mut(&mut self) -> &mut Segment {
        self.segments.values_mut().next_back().expect("a partition always has an active segment")
    }
    fn offsets(&self) -> Offsets {
        Offsets {
            log_start: self.log_start_offset,
            high_watermark: self.high_watermark,
            last_stable: self.high_watermark,
            log_end: self.log_end_offset,
        }
    }
    /// Byte range of `seg` that readers may see.
    fn visible_end(&self, seg: &Segment) -> u64 {
        let (hw_seg, hw_pos) = self.hw_position;
        if seg.base_offset < hw_seg {
            seg.size()
        } else if seg.base_offset == hw_seg {
            hw_pos.min(seg.size())
        } else {
            0
        }
    }
}

fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{}.snapshot", segment::file_stem(offset)))
}

fn list_by_ext(dir: &Path, ext: &str) -> io::Result<Vec<i64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some(ext) {
            if let Some(n) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<i64>().ok()) {
                out.push(n);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Length of the whole batches at the start of `buf`. Kafka cuts a fetch at `max_bytes` even
/// inside a batch (clients drop the partial batch and fetch it again); Brook stops at the
/// last batch boundary instead, so no byte is sent twice. The buffer starts at a batch.
fn whole_batches_len(buf: &[u8]) -> usize {
    let mut off = 0;
    while let Ok(h) = BatchHeader::parse(&buf[off..]) {
        if h.total_len() < batch::HEADER_LEN || off + h.total_len() > buf.len() {
            break;
        }
        off += h.total_len();
    }
    off
}

impl Partition {
    /// Opens (or creates) the partition in `dir`, recovering after `recovery` (the last
    /// checkpointed fsync point; `None` validates everything).
    pub fn open(
        dir: PathBuf,
        topic: Arc<str>,
        index: i32,
        config: LogConfig,
        recovery: Option<RecoveryPoint>,
        sync_mode: bool,
    ) -> io::Result<(Self, RecoveryReport)> {
        std::fs::create_dir_all(&dir)?;
        let now = now_ms();
        let mut report = RecoveryReport::default();
        let mut segments = BTreeMap::new();
        let bases = list_by_ext(&dir, "log")?;
        let mut truncated_at: Option<usize> = None;
        for (i, &base) in bases.iter().enumerate() {
            if truncated_at.is_some() {
                // Everything after a corrupted segment is unreachable: drop it, as Kafka does.
                for ext in ["log", "index", "timeindex"] {
                    let _ = std::fs::remove_file(dir.join(format!("{}.{ext}", segment::file_stem(base))));
                }
                report.dropped_segments += 1;
                continue;
            }
            let validate_from = match recovery {
                Some(rp) if base < rp.segment => u64::MAX,
                Some(rp) if base == rp.segment => rp.position,
                _ => 0,
            };
            let (seg, rep) = Segment::open(&dir, base, config.index_interval, validate_from, now)?;
            report.truncated_bytes += rep.truncated_bytes;
            report.validated_bytes += rep.validated_bytes;
            report.indexes_rebuilt += rep.indexes_rebuilt as usize;
            if rep.truncated_bytes > 0 && i + 1 < bases.len() {
                truncated_at = Some(i);
            }
            segments.insert(base, seg);
        }
        if segments.is_empty() {
            segments.insert(0, Segment::create(&dir, 0, config.index_interval, now)?);
            sync_dir(&dir)?;
        }
        report.segments = segments.len();
        let log_start_offset = *segments.keys().next().unwrap_or(&0);
        let active = segments.values().next_back().expect("just ensured non-empty");
        let log_end_offset = active.next_offset();
        let hw_position = (active.base_offset, active.size());
        let recovery_point = recovery
            .filter(|rp| rp.offset <= log_end_offset && segments.contains_key(&rp.segment))
            .unwrap_or(RecoveryPoint { offset: log_start_offset, segment: log_start_offset, position: 0 });
        let mut log = PartitionLog {
            config,
            segments,
            log_start_offset,
            log_end_offset,
            high_watermark: log_end_offset,
            hw_position,
            producers: ProducerStateTable::default(),
            unflushed: Vec::new(),
            recovery_point,
            poisoned: None,
        };
        Self::restore_producers(&dir, &mut log)?;
        report.producers = log.producers.len();
        let (hw_tx, _) = watch::channel(log_end_offset);
        Ok((
            Self {
                topic,
                index,
                dir,
                sync_mode,
                append_lock: Mutex::new(()),
                write_began: AtomicU64::new(0),
                #[cfg(test)]
                write_gate: Mutex::new(()),
                log: Mutex::new(log),
                flush_lock: Mutex::new(()),
                hw_tx,
                dirty: AtomicBool::new(false),
            },
            report,
        ))
    }

    /// Loads the newest producer snapshot at or below the log end and replays batch headers
    /// written after it.
    fn restore_producers(dir: &Path, log: &mut PartitionLog) -> io::Result<()> {
        let mut from = log.log_start_offset;
        for off in list_by_ext(dir, "snapshot")?.into_iter().rev() {
            if off > log.log_end_offset {
                let _ = std::fs::remove_file(snapshot_path(dir, off));
                continue;
            }
            if let Some((table, covered)) =
                std::fs::read(snapshot_path(dir, off)).ok().and_then(|b| ProducerStateTable::from_snapshot(&b))
            {
                log.producers = table;
                from = covered.max(log.log_start_offset);
                break;
            }
        }
        let mut replay = Vec::new();
        for seg in log.segments.values() {
            if seg.next_offset() <= from {
                continue;
            }
            let end = seg.size();
            let mut pos = if seg.base_offset <= from { seg.lookup(from) } else { 0 };
            let file = seg.file();
            while let Some(h) = read_header_at(&file, pos, end)? {
                if h.last_offset() >= from && h.has_producer_id() {
                    replay.push(h);
                }
                pos += h.total_len() as u64;
            }
        }
        for h in &replay {
            log.producers.record(h);
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn set_config(&self, config: LogConfig) {
        self.log.lock().config = config;
    }

    /// The rules a batch produced here must pass (read once per produce, before the append).
    pub fn record_rules(&self) -> RecordRules {
        self.log.lock().config.record_rules()
    }

    pub fn offsets(&self) -> Offsets {
        self.log.lock().offsets()
    }

    pub fn recovery_point(&self) -> RecoveryPoint {
        self.log.lock().recovery_point
    }

    /// Receiver that changes whenever the high watermark advances (wakes long-poll fetches).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.hw_tx.subscribe()
    }

    /// Whether rolled segments still await their fsync.
    pub fn has_unflushed_segments(&self) -> bool {
        !self.log.lock().unflushed.is_empty()
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    /// Validated batch from a producer -> assigned offsets. Retries of an idempotent batch
    /// are answered with the original offsets and not written again.
    pub fn append(&self, header: BatchHeader, bytes: Bytes) -> Result<AppendResult, AppendError> {
        let now = now_ms();
        let _one_at_a_time = self.append_lock.lock();
        let (prepared, file, pos, append_time) = {
            let mut log = self.log.lock();
            if let Some(reason) = &log.poisoned {
                return Err(AppendError::Storage(reason.clone()));
            }
            if bytes.len() > log.config.max_message_bytes {
                return Err(AppendError::MessageTooLarge { size: bytes.len(), max: log.config.max_message_bytes });
            }
            if header.has_producer_id() {
                if let SequenceCheck::Duplicate(meta) = log.producers.check(&header)? {
                    return Ok(AppendResult {
                        base_offset: meta.first_offset,
                        log_append_time: if log.config.log_append_time { meta.timestamp } else { -1 },
                        log_start_offset: log.log_start_offset,
                        duplicate: true,
                    });
                }
            }
            let prepared = self.prepare(&log, header, bytes, now);
            let (seg_bytes, seg_ms) = (log.config.segment_bytes, log.config.segment_ms);
            let h = &prepared.header;
            if log.active().should_roll(prepared.bytes.len() as u64, h.last_offset(), seg_bytes, seg_ms, now) {
                if let Err(e) = self.roll(&mut log, now) {
                    return Err(self.poison(&mut log, "segment roll", e));
                }
            }
            let append_time = log.config.log_append_time.then_some(now);
            let active = log.active_mut();
            let pos = active.begin_append(prepared.bytes.len() as u64);
            (prepared, active.file(), pos, append_time)
        };
        // The write, outside the state lock: only this partition's appends wait for it.
        self.write_began.store(monotonic_us().max(1), Ordering::Relaxed);
        #[cfg(test)]
        drop(self.write_gate.lock());
        let written = segment::write_batch(&file, &prepared, pos, &self.dir);
        self.write_began.store(0, Ordering::Relaxed);
        let mut log = self.log.lock();
        if let Some(reason) = &log.poisoned {
            // A failed fsync poisoned the partition while this batch was being written: it
            // is not published (nor left for recovery to find).
            let _ = file.set_len(pos);
            return Err(AppendError::Storage(reason.clone()));
        }
        let h = prepared.header;
        if let Err(e) = written.and_then(|()| log.active_mut().finish_append(&h, pos, prepared.bytes.len() as u64)) {
            return Err(self.poison(&mut log, "append", e));
        }
        log.producers.record(&h);
        log.log_end_offset = h.next_offset();
        if !self.sync_mode {
            log.high_watermark = log.log_end_offset;
            let active = log.active();
            log.hw_position = (active.base_offset, active.size());
            self.hw_tx.send_replace(log.high_watermark);
        }
        self.dirty.store(true, Ordering::Release);
        Ok(AppendResult {
            base_offset: h.base_offset,
            log_append_time: append_time.unwrap_or(-1),
            log_start_offset: log.log_start_offset,
            duplicate: false,
        })
    }

    /// Whether an append has been writing for longer than `limit`: the page cache is holding
    /// it (writeback owns the page it needs), and the next append here would wait as long.
    pub fn write_stalled(&self, limit: std::time::Duration) -> bool {
        let began = self.write_began.load(Ordering::Relaxed);
        began != 0 && monotonic_us().saturating_sub(began) > limit.as_micros() as u64
    }

    /// Stops this partition's appends just before they write, until the guard is dropped.
    #[cfg(test)]
    pub(crate) fn hold_writes(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.write_gate.lock()
    }

    /// The batch as stored: broker-assigned offsets and leader epoch (and the append time, if
    /// the topic uses it) patched into its header.
    fn prepare(&self, log: &PartitionLog, header: BatchHeader, bytes: Bytes, now: i64) -> PreparedBatch {
        let base = log.log_end_offset;
        let mut h = header;
        h.base_offset = base;
        h.partition_leader_epoch = LEADER_EPOCH;
        let bytes = if log.config.log_append_time {
            h.max_timestamp = now;
            h.attributes |= batch::ATTR_TIMESTAMP_TYPE;
            batch::with_log_append_time(&bytes, now)
        } else {
            bytes
        };
        PreparedBatch { header: h, prefix: batch::patched_prefix(&bytes, base, LEADER_EPOCH), bytes }
    }

    fn poison(&self, log: &mut PartitionLog, what: &str, e: io::Error) -> AppendError {
        let reason = format!("{what} failed on {}: {e}", self.dir.display());
        tracing::error!(topic = %self.topic, partition = self.index, "{reason}; partition refuses further writes");
        log.poisoned = Some(reason.clone());
        AppendError::Storage(reason)
    }

    /// Starts a new active segment at the log end. Only a failure to create it (or to make
    /// its directory entry durable) fails the roll, and leaves the old segment active and
    /// whole; sealing the old one and the producer snapshot write derived data (indexes are
    /// rebuilt at recovery, producer state is replayed from an older snapshot or the log), so
    /// their failures are logged and the roll goes on.
    fn roll(&self, log: &mut PartitionLog, now: i64) -> io::Result<()> {
        let leo = log.log_end_offset;
        let interval = log.config.index_interval;
        let active = log.active_mut();
        if let Err(e) = active.seal() {
            tracing::warn!(topic = %self.topic, partition = self.index, base = active.base_offset, "cannot seal the rolled segment (its indexes are rebuilt at startup if need be): {e}");
        }
        let old = active.file();
        let seg = Segment::create(&self.dir, leo, interval, now)?;
        faults::check(Point::RollCreate, &self.dir).and_then(|()| sync_dir(&self.dir))?;
        log.unflushed.push(old);
        log.segments.insert(leo, seg);
        let snapshot = log.producers.to_snapshot(leo);
        match write_atomic_failpoint(Point::SnapshotWrite, &snapshot_path(&self.dir, leo), &snapshot) {
            Ok(()) => {
                // Keep the two newest snapshots.
                for off in list_by_ext(&self.dir, "snapshot").unwrap_or_default().iter().rev().skip(2) {
                    let _ = std::fs::remove_file(snapshot_path(&self.dir, *off));
                }
            }
            Err(e) => {
                tracing::warn!(topic = %self.topic, partition = self.index, base = leo, "cannot write a producer snapshot (startup replays more of the log instead): {e}");
            }
        }
        tracing::debug!(topic = %self.topic, partition = self.index, base = leo, "rolled segment");
        Ok(())
    }

    /// Fsyncs everything written so far (blocking; call from a blocking thread). Advances the
    /// recovery point and, in `sync` durability, the high watermark.
    pub fn flush(&self) -> io::Result<()> {
        self.flush_inner(true)
    }

    /// Fsyncs only rolled segments (the `os` durability mode's background duty).
    pub fn flush_rolled(&self) -> io::Result<()> {
        self.flush_inner(false)
    }

    fn flush_inner(&self, active_too: bool) -> io::Result<()> {
        let ticket = self.begin_flush(active_too)?;
        let synced = self.sync_files(&ticket.files);
        self.finish_flush(ticket, synced)
    }

    /// `fdatasync` of each of `files` (this partition's, from a [`FlushTicket`]).
    pub fn sync_files(&self, files: &[Arc<File>]) -> io::Result<()> {
        faults::check(Point::Fsync, &self.dir)?;
        files.iter().try_for_each(|f| f.sync_data())
    }

    /// Whether a write or fsync failure made this partition refuse writes (until restart).
    pub fn is_poisoned(&self) -> bool {
        self.log.lock().poisoned.is_some()
    }

    /// First half of a flush: takes this partition's flush turn and notes which files must
    /// reach the disk and which position that makes durable. The caller makes the files
    /// durable (one `fdatasync` each, or one `syncfs` for a whole group-commit round) and
    /// hands the outcome to [`Partition::finish_flush`].
    pub fn begin_flush(&self, active_too: bool) -> io::Result<FlushTicket<'_>> {
        let serial = self.flush_lock.lock();
        let mut log = self.log.lock();
        if let Some(reason) = &log.poisoned {
            return Err(io::Error::other(reason.clone()));
        }
        let mut files = std::mem::take(&mut log.unflushed);
        let active = log.active();
        let target = if active_too {
            files.push(active.file());
            self.dirty.store(false, Ordering::Release);
            RecoveryPoint { offset: log.log_end_offset, segment: active.base_offset, position: active.size() }
        } else {
            RecoveryPoint { offset: active.base_offset, segment: active.base_offset, position: 0 }
        };
        Ok(FlushTicket { _serial: serial, files, target, active_too })
    }

    /// Second half of a flush: on success advances the recovery point and, in `sync`
    /// durability, the high watermark; on failure poisons the partition.
    pub fn finish_flush(&self, ticket: FlushTicket<'_>, synced: io::Result<()>) -> io::Result<()> {
        let mut log = self.log.lock();
        if let Err(e) = synced {
            let err = self.poison(&mut log, "fsync", e);
            return Err(io::Error::other(err.to_string()));
        }
        let target = ticket.target;
        if target.offset >= log.recovery_point.offset {
            log.recovery_point = target;
        }
        if self.sync_mode && ticket.active_too && target.offset > log.high_watermark {
            log.high_watermark = target.offset;
            log.hw_position = (target.segment, target.position);
            self.hw_tx.send_replace(log.high_watermark);
        }
        Ok(())
    }

    /// Deletes the oldest segments that retention (time or size, Kafka's rules) allows,
    /// never the active one and never data at or above the high watermark. Returns how many
    /// segments were removed.
    pub fn enforce_retention(&self, now_ms: i64) -> usize {
        let mut log = self.log.lock();
        let cfg = log.config.clone();
        if !cfg.delete_retention {
            return 0;
        }
        let mut total: u64 = log.segments.values().map(|s| s.size()).sum();
        let mut removed = 0;
        while log.segments.len() > 1 {
            let mut it = log.segments.values();
            let (Some(first), Some(second)) = (it.next(), it.next()) else { break };
            if second.base_offset > log.high_watermark {
                break;
            }
            let by_time = cfg.retention_ms >= 0
                && first.max_timestamp() >= 0
                && now_ms - first.max_timestamp() > cfg.retention_ms;
            let by_size = cfg.retention_bytes >= 0 && total - first.size() >= cfg.retention_bytes as u64;
            if !(by_time || by_size) {
                break;
            }
            let (base, next) = (first.base_offset, second.base_offset);
            let Some(seg) = log.segments.remove(&base) else { break };
            total -= seg.size();
            seg.delete_files();
            log.log_start_offset = next;
            if log.recovery_point.segment == base {
                log.recovery_point = RecoveryPoint { offset: next, segment: next, position: 0 };
            }
            removed += 1;
            tracing::info!(topic = %self.topic, partition = self.index, base, log_start = next, by_time, by_size, "retention deleted a segment");
        }
        if removed > 0 {
            // Snapshots below the new log start are useless now.
            if let Ok(snaps) = list_by_ext(&self.dir, "snapshot") {
                for off in snaps.into_iter().filter(|o| *o < log.log_start_offset) {
                    let _ = std::fs::remove_file(snapshot_path(&self.dir, off));
                }
            }
        }
        removed
    }

    /// Writes the active segment's new index entries to its index files.
    pub fn persist_indexes(&self) -> io::Result<()> {
        self.log.lock().active_mut().persist_indexes()
    }

    /// Writes a producer-state snapshot at the log end (clean shutdown), after a full flush.
    pub fn close(&self) -> io::Result<RecoveryPoint> {
        self.flush()?;
        self.persist_indexes()?;
        let log = self.log.lock();
        let snapshot = log.producers.to_snapshot(log.log_end_offset);
        write_atomic_failpoint(Point::SnapshotWrite, &snapshot_path(&self.dir, log.log_end_offset), &snapshot)?;
        Ok(log.recovery_point)
    }

    /// Reads whole batches starting with the one containing `offset`, up to `max_bytes`
    /// (or the first batch whole, if `min_one_batch` and it is larger). Never beyond the
    /// high watermark.
    pub fn read(&self, offset: i64, max_bytes: usize, min_one_batch: bool) -> Result<ReadResult, ReadError> {
        let mut lower = Bound::Included(i64::MIN);
        loop {
            let (file, mut pos, end, offsets) = {
                let log = self.log.lock();
                let offsets = log.offsets();
                if offset < log.log_start_offset || offset > log.high_watermark {
                    return Err(ReadError::OffsetOutOfRange {
                        offset,
                        log_start: log.log_start_offset,
                        high_watermark: log.high_watermark,
                    });
                }
                if offset == log.high_watermark {
                    return Ok(ReadResult { records: Bytes::new(), offsets });
                }
                let seg = match lower {
                    Bound::Included(_) => log.segments.range(..=offset).next_back().map(|(_, s)| s),
                    _ => log.segments.range((lower, Bound::Unbounded)).next().map(|(_, s)| s),
                };
                let Some(seg) = seg else {
                    return Ok(ReadResult { records: Bytes::new(), offsets });
                };
                lower = Bound::Excluded(seg.base_offset);
                (seg.file(), seg.lookup(offset), log.visible_end(seg), offsets)
            };
            while let Some(h) = read_header_at(&file, pos, end)? {
                let len = h.total_len() as u64;
                if h.last_offset() >= offset {
                    if !min_one_batch && len as usize > max_bytes {
                        return Ok(ReadResult { records: Bytes::new(), offsets });
                    }
                    let want = (max_bytes as u64).max(if min_one_batch { len } else { 0 });
                    let n = want.min(end - pos);
                    let mut records = read_bytes_at(&file, pos, n as usize)?;
                    let whole = whole_batches_len(&records);
                    if n as usize - whole > SHRINK_TAIL {
                        // The response holds these bytes until written: a large cut-off tail
                        // (a big batch that did not fit) is not kept alive with it, so a fetch
                        // over many partitions does not pin up to `max_bytes` each for far
                        // fewer bytes sent. A small tail (part of a normal batch) is just cut:
                        // copying or shrinking every read made 1 MiB fetches 50% slower.
                        records = Bytes::copy_from_slice(&records[..whole]);
                    } else {
                        records.truncate(whole);
                    }
                    return Ok(ReadResult { records, offsets });
                }
                pos += len;
            }
            if end == 0 {
                return Ok(ReadResult { records: Bytes::new(), offsets });
            }
        }
    }

    /// Calls `f` with every whole batch from `from` up to the high watermark, in order
    /// (used to replay internal topics such as `__consumer_offsets` at startup).
    pub fn for_each_batch(&self, from: i64, mut f: impl FnMut(Bytes)) -> io::Result<()> {
        let mut next = from.max(self.offsets().log_start);
        loop {
            let mut buf = match self.read(next, 1 << 20, true) {
                Ok(r) => r.records,
                Err(ReadError::OffsetOutOfRange { .. }) => return Ok(()),
                Err(ReadError::Storage(e)) => return Err(e),
            };
            let before = next;
            while let Ok(h) = BatchHeader::parse(&buf) {
                if h.total_len() > buf.len() {
                    break;
                }
                let b = buf.split_to(h.total_len());
                if h.last_offset() >= next {
                    next = h.next_offset();
                    f(b);
                }
            }
            if next == before {
                return Ok(());
            }
        }
    }

    /// Reads the whole batch that starts at `pos` in `file`, which must end by `end` (the
    /// header's length is never trusted past the bytes that are there).
    fn read_batch(file: &File, pos: u64, h: &BatchHeader, end: u64) -> io::Result<Bytes> {
        if pos + h.total_len() as u64 > end {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("batch at {pos} overruns its segment")));
        }
        read_bytes_at(file, pos, h.total_len())
    }

    /// ListOffsets by timestamp: the first record with timestamp >= `ts`, as (offset, timestamp).
    pub fn offset_for_timestamp(&self, ts: i64) -> io::Result<Option<(i64, i64)>> {
        let (found, limit) = {
            let log = self.log.lock();
            let found =
                log.segments.values().find(|s| s.max_timestamp() >= ts && s.base_offset < log.high_watermark).map(
                    |s| {
                        let start = s.time_lookup(ts);
                        (s.file(), s.lookup(start), log.visible_end(s))
                    },
                );
            (found, log.config.max_uncompressed_bytes)
        };
        let Some((file, mut pos, end)) = found else {
            return Ok(None);
        };
        while let Some(h) = read_header_at(&file, pos, end)? {
            if h.max_timestamp >= ts && !h.is_control() {
                let bytes = Self::read_batch(&file, pos, &h, end)?;
                return Ok(records::first_at_or_after(&h, &bytes, ts, limit));
            }
            pos += h.total_len() as u64;
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP: the record with the largest timestamp, as (offset, timestamp).
    pub fn max_timestamp_offset(&self) -> io::Result<Option<(i64, i64)>> {
        let (found, limit) = {
            let log = self.log.lock();
            let mut best: Option<&Segment> = None;
            for s in log.segments.values() {
                if s.offset_of_max_timestamp() >= 0
                    && s.offset_of_max_timestamp() < log.high_watermark
                    && best.is_none_or(|b| s.max_timestamp() > b.max_timestamp())
                {
                    best = Some(s);
                }
            }
            let found = best.map(|s| {
                (
                    s.file(),
                    s.lookup(s.offset_of_max_timestamp()),
                    log.visible_end(s),
                    s.offset_of_max_timestamp(),
                    s.max_timestamp(),
                )
            });
            (found, log.config.max_uncompressed_bytes)
        };
        let Some((file, mut pos, end, target, max_ts)) = found else {
            return Ok(None);
        };
        while let Some(h) = read_header_at(&file, pos, end)? {
            if h.base_offset >= target && h.max_timestamp == max_ts {
                let bytes = Self::read_batch(&file, pos, &h, end)?;
                return Ok(records::first_at_or_after(&h, &bytes, max_ts, limit));
            }
            pos += h.total_len() as u64;
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
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
        let (p, rep) =
            Partition::open(dir.path().to_path_buf(), "t".into(), 0, config(1 << 20), Some(rp), false).unwrap();
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
}
