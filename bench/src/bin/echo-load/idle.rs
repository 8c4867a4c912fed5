//! Idle: a connection that is open and quiet (after one echo, if asked), as most
//! of a real server's connections are. It answers the server's pings, so
//! keep-alive does not close it, and closes normally when the run stops.

use std::io;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::clients::{Control, Opened, Phase};
use crate::ws::{self, FrameReader};

/// The one message of `--idle-echo`.
const HELLO: &[u8] = b"hello, wsboot";

/// Holds one open connection until the run stops, then closes it normally.
pub(crate) async fn session(
    index: usize,
    mut stream: TcpStream,
    leftover: Vec<u8>,
    echo_once: bool,
    control: &Control,
    opened: &Opened<'_>,
) -> io::Result<()> {
    let mask = ws::mask_key(index as u64);
    // Control frames are at most 125 bytes: a small buffer serves an idle connection.
    let mut reader = FrameReader::new(leftover, 256);
    if echo_once {
        stream.write_all(&ws::masked_frame(ws::TEXT, HELLO, mask)).await?;
        loop {
            match reader.next_frame()? {
                None => reader.fill(&mut stream).await?,
                Some(frame) if frame.opcode == ws::TEXT && frame.fin && reader.payload(&frame) == HELLO => break,
                Some(frame) if frame.opcode == ws::PING => {
                    let pong = ws::masked_frame(ws::PONG, reader.payload(&frame), mask);
                    stream.write_all(&pong).await?;
                }
                Some(_) => return Err(io::Error::other("the echo differs from the message sent")),
            }
        }
    }
    opened.mark();

    let stop = control.reached(Phase::Stopping);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            // Cancel-safe: a read that has not completed leaves the buffer as it was.
            filled = reader.fill(&mut stream) => filled?,
        }
        while let Some(frame) = reader.next_frame()? {
            match frame.opcode {
                ws::PING => {
                    let pong = ws::masked_frame(ws::PONG, reader.payload(&frame), mask);
                    stream.write_all(&pong).await?;
                }
                ws::CLOSE => {
                    let reason = ws::close_reason(reader.payload(&frame));
                    return Err(io::Error::other(format!("the server closed the session: {reason}")));
                }
                _ => {}
            }
        }
    }

    stream.write_all(&ws::close_frame(mask)).await?;
    loop {
        while let Some(frame) = reader.next_frame()? {
            if frame.opcode == ws::CLOSE {
                return Ok(());
            }
        }
        match reader.fill(&mut stream).await {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        }
    }
}
