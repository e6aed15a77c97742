//! `brook cluster info`: the cluster id, the controller, the brokers and how many topics and
//! partitions there are, from Metadata (as `rpk cluster info`).

use serde_json::{json, Value};

use super::client::CliError;
use super::cluster::Cluster;
use super::output::{render, Format};

pub async fn run(common: super::Common) -> Result<String, CliError> {
    let cluster = Cluster::connect(&common).await?;
    let meta = cluster.metadata(None).await?;
    let topics = meta.topics.len();
    let partitions: usize = meta.topics.iter().map(|t| t.partitions.len()).sum();
    let mut brokers: Vec<Vec<Value>> = meta
        .brokers
        .iter()
        .map(|b| {
            vec![
                json!(b.node_id.0),
                json!(b.host.as_str()),
                json!(b.port),
                json!(b.rack.as_ref().map(|r| r.to_string())),
                json!(b.node_id.0 == meta.controller_id.0),
            ]
        })
        .collect();
    brokers.sort_by_key(|r| r[0].as_i64());
    let columns = ["Id", "Host", "Port", "Rack", "Controller"];
    let cluster_id = meta.cluster_id.as_ref().map(|c| c.to_string());
    Ok(match common.format {
        Format::Json => {
            let brokers: Value = serde_json::from_str(&render(Format::Json, &columns, &brokers)).unwrap_or(Value::Null);
            let doc = json!({
                "cluster_id": cluster_id,
                "controller": meta.controller_id.0,
                "brokers": brokers,
                "topics": topics,
                "partitions": partitions,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
        }
        Format::Table => format!(
            "CLUSTER     {}\nCONTROLLER  {}\nTOPICS      {topics}\nPARTITIONS  {partitions}\n\nBROKERS\n{}",
            cluster_id.as_deref().unwrap_or("-"),
            meta.controller_id.0,
            render(Format::Table, &columns, &brokers)
        ),
    })
}
