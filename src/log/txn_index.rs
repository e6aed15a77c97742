//! The aborted-transaction index of a segment (Kafka's `TransactionIndex`, `<base>.txnindex`):
//! one entry per aborted transaction whose abort marker is in the segment, in marker order.
//! A read_committed fetch collects the entries overlapping what it returns, so the client can
//! drop the aborted records (Kafka's `collectAbortedTxns`).
//!
//! Entries are 34 bytes, big-endian, Kafka's layout (`AbortedTxn`):
//! `version i16 (= 0), producerId i64, firstOffset i64, lastOffset i64, lastStableOffset i64`;
//! `lastOffset` is the marker's offset, `lastStableOffset` the partition's last stable offset
//! once the transaction completed.
//!
//! Unlike the offset and time indexes this is not derived data a header scan rebuilds cheaply:
//! an entry is written when its marker is appended (outside the partition's state lock) and
//! fsynced with the segment's data, before the recovery point passes the marker. Recovery
//! trusts the entries before the recovery point and rebuilds the others from the log. The
//! file exists only once the segment holds an abort, and is held open only while its segment
//! is written (a rolled or reopened segment's index costs no descriptor). Entries also live
//! in memory (fetches read them there); a file longer than its segment could need is never
//! read.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::batch::HEADER_LEN;
use super::faults::{self, Point};

/// Bytes of one entry.
pub const ENTRY_LEN: usize = 34;
/// The entry version Kafka writes (and the only one it reads).
pub const VERSION: i16 = 0;

/// One aborted transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The offset of its abort marker.
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut b = [0u8; ENTRY_LEN];
        b[0..2].copy_from_slice(&VERSION.to_be_bytes());
        b[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        b[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        b[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        b[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        b
    }

    /// Decodes one entry; `None` if `b` is shorter than an entry or of a version Kafka would
    /// refuse (anything but 0).
    pub fn decode(b: &[u8]) -> Option<Self> {
        let b = b.get(..ENTRY_LEN)?;
        let i64_at = |at: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[at..at + 8]);
            i64::from_be_bytes(x)
        };
        if i16::from_be_bytes([b[0], b[1]]) != VERSION {
            return None;
        }
        Some(Self {
            producer_id: i64_at(2),
            first_offset: i64_at(10),
            last_offset: i64_at(18),
            last_stable_offset: i64_at(26),
        })
    }
}

/// Most entries a segment of `segment_len` bytes can have: one per (marker) batch at most.
fn max_entries(segment_len: u64) -> u64 {
    segment_len / HEADER_LEN as u64 + 1
}

/// Decodes a whole index file's bytes: every entry, if the bytes are whole entries of version
/// 0 with increasing marker offsets at or after `base` and first offsets not past their
/// markers; `None` otherwise (a torn, damaged or foreign file).
pub fn decode_all(data: &[u8], base: i64) -> Option<Vec<AbortedTxn>> {
    if !data.len().is_multiple_of(ENTRY_LEN) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / ENTRY_LEN);
    for chunk in data.chunks_exact(ENTRY_LEN) {
        let e = AbortedTxn::decode(chunk)?;
        let ordered = out.last().is_none_or(|p: &AbortedTxn| e.last_offset > p.last_offset);
        if !ordered || e.last_offset < base || e.first_offset < 0 || e.first_offset > e.last_offset {
            return None;
        }
        out.push(e);
    }
    Some(out)
}

/// The aborted-transaction index of one segment.
#[derive(Debug)]
pub struct TxnIndex {
    path: PathBuf,
    entries: Vec<AbortedTxn>,
    /// The file, held open from its first write while the segment is written (see
    /// [`TxnIndex::release_file`]).
    file: Option<Arc<File>>,
}

/// An entry written to the file but not yet in the index (see [`TxnIndex::write_entry`]).
pub struct Written {
    file: Arc<File>,
    entry: AbortedTxn,
}

