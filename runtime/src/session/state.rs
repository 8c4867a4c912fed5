//! Where a session's closing handshake stands.

use tokio::time::Instant;
use wsboot_core::CloseStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum State {
    Open,
    /// We sent a close frame with this status and wait for the peer's until the deadline.
    CloseSent {
        status: CloseStatus,
        deadline: Instant,
    },
    /// The session is over, with this status for `after_connection_closed`.
    Done(CloseStatus),
}

impl State {
    /// Over with the status we sent, once the peer answered our close or can no
    /// longer (it left, broke the protocol, or ran out of time).
    pub(super) fn finish_with_sent_status(&mut self) {
        if let State::CloseSent { status, .. } = self {
            *self = State::Done(status.clone());
        }
    }
}
