//! The log manager (Kafka's `LogManager`): owns every partition's log in the data
//! directory. It opens (recovering) them at startup, creates and deletes them when topics
//! change, runs retention and the log cleaner's threads (compaction), writes the
//! recovery-point and cleaner checkpoints, and closes them at shutdown, writing the
//! clean-shutdown marker the next start reads.
//!
//! Lookups on the produce/fetch path take no global lock: a `DashMap` by topic name, then
//! the topic's partition vector under a read lock.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};

use super::checkpoint_file;
use super::cleaner::{self, CleanStats, CleanerConfig};
use super::faults::Point;
use super::partition::RecoveryReport;
use super::{LogConfig, Partition, RecoveryPoint};
use crate::config::BrokerConfig;
use crate::error::{StorageContext, StorageError, StorageOp};
use crate::util::{write_atomic, write_atomic_failpoint};

pub const CHECKPOINT_FILE: &str = "recovery-point-offset-checkpoint.json";
pub const CLEAN_SHUTDOWN_FILE: &str = ".clean-shutdown";
/// Kafka's `log-start-offset-checkpoint`: log starts that DeleteRecords moved inside a segment.
pub const LOG_START_FILE: &str = "log-start-offset-checkpoint";

/// Largest log-start checkpoint read: a malformed or oversized one is ignored (the log starts
/// at its first segment, as before the DeleteRecords it forgets).
const MAX_LOG_START_FILE: u64 = 16 << 20;
/// The cleaner's checkpoint: each compacted partition's first offset not yet cleaned.
pub const CLEANER_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint.json";

/// One topic's partition logs (they only grow, by CreatePartitions).
struct TopicLogs {
    internal: bool,
    partitions: RwLock<Vec<Arc<Partition>>>,
}

pub struct LogManager {
    data_dir: PathBuf,
    broker: Arc<BrokerConfig>,
    topics: DashMap<Arc<str>, Arc<TopicLogs>>,
    /// Recovery points read at startup (consumed as partitions open).
    checkpoints: Mutex<HashMap<String, RecoveryPoint>>,
    /// Log starts read at startup, by (topic, partition).
    log_starts: Mutex<HashMap<(String, i32), i64>>,
    /// Serialises writes of the log-start checkpoint (DeleteRecords and the periodic job).
    log_start_write: Mutex<Vec<u8>>,
    /// Whether the previous run ended with a graceful shutdown (its marker was present).
    clean_shutdown: bool,
    /// The last checkpoint written, to skip rewriting an unchanged file.
    last_checkpoint: Mutex<Vec<u8>>,
    /// The cleaner checkpoint read at startup (consumed as partitions open).
    cleaner_checkpoints: Mutex<HashMap<String, i64>>,
    /// Serialises writes of the cleaner checkpoint.
    cleaner_checkpoint_lock: Mutex<()>,
    /// Set at shutdown: cleaner threads stop (a pass in progress aborts between batches).
    cleaner_stop: Arc<AtomicBool>,
    /// What the cleaner did since the start (`/metrics`).
    pub cleaner_totals: CleanerTotals,
    cleaner_threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// The cleaner settings now (dynamic broker configs may change them).
    cleaner_settings: Mutex<CleanerSettings>,
    /// Set at shutdown, under the threads' lock: no cleaner starts again.
    cleaners_closed: AtomicBool,
}

/// The cleaner's work since the start: partitions cleaned, bytes read and written, records
/// read and kept (relaxed counters, added once per cleaned partition).
#[derive(Debug, Default)]
pub struct CleanerTotals {
    pub cleanings: AtomicU64,
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
    pub records_read: AtomicU64,
    pub records_kept: AtomicU64,
}

impl CleanerTotals {
    fn add(&self, s: &CleanStats) {
        self.cleanings.fetch_add(1, Ordering::Relaxed);
        self.bytes_read.fetch_add(s.bytes_read, Ordering::Relaxed);
        self.bytes_written.fetch_add(s.bytes_written, Ordering::Relaxed);
        self.records_read.fetch_add(s.records_read, Ordering::Relaxed);
        self.records_kept.fetch_add(s.records_kept, Ordering::Relaxed);
    }
}

