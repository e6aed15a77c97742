//! `brook user add|list|delete`: SCRAM users, managed as Kafka's AdminClient and
//! `kafka-configs.sh --entity-type users` manage them, with AlterUserScramCredentials and
//! DescribeUserScramCredentials. The password never leaves this process: the command picks
//! a random salt and sends Hi(password, salt, iterations), from which the broker derives the
//! keys it stores.

use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};

use super::client::{kafka_error, CliError, Conn};
use super::cluster::Cluster;
use super::output::render;
use super::Common;
use crate::auth::sasl::ScramMechanism;

/// Bytes of salt per credential: more than Kafka's client picks (130 random bits), as many as
/// SHA-256's output.
const SALT_BYTES: usize = 32;
/// Kafka's RESOURCE_NOT_FOUND: the user has no credential (for that mechanism).
const RESOURCE_NOT_FOUND: i16 = 91;

/// `brook user ...`.
#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Adds a SCRAM user, or replaces its credential for the mechanism.
    Add {
        name: String,
        /// The user's password (or the BROOK_USER_PASSWORD variable, kept out of the process
        /// list). Only Hi(password, salt, iterations) is sent.
        #[arg(long, env = "BROOK_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// SCRAM-SHA-256 or SCRAM-SHA-512.
        #[arg(long, default_value = "SCRAM-SHA-256")]
        mechanism: String,
        /// Hi's iteration count, 4096 to 16384 (Kafka's bounds).
        #[arg(long, default_value_t = 4096)]
        iterations: u32,
    },
    /// Lists SCRAM users (every one, or those named) with their mechanisms and iterations.
    List { names: Vec<String> },
    /// Deletes a user's SCRAM credentials: every mechanism it has, or the one named.
    Delete {
        name: String,
        #[arg(long)]
        mechanism: Option<String>,
    },
}

pub async fn run(args: UserArgs) -> Result<String, CliError> {
    // Check the arguments before connecting: a typo should not wait for a broker.
    if let UserCommand::Add { mechanism, iterations, password, .. } = &args.command {
        check_add(&parse_mechanism(mechanism)?, *iterations, password)?;
    }
    if let UserCommand::Delete { mechanism: Some(m), .. } = &args.command {
        parse_mechanism(m)?;
    }
    let cluster = Cluster::connect(&args.common).await?;
    // Kafka's admin client sends these to the controller (any broker forwards them there).
    let mut conn = cluster.admin().await?;
    let format = args.common.format;
    match args.command {
        UserCommand::Add { name, password, mechanism, iterations } => {
            let mechanism = parse_mechanism(&mechanism)?;
            add(&mut conn, &name, &password, mechanism, iterations).await?;
            Ok(render(
                format,
                &["User", "Mechanism", "Iterations"],
                &[vec![json!(name), json!(mechanism.name()), json!(iterations)]],
            ))
        }
        UserCommand::List { names } => {
            let rows = list(&mut conn, &names).await?;
            Ok(render(format, &["User", "Mechanism", "Iterations"], &rows))
        }
        UserCommand::Delete { name, mechanism } => {
            let mechanisms = match mechanism {
                Some(m) => vec![parse_mechanism(&m)?],
                None => mechanisms_of(&mut conn, &name).await?,
            };
            delete(&mut conn, &name, &mechanisms).await?;
            let rows: Vec<Vec<Value>> = mechanisms.iter().map(|m| vec![json!(name), json!(m.name())]).collect();
            Ok(render(format, &["User", "Mechanism"], &rows))
        }
    }
}

/// SCRAM-SHA-256 or SCRAM-SHA-512, in any case.
fn parse_mechanism(name: &str) -> Result<ScramMechanism, CliError> {
    ScramMechanism::from_name(&name.to_ascii_uppercase())
        .ok_or_else(|| CliError::Usage(format!("unknown SCRAM mechanism {name:?}: SCRAM-SHA-256 or SCRAM-SHA-512")))
}

/// Refuses what would only fail at the broker after computing Hi: no password, or more
/// iterations than any Kafka broker stores (and Hi would take that long here first). Too few
/// is the broker's to refuse (UNACCEPTABLE_CREDENTIAL), as Kafka's admin client leaves it.
fn check_add(mechanism: &ScramMechanism, iterations: u32, password: &str) -> Result<(), CliError> {
    if password.is_empty() {
        return Err(CliError::Usage("the password is empty".into()));
    }
    if iterations > ScramMechanism::MAX_ITERATIONS {
        return Err(CliError::Usage(format!(
            "--iterations {iterations} is more than the maximum {} for {mechanism}",
            ScramMechanism::MAX_ITERATIONS
        )));
    }
    Ok(())
}

