//! Heartbeat and OffsetCommit admission: a member proving it is alive and current.

use tokio::time::Instant;

use super::{Group, GroupState, MemberRef};
use crate::group::GroupError;

impl Group {
    /// Heartbeat: keeps the session alive; REBALANCE_IN_PROGRESS tells the member to rejoin.
    pub fn heartbeat(&mut self, member: MemberRef<'_>, now: Instant) -> Result<(), GroupError> {
        if self.state == GroupState::Empty {
            return Err(GroupError::UnknownMemberId);
        }
        self.check_member(member)?;
        if let Some(m) = self.members.get_mut(member.member_id) {
            m.touch(now);
        }
        match self.state {
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// OffsetCommit admission: `Ok` when the commit may be stored.
    pub fn check_commit(&mut self, member: MemberRef<'_>, now: Instant) -> Result<(), GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if self.is_static_fenced(member.member_id, member.group_instance_id) {
            return Err(GroupError::FencedInstanceId);
        }
        if member.generation_id < 0 && self.state == GroupState::Empty {
            return Ok(()); // standalone / assign() consumers and admin tools
        }
        self.check_member(member)?;
        match self.state {
            GroupState::CompletingRebalance => Err(GroupError::RebalanceInProgress),
            _ => {
                if let Some(m) = self.members.get_mut(member.member_id) {
                    m.touch(now);
                }
                Ok(())
            }
        }
    }

    /// TxnOffsetCommit admission (Kafka's doTxnCommitOffsets): a member id, when given, must
    /// be a member, a static instance must not be fenced, and a generation, when given, must
    /// be the group's. Clients before KIP-447 send none of them.
    pub fn check_txn_commit(&self, member: MemberRef<'_>) -> Result<(), GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if !member.member_id.is_empty() && !self.members.contains_key(member.member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        if self.is_static_fenced(member.member_id, member.group_instance_id) {
            return Err(GroupError::FencedInstanceId);
        }
        if member.generation_id >= 0 && member.generation_id != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }
}
