//! STOMP over wsboot WebSockets, the way Spring's STOMP support works: clients
//! speak STOMP 1.2 (1.1 and 1.0 too) over the WebSocket, as stomp.js does in
//! browsers; SENDs to application destinations (`/app/…`) reach the
//! application's handlers; an in-process broker fans out `/topic` and `/queue`
//! destinations on the hub's topics (so the Redis broker carries them to every
//! node); user destinations (`/user/queue/…`) reach every session of one user.
//!
//! ```
//! use wsboot_core::HandlerRegistry;
//! use wsboot_stomp::{Reply, StompEndpoint};
//!
//! #[derive(serde::Deserialize)]
//! struct Say { text: String }
//!
//! let mut registry = HandlerRegistry::new();
//! StompEndpoint::new("/stomp")
//!     // A client SENDs {"text":"hi"} to /app/chat.lobby; every subscriber of
//!     // /topic/chat.lobby receives "lobby: hi".
//!     .message_mapping("/chat.{room}", |message| async move {
//!         let say: Say = message.json()?;
//!         Ok(Some(Reply::new(format!("{}: {}", message.var("room").unwrap_or("?"), say.text))))
//!     })
//!     .register(&mut registry)
//!     .expect("a valid endpoint");
//! ```
//!
//! What the server checks, each answered with an ERROR frame that names the
//! problem, then the connection closes (as the spec says): a malformed frame,
//! an unknown command, a missing required header, a frame or header over the
//! [`Limits`], any frame before CONNECT, an unknown subscription or
//! transaction, a version no one shares, a client's SEND straight to a broker
//! destination (unless [`StompEndpoint::allow_client_sends`] allows it), and a
//! client silent past the agreed heart-beat.

mod authorization;
mod commands;
mod decode;
mod destination;
mod endpoint;
mod extract;
mod frame;
mod handler;
mod heartbeat;
mod mapping;
mod messaging;
mod payload;
mod relay;
mod state;

pub use authorization::{Access, Authorization, FrameInterceptor};
pub use decode::{DecodeError, Decoder, Limits};
pub use destination::{Kind, Pattern, Prefixes};
pub use endpoint::StompEndpoint;
#[doc(hidden)]
pub use extract::__private;
pub use extract::{FromInbound, IntoReply, Json};
pub use frame::{Command, Frame, Version};
pub use mapping::{HandlerResult, Inbound, Reply, Target};
pub use messaging::Messaging;
pub use payload::Payload;
pub use relay::BrokerRelay;
pub use state::AckMode;
pub use wsboot_macros::{message_mapping, subscribe_mapping};
