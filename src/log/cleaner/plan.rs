//! Which part of a log a cleaning pass covers, and whether it is worth one (Kafka's
//! `LogCleanerManager.cleanableOffsets`, `LogToClean` and `Cleaner.groupSegmentsBySize`).

use crate::log::partition::clean::{CleanerView, SegmentInfo};

/// The dirty range of a log and how dirty it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The first offset not yet cleaned (the checkpoint, or the log start).
    pub first_dirty: i64,
    /// The checkpoint was out of the log (before its start or past its end) and was reset.
    pub reset_checkpoint: bool,
    /// Cleaning stops before this offset: the base of the first segment it may not touch
    /// (the active one, the one holding the last stable offset (so the high watermark and
    /// every undecided transaction are beyond it), or the first one with a record younger
    /// than min.compaction.lag.ms).
    pub first_uncleanable: i64,
    /// Bytes of the segments wholly before the first dirty offset.
    pub clean_bytes: u64,
    /// Bytes of the segments from the first dirty offset to the first uncleanable one.
    pub cleanable_bytes: u64,
    /// A dirty record is older than max.compaction.lag.ms: clean whatever the ratio.
    pub must_clean: bool,
}

impl Plan {
    /// cleanable / (clean + cleanable).
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.cleanable_bytes;
        if total == 0 {
            0.0
        } else {
            self.cleanable_bytes as f64 / total as f64
        }
    }

    /// Kafka's test: past max.compaction.lag.ms with something to clean, or dirtier than
    /// min.cleanable.dirty.ratio.
    pub fn should_clean(&self, min_ratio: f64) -> bool {
        (self.must_clean && self.cleanable_bytes > 0) || self.dirty_ratio() > min_ratio
    }
}

/// The segment holding `offset`, or the first after it.
fn segment_at(segments: &[SegmentInfo], offset: i64) -> Option<&SegmentInfo> {
    segments.iter().find(|s| s.next_offset > offset)
}

/// The plan of a pass on `view`, given the cleaner's checkpoint (`-1`: none); `None` for a log
/// with nothing but its active segment.
pub fn plan(view: &CleanerView, checkpoint: i64, now_ms: i64) -> Option<Plan> {
    if view.segments.is_empty() {
        return None;
    }
    let (first_dirty, reset_checkpoint) = if checkpoint < view.log_start || checkpoint > view.log_end {
        (view.log_start, checkpoint >= 0)
    } else {
        (checkpoint, false)
    };
    let cfg = &view.config;
    // Kafka's firstUncleanableDirtyOffset: the active segment, the first unstable offset, the
    // high watermark (the last stable offset is the smaller of the two).
    let mut bound = view.active_base.min(view.high_watermark).min(view.last_stable);
    if cfg.min_compaction_lag_ms > 0 {
        let young = view
            .segments
            .iter()
            .filter(|s| s.next_offset > first_dirty)
            .find(|s| s.max_timestamp > now_ms.saturating_sub(cfg.min_compaction_lag_ms));
        if let Some(s) = young {
            bound = bound.min(s.base);
        }
    }
    // Segment-aligned: a segment is cleaned whole or not at all.
    let first_uncleanable = segment_at(&view.segments, bound).map_or(view.active_base, |s| s.base).max(first_dirty);
    let clean_bytes = view.segments.iter().filter(|s| s.next_offset <= first_dirty).map(|s| s.size).sum();
    let cleanable_bytes = view
        .segments
        .iter()
        .filter(|s| s.next_offset > first_dirty && s.base < first_uncleanable)
        .map(|s| s.size)
        .sum();
    // Kafka's maxCompactionDelay: the earliest first-batch timestamp of a dirty segment.
    let earliest = view
        .segments
        .iter()
        .filter(|s| s.next_offset > first_dirty && s.first_batch_timestamp > 0)
        .map(|s| s.first_batch_timestamp)
        .min();
    let must_clean = earliest.is_some_and(|t| t < now_ms.saturating_sub(cfg.max_compaction_lag_ms.max(0)));
    Some(Plan { first_dirty, reset_checkpoint, first_uncleanable, clean_bytes, cleanable_bytes, must_clean })
}

