//! `wss://` with a certificate generated at test time and a rustls client; a
//! plain client on the TLS port fails cleanly and the server keeps serving;
//! unusable certificate files are startup errors naming the file.

use std::net::SocketAddr;
use std::path::PathBuf;

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use wsboot::test::{TestServer, within};
use wsboot::{ConfigSources, HandlerRegistry, Server, TlsConfig};
use wsboot_tests::Echo;
use wsboot_tests::tls::TestCertificate;

fn echo_registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    registry
}

async fn tls_server(cert: &TestCertificate) -> TestServer {
    TestServer::start_with(Server::builder().registry(echo_registry()).tls(cert.server_config())).await
}

type WssClient = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

async fn connect_wss(addr: SocketAddr, cert: &TestCertificate) -> WssClient {
    let tcp = within("the TCP connect", TcpStream::connect(addr)).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tls = within("the TLS handshake", cert.connector(&[b"http/1.1"]).connect(name, tcp))
        .await
        .expect("the TLS handshake succeeds");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]), "the server speaks ALPN http/1.1");
    let url = format!("wss://localhost:{}/echo", addr.port());
    let (ws, response) = within("the upgrade", tokio_tungstenite::client_async(url, tls)).await.expect("the upgrade");
    assert_eq!(response.status().as_u16(), 101);
    ws
}

async fn assert_echoes(ws: &mut WssClient) {
    ws.send(Message::text("over TLS")).await.unwrap();
    match within("the text echo", ws.next()).await {
        Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), "over TLS"),
        other => panic!("expected the text echo, got {other:?}"),
    }
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    ws.send(Message::binary(big.clone())).await.unwrap();
    match within("the binary echo", ws.next()).await {
        Some(Ok(Message::Binary(data))) => assert_eq!(&data[..], &big[..], "200 KB cross several TLS records intact"),
        other => panic!("expected the binary echo, got {other:?}"),
    }
}

#[tokio::test]
async fn wss_echo_with_a_generated_certificate() {
    let cert = TestCertificate::localhost();
    let server = tls_server(&cert).await;
    let mut ws = connect_wss(server.tcp_addr(), &cert).await;
    assert_echoes(&mut ws).await;
    ws.close(None).await.unwrap();
    within("the close", async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

#[tokio::test]
async fn a_plain_client_on_the_tls_port_fails_cleanly_and_the_server_keeps_serving() {
    let cert = TestCertificate::localhost();
    let server = tls_server(&cert).await;
    let addr = server.tcp_addr();

    // A plain WebSocket client is told, in plain HTTP, to use wss://.
    let refused = within("the plain handshake", tokio_tungstenite::connect_async(format!("ws://{addr}/echo"))).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 400);
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
            assert!(body.contains("wss://"), "{body}");
        }
        other => panic!("expected a 400 answer, got {other:?}"),
    }

    // Bytes that are neither HTTP nor TLS: the connection is closed, not left hanging.
    let mut garbage = TcpStream::connect(addr).await.unwrap();
    garbage.write_all(&[0u8; 64]).await.unwrap();
    let mut sink = Vec::new();
    let _ = within("the server to drop the connection", garbage.read_to_end(&mut sink)).await;

    let mut ws = connect_wss(addr, &cert).await;
    assert_echoes(&mut ws).await;
}

/// A directory of its own for one test's files.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsboot-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn pem_files_from_the_configuration() {
    let cert = TestCertificate::localhost();
    let dir = scratch_dir("files");
    std::fs::write(dir.join("cert.pem"), &cert.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &cert.key_pem).unwrap();
    std::fs::write(dir.join("wsboot.toml"), "[tls]\ncert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n").unwrap();
    let sources = ConfigSources::new().file(dir.join("wsboot.toml"));
    let server = TestServer::start_with(Server::builder().registry(echo_registry()).config_sources(sources)).await;
    let mut ws = connect_wss(server.tcp_addr(), &cert).await;
    assert_echoes(&mut ws).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_missing_or_bad_key_file_is_a_startup_error_naming_the_file() {
    let cert = TestCertificate::localhost();
    let dir = scratch_dir("bad");
    let cert_path = dir.join("cert.pem");
    std::fs::write(&cert_path, &cert.cert_pem).unwrap();
    let start = |key: PathBuf| {
        let tls = TlsConfig::from_pem_files(cert_path.clone(), key);
        async move { Server::builder().registry(echo_registry()).tls(tls).bind("127.0.0.1:0").await }
    };

    let missing = dir.join("missing-key.pem");
    let error = start(missing.clone()).await.unwrap_err().to_string();
    assert!(error.contains("cannot read the key file") && error.contains(&missing.display().to_string()), "{error}");

    let garbage = dir.join("garbage-key.pem");
    std::fs::write(&garbage, "this is not a key\n").unwrap();
    let error = start(garbage.clone()).await.unwrap_err().to_string();
    assert!(error.contains(&garbage.display().to_string()) && error.contains("no PEM private key"), "{error}");

    let other = dir.join("other-key.pem");
    std::fs::write(&other, TestCertificate::localhost().key_pem).unwrap();
    let error = start(other.clone()).await.unwrap_err().to_string();
    assert!(error.contains(&other.display().to_string()) && error.contains("do not make a usable pair"), "{error}");

    let error = Server::builder()
        .registry(echo_registry())
        .config_sources(ConfigSources::new().toml("test.toml", "[tls]\ncert_file = \"cert.pem\""))
        .bind("127.0.0.1:0")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("`tls.key_file` is missing"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}
