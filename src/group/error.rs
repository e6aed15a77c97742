//! [`GroupError`]: why a group request failed, each variant named for the Kafka error it
//! answers (Display is Kafka's message), plus the ways a write to `__consumer_offsets` can
//! fail and the mapping Kafka applies when a coordinator write fails.

use std::sync::Arc;

use kafka_protocol::error::ResponseError as E;

use crate::error::{ErrorCode, StorageError};
use crate::replica::ProduceError;
use crate::topic::registry::TopicError;

/// Why a group request (or a coordinator write) failed. Display is Kafka's message for the
/// error (`Errors.java`), or says what failed for the `__consumer_offsets` write failures.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GroupError {
    // Membership and generation checks (the state machine).
    #[error("The coordinator is not aware of this member.")]
    UnknownMemberId,
    #[error("Specified group generation id is not valid.")]
    IllegalGeneration,
    #[error("The group is rebalancing, so a rejoin is needed.")]
    RebalanceInProgress,
    #[error("The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.")]
    FencedInstanceId,
    #[error("The consumer group has reached its max size.")]
    GroupMaxSizeReached,
    #[error("The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list.")]
    InconsistentGroupProtocol,
    /// JoinGroup v4+: the member must rejoin with the id it is handed (KIP-394).
    #[error("The group member needs to have a valid member id before actually entering a consumer group.")]
    MemberIdRequired,

    // The consumer group protocol (KIP-848); the message sent is the heartbeat's own.
    #[error(
        "The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin."
    )]
    FencedMemberEpoch,
    #[error("The instance ID is still used by another member in the consumer group. That member must leave first.")]
    UnreleasedInstanceId,
    #[error("The assignor or its version range is not supported by the consumer group.")]
    UnsupportedAssignor,
    #[error("The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API.")]
    StaleMemberEpoch,
    #[error("The regular expression is not valid.")]
    InvalidRegularExpression,
    #[error("This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.")]
    InvalidRequest,
    /// OffsetCommit below v9 from a member of the consumer group protocol.
    #[error("The version of API is not supported.")]
    UnsupportedVersion,

    // Request checks of the handlers.
    #[error("The configured groupId is invalid.")]
    InvalidGroupId,
    #[error("The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms).")]
    InvalidSessionTimeout,
    #[error("The group id does not exist.")]
    GroupIdNotFound,
    #[error("The group is not empty.")]
    NonEmptyGroup,
    /// OffsetCommit of a partition that does not exist.
    #[error("This server does not host this topic-partition.")]
    UnknownTopicOrPartition,
    #[error("The metadata field of the offset request was too large.")]
    OffsetMetadataTooLarge,
    /// An offset of a topic the principal may not READ (or DESCRIBE).
    #[error("Topic authorization failed.")]
    TopicAuthorizationFailed,
    /// OffsetDelete of a topic a member subscribes to.
    #[error("Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.")]
    GroupSubscribedToTopic,

    // What a client is told when the coordinator cannot serve the group (a Dead group, or a
    // write to `__consumer_offsets` that failed: see [`GroupError::not_stored`]).
    #[error("The coordinator is not available.")]
    CoordinatorNotAvailable,
    #[error("This is not the correct coordinator.")]
    NotCoordinator,
    /// The group's `__consumer_offsets` partition is still being replayed after a start.
    #[error("The coordinator is loading and hence can't process requests.")]
    CoordinatorLoadInProgress,
    #[error("The server experienced an unexpected error when processing the request.")]
    UnknownServerError,

    // Writes to `__consumer_offsets`.
    /// The internal topic could not be created.
    #[error("cannot create the offsets topic")]
    OffsetsTopicUnavailable(#[source] Arc<TopicError>),
    /// The internal topic has no such partition (here).
    #[error("__consumer_offsets has no partition {0}")]
    OffsetsPartitionMissing(i32),
    /// The coordinator's records could not be encoded as a batch.
    #[error("cannot encode the group records: {0}")]
    Encode(String),
    /// The log refused the coordinator's batch (e.g. larger than max.message.bytes).
    #[error("the group records were refused: {0}")]
    Rejected(Arc<ProduceError>),
    /// The log could not write or fsync the records (its kind is kept: a full disk or EIO).
    #[error(transparent)]
    Storage(StorageError),
}

