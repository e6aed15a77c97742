//! The records inside a v2 batch, walked one at a time in place: the varint framing of each
//! record is read and checked against the bytes actually there, keys, values and headers are
//! skipped, nothing is copied or allocated per record. Compressed batches are walked through a
//! streaming decompressor with a fixed buffer and a bound on the bytes it may produce. This is
//! what produce validation and timestamp lookups read; fetch never looks inside a batch.
//!
//! Record layout (the protocol guide's "Record"):
//! ```text
//! length varint | attributes i8 | timestampDelta varlong | offsetDelta varint
//! keyLength varint | key | valueLength varint | value | headerCount varint
//! headers: [headerKeyLength varint | headerKey | headerValueLength varint | headerValue]
//! ```

use std::io::{self, Read};

use super::batch::{BatchHeader, ATTR_TIMESTAMP_TYPE, HEADER_LEN};
use super::compression;

/// Why the records of a batch cannot be walked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordsError {
    /// The framing is inconsistent with the bytes present (Kafka's InvalidRecordException).
    #[error("{0}")]
    Invalid(String),
    /// The compressed payload cannot be decompressed.
    #[error("cannot decompress the record batch: {0}")]
    Corrupt(String),
    /// Decompressing would produce more than the configured bound.
    #[error("record batch decompresses to more than {limit} bytes")]
    TooLarge { limit: u64 },
}

fn invalid(m: impl Into<String>) -> RecordsError {
    RecordsError::Invalid(m.into())
}

/// What the walk needs to know of one record (its key, value and headers are skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta {
    /// Position of the record in its batch (0-based).
    pub index: i32,
    pub attributes: i8,
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    /// Key length, -1 for a null key.
    pub key_len: i32,
}

/// What went wrong reading a record; small and `Copy` so the per-byte path stays cheap (the
/// message is built once, when the walk fails).
#[derive(Debug, Clone, Copy)]
enum Fault {
    Underflow,
    LongVarint,
    LongVarlong,
    BadLength {
        what: &'static str,
        n: i32,
    },
    NegativeRecordLength {
        index: i32,
        length: i32,
    },
    BadHeaderCount(i32),
    SizeMismatch {
        length: i32,
        read: u64,
    },
    /// The decompressor failed or passed its bound: the source holds the error.
    Stream,
}

const UNDERFLOW: &str = "Found invalid record structure: the records end before the batch says";

impl Fault {
    /// The message for this fault; `stream` is the decompressor's error behind a
    /// [`Fault::Stream`].
    fn into_error(self, stream: Option<RecordsError>) -> RecordsError {
        match self {
            Fault::Underflow => invalid(UNDERFLOW),
            Fault::LongVarint => invalid("Found invalid record structure: varint is longer than 5 bytes"),
            Fault::LongVarlong => invalid("Found invalid record structure: varlong is longer than 10 bytes"),
            Fault::BadLength { what, n } => invalid(format!("Found invalid record structure: {what} length {n}")),
            Fault::NegativeRecordLength { index, length } => {
                invalid(format!("Invalid record size: record {index} has a negative length {length}"))
            }
            Fault::BadHeaderCount(n) => invalid(format!("Found invalid number of record headers {n}")),
            Fault::SizeMismatch { length, read } => invalid(format!(
                "Invalid record size: expected to read {length} bytes in record payload, but instead read {read}"
            )),
            Fault::Stream => stream.unwrap_or_else(|| invalid(UNDERFLOW)),
        }
    }
}

/// A source of record bytes: the batch itself, or a decompressing stream.
trait Source {
    fn byte(&mut self) -> Result<u8, Fault>;
    fn skip(&mut self, n: usize) -> Result<(), Fault>;
    /// Bytes consumed so far.
    fn consumed(&self) -> u64;
    /// Whether every byte has been consumed.
    fn at_end(&mut self) -> Result<bool, Fault>;
    /// The stream error behind a [`Fault::Stream`].
    fn take_error(&mut self) -> Option<RecordsError> {
        None
    }

