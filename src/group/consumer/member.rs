//! A member of a consumer group (KIP-848) and its reconciliation towards its target
//! assignment (Kafka's ConsumerGroupMember and CurrentAssignmentBuilder): a partition is
//! handed to a member only once its previous owner has acknowledged revoking it, so no
//! partition ever has two owners.

use std::collections::BTreeSet;

use tokio::time::Instant;
use uuid::Uuid;

use super::Assignment;

/// Where a member is in its reconciliation (the stored `State` int8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Owns its whole assignment at its epoch.
    Stable,
    /// Must revoke partitions (and acknowledge by no longer reporting them) before it moves on.
    UnrevokedPartitions,
    /// Waits for partitions other members still have to release.
    UnreleasedPartitions,
    /// A state this version does not know (read from a newer broker's record).
    Unknown,
}

impl MemberState {
    pub fn code(self) -> i8 {
        match self {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions => 1,
            MemberState::UnreleasedPartitions => 2,
            MemberState::Unknown => 127,
        }
    }

    pub fn from_code(c: i8) -> Self {
        match c {
            0 => MemberState::Stable,
            1 => MemberState::UnrevokedPartitions,
            2 => MemberState::UnreleasedPartitions,
            _ => MemberState::Unknown,
        }
    }
}

/// What a member that speaks the classic protocol inside a consumer group (online
/// migration) joined with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicMember {
    pub session_timeout_ms: i32,
    /// (name, metadata) of the protocols it supports, in its order of preference.
    pub protocols: Vec<(String, bytes::Bytes)>,
}

#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: BTreeSet<String>,
    /// `""` when the member subscribes by names only.
    pub subscribed_topic_regex: String,
    pub server_assignor: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub assigned: Assignment,
    pub pending_revocation: Assignment,
    /// Set for a classic-protocol member (JoinGroup/SyncGroup/Heartbeat).
    pub classic: Option<ClassicMember>,
    /// Fenced once passed without a heartbeat (not stored: armed again after a load).
    pub session_deadline: Instant,
    /// While revoking: fenced once passed if still at this epoch (the member's rebalance
    /// timeout).
    pub revocation_deadline: Option<(Instant, i32)>,
    /// A classic member told to rejoin (REBALANCE_IN_PROGRESS) is fenced once this passes
    /// without its JoinGroup (Kafka's classic join timer, the rebalance timeout).
    pub rejoin_deadline: Option<Instant>,
}

impl ConsumerMember {
    pub fn new(id: &str, now: Instant) -> Self {
        Self {
            id: id.to_string(),
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            subscribed_topic_names: BTreeSet::new(),
            subscribed_topic_regex: String::new(),
            server_assignor: None,
            rebalance_timeout_ms: -1,
            member_epoch: 0,
            previous_member_epoch: -1,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            classic: None,
            session_deadline: now,
            revocation_deadline: None,
            rejoin_deadline: None,
        }
    }

    /// The stored fields of the member metadata record differ.
    pub fn metadata_differs(&self, other: &ConsumerMember) -> bool {
        (
            &self.instance_id,
            &self.rack_id,
            &self.client_id,
            &self.client_host,
            &self.subscribed_topic_names,
            &self.subscribed_topic_regex,
            &self.server_assignor,
            self.rebalance_timeout_ms,
            &self.classic,
        ) != (
            &other.instance_id,
            &other.rack_id,
            &other.client_id,
            &other.client_host,
            &other.subscribed_topic_names,
            &other.subscribed_topic_regex,
            &other.server_assignor,
            other.rebalance_timeout_ms,
            &other.classic,
        )
    }

    /// The stored fields of the current assignment record differ.
    pub fn assignment_differs(&self, other: &ConsumerMember) -> bool {
        (self.member_epoch, self.previous_member_epoch, self.state, &self.assigned, &self.pending_revocation)
            != (
                other.member_epoch,
                other.previous_member_epoch,
                other.state,
                &other.assigned,
                &other.pending_revocation,
            )
    }

    fn update_epoch(&mut self, epoch: i32) {
        self.previous_member_epoch = self.member_epoch;
        self.member_epoch = epoch;
    }

    pub fn is_reconciled_to(&self, target_epoch: i32) -> bool {
        self.state == MemberState::Stable && self.member_epoch == target_epoch
    }
}

/// Who owns a partition now (assigned or revoking): their epoch and member id.
pub type OwnerLookup<'a> = dyn Fn(&Uuid, i32) -> Option<(i32, &'a str)> + 'a;

