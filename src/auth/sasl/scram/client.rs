//! The client side of SCRAM-SHA-256/512 (RFC 5802 §3, Kafka's `ScramSaslClient`): the
//! client-first-message, the proof for the server's challenge, and the check of the server's
//! signature. Used by the `brook` commands to log in, and by the tests as the server's peer.

use subtle::ConstantTimeEq;

use super::{base64_decode, base64_encode, encode_saslname, random_nonce, ScramMechanism};

/// One SCRAM login: first message, final message, then the server's final message checked.
pub struct ScramClient {
    mechanism: ScramMechanism,
    password: Vec<u8>,
    /// `n,,` or `n,a=<authzid>,`.
    gs2_header: String,
    nonce: String,
    username: String,
    /// `,key=value` extensions after the nonce (Kafka's SCRAM extensions).
    extensions: String,
    /// The ServerSignature the server must send back, once the final message is made.
    expected: Option<Vec<u8>>,
}

impl ScramClient {
    /// A login as `username` with a random client nonce.
    pub fn new(mechanism: ScramMechanism, username: &str, password: &str) -> Result<Self, String> {
        let nonce = random_nonce().map_err(|e| format!("cannot make a SCRAM nonce: {e}"))?;
        Ok(Self::with_nonce(mechanism, username, password, &nonce))
    }

    /// A login with a chosen client nonce: to replay the RFC's vectors. A real login takes a
    /// fresh random one ([`ScramClient::new`]), which is what makes each proof good once.
    pub fn with_nonce(mechanism: ScramMechanism, username: &str, password: &str, nonce: &str) -> Self {
        Self {
            mechanism,
            password: password.as_bytes().to_vec(),
            gs2_header: "n,,".into(),
            nonce: nonce.to_string(),
            username: username.to_string(),
            extensions: String::new(),
            expected: None,
        }
    }

    /// Asks to act as `authzid` (the gs2 header's `a=`; Kafka accepts only the username).
    pub fn with_authzid(mut self, authzid: &str) -> Self {
        self.gs2_header = format!("n,a={},", encode_saslname(authzid));
        self
    }

    /// Adds an extension to the first message (Kafka's `tokenauth=true` for delegation tokens).
    pub fn with_extension(mut self, key: &str, value: &str) -> Self {
        self.extensions.push_str(&format!(",{key}={value}"));
        self
    }

    fn first_bare(&self) -> String {
        format!("n={},r={}{}", encode_saslname(&self.username), self.nonce, self.extensions)
    }

    /// The client-first-message.
    pub fn first_message(&self) -> Vec<u8> {
        format!("{}{}", self.gs2_header, self.first_bare()).into_bytes()
    }

    /// The client-final-message (with the proof) answering the server-first-message, after
    /// Kafka's client checks: the server's nonce extends ours, and the iteration count is one
    /// a Kafka broker may store. The upper bound is Brook's: Hi runs that many HMACs before any
    /// timeout can fire, so a hostile server's `i=2000000000` must not be computed.
    pub fn final_message(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let text = std::str::from_utf8(server_first).map_err(|_| "the server's SCRAM challenge is not UTF-8")?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(format!("the server refused: {e}"));
        }
        let field = |key: &str| text.split(',').find_map(|f| f.strip_prefix(key));
        let malformed = || format!("malformed SCRAM challenge from the server: {text:?}");
        let nonce = field("r=").ok_or_else(malformed)?;
        let salt = field("s=").and_then(|s| base64_decode(&base64::alphabet::STANDARD, s)).ok_or_else(malformed)?;
        let iterations: u32 = field("i=").and_then(|i| i.parse().ok()).ok_or_else(malformed)?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err("invalid server nonce: it does not extend the client nonce".into());
        }
        let mech = self.mechanism;
        if iterations < ScramMechanism::MIN_ITERATIONS {
            return Err(format!(
                "requested iterations {iterations} is less than the minimum {} for {mech}",
                ScramMechanism::MIN_ITERATIONS
            ));
        }
        if iterations > ScramMechanism::MAX_ITERATIONS {
            return Err(format!(
                "requested iterations {iterations} is more than the maximum {} for {mech}",
                ScramMechanism::MAX_ITERATIONS
            ));
        }
        let salted = mech.salted_password(&self.password, &salt, iterations);
        let client_key = mech.hmac(&salted, b"Client Key");
        let stored_key = mech.hash(&client_key);
        let without_proof = format!("c={},r={nonce}", base64_encode(self.gs2_header.as_bytes()));
        let auth_message = format!("{},{text},{without_proof}", self.first_bare());
        let signature = mech.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
        self.expected = Some(mech.hmac(&mech.hmac(&salted, b"Server Key"), auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", base64_encode(&proof)).into_bytes())
    }

    /// Checks the server-final-message: the server proves it knew the credential too, so a
    /// server that merely accepted everything is caught.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(server_final);
        if let Some(e) = text.strip_prefix("e=") {
            return Err(format!("the server refused: {e}"));
        }
        let expected = self.expected.as_ref().ok_or("no SCRAM final message was sent")?;
        let signature = text
            .split(',')
            .find_map(|f| f.strip_prefix("v="))
            .and_then(|v| base64_decode(&base64::alphabet::STANDARD, v))
            .ok_or_else(|| format!("malformed SCRAM final message from the server: {text:?}"))?;
        match bool::from(signature.ct_eq(expected)) {
            true => Ok(()),
            false => Err("invalid server signature in the server's final message".into()),
        }
    }
}

impl std::fmt::Debug for ScramClient {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient").field("mechanism", &self.mechanism).field("username", &self.username).finish()
    }
}