/// The `log.cleaner.*` settings the cleaner threads run with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleanerSettings {
    pub enable: bool,
    pub threads: usize,
    pub dedupe_buffer_size: u64,
    pub io_max_bytes_per_second: f64,
    pub backoff: std::time::Duration,
}

impl CleanerSettings {
    pub fn of(b: &BrokerConfig) -> Self {
        Self {
            enable: b.log_cleaner_enable,
            threads: b.log_cleaner_threads,
            dedupe_buffer_size: b.log_cleaner_dedupe_buffer_size,
            io_max_bytes_per_second: b.log_cleaner_io_max_bytes_per_second,
            backoff: b.log_cleaner_backoff,
        }
    }
}

fn partition_dir(data_dir: &Path, topic: &str, p: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{p}"))
}

impl LogManager {
    /// Prepares the data directory: reads the recovery checkpoint and the clean-shutdown
    /// marker (then removes it: from here on a crash is unclean), removes directories of
    /// deleted topics. Partitions open with [`LogManager::load`].
    pub fn open(broker: Arc<BrokerConfig>) -> std::io::Result<Self> {
        let data_dir = broker.data_dir.clone();
        std::fs::create_dir_all(&data_dir)?;
        let marker = data_dir.join(CLEAN_SHUTDOWN_FILE);
        let clean_shutdown = marker.exists();
        let checkpoints: HashMap<String, RecoveryPoint> = std::fs::read(data_dir.join(CHECKPOINT_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        remove_deleted_dirs(&data_dir);
        let log_starts = read_log_starts(&data_dir.join(LOG_START_FILE));
        let cleaner_checkpoints: HashMap<String, i64> = std::fs::read(data_dir.join(CLEANER_CHECKPOINT_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Ok(Self {
            data_dir,
            topics: DashMap::new(),
            checkpoints: Mutex::new(checkpoints),
            log_starts: Mutex::new(log_starts),
            log_start_write: Mutex::new(Vec::new()),
            clean_shutdown,
            last_checkpoint: Mutex::new(Vec::new()),
            cleaner_checkpoints: Mutex::new(cleaner_checkpoints),
            cleaner_checkpoint_lock: Mutex::new(()),
            cleaner_stop: Arc::new(AtomicBool::new(false)),
            cleaner_totals: CleanerTotals::default(),
            cleaner_threads: Mutex::new(Vec::new()),
            cleaner_settings: Mutex::new(CleanerSettings::of(&broker)),
            cleaners_closed: AtomicBool::new(false),
            broker,
        })
    }

    /// The log directory (Kafka's `log.dirs`; Brook has one).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// (total, usable) bytes of the file system holding the log directory.
    pub fn dir_space(&self) -> std::io::Result<(u64, u64)> {
        let path = std::ffi::CString::new(self.data_dir.as_os_str().as_encoded_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is a valid C string and `st` a writable statvfs.
        if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let block = st.f_frsize as u64;
        Ok((st.f_blocks as u64 * block, st.f_bavail as u64 * block))
    }

    /// Whether the previous run shut down gracefully.
    pub fn had_clean_shutdown(&self) -> bool {
        self.clean_shutdown
    }

    /// Marks the start complete: a crash from now on is unclean until the next graceful
    /// shutdown writes the marker again.
    pub fn startup_complete(&self) {
        let _ = std::fs::remove_file(self.data_dir.join(CLEAN_SHUTDOWN_FILE));
        self.checkpoints.lock().clear();
        self.log_starts.lock().clear();
    }

    /// Opens the existing logs of a topic at startup, recovering each after its checkpointed
    /// recovery point. After a clean shutdown the checkpoint covers the whole log, so no
    /// byte is validated again; after a crash what follows it is.
    pub fn load(
        &self,
        name: &Arc<str>,
        count: i32,
        internal: bool,
        config: &LogConfig,
        report: &mut RecoveryReport,
    ) -> std::io::Result<()> {
        // Grows as partitions open: the count in topics.json is not trusted for memory.
        let mut parts = Vec::new();
        for p in 0..count {
            let dir = partition_dir(&self.data_dir, name, p);
            // After a clean shutdown every log was flushed and closed before the marker was
            // written: one the checkpoint misses (a lost or stale checkpoint file) is still
            // whole. After a crash, what follows the checkpoint (or everything) is validated.
            let checkpointed = self.checkpoints.lock().get(&format!("{name}-{p}")).copied();
            let rp = checkpointed.or(self.clean_shutdown.then_some(RecoveryPoint::WHOLE_LOG));
            let (part, rep) = Partition::open(
                dir,
                name.clone(),
                p,
                config.clone(),
                rp,
                self.broker.durability.fsync_before_visible(),
            )?;
            if rep.truncated_bytes > 0 || rep.dropped_segments > 0 {
                tracing::warn!(topic = %name, partition = p, truncated_bytes = rep.truncated_bytes, dropped_segments = rep.dropped_segments, clean_shutdown = self.clean_shutdown, "recovered a torn or corrupt log tail");
            }
            report.truncated_bytes += rep.truncated_bytes;
            report.validated_bytes += rep.validated_bytes;
            report.segments += rep.segments;
            report.indexes_rebuilt += rep.indexes_rebuilt;
            report.dropped_segments += rep.dropped_segments;
            report.producers += rep.producers;
            if let Some(&start) = self.log_starts.lock().get(&(name.to_string(), p)) {
                part.restore_log_start(start);
            }
            if let Some(offset) = self.cleaner_checkpoints.lock().remove(&format!("{name}-{p}")) {
                part.set_first_dirty_offset(offset);
            }
            parts.push(Arc::new(part));
        }
        self.topics.insert(name.clone(), Arc::new(TopicLogs { internal, partitions: RwLock::new(parts) }));
        Ok(())
    }

    /// Creates fresh, empty logs for partitions `from..to` of a topic (a new topic, or new
    /// partitions). Nothing is registered if one fails.
    pub fn create(
        &self,
        name: &Arc<str>,
        from: i32,
        to: i32,
        internal: bool,
        config: &LogConfig,
    ) -> Result<(), StorageError> {
        let mut new = Vec::new();
        for p in from..to {
            let dir = partition_dir(&self.data_dir, name, p);
            let fresh = || {
                // A fresh partition must not inherit files left by an older topic of the same name.
                if dir.exists() {
                    std::fs::remove_dir_all(&dir)?;
                }
                let sync_mode = self.broker.durability.fsync_before_visible();
                Partition::open(dir.clone(), name.clone(), p, config.clone(), None, sync_mode)
            };
            let (part, _) = fresh().storage(StorageOp::Open, Some(&dir))?;
            new.push(Arc::new(part));
        }
        match self.topics.get(name) {
            Some(t) => t.partitions.write().extend(new),
            None => {
                self.topics.insert(name.clone(), Arc::new(TopicLogs { internal, partitions: RwLock::new(new) }));
            }
        }
        Ok(())
    }

    /// Unregisters a topic's logs and removes their directories (renamed first, so a crash
    /// midway leaves only `*-delete` directories, removed at the next start). `tag` makes the
    /// renamed names unique (the topic id).
    pub fn delete(&self, name: &str, tag: &str) {
        let Some((_, logs)) = self.topics.remove(name) else { return };
        for p in logs.partitions.read().iter() {
            let dir = p.dir().to_path_buf();
            let doomed =
                dir.with_file_name(format!("{}.{tag}-delete", dir.file_name().and_then(|s| s.to_str()).unwrap_or("x")));
            if std::fs::rename(&dir, &doomed).is_ok() {
                let _ = std::fs::remove_dir_all(&doomed);
            }
        }
        // A topic re-created under this name must not inherit the deleted one's log starts.
        if let Err(e) = self.write_log_starts() {
            tracing::warn!(topic = name, "cannot rewrite the log-start checkpoint: {e}");
        }
    }

    /// A partition's log (the produce/fetch lookup).
    pub fn get(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        if index < 0 {
            return None;
        }
        self.topics.get(topic)?.partitions.read().get(index as usize).cloned()
    }

    /// [`LogManager::get`], with whether the topic is internal (one lookup for produce).
    pub fn get_with_kind(&self, topic: &str, index: i32) -> Option<(Arc<Partition>, bool)> {
        if index < 0 {
            return None;
        }
        let t = self.topics.get(topic)?;
        let p = t.partitions.read().get(index as usize).cloned()?;
        Some((p, t.internal))
    }

    /// A topic's logs, by partition index.
    pub fn partitions(&self, topic: &str) -> Vec<Arc<Partition>> {
        self.topics.get(topic).map(|t| t.partitions.read().clone()).unwrap_or_default()
    }

    pub fn all(&self) -> Vec<Arc<Partition>> {
        self.topics.iter().flat_map(|e| e.value().partitions.read().clone()).collect()
    }

    /// Applies changed topic configs to every partition of the topic.
    pub fn set_config(&self, topic: &str, config: &LogConfig) {
        for p in self.partitions(topic) {
            p.set_config(config.clone());
        }
    }

    /// One retention pass over every partition.
    pub fn enforce_retention(&self, now_ms: i64) {
        for p in self.all() {
            p.enforce_retention(now_ms);
        }
    }

    /// Forgets, in every partition, producers idle for `expiration_ms`
    /// (`producer.id.expiration.ms`) without an ongoing transaction.
    pub fn expire_producers(&self, now_ms: i64, expiration_ms: i64) {
        let removed: usize = self.all().iter().map(|p| p.expire_producers(now_ms, expiration_ms)).sum();
        if removed > 0 {
            tracing::debug!(removed, "expired idle producer ids (producer.id.expiration.ms)");
        }
    }

    /// This cleaner thread's settings (`threads` of them share the dedupe buffer).
    fn cleaner_config(&self) -> CleanerConfig {
        let s = *self.cleaner_settings.lock();
        CleanerConfig {
            dedupe_bytes: s.dedupe_buffer_size / s.threads.max(1) as u64,
            io_max_bytes_per_second: s.io_max_bytes_per_second,
        }
    }

    /// One cleaning pass over every compacted partition that needs one (dirty ratio,
    /// compaction lags), then the cleaner checkpoint. Blocking: runs on a cleaner thread (or
    /// a test's). Partitions another cleaner is on are skipped.
    pub fn clean_once(&self, now_ms: i64) -> Vec<(Arc<Partition>, CleanStats)> {
        let config = self.cleaner_config();
        let mut done = Vec::new();
        for p in self.all() {
            if self.cleaner_stop.load(Ordering::Relaxed) {
                break;
            }
            if p.is_uncleanable() {
                continue;
            }
            match cleaner::clean_partition(&p, &config, now_ms, &self.cleaner_stop) {
                Ok(Some(stats)) => {
                    self.cleaner_totals.add(&stats);
                    done.push((p, stats));
                }
                Ok(None) => {}
                Err(cleaner::CleanError::Stopped) => break,
                Err(e) => {
                    // Kafka's rule: a log the cleaner fails on is left alone (not failed on
                    // again every pass) until the broker restarts.
                    tracing::error!(topic = %p.topic, partition = p.index, "cannot clean the log; it is not cleaned again until restart: {e}");
                    p.mark_uncleanable();
                }
            }
        }
        if !done.is_empty() {
            if let Err(e) = self.write_cleaner_checkpoint() {
                tracing::warn!("cannot write the cleaner checkpoint (cleaning restarts from an older point): {e}");
            }
        }
        done
    }

    /// Writes each partition's first dirty offset atomically (`cleaner-offset-checkpoint.json`).
    pub fn write_cleaner_checkpoint(&self) -> std::io::Result<()> {
        let _one_writer = self.cleaner_checkpoint_lock.lock();
        let mut map = BTreeMap::new();
        for p in self.all() {
            let offset = p.first_dirty_offset();
            if offset >= 0 {
                map.insert(format!("{}-{}", p.topic, p.index), offset);
            }
        }
        let bytes = serde_json::to_vec(&map).map_err(std::io::Error::other)?;
        write_atomic(&self.data_dir.join(CLEANER_CHECKPOINT_FILE), &bytes)
    }

    /// Starts the `log.cleaner.threads` cleaner threads (when `log.cleaner.enable`): each runs
    /// [`LogManager::clean_once`], then sleeps `log.cleaner.backoff.ms` if it cleaned
    /// nothing. They hold the manager only during a pass and end with it or at shutdown.
    pub fn start_cleaners(self: &Arc<Self>) {
        let mut threads = self.cleaner_threads.lock();
        if !self.cleaners_closed.load(Ordering::Relaxed) {
            self.spawn_cleaners(&mut threads);
        }
    }

    fn spawn_cleaners(self: &Arc<Self>, threads: &mut Vec<std::thread::JoinHandle<()>>) {
        let settings = *self.cleaner_settings.lock();
        if !settings.enable {
            return;
        }
        for i in 0..settings.threads {
            let weak = Arc::downgrade(self);
            let stop = self.cleaner_stop.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("log-cleaner-{i}"))
                .spawn(move || cleaner_thread(weak, stop, settings.backoff));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => tracing::error!("cannot start a log cleaner thread: {e}"),
            }
        }
    }

    /// Restarts the cleaner threads with new settings (a dynamic broker config changed
    /// them), as Kafka's LogCleaner.reconfigure does: a pass in progress aborts and the next
    /// starts from the cleaner checkpoint.
    pub fn reconfigure_cleaners(self: &Arc<Self>, settings: CleanerSettings) {
        let mut threads = self.cleaner_threads.lock();
        if self.cleaners_closed.load(Ordering::Relaxed) || *self.cleaner_settings.lock() == settings {
            return;
        }
        self.cleaner_stop.store(true, Ordering::Relaxed);
        for t in threads.drain(..) {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
        *self.cleaner_settings.lock() = settings;
        self.cleaner_stop.store(false, Ordering::Relaxed);
        self.spawn_cleaners(&mut threads);
        tracing::info!(?settings, "log cleaner reconfigured");
    }

    /// The cleaner settings now.
    pub fn cleaner_settings(&self) -> CleanerSettings {
        *self.cleaner_settings.lock()
    }

    /// Cleaner threads started and not stopped.
    pub fn cleaner_threads_running(&self) -> usize {
        self.cleaner_threads.lock().len()
    }

    /// Stops the cleaner threads for good, waiting for a pass in progress to abort.
    pub fn stop_cleaners(&self) {
        let threads = {
            let mut threads = self.cleaner_threads.lock();
            self.cleaners_closed.store(true, Ordering::Relaxed);
            self.cleaner_stop.store(true, Ordering::Relaxed);
            std::mem::take(&mut *threads)
        };
        for t in threads {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }

    /// Writes every partition's recovery point (last fsynced position) atomically.
    pub fn write_checkpoints(&self) -> std::io::Result<()> {
        let mut map = BTreeMap::new();
        for p in self.all() {
            if let Err(e) = p.persist_indexes() {
                tracing::warn!(topic = %p.topic, partition = p.index, "cannot write index files: {e}");
            }
            map.insert(format!("{}-{}", p.topic, p.index), p.recovery_point());
        }
        let bytes = serde_json::to_vec(&map).map_err(std::io::Error::other)?;
        let mut last = self.last_checkpoint.lock();
        if *last == bytes {
            return Ok(());
        }
        write_atomic_failpoint(Point::CheckpointWrite, &self.data_dir.join(CHECKPOINT_FILE), &bytes)?;
        *last = bytes;
        Ok(())
    }

    /// Writes the log-start checkpoint (atomically) if it changed: every partition whose log
    /// start a DeleteRecords moved inside its first segment. DeleteRecords calls this before
    /// answering, so an acknowledged deletion survives a crash.
    pub fn write_log_starts(&self) -> std::io::Result<()> {
        let mut last = self.log_start_write.lock();
        let mut entries: Vec<(String, i32, i64)> = self
            .all()
            .iter()
            .filter_map(|p| p.log_start_inside_segment().map(|s| (p.topic.to_string(), p.index, s)))
            .collect();
        entries.sort();
        let lines: Vec<String> = entries.iter().map(|(t, p, s)| format!("{t} {p} {s}")).collect();
        let text = checkpoint_file::render(&lines);
        if *last == text.as_bytes() {
            return Ok(());
        }
        write_atomic(&self.data_dir.join(LOG_START_FILE), text.as_bytes())?;
        *last = text.into_bytes();
        Ok(())
    }

    /// Graceful shutdown: flush everything, snapshot producer state, checkpoint, mark clean.
    /// A partition that cannot be closed (poisoned by a write or fsync failure, or failing
    /// now) does not stop the others from closing nor the checkpoint (which keeps its last
    /// good recovery point); the shutdown then reports the first error and is not marked
    /// clean.
    pub fn shutdown(&self) -> std::io::Result<()> {
        self.stop_cleaners();
        let mut first_error = None;
        for p in self.all() {
            if let Err(e) = p.close() {
                tracing::error!(topic = %p.topic, partition = p.index, "cannot close the partition cleanly: {e}");
                first_error.get_or_insert(e);
            }
        }
        self.write_checkpoints()?;
        self.write_log_starts()?;
        match first_error {
            Some(e) => Err(e),
            None => write_atomic(&self.data_dir.join(CLEAN_SHUTDOWN_FILE), b""),
        }
    }
}

/// Reads Kafka's `log-start-offset-checkpoint` text format (`0`, a count, then `topic
/// partition offset` lines); anything malformed gives an empty map.
fn read_log_starts(path: &Path) -> HashMap<(String, i32), i64> {
    let entries = checkpoint_file::read(path, MAX_LOG_START_FILE, |line| {
        let mut it = line.split_whitespace();
        let (t, p, s) = (it.next()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?);
        it.next().is_none().then(|| ((t.to_string(), p), s))
    });
    entries.map(|e| e.into_iter().collect()).unwrap_or_default()
}

/// A cleaner thread: passes while the manager lives and is not stopped.
fn cleaner_thread(manager: Weak<LogManager>, stop: Arc<AtomicBool>, backoff: Duration) {
    // A pass reads cached segments as fast as a core allows; on a small machine that core is
    // taken from request handling (acks=all p99 x3 during an unthrottled pass on 2 cores,
    // BENCHMARKS.md). At the lowest priority the cleaner gets what the broker leaves idle.
    crate::util::lowest_thread_priority();
    loop {
        let cleaned = match manager.upgrade() {
            Some(m) if !stop.load(Ordering::Relaxed) => !m.clean_once(crate::util::now_ms()).is_empty(),
            _ => return,
        };
        if cleaned {
            continue;
        }
        let until = Instant::now() + backoff;
        while Instant::now() < until {
            if stop.load(Ordering::Relaxed) || manager.strong_count() == 0 {
                return;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
    }
}

fn remove_deleted_dirs(data_dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(data_dir) {
        for e in entries.flatten() {
            if e.file_name().to_str().is_some_and(|n| n.ends_with("-delete")) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::build_batch;

    /// Opens a log manager on `dir`, loads topic `t` (1 partition) and returns it with what
    /// recovery found.
    fn reopen(dir: &Path) -> (LogManager, RecoveryReport) {
        let logs = LogManager::open(Arc::new(BrokerConfig::for_tests(dir))).unwrap();
        let mut report = RecoveryReport::default();
        logs.load(&"t".into(), 1, false, &LogConfig::for_tests(1 << 20), &mut report).unwrap();
        logs.startup_complete();
        (logs, report)
    }

    fn fill(logs: &LogManager) -> i64 {
        let p = logs.get("t", 0).unwrap();
        for _ in 0..10 {
            let b = build_batch(0, 5, 1_000, &[7u8; 200]);
            p.append(crate::log::batch::BatchHeader::parse(&b).unwrap(), b).unwrap();
        }
        p.offsets().log_end
    }

    /// A pass that fails marks the log uncleanable (Kafka's rule): later passes leave it alone
    /// rather than fail on it again; the other logs are still cleaned, and the checkpoint of
    /// what was cleaned is written.
    #[test]
    fn a_log_the_cleaner_fails_on_is_left_alone() {
        use crate::log::faults::{self, Fault};
        let dir = tempfile::tempdir().unwrap();
        let logs = LogManager::open(Arc::new(BrokerConfig::for_tests(dir.path()))).unwrap();
        let cfg = LogConfig { compacted: true, min_cleanable_ratio: 0.0, ..LogConfig::for_tests(600) };
        for t in ["bad", "good"] {
            logs.create(&t.into(), 0, 1, false, &cfg).unwrap();
            let p = logs.get(t, 0).unwrap();
            for i in 0..40 {
                let mut body = Vec::new();
                crate::log::records::encode_record(&mut body, 0, 0, Some(b"k"), Some(format!("v{i}").as_bytes()), &[]);
                let b = build_batch(0, 1, 1_000, &body);
                p.append(crate::log::batch::BatchHeader::parse(&b).unwrap(), b).unwrap();
            }
        }
        let armed = faults::arm(Point::CleanerSwap, dir.path().join("bad-0"), Fault::eio());
        let cleaned: Vec<String> = logs.clean_once(10_000).iter().map(|(p, _)| p.topic.to_string()).collect();
        assert_eq!(cleaned, ["good"]);
        assert_eq!(armed.hits(), 1);
        assert!(logs.get("bad", 0).unwrap().is_uncleanable());
        assert!(logs.clean_once(10_000).is_empty());
        assert_eq!(armed.hits(), 1, "not tried again");
        let checkpoint = std::fs::read_to_string(dir.path().join(CLEANER_CHECKPOINT_FILE)).unwrap();
        assert!(checkpoint.contains("good-0") && !checkpoint.contains("bad-0"), "{checkpoint}");
        // The next start picks the checkpoint up: nothing dirty enough, no pass.
        let end = logs.get("good", 0).unwrap().first_dirty_offset();
        drop(armed);
        logs.shutdown().unwrap();
        drop(logs);
        let logs = LogManager::open(Arc::new(BrokerConfig::for_tests(dir.path()))).unwrap();
        let mut report = RecoveryReport::default();
        logs.load(&"good".into(), 1, false, &cfg, &mut report).unwrap();
        assert!(end > 0);
        assert_eq!(logs.get("good", 0).unwrap().first_dirty_offset(), end);
        assert!(logs.clean_once(10_000).is_empty(), "the active segment alone is dirty");
    }

    /// Kafka's log loader skips recovery after a clean shutdown: with the marker, a log the
    /// checkpoint does not cover (its file lost) is trusted whole; without it, it is
    /// validated from the start.
    #[test]
    fn the_clean_shutdown_marker_spares_recovery_and_a_crash_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogManager::open(Arc::new(BrokerConfig::for_tests(dir.path()))).unwrap();
        logs.create(&"t".into(), 0, 1, false, &LogConfig::for_tests(1 << 20)).unwrap();
        let end = fill(&logs);
        logs.shutdown().unwrap();
        assert!(dir.path().join(CLEAN_SHUTDOWN_FILE).exists());
        std::fs::remove_file(dir.path().join(CHECKPOINT_FILE)).unwrap();

        let (logs, report) = reopen(dir.path());
        assert!(logs.had_clean_shutdown());
        assert_eq!(report.validated_bytes, 0, "a clean shutdown's logs are not validated again");
        assert_eq!(logs.get("t", 0).unwrap().recovery_point().offset, end);
        assert!(!dir.path().join(CLEAN_SHUTDOWN_FILE).exists(), "the marker goes once started");

        // A crash: no shutdown, so no marker (and no checkpoint written either).
        drop(logs);
        let _ = std::fs::remove_file(dir.path().join(CHECKPOINT_FILE));
        let (logs, report) = reopen(dir.path());
        assert!(!logs.had_clean_shutdown());
        assert!(report.validated_bytes > 0, "after a crash the uncheckpointed log is validated");
        assert_eq!(logs.get("t", 0).unwrap().offsets().log_end, end);
    }
}
