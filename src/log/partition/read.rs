//! Reads: whole batches up to the high watermark (zero-copy `pread`), replay of internal
//! topics, and the timestamp lookups of ListOffsets.

use super::*;

/// A read's unused tail beyond this is returned to the allocator (see [`Partition::read`]).
const SHRINK_TAIL: usize = 256 * 1024;

/// Length of the whole batches at the start of `buf` that start before offset `upper`. Kafka
/// cuts a fetch at `max_bytes` even inside a batch (clients drop the partial batch and fetch
/// it again); Brook stops at the last batch boundary instead, so no byte is sent twice. The
/// buffer starts at a batch.
fn whole_batches_len(buf: &[u8], upper: i64) -> usize {
    let mut off = 0;
    while let Ok(h) = BatchHeader::parse(&buf[off..]) {
        if h.total_len() < batch::HEADER_LEN || off + h.total_len() > buf.len() || h.base_offset >= upper {
            break;
        }
        off += h.total_len();
    }
    off
}

impl Partition {
    /// Reads whole batches starting with the one containing `offset`, up to `max_bytes`
    /// (or the first batch whole, if `min_one_batch` and it is larger). Never beyond the
    /// high watermark.
    pub fn read(&self, offset: i64, max_bytes: usize, min_one_batch: bool) -> Result<ReadResult, ReadError> {
        self.read_at(offset, max_bytes, min_one_batch, Isolation::HighWatermark)
    }

    /// [`Partition::read`], stopping at the bound `isolation` sets (Kafka's `read` with a
    /// `FetchIsolation`): the high watermark, or the last stable offset for read_committed.
    /// An offset between the bound and the high watermark reads nothing (not out of range).
    pub fn read_at(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
        isolation: Isolation,
    ) -> Result<ReadResult, ReadError> {
        let mut lower = Bound::Included(i64::MIN);
        loop {
            let (file, mut pos, end, offsets, upper) = {
                let log = self.log.lock();
                let offsets = log.offsets();
                if offset < log.log_start_offset || offset > log.high_watermark {
                    return Err(ReadError::OffsetOutOfRange {
                        offset,
                        log_start: log.log_start_offset,
                        high_watermark: log.high_watermark,
                    });
                }
                let (upper, upper_position) = log.read_bound(isolation);
                if offset >= upper {
                    return Ok(ReadResult { records: Bytes::new(), offsets });
                }
                let seg = match lower {
                    Bound::Included(_) => log.segments.range(..=offset).next_back().map(|(_, s)| s),
                    _ => log.segments.range((lower, Bound::Unbounded)).next().map(|(_, s)| s),
                };
                let Some(seg) = seg else {
                    return Ok(ReadResult { records: Bytes::new(), offsets });
                };
                lower = Bound::Excluded(seg.base_offset);
                // Without the bound's position, up to the high watermark's, cut by offset below.
                let end = PartitionLog::visible_end_at(seg, upper_position.unwrap_or(log.hw_position));
                (seg.file(), seg.lookup(offset), end, offsets, upper)
            };
            while let Some(h) = read_header_at(&file, pos, end).storage(StorageOp::Read, Some(&self.dir))? {
                let len = h.total_len() as u64;
                if h.last_offset() >= offset {
                    if !min_one_batch && len as usize > max_bytes {
                        return Ok(ReadResult { records: Bytes::new(), offsets });
                    }
                    let want = (max_bytes as u64).max(if min_one_batch { len } else { 0 });
                    let n = want.min(end - pos);
                    let mut records =
                        read_bytes_at(&file, pos, n as usize).storage(StorageOp::Read, Some(&self.dir))?;
                    let whole = whole_batches_len(&records, upper);
                    if n as usize - whole > SHRINK_TAIL {
                        // The response holds these bytes until written: a large cut-off tail
                        // (a big batch that did not fit) is not kept alive with it, so a fetch
                        // over many partitions does not pin up to `max_bytes` each for far
                        // fewer bytes sent. A small tail (part of a normal batch) is just cut:
                        // copying or shrinking every read made 1 MiB fetches 50% slower.
                        records = Bytes::copy_from_slice(&records[..whole]);
                    } else {
                        records.truncate(whole);
                    }
                    return Ok(ReadResult { records, offsets });
                }
                pos += len;
            }
            if end == 0 {
                return Ok(ReadResult { records: Bytes::new(), offsets });
            }
        }
    }

