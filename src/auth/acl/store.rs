//! The durable ACLs: `<data-dir>/acls.json` (Kafka keeps them as records in its metadata log),
//! rewritten whole and atomically at each change (ACL changes are rare admin operations) and
//! loaded at start. Each change is written before the authorizer sees it, so what is in force
//! survives a crash; a failed write changes nothing.
//!
//! The file is `{"version": 1, "acls": [{"resource_type": "TOPIC", "resource_name": "orders",
//! "pattern_type": "LITERAL", "principal": "User:alice", "host": "*", "operation": "READ",
//! "permission": "ALLOW"}, ...]}`, names as Kafka spells them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::model::{AclBinding, AclBindingFilter, AclOp, AclPermission, PatternType};
use super::{AclAuthorizer, AclError};
use crate::auth::ResourceType;
use crate::error::{StorageError, StorageOp};

pub const ACLS_FILE: &str = "acls.json";
/// The format this Brook writes; a file from a newer one is refused rather than overwritten.
const FORMAT_VERSION: u32 = 1;
/// A larger file is not read (far beyond any ACL set Brook would write).
const MAX_FILE_BYTES: u64 = 64 << 20;
/// The most ACLs one request may add or remove (Kafka's `MAX_RECORDS_PER_USER_OP`).
pub const MAX_CHANGES_PER_REQUEST: usize = 10_000;

/// The file's content.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    version: u32,
    acls: Vec<StoredAcl>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredAcl {
    resource_type: String,
    resource_name: String,
    pattern_type: String,
    principal: String,
    host: String,
    operation: String,
    permission: String,
}

impl From<&AclBinding> for StoredAcl {
    fn from(acl: &AclBinding) -> Self {
        StoredAcl {
            resource_type: acl.resource_type.name().into(),
            resource_name: acl.resource_name.clone(),
            pattern_type: acl.pattern_type.name().into(),
            principal: acl.principal.clone(),
            host: acl.host.clone(),
            operation: acl.operation.name().into(),
            permission: acl.permission.name().into(),
        }
    }
}

impl StoredAcl {
    fn into_binding(self) -> Result<AclBinding, String> {
        fn named<T>(what: &str, name: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, String> {
            parse(name).ok_or_else(|| format!("unknown {what} {name:?}"))
        }
        let acl = AclBinding {
            resource_type: named("resource type", &self.resource_type, ResourceType::from_name)?,
            resource_name: self.resource_name,
            pattern_type: named("pattern type", &self.pattern_type, PatternType::from_name)?,
            principal: self.principal,
            host: self.host,
            operation: named("operation", &self.operation, AclOp::from_name)?,
            permission: named("permission", &self.permission, AclPermission::from_name)?,
        };
        acl.validate().map_err(|e| e.to_string())?;
        Ok(acl)
    }
}

/// The ACLs on disk and in the authorizer: every change goes through here.
pub struct AclStore {
    path: PathBuf,
    authorizer: Arc<AclAuthorizer>,
    /// Held while a change is computed, written and swapped in, so changes apply in order.
    changing: Mutex<()>,
}

impl AclStore {
    /// Loads `<data_dir>/acls.json` (none yet: no ACLs) into `authorizer`. A file that can't
    /// be read or parsed, or holds an ACL Brook would refuse, fails the start with its path
    /// and the entry: serving with some ACLs silently dropped could allow what a dropped DENY
    /// denied.
    pub fn open(data_dir: &Path, authorizer: Arc<AclAuthorizer>) -> std::io::Result<Self> {
        let path = data_dir.join(ACLS_FILE);
        let acls = load(&path)?;
        authorizer.replace_acls(acls);
        Ok(Self { path, authorizer, changing: Mutex::new(()) })
    }

    pub fn authorizer(&self) -> &Arc<AclAuthorizer> {
        &self.authorizer
    }

