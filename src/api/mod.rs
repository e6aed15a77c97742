//! Kafka API handlers: one module per API, all with the same shape ([`Handler`]), registered
//! once in [`HANDLERS`]. ApiVersions is generated from that table, so what is advertised is
//! exactly what is implemented.
//!
//! A handler's `handle` runs in request order: inline on the connection's task (so appends
//! from one connection keep their order), or, for handlers doing slow file-system work
//! ([`Handler::BLOCKING`]: topic admin), on the blocking pool one at a time per connection
//! (its [`Lane`]); requests arriving behind such a one wait for it before their own `handle`
//! runs. Anything that waits (fsync, long-poll) goes into the returned [`Reply::Later`]
//! future, which runs concurrently while responses still leave in request order.

mod acls;
pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod alter_configs;
pub mod alter_share_group_offsets;
pub mod alter_user_scram_credentials;
pub mod api_versions;
pub mod budget;
pub mod config_resources;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod create_acls;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_acls;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_share_group_offsets;
pub mod delete_topics;
pub mod describe_acls;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_producers;
pub mod describe_share_group_offsets;
pub mod describe_transactions;
pub mod describe_user_scram_credentials;
pub mod elect_leaders;
pub mod encode;
pub mod end_txn;
pub mod error_report;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_transactions;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
mod produce_txn;
pub mod request;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod share_acknowledge;
mod share_acks;
mod share_admin;
pub mod share_fetch;
pub mod share_group_describe;
pub mod share_group_heartbeat;
pub mod sync_group;
pub mod txn_offset_commit;
pub mod write_txn_markers;

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::sync::oneshot;

use crate::auth::{AclOperation, ResourceType, Session};
use crate::broker::Broker;
pub use budget::ResponseBudget;
pub use encode::{encode_frame, Frame};
pub use error_report::{ResponseErrors, Subject};
pub use share_acks::release as share_release;

/// What a handler knows about the request besides its body.
#[derive(Clone)]
pub struct RequestContext {
    pub broker: Arc<Broker>,
    /// The connection's queue for blocking handlers (shared by its requests).
    pub lane: Arc<Lane>,
    /// The connection's budget of response bytes not yet written (Fetch reads within it).
    pub budget: Arc<ResponseBudget>,
    /// The connection's security session (listener, principal).
    pub session: Arc<Session>,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
}

impl RequestContext {
    /// The client's address as Kafka reports it (`/127.0.0.1`).
    pub fn client_host(&self) -> &str {
        &self.session.client_host
    }

    /// Whether this request's principal may perform `op` on a resource (Kafka's
    /// `authHelper.authorize`); handlers answer `*_AUTHORIZATION_FAILED` per resource when not.
    pub fn authorized(&self, op: AclOperation, resource: ResourceType, name: &str) -> bool {
        self.broker.authorizer.authorize(&self.session, op, resource, name)
    }

    /// [`Self::authorized`] as a check of a whole request ([`Handler::authorize`]): `Err` with
    /// `refused`'s code when not.
    pub fn require(
        &self,
        op: AclOperation,
        resource: ResourceType,
        name: &str,
        refused: ResponseError,
    ) -> Result<(), i16> {
        if self.authorized(op, resource, name) {
            Ok(())
        } else {
            Err(refused.code())
        }
    }

    /// Whether this request's principal may perform `op` on the one cluster resource.
    pub fn cluster_authorized(&self, op: AclOperation) -> bool {
        self.authorized(op, ResourceType::Cluster, crate::auth::CLUSTER_NAME)
    }

    /// Whether this request's principal may perform `op` on some resource of a type (Kafka's
    /// `authHelper.authorizeByResourceType`).
    pub fn authorized_any(&self, op: AclOperation, resource: ResourceType) -> bool {
        self.broker.authorizer.authorize_any(&self.session, op, resource)
    }

    /// The `authorized_operations` field for a resource: the supported operations this
    /// request's principal may perform on it (every one, with no authorizer configured).
    pub fn authorized_operations(&self, resource: ResourceType, name: &str) -> i32 {
        crate::auth::operations_bitfield(resource, |op| self.authorized(op, resource, name))
    }
}

