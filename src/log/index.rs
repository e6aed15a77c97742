//! Sparse per-segment indexes: offset -> file position (`.index`) and timestamp -> offset
//! (`.timeindex`). Entries live in memory; the files are written in batches (when a segment
//! rolls, periodically, and at shutdown) and never held open, so a partition costs one file
//! descriptor, and a file is only created once it has an entry to hold (a new partition costs
//! one inode for its log, not three). Both are derived data: a missing, short or inconsistent
//! file is rebuilt from the segment's batch headers at startup.
//!
//! `.index` entries are 8 bytes: relative offset u32, position u32 (big-endian).
//! `.timeindex` entries are 12 bytes: timestamp i64, relative offset u32 (big-endian).

use std::fs::OpenOptions;
use std::io;
use std::path::PathBuf;

use super::faults::{self, Point};

/// A fixed-size index entry.
trait Entry: Copy {
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(b: &[u8]) -> Self;
}

impl Entry for (u32, u32) {
    const SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
        out.extend_from_slice(&self.1.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        (u32::from_be_bytes([b[0], b[1], b[2], b[3]]), u32::from_be_bytes([b[4], b[5], b[6], b[7]]))
    }
}

impl Entry for (i64, u32) {
    const SIZE: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
        out.extend_from_slice(&self.1.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[0..8]);
        (i64::from_be_bytes(ts), u32::from_be_bytes([b[8], b[9], b[10], b[11]]))
    }
}

/// Most index entries a segment of `segment_len` bytes can have: one per batch at most.
fn max_entries(segment_len: u64) -> u64 {
    segment_len / super::batch::HEADER_LEN as u64 + 1
}

/// Entries in memory plus how many of them are already in the file.
///
/// Reads only ever use the entries in memory; the file matters at the next startup, where
/// it is trusted if it passes [`OffsetIndex::open`]'s checks. So a failed write must never
/// leave a file whose entries are well-formed but wrong: after one, the file is marked
/// stale and the next write rewrites it whole.
#[derive(Debug)]
struct EntryFile<T> {
    path: PathBuf,
    entries: Vec<T>,
    persisted: usize,
    /// A write failed: the file may hold a torn entry after `persisted` ones, or (a failed
    /// rewrite) entries no longer in memory.
    stale: bool,
}