/// What reconciliation needs to know besides the member.
pub struct Reconcile<'a> {
    pub target_epoch: i32,
    pub target: &'a Assignment,
    /// The ids of the topics the member subscribes to now (names and its regex's topics).
    pub subscribed: &'a BTreeSet<Uuid>,
    pub subscription_changed: bool,
    /// What the member reports it owns (`None`: it did not say).
    pub owned: Option<&'a Assignment>,
    /// The epoch of the member owning a partition (assigned or pending revocation), if any.
    pub owner_epoch: &'a OwnerLookup<'a>,
}

/// Some of `partitions` may still be owned by the member: unknown (it did not report) or
/// reported.
fn owns_any(owned: Option<&Assignment>, partitions: &Assignment) -> bool {
    let Some(owned) = owned else { return true };
    partitions.iter().any(|(t, ps)| owned.get(t).is_some_and(|o| !o.is_disjoint(ps)))
}

impl ConsumerMember {
    /// The member after this heartbeat's reconciliation. A member in an unknown state (a
    /// newer broker's record) is refused by the caller unless it owns nothing: it then
    /// starts over at the target epoch.
    pub fn reconciled(&self, r: &Reconcile<'_>) -> ConsumerMember {
        if !r.subscription_changed && self.is_reconciled_to(r.target_epoch) {
            return self.clone();
        }
        match self.state {
            MemberState::Stable if self.member_epoch != r.target_epoch => self.compute_next(self.member_epoch, r),
            MemberState::Stable if r.subscription_changed => self.strip_unsubscribed(r),
            MemberState::Stable => self.clone(),
            MemberState::UnrevokedPartitions if owns_any(r.owned, &self.pending_revocation) => {
                if r.subscription_changed {
                    self.strip_unsubscribed(r)
                } else {
                    self.clone()
                }
            }
            MemberState::UnrevokedPartitions | MemberState::UnreleasedPartitions => {
                self.compute_next(self.member_epoch, r)
            }
            MemberState::Unknown => self.compute_next(r.target_epoch, r),
        }
    }

    /// Kafka's computeNextAssignment: keep what is still targeted, revoke the rest first, and
    /// only then take new partitions that nobody else owns.
    fn compute_next(&self, epoch: i32, r: &Reconcile<'_>) -> ConsumerMember {
        let empty = BTreeSet::new();
        let topics: BTreeSet<&Uuid> = r.target.keys().chain(self.assigned.keys()).collect();
        let (mut keep, mut revoke, mut add) = (Assignment::new(), Assignment::new(), Assignment::new());
        let mut unreleased = false;
        for t in topics {
            let target = if r.subscribed.contains(t) { r.target.get(t).unwrap_or(&empty) } else { &empty };
            let current = self.assigned.get(t).unwrap_or(&empty);
            let kept: BTreeSet<i32> = current.intersection(target).copied().collect();
            let revoked: BTreeSet<i32> = current.difference(&kept).copied().collect();
            let mut added: BTreeSet<i32> = target.difference(&kept).copied().collect();
            let pending = self.pending_revocation.get(t);
            added.retain(|p| {
                let owned_elsewhere = (r.owner_epoch)(t, *p).is_some_and(|(_, owner)| owner != self.id)
                    && !pending.is_some_and(|ps| ps.contains(p));
                unreleased |= owned_elsewhere;
                !owned_elsewhere
            });
            for (set, v) in [(&mut keep, kept), (&mut revoke, revoked), (&mut add, added)] {
                if !v.is_empty() {
                    set.insert(*t, v);
                }
            }
        }
        let mut next = self.clone();
        if !revoke.is_empty() && owns_any(r.owned, &revoke) {
            next.state = MemberState::UnrevokedPartitions;
            next.update_epoch(epoch);
            next.assigned = keep;
            next.pending_revocation = revoke;
            return next;
        }
        for (t, ps) in add {
            keep.entry(t).or_default().extend(ps);
        }
        next.assigned = keep;
        next.pending_revocation = Assignment::new();
        next.state = if unreleased { MemberState::UnreleasedPartitions } else { MemberState::Stable };
        next.update_epoch(r.target_epoch);
        next
    }

