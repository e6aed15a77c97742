//! Sparse per-segment indexes: offset -> file position (`.index`) and timestamp -> offset
//! (`.timeindex`). Kept in memory and appended to their files; both are derived data, so a
//! missing or inconsistent file is rebuilt from the segment at startup.
//!
//! `.index` entries are 8 bytes: relative offset u32, position u32 (big-endian).
//! `.timeindex` entries are 12 bytes: timestamp i64, relative offset u32 (big-endian).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Offset index of one segment.
#[derive(Debug)]
pub struct OffsetIndex {
    path: PathBuf,
    file: File,
    entries: Vec<(u32, u32)>,
}

/// Time index of one segment: each entry says "the largest timestamp up to here first reached
/// `timestamp` in the batch at `relative offset`", so entries are strictly increasing in both.
#[derive(Debug)]
pub struct TimeIndex {
    path: PathBuf,
    file: File,
    entries: Vec<(i64, u32)>,
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).read(true).open(path)
}

fn rewrite(path: &Path, bytes: &[u8]) -> io::Result<File> {
    std::fs::write(path, bytes)?;
    open_append(path)
}

impl OffsetIndex {
    /// Opens an index, returning `None` for the entries when the file is missing or fails the
    /// consistency checks (increasing offsets and positions, positions within `segment_len`).
    pub fn open(path: PathBuf, segment_len: u64) -> io::Result<(Self, bool)> {
        let data = std::fs::read(&path).unwrap_or_default();
        let mut entries = Vec::with_capacity(data.len() / 8);
        let mut valid = data.len().is_multiple_of(8);
        for chunk in data.chunks_exact(8) {
            let rel = u32::from_be_bytes(chunk[0..4].try_into().unwrap_or_default());
            let pos = u32::from_be_bytes(chunk[4..8].try_into().unwrap_or_default());
            if let Some(&(lr, lp)) = entries.last() {
                if rel <= lr || pos <= lp {
                    valid = false;
                }
            }
            if pos as u64 >= segment_len {
                valid = false;
            }
            entries.push((rel, pos));
        }
        if !valid {
            entries.clear();
        }
        let file = if valid { open_append(&path)? } else { rewrite(&path, &[])? };
        Ok((Self { path, file, entries }, valid))
    }

    pub fn append(&mut self, rel: u32, pos: u32) -> io::Result<()> {
        if let Some(&(lr, lp)) = self.entries.last() {
            if rel <= lr || pos <= lp {
                return Ok(());
            }
        }
        let mut buf = [0u8; 8];
        buf[0..4].copy_from_slice(&rel.to_be_bytes());
        buf[4..8].copy_from_slice(&pos.to_be_bytes());
        self.file.write_all(&buf)?;
        self.entries.push((rel, pos));
        Ok(())
    }

    /// Position of the last indexed batch starting at or before `rel`, or 0.
    pub fn lookup(&self, rel: u32) -> u32 {
        let i = self.entries.partition_point(|&(r, _)| r <= rel);
        if i == 0 {
            0
        } else {
            self.entries[i - 1].1
        }
    }

    /// Drops entries at or beyond `pos` (after the log was truncated there).
    pub fn truncate_to_position(&mut self, pos: u64) -> io::Result<()> {
        let keep = self.entries.partition_point(|&(_, p)| (p as u64) < pos);
        if keep != self.entries.len() {
            self.entries.truncate(keep);
            let bytes: Vec<u8> =
                self.entries.iter().flat_map(|&(r, p)| r.to_be_bytes().into_iter().chain(p.to_be_bytes())).collect();
            self.file = rewrite(&self.path, &bytes)?;
        }
        Ok(())
    }

    pub fn clear(&mut self) -> io::Result<()> {
        self.truncate_to_position(0)
    }

