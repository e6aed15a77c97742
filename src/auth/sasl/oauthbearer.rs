//! SASL/OAUTHBEARER (RFC 7628, KIP-255) with Kafka's *unsecured* JWS tokens, for
//! development: the client's initial response and its token checked as Kafka's
//! `OAuthBearerSaslServer`, `OAuthBearerUnsecuredJws`, `OAuthBearerValidationUtils` and
//! `OAuthBearerUnsecuredValidatorCallbackHandler` check them. The token is trusted because it
//! says so (`alg: none`, no signature): never for a listener reachable by strangers.
//!
//! ```text
//! C: n,,\x01auth=Bearer <b64url(header)>.<b64url(claims)>.\x01[key=value\x01]*\x01
//! S: (empty)                                  authenticated; or, for a bad token:
//! S: {"status":"invalid_token"}                then
//! C: \x01                                      and the exchange fails with that JSON
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::scram::decode_saslname;
use super::{base64_decode, SaslError, Step};

const SEPARATOR: char = '\u{1}';

/// The unsecured validator's options (Kafka's JAAS options `unsecuredValidatorPrincipalClaimName`,
/// `unsecuredValidatorScopeClaimName`, `unsecuredValidatorRequiredScope`,
/// `unsecuredValidatorAllowableClockSkewMs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsecuredValidator {
    principal_claim: String,
    scope_claim: String,
    required_scope: Vec<String>,
    clock_skew_ms: i64,
}

impl Default for UnsecuredValidator {
    /// `sub` names the principal, `scope` the scope, none is required, no clock skew.
    fn default() -> Self {
        Self {
            principal_claim: "sub".into(),
            scope_claim: "scope".into(),
            required_scope: Vec::new(),
            clock_skew_ms: 0,
        }
    }
}

impl UnsecuredValidator {
    /// Blank claim names mean the defaults (`sub`, `scope`); `required_scope` is
    /// space-separated. Kafka's messages for a bad scope or a negative skew.
    pub fn new(
        principal_claim: &str,
        scope_claim: &str,
        required_scope: &str,
        clock_skew_ms: i64,
    ) -> Result<Self, String> {
        let or = |name: &str, default: &str| -> String {
            if name.trim().is_empty() {
                default.into()
            } else {
                name.trim().into()
            }
        };
        if clock_skew_ms < 0 {
            return Err(format!("Allowable clock skew millis must not be negative: {clock_skew_ms}"));
        }
        let mut required = Vec::new();
        for item in required_scope.trim().split(' ').filter(|s| !s.is_empty()) {
            // RFC 6749's scope-token: %x21 / %x23-5B / %x5D-7E (no '"', no '\', so it can go
            // into the JSON error unescaped).
            if !item.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)) {
                return Err(format!("Invalid scope value: {item}"));
            }
            required.push(item.to_string());
        }
        Ok(Self {
            principal_claim: or(principal_claim, "sub"),
            scope_claim: or(scope_claim, "scope"),
            required_scope: required,
            clock_skew_ms,
        })
    }

    /// Checks `token` at `now_ms` (ms since the epoch).
    pub fn validate(&self, token: &str, now_ms: i64) -> Result<UnsecuredToken, TokenError> {
        let jws = Jws::parse(token, &self.principal_claim, &self.scope_claim)?;
        let skew = self.clock_skew_ms;
        if let Some(iat) = jws.issued_at {
            if 1000.0 * iat > now_ms.saturating_add(skew) as f64 {
                return Err(TokenError::invalid(format!(
                    "The Issued At value ({iat:.6} seconds) was after the indicated time ({now_ms} ms) plus allowable \
                     clock skew ({skew} ms)"
                )));
            }
        }
        if now_ms.saturating_sub(skew) as f64 >= 1000.0 * jws.expiration {
            return Err(TokenError::invalid(format!(
                "The indicated time ({now_ms} ms) minus allowable clock skew ({skew} ms) was on or after the \
                 Expiration Time value ({:.6} seconds)",
                jws.expiration
            )));
        }
        if let Some(iat) = jws.issued_at.filter(|iat| jws.expiration <= *iat) {
            return Err(TokenError::invalid(format!(
                "The Expiration Time time ({:.6} seconds) was not after the Issued At time ({iat:.6} seconds)",
                jws.expiration
            )));
        }
        if let Some(missing) = self.required_scope.iter().find(|s| !jws.scope.contains(*s)) {
            let required = java_list(self.required_scope.iter());
            return Err(TokenError {
                description: format!(
                    "The provided scope ({}) was missing a required scope ({missing}).  All required scope elements: \
                     {required}",
                    java_list(jws.scope.iter())
                ),
                scope: Some(required),
            });
        }
        Ok(UnsecuredToken {
            principal: jws.principal,
            lifetime_ms: seconds_to_ms(jws.expiration),
            start_time_ms: jws.issued_at.map(seconds_to_ms),
            scope: jws.scope,
        })
    }
}

