//! Opening a partition: segments validated after the recovery point, a torn tail cut,
//! producer state restored from its newest usable snapshot plus the batches after it, and the
//! aborted-transaction index entries the recovery point does not cover rebuilt from the log.

use super::*;

impl Partition {
    /// Opens (or creates) the partition in `dir`, recovering after `recovery` (the last
    /// checkpointed fsync point; `None` validates everything).
    pub fn open(
        dir: PathBuf,
        topic: Arc<str>,
        index: i32,
        config: LogConfig,
        recovery: Option<RecoveryPoint>,
        sync_mode: bool,
    ) -> io::Result<(Self, RecoveryReport)> {
        std::fs::create_dir_all(&dir)?;
        clean::finish_interrupted_swaps(&dir)?;
        let now = now_ms();
        let mut report = RecoveryReport::default();
        let mut segments = BTreeMap::new();
        let bases = list_by_ext(&dir, "log")?;
        let mut truncated_at: Option<usize> = None;
        // Aborted-transaction index entries from here on are rebuilt from the log: those the
        // recovery point does not cover (they may be missing or torn), and those of a
        // segment whose index is damaged.
        let mut damaged_txn_index = i64::MAX;
        for (i, &base) in bases.iter().enumerate() {
            if truncated_at.is_some() {
                // Everything after a corrupted segment is unreachable: drop it, as Kafka does.
                for ext in segment::SEGMENT_EXTS {
                    let _ = std::fs::remove_file(dir.join(format!("{}.{ext}", segment::file_stem(base))));
                }
                report.dropped_segments += 1;
                continue;
            }
            let validate_from = match recovery {
                Some(rp) if base < rp.segment => u64::MAX,
                Some(rp) if base == rp.segment => rp.position,
                _ => 0,
            };
            let (seg, rep) = Segment::open(&dir, base, config.index_interval, validate_from, now)?;
            report.truncated_bytes += rep.truncated_bytes;
            report.validated_bytes += rep.validated_bytes;
            report.indexes_rebuilt += rep.indexes_rebuilt as usize;
            if rep.txn_index_damaged {
                tracing::warn!(dir = %dir.display(), base, "the aborted-transaction index is damaged: rebuilt from the log");
                damaged_txn_index = damaged_txn_index.min(base);
            }
            if rep.truncated_bytes > 0 && i + 1 < bases.len() {
                truncated_at = Some(i);
            }
            segments.insert(base, seg);
        }
        if segments.is_empty() {
            segments.insert(0, Segment::create(&dir, 0, config.index_interval, now)?);
            sync_dir(&dir)?;
        }
        report.segments = segments.len();
        let log_start_offset = *segments.keys().next().unwrap_or(&0);
        let active = segments.values().next_back().expect("just ensured non-empty");
        let log_end_offset = active.next_offset();
        let hw_position = (active.base_offset, active.size());
        let recovery_point = match recovery {
            Some(RecoveryPoint::WHOLE_LOG) => {
                RecoveryPoint { offset: log_end_offset, segment: active.base_offset, position: active.size() }
            }
            rp => rp
                .filter(|rp| rp.offset <= log_end_offset && segments.contains_key(&rp.segment))
                .unwrap_or(RecoveryPoint { offset: log_start_offset, segment: log_start_offset, position: 0 }),
        };
        let mut log = PartitionLog {
            config,
            segments,
            log_start_offset,
            log_end_offset,
            high_watermark: log_end_offset,
            hw_position,
            producers: ProducerStateTable::default(),
            unflushed: Vec::new(),
            recovery_point,
            poisoned: None,
            epochs: LeaderEpochCache::load(&dir),
        };
        // An entry past its segment's end yet covered by the recovery point is damage too.
        for seg in log.segments.values() {
            let past_end = seg.txn_index().entries().iter().any(|e| e.last_offset >= seg.next_offset());
            if past_end && seg.next_offset() <= log.recovery_point.offset {
                damaged_txn_index = damaged_txn_index.min(seg.base_offset);
            }
        }
        let rebuild_from = log.recovery_point.offset.min(damaged_txn_index);
        report.aborts_rebuilt = Self::restore_producers(&dir, &mut log, rebuild_from)?;
        // The epoch cache follows the log: epochs past a cut-off tail go, and a log written
        // before the cache existed (every batch stamped 0) gets epoch 0 from its start.
        // A new partition records epoch 0 now, so no append ever writes the checkpoint (an
        // fsync) under the partition's state lock. The file is derived: failing to write it
        // (a full disk) does not stop the partition from opening; the first append retries.
        let (end, start) = (log.log_end_offset, log.log_start_offset);
        let epochs = &mut log.epochs;
        let written = epochs.truncate_from_end(end).and_then(|()| epochs.truncate_from_start(start)).and_then(|()| {
            if epochs.latest_epoch().is_none() {
                epochs.assign(0, start)?;
            }
            Ok(())
        });
        if let Err(e) = written {
            tracing::warn!(dir = %dir.display(), "cannot write the leader-epoch checkpoint: {e}");
        }
        let leader_epoch = log.epochs.latest_epoch().unwrap_or(0);
        report.producers = log.producers.len();
        let (hw_tx, _) = watch::channel(log_end_offset);
        Ok((
            Self {
                topic,
                index,
                dir,
                sync_mode,
                append_lock: Mutex::new(()),
                write_began: AtomicU64::new(0),
                #[cfg(test)]
                write_gate: Mutex::new(()),
                log: Mutex::new(log),
                flush_lock: Mutex::new(()),
                hw_tx,
                dirty: AtomicBool::new(false),
                leader_epoch: AtomicI32::new(leader_epoch),
                clean_lock: Mutex::new(()),
                first_dirty: AtomicI64::new(-1),
                uncleanable: AtomicBool::new(false),
                traffic: Traffic::default(),
            },
            report,
        ))
    }

