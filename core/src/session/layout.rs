//! Where a session's hot fields sit in its cache lines (see [`SessionInner`]).

use std::mem::{offset_of, size_of};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock};

use super::{DeliveryRewrite, RouteSettings, SessionInner};
use crate::outbound::HOT_OFFSETS;

/// What an `Arc` keeps before its value: the strong and weak counts.
const ARC_COUNTS: usize = 2 * size_of::<usize>();

/// The cache lines (of 64 bytes, counted from the start of the `Arc`'s
/// allocation) that `len` bytes at `offset` in the session's state span.
fn lines(offset: usize, len: usize) -> std::ops::RangeInclusive<usize> {
    let start = ARC_COUNTS + offset;
    start / 64..=(start + len - 1) / 64
}

#[test]
fn an_echo_reads_the_first_line_and_the_queue_in_the_next_two() {
    let word = size_of::<AtomicUsize>();
    assert_eq!(lines(offset_of!(SessionInner, route), size_of::<Arc<RouteSettings>>()), 0..=0);
    assert_eq!(lines(offset_of!(SessionInner, text_limit), word), 0..=0);
    assert_eq!(lines(offset_of!(SessionInner, binary_limit), word), 0..=0);
    let outbound = offset_of!(SessionInner, outbound);
    let [state, writer, signal] = HOT_OFFSETS.map(|(offset, len)| lines(outbound + offset, len));
    assert_eq!(state, 1..=1, "the queue's lock and items");
    assert_eq!(writer, 2..=2, "the writer's waker");
    assert_eq!(signal, 2..=2, "the queue's signal");
}

#[test]
fn a_publish_to_a_resting_session_touches_two_lines() {
    let rewrite = lines(offset_of!(SessionInner, rewrite), size_of::<OnceLock<Box<DeliveryRewrite>>>());
    assert_eq!(rewrite, 2..=2, "the rewrite, looked up by every delivery");
    assert!(ARC_COUNTS + size_of::<SessionInner>() <= 256, "within mimalloc's 256-byte class");
}
