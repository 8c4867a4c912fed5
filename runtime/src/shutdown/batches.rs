//! When each session closes during a drain: the `n` sessions open when it
//! starts are shared out in `ceil(n / max_batch)` batches as equal as they can
//! be (so none exceeds `max_batch`), batch `i` closing `i × period / batches`
//! after the start. The first batch closes at once and the last one a batch
//! interval before the period ends, so every close frame is sent within it.

use std::time::Duration;

/// How many sessions each batch of a drain closes, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Batches {
    sessions: usize,
    batches: usize,
    period: Duration,
}

impl Batches {
    /// The batches closing `sessions` at most `max_batch` at a time over
    /// `period`. No session at all is still one (empty) batch: the drain's
    /// last-batch steps run once either way.
    pub(super) fn new(sessions: usize, max_batch: usize, period: Duration) -> Self {
        let batches = sessions.div_ceil(max_batch.max(1)).max(1);
        Batches { sessions, batches, period }
    }

    /// The number of batches.
    pub(super) fn count(&self) -> usize {
        self.batches
    }

    /// The number of sessions in batch `index`: the larger ones first.
    pub(super) fn size(&self, index: usize) -> usize {
        let (base, larger) = (self.sessions / self.batches, self.sessions % self.batches);
        base + usize::from(index < larger)
    }

    /// When batch `index` closes, from the start of the drain.
    pub(super) fn offset(&self, index: usize) -> Duration {
        // In nanoseconds, exactly: `Duration / u32` would cap the batch count.
        let nanos = self.period.as_nanos() * index as u128 / self.batches as u128;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(batches: &Batches) -> Vec<usize> {
        (0..batches.count()).map(|i| batches.size(i)).collect()
    }

    #[test]
    fn sessions_are_shared_in_equal_batches_no_larger_than_the_maximum() {
        let period = Duration::from_secs(2);
        assert_eq!(sizes(&Batches::new(1000, 100, period)), [100; 10]);
        assert_eq!(sizes(&Batches::new(101, 100, period)), [51, 50]);
        assert_eq!(sizes(&Batches::new(7, 100, period)), [7]);
        assert_eq!(sizes(&Batches::new(0, 100, period)), [0]);
        for sessions in [1, 99, 100, 101, 999, 1001, 12_345] {
            let batches = Batches::new(sessions, 100, period);
            let sizes = sizes(&batches);
            assert_eq!(sizes.iter().sum::<usize>(), sessions);
            assert!(sizes.iter().all(|size| *size <= 100), "{sessions}: {sizes:?}");
            assert_eq!(batches.count(), sessions.div_ceil(100));
        }
    }

    #[test]
    fn batches_are_evenly_spaced_from_the_start_to_within_the_period() {
        let batches = Batches::new(1000, 100, Duration::from_secs(2));
        let offsets: Vec<u128> = (0..batches.count()).map(|i| batches.offset(i).as_millis()).collect();
        assert_eq!(offsets, [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
        // A zero period closes everything at once.
        let at_once = Batches::new(1000, 100, Duration::ZERO);
        assert!((0..at_once.count()).all(|i| at_once.offset(i).is_zero()));
        // More batches than a `u32` counts, over a long period, stay exact.
        let many = Batches::new(usize::MAX / 2, 1, Duration::from_secs(3600));
        assert!(many.offset(many.count() - 1) < Duration::from_secs(3600));
    }
}
