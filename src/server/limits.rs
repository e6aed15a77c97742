//! Connection counting: `max.connections` (broker-wide) and `max.connections.per.ip` (with
//! its per-address overrides). A connection holds a [`ConnectionSlot`] for its whole life;
//! dropping it (on any exit path, including an aborted task) gives the slot back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::BrokerConfig;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `max.connections` connections are open.
    Broker { max: usize },
    /// The address already has its `max.connections.per.ip` (or override) connections.
    Address { max: usize },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Broker { max } => write!(f, "the broker already has max.connections={max} connections"),
            Refused::Address { max } => write!(f, "the address already has its maximum of {max} connections"),
        }
    }
}

/// Open connections, broker-wide and per client address.
pub struct ConnectionLimits {
    /// The limits now (dynamic broker configs may change them; open connections beyond a
    /// lowered limit stay, as in Kafka, and new ones wait until the count is below it).
    limits: parking_lot::RwLock<Limits>,
    /// Open connections per address (entries removed at zero, so the map holds only open
    /// addresses). A mutex, not atomics: it is taken twice per connection (accept and close),
    /// never per request.
    by_ip: Mutex<HashMap<IpAddr, usize>>,
    total: AtomicUsize,
    refusals: RateLimitedWarning,
}

struct Limits {
    max_total: usize,
    max_per_ip: usize,
    overrides: HashMap<IpAddr, usize>,
}

impl Limits {
    fn of(config: &BrokerConfig) -> Self {
        Self {
            max_total: config.max_connections,
            max_per_ip: config.max_connections_per_ip,
            overrides: config.max_connections_per_ip_overrides.clone(),
        }
    }

    /// The limit for `ip`: its override, else `max.connections.per.ip`.
    fn for_ip(&self, ip: &IpAddr) -> usize {
        self.overrides.get(ip).copied().unwrap_or(self.max_per_ip)
    }
}

impl ConnectionLimits {
    pub fn new(config: &BrokerConfig) -> Self {
        Self {
            limits: parking_lot::RwLock::new(Limits::of(config)),
            by_ip: Mutex::new(HashMap::new()),
            total: AtomicUsize::new(0),
            refusals: RateLimitedWarning::new(Duration::from_secs(10)),
        }
    }

    /// Takes the limits of `config` (a dynamic broker config changed them).
    pub fn reconfigure(&self, config: &BrokerConfig) {
        *self.limits.write() = Limits::of(config);
    }

    /// Takes a slot for a connection from `ip`, or says which limit is reached.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Refused> {
        let ip = ip.to_canonical(); // ::ffff:127.0.0.1 on a dual-stack listener is 127.0.0.1
        let limits = self.limits.read();
        let limit = limits.for_ip(&ip);
        let mut by_ip = self.by_ip.lock();
        let n = by_ip.get(&ip).copied().unwrap_or(0);
        if n >= limit {
            return Err(Refused::Address { max: limit });
        }
        // Under the same lock as the per-address count, so the two never disagree.
        if self.total.load(Ordering::Relaxed) >= limits.max_total {
            return Err(Refused::Broker { max: limits.max_total });
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        by_ip.insert(ip, n + 1);
        Ok(ConnectionSlot { limits: self.clone(), ip })
    }

    /// Connections currently holding a slot.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Notes a refused connection: debug for each, a warning at most every 10 s with the count.
    pub fn log_refusal(&self, peer: std::net::SocketAddr, why: Refused) {
        tracing::debug!(%peer, "refused connection: {why}");
        if let Some(count) = self.refusals.due() {
            tracing::warn!(%peer, refused = count, "refused connection: {why} (count since the last warning)");
        }
    }

    fn release(&self, ip: &IpAddr) {
        let mut by_ip = self.by_ip.lock();
        if let Some(n) = by_ip.get_mut(ip) {
            *n -= 1;
            if *n == 0 {
                by_ip.remove(ip);
            }
        }
        self.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One open connection's place in the counts; released when dropped.
pub struct ConnectionSlot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.limits.release(&self.ip);
    }
}

