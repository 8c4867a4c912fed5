//! [`BearerAuth`], the handshake interceptor, and the `#[ws_plugin]` that
//! hands it the [`TokenStore`] bean and puts it in front of `/notifications`.

use std::sync::Arc;

use wsboot::{
    BoxError, HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Principal, RegistryPlugin, Rejection, ws_plugin,
};

use crate::notifications::ROUTE;
use crate::tokens::TokenStore;

/// Admits a handshake presenting a known token and sets the session's
/// principal to its user; refuses the others with `401 Unauthorized` and a
/// `WWW-Authenticate: Bearer` challenge (RFC 6750 §3).
#[derive(Debug)]
pub struct BearerAuth {
    tokens: Arc<TokenStore>,
}

impl BearerAuth {
    /// An interceptor admitting the tokens of `tokens`.
    pub fn new(tokens: Arc<TokenStore>) -> Self {
        BearerAuth { tokens }
    }
}

/// The token of `request`: its `Authorization: Bearer` header, else its
/// `token` query parameter.
fn presented(request: &HandshakeRequest) -> Option<String> {
    let header = request.header("authorization").and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
    });
    header.or_else(|| request.query_param("token"))
}

impl HandshakeInterceptor for BearerAuth {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        let Some(token) = presented(request) else {
            return Err(Rejection::unauthorized()
                .header("WWW-Authenticate", "Bearer realm=\"notify\"")
                .body("missing token: send `Authorization: Bearer TOKEN` or add `?token=TOKEN`"));
        };
        match self.tokens.user(&token) {
            Some(user) => {
                request.set_principal(Principal::new(user));
                Ok(())
            }
            None => Err(Rejection::unauthorized()
                .header("WWW-Authenticate", "Bearer realm=\"notify\", error=\"invalid_token\"")
                .body("unknown token")),
        }
    }

    fn name(&self) -> &'static str {
        "BearerAuth"
    }
}

/// Puts a [`BearerAuth`] in front of the notifications route.
#[derive(Debug)]
pub struct BearerAuthPlugin {
    tokens: Arc<TokenStore>,
}

impl RegistryPlugin for BearerAuthPlugin {
    fn name(&self) -> &str {
        "bearer-auth"
    }

    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        let route = registry
            .iter_mut()
            .find(|registration| registration.path() == ROUTE)
            .ok_or_else(|| format!("no handler at {ROUTE} to protect"))?;
        route.interceptor(BearerAuth::new(self.tokens.clone()));
        Ok(())
    }
}

/// The plugin, built at startup with the token store bean.
#[ws_plugin]
fn bearer_auth(tokens: Arc<TokenStore>) -> BearerAuthPlugin {
    BearerAuthPlugin { tokens }
}