    /// CreateAcls: adds each valid ACL, one result per binding in order. An ACL that already
    /// exists is a success that changes nothing (Kafka's `existingAcls.add`). The new ones
    /// are written together: if the write fails, each of them gets the storage error.
    pub fn create(&self, bindings: Vec<AclBinding>) -> Vec<Result<(), AclError>> {
        let _changing = self.changing.lock();
        let current = self.authorizer.acls();
        let mut next: Option<BTreeSet<AclBinding>> = None;
        let mut results: Vec<Result<(), AclError>> = Vec::with_capacity(bindings.len());
        let mut added = 0usize;
        for acl in bindings {
            if let Err(e) = acl.validate() {
                results.push(Err(e));
                continue;
            }
            if !current.contains(&acl) && next.get_or_insert_with(|| (*current).clone()).insert(acl) {
                added += 1;
            }
            results.push(Ok(()));
        }
        let Some(next) = next else {
            return results;
        };
        let failure = if added > MAX_CHANGES_PER_REQUEST {
            AclError::TooManyChanges(format!(
                "Cannot create more than {MAX_CHANGES_PER_REQUEST} acls in a single create operation."
            ))
        } else {
            match self.write(&next) {
                Ok(()) => {
                    self.authorizer.replace_acls(next);
                    return results;
                }
                Err(e) => AclError::Storage(e),
            }
        };
        // Nothing was added: every binding that passed validation fails with the reason.
        for result in &mut results {
            if result.is_ok() {
                *result = Err(failure.clone());
            }
        }
        results
    }

    /// DeleteAcls: per filter, the ACLs it matched, all removed together. Each filter sees
    /// the ACLs as they were before the request, so an ACL two filters match is reported by
    /// both (Kafka's `deleteAcls`). A filter that would take the request past
    /// [`MAX_CHANGES_PER_REQUEST`] removals fails and removes nothing; if the write fails,
    /// every filter gets the storage error and nothing is removed.
    pub fn delete(&self, filters: &[AclBindingFilter]) -> Vec<Result<Vec<AclBinding>, AclError>> {
        let _changing = self.changing.lock();
        let current = self.authorizer.acls();
        let mut removed: BTreeSet<&AclBinding> = BTreeSet::new();
        let mut results = Vec::with_capacity(filters.len());
        for filter in filters {
            let matched: Vec<&AclBinding> = current.iter().filter(|acl| filter.matches(acl)).collect();
            let new = matched.iter().filter(|acl| !removed.contains(*acl)).count();
            if removed.len() + new > MAX_CHANGES_PER_REQUEST {
                results.push(Err(AclError::TooManyChanges(format!(
                    "Cannot remove more than {MAX_CHANGES_PER_REQUEST} acls in a single delete operation."
                ))));
                continue;
            }
            removed.extend(matched.iter().copied());
            results.push(Ok(matched.into_iter().cloned().collect()));
        }
        if removed.is_empty() {
            return results;
        }
        let next: BTreeSet<AclBinding> = current.iter().filter(|acl| !removed.contains(acl)).cloned().collect();
        if let Err(e) = self.write(&next) {
            return filters.iter().map(|_| Err(AclError::Storage(e.clone()))).collect();
        }
        self.authorizer.replace_acls(next);
        results
    }

    /// DescribeAcls: the ACLs `filter` matches, in [`AclBinding`] order (those of one
    /// resource pattern together).
    pub fn describe(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        self.authorizer.describe(filter)
    }

    fn write(&self, acls: &BTreeSet<AclBinding>) -> Result<(), StorageError> {
        let stored = Stored { version: FORMAT_VERSION, acls: acls.iter().map(StoredAcl::from).collect() };
        let bytes = serde_json::to_vec_pretty(&stored)
            .map_err(|e| StorageError::new(StorageOp::Write, Some(&self.path), &std::io::Error::other(e)))?;
        crate::util::write_atomic(&self.path, &bytes)
            .map_err(|e| StorageError::new(StorageOp::Write, Some(&self.path), &e))
    }
}

/// Reads the stored ACLs; a missing file is none.
fn load(path: &Path) -> std::io::Result<BTreeSet<AclBinding>> {
    let damaged =
        |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {why}", path.display()));
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_FILE_BYTES + 1), &mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(damaged("larger than 64 MiB".into()));
    }
    let stored: Stored = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
    if stored.version != FORMAT_VERSION {
        return Err(damaged(format!(
            "format version {} (this Brook reads version {FORMAT_VERSION}: written by a newer Brook?)",
            stored.version
        )));
    }
    let mut acls = BTreeSet::new();
    for (i, acl) in stored.acls.into_iter().enumerate() {
        acls.insert(acl.into_binding().map_err(|why| damaged(format!("ACL {i}: {why}")))?);
    }
    Ok(acls)
}