#[cfg(test)]
impl RequestContext {
    /// A request from a local test client on `lane`.
    pub(crate) fn for_tests(broker: Arc<Broker>, lane: Arc<Lane>, api_version: i16) -> Self {
        Self {
            broker,
            lane,
            budget: Arc::new(ResponseBudget::unlimited()),
            session: Arc::new(Session::plaintext("127.0.0.1:50000".parse().expect("address"))),
            api_version,
            correlation_id: 1,
            client_id: None,
        }
    }
}

/// Keeps a connection's requests in order around its blocking handlers: each blocking request
/// takes a turn when it is dispatched (in order, on the connection's task) and starts once the
/// turn before it has finished its `handle`; a request dispatched while a turn is unfinished
/// takes one too. With no blocking request pending, requests run inline without a turn.
///
/// Every [`RequestContext`] holds its connection's lane, so the lane lives as long as any
/// handler of the connection may still run (on the blocking pool, or waiting for its turn):
/// the server's shutdown waits for the lanes' `open` tokens before closing the logs.
#[derive(Default)]
pub struct Lane {
    tail: parking_lot::Mutex<Option<oneshot::Receiver<()>>>,
    _open: Option<tokio::sync::mpsc::Sender<()>>,
    /// What the connection holds until its last handler is done (its place in the
    /// connection limits): a client that disconnects with requests queued here cannot open
    /// new connections past the limits while those still run.
    _held: Option<Box<dyn Send + Sync>>,
}

/// A place in a [`Lane`]: wait for `prev`, drop `done` when finished.
struct Turn {
    prev: Option<oneshot::Receiver<()>>,
    done: oneshot::Sender<()>,
}

impl Turn {
    /// Waits until the turn before has finished; returns what to drop when this one has.
    async fn wait(self) -> oneshot::Sender<()> {
        if let Some(prev) = self.prev {
            let _ = prev.await; // an error only means the turn before is over
        }
        self.done
    }
}

impl Lane {
    /// A lane that keeps `open` (a token the server counts) and `held` until it is dropped.
    pub fn tracked(open: tokio::sync::mpsc::Sender<()>, held: impl Send + Sync + 'static) -> Self {
        Self { tail: Default::default(), _open: Some(open), _held: Some(Box::new(held)) }
    }

    fn turn(&self) -> Turn {
        let (done, next) = oneshot::channel();
        let prev = self.tail.lock().replace(next);
        Turn { prev, done }
    }

    /// A turn only if an earlier one is still running (so a request behind a blocking one
    /// waits for it, as on a Kafka broker); `None`, the usual case, when the lane is idle.
    fn turn_if_busy(&self) -> Option<Turn> {
        let mut tail = self.tail.lock();
        let busy = tail.as_mut().is_some_and(|rx| matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty)));
        if !busy {
            *tail = None;
            return None;
        }
        let (done, next) = oneshot::channel();
        let prev = tail.replace(next);
        Some(Turn { prev, done })
    }
}

/// A handler's answer: now, later (after waiting), or never (acks=0 produce).
pub enum Reply<R> {
    Now(R),
    Later(BoxFuture<'static, R>),
    None,
}

impl<R: Send + 'static> Reply<R> {
    /// The same answer, changed by `f` when it is ready.
    pub fn map(self, f: impl FnOnce(R) -> R + Send + 'static) -> Self {
        match self {
            Reply::Now(r) => Reply::Now(f(r)),
            Reply::Later(later) => Reply::Later(Box::pin(async move { f(later.await) })),
            Reply::None => Reply::None,
        }
    }
}

