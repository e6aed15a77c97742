//! The cleaner's bounded key map (Kafka's `SkimpyOffsetMap`): the MD5 of each key and the
//! latest offset seen for it, in an open-addressed table of fixed size, so a pass uses at
//! most the memory it is given whatever the number of keys; once it is full the pass cleans
//! only up to the last offset the map covers.

use super::md5::md5;

/// Bytes one slot takes: a 16-byte hash and an 8-byte offset (Kafka's figure).
pub const BYTES_PER_ENTRY: u64 = 24;
/// The map counts as full at this share of its slots (Kafka's `log.cleaner.io.buffer.load.factor`).
pub const LOAD_FACTOR: f64 = 0.9;

pub struct OffsetMap {
    hashes: Vec<[u8; 16]>,
    /// -1 marks an empty slot (log offsets are never negative).
    offsets: Vec<i64>,
    entries: usize,
    /// The largest offset put, or advanced to ([`OffsetMap::update_latest`]); -1 when none.
    latest: i64,
}

impl OffsetMap {
    /// A map of `slots` slots (at least 2).
    pub fn with_slots(slots: usize) -> Self {
        let slots = slots.max(2);
        Self { hashes: vec![[0u8; 16]; slots], offsets: vec![-1; slots], entries: 0, latest: -1 }
    }

    /// A map for at most `keys` distinct keys within `memory` bytes: no larger than either
    /// needs (a small log does not get the whole dedupe buffer).
    pub fn sized(memory: u64, keys: u64) -> Self {
        let by_memory = (memory / BYTES_PER_ENTRY).max(2);
        let by_keys = ((keys as f64 / LOAD_FACTOR).ceil() as u64).saturating_add(2);
        Self::with_slots(by_memory.min(by_keys).min(usize::MAX as u64) as usize)
    }

    pub fn slots(&self) -> usize {
        self.offsets.len()
    }

    /// Whether another key may be added (below the load factor).
    pub fn has_room(&self) -> bool {
        (self.entries as f64) < self.slots() as f64 * LOAD_FACTOR
    }

    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    pub fn latest_offset(&self) -> i64 {
        self.latest
    }

    /// Records the map as covering every offset up to `offset` (the end of a batch or of a
    /// segment walked whole).
    pub fn update_latest(&mut self, offset: i64) {
        self.latest = self.latest.max(offset);
    }

    fn slot_of(&self, hash: &[u8; 16]) -> usize {
        let h = u64::from_le_bytes(hash[..8].try_into().expect("8 bytes"));
        (h % self.slots() as u64) as usize
    }

    /// Records `offset` as the latest for `key`. The caller checks [`OffsetMap::has_room`]
    /// first; a full table (never reached below the load factor) drops the key.
    pub fn put(&mut self, key: &[u8], offset: i64) {
        let hash = md5(key);
        let mut i = self.slot_of(&hash);
        for _ in 0..self.slots() {
            if self.offsets[i] < 0 {
                self.hashes[i] = hash;
                self.offsets[i] = offset;
                self.entries += 1;
                break;
            }
            if self.hashes[i] == hash {
                self.offsets[i] = self.offsets[i].max(offset);
                break;
            }
            i = (i + 1) % self.slots();
        }
        self.latest = self.latest.max(offset);
    }

    /// The latest offset recorded for `key`, or -1.
    pub fn get(&self, key: &[u8]) -> i64 {
        let hash = md5(key);
        let mut i = self.slot_of(&hash);
        for _ in 0..self.slots() {
            if self.offsets[i] < 0 {
                return -1;
            }
            if self.hashes[i] == hash {
                return self.offsets[i];
            }
            i = (i + 1) % self.slots();
        }
        -1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_offset_per_key_and_fills_at_the_load_factor() {
        let mut m = OffsetMap::with_slots(10);
        for i in 0..9 {
            assert!(m.has_room());
            m.put(format!("k{i}").as_bytes(), i);
        }
        assert!(!m.has_room(), "9 of 10 slots is the load factor");
        m.put(b"k3", 100);
        m.put(b"k3", 50);
        assert_eq!((m.get(b"k3"), m.get(b"k8"), m.get(b"nope")), (100, 8, -1));
        assert_eq!((m.len(), m.latest_offset()), (9, 100));
    }

    #[test]
    fn sized_by_the_smaller_of_memory_and_keys() {
        assert_eq!(OffsetMap::sized(24 * 1000, 10).slots(), 14);
        assert_eq!(OffsetMap::sized(24 * 1000, 1 << 40).slots(), 1000);
        assert_eq!(OffsetMap::sized(0, 0).slots(), 2);
    }
}
