//! SASL/PLAIN (RFC 4616) as Kafka's `PlainSaslServer` and `PlainServerCallbackHandler` run
//! it: one message, `[authzid] NUL authcid NUL passwd`, checked against the listener's users
//! ([`PlainUsers`], Kafka's JAAS `user_<name>="<password>"` options; Brook's
//! `sasl.plain.users`). Every failure is shown to the client, with Kafka's messages.

use std::collections::BTreeMap;

use subtle::ConstantTimeEq;

use super::{SaslError, Step};

/// The users PLAIN accepts and their passwords.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PlainUsers {
    passwords: BTreeMap<String, String>,
}

impl PlainUsers {
    /// Parses `alice:secret,bob:pw`: entries split on `,`, each on its first `:` (so a
    /// password may hold `:` but not `,`). Space around an entry is dropped; a password is
    /// taken as written. A message names an entry by its position, never by its text, which
    /// may be part of a password.
    pub fn parse(setting: &str) -> Result<Self, String> {
        let mut passwords = BTreeMap::new();
        for (i, entry) in setting.split(',').enumerate().filter(|(_, e)| !e.trim().is_empty()) {
            let n = i + 1;
            let Some((user, password)) = entry.trim_start().split_once(':') else {
                return Err(format!("sasl.plain.users entry {n} is not user:password (a password cannot hold ',')"));
            };
            let user = user.trim();
            let password = password.trim_end();
            if user.is_empty() {
                return Err(format!("sasl.plain.users entry {n} has no user name"));
            }
            if password.is_empty() {
                // PLAIN refuses an empty password, so the user could never log in.
                return Err(format!("sasl.plain.users entry {n} ({user}) has an empty password"));
            }
            if passwords.insert(user.to_string(), password.to_string()).is_some() {
                return Err(format!("sasl.plain.users names {user} twice"));
            }
        }
        Ok(Self { passwords })
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self { passwords: pairs.into_iter().map(|(u, p)| (u.to_string(), p.to_string())).collect() }
    }

    /// Whether `password` is `user`'s. The comparison takes the same time however many
    /// leading bytes match (Kafka's `Utils.isEqualConstantTime`); whether the user exists
    /// and the password's length may still show, as in Kafka.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        self.passwords.get(user).is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(password.as_bytes())))
    }

    pub fn len(&self) -> usize {
        self.passwords.len()
    }

    pub fn is_empty(&self) -> bool {
        self.passwords.is_empty()
    }

    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.passwords.keys().map(String::as_str)
    }
}

impl std::fmt::Debug for PlainUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainUsers").field("users", &self.passwords.keys().collect::<Vec<_>>()).finish()
    }
}

/// One client's PLAIN exchange: a single message, then done.
#[derive(Debug, Default)]
pub struct PlainServer {
    finished: bool,
}

impl PlainServer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the client's message against `users`. Answers `Done` with an empty response
    /// or an error; a second message is an [`SaslError::IllegalState`].
    pub fn step(&mut self, client_message: &[u8], users: &PlainUsers) -> Result<Step, SaslError> {
        if std::mem::replace(&mut self.finished, true) {
            return Err(SaslError::IllegalState("Unexpected SASL/PLAIN message after the exchange ended".into()));
        }
        let principal = authenticate(client_message, users)?;
        Ok(Step::Done { principal, response: Vec::new(), expires_at_ms: None })
    }
}

/// The one message a PLAIN client sends: no authorization id (so the username's own), the
/// username and the password, NUL-separated (Kafka's `PlainSaslClient` sends the same).
pub fn client_message(username: &str, password: &str) -> Vec<u8> {
    format!("\0{username}\0{password}").into_bytes()
}

