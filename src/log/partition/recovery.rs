//! Opening a partition: segments validated after the recovery point, a torn tail cut,
//! producer state restored from its newest snapshot plus the batches after it.

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
        for (i, &base) in bases.iter().enumerate() {
            if truncated_at.is_some() {
                // Everything after a corrupted segment is unreachable: drop it, as Kafka does.
                for ext in ["log", "index", "timeindex"] {
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
        Self::restore_producers(&dir, &mut log)?;
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
            },
            report,
        ))
    }

    /// Loads the newest producer snapshot at or below the log end and replays batch headers
    /// written after it.
    fn restore_producers(dir: &Path, log: &mut PartitionLog) -> io::Result<()> {
        let mut from = log.log_start_offset;
        for off in list_by_ext(dir, "snapshot")?.into_iter().rev() {
            if off > log.log_end_offset {
                let _ = std::fs::remove_file(snapshot_path(dir, off));
                continue;
            }
            if let Some((table, covered)) =
                std::fs::read(snapshot_path(dir, off)).ok().and_then(|b| ProducerStateTable::from_snapshot(&b))
            {
                log.producers = table;
                from = covered.max(log.log_start_offset);
                break;
            }
        }
        let mut replay = Vec::new();
        for seg in log.segments.values() {
            if seg.next_offset() <= from {
                continue;
            }
            let end = seg.size();
            let mut pos = if seg.base_offset <= from { seg.lookup(from) } else { 0 };
            let file = seg.file();
            while let Some(h) = read_header_at(&file, pos, end)? {
                if h.last_offset() >= from && h.has_producer_id() {
                    replay.push(h);
                }
                pos += h.total_len() as u64;
            }
        }
        for h in &replay {
            log.producers.record(h);
        }
        Ok(())
    }
}
