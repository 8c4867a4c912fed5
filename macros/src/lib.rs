//! The `#[ws_handler]` attribute of [wsboot]. Use it through the facade crate,
//! as `wsboot::ws_handler`; this crate is an implementation detail.
//!
//! [wsboot]: https://docs.rs/wsboot
//!
//! `#[ws_handler("/path", options...)]` registers a WebSocket handler at link
//! time, like Spring's `registry.addHandler(handler, "/path")` without the
//! registry call: every handler annotated anywhere in the program is served by
//! the server that starts in `main`.
//!
//! # On a struct
//!
//! The struct must implement `wsboot::WebSocketHandler` and `Default`, and not
//! be generic. The server builds it with `Default::default()`.
//!
//! ```
//! use wsboot::{HandlerResult, Message, Session, WebSocketHandler, ws_handler};
//!
//! #[derive(Default)]
//! #[ws_handler("/echo", max_message_size = 1 << 20)]
//! struct Echo;
//!
//! impl WebSocketHandler for Echo {
//!     async fn handle_text_message(&self, session: &Session, text: wsboot::Utf8Bytes) -> HandlerResult {
//!         session.send(Message::Text(text)).await?;
//!         Ok(())
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! # On a factory fn
//!
//! A free fn that returns the handler, like a Spring `@Bean` method. It must
//! not be `async`, `unsafe`, generic or a method. Its parameters are beans,
//! looked up by type in the application context when the server starts (see
//! `wsboot::FromContext`): `&T` or `Arc<T>` for a value registered with
//! `.bean(value)`, `Hub`, `AppContext`. A type nobody registered stops the
//! server from starting with an error naming the fn, the parameter and the type.
//!
//! ```
//! # use wsboot::{WebSocketHandler, ws_handler};
//! # #[derive(Default)] struct Echo;
//! # impl WebSocketHandler for Echo {}
//! #[ws_handler("/rooms/{room}", per_connection)]
//! fn room() -> impl WebSocketHandler {
//!     Echo
//! }
//! # fn main() {}
//! ```
//!
//! ```
//! # use wsboot::{Hub, WebSocketHandler, ws_handler};
//! struct TokenStore;
//! struct Notify;
//! # impl WebSocketHandler for Notify {}
//! #[ws_handler("/notify/{user}")]
//! fn notify(tokens: &TokenStore, hub: Hub) -> Notify {
//!     let _ = (tokens, hub);
//!     Notify
//! }
//! # fn main() {}
//! ```
//!
//! # The path
//!
//! The first argument, a string literal. It is checked at compile time with the
//! runtime's own rules (`wsboot_core::RoutePattern`): it starts with `/`,
//! has no empty segment, query or fragment, and a parameter is a whole segment
//! `{name}`.
//!
//! # Options
//!
//! After the path, comma-separated, in any order, each at most once:
//!
//! | option | meaning |
//! |---|---|
//! | `per_connection` | build a fresh handler for every WebSocket session (the default shares one) |
//! | `allowed_origins = ["https://a.example", "https://*.example.com"]` | the `Origin`s whose handshakes are accepted |
//! | `subprotocols = ["chat.v1", "chat.v2"]` | the subprotocols offered, in order of preference |
//! | `interceptors = [TokenAuth::new(), audit()]` | `HandshakeInterceptor` values, run in the order written |
//! | `decorators = [Audit::new(), Timing]` | `HandlerDecorator` values wrapping the handler, each around the ones before |
//! | `max_message_size = 16_777_216` | the largest message accepted, in bytes (any `usize` expression) |
//! | `max_frame_size = 65_536` | the largest frame accepted, in bytes (any `usize` expression) |
//! | `deflate` | enable permessage-deflate for this handler |
//! | `crate = my_reexport::wsboot` | the path of the wsboot crate, for crates that re-export it |
//!
//! Origins and subprotocols are string literals, checked at compile time with
//! the rules the server applies at startup (an allowed origin is `*`, `null` or
//! `scheme://host[:port]`, without a path; a subprotocol is an HTTP token), so a
//! value that compiles never fails to start. Every option calls the
//! `HandlerRegistration` method of the same name, the one a programmatic
//! registration calls, so the two forms behave alike.
//!
//! # What it expands to
//!
//! The item is kept as written; a registration is added next to it, which
//! names the runtime only through the hidden `wsboot::__private` module. For
//!
//! ```text
//! #[derive(Default)]
//! #[ws_handler("/chat", per_connection, subprotocols = ["chat.v1"], deflate)]
//! struct Chat;
//! ```
//!
//! the expansion is, in substance:
//!
//! ```text
//! #[derive(Default)]
//! struct Chat;
//!
//! const _: () = {
//!     // Builds one handler; also where "`Chat` is not a WebSocket handler" is reported.
//!     fn __wsboot_build() -> impl ::wsboot::WebSocketHandler {
//!         <Chat as ::core::default::Default>::default()
//!     }
//!     fn __wsboot_factory(
//!         _context: &::wsboot::__private::AppContext,
//!     ) -> ::core::result::Result<::wsboot::__private::HandlerFactory, ::wsboot::__private::Error> {
//!         ::core::result::Result::Ok(::wsboot::__private::per_connection_factory(move || __wsboot_build()))
//!     }
//!     fn __wsboot_configure(registration: &mut ::wsboot::__private::HandlerRegistration) {
//!         let protocols: [&'static str; 1] = ["chat.v1"];
//!         registration.subprotocols(protocols);
//!         registration.deflate(true);
//!     }
//!     ::wsboot::__private::inventory::submit! {
//!         ::wsboot::__private::HandlerDescriptor {
//!             path: "/chat",
//!             type_name: ::core::concat!(::core::module_path!(), "::", "Chat"),
//!             factory: __wsboot_factory,
//!             per_connection: true,
//!             configure: __wsboot_configure,
//!             location: ::wsboot::__private::SourceLocation {
//!                 file: ::core::file!(),
//!                 line: ::core::line!(),
//!                 column: ::core::column!(),
//!             },
//!         }
//!     }
//! };
//! ```
//!
//! At startup the server collects every descriptor (sorted, since link order is
//! unspecified) and makes the same registration as this hand-written code:
//!
//! ```
//! # use wsboot::{HandlerRegistry, WebSocketHandler};
//! # #[derive(Default)] struct Chat;
//! # impl WebSocketHandler for Chat {}
//! # let mut registry = HandlerRegistry::new();
//! registry
//!     .add_per_connection_handler("/chat", Chat::default) // `add_handler("/chat", Chat::default())` without per_connection
//!     .subprotocols(["chat.v1"])
//!     .deflate(true);
//! ```
//!
//! Two handlers on the same route are a startup error that names both, by
//! `type_name` and `location` (the struct or fn name in your source).
//!
//! # Errors
//!
//! Mistakes are compile errors on the offending token that say what to write,
//! e.g. a path that does not start with `/`:
//!
//! ```compile_fail
//! # use wsboot::{WebSocketHandler, ws_handler};
//! #[derive(Default)]
//! #[ws_handler("echo")] // error: handler path `echo` must start with `/`
//! struct Echo;          //          help: write "/echo"
//! # impl WebSocketHandler for Echo {}
//! # fn main() {}
//! ```
//!
//! A struct that is not a handler is reported on its name, with the trait's own
//! message:
//!
//! ```compile_fail
//! # use wsboot::ws_handler;
//! #[derive(Default)]
//! #[ws_handler("/echo")]
//! struct Echo; // error: `Echo` is not a WebSocket handler
//! # fn main() {}
//! ```

