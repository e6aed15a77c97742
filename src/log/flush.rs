//! Durability work: the group-commit thread. One fsync round covers every request and partition
//! that arrived while the previous round ran: produces and offset commits waiting for their
//! fsync (`acks`/`sync` modes) and the background job's flushes (interval flushes, rolled
//! segments) in every mode, so no flush ever needs a thread per partition.

use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::faults::{self, Point};
use super::Partition;
use crate::error::StorageError;

struct SyncRequest {
    partitions: Vec<Arc<Partition>>,
    /// Only rolled segments must be durable (the active one may stay in the page cache).
    rolled_only: bool,
    /// The outcome for each of `partitions`, in order.
    done: oneshot::Sender<Vec<Result<(), StorageError>>>,
}

/// Handle to the group-commit thread.
#[derive(Clone)]
pub struct GroupCommit {
    tx: std::sync::mpsc::Sender<SyncRequest>,
    /// Each round's duration and the partitions it made durable (`/metrics`).
    pub stats: Arc<FsyncStats>,
}

/// What the group-commit thread did since the start.
#[derive(Default)]
pub struct FsyncStats {
    pub rounds: crate::metrics::Histogram,
    pub partitions: std::sync::atomic::AtomicU64,
}

impl GroupCommit {
    /// Starts the group-commit thread for logs under `data_dir`. It runs until every handle
    /// is dropped.
    pub fn start(data_dir: &std::path::Path) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let fs = match File::open(data_dir) {
            Ok(_) if !crate::util::syncfs_reports_errors() => {
                tracing::warn!(
                    "this kernel's syncfs does not report write errors (Linux < 5.8): fsyncing file by file"
                );
                None
            }
            Ok(f) => Some((f, data_dir.to_path_buf())),
            Err(e) => {
                tracing::warn!("cannot open {} for syncfs, fsyncing file by file: {e}", data_dir.display());
                None
            }
        };
        let stats = Arc::new(FsyncStats::default());
        let counted = stats.clone();
        std::thread::Builder::new().name("brook-fsync".into()).spawn(move || run_group_commit(rx, fs, &counted))?;
        Ok(Self { tx, stats })
    }

    /// Waits until everything appended to `partitions` so far is fsynced. The request joins
    /// the queue when this is called, not when the future is first polled, so a caller that
    /// spawns the wait still gets the earliest round (and rounds follow call order).
    pub fn sync(
        &self,
        partitions: Vec<Arc<Partition>>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send + 'static {
        first_error(self.request(partitions, false))
    }

    /// [`GroupCommit::sync`] with an outcome per partition (in the order given), so that one
    /// partition's failed fsync fails only the answers about that partition.
    pub fn sync_each(
        &self,
        partitions: Vec<Arc<Partition>>,
    ) -> impl Future<Output = Vec<Result<(), StorageError>>> + Send + 'static {
        self.request(partitions, false)
    }

    /// Waits until the rolled (no longer written) segments of `partitions` are fsynced.
    pub fn sync_rolled(
        &self,
        partitions: Vec<Arc<Partition>>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send + 'static {
        first_error(self.request(partitions, true))
    }

    fn request(
        &self,
        partitions: Vec<Arc<Partition>>,
        rolled_only: bool,
    ) -> impl Future<Output = Vec<Result<(), StorageError>>> + Send + 'static {
        let n = partitions.len();
        let queued = if partitions.is_empty() {
            None
        } else {
            let (done, wait) = oneshot::channel();
            Some(self.tx.send(SyncRequest { partitions, rolled_only, done }).map(|()| wait))
        };
        async move {
            let gone = || vec![Err(StorageError::shutting_down()); n];
            match queued {
                None => Vec::new(),
                Some(Ok(wait)) => wait.await.unwrap_or_else(|_| gone()),
                Some(Err(_)) => gone(),
            }
        }
    }
}

/// The first failure among per-partition outcomes.
async fn first_error(each: impl Future<Output = Vec<Result<(), StorageError>>>) -> Result<(), StorageError> {
    each.await.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}

