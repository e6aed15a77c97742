//! Appending a batch: placed under the state lock, written outside it, then published;
//! segment rolls; poisoning on a write failure.

use super::*;

impl Partition {
    /// A producer's batch, as the leader appends it (Kafka's `appendAsLeader`): exactly one
    /// batch, its header and CRC checked, then its records (framing, counts, timestamps, keys
    /// on compacted topics, walked in place or through a bounded decompressor, Kafka's
    /// LogValidator), then appended verbatim with broker-assigned offsets. A coordinator's
    /// batch (`origin`) may be a transaction marker; a client's may not.
    pub fn append_as_leader(&self, records: Option<Bytes>, origin: AppendOrigin) -> Result<AppendResult, AppendError> {
        let records = records.ok_or(AppendError::NoRecords)?;
        let mut batches = batch::split_batches(records)?;
        if batches.len() != 1 {
            return Err(AppendError::NotOneBatch);
        }
        let (header, bytes) = batches.pop().expect("exactly one batch");
        if origin == AppendOrigin::Coordinator && header.is_control() {
            return self.append_marker(header, bytes);
        }
        // Kafka's client-only header rules (counts, no control batch, a sequence for a
        // producer's batch); a coordinator's batches are built by the broker.
        if origin == AppendOrigin::Client {
            batch::validate_produced(&header)?;
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
        self.append_from(header, bytes, origin)
    }

    /// A transaction marker from the coordinator: a control batch of one commit or abort
    /// record, from a producer, with no sequence (as [`batch::control_batch`] builds it);
    /// written verbatim with a broker-assigned offset.
    fn append_marker(&self, header: BatchHeader, bytes: Bytes) -> Result<AppendResult, AppendError> {
        let invalid = |message: String| {
            AppendError::Invalid(ValidationError::InvalidRecord { message, record_errors: Vec::new() })
        };
        if !header.has_producer_id()
            || !header.is_transactional()
            || header.records_count != 1
            || header.last_offset_delta != 0
        {
            return Err(invalid("A transaction marker is one transactional control record from a producer".into()));
        }
        let limit = self.log.lock().config.max_uncompressed_bytes;
        match batch::end_txn_marker(&header, &bytes, limit) {
            Ok(Some(_)) => self.append_from(header, bytes, AppendOrigin::Coordinator),
            Ok(None) => Err(invalid("A transaction marker needs its record".into())),
            Err(e) => Err(invalid(e.to_string())),
        }
    }

    /// Validated batch from a producer -> assigned offsets. Retries of an idempotent batch
    /// are answered with the original offsets and not written again. Kafka's client rules
    /// (sequence, retries); see [`Partition::append_from`].
    pub fn append(&self, header: BatchHeader, bytes: Bytes) -> Result<AppendResult, AppendError> {
        self.append_from(header, bytes, AppendOrigin::Client)
    }

    /// Validated batch -> assigned offsets, checked against the producer's state as `origin`
    /// requires (Kafka's `analyzeAndValidateProducerState`). A control batch is a transaction
    /// marker: it closes its producer's transaction, and an abort's entry goes to the
    /// aborted-transaction index of the segment it lands in before the marker is published.
    pub fn append_from(
        &self,
        header: BatchHeader,
        bytes: Bytes,
        origin: AppendOrigin,
    ) -> Result<AppendResult, AppendError> {
        let now = now_ms();
        // Only control batches are read beyond their header here (a marker's one record). A
        // control batch that is not a readable marker leaves producer state alone.
        let control = header.is_control();
        let marker = if control && header.has_producer_id() {
            let limit = self.log.lock().config.max_uncompressed_bytes;
            batch::end_txn_marker(&header, &bytes, limit).unwrap_or(None)
        } else {
            None
        };
        let _one_at_a_time = self.append_lock.lock();
        let (prepared, file, pos, append_time, abort) = {
            let mut log = self.log.lock();
            if let Some(reason) = &log.poisoned {
                return Err(AppendError::Storage(reason.clone()));
            }
            if bytes.len() > log.config.max_message_bytes {
                return Err(AppendError::MessageTooLarge { size: bytes.len(), max: log.config.max_message_bytes });
            }
            if let Some(m) = &marker {
                log.producers.check_marker(&header, m)?;
            } else if header.has_producer_id() && !control {
                if let SequenceCheck::Duplicate(meta) = log.producers.check(&header, origin == AppendOrigin::Client)? {
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
            // An abort completing a transaction: its index entry (Kafka's `AbortedTxn`, with the
            // last stable offset once it completes) goes to the segment the marker lands in.
            let abort = marker
                .as_ref()
                .and_then(|m| log.producers.completing(header.producer_id, prepared.header.base_offset, m));
            let abort = abort.filter(|c| c.aborted).map(|c| {
                let entry = AbortedTxn {
                    producer_id: c.producer_id,
                    first_offset: c.first_offset,
                    last_offset: c.last_offset,
                    last_stable_offset: log.producers.last_stable_offset_for(&c),
                };
                (entry, log.active().txn_index().append_target())
            });
            let active = log.active_mut();
            let pos = active.begin_append(prepared.bytes.len() as u64);
            (prepared, active.file(), pos, append_time, abort)
        };
        // The write, outside the state lock: only this partition's appends wait for it.
        self.write_began.store(monotonic_us().max(1), Ordering::Relaxed);
        #[cfg(test)]
        drop(self.write_gate.lock());
        let written = segment::write_batch(&file, &prepared, pos, &self.dir);
        // The index entry before the marker is published (fsynced with the segment's data by
        // the next flush); if it cannot be written, the marker is not appended either.
        let (written, abort_written) = match (written, abort) {
            (Ok(()), Some((entry, (path, index_file, at)))) => {
                match TxnIndex::write_entry(&path, index_file, at, entry) {
                    Ok(w) => (Ok(()), Some(w)),
                    Err(e) => {
                        let _ = file.set_len(pos);
                        (Err(e), None)
                    }
                }
            }
            (written, _) => (written, None),
        };
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
        match &marker {
            None => {
                if h.has_producer_id() && !control {
                    let at = log.active().base_offset;
                    log.producers.record(&h, Some((at, pos)));
                }
            }
            Some(m) => {
                if let Some(w) = abort_written {
                    let index = log.active_mut().txn_index_mut();
                    index.push_written(w);
                    if let Some(f) = index.file() {
                        if !log.unflushed.iter().any(|u| Arc::ptr_eq(u, &f)) {
                            log.unflushed.push(f);
                        }
                    }
                }
                if let Some(c) = log.producers.record_marker(&h, m) {
                    log.producers.complete(&c);
                }
            }
        }
        log.log_end_offset = h.next_offset();
        if !self.sync_mode {
            log.high_watermark = log.log_end_offset;
            let active = log.active();
            log.hw_position = (active.base_offset, active.size());
            let hw = log.high_watermark;
            log.producers.on_high_watermark(hw);
            self.hw_tx.send_replace(hw);
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
