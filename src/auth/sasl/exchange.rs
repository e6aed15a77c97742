//! One connection's SASL exchange: the mechanism SaslHandshake chose and its server state,
//! stepped by each SaslAuthenticate with what the broker knows (PLAIN users, SCRAM
//! credentials, the OAUTHBEARER validator).

use super::oauthbearer::{OAuthBearerServer, UnsecuredValidator};
use super::plain::{PlainServer, PlainUsers};
use super::scram::ScramServer;
use super::{Mechanism, SaslError, Step};
use crate::auth::credentials::CredentialStore;

/// The broker's SASL settings and stores.
pub struct SaslConfig {
    /// `sasl.enabled.mechanisms`, in the order SaslHandshake lists them.
    pub enabled: Vec<Mechanism>,
    pub plain_users: PlainUsers,
    pub oauthbearer: UnsecuredValidator,
    /// `connections.max.reauth.ms` (0: sessions do not expire).
    pub max_reauth_ms: i64,
}

pub enum Exchange {
    Plain(PlainServer),
    Scram(ScramServer),
    OAuthBearer(OAuthBearerServer),
}

impl std::fmt::Debug for Exchange {
    /// Never the exchange's secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "Exchange(PLAIN)",
            Self::Scram(_) => "Exchange(SCRAM)",
            Self::OAuthBearer(_) => "Exchange(OAUTHBEARER)",
        })
    }
}

impl Exchange {
    pub fn new(mechanism: Mechanism) -> Self {
        match mechanism.scram() {
            Some(m) => Self::Scram(ScramServer::new(m)),
            None if mechanism == Mechanism::OAuthBearer => Self::OAuthBearer(OAuthBearerServer::new()),
            None => Self::Plain(PlainServer::new()),
        }
    }

    /// One client message.
    pub fn step(
        &mut self,
        message: &[u8],
        config: &SaslConfig,
        credentials: &CredentialStore,
        now_ms: i64,
    ) -> Result<Step, SaslError> {
        match self {
            Self::Plain(s) => s.step(message, &config.plain_users),
            Self::Scram(s) => {
                let mechanism = s.mechanism();
                s.step(message, |user| credentials.get(user, mechanism))
            }
            Self::OAuthBearer(s) => s.step(message, &config.oauthbearer, now_ms),
        }
    }
}
