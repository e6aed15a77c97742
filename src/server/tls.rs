//! TLS for SSL and SASL_SSL listeners (rustls): the server's certificate chain and key from a
//! PEM keystore (a file, re-read when it changes, or inline PEM), client certificates checked
//! against a PEM truststore when `ssl.client.auth` asks for them, and the client
//! certificate's subject turned into its principal (Kafka's `ssl.principal.mapping.rules`).

use std::io::BufReader;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::{Mutex, RwLock};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::auth::SecurityProtocol;
use crate::config::listeners::{ClientAuth, TlsSettings};

/// How often, at most, the keystore and truststore files are checked for changes.
const RELOAD_CHECK: Duration = Duration::from_secs(1);

/// The TLS configuration every TLS listener accepts with, reloaded when its files change.
/// The TLS of each kind of listener. SSL listeners ask for client certificates as
/// `ssl.client.auth` says; SASL_SSL ones authenticate clients with SASL and do not (Kafka
/// applies the broker-wide `ssl.client.auth` to SSL listeners only, KIP-684).
pub struct ListenerTls {
    ssl: Arc<TlsSource>,
    sasl_ssl: Arc<TlsSource>,
}

impl ListenerTls {
    pub fn load(settings: &TlsSettings) -> Result<Self, String> {
        let ssl = TlsSource::load(settings)?;
        let sasl_ssl = match settings.client_auth {
            ClientAuth::None => ssl.clone(),
            _ => TlsSource::load(&TlsSettings { client_auth: ClientAuth::None, ..settings.clone() })?,
        };
        Ok(Self { ssl, sasl_ssl })
    }

    /// The acceptor for a new connection on a listener of `protocol`; None without TLS.
    pub fn acceptor(&self, protocol: SecurityProtocol) -> Option<TlsAcceptor> {
        match protocol {
            SecurityProtocol::Ssl => Some(self.ssl.acceptor()),
            SecurityProtocol::SaslSsl => Some(self.sasl_ssl.acceptor()),
            SecurityProtocol::Plaintext | SecurityProtocol::SaslPlaintext => None,
        }
    }
}

pub struct TlsSource {
    settings: TlsSettings,
    current: RwLock<Arc<ServerConfig>>,
    /// When the files were last checked, and their modification times then.
    checked: Mutex<(Instant, Vec<Option<SystemTime>>)>,
}

impl TlsSource {
    /// Loads the keystore and truststore; a listener cannot start without them.
    pub fn load(settings: &TlsSettings) -> Result<Arc<Self>, String> {
        let config = build(settings)?;
        let stamps = file_stamps(settings);
        Ok(Arc::new(Self {
            settings: settings.clone(),
            current: RwLock::new(Arc::new(config)),
            checked: Mutex::new((Instant::now(), stamps)),
        }))
    }

    /// The acceptor for a new connection (with the files re-read first if they changed: a
    /// renewed certificate is used without a restart; a broken one is logged and the old one
    /// kept).
    pub fn acceptor(&self) -> TlsAcceptor {
        self.reload_if_changed();
        TlsAcceptor::from(self.current.read().clone())
    }

    fn reload_if_changed(&self) {
        let mut checked = self.checked.lock();
        if checked.0.elapsed() < RELOAD_CHECK {
            return;
        }
        checked.0 = Instant::now();
        let stamps = file_stamps(&self.settings);
        if stamps == checked.1 {
            return;
        }
        checked.1 = stamps;
        match build(&self.settings) {
            Ok(config) => {
                *self.current.write() = Arc::new(config);
                tracing::info!("TLS keystore or truststore changed: reloaded");
            }
            Err(e) => {
                tracing::warn!("TLS keystore or truststore changed but cannot be loaded (keeping the old one): {e}")
            }
        }
    }
}

fn file_stamps(s: &TlsSettings) -> Vec<Option<SystemTime>> {
    [&s.keystore_location, &s.truststore_location]
        .iter()
        .map(|p| if p.is_empty() { None } else { std::fs::metadata(p).and_then(|m| m.modified()).ok() })
        .collect()
}

fn read_pem(inline: &str, location: &str, what: &str) -> Result<Vec<u8>, String> {
    if !inline.trim().is_empty() {
        return Ok(inline.as_bytes().to_vec());
    }
    if location.is_empty() {
        return Err(format!("no {what}: set ssl.keystore.location (or the inline PEM settings)"));
    }
    std::fs::read(location).map_err(|e| format!("cannot read {what} {location}: {e}"))
}

