//! `wss://`: where the certificate chain and private key come from, and (with
//! the `tls` feature) the rustls acceptor built from them at startup.
//!
//! The acceptor speaks TLS 1.2 and 1.3 with rustls' safe defaults, offers ALPN
//! `http/1.1` (the WebSocket upgrade is an HTTP/1.1 request), and does not ask
//! clients for certificates.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wsboot_core::{Error, ErrorKind};

/// The certificate chain and private key a server presents for `wss://`, as
/// PEM, from files or from memory. Files are read when the server starts; a
/// missing or unreadable file, a file with no certificate or no key, or a key
/// that does not match the certificate is a startup error naming the file.
///
/// Serving TLS needs the `tls` feature; without it, a server configured with
/// TLS refuses to start and says so.
///
/// ```
/// use wsboot::TlsConfig;
///
/// let tls = TlsConfig::from_pem_files("/etc/wsboot/fullchain.pem", "/etc/wsboot/key.pem");
/// # let _ = tls;
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TlsConfig {
    cert_chain: Option<PemSource>,
    key: Option<PemSource>,
}

/// Where one PEM document comes from.
#[derive(Clone, PartialEq, Eq)]
enum PemSource {
    File(PathBuf),
    Memory(Arc<[u8]>),
}

impl PemSource {
    fn describe(&self, what: &str) -> String {
        match self {
            PemSource::File(path) => format!("{what} file `{}`", path.display()),
            PemSource::Memory(bytes) => format!("{what} given in memory ({} bytes)", bytes.len()),
        }
    }

    /// The PEM text, reading the file if it is one.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    fn read(&self, what: &str) -> Result<Arc<[u8]>, Error> {
        match self {
            PemSource::Memory(bytes) => Ok(bytes.clone()),
            PemSource::File(path) => std::fs::read(path).map(Arc::from).map_err(|e| {
                Error::with_source(ErrorKind::Config, format!("cannot read the {}: {e}", self.describe(what)), e)
            }),
        }
    }
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemSource::File(path) => write!(f, "{}", path.display()),
            // Never print key material.
            PemSource::Memory(bytes) => write!(f, "<{} bytes in memory>", bytes.len()),
        }
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").field("cert_chain", &self.cert_chain).field("key", &self.key).finish()
    }
}

impl TlsConfig {
    /// The certificate chain (leaf first, then intermediates) and the private
    /// key (PKCS#8, PKCS#1 or SEC1), from PEM files read at startup.
    pub fn from_pem_files(cert_chain: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        TlsConfig { cert_chain: Some(PemSource::File(cert_chain.into())), key: Some(PemSource::File(key.into())) }
    }

    /// The certificate chain and private key as PEM text in memory.
    pub fn from_pem(cert_chain: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        TlsConfig {
            cert_chain: Some(PemSource::Memory(Arc::from(cert_chain.into()))),
            key: Some(PemSource::Memory(Arc::from(key.into()))),
        }
    }

    /// No certificate or key yet; configuration fills them in one key at a time.
    pub(crate) fn empty() -> Self {
        TlsConfig { cert_chain: None, key: None }
    }

    pub(crate) fn set_cert_file(&mut self, path: PathBuf) {
        self.cert_chain = Some(PemSource::File(path));
    }

    pub(crate) fn set_key_file(&mut self, path: PathBuf) {
        self.key = Some(PemSource::File(path));
    }

    /// The certificate chain's file, if it comes from one.
    pub fn cert_chain_file(&self) -> Option<&Path> {
        match &self.cert_chain {
            Some(PemSource::File(path)) => Some(path),
            _ => None,
        }
    }

    /// The key's file, if it comes from one.
    pub fn key_file(&self) -> Option<&Path> {
        match &self.key {
            Some(PemSource::File(path)) => Some(path),
            _ => None,
        }
    }

    /// Both halves are there (configuration may have set only one).
    pub(crate) fn check_complete(&self) -> Result<(), String> {
        match (&self.cert_chain, &self.key) {
            (Some(_), Some(_)) => Ok(()),
            (None, _) => Err("`tls.cert_file` is missing: TLS needs both `tls.cert_file` and `tls.key_file`".into()),
            (_, None) => Err("`tls.key_file` is missing: TLS needs both `tls.cert_file` and `tls.key_file`".into()),
        }
    }
}

/// Accepts TLS connections with the configured certificate.
#[cfg(feature = "tls")]
#[derive(Clone)]
pub(crate) struct Acceptor(pub(crate) tokio_rustls::TlsAcceptor);

