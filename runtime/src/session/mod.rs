//! A WebSocket session on an upgraded connection: [`open`] turns an accepted
//! upgrade into a [`SessionDriver`]; the connection's task runs it turn by
//! turn (`poll_turn`, then `start` for work that may wait on its own).

mod call;
mod driver;
mod guard;
mod near_timer;
mod rest;
mod state;
mod step;
mod writer;

use std::sync::Arc;

use wsboot_core::__runtime::{MessageLimits, SessionConfig, Transport};

pub(crate) use driver::SessionDriver;
pub(crate) use guard::panic_message;
use state::State;
pub(crate) use step::{Step, StepEnd, Work};

use crate::handshake::Upgrade;
use crate::io::Stream;
use crate::liveness::Liveness;
use crate::metrics::SessionCounters;
use crate::protocol::{FrameDecoder, WriteBuffer};
use crate::read_buffer::ReadBuffer;
use crate::server::Shared;
use crate::shutdown::LiveGuard;

/// The session of an upgrade whose 101 is written, ready to run (its first
/// work is [`Work::Open`]); `live` counts the connection as live until it ends.
pub(crate) fn open(stream: Stream, upgrade: Upgrade, shared: &Arc<Shared>, live: LiveGuard) -> Box<SessionDriver> {
    let Upgrade { route, protocol, deflate, request, read } = upgrade;
    let remote = request.remote_addr();
    stream.set_nodelay();
    let limits = MessageLimits {
        max_text_message_size: route.max_message_size,
        max_binary_message_size: route.max_message_size,
    };
    let (session, transport) = Transport::new(SessionConfig {
        handshake: request,
        route: route.session.clone(),
        accepted_protocol: protocol.map(String::into_boxed_str),
        extensions: deflate.iter().map(|d| d.response.clone().into_boxed_str()).collect(),
        limits,
        hub: shared.hub.clone(),
    });
    wsboot_core::__runtime::set_session_context(&session, &shared.context);
    let handler = route.factory.handler_for_session();
    // DEBUG, not INFO: entering a span on every poll costs ~10% of a small echo
    // with the fmt subscriber; `RUST_LOG=wsboot=debug` turns it on.
    let span = tracing::debug_span!("session", id = %session.id(), path = %route.path, remote = %remote);
    let counters = SessionCounters::new(shared.metrics.as_ref().and_then(|m| m.route(&route.path)));
    Box::new(SessionDriver {
        decoder: FrameDecoder::new(handler.supports_partial_messages())
            .with_inflater(deflate.as_ref().map(|d| d.inflater())),
        stream,
        read_buf: ReadBuffer::new(read, shared.config.read_buffer_size),
        needed: 0,
        write: WriteBuffer::with_deflater(deflate.as_ref().zip(route.deflate.as_ref()).map(|(d, c)| d.deflater(c))),
        transport,
        session,
        handler,
        route,
        shared: shared.clone(),
        state: State::Open,
        io_failed: false,
        failed: false,
        liveness: Liveness::new(&shared.config, shared.timers.clock().now()),
        timer_at: None,
        timer: None,
        wheel_tick: None,
        rest: rest::RestClock::default(),
        counters,
        // A disabled span is kept as nothing: 40 bytes less in every session.
        span: (!span.is_disabled()).then(|| Box::new(span)),
        _live: live,
    })
}
