//! SCRAM against RFC 7677's vector (server and [`ScramClient`]), round trips of the two, and
//! malformed input.

use super::*;

const RFC_SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
const RFC_CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const RFC_SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

fn b64(s: &str) -> Vec<u8> {
    base64_decode(&base64::alphabet::STANDARD, s).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pencil(mech: ScramMechanism) -> ScramCredential {
    ScramCredential::derive(mech, "pencil", &b64(RFC_SALT), 4096)
}

fn only_user(cred: ScramCredential) -> impl Fn(&str) -> Option<ScramCredential> {
    move |name| (name == "user").then(|| cred.clone())
}

fn continued(step: Step) -> String {
    match step {
        Step::Continue(b) => String::from_utf8(b).unwrap(),
        other => panic!("expected Continue, got {other:?}"),
    }
}

/// Runs `client` against a fresh server that knows `user`/pencil.
fn exchange(mech: ScramMechanism, mut client: ScramClient) -> Result<Step, SaslError> {
    let mut server = ScramServer::new(mech);
    let first = continued(server.step(&client.first_message(), only_user(pencil(mech)))?);
    let last = client.final_message(first.as_bytes()).unwrap();
    server.step(&last, |_| unreachable!("looked up once"))
}

#[test]
fn hi_is_pbkdf2_hmac() {
    // PBKDF2 vectors (RFC 7914 §11 style; checked against Python's hashlib.pbkdf2_hmac).
    let sha256 = ScramMechanism::Sha256.salted_password(b"password", b"salt", 4096);
    assert_eq!(hex(&sha256), "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
    let sha512 = ScramMechanism::Sha512.salted_password(b"password", b"salt", 1);
    assert_eq!(
        hex(&sha512),
        "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252\
         c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce"
    );
}

#[test]
fn rfc7677_sha256_vector() {
    let cred = pencil(ScramMechanism::Sha256);
    assert_eq!(base64_encode(&cred.stored_key), "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=");
    assert_eq!(base64_encode(&cred.server_key), "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
    let mut server = ScramServer::with_server_nonce(ScramMechanism::Sha256, RFC_SERVER_NONCE);
    let first = server.step(format!("n,,n=user,r={RFC_CLIENT_NONCE}").as_bytes(), only_user(cred)).unwrap();
    assert_eq!(continued(first), format!("r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},s={RFC_SALT},i=4096"));
    let last = format!("c=biws,r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    let done = server.step(last.as_bytes(), |_| None).unwrap();
    assert_eq!(
        done,
        Step::Done {
            principal: "user".into(),
            response: b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec(),
            expires_at_ms: None
        }
    );
    assert!(server.is_complete());
    assert!(matches!(server.step(b"again", |_| None), Err(SaslError::IllegalState(_))));
}

/// The client's half of RFC 7677's exchange: the same messages byte for byte.
#[test]
fn client_rfc7677_sha256_vector() {
    let mut client = ScramClient::with_nonce(ScramMechanism::Sha256, "user", "pencil", RFC_CLIENT_NONCE);
    assert_eq!(client.first_message(), format!("n,,n=user,r={RFC_CLIENT_NONCE}").into_bytes());
    let challenge = format!("r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},s={RFC_SALT},i=4096");
    let last = client.final_message(challenge.as_bytes()).unwrap();
    assert_eq!(
        String::from_utf8(last).unwrap(),
        format!("c=biws,r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    );
    assert_eq!(client.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), Ok(()));
    assert_eq!(
        client.verify_server_final(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
        Err("invalid server signature in the server's final message".into())
    );
    assert!(client.verify_server_final(b"e=invalid-proof").unwrap_err().contains("invalid-proof"));
    assert!(client.verify_server_final(b"garbage").unwrap_err().starts_with("malformed"));
}

#[test]
fn the_client_refuses_challenges_kafkas_client_refuses() {
    let client = || ScramClient::with_nonce(ScramMechanism::Sha512, "user", "pencil", "abc");
    assert!(client().verify_server_final(b"v=AAAA").is_err(), "nothing to check before the final message");
    for (challenge, why) in [
        ("r=xyzdef,s=c2FsdA==,i=4096", "does not extend the client nonce"),
        ("r=abc,s=c2FsdA==,i=4096", "does not extend the client nonce"),
        ("r=abcdef,s=c2FsdA==,i=4095", "less than the minimum 4096"),
        ("r=abcdef,s=c2FsdA==,i=2000000000", "more than the maximum 16384"),
        ("r=abcdef,s=!!,i=4096", "malformed"),
        ("r=abcdef,s=c2FsdA==", "malformed"),
        ("e=unknown-user", "the server refused: unknown-user"),
    ] {
        let err = client().final_message(challenge.as_bytes()).unwrap_err();
        assert!(err.contains(why), "{challenge}: {err}");
    }
    assert!(!format!("{:?}", client()).contains("pencil"), "Debug hides the password");
}

/// The RFC 7677 exchange with SHA-512, the expected bytes computed independently (Python's
/// hashlib and hmac).
#[test]
fn sha512_fixed_vector() {
    let mut server = ScramServer::with_server_nonce(ScramMechanism::Sha512, RFC_SERVER_NONCE);
    let first = continued(
        server
            .step(format!("n,,n=user,r={RFC_CLIENT_NONCE}").as_bytes(), only_user(pencil(ScramMechanism::Sha512)))
            .unwrap(),
    );
    assert_eq!(first, format!("r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},s={RFC_SALT},i=4096"));
    let last = format!(
        "c=biws,r={RFC_CLIENT_NONCE}{RFC_SERVER_NONCE},p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnz\
         MlTN8PPC6wdp6dybEmDYXYTxwnYPJQ=="
    );
    let Step::Done { principal, response, .. } = server.step(last.as_bytes(), |_| None).unwrap() else { panic!() };
    assert_eq!(principal, "user");
    assert_eq!(
        String::from_utf8(response).unwrap(),
        "v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw=="
    );
}

#[test]
fn round_trip_with_random_server_nonces_for_both_mechanisms() {
    for mech in ScramMechanism::ALL {
        let mut client = ScramClient::with_nonce(mech, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
        let mut server = ScramServer::new(mech);
        let first = continued(server.step(&client.first_message(), only_user(pencil(mech))).unwrap());
        let nonce = first.strip_prefix("r=fyko+d2lbbFgONRv9qkxdawL").unwrap().split(',').next().unwrap();
        assert_eq!(nonce.len(), 32, "{first}");
        assert!(nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b','));
        let last = client.final_message(first.as_bytes()).unwrap();
        let Step::Done { principal, response, expires_at_ms } = server.step(&last, |_| None).unwrap() else { panic!() };
        assert_eq!((principal.as_str(), expires_at_ms), ("user", None));
        assert_eq!(client.verify_server_final(&response), Ok(()), "the server proves it knows the credential");
    }
    let a = continued(
        ScramServer::new(ScramMechanism::Sha256)
            .step(b"n,,n=user,r=x", only_user(pencil(ScramMechanism::Sha256)))
            .unwrap(),
    );
    let b = continued(
        ScramServer::new(ScramMechanism::Sha256)
            .step(b"n,,n=user,r=x", only_user(pencil(ScramMechanism::Sha256)))
            .unwrap(),
    );
    assert_ne!(a, b, "each exchange has its own server nonce");
}

#[test]
fn wrong_password_is_an_invalid_proof() {
    for mech in ScramMechanism::ALL {
        let client = ScramClient::with_nonce(mech, "user", "pencil2", "abc");
        let err = exchange(mech, client).unwrap_err();
        assert_eq!(err, SaslError::Hidden("Invalid client credentials".into()));
        assert_eq!(
            err.client_message(mech.into(), false),
            format!(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism {mech}"
            )
        );
    }
}

#[test]
fn a_credential_for_the_other_mechanism_never_verifies() {
    let mut client = ScramClient::with_nonce(ScramMechanism::Sha256, "user", "pencil", "abc");
    let mut server = ScramServer::new(ScramMechanism::Sha256);
    let first = continued(server.step(&client.first_message(), only_user(pencil(ScramMechanism::Sha512))).unwrap());
    let last = client.final_message(first.as_bytes()).unwrap();
    assert_eq!(server.step(&last, |_| None).unwrap_err(), SaslError::Hidden("Invalid client credentials".into()));
}

/// The client-final-message librdkafka before 2.6.1 sends (librdkafka#4895): its client
/// nonce once more before the combined nonce, the proof computed over that message.
fn final_with_repeated_nonce(mech: ScramMechanism, client_nonce: &str, server_first: &str) -> (Vec<u8>, String) {
    let field = |p: &str| server_first.split(',').find_map(|f| f.strip_prefix(p)).unwrap().to_string();
    let (nonce, salt, iterations) = (field("r="), b64(&field("s=")), field("i=").parse().unwrap());
    let salted = mech.salted_password(b"pencil", &salt, iterations);
    let client_key = mech.hmac(&salted, b"Client Key");
    let without_proof = format!("c=biws,r={client_nonce}{nonce}");
    let auth = format!("n=user,r={client_nonce},{server_first},{without_proof}");
    let signature = mech.hmac(&mech.hash(&client_key), auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
    let server_signature = mech.hmac(&mech.hmac(&salted, b"Server Key"), auth.as_bytes());
    (
        format!("{without_proof},p={}", base64_encode(&proof)).into_bytes(),
        format!("v={}", base64_encode(&server_signature)),
    )
}

/// Kafka (3.8.1 on) accepts a final nonce that ends with the combined one, which old
/// librdkafka clients (kcat 1.7 from Debian) send: so does Brook, the proof still binds it.
#[test]
fn a_final_nonce_ending_with_the_combined_one_is_accepted() {
    let mech = ScramMechanism::Sha256;
    let client = ScramClient::with_nonce(mech, "user", "pencil", "abc");
    let mut server = ScramServer::new(mech);
    let first = continued(server.step(&client.first_message(), only_user(pencil(mech))).unwrap());
    let (last, verifier) = final_with_repeated_nonce(mech, "abc", &first);
    assert!(std::str::from_utf8(&last).unwrap().contains(",r=abcabc"));
    match server.step(&last, |_| None) {
        Ok(Step::Done { response, .. }) => assert_eq!(String::from_utf8(response).unwrap(), verifier),
        other => panic!("expected success, got {other:?}"),
    }
}

#[test]
fn the_final_nonce_must_end_with_the_combined_one() {
    let mech = ScramMechanism::Sha256;
    let mut client = ScramClient::with_nonce(mech, "user", "pencil", "abc");
    // Another nonce, and the combined one cut short.
    let tampers: [fn(&str) -> String; 2] = [|m| m.replace("r=abc", "r=abd"), |m| m.replacen("r=abc", "r=bc", 1)];
    for tamper in tampers {
        let mut server = ScramServer::new(mech);
        let first = continued(server.step(&client.first_message(), only_user(pencil(mech))).unwrap());
        let last = client.final_message(first.as_bytes()).unwrap();
        let last = tamper(std::str::from_utf8(&last).unwrap());
        assert_eq!(
            server.step(last.as_bytes(), |_| None).unwrap_err(),
            SaslError::Hidden("Invalid client nonce in the final client message.".into())
        );
        assert!(matches!(server.step(b"x", |_| None), Err(SaslError::IllegalState(m)) if m.ends_with("FAILED")));
    }
}

#[test]
fn unknown_users_fail_at_the_first_message_with_the_generic_message() {
    let mut server = ScramServer::new(ScramMechanism::Sha256);
    let err = server.step(b"n,,n=mallory,r=abc", only_user(pencil(ScramMechanism::Sha256))).unwrap_err();
    assert_eq!(err, SaslError::Hidden("Authentication failed: Invalid user credentials".into()));
    assert!(!err.client_message(super::super::Mechanism::ScramSha256, false).contains("mallory"));
}

#[test]
fn authzid_must_be_the_username_and_the_binding_must_repeat_the_header() {
    let mech = ScramMechanism::Sha256;
    let ok = || ScramClient::with_nonce(mech, "user", "pencil", "abc").with_authzid("user");
    assert!(matches!(exchange(mech, ok()), Ok(Step::Done { principal, .. }) if principal == "user"));

    let mut server = ScramServer::new(mech);
    assert_eq!(
        server.step(b"n,a=admin,n=user,r=abc", only_user(pencil(mech))).unwrap_err(),
        SaslError::Visible(
            "Authentication failed: Client requested an authorization id that is different from username".into()
        )
    );

    // `c=biws` ("n,,") after a header that named an authzid.
    let mut server = ScramServer::new(mech);
    let mut client = ok();
    let first = continued(server.step(&client.first_message(), only_user(pencil(mech))).unwrap());
    let last = client.final_message(first.as_bytes()).unwrap();
    let last = String::from_utf8(last).unwrap().replacen("c=bixhPXVzZXIs", "c=biws", 1);
    assert_eq!(
        server.step(last.as_bytes(), |_| None).unwrap_err(),
        SaslError::Hidden("Invalid channel binding in the final client message.".into())
    );
}

#[test]
fn usernames_are_saslnames() {
    assert_eq!(decode_saslname("a=2Cb=3Dc").unwrap(), "a,b=c");
    assert_eq!(encode_saslname("a,b=c"), "a=2Cb=3Dc");
    assert_eq!(decode_saslname("=3D2C").unwrap(), "=2C");
    assert_eq!(decode_saslname("δ").unwrap(), "δ");
    for bad in ["", "a=", "a=2", "a=41", "a=2c", "a\0b", "==2C"] {
        assert!(decode_saslname(bad).is_err(), "{bad:?}");
    }
    let mech = ScramMechanism::Sha512;
    let mut client = ScramClient::with_nonce(mech, "a,b=c", "pencil", "abc");
    let mut server = ScramServer::new(mech);
    let looked_up = std::cell::RefCell::new(String::new());
    let first = continued(
        server
            .step(&client.first_message(), |name| {
                *looked_up.borrow_mut() = name.to_string();
                Some(pencil(mech))
            })
            .unwrap(),
    );
    assert_eq!(*looked_up.borrow(), "a,b=c");
    let last = client.final_message(first.as_bytes()).unwrap();
    assert!(matches!(server.step(&last, |_| None), Ok(Step::Done { principal, .. }) if principal == "a,b=c"));
}

#[test]
fn extensions_are_ignored_but_delegation_tokens_are_refused() {
    let mech = ScramMechanism::Sha256;
    // An unknown extension is part of the AuthMessage and otherwise ignored.
    let client = ScramClient::with_nonce(mech, "user", "pencil", "abc")
        .with_extension("ext", "val1")
        .with_extension("tokenauth", "false");
    assert!(matches!(exchange(mech, client), Ok(Step::Done { .. })));

    for first in [
        "n,,n=user,r=abc,tokenauth=true",
        "n,,n=user,r=abc,tokenauth=TRUE",
        "n,,n=user,r=abc,tokenauth=false,tokenauth=true",
    ] {
        let err = ScramServer::new(mech).step(first.as_bytes(), only_user(pencil(mech))).unwrap_err();
        assert_eq!(err, SaslError::Hidden("Token Authentication failed: Invalid tokenId : user".into()), "{first}");
    }
    // The reserved `m=` Kafka accepts before the username.
    let mut server = ScramServer::new(mech);
    assert!(server.step(b"n,,m=reserved-value,n=user,r=abc", only_user(pencil(mech))).is_ok());
}

#[test]
fn too_few_iterations_are_refused_at_use() {
    let mech = ScramMechanism::Sha256;
    let weak = ScramCredential::derive(mech, "pencil", b"salt", 4095);
    let err = ScramServer::new(mech).step(b"n,,n=user,r=abc", only_user(weak)).unwrap_err();
    assert_eq!(err, SaslError::Hidden("Iterations 4095 is less than the minimum 4096 for SCRAM-SHA-256".into()));
}

#[test]
fn malformed_client_first_messages_are_refused() {
    let mech = ScramMechanism::Sha256;
    for bad in [
        &b""[..],
        b"n",
        b"n,",
        b"y,,n=user,r=abc",
        b"p=tls-unique,,n=user,r=abc",
        b"x,,n=user,r=abc",
        b"n,x=something,n=user,r=abc",
        b"n,,n=user",
        b"n,,r=abc,n=user",
        b"n,,n=,r=abc",
        b"n,,n=user,r=",
        b"n,,n=user,r=a b",
        b"n,,n=us=er,r=abc",
        b"n,,m,n=user,r=abc",
        b"n,,m=,n=user,r=abc",
        b"n,,m=name,value,n=user,r=abc",
        b"n,,n=user,r=abc,ext1=value",
        b"n,,n=user,r=abc,ext",
        b"n,,n=user,r=abc,ext=value1,value2",
        b"n,,n=user,r=abc,ext=,",
        b"n,,n=user,r=abc,ext =value",
        b"n,,n=user,r=abc\xff",
    ] {
        let err = ScramServer::new(mech).step(bad, |_| panic!("no lookup for {bad:?}")).unwrap_err();
        assert!(
            matches!(&err, SaslError::Hidden(m) if m.starts_with("Invalid SCRAM client first message format")),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn malformed_client_final_messages_are_refused() {
    let mech = ScramMechanism::Sha256;
    let nonce = format!("{RFC_CLIENT_NONCE}{RFC_SERVER_NONCE}");
    for bad in [
        String::new(),
        format!("c=biws,r={nonce}"),
        format!("c=biws,r={nonce},p=!!!!"),
        format!("c=ab!,r={nonce},p=dHzb"),
        format!("r={nonce},p=dHzb"),
        "c=biws,p=dHzb".to_string(),
        format!("c=biws,r={nonce},ext,p=dHzb"),
    ] {
        let mut server = ScramServer::with_server_nonce(mech, RFC_SERVER_NONCE);
        server.step(format!("n,,n=user,r={RFC_CLIENT_NONCE}").as_bytes(), only_user(pencil(mech))).unwrap();
        let err = server.step(bad.as_bytes(), |_| None).unwrap_err();
        assert!(
            matches!(&err, SaslError::Hidden(m) if m.starts_with("Invalid SCRAM client final message format")),
            "{bad:?}: {err:?}"
        );
    }
    // A proof of the wrong length is a bad proof, not a panic in the XOR.
    let mut server = ScramServer::with_server_nonce(mech, RFC_SERVER_NONCE);
    server.step(format!("n,,n=user,r={RFC_CLIENT_NONCE}").as_bytes(), only_user(pencil(mech))).unwrap();
    let short = format!("c=biws,r={nonce},p=dHzb");
    assert_eq!(
        server.step(short.as_bytes(), |_| None).unwrap_err(),
        SaslError::Hidden("Invalid client credentials".into())
    );
}

#[test]
fn credentials_do_not_print_their_keys() {
    let shown = format!("{:?}", pencil(ScramMechanism::Sha256));
    assert!(shown.contains("iterations: 4096") && shown.contains("[hidden]"), "{shown}");
    // The stored key starts with byte 88: a derived Debug would print `[88, ...`.
    assert!(!shown.contains("88"), "{shown}");
}

#[test]
fn mechanism_names_codes_and_lengths() {
    for mech in ScramMechanism::ALL {
        assert_eq!(ScramMechanism::from_name(mech.name()), Some(mech));
        assert_eq!(ScramMechanism::from_type_code(mech.type_code()), Some(mech));
        assert_eq!(pencil(mech).stored_key.len(), mech.hash_len());
    }
    assert_eq!(ScramMechanism::from_type_code(0), None, "Kafka's UNKNOWN");
    assert_eq!(ScramMechanism::from_type_code(3), None);
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any bytes as a first message: an error or a challenge, never a panic.
        #[test]
        fn any_first_message_is_answered(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let mech = ScramMechanism::Sha256;
            let _ = ScramServer::new(mech).step(&bytes, only_user(pencil_fast(mech)));
        }

        /// Messages shaped like client-first ones, so the parser's deeper branches run.
        #[test]
        fn any_shaped_first_message_is_answered(s in "[nyp](,|=)(a=[a-z=0-9C,D]{0,4})?,(m=[^,]{0,3},)?n=[a-z=23CD,\\x00]{0,6},r=[!-~]{0,6}(,[a-z ]{0,3}=[^,]{0,3}){0,2}") {
            let mech = ScramMechanism::Sha512;
            let _ = ScramServer::new(mech).step(s.as_bytes(), only_user(pencil_fast(mech)));
        }

        /// Any bytes, or any final-shaped text, after a good first message.
        #[test]
        fn any_final_message_is_answered(
            bytes in proptest::collection::vec(any::<u8>(), 0..160),
            shaped in "c=[a-zA-Z0-9+/=]{0,8},r=[!-~]{0,8}(,[a-z]{1,3}=[^,]{0,3})?(,p=[a-zA-Z0-9+/=]{0,90})?",
        ) {
            for msg in [bytes.as_slice(), shaped.as_bytes()] {
                let mech = ScramMechanism::Sha256;
                let mut server = ScramServer::new(mech);
                server.step(b"n,,n=user,r=abc", only_user(pencil_fast(mech))).unwrap();
                let done = matches!(server.step(msg, |_| None), Ok(Step::Done { .. }));
                prop_assert!(!done);
            }
        }
    }

    /// A credential at the minimum iterations, derived once (4096 rounds per case would
    /// dominate the run).
    fn pencil_fast(mech: ScramMechanism) -> ScramCredential {
        static CREDS: std::sync::OnceLock<[ScramCredential; 2]> = std::sync::OnceLock::new();
        CREDS.get_or_init(|| ScramMechanism::ALL.map(super::pencil))[mech as usize].clone()
    }
}
