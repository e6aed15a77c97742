//! The log cleaner (Kafka's `LogCleaner`): compaction of `cleanup.policy=compact` logs,
//! keeping the latest record of each key. A pass on a partition plans (`plan.rs`: what is
//! dirty, whether it is dirty enough), maps the dirty keys to their latest offsets in a
//! bounded map (`offset_map.rs`), then rewrites every segment before the end of what the map
//! covers, in groups of up to `segment.bytes`, dropping what the map supersedes (`filter.rs`)
//! and swapping each group's cleaned segment in crash-safely (`partition/clean.rs`). All
//! reads and writes happen outside the partition's state lock; produce and fetch go on.

pub mod filter;
pub mod md5;
pub mod offset_map;
pub mod plan;
#[cfg(test)]
mod tests;
pub mod txn;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::log::batch::{self, BatchHeader, MarkerError};
use crate::log::partition::clean::{CleanerView, CrashAt, SegmentInfo, CLEANED_SUFFIX};
use crate::log::records::RecordsError;
use crate::log::segment::{read_bytes_at, read_header_at, Segment};
use crate::log::Partition;
use filter::{Filter, Outcome};
use offset_map::OffsetMap;
use txn::CleanedTxns;

/// A cleaner thread's settings.
#[derive(Debug, Clone, Copy)]
pub struct CleanerConfig {
    /// Memory of this cleaner's key map (`log.cleaner.dedupe.buffer.size` / threads).
    pub dedupe_bytes: u64,
    /// `log.cleaner.io.max.bytes.per.second`.
    pub io_max_bytes_per_second: f64,
}

/// What one pass on a partition did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CleanStats {
    /// The first offset left dirty (the new checkpoint).
    pub end_offset: i64,
    pub segments_before: usize,
    pub segments_after: usize,
    pub records_read: u64,
    pub records_kept: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub map_keys: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error("cleaning stopped")]
    Stopped,
}

/// Limits the bytes a cleaner reads and writes per second (Kafka's `Throttler`).
struct Throttle {
    rate: f64,
    start: Instant,
    bytes: f64,
}

impl Throttle {
    fn new(rate: f64) -> Self {
        Self { rate, start: Instant::now(), bytes: 0.0 }
    }
    fn account(&mut self, n: u64) {
        if !self.rate.is_finite() || self.rate >= f64::MAX / 2.0 {
            return;
        }
        self.bytes += n as f64;
        let due = Duration::from_secs_f64(self.bytes / self.rate);
        let elapsed = self.start.elapsed();
        if due > elapsed {
            std::thread::sleep((due - elapsed).min(Duration::from_secs(1)));
        }
    }
}

/// One cleaning pass on `p`, if its configs say it needs one now (dirty ratio, compaction
/// lags). `stop` aborts it between batches (nothing replaced is lost: the cleaned files of
/// the group in progress are deleted). `None` when there was nothing to do.
pub fn clean_partition(
    p: &Partition,
    config: &CleanerConfig,
    now_ms: i64,
    stop: &AtomicBool,
) -> Result<Option<CleanStats>, CleanError> {
    clean_partition_until(p, config, now_ms, stop, None)
}

