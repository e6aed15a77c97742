//! The server side of SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka's
//! `ScramSaslServer` runs it, and the credential a server keeps per user and mechanism
//! ([`ScramCredential`]: salt, StoredKey, ServerKey, iterations; never the password).
//!
//! Two messages from the client, two answers:
//!
//! ```text
//! C: n,,n=user,r=<client nonce>[,ext=value]*            client-first-message
//! S: r=<client nonce><server nonce>,s=<salt>,i=<iterations>
//! C: c=biws,r=<both nonces>,p=<ClientProof>             client-final-message
//! S: v=<ServerSignature>
//! ```
//!
//! Where Kafka and the RFCs differ, Brook keeps to the RFC when a Kafka client cannot tell:
//! the AuthMessage is built from the messages as received (Kafka rebuilds them, which agrees
//! for every message its own client sends), and the channel binding must be the base64 of
//! the gs2 header (Kafka does not check it; its client always sends `c=biws` for `n,,`).
//! The final nonce must end with the combined nonce, as Kafka checks it (3.8.1 on): librdkafka
//! before 2.6.1 sends its client nonce twice (librdkafka#4895), and kcat 1.7 is built on it.
//! Failures are not `e=` messages: like Kafka, the exchange stops with an error the handler
//! turns into SASL_AUTHENTICATION_FAILED.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::{base64_decode, base64_encode, SaslError, Step};

pub mod client;
pub use client::ScramClient;

/// The one SCRAM extension Kafka knows: authenticate with a delegation token.
const TOKEN_AUTH: &str = "tokenauth";

/// A SCRAM variant, by its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];
    /// Kafka's `ScramMechanism.minIterations()`: fewer is refused when a credential is stored
    /// and when one is used.
    pub const MIN_ITERATIONS: u32 = 4096;
    /// Kafka's `maxIterations()` (and the controller's `MAX_ITERATIONS`).
    pub const MAX_ITERATIONS: u32 = 16384;

    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The mechanism byte of Alter/DescribeUserScramCredentials.
    pub fn type_code(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    /// `None` for 0 (Kafka's `UNKNOWN`) and every other unassigned code.
    pub fn from_type_code(code: i8) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.type_code() == code)
    }

    /// Bytes of the hash, so of StoredKey, ServerKey, SaltedPassword and ClientProof.
    pub fn hash_len(self) -> usize {
        match self {
            ScramMechanism::Sha256 => 32,
            ScramMechanism::Sha512 => 64,
        }
    }

    /// RFC 5802's `Hi(password, salt, iterations)`: PBKDF2 with HMAC of this hash and one
    /// output block. Kafka does no SASLprep (it takes the password's UTF-8 bytes), nor does
    /// Brook. What AlterUserScramCredentials' `SaltedPassword` holds.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => hi::<Hmac<Sha256>>(password, salt, iterations),
            ScramMechanism::Sha512 => hi::<Hmac<Sha512>>(password, salt, iterations),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
            ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => mac::<Hmac<Sha256>>(key, data),
            ScramMechanism::Sha512 => mac::<Hmac<Sha512>>(key, data),
        }
    }
}

