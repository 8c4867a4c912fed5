//! Round trips through the compressor and decompressor, their limits, and
//! their rest.

use super::*;

const TAKEOVER: Direction = Direction { no_context_takeover: false, max_window_bits: 15 };
const NO_TAKEOVER: Direction = Direction { no_context_takeover: true, max_window_bits: 15 };

fn chat(i: usize) -> Vec<u8> {
    format!(r#"{{"type":"message","room":"general","user":"user{}","text":"hello number {i}"}}"#, i % 7).into_bytes()
}

fn inflate_all(inflater: &mut Inflater, data: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    inflater.inflate(data, true, &mut out, limit)?;
    Ok(out)
}

#[test]
fn round_trip_with_context_takeover_shrinks_later_messages() {
    let mut deflater = Deflater::new(TAKEOVER, 6, 0);
    let mut inflater = Inflater::new(TAKEOVER);
    let mut sizes = Vec::new();
    for i in 0..20 {
        let message = chat(i);
        let compressed = deflater.compress(&message).expect("compressed");
        assert!(!compressed.ends_with(&TAIL));
        sizes.push(compressed.len());
        assert_eq!(inflate_all(&mut inflater, &compressed, 1 << 20).unwrap(), message);
    }
    // Later messages refer back to earlier ones.
    assert!(sizes[19] * 2 < sizes[0], "{sizes:?}");
    assert!(deflater.is_allocated() && inflater.is_allocated());
}

#[test]
fn without_context_takeover_nothing_is_kept() {
    let mut deflater = Deflater::new(NO_TAKEOVER, 6, 0);
    let mut inflater = Inflater::new(NO_TAKEOVER);
    let message = b"abcabcabcabcabcabcabcabcabcabcabcabc".repeat(4);
    let first = deflater.compress(&message).unwrap();
    let second = deflater.compress(&message).unwrap();
    assert_eq!(first, second, "each message starts from an empty window");
    assert_eq!(first, compress_once(deflater.shared_key(), &message).unwrap());
    deflater.release_idle();
    assert!(!deflater.is_allocated());
    assert_eq!(inflate_all(&mut inflater, &first, 1 << 20).unwrap(), message);
    assert!(!inflater.is_allocated());
}

#[test]
fn the_rfc_example_inflates() {
    // RFC 7692 §7.2.3.1: "Hello" compressed.
    let mut inflater = Inflater::new(TAKEOVER);
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(inflate_all(&mut inflater, &hello, 100).unwrap(), b"Hello");
    // §7.2.3.2: the same message again, referring to the first.
    assert_eq!(inflate_all(&mut inflater, &[0xf2, 0x00, 0x11, 0x00, 0x00], 100).unwrap(), b"Hello");
}

#[test]
fn a_message_split_across_frames_inflates_as_one() {
    let message = chat(3).repeat(50);
    let compressed = Deflater::new(TAKEOVER, 6, 0).compress(&message).unwrap();
    let mut inflater = Inflater::new(TAKEOVER);
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = compressed.chunks(7).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        inflater.inflate(chunk, i + 1 == chunks.len(), &mut out, 1 << 20).unwrap();
    }
    assert_eq!(out, message);
}

#[test]
fn a_zip_bomb_stops_one_byte_past_the_limit() {
    let bomb = Deflater::new(NO_TAKEOVER, 9, 0).compress(&vec![0u8; 10 << 20]).unwrap();
    assert!(bomb.len() < 20_000, "10 MiB of zeros compresses to {} bytes", bomb.len());
    let mut inflater = Inflater::new(NO_TAKEOVER);
    let mut out = Vec::new();
    assert_eq!(inflater.inflate(&bomb, true, &mut out, 64 << 10), Err(InflateError::TooBig));
    assert!(out.capacity() <= (64 << 10) + 1, "grew to {}", out.capacity());
    // Exactly at the limit is fine.
    let fits = Deflater::new(NO_TAKEOVER, 9, 0).compress(&vec![0u8; 64 << 10]).unwrap();
    assert_eq!(inflate_all(&mut inflater, &fits, 64 << 10).unwrap().len(), 64 << 10);
}