/// [`clean_partition`], stopping (as a crash would) at `crash` in the first group swapped.
pub fn clean_partition_until(
    p: &Partition,
    config: &CleanerConfig,
    now_ms: i64,
    stop: &AtomicBool,
    crash: Option<CrashAt>,
) -> Result<Option<CleanStats>, CleanError> {
    let Some(_one_pass) = p.try_clean_lock() else { return Ok(None) };
    let view = p.cleaner_view();
    if !view.config.compacted {
        return Ok(None);
    }
    let Some(plan) = plan::plan(&view, p.first_dirty_offset(), now_ms) else {
        return Ok(None);
    };
    if plan.reset_checkpoint {
        p.set_first_dirty_offset(plan.first_dirty);
    }
    if !plan.should_clean(view.config.min_cleanable_ratio) {
        return Ok(None);
    }
    let mut throttle = Throttle::new(config.io_max_bytes_per_second);
    let mut stats = CleanStats { segments_before: view.segments.len() + 1, ..Default::default() };
    let map = build_map(p, &view, plan.first_dirty, plan.first_uncleanable, config, stop, &mut throttle, &mut stats)?;
    let end_offset = map.latest_offset() + 1;
    if end_offset <= plan.first_dirty {
        return Ok(None);
    }
    stats.map_keys = map.len();
    let filter = Filter {
        map: &map,
        now_ms,
        delete_retention_ms: view.config.delete_retention_ms,
        max_uncompressed_bytes: view.config.max_uncompressed_bytes,
    };
    let in_range: Vec<SegmentInfo> = view.segments.iter().filter(|s| s.base < end_offset).cloned().collect();
    // One walk over every group, in offset order: transactions carry over between groups.
    let mut txns = CleanedTxns::new(&view.aborted, in_range.first().map_or(end_offset, |s| s.base));
    for group in plan::group_by_size(&in_range, view.config.segment_bytes) {
        let cleaned = clean_group(p, &view, group, &filter, &mut txns, stop, &mut throttle, &mut stats)?;
        stats.bytes_written += cleaned.size();
        if !p.install_cleaned(group, cleaned, crash)? {
            tracing::info!(topic = %p.topic, partition = p.index, "segments changed during cleaning; the pass stops here");
            return Ok(None);
        }
        if crash.is_some() {
            return Ok(Some(stats));
        }
    }
    p.set_first_dirty_offset(end_offset);
    stats.end_offset = end_offset;
    stats.segments_after = p.cleaner_view().segments.len() + 1;
    tracing::info!(
        topic = %p.topic,
        partition = p.index,
        end_offset,
        records_read = stats.records_read,
        records_kept = stats.records_kept,
        bytes_read = stats.bytes_read,
        bytes_written = stats.bytes_written,
        "cleaned the log"
    );
    Ok(Some(stats))
}

/// The marker of a control batch (`Err`: a control record that is no readable marker).
fn control_marker(h: &BatchHeader, bytes: &[u8], limit: u64) -> Result<Option<batch::EndTxnMarker>, ()> {
    match batch::end_txn_marker(h, bytes, limit) {
        Ok(m) => Ok(m),
        Err(MarkerError::NotAMarker(_) | MarkerError::Invalid(_)) => Err(()),
    }
}

/// Walks the batches of `seg` from position 0, calling `f` with each header and position.
fn walk_headers(
    seg: &SegmentInfo,
    stop: &AtomicBool,
    mut f: impl FnMut(&BatchHeader, u64) -> Result<bool, CleanError>,
) -> Result<(), CleanError> {
    let mut pos = 0;
    while let Some(h) = read_header_at(&seg.file, pos, seg.size)? {
        if stop.load(Ordering::Relaxed) {
            return Err(CleanError::Stopped);
        }
        if h.total_len() < crate::log::batch::HEADER_LEN || pos + h.total_len() as u64 > seg.size {
            return Err(RecordsError::Invalid(format!("batch at {pos} overruns its segment")).into());
        }
        if !f(&h, pos)? {
            break;
        }
        pos += h.total_len() as u64;
    }
    Ok(())
}

