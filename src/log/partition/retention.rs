//! Retention: deleting the oldest segments by time or size (Kafka's rules), and moving the
//! log start offset forward on request (DeleteRecords).

use super::*;

impl Partition {
    /// Deletes the oldest segments that retention (time or size, Kafka's rules) allows, and
    /// those wholly below the log start (a DeleteRecords, whatever the policy, as Kafka's
    /// `deleteLogStartOffsetBreachedSegments`); never the active one and never data at or
    /// above the high watermark. Returns how many segments were removed.
    pub fn enforce_retention(&self, now_ms: i64) -> usize {
        // A cleaning pass replaces segments: retention waits for the next round.
        let Some(_cleaning) = self.clean_lock.try_lock() else { return 0 };
        let mut log = self.log.lock();
        let lso_before = log.last_stable_offset();
        let cfg = log.config.clone();
        let mut total: u64 = log.segments.values().map(|s| s.size()).sum();
        let mut removed = 0;
        while log.segments.len() > 1 {
            let mut it = log.segments.values();
            let (Some(first), Some(second)) = (it.next(), it.next()) else { break };
            if second.base_offset > log.high_watermark {
                break;
            }
            let by_start = second.base_offset <= log.log_start_offset;
            let by_time = cfg.delete_retention
                && cfg.retention_ms >= 0
                && first.max_timestamp() >= 0
                && now_ms - first.max_timestamp() > cfg.retention_ms;
            let by_size =
                cfg.delete_retention && cfg.retention_bytes >= 0 && total - first.size() >= cfg.retention_bytes as u64;
            if !(by_start || by_time || by_size) {
                break;
            }
            let base = first.base_offset;
            total -= first.size();
            self.drop_first_segment(&mut log);
            removed += 1;
            tracing::info!(topic = %self.topic, partition = self.index, base, log_start = log.log_start_offset, by_start, by_time, by_size, "retention deleted a segment");
        }
        if removed > 0 {
            self.remove_stale_snapshots(&log);
            self.log_start_moved(&mut log, lso_before);
        }
        removed
    }

    /// DeleteRecords (Kafka's `deleteRecordsOnLeader`): moves the log start offset up to
    /// `offset` (-1: the high watermark) and deletes the segments wholly below it. Returns the
    /// new log start (the low watermark). The caller persists it (the log-start checkpoint).
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, DeleteRecordsError> {
        // A cleaning pass (compact,delete topics) replaces segments: the segments below the
        // new start are then left to the next retention round, which deletes them.
        let cleaning = self.clean_lock.try_lock();
        let mut log = self.log.lock();
        if !log.config.delete_retention {
            return Err(DeleteRecordsError::PolicyViolation);
        }
        let target = if offset == -1 { log.high_watermark } else { offset };
        if target < 0 || target > log.high_watermark {
            return Err(DeleteRecordsError::OffsetOutOfRange { offset: target, high_watermark: log.high_watermark });
        }
        if target <= log.log_start_offset {
            return Ok(log.log_start_offset);
        }
        let lso_before = log.last_stable_offset();
        log.log_start_offset = target;
        let mut removed = 0;
        while cleaning.is_some() && log.segments.len() > 1 {
            let second = log.segments.values().nth(1).map(|s| s.base_offset);
            if second.is_none_or(|b| b > target) {
                break;
            }
            self.drop_first_segment(&mut log);
            removed += 1;
        }
        if let Err(e) = log.epochs.truncate_from_start(target) {
            tracing::warn!(topic = %self.topic, partition = self.index, "cannot rewrite the leader-epoch checkpoint: {e}");
        }
        if removed > 0 {
            self.remove_stale_snapshots(&log);
        }
        self.log_start_moved(&mut log, lso_before);
        tracing::info!(topic = %self.topic, partition = self.index, log_start = target, segments_deleted = removed, "records deleted");
        Ok(target)
    }

    /// At startup: the log start a DeleteRecords moved inside the first segment (from the
    /// log-start checkpoint), never past the log end.
    pub fn restore_log_start(&self, offset: i64) {
        let mut log = self.log.lock();
        if offset > log.log_start_offset && offset <= log.log_end_offset {
            log.log_start_offset = offset;
        }
    }

    /// The log start, if a DeleteRecords moved it inside the first segment (what the
    /// log-start checkpoint must remember: otherwise a restart starts at the segment's base).
    pub fn log_start_inside_segment(&self) -> Option<i64> {
        let log = self.log.lock();
        let first = log.segments.keys().next().copied()?;
        (log.log_start_offset > first).then_some(log.log_start_offset)
    }

    /// Deletes the first (oldest, never the active) segment; the log start moves to the next
    /// segment's base unless it is already past it.
    fn drop_first_segment(&self, log: &mut PartitionLog) {
        let mut it = log.segments.keys();
        let (Some(&base), Some(&next)) = (it.next(), it.next()) else { return };
        let Some(seg) = log.segments.remove(&base) else { return };
        seg.delete_files();
        if next > log.log_start_offset {
            log.log_start_offset = next;
            if let Err(e) = log.epochs.truncate_from_start(next) {
                tracing::warn!(topic = %self.topic, partition = self.index, "cannot rewrite the leader-epoch checkpoint (OffsetForLeaderEpoch may answer below the log start until the next change): {e}");
            }
        }
        if log.recovery_point.segment == base {
            log.recovery_point = RecoveryPoint { offset: next, segment: next, position: 0 };
        }
    }

    /// After the log start moved: decided transactions below it are forgotten (Kafka's
    /// `onLogStartOffsetIncremented`), and if that moved the last stable offset (it never
    /// stays below the log start), long-polling read_committed fetches are woken.
    fn log_start_moved(&self, log: &mut PartitionLog, lso_before: i64) {
        let start = log.log_start_offset;
        log.producers.on_high_watermark(start);
        if log.last_stable_offset() != lso_before {
            self.hw_tx.send_replace(log.high_watermark);
        }
    }

    /// Producer snapshots below the first segment can never be used again.
    fn remove_stale_snapshots(&self, log: &PartitionLog) {
        let first = log.segments.keys().next().copied().unwrap_or(0);
        if let Ok(snaps) = list_by_ext(&self.dir, "snapshot") {
            for off in snaps.into_iter().filter(|o| *o < first) {
                let _ = std::fs::remove_file(snapshot_path(&self.dir, off));
            }
        }
    }
}
