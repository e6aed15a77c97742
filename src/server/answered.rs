//! What the broker records about each answered request: its latency and error codes in the
//! per-API metrics, and a log line per error code naming the client, the API and the topic,
//! group or transactional id (warn for what an operator should look at, debug for the codes
//! clients meet in normal operation), at a bounded rate.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::api::error_report::{error_name, is_routine, CodeSeen};
use crate::api::ResponseErrors;
use crate::broker::Broker;

/// Error lines logged per second at most, broker-wide: a client hammering the broker with bad
/// requests must not fill the disk with logs. Lines over the budget are counted, and the
/// count is reported by the next line logged.
const LINES_PER_SECOND: u32 = 20;

/// One request, as its log lines name it.
pub(super) struct Request {
    pub key: i16,
    pub version: i16,
    pub client_id: Option<String>,
    pub peer: SocketAddr,
    pub started: Instant,
}

impl Request {
    /// The request is answered (or dropped: acks=0) with `errors`.
    pub(super) fn answered(&self, broker: &Broker, errors: &ResponseErrors) {
        broker.requests.observe(self.key, self.started.elapsed());
        for seen in errors.iter() {
            broker.requests.error(self.key, seen.code, seen.count);
            self.log(seen);
        }
    }

    fn log(&self, seen: &CodeSeen) {
        let routine = is_routine(seen.code);
        if routine && !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        if !routine && !tracing::enabled!(tracing::Level::WARN) {
            return;
        }
        let Some(suppressed) = LOG_BUDGET.take() else { return };
        let api = crate::metrics::api_name(self.key);
        let error = error_name(seen.code).unwrap_or_else(|| seen.code.to_string());
        let about = seen.subjects.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let client_id = self.client_id.as_deref().unwrap_or("");
        let (peer, version, count) = (self.peer, self.version, seen.count);
        if routine {
            tracing::debug!(client_id, %peer, api, version, error, count, about, suppressed, "request answered with an error");
        } else {
            tracing::warn!(client_id, %peer, api, version, error, count, about, suppressed, "request answered with an error");
        }
    }
}

/// The broker-wide budget of error lines per second.
static LOG_BUDGET: LogBudget = LogBudget::new();

struct LogBudget {
    /// The second the lines in `used` were logged in.
    second: AtomicU64,
    used: AtomicU32,
    /// Lines dropped since the last one logged.
    suppressed: AtomicU64,
}

impl LogBudget {
    const fn new() -> Self {
        Self { second: AtomicU64::new(0), used: AtomicU32::new(0), suppressed: AtomicU64::new(0) }
    }

    /// A line may be logged: how many were suppressed before it. `None`: over budget.
    fn take(&self) -> Option<u64> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if self.second.swap(now, Ordering::Relaxed) != now {
            self.used.store(0, Ordering::Relaxed);
        }
        if self.used.fetch_add(1, Ordering::Relaxed) >= LINES_PER_SECOND {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_allows_a_burst_per_second_and_counts_the_rest() {
        let b = LogBudget::new();
        let allowed = (0..LINES_PER_SECOND * 3).filter(|_| b.take().is_some()).count() as u32;
        // Exactly one second's worth, unless the clock ticked over during the loop.
        assert!((LINES_PER_SECOND..=2 * LINES_PER_SECOND).contains(&allowed), "{allowed}");
        if allowed == LINES_PER_SECOND {
            assert_eq!(b.suppressed.load(Ordering::Relaxed), u64::from(2 * LINES_PER_SECOND));
        }
    }
}
