//! The other readers of broker-written state that recovery trusts: producer-state snapshots
//! and the `__consumer_offsets` key and value formats (replayed at every start).
#![no_main]

use brook::group::codec;
use brook::producer::state::ProducerStateTable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ProducerStateTable::from_snapshot(data);
    let b = bytes::Bytes::copy_from_slice(data);
    let _ = codec::decode_key(b.clone());
    let _ = codec::decode_offset_value(b.clone());
    let _ = codec::decode_group_value(b);
});
