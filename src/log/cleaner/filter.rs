//! One batch through the cleaner (Kafka's `MemoryRecords.filterTo` with the cleaner's record
//! filter): which records survive, and whether the batch is dropped, copied verbatim, or
//! rewritten with only its survivors.
//!
//! Rules, as Kafka's cleaner applies them to v2 batches:
//! - a record survives if its offset is past what the key map covers, or it holds the
//!   latest offset of its key; a tombstone (null value) survives only while its batch has no
//!   delete horizon yet or the horizon is still ahead (KIP-534); a record without a key is
//!   dropped;
//! - a batch whose records all survive is copied byte for byte, unless it keeps a tombstone
//!   and has no delete horizon: then it is rewritten to carry one (`now +
//!   delete.retention.ms`, in `baseTimestamp`, with attribute bit 0x40), so the tombstone
//!   goes at the first clean after that time;
//! - a rewritten batch keeps its base offset, `lastOffsetDelta` (so the producer's last
//!   sequence survives), partition leader epoch, producer id, epoch and base sequence, and
//!   its timestamp type; `maxTimestamp` is the survivors' largest (the original for
//!   LogAppendTime), `baseTimestamp` the first survivor's (or the delete horizon). Survivors
//!   are compressed again with the batch's own codec (`compression::compress`; uncompressed
//!   if that fails);
//! - a batch left without records is dropped, unless it must stay as an empty batch (header
//!   only, Kafka's `RETAIN_EMPTY`): the last batch of an idempotent producer still active
//!   (its sequence), and the last batch of each cleaned segment (its offsets).
//!
//! Transactions (Kafka's `LogCleaner.cleanInto` with `CleanedTransactionMetadata`, see
//! `txn.rs`): the batches of an aborted transaction lose all their records whatever their
//! keys; a transaction marker keeps its record until it is discardable (nothing of its
//! transaction left) and its batch's delete horizon has passed: a discardable marker without
//! a horizon is rewritten with one (`now + delete.retention.ms`), as a tombstone is.

use std::borrow::Cow;
use std::io::Read;

use bytes::{BufMut, BytesMut};

use super::offset_map::OffsetMap;
use crate::log::batch::{
    self, BatchHeader, ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_TIMESTAMP_TYPE, ATTR_TRANSACTIONAL, HEADER_LEN,
    LOG_OVERHEAD,
};
use crate::log::compression;
use crate::log::records::{encode_record, RecordsError};

/// Attribute bit of a batch whose `baseTimestamp` is its delete horizon (KIP-534).
pub const ATTR_DELETE_HORIZON: i16 = 0x40;

/// One record of a batch, borrowed from its (decompressed) payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

fn invalid(m: &str) -> RecordsError {
    RecordsError::Invalid(format!("cannot clean a batch: {m}"))
}

/// The batch's records payload, decompressed (at most `limit` bytes) when it is compressed.
pub fn payload<'a>(h: &BatchHeader, batch: &'a [u8], limit: u64) -> Result<Cow<'a, [u8]>, RecordsError> {
    let raw = batch.get(HEADER_LEN..).ok_or_else(|| invalid("shorter than its header"))?;
    if h.compression() == compression::NONE {
        return Ok(Cow::Borrowed(raw));
    }
    let block_limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let reader =
        compression::reader(h.compression(), raw, block_limit).map_err(|e| RecordsError::Corrupt(e.to_string()))?;
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out).map_err(|e| RecordsError::Corrupt(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(RecordsError::TooLarge { limit });
    }
    Ok(Cow::Owned(out))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn uvarint(&mut self, max: u32) -> Result<u64, RecordsError> {
        let mut raw = 0u64;
        for i in 0..max {
            let b = *self.buf.get(self.pos).ok_or_else(|| invalid("record runs past the batch"))?;
            self.pos += 1;
            raw |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(raw);
            }
        }
        Err(invalid("varint too long"))
    }
    fn varint(&mut self) -> Result<i32, RecordsError> {
        let raw = self.uvarint(5)? as u32;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }
    fn varlong(&mut self) -> Result<i64, RecordsError> {
        let raw = self.uvarint(10)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], RecordsError> {
        let b = self.buf.get(self.pos..self.pos + n).ok_or_else(|| invalid("field runs past the batch"))?;
        self.pos += n;
        Ok(b)
    }
    fn field(&mut self) -> Result<Option<&'a [u8]>, RecordsError> {
        match self.varint()? {
            -1 => Ok(None),
            n if n < 0 => Err(invalid("negative length")),
            n => self.bytes(n as usize).map(Some),
        }
    }
}