    /// Calls `f` with every whole batch from `from` up to the high watermark, in order
    /// (used to replay internal topics such as `__consumer_offsets` at startup).
    pub fn for_each_batch(&self, from: i64, mut f: impl FnMut(Bytes)) -> Result<(), StorageError> {
        faults::check(Point::ReplayRead, &self.dir).storage(StorageOp::Read, Some(&self.dir))?;
        let mut next = from.max(self.offsets().log_start);
        loop {
            let mut buf = match self.read(next, 1 << 20, true) {
                Ok(r) => r.records,
                Err(ReadError::OffsetOutOfRange { .. }) => return Ok(()),
                Err(ReadError::Storage(e)) => return Err(e),
            };
            let before = next;
            while let Ok(h) = BatchHeader::parse(&buf) {
                if h.total_len() > buf.len() {
                    break;
                }
                let b = buf.split_to(h.total_len());
                if h.last_offset() >= next {
                    next = h.next_offset();
                    f(b);
                }
            }
            if next == before {
                return Ok(());
            }
        }
    }

    /// Reads the whole batch that starts at `pos` in `file`, which must end by `end` (the
    /// header's length is never trusted past the bytes that are there).
    fn read_batch(file: &File, pos: u64, h: &BatchHeader, end: u64) -> io::Result<Bytes> {
        if pos + h.total_len() as u64 > end {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("batch at {pos} overruns its segment")));
        }
        read_bytes_at(file, pos, h.total_len())
    }

    /// ListOffsets by timestamp: the first record at or after the log start with timestamp
    /// >= `ts`, as (offset, timestamp).
    pub fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>, StorageError> {
        let (candidates, log_start, limit) = {
            let log = self.log.lock();
            // Each segment that may hold a match, from the time index's hint on (a later one
            // matters only when the log start cut an earlier one's matches away).
            let candidates: Vec<_> = log
                .segments
                .values()
                .filter(|s| s.max_timestamp() >= ts && s.base_offset < log.high_watermark)
                .map(|s| (s.file(), s.lookup(s.time_lookup(ts).max(log.log_start_offset)), log.visible_end(s)))
                .collect();
            (candidates, log.log_start_offset, log.config.max_uncompressed_bytes)
        };
        for (file, mut pos, end) in candidates {
            while let Some(h) = read_header_at(&file, pos, end).storage(StorageOp::Read, Some(&self.dir))? {
                if h.max_timestamp >= ts && !h.is_control() && h.last_offset() >= log_start {
                    let bytes = Self::read_batch(&file, pos, &h, end).storage(StorageOp::Read, Some(&self.dir))?;
                    if let Some(found) = records::first_at_or_after(&h, &bytes, ts, log_start, limit) {
                        return Ok(Some(found));
                    }
                }
                pos += h.total_len() as u64;
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP: the record with the largest timestamp, as (offset, timestamp).
    pub fn max_timestamp_offset(&self) -> Result<Option<(i64, i64)>, StorageError> {
        let (found, limit) = {
            let log = self.log.lock();
            let mut best: Option<&Segment> = None;
            for s in log.segments.values() {
                if s.offset_of_max_timestamp() >= 0
                    && s.offset_of_max_timestamp() < log.high_watermark
                    && best.is_none_or(|b| s.max_timestamp() > b.max_timestamp())
                {
                    best = Some(s);
                }
            }
            let found = best.map(|s| {
                (
                    s.file(),
                    s.lookup(s.offset_of_max_timestamp()),
                    log.visible_end(s),
                    s.offset_of_max_timestamp(),
                    s.max_timestamp(),
                )
            });
            (found, log.config.max_uncompressed_bytes)
        };
        let Some((file, mut pos, end, target, max_ts)) = found else {
            return Ok(None);
        };
        while let Some(h) = read_header_at(&file, pos, end).storage(StorageOp::Read, Some(&self.dir))? {
            if h.base_offset >= target && h.max_timestamp == max_ts {
                let bytes = Self::read_batch(&file, pos, &h, end).storage(StorageOp::Read, Some(&self.dir))?;
                return Ok(records::first_at_or_after(&h, &bytes, max_ts, i64::MIN, limit));
            }
            pos += h.total_len() as u64;
        }
        Ok(None)
    }
}
