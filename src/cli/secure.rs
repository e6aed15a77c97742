//! How the client commands reach a secured broker: the security options every command takes
//! (flags, their `BROOK_*` variables, and Kafka client properties from `--command-config`),
//! resolved into a [`Security`]: the protocol, the rustls client configuration for SSL and
//! SASL_SSL, and the SASL login for SASL_PLAINTEXT and SASL_SSL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::client::CliError;
use super::properties;
use crate::auth::sasl::Mechanism;
use crate::auth::SecurityProtocol;
use crate::server::tls::{crypto_provider, pem_certificates, pem_private_key};

/// The security options of every client command. A flag (or its variable) overrides the
/// same setting in the `--command-config` file.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Security")]
pub struct SecurityArgs {
    /// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (Kafka's `security.protocol`).
    #[arg(long, global = true, env = "BROOK_SECURITY_PROTOCOL")]
    pub security_protocol: Option<String>,
    /// PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, for SASL_PLAINTEXT and SASL_SSL.
    #[arg(long, global = true, env = "BROOK_SASL_MECHANISM")]
    pub sasl_mechanism: Option<String>,
    /// The SASL user to log in as.
    #[arg(long, global = true, env = "BROOK_SASL_USERNAME")]
    pub sasl_username: Option<String>,
    /// The SASL password (better in the variable or `--command-config`: a flag shows in the
    /// process list).
    #[arg(long, global = true, env = "BROOK_SASL_PASSWORD", hide_env_values = true)]
    pub sasl_password: Option<String>,
    /// PEM file of the CA certificates the broker's certificate must chain to (SSL, SASL_SSL).
    #[arg(long, global = true, env = "BROOK_SSL_CA_LOCATION")]
    pub ssl_ca_location: Option<PathBuf>,
    /// PEM file of this client's certificate chain, for brokers that ask for one (mutual TLS).
    #[arg(long, global = true, env = "BROOK_SSL_CERTIFICATE_LOCATION")]
    pub ssl_certificate_location: Option<PathBuf>,
    /// PEM file of the private key of `--ssl-certificate-location` (unencrypted).
    #[arg(long, global = true, env = "BROOK_SSL_KEY_LOCATION")]
    pub ssl_key_location: Option<PathBuf>,
    /// Kafka client properties (`security.protocol`, `sasl.mechanism`, `sasl.jaas.config`,
    /// `ssl.truststore.location`, `ssl.keystore.location`... PEM only), as Kafka's tools read.
    #[arg(long, global = true, env = "BROOK_COMMAND_CONFIG")]
    pub command_config: Option<PathBuf>,
}

/// How to connect and log in, resolved once per command.
#[derive(Clone)]
pub struct Security {
    pub protocol: SecurityProtocol,
    /// For SSL and SASL_SSL.
    pub tls: Option<Arc<ClientConfig>>,
    /// For SASL_PLAINTEXT and SASL_SSL.
    pub sasl: Option<SaslLogin>,
}

impl Security {
    /// No TLS, no SASL.
    pub fn plaintext() -> Self {
        Self { protocol: SecurityProtocol::Plaintext, tls: None, sasl: None }
    }
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("protocol", &self.protocol)
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl)
            .finish()
    }
}

/// The mechanism, user and password a SASL login uses.
#[derive(Clone)]
pub struct SaslLogin {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SaslLogin {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslLogin").field("mechanism", &self.mechanism).field("username", &self.username).finish()
    }
}

fn usage(message: impl Into<String>) -> CliError {
    CliError::Usage(message.into())
}

/// Where a PEM comes from: a file, or the PEM itself (Kafka's inline `ssl.*.certificates`).
enum Pem {
    File(PathBuf),
    Inline(String),
}

impl Pem {
    fn read(&self, what: &str) -> Result<Vec<u8>, CliError> {
        match self {
            Pem::File(path) => {
                std::fs::read(path).map_err(|e| usage(format!("cannot read {what} {}: {e}", path.display())))
            }
            Pem::Inline(text) => Ok(text.as_bytes().to_vec()),
        }
    }
}

