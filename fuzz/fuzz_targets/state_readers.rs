//! The other readers of broker-written state that recovery trusts: producer-state snapshots,
//! aborted-transaction indexes, transaction marker records and the `__consumer_offsets` key
//! and value formats, classic and KIP-848 (replayed at every start), and the share-group
//! records (KIP-932).
#![no_main]

use brook::group::codec;
use brook::producer::state::ProducerStateTable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ProducerStateTable::from_snapshot(data);
    let _ = brook::log::txn_index::decode_all(data, 0);
    let (key, value) = data.split_at(data.len() / 2);
    let _ = brook::log::batch::parse_end_txn_marker(Some(key), Some(value));
    let b = bytes::Bytes::copy_from_slice(data);
    let _ = codec::decode_key(b.clone());
    let _ = codec::decode_offset_value(b.clone());
    let _ = codec::decode_group_value(b.clone());
    use brook::group::consumer_records as cr;
    let _ = cr::decode_key(b.clone());
    let _ = cr::GroupMetadataValue::decode(b.clone());
    let _ = cr::MemberMetadataValue::decode(b.clone());
    let _ = cr::TargetAssignmentMetadataValue::decode(b.clone());
    let _ = cr::TargetAssignmentMemberValue::decode(b.clone());
    let _ = cr::CurrentMemberAssignmentValue::decode(b.clone());
    let _ = cr::RegularExpressionValue::decode(b.clone());
    use brook::share::records as sr;
    let _ = sr::decode_key(b.clone());
    let _ = sr::decode_state_key(b.clone());
    let _ = sr::MemberMetadataValue::decode(b.clone());
    let _ = sr::GroupMetadataValue::decode(b.clone());
    let _ = sr::TargetAssignmentMetadataValue::decode(b.clone());
    let _ = sr::TargetAssignmentMemberValue::decode(b.clone());
    let _ = sr::CurrentMemberAssignmentValue::decode(b.clone());
    let _ = sr::StatePartitionMetadataValue::decode(b.clone());
    let _ = sr::ShareSnapshotValue::decode(b.clone());
    let _ = sr::ShareUpdateValue::decode(b);
});