impl<T: Entry> EntryFile<T> {
    /// An empty index for a new segment: removes a stale file of the same name, creates none.
    fn fresh(path: PathBuf) -> io::Result<Self> {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Self { path, entries: Vec::new(), persisted: 0, stale: false })
    }

    /// Empties an index that failed its checks: the file (if any) is truncated, none is created.
    fn reset(&mut self, exists: bool) -> io::Result<()> {
        self.entries.clear();
        if exists {
            self.rewrite()?;
        }
        self.persisted = 0;
        Ok(())
    }

    /// Loads the file; the flag is false when its length is not a whole number of entries.
    /// Reads the file, unless it is longer than `max_entries` entries could be (a damaged
    /// or foreign file is not read into memory whatever its size: it counts as invalid and
    /// is rebuilt). The flag says whether the file is whole entries within that bound.
    fn load(path: PathBuf, max_entries: u64) -> (Self, bool) {
        let too_long = std::fs::metadata(&path).is_ok_and(|m| m.len() > max_entries.saturating_mul(T::SIZE as u64));
        if too_long {
            return (Self { path, entries: Vec::new(), persisted: 0, stale: false }, false);
        }
        let data = std::fs::read(&path).unwrap_or_default();
        let aligned = data.len().is_multiple_of(T::SIZE);
        let entries: Vec<T> = data.chunks_exact(T::SIZE).map(T::decode).collect();
        let persisted = entries.len();
        (Self { path, entries, persisted, stale: false }, aligned)
    }

    /// Appends the entries not yet in the file (rewrites it whole after a failed write).
    fn persist(&mut self) -> io::Result<()> {
        if self.stale {
            return self.rewrite();
        }
        if self.persisted >= self.entries.len() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity((self.entries.len() - self.persisted) * T::SIZE);
        for e in &self.entries[self.persisted..] {
            e.encode(&mut buf);
        }
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| faults::write_all(Point::IndexWrite, &self.path, &mut f, &buf));
        if let Err(e) = written {
            self.stale = true;
            return Err(e);
        }
        self.persisted = self.entries.len();
        Ok(())
    }

    /// Rewrites the whole file (after entries were dropped, or a write failed).
    fn rewrite(&mut self) -> io::Result<()> {
        let mut buf = Vec::with_capacity(self.entries.len() * T::SIZE);
        for e in &self.entries {
            e.encode(&mut buf);
        }
        let written = std::fs::File::create(&self.path)
            .and_then(|mut f| faults::write_all(Point::IndexWrite, &self.path, &mut f, &buf));
        if let Err(e) = written {
            // The old contents may still be there, entries the log no longer matches among
            // them: better no file (rebuilt at startup) than that one.
            self.stale = std::fs::remove_file(&self.path).is_err();
            self.persisted = 0;
            return Err(e);
        }
        self.stale = false;
        self.persisted = self.entries.len();
        Ok(())
    }

    fn truncate(&mut self, keep: usize) -> io::Result<()> {
        if keep < self.entries.len() {
            self.entries.truncate(keep);
            if keep < self.persisted {
                return self.rewrite();
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.persist()?;
        faults::check(Point::IndexWrite, &self.path)?;
        match std::fs::File::open(&self.path) {
            Ok(f) => f.sync_data(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Offset index of one segment.
#[derive(Debug)]
pub struct OffsetIndex(EntryFile<(u32, u32)>);

/// Time index of one segment: each entry says "the largest timestamp up to here first reached
/// `timestamp` in the batch at `relative offset`", so entries are strictly increasing in both.
#[derive(Debug)]
pub struct TimeIndex(EntryFile<(i64, u32)>);

impl OffsetIndex {
    /// The file this index persists to.
    pub fn path(&self) -> &std::path::Path {
        &self.0.path
    }

    /// Points the index at its file's new name (after the file was renamed).
    pub fn set_path(&mut self, path: PathBuf) {
        self.0.path = path;
    }

    /// Opens an index; the flag is false (and the index empty) when the file is missing or
    /// fails the consistency checks (increasing offsets and positions within `segment_len`).
    pub fn open(path: PathBuf, segment_len: u64) -> io::Result<(Self, bool)> {
        let exists = path.exists();
        // Entries point at distinct batches, each at least a batch header long.
        let (mut f, aligned) = EntryFile::<(u32, u32)>::load(path, max_entries(segment_len));
        let ordered = f.entries.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1);
        let inside = f.entries.last().is_none_or(|e| (e.1 as u64) < segment_len);
        let valid = exists && aligned && ordered && inside;
        if !valid {
            f.reset(exists)?;
        }
        Ok((Self(f), valid))
    }

    /// An empty index for a new segment (no file until the first entry is persisted).
    pub fn fresh(path: PathBuf) -> io::Result<Self> {
        Ok(Self(EntryFile::fresh(path)?))
    }

    pub fn append(&mut self, rel: u32, pos: u32) {
        if self.0.entries.last().is_none_or(|&(lr, lp)| rel > lr && pos > lp) {
            self.0.entries.push((rel, pos));
        }
    }

    /// Position of the last indexed batch starting at or before `rel`, or 0.
    pub fn lookup(&self, rel: u32) -> u32 {
        let i = self.0.entries.partition_point(|&(r, _)| r <= rel);
        if i == 0 {
            0
        } else {
            self.0.entries[i - 1].1
        }
    }

    /// Drops entries at or beyond `pos` (after the log was truncated there).
    pub fn truncate_to_position(&mut self, pos: u64) -> io::Result<()> {
        let keep = self.0.entries.partition_point(|&(_, p)| (p as u64) < pos);
        self.0.truncate(keep)
    }

    pub fn clear(&mut self) -> io::Result<()> {
        self.0.truncate(0)
    }

    pub fn last(&self) -> Option<(u32, u32)> {
        self.0.entries.last().copied()
    }

    pub fn len(&self) -> usize {
        self.0.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.entries.is_empty()
    }

    /// Writes entries added since the last call.
    pub fn persist(&mut self) -> io::Result<()> {
        self.0.persist()
    }

    pub fn sync(&mut self) -> io::Result<()> {
        self.0.sync()
    }
}

impl TimeIndex {
    /// The file this index persists to.
    pub fn path(&self) -> &std::path::Path {
        &self.0.path
    }

    /// Points the index at its file's new name (after the file was renamed).
    pub fn set_path(&mut self, path: PathBuf) {
        self.0.path = path;
    }

    /// Opens a time index; see [`OffsetIndex::open`] for the validity rule.
    pub fn open(path: PathBuf, max_rel: u32, segment_len: u64) -> io::Result<(Self, bool)> {
        let exists = path.exists();
        let (mut f, aligned) = EntryFile::<(i64, u32)>::load(path, max_entries(segment_len));
        let ordered = f.entries.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
        let inside = f.entries.last().is_none_or(|e| e.1 <= max_rel);
        let valid = exists && aligned && ordered && inside;
        if !valid {
            f.reset(exists)?;
        }
        Ok((Self(f), valid))
    }

    /// An empty time index for a new segment (no file until the first entry is persisted).
    pub fn fresh(path: PathBuf) -> io::Result<Self> {
        Ok(Self(EntryFile::fresh(path)?))
    }

    /// Appends an entry if `ts` is larger than the last one.
    pub fn maybe_append(&mut self, ts: i64, rel: u32) {
        if self.0.entries.last().is_none_or(|&(lt, _)| ts > lt) {
            self.0.entries.push((ts, rel));
        }
    }

    /// Relative offset of the batch to start a search for the first record with a timestamp
    /// at or after `ts`: the last entry whose timestamp is <= `ts`, or 0.
    pub fn lookup(&self, ts: i64) -> u32 {
        let i = self.0.entries.partition_point(|&(t, _)| t <= ts);
        if i == 0 {
            0
        } else {
            self.0.entries[i - 1].1
        }
    }

    pub fn last(&self) -> Option<(i64, u32)> {
        self.0.entries.last().copied()
    }

    /// Drops entries pointing at or beyond `rel`.
    pub fn truncate_to_rel(&mut self, rel: u32) -> io::Result<()> {
        let keep = self.0.entries.partition_point(|&(_, r)| r < rel);
        self.0.truncate(keep)
    }

    pub fn clear(&mut self) -> io::Result<()> {
        self.0.truncate(0)
    }

    pub fn persist(&mut self) -> io::Result<()> {
        self.0.persist()
    }

    pub fn sync(&mut self) -> io::Result<()> {
        self.0.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index file longer than its segment could need is neither trusted nor read into
    /// memory: it counts as invalid (and is rebuilt from the segment).
    #[test]
    fn an_index_longer_than_its_segment_allows_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let entries: Vec<u8> =
            (0..100_000u32).flat_map(|i| [i.to_be_bytes(), (i * 64).to_be_bytes()].concat()).collect();
        std::fs::write(&p, &entries).unwrap();
        let (idx, valid) = OffsetIndex::open(p.clone(), 10_000).unwrap();
        assert!(!valid);
        assert!(idx.is_empty());
        let t = dir.path().join("0.timeindex");
        std::fs::write(&t, vec![0u8; 12 * 1000]).unwrap();
        let (ti, valid) = TimeIndex::open(t, u32::MAX, 6_100).unwrap();
        assert!(!valid && ti.last().is_none());
    }

    #[test]
    fn offset_index_lookup_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let (mut idx, _) = OffsetIndex::open(p.clone(), 10_000).unwrap();
        idx.append(10, 4096);
        idx.append(20, 8192);
        idx.append(15, 9000); // out of order: ignored
        assert_eq!(idx.lookup(5), 0);
        assert_eq!(idx.lookup(10), 4096);
        assert_eq!(idx.lookup(19), 4096);
        assert_eq!(idx.lookup(25), 8192);
        idx.persist().unwrap();
        drop(idx);
        let (idx, valid) = OffsetIndex::open(p.clone(), 10_000).unwrap();
        assert!(valid);
        assert_eq!(idx.len(), 2);
        // An index pointing past the end of the segment is stale and dropped.
        let (idx2, valid) = OffsetIndex::open(p, 5000).unwrap();
        assert!(!valid);
        assert!(idx2.is_empty());
        drop(idx);
    }

    #[test]
    fn offset_index_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let (mut idx, _) = OffsetIndex::open(p.clone(), 100_000).unwrap();
        for i in 1..10u32 {
            idx.append(i * 10, i * 1000);
        }
        idx.persist().unwrap();
        idx.truncate_to_position(5000).unwrap();
        assert_eq!(idx.last(), Some((40, 4000)));
        let (idx, valid) = OffsetIndex::open(p, 100_000).unwrap();
        assert!(valid);
        assert_eq!(idx.len(), 4);
    }

    #[test]
    fn unpersisted_entries_are_not_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let (mut idx, _) = OffsetIndex::open(p.clone(), 100_000).unwrap();
        idx.append(1, 100);
        idx.persist().unwrap();
        idx.append(2, 200);
        let (reloaded, valid) = OffsetIndex::open(p, 100_000).unwrap();
        assert!(valid);
        assert_eq!(reloaded.last(), Some((1, 100)));
        drop(idx);
    }

    /// A write that fails part-way leaves a torn entry in the file; the next write rewrites
    /// the file whole instead of appending after it, and a reload sees exactly the entries.
    #[test]
    fn a_torn_write_is_repaired_by_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let (mut idx, _) = OffsetIndex::open(p.clone(), 100_000).unwrap();
        idx.append(1, 100);
        idx.persist().unwrap();
        idx.append(2, 200);
        idx.append(3, 300);
        {
            let _full = faults::arm(Point::IndexWrite, &p, faults::Fault::enospc().after_bytes(11).once());
            assert!(idx.persist().is_err());
        }
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 8 + 11, "the torn bytes are in the file");
        idx.persist().unwrap();
        let (reloaded, valid) = OffsetIndex::open(p, 100_000).unwrap();
        assert!(valid);
        assert_eq!((reloaded.len(), reloaded.last()), (3, Some((3, 300))));
    }

    #[test]
    fn time_index_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, _) = TimeIndex::open(dir.path().join("0.timeindex"), 1000, 1 << 20).unwrap();
        t.maybe_append(100, 0);
        t.maybe_append(200, 10);
        t.maybe_append(150, 20); // not larger: ignored
        assert_eq!(t.lookup(50), 0);
        assert_eq!(t.lookup(199), 0);
        assert_eq!(t.lookup(200), 10);
        assert_eq!(t.last(), Some((200, 10)));
    }
}
