//! SASL listeners with raw requests: PLAIN and SCRAM-SHA-256 exchanges (with Brook's SCRAM
//! client), Kafka's errors for unknown mechanisms and wrong passwords, the gate that serves an
//! unauthenticated client nothing but ApiVersions and the SASL requests, the failed
//! connection that serves nothing more, and SCRAM users managed with
//! AlterUserScramCredentials / DescribeUserScramCredentials, kept across a restart.

use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::*;

use brook::auth::sasl::scram::ScramClient;
use brook::auth::sasl::ScramMechanism;
use brook::config::listeners::resolve;

use crate::common::*;

const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const SASL_AUTHENTICATION_FAILED: i16 = 58;
const RESOURCE_NOT_FOUND: i16 = 91;
const UNACCEPTABLE_CREDENTIAL: i16 = 93;

fn sasl_config(c: &mut brook::config::BrokerConfig) {
    c.listeners = resolve(c.listen, "SASL_PLAINTEXT://127.0.0.1:0", "", "SASL_PLAINTEXT:SASL_PLAINTEXT").unwrap();
    c.sasl.plain_users = "alice:alice-secret".into();
}

async fn sasl_broker() -> TestBroker {
    TestBroker::start_with(sasl_config).await
}

async fn handshake(c: &mut Client, mechanism: &str) -> SaslHandshakeResponse {
    c.call(&SaslHandshakeRequest::default().with_mechanism(sb(mechanism)), 1).await
}

async fn authenticate(c: &mut Client, bytes: &[u8]) -> SaslAuthenticateResponse {
    c.call(&SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(bytes)), 2).await
}

/// A SCRAM-SHA-256 exchange as a client (Brook's own [`ScramClient`], which the unit tests hold
/// to RFC 7677's vector): the last SaslAuthenticate response, or the first that failed.
async fn scram(c: &mut Client, user: &str, password: &str) -> SaslAuthenticateResponse {
    assert_eq!(handshake(c, "SCRAM-SHA-256").await.error_code, 0);
    let mut client = ScramClient::with_nonce(ScramMechanism::Sha256, user, password, "rOprNGfwEbeRWgbNEkqO");
    let r = authenticate(c, &client.first_message()).await;
    if r.error_code != 0 {
        return r;
    }
    let proof = client.final_message(&r.auth_bytes).expect("a well-formed challenge");
    let r = authenticate(c, &proof).await;
    if r.error_code == 0 {
        client.verify_server_final(&r.auth_bytes).expect("the server's signature");
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_authenticates_and_the_gate_holds_until_then() {
    let b = sasl_broker().await;
    let mut c = b.client().await;
    // ApiVersions is allowed; anything else before authentication closes the connection.
    assert_eq!(c.call(&ApiVersionsRequest::default(), 0).await.error_code, 0);
    let h = handshake(&mut c, "GSSAPI").await;
    assert_eq!(h.error_code, UNSUPPORTED_SASL_MECHANISM);
    let names: Vec<&str> = h.mechanisms.iter().map(|m| m.as_str()).collect();
    assert_eq!(names, vec!["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    assert_eq!(handshake(&mut c, "PLAIN").await.error_code, 0);
    let ok = authenticate(&mut c, b"\0alice\0alice-secret").await;
    assert_eq!((ok.error_code, ok.session_lifetime_ms), (0, 0));
    create_topic(&mut c, "sasl-t", 1).await;
    produce_ok(&mut c, "sasl-t", 0, batch(&[b"authenticated"])).await;

    let mut early = b.client().await;
    early.send(&MetadataRequest::default().with_topics(None), 12).await;
    early.expect_closed().await;

    let mut wrong = b.client().await;
    assert_eq!(handshake(&mut wrong, "PLAIN").await.error_code, 0);
    let r = authenticate(&mut wrong, b"\0alice\0guess").await;
    assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED);
    assert_eq!(r.error_message.as_deref(), Some("Authentication failed: Invalid username or password"));
    // A failed connection serves nothing more, not even another attempt.
    wrong.send(&SaslHandshakeRequest::default().with_mechanism(sb("PLAIN")), 1).await;
    wrong.expect_closed().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_users_are_managed_and_authenticate_across_a_restart() {
    let mut b = sasl_broker().await;
    let mut c = b.client().await;
    assert_eq!(handshake(&mut c, "PLAIN").await.error_code, 0);
    assert_eq!(authenticate(&mut c, b"\0alice\0alice-secret").await.error_code, 0);
    let salt = b"0123456789abcdef".to_vec();
    let upsert = |user: &str, iterations: i32| {
        ScramCredentialUpsertion::default()
            .with_name(sb(user))
            .with_mechanism(1)
            .with_iterations(iterations)
            .with_salt(Bytes::from(salt.clone()))
            .with_salted_password(Bytes::from(ScramMechanism::Sha256.salted_password(
                b"bob-pw",
                &salt,
                iterations.max(1) as u32,
            )))
    };
    let req = AlterUserScramCredentialsRequest::default().with_upsertions(vec![upsert("bob", 4096), upsert("eve", 10)]);
    let r = c.call(&req, 0).await;
    let codes: Vec<(String, i16)> = r.results.iter().map(|x| (x.user.to_string(), x.error_code)).collect();
    assert_eq!(codes, vec![("bob".to_string(), 0), ("eve".to_string(), UNACCEPTABLE_CREDENTIAL)]);
    let d = c.call(&DescribeUserScramCredentialsRequest::default().with_users(None), 0).await;
    let users: Vec<(String, Vec<(i8, i32)>)> = d
        .results
        .iter()
        .map(|x| (x.user.to_string(), x.credential_infos.iter().map(|i| (i.mechanism, i.iterations)).collect()))
        .collect();
    assert_eq!(users, vec![("bob".to_string(), vec![(1, 4096)])]);

    let mut s = b.client().await;
    let r = scram(&mut s, "bob", "bob-pw").await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert!(String::from_utf8_lossy(&r.auth_bytes).starts_with("v="), "the server's signature");
    let mut bad = b.client().await;
    assert_eq!(scram(&mut bad, "bob", "not-it").await.error_code, SASL_AUTHENTICATION_FAILED);

    drop((c, s, bad));
    b.handle.take().expect("running").shutdown().await.expect("clean stop");
    b.start_again(sasl_config).await;
    let mut s = b.client().await;
    assert_eq!(scram(&mut s, "bob", "bob-pw").await.error_code, 0, "the credential is durable");
    let del = AlterUserScramCredentialsRequest::default().with_deletions(vec![
        ScramCredentialDeletion::default().with_name(sb("bob")).with_mechanism(1),
        ScramCredentialDeletion::default().with_name(sb("nobody")).with_mechanism(1),
    ]);
    let codes: Vec<i16> = s.call(&del, 0).await.results.iter().map(|x| x.error_code).collect();
    assert_eq!(codes, vec![0, RESOURCE_NOT_FOUND]);
    let mut gone = b.client().await;
    assert_eq!(scram(&mut gone, "bob", "bob-pw").await.error_code, SASL_AUTHENTICATION_FAILED);
    b.stop().await;
}
