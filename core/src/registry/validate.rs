//! [`HandlerRegistry::validate`]: the checks a registry passes before a server
//! serves it.

use super::{HandlerRegistration, HandlerRegistry};
use crate::error::Error;
use crate::page::Page;
use crate::route::RoutePattern;
use crate::rules::{check_allowed_origin, check_subprotocol};

impl HandlerRegistry {
    /// Checks every path, allowed origin and subprotocol (by the rules
    /// `#[ws_handler]` applies at compile time) and looks for two handlers on
    /// the same route, or two pages at the same path. The error keeps each
    /// problem apart and names both sides of each conflict (with the plugin
    /// that added a handler, if one did).
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        for registration in &self.registrations {
            if let Err(err) = &registration.pattern {
                problems.push(format!("invalid path for {}: {err}", registration.described()));
            }
            let options = &registration.options;
            for origin in options.allowed_origins.iter().flatten() {
                if let Err(err) = check_allowed_origin(origin) {
                    problems.push(format!("{}: {err}", registration.described()));
                }
            }
            for protocol in &options.subprotocols {
                if let Err(err) = check_subprotocol(protocol) {
                    problems.push(format!("{}: {err}", registration.described()));
                }
            }
        }
        let valid: Vec<(&HandlerRegistration, &RoutePattern)> =
            self.registrations.iter().filter_map(|r| Some((r, r.pattern.as_ref().ok()?))).collect();
        for (i, (first, first_pattern)) in valid.iter().enumerate() {
            for (second, second_pattern) in &valid[i + 1..] {
                if first_pattern.conflicts_with(second_pattern) {
                    let what = if first.path == second.path {
                        format!("two handlers for path `{}`", first.path)
                    } else {
                        format!("paths `{}` and `{}` match the same requests", first.path, second.path)
                    };
                    problems.push(format!("{what}: {} and {}", first.described(), second.described()));
                }
            }
        }
        problems.extend(self.pages.iter().filter_map(Page::problem));
        for (i, first) in self.pages.iter().enumerate() {
            if let Some(second) = self.pages[i + 1..].iter().find(|p| p.path() == first.path()) {
                problems.push(format!(
                    "two pages for path `{}`: added at {} and at {}",
                    first.path(),
                    first.location(),
                    second.location()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::config(problems.into_iter().map(crate::ConfigProblem::new)))
        }
    }
}