/// A token that passed: what Kafka's `OAuthBearerToken` offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsecuredToken {
    /// The principal claim's value, as written.
    pub principal: String,
    /// `exp` in ms since the epoch (Kafka's `lifetimeMs`, despite the name).
    pub lifetime_ms: i64,
    /// `iat` in ms, when present.
    pub start_time_ms: Option<i64>,
    pub scope: BTreeSet<String>,
}

/// Why a token was refused: `description` for the broker's log, `scope` (the required scope)
/// when the token lacked some of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{description}")]
pub struct TokenError {
    pub description: String,
    pub scope: Option<String>,
}

impl TokenError {
    fn invalid(description: impl Into<String>) -> Self {
        Self { description: description.into(), scope: None }
    }

    /// RFC 6750's error code.
    pub fn status(&self) -> &'static str {
        if self.scope.is_some() {
            "insufficient_scope"
        } else {
            "invalid_token"
        }
    }

    /// The server's challenge (RFC 7628 §3.2.2), byte for byte as Kafka's
    /// `OAuthBearerSaslServer.jsonErrorResponse` writes it.
    pub fn json(&self) -> String {
        match &self.scope {
            Some(scope) => format!("{{\"status\":\"{}\", \"scope\":\"{scope}\"}}", self.status()),
            None => format!("{{\"status\":\"{}\"}}", self.status()),
        }
    }
}

/// One client's OAUTHBEARER exchange.
#[derive(Debug, Default)]
pub struct OAuthBearerServer {
    /// The JSON sent for a refused token, which fails the exchange when the client
    /// acknowledges it.
    error_json: Option<String>,
    finished: bool,
}

impl OAuthBearerServer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the client's message at `now_ms`. A good token answers `Done` (empty response,
    /// `expires_at_ms` = the token's `exp`); a refused one answers `Continue` with the JSON
    /// error, and the client's `\x01` after it fails the exchange with that JSON as the
    /// message (Kafka's two-step failure, RFC 7628 §3.2.3).
    pub fn step(
        &mut self,
        client_message: &[u8],
        validator: &UnsecuredValidator,
        now_ms: i64,
    ) -> Result<Step, SaslError> {
        if self.finished {
            return Err(SaslError::IllegalState("Unexpected SASL/OAUTHBEARER message after the exchange ended".into()));
        }
        if let (&[0x01], Some(json)) = (client_message, self.error_json.take()) {
            self.finished = true;
            return Err(SaslError::Visible(json));
        }
        self.error_json = None;
        let response = ClientInitialResponse::parse(client_message).inspect_err(|_| self.finished = true)?;
        let token = match validator.validate(&response.token, now_ms) {
            Ok(token) => token,
            Err(e) => {
                tracing::debug!("refusing an unsecured OAUTHBEARER token: {e}");
                let json = e.json();
                self.error_json = Some(json.clone());
                return Ok(Step::Continue(json.into_bytes()));
            }
        };
        self.finished = true;
        if !response.authzid.is_empty() && response.authzid != token.principal {
            return Err(SaslError::Visible(format!(
                "Authentication failed: Client requested an authorization id ({}) that is different from the token's \
                 principal name ({})",
                response.authzid, token.principal
            )));
        }
        // The unsecured handler accepts every extension; they are the client's to send.
        Ok(Step::Done { principal: token.principal, response: Vec::new(), expires_at_ms: Some(token.lifetime_ms) })
    }
}