#[cfg(feature = "tls")]
impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Acceptor")
    }
}

/// Without the `tls` feature there is nothing to accept with; a configured
/// certificate is refused at startup.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
pub(crate) enum Acceptor {}

/// Builds the acceptor: reads and checks the PEM documents. Every error names
/// the file (or says the PEM came from memory) and what is wrong with it.
/// `http2`: whether ALPN offers HTTP/2 ([`ServerConfig::http2_enabled`](crate::ServerConfig::http2_enabled)).
#[cfg(feature = "tls")]
pub(crate) fn acceptor(config: &TlsConfig, http2: bool) -> Result<Acceptor, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    config.check_complete().map_err(|problem| Error::new(ErrorKind::Config, problem))?;
    let (cert_source, key_source) =
        (config.cert_chain.as_ref().expect("checked"), config.key.as_ref().expect("checked"));
    let invalid = |source: &PemSource, what: &str, problem: String| {
        Error::new(ErrorKind::Config, format!("invalid TLS {}: {problem}", source.describe(what)))
    };

    let cert_pem = cert_source.read("certificate chain")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(cert_source, "certificate chain", format!("{e}")))?;
    if chain.is_empty() {
        return Err(invalid(cert_source, "certificate chain", "it holds no PEM `CERTIFICATE` block".to_owned()));
    }

    let key_pem = key_source.read("key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        let problem = match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "it holds no PEM private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block)".to_owned()
            }
            other => other.to_string(),
        };
        invalid(key_source, "key", problem)
    })?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::with_source(ErrorKind::Config, format!("TLS setup failed: {e}"), e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Config,
                format!(
                    "the TLS {} and the {} do not make a usable pair: {e}",
                    key_source.describe("key"),
                    cert_source.describe("certificate chain")
                ),
                e,
            )
        })?;
    server.alpn_protocols = alpn_protocols(http2);
    Ok(Acceptor(tokio_rustls::TlsAcceptor::from(Arc::new(server))))
}

/// The application protocols offered in the TLS handshake, preferred first:
/// with the `http2` feature and `http2` on, HTTP/2 (browsers then open
/// WebSockets as extended CONNECT streams, RFC 8441), and HTTP/1.1 for every
/// other client.
#[cfg(feature = "tls")]
fn alpn_protocols(http2: bool) -> Vec<Vec<u8>> {
    let mut protocols = Vec::new();
    if cfg!(feature = "http2") && http2 {
        protocols.push(b"h2".to_vec());
    }
    protocols.push(b"http/1.1".to_vec());
    protocols
}

/// Without the `tls` feature: a configured certificate is a startup error.
#[cfg(not(feature = "tls"))]
pub(crate) fn acceptor(config: &TlsConfig, _http2: bool) -> Result<Acceptor, Error> {
    let what = config.cert_chain.as_ref().map_or_else(
        || "TLS is configured".to_owned(),
        |c| format!("TLS is configured ({})", c.describe("certificate chain")),
    );
    Err(Error::new(
        ErrorKind::Config,
        format!("{what}, but this build of wsboot has no TLS support: enable the `tls` feature of the `wsboot` crate"),
    ))
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use super::*;

    fn generated() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    #[test]
    fn pem_from_memory_builds_an_acceptor_with_alpn() {
        let (cert, key) = generated();
        let acceptor = acceptor(&TlsConfig::from_pem(cert, key), true).unwrap();
        assert_eq!(acceptor.0.config().alpn_protocols, alpn_protocols(true));
    }

    #[test]
    fn a_missing_key_file_is_named() {
        let dir = std::env::temp_dir().join(format!("wsboot-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, _) = generated();
        let cert_path = dir.join("cert.pem");
        std::fs::write(&cert_path, cert).unwrap();
        let missing = dir.join("no-such-key.pem");
        let error = acceptor(&TlsConfig::from_pem_files(&cert_path, &missing), true).unwrap_err().to_string();
        assert!(error.contains("cannot read the key file") && error.contains("no-such-key.pem"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_that_is_not_pem_is_named() {
        let (cert, _) = generated();
        let error = acceptor(&TlsConfig::from_pem(cert, "not a key"), true).unwrap_err().to_string();
        assert!(error.contains("holds no PEM private key"), "{error}");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (cert, _) = generated();
        let (_, other_key) = generated();
        let error = acceptor(&TlsConfig::from_pem(cert, other_key), true).unwrap_err().to_string();
        assert!(error.contains("do not make a usable pair"), "{error}");
    }
}
