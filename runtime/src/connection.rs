//! One TCP connection, from the first request byte to the last frame: the HTTP
//! handshake, then the session loop that reads frames, calls the handler in
//! order, and writes what the session queued.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use bytes::BytesMut;
use futures_util::FutureExt;
use http::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep, timeout, timeout_at};
use tracing::Instrument;
use wsboot_core::__runtime::{MessageLimits, Outgoing, SessionConfig, Transport, register_session, unregister_session};
use wsboot_core::{BoxFuture, CloseStatus, Error, ErrorKind, HandlerResult, Message, Session, SharedHandler};

use crate::http::{HeadError, Response, read_head};
use crate::io::Stream;
use crate::liveness::{Due, Liveness, earlier};
use crate::metrics::SessionCounters;
use crate::protocol::{Decoded, DecoderLimits, FrameDecoder, Violation, WriteBuffer};
use crate::read_buffer::ReadBuffer;
use crate::routing::Route;
use crate::server::Shared;
use crate::shutdown::LiveGuard;
use crate::{extensions, upgrade};

/// Serves one accepted TCP connection to the end; `live` counts it as live
/// (taken by the accept loop, so a burst cannot overshoot `max_connections`).
pub(crate) async fn serve(tcp: TcpStream, remote: SocketAddr, shared: Arc<Shared>, live: LiveGuard) {
    // The TLS handshake and the HTTP request share one time limit (slowloris).
    let deadline = Instant::now() + shared.config.handshake_timeout;
    let stream = match timeout_at(deadline, crate::io::accept(tcp, shared.tls.as_ref())).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(why)) => {
            tracing::debug!(%remote, "dropping the connection: {why}");
            return reject_silently(&shared, "tls");
        }
        Err(_) => {
            tracing::debug!(%remote, "TLS handshake timed out; dropping the connection");
            return reject_silently(&shared, "timeout");
        }
    };
    serve_stream(stream, remote, shared, deadline, live).await;
}

/// Serves a connection whose byte stream is open: the HTTP request (which must
/// be complete by `deadline`), then the session.
pub(crate) async fn serve_stream(
    stream: Stream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    deadline: Instant,
    _live: LiveGuard,
) {
    // The handshake runs in its own (boxed, short-lived) future, so its locals (the
    // request head, responses, interceptor calls) are freed before the session
    // starts: a long-lived idle session's task holds only the session's own state.
    let Some((driver, span)) = Box::pin(handshake(stream, remote, shared, deadline)).await else {
        return;
    };
    driver.run().instrument(span).await;
}

