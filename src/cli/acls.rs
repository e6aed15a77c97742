//! `brook acl add|list|remove`: ACLs with `kafka-acls.sh`'s vocabulary (`--allow-principal
//! User:alice --operation Read --topic orders --resource-pattern-type prefixed`), sent as
//! CreateAcls, DescribeAcls and DeleteAcls. Each command spans the product of its resources,
//! principals, operations and hosts, as Kafka's tool does.

use std::collections::BTreeSet;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};

use super::client::{kafka_error, CliError, Conn};
use super::cluster::Cluster;
use super::output::render;
use super::Common;
use crate::auth::acl::{AclOp, AclPermission, PatternType, PatternTypeFilter, CLUSTER_NAME, WILDCARD};
use crate::auth::ResourceType;

/// The ANY code of every filter field.
const ANY: i8 = 1;
const COLUMNS: [&str; 7] =
    ["Principal", "Host", "Operation", "Permission", "ResourceType", "ResourceName", "PatternType"];

/// `brook acl ...`.
#[derive(Debug, clap::Args)]
pub struct AclArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: AclCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AclCommand {
    /// Adds ACLs: each principal may (or may not) do each operation on each resource, from
    /// each host.
    Add(AclSpec),
    /// Lists the ACLs that match (every ACL without options).
    List(AclSpec),
    /// Removes the ACLs that match, and prints them.
    Remove(AclSpec),
}

/// What an ACL command is about. For `list` and `remove` an option left out matches anything.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AclSpec {
    /// A principal to allow, `Type:Name` (`User:alice`, `User:*` for everyone); repeatable.
    #[arg(long = "allow-principal", value_name = "PRINCIPAL")]
    pub allow_principals: Vec<String>,
    /// A principal to deny; repeatable. DENY wins over ALLOW.
    #[arg(long = "deny-principal", value_name = "PRINCIPAL")]
    pub deny_principals: Vec<String>,
    /// list/remove: a principal, allowed or denied; repeatable.
    #[arg(long = "principal", value_name = "PRINCIPAL")]
    pub principals: Vec<String>,
    /// Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs,
    /// AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens or All (any case);
    /// repeatable.
    #[arg(long = "operation", value_name = "OPERATION")]
    pub operations: Vec<String>,
    /// The client address the ACL applies to (default `*`, any); repeatable.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// A topic (`*` for every topic); repeatable.
    #[arg(long = "topic", value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// A consumer or share group; repeatable.
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// The cluster (for CREATE topics, ALTER ACLs, IDEMPOTENT_WRITE...).
    #[arg(long)]
    pub cluster: bool,
    /// A transactional id; repeatable.
    #[arg(long = "transactional-id", value_name = "ID")]
    pub transactional_ids: Vec<String>,
    /// A delegation token id; repeatable.
    #[arg(long = "delegation-token", value_name = "TOKEN")]
    pub delegation_tokens: Vec<String>,
    /// A user principal (`User:bob`), for CREATE_TOKENS and DESCRIBE_TOKENS; repeatable.
    #[arg(long = "user-principal", value_name = "PRINCIPAL")]
    pub user_principals: Vec<String>,
    /// literal or prefixed (add; default literal), or for list and remove also any (the name
    /// exactly, any pattern type; their default) and match (every ACL that applies to the
    /// named resource: literal, wildcard and prefixes).
    #[arg(long, value_name = "TYPE")]
    pub resource_pattern_type: Option<String>,
}

/// One ACL as the wire carries it; ordered for a stable listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Acl {
    resource_type: i8,
    resource_name: String,
    pattern_type: i8,
    principal: String,
    host: String,
    operation: i8,
    permission: i8,
}

impl Acl {
    fn row(&self) -> Vec<Value> {
        let named =
            |name: Option<&'static str>, code: i8| name.map_or_else(|| format!("UNKNOWN({code})"), String::from);
        vec![
            json!(self.principal),
            json!(self.host),
            json!(named(AclOp::from_code(self.operation).map(AclOp::name), self.operation)),
            json!(named(AclPermission::from_code(self.permission).map(AclPermission::name), self.permission)),
            json!(named(ResourceType::from_code(self.resource_type).map(ResourceType::name), self.resource_type)),
            json!(self.resource_name),
            json!(named(PatternType::from_code(self.pattern_type).map(PatternType::name), self.pattern_type)),
        ]
    }

    fn describe(&self) -> String {
        let row = self.row();
        let cell = |i: usize| row[i].as_str().unwrap_or_default().to_string();
        format!("{} {} {} on {} {} ({})", cell(0), cell(3), cell(2), cell(4), cell(5), cell(6))
    }
}

