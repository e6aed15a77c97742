//! Per-partition log settings (derived from a topic's configs and the broker defaults).

use super::validate::RecordRules;

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
    /// Compaction (`cleanup.policy` includes `compact`): how long a tombstone the cleaner has
    /// seen stays readable (`delete.retention.ms`).
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`: the dirty share of the log that makes it worth cleaning.
    pub min_cleanable_ratio: f64,
    /// `min.compaction.lag.ms`: records younger than this are not compacted.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: dirty records older than this are compacted whatever the
    /// dirty ratio (the active segment also rolls by then).
    pub max_compaction_lag_ms: i64,
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
            delete_retention_ms: 86_400_000,
            min_cleanable_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
        }
    }
}