/// RFC 7628's client initial response (Kafka's `OAuthBearerClientInitialResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInitialResponse {
    /// Decoded from the gs2 header's `a=`; empty when absent.
    pub authzid: String,
    pub token: String,
    /// The other `key=value` pairs (the last of a repeated key wins, as in Kafka's map).
    pub extensions: BTreeMap<String, String>,
}

impl ClientInitialResponse {
    pub fn parse(message: &[u8]) -> Result<Self, SaslError> {
        let invalid = |why: &str| SaslError::Hidden(format!("Invalid OAUTHBEARER client first message{why}"));
        let text = std::str::from_utf8(message).map_err(|_| invalid(""))?;
        let (authz, rest) = text.strip_prefix("n,").and_then(|r| r.split_once(',')).ok_or_else(|| invalid(""))?;
        let authzid = match authz {
            "" => String::new(),
            a => a.strip_prefix("a=").and_then(|n| decode_saslname(n).ok()).ok_or_else(|| invalid(""))?,
        };
        // `\x01 (key=value \x01)* \x01`
        let pairs = rest.strip_prefix(SEPARATOR).and_then(|r| r.strip_suffix(SEPARATOR)).ok_or_else(|| invalid(""))?;
        let mut map = BTreeMap::new();
        if !pairs.is_empty() {
            let pairs = pairs.strip_suffix(SEPARATOR).ok_or_else(|| invalid(""))?;
            for pair in pairs.split(SEPARATOR) {
                let (key, value) = pair.split_once('=').ok_or_else(|| invalid(""))?;
                let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphabetic());
                let value_ok =
                    !value.is_empty() && value.bytes().all(|b| (0x21..=0x7e).contains(&b) || b" \t\r\n".contains(&b));
                if !key_ok || !value_ok {
                    return Err(invalid(""));
                }
                map.insert(key.to_string(), value.to_string());
            }
        }
        let auth = map.remove("auth").ok_or_else(|| invalid(": 'auth' not specified"))?;
        // `scheme 1*SP token`, the token RFC 6750's b64token.
        let (scheme, token) = auth.split_once(' ').ok_or_else(|| invalid(": invalid 'auth' format"))?;
        let token = token.trim_start_matches(' ');
        let body = token.trim_end_matches('=');
        let scheme_ok = !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let token_ok = !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_~+/.".contains(&b));
        if !scheme_ok || !token_ok {
            return Err(invalid(": invalid 'auth' format"));
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(SaslError::Hidden(format!("Invalid scheme in OAUTHBEARER client first message: {scheme}")));
        }
        Ok(Self { authzid, token: token.to_string(), extensions: map })
    }
}

/// A claim as Kafka's `OAuthBearerUnsecuredJws.convert` sees JSON: numbers stay numbers,
/// arrays become lists of their elements' text, everything else becomes its text (so `true`
/// is the string "true").
#[derive(Debug, Clone, PartialEq)]
enum Claim {
    Text(String),
    Number { value: f64, java_type: &'static str },
    List(Vec<String>),
}

impl Claim {
    fn from_json(v: &Value) -> Self {
        match v {
            Value::Array(items) => Claim::List(items.iter().map(json_text).collect()),
            Value::Number(n) => {
                let java_type = match (n.as_i64(), n.is_f64()) {
                    (Some(i), _) if i32::try_from(i).is_ok() => "Integer",
                    (Some(_), _) => "Long",
                    (None, false) => "BigInteger",
                    (None, true) => "Double",
                };
                // Without serde_json's arbitrary precision every number has an f64.
                Claim::Number { value: n.as_f64().unwrap_or(0.0), java_type }
            }
            other => Claim::Text(json_text(other)),
        }
    }

