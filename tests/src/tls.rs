//! TLS for the tests: a certificate for `localhost` made at test time, and a
//! rustls client that trusts only it.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use tokio_rustls::TlsConnector;

/// A self-signed certificate for `localhost`, with its key.
#[derive(Debug)]
pub struct TestCertificate {
    /// The certificate, PEM-encoded (what a server's `tls.cert_file` holds).
    pub cert_pem: String,
    /// The private key, PEM-encoded.
    pub key_pem: String,
    /// The certificate, DER-encoded (what a client trusts).
    pub der: CertificateDer<'static>,
}

impl TestCertificate {
    /// Makes a new certificate for `localhost`.
    pub fn localhost() -> TestCertificate {
        let generated =
            rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen makes a certificate");
        TestCertificate {
            cert_pem: generated.cert.pem(),
            key_pem: generated.signing_key.serialize_pem(),
            der: generated.cert.der().clone(),
        }
    }

    /// The server side: `wsboot::TlsConfig` with this certificate and key.
    pub fn server_config(&self) -> wsboot::TlsConfig {
        wsboot::TlsConfig::from_pem(self.cert_pem.clone(), self.key_pem.clone())
    }

    /// A rustls client (ring provider, safe default versions) trusting only
    /// this certificate and offering `alpn`, in order of preference.
    pub fn connector(&self, alpn: &[&[u8]]) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).expect("the certificate is usable as a root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        TlsConnector::from(Arc::new(config))
    }
}