/// One Kafka API.
pub trait Handler: 'static {
    type Request: Decodable + Send + 'static;
    type Response: Encodable + Send + 'static;
    const KEY: ApiKey;
    /// Inclusive version range served (and advertised).
    const MIN_VERSION: i16;
    const MAX_VERSION: i16;
    /// Handlers doing slow file-system work (creating or deleting thousands of partition
    /// directories) run on the blocking pool, so they never hold up an async worker; a
    /// connection's blocking requests still run one after another, in request order.
    const BLOCKING: bool = false;
    /// Whether an answer given [`Reply::Later`] can wait on other clients or on new data
    /// (a long-poll, a rebalance) rather than on this request's own work (an fsync): shutdown
    /// does not wait for such answers, it closes the connection instead (as Kafka, whose
    /// shutdown closes connections with requests still waiting in its purgatories).
    const LONG_WAIT: bool = false;
    /// Whether this request runs on the blocking pool (in its connection's turn, like a
    /// [`Handler::BLOCKING`] one): those handlers always, others when the request would
    /// block (a produce into a partition whose write is stuck in the page cache).
    fn on_blocking_pool(_ctx: &RequestContext, _req: &Self::Request) -> bool {
        Self::BLOCKING
    }
    /// The checks the whole request must pass before it is handled (Kafka checks a group's
    /// READ before a JoinGroup is looked at): the error code answered for all of it when the
    /// principal may not. Checks of each resource a request names (each topic of a produce)
    /// are the handler's, answered per resource.
    fn authorize(_ctx: &RequestContext, _req: &Self::Request) -> Result<(), i16> {
        Ok(())
    }
    fn handle(ctx: &RequestContext, req: Self::Request) -> Reply<Self::Response>;
    /// The response that reports `code` for every part of `req` (Kafka's getErrorResponse).
    fn error_response(req: &Self::Request, code: i16) -> Self::Response;
    /// Large byte payloads inside the response (fetched records) to send by reference.
    fn payloads(_resp: &Self::Response) -> Vec<Bytes> {
        Vec::new()
    }
    /// What the request is about when its response does not name it (Heartbeat's group,
    /// EndTxn's transactional id), for the error log lines. A cheap clone of the request's
    /// bytes; taken before `handle` consumes the request.
    fn subject(_req: &Self::Request) -> Option<Subject> {
        None
    }
    /// The non-zero error codes in `resp`, each with what it is about (Kafka's
    /// `errorCounts`): counted per API and code in the metrics and logged.
    fn errors(resp: &Self::Response, seen: &mut ResponseErrors);
}

/// Type-erased handler result: an encoded response frame, or a future producing one.
pub enum Dispatch {
    Ready(Frame, ResponseErrors),
    Later(BoxFuture<'static, Deferred>),
    NoResponse,
}

/// What a [`Dispatch::Later`] future ends with.
pub enum Deferred {
    Send(Frame, ResponseErrors),
    /// The request gets no response (as an acks=0 produce); the connection goes on.
    Nothing,
    /// The response cannot be produced: the connection is closed.
    Close,
}

/// Failure to handle a frame at all; the connection is closed.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("cannot decode {api:?} v{version} request: {source}")]
    Decode { api: ApiKey, version: i16, source: anyhow::Error },
    #[error("cannot encode {api:?} v{version} response: {source}")]
    Encode { api: ApiKey, version: i16, source: anyhow::Error },
}

/// One row of the handler registry.
pub struct ApiEntry {
    pub key: ApiKey,
    pub min_version: i16,
    pub max_version: i16,
    /// [`Handler::LONG_WAIT`].
    pub long_wait: bool,
    pub run: fn(&RequestContext, Bytes) -> Result<Dispatch, DispatchError>,
    /// Decodes a body as `run` would, without handling it (fuzz targets, tests).
    pub decode: fn(Bytes, i16) -> anyhow::Result<()>,
}

const fn entry<H: Handler>() -> ApiEntry {
    ApiEntry {
        key: H::KEY,
        min_version: H::MIN_VERSION,
        max_version: H::MAX_VERSION,
        long_wait: H::LONG_WAIT,
        run: run::<H>,
        decode: decode::<H>,
    }
}

fn decode<H: Handler>(mut body: Bytes, version: i16) -> anyhow::Result<()> {
    H::Request::decode(&mut body, version).map(drop)
}

