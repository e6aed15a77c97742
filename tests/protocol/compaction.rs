//! Log compaction (`cleanup.policy=compact`) through the wire: after a cleaner pass each
//! key's latest value is what Fetch returns, at its original offset; tombstones last
//! `delete.retention.ms` after the pass that first saw them; a consumer reading during a pass
//! sees a consistent log; `min.cleanable.dirty.ratio` and `min.compaction.lag.ms` decide
//! whether a pass cleans; a crash at each step of the segment swap recovers; the group
//! records of `__consumer_offsets` survive a clean and a restart. Passes are run by the test
//! (`LogManager::clean_once`, with the time it chooses) on brokers whose cleaner threads are
//! off, so nothing depends on timing, except the one test of the threads themselves.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

use crate::common::*;

/// A broker whose cleaner threads are off: the tests run the passes.
async fn broker() -> TestBroker {
    TestBroker::start_with(|c| c.log_cleaner_enable = false).await
}

/// One batch of keyed records (`None`: a tombstone), stamped `ts`.
fn keyed(recs: &[(&str, Option<&str>)], ts: i64) -> Bytes {
    keyed_with(recs, ts, Compression::None)
}

/// [`keyed`], compressed with `compression`.
fn keyed_with(recs: &[(&str, Option<&str>)], ts: i64, compression: Compression) -> Bytes {
    let records: Vec<Record> = recs
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32 - 1, // offset - sequence constant: one batch
            timestamp: ts,
            key: Some(Bytes::from(k.to_string())),
            value: v.map(|v| Bytes::from(v.to_string())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression }).unwrap();
    buf.freeze()
}

/// Compacted topic configs with small segments and the given extras.
fn compacted<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut c = vec![("cleanup.policy", "compact"), ("segment.bytes", "2048"), ("min.cleanable.dirty.ratio", "0.01")];
    for (k, v) in extra {
        c.retain(|(x, _)| x != k);
        c.push((k, v));
    }
    c
}

/// Produces `rounds` rounds of `keys` keys (`key{k}` = `r{round}`, one batch a round);
/// returns each key's latest (offset, value).
async fn updates(c: &mut Client, topic: &str, keys: usize, rounds: usize, ts: i64) -> BTreeMap<String, (i64, String)> {
    updates_of(c, topic, "key", keys, rounds, ts).await
}

/// [`updates`] of keys `{prefix}{k}`.
async fn updates_of(
    c: &mut Client,
    topic: &str,
    prefix: &str,
    keys: usize,
    rounds: usize,
    ts: i64,
) -> BTreeMap<String, (i64, String)> {
    let mut latest = BTreeMap::new();
    for round in 0..rounds {
        let vals: Vec<(String, String)> = (0..keys).map(|k| (format!("{prefix}{k}"), format!("r{round}"))).collect();
        let recs: Vec<(&str, Option<&str>)> = vals.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))).collect();
        let base = produce_ok(c, topic, 0, keyed(&recs, ts)).await;
        for (i, (k, v)) in vals.into_iter().enumerate() {
            latest.insert(k, (base + i as i64, v));
        }
    }
    latest
}

/// Every record Fetch returns, as (offset, key, value). Like a real consumer, the next fetch
/// starts after the last batch returned (a cleaned log has empty batches and gaps).
async fn read(c: &mut Client, topic: &str) -> Vec<(i64, String, Option<String>)> {
    let s = |b: &Option<Bytes>| b.as_ref().map(|b| String::from_utf8(b.to_vec()).unwrap());
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let p = fetch(c, topic, 0, offset).await;
        assert_eq!(p.error_code, 0, "fetch {topic}@{offset}");
        let Some(bytes) = p.records.clone() else { break };
        let mut next = offset;
        let mut pos = 0;
        while pos + 61 <= bytes.len() {
            let base = i64::from_be_bytes(bytes[pos..pos + 8].try_into().unwrap());
            let len = i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
            let delta = i32::from_be_bytes(bytes[pos + 23..pos + 27].try_into().unwrap()) as i64;
            next = next.max(base + delta + 1);
            pos += 12 + len;
        }
        out.extend(
            decode_records(&p.records)
                .iter()
                .filter(|r| r.offset >= offset)
                .map(|r| (r.offset, s(&r.key).unwrap(), s(&r.value))),
        );
        if next == offset || next >= p.high_watermark {
            break;
        }
        offset = next;
    }
    out
}

