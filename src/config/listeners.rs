//! Kafka's listener model: `listeners` (`NAME://host:port,...`), `advertised.listeners` (the
//! same, as clients reach them) and `listener.security.protocol.map` (`NAME:PROTOCOL,...`).
//! Each listener has a name, a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
//! the address it binds, and the address Metadata gives clients who came in on it.

use std::net::SocketAddr;

use crate::auth::SecurityProtocol;

/// One listener, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Upper-case, as Kafka normalises it (`PLAINTEXT`, `SSL`, `INTERNAL`...).
    pub name: String,
    pub protocol: SecurityProtocol,
    pub bind: SocketAddr,
    pub advertised_host: String,
    /// 0 until the bound port is known (a listener on port 0 advertises the port it got).
    pub advertised_port: i32,
}

impl SecurityProtocol {
    /// Kafka's names.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Self::Plaintext,
            "SSL" => Self::Ssl,
            "SASL_PLAINTEXT" => Self::SaslPlaintext,
            "SASL_SSL" => Self::SaslSsl,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections are TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }
}

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Requested,
    Required,
}

impl ClientAuth {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "none" => Self::None,
            "requested" => Self::Requested,
            "required" => Self::Required,
            _ => return None,
        })
    }
}

/// The TLS settings of SSL and SASL_SSL listeners, as given (the server loads them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub keystore_location: String,
    pub keystore_certificate_chain: String,
    pub keystore_key: String,
    pub key_password: String,
    pub truststore_location: String,
    pub truststore_certificates: String,
    pub client_auth: ClientAuth,
    pub principal_mapping_rules: String,
}

/// `NAME://host:port` entries, in order: (name, host, port). An empty host is all addresses.
fn parse_endpoints(list: &str) -> Result<Vec<(String, String, u16)>, String> {
    let mut out: Vec<(String, String, u16)> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, rest) = item.split_once("://").ok_or_else(|| format!("{item:?} is not NAME://host:port"))?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| format!("{item:?} has no port"))?;
        let port: u16 = port.parse().map_err(|_| format!("{item:?}: {port:?} is not a port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let name = name.trim().to_ascii_uppercase();
        if name.is_empty() {
            return Err(format!("{item:?} has no listener name"));
        }
        if out.iter().any(|(n, _, _)| *n == name) {
            return Err(format!("listener {name} is given twice"));
        }
        out.push((name, host, port));
    }
    Ok(out)
}

/// `NAME:PROTOCOL` pairs.
fn parse_protocol_map(map: &str) -> Result<Vec<(String, SecurityProtocol)>, String> {
    map.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (name, proto) = pair.split_once(':').ok_or_else(|| format!("{pair:?} is not NAME:PROTOCOL"))?;
            let protocol =
                SecurityProtocol::parse(proto).ok_or_else(|| format!("{proto:?} is not a security protocol"))?;
            Ok((name.trim().to_ascii_uppercase(), protocol))
        })
        .collect()
}

