//! The SCRAM credentials users log in with: user → mechanism → [`ScramCredential`] (salt,
//! StoredKey, ServerKey, iterations; never a password), kept in
//! `<data-dir>/scram-credentials.json` (Kafka keeps them in its metadata log). Changes are
//! rare admin requests (AlterUserScramCredentials), so each rewrites the whole file
//! atomically; lookups at every SCRAM login read an in-memory copy.
//!
//! The file, version 1:
//!
//! ```json
//! {"version": 1, "users": {"alice": {"SCRAM-SHA-256": {"salt": "<base64>",
//!   "stored_key": "<base64>", "server_key": "<base64>", "iterations": 4096}}}}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parking_lot::{Mutex, RwLock};

use super::sasl::scram::{ScramCredential, ScramMechanism};
use super::sasl::{base64_decode, base64_encode};
use crate::error::{ErrorCode, StorageError, StorageOp};

pub const SCRAM_CREDENTIALS_FILE: &str = "scram-credentials.json";
const VERSION: u32 = 1;
/// A larger file is not read: Brook would not write one for any sane number of users.
const MAX_FILE_BYTES: u64 = 64 << 20;

type Users = BTreeMap<String, BTreeMap<ScramMechanism, ScramCredential>>;

/// Why one user's change or description was refused, with Kafka's codes and messages
/// (`ScramControlManager`, `ScramImage.describe`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialError {
    /// UNACCEPTABLE_CREDENTIAL: an empty name, too few or too many iterations.
    #[error("{0}")]
    Unacceptable(&'static str),
    /// UNSUPPORTED_SASL_MECHANISM: a mechanism byte that is neither 1 nor 2.
    #[error("Unknown SCRAM mechanism")]
    UnknownMechanism,
    /// RESOURCE_NOT_FOUND.
    #[error("{0}")]
    NotFound(String),
    /// DUPLICATE_RESOURCE: the same user twice in one request.
    #[error("{0}")]
    Duplicate(String),
    /// KAFKA_STORAGE_ERROR: the file could not be written; nothing changed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ErrorCode for CredentialError {
    fn code(&self) -> i16 {
        use kafka_protocol::error::ResponseError as E;
        match self {
            CredentialError::Unacceptable(_) => E::UnacceptableCredential.code(),
            CredentialError::UnknownMechanism => E::UnsupportedSaslMechanism.code(),
            CredentialError::NotFound(_) => E::ResourceNotFound.code(),
            CredentialError::Duplicate(_) => E::DuplicateResource.code(),
            CredentialError::Storage(e) => e.code(),
        }
    }
}

/// One change of an AlterUserScramCredentials request, mechanisms as the wire's bytes.
#[derive(Debug, Clone)]
pub enum CredentialChange {
    Delete {
        user: String,
        mechanism: i8,
    },
    /// `salted_password` is what the client computed: Hi(password, salt, iterations).
    Upsert {
        user: String,
        mechanism: i8,
        iterations: i32,
        salt: Vec<u8>,
        salted_password: Vec<u8>,
    },
}

impl CredentialChange {
    fn user(&self) -> &str {
        match self {
            CredentialChange::Delete { user, .. } | CredentialChange::Upsert { user, .. } => user,
        }
    }
}

/// One user's answer to [`CredentialStore::alter`].
pub type AlterResult = (String, Result<(), CredentialError>);
/// One user's answer to [`CredentialStore::describe`].
pub type DescribeResult = (String, Result<Vec<CredentialInfo>, CredentialError>);

/// What DescribeUserScramCredentials says of one mechanism of a user: never the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialInfo {
    pub mechanism: ScramMechanism,
    pub iterations: i32,
}

/// The durable SCRAM credentials. Thread-safe: lookups share a read lock; changes are
/// serialized and swap in a new map after the file is written, so a failed write changes
/// nothing and a slow fsync never blocks a login.
pub struct CredentialStore {
    path: PathBuf,
    users: RwLock<Users>,
    /// Held while a change is validated, written and swapped in, so changes apply in order.
    alter: Mutex<()>,
}

