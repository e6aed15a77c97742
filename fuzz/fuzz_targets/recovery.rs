//! Startup recovery of a partition directory whose segment, offset index, time index and
//! producer snapshot hold arbitrary bytes: opening it must truncate or rebuild, never panic,
//! and the recovered log must then read back and accept an append.
#![no_main]

use brook::log::batch::{build_batch, BatchHeader};
use brook::log::records::encode_record;
use brook::log::{LogConfig, Partition};
use libfuzzer_sys::fuzz_target;

fn config() -> LogConfig {
    LogConfig { index_interval: 64, max_uncompressed_bytes: 1 << 20, ..LogConfig::for_tests(1 << 20) }
}

/// Splits the input into four files at the lengths its first four bytes give.
fn split(data: &[u8]) -> Option<[&[u8]; 4]> {
    let (lens, mut rest) = data.split_at_checked(4)?;
    let mut parts = [&[][..]; 4];
    for (i, part) in parts.iter_mut().take(3).enumerate() {
        let n = (lens[i] as usize * 16).min(rest.len());
        (*part, rest) = rest.split_at(n);
    }
    parts[3] = rest;
    Some(parts)
}

fuzz_target!(|data: &[u8]| {
    let Some([index, timeindex, snapshot, log]) = split(data) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("t-0");
    std::fs::create_dir_all(&p).expect("dir");
    let stem = "00000000000000000000";
    std::fs::write(p.join(format!("{stem}.log")), log).expect("write");
    std::fs::write(p.join(format!("{stem}.index")), index).expect("write");
    std::fs::write(p.join(format!("{stem}.timeindex")), timeindex).expect("write");
    std::fs::write(p.join(format!("{stem}.snapshot")), snapshot).expect("write");
    let Ok((part, _)) = Partition::open(p, "t".into(), 0, config(), None, false) else { return };
    let _ = part.for_each_batch(0, |_| {});
    let _ = part.offset_for_timestamp(0);
    let _ = part.max_timestamp_offset();
    let mut body = Vec::new();
    encode_record(&mut body, 0, 0, None, Some(b"after recovery"), &[]);
    let b = build_batch(0, 1, 1, &body);
    let end = part.offsets().log_end;
    let appended = part.append(BatchHeader::parse(&b).expect("valid"), b).expect("append after recovery");
    assert_eq!(appended.base_offset, end);
});