impl ErrorCode for GroupError {
    fn code(&self) -> i16 {
        match self {
            GroupError::UnknownMemberId => E::UnknownMemberId.code(),
            GroupError::IllegalGeneration => E::IllegalGeneration.code(),
            GroupError::RebalanceInProgress => E::RebalanceInProgress.code(),
            GroupError::FencedInstanceId => E::FencedInstanceId.code(),
            GroupError::GroupMaxSizeReached => E::GroupMaxSizeReached.code(),
            GroupError::InconsistentGroupProtocol => E::InconsistentGroupProtocol.code(),
            GroupError::MemberIdRequired => E::MemberIdRequired.code(),
            GroupError::FencedMemberEpoch => E::FencedMemberEpoch.code(),
            GroupError::UnreleasedInstanceId => E::UnreleasedInstanceId.code(),
            GroupError::UnsupportedAssignor => E::UnsupportedAssignor.code(),
            GroupError::StaleMemberEpoch => E::StaleMemberEpoch.code(),
            GroupError::InvalidRegularExpression => E::InvalidRegularExpression.code(),
            GroupError::InvalidRequest => E::InvalidRequest.code(),
            GroupError::UnsupportedVersion => E::UnsupportedVersion.code(),
            GroupError::InvalidGroupId => E::InvalidGroupId.code(),
            GroupError::InvalidSessionTimeout => E::InvalidSessionTimeout.code(),
            GroupError::GroupIdNotFound => E::GroupIdNotFound.code(),
            GroupError::NonEmptyGroup => E::NonEmptyGroup.code(),
            GroupError::UnknownTopicOrPartition => E::UnknownTopicOrPartition.code(),
            GroupError::OffsetMetadataTooLarge => E::OffsetMetadataTooLarge.code(),
            GroupError::TopicAuthorizationFailed => E::TopicAuthorizationFailed.code(),
            GroupError::GroupSubscribedToTopic => E::GroupSubscribedToTopic.code(),
            GroupError::CoordinatorNotAvailable => E::CoordinatorNotAvailable.code(),
            GroupError::NotCoordinator => E::NotCoordinator.code(),
            GroupError::CoordinatorLoadInProgress => E::CoordinatorLoadInProgress.code(),
            GroupError::UnknownServerError => E::UnknownServerError.code(),
            // Without the offsets topic (or its partition) there is no coordinator to talk to.
            GroupError::OffsetsTopicUnavailable(_) | GroupError::OffsetsPartitionMissing(_) => {
                E::CoordinatorNotAvailable.code()
            }
            GroupError::Encode(_) => E::UnknownServerError.code(),
            GroupError::Rejected(e) => e.code(),
            GroupError::Storage(e) => e.code(),
        }
    }
}

impl From<StorageError> for GroupError {
    fn from(e: StorageError) -> Self {
        GroupError::Storage(e)
    }
}

impl GroupError {
    /// What a member is told when the group's metadata could not be stored (appended to
    /// `__consumer_offsets`, or made durable there): Kafka's `GroupMetadataManager.storeGroup`
    /// mapping. A missing offsets topic or partition is COORDINATOR_NOT_AVAILABLE, a storage
    /// failure NOT_COORDINATOR (clients look the coordinator up again and retry), anything
    /// else UNKNOWN_SERVER_ERROR. Errors that are not write failures stay as they are.
    pub fn not_stored(self) -> GroupError {
        match self {
            GroupError::OffsetsTopicUnavailable(_) | GroupError::OffsetsPartitionMissing(_) => {
                GroupError::CoordinatorNotAvailable
            }
            GroupError::Storage(_) => GroupError::NotCoordinator,
            GroupError::Encode(_) | GroupError::Rejected(_) => GroupError::UnknownServerError,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::error::StorageOp;
    use crate::log::AppendError;

    fn storage() -> StorageError {
        StorageError::new(StorageOp::Fsync, None, &io::Error::from_raw_os_error(libc::EIO))
    }

    #[test]
    fn every_variant_has_its_kafka_code() {
        let cases: Vec<(GroupError, i16)> = vec![
            (GroupError::UnknownMemberId, 25),
            (GroupError::IllegalGeneration, 22),
            (GroupError::RebalanceInProgress, 27),
            (GroupError::FencedInstanceId, 82),
            (GroupError::GroupMaxSizeReached, 81),
            (GroupError::InconsistentGroupProtocol, 23),
            (GroupError::MemberIdRequired, 79),
            (GroupError::InvalidGroupId, 24),
            (GroupError::InvalidSessionTimeout, 26),
            (GroupError::GroupIdNotFound, 69),
            (GroupError::NonEmptyGroup, 68),
            (GroupError::UnknownTopicOrPartition, 3),
            (GroupError::OffsetMetadataTooLarge, 12),
            (GroupError::GroupSubscribedToTopic, 86),
            (GroupError::CoordinatorNotAvailable, 15),
            (GroupError::NotCoordinator, 16),
            (GroupError::CoordinatorLoadInProgress, 14),
            (GroupError::UnknownServerError, -1),
            (GroupError::OffsetsTopicUnavailable(Arc::new(TopicError::Unknown)), 15),
            (GroupError::OffsetsPartitionMissing(7), 15),
            (GroupError::Encode("x".into()), -1),
            (
                GroupError::Rejected(Arc::new(ProduceError::Append(AppendError::MessageTooLarge { size: 2, max: 1 }))),
                10,
            ),
            (GroupError::Storage(storage()), 56),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e:?}");
        }
    }

    #[test]
    fn display_is_kafkas_message() {
        assert_eq!(GroupError::UnknownMemberId.to_string(), "The coordinator is not aware of this member.");
        assert_eq!(GroupError::NotCoordinator.to_string(), "This is not the correct coordinator.");
        assert_eq!(GroupError::OffsetsPartitionMissing(3).to_string(), "__consumer_offsets has no partition 3");
        assert!(GroupError::Storage(storage()).to_string().contains("fsync failed"));
    }

    #[test]
    fn a_failed_group_store_maps_as_kafkas_store_group() {
        let too_large = ProduceError::Append(AppendError::MessageTooLarge { size: 2, max: 1 });
        let cases: Vec<(GroupError, i16)> = vec![
            (GroupError::Storage(storage()), 16),
            (GroupError::OffsetsPartitionMissing(0), 15),
            (GroupError::OffsetsTopicUnavailable(Arc::new(TopicError::Unknown)), 15),
            (GroupError::Encode("x".into()), -1),
            (GroupError::Rejected(Arc::new(too_large)), -1),
            // Not write failures: unchanged.
            (GroupError::RebalanceInProgress, 27),
            (GroupError::UnknownMemberId, 25),
        ];
        for (e, code) in cases {
            let mapped = e.clone().not_stored();
            assert_eq!(mapped.code(), code, "{e:?} -> {mapped:?}");
        }
    }
}
