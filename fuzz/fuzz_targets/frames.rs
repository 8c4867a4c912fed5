//! Arbitrary bytes as client frames after the handshake, read in arbitrary
//! pieces (see `wsboot::__fuzz::frames`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsboot::__fuzz::frames(data));