fn pass(b: &TestBroker, now_ms: i64) -> usize {
    b.handle.as_ref().unwrap().broker.logs.clean_once(now_ms).len()
}

/// Each key's latest value is read at its offset, and below the active segment no key
/// appears twice.
fn assert_compacted(records: &[(i64, String, Option<String>)], latest: &BTreeMap<String, (i64, String)>, below: i64) {
    assert!(records.windows(2).all(|w| w[0].0 < w[1].0), "offsets increase");
    for (k, (off, v)) in latest {
        assert!(
            records.iter().any(|(o, kk, vv)| o == off && kk == k && vv.as_deref() == Some(v.as_str())),
            "{k} = {v} at {off}"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (o, k, _) in records.iter().filter(|r| r.0 < below) {
        assert!(seen.insert(k.clone()), "{k} twice in the cleaned part (at {o})");
    }
}

fn active_base(b: &TestBroker, topic: &str) -> i64 {
    b.handle.as_ref().unwrap().broker.logs.get(topic, 0).unwrap().cleaner_view().active_base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_keeps_one_value_per_key_at_its_offset() {
    let b = broker().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "cmp", 1, &compacted(&[])).await;
    let latest = updates(&mut c, "cmp", 10, 30, now_ms()).await;
    let before = read(&mut c, "cmp").await;
    assert_eq!(before.len(), 300);
    assert_eq!(pass(&b, now_ms()), 1);
    let after = read(&mut c, "cmp").await;
    let active = active_base(&b, "cmp");
    assert_eq!(after.iter().filter(|r| r.0 < active).count(), 10, "one record per key before the active segment");
    assert_compacted(&after, &latest, active);
    // Every record left is one that was written, at the offset it was written at.
    assert!(after.iter().all(|r| before.contains(r)));
    let hw = fetch(&mut c, "cmp", 0, 0).await.high_watermark;
    assert_eq!(hw, 300, "offsets are preserved: the log end does not move");
    assert_eq!(list_offsets(&mut c, "cmp", 0, -2).await.offset, 0, "the log start does not move");
    assert_eq!(list_offsets(&mut c, "cmp", 0, -1).await.offset, 300);
    b.stop().await;
}

/// A tombstone stays delete.retention.ms after the pass that first saw it (its batch then
/// carries the delete horizon), and a pass after that removes it; the key's older values go
/// at the first pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstones_last_delete_retention_ms_then_go() {
    let b = broker().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "tomb", 1, &compacted(&[("delete.retention.ms", "60000")])).await;
    let t0 = now_ms();
    updates(&mut c, "tomb", 5, 10, t0).await;
    let tomb_at = produce_ok(&mut c, "tomb", 0, keyed(&[("key1", None)], t0)).await;
    let filler = updates_of(&mut c, "tomb", "fill", 3, 30, t0).await; // rolls the tombstone out of the active segment
    assert!(active_base(&b, "tomb") > tomb_at);
    assert_eq!(pass(&b, t0), 1);
    let r = read(&mut c, "tomb").await;
    let key1: Vec<_> = r.iter().filter(|x| x.1 == "key1").collect();
    assert_eq!(key1, vec![&(tomb_at, "key1".to_string(), None)], "only the tombstone is left of key1");
    // More dirty data, a pass before the horizon: the tombstone stays.
    updates_of(&mut c, "tomb", "fill", 3, 30, t0).await;
    assert_eq!(pass(&b, t0 + 59_000), 1);
    assert!(read(&mut c, "tomb").await.iter().any(|x| x.0 == tomb_at && x.2.is_none()), "kept before the horizon");
    // After it, the next pass removes it.
    let latest = updates_of(&mut c, "tomb", "fill", 3, 30, t0).await;
    assert_eq!(pass(&b, t0 + 61_000), 1);
    let r = read(&mut c, "tomb").await;
    assert!(!r.iter().any(|x| x.1 == "key1"), "the tombstone is gone: {r:?}");
    assert!(["key0", "key2", "key3", "key4"].iter().all(|k| r.iter().any(|x| x.1 == *k)));
    assert_compacted(&r, &latest, active_base(&b, "tomb"));
    drop(filler);
    b.stop().await;
}

