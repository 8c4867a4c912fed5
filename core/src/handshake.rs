//! The HTTP handshake as handlers and interceptors see it, and the
//! [`HandshakeInterceptor`] hook (Spring's `beforeHandshake` / `afterHandshake`).

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};

use crate::attributes::{Attributes, Principal};
use crate::future::BoxFuture;
use crate::packed_request::PackedRequest;

/// Path parameters captured by a route pattern such as `/rooms/{room}`,
/// percent-decoded.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PathParams {
    /// A boxed slice, not a `Vec`: every session of a pattern route keeps one.
    pairs: Box<[(Box<str>, Box<str>)]>,
}

impl PathParams {
    /// Parameters from `(name, decoded value)` pairs.
    pub fn from_pairs<N: Into<Box<str>>, V: Into<Box<str>>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        PathParams { pairs: pairs.into_iter().map(|(n, v)| (n.into(), v.into())).collect() }
    }

    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| &**n == name).map(|(_, v)| &**v)
    }

    /// All `(name, value)` pairs, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (&**n, &**v))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl fmt::Debug for PathParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The upgrade request as an interceptor sees it: everything the client sent, plus
/// the attributes and principal the session will carry if the handshake succeeds.
#[derive(Debug)]
pub struct HandshakeRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    remote_addr: SocketAddr,
    path_params: PathParams,
    version: Version,
    /// What the request carried beyond its head: typed values a tower
    /// middleware inserted when wsboot runs inside an HTTP framework.
    extensions: Extensions,
    attributes: Attributes,
    principal: Option<Principal>,
}

impl HandshakeRequest {
    /// A request as the server parsed it: the runtime makes one per upgrade;
    /// build one yourself to unit-test an interceptor.
    pub fn new(method: Method, uri: Uri, headers: HeaderMap, remote_addr: SocketAddr, path_params: PathParams) -> Self {
        HandshakeRequest {
            method,
            uri,
            headers,
            remote_addr,
            path_params,
            version: Version::HTTP_11,
            extensions: Extensions::new(),
            attributes: Attributes::new(),
            principal: None,
        }
    }

    /// The same request as sent over HTTP `version` (HTTP/1.1 unless said).
    pub fn with_version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    /// The same request carrying `extensions` (those of the `http::Request`
    /// it came as).
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// The HTTP method: `GET` for an HTTP/1.1 upgrade, `CONNECT` for an
    /// HTTP/2 extended CONNECT (RFC 8441).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The HTTP version the WebSocket opens over: HTTP/1.1, or HTTP/2 when
    /// the session shares an HTTP/2 connection with other streams.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Values the request carried beyond its head. When wsboot serves inside
    /// an axum app, what the app's tower middleware inserted (an
    /// authentication layer's user, a request id) is here, for interceptors
    /// to read; a [`Principal`] found here becomes the session's principal
    /// before any interceptor runs. Empty on wsboot's own listener. The
    /// session does not keep them.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The extensions, to take values out of them.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// The request target: path and query.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The request path.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The raw query string, if any.
    pub fn query(&self) -> Option<&str> {
        self.uri.query()
    }

    /// The value of query parameter `name`, percent-decoded (`+` is a space).
    /// The first occurrence wins.
    pub fn query_param(&self, name: &str) -> Option<String> {
        query_param(self.uri.query()?, name)
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }

    /// Parameters captured from the route pattern.
    pub fn path_params(&self) -> &PathParams {
        &self.path_params
    }

    /// The attributes the session will start with.
    pub fn attributes(&self) -> &Attributes {
        &self.attributes
    }

    /// Attributes to hand to the session (Spring's `attributes` map argument).
    pub fn attributes_mut(&mut self) -> &mut Attributes {
        &mut self.attributes
    }

    /// The principal set so far.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// Sets the session's principal (the authenticated user).
    pub fn set_principal(&mut self, principal: Principal) {
        self.principal = Some(principal);
    }

    /// Splits the request into what the session keeps.
    pub(crate) fn into_parts(self) -> HandshakeParts {
        HandshakeParts {
            request: PackedRequest::pack(self.remote_addr, &self.uri, &self.headers),
            path_params: self.path_params,
            attributes: self.attributes,
            principal: self.principal,
        }
    }
}

/// The parts of an accepted [`HandshakeRequest`] that a session keeps.
#[derive(Debug)]
pub(crate) struct HandshakeParts {
    /// The client's address, the target and the headers.
    pub(crate) request: PackedRequest,
    pub(crate) path_params: PathParams,
    pub(crate) attributes: Attributes,
    pub(crate) principal: Option<Principal>,
}

/// Decodes one query parameter from a raw query string.
pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_component(key) == name).then(|| decode_component(value))
    })
}

fn decode_component(raw: &str) -> String {
    let plus_as_space = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space).decode_utf8_lossy().into_owned()
}

