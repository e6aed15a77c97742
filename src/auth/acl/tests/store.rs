//! The store: CreateAcls, DeleteAcls and DescribeAcls against `acls.json`, across restarts.

use std::sync::Arc;

use super::*;
use crate::auth::acl::{AclBindingFilter, AclError, AclStore, PatternTypeFilter, ACLS_FILE, MAX_CHANGES_PER_REQUEST};
use crate::auth::Authorizer;
use crate::error::ErrorCode;
use AclOperation::*;
use ResourceType::{Group, Topic};

fn open(dir: &std::path::Path) -> AclStore {
    let authorizer = Arc::new(AclAuthorizer::from_settings("User:admin", false).expect("settings"));
    AclStore::open(dir, authorizer).expect("open")
}

fn read_alice() -> AclBinding {
    acl(Topic, "orders", Literal, "User:alice", "*", op(Read), Allow)
}

fn deny_bob() -> AclBinding {
    acl(Topic, "ord", Prefixed, "User:bob", "10.0.0.1", AclOp::All, Deny)
}

#[test]
fn a_missing_file_is_no_acls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    assert!(store.describe(&AclBindingFilter::any()).is_empty());
    assert!(!dir.path().join(ACLS_FILE).exists(), "nothing written until a change");
}

#[test]
fn created_acls_are_in_force_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let alice = session("alice");
    assert!(!store.authorizer().authorize(&alice, Read, Topic, "orders"));
    let results = store.create(vec![read_alice(), deny_bob()]);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(store.authorizer().authorize(&alice, Read, Topic, "orders"));
    assert!(store.authorizer().authorize(&alice, Describe, Topic, "orders"));
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.describe(&AclBindingFilter::any()), [deny_bob(), read_alice()]);
    assert!(store.authorizer().authorize(&alice, Read, Topic, "orders"));
    assert!(!store.authorizer().authorize(&session_from("bob", "10.0.0.1"), Read, Topic, "orders"));
    assert!(!dir.path().join("acls.tmp").exists(), "no temp file left");
}

/// Kafka's `existingAcls.add`: creating an ACL that exists succeeds and changes nothing.
#[test]
fn creating_an_existing_acl_succeeds_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    assert!(store.create(vec![read_alice(), read_alice()]).iter().all(Result::is_ok));
    assert!(store.create(vec![read_alice()]).iter().all(Result::is_ok));
    assert_eq!(store.describe(&AclBindingFilter::any()), [read_alice()]);
}

/// Each creation has its own result: a bad one fails alone.
#[test]
fn an_invalid_acl_fails_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let nameless = acl(Topic, "", Literal, "User:alice", "*", op(Read), Allow);
    let no_type = acl(Group, "g", Literal, "alice", "*", op(Read), Allow);
    let results = store.create(vec![nameless, read_alice(), no_type]);
    assert!(matches!(&results[0], Err(e @ AclError::InvalidRequest(_)) if e.code() == 42), "{results:?}");
    assert!(results[1].is_ok());
    assert!(matches!(&results[2], Err(AclError::InvalidRequest(m)) if m.contains("principalType:principalName")));
    assert_eq!(store.describe(&AclBindingFilter::any()), [read_alice()]);
}

/// testDeleteDedupe: each filter reports what it matched, even one an earlier filter in the
/// same request matched too; all is removed at once, durably.
#[test]
fn delete_reports_per_filter_and_removes_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let group = acl(Group, "g", Literal, "User:*", "*", op(Read), Allow);
    assert!(store.create(vec![read_alice(), deny_bob(), group.clone()]).iter().all(Result::is_ok));
    let denies = AclBindingFilter { permission: Some(Deny), ..AclBindingFilter::any() };
    let none = AclBindingFilter { principal: Some("User:nobody".into()), ..AclBindingFilter::any() };
    let results = store.delete(&[deny_bob().to_filter(), denies, none]);
    let deleted: Vec<Vec<AclBinding>> = results.into_iter().map(|r| r.expect("deleted")).collect();
    assert_eq!(deleted, [vec![deny_bob()], vec![deny_bob()], vec![]]);
    assert_eq!(store.describe(&AclBindingFilter::any()), [read_alice(), group.clone()]);
    // A filter that matches nothing changes nothing; MATCH finds the ACLs for a name.
    let for_orders = AclBindingFilter {
        resource_type: Some(Topic),
        resource_name: Some("orders".into()),
        pattern_type: PatternTypeFilter::Match,
        ..AclBindingFilter::any()
    };
    assert_eq!(
        store.delete(&[for_orders]).into_iter().map(|r| r.expect("ok")).collect::<Vec<_>>(),
        [vec![read_alice()]]
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.describe(&AclBindingFilter::any()), [group]);
}

