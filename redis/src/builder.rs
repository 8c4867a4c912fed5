//! [`RedisBrokerBuilder`]: where Redis is and how the broker behaves when it is
//! not.

use std::time::Duration;

use wsboot_core::{Error, ErrorKind};

use crate::broker::RedisBroker;

/// The environment variable holding the Redis URL (the same variable the wsboot
/// runtime reads into its `broker.url` setting).
pub const URL_ENV: &str = "WSBOOT_REDIS_URL";

/// The channel prefix unless [`RedisBrokerBuilder::prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "wsboot:";

/// Builds a [`RedisBroker`].
///
/// ```no_run
/// # async fn run() -> Result<(), wsboot_core::Error> {
/// use std::time::Duration;
///
/// let broker = wsboot_redis::RedisBroker::builder("redis://127.0.0.1:6379")
///     .prefix("chat:")
///     .reconnect_backoff(Duration::from_millis(100), Duration::from_secs(5))
///     .connect()
///     .await?;
/// # let _ = broker;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisBrokerBuilder {
    pub(crate) settings: Settings,
}

/// Everything a broker is configured with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) url: String,
    pub(crate) prefix: String,
    pub(crate) reconnect_min: Duration,
    pub(crate) reconnect_max: Duration,
    pub(crate) health_check_interval: Duration,
    pub(crate) command_timeout: Duration,
    pub(crate) publish_queue: usize,
    pub(crate) presence_timeout: Duration,
}

impl Settings {
    /// The URL with any password masked, for messages and logs.
    pub(crate) fn shown_url(&self) -> String {
        redact(&self.url)
    }
}

impl RedisBrokerBuilder {
    /// A broker for the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// or `redis+unix:///path/to/socket`).
    pub fn new(url: impl Into<String>) -> Self {
        RedisBrokerBuilder {
            settings: Settings {
                url: url.into(),
                prefix: DEFAULT_PREFIX.to_owned(),
                reconnect_min: Duration::from_millis(100),
                reconnect_max: Duration::from_secs(5),
                health_check_interval: Duration::from_secs(5),
                command_timeout: Duration::from_secs(2),
                publish_queue: 4096,
                presence_timeout: Duration::from_secs(20),
            },
        }
    }

    /// A builder for the URL in `WSBOOT_REDIS_URL`, or `None` when the variable is
    /// unset or empty (then keep the in-process broker: a single node).
    pub fn from_env() -> Option<Self> {
        std::env::var(URL_ENV).ok().filter(|url| !url.trim().is_empty()).map(|url| RedisBrokerBuilder::new(url.trim()))
    }

