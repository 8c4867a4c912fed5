use super::*;
use wsboot::{Bytes, CloseStatus, HandlerRegistry, HandlerResult, Server, Session, Utf8Bytes, WebSocketHandler};

struct Echo;

impl WebSocketHandler for Echo {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

/// Closes every session at its first message, as a server in trouble might.
struct Refuser;

impl WebSocketHandler for Refuser {
    async fn handle_binary_message(&self, session: &Session, _: Bytes) -> HandlerResult {
        session.close(CloseStatus::POLICY_VIOLATION.with_reason("no thanks"));
        Ok(())
    }
}

/// A wsboot server with `/echo` and `/refuse` on a free port, served by its
/// own thread until the test ends. Returns `ws://HOST:PORT`.
fn server() -> String {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut registry = HandlerRegistry::new();
            registry.add_handler("/echo", Echo);
            registry.add_handler("/refuse", Refuser);
            let server = Server::builder().registry(registry).bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(server.local_addr()).unwrap();
            server.serve().await.unwrap();
        });
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(10)).expect("the server starts");
    format!("ws://{addr}")
}

fn plan(url: &str, conns: usize, threads: usize, sources: Vec<IpAddr>) -> Plan {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let endpoint = runtime.block_on(ws::Endpoint::parse(url)).unwrap();
    Plan { endpoint, conns, threads, sources, connect_concurrency: 4 }
}

fn load_job(size: usize, pipeline: usize) -> impl Fn() -> Work + Send + Clone + 'static {
    move || Work::Load(Rc::new(Job { payload: payload(size, true), opcode: ws::BINARY, pipeline }))
}

#[test]
fn load_echoes_pipelined_messages_and_closes_cleanly() {
    let url = server();
    let plan = plan(&format!("{url}/echo"), 6, 2, Vec::new());
    let control = Control::new();
    let threads = clients::start(&plan, &control, load_job(70_000, 4)).unwrap();
    assert_eq!(wait_for_opening(&control, plan.conns, false).0, 6);
    control.set_phase(Phase::Warmup);
    std::thread::sleep(Duration::from_millis(100));
    control.set_phase(Phase::Measuring);
    std::thread::sleep(Duration::from_millis(300));
    let recorders = stop(&control, plan.conns, threads);
    assert_eq!(control.errors(), Vec::new());
    let received: u64 = recorders.iter().map(|r| r.received).sum();
    let latencies: usize = recorders.iter().map(|r| r.latencies.len()).sum();
    assert!(received > 0, "no echo was measured");
    assert_eq!(latencies as u64, received);
    // Every connection ended with the closing handshake.
    assert_eq!((control.finished(), control.failed_later()), (6, 0));
}

#[test]
fn idle_connections_from_several_source_addresses_stay_open_until_stopped() {
    let url = server();
    let sources = vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))];
    let plan = plan(&url, 20, 1, sources);
    let control = Control::new();
    let threads = clients::start(&plan, &control, || Work::Idle { echo_once: true }).unwrap();
    assert_eq!(wait_for_opening(&control, plan.conns, false).0, 20);
    stop(&control, plan.conns, threads);
    assert_eq!(control.errors(), Vec::new());
    assert_eq!(control.finished(), 20);
}

#[test]
fn a_server_closing_sessions_is_reported_with_its_status() {
    let url = server();
    let plan = plan(&format!("{url}/refuse"), 3, 1, Vec::new());
    let control = Control::new();
    let threads = clients::start(&plan, &control, load_job(10, 1)).unwrap();
    assert_eq!(wait_for_opening(&control, plan.conns, false).0, 3);
    control.set_phase(Phase::Measuring);
    std::thread::sleep(Duration::from_millis(200));
    stop(&control, plan.conns, threads);
    assert_eq!(control.failed_later(), 3);
    let report = failure_report(&control, "broken");
    assert!(report.contains("the server closed the session: 1008 no thanks"), "{report}");
}

#[test]
fn too_many_connections_for_one_address_ask_for_more_sources() {
    let ports = procfs::ephemeral_ports().unwrap();
    let mut options = args::parse(["--idle".to_owned(), (3 * ports).to_string()]).unwrap().unwrap();
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let chosen = source_addresses(&options, loopback).unwrap();
    assert_eq!(chosen.first(), Some(&IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))));
    assert!(chosen.len() >= 3);
    options.sources = Some(1);
    assert!(source_addresses(&options, loopback).unwrap_err().contains("pass --sources"));
    options.conns = 10;
    assert_eq!(source_addresses(&options, loopback).unwrap().len(), 1);
    options.sources = None;
    assert!(source_addresses(&options, loopback).unwrap().is_empty());
}

#[test]
fn figures_read_well() {
    assert_eq!(size_label(32), "32 B");
    assert_eq!(size_label(64 * 1024), "64 KiB");
    assert_eq!(kib_per_connection(2048 + 1000, 1000, 256), "8.0 KiB");
    assert!(payload(100, false).is_ascii());
}