/// Compressed batches that lose records are rewritten with their own codec, and a client's
/// decoder (kafka-protocol's) reads them: gzip, snappy (xerial), lz4 (frame), zstd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_batches_are_rewritten_with_their_codec() {
    let b = broker().await;
    let mut c = b.client().await;
    for (topic, codec, attr) in [
        ("gz", Compression::Gzip, 1),
        ("sn", Compression::Snappy, 2),
        ("lz", Compression::Lz4, 3),
        ("zs", Compression::Zstd, 4),
    ] {
        create_topic_with(&mut c, topic, 1, &compacted(&[])).await;
        let mut latest = BTreeMap::new();
        for round in 0..40 {
            // Each batch: an update of a shared key and a key of its own (which survives).
            let (own, v) = (format!("own{round}"), format!("r{round}-{}", "x".repeat(50)));
            let recs = [("shared", Some(v.as_str())), (own.as_str(), Some(v.as_str()))];
            let base = produce_ok(&mut c, topic, 0, keyed_with(&recs, now_ms(), codec)).await;
            latest.insert("shared".to_string(), (base, v.clone()));
            latest.insert(own, (base + 1, v));
        }
        assert_eq!(pass(&b, now_ms()), 1, "{topic}");
        let r = read(&mut c, topic).await;
        assert_compacted(&r, &latest, active_base(&b, topic));
        // The rewritten batches kept their codec.
        let p = fetch(&mut c, topic, 0, 0).await;
        let bytes = p.records.unwrap();
        let mut pos = 0;
        let mut rewritten = 0;
        while pos + 61 <= bytes.len() {
            let len = i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
            let attrs = i16::from_be_bytes(bytes[pos + 21..pos + 23].try_into().unwrap());
            let count = i32::from_be_bytes(bytes[pos + 57..pos + 61].try_into().unwrap());
            if count == 1 {
                assert_eq!(attrs & 7, attr, "{topic}: a rewritten batch keeps its codec");
                rewritten += 1;
            }
            pos += 12 + len;
        }
        assert!(rewritten > 0, "{topic}");
    }
    b.stop().await;
}

/// A consumer reading the whole log again and again while a pass runs always sees offsets
/// in order and every key's latest value (never a log with a key's last value gone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_fetching_during_a_pass_sees_a_consistent_log() {
    // Throttled (log.cleaner.io.max.bytes.per.second) so the pass lasts about a second.
    let b = TestBroker::start_with(|c| {
        c.log_cleaner_enable = false;
        c.log_cleaner_io_max_bytes_per_second = 60_000.0;
    })
    .await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "live", 1, &compacted(&[])).await;
    let latest = updates(&mut c, "live", 20, 60, now_ms()).await;
    let logs = b.handle.as_ref().unwrap().broker.logs.clone();
    let cleaning = tokio::task::spawn_blocking(move || logs.clean_once(now_ms()).len());
    let mut reads = 0;
    loop {
        let done = cleaning.is_finished();
        let r = read(&mut c, "live").await;
        assert!(r.windows(2).all(|w| w[0].0 < w[1].0), "offsets increase");
        for (k, (off, v)) in &latest {
            let last = r.iter().rev().find(|x| &x.1 == k).expect("every key is there");
            assert_eq!((last.0, last.2.as_deref()), (*off, Some(v.as_str())), "{k}'s latest value");
        }
        reads += 1;
        if done {
            break;
        }
    }
    assert_eq!(cleaning.await.unwrap(), 1);
    assert!(reads >= 3, "the reads overlapped the pass ({reads})");
    assert_compacted(&read(&mut c, "live").await, &latest, active_base(&b, "live"));
    b.stop().await;
}

