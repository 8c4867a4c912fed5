//! Message authorization and inbound interceptors: rules per command and
//! destination decide who may SEND and SUBSCRIBE where; a client never SENDs
//! straight to a broker destination unless a rule permits it; an interceptor
//! sees (and may change or refuse) every frame first. Each refusal is an ERROR
//! naming the rule, then the close with 1008.

mod support;

use wsboot::test::TestServer;
use wsboot::{HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Principal, Rejection};
use wsboot_stomp::{Access, Authorization, Command, Frame, Reply, StompEndpoint};

use support::client::Client;

/// `?user=NAME` is the principal; `&admin` marks an administrator.
struct Login;

/// The mark of an administrator, in the session's attributes.
struct Admin;

impl HandshakeInterceptor for Login {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        if let Some(user) = request.query_param("user") {
            request.set_principal(Principal::new(user));
        }
        if request.query_param("admin").is_some() {
            request.attributes_mut().insert(Admin);
        }
        Ok(())
    }
}

async fn server() -> TestServer {
    let rules = Authorization::new()
        .subscribe("/topic/admin.**", Access::check("role admin", |session| session.attributes().contains::<Admin>()))
        .send("/app/**", Access::Authenticated)
        .send("/topic/public.*", Access::Permit)
        .otherwise(Access::Permit);
    let mut registry = HandlerRegistry::new();
    StompEndpoint::new("/stomp")
        .authorization(rules)
        .interceptor(|_: &wsboot::Session, frame: &mut Frame| {
            if frame.get("x-bad").is_some() {
                return Err("frames with x-bad are refused".to_owned());
            }
            if frame.command == Command::Send && frame.get("x-trace").is_none() {
                frame.push_header("x-trace", "stamped");
            }
            Ok(())
        })
        .message_mapping("/echo", |message| async move {
            Ok(Some(Reply::new(message.header("x-trace").unwrap_or("none").to_owned()).to("/topic/public.echo")))
        })
        .register(&mut registry)
        .expect("a valid endpoint")
        .interceptor(Login);
    TestServer::start(registry).await
}

impl Client {
    async fn connected(server: &TestServer, query: &str) -> Client {
        let socket = server.request(&format!("/stomp{query}")).subprotocols(&["v12.stomp"]).connect().await;
        let mut client = Client::new(socket);
        client.send(Frame::new(Command::Connect).header("accept-version", "1.2")).await;
        assert_eq!(client.frame().await.command, Command::Connected);
        client
    }

    /// Sends `frame` with a receipt: `Ok` with the receipt, or `Err` with the
    /// ERROR frame and the close code.
    async fn attempt(&mut self, frame: Frame) -> Result<(), (Frame, u16)> {
        self.send(frame.header("receipt", "r")).await;
        let answer = self.frame().await;
        match answer.command {
            Command::Receipt => Ok(()),
            Command::Error => Err((answer, self.socket.closed().await.code())),
            other => panic!("expected RECEIPT or ERROR, got {other}"),
        }
    }
}

fn subscribe(id: &str, destination: &str) -> Frame {
    Frame::new(Command::Subscribe).header("id", id).header("destination", destination)
}

fn send(destination: &str) -> Frame {
    Frame::new(Command::Send).header("destination", destination).body("x")
}

#[tokio::test]
async fn rules_decide_who_sends_and_subscribes_where() {
    let server = server().await;

    // Only an administrator subscribes to admin topics.
    let mut admin = Client::connected(&server, "?user=root&admin").await;
    assert!(admin.attempt(subscribe("a", "/topic/admin.audit")).await.is_ok());
    let mut ann = Client::connected(&server, "?user=ann").await;
    assert!(ann.attempt(subscribe("p", "/topic/public.echo")).await.is_ok(), "otherwise: permit");
    let (error, code) = ann.attempt(subscribe("a", "/topic/admin.audit")).await.unwrap_err();
    assert_eq!((error.get("message"), code), (Some("access denied"), 1008));
    let detail = std::str::from_utf8(&error.body).unwrap();
    assert!(detail.contains("SUBSCRIBE to /topic/admin.audit needs role admin"), "{detail}");

    // The application needs a user; an anonymous session is refused.
    let mut anonymous = Client::connected(&server, "").await;
    let (error, code) = anonymous.attempt(send("/app/echo")).await.unwrap_err();
    assert_eq!((error.get("message"), code), (Some("access denied"), 1008));
    assert!(std::str::from_utf8(&error.body).unwrap().contains("authenticated"));

    // Straight to a broker destination: only where a rule permits it.
    let mut bob = Client::connected(&server, "?user=bob").await;
    assert!(bob.attempt(send("/topic/public.news")).await.is_ok());
    let (error, code) = bob.attempt(send("/topic/private")).await.unwrap_err();
    assert_eq!(
        (error.get("message"), code),
        (Some("not allowed"), 1008),
        "otherwise: permit is not a rule for broker SENDs"
    );
    drop((admin, ann, anonymous, bob));
    server.shutdown().await;
}

#[tokio::test]
async fn an_interceptor_sees_every_frame_first() {
    let server = server().await;
    let mut ann = Client::connected(&server, "?user=ann").await;
    assert!(ann.attempt(subscribe("p", "/topic/public.echo")).await.is_ok());
    ann.send(send("/app/echo")).await;
    let echoed = ann.frame().await;
    assert_eq!(echoed.body.as_ref(), b"stamped", "the handler saw the header the interceptor added");
    let (error, code) = ann.attempt(send("/app/echo").header("x-bad", "1")).await.unwrap_err();
    assert_eq!((error.get("message"), code), (Some("refused"), 1008));
    assert_eq!(std::str::from_utf8(&error.body).unwrap(), "frames with x-bad are refused");
    drop(ann);
    server.shutdown().await;
}