impl std::fmt::Display for ScramMechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn keyed<M: Mac + KeyInit>(key: &[u8]) -> M {
    // HMAC takes a key of any length (RFC 2104 hashes a long one), so this cannot fail.
    <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = keyed::<M>(key);
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn hi<M: Mac + KeyInit + Clone>(password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    // Keyed once and cloned per round: rekeying would hash the password 2 × iterations
    // times more.
    let key = keyed::<M>(password);
    let mut m = key.clone();
    m.update(salt);
    m.update(&1u32.to_be_bytes());
    let mut u = m.finalize().into_bytes().to_vec();
    let mut out = u.clone();
    for _ in 1..iterations {
        let mut m = key.clone();
        m.update(&u);
        u = m.finalize().into_bytes().to_vec();
        out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// What a server keeps to authenticate one user with one SCRAM mechanism (Kafka's
/// `ScramCredential`). The keys let the server check a proof but not make one.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    /// H(ClientKey), ClientKey = HMAC(SaltedPassword, "Client Key").
    pub stored_key: Vec<u8>,
    /// HMAC(SaltedPassword, "Server Key").
    pub server_key: Vec<u8>,
    pub iterations: u32,
}

impl ScramCredential {
    /// The credential for `password` (what `kafka-configs --add-config 'SCRAM-SHA-256=[...]'`
    /// and the admin client compute).
    pub fn derive(mechanism: ScramMechanism, password: &str, salt: &[u8], iterations: u32) -> Self {
        let salted = mechanism.salted_password(password.as_bytes(), salt, iterations);
        Self::from_salted_password(mechanism, salt, &salted, iterations)
    }

    /// The credential for a SaltedPassword the client computed (AlterUserScramCredentials'
    /// upsertion; Kafka's `ScramFormatter.generateCredential(salt, saltedPassword, ...)`).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salt: &[u8],
        salted_password: &[u8],
        iterations: u32,
    ) -> Self {
        let client_key = mechanism.hmac(salted_password, b"Client Key");
        Self {
            salt: salt.to_vec(),
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(salted_password, b"Server Key"),
            iterations,
        }
    }
}

impl std::fmt::Debug for ScramCredential {
    // Kafka's `ScramCredentialValue.toString` hides them too: logs are read by more people
    // than the credential store.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("salt", &"[hidden]")
            .field("stored_key", &"[hidden]")
            .field("server_key", &"[hidden]")
            .field("iterations", &self.iterations)
            .finish()
    }
}

/// One client's SCRAM exchange (Kafka's `ScramSaslServer`), one per connection and
/// authentication.
pub struct ScramServer {
    mechanism: ScramMechanism,
    state: State,
    /// The server nonce to use instead of a random one (tests, RFC vectors).
    fixed_nonce: Option<String>,
}

enum State {
    ReceiveClientFirst,
    ReceiveClientFinal(Box<Exchange>),
    Complete,
    Failed,
}

