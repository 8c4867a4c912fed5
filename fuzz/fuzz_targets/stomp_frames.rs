//! Arbitrary bytes as a STOMP client's frames, in two pieces split where the
//! first byte says, through `wsboot_stomp::Decoder` with small limits: it must
//! never panic nor buffer past its limits, and every frame it reads (but a
//! CONNECT's, whose headers are not escaped) must read back the same once
//! written.
#![no_main]

use wsboot_stomp::{Command, Decoder, Limits, Version};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let limits = Limits { max_frame_bytes: 4096, max_headers: 16, max_header_bytes: 512 };
    let mut decoder = Decoder::new(limits);
    let at = usize::from(split) % (rest.len() + 1);
    for piece in [&rest[..at], &rest[at..]] {
        decoder.push(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    if matches!(frame.command, Command::Connect | Command::Connected) {
                        continue;
                    }
                    let mut again = Decoder::new(Limits { max_frame_bytes: 1 << 20, max_headers: 64, max_header_bytes: 1 << 16 });
                    again.push(&frame.encode(Version::V1_2));
                    let back = again.next_frame().expect("what was written reads back").expect("a whole frame");
                    // Writing adds a content-length when there was none.
                    let headers = |f: &wsboot_stomp::Frame| {
                        f.headers().filter(|(n, _)| *n != "content-length").map(|(n, v)| (n.to_owned(), v.to_owned())).collect::<Vec<_>>()
                    };
                    assert_eq!((back.command, &back.body, headers(&back)), (frame.command, &frame.body, headers(&frame)));
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