/// The key map of `[start, end)` (Kafka's `buildOffsetMap`): every key's latest offset, until
/// the map is full; its latest offset then says how far this pass cleans.
#[allow(clippy::too_many_arguments)]
fn build_map(
    p: &Partition,
    view: &CleanerView,
    start: i64,
    end: i64,
    config: &CleanerConfig,
    stop: &AtomicBool,
    throttle: &mut Throttle,
    stats: &mut CleanStats,
) -> Result<OffsetMap, CleanError> {
    let mut map = OffsetMap::sized(config.dedupe_bytes, (end - start).max(0) as u64);
    let limit = view.config.max_uncompressed_bytes;
    let dirty = view.segments.iter().filter(|s| s.next_offset > start && s.base < end);
    let mut full = false;
    // An aborted transaction's keys never supersede anything (Kafka skips its batches).
    let mut txns = CleanedTxns::new(&view.aborted, start);
    for seg in dirty {
        walk_headers(seg, stop, |h, pos| {
            if h.last_offset() < start {
                return Ok(true);
            }
            if h.is_control() {
                let bytes = read_bytes_at(&seg.file, pos, h.total_len())?;
                txns.on_control(h, control_marker(h, &bytes, limit));
                return Ok(true);
            }
            if txns.on_batch(h) {
                map.update_latest(h.last_offset());
                return Ok(true);
            }
            let bytes = read_bytes_at(&seg.file, pos, h.total_len())?;
            throttle.account(bytes.len() as u64);
            stats.bytes_read += bytes.len() as u64;
            let payload = filter::payload(h, &bytes, limit)?;
            for r in filter::records(h, &payload)? {
                if r.offset < start {
                    continue;
                }
                if let Some(key) = r.key {
                    if !map.has_room() {
                        full = true;
                        return Ok(false);
                    }
                    map.put(key, r.offset);
                }
            }
            map.update_latest(h.last_offset());
            Ok(true)
        })?;
        if full {
            tracing::debug!(topic = %p.topic, partition = p.index, keys = map.len(), latest = map.latest_offset(), "the key map is full: cleaning up to its latest offset");
            break;
        }
        // Offsets may have gaps: the map covers the segment to its end.
        map.update_latest(seg.next_offset.min(end) - 1);
    }
    Ok(map)
}

/// Cleans `group` into one new segment (files under the `.cleaned` suffix, fsynced).
#[allow(clippy::too_many_arguments)]
fn clean_group(
    p: &Partition,
    view: &CleanerView,
    group: &[SegmentInfo],
    filter: &Filter<'_>,
    txns: &mut CleanedTxns,
    stop: &AtomicBool,
    throttle: &mut Throttle,
    stats: &mut CleanStats,
) -> Result<Segment, CleanError> {
    let mut out = Segment::create_cleaned(p.dir(), group[0].base, view.config.index_interval, CLEANED_SUFFIX)?;
    let written = (|| {
        let last = group.len() - 1;
        for (i, seg) in group.iter().enumerate() {
            walk_headers(seg, stop, |h, pos| {
                let bytes = read_bytes_at(&seg.file, pos, h.total_len())?;
                throttle.account(bytes.len() as u64);
                // The group's last batch stays (empty if need be), so the cleaned segment ends
                // where the group did; a producer's last batch keeps its sequence.
                let group_end = i == last && pos + h.total_len() as u64 == seg.size;
                // Kafka's `isBatchLastRecordOfProducer`: the batch with an active producer's last
                // data offset, or, if its last entry is a marker, the marker of its epoch.
                let producer_last = h.has_producer_id()
                    && view.producer_last_records.get(&h.producer_id).is_some_and(|l| match l.last_data_offset {
                        Some(o) => h.last_offset() == o,
                        None => h.is_control() && h.producer_epoch == l.epoch,
                    });
                let (discardable, keep_abort) = if h.is_control() {
                    txns.on_control(h, control_marker(h, &bytes, view.config.max_uncompressed_bytes))
                } else {
                    (txns.on_batch(h), None)
                };
                let (outcome, (read, kept)) = filter.filter(h, &bytes, group_end || producer_last, discardable)?;
                stats.records_read += read;
                stats.records_kept += kept;
                if let Some(entry) = keep_abort {
                    out.push_cleaned_abort(entry);
                }
                // Written bytes count against log.cleaner.io.max.bytes.per.second as read
                // ones do (Kafka's cleanInto throttles both).
                match outcome {
                    Outcome::Drop => {}
                    Outcome::Verbatim => {
                        out.append_cleaned(h, &bytes)?;
                        throttle.account(bytes.len() as u64);
                    }
                    Outcome::Rewrite(new) => {
                        let nh = BatchHeader::parse(&new).map_err(|e| RecordsError::Invalid(e.to_string()))?;
                        out.append_cleaned(&nh, &new)?;
                        throttle.account(new.len() as u64);
                    }
                }
                Ok(true)
            })?;
            if stop.load(Ordering::Relaxed) {
                return Err(CleanError::Stopped);
            }
        }
        out.finish_cleaned()?;
        Ok(())
    })();
    match written {
        Ok(()) => Ok(out),
        Err(e) => {
            out.delete_files();
            Err(e)
        }
    }
}
