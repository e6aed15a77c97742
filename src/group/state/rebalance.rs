//! The rebalance itself: starting one, the protocol vote, and ending the join phase with the
//! next generation (the delayed join of Kafka's GroupCoordinator).

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{Group, GroupState, GroupTimings};
use crate::group::GroupError;

impl Group {
    /// Kafka's vote: each member votes for its most preferred candidate; most votes wins.
    fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidates();
        let mut votes: Vec<(String, usize)> = candidates.iter().map(|c| (c.clone(), 0)).collect();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(n)) {
                if let Some(v) = votes.iter_mut().find(|(c, _)| c == name) {
                    v.1 += 1;
                }
            }
        }
        votes.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c)
    }

    pub(super) fn max_rebalance_timeout(&self) -> Duration {
        self.members.values().map(|m| m.rebalance_timeout).max().unwrap_or(Duration::ZERO)
    }

    /// Starts (or restarts) a rebalance: members must rejoin within the rebalance timeout.
    pub fn prepare_rebalance(&mut self, now: Instant, t: &GroupTimings) {
        if self.state == GroupState::CompletingRebalance {
            for m in self.members.values_mut() {
                m.assignment = Bytes::new();
                if let Some(w) = m.sync_waiter.take() {
                    let _ = w.send(Err(GroupError::RebalanceInProgress));
                }
            }
        }
        let timeout = self.max_rebalance_timeout();
        if self.state == GroupState::Empty && !t.initial_rebalance_delay.is_zero() {
            self.delay_until = Some(now + t.initial_rebalance_delay.min(timeout));
            self.delay_limit = Some(now + timeout);
        }
        self.sync_deadline = None;
        self.pending_sync.clear();
        self.rebalance_deadline = Some(now + timeout);
        self.set_state(GroupState::PreparingRebalance);
    }

    pub(super) fn maybe_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        if self.delay_until.is_some_and(|d| now < d) && self.rebalance_deadline.is_none_or(|d| now < d) {
            return;
        }
        let all_joined = self.members.values().all(|m| m.awaiting_join()) && self.pending.is_empty();
        if all_joined || self.rebalance_deadline.is_some_and(|d| now >= d) {
            self.complete_join(now);
        }
    }

    /// After a member left or was removed: a group that was assigning or stable rebalances.
    pub(super) fn after_member_removed(&mut self, now: Instant, t: &GroupTimings) {
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(now, t),
            GroupState::PreparingRebalance => {}
            GroupState::Empty | GroupState::Dead => return,
        }
        self.maybe_complete_join(now);
    }

    /// Ends the join phase: drops members that did not rejoin, starts the next generation
    /// and answers every waiting JoinGroup (the leader gets the member list).
    fn complete_join(&mut self, now: Instant) {
        // Dynamic members that did not rejoin are gone; static ones keep their place (and
        // their assignment) until their session expires (KIP-345). If nobody rejoined at all,
        // everyone goes.
        let anyone = self.members.values().any(|m| m.awaiting_join());
        let laggards: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.awaiting_join() && (m.instance_id.is_none() || !anyone))
            .map(|m| m.id.clone())
            .collect();
        for id in laggards {
            tracing::info!(group = %self.id, member = %id, "member did not rejoin in time; removed");
            self.remove_member(&id);
        }
        self.delay_until = None;
        self.delay_limit = None;
        self.rebalance_deadline = None;
        self.generation += 1;
        if self.members.is_empty() {
            self.protocol = None;
            self.set_state(GroupState::Empty);
            self.store_pending = true;
            return;
        }
        self.protocol = self.select_protocol();
        if self.leader.as_ref().and_then(|l| self.members.get(l)).is_none_or(|m| !m.awaiting_join()) {
            self.leader = self.members.values().find(|m| m.awaiting_join()).map(|m| m.id.clone());
        }
        self.set_state(GroupState::CompletingRebalance);
        self.sync_deadline = Some(now + self.max_rebalance_timeout());
        self.pending_sync = self.members.values().filter(|m| m.awaiting_join()).map(|m| m.id.clone()).collect();
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let outcome = self.current_join_outcome(&id, false);
            if let Some(m) = self.members.get_mut(&id) {
                m.is_new = false;
                m.touch(now);
                if let Some(w) = m.join_waiter.take() {
                    let _ = w.send(Ok(outcome));
                }
            }
        }
        tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(), protocol = ?self.protocol, "rebalance: join complete");
    }
}
