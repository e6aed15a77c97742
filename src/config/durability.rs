//! The durability modes: what an acknowledged write survives, and what each mode waits for.

/// What an acknowledged write survives; see README "Durability".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `acks=all` produces are fsynced (group commit) before the ack, like `Sync`; `acks=0/1`
    /// produces are answered once written to the OS, as Kafka's `acks=1` promises only the
    /// leader's write, and reach the disk within `flush_interval` (a background round).
    /// Consumers see data once written, as on a single Kafka broker.
    Acks,
    /// Data is fsynced (group commit) before the produce is acknowledged and before consumers
    /// see it: survives process crash and power loss.
    Sync,
    /// Data is written to the OS before the ack (survives a process crash, `kill -9`) and
    /// fsynced in the background every interval: power loss can lose the last interval.
    Interval,
    /// Data is written to the OS before the ack (survives `kill -9`); the OS decides when it
    /// reaches the disk. Segments are fsynced when they roll and at clean shutdown.
    Os,
}

impl Durability {
    /// Whether consumers only see fsynced data (the high watermark follows the fsyncs).
    pub fn fsync_before_visible(&self) -> bool {
        matches!(self, Durability::Sync)
    }

    /// Whether produces and offset commits wait for their fsync (a group-commit round).
    pub fn group_commit(&self) -> bool {
        matches!(self, Durability::Acks | Durability::Sync)
    }

    /// Whether a produce with this `acks` waits for its fsync before the answer.
    pub fn fsync_before_ack(&self, acks: i16) -> bool {
        match self {
            Durability::Sync => acks != 0,
            Durability::Acks => acks == -1,
            Durability::Interval | Durability::Os => false,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Durability::Acks => "acks",
            Durability::Sync => "sync",
            Durability::Interval => "interval",
            Durability::Os => "os",
        }
    }
}
