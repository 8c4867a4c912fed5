//! Where a session's closing handshake stands.

use wsboot_core::CloseStatus;

use crate::deadline::Deadline;

/// Where a session's closing handshake stands.
///
/// The closing states are boxed: every session holds this for its whole life,
/// and only a closing one needs a status and a deadline. Inline they took 48
/// bytes, which put the session loop's state in the allocator's next size
/// class for every connection.
#[derive(Debug)]
pub(super) enum State {
    Open,
    /// We sent a close frame and wait for the peer's.
    CloseSent(Box<CloseSent>),
    /// The session is over, with this status for `after_connection_closed`.
    Done(Box<CloseStatus>),
}

/// Our close frame is out: its status, and until when we wait for the peer's.
#[derive(Debug)]
pub(super) struct CloseSent {
    pub(super) status: CloseStatus,
    pub(super) deadline: Deadline,
}

impl State {
    /// Our close frame with `status` is out; the peer has until `deadline`.
    pub(super) fn close_sent(status: CloseStatus, deadline: Deadline) -> Self {
        State::CloseSent(Box::new(CloseSent { status, deadline }))
    }

    /// The session is over, with `status`.
    pub(super) fn done(status: CloseStatus) -> Self {
        State::Done(Box::new(status))
    }

    /// Whether no close frame went either way yet.
    pub(super) fn is_open(&self) -> bool {
        matches!(self, State::Open)
    }

    /// Over with the status we sent, once the peer answered our close or can no
    /// longer (it left, broke the protocol, or ran out of time).
    pub(super) fn finish_with_sent_status(&mut self) {
        if let State::CloseSent(sent) = self {
            *self = State::done(sent.status.clone());
        }
    }
}