/// Reads and answers the HTTP request; on a successful upgrade, returns the
/// session ready to run (and its tracing span).
async fn handshake(
    mut stream: Stream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    deadline: Instant,
) -> Option<(Box<SessionDriver>, tracing::Span)> {
    let config = &shared.config;
    let mut buf = BytesMut::new();
    let head =
        match timeout_at(deadline, read_head(&mut stream, &mut buf, config.max_request_head_size, config.max_headers))
            .await
        {
            Err(_) => {
                tracing::debug!(%remote, "handshake timed out; dropping the connection");
                reject_silently(&shared, "timeout");
                return None;
            }
            Ok(Err(HeadError::Disconnected)) => return None,
            Ok(Err(HeadError::TooLarge(what))) => {
                reject(&shared, &mut stream, Response::text(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, what)).await;
                return None;
            }
            Ok(Err(HeadError::Malformed(what))) => {
                reject(&shared, &mut stream, Response::text(StatusCode::BAD_REQUEST, what)).await;
                return None;
            }
            Ok(Ok(head)) => head,
        };
    if buf.is_empty() {
        // Release the request buffer: an idle session must not keep it.
        buf = BytesMut::new();
    }
    if let Some(response) = crate::metrics::answer(&shared, &head) {
        let _ = timeout(std::time::Duration::from_secs(5), response.send(&mut stream)).await;
        return None;
    }
    let found = shared.router.find(head.uri.path());
    if let Some(response) = shared.pages.answer(&head, found.is_some()) {
        tracing::debug!(%remote, path = head.uri.path(), status = %response.status, "page");
        let _ = timeout(config.write_timeout, response.send(&mut stream)).await;
        return None;
    }
    let Some((route, params)) = found else {
        let body = format!("no WebSocket handler at {}", head.uri.path());
        reject(&shared, &mut stream, Response::text(StatusCode::NOT_FOUND, body)).await;
        return None;
    };
    let route = route.clone();
    let key = match upgrade::check_request(&head) {
        Ok(key) => key,
        Err(response) => {
            reject(&shared, &mut stream, response).await;
            return None;
        }
    };
    if let Err(origin) = route.origins.check(&head.headers) {
        let body = format!("origin {origin} is not allowed to open a session at {}", route.path);
        reject(&shared, &mut stream, Response::text(StatusCode::FORBIDDEN, body)).await;
        return None;
    }
    let protocol = upgrade::select_subprotocol(&head.headers, &route.subprotocols);
    let deflate = route.deflate.as_ref().and_then(|config| extensions::negotiate_deflate(&head.headers, config));
    let mut request = upgrade::handshake_request(head, remote, params);
    let interceptors = match upgrade::run_interceptors(&shared.interceptors, &route, &mut request).await {
        Ok(ran) => ran,
        Err((rejection, ran)) => {
            reject(&shared, &mut stream, upgrade::rejection_response(&rejection)).await;
            for interceptor in ran {
                interceptor.after_handshake(&request, Some(&rejection)).await;
            }
            return None;
        }
    };
    let accept = upgrade::switching_protocols(&key, protocol.as_deref(), deflate.as_ref().map(|d| d.response.as_str()));
    if timeout(config.handshake_timeout, stream.write_all(&accept)).await.map_or(true, |r| r.is_err()) {
        return None;
    }
    for interceptor in &interceptors {
        interceptor.after_handshake(&request, None).await;
    }
    drop(interceptors);

    stream.set_nodelay();
    let limits = MessageLimits {
        max_text_message_size: route.max_message_size,
        max_binary_message_size: route.max_message_size,
    };
    let (session, transport) = Transport::new(SessionConfig {
        handshake: request,
        route: route.path.clone(),
        accepted_protocol: protocol.map(String::into_boxed_str),
        extensions: deflate.iter().map(|d| d.response.clone().into_boxed_str()).collect(),
        limits,
        queue: route.queue,
        overflow: route.overflow.clone(),
        hub: shared.hub.clone(),
    });
    let handler = route.factory.handler_for_session();
    // DEBUG, not INFO: entering a span on every poll costs ~10% of a small echo
    // with the fmt subscriber; `RUST_LOG=wsboot=debug` turns it on.
    let span = tracing::debug_span!("session", id = %session.id(), path = %route.path, remote = %remote);
    let counters = SessionCounters::new(shared.metrics.as_ref().and_then(|m| m.route(&route.path)));
    let driver = Box::new(SessionDriver {
        decoder: FrameDecoder::new(handler.supports_partial_messages())
            .with_inflater(deflate.as_ref().map(|d| d.inflater())),
        stream,
        read_buf: ReadBuffer::new(buf, config.read_buffer_size),
        needed: 0,
        write: WriteBuffer::with_deflater(deflate.as_ref().zip(route.deflate.as_ref()).map(|(d, c)| d.deflater(c))),
        drained: VecDeque::new(),
        transport,
        session,
        handler,
        route,
        shared: shared.clone(),
        state: State::Open,
        io_failed: false,
        failed: false,
        liveness: Liveness::new(&shared.config),
        timer: Box::pin(tokio::time::sleep_until(Instant::now())),
        timer_at: None,
        counters,
    });
    Some((driver, span))
}