/// min.cleanable.dirty.ratio: a pass cleans only when the dirty part's share of the log is
/// above it; min.compaction.lag.ms: records younger than it are not cleaned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dirty_ratio_and_the_minimum_lag_gate_cleaning() {
    let b = broker().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "ratio", 1, &compacted(&[("min.cleanable.dirty.ratio", "0.75")])).await;
    let t = now_ms();
    // 200 distinct keys: a clean part that cleaning does not shrink.
    let mut latest = updates_of(&mut c, "ratio", "distinct", 10, 1, t).await;
    for batch in 1..20 {
        latest.extend(updates_of(&mut c, "ratio", &format!("distinct{batch}-"), 10, 1, t).await);
    }
    updates(&mut c, "ratio", 10, 12, t).await;
    assert_eq!(pass(&b, t), 1, "all dirty: ratio 1");
    // New data a round at a time: no pass while the dirty share is at most 0.75, one as soon
    // as it is above.
    let p = b.handle.as_ref().unwrap().broker.logs.get("ratio", 0).unwrap();
    let mut gated = 0;
    for round in 0.. {
        assert!(round < 500, "the dirty ratio never passed 0.75");
        latest.extend(updates(&mut c, "ratio", 10, 1, t).await);
        let plan = brook::log::cleaner::plan::plan(&p.cleaner_view(), p.first_dirty_offset(), t).unwrap();
        let n = read(&mut c, "ratio").await.len();
        if plan.dirty_ratio() > 0.75 {
            assert_eq!(pass(&b, t), 1, "above the ratio ({})", plan.dirty_ratio());
            break;
        }
        assert_eq!(pass(&b, t), 0, "at or below the ratio ({})", plan.dirty_ratio());
        assert_eq!(read(&mut c, "ratio").await.len(), n, "nothing cleaned");
        gated += usize::from(plan.cleanable_bytes > 0);
    }
    assert!(gated > 0, "some dirty segments waited for the ratio");
    let r = read(&mut c, "ratio").await;
    assert!(r.windows(2).all(|w| w[0].0 < w[1].0));
    for (k, (off, v)) in &latest {
        assert!(r.iter().any(|x| &x.0 == off && &x.1 == k && x.2.as_deref() == Some(v.as_str())));
    }

    create_topic_with(&mut c, "lag", 1, &compacted(&[("min.compaction.lag.ms", "3600000")])).await;
    let latest = updates(&mut c, "lag", 10, 30, t).await;
    assert_eq!(pass(&b, t + 1_000), 0, "younger than the lag");
    assert_eq!(read(&mut c, "lag").await.len(), 300);
    assert_eq!(pass(&b, t + 3_700_000), 1, "older than the lag");
    assert_compacted(&read(&mut c, "lag").await, &latest, active_base(&b, "lag"));
    b.stop().await;
}

