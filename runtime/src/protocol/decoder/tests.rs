use super::*;
use crate::protocol::deflate::{Deflater, Direction};

const LIMITS: DecoderLimits =
    DecoderLimits { max_frame_size: 1 << 20, max_text_message_size: 1 << 20, max_binary_message_size: 1 << 20 };

/// A masked client frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1, 2, 3, 4];
    let mut out = vec![first];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn decode_all(decoder: &mut FrameDecoder, bytes: &[u8]) -> Result<Vec<Decoded>, Violation> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    let mut needed = 0;
    while let Some(decoded) = decoder.decode(&mut buf, &LIMITS, &mut needed)? {
        out.push(decoded);
    }
    Ok(out)
}

fn status_of(result: Result<Vec<Decoded>, Violation>) -> u16 {
    result.expect_err("a violation").status.code()
}

#[test]
fn unfragmented_text_and_binary() {
    let mut d = FrameDecoder::default();
    let mut bytes = frame(0x81, b"hello");
    bytes.extend(frame(0x82, &[0, 1, 2]));
    assert_eq!(
        decode_all(&mut d, &bytes).unwrap(),
        vec![Decoded::Message(Message::text("hello")), Decoded::Message(Message::binary(vec![0, 1, 2]))]
    );
}

#[test]
fn fragments_are_reassembled_around_control_frames() {
    let mut d = FrameDecoder::default();
    let mut bytes = frame(0x01, "hé".as_bytes());
    bytes.extend(frame(0x89, b"p"));
    bytes.extend(frame(0x80, "llo".as_bytes()));
    assert_eq!(
        decode_all(&mut d, &bytes).unwrap(),
        vec![Decoded::Ping(Bytes::from_static(b"p")), Decoded::Message(Message::text("héllo"))]
    );
}

#[test]
fn a_character_split_across_fragments_is_valid() {
    let euro = "€".as_bytes();
    let mut d = FrameDecoder::default();
    let mut bytes = frame(0x01, &euro[..1]);
    bytes.extend(frame(0x80, &euro[1..]));
    assert_eq!(decode_all(&mut d, &bytes).unwrap(), vec![Decoded::Message(Message::text("€"))]);
}

#[test]
fn partial_delivery_keeps_characters_whole() {
    let euro = "a€".as_bytes();
    let mut d = FrameDecoder::new(true);
    let mut bytes = frame(0x01, &euro[..2]);
    bytes.extend(frame(0x80, &euro[2..]));
    assert_eq!(
        decode_all(&mut d, &bytes).unwrap(),
        vec![Decoded::Fragment(Message::text("a"), false), Decoded::Fragment(Message::text("€"), true)]
    );
}

#[test]
fn invalid_utf8_fails_fast_with_1007() {
    let mut d = FrameDecoder::default();
    // The first fragment is already invalid: no need to wait for the rest.
    assert_eq!(status_of(decode_all(&mut d, &frame(0x01, b"\xce\xba\xff"))), 1007);
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x81, b"\xed\xa0\x80"))), 1007);
    // A message that ends mid-character.
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x81, b"\xe2\x82"))), 1007);
}

#[test]
fn protocol_violations_close_with_1002() {
    let unmasked = vec![0x81, 0x01, b'a'];
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &unmasked)), 1002);
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x83, b""))), 1002); // opcode 3
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x8b, b""))), 1002); // opcode 11
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0xc1, b"a"))), 1002); // rsv1
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x09, b""))), 1002); // fragmented ping
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x89, &[0; 126]))), 1002);
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x80, b"a"))), 1002); // stray continuation
    let mut twice = frame(0x01, b"a");
    twice.extend(frame(0x81, b"b"));
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &twice)), 1002);
}

