//! Resolving the security options: defaults, refusals, command-config files, and the host
//! name check Kafka's empty `ssl.endpoint.identification.algorithm` turns off.

use super::*;

fn args() -> SecurityArgs {
    SecurityArgs::default()
}

fn err(a: &SecurityArgs) -> String {
    a.resolve().unwrap_err().to_string()
}

#[test]
fn plaintext_by_default_and_sasl_needs_everything() {
    let s = args().resolve().unwrap();
    assert_eq!(s.protocol, SecurityProtocol::Plaintext);
    assert!(s.tls.is_none() && s.sasl.is_none());
    let mut a = SecurityArgs { security_protocol: Some("sasl_plaintext".into()), ..args() };
    assert!(err(&a).contains("needs --sasl-mechanism"), "{}", err(&a));
    a.sasl_mechanism = Some("scram-sha-512".into());
    assert!(err(&a).contains("needs --sasl-username and --sasl-password"));
    a.sasl_username = Some("alice".into());
    a.sasl_password = Some("pw".into());
    let s = a.resolve().unwrap();
    let login = s.sasl.unwrap();
    assert_eq!((login.mechanism, login.username.as_str()), (Mechanism::ScramSha512, "alice"));
    assert!(!format!("{login:?}").contains("pw"));
    a.sasl_mechanism = Some("OAUTHBEARER".into());
    assert!(err(&a).contains("PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"));
    let a = SecurityArgs { security_protocol: Some("TLS".into()), ..args() };
    assert!(err(&a).contains("unknown security protocol"));
    let a = SecurityArgs { sasl_username: Some("alice".into()), ..args() };
    assert!(err(&a).contains("SASL options need --security-protocol"));
}

#[test]
fn tls_needs_a_readable_ca() {
    let a = SecurityArgs { security_protocol: Some("SSL".into()), ..args() };
    assert!(err(&a).contains("SSL needs --ssl-ca-location"));
    let a = SecurityArgs { ssl_ca_location: Some("/nonexistent/ca.pem".into()), ..a };
    assert!(err(&a).starts_with("cannot read CA file /nonexistent/ca.pem"), "{}", err(&a));
    let a = SecurityArgs { ssl_ca_location: Some("/x".into()), ..args() };
    assert!(err(&a).contains("SSL options need --security-protocol SSL or SASL_SSL"));
    let a = SecurityArgs {
        security_protocol: Some("SSL".into()),
        ssl_ca_location: Some("/x".into()),
        ssl_certificate_location: Some("/y".into()),
        ..args()
    };
    assert!(err(&a).contains("needs both --ssl-certificate-location and --ssl-key-location"));
}

/// A CA, and a certificate it signs naming only `name`.
fn chain_for(name: &str) -> (CertificateDer<'static>, CertificateDer<'static>) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec![name.into()]).unwrap().signed_by(&key, &ca, &ca_key).unwrap();
    (CertificateDer::from(ca.der().to_vec()), CertificateDer::from(leaf.der().to_vec()))
}

#[test]
fn without_endpoint_identification_only_the_chain_is_checked() {
    let (ca, leaf) = chain_for("other.example");
    let mut roots = RootCertStore::empty();
    roots.add(ca).unwrap();
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), crypto_provider()).build().unwrap();
    let any_name = AnyHostName(webpki.clone());
    let localhost = ServerName::try_from("localhost").unwrap();
    let now = UnixTime::now();
    assert!(webpki.verify_server_cert(&leaf, &[], &localhost, &[], now).is_err(), "the name is checked");
    assert!(any_name.verify_server_cert(&leaf, &[], &localhost, &[], now).is_ok(), "only the chain");
    let (_, stranger) = chain_for("localhost");
    assert!(any_name.verify_server_cert(&stranger, &[], &localhost, &[], now).is_err(), "another CA's");
}

#[test]
fn a_command_config_file_is_read_as_kafka_client_properties() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).unwrap();
    let config = dir.path().join("client.properties");
    std::fs::write(
        &config,
        format!(
            "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\nssl.truststore.type=PEM\n\
             ssl.truststore.location={}\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \
             required username=\"alice\" password=\"from-file\";\n",
            ca_path.display()
        ),
    )
    .unwrap();
    let a = SecurityArgs { command_config: Some(config.clone()), ..args() };
    let s = a.resolve().unwrap();
    assert_eq!(s.protocol, SecurityProtocol::SaslSsl);
    assert!(s.tls.is_some());
    let login = s.sasl.unwrap();
    assert_eq!((login.username.as_str(), login.password.as_str()), ("alice", "from-file"));
    // A flag overrides the file.
    let a = SecurityArgs { command_config: Some(config), sasl_password: Some("flag".into()), ..args() };
    assert_eq!(a.resolve().unwrap().sasl.unwrap().password, "flag");
    let a = SecurityArgs { command_config: Some(dir.path().join("missing")), ..args() };
    assert!(err(&a).starts_with("cannot read --command-config"));
    let jks = dir.path().join("jks.properties");
    std::fs::write(&jks, "security.protocol=SSL\nssl.truststore.type=JKS\nssl.truststore.location=/x.jks\n").unwrap();
    let a = SecurityArgs { command_config: Some(jks), ..args() };
    assert!(err(&a).contains("only PEM truststores are supported"));
}