    pub fn last(&self) -> Option<(u32, u32)> {
        self.entries.last().copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

impl TimeIndex {
    /// Opens a time index; see [`OffsetIndex::open`] for the validity rule.
    pub fn open(path: PathBuf, max_rel: u32) -> io::Result<(Self, bool)> {
        let data = std::fs::read(&path).unwrap_or_default();
        let mut entries = Vec::with_capacity(data.len() / 12);
        let mut valid = data.len().is_multiple_of(12);
        for chunk in data.chunks_exact(12) {
            let ts = i64::from_be_bytes(chunk[0..8].try_into().unwrap_or_default());
            let rel = u32::from_be_bytes(chunk[8..12].try_into().unwrap_or_default());
            if let Some(&(lt, lr)) = entries.last() {
                if ts <= lt || rel < lr {
                    valid = false;
                }
            }
            if rel > max_rel {
                valid = false;
            }
            entries.push((ts, rel));
        }
        if !valid {
            entries.clear();
        }
        let file = if valid { open_append(&path)? } else { rewrite(&path, &[])? };
        Ok((Self { path, file, entries }, valid))
    }

    /// Appends an entry if `ts` is larger than the last one.
    pub fn maybe_append(&mut self, ts: i64, rel: u32) -> io::Result<()> {
        if let Some(&(lt, _)) = self.entries.last() {
            if ts <= lt {
                return Ok(());
            }
        }
        let mut buf = [0u8; 12];
        buf[0..8].copy_from_slice(&ts.to_be_bytes());
        buf[8..12].copy_from_slice(&rel.to_be_bytes());
        self.file.write_all(&buf)?;
        self.entries.push((ts, rel));
        Ok(())
    }

    /// Relative offset of the batch to start a search for the first record with a timestamp
    /// at or after `ts`: the last entry whose timestamp is <= `ts`, or 0.
    pub fn lookup(&self, ts: i64) -> u32 {
        let i = self.entries.partition_point(|&(t, _)| t <= ts);
        if i == 0 {
            0
        } else {
            self.entries[i - 1].1
        }
    }

    pub fn last(&self) -> Option<(i64, u32)> {
        self.entries.last().copied()
    }

    /// Drops entries pointing at or beyond `rel`.
    pub fn truncate_to_rel(&mut self, rel: u32) -> io::Result<()> {
        let keep = self.entries.partition_point(|&(_, r)| r < rel);
        if keep != self.entries.len() {
            self.entries.truncate(keep);
            let bytes: Vec<u8> =
                self.entries.iter().flat_map(|&(t, r)| t.to_be_bytes().into_iter().chain(r.to_be_bytes())).collect();
            self.file = rewrite(&self.path, &bytes)?;
        }
        Ok(())
    }

    pub fn clear(&mut self) -> io::Result<()> {
        self.truncate_to_rel(0)
    }

    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_lookup_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.index");
        let (mut idx, _) = OffsetIndex::open(p.clone(), 10_000).unwrap();
        idx.append(10, 4096).unwrap();
        idx.append(20, 8192).unwrap();
        idx.append(15, 9000).unwrap(); // out of order: ignored
        assert_eq!(idx.lookup(5), 0);
        assert_eq!(idx.lookup(10), 4096);
        assert_eq!(idx.lookup(19), 4096);
        assert_eq!(idx.lookup(25), 8192);
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
            idx.append(i * 10, i * 1000).unwrap();
        }
        idx.truncate_to_position(5000).unwrap();
        assert_eq!(idx.last(), Some((40, 4000)));
        let (idx, valid) = OffsetIndex::open(p, 100_000).unwrap();
        assert!(valid);
        assert_eq!(idx.len(), 4);
    }

    #[test]
    fn time_index_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let (mut t, _) = TimeIndex::open(dir.path().join("0.timeindex"), 1000).unwrap();
        t.maybe_append(100, 0).unwrap();
        t.maybe_append(200, 10).unwrap();
        t.maybe_append(150, 20).unwrap(); // not larger: ignored
        assert_eq!(t.lookup(50), 0);
        assert_eq!(t.lookup(199), 0);
        assert_eq!(t.lookup(200), 10);
        assert_eq!(t.last(), Some((200, 10)));
    }
}
