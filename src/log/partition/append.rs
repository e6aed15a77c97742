//! Appending a batch: placed under the state lock, written outside it, then published;
//! segment rolls; poisoning on a write failure.

use super::*;

impl Partition {
    /// A producer's batch, as the leader appends it (Kafka's `appendAsLeader`): exactly one
    /// batch, its header and CRC checked, then its records (framing, counts, timestamps, keys
    /// on compacted topics, walked in place or through a bounded decompressor, Kafka's
    /// LogValidator), then appended verbatim with broker-assigned offsets.
    pub fn append_as_leader(&self, records: Option<Bytes>) -> Result<AppendResult, AppendError> {
        let records = records.ok_or(AppendError::NoRecords)?;
        let mut batches = batch::split_batches(records)?;
        if batches.len() != 1 {
            return Err(AppendError::NotOneBatch);
        }
        let (header, bytes) = batches.pop().expect("exactly one batch");
        batch::validate_produced(&header)?;
        if header.is_transactional() {
            return Err(AppendError::Transactional);
        }
        let rules = self.record_rules();
        // Size first (Kafka's order): an oversized batch is refused without reading its records.
        if bytes.len() > rules.max_batch_bytes {
            return Err(AppendError::MessageTooLarge { size: bytes.len(), max: rules.max_batch_bytes });
        }
        let validated = validate::validate_records(&header, &bytes, &rules, now_ms())?;
        let (header, bytes) = if validated.header_needs_fix(&header, &rules) {
            // A wrong maxTimestamp is corrected, as Kafka does, in a copy (honest clients never
            // need this); the time index and retention read the header.
            let fixed = batch::with_create_time_max(&bytes, validated.max_timestamp);
            (BatchHeader::parse(&fixed)?, fixed)
        } else {
            (header, bytes)
        };
        self.append(header, bytes)
    }

    /// Validated batch from a producer -> assigned offsets. Retries of an idempotent batch
    /// are answered with the original offsets and not written again.
    pub fn append(&self, header: BatchHeader, bytes: Bytes) -> Result<AppendResult, AppendError> {
        let now = now_ms();
        let _one_at_a_time = self.append_lock.lock();
        let (prepared, file, pos, append_time) = {
            let mut log = self.log.lock();
            if let Some(reason) = &log.poisoned {
                return Err(AppendError::Storage(reason.clone()));
            }
            if bytes.len() > log.config.max_message_bytes {
                return Err(AppendError::MessageTooLarge { size: bytes.len(), max: log.config.max_message_bytes });
            }
            if header.has_producer_id() {
                if let SequenceCheck::Duplicate(meta) = log.producers.check(&header)? {
                    return Ok(AppendResult {
                        base_offset: meta.first_offset,
                        log_append_time: if log.config.log_append_time { meta.timestamp } else { -1 },
                        log_start_offset: log.log_start_offset,
                        duplicate: true,
                    });
                }
            }
            let epoch = self.leader_epoch();
            if log.epochs.latest_epoch() != Some(epoch) {
                // The first batch of a new leader epoch: the cache records where it starts.
                // Only after a leader change (replication); a single node's epoch is recorded
                // when the partition opens, so this fsync is not on its append path.
                let leo = log.log_end_offset;
                if let Err(e) = log.epochs.assign(epoch, leo) {
                    return Err(AppendError::Storage(self.poison(&mut log, StorageOp::Checkpoint, e)));
                }
            }
            let prepared = self.prepare(&log, header, bytes, epoch, now);
            let (seg_bytes, seg_ms) = (log.config.segment_bytes, log.config.segment_ms);
            let h = &prepared.header;
            if log.active().should_roll(prepared.bytes.len() as u64, h.last_offset(), seg_bytes, seg_ms, now) {
                if let Err(e) = self.roll(&mut log, now) {
                    return Err(AppendError::Storage(self.poison(&mut log, StorageOp::Roll, e)));
                }
            }
            let append_time = log.config.log_append_time.then_some(now);
            let active = log.active_mut();
            let pos = active.begin_append(prepared.bytes.len() as u64);
            (prepared, active.file(), pos, append_time)
        };
        // The write, outside the state lock: only this partition's appends wait for it.
        self.write_began.store(monotonic_us().max(1), Ordering::Relaxed);
        #[cfg(test)]
        drop(self.write_gate.lock());
        let written = segment::write_batch(&file, &prepared, pos, &self.dir);
        self.write_began.store(0, Ordering::Relaxed);
        let mut log = self.log.lock();
        if let Some(reason) = &log.poisoned {
            // A failed fsync poisoned the partition while this batch was being written: it
            // is not published (nor left for recovery to find).
            let _ = file.set_len(pos);
            return Err(AppendError::Storage(reason.clone()));
        }
        let h = prepared.header;
        if let Err(e) = written.and_then(|()| log.active_mut().finish_append(&h, pos, prepared.bytes.len() as u64)) {
            return Err(AppendError::Storage(self.poison(&mut log, StorageOp::Append, e)));
        }
        log.producers.record(&h);
        log.log_end_offset = h.next_offset();
        if !self.sync_mode {
            log.high_watermark = log.log_end_offset;
            let active = log.active();
            log.hw_position = (active.base_offset, active.size());
            self.hw_tx.send_replace(log.high_watermark);
        }
        self.dirty.store(true, Ordering::Release);
        Ok(AppendResult {
            base_offset: h.base_offset,
            log_append_time: append_time.unwrap_or(-1),
            log_start_offset: log.log_start_offset,
            duplicate: false,
        })
    }

