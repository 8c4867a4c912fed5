//! A client session's side of the relay: its own broker connection, opened
//! at CONNECT, that its broker-destination frames go through and whose
//! MESSAGEs come back to it; the broker's ERROR or the connection's loss ends
//! the session with an ERROR (the client may reconnect).

use wsboot_core::Session;

use super::BrokerRelay;
use crate::frame::{Command, Frame, Version};
use crate::handler::{Problem, fail};
use crate::payload::to_message;
use crate::state::Shared;

/// Opens the session's broker connection and keeps it in the session's state.
pub(crate) async fn open(relay: &BrokerRelay, session: &Session, state: &Shared) -> Result<(), Problem> {
    let (messages_to, messages_state) = (session.clone(), state.clone());
    let (ended_for, ended_state) = (session.clone(), state.clone());
    let on_frame = move |frame: Frame| match frame.command {
        Command::Message | Command::Receipt => {
            let version = messages_state.lock().version.unwrap_or(Version::V1_2);
            // The broker numbered it and named the client's own subscription
            // id; a receipt answers a frame the client sent through.
            if messages_to.try_send(to_message(&frame, version)).is_err() {
                tracing::debug!(session = %messages_to.id(), "a MESSAGE from the broker found the session's queue full");
            }
        }
        Command::Error => {
            let detail = format!(
                "{}: {}",
                frame.get("message").unwrap_or("(no message)"),
                String::from_utf8_lossy(&frame.body).trim()
            );
            let (session, state) = (messages_to.clone(), messages_state.clone());
            tokio::spawn(async move {
                let _ = fail(&session, &state, Problem::new("message broker error", detail), None).await;
            });
        }
        _ => {}
    };
    let on_end = move |why: String| {
        if ended_for.is_open() && ended_state.lock().relay.is_some() {
            tokio::spawn(async move {
                let problem = Problem::new("message broker connection lost", why);
                let _ = fail(&ended_for, &ended_state, problem, None).await;
            });
        }
    };
    let link = relay
        .open_client(on_frame, on_end)
        .await
        .map_err(|e| Problem::new("message broker unavailable", e.to_string()))?;
    state.lock().relay = Some(link);
    Ok(())
}

/// Sends a client's frame to its broker connection, without its
/// transaction (held and applied here). With `receipt`, its receipt request
/// goes along and the broker's RECEIPT comes back to the client (once the
/// broker has processed it); without, it is dropped (answered here already).
pub(crate) fn forward(state: &Shared, frame: &Frame, receipt: bool) -> Result<(), Problem> {
    let link =
        state.lock().relay.clone().ok_or_else(|| {
            Problem::new("message broker connection lost", "this session's broker connection is closed")
        })?;
    let mut forwarded = Frame::new(frame.command).body(frame.body.clone());
    let dropped = |name: &str| name == "transaction" || (name == "receipt" && !receipt);
    for (name, value) in frame.headers().filter(|(name, _)| !dropped(name)) {
        forwarded.push_header(name, value);
    }
    link.send(forwarded).map_err(|e| Problem::new("message broker unavailable", e.to_string()))
}
