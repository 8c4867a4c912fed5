//! Arbitrary bytes as an HTTP request, read in arbitrary pieces: head parsing,
//! routing and the upgrade checks (see `wsboot::__fuzz::handshake`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsboot::__fuzz::handshake(data));