async fn add(
    conn: &mut Conn,
    name: &str,
    password: &str,
    mechanism: ScramMechanism,
    iterations: u32,
) -> Result<(), CliError> {
    let mut salt = [0u8; SALT_BYTES];
    getrandom::fill(&mut salt).map_err(|e| CliError::Kafka(format!("cannot make a random salt: {e}")))?;
    let salted = mechanism.salted_password(password.as_bytes(), &salt, iterations);
    let upsertion = ScramCredentialUpsertion::default()
        .with_name(StrBytes::from_string(name.to_string()))
        .with_mechanism(mechanism.type_code())
        // At most MAX_ITERATIONS (check_add), so it fits.
        .with_iterations(iterations as i32)
        .with_salt(Bytes::copy_from_slice(&salt))
        .with_salted_password(Bytes::from(salted));
    let req = AlterUserScramCredentialsRequest::default().with_upsertions(vec![upsertion]);
    let (_, resp) = conn.call(&req, 0..=0).await?;
    match resp.results.iter().find(|r| r.error_code != 0) {
        Some(r) => Err(CliError::Kafka(format!(
            "cannot add {mechanism} credential of user {name}: {}",
            kafka_error(r.error_code, r.error_message.as_ref())
        ))),
        None => Ok(()),
    }
}

async fn describe(conn: &mut Conn, names: &[String]) -> Result<DescribeUserScramCredentialsResponse, CliError> {
    // Each name once: the broker refuses a request that names a user twice.
    let unique: std::collections::BTreeSet<&String> = names.iter().collect();
    let users = (!unique.is_empty())
        .then(|| unique.iter().map(|n| UserName::default().with_name(StrBytes::from_string((*n).clone()))).collect());
    let req = DescribeUserScramCredentialsRequest::default().with_users(users);
    let (_, resp) = conn.call(&req, 0..=0).await?;
    if resp.error_code != 0 {
        return Err(CliError::Kafka(format!(
            "cannot list users: {}",
            kafka_error(resp.error_code, resp.error_message.as_ref())
        )));
    }
    if let Some(r) = resp.results.iter().find(|r| r.error_code != 0) {
        let why = match r.error_code {
            RESOURCE_NOT_FOUND => "has no SCRAM credentials".to_string(),
            code => kafka_error(code, r.error_message.as_ref()),
        };
        return Err(CliError::Kafka(format!("user {}: {why}", r.user)));
    }
    Ok(resp)
}

/// One row per user and mechanism, by user then mechanism.
async fn list(conn: &mut Conn, names: &[String]) -> Result<Vec<Vec<Value>>, CliError> {
    let resp = describe(conn, names).await?;
    let mut rows: Vec<(String, i8, i32)> = resp
        .results
        .iter()
        .flat_map(|r| r.credential_infos.iter().map(|i| (r.user.to_string(), i.mechanism, i.iterations)))
        .collect();
    rows.sort();
    Ok(rows
        .into_iter()
        .map(|(user, mechanism, iterations)| {
            let name = ScramMechanism::from_type_code(mechanism)
                .map_or_else(|| format!("UNKNOWN({mechanism})"), |m| m.name().to_string());
            vec![json!(user), json!(name), json!(iterations)]
        })
        .collect())
}

/// The mechanisms `name` has credentials for (none is an error: nothing to delete).
async fn mechanisms_of(conn: &mut Conn, name: &str) -> Result<Vec<ScramMechanism>, CliError> {
    let resp = describe(conn, &[name.to_string()]).await?;
    let mechanisms: Vec<ScramMechanism> = resp
        .results
        .iter()
        .flat_map(|r| r.credential_infos.iter().filter_map(|i| ScramMechanism::from_type_code(i.mechanism)))
        .collect();
    if mechanisms.is_empty() {
        return Err(CliError::Kafka(format!("user {name}: has no SCRAM credentials")));
    }
    Ok(mechanisms)
}

async fn delete(conn: &mut Conn, name: &str, mechanisms: &[ScramMechanism]) -> Result<(), CliError> {
    let deletions = mechanisms
        .iter()
        .map(|m| {
            ScramCredentialDeletion::default()
                .with_name(StrBytes::from_string(name.to_string()))
                .with_mechanism(m.type_code())
        })
        .collect();
    let req = AlterUserScramCredentialsRequest::default().with_deletions(deletions);
    let (_, resp) = conn.call(&req, 0..=0).await?;
    match resp.results.iter().find(|r| r.error_code != 0) {
        Some(r) if r.error_code == RESOURCE_NOT_FOUND && mechanisms.len() == 1 => {
            Err(CliError::Kafka(format!("user {name}: has no {} credential", mechanisms[0])))
        }
        Some(r) => Err(CliError::Kafka(format!(
            "cannot delete user {name}: {}",
            kafka_error(r.error_code, r.error_message.as_ref())
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanisms_and_iterations_are_checked_before_connecting() {
        assert_eq!(parse_mechanism("scram-sha-512").unwrap(), ScramMechanism::Sha512);
        assert!(parse_mechanism("PLAIN").unwrap_err().to_string().contains("SCRAM-SHA-256 or SCRAM-SHA-512"));
        assert!(check_add(&ScramMechanism::Sha256, 4096, "pw").is_ok());
        assert!(check_add(&ScramMechanism::Sha256, 16385, "pw").unwrap_err().to_string().contains("maximum 16384"));
        assert!(check_add(&ScramMechanism::Sha256, 4096, "").is_err());
    }
}