/// A filter: `None` is ANY (codes) or null (strings).
#[derive(Debug, Clone)]
struct Filter {
    resource: Option<(ResourceType, String)>,
    pattern: PatternTypeFilter,
    principal: Option<String>,
    permission: Option<AclPermission>,
    operation: Option<AclOp>,
    host: Option<String>,
}

pub async fn run(args: AclArgs) -> Result<String, CliError> {
    // Every usage mistake is found before connecting.
    let plan = match &args.command {
        AclCommand::Add(spec) => Plan::Add(bindings(spec)?),
        AclCommand::List(spec) => Plan::List(filters(spec, false)?),
        AclCommand::Remove(spec) => Plan::Remove(filters(spec, true)?),
    };
    let cluster = Cluster::connect(&args.common).await?;
    let mut conn = cluster.admin().await?;
    let rows: Vec<Vec<Value>> = match plan {
        Plan::Add(acls) => add(&mut conn, &acls).await?,
        Plan::List(filters) => list(&mut conn, &filters).await?,
        Plan::Remove(filters) => remove(&mut conn, &filters).await?,
    }
    .iter()
    .map(Acl::row)
    .collect();
    Ok(render(args.common.format, &COLUMNS, &rows))
}

enum Plan {
    Add(Vec<Acl>),
    List(Vec<Filter>),
    Remove(Vec<Filter>),
}

fn usage(message: impl Into<String>) -> CliError {
    CliError::Usage(message.into())
}

/// An operation by Kafka's name in any case, with or without `_` (`DescribeConfigs`,
/// `describe_configs`, `DESCRIBE_CONFIGS`).
fn parse_operation(name: &str) -> Result<AclOp, CliError> {
    let squash = |s: &str| s.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_uppercase();
    let wanted = squash(name);
    let every = std::iter::once(AclOp::All).chain(crate::auth::AclOperation::EVERY.into_iter().map(AclOp::Only));
    every.into_iter().find(|op| squash(op.name()) == wanted).ok_or_else(|| {
        usage(format!(
            "unknown operation {name:?}: Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, \
             AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens or All"
        ))
    })
}

fn parse_pattern(name: &str) -> Result<PatternTypeFilter, CliError> {
    match name.to_ascii_lowercase().as_str() {
        "literal" => Ok(PatternTypeFilter::Is(PatternType::Literal)),
        "prefixed" => Ok(PatternTypeFilter::Is(PatternType::Prefixed)),
        "match" => Ok(PatternTypeFilter::Match),
        "any" => Ok(PatternTypeFilter::Any),
        _ => Err(usage(format!("unknown resource pattern type {name:?}: literal, prefixed, match or any"))),
    }
}

/// `Type:Name`, as Kafka's `SecurityUtils.parseKafkaPrincipal` wants it.
fn check_principal(principal: &str) -> Result<(), CliError> {
    match principal.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(()),
        _ => Err(usage(format!("principal {principal:?} is not Type:Name (e.g. User:alice)"))),
    }
}

/// The resources the spec names.
fn resources(spec: &AclSpec) -> Result<Vec<(ResourceType, String)>, CliError> {
    let mut out = Vec::new();
    let named = [
        (ResourceType::Topic, &spec.topics),
        (ResourceType::Group, &spec.groups),
        (ResourceType::TransactionalId, &spec.transactional_ids),
        (ResourceType::DelegationToken, &spec.delegation_tokens),
        (ResourceType::User, &spec.user_principals),
    ];
    for (kind, names) in named {
        for name in names {
            if name.is_empty() {
                return Err(usage(format!("an empty {} name", kind.name().to_ascii_lowercase().replace('_', " "))));
            }
            out.push((kind, name.clone()));
        }
    }
    for p in &spec.user_principals {
        check_principal(p)?;
    }
    if spec.cluster {
        out.push((ResourceType::Cluster, CLUSTER_NAME.to_string()));
    }
    Ok(out)
}

/// The principals with the permission they were given under (`None`: `--principal`).
fn entries(spec: &AclSpec) -> Result<Vec<(String, Option<AclPermission>)>, CliError> {
    let tagged = [
        (&spec.allow_principals, Some(AclPermission::Allow)),
        (&spec.deny_principals, Some(AclPermission::Deny)),
        (&spec.principals, None),
    ];
    let mut out = Vec::new();
    for (principals, permission) in tagged {
        for p in principals {
            check_principal(p)?;
            out.push((p.clone(), permission));
        }
    }
    Ok(out)
}

const NEED_RESOURCE: &str = "--topic, --group, --cluster, --transactional-id, --delegation-token or --user-principal";