    /// Whether an append has been writing for longer than `limit`: the page cache is holding
    /// it (writeback owns the page it needs), and the next append here would wait as long.
    pub fn write_stalled(&self, limit: std::time::Duration) -> bool {
        let began = self.write_began.load(Ordering::Relaxed);
        began != 0 && monotonic_us().saturating_sub(began) > limit.as_micros() as u64
    }

    /// Stops this partition's appends just before they write, until the guard is dropped.
    #[cfg(test)]
    pub(crate) fn hold_writes(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.write_gate.lock()
    }

    /// The batch as stored: broker-assigned offsets and leader epoch (and the append time, if
    /// the topic uses it) patched into its header.
    fn prepare(&self, log: &PartitionLog, header: BatchHeader, bytes: Bytes, epoch: i32, now: i64) -> PreparedBatch {
        let base = log.log_end_offset;
        let mut h = header;
        h.base_offset = base;
        h.partition_leader_epoch = epoch;
        let bytes = if log.config.log_append_time {
            h.max_timestamp = now;
            h.attributes |= batch::ATTR_TIMESTAMP_TYPE;
            batch::with_log_append_time(&bytes, now)
        } else {
            bytes
        };
        PreparedBatch { header: h, prefix: batch::patched_prefix(&bytes, base, epoch), bytes }
    }

    pub(super) fn poison(&self, log: &mut PartitionLog, op: StorageOp, e: io::Error) -> StorageError {
        let error = StorageError::new(op, Some(&self.dir), &e);
        tracing::error!(topic = %self.topic, partition = self.index, disk_full = error.is_disk_full(), "{error}; partition refuses further writes");
        log.poisoned = Some(error.clone());
        error
    }

    /// Starts a new active segment at the log end. Only a failure to create it (or to make
    /// its directory entry durable) fails the roll, and leaves the old segment active and
    /// whole; sealing the old one and the producer snapshot write derived data (indexes are
    /// rebuilt at recovery, producer state is replayed from an older snapshot or the log), so
    /// their failures are logged and the roll goes on.
    fn roll(&self, log: &mut PartitionLog, now: i64) -> io::Result<()> {
        let leo = log.log_end_offset;
        let interval = log.config.index_interval;
        let active = log.active_mut();
        if let Err(e) = active.seal() {
            tracing::warn!(topic = %self.topic, partition = self.index, base = active.base_offset, "cannot seal the rolled segment (its indexes are rebuilt at startup if need be): {e}");
        }
        let old = active.file();
        let seg = Segment::create(&self.dir, leo, interval, now)?;
        faults::check(Point::RollCreate, &self.dir).and_then(|()| sync_dir(&self.dir))?;
        log.unflushed.push(old);
        log.segments.insert(leo, seg);
        let snapshot = log.producers.to_snapshot(leo);
        match write_atomic_failpoint(Point::SnapshotWrite, &snapshot_path(&self.dir, leo), &snapshot) {
            Ok(()) => {
                // Keep the two newest snapshots.
                for off in list_by_ext(&self.dir, "snapshot").unwrap_or_default().iter().rev().skip(2) {
                    let _ = std::fs::remove_file(snapshot_path(&self.dir, *off));
                }
            }
            Err(e) => {
                tracing::warn!(topic = %self.topic, partition = self.index, base = leo, "cannot write a producer snapshot (startup replays more of the log instead): {e}");
            }
        }
        tracing::debug!(topic = %self.topic, partition = self.index, base = leo, "rolled segment");
        Ok(())
    }
}