    /// Unsigned varint of at most `max` bytes; `too_long` past that.
    #[inline]
    fn uvarint(&mut self, max: u32, too_long: Fault) -> Result<u64, Fault> {
        let mut raw: u64 = 0;
        for i in 0..max {
            let b = self.byte()?;
            raw |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(raw);
            }
        }
        Err(too_long)
    }

    /// Zigzag varint of at most 5 bytes (Kafka's ByteUtils.readVarint).
    #[inline]
    fn varint(&mut self) -> Result<i32, Fault> {
        self.uvarint(5, Fault::LongVarint).map(zigzag32)
    }

    /// Zigzag varlong of at most 10 bytes (Kafka's ByteUtils.readVarlong).
    #[inline]
    fn varlong(&mut self) -> Result<i64, Fault> {
        self.uvarint(10, Fault::LongVarlong).map(zigzag64)
    }
}

/// Reads the unsigned varint at `buf[*pos..]` (at most `max` bytes); `None` if it runs past
/// the end or is too long.
#[inline(always)]
fn raw_varint(buf: &[u8], pos: &mut usize, max: u32) -> Option<u64> {
    let b = *buf.get(*pos)?;
    *pos += 1;
    if b < 0x80 {
        return Some(b as u64);
    }
    let mut raw = (b & 0x7f) as u64;
    for i in 1..max {
        let b = *buf.get(*pos)?;
        *pos += 1;
        raw |= ((b & 0x7f) as u64) << (7 * i);
        if b < 0x80 {
            return Some(raw);
        }
    }
    None
}

#[inline(always)]
fn zigzag32(raw: u64) -> i32 {
    let raw = raw as u32;
    ((raw >> 1) as i32) ^ -((raw & 1) as i32)
}

#[inline(always)]
fn zigzag64(raw: u64) -> i64 {
    ((raw >> 1) as i64) ^ -((raw & 1) as i64)
}

/// [`next_record`] for an uncompressed batch: the record is bounds-checked once against its
/// declared length, then its fields are read inside that slice (the produce hot path).
#[inline(always)]
fn next_record_in(buf: &[u8], pos: &mut usize, index: i32) -> Result<RecordMeta, Fault> {
    let length = zigzag32(raw_varint(buf, pos, 5).ok_or(if *pos >= buf.len() {
        Fault::Underflow
    } else {
        Fault::LongVarint
    })?);
    if length < 0 {
        return Err(Fault::NegativeRecordLength { index, length });
    }
    let body = buf.get(*pos..*pos + length as usize).ok_or(Fault::Underflow)?;
    *pos += length as usize;
    let mut at = 0usize;
    // Inside the record every overrun is a size mismatch (the fields do not fit the length).
    let short = Fault::SizeMismatch { length, read: length as u64 + 1 };
    let attributes = *body.first().ok_or(short)? as i8;
    at += 1;
    let timestamp_delta = zigzag64(raw_varint(body, &mut at, 10).ok_or(short)?);
    let offset_delta = zigzag32(raw_varint(body, &mut at, 5).ok_or(short)?);
    let field = |what: &'static str, nullable: bool, at: &mut usize| -> Result<i32, Fault> {
        let n = zigzag32(raw_varint(body, at, 5).ok_or(short)?);
        if n < 0 {
            return if n == -1 && nullable { Ok(-1) } else { Err(Fault::BadLength { what, n }) };
        }
        *at += n as usize;
        if *at > body.len() {
            return Err(short);
        }
        Ok(n)
    };
    let key_len = field("key", true, &mut at)?;
    field("value", true, &mut at)?;
    let headers = zigzag32(raw_varint(body, &mut at, 5).ok_or(short)?);
    if headers < 0 {
        return Err(Fault::BadHeaderCount(headers));
    }
    for _ in 0..headers {
        // Each header is at least two bytes: a count the record cannot hold stops here.
        if at >= body.len() {
            return Err(short);
        }
        field("header key", false, &mut at)?;
        field("header value", true, &mut at)?;
    }
    if at != body.len() {
        return Err(Fault::SizeMismatch { length, read: at as u64 });
    }
    Ok(RecordMeta { index, attributes, timestamp_delta, offset_delta, key_len })
}