impl CredentialStore {
    /// Loads `<data_dir>/scram-credentials.json` (none yet: no users). A file that cannot be
    /// read or is damaged fails the start with a message naming the file and the fault:
    /// starting without the users would lock them all out, silently.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join(SCRAM_CREDENTIALS_FILE);
        let users = match std::fs::File::open(&path) {
            Ok(f) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_FILE_BYTES + 1), &mut bytes)?;
                if bytes.len() as u64 > MAX_FILE_BYTES {
                    return Err(std::io::Error::other(format!("{} is larger than 64 MiB", path.display())));
                }
                decode(&bytes).map_err(|why| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {why}", path.display()))
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Users::new(),
            Err(e) => return Err(e),
        };
        Ok(Self { path, users: RwLock::new(users), alter: Mutex::new(()) })
    }

    /// The credential a SCRAM login checks against.
    pub fn get(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        self.users.read().get(user)?.get(&mechanism).cloned()
    }

    /// Stores `user`'s credential for `mechanism` from the client's SaltedPassword
    /// (AlterUserScramCredentials' upsertion), replacing any.
    pub fn upsert(
        &self,
        user: &str,
        mechanism: ScramMechanism,
        salt: &[u8],
        salted_password: &[u8],
        iterations: i32,
    ) -> Result<(), CredentialError> {
        let change = CredentialChange::Upsert {
            user: user.into(),
            mechanism: mechanism.type_code(),
            iterations,
            salt: salt.to_vec(),
            salted_password: salted_password.to_vec(),
        };
        self.alter(&[change]).pop().map_or(Ok(()), |(_, r)| r)
    }

    /// Stores a credential derived elsewhere ([`ScramCredential::derive`], a migration),
    /// with the same checks as [`CredentialStore::upsert`].
    pub fn upsert_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
        credential: ScramCredential,
    ) -> Result<(), CredentialError> {
        let _order = self.alter.lock();
        check_user(user)?;
        check_iterations(i64::from(credential.iterations))?;
        let mut next = self.users.read().clone();
        next.entry(user.to_string()).or_default().insert(mechanism, credential);
        self.swap_in(next)
    }

    /// Removes `user`'s credential for `mechanism`.
    pub fn delete(&self, user: &str, mechanism: ScramMechanism) -> Result<(), CredentialError> {
        let change = CredentialChange::Delete { user: user.into(), mechanism: mechanism.type_code() };
        self.alter(&[change]).pop().map_or(Ok(()), |(_, r)| r)
    }

    /// Applies an AlterUserScramCredentials request as Kafka's `ScramControlManager` does:
    /// each change is checked on its own; a user named twice fails with DUPLICATE_RESOURCE
    /// (and neither change applies); the changes that pass are written together, once. One
    /// result per user, in the order users first appear. If the write fails, every change
    /// that had passed carries the storage error and nothing changed.
    pub fn alter(&self, changes: &[CredentialChange]) -> Vec<AlterResult> {
        let _order = self.alter.lock();
        let mut next = self.users.read().clone();
        let mut plans: Vec<(String, Result<Plan, CredentialError>)> = Vec::new();
        for change in changes {
            let user = change.user();
            match plans.iter_mut().find(|(u, _)| u == user) {
                Some((_, plan @ Ok(_))) => *plan = Err(duplicate_change()),
                Some(_) => {} // already refused: Kafka keeps the first error
                None => plans.push((user.to_string(), plan(&next, change))),
            }
        }
        for (user, plan) in &plans {
            match plan {
                Ok(Plan::Delete(mechanism)) => {
                    if let Some(by_mech) = next.get_mut(user) {
                        by_mech.remove(mechanism);
                        if by_mech.is_empty() {
                            next.remove(user);
                        }
                    }
                }
                Ok(Plan::Upsert(mechanism, credential)) => {
                    next.entry(user.clone()).or_default().insert(*mechanism, credential.clone());
                }
                Err(_) => {}
            }
        }
        let mut results: Vec<AlterResult> = plans.into_iter().map(|(user, plan)| (user, plan.map(|_| ()))).collect();
        if results.iter().any(|(_, r)| r.is_ok()) {
            if let Err(e) = self.swap_in(next) {
                for (_, result) in results.iter_mut().filter(|(_, r)| r.is_ok()) {
                    *result = Err(e.clone());
                }
            }
        }
        results
    }

    /// DescribeUserScramCredentials: `None` or an empty list describes every user; a user
    /// named twice is DUPLICATE_RESOURCE, one without credentials RESOURCE_NOT_FOUND (Kafka's
    /// `ScramImage.describe`). One result per distinct user, in the order asked (all users:
    /// by name); mechanisms in type-code order.
    pub fn describe(&self, users: Option<&[String]>) -> Vec<DescribeResult> {
        let all = self.users.read();
        let mut asked: Vec<(&str, bool)> = Vec::new();
        match users {
            Some(users) if !users.is_empty() => {
                for user in users {
                    match asked.iter_mut().find(|(u, _)| *u == user.as_str()) {
                        Some((_, twice)) => *twice = true,
                        None => asked.push((user, false)),
                    }
                }
            }
            _ => asked.extend(all.keys().map(|u| (u.as_str(), false))),
        }
        asked
            .into_iter()
            .map(|(user, twice)| {
                let result = if twice {
                    Err(CredentialError::Duplicate(format!(
                        "Cannot describe SCRAM credentials for the same user twice in a single request: {user}"
                    )))
                } else {
                    match all.get(user) {
                        Some(by_mech) if !by_mech.is_empty() => Ok(by_mech
                            .iter()
                            .map(|(m, c)| CredentialInfo {
                                mechanism: *m,
                                iterations: i32::try_from(c.iterations).unwrap_or(i32::MAX),
                            })
                            .collect()),
                        _ => Err(CredentialError::NotFound(format!(
                            "Attempt to describe a user credential that does not exist: {user}"
                        ))),
                    }
                };
                (user.to_string(), result)
            })
            .collect()
    }

    /// Writes `next` and makes it current. Called with `alter` held.
    fn swap_in(&self, next: Users) -> Result<(), CredentialError> {
        let bytes = encode(&next);
        crate::util::write_atomic(&self.path, &bytes)
            .map_err(|e| StorageError::new(StorageOp::Write, Some(&self.path), &e))?;
        *self.users.write() = next;
        Ok(())
    }
}

