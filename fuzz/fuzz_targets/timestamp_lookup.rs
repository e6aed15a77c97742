//! The ListOffsets-by-timestamp path over a stored batch of arbitrary bytes (as if the disk
//! held it): one record at a time, bounded inflation, never a panic.
#![no_main]

use brook::log::batch::BatchHeader;
use brook::log::records::first_at_or_after;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let ts = i64::from_be_bytes(data[..8].try_into().unwrap_or_default());
    let stored = &data[8..];
    if let Ok(h) = BatchHeader::parse(stored) {
        let _ = first_at_or_after(&h, stored, ts, 0, 1 << 20);
    }
});
