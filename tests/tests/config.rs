//! Configuration: the builder, a TOML file and `WSBOOT_*` variables in that
//! precedence, per-handler settings by path, and an error for every kind of bad
//! value that names the key and the form expected.

use std::time::Duration;

use wsboot::test::TestServer;
use wsboot::{CloseStatus, ConfigSources, HandlerRegistry, Server, ServerBuilder, ServerConfig};
use wsboot_tests::Echo;

fn echo_registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    registry.add_handler("/big", Echo);
    registry
}

fn builder() -> ServerBuilder {
    Server::builder().registry(echo_registry())
}

const FILE: &str = "
[limits]
max_message_size = 2000
queue_max_messages = 50

[timeouts]
idle = \"90s\"
";

/// The settings a server starts with.
async fn effective(builder: ServerBuilder) -> ServerConfig {
    let server = builder.bind("127.0.0.1:0").await.expect("the server starts");
    server.config().clone()
}

#[tokio::test]
async fn builder_then_file_then_environment() {
    let in_code = || builder().max_message_size(1000).idle_timeout(Some(Duration::from_secs(5)));

    let config = effective(in_code()).await;
    assert_eq!(config.max_message_size, 1000, "the builder over the defaults");

    let config = effective(in_code().config_sources(ConfigSources::new().toml("wsboot.toml", FILE))).await;
    assert_eq!(config.max_message_size, 2000, "the file over the builder");
    assert_eq!(config.idle_timeout, Some(Duration::from_secs(90)));
    assert_eq!(config.queue.max_messages, 50);
    assert_eq!(config.queue.max_bytes, 4 << 20, "keys the file leaves alone keep the builder's value");

    let sources = ConfigSources::new()
        .toml("wsboot.toml", FILE)
        .vars([("WSBOOT_LIMITS_MAX_MESSAGE_SIZE", "3000"), ("WSBOOT_TIMEOUTS_IDLE", "off")]);
    let config = effective(in_code().config_sources(sources)).await;
    assert_eq!(config.max_message_size, 3000, "the environment over the file");
    assert_eq!(config.idle_timeout, None);
    assert_eq!(config.queue.max_messages, 50);

    // The order of the builder's calls does not matter: sources apply last.
    let config =
        effective(builder().config_sources(ConfigSources::new().toml("wsboot.toml", FILE)).max_message_size(1000))
            .await;
    assert_eq!(config.max_message_size, 2000);
}

#[tokio::test]
async fn the_limit_in_force_is_the_configured_one() {
    // The file raises the server-wide limit to 2000 bytes and lowers /big's to 100.
    let file = format!("{FILE}\n[handlers.\"/big\"]\nmax_message_size = 100\n");
    let server = TestServer::in_memory_with(
        builder().max_message_size(1000).config_sources(ConfigSources::new().toml("wsboot.toml", file)),
    )
    .await;

    let mut client = server.connect("/echo").await;
    let fits = "a".repeat(1500);
    client.send_text(&fits).await;
    assert_eq!(client.recv_text().await, fits);
    client.send_text(&"b".repeat(2500)).await;
    assert_eq!(client.closed().await.code(), CloseStatus::TOO_BIG_TO_PROCESS.code());

    let mut client = server.connect("/big").await;
    client.send_text(&"c".repeat(101)).await;
    assert_eq!(client.closed().await.code(), CloseStatus::TOO_BIG_TO_PROCESS.code());
}

