//! A RabbitMQ node of a test's own, with its STOMP plugin, on free loopback
//! ports and in a temporary directory: started, killed (SIGKILL, as a crash)
//! and started again by the test. Without `rabbitmq-server` installed, tests
//! say so and skip, except in CI, where they fail.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where Debian's package puts the server (the `/usr/sbin` wrapper switches
/// user and logs elsewhere).
const SERVERS: [&str; 2] = ["/usr/lib/rabbitmq/bin/rabbitmq-server", "/usr/local/lib/rabbitmq/bin/rabbitmq-server"];

/// How long a node may take to open its STOMP listener.
const START_LIMIT: Duration = Duration::from_secs(90);

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("an address").port()
}

/// A running (or killed) node.
pub struct RabbitMq {
    binary: PathBuf,
    dir: PathBuf,
    name: String,
    ports: (u16, u16, u16),
    child: Option<Child>,
}

impl RabbitMq {
    /// Starts a node for `test`; `None` (after saying why) without RabbitMQ
    /// outside CI.
    pub async fn start_or_skip(test: &str) -> Option<RabbitMq> {
        let Some(binary) = SERVERS.iter().map(Path::new).find(|p| p.is_file()) else {
            assert!(
                !in_ci(),
                "rabbitmq-server is not installed, and CI is set: the broker relay tests must run in CI \
                 (Debian: apt-get install rabbitmq-server; .ci/run installs it)"
            );
            eprintln!("SKIPPED {test}: rabbitmq-server is not installed (Debian: apt-get install rabbitmq-server).");
            return None;
        };
        let ports = (free_port(), free_port(), free_port());
        let name = format!("wsboot-test-{}", ports.0);
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        std::fs::write(dir.join("enabled_plugins"), "[rabbitmq_stomp].\n").expect("the plugins file");
        let config = format!(
            "listeners.tcp.default = 127.0.0.1:{}\nstomp.listeners.tcp.1 = 127.0.0.1:{}\nloopback_users = none\n",
            ports.0, ports.1
        );
        std::fs::write(dir.join("rabbitmq.conf"), config).expect("the configuration file");
        let mut node = RabbitMq { binary: binary.to_owned(), dir, name, ports, child: None };
        node.spawn().await;
        Some(node)
    }

    /// The STOMP listener, `127.0.0.1:PORT`.
    pub fn stomp_addr(&self) -> String {
        format!("127.0.0.1:{}", self.ports.1)
    }

    async fn spawn(&mut self) {
        let dir = &self.dir;
        let log = std::fs::File::create(dir.join("server.log")).expect("a log file");
        let child = Command::new(&self.binary)
            .current_dir(dir)
            .env("HOME", dir)
            .env("RABBITMQ_NODENAME", format!("{}@localhost", self.name))
            .env("RABBITMQ_NODE_PORT", self.ports.0.to_string())
            .env("RABBITMQ_DIST_PORT", self.ports.2.to_string())
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq"))
            .env("RABBITMQ_PID_FILE", dir.join("pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log handle"))
            .stderr(log)
            .spawn()
            .expect("rabbitmq-server runs");
        self.child = Some(child);
        let deadline = Instant::now() + START_LIMIT;
        while !self.answers().await {
            assert!(
                Instant::now() < deadline,
                "RabbitMQ did not open STOMP within {START_LIMIT:?}; see {}",
                dir.display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Whether the STOMP listener answers a CONNECT.
    async fn answers(&self) -> bool {
        let Ok(Ok(mut stream)) =
            tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(self.stomp_addr())).await
        else {
            return false;
        };
        let connect = b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\0";
        if stream.write_all(connect).await.is_err() {
            return false;
        }
        let mut buffer = [0u8; 9];
        matches!(tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut buffer)).await, Ok(Ok(_)) if &buffer == b"CONNECTED")
    }

    /// Kills every process of the node with SIGKILL, as a crash does.
    pub fn kill(&mut self) {
        let _ = Command::new("pkill").args(["-9", "-f", &self.name]).status();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the node again, on its ports, with its data.
    pub async fn restart(&mut self) {
        self.kill();
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.spawn().await;
    }
}

impl Drop for RabbitMq {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
