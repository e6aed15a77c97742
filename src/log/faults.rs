//! Fault injection for the log's file operations: named failpoints, checked at the real call
//! sites (segment writes, fsyncs, segment roll, index, snapshot and checkpoint writes), that
//! tests arm for one partition directory (or any path prefix) to return an `io::Error` such as
//! ENOSPC or EIO, once, a few times or always, optionally after part of a write reached the file.
//!
//! Always compiled, not behind a cargo feature: integration tests in `tests/` link the library
//! without `cfg(test)`, and a feature would have to be switched on for them (a self
//! dev-dependency, which unifies it into every build of the crate anyway) or be forgotten.
//! Unarmed, a check is one relaxed atomic load and a branch, next to a system call that costs
//! microseconds; the registry (a mutex and a list) is only looked at while something is armed,
//! and nothing outside tests arms anything (there is no configuration or request that does).
//!
//! Matching is by path prefix, component-wise (`Path::starts_with`): a fault armed for
//! `<data>/t-0` fires for every operation on a file of partition `t-0` and for nothing in
//! `<data>/t-00`. A fault armed for a file path fires only for that file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// `append.write`: the vectored write of a batch into the active segment.
    AppendWrite,
    /// `append.truncate`: cutting the bytes of a failed append back off the segment (when it
    /// fails too, the torn batch stays in the file for recovery to truncate).
    AppendTruncate,
    /// `fsync`: a partition's `fdatasync` of its segment files, and the group commit's
    /// `syncfs` of the data directory's file system when a partition under it is armed.
    Fsync,
    /// `roll.create`: creating the next segment (after its `.log` file exists) and syncing
    /// the directory that holds it.
    RollCreate,
    /// `roll.seal`: sealing the segment that stops being active (returning its reserved
    /// space, its last time-index entry, its index fsync).
    RollSeal,
    /// `index.write`: writing or fsyncing `.index` and `.timeindex` files.
    IndexWrite,
    /// `snapshot.write`: the producer-state snapshot written on roll and at shutdown.
    SnapshotWrite,
    /// `checkpoint.write`: the recovery-point checkpoint file.
    CheckpointWrite,
    /// `cleaner.swap`: renaming a cleaned segment to `.swap`, before it replaces the
    /// segments it was cleaned from.
    CleanerSwap,
    /// `replay.read`: reading a partition from its start to replay it (the coordinators'
    /// loads of `__consumer_offsets` and `__transaction_state`); not the fetch path.
    ReplayRead,
}

impl Point {
    pub fn name(self) -> &'static str {
        match self {
            Point::AppendWrite => "append.write",
            Point::AppendTruncate => "append.truncate",
            Point::Fsync => "fsync",
            Point::RollCreate => "roll.create",
            Point::RollSeal => "roll.seal",
            Point::IndexWrite => "index.write",
            Point::SnapshotWrite => "snapshot.write",
            Point::CheckpointWrite => "checkpoint.write",
            Point::CleanerSwap => "cleaner.swap",
            Point::ReplayRead => "replay.read",
        }
    }
}

/// What an armed failpoint does.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    errno: i32,
    /// How many more times it fires; `None` is always.
    times: Option<u32>,
    /// For writes: how many bytes reach the file before the error (a short write).
    partial: Option<usize>,
}

impl Fault {
    /// `ENOSPC`: no space left on device (`io::ErrorKind::StorageFull`).
    pub fn enospc() -> Self {
        Self::errno(libc::ENOSPC)
    }

    /// `EIO`: input/output error.
    pub fn eio() -> Self {
        Self::errno(libc::EIO)
    }

    pub fn errno(errno: i32) -> Self {
        Self { errno, times: None, partial: None }
    }

    /// Fires once, then never again.
    pub fn once(self) -> Self {
        self.times(1)
    }

    /// Fires `n` times, then never again.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// For writes: the first `n` bytes are written for real before the error.
    pub fn after_bytes(mut self, n: usize) -> Self {
        self.partial = Some(n);
        self
    }
}

/// A fault that fired at a call site.
#[derive(Debug)]
pub struct Injected {
    pub error: io::Error,
    /// Bytes of the write to let through before failing.
    pub partial: Option<usize>,
}

struct Entry {
    id: u64,
    point: Point,
    path: PathBuf,
    fault: Fault,
    hits: Arc<AtomicU32>,
}

/// How many faults are armed: the only thing an unarmed check looks at.
static ARMED: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static ENTRIES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn entries() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    // A test that panicked while holding the lock leaves a usable list behind.
    ENTRIES.lock().unwrap_or_else(|e| e.into_inner())
}

