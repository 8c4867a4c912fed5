//! A plain HTTP answer as a test sees it: a refused upgrade, the `101` of an
//! accepted one, or a page.

use std::fmt;

use tokio_tungstenite::tungstenite::http;

/// A plain HTTP answer: a refused upgrade, the `101 Switching Protocols` of an
/// accepted one (see [`TestClient::response`](super::TestClient::response)),
/// or a page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl TestResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(super) fn from_http<B>(response: &http::Response<B>, body: Option<String>) -> TestResponse {
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        TestResponse { status: response.status().as_u16(), headers, body: body.unwrap_or_default() }
    }

    pub(super) fn parse(raw: &[u8]) -> Option<TestResponse> {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        response.parse(&raw[..end]).ok()?;
        let headers = response
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
            .collect();
        Some(TestResponse { status: response.code?, headers, body: String::from_utf8_lossy(&raw[end..]).into_owned() })
    }
}

impl fmt::Display for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.body.trim_end())
    }
}