/// Buffer between a decompressor and the walk.
const STREAM_BUFFER: usize = 16 * 1024;

/// A compressed batch's records, decompressed through a fixed buffer; fails once more than
/// `limit` bytes come out.
struct StreamSource<'a> {
    inner: Box<dyn Read + 'a>,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Bytes consumed before `buf[0]`.
    base: u64,
    limit: u64,
    error: Option<RecordsError>,
}

impl StreamSource<'_> {
    /// Refills the buffer; `false` at the end of the stream.
    fn fill(&mut self) -> Result<bool, Fault> {
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        if self.base > self.limit {
            return Err(self.fail(RecordsError::TooLarge { limit: self.limit }));
        }
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(n) => {
                    self.len = n;
                    if self.base + n as u64 > self.limit {
                        return Err(self.fail(RecordsError::TooLarge { limit: self.limit }));
                    }
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(RecordsError::Corrupt(e.to_string()))),
            }
        }
    }

    fn fail(&mut self, e: RecordsError) -> Fault {
        self.error = Some(e);
        Fault::Stream
    }
}

impl Source for StreamSource<'_> {
    #[inline]
    fn byte(&mut self) -> Result<u8, Fault> {
        if self.pos == self.len && !self.fill()? {
            return Err(Fault::Underflow);
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }
    fn skip(&mut self, mut n: usize) -> Result<(), Fault> {
        while n > 0 {
            if self.pos == self.len && !self.fill()? {
                return Err(Fault::Underflow);
            }
            let step = n.min(self.len - self.pos);
            self.pos += step;
            n -= step;
        }
        Ok(())
    }
    fn consumed(&self) -> u64 {
        self.base + self.pos as u64
    }
    fn at_end(&mut self) -> Result<bool, Fault> {
        Ok(self.pos == self.len && !self.fill()?)
    }
    fn take_error(&mut self) -> Option<RecordsError> {
        self.error.take()
    }
}

/// A length field: -1 (null) or a non-negative length that is then skipped. `end` is where
/// the record ends (in bytes consumed): a field reaching past it fails before anything is
/// skipped, so a lying length never makes a stream inflate what the record cannot hold.
#[inline(always)]
fn skip_field(s: &mut impl Source, what: &'static str, nullable: bool, end: u64, length: i32) -> Result<i32, Fault> {
    let n = s.varint()?;
    if n < 0 {
        if n == -1 && nullable {
            return Ok(-1);
        }
        return Err(Fault::BadLength { what, n });
    }
    let read = s.consumed() + n as u64;
    if read > end {
        return Err(Fault::SizeMismatch { length, read: read - (end - length as u64) });
    }
    s.skip(n as usize)?;
    Ok(n)
}

/// Reads one record's framing, checking that its fields fill exactly its declared length.
#[inline(always)]
fn next_record(s: &mut impl Source, index: i32) -> Result<RecordMeta, Fault> {
    let length = s.varint()?;
    if length < 0 {
        return Err(Fault::NegativeRecordLength { index, length });
    }
    let start = s.consumed();
    let attributes = s.byte()? as i8;
    let timestamp_delta = s.varlong()?;
    let offset_delta = s.varint()?;
    let end = start + length as u64;
    let key_len = skip_field(s, "key", true, end, length)?;
    skip_field(s, "value", true, end, length)?;
    let headers = s.varint()?;
    if headers < 0 {
        return Err(Fault::BadHeaderCount(headers));
    }
    for _ in 0..headers {
        // Each header is at least two bytes; a count the record cannot hold fails on the
        // bytes, not on memory (nothing is allocated per header).
        if s.consumed() >= end {
            return Err(Fault::SizeMismatch { length, read: length as u64 + 1 });
        }
        skip_field(s, "header key", false, end, length)?;
        skip_field(s, "header value", true, end, length)?;
    }
    let read = s.consumed() - start;
    if read != length as u64 {
        return Err(Fault::SizeMismatch { length, read });
    }
    Ok(RecordMeta { index, attributes, timestamp_delta, offset_delta, key_len })
}

