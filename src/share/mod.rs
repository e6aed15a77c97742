//! Share groups (KIP-932): queues on the same log — the share-partition state, the share
//! coordinator and its records.

pub mod partition;
pub mod records;
