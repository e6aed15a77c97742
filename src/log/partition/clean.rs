//! What the log cleaner needs from a partition: a view of its segments taken under the state
//! lock (the cleaner then reads and writes outside it), the swap of a cleaned segment into
//! the segment map, and the crash-safe file steps around it (Kafka's `replaceSegments`).
//!
//! On disk a cleaned segment goes `<base>.log.cleaned` (written, fsynced) → `<base>.log.swap`
//! (renamed, directory fsynced) → the segments it replaces deleted → `<base>.log`. Recovery
//! deletes `.cleaned` files and completes a `.swap` (see `recovery.rs`), so a crash at any
//! step leaves either the old segments or the cleaned one, never both nor neither.

use std::collections::HashMap;

use super::*;
use crate::log::segment::rename_segment_files;
use crate::producer::state::LastRecord;

/// Suffix of a cleaned segment's files while it is written.
pub const CLEANED_SUFFIX: &str = ".cleaned";
/// Suffix of a cleaned segment's files once complete, until the segments it replaces are gone.
pub const SWAP_SUFFIX: &str = ".swap";

/// One rolled segment as the cleaner sees it.
#[derive(Clone)]
pub struct SegmentInfo {
    pub base: i64,
    pub next_offset: i64,
    pub size: u64,
    pub max_timestamp: i64,
    /// The first batch's timestamp (what max.compaction.lag.ms counts from).
    pub first_batch_timestamp: i64,
    pub file: Arc<File>,
}

/// A partition's state as the cleaner plans a pass on it.
pub struct CleanerView {
    pub config: LogConfig,
    pub log_start: i64,
    pub log_end: i64,
    pub high_watermark: i64,
    /// The last stable offset: cleaning never reaches an undecided transaction.
    pub last_stable: i64,
    pub active_base: i64,
    /// Every segment before the active one, in offset order.
    pub segments: Vec<SegmentInfo>,
    /// Each producer's last data offset (the batch ending there keeps its place, as an empty
    /// batch if need be, so its sequence survives cleaning), or, when its last entry is a
    /// marker, its epoch (the marker of that epoch stays, for fencing): Kafka's
    /// `lastRecordsOfActiveProducers`.
    pub producer_last_records: HashMap<i64, LastRecord>,
    /// Every aborted transaction in the log's indexes (the active segment's included), in
    /// marker order.
    pub aborted: Vec<AbortedTxn>,
}

/// Where [`Partition::install_cleaned`] stops, to leave the files as a crash there would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashAt {
    /// `.cleaned` files written and fsynced.
    Cleaned,
    /// Renamed to `.swap` (and the map swapped in memory).
    Swapped,
    /// The first replaced segment's files deleted.
    OneOldDeleted,
    /// Every replaced segment's files deleted, the `.swap` not yet renamed.
    OldDeleted,
}