/// Appends `v` as a zigzag varint (the record format's integers).
pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn put_field(out: &mut Vec<u8>, field: Option<&[u8]>) {
    match field {
        Some(f) => {
            put_varint(out, f.len() as i64);
            out.extend_from_slice(f);
        }
        None => put_varint(out, -1),
    }
}

/// Appends one encoded record to `out` (the records of a batch the broker writes itself, and
/// test and benchmark batches).
pub fn encode_record(
    out: &mut Vec<u8>,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&[u8], Option<&[u8]>)],
) {
    let mut body = vec![0u8];
    put_varint(&mut body, timestamp_delta);
    put_varint(&mut body, offset_delta as i64);
    put_field(&mut body, key);
    put_field(&mut body, value);
    put_varint(&mut body, headers.len() as i64);
    for (k, v) in headers {
        put_field(&mut body, Some(k));
        put_field(&mut body, *v);
    }
    put_varint(out, body.len() as i64);
    out.extend_from_slice(&body);
}

/// Calls `f` with each record of `batch` (a whole, CRC-checked v2 batch), in order, until `f`
/// returns `false`. Checks as it goes that the batch holds exactly `recordsCount` records
/// with nothing after them (when walked to the end). A compressed batch may inflate to at
/// most `limit` bytes, and `limit` also caps a snappy block.
pub fn walk(
    header: &BatchHeader,
    batch: &[u8],
    limit: u64,
    mut f: impl FnMut(&RecordMeta) -> bool,
) -> Result<(), RecordsError> {
    let payload = batch.get(HEADER_LEN..).ok_or_else(|| invalid(UNDERFLOW))?;
    match header.compression() {
        compression::NONE => walk_slice(header, payload, &mut f),
        codec => {
            let block_limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let inner = compression::reader(codec, payload, block_limit).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => RecordsError::Corrupt(e.to_string()),
                _ => RecordsError::Corrupt(format!("codec {codec}: {e}")),
            })?;
            let mut src = StreamSource {
                inner,
                buf: vec![0u8; STREAM_BUFFER].into_boxed_slice(),
                pos: 0,
                len: 0,
                base: 0,
                limit,
                error: None,
            };
            walk_source(header, &mut src, &mut f)
        }
    }
}

/// Finds the first record in a batch at or after offset `min_offset` (the log start) whose
/// timestamp is >= `ts`, walking the records one at a time (decompressing through a bounded
/// buffer, at most `limit` bytes) and stopping at the first match; `None` if the batch has
/// none. Only the ListOffsets path looks inside a batch, never produce or fetch. A batch
/// whose records cannot be read (it was stored before records were validated) answers with
/// its first offset, as a batch-level index would.
pub fn first_at_or_after(h: &BatchHeader, bytes: &[u8], ts: i64, min_offset: i64, limit: u64) -> Option<(i64, i64)> {
    if h.attributes & ATTR_TIMESTAMP_TYPE != 0 {
        return Some((h.base_offset.max(min_offset), h.max_timestamp));
    }
    let mut found = None;
    let walked = walk(h, bytes, limit, |r| {
        let t = h.base_timestamp.saturating_add(r.timestamp_delta);
        let offset = h.base_offset + r.offset_delta as i64;
        if t >= ts && offset >= min_offset {
            found = Some((offset, t));
        }
        found.is_none()
    });
    match walked {
        Err(e) if found.is_none() => {
            tracing::warn!(
                "cannot read the records of the batch at offset {} for a timestamp lookup: {e}",
                h.base_offset
            );
            Some((h.base_offset.max(min_offset), h.max_timestamp))
        }
        _ => found,
    }
}

