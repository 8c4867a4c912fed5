//! Server-wide settings, with defaults that are safe on the open internet.

use std::time::Duration;

use wsboot_core::QueueLimits;

/// Settings of a [`Server`](crate::Server). Per-handler options (set with
/// `#[ws_handler(...)]` or a [`HandlerRegistration`](crate::HandlerRegistration))
/// override the message limits for their route.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Largest message accepted (text or binary), in bytes. Larger closes with
    /// 1009. Default: 1 MiB.
    pub max_message_size: usize,
    /// Largest single frame accepted, in bytes. Larger closes with 1009.
    /// Default: 1 MiB.
    pub max_frame_size: usize,
    /// Bounds of each session's outbound queue. Default: 1,024 messages, 4 MiB.
    pub queue: QueueLimits,
    /// Time allowed for a client to send its complete HTTP request after
    /// connecting (slowloris guard). Default: 10 s.
    pub handshake_timeout: Duration,
    /// How long to wait for the client's close frame (and to finish writing)
    /// after the server sent its own. Default: 5 s.
    pub close_timeout: Duration,
    /// How long a write to a client may stay blocked (the client not reading)
    /// before the connection is dropped. Default: 30 s.
    pub write_timeout: Duration,
    /// How often the server pings each session; `None` disables keep-alive pings.
    /// Default: 30 s.
    pub ping_interval: Option<Duration>,
    /// How long a ping may go unanswered (no pong, nor any other frame) before the
    /// session is considered dead: it is dropped and reported closed with 1006.
    /// Default: 10 s.
    pub pong_timeout: Duration,
    /// Close a session (1001) after this long without a data message in either
    /// direction. Default: none.
    pub idle_timeout: Option<Duration>,
    /// Close a session (1001) after this long, however busy. Default: none.
    pub max_lifetime: Option<Duration>,
    /// Most connections served at once (handshaking or open); beyond it new
    /// connections get `503` with `Retry-After`. Default: none.
    pub max_connections: Option<usize>,
    /// Largest HTTP request head (request line and headers), in bytes. Larger
    /// answers 431. Default: 16 KiB.
    pub max_request_head_size: usize,
    /// Most request headers accepted. More answers 431. Default: 64.
    pub max_headers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_message_size: 1 << 20,
            max_frame_size: 1 << 20,
            queue: QueueLimits::default(),
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: None,
            max_lifetime: None,
            max_connections: None,
            max_request_head_size: 16 << 10,
            max_headers: 64,
        }
    }
}
