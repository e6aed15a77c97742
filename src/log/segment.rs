//! One log segment: `<base>.log` holding verbatim record batches, plus its two indexes.
//! Appends happen under the partition's lock; reads use positional reads on a shared handle,
//! so they never block appends.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::batch::{self, BatchHeader, HEADER_LEN, LOG_OVERHEAD};
use super::faults::{self, Point};
use super::index::{OffsetIndex, TimeIndex};
use super::txn_index::{AbortedTxn, TxnIndex};

/// File name stem for a segment starting at `base`: 20 zero-padded digits, as Kafka does.
pub fn file_stem(base: i64) -> String {
    format!("{base:020}")
}

/// `<dir>/<base, 20 digits>.<ext><suffix>`: a segment file, with a suffix while the cleaner
/// writes (`.cleaned`) or swaps (`.swap`) it.
pub fn segment_path(dir: &Path, base: i64, ext: &str, suffix: &str) -> PathBuf {
    dir.join(format!("{}.{ext}{suffix}", file_stem(base)))
}

/// The extensions of a segment's files: its indexes (which may be absent), then its log.
pub const SEGMENT_EXTS: [&str; 4] = ["index", "timeindex", "txnindex", "log"];

/// Renames a segment's files from names ending in `from` to names ending in `to`: the index
/// files first (those present), the `.log` last.
pub fn rename_segment_files(dir: &Path, base: i64, from: &str, to: &str) -> io::Result<()> {
    for ext in SEGMENT_EXTS {
        let src = segment_path(dir, base, ext, from);
        match std::fs::rename(&src, segment_path(dir, base, ext, to)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound && ext != "log" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A batch ready to be appended: offsets assigned, header prefix patched.
pub struct PreparedBatch {
    pub header: BatchHeader,
    pub prefix: [u8; 16],
    pub bytes: Bytes,
}

/// What recovery did to a segment, for the startup log.
#[derive(Debug, Default, Clone, Copy)]
pub struct SegmentRecovery {
    pub truncated_bytes: u64,
    pub indexes_rebuilt: bool,
    pub validated_bytes: u64,
    /// The aborted-transaction index was torn or damaged (and emptied): the partition
    /// rebuilds it from the log.
    pub txn_index_damaged: bool,
}

#[derive(Debug)]
pub struct Segment {
    pub base_offset: i64,
    log_path: PathBuf,
    file: Arc<File>,
    size: u64,
    next_offset: i64,
    index: OffsetIndex,
    time_index: TimeIndex,
    /// Aborted transactions whose marker is in this segment (`.txnindex`).
    txn_index: TxnIndex,
    index_interval: u64,
    bytes_since_index: u64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    /// Timestamp used for time-based rolling: the first batch's max timestamp, or creation time.
    roll_base_ms: i64,
    /// End of the disk space reserved ahead of `size` (see [`Segment::reserve_ahead`]).
    reserved_end: u64,
}

/// A segment reserves disk space ahead of its writes once it holds this much.
const RESERVE_FROM: u64 = 1 << 20;
/// Most space reserved ahead in one step.
const RESERVE_MAX: u64 = 8 << 20;

fn open_log(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).read(true).append(true).open(path)
}

/// Reads the batch header at `pos`, or `None` if fewer than a header's bytes remain before `end`.
pub fn read_header_at(file: &File, pos: u64, end: u64) -> io::Result<Option<BatchHeader>> {
    if pos + HEADER_LEN as u64 > end {
        return Ok(None);
    }
    let mut buf = [0u8; HEADER_LEN];
    file.read_exact_at(&mut buf, pos)?;
    Ok(BatchHeader::parse(&buf).ok())
}

/// Reads `len` bytes at `pos` into a fresh buffer (one copy out of the page cache).
pub fn read_bytes_at(file: &File, pos: u64, len: usize) -> io::Result<Bytes> {
    let mut buf = BytesMut::zeroed(len);
    file.read_exact_at(&mut buf, pos)?;
    Ok(buf.freeze())
}

#[cfg(target_os = "linux")]
fn reserve(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    // SAFETY: plain syscall on a file descriptor that `file` keeps open for the call.
    if unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset, len) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn reserve(_file: &File, _offset: u64, _len: u64) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Writes a prepared batch at the end of `file` (which is `pos` bytes long, in the partition
/// directory `dir`) with one vectored write; on failure cuts the file back to `pos`, leaving no
/// torn batch behind (if that fails too, recovery truncates the torn batch: it was never
/// fsynced, so it lies after the recovery point).
pub fn write_batch(file: &File, b: &PreparedBatch, pos: u64, dir: &Path) -> io::Result<()> {
    let mut slices = [IoSlice::new(&b.prefix), IoSlice::new(&b.bytes[16..])];
    let written = match faults::injected(Point::AppendWrite, dir) {
        None => write_all_vectored(file, &mut slices),
        Some(fault) => injected_short_write(file, b, fault),
    };
    written.inspect_err(|_| {
        let _ = faults::check(Point::AppendTruncate, dir).and_then(|()| file.set_len(pos));
    })
}

/// An injected write fault: the fault's partial bytes of the batch reach the file, then the
/// write fails, as a disk that fills up mid-batch does.
#[cold]
fn injected_short_write(mut file: &File, b: &PreparedBatch, fault: faults::Injected) -> io::Result<()> {
    let n = fault.partial.unwrap_or(0).min(b.bytes.len());
    let mut whole = b.prefix.to_vec();
    whole.extend_from_slice(&b.bytes[16..]);
    file.write_all(&whole[..n])?;
    Err(fault.error)
}

fn write_all_vectored(mut file: &File, slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    let mut slices = slices;
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "failed to write batch")),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Segment {
    /// Creates a new, empty segment (truncating leftovers with the same base).
    pub fn create(dir: &Path, base_offset: i64, index_interval: u64, now_ms: i64) -> io::Result<Self> {
        let stem = file_stem(base_offset);
        let log_path = dir.join(format!("{stem}.log"));
        let file = open_log(&log_path)?;
        file.set_len(0)?;
        // After the file exists: a create that fails half-way leaves an empty segment behind,
        // which a restart must take in its stride.
        faults::check(Point::RollCreate, &log_path)?;
        let index = OffsetIndex::fresh(dir.join(format!("{stem}.index")))?;
        let time_index = TimeIndex::fresh(dir.join(format!("{stem}.timeindex")))?;
        let txn_index = TxnIndex::fresh(dir.join(format!("{stem}.txnindex")))?;
        Ok(Self {
            base_offset,
            log_path,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            index,
            time_index,
            txn_index,
            index_interval,
            bytes_since_index: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            roll_base_ms: now_ms,
            reserved_end: 0,
        })
    }

    /// Opens an existing segment. Batches at positions `>= validate_from` are fully checked
    /// (length, CRC, increasing offsets) and the file is truncated at the first bad one;
    /// earlier batches are trusted (they were fsynced). Indexes are reloaded, or rebuilt from
    /// batch headers when missing or inconsistent.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        index_interval: u64,
        validate_from: u64,
        now_ms: i64,
    ) -> io::Result<(Self, SegmentRecovery)> {
        let stem = file_stem(base_offset);
        let log_path = dir.join(format!("{stem}.log"));
        let file = open_log(&log_path)?;
        let size = file.metadata()?.len();
        let (index, ok_index) = OffsetIndex::open(dir.join(format!("{stem}.index")), size)?;
        let max_rel = u32::MAX;
        let (time_index, ok_time) = TimeIndex::open(dir.join(format!("{stem}.timeindex")), max_rel, size)?;
        let (txn_index, ok_txn) = TxnIndex::open(dir.join(format!("{stem}.txnindex")), base_offset, size)?;
        let mut seg = Self {
            base_offset,
            log_path,
            file: Arc::new(file),
            size,
            next_offset: base_offset,
            index,
            time_index,
            txn_index,
            index_interval,
            bytes_since_index: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            roll_base_ms: now_ms,
            reserved_end: 0,
        };
        let mut report = SegmentRecovery { txn_index_damaged: !ok_txn, ..Default::default() };
        let mut start = seg.index.last().map(|(_, p)| p as u64).unwrap_or(0);
        if !ok_index || !ok_time {
            seg.index.clear()?;
            seg.time_index.clear()?;
            // An empty segment has nothing to index (its files are only created with an entry).
            report.indexes_rebuilt = size > 0;
            start = 0;
        } else if validate_from < start {
            // Entries past the last fsynced position may point at data a crash lost: keep the
            // ones before it and walk on from the last of those (not from the segment start,
            // which after a crash in `acks`/`os` durability would re-read the whole segment).
            seg.index.truncate_to_position(validate_from)?;
            let (rel, pos) = seg.index.last().unwrap_or((0, 0));
            seg.time_index.truncate_to_rel(rel)?;
            start = pos as u64;
        }
        if let Some((ts, rel)) = seg.time_index.last() {
            seg.max_timestamp = ts;
            seg.offset_of_max_timestamp = base_offset + rel as i64;
        }
        if let Some(first) = read_header_at(&seg.file, 0, size)? {
            seg.roll_base_ms = first.max_timestamp;
        }
        seg.scan_tail(start, validate_from, &mut report)?;
        Ok((seg, report))
    }

    /// Walks batches from `start`, rebuilding in-memory state and index entries; validates
    /// fully from `validate_from` on and truncates at the first invalid batch.
    fn scan_tail(&mut self, start: u64, validate_from: u64, report: &mut SegmentRecovery) -> io::Result<()> {
        let mut pos = start;
        let mut expected_next: Option<i64> = None;
        self.bytes_since_index = 0;
        while pos < self.size {
            let header = match read_header_at(&self.file, pos, self.size)? {
                Some(h) => h,
                None => break,
            };
            let len = header.total_len() as u64;
            let sane = header.batch_length >= (HEADER_LEN - LOG_OVERHEAD) as i32
                && pos + len <= self.size
                && header.base_offset >= self.base_offset
                && header.last_offset_delta >= 0
                && header.last_offset() - self.base_offset <= u32::MAX as i64
                && expected_next.is_none_or(|n| header.base_offset >= n);
            if !sane {
                break;
            }
            if pos >= validate_from {
                let bytes = read_bytes_at(&self.file, pos, len as usize)?;
                if batch::validate(&bytes).is_err() {
                    break;
                }
                report.validated_bytes += len;
            }
            self.track(&header, pos)?;
            expected_next = Some(header.next_offset());
            pos += len;
        }
        if pos < self.size {
            report.truncated_bytes = self.size - pos;
            self.file.set_len(pos)?;
            self.size = pos;
            self.index.truncate_to_position(pos)?;
        }
        Ok(())
    }

    /// Updates indexes and statistics for a batch stored at `pos`.
    fn track(&mut self, header: &BatchHeader, pos: u64) -> io::Result<()> {
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            self.offset_of_max_timestamp = header.base_offset;
        }
        if self.bytes_since_index > self.index_interval {
            self.index.append(self.rel(header.base_offset), pos as u32);
            if self.offset_of_max_timestamp >= 0 {
                self.time_index.maybe_append(self.max_timestamp, self.rel(self.offset_of_max_timestamp));
            }
            self.bytes_since_index = 0;
        }
        if self.size == 0 || pos == 0 {
            self.roll_base_ms = header.max_timestamp;
        }
        self.bytes_since_index += header.total_len() as u64;
        self.next_offset = header.next_offset();
        Ok(())
    }

    fn rel(&self, offset: i64) -> u32 {
        (offset - self.base_offset) as u32
    }

    /// Appends one prepared batch with a single vectored write (patched prefix + client bytes).
    #[cfg(test)]
    pub fn append(&mut self, b: &PreparedBatch) -> io::Result<()> {
        let pos = self.begin_append(b.bytes.len() as u64);
        write_batch(&self.file, b, pos, &self.log_path)?;
        self.finish_append(&b.header, pos, b.bytes.len() as u64)
    }

    /// First step of an append: reserves room and returns the position the batch goes to.
    /// Between this and [`Segment::finish_append`] the caller writes the batch there with
    /// [`write_batch`] (nothing else may append meanwhile); readers never see it before.
    pub fn begin_append(&mut self, len: u64) -> u64 {
        self.reserve_ahead(len);
        self.size
    }

    /// Last step of an append: the batch written at `pos` becomes part of the segment.
    pub fn finish_append(&mut self, header: &BatchHeader, pos: u64, len: u64) -> io::Result<()> {
        self.track(header, pos)?;
        self.size = pos + len;
        Ok(())
    }

    /// Reserves disk space past the end of a busy segment (`fallocate` with `KEEP_SIZE`, so the
    /// file's size, which recovery trusts, stays the written length): appends into reserved
    /// blocks skip ext4's per-block delayed-allocation work, about a quarter of the kernel CPU
    /// of a buffered write. Reserves 1/8 of what the segment holds, at most [`RESERVE_MAX`],
    /// so little space is held by partitions that write little; [`Segment::seal`] returns the
    /// unused rest. Best effort: on failure (no space, no support) writes go on without it.
    fn reserve_ahead(&mut self, len: u64) {
        let end = self.size + len;
        if end <= self.reserved_end || self.size < RESERVE_FROM {
            return;
        }
        let from = self.reserved_end.max(self.size);
        let step = (self.size / 8).clamp(len, RESERVE_MAX.max(len));
        if reserve(&self.file, from, end - from + step).is_ok() {
            self.reserved_end = end + step;
        } else {
            self.reserved_end = u64::MAX; // do not retry on every append
        }
    }

    /// Writes the final time-index entry and returns unused reserved space; called when the
    /// segment stops being active. Touches no log data: on failure the segment is still whole
    /// (reserved blocks stay held, indexes are rebuilt at recovery if they need to be).
    pub fn seal(&mut self) -> io::Result<()> {
        if self.offset_of_max_timestamp >= 0 {
            self.time_index.maybe_append(self.max_timestamp, self.rel(self.offset_of_max_timestamp));
        }
        // The aborted-transaction index is written with each abort and fsynced by flushes:
        // a rolled segment lets go of its file.
        self.txn_index.release_file();
        faults::check(Point::RollSeal, &self.log_path)?;
        if self.reserved_end > self.size {
            // Truncating to the current length frees the blocks reserved past it.
            self.file.set_len(self.size)?;
            self.reserved_end = 0;
        }
        // Time index first, for the reason given at `persist_indexes`.
        self.time_index.sync()?;
        self.index.sync()
    }

    /// Writes index entries added since the last call (periodically and at shutdown, so a
    /// restart rarely has to rebuild them). The time index goes first: recovery trusts the
    /// segment's largest timestamp from the time index and scans batch headers only after
    /// the last offset-index entry, so an offset index written further than the time index
    /// (the second write failed) would hide a large timestamp in between from timestamp
    /// lookups. The other way round, recovery scans more than it needs to and finds it.
    pub fn persist_indexes(&mut self) -> io::Result<()> {
        self.time_index.persist()?;
        self.index.persist()
    }

    /// Position to start scanning for `offset` (the last indexed batch at or before it).
    pub fn lookup(&self, offset: i64) -> u64 {
        if offset <= self.base_offset {
            return 0;
        }
        self.index.lookup(self.rel(offset.min(self.base_offset + u32::MAX as i64))) as u64
    }

    /// Relative offset where a timestamp search should start.
    pub fn time_lookup(&self, ts: i64) -> i64 {
        self.base_offset + self.time_index.lookup(ts) as i64
    }

    pub fn file(&self) -> Arc<File> {
        self.file.clone()
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    pub fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }
    pub fn roll_base_ms(&self) -> i64 {
        self.roll_base_ms
    }
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Whether appending `len` more bytes (a batch ending at `last_offset`) needs a new segment.
    pub fn should_roll(&self, len: u64, last_offset: i64, segment_bytes: u64, segment_ms: i64, now_ms: i64) -> bool {
        self.size > 0
            && (self.size + len > segment_bytes
                || now_ms - self.roll_base_ms > segment_ms
                || last_offset - self.base_offset > u32::MAX as i64
                || self.size + len > u32::MAX as u64)
    }

    /// Removes the segment's files (after retention, cleaning or topic deletion).
    pub fn delete_files(&self) {
        for path in [self.log_path.as_path(), self.index.path(), self.time_index.path(), self.txn_index.path()] {
            let _ = std::fs::remove_file(path);
        }
    }

    /// A new segment the cleaner writes, under names ending in `suffix` (`<base>.log.cleaned`
    /// and its indexes), invisible to recovery until renamed. Leftovers of the same name go.
    pub fn create_cleaned(dir: &Path, base_offset: i64, index_interval: u64, suffix: &str) -> io::Result<Self> {
        let log_path = segment_path(dir, base_offset, "log", suffix);
        let file = open_log(&log_path)?;
        file.set_len(0)?;
        Ok(Self {
            base_offset,
            log_path,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            index: OffsetIndex::fresh(segment_path(dir, base_offset, "index", suffix))?,
            time_index: TimeIndex::fresh(segment_path(dir, base_offset, "timeindex", suffix))?,
            txn_index: TxnIndex::fresh(segment_path(dir, base_offset, "txnindex", suffix))?,
            index_interval,
            bytes_since_index: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            roll_base_ms: -1,
            reserved_end: 0,
        })
    }

    /// Appends a whole batch (its final bytes) to a segment the cleaner is writing.
    pub fn append_cleaned(&mut self, header: &BatchHeader, bytes: &[u8]) -> io::Result<()> {
        let pos = self.size;
        (&*self.file).write_all(bytes)?;
        self.track(header, pos)?;
        self.size = pos + bytes.len() as u64;
        Ok(())
    }

    /// Makes a segment the cleaner wrote durable: its indexes written and fsynced, then its
    /// data fsynced.
    pub fn finish_cleaned(&mut self) -> io::Result<()> {
        self.seal()?;
        self.txn_index.sync()?;
        self.file.sync_data()
    }

    /// Renames the segment's files from names ending in `from` to names ending in `to`
    /// (the indexes first: recovery goes by the `.log` file), and points the segment at them.
    pub fn rename_files(&mut self, from: &str, to: &str) -> io::Result<()> {
        let dir = self.log_path.parent().map(Path::to_path_buf).unwrap_or_default();
        rename_segment_files(&dir, self.base_offset, from, to)?;
        self.set_suffix(&dir, to);
        Ok(())
    }

    /// Points the segment at its files' names ending in `suffix` (they were renamed).
    pub fn set_suffix(&mut self, dir: &Path, suffix: &str) {
        self.log_path = segment_path(dir, self.base_offset, "log", suffix);
        self.index.set_path(segment_path(dir, self.base_offset, "index", suffix));
        self.time_index.set_path(segment_path(dir, self.base_offset, "timeindex", suffix));
        self.txn_index.set_path(segment_path(dir, self.base_offset, "txnindex", suffix));
    }

    /// The segment's aborted-transaction index.
    pub fn txn_index(&self) -> &TxnIndex {
        &self.txn_index
    }

    pub fn txn_index_mut(&mut self) -> &mut TxnIndex {
        &mut self.txn_index
    }

    /// Adds an aborted transaction to a segment the cleaner is writing (its marker kept).
    pub fn push_cleaned_abort(&mut self, txn: AbortedTxn) {
        self.txn_index.push(txn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{build_batch, patched_prefix};

    fn prepared(base: i64, count: i32, ts: i64, body: &[u8]) -> PreparedBatch {
        let bytes = build_batch(0, count, ts, body);
        let mut header = BatchHeader::parse(&bytes).unwrap();
        header.base_offset = base;
        PreparedBatch { header, prefix: patched_prefix(&bytes, base, 0), bytes }
    }

    /// A new segment creates only its `.log`; index files appear with their first persisted
    /// entry, an empty segment without them reopens without a rebuild, and creating a segment
    /// again removes stale index files of the same base.
    #[test]
    fn index_files_are_created_with_their_first_entry() {
        let dir = tempfile::tempdir().unwrap();
        let files = || {
            let mut v: Vec<String> =
                std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            v.sort();
            v
        };
        let log = format!("{}.log", file_stem(0));
        let (index, timeindex) = (format!("{}.index", file_stem(0)), format!("{}.timeindex", file_stem(0)));
        drop(Segment::create(dir.path(), 0, 64, 0).unwrap());
        assert_eq!(files(), vec![log.clone()]);
        let (mut seg, rep) = Segment::open(dir.path(), 0, 64, 0, 0).unwrap();
        assert!(!rep.indexes_rebuilt);
        assert_eq!(files(), vec![log.clone()]);
        for i in 0..10 {
            seg.append(&prepared(i * 2, 2, 1000 + i, &[7u8; 40])).unwrap();
        }
        seg.persist_indexes().unwrap();
        assert_eq!(files(), vec![index.clone(), log.clone(), timeindex.clone()]);
        let pos = seg.lookup(15);
        drop(seg);
        // Everything before u64::MAX counts as fsynced: the persisted index is used as is.
        let (seg, rep) = Segment::open(dir.path(), 0, 64, u64::MAX, 0).unwrap();
        assert!(!rep.indexes_rebuilt);
        assert_eq!((seg.lookup(15), seg.next_offset(), seg.max_timestamp()), (pos, 20, 1009));
        drop(seg);
        drop(Segment::create(dir.path(), 0, 64, 0).unwrap());
        assert_eq!(files(), vec![log]);
    }

    /// After a crash with the recovery point inside the segment and index entries written past
    /// it, recovery keeps the entries before the point and walks on from there: it validates
    /// only the bytes after the point and ends in the same state as the writer had.
    #[test]
    fn recovery_point_inside_the_indexed_range_keeps_earlier_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, 64, 0).unwrap();
        for i in 0..50 {
            seg.append(&prepared(i * 2, 2, 5000 - i, &[9u8; 40])).unwrap();
        }
        seg.persist_indexes().unwrap();
        let (size, entries) = (seg.size(), seg.index.len());
        let lookups: Vec<u64> = (0..100).map(|o| seg.lookup(o)).collect();
        let point = seg.lookup(60);
        assert!(point > 0 && entries > 4);
        drop(seg);
        let (seg, rep) = Segment::open(dir.path(), 0, 64, point, 0).unwrap();
        assert!(!rep.indexes_rebuilt);
        assert_eq!((rep.truncated_bytes, rep.validated_bytes), (0, size - point));
        assert_eq!((seg.size(), seg.next_offset(), seg.max_timestamp()), (size, 100, 5000));
        assert_eq!((0..100).map(|o| seg.lookup(o)).collect::<Vec<_>>(), lookups);
        assert_eq!(seg.index.len(), entries);
    }

    /// A busy segment reserves blocks past its end without changing its length; a reopen sees
    /// exactly the written batches, and sealing returns the reserved space.
    #[test]
    fn reserved_space_is_invisible_and_returned_at_seal() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, 4096, 0).unwrap();
        let body = vec![3u8; 64 * 1024];
        for i in 0..40 {
            seg.append(&prepared(i, 1, i, &body)).unwrap();
        }
        let size = seg.size();
        let meta = std::fs::metadata(seg.log_path()).unwrap();
        assert_eq!(meta.len(), size, "reserving keeps the file length");
        let held = |p: &Path| std::fs::metadata(p).unwrap().blocks() * 512;
        if cfg!(target_os = "linux") && seg.reserved_end != u64::MAX {
            assert!(held(seg.log_path()) > size + 64 * 1024, "space is reserved ahead");
        }
        let path = seg.log_path().to_path_buf();
        drop(seg);
        let (mut seg, rep) = Segment::open(dir.path(), 0, 4096, 0, 0).unwrap();
        assert_eq!((rep.truncated_bytes, seg.size(), seg.next_offset()), (0, size, 40));
        seg.append(&prepared(40, 1, 40, &body)).unwrap();
        seg.seal().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), seg.size());
        assert!(held(&path) < seg.size() + 8192, "sealing frees the reserved blocks");
    }

    #[test]
    fn append_then_reopen_restores_state() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 100, 64, 0).unwrap();
        let mut next = 100;
        for i in 0..50 {
            seg.append(&prepared(next, 2, 1000 + i, &[7u8; 40])).unwrap();
            next += 2;
        }
        assert_eq!(seg.next_offset(), 200);
        let size = seg.size();
        let pos = seg.lookup(150);
        assert!(pos > 0);
        let h = read_header_at(&seg.file(), pos, size).unwrap().unwrap();
        assert!(h.base_offset <= 150 && h.base_offset > 100);
        drop(seg);
        let (seg, rep) = Segment::open(dir.path(), 100, 64, 0, 0).unwrap();
        assert_eq!(rep.truncated_bytes, 0);
        assert_eq!(seg.next_offset(), 200);
        assert_eq!(seg.size(), size);
        assert_eq!(seg.max_timestamp(), 1049);
        assert_eq!(seg.lookup(150), pos);
    }

    #[test]
    fn truncated_tail_is_cut_at_last_whole_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, 4096, 0).unwrap();
        for i in 0..3 {
            seg.append(&prepared(i, 1, 5, b"hello")).unwrap();
        }
        let whole = seg.size();
        drop(seg);
        let path = dir.path().join(format!("{}.log", file_stem(0)));
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(whole - 7).unwrap();
        let (seg, rep) = Segment::open(dir.path(), 0, 4096, 0, 0).unwrap();
        assert_eq!(seg.next_offset(), 2);
        assert_eq!(rep.truncated_bytes, whole / 3 - 7);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole / 3 * 2);
    }

    #[test]
    fn corrupt_crc_in_last_batch_is_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, 4096, 0).unwrap();
        for i in 0..3 {
            seg.append(&prepared(i, 1, 5, b"hello")).unwrap();
        }
        let whole = seg.size();
        drop(seg);
        let path = dir.path().join(format!("{}.log", file_stem(0)));
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(b"X", whole - 2).unwrap();
        let (seg, rep) = Segment::open(dir.path(), 0, 4096, 0, 0).unwrap();
        assert_eq!(seg.next_offset(), 2);
        assert_eq!(rep.truncated_bytes, whole / 3);
        // The same corruption before the validation point is trusted (it was fsynced).
        drop(seg);
    }

    #[test]
    fn roll_rules() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 0, 4096, 0).unwrap();
        assert!(!seg.should_roll(10_000, 0, 100, 1000, 0), "empty segment never rolls");
        seg.append(&prepared(0, 1, 5, b"hello")).unwrap();
        assert!(seg.should_roll(100, 1, 100, 1_000_000, 10));
        assert!(!seg.should_roll(10, 1, 1000, 1_000_000, 10));
        assert!(seg.should_roll(10, 1, 1000, 1000, 2000), "time based roll");
    }
}
