//! [`AclAuthorizer`]: Kafka's `StandardAuthorizer` (metadata/authorizer/
//! StandardAuthorizerData.java) over an immutable, indexed snapshot of the ACLs, swapped whole
//! at each change so that a check is a few hash lookups and a binary search, never a wait.
//!
//! The rules, in Kafka's words and order: super users may do anything; otherwise the ACLs
//! whose resource pattern matches the resource (literal name, literal `*`, prefixes) are the
//! resource's ACLs; of those, the ones for the principal (or `User:*`), the host (or `*`) and
//! the operation (or ALL, or one that implies it) decide: any DENY denies, else any ALLOW
//! allows, else deny; and when the resource has no ACLs at all, the default
//! (`allow.everyone.if.no.acl.found`, false unless set) decides.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::sync::Arc;

use parking_lot::RwLock;

use super::model::{
    split_principal, AclBinding, AclBindingFilter, AclOp, AclPermission, PatternType, WILDCARD, WILDCARD_PRINCIPAL,
};
use crate::auth::{AclOperation, Authorizer, KafkaPrincipal, ResourceType, Session};

/// Checks requests against the ACLs. Build it from the settings with
/// [`AclAuthorizer::from_settings`]; [`super::AclStore`] loads the stored ACLs into it and
/// swaps in a new snapshot at each change.
pub struct AclAuthorizer {
    super_users: Vec<KafkaPrincipal>,
    allow_if_no_acl: bool,
    /// Readers hold the read lock only for their lookups; a change builds the next snapshot
    /// outside it and takes the write lock just to swap the `Arc`.
    snapshot: RwLock<Arc<Snapshot>>,
}

impl AclAuthorizer {
    /// `super_users` is Kafka's `super.users`: principals separated by `;`, blanks ignored
    /// (`StandardAuthorizer.getConfiguredSuperUsers`); `allow_everyone_if_no_acl_found` is
    /// Kafka's `allow.everyone.if.no.acl.found` (false by default). Starts with no ACLs.
    pub fn from_settings(super_users: &str, allow_everyone_if_no_acl_found: bool) -> Result<Self, String> {
        Ok(Self::new(parse_super_users(super_users)?, allow_everyone_if_no_acl_found))
    }

    pub fn new(super_users: Vec<KafkaPrincipal>, allow_everyone_if_no_acl_found: bool) -> Self {
        Self {
            super_users,
            allow_if_no_acl: allow_everyone_if_no_acl_found,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
        }
    }

    pub fn super_users(&self) -> &[KafkaPrincipal] {
        &self.super_users
    }

    /// Makes `acls` the ACLs in force (all of them: this replaces, not adds).
    pub fn replace_acls(&self, acls: BTreeSet<AclBinding>) {
        let next = Arc::new(Snapshot::build(acls));
        *self.snapshot.write() = next;
    }

    /// The ACLs in force.
    pub fn acls(&self) -> Arc<BTreeSet<AclBinding>> {
        self.snapshot.read().bindings.clone()
    }

    /// The ACLs in force that `filter` selects, in [`AclBinding`] order (Kafka's
    /// `Authorizer.acls(filter)`).
    pub fn describe(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        self.acls().iter().filter(|acl| filter.matches(acl)).cloned().collect()
    }

    /// The decision for `principal` connecting from `client_ip` (Kafka's
    /// `StandardAuthorizerData.authorize`).
    pub fn authorize_principal(
        &self,
        principal: &KafkaPrincipal,
        client_ip: IpAddr,
        op: AclOperation,
        resource: ResourceType,
        name: &str,
    ) -> bool {
        if self.super_users.contains(principal) {
            return true;
        }
        let snapshot = self.snapshot.read();
        let mut found = Found::default();
        let verdict = snapshot.for_each_pattern(resource, name, |entries| {
            found.resource_acls = true;
            entries.check(principal, client_ip, op, &mut found)
        });
        match verdict {
            ControlFlow::Break(Denied) => false,
            ControlFlow::Continue(()) if found.allowed => true,
            // Some ACL is about this resource, none allows: Kafka's DENY_RULE.
            ControlFlow::Continue(()) if found.resource_acls => false,
            ControlFlow::Continue(()) => self.allow_if_no_acl,
        }
    }
}

