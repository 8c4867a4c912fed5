//! The WebSocket framing layer (RFC 6455 §5): decoding client frames into messages
//! and encoding server frames (headers read and written here, with tungstenite's
//! opcode and header types).
//!
//! wsboot drives frames itself rather than through `tungstenite::WebSocket` so that
//! it can check limits before buffering, hand payloads to handlers without copies,
//! deliver partial messages, batch many frames per socket write and keep no read
//! buffer while a connection is idle.

mod decoder;
mod deflate;
mod encoder;
mod mask;

pub(crate) use decoder::{Decoded, DecoderLimits, FrameDecoder};
pub(crate) use deflate::{Deflater, Direction, Inflater};
pub(crate) use encoder::WriteBuffer;

use wsboot_core::CloseStatus;

/// A protocol failure: the connection is failed with this close status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) status: CloseStatus,
    /// The violation was in the peer's close frame: the peer has closed already, so
    /// no close reply will follow ours.
    pub(crate) in_close_frame: bool,
}

impl Violation {
    pub(crate) fn protocol(reason: &'static str) -> Self {
        Violation { status: CloseStatus::PROTOCOL_ERROR.with_reason(reason), in_close_frame: false }
    }

    pub(crate) fn bad_data(reason: &'static str) -> Self {
        Violation { status: CloseStatus::BAD_DATA.with_reason(reason), in_close_frame: false }
    }

    pub(crate) fn too_big(reason: String) -> Self {
        Violation { status: CloseStatus::TOO_BIG_TO_PROCESS.with_reason(reason), in_close_frame: false }
    }
}