    /// The prefix of every channel this broker uses (default `wsboot:`). Nodes
    /// exchange messages only with nodes of the same prefix, so one Redis can serve
    /// several applications or environments.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.prefix = prefix.into();
        self
    }

    /// The pauses between reconnection attempts after Redis is lost: doubling
    /// from `min` up to `max`, with jitter. Default: 100 ms up to 5 s.
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.settings.reconnect_min = min;
        self.settings.reconnect_max = max;
        self
    }

    /// How often the subscribing connection is checked with a `PING` (a
    /// connection can die without the socket noticing). Default: 5 s.
    pub fn health_check_interval(mut self, interval: Duration) -> Self {
        self.settings.health_check_interval = interval;
        self
    }

    /// The longest a connection attempt or a command (publish, subscribe, ping)
    /// may take before it counts as failed. Default: 2 s.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.settings.command_timeout = timeout;
        self
    }

    /// How many publishes may wait to be sent to Redis (default 4,096). A
    /// publish only queues its message; one task sends the queue to Redis, many
    /// messages per round trip. When the queue is full a publish waits up to the
    /// command timeout for room, then fails.
    pub fn publish_queue(mut self, messages: usize) -> Self {
        self.settings.publish_queue = messages;
        self
    }

    /// How long a node may go without a heartbeat before the other nodes count
    /// it gone and its presence members leave, with leave events (default
    /// 20 s). Every node beats a quarter of it, and the first live node to beat
    /// after the timeout removes the silent node's members: they are gone
    /// everywhere at most `timeout × 1.25` (25 s by default) after the node died.
    pub fn presence_timeout(mut self, timeout: Duration) -> Self {
        self.settings.presence_timeout = timeout;
        self
    }

    /// Checks the settings and builds the broker without connecting: the server
    /// connects it when it starts (`bind` fails if Redis is unreachable then).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the problem: a URL that is not a Redis URL, or
    /// a zero or inverted duration.
    pub fn build(self) -> Result<RedisBroker, Error> {
        let settings = self.settings;
        let client = redis::Client::open(settings.url.as_str()).map_err(|e| {
            Error::with_source(
                ErrorKind::Config,
                format!(
                    "invalid Redis URL `{}`: {e} (expected redis://[user:password@]host[:port][/db])",
                    redact(&settings.url)
                ),
                e,
            )
        })?;
        let positive = [
            ("the minimum reconnection pause", settings.reconnect_min),
            ("the health check interval", settings.health_check_interval),
            ("the command timeout", settings.command_timeout),
            ("the presence timeout", settings.presence_timeout),
        ];
        if let Some((what, _)) = positive.iter().find(|(_, d)| d.is_zero()) {
            return Err(Error::new(ErrorKind::Config, format!("Redis broker: {what} must be more than zero")));
        }
        if settings.publish_queue == 0 {
            return Err(Error::new(
                ErrorKind::Config,
                "Redis broker: the publish queue must hold at least one message",
            ));
        }
        if settings.reconnect_max < settings.reconnect_min {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "Redis broker: the maximum reconnection pause ({:?}) is below the minimum ({:?})",
                    settings.reconnect_max, settings.reconnect_min
                ),
            ));
        }
        Ok(RedisBroker::new(settings, client))
    }

    /// Builds the broker and connects it now, so a wrong URL or an unreachable
    /// Redis is reported here, before the server starts.
    ///
    /// # Errors
    /// As [`build`](Self::build), or [`ErrorKind::Io`] / [`ErrorKind::Timeout`]
    /// naming the URL when Redis cannot be reached.
    pub async fn connect(self) -> Result<RedisBroker, Error> {
        let broker = self.build()?;
        broker.connect_publisher().await?;
        Ok(broker)
    }
}

/// `url` with the password (if any) replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let authority_end = url[scheme_end..].find('/').map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    let Some(at) = authority.rfind('@') else { return url.to_owned() };
    let userinfo = &authority[..at];
    // `user:password`, or a lone password: mask whatever could be secret.
    let masked = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    format!("{}{masked}{}", &url[..scheme_end], &url[scheme_end + at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("redis://127.0.0.1:6379/0"), "redis://127.0.0.1:6379/0");
        assert_eq!(redact("redis://:secret@host:6379"), "redis://:***@host:6379");
        assert_eq!(redact("redis://user:secret@host/2"), "redis://user:***@host/2");
        assert_eq!(redact("redis://secret@host"), "redis://***@host");
        assert_eq!(redact("redis+unix:///run/redis.sock"), "redis+unix:///run/redis.sock");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn bad_settings_are_named() {
        let err = RedisBrokerBuilder::new("http://example").build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("invalid Redis URL `http://example`"), "{err}");

        let err = RedisBrokerBuilder::new("redis://:pw@localhost:1/").command_timeout(Duration::ZERO).build();
        assert!(err.unwrap_err().to_string().contains("command timeout must be more than zero"));

        let err = RedisBrokerBuilder::new("redis://localhost")
            .reconnect_backoff(Duration::from_secs(2), Duration::from_secs(1))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("maximum reconnection pause"), "{err}");
    }

    #[test]
    fn a_bad_url_with_a_password_is_shown_masked() {
        let err = RedisBrokerBuilder::new("redis://user:hunter2@host:notaport").build().unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