#[tokio::test]
async fn settings_from_a_file_on_disk() {
    let dir = std::env::temp_dir().join(format!("wsboot-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wsboot.toml");
    std::fs::write(&path, "addr = \"127.0.0.1:0\"\n[shutdown]\nclose_code = 1012\ntimeout = \"3s\"\n").unwrap();
    let server = builder().config_sources(ConfigSources::new().file(&path)).listen().await.unwrap();
    assert_eq!(server.config().shutdown_status.code(), 1012);
    assert_eq!(server.config().shutdown_timeout, Duration::from_secs(3));
    assert_ne!(server.local_addr().port(), 0, "listen() binds the configured address");
    std::fs::remove_dir_all(&dir).unwrap();

    let missing = dir.join("nope.toml");
    let error = bind_error(ConfigSources::new().file(&missing)).await;
    assert!(error.contains("cannot read the configuration file") && error.contains("nope.toml"), "{error}");
}

async fn bind_error(sources: ConfigSources) -> String {
    match builder().config_sources(sources).bind("127.0.0.1:0").await {
        Ok(_) => panic!("the server started despite a bad setting"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn each_bad_value_is_named_with_its_key_and_form() {
    let cases: &[(&str, &[&str])] = &[
        ("[limits]\nmax_message_size = \"lots\"", &["`limits.max_message_size` must be a size in bytes", "\"lots\""]),
        ("[limits]\nmax_headers = -3", &["`limits.max_headers` must be a whole number", "-3"]),
        ("[limits]\nmax_connections = \"many\"", &["`limits.max_connections` must be a whole number, or \"off\""]),
        ("[timeouts]\nclose = 5", &["`timeouts.close` must be a duration", "\"500ms\""]),
        ("[timeouts]\nping_interval = \"soon\"", &["`timeouts.ping_interval` must be a duration", "or \"off\""]),
        ("[metrics]\nenabled = \"yes\"", &["`metrics.enabled` must be true or false"]),
        ("[metrics]\npath = \"metrics\"", &["`metrics.path` must be a path starting with `/`"]),
        ("[shutdown]\nclose_code = 1006", &["`shutdown.close_code` must be a close code a server may send", "1012"]),
        ("addr = \"8080\"", &["`addr` must be HOST:PORT"]),
        ("[broker]\nurl = \"localhost:6379\"", &["`broker.url` must be a URL such as \"redis://127.0.0.1:6379\""]),
        ("[deflate]\nlevel = 12", &["`deflate.level` must be a compression level from 0 to 9"]),
        (
            "[limits]\nmax_mesage_size = 1",
            &["unknown setting `limits.max_mesage_size`", "did you mean `limits.max_message_size`"],
        ),
        ("[handlers.\"/echo\"]\noverflow = \"panic\"", &["`handlers.\"/echo\".overflow` must be one of \"terminate\""]),
        (
            "[handlers.\"/missing\"]\nmax_message_size = 10",
            &["settings for `/missing`, but no handler is registered there", "`/echo`"],
        ),
        ("[limits]\nmax_message_size = 0", &["`limits.max_message_size` must be at least 1 byte"]),
        ("[health]\npath = \"/metrics\"", &["`health.path` must be different from `metrics.path`"]),
        ("[tls]\nkey_file = \"key.pem\"", &["`tls.cert_file` is missing"]),
        ("[limits\n", &["wsboot.toml is not valid TOML"]),
    ];
    for (file, expected) in cases {
        let error = bind_error(ConfigSources::new().toml("wsboot.toml", *file)).await;
        for part in *expected {
            assert!(error.contains(part), "for {file:?}: missing {part:?} in\n{error}");
        }
    }

    let error = bind_error(ConfigSources::new().vars([("WSBOOT_TIMEOUTS_HANDSHAKE", "ten seconds")])).await;
    assert!(error.contains("WSBOOT_TIMEOUTS_HANDSHAKE: `timeouts.handshake` must be a duration"), "{error}");

    // Every problem at once, each with where it came from.
    let error = bind_error(
        ConfigSources::new()
            .toml("a.toml", "[limits]\nmax_frame_size = \"big\"")
            .vars([("WSBOOT_HEALTH_ENABLED", "maybe")]),
    )
    .await;
    assert!(error.contains("a.toml: `limits.max_frame_size`") && error.contains("WSBOOT_HEALTH_ENABLED: "), "{error}");

    // A broker URL with nothing to use it is refused rather than ignored.
    let error = bind_error(ConfigSources::new().vars([("WSBOOT_BROKER_URL", "redis://127.0.0.1:6379")])).await;
    assert!(error.contains("`broker.url` is set"), "{error}");
}
