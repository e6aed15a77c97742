//! OAUTHBEARER: Kafka's initial-response examples, unsecured token checks, the two-step
//! failure, and arbitrary input.

use base64::Engine as _;
use proptest::prelude::*;

use super::*;

/// 2026-01-01T00:00:00Z.
const NOW_MS: i64 = 1_767_225_600_000;
const NOW_S: i64 = NOW_MS / 1000;

fn b64url(json: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// An unsecured JWS as Kafka's `OAuthBearerUnsecuredLoginCallbackHandler` builds one.
fn jws(claims: &str) -> String {
    format!("{}.{}.", b64url(r#"{"alg":"none"}"#), b64url(claims))
}

fn initial(token: &str) -> Vec<u8> {
    format!("n,,\x01auth=Bearer {token}\x01\x01").into_bytes()
}

fn validate(claims: &str) -> Result<UnsecuredToken, TokenError> {
    UnsecuredValidator::default().validate(&jws(claims), NOW_MS)
}

fn refused(claims: &str) -> String {
    validate(claims).unwrap_err().description
}

#[test]
fn kafkas_initial_response_examples_parse() {
    let r = ClientInitialResponse::parse(b"n,,\x01auth=Bearer 123.345.567\x01nineteen=42\x01\x01").unwrap();
    assert_eq!((r.authzid.as_str(), r.token.as_str()), ("", "123.345.567"));
    assert_eq!(r.extensions, BTreeMap::from([("nineteen".to_string(), "42".to_string())]));

    let r = ClientInitialResponse::parse(b"n,a=myuser,\x01auth=Bearer 345\x01\x01").unwrap();
    assert_eq!((r.authzid.as_str(), r.token.as_str()), ("myuser", "345"));

    let r = ClientInitialResponse::parse(b"n,,\x01propA=valueA1, valueA2\x01auth=Bearer 567\x01propB=valueB\x01\x01")
        .unwrap();
    assert_eq!(r.token, "567");
    assert_eq!(r.extensions["propA"], "valueA1, valueA2");
    assert_eq!(r.extensions["propB"], "valueB");

    // RFC 7628 §4.1, and RFC 6750's token characters with padding.
    let r = ClientInitialResponse::parse(
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF-9.df_t4qm~Tc2Nvb3RlckBhbHR+hdmlzdGEuY29/tCg==\x01\x01",
    )
    .unwrap();
    assert_eq!(r.authzid, "user@example.com");
    assert_eq!(r.token, "vF-9.df_t4qm~Tc2Nvb3RlckBhbHR+hdmlzdGEuY29/tCg==");
    assert_eq!(r.extensions.len(), 2);

    let r = ClientInitialResponse::parse(b"n,,\x01auth=bearer   tok\x01\x01").unwrap();
    assert_eq!(r.token, "tok", "scheme case-insensitive, spaces before the token");
}

#[test]
fn malformed_initial_responses_are_refused_without_detail_for_the_client() {
    let invalid = "Invalid OAUTHBEARER client first message";
    for (bad, message) in [
        (&b""[..], invalid.to_string()),
        (b"\x01", invalid.into()),
        (b"y,,\x01auth=Bearer t\x01\x01", invalid.into()),
        (b"n,x=y,\x01auth=Bearer t\x01\x01", invalid.into()),
        (b"n,,auth=Bearer t\x01\x01", invalid.into()),
        (b"n,,\x01auth=Bearer t\x01", invalid.into()),
        (b"n,,\x01auth=Bearer t", invalid.into()),
        (b"n,,\x01ke1=v\x01auth=Bearer t\x01\x01", invalid.into()),
        (b"n,,\x01k=\x01auth=Bearer t\x01\x01", invalid.into()),
        (b"n,,\x01k=v\xc3\xa9\x01auth=Bearer t\x01\x01", invalid.into()),
        (b"n,,\x01auth=Bearer t\xff\x01\x01", invalid.into()),
        (b"n,,\x01\x01", format!("{invalid}: 'auth' not specified")),
        (b"n,,\x01host=h\x01\x01", format!("{invalid}: 'auth' not specified")),
        (b"n,,\x01auth=Bearer\x01\x01", format!("{invalid}: invalid 'auth' format")),
        (b"n,,\x01auth=Bearer a,b\x01\x01", format!("{invalid}: invalid 'auth' format")),
        (b"n,,\x01auth=Bearer ==\x01\x01", format!("{invalid}: invalid 'auth' format")),
        (b"n,,\x01auth=Basic dXNlcg==\x01\x01", "Invalid scheme in OAUTHBEARER client first message: Basic".into()),
    ] {
        assert_eq!(ClientInitialResponse::parse(bad), Err(SaslError::Hidden(message)), "{bad:?}");
    }
}

#[test]
fn a_good_token_names_the_principal_and_its_expiry() {
    let t =
        validate(&format!(r#"{{"sub":"alice","exp":{},"iat":{NOW_S},"scope":["a"," b ",""]}}"#, NOW_S + 3600)).unwrap();
    assert_eq!(t.principal, "alice");
    assert_eq!(t.lifetime_ms, NOW_MS + 3_600_000);
    assert_eq!(t.start_time_ms, Some(NOW_MS));
    assert_eq!(t.scope, BTreeSet::from(["a".to_string(), "b".to_string()]));

    // Fractional seconds, rounded as Java's Math.round; iat is optional; a scope string is
    // one scope.
    let t = validate(&format!(r#"{{"sub":"bob","exp":{NOW_S}.002,"scope":" x y "}}"#)).unwrap();
    assert_eq!((t.lifetime_ms, t.start_time_ms), (NOW_MS + 2, None));
    assert_eq!(t.scope, BTreeSet::from(["x y".to_string()]));

    let mut server = OAuthBearerServer::new();
    let step =
        server.step(&initial(&jws(&format!(r#"{{"sub":"alice","exp":{}}}"#, NOW_S + 60))), &Default::default(), NOW_MS);
    assert_eq!(
        step,
        Ok(Step::Done { principal: "alice".into(), response: vec![], expires_at_ms: Some(NOW_MS + 60_000) })
    );
    assert!(matches!(server.step(b"\x01", &Default::default(), NOW_MS), Err(SaslError::IllegalState(_))));
}

#[test]
fn the_principal_claim_and_clock_skew_are_configurable() {
    let v = UnsecuredValidator::new(" upn ", "", "", 5_000).unwrap();
    let token = jws(&format!(r#"{{"upn":"carol","sub":"ignored","exp":{}}}"#, NOW_S));
    assert_eq!(v.validate(&token, NOW_MS - 1).unwrap().principal, "carol");
    assert_eq!(v.validate(&token, NOW_MS + 4_999).unwrap().principal, "carol", "within the skew");
    assert!(v.validate(&token, NOW_MS + 5_000).is_err(), "on or after exp + skew");
    assert_eq!(UnsecuredValidator::new("", " ", "", 0).unwrap(), UnsecuredValidator::default());
    assert_eq!(
        UnsecuredValidator::new("sub", "scope", "", -1).unwrap_err(),
        "Allowable clock skew millis must not be negative: -1"
    );
    assert_eq!(UnsecuredValidator::new("sub", "scope", "ok bad\"", 0).unwrap_err(), "Invalid scope value: bad\"");
}

#[test]
fn token_checks_follow_kafkas_unsecured_validator() {
    let exp = NOW_S + 60;
    let none = b64url(r#"{"alg":"none"}"#);
    let claims = b64url(&format!(r#"{{"sub":"a","exp":{exp}}}"#));
    let v = UnsecuredValidator::default();
    let check = |token: String| v.validate(&token, NOW_MS).unwrap_err().description;

    assert_eq!(check(format!("{none}..")), "Malformed compact serialization contains '..'");
    for token in [none.clone(), format!("{none}.{claims}"), format!("{none}.{claims}.x.")] {
        assert!(check(token).starts_with("Unsecured JWS compact serializations must have 3"));
    }
    assert_eq!(check(format!("{none}.{claims}.sig")), "Unsecured JWS must not contain a digital signature");
    assert_eq!(
        check(format!("{}.{claims}.", b64url(r#"{"alg":"HS256"}"#))),
        "Unsecured JWS must have 'none' for an algorithm"
    );
    assert_eq!(check(format!("{}.{claims}.", b64url(r#"{"typ":"JWT"}"#))), "JWS header must have an Algorithm value");
    assert_eq!(check(format!("{}.{claims}.", b64url("[1]"))), "JWS header must have an Algorithm value");
    assert_eq!(check(format!("{none}.e30!.")), "malformed Base64 URL encoded value");
    assert_eq!(check(format!("{none}.{}.", b64url("{not json"))), "malformed JSON");

    assert_eq!(refused(r#"{"sub":"a"}"#), "No expiration time in JWT");
    assert_eq!(refused(r#"{"sub":"a","exp":"soon"}"#), "The 'exp' claim was not of type Number: String");
    assert_eq!(refused(&format!(r#"{{"exp":{exp}}}"#)), "No principal name in JWT claim: sub");
    assert_eq!(refused(&format!(r#"{{"sub":"  ","exp":{exp}}}"#)), "No principal name in JWT claim: sub");
    assert_eq!(refused(&format!(r#"{{"sub":7,"exp":{exp}}}"#)), "The 'sub' claim was not of type String: Integer");
    assert_eq!(
        refused(&format!(r#"{{"sub":["a"],"exp":{exp}}}"#)),
        "The 'sub' claim was not of type String: ArrayList"
    );
    assert_eq!(
        refused(&format!(r#"{{"sub":"a","exp":{exp},"iat":"x"}}"#)),
        "The 'iat' claim was not of type Number: String"
    );
    assert_eq!(
        refused(&format!(r#"{{"sub":"a","exp":{exp},"scope":1.5}}"#)),
        "The 'scope' claim was not of type List: Double"
    );
    // Jackson's asText: a boolean subject is the string "true".
    assert_eq!(validate(&format!(r#"{{"sub":true,"exp":{exp}}}"#)).unwrap().principal, "true");

    assert_eq!(
        refused(&format!(r#"{{"sub":"a","exp":{NOW_S}}}"#)),
        format!(
            "The indicated time ({NOW_MS} ms) minus allowable clock skew (0 ms) was on or after the Expiration Time \
             value ({NOW_S}.000000 seconds)"
        )
    );
    assert_eq!(
        refused(&format!(r#"{{"sub":"a","exp":{exp},"iat":{}}}"#, NOW_S + 1)),
        format!(
            "The Issued At value ({}.000000 seconds) was after the indicated time ({NOW_MS} ms) plus allowable clock \
             skew (0 ms)",
            NOW_S + 1
        )
    );
    assert!(refused(&format!(r#"{{"sub":"a","exp":{0},"iat":{0}}}"#, NOW_S - 10)).starts_with("The indicated time"));
    let v = UnsecuredValidator::new("", "", "", 60_000).unwrap();
    let t = jws(&format!(r#"{{"sub":"a","exp":{0},"iat":{0}}}"#, NOW_S));
    assert_eq!(
        v.validate(&t, NOW_MS).unwrap_err().description,
        format!("The Expiration Time time ({NOW_S}.000000 seconds) was not after the Issued At time ({NOW_S}.000000 seconds)")
    );
}

#[test]
fn a_missing_required_scope_is_insufficient_scope() {
    let v = UnsecuredValidator::new("", "", " write  read ", 0).unwrap();
    let err = v.validate(&jws(&format!(r#"{{"sub":"a","exp":{},"scope":["read"]}}"#, NOW_S + 60)), NOW_MS).unwrap_err();
    assert_eq!(err.status(), "insufficient_scope");
    assert_eq!(err.json(), r#"{"status":"insufficient_scope", "scope":"[write, read]"}"#);
    assert_eq!(
        err.description,
        "The provided scope ([read]) was missing a required scope (write).  All required scope elements: [write, read]"
    );
    let ok = jws(&format!(r#"{{"sub":"a","exp":{},"scope":["read","write","x"]}}"#, NOW_S + 60));
    assert!(v.validate(&ok, NOW_MS).is_ok());
}

/// Kafka's two-step failure: the JSON challenge, then the client's `\x01`, then the failure
/// with the JSON as its message.
#[test]
fn a_refused_token_fails_after_the_clients_acknowledgement() {
    let v = UnsecuredValidator::default();
    let expired = jws(&format!(r#"{{"sub":"a","exp":{}}}"#, NOW_S - 1));
    let mut server = OAuthBearerServer::new();
    assert_eq!(
        server.step(&initial(&expired), &v, NOW_MS),
        Ok(Step::Continue(br#"{"status":"invalid_token"}"#.to_vec()))
    );
    let err = server.step(b"\x01", &v, NOW_MS).unwrap_err();
    assert_eq!(err, SaslError::Visible(r#"{"status":"invalid_token"}"#.into()));
    assert_eq!(err.client_message(super::super::Mechanism::OAuthBearer, false), r#"{"status":"invalid_token"}"#);
    assert!(matches!(server.step(&initial(&expired), &v, NOW_MS), Err(SaslError::IllegalState(_))));

    // Without an outstanding error, `\x01` is just a malformed message.
    let mut server = OAuthBearerServer::new();
    assert_eq!(
        server.step(b"\x01", &v, NOW_MS),
        Err(SaslError::Hidden("Invalid OAUTHBEARER client first message".into()))
    );

    // As in Kafka, a new initial response instead of `\x01` is evaluated afresh.
    let mut server = OAuthBearerServer::new();
    server.step(&initial(&expired), &v, NOW_MS).unwrap();
    let good = jws(&format!(r#"{{"sub":"a","exp":{}}}"#, NOW_S + 1));
    assert!(matches!(server.step(&initial(&good), &v, NOW_MS), Ok(Step::Done { .. })));
}

#[test]
fn the_authzid_must_be_the_tokens_principal() {
    let v = UnsecuredValidator::default();
    let token = jws(&format!(r#"{{"sub":"alice","exp":{}}}"#, NOW_S + 60));
    let with = |authzid: &str| format!("n,a={authzid},\x01auth=Bearer {token}\x01\x01").into_bytes();
    assert!(matches!(OAuthBearerServer::new().step(&with("alice"), &v, NOW_MS), Ok(Step::Done { .. })));
    assert_eq!(
        OAuthBearerServer::new().step(&with("admin"), &v, NOW_MS),
        Err(SaslError::Visible(
            "Authentication failed: Client requested an authorization id (admin) that is different from the token's \
             principal name (alice)"
                .into()
        ))
    );
}

proptest! {
    /// Any bytes, twice (so the acknowledgement branch runs too): never a panic.
    #[test]
    fn any_message_is_answered(
        a in proptest::collection::vec(any::<u8>(), 0..80),
        b in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let mut server = OAuthBearerServer::new();
        let _ = server.step(&a, &UnsecuredValidator::default(), NOW_MS);
        let _ = server.step(&b, &UnsecuredValidator::default(), NOW_MS);
    }

    /// Arbitrary text as the header and claims of a well-framed token.
    #[test]
    fn any_token_contents_are_answered(header in ".{0,40}", claims in ".{0,60}", sig in "[a-z.]{0,3}") {
        let token = format!("{}.{}.{sig}", b64url(&header), b64url(&claims));
        let _ = OAuthBearerServer::new().step(&initial(&token), &UnsecuredValidator::default(), NOW_MS);
    }

    /// JSON-shaped claims, so the claim checks themselves run.
    #[test]
    fn any_json_claims_are_answered(
        sub in prop_oneof![Just("\"a\"".to_string()), Just("1".to_string()), Just("null".to_string()), "[-0-9.e]{1,8}"],
        exp in prop_oneof![Just("\"x\"".to_string()), "[-0-9.eE+]{1,12}", Just("[1]".to_string())],
        iat in "[-0-9.e]{0,8}",
    ) {
        let iat = if iat.is_empty() { String::new() } else { format!(",\"iat\":{iat}") };
        let _ = validate(&format!(r#"{{"sub":{sub},"exp":{exp}{iat}}}"#));
    }
}