mod bean;
mod entry;
mod errors;
mod expand;
mod inject;
mod options;
mod parse;
mod plugin;
mod stomp;
mod target;
mod validate;

use proc_macro::TokenStream;

/// Registers a WebSocket handler at a path: `#[ws_handler("/path", options...)]`
/// on a `Default` struct that implements `WebSocketHandler`, or on a factory
/// `fn(beans...) -> impl WebSocketHandler`.
///
/// See the [crate documentation](crate) for the options and the expansion.
#[proc_macro_attribute]
pub fn ws_handler(args: TokenStream, item: TokenStream) -> TokenStream {
    ws_handler_impl(args.into(), item.into()).into()
}

/// Makes an `async fn` a STOMP application handler for the SENDs to the
/// destinations matching the pattern (without the application prefix):
/// `#[message_mapping("/chat.{room}")]`, with `send_to = "/topic/…"` or
/// `send_to_user = "/queue/…"` for where its reply goes. Arguments named like
/// a `{variable}` of the pattern are that variable, parsed (`FromStr`); the
/// others come from the message by type (`wsboot::stomp::FromInbound`: the
/// body as `String`, `Bytes` or `Json<T>`, the `Session`, the `Principal`, the
/// whole `Inbound`). The return value is the reply (`wsboot::stomp::IntoReply`:
/// `()`, text, `Json<T>`, a `Reply`, an `Option` or a `Result` of those).
/// Registered at link time; every `StompEndpoint` of the program has it.
#[proc_macro_attribute]
pub fn message_mapping(args: TokenStream, item: TokenStream) -> TokenStream {
    stomp::expand(stomp::Mapping::Send, args.into(), item.into()).into()
}