/// The ACLs `add` creates, after Kafka's checks of the tool's input.
fn bindings(spec: &AclSpec) -> Result<Vec<Acl>, CliError> {
    let resources = resources(spec)?;
    if resources.is_empty() {
        return Err(usage(format!("acl add needs a resource: {NEED_RESOURCE}")));
    }
    if !spec.principals.is_empty() {
        return Err(usage("acl add takes --allow-principal or --deny-principal (--principal is for list and remove)"));
    }
    let entries = entries(spec)?;
    if entries.is_empty() {
        return Err(usage("acl add needs --allow-principal or --deny-principal"));
    }
    if spec.operations.is_empty() {
        return Err(usage("acl add needs --operation"));
    }
    let operations = spec.operations.iter().map(|o| parse_operation(o)).collect::<Result<Vec<_>, _>>()?;
    let pattern = match spec.resource_pattern_type.as_deref().map(parse_pattern).transpose()? {
        None => PatternType::Literal,
        Some(PatternTypeFilter::Is(p)) => p,
        Some(_) => {
            return Err(usage("acl add takes --resource-pattern-type literal or prefixed (match and any are filters)"))
        }
    };
    let hosts = match spec.hosts.is_empty() {
        true => vec![WILDCARD.to_string()],
        false => spec.hosts.clone(),
    };
    let mut out = Vec::new();
    for (kind, name) in &resources {
        // Kafka's AclCommand refuses an operation the resource type has no use for.
        for op in &operations {
            if let AclOp::Only(o) = op {
                if !kind.supported_operations().contains(o) {
                    let supported: Vec<&str> = kind.supported_operations().iter().map(|o| o.name()).collect();
                    return Err(usage(format!(
                        "{} ACLs cannot grant {} (they grant {} or ALL)",
                        kind.name(),
                        o.name(),
                        supported.join(", ")
                    )));
                }
            }
        }
        for (principal, permission) in &entries {
            for op in &operations {
                for host in &hosts {
                    out.push(Acl {
                        resource_type: kind.code(),
                        resource_name: name.clone(),
                        pattern_type: pattern.code(),
                        principal: principal.clone(),
                        host: host.clone(),
                        operation: op.code(),
                        permission: permission.map_or(ANY, AclPermission::code),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The filters `list` and `remove` send: the product of what the spec names, ANY for what
/// it leaves out. `remove` needs a resource, as Kafka's tool does: removing every ACL of
/// every resource by accident is too easy otherwise.
fn filters(spec: &AclSpec, remove: bool) -> Result<Vec<Filter>, CliError> {
    let resources = resources(spec)?;
    if remove && resources.is_empty() {
        return Err(usage(format!("acl remove needs a resource: {NEED_RESOURCE}")));
    }
    let pattern =
        spec.resource_pattern_type.as_deref().map(parse_pattern).transpose()?.unwrap_or(PatternTypeFilter::Any);
    let resources: Vec<Option<(ResourceType, String)>> = match resources.is_empty() {
        true => vec![None],
        false => resources.into_iter().map(Some).collect(),
    };
    let entries: Vec<Option<(String, Option<AclPermission>)>> = match entries(spec)? {
        e if e.is_empty() => vec![None],
        e => e.into_iter().map(Some).collect(),
    };
    let operations: Vec<Option<AclOp>> = match spec.operations.is_empty() {
        true => vec![None],
        false => spec.operations.iter().map(|o| parse_operation(o).map(Some)).collect::<Result<_, _>>()?,
    };
    let hosts: Vec<Option<String>> = match spec.hosts.is_empty() {
        true => vec![None],
        false => spec.hosts.iter().cloned().map(Some).collect(),
    };
    let mut out = Vec::new();
    for resource in &resources {
        for entry in &entries {
            for operation in &operations {
                for host in &hosts {
                    out.push(Filter {
                        resource: resource.clone(),
                        pattern,
                        principal: entry.as_ref().map(|(p, _)| p.clone()),
                        permission: entry.as_ref().and_then(|(_, perm)| *perm),
                        operation: *operation,
                        host: host.clone(),
                    });
                }
            }
        }
    }
    Ok(out)
}

fn text(s: &Option<String>) -> Option<StrBytes> {
    s.clone().map(StrBytes::from_string)
}

/// The ACL versions Brook serves (v0 has no pattern types, so cannot say PREFIXED).
const VERSIONS: std::ops::RangeInclusive<i16> = 1..=3;

async fn add(conn: &mut Conn, acls: &[Acl]) -> Result<Vec<Acl>, CliError> {
    let creations = acls
        .iter()
        .map(|a| {
            AclCreation::default()
                .with_resource_type(a.resource_type)
                .with_resource_name(StrBytes::from_string(a.resource_name.clone()))
                .with_resource_pattern_type(a.pattern_type)
                .with_principal(StrBytes::from_string(a.principal.clone()))
                .with_host(StrBytes::from_string(a.host.clone()))
                .with_operation(a.operation)
                .with_permission_type(a.permission)
        })
        .collect();
    let (_, resp) = conn.call(&CreateAclsRequest::default().with_creations(creations), VERSIONS).await?;
    if resp.results.len() != acls.len() {
        return Err(CliError::Kafka(format!(
            "{}: CreateAcls answered {} results for {} ACLs",
            conn.addr(),
            resp.results.len(),
            acls.len()
        )));
    }
    let failed: Vec<(&Acl, String)> = acls
        .iter()
        .zip(&resp.results)
        .filter(|(_, r)| r.error_code != 0)
        .map(|(a, r)| (a, kafka_error(r.error_code, r.error_message.as_ref())))
        .collect();
    if let Some((acl, why)) = failed.first() {
        let added = acls.len() - failed.len();
        let done = if added > 0 { format!("added {added} of {} ACLs; ", acls.len()) } else { String::new() };
        let more = if failed.len() > 1 { format!(" (and {} more)", failed.len() - 1) } else { String::new() };
        return Err(CliError::Kafka(format!("{done}cannot add {}{more}: {why}", acl.describe())));
    }
    let mut added = acls.to_vec();
    added.sort();
    Ok(added)
}

async fn list(conn: &mut Conn, filters: &[Filter]) -> Result<Vec<Acl>, CliError> {
    let mut found = BTreeSet::new();
    for f in filters {
        let req = DescribeAclsRequest::default()
            .with_resource_type_filter(f.resource.as_ref().map_or(ANY, |(t, _)| t.code()))
            .with_resource_name_filter(f.resource.as_ref().map(|(_, n)| StrBytes::from_string(n.clone())))
            .with_pattern_type_filter(f.pattern.code())
            .with_principal_filter(text(&f.principal))
            .with_host_filter(text(&f.host))
            .with_operation(f.operation.map_or(ANY, AclOp::code))
            .with_permission_type(f.permission.map_or(ANY, AclPermission::code));
        let (_, resp) = conn.call(&req, VERSIONS).await?;
        if resp.error_code != 0 {
            return Err(CliError::Kafka(format!(
                "cannot list ACLs: {}",
                kafka_error(resp.error_code, resp.error_message.as_ref())
            )));
        }
        for r in &resp.resources {
            for a in &r.acls {
                found.insert(Acl {
                    resource_type: r.resource_type,
                    resource_name: r.resource_name.to_string(),
                    pattern_type: r.pattern_type,
                    principal: a.principal.to_string(),
                    host: a.host.to_string(),
                    operation: a.operation,
                    permission: a.permission_type,
                });
            }
        }
    }
    Ok(found.into_iter().collect())
}

async fn remove(conn: &mut Conn, filters: &[Filter]) -> Result<Vec<Acl>, CliError> {
    let wire = filters
        .iter()
        .map(|f| {
            DeleteAclsFilter::default()
                .with_resource_type_filter(f.resource.as_ref().map_or(ANY, |(t, _)| t.code()))
                .with_resource_name_filter(f.resource.as_ref().map(|(_, n)| StrBytes::from_string(n.clone())))
                .with_pattern_type_filter(f.pattern.code())
                .with_principal_filter(text(&f.principal))
                .with_host_filter(text(&f.host))
                .with_operation(f.operation.map_or(ANY, AclOp::code))
                .with_permission_type(f.permission.map_or(ANY, AclPermission::code))
        })
        .collect();
    let (_, resp) = conn.call(&DeleteAclsRequest::default().with_filters(wire), VERSIONS).await?;
    let mut removed = BTreeSet::new();
    let mut failure = None;
    for r in &resp.filter_results {
        if r.error_code != 0 {
            failure.get_or_insert_with(|| kafka_error(r.error_code, r.error_message.as_ref()));
            continue;
        }
        for m in &r.matching_acls {
            if m.error_code != 0 {
                failure.get_or_insert_with(|| kafka_error(m.error_code, m.error_message.as_ref()));
                continue;
            }
            removed.insert(Acl {
                resource_type: m.resource_type,
                resource_name: m.resource_name.to_string(),
                pattern_type: m.pattern_type,
                principal: m.principal.to_string(),
                host: m.host.to_string(),
                operation: m.operation,
                permission: m.permission_type,
            });
        }
    }
    match failure {
        Some(why) if removed.is_empty() => Err(CliError::Kafka(format!("cannot remove ACLs: {why}"))),
        Some(why) => Err(CliError::Kafka(format!("removed {} ACLs, but not all: {why}", removed.len()))),
        None => Ok(removed.into_iter().collect()),
    }
}

#[cfg(test)]
mod tests;