/// What the first round leaves for the second.
struct Exchange {
    username: String,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    /// Client nonce followed by server nonce.
    nonce: String,
    credential: ScramCredential,
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism) -> Self {
        Self { mechanism, state: State::ReceiveClientFirst, fixed_nonce: None }
    }

    /// A server that uses `server_nonce` instead of a random one, to replay a recorded
    /// exchange (the RFC's test vectors). Never for a real client: the nonce is what makes
    /// each proof good once.
    pub fn with_server_nonce(mechanism: ScramMechanism, server_nonce: &str) -> Self {
        Self { fixed_nonce: Some(server_nonce.to_string()), ..Self::new(mechanism) }
    }

    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete)
    }

    /// Takes the client's next message. `lookup` finds a user's credential for this
    /// mechanism; it is called at most once, on the first message. Any error ends the
    /// exchange: later messages get [`SaslError::IllegalState`].
    pub fn step(
        &mut self,
        client_message: &[u8],
        lookup: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<Step, SaslError> {
        // Failed unless this step succeeds; the credential goes with the exchange.
        match std::mem::replace(&mut self.state, State::Failed) {
            State::ReceiveClientFirst => {
                let exchange = self.client_first(client_message, lookup)?;
                let reply = exchange.server_first.clone().into_bytes();
                self.state = State::ReceiveClientFinal(Box::new(exchange));
                Ok(Step::Continue(reply))
            }
            State::ReceiveClientFinal(exchange) => {
                let response = self.client_final(&exchange, client_message)?;
                self.state = State::Complete;
                Ok(Step::Done { principal: exchange.username, response, expires_at_ms: None })
            }
            State::Complete => {
                Err(SaslError::IllegalState("Unexpected challenge in Sasl server state COMPLETE".into()))
            }
            State::Failed => Err(SaslError::IllegalState("Unexpected challenge in Sasl server state FAILED".into())),
        }
    }

    fn client_first(
        &mut self,
        bytes: &[u8],
        lookup: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<Exchange, SaslError> {
        let first = std::str::from_utf8(bytes)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(ClientFirst::parse)
            .map_err(|why| SaslError::Hidden(format!("Invalid SCRAM client first message format: {why}")))?;
        let unknown: Vec<&str> = first.extensions.iter().map(|(k, _)| *k).filter(|k| *k != TOKEN_AUTH).collect();
        if !unknown.is_empty() {
            tracing::debug!(extensions = ?unknown, "ignoring unsupported SCRAM extensions");
        }
        // Kafka reads the extensions into a map (the last value wins) and parses the flag
        // with Boolean.parseBoolean. Brook has no delegation tokens, so none is valid.
        let token_auth = first.extensions.iter().rev().find(|(k, _)| *k == TOKEN_AUTH);
        if token_auth.is_some_and(|(_, v)| v.eq_ignore_ascii_case("true")) {
            return Err(SaslError::Hidden(format!(
                "Token Authentication failed: Invalid tokenId : {}",
                first.username
            )));
        }
        let Some(credential) = lookup(&first.username) else {
            return Err(SaslError::Hidden("Authentication failed: Invalid user credentials".into()));
        };
        if !first.authzid.is_empty() && first.authzid != first.username {
            return Err(SaslError::Visible(
                "Authentication failed: Client requested an authorization id that is different from username".into(),
            ));
        }
        if credential.iterations < ScramMechanism::MIN_ITERATIONS {
            return Err(SaslError::Hidden(format!(
                "Iterations {} is less than the minimum {} for {}",
                credential.iterations,
                ScramMechanism::MIN_ITERATIONS,
                self.mechanism
            )));
        }
        let server_nonce = match self.fixed_nonce.take() {
            Some(n) => n,
            None => random_nonce().map_err(|e| {
                SaslError::Hidden(format!("Authentication failed: Credentials could not be obtained: {e}"))
            })?,
        };
        let nonce = format!("{}{server_nonce}", first.nonce);
        let server_first = format!("r={nonce},s={},i={}", base64_encode(&credential.salt), credential.iterations);
        Ok(Exchange {
            username: first.username,
            gs2_header: first.gs2_header.to_string(),
            client_first_bare: first.bare.to_string(),
            server_first,
            nonce,
            credential,
        })
    }

    fn client_final(&self, ex: &Exchange, bytes: &[u8]) -> Result<Vec<u8>, SaslError> {
        let fin = std::str::from_utf8(bytes)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(ClientFinal::parse)
            .map_err(|why| SaslError::Hidden(format!("Invalid SCRAM client final message format: {why}")))?;
        if fin.channel_binding != ex.gs2_header.as_bytes() {
            return Err(SaslError::Hidden("Invalid channel binding in the final client message.".into()));
        }
        if !fin.nonce.ends_with(&ex.nonce) {
            return Err(SaslError::Hidden("Invalid client nonce in the final client message.".into()));
        }
        let mech = self.mechanism;
        let auth_message = format!("{},{},{}", ex.client_first_bare, ex.server_first, fin.without_proof);
        let client_signature = mech.hmac(&ex.credential.stored_key, auth_message.as_bytes());
        if fin.proof.len() != client_signature.len() {
            return Err(SaslError::Hidden("Invalid client credentials".into()));
        }
        let client_key: Vec<u8> = fin.proof.iter().zip(&client_signature).map(|(p, s)| p ^ s).collect();
        // Constant time: how many leading bytes matched must not show in how long it took.
        if !bool::from(mech.hash(&client_key).ct_eq(&ex.credential.stored_key)) {
            return Err(SaslError::Hidden("Invalid client credentials".into()));
        }
        let server_signature = mech.hmac(&ex.credential.server_key, auth_message.as_bytes());
        Ok(format!("v={}", base64_encode(&server_signature)).into_bytes())
    }
}

/// 24 random bytes in base64: 32 printable characters without `,` (Kafka sends 130 random
/// bits in base 36).
fn random_nonce() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)?;
    Ok(base64_encode(&bytes))
}

/// A parsed client-first-message: `gs2-header [m=...,] n=saslname,r=nonce[,key=value]*`.
struct ClientFirst<'a> {
    /// `n,,` or `n,a=<authzid>,`: what `c=` must carry back.
    gs2_header: &'a str,
    /// Decoded; empty when absent.
    authzid: String,
    /// The client-first-message-bare, as received (part of the AuthMessage).
    bare: &'a str,
    username: String,
    nonce: &'a str,
    extensions: Vec<(&'a str, &'a str)>,
}

