//! Kafka's primitive encodings (big-endian, int16-length strings, int32-length bytes) for
//! the internal topics' records that the kafka-protocol crate has no schemas for
//! (`__consumer_offsets`, `__transaction_state`). Every read is bounded by the bytes there:
//! None when a length runs past the end.

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub fn put_str(b: &mut BytesMut, s: &str) {
    b.put_i16(s.len() as i16);
    b.put_slice(s.as_bytes());
}

pub fn put_opt_str(b: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_str(b, s),
        None => b.put_i16(-1),
    }
}

pub fn put_bytes(b: &mut BytesMut, v: &[u8]) {
    b.put_i32(v.len() as i32);
    b.put_slice(v);
}

pub fn get_opt_str(b: &mut Bytes) -> Option<Option<String>> {
    if b.remaining() < 2 {
        return None;
    }
    let n = b.get_i16();
    if n < 0 {
        return Some(None);
    }
    if b.remaining() < n as usize {
        return None;
    }
    String::from_utf8(b.split_to(n as usize).to_vec()).ok().map(Some)
}

pub fn get_str(b: &mut Bytes) -> Option<String> {
    get_opt_str(b).flatten()
}

pub fn get_bytes(b: &mut Bytes) -> Option<Bytes> {
    if b.remaining() < 4 {
        return None;
    }
    let n = b.get_i32();
    if n < 0 {
        return Some(Bytes::new());
    }
    (b.remaining() >= n as usize).then(|| b.split_to(n as usize))
}

/// An int32-counted array read with `item`; None if the count is negative (null) or claims
/// more items than `min_item_bytes` each could fit in what is left.
pub fn get_array<T>(
    b: &mut Bytes,
    min_item_bytes: usize,
    mut item: impl FnMut(&mut Bytes) -> Option<T>,
) -> Option<Vec<T>> {
    if b.remaining() < 4 {
        return None;
    }
    let n = b.get_i32();
    if n < 0 || (n as usize).saturating_mul(min_item_bytes.max(1)) > b.remaining() {
        return None;
    }
    (0..n).map(|_| item(b)).collect()
}
