//! The SASL mechanisms Brook offers (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER), each a small
//! state machine over the bytes of SaslAuthenticate requests: it answers the bytes to send
//! back, the authenticated principal, or an error worded as Kafka words it. They own no socket
//! and read no clock or store of their own; the SaslHandshake / SaslAuthenticate handlers drive
//! them and hand them what they look up.

pub mod exchange;
pub mod oauthbearer;
pub mod plain;
pub mod scram;

use crate::error::ErrorCode;

pub use scram::ScramMechanism;

/// A SASL mechanism by its Kafka name (`sasl.enabled.mechanisms`, SaslHandshake's `mechanism`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}

impl Mechanism {
    pub const ALL: [Mechanism; 4] =
        [Mechanism::Plain, Mechanism::ScramSha256, Mechanism::ScramSha512, Mechanism::OAuthBearer];

    /// The name on the wire and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism a client names. Exact and case-sensitive, as Kafka looks names up in a
    /// map (`scram-sha-256` is refused with UNSUPPORTED_SASL_MECHANISM there too).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The SCRAM variant, for the SCRAM mechanisms.
    pub fn scram(self) -> Option<ScramMechanism> {
        match self {
            Mechanism::ScramSha256 => Some(ScramMechanism::Sha256),
            Mechanism::ScramSha512 => Some(ScramMechanism::Sha512),
            Mechanism::Plain | Mechanism::OAuthBearer => None,
        }
    }

    /// The `Mechanism` byte of Alter/DescribeUserScramCredentials (Kafka's
    /// `ScramMechanism.type()`): 1 for SCRAM-SHA-256, 2 for SCRAM-SHA-512.
    pub fn scram_type(self) -> Option<i8> {
        self.scram().map(ScramMechanism::type_code)
    }
}