const ENCRYPTED_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// The encrypted PKCS#8 key block of a PEM file, if it has one.
fn encrypted_key(pem: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find(ENCRYPTED_BEGIN)?;
    let end = text[start..].find(ENCRYPTED_END)? + start + ENCRYPTED_END.len();
    Some(&text[start..end])
}

/// Decrypts an encrypted PKCS#8 key with `ssl.key.password` (Kafka's PEM keystores: PBES2
/// with PBKDF2 or scrypt and AES, what `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes).
fn decrypt_key(pem: &str, password: &str) -> Result<PrivateKeyDer<'static>, String> {
    if password.is_empty() {
        return Err("the private key is encrypted: set ssl.key.password".into());
    }
    let (_, der) = pkcs8::SecretDocument::from_pem(pem).map_err(|e| format!("bad encrypted private key PEM: {e}"))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_bytes())
        .map_err(|e| format!("bad encrypted private key: {e}"))?;
    let plain =
        info.decrypt(password).map_err(|e| format!("cannot decrypt the private key with ssl.key.password: {e}"))?;
    Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()))
}

/// The rustls crypto provider of both sides (listeners and the `brook` commands). ring: pure
/// Rust and cc, no cmake; its lack of post-quantum key exchange is why rustls marks it
/// deprecated, and Kafka clients do not offer those groups anyway.
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in `pem` (none is not an error here: the caller says what was missing).
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    rustls_pemfile::certs(&mut BufReader::new(pem))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad certificate PEM: {e}"))
}

/// The first private key in `pem`, if any; an encrypted PKCS#8 one is decrypted with
/// `password` (Kafka's `ssl.key.password`).
pub fn pem_private_key(pem: &[u8], password: &str) -> Result<Option<PrivateKeyDer<'static>>, String> {
    if let Some(encrypted) = encrypted_key(pem) {
        return decrypt_key(encrypted, password).map(Some);
    }
    rustls_pemfile::private_key(&mut BufReader::new(pem)).map_err(|e| format!("bad private key PEM: {e}"))
}

/// The rustls server configuration the settings describe.
pub fn build(s: &TlsSettings) -> Result<ServerConfig, String> {
    let provider = crypto_provider();
    let chain_pem = read_pem(&s.keystore_certificate_chain, &s.keystore_location, "certificate chain")?;
    let key_pem = read_pem(&s.keystore_key, &s.keystore_location, "private key")?;
    let certs = pem_certificates(&chain_pem)?;
    if certs.is_empty() {
        return Err("the keystore holds no certificate".into());
    }
    let key = pem_private_key(&key_pem, &s.key_password)?.ok_or("the keystore holds no private key")?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| e.to_string())?;
    let builder = match s.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let pem = read_pem(&s.truststore_certificates, &s.truststore_location, "truststore")
                .map_err(|e| format!("ssl.client.auth needs CA certificates: {e}"))?;
            let mut roots = RootCertStore::empty();
            for cert in pem_certificates(&pem).map_err(|e| format!("truststore: {e}"))? {
                roots.add(cert).map_err(|e| e.to_string())?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == ClientAuth::Requested { verifier.allow_unauthenticated() } else { verifier };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
        }
    };
    builder.with_single_cert(certs, key).map_err(|e| format!("the certificate and key do not match: {e}"))
}

/// The subject of a client certificate in RFC 2253 form, most specific first, as Java's
/// `X500Principal.getName()` gives it (`CN=client,OU=eng,O=Example,C=US`).
pub fn subject_of(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let mut parts = Vec::new();
    for rdn in parsed.subject().iter().collect::<Vec<_>>().into_iter().rev() {
        let attrs: Vec<String> = rdn
            .iter()
            .map(|a| {
                let oid = a.attr_type();
                let name = x509_parser::objects::oid2abbrev(oid, x509_parser::objects::oid_registry())
                    .map(|s| s.to_string())
                    .unwrap_or_else(|_| oid.to_id_string());
                let value = a.as_str().map(escape_rfc2253).unwrap_or_default();
                format!("{name}={value}")
            })
            .collect();
        parts.push(attrs.join("+"));
    }
    Some(parts.join(","))
}

