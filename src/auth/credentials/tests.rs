//! The credential store: Kafka's alter and describe rules, persistence, damaged files.

use super::*;
use crate::auth::sasl::scram::ScramServer;
use crate::auth::sasl::Step;

const SHA256: ScramMechanism = ScramMechanism::Sha256;
const SHA512: ScramMechanism = ScramMechanism::Sha512;

fn salted(mech: ScramMechanism, password: &str) -> Vec<u8> {
    mech.salted_password(password.as_bytes(), b"salt", 4096)
}

fn upsert(user: &str, mechanism: i8, iterations: i32) -> CredentialChange {
    CredentialChange::Upsert {
        user: user.into(),
        mechanism,
        iterations,
        salt: b"salt".to_vec(),
        salted_password: salted(SHA256, "pw"),
    }
}

fn delete(user: &str, mechanism: i8) -> CredentialChange {
    CredentialChange::Delete { user: user.into(), mechanism }
}

/// A user and Ok, or the error's code and message, for compact assertions.
type Summary = (String, Result<(), (i16, String)>);

fn summary<T>(results: Vec<(String, Result<T, CredentialError>)>) -> Vec<Summary> {
    results.into_iter().map(|(u, r)| (u, r.map(|_| ()).map_err(|e| (e.code(), e.to_string())))).collect()
}

fn ok(user: &str) -> Summary {
    (user.into(), Ok(()))
}

fn err(user: &str, code: i16, message: &str) -> Summary {
    (user.into(), Err((code, message.into())))
}

#[test]
fn an_upserted_credential_logs_in_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    assert_eq!(store.get("alice", SHA256), None);
    store.upsert("alice", SHA512, b"salt", &salted(SHA512, "pencil"), 4096).unwrap();
    // The stored keys are the ones a derivation from the password gives.
    assert_eq!(store.get("alice", SHA512), Some(ScramCredential::derive(SHA512, "pencil", b"salt", 4096)));
    assert_eq!(store.get("alice", SHA256), None);

    let reopened = CredentialStore::open(dir.path()).unwrap();
    let cred = reopened.get("alice", SHA512).unwrap();
    let mut server = ScramServer::new(SHA512);
    let Step::Continue(first) = server.step(b"n,,n=alice,r=abc", |u| reopened.get(u, SHA512)).unwrap() else {
        panic!()
    };
    let first = String::from_utf8(first).unwrap();
    assert!(first.ends_with(&format!(",s={},i=4096", base64_encode(b"salt"))), "{first}");
    assert_eq!(cred.iterations, 4096);

    let text = std::fs::read_to_string(dir.path().join(SCRAM_CREDENTIALS_FILE)).unwrap();
    assert!(text.contains("\"SCRAM-SHA-512\"") && text.contains("\"version\": 1"), "{text}");
    assert!(!text.contains(&base64_encode(&salted(SHA512, "pencil"))), "the salted password is not kept");
}

#[test]
fn deletes_remove_one_mechanism_and_then_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    store.upsert("bob", SHA256, b"s", &salted(SHA256, "pw"), 8192).unwrap();
    store.upsert("bob", SHA512, b"s", &salted(SHA512, "pw"), 4096).unwrap();
    store.delete("bob", SHA256).unwrap();
    assert_eq!(summary(store.describe(Some(&["bob".into()]))), vec![ok("bob")], "bob keeps SCRAM-SHA-512");
    store.delete("bob", SHA512).unwrap();
    assert_eq!(summary(store.describe(None)), vec![], "a user without credentials is gone");
    let e = store.delete("bob", SHA512).unwrap_err();
    assert_eq!((e.code(), e.to_string()), (91, "Attempt to delete a user credential that does not exist".into()));
    assert!(CredentialStore::open(dir.path()).unwrap().describe(None).is_empty());
}

#[test]
fn alter_checks_each_change_as_kafka_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    let results = store.alter(&[
        delete("ghost", 1),
        delete("", 1),
        upsert("a", 1, 4096),
        upsert("b", 2, 16384),
        upsert("low", 1, 4095),
        upsert("high", 1, 16385),
        upsert("neg", 1, -1),
        upsert("unknown", 0, 4096),
        upsert("unknown3", 3, 4096),
        upsert("twice", 1, 4096),
        upsert("twice", 2, 4096),
        upsert("bad-then-dup", 1, 1),
        upsert("bad-then-dup", 1, 4096),
    ]);
    assert_eq!(
        summary(results),
        vec![
            err("ghost", 91, "Attempt to delete a user credential that does not exist"),
            err("", 93, "Username must not be empty"),
            ok("a"),
            ok("b"),
            err("low", 93, "Too few iterations"),
            err("high", 93, "Too many iterations"),
            err("neg", 93, "Too few iterations"),
            err("unknown", 33, "Unknown SCRAM mechanism"),
            err("unknown3", 33, "Unknown SCRAM mechanism"),
            err("twice", 92, "A user credential cannot be altered twice in the same request"),
            err("bad-then-dup", 93, "Too few iterations"),
        ]
    );
    assert!(store.get("a", SHA256).is_some() && store.get("b", SHA512).is_some());
    assert!(store.get("twice", SHA256).is_none(), "neither of a duplicate's changes applies");
    assert!(store.alter(&[]).is_empty());
}