/// An HTTP answer that refuses the upgrade: any status, headers and a short body.
#[derive(Clone, PartialEq, Eq)]
pub struct Rejection {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Rejection {
    /// A rejection with `status`; the body defaults to the status's reason phrase.
    pub fn new(status: StatusCode) -> Self {
        Rejection { status, headers: HeaderMap::new(), body: status.canonical_reason().unwrap_or("").to_owned() }
    }

    /// 401 Unauthorized. HTTP requires a 401 to carry a `WWW-Authenticate`
    /// challenge, and the server adds none of its own (only the app knows its
    /// scheme): add it with [`header`](Self::header), e.g.
    /// `Rejection::unauthorized().header("WWW-Authenticate", "Bearer realm=\"app\"")`.
    pub fn unauthorized() -> Self {
        Rejection::new(StatusCode::UNAUTHORIZED)
    }

    /// 403 Forbidden.
    pub fn forbidden() -> Self {
        Rejection::new(StatusCode::FORBIDDEN)
    }

    /// Adds a response header. Invalid names or values are ignored with no effect
    /// on the status, so a rejection is never turned into an error.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            self.headers.append(name, value);
        }
        self
    }

    /// Sets the response body (plain text).
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The extra headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body text.
    pub fn body_text(&self) -> &str {
        &self.body
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rejection({} {:?})", self.status, self.body)
    }
}

/// Runs before and after the WebSocket handshake (Spring's `HandshakeInterceptor`).
///
/// `before_handshake` may inspect the request, put typed values into the session's
/// attributes, set its principal, or refuse the upgrade with any HTTP status by
/// returning `Err(Rejection)`; the remaining interceptors then do not run.
/// `after_handshake` runs for every interceptor whose `before_handshake` ran, with
/// the rejection if the handshake was refused.
///
/// ```
/// use wsboot_core::{HandshakeInterceptor, HandshakeRequest, Principal, Rejection};
///
/// struct RequireUser;
///
/// impl HandshakeInterceptor for RequireUser {
///     async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
///         let user = request.query_param("user").ok_or_else(Rejection::unauthorized)?;
///         request.set_principal(Principal::new(user));
///         Ok(())
///     }
/// }
/// ```
pub trait HandshakeInterceptor: Send + Sync + 'static {
    /// Called before the upgrade is accepted. `Err` refuses it.
    fn before_handshake(&self, request: &mut HandshakeRequest) -> impl Future<Output = Result<(), Rejection>> + Send;

    /// Called exactly once, once the outcome is known: `rejection` is `None`
    /// when the upgrade succeeded, the refusal otherwise (an interceptor's, or
    /// the `500` answered when one panicked). When the client went away before
    /// the `101` could be written, `rejection` has status 499 ("client closed
    /// request", never sent), so that what `before_handshake` set up can be
    /// undone.
    fn after_handshake(
        &self,
        request: &HandshakeRequest,
        rejection: Option<&Rejection>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (request, rejection);
        async {}
    }

    /// A name for route listings and logs.
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// The object-safe form of [`HandshakeInterceptor`], implemented for every
/// interceptor; the registry stores interceptors as `Arc<dyn ErasedInterceptor>`.
#[doc(hidden)]
pub trait ErasedInterceptor: Send + Sync + 'static {
    fn before_handshake<'a>(&'a self, request: &'a mut HandshakeRequest) -> BoxFuture<'a, Result<(), Rejection>>;
    fn after_handshake<'a>(
        &'a self,
        request: &'a HandshakeRequest,
        rejection: Option<&'a Rejection>,
    ) -> BoxFuture<'a, ()>;
    fn name(&self) -> &'static str;
}

impl<I: HandshakeInterceptor> ErasedInterceptor for I {
    fn before_handshake<'a>(&'a self, request: &'a mut HandshakeRequest) -> BoxFuture<'a, Result<(), Rejection>> {
        Box::pin(HandshakeInterceptor::before_handshake(self, request))
    }
    fn after_handshake<'a>(
        &'a self,
        request: &'a HandshakeRequest,
        rejection: Option<&'a Rejection>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(HandshakeInterceptor::after_handshake(self, request, rejection))
    }
    fn name(&self) -> &'static str {
        HandshakeInterceptor::name(self)
    }
}

impl fmt::Debug for dyn ErasedInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A shared, type-erased interceptor.
pub type SharedInterceptor = Arc<dyn ErasedInterceptor>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        assert_eq!(query_param("name=J%C3%BCrgen+K&x=1", "name").as_deref(), Some("Jürgen K"));
        assert_eq!(query_param("a=1&a=2", "a").as_deref(), Some("1"));
        assert_eq!(query_param("flag&b=2", "flag").as_deref(), Some(""));
        assert_eq!(query_param("b=2", "a"), None);
    }
}
