//! LeaveGroup: a member leaving on its own (by member id, or by instance id when static).

use tokio::time::Instant;

use super::{Group, GroupTimings, JoinError};
use crate::group::GroupError;

impl Group {
    /// LeaveGroup for one member (by member id, or by instance id for static members).
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: Instant,
        t: &GroupTimings,
    ) -> Result<(), GroupError> {
        let id = match instance_id {
            Some(i) => match self.static_members.get(i) {
                Some(m) if member_id.is_empty() || m == member_id => m.clone(),
                Some(_) => return Err(GroupError::FencedInstanceId),
                None => return Err(GroupError::UnknownMemberId),
            },
            None => member_id.to_string(),
        };
        if self.pending.remove(&id).is_some() {
            return Ok(());
        }
        let Some(mut m) = self.remove_member(&id) else { return Err(GroupError::UnknownMemberId) };
        if let Some(w) = m.join_waiter.take() {
            let _ = w.send(Err(JoinError::new(GroupError::UnknownMemberId, &id)));
        }
        tracing::info!(group = %self.id, member = %id, "member left");
        self.after_member_removed(now, t);
        Ok(())
    }
}
