//! The `__transaction_state` record format, byte-compatible with Apache Kafka's
//! (TransactionLogKey v0 `[transactional_id]`; TransactionLogValue v0 written for
//! transaction version 0-1 clients, the flexible v1 with its tagged previous/next producer ids
//! and client transaction version for version 2 ones, as Kafka 4.x does; both read), so
//! Kafka's tools can read Brook's internal topic. The kafka-protocol
//! crate does not carry these schemas. A tombstone (null value) removes an expired id.

use std::collections::BTreeSet;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::metadata::{Transit, TxnState, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};
use crate::wire::{get_array, get_str, put_str};

pub fn key(transactional_id: &str) -> Bytes {
    let mut b = BytesMut::with_capacity(4 + transactional_id.len());
    b.put_i16(0);
    put_str(&mut b, transactional_id);
    b.freeze()
}

/// The transactional id of a key; None for another key version or damage.
pub fn decode_key(mut b: Bytes) -> Option<String> {
    if b.remaining() < 2 || b.get_i16() != 0 {
        return None;
    }
    get_str(&mut b)
}

/// The topics of a transaction's partitions, in order, each with its partitions.
fn topics(t: &Transit) -> Vec<(&str, Vec<i32>)> {
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for (topic, p) in &t.partitions {
        match topics.last_mut() {
            Some((last, ps)) if *last == topic.as_str() => ps.push(*p),
            _ => topics.push((topic.as_str(), vec![*p])),
        }
    }
    topics
}

/// The stored value: v1 for a transaction version 2 client (its epoch bumps and producer id
/// rotations need the tagged fields after a restart), v0 otherwise.
pub fn value(t: &Transit) -> Bytes {
    if t.client_version >= 2 {
        value_v1(t)
    } else {
        value_v0(t)
    }
}

/// An unsigned varint.
fn put_uvarint(b: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        b.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    b.put_u8(v as u8);
}

/// TransactionLogValue v1 (flexible): compact arrays and strings, tagged PreviousProducerId
/// (0), NextProducerId (1) and ClientTransactionVersion (2), each written only when it is not
/// its default, as Kafka's generated code does.
fn value_v1(t: &Transit) -> Bytes {
    let mut b = BytesMut::with_capacity(64);
    b.put_i16(1);
    b.put_i64(t.producer_id);
    b.put_i16(t.producer_epoch);
    b.put_i32(t.timeout_ms);
    b.put_i8(t.state as i8);
    if t.state == TxnState::Empty {
        put_uvarint(&mut b, 0);
    } else {
        let topics = topics(t);
        put_uvarint(&mut b, topics.len() as u32 + 1);
        for (topic, ps) in topics {
            put_uvarint(&mut b, topic.len() as u32 + 1);
            b.put_slice(topic.as_bytes());
            put_uvarint(&mut b, ps.len() as u32 + 1);
            for p in ps {
                b.put_i32(p);
            }
            put_uvarint(&mut b, 0);
        }
    }
    b.put_i64(t.update_ms);
    b.put_i64(t.start_ms);
    let mut tags: Vec<(u32, Vec<u8>)> = Vec::new();
    if t.previous_producer_id != NO_PRODUCER_ID {
        tags.push((0, t.previous_producer_id.to_be_bytes().to_vec()));
    }
    if t.next_producer_id != NO_PRODUCER_ID {
        tags.push((1, t.next_producer_id.to_be_bytes().to_vec()));
    }
    if t.client_version != 0 {
        tags.push((2, t.client_version.to_be_bytes().to_vec()));
    }
    put_uvarint(&mut b, tags.len() as u32);
    for (tag, v) in tags {
        put_uvarint(&mut b, tag);
        put_uvarint(&mut b, v.len() as u32);
        b.put_slice(&v);
    }
    b.freeze()
}

/// TransactionLogValue v0. An Empty transaction has no partitions (null), as Kafka writes.
fn value_v0(t: &Transit) -> Bytes {
    let mut b = BytesMut::with_capacity(64);
    b.put_i16(0);
    b.put_i64(t.producer_id);
    b.put_i16(t.producer_epoch);
    b.put_i32(t.timeout_ms);
    b.put_i8(t.state as i8);
    if t.state == TxnState::Empty {
        b.put_i32(-1);
    } else {
        let topics = topics(t);
        b.put_i32(topics.len() as i32);
        for (topic, ps) in topics {
            put_str(&mut b, topic);
            b.put_i32(ps.len() as i32);
            for p in ps {
                b.put_i32(p);
            }
        }
    }
    b.put_i64(t.update_ms);
    b.put_i64(t.start_ms);
    b.freeze()
}

