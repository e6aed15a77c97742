//! Micro-benchmarks of the two hot paths without a client: produce (batch validation + CRC +
//! append) and fetch (index lookup + read). Run with `cargo bench --bench log_paths`.

use brook::config::BrokerConfig;
use brook::log::batch::{self, BatchHeader};
use brook::log::records;
use brook::log::validate;
use brook::log::{LogConfig, Partition};
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// The broker's default segment size and index interval (from the settings table).
fn config() -> LogConfig {
    let broker = BrokerConfig::defaults();
    LogConfig {
        index_interval: broker.log_index_interval_bytes as u64,
        ..LogConfig::for_tests(broker.log_segment_bytes as u64)
    }
}

/// A ~64 KiB batch of 600 records with 100-byte values, as a producer sends them.
fn sample_batch() -> Bytes {
    let mut body = Vec::new();
    for i in 0..600 {
        let key = format!("key-{i}");
        records::encode_record(&mut body, i as i64, i, Some(key.as_bytes()), Some(&[7u8; 100]), &[]);
    }
    batch::build_batch(0, 600, 1_700_000_000_000 + 599, &body)
}

fn produce(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (part, _) = Partition::open(dir.path().join("p-0"), "p".into(), 0, config(), None, false).unwrap();
    let b = sample_batch();
    let rules = config().record_rules();
    let now = 1_700_000_000_000;
    let mut g = c.benchmark_group("produce");
    g.throughput(Throughput::Bytes(b.len() as u64));
    g.bench_function("validate+append 64KiB batch", |bench| {
        bench.iter(|| {
            let mut batches = batch::split_batches(b.clone()).unwrap();
            let (h, bytes) = batches.pop().unwrap();
            batch::validate_produced(&h).unwrap();
            validate::validate_records(&h, &bytes, &rules, now).unwrap();
            part.append(h, bytes).unwrap()
        })
    });
    g.bench_function("crc32c 64KiB", |bench| bench.iter(|| batch::validate(&b).unwrap()));
    let h = BatchHeader::parse(&b).unwrap();
    g.bench_function("framing walk only 600 records", |bench| {
        bench.iter(|| records::walk(&h, &b, 1 << 20, |r| r.offset_delta >= 0).unwrap())
    });
    g.bench_function("records walk 600 records", |bench| {
        bench.iter(|| validate::validate_records(&h, &b, &rules, now).unwrap())
    });
    g.finish();
}

fn fetch(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (part, _) = Partition::open(dir.path().join("f-0"), "f".into(), 0, config(), None, false).unwrap();
    // Fetch never looks inside a batch: exactly-64 KiB batches keep this figure comparable
    // with earlier runs (the produce sample's 69 KB batches cut every 1 MiB read mid-batch).
    let b = batch::build_batch(0, 600, 1_700_000_000_000, &vec![7u8; 64 * 1024 - batch::HEADER_LEN]);
    for _ in 0..2000 {
        let h = BatchHeader::parse(&b).unwrap();
        part.append(h, b.clone()).unwrap();
    }
    let end = part.offsets().high_watermark;
    let mut g = c.benchmark_group("fetch");
    g.throughput(Throughput::Bytes(1 << 20));
    let mut i = 0i64;
    g.bench_function("lookup+read 1MiB at a random offset", |bench| {
        bench.iter(|| {
            i = (i + 7919 * 600) % end;
            part.read(i, 1 << 20, true).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, produce, fetch);
criterion_main!(benches);
