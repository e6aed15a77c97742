//! The transport under a command's connections and its SASL login: TCP, wrapped in TLS
//! (rustls) for SSL and SASL_SSL, as one boxed stream so [`super::client::Conn`] is the same
//! over both; then SaslHandshake v1 and SaslAuthenticate as Kafka's clients send them, with
//! the mechanisms' client side from `auth::sasl`. Also the hints for the usual mistake, a
//! client whose security protocol is not the listener's.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::client::{describe_code, CliError, Conn, Connector};
use super::secure::{SaslLogin, Security};
use crate::auth::sasl::plain;
use crate::auth::sasl::scram::ScramClient;

/// A connection's byte stream: plain TCP or TLS over TCP.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// Kafka's UNSUPPORTED_SASL_MECHANISM.
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;

/// Connects to `addr`, with the TLS handshake done when the security protocol uses TLS; both
/// bounded by the timeout.
pub async fn open(addr: &str, connector: &Connector) -> Result<Box<dyn Transport>, CliError> {
    let timeout = connector.timeout;
    let timed_out = || CliError::Timeout { addr: addr.to_string(), timeout };
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(error)) => return Err(CliError::Connect { addr: addr.to_string(), error }),
        Err(_) => return Err(timed_out()),
    };
    tcp.set_nodelay(true).ok();
    let Some(tls) = &connector.security.tls else {
        return Ok(Box::new(tcp));
    };
    let handshake = tokio_rustls::TlsConnector::from(tls.clone()).connect(server_name(addr)?, tcp);
    match tokio::time::timeout(timeout, handshake).await {
        Ok(Ok(stream)) => Ok(Box::new(stream)),
        Ok(Err(e)) => Err(CliError::Connect {
            addr: addr.to_string(),
            error: std::io::Error::new(e.kind(), format!("TLS handshake failed: {e}")),
        }),
        Err(_) => Err(timed_out()),
    }
}

/// The name the broker's certificate must carry: the host of `host:port` (a name or an IP
/// address, as it was given or as Metadata advertised it).
fn server_name(addr: &str) -> Result<ServerName<'static>, CliError> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string())
        .map_err(|_| CliError::Usage(format!("{addr}: {host:?} is not a host name TLS can check")))
}

/// Logs `conn` in: SaslHandshake v1 for the mechanism, then its SaslAuthenticate rounds.
/// Answers the session's lifetime when the broker limits it (KIP-368).
pub async fn authenticate(conn: &mut Conn, login: &SaslLogin) -> Result<Option<Duration>, CliError> {
    let mechanism = login.mechanism;
    let handshake = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism.name()));
    let (_, r) = conn.call_in_session(&handshake, 1..=1).await?;
    if r.error_code == UNSUPPORTED_SASL_MECHANISM {
        let offered: Vec<&str> = r.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(CliError::Kafka(format!(
            "{}: the broker does not offer SASL mechanism {mechanism} (it offers {})",
            conn.addr(),
            if offered.is_empty() { "none".to_string() } else { offered.join(", ") }
        )));
    }
    if r.error_code != 0 {
        return Err(CliError::Kafka(format!("{}: SaslHandshake: {}", conn.addr(), describe_code(r.error_code))));
    }
    let last = match mechanism.scram() {
        None => step(conn, login, plain::client_message(&login.username, &login.password)).await?,
        Some(scram) => {
            let failed = |conn: &Conn, why: String| {
                CliError::Kafka(format!("{}: {mechanism} login as {} failed: {why}", conn.addr(), login.username))
            };
            let mut client = ScramClient::new(scram, &login.username, &login.password).map_err(|e| failed(conn, e))?;
            let challenge = step(conn, login, client.first_message()).await?;
            let proof = client.final_message(&challenge.auth_bytes).map_err(|e| failed(conn, e))?;
            let last = step(conn, login, proof).await?;
            client.verify_server_final(&last.auth_bytes).map_err(|e| failed(conn, e))?;
            last
        }
    };
    Ok((last.session_lifetime_ms > 0).then(|| Duration::from_millis(last.session_lifetime_ms as u64)))
}

/// One SaslAuthenticate round; a refusal is the command's error, with the broker's message
/// (Kafka's: "Authentication failed during authentication due to invalid credentials...").
async fn step(conn: &mut Conn, login: &SaslLogin, bytes: Vec<u8>) -> Result<SaslAuthenticateResponse, CliError> {
    let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes));
    let (_, r) = conn.call_in_session(&req, 0..=2).await?;
    if r.error_code != 0 {
        let why = r.error_message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| describe_code(r.error_code));
        return Err(CliError::Kafka(format!(
            "{}: {} login as {} failed: {why}",
            conn.addr(),
            login.mechanism,
            login.username
        )));
    }
    Ok(r)
}

/// An I/O error with a hint when it is what a listener of another security protocol does (a
/// SASL listener closes a connection that sends requests before logging in, a TLS listener
/// one that does not speak TLS), or a mutual TLS listener to a client without a certificate.
pub fn explain(error: std::io::Error, security: &Security) -> std::io::Error {
    // With TLS 1.3 the client finishes its handshake before the broker checks its
    // certificate, so a missing one shows at the first read, as this alert.
    let alert = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
    if matches!(alert, Some(rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired))) {
        return std::io::Error::new(
            error.kind(),
            format!(
                "{error}: the broker requires a client certificate (--ssl-certificate-location and --ssl-key-location)"
            ),
        );
    }
    if error.kind() != std::io::ErrorKind::UnexpectedEof {
        return error;
    }
    let message = match security.sasl {
        // A client that logged in was let in: the close is not about the protocol.
        Some(_) => "the broker closed the connection".to_string(),
        None => format!(
            "the broker closed the connection (is the listener's security protocol {}? see --security-protocol)",
            security.protocol.name()
        ),
    };
    std::io::Error::new(error.kind(), message)
}

/// The error for a response length out of bounds; the first bytes of a TLS record (an
/// alert: 0x15 0x03) read as a length mean the listener speaks TLS.
pub fn bad_length(len: i32, security: &Security) -> std::io::Error {
    let [content_type, major, ..] = len.to_be_bytes();
    let message = if security.tls.is_none() && (0x14..=0x17).contains(&content_type) && major == 3 {
        "the broker answered in TLS: use --security-protocol SSL or SASL_SSL".to_string()
    } else {
        format!("response length {len}")
    };
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_are_the_host_of_the_address() {
        assert!(matches!(server_name("localhost:9093"), Ok(ServerName::DnsName(_))));
        assert!(matches!(server_name("127.0.0.1:9093"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("[::1]:9093"), Ok(ServerName::IpAddress(_))));
        assert!(server_name("bad_name!:9093").is_err());
    }

    #[test]
    fn a_tls_alert_read_as_a_length_is_named() {
        let plain = Security::plaintext();
        assert!(bad_length(0x1503_0300, &plain).to_string().contains("answered in TLS"));
        assert_eq!(bad_length(-1, &plain).to_string(), "response length -1");
        let eof = explain(std::io::ErrorKind::UnexpectedEof.into(), &plain);
        assert!(eof.to_string().contains("is the listener's security protocol PLAINTEXT?"));
    }
}
