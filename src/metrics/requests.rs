//! Latency histograms in relaxed atomics (no lock, no allocation): per API key, from a
//! request's decoding to its answer being ready, and the group commit's fsync rounds.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds (Prometheus' `le`).
const BUCKETS: [f64; 14] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// API keys counted (Kafka's are below this).
const KEYS: usize = 128;

/// One latency histogram: count, sum and per-bucket counts.
#[derive(Default)]
pub struct Histogram {
    count: AtomicU64,
    sum_us: AtomicU64,
    /// Per bucket (not cumulative; summed when rendered).
    buckets: [AtomicU64; BUCKETS.len()],
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        if let Some(b) = BUCKETS.iter().position(|le| secs <= *le) {
            self.buckets[b].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The samples of `name` (a histogram family) with `labels` (`k="v",` each, or empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (le, b) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += b.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let labels = labels.trim_end_matches(',');
        if labels.is_empty() {
            let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        } else {
            let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}\n{name}_count{{{labels}}} {count}");
        }
    }
}

/// Error codes counted per API: a slot per code from -1 up, the last for codes beyond.
const ERROR_CODES: usize = 192;

pub struct RequestStats {
    apis: Box<[Histogram]>,
    /// Per API key, counts per error code (allocated at the API's first error).
    errors: Box<[OnceLock<Box<[AtomicU64]>>]>,
}

impl Default for RequestStats {
    fn default() -> Self {
        Self {
            apis: (0..KEYS).map(|_| Histogram::default()).collect(),
            errors: (0..KEYS).map(|_| OnceLock::new()).collect(),
        }
    }
}

impl RequestStats {
    /// One request of API `key` answered after `took`.
    pub fn observe(&self, key: i16, took: Duration) {
        if let Some(h) = usize::try_from(key).ok().and_then(|k| self.apis.get(k)) {
            h.observe(took);
        }
    }

    /// A response of API `key` carried error `code` `count` times (per partition, group...).
    pub fn error(&self, key: i16, code: i16, count: u32) {
        let Some(per_code) = usize::try_from(key).ok().and_then(|k| self.errors.get(k)) else { return };
        let slots = per_code.get_or_init(|| (0..ERROR_CODES).map(|_| AtomicU64::new(0)).collect());
        slots[error_slot(code)].fetch_add(u64::from(count), Ordering::Relaxed);
    }

    /// The `brook_requests_total`, `brook_request_errors_total` and
    /// `brook_request_duration_seconds` families.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP brook_requests_total Requests answered (or dropped, acks=0), per API.");
        let _ = writeln!(out, "# TYPE brook_requests_total counter");
        let seen: Vec<(String, &Histogram)> =
            self.apis.iter().enumerate().filter(|(_, h)| h.count() > 0).map(|(k, h)| (api_name(k as i16), h)).collect();
        for (api, h) in &seen {
            let _ = writeln!(out, "brook_requests_total{{api=\"{api}\"}} {}", h.count());
        }
        let _ = writeln!(
            out,
            "# HELP brook_request_errors_total Error codes in responses, per API and code (each partition, group or id counted)."
        );
        let _ = writeln!(out, "# TYPE brook_request_errors_total counter");
        for (key, per_code) in self.errors.iter().enumerate() {
            let Some(slots) = per_code.get() else { continue };
            let api = api_name(key as i16);
            for (slot, n) in slots.iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let error = slot_name(slot);
                    let _ = writeln!(out, "brook_request_errors_total{{api=\"{api}\",error=\"{error}\"}} {n}");
                }
            }
        }
        let _ = writeln!(out, "# HELP brook_request_duration_seconds Time from a request's decoding to its answer.");
        let _ = writeln!(out, "# TYPE brook_request_duration_seconds histogram");
        for (api, h) in &seen {
            h.render(out, "brook_request_duration_seconds", &format!("api=\"{api}\","));
        }
    }
}

/// Where error `code` is counted.
fn error_slot(code: i16) -> usize {
    usize::try_from(i32::from(code) + 1).ok().filter(|s| *s < ERROR_CODES - 1).unwrap_or(ERROR_CODES - 1)
}

/// The `error` label of a slot: Kafka's name of the code, `OTHER` for the last slot.
fn slot_name(slot: usize) -> String {
    if slot == ERROR_CODES - 1 {
        return "OTHER".into();
    }
    let code = slot as i16 - 1;
    crate::api::error_report::error_name(code).unwrap_or_else(|| code.to_string())
}

/// The API's name as Kafka spells it (`Produce`, `Fetch`...).
pub fn api_name(key: i16) -> String {
    match kafka_protocol::messages::ApiKey::try_from(key) {
        Ok(k) => format!("{k:?}"),
        Err(_) => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_count_every_request() {
        let s = RequestStats::default();
        s.observe(0, Duration::from_micros(80));
        s.observe(0, Duration::from_millis(3));
        s.observe(0, Duration::from_secs(9));
        s.observe(-1, Duration::from_millis(1)); // not an API: ignored
        let mut out = String::new();
        s.render(&mut out);
        assert!(out.contains("brook_requests_total{api=\"Produce\"} 3\n"), "{out}");
        assert!(out.contains("brook_request_duration_seconds_bucket{api=\"Produce\",le=\"0.0001\"} 1\n"));
        assert!(out.contains("brook_request_duration_seconds_bucket{api=\"Produce\",le=\"0.005\"} 2\n"));
        assert!(out.contains("brook_request_duration_seconds_bucket{api=\"Produce\",le=\"5\"} 2\n"));
        assert!(out.contains("brook_request_duration_seconds_bucket{api=\"Produce\",le=\"+Inf\"} 3\n"));
        assert!(out.contains("brook_request_duration_seconds_count{api=\"Produce\"} 3\n"));
        assert!(!out.contains("api=\"Fetch\""), "APIs never called are left out");
    }

    #[test]
    fn errors_are_counted_per_api_and_code() {
        let s = RequestStats::default();
        s.error(0, 2, 3); // CORRUPT_MESSAGE in three partitions
        s.error(0, 2, 1);
        s.error(1, 1, 1);
        s.error(0, -1, 1);
        s.error(0, 30000, 1); // beyond the table: OTHER
        s.error(200, 2, 1); // not an API: ignored
        let mut out = String::new();
        s.render(&mut out);
        assert!(out.contains("brook_request_errors_total{api=\"Produce\",error=\"CORRUPT_MESSAGE\"} 4\n"), "{out}");
        assert!(out.contains("brook_request_errors_total{api=\"Produce\",error=\"UNKNOWN_SERVER_ERROR\"} 1\n"));
        assert!(out.contains("brook_request_errors_total{api=\"Produce\",error=\"OTHER\"} 1\n"));
        assert!(out.contains("brook_request_errors_total{api=\"Fetch\",error=\"OFFSET_OUT_OF_RANGE\"} 1\n"));
        assert_eq!(out.matches("brook_request_errors_total{").count(), 4);
    }
}
