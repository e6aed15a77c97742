//! DescribeLogDirs (key 35): the broker's one log directory with, per requested partition
//! (all when the request says null), its size on disk; v4 adds the file system's total and
//! usable bytes (KIP-827). Partitions the broker does not host are left out, as Kafka does.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{ApiKey, DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::AclOperation;
use crate::log::Partition;

pub struct DescribeLogDirs;

fn partition_entry(p: &Partition) -> DescribeLogDirsPartition {
    DescribeLogDirsPartition::default()
        .with_partition_index(p.index)
        .with_partition_size(p.size_bytes() as i64)
        .with_offset_lag(0)
        .with_is_future_key(false)
}

impl Handler for DescribeLogDirs {
    type Request = DescribeLogDirsRequest;
    type Response = DescribeLogDirsResponse;
    const KEY: ApiKey = ApiKey::DescribeLogDirs;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 4;
    /// Reads file sizes and the file system: off the async workers.
    const BLOCKING: bool = true;

    /// DESCRIBE on the cluster, or no log dirs at all (Kafka's `handleDescribeLogDirsRequest`).
    fn authorize(ctx: &RequestContext, _req: &Self::Request) -> Result<(), i16> {
        if ctx.cluster_authorized(AclOperation::Describe) {
            Ok(())
        } else {
            Err(E::ClusterAuthorizationFailed.code())
        }
    }

    fn handle(ctx: &RequestContext, req: DescribeLogDirsRequest) -> Reply<DescribeLogDirsResponse> {
        let logs = &ctx.broker.logs;
        let topics: Vec<DescribeLogDirsTopic> = match req.topics {
            None => ctx
                .broker
                .topics
                .list()
                .into_iter()
                .map(|t| {
                    let partitions = logs.partitions(&t.name).iter().map(|p| partition_entry(p)).collect();
                    DescribeLogDirsTopic::default()
                        .with_name(TopicName(sb(t.name.to_string())))
                        .with_partitions(partitions)
                })
                .collect(),
            Some(wanted) => wanted
                .into_iter()
                .filter_map(|t| {
                    let partitions: Vec<_> = t
                        .partitions
                        .iter()
                        .filter_map(|&i| logs.get(&t.topic.0, i))
                        .map(|p| partition_entry(&p))
                        .collect();
                    (!partitions.is_empty())
                        .then(|| DescribeLogDirsTopic::default().with_name(t.topic).with_partitions(partitions))
                })
                .collect(),
        };
        let dir = std::fs::canonicalize(logs.data_dir()).unwrap_or_else(|_| logs.data_dir().to_path_buf());
        let mut result = DescribeLogDirsResult::default()
            .with_error_code(NONE)
            .with_log_dir(sb(dir.display().to_string()))
            .with_topics(topics)
            .with_total_bytes(-1)
            .with_usable_bytes(-1);
        if ctx.api_version >= 4 {
            if let Ok((total, usable)) = logs.dir_space() {
                result = result.with_total_bytes(total as i64).with_usable_bytes(usable as i64);
            }
        }
        Reply::Now(DescribeLogDirsResponse::default().with_error_code(NONE).with_results(vec![result]))
    }

    fn error_response(_req: &DescribeLogDirsRequest, code: i16) -> DescribeLogDirsResponse {
        DescribeLogDirsResponse::default().with_error_code(code)
    }

    fn errors(resp: &DescribeLogDirsResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for d in &resp.results {
            seen.code(d.error_code);
        }
    }
}