/// Answers `503` to a connection over the server's limit, without reading more
/// than a bounded amount of its request.
pub(crate) async fn refuse_overloaded(tcp: TcpStream, shared: Arc<Shared>) {
    let accepting = crate::io::accept(tcp, shared.tls.as_ref());
    let Ok(Ok(mut stream)) = timeout(shared.config.handshake_timeout, accepting).await else {
        return;
    };
    let response = Response::text(StatusCode::SERVICE_UNAVAILABLE, "too many connections; try again later")
        .header("Retry-After", "5");
    reject(&shared, &mut stream, response).await;
    // Read (and discard) what the client already sent, briefly, so closing does not
    // reset the connection before the client has read the answer.
    let mut sink = [0u8; 1024];
    let _ = timeout(std::time::Duration::from_secs(1), async {
        while matches!(tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Refuses the request with `response`, counting the refusal.
async fn reject(shared: &Shared, stream: &mut Stream, response: Response) {
    if let Some(metrics) = &shared.metrics {
        metrics.rejected_with(response.status);
    }
    respond(stream, response).await;
}

/// Counts a connection dropped before it could be answered.
fn reject_silently(shared: &Shared, reason: &'static str) {
    if let Some(metrics) = &shared.metrics {
        metrics.rejected(reason, None);
    }
}

async fn respond(stream: &mut Stream, response: Response) {
    tracing::debug!(status = %response.status, "refusing request: {}", String::from_utf8_lossy(&response.body).trim_end());
    let _ = timeout(std::time::Duration::from_secs(5), response.send(stream)).await;
}

/// Where the closing handshake stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    /// We sent a close frame with this status and wait for the peer's until the deadline.
    CloseSent {
        status: CloseStatus,
        deadline: Instant,
    },
    /// The session is over, with this status for `after_connection_closed`.
    Done(CloseStatus),
}

/// What ended the session loop's wait.
enum Wake {
    Readable,
    Disconnected,
    /// The session queued something to send.
    Queued,
    Timer,
}

struct SessionDriver {
    stream: Stream,
    read_buf: ReadBuffer,
    /// Bytes the decoder needs buffered to complete the current frame.
    needed: usize,
    decoder: FrameDecoder,
    write: WriteBuffer,
    drained: VecDeque<Outgoing>,
    transport: Transport,
    session: Session,
    handler: SharedHandler,
    route: Arc<Route>,
    shared: Arc<Shared>,
    state: State,
    /// The socket failed: nothing more can be written.
    io_failed: bool,
    /// The peer broke the protocol: the connection is failed, its input discarded.
    failed: bool,
    liveness: Liveness,
    /// One timer for every deadline (ping, pong, idle, lifetime, close), re-armed
    /// only when the earliest deadline moves.
    timer: Pin<Box<Sleep>>,
    timer_at: Option<Instant>,
    /// Messages and bytes in and out, for the route's metrics.
    counters: SessionCounters,
}

impl SessionDriver {
    async fn run(mut self: Box<Self>) {
        tracing::debug!("session open");
        register_session(&self.shared.hub, &self.session);
        // Shutdown closes every registered session; one that registers after the
        // server started stopping closes itself (trigger and register are both
        // SeqCst, so one of the two sides always sees the other).
        if self.shared.shutdown.is_triggered() {
            self.session.close(self.shared.config.shutdown_status.clone());
        }
        self.counters.opened();
        let (handler, session) = (self.handler.clone(), self.session.clone());
        self.call_handler("after_connection_established", handler.after_connection_established(&session)).await;
        let status = self.drive().await;
        let undelivered = self.transport.finish();
        // Leaves the registry and every topic exactly when it closes.
        unregister_session(&self.shared.hub, &self.session).await;
        if undelivered > 0 {
            tracing::debug!(undelivered, "connection ended with messages still queued");
        }
        let _ = self.stream.shutdown().await;
        self.counters.closed(&status);
        let closed = self.handler.after_connection_closed(&self.session, &status);
        if let Err(panic) = AssertUnwindSafe(closed).catch_unwind().await {
            tracing::error!("after_connection_closed panicked: {}", panic_message(&panic));
        }
        tracing::debug!(%status, "session closed");
        if self.failed {
            // Unread input makes closing send a reset, which can destroy our close
            // frame before the peer reads it: read and discard until it closes too.
            crate::http::linger(&mut self.stream).await;
        }
    }

    /// Runs the session until it is over; returns the status to report.
    async fn drive(&mut self) -> CloseStatus {
        loop {
            // Flush first: a close echo or an error close written by the last step
            // must reach the socket before the session ends.
            self.flush().await;
            if let State::Done(status) = &self.state {
                return status.clone();
            }
            if self.io_failed {
                return match &self.state {
                    State::CloseSent { status, .. } | State::Done(status) => status.clone(),
                    State::Open => CloseStatus::NO_CLOSE_FRAME,
                };
            }
            self.arm_timer();
            let woken_by = tokio::select! {
                biased;
                // The stream's own waker slot rather than `readable()`, which joins a
                // waiter list under a mutex on every turn.
                readable = std::future::poll_fn(|cx| self.stream.poll_read_ready(cx)) => {
                    if readable.is_ok() { Wake::Readable } else { Wake::Disconnected }
                }
                () = self.transport.ready() => Wake::Queued,
                () = self.timer.as_mut(), if self.timer_at.is_some() => Wake::Timer,
            };
            // Running again, before any handler call: what a handler queues from here
            // on is flushed by this loop, so it must not wake this task again (a
            // spurious extra poll per message, measured at 0.9 per echoed message).
            self.transport.set_active();
            match woken_by {
                Wake::Readable => self.on_readable().await,
                Wake::Disconnected => self.on_disconnect(),
                Wake::Queued => {}
                Wake::Timer => {
                    self.timer_at = None;
                    self.on_timer();
                }
            }
        }
    }

    /// Points the timer at the earliest deadline, if it moved.
    fn arm_timer(&mut self) {
        let state_deadline = match &self.state {
            State::Open => self.liveness.earliest(),
            State::CloseSent { deadline, .. } => Some(*deadline),
            State::Done(_) => None,
        };
        let next = earlier(state_deadline, self.read_buf.release_deadline());
        if next != self.timer_at {
            if let Some(at) = next {
                self.timer.as_mut().reset(at);
            }
            self.timer_at = next;
        }
    }

    /// Acts on every deadline that has passed.
    fn on_timer(&mut self) {
        let now = Instant::now();
        self.read_buf.on_deadline(now);
        if let State::CloseSent { deadline, .. } = &self.state {
            if *deadline <= now {
                tracing::debug!("peer did not answer the close frame in time");
                self.finish_with_sent_status();
            }
            return;
        }
        if self.state != State::Open {
            return;
        }
        match self.liveness.due(now) {
            None => {}
            Some(Due::PongMissing(waited)) => {
                tracing::debug!("no pong within {waited:?}; dropping the connection");
                self.transport.finish();
                let reason = format!("no pong within {waited:?}");
                self.state = State::Done(CloseStatus::NO_CLOSE_FRAME.with_reason(reason));
            }
            Some(Due::EndOfLife) => {
                self.transport.begin_close(CloseStatus::GOING_AWAY.with_reason("session lifetime exceeded"));
            }
            Some(Due::Idle) => {
                self.transport.begin_close(CloseStatus::GOING_AWAY.with_reason("idle timeout"));
            }
            Some(Due::Ping) => self.write.push_message(&Message::Ping(bytes::Bytes::new())),
        }
    }

    /// Reads what is available and handles every complete frame.
    async fn on_readable(&mut self) {
        match self.read_buf.read_from(&mut self.stream, self.needed) {
            None => return,
            Some(Ok(0)) => return self.on_disconnect(),
            Some(Ok(_)) => {
                // Any frame from the peer proves it is alive, not only a pong.
                self.liveness.peer_alive();
            }
            Some(Err(e)) => {
                tracing::debug!("read failed: {e}");
                return self.on_disconnect();
            }
        }
        loop {
            if matches!(self.state, State::Done(_)) {
                return;
            }
            let limits = DecoderLimits {
                max_frame_size: self.route.max_frame_size,
                max_text_message_size: self.session.text_message_size_limit(),
                max_binary_message_size: self.session.binary_message_size_limit(),
            };
            match self.decoder.decode(self.read_buf.bytes(), &limits, &mut self.needed) {
                Ok(Some(decoded)) => self.on_decoded(decoded).await,
                Ok(None) => break,
                Err(violation) => {
                    self.on_violation(violation);
                    break;
                }
            }
        }
        self.read_buf.end_burst();
    }

    async fn on_decoded(&mut self, decoded: Decoded) {
        let open = self.state == State::Open;
        // The callback's future borrows these handles while `self` keeps writing.
        let (handler, session) = (self.handler.clone(), self.session.clone());
        if matches!(decoded, Decoded::Message(_) | Decoded::Fragment(..)) {
            self.liveness.data_moved();
        }
        match decoded {
            Decoded::Message(message) if open => {
                self.counters.received(message.len());
                self.call_handler("handle_message", handler.handle_message(&session, message)).await;
            }
            Decoded::Fragment(fragment, is_last) if open => {
                self.counters.received_part(fragment.len(), is_last);
                self.call_handler(
                    "handle_partial_message",
                    handler.handle_partial_message(&session, fragment, is_last),
                )
                .await;
            }
            Decoded::Ping(payload) if open => self.write.push_message(&Message::Pong(payload)),
            Decoded::Pong(payload) if open => {
                self.call_handler("handle_message", handler.handle_message(&session, Message::Pong(payload))).await;
            }
            Decoded::Close(peer_status) => self.on_peer_close(peer_status),
            // After our close frame went out, data from the peer is discarded.
            Decoded::Message(_) | Decoded::Fragment(..) | Decoded::Ping(_) | Decoded::Pong(_) => {}
        }
    }

    fn on_peer_close(&mut self, peer_status: Option<CloseStatus>) {
        match &self.state {
            State::Open => {
                let reported = peer_status.clone().unwrap_or(CloseStatus::NO_STATUS_CODE);
                // Messages queued before the peer's close still go out, then our echo.
                let echo = peer_status.map_or(CloseStatus::NO_STATUS_CODE, |s| CloseStatus::new(s.code()));
                self.transport.begin_close(echo);
                self.drain_queue();
                // The echo is written by the next flush; then the session is over.
                self.state = State::Done(reported);
            }
            State::CloseSent { status, .. } => self.state = State::Done(status.clone()),
            State::Done(_) => {}
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): our close frame goes out, then the
    /// TCP connection is closed without processing anything more from the peer,
    /// not even its close frame. What follows a violation cannot be framed anyway.
    fn on_violation(&mut self, violation: Violation) {
        tracing::debug!(status = %violation.status, "protocol violation");
        self.failed = true;
        if self.state == State::Open {
            self.transport.begin_close(violation.status.clone());
            self.drain_queue();
            self.state = State::Done(violation.status);
        } else {
            self.finish_with_sent_status();
        }
    }

    fn on_disconnect(&mut self) {
        match &self.state {
            State::Open => {
                self.transport.finish();
                self.state = State::Done(CloseStatus::NO_CLOSE_FRAME);
            }
            State::CloseSent { .. } => self.finish_with_sent_status(),
            State::Done(_) => {}
        }
    }

    fn finish_with_sent_status(&mut self) {
        if let State::CloseSent { status, .. } = &self.state {
            self.state = State::Done(status.clone());
        }
    }

    /// Moves queued items into the write buffer, turning a queued close into a
    /// close frame and the `CloseSent` state.
    fn drain_queue(&mut self) {
        self.transport.drain_into(&mut self.drained);
        let mut sent_any = false;
        while let Some(item) = self.drained.pop_front() {
            match item {
                // Once our close frame is out, nothing else may follow it.
                Outgoing::Message(message) if self.state == State::Open => {
                    sent_any = true;
                    self.counters.sent(message.len());
                    self.write.push_message(&message);
                }
                Outgoing::Broadcast(broadcast) if self.state == State::Open => {
                    sent_any = true;
                    self.counters.sent(broadcast.message().len());
                    self.write.push_broadcast(&broadcast);
                }
                Outgoing::Message(_) | Outgoing::Broadcast(_) => {}
                Outgoing::Close(status) => {
                    self.write.push_close(&status);
                    if self.state == State::Open {
                        let deadline = self.shared.shutdown.cap(Instant::now() + self.shared.config.close_timeout);
                        self.state = State::CloseSent { status, deadline };
                    }
                }
                _ => {}
            }
        }
        if sent_any {
            // Once per drain, not per message: with an idle timeout it reads the clock.
            self.liveness.data_moved();
        }
    }

    /// Writes everything queued, as few syscalls as possible.
    async fn flush(&mut self) {
        self.drain_queue();
        // Counted before the bytes go out, so a client that has seen a message
        // finds it counted in a scrape.
        self.counters.publish();
        if self.write.is_empty() || self.io_failed {
            return;
        }
        // Most writes complete at once: try before reading the clock and setting
        // up a deadline (a partial write keeps its progress in `self.write`).
        let outcome = match self.stream.write_frames(&mut self.write).now_or_never() {
            Some(done) => Ok(done),
            None => self.write_with_deadline().await,
        };
        let failure = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!("write failed: {e}"),
            Err(why) => why.to_owned(),
        };
        tracing::debug!("{failure}");
        self.io_failed = true;
        self.transport.finish();
    }

    /// Finishes writing what is buffered, within the route's send time limit
    /// and the shutdown deadline.
    async fn write_with_deadline(&mut self) -> Result<std::io::Result<()>, &'static str> {
        let write = self.stream.write_frames(&mut self.write);
        let deadline = self.shared.shutdown.cap(Instant::now() + self.route.send_time_limit);
        tokio::select! {
            biased;
            written = timeout_at(deadline, write) => written.map_err(|_| "write timed out"),
            // A write blocked since before a shutdown began is cut short at its
            // deadline (one that completes at once never polls this branch).
            () = self.shared.shutdown.expired() => Err("shutdown deadline passed during a write"),
        }
    }

    /// Runs one handler callback to completion while still writing what the
    /// session queues (a handler awaiting `send` on a full queue must not wait on
    /// itself). This is the exception guard of every handler (what
    /// `ExceptionHandlerDecorator` does): an error or a panic is logged, reported
    /// to `handle_transport_error`, and closes the session with 1011.
    async fn call_handler(&mut self, callback: &'static str, call: BoxFuture<'_, HandlerResult>) {
        if !self.write.is_empty() {
            // A pong for a ping read with this message goes out now: a slow handler
            // must not hold up the answer to a keep-alive.
            self.flush().await;
        }
        let mut call = AssertUnwindSafe(call).catch_unwind();
        let outcome = loop {
            tokio::select! {
                biased;
                outcome = &mut call => break outcome,
                () = self.transport.ready(), if !self.io_failed => {
                    // Split borrows: the handler future borrows `session` and
                    // `handler`, writing needs `stream`, `write` and `transport`.
                    let deadline = self.shared.shutdown.cap(Instant::now() + self.route.send_time_limit);
                    let sent = flush_while_calling(&self.transport, &mut self.drained, &mut self.write, &mut self.stream, &mut self.io_failed, &mut self.counters, deadline).await;
                    if sent > 0 {
                        // A handler that keeps sending keeps the session from going idle.
                        self.liveness.data_moved();
                    }
                }
            }
        };
        drop(call);
        let error = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(error)) => Error::with_source(ErrorKind::Handler, format!("handler error: {error}"), error),
            Err(panic) => Error::new(ErrorKind::Handler, format!("handler panicked: {}", panic_message(&panic))),
        };
        tracing::error!(
            handler = self.handler.type_name(),
            session = %self.session.id(),
            callback,
            "{error}; closing the session with 1011"
        );
        let report = self.handler.handle_transport_error(&self.session, &error);
        if let Err(panic) = AssertUnwindSafe(report).catch_unwind().await {
            tracing::error!("handle_transport_error panicked: {}", panic_message(&panic));
        }
        self.session.close(CloseStatus::SERVER_ERROR);
    }
}

