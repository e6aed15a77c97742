//! One share partition's in-flight records (Kafka's SharePartition, KIP-932): which offsets of
//! a topic partition a share group has handed out, to whom, how often, and which are done.
//!
//! Offsets below the share-partition start offset (SPSO) are done. Every offset from the SPSO
//! up to `end` (one past the last offset ever acquired) has an entry here; offsets from `end`
//! on have never been delivered. An entry is AVAILABLE (to be delivered again), ACQUIRED (by a
//! member, until its lock expires), ACKNOWLEDGED or ARCHIVED (both terminal). The SPSO moves
//! over the terminal prefix. Entries are kept per offset: the window is bounded by
//! `group.share.partition.max.record.locks` (plus one log batch), so this stays small.
//!
//! Pure logic, no IO: the share partition manager reads the log, persists what changed and
//! answers the clients. See docs/kip932-spec.md §4.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::records::{ShareSnapshotValue, StateBatch};

/// A record's delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    Available,
    Acquired,
    Acknowledged,
    Archived,
}

impl RecordState {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Acknowledged | Self::Archived)
    }

    /// The `DeliveryState` byte of `__share_group_state`.
    fn persisted(self) -> i8 {
        match self {
            Self::Available | Self::Acquired => 0,
            Self::Acknowledged => 2,
            Self::Archived => 4,
        }
    }
}

/// Acknowledgement types of ShareFetch/ShareAcknowledge.
pub const ACK_GAP: i8 = 0;
pub const ACK_ACCEPT: i8 = 1;
pub const ACK_RELEASE: i8 = 2;
pub const ACK_REJECT: i8 = 3;
pub const ACK_RENEW: i8 = 4;

#[derive(Debug, Clone)]
struct InFlight {
    state: RecordState,
    delivery_count: i16,
    /// The member holding it while ACQUIRED.
    owner: Option<Arc<str>>,
    /// When the acquisition lock expires while ACQUIRED.
    deadline: Option<Instant>,
}

/// The per-group limits in force when an operation runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `share.delivery.count.limit`: a record delivered this often is archived instead of
    /// becoming available again.
    pub max_delivery_count: i16,
    /// `group.share.partition.max.record.locks`: the in-flight window (SPSO to end) new
    /// acquisitions may fill.
    pub max_in_flight: i64,
    /// `share.record.lock.duration.ms`.
    pub lock_duration: Duration,
}

/// ShareFetch v2's ShareAcquireMode (KIP-1206).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireMode {
    /// Whole log batches (the default; v1's only mode).
    BatchOptimized,
    /// At most MaxRecords records.
    RecordLimit,
}

/// A log batch a fetch read, by its offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    /// A transaction marker: never delivered, archived at once.
    pub control: bool,
}

/// A run of acquired offsets with one delivery count (ShareFetch's AcquiredRecords).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acquired {
    pub first_offset: i64,
    pub last_offset: i64,
    pub delivery_count: i16,
}

/// One acknowledgement batch: an ack type for the whole range, or one per offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    pub types: Vec<i8>,
}

impl AckBatch {
    fn type_at(&self, offset: i64) -> i8 {
        if self.types.len() == 1 {
            self.types[0]
        } else {
            self.types.get((offset - self.first_offset) as usize).copied().unwrap_or(ACK_ACCEPT)
        }
    }
}

/// Why an acknowledgement was refused (the whole partition's acknowledgement fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckError {
    /// INVALID_RECORD_STATE (121).
    InvalidRecordState(String),
    /// INVALID_REQUEST (42).
    InvalidRequest(String),
}

/// Why a record was archived without being accepted: a dead-letter topic records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveCause {
    Rejected,
    DeliveryLimit,
}

impl ArchiveCause {
    /// KIP-1191's `__dlq.errors.message`.
    pub fn message(self) -> &'static str {
        match self {
            Self::Rejected => "Offset rejected by client.",
            Self::DeliveryLimit => "Offset delivery count exceeded the threshold.",
        }
    }
}

/// A record archived by a client's REJECT or by reaching the delivery limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archived {
    pub offset: i64,
    pub delivery_count: i16,
    pub cause: ArchiveCause,
}

/// What an acknowledgement changed, to take back if its state write fails.
#[derive(Debug, Default)]
pub struct Undo {
    entries: Vec<(i64, InFlight)>,
}

#[derive(Debug)]
pub struct SharePartition {
    start_offset: i64,
    /// One past the last offset ever acquired (Kafka's SPEO + 1).
    end: i64,
    records: BTreeMap<i64, InFlight>,
    pub state_epoch: i32,
    pub leader_epoch: i32,
    /// ACQUIRED records: lock expiry has work only when there are some.
    acquired: usize,
    /// The earliest lock deadline, or later (a lower bound on when `expire` has work).
    next_deadline: Option<Instant>,
}

