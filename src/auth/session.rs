//! A connection's security session: listener, protocol, principal and SASL state, and the
//! gate each request passes before dispatch.

use std::net::SocketAddr;

use kafka_protocol::messages::ApiKey;
use parking_lot::RwLock;

/// Kafka's `SecurityProtocol` for a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether clients must authenticate with SASL before other requests.
    pub fn uses_sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }
}

/// Kafka's `KafkaPrincipal`: a type (`User`) and a name (`ANONYMOUS` before authentication).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KafkaPrincipal {
    pub principal_type: String,
    pub name: String,
}

impl KafkaPrincipal {
    pub fn anonymous() -> Self {
        Self { principal_type: "User".into(), name: "ANONYMOUS".into() }
    }
}

impl std::fmt::Display for KafkaPrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.principal_type, self.name)
    }
}

/// Where a SASL listener's client is in its authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslState {
    /// Not a SASL listener, or authenticated: requests flow.
    Done,
    /// Waiting for SaslHandshake / SaslAuthenticate.
    Pending,
    /// The authentication failed: nothing more is served (the connection closes).
    Failed,
}

/// One connection's security facts, shared by its requests.
#[derive(Debug)]
pub struct Session {
    /// Unique per connection for the broker's life (share sessions belong to one).
    pub id: u64,
    /// The listener's name (`PLAINTEXT`, or the name in `listeners`).
    pub listener: String,
    pub protocol: SecurityProtocol,
    pub peer: SocketAddr,
    /// The client's address as Kafka reports it (`/127.0.0.1`), formatted once.
    pub client_host: String,
    principal: RwLock<KafkaPrincipal>,
    sasl: RwLock<SaslState>,
    /// The mechanism SaslHandshake chose and its exchange, until SaslAuthenticate ends it.
    pub exchange: parking_lot::Mutex<Option<(crate::auth::sasl::Mechanism, crate::auth::sasl::exchange::Exchange)>>,
    /// When an authenticated session must re-authenticate (KIP-368), in ms since the epoch;
    /// 0: never.
    reauth_deadline_ms: std::sync::atomic::AtomicI64,
}

impl Session {
    pub fn new(listener: &str, protocol: SecurityProtocol, peer: SocketAddr) -> Self {
        let sasl = if protocol.uses_sasl() { SaslState::Pending } else { SaslState::Done };
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Self {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            listener: listener.to_string(),
            protocol,
            peer,
            client_host: format!("/{}", peer.ip()),
            principal: RwLock::new(KafkaPrincipal::anonymous()),
            sasl: RwLock::new(sasl),
            exchange: parking_lot::Mutex::new(None),
            reauth_deadline_ms: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// A session on the default PLAINTEXT listener (tests).
    pub fn plaintext(peer: SocketAddr) -> Self {
        Self::new("PLAINTEXT", SecurityProtocol::Plaintext, peer)
    }

    pub fn principal(&self) -> KafkaPrincipal {
        self.principal.read().clone()
    }

    pub fn sasl_state(&self) -> SaslState {
        *self.sasl.read()
    }

    /// The principal a TLS client certificate names (before any SASL authentication).
    pub fn set_principal(&self, principal: KafkaPrincipal) {
        *self.principal.write() = principal;
    }

    /// A successful authentication: requests flow as `principal` from now on, until
    /// `reauth_deadline_ms` (0: no deadline).
    pub fn authenticated(&self, principal: KafkaPrincipal) {
        *self.principal.write() = principal;
        *self.sasl.write() = SaslState::Done;
    }

    /// When this session must have re-authenticated by (0: never).
    pub fn set_reauth_deadline(&self, deadline_ms: i64) {
        self.reauth_deadline_ms.store(deadline_ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// A failed authentication: the connection serves nothing more.
    pub fn failed(&self) {
        *self.sasl.write() = SaslState::Failed;
    }
}

/// What the gate decides for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Closed without an answer (Kafka's `SaslServerAuthenticator` on an unexpected request).
    Refused(String),
}

/// The one check every request passes before its handler (the place authentication is
/// enforced): on a SASL listener, an unauthenticated client may only send ApiVersions,
/// SaslHandshake and SaslAuthenticate.
pub fn gate(session: &Session, key: ApiKey) -> Admission {
    let reauth = matches!(key, ApiKey::SaslHandshake | ApiKey::SaslAuthenticate);
    match session.sasl_state() {
        SaslState::Failed => return Admission::Refused(format!("{key:?} after a failed SASL authentication")),
        SaslState::Done => {
            // KIP-368: past its session lifetime, a connection may only re-authenticate.
            let deadline = session.reauth_deadline_ms.load(std::sync::atomic::Ordering::Relaxed);
            if deadline > 0 && !reauth && crate::util::now_ms() > deadline {
                return Admission::Refused(format!("{key:?} after the SASL session expired"));
            }
            return Admission::Allowed;
        }
        SaslState::Pending => {}
    }
    match key {
        ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate => Admission::Allowed,
        other => Admission::Refused(format!("{other:?} before SASL authentication")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    #[test]
    fn plaintext_admits_everything_as_anonymous() {
        let s = Session::plaintext(peer());
        assert_eq!(s.client_host, "/127.0.0.1");
        assert_eq!(s.principal().to_string(), "User:ANONYMOUS");
        assert_eq!(gate(&s, ApiKey::Produce), Admission::Allowed);
    }

    #[test]
    fn a_sasl_listener_admits_only_the_handshake_until_authenticated() {
        let s = Session::new("SASL_PLAINTEXT", SecurityProtocol::SaslPlaintext, peer());
        assert_eq!(gate(&s, ApiKey::ApiVersions), Admission::Allowed);
        assert_eq!(gate(&s, ApiKey::SaslHandshake), Admission::Allowed);
        assert!(matches!(gate(&s, ApiKey::Metadata), Admission::Refused(_)));
        s.authenticated(KafkaPrincipal { principal_type: "User".into(), name: "alice".into() });
        assert_eq!(gate(&s, ApiKey::Metadata), Admission::Allowed);
        assert_eq!(s.principal().name, "alice");
    }
}