impl SecurityArgs {
    /// The security the options describe; a mistake (a missing password, an unreadable CA
    /// file, SASL options without a SASL protocol) is a one-line usage error.
    pub fn resolve(&self) -> Result<Security, CliError> {
        let file = match &self.command_config {
            Some(path) => read_command_config(path)?,
            None => BTreeMap::new(),
        };
        let prop = |keys: &[&str]| keys.iter().find_map(|k| file.get(*k)).map(|v| v.trim().to_string());
        let protocol = match self.security_protocol.clone().or_else(|| prop(&["security.protocol"])) {
            Some(p) => SecurityProtocol::parse(&p).ok_or_else(|| {
                usage(format!("unknown security protocol {p:?}: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"))
            })?,
            None => SecurityProtocol::Plaintext,
        };

        // SASL: the mechanism, then the credentials from flags, librdkafka's names or JAAS.
        let mechanism = self.sasl_mechanism.clone().or_else(|| prop(&["sasl.mechanism", "sasl.mechanisms"]));
        let (mut username, mut password) = (self.sasl_username.clone(), self.sasl_password.clone());
        if let Some(jaas) = prop(&["sasl.jaas.config"]) {
            let (u, p) = properties::jaas_credentials(&jaas).map_err(usage)?;
            username = username.or(Some(u));
            password = password.or(Some(p));
        }
        username = username.or_else(|| prop(&["sasl.username"]));
        password = password.or_else(|| prop(&["sasl.password"]));
        let sasl = if protocol.uses_sasl() {
            Some(sasl_login(protocol, mechanism, username, password)?)
        } else {
            if mechanism.is_some() || username.is_some() || password.is_some() {
                return Err(usage(format!(
                    "SASL options need --security-protocol SASL_PLAINTEXT or SASL_SSL (it is {})",
                    protocol.name()
                )));
            }
            None
        };

        // TLS: the CA (required: there is no system trust store to fall back on), and the
        // client's own certificate and key for mutual TLS.
        let ca = match &self.ssl_ca_location {
            Some(path) => Some(Pem::File(path.clone())),
            None => {
                match (prop(&["ssl.truststore.location", "ssl.ca.location"]), prop(&["ssl.truststore.certificates"])) {
                    (Some(path), _) if !path.is_empty() => Some(Pem::File(path.into())),
                    (_, Some(pem)) if !pem.is_empty() => Some(Pem::Inline(pem)),
                    _ => None,
                }
            }
        };
        let client_cert = client_certificate(self, &prop)?;
        for (key, store) in [("ssl.truststore.type", "truststore"), ("ssl.keystore.type", "keystore")] {
            if let Some(t) = prop(&[key]).filter(|t| !t.eq_ignore_ascii_case("PEM")) {
                return Err(usage(format!("{key}={t}: only PEM {store}s are supported")));
            }
        }
        if prop(&["ssl.key.password"]).is_some_and(|p| !p.is_empty()) {
            return Err(usage("ssl.key.password: encrypted private keys are not supported: decrypt it (openssl pkcs8 -in key.pem -out plain.pem)"));
        }
        // Kafka's `ssl.endpoint.identification.algorithm=` (empty) keeps the chain check but
        // not the host name check, for brokers whose certificates do not name their address.
        let check_host = prop(&["ssl.endpoint.identification.algorithm"]).is_none_or(|a| !a.is_empty());
        let tls = if protocol.uses_tls() {
            let ca = ca.ok_or_else(|| {
                usage(format!(
                    "{} needs --ssl-ca-location: the PEM file of the CA that signed the broker's certificate",
                    protocol.name()
                ))
            })?;
            Some(Arc::new(tls_config(&ca, client_cert.as_ref(), check_host)?))
        } else {
            if self.ssl_ca_location.is_some()
                || self.ssl_certificate_location.is_some()
                || self.ssl_key_location.is_some()
            {
                return Err(usage(format!(
                    "SSL options need --security-protocol SSL or SASL_SSL (it is {})",
                    protocol.name()
                )));
            }
            None
        };
        Ok(Security { protocol, tls, sasl })
    }
}

fn read_command_config(path: &Path) -> Result<BTreeMap<String, String>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read --command-config {}: {e}", path.display())))?;
    Ok(properties::parse(&text))
}

