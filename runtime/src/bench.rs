//! Hooks for the project's benchmarks (`bench/` in the repository) into parts of
//! the runtime that have no public entry point of their own. Not public API: the
//! paths may change in any release.

use futures_util::FutureExt;
use wsboot_core::{Error, HandlerRegistry, Message, PathParams};

use crate::config::ServerConfig;
use crate::protocol::WriteBuffer;
use crate::routing::Router;

/// The server's route table, built from a registry as [`Server`](crate::Server)
/// builds it (default settings), for timing lookups without a socket.
#[derive(Debug)]
pub struct RouteTable {
    router: Router,
}

impl RouteTable {
    /// Builds the table; fails as a server would (invalid path, conflicting routes).
    pub fn new(registry: &HandlerRegistry) -> Result<Self, Error> {
        Ok(RouteTable { router: Router::new(registry, &ServerConfig::default())? })
    }

    /// The route pattern a request path is served by, with its decoded path
    /// parameters: the lookup every upgrade request makes.
    pub fn find(&self, path: &str) -> Option<(&str, PathParams)> {
        self.router.find(path).map(|(route, params)| (&*route.path, params))
    }
}

/// The connection writer's framing, with a reused in-memory buffer for a
/// socket: what every sent message costs up to its `writev`.
#[derive(Debug, Default)]
pub struct FrameWriter {
    buffer: WriteBuffer,
    sink: Vec<u8>,
}

impl FrameWriter {
    /// Frames `message` as the writer does and writes it to the buffer; returns
    /// the bytes the frame takes on the wire.
    pub fn frame(&mut self, message: &Message) -> usize {
        self.sink.clear();
        self.buffer.push_message(message);
        // Writing to memory completes at once.
        let written = self.buffer.write_to(&mut self.sink).now_or_never();
        assert!(matches!(written, Some(Ok(()))), "writing to memory cannot fail");
        self.sink.len()
    }
}
