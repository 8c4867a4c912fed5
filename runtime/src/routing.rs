//! The route table: request path → handler, with the settings of that route.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use percent_encoding::percent_decode_str;
use wsboot_core::__runtime::RouteSettings;
use wsboot_core::{
    DeflateConfig, Error, HandlerFactory, HandlerRegistry, PathParams, RegistrationSource, RoutePattern,
    SharedInterceptor,
};

use crate::config::ServerConfig;
use crate::origin::OriginPolicy;

/// One routable handler with everything the connection needs, resolved once at
/// startup (server defaults merged with the handler's own options).
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) pattern: RoutePattern,
    pub(crate) path: Arc<str>,
    pub(crate) factory: HandlerFactory,
    pub(crate) source: RegistrationSource,
    pub(crate) max_message_size: usize,
    pub(crate) max_frame_size: usize,
    pub(crate) origins: OriginPolicy,
    pub(crate) subprotocols: Vec<String>,
    pub(crate) interceptors: Vec<SharedInterceptor>,
    /// permessage-deflate settings, `None` when it is off for this route.
    pub(crate) deflate: Option<DeflateConfig>,
    pub(crate) send_time_limit: Duration,
    /// The pattern, queue bounds and overflow policy every session of the route
    /// points to.
    pub(crate) session: Arc<RouteSettings>,
}

/// Static paths by exact match, then patterns from most to least specific.
#[derive(Debug, Default)]
pub(crate) struct Router {
    exact: HashMap<String, Arc<Route>>,
    patterns: Vec<Arc<Route>>,
}

impl Router {
    /// Builds the table; fails with every invalid path and conflict named.
    pub(crate) fn new(registry: &HandlerRegistry, config: &ServerConfig) -> Result<Self, Error> {
        registry.validate()?;
        let mut router = Router::default();
        for registration in registry.iter() {
            let pattern = registration.pattern().expect("validated above").clone();
            let options = registration.options();
            let deflate = options.deflate_config.unwrap_or(config.deflate);
            deflate.validate().map_err(|error| {
                let at = format!("handler {}", registration.source());
                Error::config(error.problems().iter().map(|problem| problem.clone().with_location(at.clone())))
            })?;
            let deflate_enabled = options.deflate.unwrap_or(config.deflate.enabled);
            let path: Arc<str> = Arc::from(pattern.as_str());
            let session = Arc::new(RouteSettings {
                path: path.clone(),
                queue: options.queue.unwrap_or(config.queue),
                overflow: options.overflow.clone().unwrap_or_default(),
            });
            let route = Arc::new(Route {
                path,
                pattern,
                factory: registration.factory().clone(),
                source: registration.source(),
                max_message_size: options.max_message_size.unwrap_or(config.max_message_size),
                max_frame_size: options.max_frame_size.unwrap_or(config.max_frame_size),
                origins: OriginPolicy::for_handler(registration)?,
                subprotocols: crate::handshake::upgrade::subprotocols_for(registration)?,
                interceptors: options.interceptors.clone(),
                deflate: deflate_enabled.then_some(deflate),
                send_time_limit: options.send_time_limit.unwrap_or(config.write_timeout),
                session,
            });
            if route.pattern.is_static() {
                router.exact.insert(route.pattern.as_str().to_owned(), route);
            } else {
                router.patterns.push(route);
            }
        }
        // More literal segments first, so `/rooms/lobby` would win over `/rooms/{room}`.
        router.patterns.sort_by_key(|r| std::cmp::Reverse(r.pattern.specificity()));
        Ok(router)
    }

    /// The route for a request path, with its decoded parameters.
    pub(crate) fn find(&self, path: &str) -> Option<(&Arc<Route>, PathParams)> {
        if let Some(route) = self.exact.get(path) {
            return Some((route, PathParams::default()));
        }
        self.patterns.iter().find_map(|route| {
            let raw = route.pattern.matches(path)?;
            let decoded =
                raw.into_iter().map(|(name, value)| (name, percent_decode_str(value).decode_utf8_lossy().into_owned()));
            Some((route, PathParams::from_pairs(decoded)))
        })
    }

    /// Every route, static ones first, for listings.
    pub(crate) fn routes(&self) -> impl Iterator<Item = &Arc<Route>> {
        let mut statics: Vec<_> = self.exact.values().collect();
        statics.sort_by(|a, b| a.path.cmp(&b.path));
        statics.into_iter().chain(self.patterns.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsboot_core::WebSocketHandler;

    struct H;
    impl WebSocketHandler for H {}

    fn router(paths: &[&str]) -> Router {
        let mut registry = HandlerRegistry::new();
        for path in paths {
            registry.add_handler(path, H);
        }
        Router::new(&registry, &ServerConfig::default()).unwrap()
    }

    #[test]
    fn exact_routes_win_and_parameters_are_decoded() {
        let router = router(&["/rooms/{room}", "/rooms/lobby", "/"]);
        let (route, params) = router.find("/rooms/lobby").unwrap();
        assert_eq!(&*route.path, "/rooms/lobby");
        assert!(params.is_empty());
        let (route, params) = router.find("/rooms/caf%C3%A9").unwrap();
        assert_eq!(&*route.path, "/rooms/{room}");
        assert_eq!(params.get("room"), Some("café"));
        assert!(router.find("/rooms").is_none());
        assert!(router.find("/").is_some());
    }

    #[test]
    fn handler_options_override_server_limits() {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/big", H).max_message_size(16 << 20);
        registry.add_handler("/small", H);
        let router = Router::new(&registry, &ServerConfig::default()).unwrap();
        assert_eq!(router.find("/big").unwrap().0.max_message_size, 16 << 20);
        assert_eq!(router.find("/small").unwrap().0.max_message_size, 1 << 20);
    }
}
