//! The error codes a response carries (Kafka's `AbstractResponse.errorCounts`), gathered from
//! the response before it is encoded: counted per API and code in the metrics, and logged
//! with the client id and the topic, group or transactional id each is about.

use std::fmt;

use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

/// What an error code is about. Cheap to clone (the names share the request's bytes).
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    Topic(StrBytes),
    /// A topic named by id (Fetch v13+ and others that dropped names).
    TopicId(Uuid),
    Group(StrBytes),
    TransactionalId(StrBytes),
    /// A config resource (topic, broker or group, by name).
    Resource(StrBytes),
    /// A FindCoordinator key (a group or transactional id).
    CoordinatorKey(StrBytes),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Topic(t) => write!(f, "topic {t}"),
            Subject::TopicId(id) => write!(f, "topic id {id}"),
            Subject::Group(g) => write!(f, "group {g}"),
            Subject::TransactionalId(t) => write!(f, "transactional id {t}"),
            Subject::Resource(r) => write!(f, "resource {r}"),
            Subject::CoordinatorKey(k) => write!(f, "coordinator key {k}"),
        }
    }
}

/// How many of the subjects of one code a report keeps (a response can name thousands of
/// partitions; a log line names the first few).
const SUBJECTS_KEPT: usize = 3;

/// One error code seen in a response.
#[derive(Debug)]
pub struct CodeSeen {
    pub code: i16,
    /// Occurrences (per partition, group, id... as Kafka counts them).
    pub count: u32,
    /// The first few distinct subjects it was about.
    pub subjects: Vec<Subject>,
}

/// The non-zero error codes of one response. Empty, the usual case, it allocates nothing.
#[derive(Debug, Default)]
pub struct ResponseErrors {
    /// What the request as a whole is about when its response does not say (Heartbeat's group).
    subject: Option<Subject>,
    seen: Vec<CodeSeen>,
}

impl ResponseErrors {
    /// A report for a request about `subject` ([`super::Handler::subject`]).
    pub fn about(subject: Option<Subject>) -> Self {
        Self { subject, seen: Vec::new() }
    }

    /// A code about the request as a whole.
    pub fn code(&mut self, code: i16) {
        let subject = self.subject.clone();
        self.add(code, subject);
    }

    pub fn topic(&mut self, name: &TopicName, code: i16) {
        self.add(code, Some(Subject::Topic(name.0.clone())));
    }

    /// A topic answered by name, or by id when the version has no names.
    pub fn topic_or_id(&mut self, name: &TopicName, id: Uuid, code: i16) {
        let subject =
            if name.is_empty() && !id.is_nil() { Subject::TopicId(id) } else { Subject::Topic(name.0.clone()) };
        self.add(code, Some(subject));
    }

    pub fn group(&mut self, id: &StrBytes, code: i16) {
        self.add(code, Some(Subject::Group(id.clone())));
    }

    pub fn transactional_id(&mut self, id: &StrBytes, code: i16) {
        self.add(code, Some(Subject::TransactionalId(id.clone())));
    }

    pub fn resource(&mut self, name: &StrBytes, code: i16) {
        self.add(code, Some(Subject::Resource(name.clone())));
    }

