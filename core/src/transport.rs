//! The connection side of a session: what the runtime uses to drain a
//! session's outbound queue. Handlers never need it.

use crate::outbound::Queued;
use crate::session::{Session, SessionConfig};

/// The writer's end of a [`Session`]'s outbound queue. Exactly one exists per
/// session, owned by the task that writes to the socket.
#[derive(Debug)]
pub struct Transport {
    session: Session,
}

impl Transport {
    /// Creates a session and its transport.
    pub fn new(config: SessionConfig) -> (Session, Transport) {
        let session = Session::new(config);
        (session.clone(), Transport { session })
    }

    /// The session this transport drains.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Waits until something may have been queued (spurious wake-ups are possible:
    /// drain and check).
    pub async fn ready(&self) {
        self.session.inner.outbound.ready().await
    }

    /// [`ready`](Self::ready) as a poll: `Ready` once something may have been
    /// queued, otherwise the task is woken when something is.
    pub fn poll_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.session.inner.outbound.poll_ready(cx)
    }

    /// Tells producers the writer is running, so they need not wake it; call it
    /// whenever the connection task resumes. [`ready`](Self::ready) marks it parked.
    pub fn set_active(&self) {
        self.session.inner.outbound.set_writer_active()
    }

    /// Takes every queued item, in queue order (iterate the result), freeing
    /// room for senders. Also takes the [`ready`](Self::ready) signal: `ready`
    /// stays ready until a drain.
    pub fn drain(&self) -> Queued {
        self.session.inner.outbound.drain()
    }

    /// Gives back the queue's allocation if it is empty (the session rests):
    /// one message would otherwise keep its room for the session's life.
    pub fn release_spare_room(&self) {
        self.session.inner.outbound.release_spare_room()
    }

    /// Marks the session closed by the peer (or the network): sends fail from now on.
    /// Returns the number of queued messages that will never be written.
    pub fn finish(&self) -> usize {
        self.session.inner.outbound.finish()
    }

    /// Stops accepting new messages because a close began (e.g. the peer sent a
    /// close frame), keeping what is queued. Returns false if a close was already queued.
    pub fn begin_close(&self, status: crate::CloseStatus) -> bool {
        self.session.inner.outbound.push_close(status)
    }
}