/// Every API Brook serves, in API key order.
pub static HANDLERS: &[ApiEntry] = &[
    entry::<produce::Produce>(),
    entry::<fetch::Fetch>(),
    entry::<list_offsets::ListOffsets>(),
    entry::<metadata::Metadata>(),
    entry::<offset_commit::OffsetCommit>(),
    entry::<offset_fetch::OffsetFetch>(),
    entry::<find_coordinator::FindCoordinator>(),
    entry::<join_group::JoinGroup>(),
    entry::<heartbeat::Heartbeat>(),
    entry::<leave_group::LeaveGroup>(),
    entry::<sync_group::SyncGroup>(),
    entry::<describe_groups::DescribeGroups>(),
    entry::<list_groups::ListGroups>(),
    entry::<sasl_handshake::SaslHandshake>(),
    entry::<api_versions::ApiVersions>(),
    entry::<create_topics::CreateTopics>(),
    entry::<delete_topics::DeleteTopics>(),
    entry::<delete_records::DeleteRecords>(),
    entry::<init_producer_id::InitProducerId>(),
    entry::<offset_for_leader_epoch::OffsetForLeaderEpoch>(),
    entry::<describe_configs::DescribeConfigs>(),
    entry::<alter_configs::AlterConfigs>(),
    entry::<describe_log_dirs::DescribeLogDirs>(),
    entry::<sasl_authenticate::SaslAuthenticate>(),
    entry::<create_partitions::CreatePartitions>(),
    entry::<delete_groups::DeleteGroups>(),
    entry::<elect_leaders::ElectLeaders>(),
    entry::<incremental_alter_configs::IncrementalAlterConfigs>(),
    entry::<offset_delete::OffsetDelete>(),
    entry::<describe_cluster::DescribeCluster>(),
    entry::<add_partitions_to_txn::AddPartitionsToTxn>(),
    entry::<describe_acls::DescribeAcls>(),
    entry::<create_acls::CreateAcls>(),
    entry::<delete_acls::DeleteAcls>(),
    entry::<add_offsets_to_txn::AddOffsetsToTxn>(),
    entry::<end_txn::EndTxn>(),
    entry::<txn_offset_commit::TxnOffsetCommit>(),
    entry::<describe_transactions::DescribeTransactions>(),
    entry::<list_transactions::ListTransactions>(),
    entry::<write_txn_markers::WriteTxnMarkers>(),
    entry::<describe_producers::DescribeProducers>(),
    entry::<describe_user_scram_credentials::DescribeUserScramCredentials>(),
    entry::<alter_user_scram_credentials::AlterUserScramCredentials>(),
    entry::<consumer_group_heartbeat::ConsumerGroupHeartbeat>(),
    entry::<consumer_group_describe::ConsumerGroupDescribe>(),
    entry::<share_group_heartbeat::ShareGroupHeartbeat>(),
    entry::<share_group_describe::ShareGroupDescribe>(),
    entry::<share_fetch::ShareFetch>(),
    entry::<share_acknowledge::ShareAcknowledge>(),
    entry::<describe_share_group_offsets::DescribeShareGroupOffsets>(),
    entry::<alter_share_group_offsets::AlterShareGroupOffsets>(),
    entry::<delete_share_group_offsets::DeleteShareGroupOffsets>(),
];

/// The README's compatibility table (Markdown), generated from [`HANDLERS`].
pub fn compatibility_table() -> String {
    let mut s = String::from("| API | key | versions |\n|---|---|---|\n");
    for e in HANDLERS {
        s.push_str(&format!("| {:?} | {} | {}–{} |\n", e.key, e.key as i16, e.min_version, e.max_version));
    }
    s
}

pub fn lookup(key: i16) -> Option<&'static ApiEntry> {
    HANDLERS.iter().find(|e| e.key as i16 == key)
}