impl From<ScramMechanism> for Mechanism {
    fn from(m: ScramMechanism) -> Self {
        match m {
            ScramMechanism::Sha256 => Mechanism::ScramSha256,
            ScramMechanism::Sha512 => Mechanism::ScramSha512,
        }
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a mechanism answers to one client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes (SaslAuthenticate's `auth_bytes`) and wait for the client's next
    /// message.
    Continue(Vec<u8>),
    /// Authenticated as `principal` (the name of a `User:` principal); send `response` as the
    /// last `auth_bytes`.
    Done {
        principal: String,
        response: Vec<u8>,
        /// When the credential stops being valid, in ms since the epoch (Kafka's negotiated
        /// property `CREDENTIAL.LIFETIME.MS`): an OAUTHBEARER token's `exp`. `None` for
        /// passwords. See [`session_lifetime_ms`].
        expires_at_ms: Option<i64>,
    },
}

/// Why an authentication failed, in the two kinds Kafka tells apart: whether the client may
/// read the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// Kafka's `SaslAuthenticationException`: the message is the response's `error_message`.
    #[error("{0}")]
    Visible(String),
    /// Kafka's `SaslException`: the message is for the broker's log only, because it may tell
    /// an unauthenticated client whether a user exists; the client reads
    /// [`SaslError::client_message`]'s generic text.
    #[error("{0}")]
    Hidden(String),
    /// A message after the exchange ended (Kafka's `IllegalSaslStateException`, after which
    /// it closes the connection).
    #[error("{0}")]
    IllegalState(String),
}

impl SaslError {
    /// The SaslAuthenticate `error_message` Kafka sends for this error
    /// (`SaslServerAuthenticator.handleSaslToken`).
    pub fn client_message(&self, mechanism: Mechanism, reauthenticating: bool) -> String {
        match self {
            SaslError::Visible(m) | SaslError::IllegalState(m) => m.clone(),
            SaslError::Hidden(_) => format!(
                "Authentication failed during {} due to invalid credentials with SASL mechanism {mechanism}",
                if reauthenticating { "re-authentication" } else { "authentication" }
            ),
        }
    }
}

impl ErrorCode for SaslError {
    fn code(&self) -> i16 {
        use kafka_protocol::error::ResponseError as E;
        match self {
            SaslError::Visible(_) | SaslError::Hidden(_) => E::SaslAuthenticationFailed.code(),
            SaslError::IllegalState(_) => E::IllegalSaslState.code(),
        }
    }
}

/// SaslAuthenticate's `session_lifetime_ms` (KIP-368) at the end of a successful exchange at
/// `now_ms`: the time left on the credential, capped by `connections.max.reauth.ms` when that
/// is positive, never negative; 0 (no re-authentication required) when neither applies
/// (Kafka's `ReauthInfo.calcCompletionTimesAndReturnSessionLifetimeMs`).
pub fn session_lifetime_ms(expires_at_ms: Option<i64>, max_reauth_ms: Option<i64>, now_ms: i64) -> i64 {
    let max_reauth_ms = max_reauth_ms.filter(|ms| *ms > 0);
    let left = expires_at_ms.map(|exp| exp.saturating_sub(now_ms));
    match (left, max_reauth_ms) {
        (None, None) => 0,
        (None, Some(max)) => max,
        (Some(left), None) => left.max(0),
        (Some(left), Some(max)) => left.min(max).max(0),
    }
}

/// Decodes base64 with or without its `=` padding (Java's basic decoder, which Kafka uses,
/// takes both). `None` for anything else, never a panic.
pub(crate) fn base64_decode(alphabet: &base64::alphabet::Alphabet, text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    let config = GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(alphabet, config).decode(text).ok()
}

/// Standard base64 with padding, as every SCRAM message and the credential file write it.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_scram_type_codes_are_kafkas() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Some(m));
            assert_eq!(m.to_string(), m.name());
        }
        assert_eq!(Mechanism::from_name("scram-sha-256"), None, "case-sensitive, as Kafka's map");
        assert_eq!(Mechanism::from_name("GSSAPI"), None);
        assert_eq!(Mechanism::ScramSha256.scram_type(), Some(1));
        assert_eq!(Mechanism::ScramSha512.scram_type(), Some(2));
        assert_eq!(Mechanism::Plain.scram_type(), None);
        assert_eq!(Mechanism::from(ScramMechanism::Sha512), Mechanism::ScramSha512);
    }

    #[test]
    fn hidden_errors_reach_the_client_as_kafkas_generic_message() {
        let e = SaslError::Hidden("Authentication failed: Invalid user credentials".into());
        assert_eq!(
            e.client_message(Mechanism::ScramSha256, false),
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
        );
        assert_eq!(
            e.client_message(Mechanism::ScramSha512, true),
            "Authentication failed during re-authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
        );
        let v = SaslError::Visible("Authentication failed: Invalid username or password".into());
        assert_eq!(v.client_message(Mechanism::Plain, false), "Authentication failed: Invalid username or password");
        assert_eq!(e.code(), 58);
        assert_eq!(SaslError::IllegalState("x".into()).code(), 34);
    }

    #[test]
    fn session_lifetime_is_the_credential_left_capped_by_max_reauth() {
        assert_eq!(session_lifetime_ms(None, None, 1_000), 0);
        assert_eq!(session_lifetime_ms(None, Some(0), 1_000), 0, "0 means no maximum");
        assert_eq!(session_lifetime_ms(None, Some(60_000), 1_000), 60_000);
        assert_eq!(session_lifetime_ms(Some(31_000), None, 1_000), 30_000);
        assert_eq!(session_lifetime_ms(Some(31_000), Some(10_000), 1_000), 10_000);
        assert_eq!(session_lifetime_ms(Some(500), Some(10_000), 1_000), 0, "expired: never negative");
        assert_eq!(session_lifetime_ms(Some(i64::MIN), None, i64::MAX), 0);
    }

    #[test]
    fn base64_takes_padding_or_none_and_refuses_garbage() {
        let std = &base64::alphabet::STANDARD;
        assert_eq!(base64_decode(std, "biws").as_deref(), Some(&b"n,,"[..]));
        assert_eq!(base64_decode(std, "bixhPWJvYiw=").as_deref(), Some(&b"n,a=bob,"[..]));
        assert_eq!(base64_decode(std, "bixhPWJvYiw").as_deref(), Some(&b"n,a=bob,"[..]));
        assert_eq!(base64_decode(std, "b!ws"), None);
        assert_eq!(base64_decode(std, "b"), None);
        assert_eq!(base64_encode(b"n,,"), "biws");
    }
}
