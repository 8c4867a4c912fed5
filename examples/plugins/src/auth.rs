//! [`TokenAuth`], the interceptor that admits a handshake only with a known
//! bearer token, and [`TokenAuthPlugin`], which puts it in front of handlers.

use std::sync::Arc;

use wsboot_core::SharedInterceptor;
use wsboot_core::{
    BoxError, HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Principal, RegistryPlugin, Rejection,
};

use crate::tokens::{Presented, TokenSource, TokenTable, presented};

const CHALLENGE: &str = "Bearer realm=\"wsboot\"";
const HOW: &str = "send `Authorization: Bearer TOKEN`, add `?access_token=TOKEN` to the URL, \
                   or offer the token as a Sec-WebSocket-Protocol value after the application's protocol";

/// Admits a handshake that presents a token of its [`TokenTable`], and sets the
/// session's principal to the token's user (and a [`TokenSource`] attribute to
/// where it was found). Refuses the others with `401 Unauthorized` and a
/// `WWW-Authenticate: Bearer` challenge (RFC 6750 §3), `error="invalid_token"`
/// when a token was presented but is unknown.
///
/// The token may come in three places, looked at in this order:
/// - `Authorization: Bearer TOKEN`;
/// - the `access_token` query parameter (for clients that cannot set headers;
///   URLs end up in logs, so prefer the others);
/// - one of the values of `Sec-WebSocket-Protocol`, the one header a browser's
///   `new WebSocket(url, protocols)` lets a page set.
///
/// # Tokens offered as subprotocols
///
/// The server must never answer with the token as the selected subprotocol:
/// it selects one of the handler's own `subprotocols` that the client also
/// offered, and ignores the token. So a browser offers the application's
/// protocol first and the token after it,
/// `new WebSocket(url, ["secure.v1", token])`, and the handler declares
/// `subprotocols = ["secure.v1"]`. A client that offers the token alone is
/// authenticated, but the 101 then names no subprotocol, which RFC 6455 §4.1
/// allows and browsers (and tungstenite) treat as a failed handshake.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    tokens: Arc<TokenTable>,
}

impl TokenAuth {
    /// An interceptor admitting the tokens of `tokens`.
    pub fn new(tokens: TokenTable) -> Self {
        TokenAuth { tokens: Arc::new(tokens) }
    }
}

impl HandshakeInterceptor for TokenAuth {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        match presented(&self.tokens, request) {
            Presented::Valid { user, source } => {
                let user = user.to_owned();
                tracing::debug!(user = %user, ?source, remote = %request.remote_addr(), "token accepted");
                request.set_principal(Principal::new(user));
                request.attributes_mut().insert::<TokenSource>(source);
                Ok(())
            }
            Presented::Invalid => {
                tracing::info!(remote = %request.remote_addr(), path = request.path(), "unknown token refused");
                Err(Rejection::unauthorized()
                    .header("WWW-Authenticate", &format!("{CHALLENGE}, error=\"invalid_token\""))
                    .body(format!("invalid token: {HOW}")))
            }
            Presented::Missing => Err(Rejection::unauthorized()
                .header("WWW-Authenticate", CHALLENGE)
                .body(format!("missing bearer token: {HOW}"))),
        }
    }

    fn name(&self) -> &'static str {
        "TokenAuth"
    }
}

/// Puts a [`TokenAuth`] in front of handlers: every handler, or those at the
/// paths given to [`protect`](Self::protect). Its name is `token-auth`.
#[derive(Debug, Clone)]
pub struct TokenAuthPlugin {
    interceptor: SharedInterceptor,
    tokens: usize,
    paths: Vec<String>,
}

impl TokenAuthPlugin {
    /// Protects every handler with `tokens`.
    pub fn new(tokens: TokenTable) -> Self {
        let count = tokens.len();
        TokenAuthPlugin { interceptor: Arc::new(TokenAuth::new(tokens)), tokens: count, paths: Vec::new() }
    }

    /// Protects only the handler at `path` (a route pattern as registered,
    /// e.g. `/rooms/{room}`); call again for more paths.
    pub fn protect(mut self, path: impl Into<String>) -> Self {
        self.paths.push(path.into());
        self
    }
}

impl RegistryPlugin for TokenAuthPlugin {
    fn name(&self) -> &str {
        "token-auth"
    }

    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        for path in &self.paths {
            if !registry.iter().any(|r| r.path() == path) {
                return Err(format!("no handler at {path} to protect").into());
            }
        }
        let mut protected = 0;
        for registration in registry.iter_mut() {
            if self.paths.is_empty() || self.paths.iter().any(|p| p == registration.path()) {
                registration.shared_interceptor(self.interceptor.clone());
                protected += 1;
            }
        }
        tracing::info!(routes = protected, tokens = self.tokens, "bearer-token authentication on");
        Ok(())
    }
}