/// Every record of a batch (`payload` is its decompressed records).
pub fn records<'a>(h: &BatchHeader, payload: &'a [u8]) -> Result<Vec<Record<'a>>, RecordsError> {
    let mut r = Reader { buf: payload, pos: 0 };
    let count = usize::try_from(h.records_count).map_err(|_| invalid("negative record count"))?;
    // Each record takes at least 7 bytes: a count beyond that is a lie, not an allocation.
    let mut out = Vec::with_capacity(count.min(payload.len() / 7 + 1));
    for _ in 0..count {
        let len = r.varint()?;
        let end = r.pos + usize::try_from(len).map_err(|_| invalid("negative record length"))?;
        if end > payload.len() {
            return Err(invalid("record runs past the batch"));
        }
        r.bytes(1)?; // attributes (unused in v2)
        let timestamp = h.base_timestamp.wrapping_add(r.varlong()?);
        let offset = h.base_offset + r.varint()? as i64;
        let key = r.field()?;
        let value = r.field()?;
        let n = r.varint()?;
        if n < 0 || n as usize > end - r.pos {
            return Err(invalid("bad header count"));
        }
        let mut headers = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let k = r.field()?.ok_or_else(|| invalid("null header key"))?;
            headers.push((k, r.field()?));
        }
        if r.pos != end {
            return Err(invalid("record length disagrees with its fields"));
        }
        out.push(Record { offset, timestamp, key, value, headers });
    }
    if r.pos != payload.len() {
        return Err(invalid("bytes after the declared records"));
    }
    Ok(out)
}

/// The first record of a batch (`payload` is its decompressed records), or `None` if it has
/// none; only that record's framing is checked (what a control batch's marker needs).
pub fn first_record<'a>(h: &BatchHeader, payload: &'a [u8]) -> Result<Option<Record<'a>>, RecordsError> {
    if h.records_count <= 0 || payload.is_empty() {
        return Ok(None);
    }
    let mut r = Reader { buf: payload, pos: 0 };
    let len = r.varint()?;
    let end = r.pos + usize::try_from(len).map_err(|_| invalid("negative record length"))?;
    if end > payload.len() {
        return Err(invalid("record runs past the batch"));
    }
    r.bytes(1)?;
    let timestamp = h.base_timestamp.wrapping_add(r.varlong()?);
    let offset = h.base_offset.wrapping_add(r.varint()? as i64);
    let key = r.field()?;
    let value = r.field()?;
    if r.pos > end {
        return Err(invalid("record length disagrees with its fields"));
    }
    Ok(Some(Record { offset, timestamp, key, value, headers: Vec::new() }))
}

/// What happens to one batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No record survives and nothing needs the batch.
    Drop,
    /// Copied byte for byte.
    Verbatim,
    /// Replaced by these bytes (survivors, or an empty batch).
    Rewrite(bytes::Bytes),
}

/// The cleaner's view of one batch's records.
pub struct Filter<'a> {
    pub map: &'a OffsetMap,
    pub now_ms: i64,
    pub delete_retention_ms: i64,
    /// Most bytes a compressed batch may inflate to.
    pub max_uncompressed_bytes: u64,
}

/// What a batch kept: (records read, records kept).
pub type Counts = (u64, u64);