/// As [`message_mapping`], for SUBSCRIBEs to application destinations: the
/// reply goes to that subscription only, once (the initial state of a view).
#[proc_macro_attribute]
pub fn subscribe_mapping(args: TokenStream, item: TokenStream) -> TokenStream {
    stomp::expand(stomp::Mapping::Subscribe, args.into(), item.into()).into()
}

/// Registers a registry plugin at link time, like `#[ws_handler]` registers a
/// handler: `#[ws_plugin]` on a `Default` struct that implements
/// `wsboot::RegistryPlugin`, or on a factory `fn(beans...) -> impl RegistryPlugin`
/// whose parameters are beans, as for `#[ws_handler]`.
/// Every server that collects annotations (the default, and `wsboot::run()`)
/// runs it; a server given an explicit registry does not, unless asked with
/// `ServerBuilder::annotated_plugins(true)`.
///
/// ```
/// use wsboot::{BoxError, HandlerRegistry, RegistryPlugin, ws_plugin};
///
/// /// Lets browsers from the company's domains reach every handler.
/// #[derive(Default)]
/// #[ws_plugin(order = -10)]
/// struct CompanyOrigins;
///
/// impl RegistryPlugin for CompanyOrigins {
///     fn name(&self) -> &str {
///         "company-origins"
///     }
///
///     fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
///         for registration in registry.iter_mut() {
///             registration.allowed_origins(["https://*.example.com"]);
///         }
///         Ok(())
///     }
/// }
/// # fn main() {}
/// ```
///
/// Options, each at most once:
///
/// | option | meaning |
/// |---|---|
/// | `order = -10` | where it runs among `#[ws_plugin]`s: lower first, default 0, ties by type path (any `i32` constant expression) |
/// | `crate = my_reexport::wsboot` | the path of the wsboot crate, for crates that re-export it |
///
/// The `#[ws_handler]` options (`per_connection`, `allowed_origins`, …) are
/// errors here: a plugin sets them on handlers from its `configure`.
///
/// ```compile_fail
/// # use wsboot::{RegistryPlugin, ws_plugin};
/// #[derive(Default)]
/// #[ws_plugin(per_connection)] // error: `per_connection` is an option of #[ws_handler], not of #[ws_plugin]
/// struct Audit;
/// # impl RegistryPlugin for Audit { fn name(&self) -> &str { "audit" } }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn ws_plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    plugin::ws_plugin_impl(args.into(), item.into()).into()
}

/// Registers a bean provider: `#[bean]` on a fn whose parameters are other
/// beans (`&T`, `Arc<T>`, `Hub`, ..., as for a `#[ws_handler]` factory fn) and
/// whose result joins the application context when the server starts, like a
/// Spring `@Bean` method. Providers run once, each after those making what it
/// takes; providers that take each other's beans are a startup error listing
/// the cycle. A provider returning `Arc<T>` registers `T` (so
/// `-> Arc<dyn Store>` is found as `&dyn Store` or `Arc<dyn Store>`).
///
/// ```
/// use wsboot::bean;
///
/// pub struct Config { pub url: String }
/// pub struct Pool { pub url: String }
///
/// #[bean]
/// fn pool(config: &Config) -> Pool {
///     Pool { url: config.url.clone() }
/// }
/// # fn main() {}
/// ```
///
/// A provider returns a named type:
///
/// ```compile_fail
/// # use wsboot::bean;
/// # trait Store {}
/// #[bean]
/// fn store() -> impl Store { todo!() } // error: a bean is looked up by its type
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn bean(args: TokenStream, item: TokenStream) -> TokenStream {
    bean::bean_impl(args.into(), item.into()).into()
}