/// A stored value; None for damage or an unknown version.
pub fn decode_value(mut b: Bytes) -> Option<Transit> {
    if b.remaining() < 2 {
        return None;
    }
    match b.get_i16() {
        0 => decode_v0(&mut b),
        1 => decode_v1(&mut b),
        _ => None,
    }
}

fn decode_v0(b: &mut Bytes) -> Option<Transit> {
    if b.remaining() < 8 + 2 + 4 + 1 + 4 {
        return None;
    }
    let producer_id = b.get_i64();
    let producer_epoch = b.get_i16();
    let timeout_ms = b.get_i32();
    let state = TxnState::from_id(b.get_i8())?;
    let mut partitions = BTreeSet::new();
    let null = b.chunk().get(..4).is_some_and(|n| i32::from_be_bytes([n[0], n[1], n[2], n[3]]) < 0);
    if null {
        b.advance(4);
    } else {
        let topics = get_array(b, 6, |b| {
            let topic = get_str(b)?;
            let ps = get_array(b, 4, |b| (b.remaining() >= 4).then(|| b.get_i32()))?;
            Some((topic, ps))
        })?;
        for (topic, ps) in topics {
            partitions.extend(ps.into_iter().map(|p| (topic.clone(), p)));
        }
    }
    if b.remaining() < 16 {
        return None;
    }
    let update_ms = b.get_i64();
    let start_ms = b.get_i64();
    Some(Transit {
        producer_id,
        previous_producer_id: NO_PRODUCER_ID,
        next_producer_id: NO_PRODUCER_ID,
        producer_epoch,
        last_producer_epoch: NO_PRODUCER_EPOCH,
        timeout_ms,
        state,
        partitions,
        start_ms,
        update_ms,
        client_version: 0,
    })
}

