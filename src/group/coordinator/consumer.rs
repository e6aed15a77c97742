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
        let mut records = Vec::new();
        let created = g.consumer.is_none();
        if created {
            if !joining || !g.has_no_members() {
                // Online upgrade of a classic group with members is not supported yet.
                return Err(Refusal::new(
                    GroupError::GroupIdNotFound,
                    format!("Group {group_id} is not a consumer group."),
                ));
            }
            // An empty classic group becomes a consumer group; its offsets stay.
            if g.generation > 0 || g.protocol_type.is_some() {
                records.push((codec::group_key(group_id), None));
            }
            g.consumer = Some(Box::new(ConsumerGroup::new(group_id)));
        }
        let c = g.consumer.as_mut().expect("a consumer group");
        let result = c.heartbeat(req, env);
        records.extend(c.take_records());
        let answer = match result {
            Ok(a) => a,
            Err(refusal) => {
                if created {
                    g.consumer = None; // nothing was written: the group stays what it was
                }
                return Err(refusal);
            }
        };
        drop(g);
        if records.is_empty() {
            return Ok((answer, None));
        }
        match self.append(group_id, records) {
            Ok(part) => Ok((answer, Some(part))),
            Err(e) => {
                tracing::error!(group = group_id, "cannot store consumer group records: {e}");
                Err(plain(e.not_stored()))
            }
        }
    }

    /// Before a JoinGroup: a consumer group with members refuses classic members
    /// (INCONSISTENT_GROUP_PROTOCOL); an empty one is deleted (its records tombstoned, its
    /// offsets kept) so the group continues as a classic group.
    pub fn make_classic(&self, g: &mut Group) -> Result<(), GroupError> {
        let Some(c) = &g.consumer else { return Ok(()) };
        if !c.members.is_empty() {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        let tombstones = c.tombstones();
        self.append(&g.id, tombstones)?;
        g.consumer = None;
        Ok(())
    }

    /// Timer work of a consumer group (sessions, revocation deadlines): the partition its
    /// records went to, if any.
    pub(super) fn tick_consumer(&self, g: &mut Group, now: Instant) -> Option<Arc<Partition>> {
        let c = g.consumer.as_mut()?;
        c.tick(now, &*self.topics);
        let records = c.take_records();
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
