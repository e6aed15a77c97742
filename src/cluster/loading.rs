//! Which partitions of a coordinator's internal topic (`__consumer_offsets`,
//! `__transaction_state`) are still being replayed after a start. The broker serves at once;
//! a coordinator answers COORDINATOR_LOAD_IN_PROGRESS for the ids of a partition until its
//! replay is done, as Kafka's coordinators do, and clients retry.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub struct PartitionLoads {
    loading: Box<[AtomicBool]>,
    /// How many are still loading: the fast path of [`PartitionLoads::is_loading`].
    pending: AtomicUsize,
}

impl PartitionLoads {
    /// Partitions `0..count` all still to load (`count` 0: nothing to load).
    pub fn pending(count: usize) -> Self {
        Self { loading: (0..count).map(|_| AtomicBool::new(true)).collect(), pending: AtomicUsize::new(count) }
    }

    /// Whether partition `p` is still being replayed (unknown partitions are not).
    pub fn is_loading(&self, p: i32) -> bool {
        self.pending.load(Ordering::Acquire) > 0
            && usize::try_from(p).ok().and_then(|i| self.loading.get(i)).is_some_and(|l| l.load(Ordering::Acquire))
    }

    /// Whether any partition is still being replayed.
    pub fn any_loading(&self) -> bool {
        self.pending.load(Ordering::Acquire) > 0
    }

    /// Partition `p`'s replay is done: its ids are served from now on.
    pub fn done(&self, p: i32) {
        let Some(flag) = usize::try_from(p).ok().and_then(|i| self.loading.get(i)) else { return };
        if flag.swap(false, Ordering::AcqRel) {
            self.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_leave_loading_one_by_one() {
        let l = PartitionLoads::pending(3);
        assert!(l.any_loading() && l.is_loading(0) && l.is_loading(2));
        l.done(1);
        l.done(1);
        assert!(l.is_loading(0) && !l.is_loading(1));
        l.done(0);
        l.done(2);
        assert!(!l.any_loading() && !l.is_loading(0));
        // Out of range is never loading, and marking it changes nothing.
        l.done(7);
        l.done(-1);
        assert!(!l.is_loading(7) && !l.is_loading(-1));
        assert!(!PartitionLoads::pending(0).any_loading());
    }
}