/// An unsigned varint (the flexible versions' lengths and tags), at most 5 bytes.
fn get_uvarint(b: &mut Bytes) -> Option<u32> {
    let mut v: u32 = 0;
    for i in 0..5 {
        if !b.has_remaining() {
            return None;
        }
        let byte = b.get_u8();
        v |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A compact string (length + 1 as a varint).
fn get_compact_str(b: &mut Bytes) -> Option<String> {
    let n = get_uvarint(b)?.checked_sub(1)? as usize;
    (b.remaining() >= n).then(|| String::from_utf8(b.split_to(n).to_vec()).ok()).flatten()
}

/// Tagged fields: (tag, bytes), each bounded by what is there.
fn get_tagged(b: &mut Bytes) -> Option<Vec<(u32, Bytes)>> {
    let n = get_uvarint(b)? as usize;
    if n > b.remaining() {
        return None;
    }
    (0..n)
        .map(|_| {
            let tag = get_uvarint(b)?;
            let len = get_uvarint(b)? as usize;
            (b.remaining() >= len).then(|| (tag, b.split_to(len)))
        })
        .collect()
}

fn decode_v1(b: &mut Bytes) -> Option<Transit> {
    if b.remaining() < 8 + 2 + 4 + 1 {
        return None;
    }
    let producer_id = b.get_i64();
    let producer_epoch = b.get_i16();
    let timeout_ms = b.get_i32();
    let state = TxnState::from_id(b.get_i8())?;
    let mut partitions = BTreeSet::new();
    if let Some(n) = get_uvarint(b)?.checked_sub(1) {
        if n as usize > b.remaining() {
            return None;
        }
        for _ in 0..n {
            let topic = get_compact_str(b)?;
            let count = get_uvarint(b)?.checked_sub(1)? as usize;
            if count.saturating_mul(4) > b.remaining() {
                return None;
            }
            for _ in 0..count {
                partitions.insert((topic.clone(), b.get_i32()));
            }
            get_tagged(b)?;
        }
    }
    if b.remaining() < 16 {
        return None;
    }
    let update_ms = b.get_i64();
    let start_ms = b.get_i64();
    let (mut previous_producer_id, mut next_producer_id, mut client_version) = (NO_PRODUCER_ID, NO_PRODUCER_ID, 0);
    for (tag, mut v) in get_tagged(b)? {
        match tag {
            0 if v.remaining() >= 8 => previous_producer_id = v.get_i64(),
            1 if v.remaining() >= 8 => next_producer_id = v.get_i64(),
            2 if v.remaining() >= 2 => client_version = v.get_i16(),
            _ => {}
        }
    }
    Some(Transit {
        producer_id,
        previous_producer_id,
        next_producer_id,
        producer_epoch,
        last_producer_epoch: NO_PRODUCER_EPOCH,
        timeout_ms,
        state,
        partitions,
        start_ms,
        update_ms,
        client_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn transit(state: TxnState, parts: &[(&str, i32)]) -> Transit {
        Transit {
            producer_id: 42,
            previous_producer_id: NO_PRODUCER_ID,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: 3,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms: 60_000,
            state,
            partitions: parts.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
            start_ms: 100,
            update_ms: 200,
            client_version: 0,
        }
    }

    #[test]
    fn values_round_trip_in_kafkas_layout() {
        let t = transit(TxnState::Ongoing, &[("a", 0), ("a", 2), ("b", 1)]);
        let v = value(&t);
        // version, pid, epoch, timeout, state, 2 topics: "a" [0, 2], "b" [1], update, start
        let expected_len = 2 + 8 + 2 + 4 + 1 + 4 + (2 + 1 + 4 + 8) + (2 + 1 + 4 + 4) + 8 + 8;
        assert_eq!(v.len(), expected_len);
        assert_eq!(decode_value(v), Some(t));
        let empty = transit(TxnState::Empty, &[]);
        let v = value(&empty);
        assert_eq!(&v[17..21], &(-1i32).to_be_bytes(), "an Empty transaction's partitions are null");
        assert_eq!(decode_value(v), Some(empty));
        assert_eq!(decode_key(key("my-txn")), Some("my-txn".to_string()));
        assert_eq!(&key("ab")[..], &[0, 0, 0, 2, b'a', b'b']);
    }

    #[test]
    fn the_flexible_v1_value_is_read() {
        let mut b = BytesMut::new();
        b.put_i16(1);
        b.put_i64(9);
        b.put_i16(4);
        b.put_i32(1000);
        b.put_i8(TxnState::PrepareCommit as i8);
        b.put_u8(2); // one topic
        b.put_u8(2); // "t"
        b.put_slice(b"t");
        b.put_u8(2); // one partition
        b.put_i32(5);
        b.put_u8(0); // no tags
        b.put_i64(7);
        b.put_i64(6);
        b.put_u8(1); // one tag: previous producer id
        b.put_u8(0);
        b.put_u8(8);
        b.put_i64(3);
        let t = decode_value(b.freeze()).unwrap();
        assert_eq!(
            (t.producer_id, t.producer_epoch, t.state, t.previous_producer_id),
            (9, 4, TxnState::PrepareCommit, 3)
        );
        assert_eq!(t.partitions.into_iter().collect::<Vec<_>>(), [("t".to_string(), 5)]);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_value(Bytes::from(bytes.clone()));
            let _ = decode_key(Bytes::from(bytes));
        }

        #[test]
        fn any_transit_round_trips(pid in 0i64..i64::MAX, epoch in 0i16..i16::MAX, state in 0i8..6,
                                   parts in proptest::collection::btree_set(("[a-z]{1,5}", 0i32..100), 0..10),
                                   v2 in any::<bool>(), prev in -1i64..1000, next in -1i64..1000) {
            let state = TxnState::from_id(state).unwrap();
            let parts = if state == TxnState::Empty { BTreeSet::new() } else { parts };
            let t = Transit { producer_id: pid, producer_epoch: epoch, state, partitions: parts, ..transit(state, &[]) };
            // v1 (transaction version 2) also carries the previous and next producer ids.
            let t = if v2 {
                Transit { client_version: 2, previous_producer_id: prev, next_producer_id: next, ..t }
            } else {
                t
            };
            prop_assert_eq!(decode_value(value(&t)), Some(t));
        }
    }
}