impl TxnIndex {
    /// An empty index for a new segment: a stale file of the same name is removed, none is
    /// created.
    pub fn fresh(path: PathBuf) -> io::Result<Self> {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Self { path, entries: Vec::new(), file: None })
    }

    /// Loads the index of a segment starting at `base` that is `segment_len` bytes long. The
    /// flag is false (and the index empty, its file emptied) when the file is torn, damaged or
    /// longer than the segment could need; a missing file is an empty, valid index.
    pub fn open(path: PathBuf, base: i64, segment_len: u64) -> io::Result<(Self, bool)> {
        let len = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok((Self { path, entries: Vec::new(), file: None }, true))
            }
            Err(e) => return Err(e),
        };
        let entries = if len <= max_entries(segment_len) * ENTRY_LEN as u64 {
            let file = File::open(&path)?;
            let mut data = vec![0u8; len as usize];
            file.read_exact_at(&mut data, 0)?;
            decode_all(&data, base)
        } else {
            None
        };
        let valid = entries.is_some();
        let mut index = Self { path, entries: entries.unwrap_or_default(), file: None };
        if !valid {
            index.truncate_entries(0)?;
        }
        Ok((index, valid))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }

    pub fn entries(&self) -> &[AbortedTxn] {
        &self.entries
    }

    /// The file, while held open (what a flush must make durable after a write).
    pub fn file(&self) -> Option<Arc<File>> {
        self.file.clone()
    }

    /// Lets go of the open file (the segment is no longer written; a pending flush keeps its
    /// own handle).
    pub fn release_file(&mut self) {
        self.file = None;
    }

    /// Where the next entry goes, and the file if it exists: what [`TxnIndex::write_entry`]
    /// needs, taken under the partition's state lock.
    pub fn append_target(&self) -> (PathBuf, Option<Arc<File>>, u64) {
        (self.path.clone(), self.file.clone(), (self.entries.len() * ENTRY_LEN) as u64)
    }

    /// Writes `entry` at `at` in the index file (creating it, and making its directory entry
    /// durable, if it does not exist yet). Runs outside the partition's state lock, under its
    /// append lock; [`TxnIndex::push_written`] then adds the entry to the index.
    pub fn write_entry(path: &Path, file: Option<Arc<File>>, at: u64, entry: AbortedTxn) -> io::Result<Written> {
        let file = match file {
            Some(f) => f,
            None => {
                let existed = path.exists();
                let f = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)?;
                if !existed {
                    if let Some(dir) = path.parent() {
                        crate::util::sync_dir(dir)?;
                    }
                }
                Arc::new(f)
            }
        };
        faults::check(Point::IndexWrite, path)?;
        file.write_all_at(&entry.encode(), at)?;
        Ok(Written { file, entry })
    }

    /// Adds an entry [`TxnIndex::write_entry`] wrote.
    pub fn push_written(&mut self, w: Written) {
        self.file = Some(w.file);
        self.entries.push(w.entry);
    }

    /// Adds an entry in memory only (a segment the cleaner writes: [`TxnIndex::sync`] writes
    /// the file whole).
    pub fn push(&mut self, entry: AbortedTxn) {
        if self.entries.last().is_none_or(|l| entry.last_offset > l.last_offset) {
            self.entries.push(entry);
        }
    }

    /// Drops the entries whose marker is at or after `offset` (Kafka's `truncateTo`), in
    /// memory and in the file.
    pub fn truncate_from(&mut self, offset: i64) -> io::Result<()> {
        let keep = self.entries.partition_point(|e| e.last_offset < offset);
        self.truncate_entries(keep)
    }

    fn truncate_entries(&mut self, keep: usize) -> io::Result<()> {
        self.entries.truncate(keep);
        let len = (keep * ENTRY_LEN) as u64;
        let file = match &self.file {
            Some(f) => f.clone(),
            None => match OpenOptions::new().write(true).open(&self.path) {
                Ok(f) => Arc::new(f),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            },
        };
        if file.metadata()?.len() != len {
            file.set_len(len)?;
        }
        Ok(())
    }

    /// Writes every entry to the file (created if there are any) and fsyncs it: for a segment
    /// the cleaner wrote, whose entries were only pushed in memory.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.entries.is_empty() && self.file.is_none() {
            return Ok(());
        }
        let file = match &self.file {
            Some(f) => f.clone(),
            None => Arc::new(OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&self.path)?),
        };
        let mut buf = Vec::with_capacity(self.entries.len() * ENTRY_LEN);
        for e in &self.entries {
            buf.extend_from_slice(&e.encode());
        }
        faults::check(Point::IndexWrite, &self.path)?;
        file.write_all_at(&buf, 0)?;
        file.set_len(buf.len() as u64)?;
        file.sync_data()
    }

    /// Removes the file (the segment is deleted).
    pub fn delete_file(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// The aborted transactions overlapping `[fetch_offset, upper_bound)` (marker at or after
    /// the fetch offset, first offset before the bound), appended to `out`; true once an entry
    /// shows that no later segment can hold more (its last stable offset reaches the bound:
    /// every transaction still open when it was written started at or after the bound),
    /// Kafka's `TransactionIndex.collectAbortedTxns`.
    pub fn collect(&self, fetch_offset: i64, upper_bound: i64, out: &mut Vec<AbortedTxn>) -> bool {
        for e in &self.entries {
            if e.last_offset >= fetch_offset && e.first_offset < upper_bound {
                out.push(*e);
            }
            if e.last_stable_offset >= upper_bound {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
        AbortedTxn { producer_id: pid, first_offset: first, last_offset: last, last_stable_offset: lso }
    }

    /// Kafka's byte layout: version 0, then the four longs.
    #[test]
    fn entries_are_kafkas_34_bytes() {
        let e = txn(7, 10, 20, 21);
        let b = e.encode();
        assert_eq!(b.len(), 34);
        assert_eq!(&b[0..2], &[0, 0]);
        assert_eq!(i64::from_be_bytes(b[2..10].try_into().unwrap()), 7);
        assert_eq!(i64::from_be_bytes(b[26..34].try_into().unwrap()), 21);
        assert_eq!(AbortedTxn::decode(&b), Some(e));
        let mut v1 = b;
        v1[1] = 1;
        assert_eq!(AbortedTxn::decode(&v1), None, "a version Kafka does not know is refused");
    }

    #[test]
    fn written_entries_survive_a_reopen_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.txnindex");
        let mut idx = TxnIndex::fresh(path.clone()).unwrap();
        assert!(!path.exists(), "no file before the first entry");
        for (i, e) in [txn(1, 0, 5, 6), txn(2, 3, 9, 10), txn(1, 11, 14, 15)].into_iter().enumerate() {
            let (p, f, at) = idx.append_target();
            assert_eq!(at, (i * ENTRY_LEN) as u64);
            let w = TxnIndex::write_entry(&p, f, at, e).unwrap();
            idx.push_written(w);
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * 34);
        drop(idx);
        let (mut idx, valid) = TxnIndex::open(path.clone(), 0, 10_000).unwrap();
        assert!(valid);
        assert_eq!(idx.entries().len(), 3);
        idx.truncate_from(9).unwrap();
        assert_eq!(idx.entries(), &[txn(1, 0, 5, 6)]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 34);
        let (idx, valid) = TxnIndex::open(path, 0, 10_000).unwrap();
        assert!(valid && idx.entries().len() == 1);
    }

    #[test]
    fn torn_unordered_or_oversized_files_are_invalid_and_emptied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txnindex");
        let mut bytes = txn(1, 0, 5, 6).encode().to_vec();
        bytes.extend_from_slice(&txn(1, 0, 7, 8).encode()[..20]);
        std::fs::write(&path, &bytes).unwrap();
        let (idx, valid) = TxnIndex::open(path.clone(), 0, 10_000).unwrap();
        assert!(!valid && idx.entries().is_empty());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        let mut unordered = txn(1, 0, 9, 10).encode().to_vec();
        unordered.extend_from_slice(&txn(1, 0, 5, 6).encode());
        std::fs::write(&path, &unordered).unwrap();
        assert!(!TxnIndex::open(path.clone(), 0, 10_000).unwrap().1);
        std::fs::write(&path, txn(1, 0, 5, 6).encode().repeat(10)).unwrap();
        assert!(!TxnIndex::open(path.clone(), 0, 100).unwrap().1, "more entries than a 100-byte segment can hold");
        std::fs::write(&path, txn(1, 0, 5, 6).encode()).unwrap();
        assert!(!TxnIndex::open(path, 6, 10_000).unwrap().1, "a marker before the segment's base");
    }

    /// Kafka's search: overlap with [fetch, upper), stopping at an entry whose last stable
    /// offset reaches the bound.
    #[test]
    fn collect_finds_the_overlapping_transactions() {
        let mut idx = TxnIndex { path: PathBuf::new(), entries: Vec::new(), file: None };
        idx.push(txn(1, 0, 5, 6));
        idx.push(txn(2, 3, 9, 11));
        idx.push(txn(3, 20, 25, 30));
        let mut out = Vec::new();
        assert!(!idx.collect(6, 100, &mut out));
        assert_eq!(out.iter().map(|e| e.producer_id).collect::<Vec<_>>(), vec![2, 3]);
        out.clear();
        assert!(idx.collect(0, 10, &mut out), "the second entry's LSO reaches the bound");
        assert_eq!(out.iter().map(|e| e.producer_id).collect::<Vec<_>>(), vec![1, 2]);
    }

    mod prop {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Arbitrary bytes never panic the decoder, which yields at most one entry per 34
            /// bytes there, each well-formed.
            #[test]
            fn decoding_arbitrary_bytes_is_bounded(data in proptest::collection::vec(any::<u8>(), 0..400), base in -5i64..100) {
                if let Some(entries) = decode_all(&data, base) {
                    prop_assert_eq!(entries.len() * ENTRY_LEN, data.len());
                    prop_assert!(entries.windows(2).all(|w| w[0].last_offset < w[1].last_offset));
                    prop_assert!(entries.iter().all(|e| e.first_offset <= e.last_offset && e.last_offset >= base));
                }
                let _ = AbortedTxn::decode(&data);
            }

            #[test]
            fn encoded_entries_decode_to_themselves(es in proptest::collection::vec((any::<i64>(), 0i64..1000, 0i64..1000, any::<i64>()), 0..10)) {
                let mut last = -1;
                let mut entries = Vec::new();
                for (pid, first, len, lso) in es {
                    let l = last + 1 + len;
                    entries.push(AbortedTxn { producer_id: pid, first_offset: first.min(l), last_offset: l, last_stable_offset: lso });
                    last = l;
                }
                let bytes: Vec<u8> = entries.iter().flat_map(|e| e.encode()).collect();
                prop_assert_eq!(decode_all(&bytes, 0), Some(entries));
            }
        }
    }
}