fn escape_rfc2253(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') || (i == 0 && (c == '#' || c == ' ')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Kafka's `SslPrincipalMapper`: `DEFAULT` keeps the distinguished name; `RULE:regex/
/// replacement/[LU]` rules are tried in order, the first matching the whole name wins.
pub fn map_principal(rules: &str, dn: &str) -> String {
    for rule in split_rules(rules) {
        let rule = rule.trim();
        if rule.eq_ignore_ascii_case("DEFAULT") {
            return dn.to_string();
        }
        let Some(body) = rule.strip_prefix("RULE:") else { continue };
        let (body, case) = match body.rsplit_once('/') {
            Some((b, flags)) => (b, flags.trim().to_ascii_uppercase()),
            None => continue,
        };
        let Some((pattern, replacement)) = body.split_once('/') else { continue };
        let Ok(re) = regex::Regex::new(&format!("^(?:{pattern})$")) else { continue };
        if !re.is_match(dn) {
            continue;
        }
        let mapped = re.replace(dn, replacement).to_string();
        return match case.as_str() {
            "L" => mapped.to_lowercase(),
            "U" => mapped.to_uppercase(),
            _ => mapped,
        };
    }
    dn.to_string()
}

/// Rules are comma-separated, but a rule's regex may contain commas: a new rule starts only
/// at `,RULE:` or `,DEFAULT`.
fn split_rules(rules: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in rules.split(',') {
        let t = piece.trim_start();
        if out.is_empty() || t.starts_with("RULE:") || t.eq_ignore_ascii_case("DEFAULT") {
            out.push(piece.to_string());
        } else if let Some(last) = out.last_mut() {
            last.push(',');
            last.push_str(piece);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_rules_map_as_kafkas_ssl_principal_mapper() {
        let dn = "CN=Duke,OU=ServiceUsers,O=Org,C=US";
        assert_eq!(map_principal("DEFAULT", dn), dn);
        assert_eq!(map_principal("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,DEFAULT", dn), "Duke");
        assert_eq!(map_principal("RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$3/L,DEFAULT", dn), "duke@org");
        assert_eq!(map_principal("RULE:^CN=(.*?),OU=Other.*$/$1/,DEFAULT", dn), dn, "no match: DEFAULT");
        assert_eq!(map_principal("RULE:^CN=(.*?),OU=(.*?),.*$/$1/U", dn), "DUKE");
    }

    #[test]
    fn subjects_read_most_specific_first() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CountryName, "US");
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "Example, Inc");
        params.distinguished_name.push(rcgen::DnType::CommonName, "client-1");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let der = CertificateDer::from(cert.der().to_vec());
        assert_eq!(subject_of(&der).as_deref(), Some("CN=client-1,O=Example\\, Inc,C=US"));
    }

    #[test]
    fn keystores_load_and_mistakes_are_explained() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap().self_signed(&key).unwrap();
        let settings = TlsSettings {
            keystore_location: String::new(),
            keystore_certificate_chain: cert.pem(),
            keystore_key: key.serialize_pem(),
            key_password: String::new(),
            truststore_location: String::new(),
            truststore_certificates: String::new(),
            client_auth: ClientAuth::None,
            principal_mapping_rules: "DEFAULT".into(),
        };
        assert!(build(&settings).is_ok());
        let required = TlsSettings { client_auth: ClientAuth::Required, ..settings.clone() };
        assert!(build(&required).unwrap_err().contains("CA certificates"));
        let no_key = TlsSettings { keystore_key: "garbage".into(), ..settings.clone() };
        assert!(build(&no_key).unwrap_err().contains("private key"));
        let other = rcgen::KeyPair::generate().unwrap();
        let mismatched = TlsSettings { keystore_key: other.serialize_pem(), ..settings.clone() };
        assert!(build(&mismatched).is_err());
        // An encrypted PKCS#8 key (PBES2: PBKDF2-SHA256, AES-256-CBC) with ssl.key.password.
        let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[7; 16], &[9; 16]).unwrap();
        let info = pkcs8::PrivateKeyInfo::try_from(key.serialized_der()).unwrap();
        let encrypted = info.encrypt_with_params(params, "s3cret").unwrap();
        let pem = encrypted.to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF).unwrap();
        let locked = TlsSettings { keystore_key: pem.to_string(), key_password: "s3cret".into(), ..settings.clone() };
        assert!(build(&locked).is_ok(), "{:?}", build(&locked).err());
        let no_password = TlsSettings { key_password: String::new(), ..locked.clone() };
        assert!(build(&no_password).unwrap_err().contains("set ssl.key.password"));
        let wrong = TlsSettings { key_password: "guess".into(), ..locked };
        assert!(build(&wrong).unwrap_err().contains("cannot decrypt"));
    }
}
