//! [`RouteListing`]: every route of a server with where it came from and what
//! runs around it (Spring Boot's mappings endpoint), as `--print-routes` prints it.

use std::fmt;

use wsboot_core::__runtime::builtin_decorator_names;
use wsboot_core::{HandlerRegistry, PluginAction, PluginMark, RegistrationSource, SharedInterceptor, SourceLocation};

use crate::plugins::Prepared;

/// One route as listed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The route pattern, e.g. `/rooms/{room}`.
    pub path: String,
    /// The handler type (or factory function) and where it was registered.
    pub source: RegistrationSource,
    /// Whether each session gets its own handler instance.
    pub per_connection: bool,
    /// The origins allowed to connect; `None` is same-origin.
    pub allowed_origins: Option<Vec<String>>,
    /// The subprotocols the handler speaks, in order of preference.
    pub subprotocols: Vec<String>,
    /// The interceptors in the order they run: the server-wide ones, then the
    /// route's own (plugins' included).
    pub interceptors: Vec<&'static str>,
    /// What wraps the handler, outermost first: the built-in decorators that
    /// run (none when turned off), then plugins that decorate it (as
    /// `plugin NAME`), then its own decorators. The exception guard is not one:
    /// the session loop runs every callback under it.
    pub decorators: Vec<String>,
    /// What plugins did to this route, in order.
    pub plugin_marks: Vec<PluginMark>,
}

impl RouteInfo {
    /// The crate that declares the handler: the first segment of its type path
    /// (`my_app` for `my_app::chat::Room`). When a route is missing, this says
    /// which crate the program must link in.
    pub fn crate_name(&self) -> &'static str {
        crate_of(self.source.type_name())
    }
}

/// The first segment of a type path: `my_app` in `my_app::Echo`, and in
/// `my_app::Wrap<other::Inner>`.
fn crate_of(type_name: &'static str) -> &'static str {
    let end = type_name.find([':', '<']).unwrap_or(type_name.len());
    // `&dyn Trait`, `(A, B)`: no path first; show the whole name.
    if end == 0 { type_name } else { &type_name[..end] }
}

/// A plain HTTP resource served beside the WebSocket routes (see
/// [`HandlerRegistry::add_page`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PageInfo {
    /// The path it answers `GET` at.
    pub path: String,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Where it was registered.
    pub location: SourceLocation,
}

/// One plugin as listed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PluginInfo {
    /// Its name.
    pub name: String,
    /// Its type and how it was registered.
    pub source: RegistrationSource,
}

/// Every route of a server (WebSocket handlers and plain pages) and its plugins in
/// the order they run. `Display` gives the text `--print-routes` prints.
#[derive(Debug, Clone)]
pub struct RouteListing {
    plugins: Vec<PluginInfo>,
    routes: Vec<RouteInfo>,
    pages: Vec<PageInfo>,
}

impl RouteListing {
    pub(crate) fn new(prepared: &Prepared, server_interceptors: &[SharedInterceptor]) -> Self {
        let plugins = prepared
            .plugins
            .entries()
            .iter()
            .map(|e| PluginInfo { name: e.name.to_string(), source: e.source })
            .collect();
        let mut routes: Vec<RouteInfo> =
            routes_of(&prepared.registry, server_interceptors, prepared.builtin_decorators).collect();
        routes.sort_by(|a, b| a.path.cmp(&b.path));
        let mut pages: Vec<PageInfo> = prepared
            .registry
            .pages()
            .map(|page| PageInfo {
                path: page.path().to_owned(),
                content_type: page.content_type().to_owned(),
                location: page.location(),
            })
            .collect();
        pages.sort_by(|a, b| a.path.cmp(&b.path));
        RouteListing { plugins, routes, pages }
    }

    /// The routes, sorted by path.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    /// The plain HTTP pages, sorted by path.
    pub fn pages(&self) -> &[PageInfo] {
        &self.pages
    }

    /// The plugins, in the order they run.
    pub fn plugins(&self) -> &[PluginInfo] {
        &self.plugins
    }