/// Consecutive segments grouped so each group's cleaned segment stays within `max_bytes`
/// (its segments' total size; a single larger segment is a group of its own) and within the
/// 2^31 offsets a segment's relative offsets allow.
pub fn group_by_size(segments: &[SegmentInfo], max_bytes: u64) -> Vec<&[SegmentInfo]> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < segments.len() {
        let mut end = start + 1;
        let mut size = segments[start].size;
        while end < segments.len()
            && size + segments[end].size <= max_bytes
            && segments[end].next_offset - 1 - segments[start].base <= i32::MAX as i64
        {
            size += segments[end].size;
            end += 1;
        }
        groups.push(&segments[start..end]);
        start = end;
    }
    groups
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::log::LogConfig;

    fn seg(base: i64, next: i64, size: u64, ts: i64) -> SegmentInfo {
        let file = Arc::new(tempfile::tempfile().unwrap());
        SegmentInfo { base, next_offset: next, size, max_timestamp: ts, first_batch_timestamp: ts, file }
    }

    fn view(segments: Vec<SegmentInfo>, config: LogConfig) -> CleanerView {
        let active_base = segments.last().map_or(0, |s| s.next_offset);
        CleanerView {
            config,
            log_start: segments.first().map_or(0, |s| s.base),
            log_end: active_base + 5,
            high_watermark: active_base + 5,
            last_stable: active_base + 5,
            active_base,
            segments,
            producer_last_records: HashMap::new(),
            aborted: Vec::new(),
        }
    }

    #[test]
    fn the_dirty_ratio_counts_segments_before_and_after_the_checkpoint() {
        let v = view(vec![seg(0, 10, 100, 1), seg(10, 20, 100, 1), seg(20, 30, 200, 1)], LogConfig::for_tests(1000));
        let fresh = plan(&v, -1, 10).unwrap();
        assert_eq!((fresh.first_dirty, fresh.first_uncleanable, fresh.dirty_ratio()), (0, 30, 1.0));
        let after = plan(&v, 20, 10).unwrap();
        assert_eq!((after.clean_bytes, after.cleanable_bytes), (200, 200));
        assert!(!after.should_clean(0.5) && after.should_clean(0.4));
        let bad = plan(&v, 99, 10).unwrap();
        assert!(bad.reset_checkpoint && bad.first_dirty == 0);
    }

    #[test]
    fn min_lag_stops_at_the_first_young_segment_and_max_lag_forces_a_clean() {
        let cfg = LogConfig { min_compaction_lag_ms: 100, ..LogConfig::for_tests(1000) };
        let v = view(vec![seg(0, 10, 100, 1_000), seg(10, 20, 100, 1_950), seg(20, 30, 100, 1_000)], cfg);
        let p = plan(&v, -1, 2_000).unwrap();
        assert_eq!((p.first_uncleanable, p.cleanable_bytes), (10, 100));
        let p = plan(&v, -1, 2_100).unwrap();
        assert_eq!(p.first_uncleanable, 30);
        let cfg = LogConfig { max_compaction_lag_ms: 500, ..LogConfig::for_tests(1000) };
        let v = view(vec![seg(0, 10, 100, 1_000), seg(10, 20, 100, 1_000)], cfg);
        let p = plan(&v, 10, 1_400).unwrap();
        assert!(!p.must_clean && !p.should_clean(0.5));
        let p = plan(&v, 10, 1_600).unwrap();
        assert!(p.must_clean && p.should_clean(0.99));
    }

    #[test]
    fn groups_stay_within_the_segment_size() {
        let segs =
            vec![seg(0, 10, 60, 1), seg(10, 20, 30, 1), seg(20, 30, 20, 1), seg(30, 40, 200, 1), seg(40, 50, 5, 1)];
        let sizes: Vec<Vec<i64>> =
            group_by_size(&segs, 100).iter().map(|g| g.iter().map(|s| s.base).collect()).collect();
        assert_eq!(sizes, vec![vec![0, 10], vec![20], vec![30], vec![40]]);
    }
}