/// A crash at each step of a cleaned segment's swap (the pass stopped there, the broker
/// dropped without shutdown, a new one started on the directory): every key's latest value
/// is fetched at its offset, the log end is unchanged, and produce goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_each_swap_step_recovers() {
    use brook::log::cleaner::{clean_partition_until, CleanerConfig};
    use brook::log::partition::clean::CrashAt;
    for crash in [CrashAt::Cleaned, CrashAt::Swapped, CrashAt::OneOldDeleted, CrashAt::OldDeleted] {
        let mut b = broker().await;
        let mut c = b.client().await;
        create_topic_with(&mut c, "crash", 1, &compacted(&[])).await;
        let latest = updates(&mut c, "crash", 10, 30, now_ms()).await;
        {
            let p = b.handle.as_ref().unwrap().broker.logs.get("crash", 0).unwrap();
            let cfg = CleanerConfig { dedupe_bytes: 1 << 20, io_max_bytes_per_second: f64::MAX };
            let stop = std::sync::atomic::AtomicBool::new(false);
            clean_partition_until(&p, &cfg, now_ms(), &stop, Some(crash)).unwrap().expect("a pass");
        }
        drop(c);
        b.crash_restart_with(|cfg| cfg.log_cleaner_enable = false).await;
        let mut c = b.client().await;
        let r = read(&mut c, "crash").await;
        assert_eq!(fetch(&mut c, "crash", 0, 0).await.high_watermark, 300, "{crash:?}");
        if crash == CrashAt::Cleaned {
            assert_eq!(r.len(), 300, "rolled back");
        } else {
            // Only the first group (the first segment) was cleaned: no "once per key" check.
            assert_compacted(&r, &latest, 0);
            assert!(r.len() < 300, "{crash:?}: the cleaned segment is in");
        }
        assert_eq!(produce_ok(&mut c, "crash", 0, keyed(&[("key0", Some("after"))], now_ms())).await, 300);
        assert_eq!(pass(&b, now_ms()), 1, "{crash:?}: a pass after recovery");
        let mut latest = latest;
        latest.insert("key0".into(), (300, "after".into()));
        assert_compacted(&read(&mut c, "crash").await, &latest, active_base(&b, "crash"));
        b.stop().await;
    }
}

/// The cleaner threads run on their own when enabled (`log.cleaner.backoff.ms` apart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cleaner_threads_clean_on_their_own() {
    let b = TestBroker::start_with(|c| c.log_cleaner_backoff = Duration::from_millis(20)).await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "auto", 1, &compacted(&[])).await;
    let latest = updates(&mut c, "auto", 10, 30, now_ms()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    // A pass may run while the updates are still arriving and leave later ones dirty; the
    // threads go on passing until everything below the active segment is clean.
    loop {
        let r = read(&mut c, "auto").await;
        let below = active_base(&b, "auto");
        let mut seen = std::collections::HashSet::new();
        if r.len() < 300 && r.iter().filter(|x| x.0 < below).all(|x| seen.insert(x.1.clone())) {
            assert_compacted(&r, &latest, below);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no complete pass within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Written once the pass is over.
    while !b.path().join("cleaner-offset-checkpoint.json").exists() {
        assert!(tokio::time::Instant::now() < deadline, "no cleaner checkpoint within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    b.stop().await;
}

/// `__consumer_offsets` is compacted: after many commits of a group and a pass, its
/// superseded commit records are gone, and a restart replays it to the same offsets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_offsets_survive_a_clean_and_a_restart() {
    use crate::common::groups::{commit_standalone, committed};
    // Offsets-topic segments roll on every append after 1 ms, so there is something to clean.
    let mut b = TestBroker::start_with(|c| {
        c.log_cleaner_enable = false;
        c.log_roll_ms = 1;
    })
    .await;
    let mut c = b.client().await;
    create_topic(&mut c, "data", 2).await;
    for i in 0..20 {
        commit_standalone(&mut c, "g1", &[("data", 0, i, None), ("data", 1, 100 + i, None)]).await;
        commit_standalone(&mut c, "g2", &[("data", 0, 1000 + i, Some("meta"))]).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let logs = b.handle.as_ref().unwrap().broker.logs.clone();
    let records = |logs: &Arc<brook::log::LogManager>| -> usize {
        let mut n = 0;
        for p in logs.partitions("__consumer_offsets") {
            p.for_each_batch(0, |batch| n += i32::from_be_bytes([batch[57], batch[58], batch[59], batch[60]]) as usize)
                .unwrap();
        }
        n
    };
    let before = records(&logs);
    assert!(pass(&b, now_ms() + 1_000) >= 1, "the offsets partitions are cleaned");
    let after = records(&logs);
    assert!(after < before, "superseded commits are gone ({before} -> {after})");
    drop(logs);
    assert_eq!(committed(&mut c, "g1", "data", 1).await, 119);
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    assert_eq!(committed(&mut c, "g1", "data", 0).await, 19);
    assert_eq!(committed(&mut c, "g1", "data", 1).await, 119);
    assert_eq!(committed(&mut c, "g2", "data", 0).await, 1019);
    b.stop().await;
}
