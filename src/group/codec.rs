//! The `__consumer_offsets` record format, byte-compatible with Apache Kafka's
//! (OffsetCommitKey v1 / OffsetCommitValue v3, GroupMetadataKey v2 / GroupMetadataValue v3),
//! so Kafka's tools can read Brook's internal topic. The kafka-protocol crate does not
//! carry these schemas, so they are written out here.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::wire::{get_bytes, get_opt_str, get_str, put_bytes, put_opt_str, put_str};

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

/// One member as stored in group metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: i32,
    pub session_timeout: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

/// Group metadata as stored after each completed rebalance or state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub state_timestamp: i64,
    pub members: Vec<StoredMember>,
}

/// A decoded record key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Offset { group: String, topic: String, partition: i32 },
    Group { group: String },
}

pub fn offset_key(group: &str, topic: &str, partition: i32) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(1);
    put_str(&mut b, group);
    put_str(&mut b, topic);
    b.put_i32(partition);
    b.freeze()
}

pub fn group_key(group: &str) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(2);
    put_str(&mut b, group);
    b.freeze()
}

pub fn offset_value(v: &OffsetValue) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(3);
    b.put_i64(v.offset);
    b.put_i32(v.leader_epoch);
    put_str(&mut b, &v.metadata);
    b.put_i64(v.commit_timestamp);
    b.freeze()
}

pub fn group_value(g: &GroupValue) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(3);
    put_str(&mut b, &g.protocol_type);
    b.put_i32(g.generation);
    put_opt_str(&mut b, g.protocol.as_deref());
    put_opt_str(&mut b, g.leader.as_deref());
    b.put_i64(g.state_timestamp);
    b.put_i32(g.members.len() as i32);
    for m in &g.members {
        put_str(&mut b, &m.member_id);
        put_opt_str(&mut b, m.group_instance_id.as_deref());
        put_str(&mut b, &m.client_id);
        put_str(&mut b, &m.client_host);
        b.put_i32(m.rebalance_timeout);
        b.put_i32(m.session_timeout);
        put_bytes(&mut b, &m.subscription);
        put_bytes(&mut b, &m.assignment);
    }
    b.freeze()
}

pub fn decode_key(mut b: Bytes) -> Option<Key> {
    if b.remaining() < 2 {
        return None;
    }
    match b.get_i16() {
        0 | 1 => {
            let group = get_str(&mut b)?;
            let topic = get_str(&mut b)?;
            (b.remaining() >= 4).then(|| Key::Offset { group, topic, partition: b.get_i32() })
        }
        2 => Some(Key::Group { group: get_str(&mut b)? }),
        _ => None,
    }
}

pub fn decode_offset_value(mut b: Bytes) -> Option<OffsetValue> {
    if b.remaining() < 2 {
        return None;
    }
    let version = b.get_i16();
    if b.remaining() < 8 {
        return None;
    }
    let offset = b.get_i64();
    let leader_epoch = if version >= 3 && b.remaining() >= 4 { b.get_i32() } else { -1 };
    let metadata = get_str(&mut b)?;
    let commit_timestamp = if b.remaining() >= 8 { b.get_i64() } else { 0 };
    Some(OffsetValue { offset, leader_epoch, metadata, commit_timestamp })
}

pub fn decode_group_value(mut b: Bytes) -> Option<GroupValue> {
    if b.remaining() < 2 {
        return None;
    }
    let version = b.get_i16();
    let protocol_type = get_str(&mut b)?;
    if b.remaining() < 4 {
        return None;
    }
    let generation = b.get_i32();
    let protocol = get_opt_str(&mut b)?;
    let leader = get_opt_str(&mut b)?;
    let state_timestamp = if version >= 2 && b.remaining() >= 8 { b.get_i64() } else { -1 };
    if b.remaining() < 4 {
        return None;
    }
    let n = b.get_i32().max(0);
    let mut members = Vec::new();
    for _ in 0..n {
        let member_id = get_str(&mut b)?;
        let group_instance_id = if version >= 3 { get_opt_str(&mut b)? } else { None };
        let client_id = get_str(&mut b)?;
        let client_host = get_str(&mut b)?;
        if b.remaining() < 8 {
            return None;
        }
        let rebalance_timeout = if version >= 1 { b.get_i32() } else { 0 };
        let session_timeout = b.get_i32();
        let subscription = get_bytes(&mut b)?;
        let assignment = get_bytes(&mut b)?;
        members.push(StoredMember {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout,
            session_timeout,
            subscription,
            assignment,
        });
    }
    Some(GroupValue { protocol_type, generation, protocol, leader, state_timestamp, members })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_roundtrip() {
        let k = decode_key(offset_key("g", "t", 3)).unwrap();
        assert_eq!(k, Key::Offset { group: "g".into(), topic: "t".into(), partition: 3 });
        let v = OffsetValue { offset: 42, leader_epoch: 0, metadata: "meta".into(), commit_timestamp: 7 };
        assert_eq!(decode_offset_value(offset_value(&v)).unwrap(), v);
    }

    #[test]
    fn group_roundtrip() {
        let g = GroupValue {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            state_timestamp: 9,
            members: vec![StoredMember {
                member_id: "m1".into(),
                group_instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: 300000,
                session_timeout: 45000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        assert_eq!(decode_key(group_key("g")).unwrap(), Key::Group { group: "g".into() });
        assert_eq!(decode_group_value(group_value(&g)).unwrap(), g);
    }

    #[test]
    fn garbage_does_not_panic() {
        for bytes in [&b""[..], &[0, 1, 0xff, 0xff][..], &[0, 3, 0, 5, b'a'][..]] {
            let _ = decode_key(Bytes::copy_from_slice(bytes));
            let _ = decode_offset_value(Bytes::copy_from_slice(bytes));
            let _ = decode_group_value(Bytes::copy_from_slice(bytes));
        }
    }
}
