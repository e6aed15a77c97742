//! TLS listeners: a PLAINTEXT and an SSL listener side by side, certificates made by the test
//! (rcgen); Metadata advertises the listener a client came in on; mutual TLS refuses clients
//! without a certificate the truststore vouches for; a renewed keystore file is used without
//! a restart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Request;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use brook::config::listeners::{resolve, ClientAuth};

use crate::common::certs::{new_ca, signed, Ca};
use crate::common::*;

fn pem_certs(pem: &str) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes()).collect::<Result<_, _>>().unwrap()
}

fn pem_key(pem: &str) -> PrivateKeyDer<'static> {
    rustls_pemfile::private_key(&mut pem.as_bytes()).unwrap().unwrap()
}

/// A TLS connection trusting `ca`, with a client certificate when given.
async fn connect(addr: SocketAddr, ca: &Ca, client: Option<(&str, &str)>) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.cert.der().to_vec())).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder.with_client_auth_cert(pem_certs(cert), pem_key(key)).unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut s = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await?;
    // With TLS 1.3 a refused client certificate shows at the first read: ask for something.
    s.flush().await?;
    Ok(s)
}

/// One request over a TLS stream, its response decoded.
async fn call<R: Request>(s: &mut TlsStream<TcpStream>, req: &R, version: i16) -> std::io::Result<R::Response> {
    s.write_all(&encode_request(req, version, 7)).await?;
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut len)).await.map_err(std::io::Error::other)??;
    let mut frame = BytesMut::zeroed(i32::from_be_bytes(len) as usize);
    s.read_exact(&mut frame).await?;
    let frame: Bytes = frame.freeze();
    assert!(frame.remaining() >= 4);
    Ok(decode_response::<R>(frame, version).1)
}

fn tls_broker(c: &mut brook::config::BrokerConfig, chain: &str, key: &str, ca_pem: Option<&str>) {
    c.listeners = resolve(c.listen, "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "", "PLAINTEXT:PLAINTEXT,SSL:SSL")
        .expect("valid listeners");
    c.tls.keystore_certificate_chain = chain.to_string();
    c.tls.keystore_key = key.to_string();
    if let Some(ca) = ca_pem {
        c.tls.truststore_certificates = ca.to_string();
        c.tls.client_auth = ClientAuth::Required;
    }
}

fn ssl_addr(b: &TestBroker) -> SocketAddr {
    b.handle.as_ref().expect("running").listeners.iter().find(|(n, _)| n == "SSL").expect("SSL listener").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_speak_kafka_over_tls_and_see_the_listener_they_came_in_on() {
    let ca = new_ca();
    let (chain, key) = signed(&ca, "localhost");
    let b = TestBroker::start_with(|c| tls_broker(c, &chain, &key, None)).await;
    let ssl = ssl_addr(&b);
    let mut s = connect(ssl, &ca, None).await.expect("TLS handshake");
    let versions = call(&mut s, &ApiVersionsRequest::default(), 0).await.unwrap();
    assert_eq!(versions.error_code, 0);
    let meta = call(&mut s, &MetadataRequest::default().with_topics(None), 12).await.unwrap();
    assert_eq!(meta.brokers[0].port, ssl.port() as i32, "the SSL listener's address");
    // The plaintext listener still serves, and advertises itself.
    let mut c = b.client().await;
    let plain = metadata(&mut c, None, false, 12).await;
    assert_eq!(plain.brokers[0].port, b.addr().port() as i32);
    // Produce over TLS, fetch over plaintext: one broker, two doors.
    create_topic(&mut c, "tls-t", 1).await;
    let r = call(&mut s, &produce_request("tls-t", 0, batch(&[b"over tls"]), -1), 9).await.unwrap();
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    let records = fetch_all(&mut c, "tls-t", 0, 0).await;
    assert_eq!(records[0].value.as_deref(), Some(&b"over tls"[..]));
    // A plaintext client on the TLS port gets no Kafka answer.
    let mut wrong = Client::connect(ssl).await;
    wrong.send(&ApiVersionsRequest::default(), 0).await;
    assert!(matches!(wrong.read_frame_within(Duration::from_secs(5)).await, Ok(None) | Err(_)));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_trusted_client_certificate() {
    let ca = new_ca();
    let (chain, key) = signed(&ca, "localhost");
    let ca_pem = ca.cert.pem();
    let b = TestBroker::start_with(|c| {
        tls_broker(c, &chain, &key, Some(&ca_pem));
        let listeners = "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0";
        c.listeners = resolve(c.listen, listeners, "", "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL").unwrap();
        c.sasl.plain_users = "alice:alice-pw".into();
    })
    .await;
    let ssl = ssl_addr(&b);
    // KIP-684: the broker-wide ssl.client.auth is the SSL listener's; a SASL_SSL client
    // authenticates with SASL, without a certificate.
    let sasl_ssl = b.handle.as_ref().unwrap().listeners.iter().find(|(n, _)| n == "SASL_SSL").unwrap().1;
    let mut s = connect(sasl_ssl, &ca, None).await.expect("SASL_SSL needs no client certificate");
    let h = call(&mut s, &SaslHandshakeRequest::default().with_mechanism(sb("PLAIN")), 1).await.unwrap();
    assert_eq!(h.error_code, 0);
    let (client_cert, client_key) = signed(&ca, "client-1");
    let mut s = connect(ssl, &ca, Some((&client_cert, &client_key))).await.expect("mutual TLS");
    assert_eq!(call(&mut s, &ApiVersionsRequest::default(), 0).await.unwrap().error_code, 0);
    // No client certificate: refused.
    let refused = match connect(ssl, &ca, None).await {
        Err(_) => true,
        Ok(mut s) => call(&mut s, &ApiVersionsRequest::default(), 0).await.is_err(),
    };
    assert!(refused, "a client without a certificate is refused");
    // A certificate from another CA: refused.
    let other = new_ca();
    let (bad_cert, bad_key) = signed(&other, "intruder");
    let refused = match connect(ssl, &ca, Some((&bad_cert, &bad_key))).await {
        Err(_) => true,
        Ok(mut s) => call(&mut s, &ApiVersionsRequest::default(), 0).await.is_err(),
    };
    assert!(refused, "a certificate the truststore does not vouch for is refused");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_keystore_file_is_used_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("broker.pem");
    let first_ca = new_ca();
    let (chain, key) = signed(&first_ca, "localhost");
    std::fs::write(&keystore, format!("{chain}{key}")).unwrap();
    let path = keystore.to_str().unwrap().to_string();
    let b = TestBroker::start_with(|c| {
        tls_broker(c, "", "", None);
        c.tls.keystore_location = path.clone();
    })
    .await;
    let ssl = ssl_addr(&b);
    assert!(connect(ssl, &first_ca, None).await.is_ok());
    // The certificate is renewed (by a new CA, so the old trust no longer works).
    let second_ca = new_ca();
    let (chain, key) = signed(&second_ca, "localhost");
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new modification time
    std::fs::write(&keystore, format!("{chain}{key}")).unwrap();
    let mut renewed = false;
    for _ in 0..30 {
        if let Ok(mut s) = connect(ssl, &second_ca, None).await {
            if call(&mut s, &ApiVersionsRequest::default(), 0).await.is_ok() {
                renewed = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(renewed, "the new certificate is served");
    b.stop().await;
}