impl AclAuthorizer {
    /// Whether `principal` from `client_ip` may perform `op` on some resource of type
    /// `resource` (Kafka's default `Authorizer.authorizeByResourceType`): a name no ACL is
    /// likely to name is tried first, so super users and the no-ACL default pass; else some
    /// ALLOW for the principal (or `User:*`), the host and `op` (or ALL) that no DENY
    /// dominates: a DENY of the literal `*` denies all, a literal DENY its own name, a
    /// prefixed DENY every pattern starting with it.
    pub fn authorize_principal_any(
        &self,
        principal: &KafkaPrincipal,
        client_ip: IpAddr,
        op: AclOperation,
        resource: ResourceType,
    ) -> bool {
        if self.authorize_principal(principal, client_ip, op, resource, "hardcode") {
            return true;
        }
        let acls = self.acls();
        let mut deny_literal = std::collections::HashSet::new();
        let mut deny_prefixed = std::collections::HashSet::new();
        let mut allowed = Vec::new();
        for acl in acls.iter().filter(|acl| acl.resource_type == resource) {
            let for_principal = acl.principal == WILDCARD_PRINCIPAL
                || split_principal(&acl.principal)
                    .is_some_and(|(t, n)| t == principal.principal_type && n == principal.name);
            let for_op = matches!(acl.operation, AclOp::All) || acl.operation == AclOp::Only(op);
            if !for_principal || !for_op || !Host::parse(&acl.host).matches(client_ip) {
                continue;
            }
            match (acl.permission, acl.pattern_type) {
                (AclPermission::Deny, PatternType::Literal) if acl.resource_name == WILDCARD => return false,
                (AclPermission::Deny, PatternType::Literal) => {
                    deny_literal.insert(acl.resource_name.as_str());
                }
                (AclPermission::Deny, PatternType::Prefixed) => {
                    deny_prefixed.insert(acl.resource_name.as_str());
                }
                (AclPermission::Allow, PatternType::Literal) if acl.resource_name == WILDCARD => return true,
                (AclPermission::Allow, pattern) => allowed.push((pattern, acl.resource_name.as_str())),
            }
        }
        allowed.into_iter().any(|(pattern, name)| {
            let literal_denied = pattern == PatternType::Literal && deny_literal.contains(name);
            let prefix_denied = name.char_indices().any(|(i, c)| deny_prefixed.contains(&name[..i + c.len_utf8()]));
            !literal_denied && !prefix_denied
        })
    }
}

impl Authorizer for AclAuthorizer {
    fn authorize(&self, session: &Session, op: AclOperation, resource: ResourceType, name: &str) -> bool {
        self.authorize_principal(&session.principal(), client_ip(session), op, resource, name)
    }

    fn authorize_any(&self, session: &Session, op: AclOperation, resource: ResourceType) -> bool {
        self.authorize_principal_any(&session.principal(), client_ip(session), op, resource)
    }
}

/// Java hands Kafka an IPv4 client on a dual-stack socket as an Inet4Address, so its ACLs
/// name it `10.0.0.1`, not `::ffff:10.0.0.1`.
fn client_ip(session: &Session) -> IpAddr {
    session.peer.ip().to_canonical()
}

/// Kafka's `super.users` list: `;`-separated, trimmed, blanks skipped, each `Type:Name`.
pub fn parse_super_users(value: &str) -> Result<Vec<KafkaPrincipal>, String> {
    let mut users = Vec::new();
    for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (principal_type, name) = split_principal(entry)
            .ok_or_else(|| format!("expected a string in format principalType:principalName but got {entry}"))?;
        let user = KafkaPrincipal { principal_type: principal_type.into(), name: name.into() };
        if !users.contains(&user) {
            users.push(user);
        }
    }
    Ok(users)
}

/// A DENY that applies: the search stops.
struct Denied;

/// What the ACLs seen so far say.
#[derive(Default)]
struct Found {
    /// Some ACL's resource pattern matches (whoever it is for): the default rule is out.
    resource_acls: bool,
    /// Some ALLOW applies.
    allowed: bool,
}

/// One ACL's entry, parsed once when the snapshot is built.
struct Entry {
    host: Host,
    operation: AclOp,
    permission: AclPermission,
}

enum Host {
    Any,
    Ip(IpAddr),
    /// Not `*` and not an IP address (a host name): Kafka compares the entry with the
    /// client's address text, which is never a name, so it never applies.
    Never,
}

impl Host {
    /// Addresses compare as addresses: `::1` and Java's `0:0:0:0:0:0:0:1` name the same
    /// client (Kafka compares text, so only the latter would match there).
    fn parse(host: &str) -> Self {
        if host == WILDCARD {
            Host::Any
        } else {
            host.parse().map_or(Host::Never, Host::Ip)
        }
    }

    fn matches(&self, client_ip: IpAddr) -> bool {
        match self {
            Host::Any => true,
            Host::Ip(ip) => *ip == client_ip,
            Host::Never => false,
        }
    }
}

impl Entry {
    /// Kafka's `findResult` once principal and host match: ALL applies to every operation;
    /// an ALLOW of READ, WRITE, DELETE or ALTER also allows DESCRIBE, and of ALTER_CONFIGS
    /// DESCRIBE_CONFIGS; a DENY denies only its own operation.
    fn applies_to(&self, op: AclOperation) -> bool {
        use AclOperation::*;
        let AclOp::Only(granted) = self.operation else {
            return true;
        };
        granted == op
            || (self.permission == AclPermission::Allow
                && match op {
                    Describe => matches!(granted, Read | Write | Delete | Alter),
                    DescribeConfigs => granted == AlterConfigs,
                    _ => false,
                })
    }
}