fn run<H: Handler>(ctx: &RequestContext, mut body: Bytes) -> Result<Dispatch, DispatchError> {
    let version = ctx.api_version;
    let req = H::Request::decode(&mut body, version).map_err(|source| DispatchError::Decode {
        api: H::KEY,
        version,
        source,
    })?;
    let cid = ctx.correlation_id;
    let subject = H::subject(&req);
    if !(H::MIN_VERSION..=H::MAX_VERSION).contains(&version) {
        let resp = H::error_response(&req, ResponseError::UnsupportedVersion.code());
        let (frame, errors) = encode::<H>(version, cid, subject, &resp)?;
        return Ok(Dispatch::Ready(frame, errors));
    }
    if let Err(code) = H::authorize(ctx, &req) {
        let resp = H::error_response(&req, code);
        let (frame, errors) = encode::<H>(version, cid, subject, &resp)?;
        return Ok(Dispatch::Ready(frame, errors));
    }
    if H::on_blocking_pool(ctx, &req) {
        let ctx = ctx.clone();
        let turn = ctx.lane.turn();
        return Ok(Dispatch::Later(Box::pin(async move {
            let done = turn.wait().await;
            let handled = tokio::task::spawn_blocking(move || {
                let reply = H::handle(&ctx, req);
                drop(done); // the next turn may start while this one's `Later` waits
                reply
            });
            match handled.await {
                Ok(reply) => deliver::<H>(version, cid, subject, reply).await,
                Err(e) => {
                    // Like a panic on the async path: the connection closes, the broker goes on.
                    tracing::error!("handler for {:?} v{version} failed: {e}", H::KEY);
                    Deferred::Close
                }
            }
        })));
    }
    if let Some(turn) = ctx.lane.turn_if_busy() {
        let ctx = ctx.clone();
        return Ok(Dispatch::Later(Box::pin(async move {
            let done = turn.wait().await;
            let reply = H::handle(&ctx, req);
            drop(done);
            // The handler has run: waiting for its answer (a long-poll) must not keep the
            // lane, which shutdown waits for.
            drop(ctx);
            deliver::<H>(version, cid, subject, reply).await
        })));
    }
    Ok(match H::handle(ctx, req) {
        Reply::Now(resp) => {
            let (frame, errors) = encode::<H>(version, cid, subject, &resp)?;
            Dispatch::Ready(frame, errors)
        }
        reply @ Reply::Later(_) => Dispatch::Later(Box::pin(deliver::<H>(version, cid, subject, reply))),
        Reply::None => Dispatch::NoResponse,
    })
}

/// Answers `ok` once `stored` (a coordinator's records becoming durable) succeeds, or what
/// `failed` makes of its error: the tail of every request that writes group state.
pub fn when_stored<R: Send + 'static>(
    stored: impl std::future::Future<Output = Result<(), crate::group::GroupError>> + Send + 'static,
    ok: R,
    failed: impl FnOnce(crate::group::GroupError) -> R + Send + 'static,
) -> Reply<R> {
    Reply::Later(Box::pin(async move {
        match stored.await {
            Ok(()) => ok,
            Err(e) => failed(e),
        }
    }))
}

/// Turns a handler's reply into what the connection's writer sends, waiting for it if needed.
async fn deliver<H: Handler>(version: i16, cid: i32, subject: Option<Subject>, reply: Reply<H::Response>) -> Deferred {
    match reply {
        Reply::Now(resp) => encode_later::<H>(version, cid, subject, resp),
        Reply::Later(fut) => encode_later::<H>(version, cid, subject, fut.await),
        Reply::None => Deferred::Nothing,
    }
}

/// Encodes a response, with the error codes it carries.
fn encode<H: Handler>(
    version: i16,
    cid: i32,
    subject: Option<Subject>,
    resp: &H::Response,
) -> Result<(Frame, ResponseErrors), DispatchError> {
    let mut errors = ResponseErrors::about(subject);
    H::errors(resp, &mut errors);
    Ok((encode_frame(H::KEY, version, cid, resp, &H::payloads(resp))?, errors))
}

/// Encodes a response that was produced asynchronously; closes the connection if it cannot
/// be encoded.
fn encode_later<H: Handler>(version: i16, cid: i32, subject: Option<Subject>, resp: H::Response) -> Deferred {
    match encode::<H>(version, cid, subject, &resp) {
        Ok((frame, errors)) => Deferred::Send(frame, errors),
        Err(e) => {
            tracing::error!("{e}");
            Deferred::Close
        }
    }
}

/// The keys that occur more than once (Kafka answers each with INVALID_REQUEST).
pub fn duplicates<T: Eq + std::hash::Hash + Clone>(keys: impl IntoIterator<Item = T>) -> std::collections::HashSet<T> {
    let mut seen = std::collections::HashSet::new();
    let mut dup = std::collections::HashSet::new();
    for k in keys {
        if !seen.insert(k.clone()) {
            dup.insert(k);
        }
    }
    dup
}