/// The group-commit loop, on its own thread so that a round costs one wake-up of this thread
/// and one of each waiting request (no hops through async tasks and the blocking pool): take
/// every request that is waiting, make their partitions durable once, answer them all.
fn run_group_commit(
    rx: std::sync::mpsc::Receiver<SyncRequest>,
    fs: Option<(File, std::path::PathBuf)>,
    stats: &FsyncStats,
) {
    while let Ok(first) = rx.recv() {
        let mut round = vec![first];
        round.extend(rx.try_iter());
        // Each partition once per round, keyed by identity; its active segment is flushed
        // if any request asked for it.
        let mut index: HashMap<usize, usize> = HashMap::new();
        let mut unique: Vec<(Arc<Partition>, bool)> = Vec::new();
        for req in &round {
            for p in &req.partitions {
                let i = *index.entry(Arc::as_ptr(p) as usize).or_insert_with(|| {
                    unique.push((p.clone(), false));
                    unique.len() - 1
                });
                unique[i].1 |= !req.rolled_only;
            }
        }
        let began = std::time::Instant::now();
        let results = match &fs {
            Some((fs, dir)) if unique.len() >= SYNCFS_MIN_PARTITIONS => flush_with_syncfs(&unique, fs, dir),
            _ => unique.iter().map(|(p, active)| if *active { p.flush() } else { p.flush_rolled() }).collect(),
        };
        stats.rounds.observe(began.elapsed());
        stats.partitions.fetch_add(unique.len() as u64, std::sync::atomic::Ordering::Relaxed);
        for req in round {
            let each = req
                .partitions
                .iter()
                .map(|p| index.get(&(Arc::as_ptr(p) as usize)).map_or(Ok(()), |&i| results[i].clone()))
                .collect();
            let _ = req.done.send(each);
        }
    }
}

/// Rounds with at least this many partitions use one `syncfs` instead of an `fdatasync` each.
const SYNCFS_MIN_PARTITIONS: usize = 2;

fn flush_with_syncfs(
    parts: &[(Arc<Partition>, bool)],
    fs: &File,
    dir: &std::path::Path,
) -> Vec<Result<(), StorageError>> {
    let tickets: Vec<_> = parts.iter().map(|(p, active)| p.begin_flush(*active)).collect();
    // syncfs reports any writeback error on the file system since `fs` was opened; on error
    // each file's own fdatasync tells which partitions are affected.
    let all = faults::check_under(Point::Fsync, dir).and_then(|()| crate::util::syncfs(fs));
    parts
        .iter()
        .zip(tickets)
        .map(|((p, _), t)| {
            let t = t?;
            let synced = match &all {
                Ok(()) => Ok(()),
                Err(_) => p.sync_files(&t.files),
            };
            p.finish_flush(t, synced)
        })
        .collect()
}

/// How often the background job runs when no flush interval asks for more.
pub const DEFAULT_TICK: Duration = Duration::from_millis(1000);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{build_batch, BatchHeader};
    use crate::log::LogConfig;

    fn sync_mode_partition(dir: &std::path::Path, index: i32) -> Arc<Partition> {
        let cfg = LogConfig::for_tests(1 << 20);
        let (p, _) = Partition::open(dir.join(format!("t-{index}")), "t".into(), index, cfg, None, true).unwrap();
        let b = build_batch(0, 1, 1, b"x");
        p.append(BatchHeader::parse(&b).unwrap(), b).unwrap();
        Arc::new(p)
    }

    /// The round is asked for when `sync` is called, so a produce's place in the fsync order
    /// is its request order, whenever its task first runs.
    #[test]
    fn sync_joins_a_round_before_its_future_is_polled() {
        let dir = tempfile::tempdir().unwrap();
        let gc = GroupCommit::start(dir.path()).unwrap();
        for parts in
            [vec![sync_mode_partition(dir.path(), 0)], (1..3).map(|i| sync_mode_partition(dir.path(), i)).collect()]
        {
            assert!(parts.iter().all(|p| p.offsets().high_watermark == 0), "unflushed data is not visible yet");
            let wait = gc.sync(parts.clone()); // never polled until the round is over
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while parts.iter().any(|p| p.offsets().high_watermark == 0) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert!(parts.iter().all(|p| p.offsets().high_watermark == 1), "the round ran without a poll");
            assert!(futures::executor::block_on(wait).is_ok());
        }
    }
}