/// At most this many offsets are restored from a stored state (a damaged state cannot make
/// the broker allocate without bound): far beyond `group.share.partition.max.record.locks`'s
/// largest value plus a log batch.
const MAX_RESTORED_SPAN: i64 = 1 << 20;

impl SharePartition {
    /// A share partition with nothing in flight, starting at `start_offset`.
    pub fn new(start_offset: i64, state_epoch: i32, leader_epoch: i32) -> Self {
        Self {
            start_offset,
            end: start_offset,
            records: BTreeMap::new(),
            state_epoch,
            leader_epoch,
            acquired: 0,
            next_deadline: None,
        }
    }

    /// Rebuilds the state a snapshot stored (after a restart every record is unacquired).
    pub fn from_snapshot(s: &ShareSnapshotValue, leader_epoch: i32) -> Self {
        let mut p = Self::new(s.start_offset.max(0), s.state_epoch, leader_epoch);
        let limit = p.start_offset.saturating_add(MAX_RESTORED_SPAN);
        for b in &s.state_batches {
            let first = b.first_offset.max(p.start_offset);
            let last = b.last_offset.min(limit - 1);
            let state = match b.delivery_state {
                2 => RecordState::Acknowledged,
                4 => RecordState::Archived,
                _ => RecordState::Available,
            };
            for offset in first..=last {
                p.records.insert(
                    offset,
                    InFlight { state, delivery_count: b.delivery_count.max(0), owner: None, deadline: None },
                );
            }
        }
        if let Some((&last, _)) = p.records.last_key_value() {
            p.end = last + 1;
        }
        p.advance();
        p
    }

    /// The share-partition start offset: every offset below it is done.
    pub fn start_offset(&self) -> i64 {
        self.start_offset
    }

    /// One past the last offset ever acquired.
    pub fn end_offset(&self) -> i64 {
        self.end
    }

    /// Terminal records at or above the SPSO (Kafka's deliveryCompleteCount, for the lag).
    pub fn delivery_complete_count(&self) -> i64 {
        self.records.values().filter(|r| r.state.is_terminal()).count() as i64
    }

    /// ACQUIRED records now.
    pub fn acquired_count(&self) -> usize {
        self.acquired
    }

    /// Where the next fetch reads: the first record to deliver again, else `end`.
    pub fn next_fetch_offset(&self) -> i64 {
        self.records.iter().find(|(_, r)| r.state == RecordState::Available).map_or(self.end, |(&o, _)| o)
    }

    /// Whether a fetch could acquire anything: a record to deliver again, or room in the
    /// in-flight window for new ones.
    pub fn can_acquire(&self, limits: &Limits) -> bool {
        self.end - self.start_offset < limits.max_in_flight
            || self.records.values().any(|r| r.state == RecordState::Available)
    }

