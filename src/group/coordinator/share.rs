//! The coordinator's side of share groups (KIP-932): which group a ShareGroupHeartbeat goes
//! to (a new id becomes a share group; a classic or consumer group refuses), storing what each
//! operation wrote, session expiry, and the replay of the share-group records.

use std::sync::Arc;

use tokio::time::Instant;

use super::GroupCoordinator;
use crate::group::consumer::Refusal;
use crate::group::state::Group;
use crate::group::GroupError;
use crate::log::Partition;
use crate::share::group::{ShareAnswer, ShareEnv, ShareHeartbeat};
use crate::share::records::RecordKey;
use crate::share::ShareGroup;

impl GroupCoordinator {
    /// What a share group's operations need, now.
    pub fn share_env(&self, max_size: usize, session_timeout: std::time::Duration) -> ShareEnv<'_> {
        ShareEnv { now: Instant::now(), topics: &*self.topics, max_size, session_timeout }
    }

    /// One ShareGroupHeartbeat: the answer, and the partition its records went to (to wait on
    /// before answering).
    pub fn share_heartbeat(
        &self,
        group_id: &str,
        req: &ShareHeartbeat,
        env: &ShareEnv<'_>,
    ) -> Result<(ShareAnswer, Option<Arc<Partition>>), Refusal> {
        let plain = |error: GroupError| Refusal { error, message: None };
        self.check_loaded(group_id).map_err(plain)?;
        let group = match self.lookup(group_id) {
            Some(g) => g,
            None if req.member_epoch == 0 => self.entry(group_id),
            None => {
                return Err(Refusal::new(GroupError::GroupIdNotFound, format!("Share group {group_id} not found.")))
            }
        };
        let mut g = group.lock();
        if g.share.is_none() {
            if !is_blank(&g) {
                return Err(Refusal::new(
                    GroupError::GroupIdNotFound,
                    format!("Group {group_id} is not a share group."),
                ));
            }
            if req.member_epoch != 0 {
                return Err(Refusal::new(GroupError::GroupIdNotFound, format!("Share group {group_id} not found.")));
            }
            g.share = Some(Box::new(ShareGroup::new(group_id)));
        }
        let s = g.share.as_mut().expect("a share group");
        let result = s.heartbeat(req, env);
        let records = s.take_records();
        let answer = match result {
            Ok(a) => a,
            Err(refusal) => {
                if s.members.is_empty() && records.is_empty() && s.group_epoch == 0 {
                    g.share = None; // nothing was written: no group came of it
                }
                return Err(refusal);
            }
        };
        if records.is_empty() {
            return Ok((answer, None));
        }
        // Appended with the group locked, so replay sees the changes in their order.
        match self.append(group_id, records) {
            Ok(part) => Ok((answer, Some(part))),
            Err(e) => {
                tracing::error!(group = group_id, "cannot store share group records: {e}");
                Err(plain(e.not_stored()))
            }
        }
    }

    /// Timer work of a share group (member sessions): the partition its records went to.
    pub(super) fn tick_share(&self, g: &mut Group, now: Instant) -> Option<Arc<Partition>> {
        let s = g.share.as_mut()?;
        s.tick(now, &*self.topics);
        self.store_share_records(g).ok().flatten()
    }

    /// Stores what a share group's operation wrote: the partition to wait on, if any.
    pub fn store_share_records(&self, g: &mut Group) -> Result<Option<Arc<Partition>>, GroupError> {
        let Some(s) = g.share.as_mut() else { return Ok(None) };
        let records = s.take_records();
        if records.is_empty() {
            return Ok(None);
        }
        self.append(&g.id, records).map(Some).map_err(|e| {
            tracing::error!(group = %g.id, "cannot store share group records: {e}");
            e.not_stored()
        })
    }

    /// The share group `group_id`, created empty if new (AlterShareGroupOffsets creates it, as
    /// Kafka does); GROUP_ID_NOT_FOUND if the id is another kind of group.
    pub fn share_group_or_create(&self, group_id: &str, create: bool) -> Result<super::GroupRef, GroupError> {
        self.check_loaded(group_id)?;
        let group = match self.lookup(group_id) {
            Some(g) => g,
            None if create => self.entry(group_id),
            None => return Err(GroupError::GroupIdNotFound),
        };
        {
            let mut g = group.lock();
            if g.share.is_none() {
                if !create || !is_blank(&g) {
                    return Err(GroupError::GroupIdNotFound);
                }
                g.share = Some(Box::new(ShareGroup::new(group_id)));
            }
        }
        Ok(group)
    }

    /// The members of share group `group_id`, if it is one.
    pub fn share_member_count(&self, group_id: &str) -> Option<usize> {
        self.lookup(group_id).and_then(|g| g.lock().share.as_ref().map(|s| s.members.len()))
    }

    /// Applies a share group record read back from `__consumer_offsets`.
    pub(super) fn replay_share(&self, key: RecordKey, value: Option<bytes::Bytes>, now: Instant) {
        let id = key.group().to_string();
        if matches!(key, RecordKey::GroupMetadata { .. }) && value.is_none() {
            if let Some(g) = self.lookup(&id) {
                g.lock().share = None;
            }
            return;
        }
        let g = self.entry(&id);
        let mut g = g.lock();
        let s = g.share.get_or_insert_with(|| Box::new(ShareGroup::new(&id)));
        s.replay(&key, value, now);
    }
}

/// A group entry that is nothing yet (no members, offsets or history): it may become a share
/// group.
fn is_blank(g: &Group) -> bool {
    g.consumer.is_none()
        && g.members.is_empty()
        && g.offsets.is_empty()
        && g.txn_offsets.is_empty()
        && g.generation == 0
        && g.protocol_type.is_none()
}
