//! Share groups (KIP-932): queues on the same log — membership and assignment, the
//! share-partition state, the share coordinator and its records.

pub mod assignor;
pub mod group;
pub mod partition;
pub mod records;

pub use group::ShareGroup;