    /// Kafka's stripUnsubscribed (KAFKA-19431): partitions of topics the member no longer
    /// subscribes to are revoked at once, without waiting for a new target.
    fn strip_unsubscribed(&self, r: &Reconcile<'_>) -> ConsumerMember {
        let mut next = self.clone();
        let moved: Vec<Uuid> = if r.subscribed.is_empty() && next.pending_revocation.is_empty() {
            next.assigned.keys().copied().collect()
        } else {
            next.assigned.keys().filter(|t| !r.subscribed.contains(t)).copied().collect()
        };
        if moved.is_empty() {
            return next;
        }
        for t in moved {
            if let Some(ps) = next.assigned.remove(&t) {
                next.pending_revocation.entry(t).or_default().extend(ps);
            }
        }
        if !next.pending_revocation.is_empty() && owns_any(r.owned, &next.pending_revocation) {
            next.state = MemberState::UnrevokedPartitions;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn t(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn a(parts: &[(u8, &[i32])]) -> Assignment {
        parts.iter().map(|(n, ps)| (t(*n), ps.iter().copied().collect())).collect()
    }

    fn member(epoch: i32, assigned: Assignment) -> ConsumerMember {
        let mut m = ConsumerMember::new("m", Instant::now());
        m.member_epoch = epoch;
        m.assigned = assigned;
        m
    }

    fn run(
        m: &ConsumerMember,
        epoch: i32,
        target: &Assignment,
        owned: Option<&Assignment>,
        others: &BTreeMap<(Uuid, i32), i32>,
    ) -> ConsumerMember {
        let subscribed: BTreeSet<Uuid> = [t(1), t(2)].into();
        let lookup = |tp: &Uuid, p: i32| others.get(&(*tp, p)).map(|e| (*e, "other"));
        let r = Reconcile {
            target_epoch: epoch,
            target,
            subscribed: &subscribed,
            subscription_changed: false,
            owned,
            owner_epoch: &lookup,
        };
        m.reconciled(&r)
    }

    #[test]
    fn revoke_first_then_take_new_partitions() {
        let none = BTreeMap::new();
        let m = member(1, a(&[(1, &[0, 1, 2])]));
        // Target moves partition 2 away and adds partition 3: revoke first, same epoch.
        let target = a(&[(1, &[0, 1, 3])]);
        let owned = a(&[(1, &[0, 1, 2])]);
        let step = run(&m, 2, &target, Some(&owned), &none);
        assert_eq!(step.state, MemberState::UnrevokedPartitions);
        assert_eq!(step.member_epoch, 1);
        assert_eq!(step.assigned, a(&[(1, &[0, 1])]));
        assert_eq!(step.pending_revocation, a(&[(1, &[2])]));
        // Not acknowledged (still reported, or not reported at all): nothing moves.
        assert_eq!(run(&step, 2, &target, Some(&owned), &none).state, MemberState::UnrevokedPartitions);
        assert_eq!(run(&step, 2, &target, None, &none).state, MemberState::UnrevokedPartitions);
        // Acknowledged: the new partition comes, at the target epoch.
        let acked = a(&[(1, &[0, 1])]);
        let done = run(&step, 2, &target, Some(&acked), &none);
        assert_eq!((done.state, done.member_epoch, done.previous_member_epoch), (MemberState::Stable, 2, 1));
        assert_eq!(done.assigned, target);
        assert!(done.pending_revocation.is_empty());
    }

    #[test]
    fn partitions_still_owned_elsewhere_are_withheld() {
        let m = member(1, a(&[(1, &[0])]));
        let target = a(&[(1, &[0, 1])]);
        let others = BTreeMap::from([((t(1), 1), 1)]);
        let step = run(&m, 2, &target, Some(&a(&[(1, &[0])])), &others);
        assert_eq!((step.state, step.member_epoch), (MemberState::UnreleasedPartitions, 2));
        assert_eq!(step.assigned, a(&[(1, &[0])]));
        // Released: the next heartbeat gets it.
        let done = run(&step, 2, &target, Some(&a(&[(1, &[0])])), &BTreeMap::new());
        assert_eq!((done.state, done.assigned), (MemberState::Stable, target));
    }

    #[test]
    fn a_member_that_already_dropped_revoked_partitions_skips_revoking() {
        let m = member(1, a(&[(1, &[0, 1])]));
        let target = a(&[(1, &[0])]);
        let step = run(&m, 2, &target, Some(&a(&[(1, &[0])])), &BTreeMap::new());
        assert_eq!((step.state, step.member_epoch, step.assigned), (MemberState::Stable, 2, target));
    }
}