/// The program's entry point, with no tokio dependency of its own: use it as
/// `#[wsboot::main]`.
///
/// On a plain `fn main` that calls `wsboot::run()` it only links the
/// package's library in; on `async fn main` (the builder form) it is
/// `#[tokio::main]` on the tokio wsboot runs on, taking the same options
/// (`flavor = "current_thread"`, `worker_threads = 4`).
///
/// Linking: `#[ws_handler]`s register at link time, and Rust links a library
/// only into programs that name it. A `main.rs` whose handlers all live in its
/// package's `lib.rs` names nothing from it; this attribute names it, so its
/// routes are served. Handlers in other crates need a `use that_crate as _;`.
///
/// ```no_run
/// #[wsboot::main]
/// async fn main() -> Result<(), wsboot::Error> {
///     wsboot::serve(wsboot::Server::builder().addr("127.0.0.1:8080")).await
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::main(args.into(), item.into()).into()
}

/// An async test on the tokio wsboot runs on, with no tokio dependency of its
/// own: use it as `#[wsboot::test]` (the same options as `#[tokio::test]`). Like
/// [`macro@main`], it links the package's library in, so a test file that names
/// nothing from it still sees its `#[ws_handler]`s.
///
/// ```
/// #[wsboot::test]
/// async fn handlers_may_spawn() {
///     let answer = wsboot::spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(answer, 42);
/// }
/// # fn main() {}
/// ```
///
/// With the `test-util` feature, `wsboot::test::TestServer` serves handlers in
/// such tests (see the `wsboot::test` module).
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::test(args.into(), item.into()).into()
}

fn ws_handler_impl(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    attribute_impl(args, item, validate::handler, expand::registration)
}

/// The phases both attributes run: parse the arguments and the item, `check`
/// them, `expand` the result. Returns the item unchanged followed by its
/// registration, or by every error found: on error the item is still emitted,
/// so the rest of the crate (and an IDE) keeps seeing it.
fn attribute_impl<Checked>(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
    check: impl FnOnce(parse::Args, &syn::Item, &mut errors::Errors) -> Option<Checked>,
    expand: impl FnOnce(&Checked) -> proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let mut errors = errors::Errors::default();
    let args = parse::args(args, &mut errors);
    let parsed = parse::item(item.clone());
    let checked = check(args, &parsed, &mut errors);
    let mut output = item;
    match errors.finish(checked) {
        Ok(Some(checked)) => output.extend(expand(&checked)),
        // `check` returns `None` only after recording an error.
        Ok(None) => {}
        Err(error) => output.extend(error.into_compile_error()),
    }
    output
}

#[cfg(test)]
mod tests {
    use quote::quote;

    // Not `super::*`: it would bring the `test` attribute of this crate over
    // the built-in `#[test]`.
    use super::ws_handler_impl;

    #[test]
    fn errors_keep_the_item() {
        let output = ws_handler_impl(
            quote!("nope", colour),
            quote!(
                struct Chat;
            ),
        )
        .to_string();
        assert!(output.starts_with("struct Chat ;"), "{output}");
        assert_eq!(output.matches("compile_error !").count(), 2, "{output}");
        assert!(!output.contains("submit"), "{output}");
    }

    #[test]
    fn success_keeps_the_item_then_registers() {
        let output = ws_handler_impl(
            quote!("/chat"),
            quote!(
                #[derive(Default)]
                struct Chat;
            ),
        )
        .to_string();
        assert!(output.starts_with("# [derive (Default)] struct Chat ; const _ : () ="), "{output}");
        assert!(!output.contains("compile_error"), "{output}");
    }
}
