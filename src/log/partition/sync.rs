//! Durability: the two-phase flush (ticket, fdatasync or syncfs, finish) the group-commit
//! thread drives, and the clean close.

use super::*;

/// A flush between [`Partition::begin_flush`] and [`Partition::finish_flush`]: holds the
/// partition's flush turn, so flushes of one partition complete in order.
pub struct FlushTicket<'a> {
    _serial: parking_lot::MutexGuard<'a, ()>,
    /// Files whose data must be durable (rolled segments, and the active one if asked).
    pub files: Vec<Arc<File>>,
    target: RecoveryPoint,
    active_too: bool,
}

impl Partition {
    /// Fsyncs everything written so far (blocking; call from a blocking thread). Advances the
    /// recovery point and, in `sync` durability, the high watermark.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.flush_inner(true)
    }

    /// Fsyncs only rolled segments (the `os` durability mode's background duty).
    pub fn flush_rolled(&self) -> Result<(), StorageError> {
        self.flush_inner(false)
    }

    fn flush_inner(&self, active_too: bool) -> Result<(), StorageError> {
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
    pub fn begin_flush(&self, active_too: bool) -> Result<FlushTicket<'_>, StorageError> {
        let serial = self.flush_lock.lock();
        let mut log = self.log.lock();
        if let Some(reason) = &log.poisoned {
            return Err(reason.clone());
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
    pub fn finish_flush(&self, ticket: FlushTicket<'_>, synced: io::Result<()>) -> Result<(), StorageError> {
        let mut log = self.log.lock();
        if let Err(e) = synced {
            return Err(self.poison(&mut log, StorageOp::Fsync, e));
        }
        let target = ticket.target;
        if target.offset >= log.recovery_point.offset {
            log.recovery_point = target;
        }
        if self.sync_mode && ticket.active_too && target.offset > log.high_watermark {
            log.high_watermark = target.offset;
            log.hw_position = (target.segment, target.position);
            log.producers.on_high_watermark(target.offset);
            self.hw_tx.send_replace(log.high_watermark);
        }
        Ok(())
    }
}

impl Partition {
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
}