fn sasl_login(
    protocol: SecurityProtocol,
    mechanism: Option<String>,
    username: Option<String>,
    password: Option<String>,
) -> Result<SaslLogin, CliError> {
    // No default mechanism: Kafka's (GSSAPI) is not offered, and guessing PLAIN would send
    // the password in the clear to a SASL_PLAINTEXT listener.
    let name = mechanism.ok_or_else(|| {
        usage(format!("{} needs --sasl-mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", protocol.name()))
    })?;
    let mechanism = Mechanism::from_name(&name.to_ascii_uppercase())
        .filter(|m| *m == Mechanism::Plain || m.scram().is_some())
        .ok_or_else(|| {
            usage(format!("SASL mechanism {name:?}: the commands log in with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"))
        })?;
    match (username, password) {
        (Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => {
            Ok(SaslLogin { mechanism, username, password })
        }
        _ => Err(usage(format!(
            "{} needs --sasl-username and --sasl-password (or sasl.jaas.config in --command-config)",
            protocol.name()
        ))),
    }
}

/// The client certificate chain and key for mutual TLS: flags, librdkafka's
/// `ssl.certificate.location`/`ssl.key.location`, Kafka's PEM `ssl.keystore.location` (chain
/// and key in one file) or its inline `ssl.keystore.certificate.chain`/`ssl.keystore.key`.
fn client_certificate(
    args: &SecurityArgs,
    prop: &dyn Fn(&[&str]) -> Option<String>,
) -> Result<Option<(Pem, Pem)>, CliError> {
    let non_empty = |keys: &[&str]| prop(keys).filter(|v| !v.is_empty());
    let cert = args
        .ssl_certificate_location
        .clone()
        .map(Pem::File)
        .or_else(|| non_empty(&["ssl.certificate.location"]).map(|p| Pem::File(p.into())))
        .or_else(|| non_empty(&["ssl.keystore.certificate.chain"]).map(Pem::Inline));
    let key = args
        .ssl_key_location
        .clone()
        .map(Pem::File)
        .or_else(|| non_empty(&["ssl.key.location"]).map(|p| Pem::File(p.into())))
        .or_else(|| non_empty(&["ssl.keystore.key"]).map(Pem::Inline));
    match (cert, key, non_empty(&["ssl.keystore.location"])) {
        (Some(cert), Some(key), _) => Ok(Some((cert, key))),
        (None, None, Some(keystore)) => Ok(Some((Pem::File(keystore.clone().into()), Pem::File(keystore.into())))),
        (None, None, None) => Ok(None),
        _ => Err(usage("mutual TLS needs both --ssl-certificate-location and --ssl-key-location")),
    }
}

fn tls_config(ca: &Pem, client: Option<&(Pem, Pem)>, check_host: bool) -> Result<ClientConfig, CliError> {
    let provider = crypto_provider();
    let mut roots = RootCertStore::empty();
    for cert in pem_certificates(&ca.read("CA file")?).map_err(|e| usage(format!("CA file: {e}")))? {
        roots.add(cert).map_err(|e| usage(format!("CA file: {e}")))?;
    }
    if roots.is_empty() {
        return Err(usage("the CA file holds no certificate"));
    }
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| usage(e.to_string()))?;
    let builder = match check_host {
        true => builder.with_root_certificates(roots),
        false => {
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| usage(format!("CA file: {e}")))?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyHostName(verifier)))
        }
    };
    let Some((cert, key)) = client else {
        return Ok(builder.with_no_client_auth());
    };
    let chain =
        pem_certificates(&cert.read("client certificate")?).map_err(|e| usage(format!("client certificate: {e}")))?;
    if chain.is_empty() {
        return Err(usage("the client certificate file holds no certificate"));
    }
    let key = pem_private_key(&key.read("client key")?, "")
        .map_err(|e| usage(format!("client key: {e}")))?
        .ok_or_else(|| usage("the client key file holds no private key"))?;
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|e| usage(format!("the client certificate and key do not match: {e}")))
}

/// The web PKI check of the broker's chain, without the check that it names the host
/// (Kafka's empty `ssl.endpoint.identification.algorithm`).
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            // Raised only once the chain itself verified.
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests;