fn walk_slice(header: &BatchHeader, buf: &[u8], f: &mut impl FnMut(&RecordMeta) -> bool) -> Result<(), RecordsError> {
    let count = header.records_count;
    if count < 0 {
        return Err(invalid(format!("Invalid reported count for record batch: {count}")));
    }
    let mut pos = 0;
    for index in 0..count {
        let r = match next_record_in(buf, &mut pos, index) {
            Ok(r) => r,
            Err(fault) => return Err(fault.into_error(None)),
        };
        if !f(&r) {
            return Ok(());
        }
    }
    if pos != buf.len() {
        return Err(invalid("Incorrect declared batch size, records still remaining in file"));
    }
    Ok(())
}

fn walk_source(
    header: &BatchHeader,
    s: &mut impl Source,
    f: &mut impl FnMut(&RecordMeta) -> bool,
) -> Result<(), RecordsError> {
    let count = header.records_count;
    if count < 0 {
        return Err(invalid(format!("Invalid reported count for record batch: {count}")));
    }
    for index in 0..count {
        let r = match next_record(s, index) {
            Ok(r) => r,
            Err(fault) => return Err(fault.into_error(s.take_error())),
        };
        if !f(&r) {
            return Ok(());
        }
    }
    match s.at_end() {
        Ok(true) => Ok(()),
        Ok(false) => Err(invalid("Incorrect declared batch size, records still remaining in file")),
        Err(fault) => Err(fault.into_error(s.take_error())),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::log::batch;

    /// An uncompressed batch through the general walk, to check it agrees with the produce
    /// path's [`next_record_in`].
    struct SliceSource<'a> {
        buf: &'a [u8],
        pos: usize,
    }

    impl Source for SliceSource<'_> {
        #[inline(always)]
        fn byte(&mut self) -> Result<u8, Fault> {
            let b = *self.buf.get(self.pos).ok_or(Fault::Underflow)?;
            self.pos += 1;
            Ok(b)
        }
        #[inline(always)]
        fn skip(&mut self, n: usize) -> Result<(), Fault> {
            if n > self.buf.len() - self.pos {
                return Err(Fault::Underflow);
            }
            self.pos += n;
            Ok(())
        }
        #[inline(always)]
        fn consumed(&self) -> u64 {
            self.pos as u64
        }
        fn at_end(&mut self) -> Result<bool, Fault> {
            Ok(self.pos == self.buf.len())
        }
    }

    /// One encoded record with `headers` one-byte-key headers.
    pub(crate) fn record(
        ts_delta: i64,
        offset_delta: i32,
        key: Option<&[u8]>,
        value: &[u8],
        headers: usize,
    ) -> Vec<u8> {
        let hs: Vec<(&[u8], Option<&[u8]>)> = (0..headers).map(|_| (&b"h"[..], None)).collect();
        let mut out = Vec::new();
        encode_record(&mut out, ts_delta, offset_delta, key, Some(value), &hs);
        out
    }

    fn metas(records: &[u8], count: i32) -> Result<Vec<RecordMeta>, RecordsError> {
        let b = batch::build_batch(0, count, 0, records);
        let h = batch::validate(&b).unwrap();
        let mut out = Vec::new();
        walk(&h, &b, 1 << 20, |r| {
            out.push(*r);
            true
        })?;
        Ok(out)
    }

    #[test]
    fn walks_exactly_the_declared_records() {
        let mut body = record(0, 0, Some(b"k"), b"v", 2);
        body.extend(record(5, 1, None, b"value", 0));
        let got = metas(&body, 2).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[1].timestamp_delta, got[1].offset_delta, got[1].key_len), (5, 1, -1));
    }

    #[test]
    fn a_count_larger_than_the_records_is_invalid() {
        let body = record(0, 0, None, b"v", 0);
        assert!(matches!(metas(&body, i32::MAX), Err(RecordsError::Invalid(_))));
        assert!(matches!(metas(&body, 0), Err(RecordsError::Invalid(m)) if m.contains("remaining")));
    }

    /// A header count larger than the headers present, in a record whose bytes end right
    /// after the ones it has, is refused by both walks (not read as fewer headers).
    #[test]
    fn a_header_count_past_the_record_end_is_invalid() {
        let mut r = Vec::new();
        encode_record(&mut r, 0, 0, None, Some(b"v"), &[(b"h", None)]);
        // The header count is the byte before the one header (key len 1, 'h', value -1).
        let at = r.len() - 4;
        assert_eq!(r[at], 2, "header count 1 (zigzag)");
        r[at] = 4; // claims 2 headers
        assert!(matches!(metas(&r, 1), Err(RecordsError::Invalid(_))));
        let h = BatchHeader { records_count: 1, ..BatchHeader::parse(&batch::build_batch(0, 1, 0, b"")).unwrap() };
        let general = walk_source(&h, &mut SliceSource { buf: &r, pos: 0 }, &mut |_| true);
        assert!(matches!(general, Err(RecordsError::Invalid(_))));
    }

    #[test]
    fn lying_lengths_are_invalid() {
        let mut r = record(0, 0, Some(b"key"), b"v", 0);
        r[0] = 100; // length claims more than is there
        assert!(metas(&r, 1).is_err());
        let mut r = record(0, 0, Some(b"key"), b"v", 0);
        let key_len_at = 4; // length, attributes, ts delta, offset delta
        r[key_len_at] = 0x7e; // key claims 63 bytes
        assert!(metas(&r, 1).is_err());
        let mut many_headers = record(0, 0, None, b"", 0);
        let last = many_headers.len() - 1;
        many_headers[last] = 0xfe; // 2^31-ish headers, as a 5-byte varint
        many_headers.extend_from_slice(&[0xff, 0xff, 0xff, 0x0f]);
        assert!(metas(&many_headers, 1).is_err());
    }

    /// The uncompressed fast path and the general (streaming) walk agree on every input:
    /// same records, same accept/refuse.
    mod agree {
        use proptest::prelude::*;

        use super::*;

        fn both(payload: &[u8], count: i32) -> (Result<Vec<RecordMeta>, ()>, Result<Vec<RecordMeta>, ()>) {
            let h = BatchHeader {
                records_count: count,
                ..batch::BatchHeader::parse(&batch::build_batch(0, 1, 0, b"")).unwrap()
            };
            let mut fast = Vec::new();
            let a = walk_slice(&h, payload, &mut |r| {
                fast.push(*r);
                true
            });
            let mut slow = Vec::new();
            let b = walk_source(&h, &mut SliceSource { buf: payload, pos: 0 }, &mut |r| {
                slow.push(*r);
                true
            });
            (a.map(|()| fast).map_err(drop), b.map(|()| slow).map_err(drop))
        }

        proptest! {
            #[test]
            fn fast_and_general_walks_agree(
                recs in proptest::collection::vec((any::<i64>(), proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)), proptest::collection::vec(any::<u8>(), 0..40), 0usize..3), 1..8),
                edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
                count_skew in -2i32..3,
            ) {
                let mut payload = Vec::new();
                for (i, (ts, k, v, h)) in recs.iter().enumerate() {
                    let hs: Vec<(&[u8], Option<&[u8]>)> = (0..*h).map(|_| (&b"hk"[..], Some(&b"hv"[..]))).collect();
                    encode_record(&mut payload, *ts, i as i32, k.as_deref(), Some(v), &hs);
                }
                for (at, byte) in edits {
                    let i = at % payload.len();
                    payload[i] = byte;
                }
                let (fast, general) = both(&payload, recs.len() as i32 + count_skew);
                prop_assert_eq!(fast, general);
            }
        }
    }
}