    /// The Java class name Kafka's "was not of type" messages show.
    fn java_type(&self) -> &'static str {
        match self {
            Claim::Text(_) => "String",
            Claim::Number { java_type, .. } => java_type,
            Claim::List(_) => "ArrayList",
        }
    }
}

/// Jackson's `asText`.
fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Array(_) | Value::Object(_) => String::new(),
    }
}

/// An unsecured JWS's parts, checked as `OAuthBearerUnsecuredJws`'s constructor does.
struct Jws {
    principal: String,
    expiration: f64,
    issued_at: Option<f64>,
    scope: BTreeSet<String>,
}

impl Jws {
    fn parse(token: &str, principal_claim: &str, scope_claim: &str) -> Result<Self, TokenError> {
        if token.contains("..") {
            return Err(TokenError::invalid("Malformed compact serialization contains '..'"));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return Err(TokenError::invalid(
                "Unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded values",
            ));
        };
        let header = json_object(header)?;
        let claims = json_object(claims)?;
        match header.get("alg") {
            None => return Err(TokenError::invalid("JWS header must have an Algorithm value")),
            Some(Claim::Text(alg)) if alg == "none" => {}
            Some(_) => return Err(TokenError::invalid("Unsecured JWS must have 'none' for an algorithm")),
        }
        if !signature.is_empty() {
            return Err(TokenError::invalid("Unsecured JWS must not contain a digital signature"));
        }
        let scope = match claims.get(scope_claim) {
            None => BTreeSet::new(),
            Some(Claim::Text(s)) if s.trim().is_empty() => BTreeSet::new(),
            Some(Claim::Text(s)) => BTreeSet::from([s.trim().to_string()]),
            Some(Claim::List(items)) => {
                items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_string).collect()
            }
            Some(other) => return Err(not_of_type(scope_claim, "List", other)),
        };
        let expiration = match claims.get("exp") {
            None => return Err(TokenError::invalid("No expiration time in JWT")),
            Some(Claim::Number { value, .. }) => *value,
            Some(other) => return Err(not_of_type("exp", "Number", other)),
        };
        let principal = match claims.get(principal_claim) {
            Some(Claim::Text(p)) if !p.trim().is_empty() => p.clone(),
            None | Some(Claim::Text(_)) => {
                return Err(TokenError::invalid(format!("No principal name in JWT claim: {principal_claim}")))
            }
            Some(other) => return Err(not_of_type(principal_claim, "String", other)),
        };
        let issued_at = match claims.get("iat") {
            None => None,
            Some(Claim::Number { value, .. }) => Some(*value),
            Some(other) => return Err(not_of_type("iat", "Number", other)),
        };
        Ok(Self { principal, expiration, issued_at, scope })
    }
}

fn not_of_type(claim: &str, wanted: &str, found: &Claim) -> TokenError {
    TokenError::invalid(format!("The '{claim}' claim was not of type {wanted}: {}", found.java_type()))
}

/// A base64url JSON object to its claims; anything but an object has none (Jackson's
/// `fields()` of a non-object is empty).
fn json_object(part: &str) -> Result<BTreeMap<String, Claim>, TokenError> {
    let bytes = base64_decode(&base64::alphabet::URL_SAFE, part)
        .ok_or_else(|| TokenError::invalid("malformed Base64 URL encoded value"))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| TokenError::invalid("malformed JSON"))?;
    Ok(match value {
        Value::Object(fields) => fields.iter().map(|(k, v)| (k.clone(), Claim::from_json(v))).collect(),
        _ => BTreeMap::new(),
    })
}

/// Java's `Math.round(seconds * 1000)`: halves round up (toward +inf), and the cast
/// saturates as Java's does.
fn seconds_to_ms(seconds: f64) -> i64 {
    (seconds * 1000.0 + 0.5).floor() as i64
}

/// Java's `Collection.toString`: `[a, b]`.
fn java_list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    format!("[{}]", items.map(String::as_str).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests;