#[test]
fn describe_answers_mechanisms_and_iterations_never_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    store.upsert("carol", SHA512, b"s", &salted(SHA512, "pw"), 5000).unwrap();
    store.upsert("carol", SHA256, b"s", &salted(SHA256, "pw"), 4096).unwrap();
    store.upsert("alice", SHA256, b"s", &salted(SHA256, "pw"), 4096).unwrap();

    let all = store.describe(Some(&[]));
    assert_eq!(all.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(), ["alice", "carol"]);
    let carol = all[1].1.as_ref().unwrap();
    assert_eq!(
        carol,
        &vec![
            CredentialInfo { mechanism: SHA256, iterations: 4096 },
            CredentialInfo { mechanism: SHA512, iterations: 5000 }
        ]
    );

    let asked = ["carol", "nobody", "alice", "carol"].map(String::from);
    assert_eq!(
        summary(store.describe(Some(&asked))),
        vec![
            err("carol", 92, "Cannot describe SCRAM credentials for the same user twice in a single request: carol"),
            err("nobody", 91, "Attempt to describe a user credential that does not exist: nobody"),
            ok("alice"),
        ]
    );
}

#[test]
fn upsert_credential_stores_a_derived_credential_with_the_same_checks() {
    let dir = tempfile::tempdir().unwrap();
    let store = CredentialStore::open(dir.path()).unwrap();
    let cred = ScramCredential::derive(SHA256, "pw", b"salt", 4096);
    store.upsert_credential("dave", SHA256, cred.clone()).unwrap();
    assert_eq!(CredentialStore::open(dir.path()).unwrap().get("dave", SHA256), Some(cred));
    let weak = ScramCredential::derive(SHA256, "pw", b"salt", 1);
    assert_eq!(store.upsert_credential("dave", SHA256, weak).unwrap_err().to_string(), "Too few iterations");
    assert_eq!(
        store.upsert_credential("", SHA256, ScramCredential::derive(SHA256, "pw", b"s", 4096)).unwrap_err().code(),
        93
    );
}

#[test]
fn a_failed_write_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let store = CredentialStore::open(&data).unwrap();
    store.upsert("erin", SHA256, b"s", &salted(SHA256, "pw"), 4096).unwrap();
    std::fs::remove_dir_all(&data).unwrap();
    let results = store.alter(&[upsert("frank", 1, 4096), upsert("bad", 1, 1)]);
    let (user, result) = &results[0];
    assert_eq!(user, "frank");
    assert!(matches!(result, Err(CredentialError::Storage(_))), "{result:?}");
    assert_eq!(results[0].1.as_ref().unwrap_err().code(), 56, "KAFKA_STORAGE_ERROR");
    assert!(matches!(results[1].1, Err(CredentialError::Unacceptable(_))));
    assert!(store.get("frank", SHA256).is_none());
    assert!(store.get("erin", SHA256).is_some());
}

#[test]
fn a_damaged_file_is_a_clear_error() {
    let cred = ScramCredential::derive(SHA256, "pw", b"salt", 4096);
    let key = base64_encode(&cred.stored_key);
    let good_entry = |iterations: u32, stored_key: &str| {
        format!(
            r#"{{"version":1,"users":{{"u":{{"SCRAM-SHA-256":{{"salt":"c2FsdA==","stored_key":"{stored_key}","server_key":"{key}","iterations":{iterations}}}}}}}}}"#
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SCRAM_CREDENTIALS_FILE);
    std::fs::write(&path, good_entry(4096, &key)).unwrap();
    assert!(CredentialStore::open(dir.path()).unwrap().get("u", SHA256).is_some());

    for (text, why) in [
        ("{\"version\":1,\"users\":{".to_string(), "not a SCRAM credentials file"),
        ("".to_string(), "not a SCRAM credentials file"),
        (r#"{"version":2,"users":{}}"#.to_string(), "version 2 is not one this Brook reads"),
        (good_entry(4096, &key).replace("SCRAM-SHA-256", "SCRAM-SHA-1"), "unknown mechanism SCRAM-SHA-1"),
        (good_entry(4096, "AAAA"), "stored_key is damaged"),
        (good_entry(4096, "!!"), "stored_key is damaged"),
        (good_entry(4096, &key).replace("c2FsdA==", "#"), "salt is damaged"),
        (good_entry(1, &key), "iterations is damaged"),
        (good_entry(4096, &key).replace("\"u\"", "\"\""), "a user with an empty name"),
        (good_entry(4096, &key).replace("\"iterations\"", "\"extra\":1,\"iterations\""), "unknown field"),
    ] {
        std::fs::write(&path, &text).unwrap();
        let e = CredentialStore::open(dir.path()).err().unwrap_or_else(|| panic!("{text} opened"));
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        let message = e.to_string();
        assert!(message.contains(SCRAM_CREDENTIALS_FILE) && message.contains(why), "{message}");
    }
}

#[test]
fn the_store_is_shared_between_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(CredentialStore::open(dir.path()).unwrap());
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                store.upsert(&format!("user{i}"), SHA256, b"s", &salted(SHA256, "pw"), 4096).unwrap();
                store.get(&format!("user{i}"), SHA256).is_some()
            })
        })
        .collect();
    assert!(workers.into_iter().all(|w| w.join().unwrap()));
    assert_eq!(CredentialStore::open(dir.path()).unwrap().describe(None).len(), 4);
}
