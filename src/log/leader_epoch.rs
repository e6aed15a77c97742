//! The leader-epoch cache of a partition and its `leader-epoch-checkpoint` file (Kafka's
//! `LeaderEpochFileCache` and format): for each leader epoch, the first offset written in
//! it. Batches are stamped with the current epoch; OffsetForLeaderEpoch and a follower's
//! truncation read the cache. The file is text, replaced whole (not fsynced: it is derived) on every change:
//!
//! ```text
//! 0            version
//! 2            number of entries
//! 0 0          epoch start-offset
//! 3 1500
//! ```

use std::io;
use std::path::{Path, PathBuf};

use super::checkpoint_file;

pub const CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

/// Largest checkpoint file read (a real one holds a line per leader change); a larger or
/// malformed file is ignored and rebuilt from the current epoch.
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

#[derive(Debug)]
pub struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// Loads the checkpoint in `dir` (a missing, oversized or malformed file gives an empty
    /// cache: it only ever records derived facts, and the next append re-creates it).
    pub fn load(dir: &Path) -> Self {
        let path = dir.join(CHECKPOINT_FILE);
        let entries = read_checkpoint(&path).unwrap_or_else(|| {
            if path.exists() {
                tracing::warn!(path = %path.display(), "ignoring a malformed leader-epoch checkpoint");
            }
            Vec::new()
        });
        Self { path, entries }
    }

    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Records that `epoch` starts at `start_offset` (the first batch written in it), if it
    /// is newer than the latest one. Returns whether the cache changed (and was written).
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> io::Result<bool> {
        if self.latest_epoch().is_some_and(|l| epoch <= l) {
            return Ok(false);
        }
        self.entries.push(EpochEntry { epoch, start_offset });
        self.persist()?;
        Ok(true)
    }

    /// Drops what lies below a new log start: the entry covering `log_start` now starts
    /// there (Kafka's `truncateFromStartAsyncFlush`).
    pub fn truncate_from_start(&mut self, log_start: i64) -> io::Result<()> {
        let covering = self.entries.iter().rposition(|e| e.start_offset <= log_start);
        let Some(i) = covering else { return Ok(()) };
        if i == 0 && self.entries[0].start_offset == log_start {
            return Ok(());
        }
        self.entries.drain(..i);
        self.entries[0].start_offset = log_start;
        self.persist()
    }

    /// Drops epochs that start past `log_end` (in a tail recovery cut off). One starting at
    /// the log end stays: it is the current epoch, with nothing written in it yet (Kafka takes
    /// the current epoch from the metadata log; a single node keeps it here).
    pub fn truncate_from_end(&mut self, log_end: i64) -> io::Result<()> {
        let keep = self.entries.iter().take_while(|e| e.start_offset <= log_end).count();
        if keep == self.entries.len() {
            return Ok(());
        }
        self.entries.truncate(keep);
        self.persist()
    }

    /// OffsetForLeaderEpoch, as Kafka's `endOffsetFor`: for the latest epoch, the log end;
    /// for an older one, the largest known epoch <= it and where the next known epoch starts;
    /// for one older than every known epoch, itself and the first known start; `(-1, -1)`
    /// (UNDEFINED) for -1, a newer epoch than any known, or an empty cache.
    pub fn end_offset_for(&self, epoch: i32, log_end: i64) -> (i32, i64) {
        const UNDEFINED: (i32, i64) = (-1, -1);
        if epoch == -1 {
            return UNDEFINED;
        }
        if self.latest_epoch() == Some(epoch) {
            return (epoch, log_end);
        }
        let Some(higher) = self.entries.iter().find(|e| e.epoch > epoch) else { return UNDEFINED };
        match self.entries.iter().rev().find(|e| e.epoch <= epoch) {
            Some(floor) => (floor.epoch, higher.start_offset),
            None => (epoch, higher.start_offset),
        }
    }

    fn persist(&self) -> io::Result<()> {
        let lines: Vec<String> = self.entries.iter().map(|e| format!("{} {}", e.epoch, e.start_offset)).collect();
        let text = checkpoint_file::render(&lines);
        // Replaced whole (temp file, rename) but not fsynced: the file is derived from the
        // log (its epochs are on the batches), and a crash that loses or empties it costs a
        // rebuild at the next open, never a wrong epoch; an fsync per new partition would
        // slow creating thousands of them.
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, text.as_bytes()).and_then(|()| std::fs::rename(&tmp, &self.path)).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