    /// Acquires for `member` the deliverable records of `batches` (what a log read from
    /// [`SharePartition::next_fetch_offset`] returned, in offset order): records to deliver
    /// again, and new records while the in-flight window has room. In `batch_optimized` mode
    /// whole log batches are taken, so `max_records` may be exceeded by the last one; in
    /// `record_limit` mode (ShareFetch v2, KIP-1206) acquisition stops at `max_records`.
    pub fn acquire(
        &mut self,
        member: &Arc<str>,
        batches: &[LogBatch],
        max_records: usize,
        mode: AcquireMode,
        now: Instant,
        limits: &Limits,
    ) -> Vec<Acquired> {
        let deadline = now + limits.lock_duration;
        let mut got: Vec<Acquired> = Vec::new();
        let mut count = 0usize;
        'batches: for b in batches {
            if count >= max_records {
                break;
            }
            if b.last_offset < self.start_offset {
                continue;
            }
            // A batch starting past the window's room brings nothing new.
            let new_from = self.end.max(b.base_offset);
            let takes_new = b.last_offset >= self.end;
            if takes_new && new_from - self.start_offset >= limits.max_in_flight && !self.has_available_in(b) {
                break;
            }
            for offset in b.base_offset.max(self.start_offset)..=b.last_offset {
                if mode == AcquireMode::RecordLimit && count >= max_records {
                    // The rest of the batch stays for the next fetch.
                    self.end = self.end.max(offset);
                    break 'batches;
                }
                let delivery_count = match self.records.get_mut(&offset) {
                    Some(r) if r.state == RecordState::Available => {
                        r.delivery_count = r.delivery_count.saturating_add(1);
                        r.state = RecordState::Acquired;
                        r.owner = Some(member.clone());
                        r.deadline = Some(deadline);
                        r.delivery_count
                    }
                    Some(_) => continue,
                    None if b.control => {
                        self.records.insert(
                            offset,
                            InFlight { state: RecordState::Archived, delivery_count: 0, owner: None, deadline: None },
                        );
                        continue;
                    }
                    None => {
                        self.records.insert(
                            offset,
                            InFlight {
                                state: RecordState::Acquired,
                                delivery_count: 1,
                                owner: Some(member.clone()),
                                deadline: Some(deadline),
                            },
                        );
                        1
                    }
                };
                self.acquired += 1;
                count += 1;
                match got.last_mut() {
                    Some(a) if a.last_offset + 1 == offset && a.delivery_count == delivery_count => {
                        a.last_offset = offset
                    }
                    _ => got.push(Acquired { first_offset: offset, last_offset: offset, delivery_count }),
                }
            }
            self.end = self.end.max(b.last_offset + 1);
        }
        if !got.is_empty() {
            self.next_deadline = Some(self.next_deadline.map_or(deadline, |d| d.min(deadline)));
        }
        self.advance();
        got
    }

    fn has_available_in(&self, b: &LogBatch) -> bool {
        self.records.range(b.base_offset..=b.last_offset).any(|(_, r)| r.state == RecordState::Available)
    }

    /// Applies `member`'s acknowledgements, all or nothing (Kafka's rules: every acknowledged
    /// offset at or above the SPSO must be ACQUIRED by the member; offsets below the SPSO are
    /// skipped). Returns what to undo if the state cannot be stored, and the records archived
    /// by a REJECT or the delivery limit. The SPSO moves once the caller has stored the state
    /// ([`SharePartition::advance`]).
    pub fn acknowledge(
        &mut self,
        member: &str,
        batches: &[AckBatch],
        now: Instant,
        limits: &Limits,
    ) -> Result<(Undo, Vec<Archived>), AckError> {
        for b in batches {
            if b.last_offset < self.start_offset {
                continue;
            }
            if b.first_offset >= self.end || b.last_offset >= self.end {
                return Err(AckError::InvalidRequest(format!(
                    "Offsets {}-{} are beyond the records delivered (up to {}).",
                    b.first_offset,
                    b.last_offset,
                    self.end - 1
                )));
            }
            for offset in b.first_offset.max(self.start_offset)..=b.last_offset {
                let ok = self
                    .records
                    .get(&offset)
                    .is_some_and(|r| r.state == RecordState::Acquired && r.owner.as_deref() == Some(member));
                if !ok {
                    return Err(AckError::InvalidRecordState(format!(
                        "The record at offset {offset} is not acquired by this member."
                    )));
                }
            }
        }
        let mut undo = Undo::default();
        let mut archived = Vec::new();
        for b in batches {
            if b.last_offset < self.start_offset {
                continue;
            }
            for offset in b.first_offset.max(self.start_offset)..=b.last_offset {
                // An offset acknowledged twice in one request counts once.
                let Some(r) = self.records.get_mut(&offset).filter(|r| r.state == RecordState::Acquired) else {
                    continue;
                };
                undo.entries.push((offset, r.clone()));
                match b.type_at(offset) {
                    ACK_RENEW => {
                        // A later deadline: the earliest one known stays a lower bound.
                        r.deadline = Some(now + limits.lock_duration);
                        continue;
                    }
                    ACK_ACCEPT => r.state = RecordState::Acknowledged,
                    ACK_RELEASE if r.delivery_count < limits.max_delivery_count => r.state = RecordState::Available,
                    ACK_RELEASE => {
                        r.state = RecordState::Archived;
                        archived.push(Archived {
                            offset,
                            delivery_count: r.delivery_count,
                            cause: ArchiveCause::DeliveryLimit,
                        });
                    }
                    ACK_REJECT => {
                        r.state = RecordState::Archived;
                        archived.push(Archived {
                            offset,
                            delivery_count: r.delivery_count,
                            cause: ArchiveCause::Rejected,
                        });
                    }
                    _ => r.state = RecordState::Archived, // GAP: no record there
                }
                r.owner = None;
                r.deadline = None;
                self.acquired -= 1;
            }
        }
        Ok((undo, archived))
    }

    /// Takes back an acknowledgement whose state write failed: its records are ACQUIRED again
    /// by their member (available if their lock expired meanwhile), as Kafka's rollback does.
    pub fn undo(&mut self, undo: Undo, now: Instant, limits: &Limits) {
        for (offset, before) in undo.entries.into_iter().rev() {
            let Some(r) = self.records.get_mut(&offset) else { continue };
            if r.state != RecordState::Acquired {
                self.acquired += 1;
            }
            *r = before;
        }
        self.expire(now, limits);
    }

    /// Releases every record `member` holds (its share session ended): they become
    /// available again, or archived at the delivery limit. The archived ones are returned.
    pub fn release_member(&mut self, member: &str, limits: &Limits) -> (bool, Vec<Archived>) {
        self.release_where(limits, |r| r.owner.as_deref() == Some(member))
    }

    /// Releases the records whose acquisition lock expired by `now`.
    pub fn expire(&mut self, now: Instant, limits: &Limits) -> (bool, Vec<Archived>) {
        if self.acquired == 0 || self.next_deadline.is_some_and(|d| d > now) {
            return (false, Vec::new());
        }
        let out = self.release_where(limits, |r| r.deadline.is_some_and(|d| d <= now));
        self.next_deadline = self.records.values().filter_map(|r| r.deadline).min();
        out
    }

    /// The earliest acquisition lock deadline, if any record is acquired.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.acquired == 0 {
            None
        } else {
            self.next_deadline
        }
    }

    fn release_where(&mut self, limits: &Limits, which: impl Fn(&InFlight) -> bool) -> (bool, Vec<Archived>) {
        let mut changed = false;
        let mut archived = Vec::new();
        for (&offset, r) in self.records.iter_mut() {
            if r.state != RecordState::Acquired || !which(r) {
                continue;
            }
            changed = true;
            self.acquired -= 1;
            r.owner = None;
            r.deadline = None;
            if r.delivery_count >= limits.max_delivery_count {
                r.state = RecordState::Archived;
                archived.push(Archived {
                    offset,
                    delivery_count: r.delivery_count,
                    cause: ArchiveCause::DeliveryLimit,
                });
            } else {
                r.state = RecordState::Available;
            }
        }
        if changed {
            self.advance();
        }
        (changed, archived)
    }

    /// Moves the SPSO over the terminal prefix of the in-flight records.
    pub fn advance(&mut self) {
        while let Some(entry) = self.records.first_entry() {
            if !entry.get().state.is_terminal() {
                break;
            }
            entry.remove();
        }
        self.start_offset = self.records.first_key_value().map_or(self.end, |(&o, _)| o);
    }

    /// The log start moved past the SPSO (retention, DeleteRecords): records below it are
    /// gone. Acquired ones stay until their member or lock lets them go.
    pub fn log_start_moved(&mut self, log_start: i64) {
        if log_start <= self.start_offset {
            return;
        }
        self.records.retain(|&o, r| o >= log_start || r.state == RecordState::Acquired);
        self.end = self.end.max(log_start);
        self.advance();
    }

    /// The full state as `__share_group_state` stores it: the SPSO and a run per stretch of
    /// offsets with one state and delivery count.
    pub fn snapshot(&self, snapshot_epoch: i32, now_ms: i64, created_ms: i64) -> ShareSnapshotValue {
        // The terminal prefix is stored as passed (the SPSO moves over it in memory once the
        // write is durable).
        let live = self.records.iter().skip_while(|(_, r)| r.state.is_terminal());
        let mut start_offset = self.end;
        let mut complete = 0i64;
        let mut batches: Vec<StateBatch> = Vec::new();
        for (&offset, r) in live {
            start_offset = start_offset.min(offset);
            complete += i64::from(r.state.is_terminal());
            // An acquisition is not persisted (as in Kafka): an acquired record is stored as it
            // was before, available with the count of its earlier deliveries.
            let count = if r.state == RecordState::Acquired { r.delivery_count - 1 } else { r.delivery_count };
            let state = r.state.persisted();
            match batches.last_mut() {
                Some(b) if b.last_offset + 1 == offset && b.delivery_state == state && b.delivery_count == count => {
                    b.last_offset = offset
                }
                _ => batches.push(StateBatch {
                    first_offset: offset,
                    last_offset: offset,
                    delivery_state: state,
                    delivery_count: count,
                }),
            }
        }
        ShareSnapshotValue {
            snapshot_epoch,
            state_epoch: self.state_epoch,
            leader_epoch: self.leader_epoch,
            start_offset,
            delivery_complete_count: complete.min(i32::MAX as i64) as i32,
            create_timestamp: created_ms,
            write_timestamp: now_ms,
            state_batches: batches,
        }
    }

    /// The state of `offset` and its delivery count (tests and the describe view).
    pub fn record(&self, offset: i64) -> Option<(RecordState, i16)> {
        self.records.get(&offset).map(|r| (r.state, r.delivery_count))
    }
}

#[cfg(test)]
mod tests;