/// DescribeAcls answers from the ACLs in force, filtered.
#[test]
fn describe_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    assert!(store.create(vec![read_alice(), deny_bob()]).iter().all(Result::is_ok));
    let prefixed = AclBindingFilter { pattern_type: PatternTypeFilter::Is(Prefixed), ..AclBindingFilter::any() };
    assert_eq!(store.describe(&prefixed), [deny_bob()]);
    let by_host = AclBindingFilter { host: Some("*".into()), ..AclBindingFilter::any() };
    assert_eq!(store.describe(&by_host), [read_alice()]);
    let for_name = AclBindingFilter {
        resource_name: Some("orders-eu".into()),
        pattern_type: PatternTypeFilter::Match,
        ..AclBindingFilter::any()
    };
    assert_eq!(store.describe(&for_name), [deny_bob()]);
}

/// A failed write changes nothing, on disk or in force, and says so per ACL.
#[test]
fn a_failed_write_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    let store = open(&data);
    assert!(store.create(vec![read_alice()]).iter().all(Result::is_ok));
    std::fs::remove_dir_all(&data).expect("rm");
    let results = store.create(vec![deny_bob()]);
    assert!(matches!(&results[0], Err(e @ AclError::Storage(_)) if e.code() == 56), "{results:?}");
    let results = store.delete(&[AclBindingFilter::any()]);
    assert!(matches!(&results[0], Err(AclError::Storage(_))), "{results:?}");
    assert_eq!(store.describe(&AclBindingFilter::any()), [read_alice()]);
    assert!(store.authorizer().authorize(&session("alice"), Read, Topic, "orders"));
}

/// Kafka's controller takes at most 10000 changes per request.
#[test]
fn a_request_changes_at_most_ten_thousand_acls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let many = |n: usize| -> Vec<AclBinding> {
        (0..n).map(|i| acl(Topic, &format!("t{i}"), Literal, "User:a", "*", op(Read), Allow)).collect()
    };
    let results = store.create(many(MAX_CHANGES_PER_REQUEST + 1));
    assert!(results.iter().all(|r| matches!(r, Err(AclError::TooManyChanges(_)))));
    assert!(store.describe(&AclBindingFilter::any()).is_empty());
    assert!(store.create(many(MAX_CHANGES_PER_REQUEST)).iter().all(Result::is_ok));
    assert!(store.create(vec![read_alice()]).iter().all(Result::is_ok));
    let results = store.delete(&[AclBindingFilter::any()]);
    assert!(matches!(&results[0], Err(AclError::TooManyChanges(m)) if m.contains("10000")), "{:?}", results[0]);
    assert_eq!(store.describe(&AclBindingFilter::any()).len(), MAX_CHANGES_PER_REQUEST + 1);
}

fn open_err(content: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(ACLS_FILE), content).expect("write");
    let authorizer = Arc::new(AclAuthorizer::from_settings("", false).expect("settings"));
    match AclStore::open(dir.path(), authorizer) {
        Ok(_) => panic!("opened {content}"),
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
            e.to_string()
        }
    }
}

/// A damaged file fails the start with a clear error (and no panic): serving with some ACLs
/// dropped could allow what a dropped DENY denied.
#[test]
fn a_damaged_file_fails_the_start_clearly() {
    let entry = |field: &str, value: &str| {
        let mut acl = serde_json::json!({
            "resource_type": "TOPIC", "resource_name": "t", "pattern_type": "LITERAL",
            "principal": "User:a", "host": "*", "operation": "READ", "permission": "ALLOW"
        });
        acl[field] = serde_json::Value::String(value.into());
        serde_json::json!({ "version": 1, "acls": [acl] }).to_string()
    };
    assert!(open_err("{\"version\": 1, \"acls\": [").contains("acls.json"));
    assert!(open_err("").contains("acls.json"));
    assert!(open_err("\u{0}\u{1}binary").contains("acls.json"));
    assert!(open_err(&entry("operation", "READ_ALL")).contains("ACL 0: unknown operation \"READ_ALL\""));
    assert!(open_err(&entry("resource_type", "ANY")).contains("unknown resource type"));
    assert!(open_err(&entry("pattern_type", "MATCH")).contains("unknown pattern type"));
    assert!(open_err(&entry("permission", "MAYBE")).contains("unknown permission"));
    assert!(open_err(&entry("principal", "alice")).contains("principalType:principalName"));
    assert!(open_err(&entry("resource_name", "")).contains("empty resource name"));
    assert!(open_err("{\"version\": 2, \"acls\": []}").contains("newer Brook"));
    // The file Brook writes reads back.
    let ok = entry("host", "10.0.0.1");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(ACLS_FILE), ok).expect("write");
    assert_eq!(open(dir.path()).describe(&AclBindingFilter::any()).len(), 1);
}