    /// Counts `code` (nothing for NONE) about `subject`.
    pub fn add(&mut self, code: i16, subject: Option<Subject>) {
        if code == 0 {
            return;
        }
        let seen = match self.seen.iter_mut().position(|s| s.code == code) {
            Some(i) => &mut self.seen[i],
            None => {
                self.seen.push(CodeSeen { code, count: 0, subjects: Vec::new() });
                self.seen.last_mut().expect("just pushed")
            }
        };
        seen.count = seen.count.saturating_add(1);
        if let Some(s) = subject {
            if seen.subjects.len() < SUBJECTS_KEPT && !seen.subjects.contains(&s) {
                seen.subjects.push(s);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &CodeSeen> {
        self.seen.iter()
    }
}

/// Error codes a client meets in normal operation (a rebalance, a coordinator moving or
/// loading, a topic being created, a consumer starting past the log): logged at debug, not
/// warn. Everything else (a corrupt batch, a full disk, a fenced producer, a refused request)
/// is worth an operator's attention.
pub fn is_routine(code: i16) -> bool {
    matches!(
        code,
        1 // OFFSET_OUT_OF_RANGE
        | 3 // UNKNOWN_TOPIC_OR_PARTITION
        | 5 // LEADER_NOT_AVAILABLE
        | 6 // NOT_LEADER_OR_FOLLOWER
        | 14 // COORDINATOR_LOAD_IN_PROGRESS
        | 15 // COORDINATOR_NOT_AVAILABLE
        | 16 // NOT_COORDINATOR
        | 22 // ILLEGAL_GENERATION
        | 25 // UNKNOWN_MEMBER_ID
        | 27 // REBALANCE_IN_PROGRESS
        | 36 // TOPIC_ALREADY_EXISTS
        | 51 // CONCURRENT_TRANSACTIONS
        | 69 // GROUP_ID_NOT_FOUND
        | 70 // FETCH_SESSION_ID_NOT_FOUND
        | 71 // INVALID_FETCH_SESSION_EPOCH
        | 74 // FENCED_LEADER_EPOCH
        | 75 // UNKNOWN_LEADER_EPOCH
        | 78 // OFFSET_NOT_AVAILABLE
        | 79 // MEMBER_ID_REQUIRED
        | 84 // ELECTION_NOT_NEEDED
        | 88 // UNSTABLE_OFFSET_COMMIT
        | 100 // UNKNOWN_TOPIC_ID
        | 105 // TRANSACTIONAL_ID_NOT_FOUND
        | 110 // FENCED_MEMBER_EPOCH
        | 113 // STALE_MEMBER_EPOCH
    )
}

/// A Kafka error code as Kafka names it (`NOT_LEADER_OR_FOLLOWER`); `None` for codes this
/// build does not know.
pub fn error_name(code: i16) -> Option<String> {
    use kafka_protocol::error::ResponseError;
    match ResponseError::try_from_code(code) {
        None => Some("NONE".into()),
        Some(ResponseError::Unknown(_)) => None,
        Some(e) => {
            let mut name = String::new();
            for (i, c) in format!("{e:?}").chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    name.push('_');
                }
                name.push(c.to_ascii_uppercase());
            }
            Some(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_codes_and_keeps_the_first_distinct_subjects() {
        let mut e = ResponseErrors::about(Some(Subject::Group(StrBytes::from_static_str("g"))));
        assert!(e.is_empty());
        for t in ["a", "b", "a", "c", "d"] {
            e.topic(&TopicName(StrBytes::from_static_str(t)), 6);
        }
        e.topic(&TopicName(StrBytes::from_static_str("a")), 0);
        e.code(16);
        let seen: Vec<_> = e.iter().collect();
        assert_eq!(seen.len(), 2, "NONE is not an error");
        assert_eq!((seen[0].code, seen[0].count), (6, 5));
        let names: Vec<String> = seen[0].subjects.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, ["topic a", "topic b", "topic c"]);
        assert_eq!((seen[1].code, seen[1].subjects[0].to_string()), (16, "group g".to_string()));
    }

    #[test]
    fn names_read_as_kafkas() {
        assert_eq!(error_name(6).as_deref(), Some("NOT_LEADER_OR_FOLLOWER"));
        assert_eq!(error_name(-1).as_deref(), Some("UNKNOWN_SERVER_ERROR"));
        assert_eq!(error_name(105).as_deref(), Some("TRANSACTIONAL_ID_NOT_FOUND"));
        assert_eq!(error_name(0).as_deref(), Some("NONE"));
        assert_eq!(error_name(-12345), None);
    }
}