#[test]
fn garbage_is_corrupt() {
    let mut inflater = Inflater::new(TAKEOVER);
    // BTYPE 11 is reserved.
    assert_eq!(inflate_all(&mut inflater, &[0xff, 0xff, 0xff], 100), Err(InflateError::Corrupt));
}

#[test]
fn a_final_block_starts_a_new_stream() {
    // RFC 7692 §7.2.3.4: "Hello" in a block with BFINAL set, then the 0x00
    // that lets the appended tail parse; then a message from a new stream.
    let mut inflater = Inflater::new(TAKEOVER);
    let hello = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    assert_eq!(inflate_all(&mut inflater, &hello, 100).unwrap(), b"Hello");
    let next = Deflater::new(TAKEOVER, 6, 0).compress(b"world").unwrap();
    assert_eq!(inflate_all(&mut inflater, &next, 100).unwrap(), b"world");
}

#[test]
fn small_messages_and_tiny_windows_go_uncompressed() {
    let mut deflater = Deflater::new(TAKEOVER, 6, 64);
    assert_eq!(deflater.compress(&[b'a'; 63]), None);
    assert!(deflater.compress(&[b'a'; 64]).is_some());
    let mut eight = Deflater::new(Direction { no_context_takeover: false, max_window_bits: 8 }, 6, 0);
    assert_eq!(eight.compress(&[b'a'; 1000]), None);
    // Incompressible data without context takeover is sent as it is.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..1000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    assert_eq!(Deflater::new(NO_TAKEOVER, 6, 0).compress(&noise), None);
}

#[test]
fn resting_gives_back_the_zlib_state_and_the_stream_goes_on() {
    for bits in [9, 12, 15] {
        let direction = Direction { no_context_takeover: false, max_window_bits: bits };
        let (mut deflater, mut inflater) = (Deflater::new(direction, 1, 0), Inflater::new(direction));
        // A decompressor that never rests, as a client's would be.
        let mut client = Inflater::new(direction);
        let mut sizes = Vec::new();
        for i in 0..200 {
            let message = chat(i).repeat(1 + i % 5);
            let compressed = deflater.compress(&message).expect("compressed");
            sizes.push(compressed.len() * 100 / message.len());
            assert_eq!(inflate_all(&mut client, &compressed, 1 << 20).unwrap(), message, "window {bits}, message {i}");
            assert_eq!(
                inflate_all(&mut inflater, &compressed, 1 << 20).unwrap(),
                message,
                "window {bits}, message {i}"
            );
            if i % 3 == 0 {
                deflater.rest();
                inflater.rest();
                assert!(!deflater.is_allocated() && !inflater.is_allocated());
                // What is kept is the window, no more.
                assert!(deflater.saved.as_ref().unwrap().len() <= 1 << bits);
                assert!(inflater.saved.as_ref().unwrap().len() <= 1 << bits);
            }
        }
        // Messages after a rest still refer back to those before it.
        let after_rest: Vec<_> = sizes.iter().skip(1).step_by(3).copied().collect();
        assert!(after_rest.iter().all(|&percent| percent < 50), "window {bits}: {after_rest:?}");
    }
}

#[test]
fn a_decompressor_does_not_rest_inside_a_message() {
    let mut deflater = Deflater::new(TAKEOVER, 1, 0);
    let message = chat(1).repeat(20);
    let compressed = deflater.compress(&message).unwrap();
    let (first, second) = compressed.split_at(compressed.len() / 2);
    let mut inflater = Inflater::new(TAKEOVER);
    let mut out = Vec::new();
    inflater.inflate(first, false, &mut out, 1 << 20).unwrap();
    inflater.rest();
    assert!(inflater.is_allocated(), "half a message: the state is needed for the rest of it");
    inflater.inflate(second, true, &mut out, 1 << 20).unwrap();
    assert_eq!(out, message);
    inflater.rest();
    assert!(!inflater.is_allocated());
}
