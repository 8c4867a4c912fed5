//! [`HandshakeRateLimit`]: at most so many handshakes per client address, a
//! token bucket each; beyond it, `429 Too Many Requests` with `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsboot_core::SharedInterceptor;
use wsboot_core::{BoxError, HandlerRegistry, HandshakeInterceptor, HandshakeRequest, RegistryPlugin, Rejection};

/// Addresses tracked at most; beyond it, the least recently seen is forgotten
/// (it starts again with a full bucket), so memory stays bounded whatever the
/// number of clients.
const DEFAULT_MAX_TRACKED: usize = 100_000;

/// Limits how often one client address may open a WebSocket, across every
/// route it is installed on: a bucket of `burst` handshakes per address,
/// refilled by one every `refill`. An IPv6 client is counted by its /64
/// network (one subscriber's allocation), an IPv4-mapped IPv6 address as the
/// IPv4 address.
///
/// Refused handshakes get `429 Too Many Requests` with `Retry-After` (whole
/// seconds until the next handshake is allowed).
#[derive(Debug, Clone)]
pub struct HandshakeRateLimit {
    state: Arc<Limiter>,
}

#[derive(Debug)]
struct Limiter {
    burst: f64,
    refill: Duration,
    max_tracked: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl HandshakeRateLimit {
    /// `burst` handshakes at once, then one every `refill`.
    ///
    /// # Panics
    /// If `burst` is 0 or `refill` is zero: such a limit would refuse everything
    /// or nothing.
    pub fn new(burst: u32, refill: Duration) -> Self {
        assert!(burst > 0, "HandshakeRateLimit: burst must be at least 1");
        assert!(!refill.is_zero(), "HandshakeRateLimit: refill must be longer than zero");
        HandshakeRateLimit {
            state: Arc::new(Limiter {
                burst: f64::from(burst),
                refill,
                max_tracked: DEFAULT_MAX_TRACKED,
                buckets: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// `per_minute` handshakes a minute per address, all of them at once if
    /// the client wants.
    ///
    /// # Panics
    /// If `per_minute` is 0.
    pub fn per_minute(per_minute: u32) -> Self {
        assert!(per_minute > 0, "HandshakeRateLimit: per_minute must be at least 1");
        HandshakeRateLimit::new(per_minute, Duration::from_secs(60) / per_minute)
    }

    /// Takes one handshake from `client`'s bucket at `now`; `Err` is how long
    /// until one is available.
    fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let limiter = &*self.state;
        let mut buckets = limiter.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= limiter.max_tracked && !buckets.contains_key(&client) {
            limiter.forget_idle(&mut buckets, now);
        }
        let bucket = buckets.entry(client).or_insert(Bucket { tokens: limiter.burst, updated: now });
        let refilled = now.saturating_duration_since(bucket.updated).as_secs_f64() / limiter.refill.as_secs_f64();
        bucket.tokens = (bucket.tokens + refilled).min(limiter.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(limiter.refill.mul_f64(1.0 - bucket.tokens))
        }
    }
}

impl Limiter {
    /// Forgets the buckets that are full again (their clients were idle long
    /// enough that forgetting them changes nothing); if none is, the least
    /// recently seen one.
    fn forget_idle(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        let full_after = self.refill.mul_f64(self.burst);
        buckets.retain(|_, bucket| now.saturating_duration_since(bucket.updated) < full_after);
        if buckets.len() >= self.max_tracked {
            if let Some(oldest) = buckets.iter().min_by_key(|(_, bucket)| bucket.updated).map(|(ip, _)| *ip) {
                buckets.remove(&oldest);
            }
        }
    }
}

/// The address a client is counted by.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

impl HandshakeInterceptor for HandshakeRateLimit {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        let client = client_key(request.remote_addr().ip());
        self.take(client, Instant::now()).map_err(|wait| {
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            tracing::info!(%client, retry_after = seconds, "handshake rate limit reached");
            Rejection::new(http::StatusCode::TOO_MANY_REQUESTS)
                .header("Retry-After", &seconds.to_string())
                .body(format!("too many handshakes from {client}; retry in {seconds} s"))
        })
    }

    fn name(&self) -> &'static str {
        "HandshakeRateLimit"
    }
}

/// Puts one [`HandshakeRateLimit`] in front of every handler (one budget per
/// client across all routes). Its name is `rate-limit`. Register it before an
/// authentication plugin, so that token guessing is limited too: plugins'
/// interceptors run in plugin order.
#[derive(Debug, Clone)]
pub struct RateLimitPlugin {
    interceptor: SharedInterceptor,
}

impl RateLimitPlugin {
    /// Installs `limit`.
    pub fn new(limit: HandshakeRateLimit) -> Self {
        RateLimitPlugin { interceptor: Arc::new(limit) }
    }

    /// `per_minute` handshakes a minute per client address.
    ///
    /// # Panics
    /// If `per_minute` is 0.
    pub fn per_minute(per_minute: u32) -> Self {
        RateLimitPlugin::new(HandshakeRateLimit::per_minute(per_minute))
    }
}

impl RegistryPlugin for RateLimitPlugin {
    fn name(&self) -> &str {
        "rate-limit"
    }

    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        for registration in registry.iter_mut() {
            registration.shared_interceptor(self.interceptor.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_bucket_per_client_refilled_over_time() {
        let limit = HandshakeRateLimit::new(2, Duration::from_secs(10));
        let start = Instant::now();
        assert!(limit.take(ip("10.0.0.1"), start).is_ok());
        assert!(limit.take(ip("10.0.0.1"), start).is_ok());
        assert_eq!(limit.take(ip("10.0.0.1"), start), Err(Duration::from_secs(10)));
        assert!(limit.take(ip("10.0.0.2"), start).is_ok(), "another client has its own bucket");
        let later = start + Duration::from_secs(4);
        assert_eq!(limit.take(ip("10.0.0.1"), later), Err(Duration::from_secs(6)));
        assert!(limit.take(ip("10.0.0.1"), start + Duration::from_secs(10)).is_ok());
        assert!(limit.take(ip("10.0.0.1"), start + Duration::from_secs(10)).is_err());
    }

    #[test]
    fn ipv6_counts_by_network_and_mapped_ipv4_as_ipv4() {
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), client_key(ip("2001:db8:1:2:bbbb::2")));
        assert_ne!(client_key(ip("2001:db8:1:2::1")), client_key(ip("2001:db8:1:3::1")));
        assert_eq!(client_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
    }

    #[test]
    fn memory_is_bounded() {
        let mut limit = HandshakeRateLimit::new(1, Duration::from_secs(60));
        Arc::get_mut(&mut limit.state).unwrap().max_tracked = 3;
        let now = Instant::now();
        for i in 0..10u8 {
            assert!(limit.take(IpAddr::from([10, 0, 0, i]), now + Duration::from_millis(u64::from(i))).is_ok());
        }
        assert!(limit.state.buckets.lock().unwrap().len() <= 3);
    }
}
