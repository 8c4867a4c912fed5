//! [`App::bean`] and [`App::background`]: what a `run()`-style application
//! wires without building the server itself, handed to the builder as the app
//! starts.

use std::future::Future;
use std::sync::Arc;

use wsboot_core::AppContext;

use super::App;
use crate::server::ServerBuilder;

impl App {
    /// Registers `value` in the application context, for factories that take
    /// `&T` or `Arc<T>` (see [`ServerBuilder::bean`]).
    ///
    /// ```no_run
    /// use wsboot::{App, Hub, WebSocketHandler, ws_handler};
    ///
    /// struct TokenStore;
    /// struct Notify;
    /// impl WebSocketHandler for Notify {}
    ///
    /// #[ws_handler("/notify/{user}")]
    /// fn notify(tokens: &TokenStore, hub: Hub) -> Notify {
    ///     let _ = (tokens, hub);
    ///     Notify
    /// }
    ///
    /// fn main() {
    ///     App::new().bean(TokenStore).run();
    /// }
    /// ```
    #[track_caller]
    pub fn bean<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.wiring.beans.add(value);
        self
    }

    /// Registers a value that is already shared, or a trait object.
    #[track_caller]
    pub fn bean_shared<T: ?Sized + Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.wiring.beans.add_shared(value);
        self
    }

    /// Runs `task` while the server is up, with the application context (see
    /// [`ServerBuilder::background`]): a ticker or a queue consumer, without a
    /// global to reach the hub.
    pub fn background<F, Fut>(mut self, name: impl Into<String>, task: F) -> Self
    where
        F: FnOnce(AppContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.wiring.background.add(name.into(), task);
        self
    }
}

/// `builder` with the app's beans and background tasks.
pub(super) fn apply(wiring: ServerBuilder, mut builder: ServerBuilder) -> ServerBuilder {
    builder.beans.merge(wiring.beans);
    builder.background.merge(wiring.background);
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beans_and_tasks_reach_the_builder() {
        let app = App::new().bean(5u32).background("idle", |_| async {});
        let builder = apply(app.wiring, ServerBuilder::default().bean(6u64));
        assert_eq!(builder.beans.len(), 2);
        assert_eq!(format!("{:?}", builder.background), "[\"idle\"]");
    }
}
