//! Hooks for the project's benchmarks (`bench/` in the repository) into parts of
//! the runtime that have no public entry point of their own. Not public API: the
//! paths may change in any release.

use wsboot_core::{Error, HandlerRegistry, PathParams};

use crate::config::ServerConfig;
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