/// An armed failpoint; dropping it disarms it.
#[must_use = "the fault is disarmed when this is dropped"]
pub struct Armed {
    id: u64,
    hits: Arc<AtomicU32>,
}

impl Armed {
    /// How many times the fault fired so far.
    pub fn hits(&self) -> u32 {
        self.hits.load(Ordering::Relaxed)
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        let mut list = entries();
        if let Some(i) = list.iter().position(|e| e.id == self.id) {
            list.swap_remove(i);
            ARMED.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Arms `point` for every operation on `path` or below it.
pub fn arm(point: Point, path: impl Into<PathBuf>, fault: Fault) -> Armed {
    let hits = Arc::new(AtomicU32::new(0));
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut list = entries();
    list.push(Entry { id, point, path: path.into(), fault, hits: hits.clone() });
    ARMED.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(point = point.name(), "failpoint armed");
    Armed { id, hits }
}

/// The fault armed for `point` on `path`, if one fires now (counted as a hit).
#[inline]
pub fn injected(point: Point, path: &Path) -> Option<Injected> {
    if ARMED.load(Ordering::Relaxed) == 0 {
        return None;
    }
    fire(point, path)
}

/// `Err` if a fault armed for `point` on `path` fires now.
#[inline]
pub fn check(point: Point, path: &Path) -> io::Result<()> {
    match injected(point, path) {
        None => Ok(()),
        Some(f) => Err(f.error),
    }
}

/// `Err` if a fault for `point` is armed anywhere under `root` (or for `root` itself),
/// without counting as a hit: a `syncfs` of the file system reports the write error of any
/// file on it, and the per-file fsync that follows must report it again.
#[inline]
pub fn check_under(point: Point, root: &Path) -> io::Result<()> {
    if ARMED.load(Ordering::Relaxed) == 0 {
        return Ok(());
    }
    let list = entries();
    match list.iter().find(|e| {
        e.point == point && e.fault.times != Some(0) && (e.path.starts_with(root) || root.starts_with(&e.path))
    }) {
        Some(e) => Err(io::Error::from_raw_os_error(e.fault.errno)),
        None => Ok(()),
    }
}

#[cold]
fn fire(point: Point, path: &Path) -> Option<Injected> {
    let mut list = entries();
    let e = list.iter_mut().find(|e| e.point == point && e.fault.times != Some(0) && path.starts_with(&e.path))?;
    if let Some(n) = e.fault.times.as_mut() {
        *n -= 1;
    }
    e.hits.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(point = point.name(), path = %path.display(), errno = e.fault.errno, "failpoint fired");
    Some(Injected { error: io::Error::from_raw_os_error(e.fault.errno), partial: e.fault.partial })
}

/// `write_all` with the `point` failpoint in front: an armed fault lets its partial bytes
/// through (a short write) and then fails.
pub fn write_all(point: Point, path: &Path, w: &mut impl Write, buf: &[u8]) -> io::Result<()> {
    if let Some(f) = injected(point, path) {
        let n = f.partial.unwrap_or(0).min(buf.len());
        w.write_all(&buf[..n])?;
        return Err(f.error);
    }
    w.write_all(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fire_by_path_prefix_and_count_down() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("t-0");
        let armed = arm(Point::AppendWrite, &part, Fault::enospc().times(2));
        assert!(check(Point::AppendWrite, &dir.path().join("t-00")).is_ok(), "component-wise prefix");
        assert!(check(Point::Fsync, &part).is_ok(), "other points are not armed");
        assert!(check_under(Point::AppendWrite, dir.path()).is_err(), "armed below the root");
        let e = check(Point::AppendWrite, &part.join("00000000000000000000.log")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert!(check(Point::AppendWrite, &part).is_err());
        assert!(check(Point::AppendWrite, &part).is_ok(), "fired its two times");
        assert!(check_under(Point::AppendWrite, dir.path()).is_ok());
        assert_eq!(armed.hits(), 2);
        let always = arm(Point::Fsync, &part, Fault::eio());
        for _ in 0..3 {
            assert_eq!(check(Point::Fsync, &part).unwrap_err().raw_os_error(), Some(libc::EIO));
        }
        drop(always);
        assert!(check(Point::Fsync, &part).is_ok(), "dropping disarms");
    }

    #[test]
    fn a_partial_write_lets_its_bytes_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let _armed = arm(Point::IndexWrite, &path, Fault::eio().after_bytes(3).once());
        let mut out = Vec::new();
        assert!(write_all(Point::IndexWrite, &path, &mut out, b"abcdef").is_err());
        assert_eq!(out, b"abc");
        write_all(Point::IndexWrite, &path, &mut out, b"gh").unwrap();
        assert_eq!(out, b"abcgh");
    }
}
