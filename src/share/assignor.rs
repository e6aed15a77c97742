//! Kafka's `simple` share-group assignor (SimpleAssignor, KIP-932): balance over stickiness,
//! and members may share a partition. With more members than partitions each partition goes
//! to `ceil(M / P)` members; with fewer, each member gets its share of the partitions. What a
//! member already has it keeps while that stays within its share. Homogeneous groups (every
//! member subscribes to the same topics) are balanced over all partitions at once,
//! heterogeneous groups topic by topic. See docs/kip932-spec.md §2.4.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::group::consumer::Assignment;

/// A member as the assignor sees it: the topic ids it subscribes to and its current target.
pub struct AssignMember<'a> {
    pub id: &'a str,
    pub topics: BTreeSet<Uuid>,
    pub current: Option<&'a Assignment>,
}

/// The target assignment of every member. `partitions` gives each assignable topic's
/// partitions.
pub fn assign(members: &[AssignMember<'_>], partitions: &BTreeMap<Uuid, Vec<i32>>) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = members.iter().map(|m| (m.id.to_string(), Assignment::new())).collect();
    let homogeneous = members.windows(2).all(|w| w[0].topics == w[1].topics);
    let groups: Vec<BTreeSet<Uuid>> = if homogeneous {
        members.first().map(|m| vec![m.topics.clone()]).unwrap_or_default()
    } else {
        let all: BTreeSet<Uuid> = members.iter().flat_map(|m| m.topics.iter().copied()).collect();
        all.into_iter().map(|t| BTreeSet::from([t])).collect()
    };
    for topics in groups {
        let targets: Vec<(Uuid, i32)> =
            topics.iter().flat_map(|t| partitions.get(t).into_iter().flatten().map(move |p| (*t, *p))).collect();
        let who: Vec<&AssignMember<'_>> = members.iter().filter(|m| topics.is_subset(&m.topics)).collect();
        for (i, held) in balance(&who, &targets, &topics).into_iter().enumerate() {
            let a = out.get_mut(who[i].id).expect("every member has an entry");
            for (t, p) in held {
                a.entry(t).or_default().insert(p);
            }
        }
    }
    out
}

/// One balancing round over `targets` (partitions of `topics`) for `who`, in order: what
/// each gets.
fn balance(who: &[&AssignMember<'_>], targets: &[(Uuid, i32)], topics: &BTreeSet<Uuid>) -> Vec<Vec<(Uuid, i32)>> {
    let (m, p) = (who.len(), targets.len());
    if m == 0 || p == 0 {
        return vec![Vec::new(); m];
    }
    let sharing = m.div_ceil(p);
    // Member i's share: ceil(precise * (i+1)) - ceil(precise * i), precise = sharing * P / M,
    // in integers.
    let edge = |i: usize| (sharing * p * i).div_ceil(m);
    let desired: Vec<usize> = (0..m).map(|i| edge(i + 1) - edge(i)).collect();
    let valid: BTreeSet<(Uuid, i32)> = targets.iter().copied().collect();
    // 1. Keep what each has of these topics, 2. down to its share.
    let mut held: Vec<Vec<(Uuid, i32)>> = who
        .iter()
        .zip(&desired)
        .map(|(w, &want)| {
            let mut mine: Vec<(Uuid, i32)> = w
                .current
                .into_iter()
                .flat_map(|a| a.iter())
                .filter(|(t, _)| topics.contains(t))
                .flat_map(|(t, ps)| ps.iter().map(move |p| (*t, *p)))
                .filter(|tp| valid.contains(tp))
                .collect();
            mine.truncate(want);
            mine
        })
        .collect();
    // 3. No partition held by more than `sharing` members.
    let mut holders: BTreeMap<(Uuid, i32), usize> = BTreeMap::new();
    for mine in &mut held {
        mine.retain(|tp| {
            let n = holders.entry(*tp).or_default();
            *n += 1;
            *n <= sharing
        });
    }
    // 4. Hand out the partitions still short of `sharing` members, round-robin over the
    // members short of their share.
    let mut unfilled: Vec<usize> = (0..m).filter(|&i| held[i].len() < desired[i]).collect();
    let mut next = 0usize;
    for tp in targets {
        while holders.get(tp).copied().unwrap_or(0) < sharing && !unfilled.is_empty() {
            let mut placed = false;
            for step in 0..unfilled.len() {
                let k = (next + step) % unfilled.len();
                let i = unfilled[k];
                if held[i].contains(tp) {
                    continue;
                }
                held[i].push(*tp);
                *holders.entry(*tp).or_default() += 1;
                if held[i].len() >= desired[i] {
                    unfilled.remove(k);
                    next = if unfilled.is_empty() { 0 } else { k % unfilled.len() };
                } else {
                    next = (k + 1) % unfilled.len();
                }
                placed = true;
                break;
            }
            if !placed {
                break;
            }
        }
        if unfilled.is_empty() {
            break;
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn topic(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn members(n: usize, topics: &[Uuid]) -> Vec<(String, BTreeSet<Uuid>)> {
        (0..n).map(|i| (format!("m{i}"), topics.iter().copied().collect())).collect()
    }

    fn run(ms: &[(String, BTreeSet<Uuid>)], parts: &BTreeMap<Uuid, Vec<i32>>) -> BTreeMap<String, Assignment> {
        let input: Vec<AssignMember<'_>> =
            ms.iter().map(|(id, t)| AssignMember { id, topics: t.clone(), current: None }).collect();
        assign(&input, parts)
    }

    fn count(a: &Assignment) -> usize {
        a.values().map(BTreeSet::len).sum()
    }

    #[test]
    fn fewer_members_than_partitions_split_them() {
        let parts = BTreeMap::from([(topic(1), (0..6).collect::<Vec<_>>())]);
        let out = run(&members(3, &[topic(1)]), &parts);
        assert!(out.values().all(|a| count(a) == 2));
        let all: BTreeSet<i32> = out.values().flat_map(|a| a[&topic(1)].iter().copied()).collect();
        assert_eq!(all.len(), 6, "every partition assigned once");
    }

    #[test]
    fn more_members_than_partitions_share_them() {
        // Kafka's example: P=3, M=7: each partition shared by 3, shares 2,1,1,2,1,1,1.
        let parts = BTreeMap::from([(topic(1), vec![0, 1, 2])]);
        let out = run(&members(7, &[topic(1)]), &parts);
        let shares: Vec<usize> = (0..7).map(|i| count(&out[&format!("m{i}")])).collect();
        assert_eq!(shares, vec![2, 1, 1, 2, 1, 1, 1]);
        for p in 0..3 {
            let n = out.values().filter(|a| a.get(&topic(1)).is_some_and(|s| s.contains(&p))).count();
            assert_eq!(n, 3, "partition {p}");
        }
    }

    #[test]
    fn current_partitions_are_kept() {
        let parts = BTreeMap::from([(topic(1), (0..4).collect::<Vec<_>>())]);
        let cur = Assignment::from([(topic(1), BTreeSet::from([3, 2]))]);
        let input = vec![
            AssignMember { id: "a", topics: BTreeSet::from([topic(1)]), current: Some(&cur) },
            AssignMember { id: "b", topics: BTreeSet::from([topic(1)]), current: None },
        ];
        let out = assign(&input, &parts);
        assert_eq!(out["a"][&topic(1)], BTreeSet::from([2, 3]));
        assert_eq!(out["b"][&topic(1)], BTreeSet::from([0, 1]));
    }

    #[test]
    fn heterogeneous_members_get_their_topics_only() {
        let parts = BTreeMap::from([(topic(1), vec![0, 1]), (topic(2), vec![0])]);
        let ms = vec![
            ("a".to_string(), BTreeSet::from([topic(1)])),
            ("b".to_string(), BTreeSet::from([topic(1), topic(2)])),
        ];
        let out = run(&ms, &parts);
        assert!(!out["a"].contains_key(&topic(2)));
        assert_eq!(out["b"][&topic(2)], BTreeSet::from([0]));
        let t1: usize = out.values().map(|a| a.get(&topic(1)).map_or(0, BTreeSet::len)).sum();
        assert_eq!(t1, 2);
    }

    proptest! {
        #[test]
        fn every_partition_is_assigned_and_shares_are_balanced(m in 1usize..12, p in 1i32..20) {
            let parts = BTreeMap::from([(topic(1), (0..p).collect::<Vec<_>>())]);
            let out = run(&members(m, &[topic(1)]), &parts);
            let sharing = m.div_ceil(p as usize);
            for q in 0..p {
                let n = out.values().filter(|a| a.get(&topic(1)).is_some_and(|s| s.contains(&q))).count();
                prop_assert_eq!(n, sharing, "partition {}", q);
            }
            let counts: Vec<usize> = out.values().map(count).collect();
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            prop_assert!(hi - lo <= 1, "{:?}", counts);
        }
    }
}