/// Counts events and says when a warning is due (at most once per `every`), so a client
/// reconnecting in a loop cannot flood the log.
struct RateLimitedWarning {
    every_ms: u64,
    epoch: Instant,
    /// Milliseconds since `epoch` of the next allowed warning.
    next_ms: AtomicU64,
    count: AtomicU64,
}

impl RateLimitedWarning {
    fn new(every: Duration) -> Self {
        Self {
            every_ms: every.as_millis() as u64,
            epoch: Instant::now(),
            next_ms: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Counts one event; returns the count since the last warning if one is due now.
    fn due(&self) -> Option<u64> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let now = self.epoch.elapsed().as_millis() as u64;
        let next = self.next_ms.load(Ordering::Relaxed);
        if now < next
            || self.next_ms.compare_exchange(next, now + self.every_ms, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return None;
        }
        Some(self.count.swap(0, Ordering::Relaxed))
    }
}

/// Parses `max.connections.per.ip.overrides` (Kafka's format: `host1:100,127.0.0.1:200`,
/// IPv6 addresses in brackets). Host names are resolved once, at startup, as Kafka does; each
/// address a name resolves to gets the limit.
pub fn parse_overrides(s: &str) -> Result<HashMap<IpAddr, usize>, String> {
    let mut out = HashMap::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (host, n) = entry.rsplit_once(':').ok_or_else(|| format!("{entry:?} is not host:count"))?;
        let n: usize = n.trim().parse().map_err(|_| format!("{entry:?}: {n:?} is not a connection count"))?;
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{entry:?} has no host"));
        }
        let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(host, 0))
                .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
                .map(|a| a.ip())
                .collect(),
        };
        for ip in ips {
            out.insert(ip.to_canonical(), n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_ip: usize, overrides: &str) -> Arc<ConnectionLimits> {
        let dir = tempfile::tempdir().unwrap();
        let mut c = BrokerConfig::for_tests(dir.path());
        c.max_connections = total;
        c.max_connections_per_ip = per_ip;
        c.max_connections_per_ip_overrides = parse_overrides(overrides).unwrap();
        Arc::new(ConnectionLimits::new(&c))
    }

    #[test]
    fn per_address_and_broker_limits_and_release_on_drop() {
        let l = limits(3, 2, "10.0.0.9:0");
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = l.try_acquire(a).unwrap();
        let _a2 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).err(), Some(Refused::Address { max: 2 }));
        let _b1 = l.try_acquire(b).unwrap();
        assert_eq!(l.try_acquire(b).err(), Some(Refused::Broker { max: 3 }));
        assert_eq!(l.try_acquire("10.0.0.9".parse().unwrap()).err(), Some(Refused::Address { max: 0 }));
        drop(a1);
        assert_eq!(l.open(), 2);
        let _a3 = l.try_acquire(a).unwrap();
        assert_eq!(l.by_ip.lock().len(), 2);
    }

    #[test]
    fn mapped_ipv4_counts_as_ipv4() {
        let l = limits(10, 1, "");
        let _s = l.try_acquire("127.0.0.1".parse().unwrap()).unwrap();
        assert!(l.try_acquire("::ffff:127.0.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn overrides_parse_like_kafka() {
        let m = parse_overrides("localhost:100, 127.0.0.2:200,[::1]:7").unwrap();
        assert_eq!(m.get(&"127.0.0.1".parse::<IpAddr>().unwrap()), Some(&100));
        assert_eq!(m.get(&"127.0.0.2".parse::<IpAddr>().unwrap()), Some(&200));
        // A later entry wins (localhost may also resolve to ::1).
        assert_eq!(m.get(&"::1".parse::<IpAddr>().unwrap()), Some(&7));
        assert!(parse_overrides("").unwrap().is_empty());
        assert!(parse_overrides("127.0.0.1").is_err());
        assert!(parse_overrides("127.0.0.1:x").is_err());
        assert!(parse_overrides(":5").is_err());
    }

    #[test]
    fn warnings_are_rate_limited() {
        let w = RateLimitedWarning::new(Duration::from_secs(3600));
        assert_eq!(w.due(), Some(1));
        assert_eq!(w.due(), None);
        assert_eq!(w.due(), None);
    }
}
