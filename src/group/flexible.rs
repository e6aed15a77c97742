//! Flexible-version primitives of Kafka's record and message schemas (KIP-482): unsigned
//! varints, compact strings, bytes and arrays, tagged-field sections. kafka-protocol has them, but
//! its `Encoder`/`Decoder` traits are crate-private, so they cannot be called from here. Every
//! read is bounded by the bytes present. Shared by the `__consumer_offsets` and
//! `__share_group_state` record codecs.

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub(crate) fn put_uvarint(b: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        b.put_u8(v as u8 | 0x80);
        v >>= 7;
    }
    b.put_u8(v as u8);
}

/// An unsigned varint of at most 5 bytes that fits a u32.
pub(crate) fn get_uvarint(b: &mut Bytes) -> Option<u32> {
    let mut v = 0u64;
    for i in 0..5 {
        let byte = b.try_get_u8().ok()?;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(v).ok();
        }
    }
    None
}

/// A compact length (uvarint of length + 1); Some(None) for null (0).
pub(crate) fn get_compact_len(b: &mut Bytes) -> Option<Option<usize>> {
    Some(get_uvarint(b)?.checked_sub(1).map(|n| n as usize))
}

/// The next `n` bytes, if there are that many.
pub(crate) fn take(b: &mut Bytes, n: usize) -> Option<Bytes> {
    (b.remaining() >= n).then(|| b.split_to(n))
}

pub(crate) fn put_compact_str(b: &mut BytesMut, s: &str) {
    put_compact_bytes(b, s.as_bytes());
}

pub(crate) fn put_compact_opt_str(b: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_compact_str(b, s),
        None => put_uvarint(b, 0),
    }
}

pub(crate) fn get_compact_opt_str(b: &mut Bytes) -> Option<Option<String>> {
    let Some(n) = get_compact_len(b)? else { return Some(None) };
    String::from_utf8(take(b, n)?.to_vec()).ok().map(Some)
}

/// A non-null compact string.
pub(crate) fn get_compact_str(b: &mut Bytes) -> Option<String> {
    get_compact_opt_str(b).flatten()
}

pub(crate) fn put_compact_bytes(b: &mut BytesMut, v: &[u8]) {
    put_uvarint(b, v.len() as u32 + 1);
    b.put_slice(v);
}

/// Non-null compact bytes.
pub(crate) fn get_compact_bytes(b: &mut Bytes) -> Option<Bytes> {
    let n = get_compact_len(b)??;
    take(b, n)
}

pub(crate) fn put_compact_array<T>(b: &mut BytesMut, items: &[T], mut item: impl FnMut(&mut BytesMut, &T)) {
    put_uvarint(b, items.len() as u32 + 1);
    for i in items {
        item(b, i);
    }
}

/// A non-null compact array read with `item`; None if it claims more items than
/// `min_item_bytes` each could fit in what is left. Nothing is reserved from the count.
pub(crate) fn get_compact_array<T>(
    b: &mut Bytes,
    min_item_bytes: usize,
    mut item: impl FnMut(&mut Bytes) -> Option<T>,
) -> Option<Vec<T>> {
    let n = get_compact_len(b)??;
    if n.saturating_mul(min_item_bytes) > b.remaining() {
        return None;
    }
    (0..n).map(|_| item(b)).collect()
}

/// A tagged-field section: the count, then each field's tag, size and payload, tags ascending.
pub(crate) fn put_tagged_fields(b: &mut BytesMut, fields: &[(u32, Bytes)]) {
    put_uvarint(b, fields.len() as u32);
    for (tag, payload) in fields {
        put_uvarint(b, *tag);
        put_uvarint(b, payload.len() as u32);
        b.put_slice(payload);
    }
}

/// Reads a tagged-field section, handing each (tag, payload) to `field`, which ignores tags it
/// does not know and returns None for a damaged known one.
pub(crate) fn get_tagged_fields(b: &mut Bytes, mut field: impl FnMut(u32, Bytes) -> Option<()>) -> Option<()> {
    for _ in 0..get_uvarint(b)? {
        let tag = get_uvarint(b)?;
        let size = get_uvarint(b)? as usize;
        field(tag, take(b, size)?)?;
    }
    Some(())
}

pub(crate) fn skip_tagged_fields(b: &mut Bytes) -> Option<()> {
    get_tagged_fields(b, |_, _| Some(()))
}

/// `encode`/`decode` of record value types (`int16` version 0 + a flexible struct) from their
/// struct's `fn write(&self, &mut BytesMut)` / `fn read(&mut Bytes) -> Option<Self>`.
macro_rules! value_codec {
    ($($t:ty),*) => {$(
        impl $t {
            /// The stored value: `int16` version 0, then the flexible struct.
            pub fn encode(&self) -> ::bytes::Bytes {
                let mut b = ::bytes::BytesMut::new();
                ::bytes::BufMut::put_i16(&mut b, 0);
                self.write(&mut b);
                b.freeze()
            }

            /// A stored value; None for damage or a version other than 0.
            pub fn decode(mut b: ::bytes::Bytes) -> Option<Self> {
                if ::bytes::Buf::try_get_i16(&mut b).ok()? != 0 {
                    return None;
                }
                Self::read(&mut b)
            }
        }
    )*};
}

pub(crate) use value_codec;

/// Bytes from hex pairs; spaces and `|` separate fields for the reader (golden vectors in tests).
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Bytes {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}