/// Writes queued messages while a handler call is in progress; returns how many
/// it took from the queue. Close items are kept for the main loop, which owns
/// the closing state.
async fn flush_while_calling(
    transport: &Transport,
    drained: &mut VecDeque<Outgoing>,
    write: &mut WriteBuffer,
    stream: &mut Stream,
    io_failed: &mut bool,
    counters: &mut SessionCounters,
    deadline: Instant,
) -> usize {
    transport.drain_into(drained);
    let mut messages = 0;
    loop {
        match drained.front() {
            Some(Outgoing::Message(message)) => {
                counters.sent(message.len());
                write.push_message(message);
            }
            Some(Outgoing::Broadcast(broadcast)) => {
                counters.sent(broadcast.message().len());
                write.push_broadcast(broadcast);
            }
            _ => break,
        }
        messages += 1;
        drained.pop_front();
    }
    counters.publish();
    if write.is_empty() {
        return messages;
    }
    // Bounded like the main loop's writes: a client that stops reading while a
    // handler sends must not hold the handler (and the session) forever.
    let failure = match timeout_at(deadline, stream.write_frames(write)).await {
        Ok(Ok(())) => return messages,
        Ok(Err(e)) => format!("write failed: {e}"),
        Err(_) => "write timed out".to_owned(),
    };
    tracing::debug!("{failure}");
    *io_failed = true;
    transport.finish();
    messages
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic)")
}