impl<'a> ClientFirst<'a> {
    fn parse(msg: &'a str) -> Result<Self, String> {
        let rest = match msg.as_bytes().first() {
            // `y` (client could bind, thinks the server can't) and `p=` (binds) name channel
            // binding; Kafka's pattern accepts only `n`, and Brook binds no channel either.
            Some(b'y' | b'p') => return Err("channel binding is not supported".into()),
            Some(b'n') => msg.strip_prefix("n,").ok_or("no ',' after the gs2 flag")?,
            _ => return Err("no gs2 header".into()),
        };
        let (authz, bare) = rest.split_once(',').ok_or("unterminated gs2 header")?;
        let authzid = match authz {
            "" => String::new(),
            a => decode_saslname(a.strip_prefix("a=").ok_or("malformed authzid")?)?,
        };
        let gs2_header = &msg[..msg.len() - bare.len()];
        let mut fields = bare.split(',').peekable();
        // Kafka's pattern allows the reserved `m=` extension here (RFC 5802 would fail it).
        if fields.next_if(|f| f.starts_with("m=")).is_some_and(|f| f.len() == 2) {
            return Err("empty reserved-mext".into());
        }
        let username = decode_saslname(fields.next().and_then(|f| f.strip_prefix("n=")).ok_or("no username")?)?;
        let nonce = fields.next().and_then(|f| f.strip_prefix("r=")).ok_or("no nonce")?;
        check_nonce(nonce)?;
        let extensions = fields.map(parse_extension).collect::<Result<_, _>>()?;
        Ok(Self { gs2_header, authzid, bare, username, nonce, extensions })
    }
}

/// A parsed client-final-message: `c=<binding>,r=<nonce>[,key=value]*,p=<proof>`.
struct ClientFinal<'a> {
    channel_binding: Vec<u8>,
    nonce: &'a str,
    /// The client-final-message-without-proof, as received (part of the AuthMessage).
    without_proof: &'a str,
    proof: Vec<u8>,
}

impl<'a> ClientFinal<'a> {
    fn parse(msg: &'a str) -> Result<Self, String> {
        // The proof is last and base64 has no ',', so the last ",p=" starts it.
        let (without_proof, proof) = msg.rsplit_once(",p=").ok_or("no proof")?;
        let proof = base64_decode(&base64::alphabet::STANDARD, proof).ok_or("proof is not base64")?;
        let mut fields = without_proof.split(',');
        let binding = fields.next().and_then(|f| f.strip_prefix("c=")).ok_or("no channel binding")?;
        let channel_binding =
            base64_decode(&base64::alphabet::STANDARD, binding).ok_or("channel binding is not base64")?;
        let nonce = fields.next().and_then(|f| f.strip_prefix("r=")).ok_or("no nonce")?;
        check_nonce(nonce)?;
        for field in fields {
            parse_extension(field)?;
        }
        Ok(Self { channel_binding, nonce, without_proof, proof })
    }
}

/// RFC 5802's `printable`: `%x21-2B / %x2D-7E`, at least one.
fn check_nonce(nonce: &str) -> Result<(), String> {
    if nonce.is_empty() || !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
        return Err("the nonce is not printable ASCII".into());
    }
    Ok(())
}

/// `key=value` with an alphabetic key and a non-empty value (Kafka's `EXTENSIONS`).
fn parse_extension(field: &str) -> Result<(&str, &str), String> {
    match field.split_once('=') {
        Some((k, v)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphabetic()) && !v.is_empty() => Ok((k, v)),
        _ => Err("malformed extension".into()),
    }
}

/// A `saslname` to the name it stands for: `=2C` is `,` and `=3D` is `=`; any other `=`,
/// a NUL or nothing at all is malformed (RFC 5802 §5.1, Kafka's `ScramFormatter.username`).
pub fn decode_saslname(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("empty saslname".into());
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find(['=', '\0']) {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err("invalid saslname escape".into()),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A name as a `saslname` (the inverse of [`decode_saslname`]; clients do this).
pub fn encode_saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

#[cfg(test)]
mod tests;