#[test]
fn close_frames_are_validated() {
    let ok = |payload: &[u8]| decode_all(&mut FrameDecoder::default(), &frame(0x88, payload));
    assert_eq!(ok(b"").unwrap(), vec![Decoded::Close(None)]);
    assert_eq!(
        ok(&[0x03, 0xe8, b'o', b'k']).unwrap(),
        vec![Decoded::Close(Some(CloseStatus::NORMAL.with_reason("ok")))]
    );
    assert_eq!(status_of(ok(&[0x03])), 1002);
    assert!(ok(&[0x03]).unwrap_err().in_close_frame);
    assert_eq!(status_of(ok(&1005u16.to_be_bytes())), 1002);
    assert_eq!(status_of(ok(&999u16.to_be_bytes())), 1002);
    assert_eq!(status_of(ok(&[0x03, 0xe8, 0xff])), 1007);
}

#[test]
fn oversized_frames_fail_from_the_header_alone() {
    // A header announcing 2^63 bytes: rejected before any payload is buffered.
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 63).to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &header)), 1009);

    let small = DecoderLimits { max_frame_size: 100, max_text_message_size: 150, max_binary_message_size: 150 };
    let mut d = FrameDecoder::default();
    let mut buf = BytesMut::from(&frame(0x02, &[0; 100])[..]);
    buf.extend_from_slice(&frame(0x80, &[0; 60]));
    let mut needed = 0;
    // The first fragment fits; the second would take the message past 150 bytes.
    let err = d.decode(&mut buf, &small, &mut needed).unwrap_err();
    assert_eq!(err.status.code(), 1009);
    assert!(err.status.reason().contains("limit of 150"), "{:?}", err.status);
}

fn deflating() -> FrameDecoder {
    let direction = Direction { no_context_takeover: false, max_window_bits: 15 };
    FrameDecoder::default().with_inflater(Some(Inflater::new(direction)))
}

fn compressed(payload: &[u8]) -> Bytes {
    let direction = Direction { no_context_takeover: false, max_window_bits: 15 };
    Deflater::new(direction, 6, 0).compress(payload).expect("compressible")
}

#[test]
fn rsv1_marks_a_compressed_message_once_negotiated() {
    let text = "héllo ".repeat(40);
    let data = compressed(text.as_bytes());
    let mut bytes = frame(0xc1, &data); // FIN + RSV1 + text
    bytes.extend(frame(0x81, b"plain")); // uncompressed messages stay allowed
    assert_eq!(
        decode_all(&mut deflating(), &bytes).unwrap(),
        vec![Decoded::Message(Message::text(text)), Decoded::Message(Message::text("plain"))]
    );
}

#[test]
fn a_compressed_message_may_be_split_anywhere() {
    let text = "a€b".repeat(100);
    let data = compressed(text.as_bytes());
    let (first, rest) = data.split_at(3);
    let (second, third) = rest.split_at(rest.len() / 2);
    let mut bytes = frame(0x41, first); // RSV1 + text, not final
    bytes.extend(frame(0x89, b"p"));
    bytes.extend(frame(0x00, second));
    bytes.extend(frame(0x80, third));
    assert_eq!(
        decode_all(&mut deflating(), &bytes).unwrap(),
        vec![Decoded::Ping(Bytes::from_static(b"p")), Decoded::Message(Message::text(text.clone()))]
    );
    // Partial delivery: each frame's inflated bytes, characters kept whole.
    let mut d = FrameDecoder::new(true).with_inflater(deflating().inflater.map(|inflater| *inflater));
    let mut bytes = frame(0x41, first);
    bytes.extend(frame(0x00, second));
    bytes.extend(frame(0x80, third));
    let joined: String = decode_all(&mut d, &bytes)
        .unwrap()
        .into_iter()
        .map(|decoded| match decoded {
            Decoded::Fragment(Message::Text(t), _) => t.as_str().to_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(joined, text);
}

#[test]
fn an_inflated_message_holds_no_spare_memory() {
    let text = "small chat message ".repeat(5);
    let mut buf = BytesMut::from(&frame(0xc1, &compressed(text.as_bytes()))[..]);
    let Some(Decoded::Message(Message::Text(got))) = deflating().decode(&mut buf, &LIMITS, &mut 0).unwrap() else {
        panic!("a text message");
    };
    assert_eq!(got.as_str(), text);
    // The Bytes owns exactly the message: converting back to a Vec reuses it.
    let bytes = got.into_bytes();
    assert_eq!(Vec::from(bytes).capacity(), text.len());
}

#[test]
fn rsv1_is_a_protocol_error_where_rfc_7692_forbids_it() {
    // Not negotiated.
    assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0xc1, b"a"))), 1002);
    // On a control frame, and on a continuation frame.
    assert_eq!(status_of(decode_all(&mut deflating(), &frame(0xc9, b""))), 1002);
    let mut bytes = frame(0x41, &compressed(b"hello hello hello")[..2]);
    bytes.extend(frame(0xc0, b""));
    let err = decode_all(&mut deflating(), &bytes).unwrap_err();
    assert_eq!(err.status.code(), 1002);
    assert!(err.status.reason().contains("continuation"), "{:?}", err.status);
    // RSV2 and RSV3 mean nothing with permessage-deflate.
    assert_eq!(status_of(decode_all(&mut deflating(), &frame(0xa1, b"a"))), 1002);
}