/// `StrBytes` from any string.
pub fn sb(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Error code for "no error".
pub const NONE: i16 = 0;

/// Kafka error code for an error enum variant.
pub fn code(e: ResponseError) -> i16 {
    e.code()
}

/// Kafka's default message of an authorization error (`Errors.message()`, e.g. "Topic
/// authorization failed."), answered where Kafka answers an `ApiError` of it:
/// `ResponseError`'s `Display` is only the variant's name ("TopicAuthorizationFailed").
pub fn kafka_message(e: ResponseError) -> String {
    let message = match e {
        ResponseError::TopicAuthorizationFailed => "Topic authorization failed.",
        ResponseError::GroupAuthorizationFailed => "Group authorization failed.",
        ResponseError::ClusterAuthorizationFailed => "Cluster authorization failed.",
        ResponseError::TransactionalIdAuthorizationFailed => "Transactional Id authorization failed.",
        other => return other.to_string(),
    };
    message.to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

    use super::*;

    /// Handle calls of [`Recorder`], in the order they ran.
    static RAN: parking_lot::Mutex<Vec<String>> = parking_lot::Mutex::new(Vec::new());

    /// A blocking handler that sleeps as long as its request's software version says (ms),
    /// records its software name, and answers nothing when the name is "quiet".
    struct Recorder;

    impl Handler for Recorder {
        type Request = ApiVersionsRequest;
        type Response = ApiVersionsResponse;
        const KEY: ApiKey = ApiKey::ApiVersions;
        const MIN_VERSION: i16 = 3;
        const MAX_VERSION: i16 = 3;
        const BLOCKING: bool = true;

        fn handle(_ctx: &RequestContext, req: ApiVersionsRequest) -> Reply<ApiVersionsResponse> {
            let ms: u64 = req.client_software_version.parse().unwrap_or(0);
            std::thread::sleep(Duration::from_millis(ms));
            RAN.lock().push(req.client_software_name.to_string());
            if &*req.client_software_name == "quiet" {
                Reply::None
            } else {
                Reply::Now(ApiVersionsResponse::default())
            }
        }

        fn error_response(_req: &ApiVersionsRequest, _code: i16) -> ApiVersionsResponse {
            ApiVersionsResponse::default()
        }

        fn errors(_resp: &ApiVersionsResponse, _seen: &mut ResponseErrors) {}
    }

    fn body(name: &str, sleep_ms: u64) -> Bytes {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_string(name.into()))
            .with_client_software_version(StrBytes::from_string(sleep_ms.to_string()));
        let mut b = bytes::BytesMut::new();
        req.encode(&mut b, 3).expect("encode");
        b.freeze()
    }

    /// Blocking handlers of one connection run in dispatch order even when the first is slow
    /// and the later ones are polled first; another connection's lane does not wait for them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lane_runs_blocking_handlers_in_dispatch_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (broker, _) = Broker::open(crate::config::BrokerConfig::for_tests(dir.path())).expect("broker");
        let ctx = |lane: &Arc<Lane>| RequestContext::for_tests(broker.clone(), lane.clone(), 3);
        let (one, other) = (Arc::new(Lane::default()), Arc::new(Lane::default()));
        let mut later = Vec::new();
        for (lane, name, ms) in [(&one, "first", 200), (&one, "quiet", 0), (&one, "third", 0), (&other, "elsewhere", 0)]
        {
            match run::<Recorder>(&ctx(lane), body(name, ms)).expect("dispatch") {
                Dispatch::Later(fut) => later.push(fut),
                _ => panic!("a blocking handler answers later"),
            }
        }
        // Poll the last ones first: the turns, not the polling order, decide.
        let mut outcomes = Vec::new();
        for fut in later.into_iter().rev() {
            outcomes.push(tokio::spawn(fut));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut kinds = Vec::new();
        for o in outcomes {
            kinds.push(match o.await.expect("task") {
                Deferred::Send(..) => "send",
                Deferred::Nothing => "nothing",
                Deferred::Close => "close",
            });
        }
        assert_eq!(kinds, ["send", "send", "nothing", "send"], "elsewhere, third, quiet, first");
        assert_eq!(*RAN.lock(), ["elsewhere", "first", "quiet", "third"]);
    }
}