    /// Loads the newest producer snapshot at or below both the log end and `rebuild_from`, and
    /// replays the batches written after it: headers for data batches, the one record of each
    /// transaction marker. Aborted-transaction index entries whose marker is at or after
    /// `rebuild_from` are dropped first and rebuilt by the replay (with the last stable offset
    /// of their time, as the append wrote them), then fsynced. Returns how many were rebuilt.
    fn restore_producers(dir: &Path, log: &mut PartitionLog, rebuild_from: i64) -> io::Result<usize> {
        for seg in log.segments.values_mut() {
            seg.txn_index_mut().truncate_from(rebuild_from)?;
        }
        let mut from = log.log_start_offset;
        for off in list_by_ext(dir, "snapshot")?.into_iter().rev() {
            if off > log.log_end_offset {
                let _ = std::fs::remove_file(snapshot_path(dir, off));
                continue;
            }
            if off > rebuild_from {
                continue; // newer than the index entries to rebuild: an older one is replayed
            }
            if let Some((table, covered)) =
                std::fs::read(snapshot_path(dir, off)).ok().and_then(|b| ProducerStateTable::from_snapshot(&b))
            {
                log.producers = table;
                from = covered.max(log.log_start_offset);
                break;
            }
        }
        // A snapshot's positions of transactions' first batches are used only if they still
        // point at them.
        let files: BTreeMap<i64, (Arc<File>, u64)> =
            log.segments.values().map(|s| (s.base_offset, (s.file(), s.size()))).collect();
        log.producers.retain_positions(|first, (seg, pos)| {
            files.get(&seg).is_some_and(|(f, size)| {
                read_header_at(f, pos, *size).ok().flatten().is_some_and(|h| h.base_offset == first)
            })
        });
        let limit = log.config.max_uncompressed_bytes;
        let mut aborts: Vec<(i64, AbortedTxn)> = Vec::new();
        for (&base, (file, end)) in files.range(..) {
            let seg = &log.segments[&base];
            if seg.next_offset() <= from {
                continue;
            }
            let (end, mut pos) = (*end, if base <= from { seg.lookup(from) } else { 0 });
            while let Some(h) = read_header_at(file, pos, end)? {
                let len = h.total_len() as u64;
                if h.total_len() < batch::HEADER_LEN || pos + len > end {
                    break;
                }
                if h.last_offset() >= from && h.has_producer_id() {
                    if h.is_control() {
                        let bytes = read_bytes_at(file, pos, h.total_len())?;
                        // Replayed as Kafka replays a follower's log: no fencing checks.
                        if let Ok(Some(m)) = batch::end_txn_marker(&h, &bytes, limit) {
                            let completed = log.producers.completing(h.producer_id, h.base_offset, &m);
                            if let Some(c) = completed.filter(|c| c.aborted && c.last_offset >= rebuild_from) {
                                let lso = log.producers.last_stable_offset_for(&c);
                                let entry = AbortedTxn {
                                    producer_id: c.producer_id,
                                    first_offset: c.first_offset,
                                    last_offset: c.last_offset,
                                    last_stable_offset: lso,
                                };
                                aborts.push((base, entry));
                            }
                            if let Some(c) = log.producers.record_marker(&h, &m) {
                                log.producers.complete(&c);
                            }
                        }
                    } else {
                        log.producers.record(&h, Some((base, pos)));
                    }
                }
                pos += len;
            }
        }
        // The whole recovered log is below the high watermark.
        log.producers.clear_unreplicated();
        let rebuilt = aborts.len();
        let mut touched = Vec::new();
        for (base, entry) in aborts {
            let Some(seg) = log.segments.get_mut(&base) else { continue };
            let index = seg.txn_index_mut();
            let (path, file, at) = index.append_target();
            let written = TxnIndex::write_entry(&path, file, at, entry)?;
            index.push_written(written);
            if !touched.contains(&base) {
                touched.push(base);
            }
        }
        for base in touched {
            if let Some(index) = log.segments.get_mut(&base).map(|s| s.txn_index_mut()) {
                if let Some(f) = index.file() {
                    f.sync_data()?;
                }
                index.release_file();
            }
        }
        Ok(rebuilt)
    }
}
