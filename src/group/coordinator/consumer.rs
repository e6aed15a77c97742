//! The coordinator's side of consumer groups (KIP-848): which group a heartbeat goes to (an
//! empty classic group becomes a consumer group), storing what each operation wrote, the
//! groups' timers, and the replay of their records.

use std::sync::Arc;

use tokio::time::Instant;

use super::GroupCoordinator;
use crate::group::codec;
use crate::group::consumer::{ConsumerGroup, Heartbeat, HeartbeatAnswer, HeartbeatEnv, Refusal};
use crate::group::consumer_records::RecordKey;
use crate::group::state::Group;
use crate::group::GroupError;
use crate::log::Partition;

impl GroupCoordinator {
    /// What a consumer group's operations need, now, for a member whose session lasts
    /// `session_timeout`.
    pub fn heartbeat_env(&self, session_timeout: std::time::Duration) -> HeartbeatEnv<'_> {
        HeartbeatEnv {
            now: Instant::now(),
            now_ms: crate::util::now_ms(),
            topics: &*self.topics,
            assignors: &self.config.consumer_assignors,
            max_size: self.config.consumer_max_size,
            session_timeout,
            describable: &|_| true,
        }
    }

    /// One ConsumerGroupHeartbeat: the answer, and the partition its records went to (to
    /// wait on before answering).
    pub fn consumer_heartbeat(
        &self,
        group_id: &str,
        req: &Heartbeat,
        env: &HeartbeatEnv<'_>,
    ) -> Result<(HeartbeatAnswer, Option<Arc<Partition>>), Refusal> {
        let plain = |error: GroupError| Refusal { error, message: None };
        self.check_loaded(group_id).map_err(plain)?;
        let joining = req.member_epoch == 0;
        let group = match self.lookup(group_id) {
            Some(g) => g,
            None if joining => self.entry(group_id),
            None => {
                return Err(Refusal::new(GroupError::GroupIdNotFound, format!("Consumer group {group_id} not found.")))
            }
        };
        let mut g = group.lock();
        if g.share.is_some() {
            return Err(Refusal::new(
                GroupError::GroupIdNotFound,
                format!("Group {group_id} is not a consumer group."),
            ));
        }
        let mut records = Vec::new();
        let created = g.consumer.is_none();
        if created {
            let not_consumer = |why: String| Refusal::new(GroupError::GroupIdNotFound, why);
            if !joining {
                return Err(not_consumer(format!("Group {group_id} is not a consumer group.")));
            }
            let consumer = if g.has_no_members() {
                // An empty classic group becomes a consumer group; its offsets stay.
                ConsumerGroup::new(group_id)
            } else {
                // Online upgrade: the classic members carry on inside the consumer group.
                if !self.config.migration_policy.allows_upgrade() {
                    return Err(not_consumer(format!(
                        "Cannot upgrade classic group {group_id} to consumer group because the online upgrade is disabled."
                    )));
                }
                if g.members.len() > env.max_size {
                    return Err(not_consumer(format!("Cannot upgrade classic group {group_id} to consumer group because its group size exceeds the consumer group maximum size.")));
                }
                let c = ConsumerGroup::from_classic(&g, &*self.topics, env.now).map_err(not_consumer)?;
                tracing::info!(
                    group = group_id,
                    members = c.members.len(),
                    "classic group upgraded to a consumer group"
                );
                g.hand_over_members();
                c
            };
            if g.generation > 0 || g.protocol_type.is_some() || !consumer.members.is_empty() {
                records.push((codec::group_key(group_id), None));
            }
            g.consumer = Some(Box::new(consumer));
        }
        let c = g.consumer.as_mut().expect("a consumer group");
        let result = c.heartbeat(req, env);
        records.extend(self.take_group_records(&mut g, env.now));
        let answer = match result {
            Ok(a) => a,
            Err(refusal) if created && records.is_empty() => {
                g.consumer = None; // nothing was written: the group stays what it was
                return Err(refusal);
            }
            Err(refusal) => {
                // An upgrade went through before the joiner was refused: it is stored.
                if let Err(e) = self.append(group_id, records) {
                    tracing::error!(group = group_id, "cannot store consumer group records: {e}");
                }
                return Err(refusal);
            }
        };
        if records.is_empty() {
            return Ok((answer, None));
        }
        // Appended with the group still locked, so its records are in the log in the order
        // its changes were made (replay applies them in that order).
        let appended = self.append(group_id, records);
        drop(g);
        match appended {
            Ok(part) => Ok((answer, Some(part))),
            Err(e) => {
                tracing::error!(group = group_id, "cannot store consumer group records: {e}");
                Err(plain(e.not_stored()))
            }
        }
    }

    /// Before a classic JoinGroup into an empty consumer group: it is deleted (its records
    /// tombstoned, its offsets kept) so the group continues as a classic group.
    pub fn make_classic(&self, g: &mut Group) -> Result<(), GroupError> {
        let Some(c) = &g.consumer else { return Ok(()) };
        let tombstones = c.tombstones();
        self.append(&g.id, tombstones)?;
        g.consumer = None;
        Ok(())
    }

    /// What a consumer group's operation wrote, and, when only classic members are left
    /// and the policy allows it, the online downgrade to a classic group (Kafka's
    /// convertToClassicGroup): every consumer-group record tombstoned, the classic group
    /// stored at generation = group epoch, and a rebalance so its members rejoin.
    fn take_group_records(&self, g: &mut Group, now: Instant) -> Vec<crate::group::consumer::Record> {
        let Some(c) = g.consumer.as_mut() else { return Vec::new() };
        let allowed = self.config.migration_policy.allows_downgrade() && c.members.len() <= self.config.max_size;
        let downgrade = if allowed { c.to_classic(&*self.topics) } else { None };
        let mut records = c.take_records();
        let Some(value) = downgrade else { return records };
        records.extend(c.tombstones());
        records.push((codec::group_key(&g.id), Some(codec::group_value(&value))));
        tracing::info!(group = %g.id, members = value.members.len(), "consumer group downgraded to a classic group");
        g.consumer = None;
        g.restore(value, now);
        g.prepare_rebalance(now, &self.timings());
        records
    }

    /// Stores what a consumer group's operation wrote: the partition to wait on, if any.
    pub fn store_consumer_records(&self, g: &mut Group) -> Result<Option<Arc<Partition>>, GroupError> {
        let records = self.take_group_records(g, Instant::now());
        if records.is_empty() {
            return Ok(None);
        }
        self.append(&g.id, records).map(Some).map_err(|e| {
            tracing::error!(group = %g.id, "cannot store consumer group records: {e}");
            e.not_stored()
        })
    }

    /// Timer work of a consumer group (sessions, revocation deadlines): the partition its
    /// records went to, if any.
    pub(super) fn tick_consumer(&self, g: &mut Group, now: Instant) -> Option<Arc<Partition>> {
        let c = g.consumer.as_mut()?;
        c.tick(now, &*self.topics);
        let records = self.take_group_records(g, now);
        if records.is_empty() {
            return None;
        }
        self.append(&g.id, records)
            .map_err(|e| tracing::error!(group = %g.id, "cannot store consumer group records: {e}"))
            .ok()
    }

    /// Applies a consumer group record read back from `__consumer_offsets`.
    pub(super) fn replay_consumer(&self, key: RecordKey, value: Option<bytes::Bytes>, now: Instant) {
        let id = key.group().to_string();
        if matches!(key, RecordKey::GroupMetadata { .. }) && value.is_none() {
            // The group was deleted (or turned classic): its consumer state goes.
            if let Some(g) = self.lookup(&id) {
                g.lock().consumer = None;
            }
            return;
        }
        let g = self.entry(&id);
        let mut g = g.lock();
        let c = g.consumer.get_or_insert_with(|| Box::new(ConsumerGroup::new(&id)));
        c.replay(&key, value, now);
    }
}
