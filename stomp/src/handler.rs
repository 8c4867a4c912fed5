//! The WebSocket handler of a STOMP endpoint: reads frames, hands each to its
//! command (see [`commands`](crate::commands)), sends receipts, and answers a
//! problem with an ERROR frame, then closes, as the spec says.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use wsboot_core::{
    CloseStatus, HandlerResult, HandshakeInterceptor, HandshakeRequest, Rejection, Session, Utf8Bytes, WebSocketHandler,
};

use crate::decode::{DecodeError, Decoder};
use crate::endpoint::Settings;
use crate::frame::{Command, Frame, Version};
use crate::mapping::Mappings;
use crate::payload::to_message;
use crate::state::Shared;

/// Gives every session of the endpoint its STOMP state at the handshake.
pub(crate) struct Handshake(pub(crate) crate::decode::Limits);

impl HandshakeInterceptor for Handshake {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        request.attributes_mut().insert(Shared::new(Decoder::new(self.0)));
        Ok(())
    }
}

/// Why a connection ends with an ERROR frame.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// The `message` header: a short summary.
    pub(crate) message: String,
    /// The body: what was wrong and what to do instead.
    pub(crate) detail: String,
    /// Extra headers (`version` for a version no one shares).
    pub(crate) headers: Vec<(&'static str, String)>,
    /// How the WebSocket closes after it.
    pub(crate) status: CloseStatus,
}

impl Problem {
    /// A protocol error (close code 1002).
    pub(crate) fn new(message: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            detail: detail.into(),
            headers: Vec::new(),
            status: CloseStatus::PROTOCOL_ERROR,
        }
    }

    /// A refusal by the rules (close code 1008).
    pub(crate) fn refused(message: impl Into<String>, detail: impl Into<String>) -> Problem {
        Problem { status: CloseStatus::POLICY_VIOLATION, ..Problem::new(message, detail) }
    }

    /// A required header that is missing.
    pub(crate) fn missing(header: &str, command: Command) -> Problem {
        Problem::new(format!("missing {header} header"), format!("a {command} frame needs a `{header}` header"))
    }
}

impl From<DecodeError> for Problem {
    fn from(error: DecodeError) -> Problem {
        Problem::new(error.summary(), error.to_string())
    }
}

/// What a processed frame leads to.
pub(crate) enum Flow {
    /// Go on reading.
    Continue,
    /// Go on reading; the receipt, if one was asked for, carries these
    /// headers (a resumed subscription's `x-recovered` and `x-offset`).
    Noted(Vec<(&'static str, String)>),
    /// Go on reading; the frame went to the message broker, whose RECEIPT
    /// answers it.
    Forwarded,
    /// The client said goodbye.
    Disconnect,
}

/// The endpoint's handler.
pub(crate) struct StompHandler {
    pub(crate) settings: Arc<Settings>,
    pub(crate) mappings: Arc<Mappings>,
}

impl StompHandler {
    pub(crate) fn new(settings: Arc<Settings>, mappings: Arc<Mappings>) -> StompHandler {
        StompHandler { settings, mappings }
    }

    async fn receive(&self, session: &Session, bytes: &[u8]) -> HandlerResult {
        let Some(state) = session.attributes().get::<Shared>().cloned() else {
            // Registered without `StompEndpoint::register`: nothing to speak with.
            session.close(CloseStatus::SERVER_ERROR.with_reason("STOMP state missing"));
            return Ok(());
        };
        if !session.is_open() {
            return Ok(()); // an ERROR was sent: nothing more is read
        }
        let (frames, broken) = {
            let mut connection = state.lock();
            connection.last_heard = Instant::now();
            connection.decoder.push(bytes);
            let mut frames = Vec::new();
            let broken = loop {
                match connection.decoder.next_frame() {
                    Ok(Some(frame)) => frames.push(frame),
                    Ok(None) => break None,
                    Err(error) => break Some(error),
                }
            };
            (frames, broken)
        };
        for frame in frames {
            let receipt = frame.get("receipt").map(str::to_owned);
            match self.process(session, &state, frame).await {
                Ok(flow) => {
                    if let Some(receipt) = receipt.filter(|_| !matches!(flow, Flow::Forwarded)) {
                        let version = state.lock().version.unwrap_or(Version::V1_2);
                        let mut answer = Frame::new(Command::Receipt).header("receipt-id", receipt);
                        if let Flow::Noted(headers) = &flow {
                            for (name, value) in headers {
                                answer.push_header(*name, value.as_str());
                            }
                        }
                        session.send(to_message(&answer, version)).await?;
                    }
                    if let Flow::Disconnect = flow {
                        session.close(CloseStatus::NORMAL.with_reason("DISCONNECT"));
                        return Ok(());
                    }
                }
                Err(problem) => return fail(session, &state, problem, receipt).await,
            }
        }
        match broken {
            Some(error) => fail(session, &state, error.into(), None).await,
            None => Ok(()),
        }
    }
}

/// Sends an ERROR frame for `problem` and closes the connection.
pub(crate) async fn fail(
    session: &Session,
    state: &Shared,
    problem: Problem,
    receipt: Option<String>,
) -> HandlerResult {
    let version = state.lock().version.unwrap_or(Version::V1_2);
    let mut frame = Frame::new(Command::Error).header("message", problem.message.as_str());
    if let Some(receipt) = receipt {
        frame.push_header("receipt-id", receipt);
    }
    for (name, value) in &problem.headers {
        frame.push_header(*name, value.as_str());
    }
    frame.push_header("content-type", "text/plain;charset=UTF-8");
    let frame = frame.body(problem.detail.clone());
    tracing::debug!(session = %session.id(), message = problem.message, detail = problem.detail, "STOMP error");
    // The connection closes either way; a full queue only loses the explanation.
    let _ = session.send(to_message(&frame, version)).await;
    let mut reason = problem.message;
    reason.truncate(123);
    session.close(problem.status.with_reason(reason));
    Ok(())
}

impl WebSocketHandler for StompHandler {
    async fn after_connection_closed(&self, session: &Session, _status: &CloseStatus) {
        // Its broker connection ends with it (a DISCONNECT to the broker).
        if let Some(state) = session.attributes().get::<Shared>() {
            state.lock().relay = None;
        }
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        self.receive(session, text.as_bytes()).await
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        self.receive(session, &data).await
    }
}