/// A mistake: the setting it is in, and why.
pub type ListenerError = (&'static str, String);

/// Resolves the listeners. `listeners` empty: one PLAINTEXT listener on `listen`.
/// `advertised` is `NAME://host:port,...`, or a bare `host:port` for the first listener (Brook's
/// older single-listener form); listeners it does not name advertise their bind address, as
/// Kafka does (a wildcard host advertises `localhost`: Kafka advertises the canonical host
/// name; Brook keeps it simple and predictable).
pub fn resolve(
    listen: SocketAddr,
    listeners: &str,
    advertised: &str,
    map: &str,
) -> Result<Vec<Listener>, ListenerError> {
    let protocols = parse_protocol_map(map).map_err(|e| ("listener_security_protocol_map", e))?;
    let endpoints = if listeners.trim().is_empty() {
        vec![("PLAINTEXT".to_string(), listen.ip().to_string(), listen.port())]
    } else {
        parse_endpoints(listeners).map_err(|e| ("listeners", e))?
    };
    let bad_advertised = |e: String| ("advertised_listener", e);
    let advertised_list = if advertised.contains("://") {
        parse_endpoints(advertised).map_err(bad_advertised)?
    } else if advertised.trim().is_empty() {
        Vec::new()
    } else {
        let (host, port) = super::resolve::parse_host_port(advertised)
            .ok_or_else(|| bad_advertised(format!("{advertised:?} is not host:port")))?;
        vec![(endpoints[0].0.clone(), host, port as u16)]
    };
    if let Some((n, _, _)) = advertised_list.iter().find(|(n, _, _)| !endpoints.iter().any(|(e, _, _)| e == n)) {
        return Err(bad_advertised(format!("advertised listener {n} is not one of the listeners")));
    }
    let mut out = Vec::with_capacity(endpoints.len());
    for (name, host, port) in endpoints {
        let protocol = match protocols.iter().find(|(n, _)| *n == name) {
            Some((_, p)) => *p,
            None => SecurityProtocol::parse(&name).ok_or_else(|| {
                ("listeners", format!("listener {name} has no security protocol in listener.security.protocol.map"))
            })?,
        };
        let ip = if host.is_empty() { "0.0.0.0".to_string() } else { host.clone() };
        let bind: SocketAddr = format!("{ip}:{port}")
            .parse()
            .or_else(|_| format!("[{ip}]:{port}").parse())
            .map_err(|_| ("listeners", format!("listener {name}: {host:?} is not an IP address")))?;
        let (advertised_host, advertised_port) = match advertised_list.iter().find(|(n, _, _)| *n == name) {
            Some((_, h, p)) => (h.clone(), i32::from(*p)),
            None if bind.ip().is_unspecified() => ("localhost".to_string(), i32::from(port)),
            None => (bind.ip().to_string(), i32::from(port)),
        };
        out.push(Listener { name, protocol, bind, advertised_host, advertised_port });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

    fn listen() -> SocketAddr {
        "0.0.0.0:9092".parse().unwrap()
    }

    /// Without `advertised.listeners` every listener advertises where it listens (Kafka's
    /// default), not some other port.
    #[test]
    fn listeners_advertise_themselves_by_default() {
        let l = resolve(listen(), "SSL://127.0.0.1:9093,PLAINTEXT://0.0.0.0:9092", "", MAP).unwrap();
        let advertised: Vec<(&str, i32)> = l.iter().map(|l| (l.advertised_host.as_str(), l.advertised_port)).collect();
        assert_eq!(advertised, [("127.0.0.1", 9093), ("localhost", 9092)]);
        let l = resolve("127.0.0.1:19092".parse().unwrap(), "", "", MAP).unwrap();
        assert_eq!((l[0].advertised_host.as_str(), l[0].advertised_port), ("127.0.0.1", 19092));
    }

    #[test]
    fn the_single_listener_form_still_works() {
        let l = resolve(listen(), "", "broker.example:9092", MAP).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].name.as_str(), l[0].protocol), ("PLAINTEXT", SecurityProtocol::Plaintext));
        assert_eq!((l[0].advertised_host.as_str(), l[0].advertised_port), ("broker.example", 9092));
    }

    #[test]
    fn kafkas_listener_lists_resolve() {
        let l = resolve(
            listen(),
            "PLAINTEXT://0.0.0.0:9092,SSL://127.0.0.1:9093,internal://:9094",
            "PLAINTEXT://public:19092,SSL://public:19093",
            &format!("{MAP},INTERNAL:SASL_SSL"),
        )
        .unwrap();
        let got: Vec<(&str, SecurityProtocol, u16, &str, i32)> = l
            .iter()
            .map(|l| (l.name.as_str(), l.protocol, l.bind.port(), l.advertised_host.as_str(), l.advertised_port))
            .collect();
        assert_eq!(
            got,
            vec![
                ("PLAINTEXT", SecurityProtocol::Plaintext, 9092, "public", 19092),
                ("SSL", SecurityProtocol::Ssl, 9093, "public", 19093),
                ("INTERNAL", SecurityProtocol::SaslSsl, 9094, "localhost", 9094),
            ]
        );
    }

    #[test]
    fn mistakes_are_refused_with_a_reason() {
        let err = |l: &str, a: &str, m: &str| resolve(listen(), l, a, m).unwrap_err();
        assert!(err("FOO://:1", "", MAP).1.contains("FOO"));
        assert!(err("SSL://:1,SSL://:2", "", MAP).1.contains("twice"));
        assert_eq!(err("SSL://:1", "PLAINTEXT://h:1", MAP).0, "advertised_listener");
        assert!(err("SSL://host.name:1", "", MAP).1.contains("IP address"));
        assert_eq!(err("PLAINTEXT://:1", "", "X:NOPE").0, "listener_security_protocol_map");
    }
}