impl Filter<'_> {
    /// Whether `r` (in batch `h`) survives (Kafka's `Cleaner.shouldRetainRecord`).
    fn retains(&self, h: &BatchHeader, r: &Record<'_>) -> bool {
        if r.offset > self.map.latest_offset() {
            return true; // beyond what this pass mapped: not its business
        }
        let Some(key) = r.key else { return false };
        let latest = r.offset >= self.map.get(key);
        let horizon = (h.attributes & ATTR_DELETE_HORIZON != 0).then_some(h.base_timestamp);
        let keep_tombstone = horizon.is_none_or(|t| self.now_ms < t);
        latest && (r.value.is_some() || keep_tombstone)
    }

    /// Decides the fate of batch `h` (`bytes`, the whole batch). `retain_empty`: the batch
    /// must stay, as an empty batch if no record survives. `discardable`: for a data batch,
    /// it belongs to an aborted transaction; for a control batch, its transaction left
    /// nothing in the log (see `txn.rs`).
    pub fn filter(
        &self,
        h: &BatchHeader,
        bytes: &[u8],
        retain_empty: bool,
        discardable: bool,
    ) -> Result<(Outcome, Counts), RecordsError> {
        let has_horizon = h.attributes & ATTR_DELETE_HORIZON != 0;
        let count = h.records_count.max(0) as u64;
        let emptied = |retain_empty: bool| if retain_empty { Outcome::Rewrite(empty_batch(h)) } else { Outcome::Drop };
        if h.is_control() {
            let discard = discardable && has_horizon && h.base_timestamp <= self.now_ms;
            if discard || count == 0 {
                return Ok((emptied(retain_empty), (count, 0)));
            }
            if discardable && !has_horizon {
                // A marker for a transaction that left nothing: it goes after a delete horizon.
                let payload = payload(h, bytes, self.max_uncompressed_bytes)?;
                let all = records(h, &payload)?;
                let kept: Vec<&Record<'_>> = all.iter().collect();
                let horizon = self.now_ms.saturating_add(self.delete_retention_ms);
                return Ok((Outcome::Rewrite(rebuild(h, &kept, Some(horizon))), (count, count)));
            }
            return Ok((Outcome::Verbatim, (count, count)));
        }
        if discardable {
            // An aborted transaction's batch: its records go, whatever their keys.
            return Ok((emptied(retain_empty), (count, 0)));
        }
        let payload = payload(h, bytes, self.max_uncompressed_bytes)?;
        let all = records(h, &payload)?;
        let kept: Vec<&Record<'_>> = all.iter().filter(|r| self.retains(h, r)).collect();
        let counts = (all.len() as u64, kept.len() as u64);
        if kept.is_empty() {
            let outcome = if retain_empty { Outcome::Rewrite(empty_batch(h)) } else { Outcome::Drop };
            return Ok((outcome, counts));
        }
        let tombstones = kept.iter().any(|r| r.value.is_none());
        if kept.len() == all.len() && (has_horizon || !tombstones) {
            return Ok((Outcome::Verbatim, counts));
        }
        let horizon = if has_horizon {
            Some(h.base_timestamp)
        } else if tombstones {
            Some(self.now_ms.saturating_add(self.delete_retention_ms))
        } else {
            None
        };
        Ok((Outcome::Rewrite(rebuild(h, &kept, horizon)), counts))
    }
}

/// The fixed header of a batch the cleaner writes, CRC included; `body` follows it.
fn header_bytes(h: &BatchHeader, attributes: i16, base_ts: i64, max_ts: i64, count: i32, body: &[u8]) -> bytes::Bytes {
    let mut b = BytesMut::with_capacity(HEADER_LEN + body.len());
    b.put_i64(h.base_offset);
    b.put_i32((HEADER_LEN - LOG_OVERHEAD + body.len()) as i32);
    b.put_i32(h.partition_leader_epoch);
    b.put_i8(2);
    b.put_u32(0);
    b.put_i16(attributes);
    b.put_i32(h.last_offset_delta);
    b.put_i64(base_ts);
    b.put_i64(max_ts);
    b.put_i64(h.producer_id);
    b.put_i16(h.producer_epoch);
    b.put_i32(h.base_sequence);
    b.put_i32(count);
    b.extend_from_slice(body);
    let crc = batch::compute_crc(&b);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b.freeze()
}

