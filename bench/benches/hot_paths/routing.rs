//! Route lookup, as every upgrade request does it: static paths are one hash
//! lookup, `{param}` patterns are tried from most to least specific.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion};
use wsboot::__bench::RouteTable;
use wsboot::{HandlerRegistry, WebSocketHandler};

struct Nothing;
impl WebSocketHandler for Nothing {}

/// An application's worth of routes: a dozen static paths and a handful of
/// patterns, some sharing prefixes so a lookup has to look past the first.
const ROUTES: &[&str] = &[
    "/",
    "/echo",
    "/chat",
    "/notifications",
    "/live/scores",
    "/live/prices",
    "/api/v1/stream",
    "/api/v1/events",
    "/api/v2/stream",
    "/api/v2/events",
    "/admin/console",
    "/metrics/live",
    "/users/{user}",
    "/rooms/{room}",
    "/rooms/{room}/users/{user}",
    "/games/{game}/players/{player}",
    "/tenants/{tenant}/feeds/{feed}",
    "/tenants/{tenant}/feeds/{feed}/items/{item}",
];

pub(crate) fn lookups(c: &mut Criterion) {
    let mut registry = HandlerRegistry::new();
    for path in ROUTES {
        registry.add_handler(path, Nothing);
    }
    let table = RouteTable::new(&registry).expect("the bench's routes are valid");
    let cases = [
        ("static", "/api/v2/events"),
        ("one param", "/rooms/lobby"),
        ("two params", "/rooms/lobby/users/ana"),
        ("percent-encoded param", "/rooms/caf%C3%A9"),
        ("three params, last pattern", "/tenants/acme/feeds/news/items/42"),
        ("miss", "/nowhere/to/be/found"),
    ];
    // Each case finds what it should, so the bench times real lookups.
    for (name, path) in cases {
        assert_eq!(table.find(path).is_some(), name != "miss", "{name}: {path}");
    }
    let mut group = c.benchmark_group("routing");
    for (name, path) in cases {
        group.bench_with_input(BenchmarkId::from_parameter(name), path, |b, path| {
            b.iter(|| table.find(black_box(path)).map(|(route, params)| (route.len(), params.len())))
        });
    }
    group.finish();
}