#[test]
fn inflating_past_the_limit_is_1009_and_garbage_is_1007() {
    let bomb = compressed(&vec![b'x'; 1 << 20]);
    let small = DecoderLimits { max_frame_size: 1 << 20, max_text_message_size: 1000, max_binary_message_size: 1000 };
    let mut buf = BytesMut::from(&frame(0xc1, &bomb)[..]);
    let err = deflating().decode(&mut buf, &small, &mut 0).unwrap_err();
    assert_eq!(err.status.code(), 1009);
    assert!(err.status.reason().contains("inflates past the limit of 1000"), "{:?}", err.status);
    // Invalid UTF-8 inside the compressed data is still 1007, and so is garbage.
    assert_eq!(status_of(decode_all(&mut deflating(), &frame(0xc1, &compressed(b"\xff\xfe\xfd")))), 1007);
    assert_eq!(status_of(decode_all(&mut deflating(), &frame(0xc1, &[0xff, 0xff]))), 1007);
}

#[test]
fn incomplete_frames_ask_for_exactly_what_is_missing() {
    let bytes = frame(0x82, &[7; 300]);
    let mut buf = BytesMut::from(&bytes[..100]);
    let mut needed = 0;
    assert_eq!(FrameDecoder::default().decode(&mut buf, &LIMITS, &mut needed).unwrap(), None);
    assert_eq!(needed, bytes.len());
    assert_eq!(buf.len(), 100, "nothing consumed");
}

fn binary_payload(decoded: Option<Decoded>) -> Bytes {
    match decoded {
        Some(Decoded::Message(Message::Binary(bytes))) => bytes,
        other => panic!("expected a binary message, got {other:?}"),
    }
}

#[test]
fn a_small_message_kept_by_the_app_does_not_keep_the_read_buffer() {
    let mut d = FrameDecoder::default();
    let mut buf = BytesMut::with_capacity(4096);
    buf.extend_from_slice(&frame(0x82, b"kept"));
    let storage = buf.as_ptr();
    let kept = binary_payload(d.decode(&mut buf, &LIMITS, &mut 0).unwrap());
    assert!(buf.is_empty());
    // The next read reserves room again: in place, not in a new allocation.
    buf.reserve(4096);
    assert_eq!(buf.as_ptr(), storage, "the read buffer is reused while the message is kept");
    assert_eq!(&kept[..], b"kept");
}

#[test]
fn a_large_message_is_handed_over_without_a_copy() {
    let mut d = FrameDecoder::default();
    let payload = vec![7u8; COPY_LIMIT + 1];
    let mut buf = BytesMut::with_capacity(8192);
    buf.extend_from_slice(&frame(0x82, &payload));
    let storage = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.capacity();
    let message = binary_payload(d.decode(&mut buf, &LIMITS, &mut 0).unwrap());
    assert!(storage.contains(&(message.as_ptr() as usize)), "the payload is a slice of the read buffer");
    assert_eq!(message, payload);
}