/// The authenticated user name for a PLAIN message, in Kafka's order of checks: the
/// message's shape, empty fields, the password, then the authorization id.
pub fn authenticate(message: &[u8], users: &PlainUsers) -> Result<String, SaslError> {
    let fail = |m: &str| SaslError::Visible(m.to_string());
    // Kafka decodes with String(bytes, UTF_8), which replaces bad bytes; RFC 4616 says a
    // server must refuse them, which cannot turn a wrong password into a right one.
    let text = std::str::from_utf8(message).map_err(|_| fail("Invalid SASL/PLAIN response: not valid UTF-8"))?;
    // Kafka splits at most 4 times on NUL and wants exactly 3 pieces.
    let tokens: Vec<&str> = text.splitn(4, '\0').collect();
    let [authzid, username, password] = tokens[..] else {
        return Err(SaslError::Visible(format!(
            "Invalid SASL/PLAIN response: expected 3 tokens, got {}",
            tokens.len()
        )));
    };
    if username.is_empty() {
        return Err(fail("Authentication failed: username not specified"));
    }
    if password.is_empty() {
        return Err(fail("Authentication failed: password not specified"));
    }
    if !users.verify(username, password) {
        return Err(fail("Authentication failed: Invalid username or password"));
    }
    if !authzid.is_empty() && authzid != username {
        return Err(fail(
            "Authentication failed: Client requested an authorization id that is different from username",
        ));
    }
    Ok(username.to_string())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn users() -> PlainUsers {
        PlainUsers::parse("alice:secret, bob:p:w ,").unwrap()
    }

    fn visible(m: &str) -> SaslError {
        SaslError::Visible(m.into())
    }

    #[test]
    fn the_users_setting_is_user_colon_password_by_commas() {
        let u = users();
        assert_eq!(u.users().collect::<Vec<_>>(), ["alice", "bob"]);
        assert!(u.verify("alice", "secret"));
        assert!(u.verify("bob", "p:w"), "a password may hold ':'");
        assert!(!u.verify("alice", "secre"));
        assert!(!u.verify("alice", "secret2"));
        assert!(!u.verify("carol", "secret"));
        assert!(PlainUsers::parse("").unwrap().is_empty());
        assert_eq!(PlainUsers::from_pairs([("a", "b")]).len(), 1);
        for (bad, why) in [
            ("alice:pw,with,commas", "entry 2 is not user:password"),
            (":pw", "entry 1 has no user name"),
            ("alice:", "entry 1 (alice) has an empty password"),
            ("alice:a,alice:b", "names alice twice"),
        ] {
            let err = PlainUsers::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(!err.contains("commas") && !err.contains(":pw"), "no password text in {err}");
        }
        let shown = format!("{:?}", u);
        assert!(shown.contains("alice") && !shown.contains("secret"), "{shown}");
    }

    #[test]
    fn good_credentials_authenticate_with_or_without_the_same_authzid() {
        assert_eq!(authenticate(b"\0alice\0secret", &users()), Ok("alice".into()));
        assert_eq!(authenticate(b"alice\0alice\0secret", &users()), Ok("alice".into()));
        let mut server = PlainServer::new();
        assert_eq!(
            server.step(b"\0bob\0p:w", &users()),
            Ok(Step::Done { principal: "bob".into(), response: vec![], expires_at_ms: None })
        );
        assert!(matches!(server.step(b"\0bob\0p:w", &users()), Err(SaslError::IllegalState(_))));
    }

    #[test]
    fn failures_carry_kafkas_messages() {
        let u = users();
        let cases: [(&[u8], String); 9] = [
            (b"\0alice\0wrong", "Authentication failed: Invalid username or password".into()),
            (b"\0carol\0secret", "Authentication failed: Invalid username or password".into()),
            (
                b"bob\0alice\0secret",
                "Authentication failed: Client requested an authorization id that is different from username".into(),
            ),
            (b"\0\0secret", "Authentication failed: username not specified".into()),
            (b"\0alice\0", "Authentication failed: password not specified".into()),
            (b"alice\0secret", "Invalid SASL/PLAIN response: expected 3 tokens, got 2".into()),
            (b"", "Invalid SASL/PLAIN response: expected 3 tokens, got 1".into()),
            (b"\0alice\0secret\0", "Invalid SASL/PLAIN response: expected 3 tokens, got 4".into()),
            (b"\0alice\0secr\xffet", "Invalid SASL/PLAIN response: not valid UTF-8".into()),
        ];
        for (msg, expected) in cases {
            assert_eq!(authenticate(msg, &u), Err(visible(&expected)), "{msg:?}");
        }
        // The authzid is checked after the password, as Kafka does: a wrong password never
        // learns whether the authzid would have been accepted.
        assert_eq!(
            authenticate(b"bob\0alice\0wrong", &u),
            Err(visible("Authentication failed: Invalid username or password"))
        );
    }

    proptest! {
        /// Any bytes: an answer, never a panic, and success only for a configured pair.
        #[test]
        fn any_message_is_answered(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(user) = authenticate(&bytes, &users()) {
                prop_assert!(user == "alice" || user == "bob");
            }
        }

        #[test]
        fn any_setting_parses_or_is_refused(s in "[a-z:, ]{0,24}") {
            if let Ok(u) = PlainUsers::parse(&s) {
                prop_assert!(u.users().all(|n| !n.is_empty() && !n.contains(',')));
            }
        }
    }
}
