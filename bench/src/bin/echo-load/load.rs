//! Load: each connection keeps `pipeline` messages in flight, sending one more
//! for each echo that comes back (checked byte for byte), and records the time
//! from writing a message to reading its echo.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::clients::{Control, Opened, Phase};
use crate::ws::{self, FrameReader};

/// Bytes a connection first reserves for reading; it grows for larger frames.
const READ_BUFFER: usize = 16 * 1024;

/// What every connection sends.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) payload: Vec<u8>,
    pub(crate) opcode: u8,
    pub(crate) pipeline: usize,
}

/// What one client thread's connections measured.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// Echoes received while measuring.
    pub(crate) received: u64,
    /// Round-trip time of each of them, in nanoseconds.
    pub(crate) latencies: Vec<u64>,
}

/// Drives one open connection until the run stops, then closes it normally.
pub(crate) async fn session(
    index: usize,
    mut stream: TcpStream,
    leftover: Vec<u8>,
    job: &Job,
    control: &Control,
    opened: &Opened<'_>,
    recorder: &RefCell<Recorder>,
) -> io::Result<()> {
    opened.mark();
    control.reached(Phase::Warmup).await;
    let mask = ws::mask_key(index as u64);
    let frame = ws::masked_frame(job.opcode, &job.payload, mask);
    // `pipeline` frames back to back: k messages go out as one write of k frames.
    let batch = frame.repeat(job.pipeline);
    let (mut read_half, mut write_half) = stream.split();
    let mut reader = FrameReader::new(leftover, READ_BUFFER);

    // Shared by the writer and the reader below, which run in this one task.
    let credits = Cell::new(job.pipeline);
    let in_flight: RefCell<VecDeque<Instant>> = RefCell::new(VecDeque::with_capacity(job.pipeline));
    let pong: RefCell<Option<Vec<u8>>> = RefCell::new(None);
    let close_sent = Cell::new(false);
    let wake_writer = Notify::new();

    let writer = async {
        loop {
            let pending_pong = pong.borrow_mut().take();
            if let Some(pong) = pending_pong {
                write_half.write_all(&pong).await?;
            }
            if control.phase() >= Phase::Stopping {
                if in_flight.borrow().is_empty() {
                    write_half.write_all(&ws::close_frame(mask)).await?;
                    close_sent.set(true);
                    return Ok::<(), io::Error>(());
                }
            } else {
                let k = credits.replace(0);
                if k > 0 {
                    let now = Instant::now();
                    in_flight.borrow_mut().extend(std::iter::repeat_n(now, k));
                    write_half.write_all(&batch[..k * frame.len()]).await?;
                    continue;
                }
            }
            // Woken by the reader for every echo (so always while messages are in flight).
            wake_writer.notified().await;
        }
    };

    let reader = async {
        // Bytes of the message being received so far (it may come in fragments).
        let mut received = 0;
        let mut now = Instant::now();
        loop {
            let Some(frame) = reader.next_frame()? else {
                match reader.fill(&mut read_half).await {
                    Ok(()) => {}
                    // The server may end the TCP connection right after its close frame.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && close_sent.get() => return Ok(()),
                    Err(e) => return Err(e),
                }
                // One clock read per socket read: the echoes it brought arrived together.
                now = Instant::now();
                continue;
            };
            match frame.opcode {
                ws::TEXT | ws::BINARY | ws::CONTINUATION => {
                    let expected_opcode = if received == 0 { job.opcode } else { ws::CONTINUATION };
                    let payload = reader.payload(&frame);
                    if frame.opcode != expected_opcode
                        || job.payload.get(received..received + payload.len()) != Some(payload)
                    {
                        return Err(io::Error::other("the echo differs from the message sent"));
                    }
                    received += payload.len();
                    if !frame.fin {
                        continue;
                    }
                    if received != job.payload.len() {
                        return Err(io::Error::other("the echo is shorter than the message sent"));
                    }
                    received = 0;
                    let sent =
                        in_flight.borrow_mut().pop_front().ok_or_else(|| io::Error::other("an echo of nothing"))?;
                    if control.phase() == Phase::Measuring {
                        let mut recorder = recorder.borrow_mut();
                        recorder.received += 1;
                        recorder.latencies.push(now.saturating_duration_since(sent).as_nanos() as u64);
                    }
                    credits.set(credits.get() + 1);
                    wake_writer.notify_one();
                }
                ws::PING => {
                    *pong.borrow_mut() = Some(ws::masked_frame(ws::PONG, reader.payload(&frame), mask));
                    wake_writer.notify_one();
                }
                ws::PONG => {}
                ws::CLOSE if close_sent.get() => return Ok(()),
                ws::CLOSE => {
                    let reason = ws::close_reason(reader.payload(&frame));
                    return Err(io::Error::other(format!("the server closed the session: {reason}")));
                }
                other => return Err(io::Error::other(format!("the server sent opcode {other:#x}"))),
            }
        }
    };

    tokio::try_join!(writer, reader).map(|_| ())
}

/// Latency percentiles over every recorded round trip.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Percentiles {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) p999: Duration,
    pub(crate) max: Duration,
}

impl Percentiles {
    /// `None` when nothing was recorded.
    pub(crate) fn of(mut nanos: Vec<u64>) -> Option<Percentiles> {
        if nanos.is_empty() {
            return None;
        }
        nanos.sort_unstable();
        // Nearest rank: the smallest value with at least q of the samples at or below it.
        let at = |q: f64| {
            let rank = ((q * nanos.len() as f64).ceil() as usize).clamp(1, nanos.len());
            Duration::from_nanos(nanos[rank - 1])
        };
        Some(Percentiles { p50: at(0.50), p99: at(0.99), p999: at(0.999), max: at(1.0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let p = Percentiles::of((1..=1000).rev().collect()).unwrap();
        assert_eq!(p.p50, Duration::from_nanos(500));
        assert_eq!(p.p99, Duration::from_nanos(990));
        assert_eq!(p.p999, Duration::from_nanos(999));
        assert_eq!(p.max, Duration::from_nanos(1000));
        assert_eq!(Percentiles::of(vec![7]).unwrap().p99, Duration::from_nanos(7));
        assert!(Percentiles::of(Vec::new()).is_none());
    }
}
