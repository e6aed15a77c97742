//! Share groups (KIP-932): queues on the same log — membership and assignment (`group`,
//! `assignor`), each share partition's in-flight records (`partition`), the share-partition
//! leader's fetch and acknowledgement work (`manager`, `session`), the share coordinator's
//! durable state (`store`) and the records of both (`records`).

pub mod assignor;
pub mod dead_letter;
pub mod group;
pub mod manager;
pub mod partition;
pub mod records;
pub mod session;
pub mod store;

pub use group::ShareGroup;
pub use manager::{ShareConfig, ShareManager};