fn read_checkpoint(path: &Path) -> Option<Vec<EpochEntry>> {
    let mut last: Option<EpochEntry> = None;
    checkpoint_file::read(path, MAX_FILE_BYTES, |line| {
        let mut it = line.split_whitespace();
        let epoch: i32 = it.next()?.parse().ok()?;
        let start_offset: i64 = it.next()?.parse().ok()?;
        if it.next().is_some() || epoch < 0 || start_offset < 0 {
            return None;
        }
        // Epochs and their start offsets only grow.
        if last.is_some_and(|l| l.epoch >= epoch || l.start_offset > start_offset) {
            return None;
        }
        last = Some(EpochEntry { epoch, start_offset });
        last
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_reload_in_kafkas_text_format() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path());
        assert_eq!(c.latest_epoch(), None);
        assert!(c.assign(0, 0).unwrap());
        assert!(!c.assign(0, 10).unwrap(), "an epoch is assigned once");
        assert!(c.assign(3, 1500).unwrap());
        let text = std::fs::read_to_string(dir.path().join(CHECKPOINT_FILE)).unwrap();
        assert_eq!(text, "0\n2\n0 0\n3 1500\n");
        let c = LeaderEpochCache::load(dir.path());
        assert_eq!(
            c.entries(),
            &[EpochEntry { epoch: 0, start_offset: 0 }, EpochEntry { epoch: 3, start_offset: 1500 }]
        );
        assert_eq!(c.end_offset_for(0, 2000), (0, 1500));
        assert_eq!(c.end_offset_for(2, 2000), (0, 1500), "an unknown epoch between: the one before");
        assert_eq!(c.end_offset_for(3, 2000), (3, 2000), "the latest: the log end");
        assert_eq!(c.end_offset_for(7, 2000), (-1, -1), "newer than any known");
        assert_eq!(c.end_offset_for(-1, 2000), (-1, -1));
    }

    #[test]
    fn an_epoch_older_than_every_known_one_ends_where_the_first_starts() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path());
        assert_eq!(c.end_offset_for(0, 10), (-1, -1), "empty cache");
        c.assign(4, 100).unwrap();
        c.assign(6, 300).unwrap();
        assert_eq!(c.end_offset_for(2, 500), (2, 100));
    }

    #[test]
    fn truncation_from_either_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LeaderEpochCache::load(dir.path());
        for (e, o) in [(0, 0), (1, 100), (2, 200)] {
            c.assign(e, o).unwrap();
        }
        c.truncate_from_start(150).unwrap();
        assert_eq!(
            c.entries(),
            &[EpochEntry { epoch: 1, start_offset: 150 }, EpochEntry { epoch: 2, start_offset: 200 }]
        );
        c.truncate_from_end(200).unwrap();
        assert_eq!(c.entries().len(), 2, "the current epoch starting at the log end stays");
        c.truncate_from_end(199).unwrap();
        assert_eq!(c.entries(), &[EpochEntry { epoch: 1, start_offset: 150 }]);
        assert_eq!(LeaderEpochCache::load(dir.path()).entries(), c.entries());
    }

    #[test]
    fn a_malformed_or_lying_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CHECKPOINT_FILE);
        for bad in
            ["", "1\n0\n", "0\n99999999999\n0 0\n", "0\n2\n0 0\n", "0\n1\n0 x\n", "0\n2\n3 10\n1 20\n", "0\n1\n-1 0\n"]
        {
            std::fs::write(&path, bad).unwrap();
            assert!(LeaderEpochCache::load(dir.path()).entries().is_empty(), "{bad:?}");
        }
    }
}
