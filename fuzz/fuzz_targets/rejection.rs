//! An interceptor's rejection with arbitrary status, header and body: the
//! response must stay well-formed (see `wsboot::__fuzz::rejection`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsboot::__fuzz::rejection(data));