impl Partition {
    /// Held for a whole cleaning pass of this partition (`None` while another pass holds
    /// it); retention skips a round while it is held.
    pub fn try_clean_lock(&self) -> Option<parking_lot::MutexGuard<'_, ()>> {
        self.clean_lock.try_lock()
    }

    /// The first offset the cleaner has not cleaned (its checkpoint), or -1 if unknown.
    pub fn first_dirty_offset(&self) -> i64 {
        self.first_dirty.load(Ordering::Acquire)
    }

    pub fn set_first_dirty_offset(&self, offset: i64) {
        self.first_dirty.store(offset, Ordering::Release);
    }

    /// Whether a failed pass made the cleaner leave this log alone (until restart).
    pub fn is_uncleanable(&self) -> bool {
        self.uncleanable.load(Ordering::Relaxed)
    }

    pub fn mark_uncleanable(&self) {
        self.uncleanable.store(true, Ordering::Relaxed);
    }

    pub fn cleaner_view(&self) -> CleanerView {
        let log = self.log.lock();
        let active_base = log.active().base_offset;
        let segments = log
            .segments
            .values()
            .filter(|s| s.base_offset != active_base)
            .map(|s| SegmentInfo {
                base: s.base_offset,
                next_offset: s.next_offset(),
                size: s.size(),
                max_timestamp: s.max_timestamp(),
                first_batch_timestamp: s.roll_base_ms(),
                file: s.file(),
            })
            .collect();
        CleanerView {
            config: log.config.clone(),
            log_start: log.log_start_offset,
            log_end: log.log_end_offset,
            high_watermark: log.high_watermark,
            last_stable: log.last_stable_offset(),
            active_base,
            segments,
            producer_last_records: log.producers.last_records(),
            aborted: log.segments.values().flat_map(|s| s.txn_index().entries().iter().copied()).collect(),
        }
    }

    /// Swaps `cleaned` (its files complete under the `.cleaned` suffix) in for the segments
    /// `replaced` (which must still be in the map, unchanged), then replaces them on disk:
    /// rename to `.swap`, swap the map (under the state lock, nothing else), delete the old
    /// files, drop the suffix. Readers holding an old segment's file keep reading it. `crash`
    /// (tests) stops at a step, leaving the files as a crash there would.
    ///
    /// Returns false, with the cleaned files removed, if the segments changed meanwhile.
    pub fn install_cleaned(
        &self,
        replaced: &[SegmentInfo],
        mut cleaned: Segment,
        crash: Option<CrashAt>,
    ) -> io::Result<bool> {
        if crash == Some(CrashAt::Cleaned) {
            return Ok(true);
        }
        let swapped = faults::check(Point::CleanerSwap, &self.dir)
            .and_then(|()| cleaned.rename_files(CLEANED_SUFFIX, SWAP_SUFFIX))
            .and_then(|()| sync_dir(&self.dir));
        if let Err(e) = swapped {
            cleaned.delete_files();
            return Err(e);
        }
        let base = cleaned.base_offset;
        let end = cleaned.next_offset();
        let old: Vec<Segment> = {
            let mut log = self.log.lock();
            let unchanged = replaced.iter().all(|r| {
                log.segments.get(&r.base).is_some_and(|s| Arc::ptr_eq(&s.file(), &r.file) && s.size() == r.size)
            });
            if !unchanged || log.active().base_offset < end {
                drop(log);
                cleaned.delete_files();
                return Ok(false);
            }
            let old: Vec<Segment> = replaced.iter().filter_map(|r| log.segments.remove(&r.base)).collect();
            // The cleaner stops before the first unstable offset, so no open transaction starts
            // in these segments; should one, its known position is dropped, not trusted.
            let bases: Vec<i64> = replaced.iter().map(|r| r.base).collect();
            log.producers.retain_positions(|_, (seg, _)| !bases.contains(&seg));
            if replaced.iter().any(|r| r.base == log.hw_position.0) {
                log.hw_position = (base, cleaned.size());
            }
            if replaced.iter().any(|r| r.base == log.recovery_point.segment) {
                // Everything before `end` is in the cleaned segment, which is fsynced.
                log.recovery_point = RecoveryPoint { offset: end, segment: end, position: 0 };
            }
            log.segments.insert(base, cleaned);
            old
        };
        if crash == Some(CrashAt::Swapped) {
            return Ok(true);
        }
        for (i, seg) in old.iter().enumerate() {
            seg.delete_files();
            if i == 0 && crash == Some(CrashAt::OneOldDeleted) {
                return Ok(true);
            }
        }
        sync_dir(&self.dir)?;
        if crash == Some(CrashAt::OldDeleted) {
            return Ok(true);
        }
        rename_segment_files(&self.dir, base, SWAP_SUFFIX, "")?;
        sync_dir(&self.dir)?;
        if let Some(seg) = self.log.lock().segments.get_mut(&base) {
            seg.set_suffix(&self.dir, "");
        }
        Ok(true)
    }
}

/// Finishes or rolls back a cleaner swap a crash interrupted (Kafka's log loader): `.cleaned`
/// files are deleted; a `.swap` segment is complete, so the segments it replaces (those
/// starting within its offset range) are deleted and it takes its final name.
pub(super) fn finish_interrupted_swaps(dir: &Path) -> io::Result<()> {
    let mut swaps = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if name.ends_with(CLEANED_SUFFIX) {
            std::fs::remove_file(&path)?;
        } else if let Some(stem) = name.strip_suffix(&format!(".log{SWAP_SUFFIX}")) {
            if let Ok(base) = stem.parse::<i64>() {
                swaps.push(base);
            }
        }
    }
    let mut changed = false;
    for base in swaps {
        let swap = segment::segment_path(dir, base, "log", SWAP_SUFFIX);
        let file = File::open(&swap)?;
        let size = file.metadata()?.len();
        let (mut pos, mut end) = (0u64, base);
        while let Some(h) = read_header_at(&file, pos, size)? {
            if h.total_len() < batch::HEADER_LEN || pos + h.total_len() as u64 > size || h.base_offset < end {
                break;
            }
            end = h.next_offset();
            pos += h.total_len() as u64;
        }
        for old in list_by_ext(dir, "log")?.into_iter().filter(|b| (base..end.max(base + 1)).contains(b)) {
            for ext in segment::SEGMENT_EXTS {
                let _ = std::fs::remove_file(segment::segment_path(dir, old, ext, ""));
            }
        }
        sync_dir(dir)?;
        rename_segment_files(dir, base, SWAP_SUFFIX, "")?;
        tracing::info!(dir = %dir.display(), base, end, "completed a cleaned segment's swap a crash interrupted");
        changed = true;
    }
    // Index files of a swap whose `.log` was already renamed.
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(SWAP_SUFFIX)) {
            std::fs::remove_file(&path)?;
            changed = true;
        }
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(())
}