/// The survivors of `h` as one uncompressed batch with the same offsets and producer fields.
fn rebuild(h: &BatchHeader, kept: &[&Record<'_>], horizon: Option<i64>) -> bytes::Bytes {
    let base_ts = horizon.unwrap_or(kept[0].timestamp);
    let log_append_time = h.attributes & ATTR_TIMESTAMP_TYPE != 0;
    let max_ts = if log_append_time {
        h.max_timestamp
    } else {
        kept.iter().map(|r| r.timestamp).max().unwrap_or(h.max_timestamp)
    };
    let mut body = Vec::new();
    for r in kept {
        let delta = (r.offset - h.base_offset) as i32;
        encode_record(&mut body, r.timestamp.wrapping_sub(base_ts), delta, r.key, r.value, &r.headers);
    }
    let mut attributes = h.attributes & !ATTR_DELETE_HORIZON;
    if horizon.is_some() {
        attributes |= ATTR_DELETE_HORIZON;
    }
    let body = match compression::compress(h.compression(), &body) {
        Ok(packed) => packed,
        Err(e) => {
            tracing::warn!(
                base_offset = h.base_offset,
                codec = h.compression(),
                "cannot compress a cleaned batch, writing it uncompressed: {e}"
            );
            attributes &= !ATTR_COMPRESSION_MASK;
            body
        }
    };
    header_bytes(h, attributes, base_ts, max_ts, kept.len() as i32, &body)
}

/// A header-only batch standing for `h` (Kafka's `writeEmptyHeader`): same offsets, producer
/// fields and leader epoch, no records.
pub fn empty_batch(h: &BatchHeader) -> bytes::Bytes {
    let attributes = h.attributes & (ATTR_TIMESTAMP_TYPE | ATTR_TRANSACTIONAL | ATTR_CONTROL);
    header_bytes(h, attributes, h.max_timestamp, h.max_timestamp, 0, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch at `base` of (key, value) records with timestamps 1000 + i.
    pub(crate) fn batch_of(base: i64, recs: &[(&str, Option<&str>)]) -> bytes::Bytes {
        let mut body = Vec::new();
        for (i, (k, v)) in recs.iter().enumerate() {
            encode_record(&mut body, i as i64, i as i32, Some(k.as_bytes()), v.map(str::as_bytes), &[]);
        }
        let b = batch::build_batch(0, recs.len() as i32, 1000 + recs.len() as i64 - 1, &body);
        let mut m = b.to_vec();
        m[..8].copy_from_slice(&base.to_be_bytes());
        m[27..35].copy_from_slice(&1000i64.to_be_bytes()); // baseTimestamp
        let crc = batch::compute_crc(&m);
        m[17..21].copy_from_slice(&crc.to_be_bytes());
        bytes::Bytes::from(m)
    }

    fn keys_values(b: &[u8]) -> Vec<(i64, String, Option<String>)> {
        let h = batch::validate(b).unwrap();
        let p = payload(&h, b, 1 << 20).unwrap();
        records(&h, &p)
            .unwrap()
            .iter()
            .map(|r| {
                let s = |x: &[u8]| String::from_utf8(x.to_vec()).unwrap();
                (r.offset, s(r.key.unwrap()), r.value.map(s))
            })
            .collect()
    }

    fn map(entries: &[(&str, i64)], latest: i64) -> OffsetMap {
        let mut m = OffsetMap::with_slots(64);
        for (k, o) in entries {
            m.put(k.as_bytes(), *o);
        }
        m.update_latest(latest);
        m
    }

    #[test]
    fn a_batch_whose_records_all_survive_is_copied_verbatim() {
        let b = batch_of(10, &[("a", Some("1")), ("b", Some("2"))]);
        let h = batch::validate(&b).unwrap();
        let m = map(&[("a", 10), ("b", 11)], 11);
        let f = Filter { map: &m, now_ms: 0, delete_retention_ms: 100, max_uncompressed_bytes: 1 << 20 };
        assert_eq!(f.filter(&h, &b, false, false).unwrap(), (Outcome::Verbatim, (2, 2)));
    }

    #[test]
    fn a_batch_that_loses_records_is_rewritten_with_its_offsets_and_producer_fields() {
        let b = batch_of(10, &[("a", Some("1")), ("b", Some("2")), ("a", Some("3"))]);
        let mut m = b.to_vec();
        m[43..51].copy_from_slice(&77i64.to_be_bytes()); // producer id
        m[51..53].copy_from_slice(&3i16.to_be_bytes());
        m[53..57].copy_from_slice(&40i32.to_be_bytes());
        let crc = batch::compute_crc(&m);
        m[17..21].copy_from_slice(&crc.to_be_bytes());
        let h = batch::validate(&m).unwrap();
        let om = map(&[("a", 12), ("b", 20)], 30);
        let f = Filter { map: &om, now_ms: 0, delete_retention_ms: 100, max_uncompressed_bytes: 1 << 20 };
        let (Outcome::Rewrite(out), counts) = f.filter(&h, &m, false, false).unwrap() else { panic!("rewritten") };
        assert_eq!(counts, (3, 1));
        let nh = batch::validate(&out).unwrap();
        assert_eq!((nh.base_offset, nh.last_offset_delta, nh.records_count), (10, 2, 1));
        assert_eq!((nh.producer_id, nh.producer_epoch, nh.base_sequence), (77, 3, 40));
        assert_eq!((nh.base_timestamp, nh.max_timestamp), (1002, 1002));
        assert_eq!(keys_values(&out), vec![(12, "a".into(), Some("3".into()))]);
    }

    /// KIP-534: a kept tombstone gets a delete horizon at its first clean; it stays until the
    /// horizon, and goes at the first clean after it.
    #[test]
    fn tombstones_get_a_delete_horizon_then_go_after_it() {
        let b = batch_of(0, &[("a", None), ("b", Some("x"))]);
        let h = batch::validate(&b).unwrap();
        let m = map(&[("a", 0), ("b", 1)], 1);
        let first = Filter { map: &m, now_ms: 5_000, delete_retention_ms: 100, max_uncompressed_bytes: 1 << 20 };
        let (Outcome::Rewrite(marked), _) = first.filter(&h, &b, false, false).unwrap() else { panic!("marked") };
        let mh = batch::validate(&marked).unwrap();
        assert_ne!(mh.attributes & ATTR_DELETE_HORIZON, 0);
        assert_eq!(mh.base_timestamp, 5_100);
        assert_eq!(keys_values(&marked), keys_values(&b), "same records, timestamps too");
        let p = payload(&mh, &marked, 1 << 20).unwrap();
        assert_eq!(records(&mh, &p).unwrap()[1].timestamp, 1001);
        let before = Filter { now_ms: 5_099, ..first };
        assert_eq!(before.filter(&mh, &marked, false, false).unwrap().0, Outcome::Verbatim);
        let after = Filter { now_ms: 5_100, ..before };
        let (Outcome::Rewrite(gone), counts) = after.filter(&mh, &marked, false, false).unwrap() else { panic!() };
        assert_eq!(counts, (2, 1));
        assert_eq!(keys_values(&gone), vec![(1, "b".into(), Some("x".into()))]);
        // Past the map, everything stays (not this pass's business).
        let beyond = map(&[], -1);
        let f = Filter { map: &beyond, ..after };
        assert_eq!(f.filter(&mh, &marked, false, false).unwrap().0, Outcome::Verbatim);
    }

    #[test]
    fn a_batch_whose_records_disagree_with_its_count_is_refused() {
        let b = batch_of(0, &[("a", Some("1")), ("b", Some("2"))]);
        let h = batch::validate(&b).unwrap();
        let p = payload(&h, &b, 1 << 20).unwrap();
        assert!(records(&BatchHeader { records_count: 1, ..h }, &p).is_err(), "a record too many");
        assert!(records(&BatchHeader { records_count: 3, ..h }, &p).is_err(), "a record too few");
        assert!(records(&BatchHeader { records_count: -1, ..h }, &p).is_err());
    }

    #[test]
    fn an_emptied_batch_is_dropped_or_kept_as_a_header() {
        let b = batch_of(4, &[("a", Some("1")), ("a", Some("2"))]);
        let h = batch::validate(&b).unwrap();
        let m = map(&[("a", 9)], 9);
        let f = Filter { map: &m, now_ms: 0, delete_retention_ms: 0, max_uncompressed_bytes: 1 << 20 };
        assert_eq!(f.filter(&h, &b, false, false).unwrap().0, Outcome::Drop);
        let (Outcome::Rewrite(e), _) = f.filter(&h, &b, true, false).unwrap() else { panic!() };
        let eh = batch::validate(&e).unwrap();
        assert_eq!((eh.base_offset, eh.last_offset(), eh.records_count, e.len()), (4, 5, 0, HEADER_LEN));
    }

    #[test]
    fn compressed_batches_are_read_and_survivors_compressed_again() {
        let plain = batch_of(0, &[("a", Some("1")), ("a", Some("2")), ("b", Some("3"))]);
        let z = zstd::encode_all(&plain[HEADER_LEN..], 3).unwrap();
        let mut m = plain[..HEADER_LEN].to_vec();
        m.extend_from_slice(&z);
        let len = (m.len() - LOG_OVERHEAD) as i32;
        m[8..12].copy_from_slice(&len.to_be_bytes());
        m[21..23].copy_from_slice(&(compression::ZSTD).to_be_bytes());
        let crc = batch::compute_crc(&m);
        m[17..21].copy_from_slice(&crc.to_be_bytes());
        let h = batch::validate(&m).unwrap();
        let om = map(&[("a", 1), ("b", 2)], 2);
        let f = Filter { map: &om, now_ms: 0, delete_retention_ms: 0, max_uncompressed_bytes: 1 << 20 };
        let (Outcome::Rewrite(out), _) = f.filter(&h, &m, false, false).unwrap() else { panic!() };
        assert_eq!(batch::validate(&out).unwrap().compression(), compression::ZSTD);
        assert_eq!(keys_values(&out), vec![(1, "a".into(), Some("2".into())), (2, "b".into(), Some("3".into()))]);
        let tight = Filter { max_uncompressed_bytes: 4, ..f };
        assert!(matches!(tight.filter(&h, &m, false, false), Err(RecordsError::TooLarge { .. })));
    }

    /// Transaction markers and aborted data, as Kafka's `cleanInto` treats them: a marker
    /// stays verbatim while needed; once discardable it gets a delete horizon (its record
    /// kept), and goes after it; an aborted batch loses its records whatever the key map says.
    #[test]
    fn markers_go_after_a_horizon_and_aborted_batches_at_once() {
        let m = batch::control_batch(5, 1, false, 2, 900);
        let h = batch::validate(&m).unwrap();
        let om = map(&[], 100);
        let f = Filter { map: &om, now_ms: 1_000, delete_retention_ms: 50, max_uncompressed_bytes: 1 << 20 };
        assert_eq!(f.filter(&h, &m, false, false).unwrap(), (Outcome::Verbatim, (1, 1)), "still needed");
        let (Outcome::Rewrite(marked), _) = f.filter(&h, &m, false, true).unwrap() else { panic!("a horizon") };
        let mh = batch::validate(&marked).unwrap();
        assert_eq!(mh.attributes, ATTR_TRANSACTIONAL | ATTR_CONTROL | ATTR_DELETE_HORIZON);
        assert_eq!((mh.base_timestamp, mh.producer_id, mh.producer_epoch, mh.records_count), (1_050, 5, 1, 1));
        assert_eq!(
            batch::end_txn_marker(&mh, &marked, 1 << 20),
            Ok(Some(batch::EndTxnMarker { commit: false, coordinator_epoch: 2 }))
        );
        let before = Filter { now_ms: 1_049, ..f };
        assert_eq!(before.filter(&mh, &marked, false, true).unwrap().0, Outcome::Verbatim);
        let after = Filter { now_ms: 1_050, ..f };
        assert_eq!(after.filter(&mh, &marked, false, true).unwrap().0, Outcome::Drop);
        let (Outcome::Rewrite(empty), _) = after.filter(&mh, &marked, true, true).unwrap() else { panic!() };
        let eh = batch::validate(&empty).unwrap();
        assert!(
            eh.is_control() && eh.is_transactional() && eh.records_count == 0,
            "the producer's last marker stays empty"
        );
        // Aborted data: every record goes, even the keys' latest.
        let b = batch_of(10, &[("a", Some("1"))]);
        let bh = batch::validate(&b).unwrap();
        let latest = map(&[("a", 10)], 10);
        let f = Filter { map: &latest, ..f };
        assert_eq!(f.filter(&bh, &b, false, false).unwrap().0, Outcome::Verbatim);
        assert_eq!(f.filter(&bh, &b, false, true).unwrap(), (Outcome::Drop, (1, 0)));
        assert!(matches!(f.filter(&bh, &b, true, true).unwrap().0, Outcome::Rewrite(_)));
    }
}
