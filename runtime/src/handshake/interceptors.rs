//! The handshake interceptors of a request: `before_handshake` in order until
//! one refuses, then `after_handshake` exactly once for every one that ran,
//! whatever the outcome.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use http::StatusCode;
use wsboot_core::{HandshakeRequest, Rejection, SharedInterceptor};

use crate::routing::Route;
use crate::session::panic_message;

/// The interceptors whose `before_handshake` ran, in the order their
/// `after_handshake` is due: the reverse, as Spring unwinds its chain, so an
/// interceptor's "after" brackets those added after it.
#[must_use = "every interceptor whose `before_handshake` ran must hear the outcome"]
pub(super) struct Ran(Vec<SharedInterceptor>);

/// Runs `before_handshake` of the server-wide interceptors, then the route's,
/// each in the order added, until one refuses (or panics, which refuses with
/// 500).
pub(super) async fn before_handshake(
    global: &[SharedInterceptor],
    route: &Route,
    request: &mut HandshakeRequest,
) -> (Ran, Result<(), Rejection>) {
    let mut ran: Vec<SharedInterceptor> = Vec::new();
    let mut verdict = Ok(());
    for interceptor in global.iter().chain(&route.interceptors) {
        ran.push(interceptor.clone());
        let refusal = match AssertUnwindSafe(interceptor.before_handshake(request)).catch_unwind().await {
            Ok(Ok(())) => continue,
            Ok(Err(rejection)) => rejection,
            Err(panic) => {
                tracing::error!(
                    interceptor = interceptor.name(),
                    "before_handshake panicked: {}",
                    panic_message(&panic)
                );
                Rejection::new(StatusCode::INTERNAL_SERVER_ERROR).body("handshake refused")
            }
        };
        tracing::debug!(interceptor = interceptor.name(), status = %refusal.status(), "handshake rejected");
        verdict = Err(refusal);
        break;
    }
    ran.reverse();
    (Ran(ran), verdict)
}

impl Ran {
    /// Tells each interceptor the outcome: `None` once the 101 is written, or
    /// why the upgrade did not happen. A panic is logged and goes no further,
    /// so the others still hear it.
    pub(super) async fn after_handshake(self, request: &HandshakeRequest, rejection: Option<&Rejection>) {
        for interceptor in self.0 {
            let after = interceptor.after_handshake(request, rejection);
            if let Err(panic) = AssertUnwindSafe(after).catch_unwind().await {
                tracing::error!(
                    interceptor = interceptor.name(),
                    "after_handshake panicked: {}",
                    panic_message(&panic)
                );
            }
        }
    }
}
