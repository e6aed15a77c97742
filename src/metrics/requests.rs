//! Per-API request counts and latency histograms (from a request's decoding to its answer
//! being ready), counted in relaxed atomics indexed by API key: no lock, no allocation.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds (Prometheus' `le`).
const BUCKETS: [f64; 14] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// API keys counted (Kafka's are below this).
const KEYS: usize = 128;

#[derive(Default)]
struct ApiStats {
    count: AtomicU64,
    sum_us: AtomicU64,
    /// Per bucket (not cumulative; summed when rendered).
    buckets: [AtomicU64; BUCKETS.len()],
}

pub struct RequestStats {
    apis: Box<[ApiStats]>,
}

impl Default for RequestStats {
    fn default() -> Self {
        Self { apis: (0..KEYS).map(|_| ApiStats::default()).collect() }
    }
}

impl RequestStats {
    /// One request of API `key` answered after `took`.
    pub fn observe(&self, key: i16, took: Duration) {
        let Some(s) = usize::try_from(key).ok().and_then(|k| self.apis.get(k)) else { return };
        s.count.fetch_add(1, Ordering::Relaxed);
        s.sum_us.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        if let Some(b) = BUCKETS.iter().position(|le| secs <= *le) {
            s.buckets[b].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The `brook_requests_total` and `brook_request_duration_seconds` families.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP brook_requests_total Requests answered (or dropped, acks=0), per API.");
        let _ = writeln!(out, "# TYPE brook_requests_total counter");
        let seen: Vec<(String, &ApiStats)> = self
            .apis
            .iter()
            .enumerate()
            .filter(|(_, s)| s.count.load(Ordering::Relaxed) > 0)
            .map(|(k, s)| (api_name(k as i16), s))
            .collect();
        for (api, s) in &seen {
            let _ = writeln!(out, "brook_requests_total{{api=\"{api}\"}} {}", s.count.load(Ordering::Relaxed));
        }
        let _ = writeln!(out, "# HELP brook_request_duration_seconds Time from a request's decoding to its answer.");
        let _ = writeln!(out, "# TYPE brook_request_duration_seconds histogram");
        for (api, s) in &seen {
            let mut cumulative = 0;
            for (le, b) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += b.load(Ordering::Relaxed);
                let _ =
                    writeln!(out, "brook_request_duration_seconds_bucket{{api=\"{api}\",le=\"{le}\"}} {cumulative}");
            }
            let count = s.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "brook_request_duration_seconds_bucket{{api=\"{api}\",le=\"+Inf\"}} {count}");
            let sum = s.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "brook_request_duration_seconds_sum{{api=\"{api}\"}} {sum}");
            let _ = writeln!(out, "brook_request_duration_seconds_count{{api=\"{api}\"}} {count}");
        }
    }
}

/// The API's name as Kafka spells it (`Produce`, `Fetch`...).
fn api_name(key: i16) -> String {
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
}
