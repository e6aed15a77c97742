//! The server-side assignors of KIP-848 (`group.consumer.assignors`): `uniform` (sticky,
//! balanced: every member within one partition of every other it shares topics with) and
//! `range` (contiguous ranges per topic, co-partitioned, not sticky), as Kafka's
//! UniformAssignor and RangeAssignor compute them (racks are not considered).

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::Assignment;

pub const UNIFORM: &str = "uniform";
pub const RANGE: &str = "range";

/// One member as the assignor sees it.
#[derive(Debug, Clone)]
pub struct MemberSpec<'a> {
    pub member_id: &'a str,
    pub instance_id: Option<&'a str>,
    /// The ids of the existing topics it subscribes to.
    pub subscribed: BTreeSet<Uuid>,
    /// Its current target assignment.
    pub current: &'a Assignment,
}

/// The target assignment of every member (`members` in member id order; `partitions`: each
/// existing subscribed topic's partition count).
pub fn assign(
    name: &str,
    members: &[MemberSpec<'_>],
    partitions: &BTreeMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    match name {
        RANGE => range(members, partitions),
        _ => uniform(members, partitions),
    }
}

/// Whether every member subscribes to the same topics.
fn homogeneous(members: &[MemberSpec<'_>]) -> bool {
    members.windows(2).all(|w| w[0].subscribed == w[1].subscribed)
}

fn count(a: &Assignment) -> usize {
    a.values().map(BTreeSet::len).sum()
}

/// Balance first, then stickiness: each member keeps what it had up to its quota; what is
/// left goes to members under quota.
fn uniform(members: &[MemberSpec<'_>], partitions: &BTreeMap<Uuid, i32>) -> BTreeMap<String, Assignment> {
    if members.is_empty() {
        return BTreeMap::new();
    }
    if homogeneous(members) {
        uniform_homogeneous(members, partitions)
    } else {
        uniform_heterogeneous(members, partitions)
    }
}

/// Kafka's UniformHomogeneousAssignmentBuilder: quotas of `total / members`, the first
/// `total % members` that can keep one more do.
fn uniform_homogeneous(members: &[MemberSpec<'_>], partitions: &BTreeMap<Uuid, i32>) -> BTreeMap<String, Assignment> {
    let topics: Vec<Uuid> = members[0].subscribed.iter().filter(|t| partitions.contains_key(t)).copied().collect();
    let mut out: BTreeMap<String, Assignment> =
        members.iter().map(|m| (m.member_id.to_string(), Assignment::new())).collect();
    let total: usize = topics.iter().map(|t| partitions[t].max(0) as usize).sum();
    if total == 0 {
        return out;
    }
    let n = members.len();
    let min_quota = total / n;
    let mut extra = total % n;
    let mut taken: BTreeSet<(Uuid, i32)> = BTreeSet::new();
    let mut unfilled: Vec<(usize, usize)> = Vec::new(); // (member index, partitions still wanted)
    for (i, m) in members.iter().enumerate() {
        let mut quota = min_quota;
        let mut has_extra = false;
        if extra > 0 {
            quota += 1;
            extra -= 1;
            has_extra = true;
        }
        let mine = out.get_mut(m.member_id).expect("every member has an entry");
        for (t, ps) in m.current {
            let Some(&n_parts) = partitions.get(t).filter(|_| topics.contains(t)) else { continue };
            for &p in ps.iter().filter(|&&p| p < n_parts) {
                if taken.contains(&(*t, p)) {
                    continue;
                }
                // Beyond its quota a member gives the partition up to the free pool.
                if quota > 0 {
                    quota -= 1;
                    taken.insert((*t, p));
                    mine.entry(*t).or_default().insert(p);
                }
            }
        }
        // A member that did not fill its extra slot gives it back for another to use.
        if quota > 0 && has_extra {
            quota -= 1;
            extra += 1;
        }
        if quota > 0 {
            unfilled.push((i, quota));
        }
    }
    // Extra slots left go to unfilled members, from the last, as Kafka does.
    for slot in unfilled.iter_mut().rev() {
        if extra == 0 {
            break;
        }
        slot.1 += 1;
        extra -= 1;
    }
    // Members with nothing left to fill that could still take an extra one.
    if extra > 0 {
        for (i, _) in members.iter().enumerate().rev() {
            if extra == 0 {
                break;
            }
            if !unfilled.iter().any(|(u, _)| *u == i) && count(&out[members[i].member_id]) == min_quota {
                unfilled.push((i, 1));
                extra -= 1;
            }
        }
    }
    let mut free =
        topics.iter().flat_map(|t| (0..partitions[t]).map(move |p| (*t, p))).filter(|tp| !taken.contains(tp));
    for (i, want) in unfilled {
        let mine = out.get_mut(members[i].member_id).expect("entry");
        for _ in 0..want {
            let Some((t, p)) = free.next() else { break };
            mine.entry(t).or_default().insert(p);
        }
    }
    out
}

/// Kafka's UniformHeterogeneousAssignmentBuilder: keep what is still subscribed, hand each
/// free partition to its topic's least-loaded subscriber, then move partitions from the most
/// to the least loaded subscriber of each topic while they differ by more than one.
fn uniform_heterogeneous(members: &[MemberSpec<'_>], partitions: &BTreeMap<Uuid, i32>) -> BTreeMap<String, Assignment> {
    let mut load: Vec<Assignment> = members
        .iter()
        .map(|m| {
            m.current
                .iter()
                .filter(|(t, _)| m.subscribed.contains(t))
                .filter_map(|(t, ps)| {
                    let n = *partitions.get(t)?;
                    let kept: BTreeSet<i32> = ps.iter().copied().filter(|p| *p < n).collect();
                    (!kept.is_empty()).then_some((*t, kept))
                })
                .collect()
        })
        .collect();
    // A partition two members both kept stays with the first.
    let mut owner: BTreeMap<(Uuid, i32), usize> = BTreeMap::new();
    for (i, a) in load.iter_mut().enumerate() {
        for (t, ps) in a.iter_mut() {
            ps.retain(|p| *owner.entry((*t, *p)).or_insert(i) == i);
        }
        a.retain(|_, ps| !ps.is_empty());
    }
    // Each member's partition count, kept as partitions move (the loops below ask often).
    let mut sizes: Vec<usize> = load.iter().map(count).collect();
    let subscribers =
        |t: &Uuid| -> Vec<usize> { (0..members.len()).filter(|i| members[*i].subscribed.contains(t)).collect() };
    // Topics with the most partitions per subscriber first, then the fewest subscribers.
    let mut order: Vec<(Uuid, Vec<usize>)> =
        partitions.keys().map(|t| (*t, subscribers(t))).filter(|(_, s)| !s.is_empty()).collect();
    order.sort_by(|(ta, sa), (tb, sb)| {
        let ra = partitions[ta] as f64 / sa.len() as f64;
        let rb = partitions[tb] as f64 / sb.len() as f64;
        rb.partial_cmp(&ra).unwrap_or(std::cmp::Ordering::Equal).then(sa.len().cmp(&sb.len())).then(ta.cmp(tb))
    });
    for (t, subs) in &order {
        for p in 0..partitions[t] {
            if owner.contains_key(&(*t, p)) {
                continue;
            }
            let i = *subs.iter().min_by_key(|i| (sizes[**i], **i)).expect("a subscriber");
            load[i].entry(*t).or_default().insert(p);
            sizes[i] += 1;
            owner.insert((*t, p), i);
        }
    }
    for _round in 0..16 {
        let mut moved = false;
        for (t, subs) in order.iter().filter(|(_, s)| s.len() >= 2) {
            loop {
                let most = *subs.iter().max_by_key(|i| (sizes[**i], std::cmp::Reverse(**i))).expect("subs");
                let least = *subs.iter().min_by_key(|i| (sizes[**i], **i)).expect("subs");
                if sizes[most] <= sizes[least] + 1 {
                    break;
                }
                let Some(p) = load[most].get(t).and_then(|ps| ps.last().copied()) else { break };
                let ps = load[most].get_mut(t).expect("has the topic");
                ps.remove(&p);
                if ps.is_empty() {
                    load[most].remove(t);
                }
                load[least].entry(*t).or_default().insert(p);
                sizes[most] -= 1;
                sizes[least] += 1;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    members.iter().zip(load).map(|(m, a)| (m.member_id.to_string(), a)).collect()
}

/// Kafka's RangeAssignor: static members first by instance id, then the others by member
/// id; per topic, each subscriber in that order takes the next contiguous range.
fn range(members: &[MemberSpec<'_>], partitions: &BTreeMap<Uuid, i32>) -> BTreeMap<String, Assignment> {
    let mut sorted: Vec<&MemberSpec<'_>> = members.iter().collect();
    sorted.sort_by(|a, b| match (a.instance_id, b.instance_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.member_id.cmp(b.member_id),
    });
    let mut out: BTreeMap<String, Assignment> =
        members.iter().map(|m| (m.member_id.to_string(), Assignment::new())).collect();
    for (t, &n) in partitions {
        let subs: Vec<&&MemberSpec<'_>> = sorted.iter().filter(|m| m.subscribed.contains(t)).collect();
        if subs.is_empty() || n <= 0 {
            continue;
        }
        let (min_quota, mut extra) = (n as usize / subs.len(), n as usize % subs.len());
        let mut next = 0i32;
        for m in subs {
            let take = min_quota + usize::from(extra > 0);
            extra = extra.saturating_sub(1);
            if take == 0 {
                continue;
            }
            let ps: BTreeSet<i32> = (next..next + take as i32).collect();
            next += take as i32;
            out.get_mut(m.member_id).expect("entry").insert(*t, ps);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn spec<'a>(id: &'a str, topics: &[u8], current: &'a Assignment) -> MemberSpec<'a> {
        MemberSpec { member_id: id, instance_id: None, subscribed: topics.iter().map(|t| topic(*t)).collect(), current }
    }

    fn parts(a: &Assignment) -> BTreeSet<(Uuid, i32)> {
        a.iter().flat_map(|(t, ps)| ps.iter().map(move |p| (*t, *p))).collect()
    }

    /// Every partition of the subscribed topics assigned exactly once.
    fn assert_exact(out: &BTreeMap<String, Assignment>, partitions: &BTreeMap<Uuid, i32>) {
        let mut all = BTreeSet::new();
        for a in out.values() {
            for tp in parts(a) {
                assert!(all.insert(tp), "{tp:?} assigned twice: {out:?}");
            }
        }
        let want: BTreeSet<(Uuid, i32)> = partitions.iter().flat_map(|(t, n)| (0..*n).map(move |p| (*t, p))).collect();
        assert_eq!(all, want);
    }

    #[test]
    fn uniform_balances_and_sticks() {
        let none = Assignment::new();
        let partitions = BTreeMap::from([(topic(1), 7), (topic(2), 3)]);
        let two = [spec("a", &[1, 2], &none), spec("b", &[1, 2], &none)];
        let first = assign(UNIFORM, &two, &partitions);
        assert_exact(&first, &partitions);
        assert_eq!(first.values().map(count).collect::<Vec<_>>(), [5, 5]);
        // A third member takes from both; nobody loses more than it must.
        let three = [spec("a", &[1, 2], &first["a"]), spec("b", &[1, 2], &first["b"]), spec("c", &[1, 2], &none)];
        let second = assign(UNIFORM, &three, &partitions);
        assert_exact(&second, &partitions);
        let mut sizes: Vec<usize> = second.values().map(count).collect();
        sizes.sort();
        assert_eq!(sizes, [3, 3, 4]);
        for m in ["a", "b"] {
            assert!(parts(&second[m]).is_subset(&parts(&first[m])), "{m} only lost partitions");
        }
        // One leaves: the survivors keep theirs and split the rest.
        let back = [spec("a", &[1, 2], &second["a"]), spec("c", &[1, 2], &second["c"])];
        let third = assign(UNIFORM, &back, &partitions);
        assert_exact(&third, &partitions);
        assert!(parts(&second["a"]).is_subset(&parts(&third["a"])));
        assert!(parts(&second["c"]).is_subset(&parts(&third["c"])));
    }

    #[test]
    fn uniform_with_different_subscriptions_is_balanced_per_topic() {
        let none = Assignment::new();
        let partitions = BTreeMap::from([(topic(1), 6), (topic(2), 2)]);
        let members = [spec("a", &[1], &none), spec("b", &[1, 2], &none), spec("c", &[2], &none)];
        let out = assign(UNIFORM, &members, &partitions);
        assert_exact(&out, &partitions);
        for (m, a) in &out {
            for t in a.keys() {
                assert!(members.iter().find(|s| s.member_id == m).expect("m").subscribed.contains(t));
            }
        }
        let sizes: Vec<usize> = out.values().map(count).collect();
        assert!(sizes.iter().max().expect("max") - sizes.iter().min().expect("min") <= 2, "{sizes:?}");
    }

    #[test]
    fn more_members_than_partitions_leaves_some_empty() {
        let none = Assignment::new();
        let partitions = BTreeMap::from([(topic(1), 2)]);
        let members = [spec("a", &[1], &none), spec("b", &[1], &none), spec("c", &[1], &none)];
        for name in [UNIFORM, RANGE] {
            let out = assign(name, &members, &partitions);
            assert_exact(&out, &partitions);
            assert_eq!(out.values().filter(|a| count(a) == 1).count(), 2, "{name}");
        }
    }

    #[test]
    fn range_gives_contiguous_co_partitioned_ranges() {
        let none = Assignment::new();
        let partitions = BTreeMap::from([(topic(1), 5), (topic(2), 5)]);
        let members = [spec("b", &[1, 2], &none), spec("a", &[1, 2], &none)];
        let out = assign(RANGE, &members, &partitions);
        assert_exact(&out, &partitions);
        assert_eq!(out["a"][&topic(1)], BTreeSet::from([0, 1, 2]));
        assert_eq!(out["a"][&topic(2)], BTreeSet::from([0, 1, 2]));
        assert_eq!(out["b"][&topic(1)], BTreeSet::from([3, 4]));
    }

    mod prop {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Whatever the members, subscriptions and previous targets: every partition of a
            /// subscribed topic goes to exactly one of its subscribers; with one subscription
            /// for all, sizes differ by at most one; a second run on its own output changes
            /// nothing (stable).
            #[test]
            fn every_partition_once_balanced_and_stable(
                counts in proptest::collection::vec(0i32..9, 1..4),
                subs in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 3), 1..6),
                same in any::<bool>(),
                name in prop_oneof![Just(UNIFORM), Just(RANGE)],
            ) {
                let partitions: BTreeMap<Uuid, i32> =
                    counts.iter().enumerate().map(|(i, n)| (topic(i as u8 + 1), *n)).collect();
                let ids: Vec<String> = (0..subs.len()).map(|i| format!("m{i}")).collect();
                let none = Assignment::new();
                let pick = |flags: &Vec<bool>| -> Vec<u8> {
                    (0..counts.len()).filter(|i| same || flags[*i]).map(|i| i as u8 + 1).collect()
                };
                let topics: Vec<Vec<u8>> = subs.iter().map(pick).collect();
                let specs: Vec<MemberSpec<'_>> =
                    ids.iter().zip(&topics).map(|(id, ts)| spec(id, ts, &none)).collect();
                let out = assign(name, &specs, &partitions);
                let mut seen = BTreeSet::new();
                for (m, a) in &out {
                    let s = specs.iter().find(|s| s.member_id == m).expect("a member");
                    for (t, ps) in a {
                        prop_assert!(s.subscribed.contains(t), "{m} got an unsubscribed topic");
                        for p in ps {
                            prop_assert!(seen.insert((*t, *p)), "{t}-{p} twice");
                            prop_assert!(*p < partitions[t]);
                        }
                    }
                }
                let wanted: BTreeSet<(Uuid, i32)> = partitions
                    .iter()
                    .filter(|(t, _)| specs.iter().any(|s| s.subscribed.contains(*t)))
                    .flat_map(|(t, n)| (0..*n).map(move |p| (*t, p)))
                    .collect();
                prop_assert_eq!(&seen, &wanted);
                if same && name == UNIFORM {
                    let sizes: Vec<usize> = out.values().map(count).collect();
                    prop_assert!(sizes.iter().max().unwrap_or(&0) - sizes.iter().min().unwrap_or(&0) <= 1, "{sizes:?}");
                    let again: Vec<MemberSpec<'_>> =
                        ids.iter().zip(&topics).map(|(id, ts)| spec(id, ts, &out[id])).collect();
                    prop_assert_eq!(assign(name, &again, &partitions), out.clone());
                }
            }
        }
    }
}
