//! wsboot inside an axum app: one listener serves the app's REST route, its
//! authentication middleware, and wsboot's WebSocket handlers, over HTTP/1.1
//! and HTTP/2 (h2c; behind TLS with ALPN, h2 too).
//!
//! - `GET /api/hello`: a plain axum route; `hello NAME` for an authenticated
//!   caller, `401` otherwise.
//! - `/myHandler`: the seed's handler (logs, echoes text), greeting the
//!   authenticated user the middleware found, if any.
//! - `/echo`: echoes text and binary messages (for the benchmarks).
//!
//! The middleware authenticates `Authorization: Bearer NAME`, or `?token=NAME`
//! (a browser cannot set headers on a WebSocket), and puts a
//! [`wsboot::Principal`] in the request: axum handlers extract it, and wsboot
//! makes it the session's principal.
//!
//! ```sh
//! cargo run --release --example axum -- --addr 127.0.0.1:8080
//! curl -H 'Authorization: Bearer ada' http://127.0.0.1:8080/api/hello
//! ```

use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Extension, Router};
use wsboot::axum::WsRoutes;
use wsboot::{Bytes, CloseStatus, HandlerResult, Principal, Session, Utf8Bytes, WebSocketHandler, ws_handler};

/// Spring's `MyHandler extends TextWebSocketHandler`.
#[derive(Default)]
#[ws_handler("/myHandler")]
struct MyHandler;

impl WebSocketHandler for MyHandler {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        tracing::info!(session = %session.id(), "connection established");
        if let Some(user) = session.principal() {
            session.send(format!("hello {}", user.name())).await?;
        }
        Ok(())
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        tracing::info!(session = %session.id(), "payload: {text}");
        session.send(text).await?;
        Ok(())
    }

    async fn after_connection_closed(&self, session: &Session, status: &CloseStatus) {
        tracing::info!(session = %session.id(), "closed: {status}");
    }
}

/// Echoes text and binary messages unchanged, up to 16 MiB.
#[derive(Default)]
#[ws_handler("/echo", max_message_size = 16 << 20, max_frame_size = 16 << 20)]
struct Echo;

impl WebSocketHandler for Echo {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

/// The app's authentication layer: whoever the request names becomes its
/// principal. (A real app checks a token here.)
async fn authenticate(mut request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = || {
        let query = request.uri().query()?;
        query.split('&').find_map(|pair| pair.strip_prefix("token=")).map(str::to_owned)
    };
    if let Some(name) = bearer.or_else(token).filter(|name| !name.is_empty()) {
        request.extensions_mut().insert(Principal::new(name));
    }
    next.run(request).await
}

async fn hello(user: Option<Extension<Principal>>) -> Result<String, StatusCode> {
    let Extension(user) = user.ok_or(StatusCode::UNAUTHORIZED)?;
    Ok(format!("hello {}", user.name()))
}

/// `--addr HOST:PORT`, default 127.0.0.1:8080.
fn addr() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:8080".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs HOST:PORT")?,
            other => return Err(format!("unknown argument {other:?}: this example takes --addr HOST:PORT")),
        }
    }
    Ok(addr)
}

/// The process's allocator. mimalloc keeps an idle connection smaller than glibc's
/// malloc does: tokio's per-connection task and socket registration are 128-byte
/// aligned blocks, which glibc pads (about 400 bytes of RSS per connection), and
/// freed compressors go back to the system. See "Memory and the allocator" in the
/// README.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[wsboot::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    wsboot::init_logging();
    let addr = addr()?;
    // Every `#[ws_handler]` of the program, with wsboot's settings
    // (`WSBOOT_*` variables, `wsboot.toml`).
    let ws = WsRoutes::start(wsboot::Server::builder()).await?;
    let app = Router::new().route("/api/hello", get(hello)).merge(ws.router()).layer(middleware::from_fn(authenticate));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    // Small messages leave at once, as on wsboot's own listener.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(ws.graceful_shutdown(wsboot::shutdown_signal()))
        .await?;
    Ok(())
}
