//! A connection's budget of response bytes held in memory and not yet written to its socket.
//!
//! The connection charges every encoded response from the moment it exists (at dispatch, or
//! when a waiting handler finishes) until the writer has written it, and reads no new request
//! while more than [`PAUSE_ABOVE`] is held. Fetch reads no more record bytes than the budget
//! has left under `PAUSE_ABOVE + fetch.max.bytes`. So a client that pipelines fetches and
//! never reads its socket pins at most about one full fetch response plus `PAUSE_ABOVE` (plus
//! one batch per fetch read concurrently, see [`ResponseBudget::fetch_allowance`]), instead of
//! one response per request in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Held response bytes above which a connection stops reading requests.
pub const PAUSE_ABOVE: usize = 4 << 20;

pub struct ResponseBudget {
    /// Bytes of responses encoded (or being read by Fetch) and not yet written.
    held: AtomicUsize,
    pause_above: usize,
    /// What Fetch may fill up to: `pause_above` plus one full fetch response.
    ceiling: usize,
    /// Signalled when `held` drops to `pause_above` or below (only the reader waits).
    drained: Notify,
}

impl ResponseBudget {
    /// The budget of a connection whose fetch responses are at most `fetch_max_bytes`.
    pub fn new(fetch_max_bytes: usize) -> Self {
        Self::with_limits(PAUSE_ABOVE, PAUSE_ABOVE.saturating_add(fetch_max_bytes))
    }

    /// No limit (handler unit tests, which have no connection).
    pub fn unlimited() -> Self {
        Self::with_limits(usize::MAX, usize::MAX)
    }

    fn with_limits(pause_above: usize, ceiling: usize) -> Self {
        Self { held: AtomicUsize::new(0), pause_above, ceiling, drained: Notify::new() }
    }

    /// Holds `bytes` against the budget until the returned [`Charge`] is dropped.
    pub fn charge(self: &Arc<Self>, bytes: usize) -> Charge {
        self.held.fetch_add(bytes, Ordering::AcqRel);
        Charge { budget: self.clone(), bytes }
    }

    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// Whether the connection should stop reading requests for now.
    pub fn is_spent(&self) -> bool {
        self.held() > self.pause_above
    }

    /// Record bytes a fetch may read now: what is left under the ceiling. Fetch reads and
    /// encodes without yielding and the connection charges the frame as soon as it exists, so
    /// fetches of one connection see each other's bytes; the exception is two of them
    /// finishing at the same instant on two worker threads, which can overshoot by one
    /// response (a connection's inline requests run one at a time, on its reader).
    pub fn fetch_allowance(&self) -> usize {
        self.ceiling.saturating_sub(self.held())
    }

    /// Waits until no more than the pause threshold is held.
    pub async fn until_unspent(&self) {
        loop {
            let drained = self.drained.notified();
            if !self.is_spent() {
                return;
            }
            drained.await;
        }
    }
}

/// Bytes held against a [`ResponseBudget`]; given back on drop.
pub struct Charge {
    budget: Arc<ResponseBudget>,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        let b = &self.budget;
        let before = b.held.fetch_sub(self.bytes, Ordering::AcqRel);
        if before > b.pause_above && before - self.bytes <= b.pause_above {
            // notify_one keeps a permit if the reader is between its check and its wait.
            b.drained.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn charges_pause_and_resume() {
        let b = Arc::new(ResponseBudget::with_limits(100, 150));
        let small = b.charge(60);
        assert!(!b.is_spent());
        assert_eq!(b.fetch_allowance(), 90);
        let big = b.charge(60);
        assert!(b.is_spent());
        assert_eq!(b.fetch_allowance(), 30);
        let waiter = tokio::spawn({
            let b = b.clone();
            async move { b.until_unspent().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "waits while more than 100 bytes are held");
        drop(big);
        tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("woken").unwrap();
        drop(small);
        assert_eq!(b.held(), 0);
    }
}
