//! The `/metrics` text: per partition its log start, high watermark, last stable offset, size
//! and producers; per topic the client bytes and records in and bytes out; per API the
//! request count and latency histogram; per consumer group its state, generation (a count of its rebalances),
//! members, and per committed partition the committed offset and the lag behind the high
//! watermark; connections; transactional ids by state; the coordinators' loading state.
//! Names follow Prometheus conventions (`brook_` prefix, `_bytes`, `_total`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::broker::Broker;

/// A label value escaped as the exposition format wants (`\`, `"` and newlines).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// One metric family: its HELP and TYPE lines, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
            return;
        }
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", esc(v))).collect();
        let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// The whole `/metrics` page.
pub fn render(broker: &Broker) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let mut partitions = broker.logs.all();
    partitions.sort_by(|a, b| (&*a.topic, a.index).cmp(&(&*b.topic, b.index)));
    let mut hw: HashMap<(String, i32), i64> = HashMap::new();
    let rows: Vec<_> = partitions
        .iter()
        .map(|p| {
            let o = p.offsets();
            hw.insert((p.topic.to_string(), p.index), o.high_watermark);
            (p.topic.to_string(), p.index.to_string(), o, p.size_bytes(), p.active_producers().len())
        })
        .collect();
    for (name, help, pick) in [
        ("brook_partition_log_start_offset", "First offset of the partition's log.", 0usize),
        ("brook_partition_high_watermark", "Offset after the last record consumers may read.", 1),
        ("brook_partition_last_stable_offset", "Offset read_committed consumers may read up to.", 2),
    ] {
        let mut f = Family::new(&mut out, name, "gauge", help);
        for (topic, partition, o, _, _) in &rows {
            let v = [o.log_start, o.high_watermark, o.last_stable][pick];
            f.sample(name, &[("topic", topic), ("partition", partition)], v);
        }
    }
    let mut f = Family::new(&mut out, "brook_partition_size_bytes", "gauge", "Bytes of the partition's log segments.");
    for (topic, partition, _, size, _) in &rows {
        f.sample("brook_partition_size_bytes", &[("topic", topic), ("partition", partition)], size);
    }
    let mut f =
        Family::new(&mut out, "brook_partition_producers", "gauge", "Producer ids with state in the partition.");
    for (topic, partition, _, _, producers) in &rows {
        f.sample("brook_partition_producers", &[("topic", topic), ("partition", partition)], producers);
    }
    // Client traffic per topic, summed over its partitions.
    let mut traffic: BTreeMap<&str, [u64; 4]> = BTreeMap::new();
    for p in &partitions {
        let t = traffic.entry(&p.topic).or_default();
        t[0] += p.traffic.bytes_in.load(Ordering::Relaxed);
        t[1] += p.traffic.records_in.load(Ordering::Relaxed);
        t[2] += p.traffic.bytes_out.load(Ordering::Relaxed);
        t[3] += p.traffic.records_out.load(Ordering::Relaxed);
    }
    for (name, help, i) in [
        ("brook_topic_bytes_in_total", "Record batch bytes clients produced to the topic.", 0usize),
        ("brook_topic_records_in_total", "Records clients produced to the topic.", 1),
        ("brook_topic_bytes_out_total", "Record batch bytes fetched from the topic.", 2),
        ("brook_topic_records_out_total", "Records fetched from the topic (control records not counted).", 3),
    ] {
        let mut f = Family::new(&mut out, name, "counter", help);
        for (topic, t) in &traffic {
            f.sample(name, &[("topic", topic)], t[i]);
        }
    }
    broker.requests.render(&mut out);
    let fsync = broker.replicas.fsync_stats();
    let _ = writeln!(out, "# HELP brook_fsync_round_duration_seconds One group-commit round: the fsyncs (or syncfs) that make appended data durable.");
    let _ = writeln!(out, "# TYPE brook_fsync_round_duration_seconds histogram");
    fsync.rounds.render(&mut out, "brook_fsync_round_duration_seconds", "");
    let mut f = Family::new(
        &mut out,
        "brook_fsync_partitions_total",
        "counter",
        "Partitions made durable by group-commit rounds.",
    );
    f.sample("brook_fsync_partitions_total", &[], fsync.partitions.load(Ordering::Relaxed));
    let c = &broker.logs.cleaner_totals;
    for (name, help, v) in [
        (
            "brook_log_cleaner_cleanings_total",
            "Partitions the log cleaner cleaned (one per pass over each).",
            &c.cleanings,
        ),
        ("brook_log_cleaner_read_bytes_total", "Bytes the log cleaner read.", &c.bytes_read),
        ("brook_log_cleaner_written_bytes_total", "Bytes the log cleaner wrote.", &c.bytes_written),
        ("brook_log_cleaner_records_read_total", "Records the log cleaner read.", &c.records_read),
        ("brook_log_cleaner_records_kept_total", "Records the log cleaner kept.", &c.records_kept),
    ] {
        let mut f = Family::new(&mut out, name, "counter", help);
        f.sample(name, &[], v.load(Ordering::Relaxed));
    }

    // Consumer groups: the offsets topic is internal, the groups are what operators watch.
    let groups: Vec<_> = broker.groups.list();
    let mut state = Family::new(&mut out, "brook_consumer_group_state", "gauge", "1 for the group's current state.");
    let mut described = Vec::new();
    for g in &groups {
        let g = g.lock();
        state.sample("brook_consumer_group_state", &[("group", &g.id), ("state", g.state_name())], 1);
        let offsets: BTreeMap<(String, i32), i64> = g.offsets.iter().map(|(k, v)| (k.clone(), v.offset)).collect();
        let (generation, members) = match (&g.share, &g.consumer) {
            (Some(s), _) => (s.group_epoch, s.members.len()),
            (None, Some(c)) => (c.group_epoch, c.members.len()),
            (None, None) => (g.generation, g.members.len()),
        };
        described.push((g.id.clone(), generation, members, offsets));
    }
    let mut f = Family::new(
        &mut out,
        "brook_consumer_group_generation",
        "gauge",
        "The group's generation: it counts the group's rebalances.",
    );
    for (id, generation, _, _) in &described {
        f.sample("brook_consumer_group_generation", &[("group", id)], generation);
    }
    let mut f = Family::new(&mut out, "brook_consumer_group_members", "gauge", "Members of the group.");
    for (id, _, members, _) in &described {
        f.sample("brook_consumer_group_members", &[("group", id)], members);
    }
    let mut f =
        Family::new(&mut out, "brook_consumer_group_committed_offset", "gauge", "The group's committed offset.");
    for (id, _, _, offsets) in &described {
        for ((topic, partition), offset) in offsets {
            let partition = partition.to_string();
            f.sample(
                "brook_consumer_group_committed_offset",
                &[("group", id), ("topic", topic), ("partition", &partition)],
                offset,
            );
        }
    }
    let mut f = Family::new(
        &mut out,
        "brook_consumer_group_lag",
        "gauge",
        "Records between the group's committed offset and the high watermark.",
    );
    for (id, _, _, offsets) in &described {
        for ((topic, partition), offset) in offsets {
            let Some(end) = hw.get(&(topic.clone(), *partition)) else { continue };
            let p = partition.to_string();
            f.sample(
                "brook_consumer_group_lag",
                &[("group", id), ("topic", topic), ("partition", &p)],
                (end - offset).max(0),
            );
        }
    }

    let mut f = Family::new(&mut out, "brook_connections", "gauge", "Client connections open.");
    f.sample("brook_connections", &[], broker.connection_limits.open());
    let mut by_state: BTreeMap<&'static str, usize> = BTreeMap::new();
    for (_, t) in broker.txns.list() {
        *by_state.entry(t.lock().state.name()).or_default() += 1;
    }
    let mut f = Family::new(
        &mut out,
        "brook_transactional_ids",
        "gauge",
        "Transactional ids by the state of their transaction.",
    );
    for (state, n) in &by_state {
        f.sample("brook_transactional_ids", &[("state", state)], n);
    }
    let mut f = Family::new(
        &mut out,
        "brook_coordinator_loading",
        "gauge",
        "1 while the coordinator's internal topic is being replayed after a start.",
    );
    f.sample("brook_coordinator_loading", &[("coordinator", "group")], u8::from(broker.groups.loading()));
    f.sample("brook_coordinator_loading", &[("coordinator", "transaction")], u8::from(broker.txns.loading()));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