fn duplicate_change() -> CredentialError {
    CredentialError::Duplicate("A user credential cannot be altered twice in the same request".into())
}

fn check_user(user: &str) -> Result<(), CredentialError> {
    if user.is_empty() {
        return Err(CredentialError::Unacceptable("Username must not be empty"));
    }
    Ok(())
}

/// Kafka's bounds, 4096..=16384, as the `u32` a credential holds.
fn check_iterations(iterations: i64) -> Result<u32, CredentialError> {
    if iterations < i64::from(ScramMechanism::MIN_ITERATIONS) {
        return Err(CredentialError::Unacceptable("Too few iterations"));
    }
    u32::try_from(iterations)
        .ok()
        .filter(|i| *i <= ScramMechanism::MAX_ITERATIONS)
        .ok_or(CredentialError::Unacceptable("Too many iterations"))
}

/// A change that passed its checks, ready to apply.
enum Plan {
    Delete(ScramMechanism),
    Upsert(ScramMechanism, ScramCredential),
}

/// Kafka's `validateDeletion` / `validateUpsertion` against the credentials before the
/// request, and for an upsertion the credential to store (StoredKey and ServerKey derived
/// from the SaltedPassword, as `ScramControlManager.finishUpsertion` does).
fn plan(current: &Users, change: &CredentialChange) -> Result<Plan, CredentialError> {
    match change {
        CredentialChange::Delete { user, mechanism } => {
            check_user(user)?;
            let mechanism = ScramMechanism::from_type_code(*mechanism).ok_or(CredentialError::UnknownMechanism)?;
            if !current.get(user).is_some_and(|m| m.contains_key(&mechanism)) {
                return Err(CredentialError::NotFound(
                    "Attempt to delete a user credential that does not exist".into(),
                ));
            }
            Ok(Plan::Delete(mechanism))
        }
        CredentialChange::Upsert { user, mechanism, iterations, salt, salted_password } => {
            check_user(user)?;
            let mechanism = ScramMechanism::from_type_code(*mechanism).ok_or(CredentialError::UnknownMechanism)?;
            let iterations = check_iterations(i64::from(*iterations))?;
            Ok(Plan::Upsert(
                mechanism,
                ScramCredential::from_salted_password(mechanism, salt, salted_password, iterations),
            ))
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredFile {
    version: u32,
    users: BTreeMap<String, BTreeMap<String, StoredCredential>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredCredential {
    salt: String,
    stored_key: String,
    server_key: String,
    iterations: u32,
}

fn encode(users: &Users) -> Vec<u8> {
    let users = users
        .iter()
        .map(|(user, by_mech)| {
            let by_name = by_mech
                .iter()
                .map(|(m, c)| {
                    let stored = StoredCredential {
                        salt: base64_encode(&c.salt),
                        stored_key: base64_encode(&c.stored_key),
                        server_key: base64_encode(&c.server_key),
                        iterations: c.iterations,
                    };
                    (m.name().to_string(), stored)
                })
                .collect();
            (user.clone(), by_name)
        })
        .collect();
    let mut bytes =
        serde_json::to_vec_pretty(&StoredFile { version: VERSION, users }).expect("maps of strings serialize");
    bytes.push(b'\n');
    bytes
}

/// The file's users, every field checked: a damaged file is refused whole rather than
/// half-loaded.
fn decode(bytes: &[u8]) -> Result<Users, String> {
    let file: StoredFile = serde_json::from_slice(bytes).map_err(|e| format!("not a SCRAM credentials file: {e}"))?;
    if file.version != VERSION {
        return Err(format!("version {} is not one this Brook reads ({VERSION})", file.version));
    }
    let mut users = Users::new();
    for (user, by_name) in file.users {
        if user.is_empty() {
            return Err("a user with an empty name".into());
        }
        let mut by_mech = BTreeMap::new();
        for (name, stored) in by_name {
            let mechanism =
                ScramMechanism::from_name(&name).ok_or_else(|| format!("user {user}: unknown mechanism {name}"))?;
            let bad = |field: &str| format!("user {user}, {name}: {field} is damaged");
            let key = |text: &str, field: &str| {
                base64_decode(&base64::alphabet::STANDARD, text)
                    .filter(|k| k.len() == mechanism.hash_len())
                    .ok_or_else(|| bad(field))
            };
            let credential = ScramCredential {
                salt: base64_decode(&base64::alphabet::STANDARD, &stored.salt).ok_or_else(|| bad("salt"))?,
                stored_key: key(&stored.stored_key, "stored_key")?,
                server_key: key(&stored.server_key, "server_key")?,
                iterations: stored.iterations,
            };
            if check_iterations(i64::from(credential.iterations)).is_err() {
                return Err(bad("iterations"));
            }
            by_mech.insert(mechanism, credential);
        }
        if !by_mech.is_empty() {
            users.insert(user, by_mech);
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests;