    /// The route patterns, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.routes.iter().map(|r| r.path.clone()).collect()
    }
}

fn routes_of<'a>(
    registry: &'a HandlerRegistry,
    server_interceptors: &'a [SharedInterceptor],
    builtin_decorators: bool,
) -> impl Iterator<Item = RouteInfo> + 'a {
    registry.iter().map(move |registration| {
        let options = registration.options();
        let mut decorators: Vec<String> = Vec::new();
        if builtin_decorators {
            decorators.extend(builtin_decorator_names().iter().map(|name| (*name).to_owned()));
        }
        let decorating_plugins =
            registration.plugin_marks().iter().filter(|m| m.action == PluginAction::Decorated).rev();
        decorators.extend(decorating_plugins.map(|m| format!("plugin {}", m.plugin)));
        decorators.extend(options.decorators.iter().rev().map(|d| d.name().to_owned()));
        RouteInfo {
            path: registration.path().to_owned(),
            source: registration.source(),
            per_connection: registration.factory().is_per_connection(),
            allowed_origins: options.allowed_origins.clone(),
            subprotocols: options.subprotocols.clone(),
            interceptors: server_interceptors.iter().chain(&options.interceptors).map(|i| i.name()).collect(),
            decorators,
            plugin_marks: registration.plugin_marks().to_vec(),
        }
    })
}

/// `a, b, c`, or `none`.
fn list<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for RouteListing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.plugins.is_empty() {
            writeln!(f, "plugins: none")?;
        } else {
            writeln!(f, "plugins, in the order they run:")?;
            for (i, plugin) in self.plugins.iter().enumerate() {
                writeln!(f, "  {}. {}  {}", i + 1, plugin.name, plugin.source)?;
            }
        }
        let count = self.routes.len();
        writeln!(f, "{count} route{}:", if count == 1 { "" } else { "s" })?;
        for route in &self.routes {
            writeln!(f, "{}", route.path)?;
            let instances = if route.per_connection { "one per session" } else { "shared by every session" };
            writeln!(f, "  handler       {} ({instances})", route.source)?;
            writeln!(f, "  crate         {}", route.crate_name())?;
            let origins = match &route.allowed_origins {
                None => "same-origin".to_owned(),
                Some(origins) => list(origins),
            };
            writeln!(f, "  origins       {origins}")?;
            writeln!(f, "  subprotocols  {}", list(&route.subprotocols))?;
            writeln!(f, "  interceptors  {}", list(&route.interceptors))?;
            writeln!(f, "  decorators    {}", list(&route.decorators))?;
            let marks: Vec<String> = route.plugin_marks.iter().map(ToString::to_string).collect();
            writeln!(f, "  plugins       {}", if marks.is_empty() { "none".to_owned() } else { marks.join("; ") })?;
        }
        if !self.pages.is_empty() {
            writeln!(f, "{} page{}:", self.pages.len(), if self.pages.len() == 1 { "" } else { "s" })?;
            for page in &self.pages {
                writeln!(f, "{}  GET, {} (added at {})", page.path, page.content_type, page.location)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crate_is_the_first_segment_of_the_type_path() {
        assert_eq!(crate_of("my_app::chat::Room"), "my_app");
        assert_eq!(crate_of("my_app::Wrap<other::Inner>"), "my_app");
        assert_eq!(crate_of("Local"), "Local");
        assert_eq!(crate_of("<my_app::A as my_app::B>::C"), "<my_app::A as my_app::B>::C");
    }

    struct Quiet;
    impl wsboot_core::WebSocketHandler for Quiet {}

    #[test]
    fn the_listing_shows_each_route_s_crate() {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/quiet", Quiet);
        let listing = crate::Server::builder().registry(registry).routes().unwrap();
        assert_eq!(listing.routes()[0].crate_name(), "wsboot");
        assert!(listing.to_string().contains("\n  crate         wsboot\n"), "{listing}");
    }
}
