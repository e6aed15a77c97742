//! Retention: deleting the oldest segments by time or size (Kafka's rules).

use super::*;

impl Partition {
    /// Deletes the oldest segments that retention (time or size, Kafka's rules) allows,
    /// never the active one and never data at or above the high watermark. Returns how many
    /// segments were removed.
    pub fn enforce_retention(&self, now_ms: i64) -> usize {
        // A cleaning pass replaces segments: retention waits for the next round.
        let Some(_cleaning) = self.clean_lock.try_lock() else { return 0 };
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
            if let Err(e) = log.epochs.truncate_from_start(next) {
                tracing::warn!(topic = %self.topic, partition = self.index, "cannot rewrite the leader-epoch checkpoint (OffsetForLeaderEpoch may answer below the log start until the next change): {e}");
            }
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
}
