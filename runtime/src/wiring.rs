//! Wiring an application on the builder: the values its factories take by
//! type ([`ServerBuilder::bean`]) and the tasks that run beside the server
//! ([`ServerBuilder::background`]).

use std::future::Future;
use std::sync::Arc;

use wsboot_core::__runtime::{new_context, provide_beans};
use wsboot_core::{AppContext, Beans, Error, Hub};

use crate::server::ServerBuilder;

impl ServerBuilder {
    /// Registers `value` in the application context, shared as an `Arc<T>`:
    /// a factory (`#[ws_handler]`, `#[ws_plugin]` fn) gets it by taking `&T`
    /// or `Arc<T>`, a callback with `session.context().require::<T>()`. One
    /// value per type: a second is a startup error naming both calls (wrap
    /// values in types of their own to have two). Spring's `@Bean`, axum's
    /// `with_state`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use wsboot::{HandlerRegistry, Server, WebSocketHandler};
    ///
    /// struct Tokens(Vec<String>);
    /// struct Notify { tokens: Arc<Tokens> }
    /// impl WebSocketHandler for Notify {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), wsboot::Error> {
    /// let mut registry = HandlerRegistry::new();
    /// registry.add_handler_with("/notify", |context| Ok(Notify { tokens: context.require()? }));
    /// let server = Server::builder()
    ///     .registry(registry)
    ///     .bean(Tokens(vec!["secret".into()]))
    ///     .bind("127.0.0.1:0")
    ///     .await?;
    /// assert_eq!(server.context().require::<Tokens>()?.0, ["secret"]);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn bean<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.beans.add(value);
        self
    }

    /// Registers a value that is already shared, or a trait object
    /// (`Arc<dyn Store>`, looked up as `dyn Store`).
    #[track_caller]
    pub fn bean_shared<T: ?Sized + Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.beans.add_shared(value);
        self
    }

    /// Whether to build the `#[bean]` providers of the program into the
    /// context. By default they are built unless an explicit
    /// [`registry`](Self::registry) was given, as for `#[ws_plugin]`s.
    pub fn annotated_beans(mut self, build: bool) -> Self {
        self.annotated_beans = Some(build);
        self
    }

    /// Whether the `#[bean]` providers' values join the context.
    pub(crate) fn provides_beans(&self) -> bool {
        self.annotated_beans.unwrap_or(self.registry.is_none())
    }

    /// Runs `task` from when the server is up (every plugin started) until it
    /// shuts down: a ticker, the consumer of an outside queue. It gets the
    /// application context, whose [`hub`](AppContext::hub) publishes to
    /// sessions. At shutdown it is cancelled (at its next `.await`) and
    /// awaited, before sessions close and before plugins' `on_shutdown`.
    /// Spring's `ApplicationRunner` and `@Scheduled`; in axum, a `tokio::spawn`
    /// before `axum::serve`.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// let builder = wsboot::Server::builder().background("clock", |context| async move {
    ///     let mut every_second = tokio::time::interval(Duration::from_secs(1));
    ///     loop {
    ///         every_second.tick().await;
    ///         context.hub().publish("clock", "tick").await;
    ///     }
    /// });
    /// # drop(builder);
    /// ```
    pub fn background<F, Fut>(mut self, name: impl Into<String>, task: F) -> Self
    where
        F: FnOnce(AppContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.background.add(name.into(), task);
        self
    }
}

/// The application context of `beans` over `hub`, with the values of the
/// `#[bean]` providers if `providers`.
pub(crate) fn context(beans: Beans, providers: bool, hub: Hub) -> Result<AppContext, Error> {
    let context = new_context(beans, hub)?;
    if providers { provide_beans(context) } else { Ok(context) }
}