/// The entries of one resource pattern, by principal type and name, so a check reads only
/// the principal's own and the wildcard's.
#[derive(Default)]
struct Entries(HashMap<String, HashMap<String, Vec<Entry>>>);

impl Entries {
    fn of(&self, principal_type: &str, name: &str) -> &[Entry] {
        self.0.get(principal_type).and_then(|names| names.get(name)).map(Vec::as_slice).unwrap_or_default()
    }

    fn check(
        &self,
        principal: &KafkaPrincipal,
        client_ip: IpAddr,
        op: AclOperation,
        found: &mut Found,
    ) -> ControlFlow<Denied> {
        let own = self.of(&principal.principal_type, &principal.name);
        // `User:*` (WILDCARD_PRINCIPAL) applies to every principal, whatever its type.
        let anyone = self.of("User", WILDCARD);
        for entry in own.iter().chain(anyone) {
            if !entry.host.matches(client_ip) || !entry.applies_to(op) {
                continue;
            }
            match entry.permission {
                AclPermission::Deny => return ControlFlow::Break(Denied),
                AclPermission::Allow => found.allowed = true,
            }
        }
        ControlFlow::Continue(())
    }
}

/// The ACLs in force, and indexes of them by resource pattern.
#[derive(Default)]
struct Snapshot {
    bindings: Arc<BTreeSet<AclBinding>>,
    /// LITERAL patterns (the wildcard `*` among them) by resource type and name.
    literal: HashMap<ResourceType, HashMap<String, Entries>>,
    /// PREFIXED patterns by resource type, sorted by prefix (byte order).
    prefixed: HashMap<ResourceType, Vec<(String, Entries)>>,
}

impl Snapshot {
    fn build(bindings: BTreeSet<AclBinding>) -> Self {
        let mut literal: HashMap<ResourceType, HashMap<String, Entries>> = HashMap::new();
        let mut prefixed: HashMap<ResourceType, HashMap<String, Entries>> = HashMap::new();
        for acl in &bindings {
            let by_name = match acl.pattern_type {
                PatternType::Literal => &mut literal,
                PatternType::Prefixed => &mut prefixed,
            };
            let entries = by_name.entry(acl.resource_type).or_default().entry(acl.resource_name.clone()).or_default();
            // Validated when created or loaded; one that still isn't `Type:Name` applies to
            // no principal, but its resource has ACLs all the same (the default rule is out).
            let Some((principal_type, principal_name)) = split_principal(&acl.principal) else {
                continue;
            };
            entries.0.entry(principal_type.into()).or_default().entry(principal_name.into()).or_default().push(Entry {
                host: Host::parse(&acl.host),
                operation: acl.operation,
                permission: acl.permission,
            });
        }
        let prefixed = prefixed
            .into_iter()
            .map(|(resource, patterns)| {
                let mut sorted: Vec<(String, Entries)> = patterns.into_iter().collect();
                sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                (resource, sorted)
            })
            .collect();
        Self { bindings: Arc::new(bindings), literal, prefixed }
    }

    /// Calls `f` with the entries of each pattern of `resource` that matches `name`: the
    /// literal name, the literal wildcard, then each prefix, until `f` breaks.
    fn for_each_pattern<'a>(
        &'a self,
        resource: ResourceType,
        name: &str,
        mut f: impl FnMut(&'a Entries) -> ControlFlow<Denied>,
    ) -> ControlFlow<Denied> {
        if let Some(literal) = self.literal.get(&resource) {
            if let Some(entries) = literal.get(name) {
                f(entries)?;
            }
            if let Some(entries) = literal.get(WILDCARD).filter(|_| name != WILDCARD) {
                f(entries)?;
            }
        }
        match self.prefixed.get(&resource) {
            Some(sorted) => for_each_prefix(sorted, name, f),
            None => ControlFlow::Continue(()),
        }
    }
}

/// Calls `f` for each pattern in `sorted` (sorted by byte order) that is a prefix of `name`,
/// longest first. Kafka's `checkSection` walk: every prefix of `name` sorts at or below it,
/// so walk down from the greatest pattern not above `name`; a pattern that diverges from
/// `name` at byte `i` means every prefix still to find is at most `name[..i]`, so jump to the
/// greatest pattern not above that. Each step finds a match or skips past a non-match.
fn for_each_prefix<'a>(
    sorted: &'a [(String, Entries)],
    name: &str,
    mut f: impl FnMut(&'a Entries) -> ControlFlow<Denied>,
) -> ControlFlow<Denied> {
    let name = name.as_bytes();
    let mut end = sorted.partition_point(|(p, _)| p.as_bytes() <= name);
    while end > 0 {
        let (pattern, entries) = &sorted[end - 1];
        let pattern = pattern.as_bytes();
        let common = pattern.iter().zip(name).take_while(|(a, b)| a == b).count();
        if common == pattern.len() {
            f(entries)?;
            end -= 1;
        } else {
            let bound = &name[..common];
            end = sorted[..end - 1].partition_point(|(p, _)| p.as_bytes() <= bound);
        }
    }
    ControlFlow::Continue(())
}
