//! Resynchronisation after the XDP event ring overflowed: the program counts each event it
//! could not queue (`event_lost`) and still updates the instance's record, so after a loss
//! the daemon gives every instance its record's advertisement (the newest one the kernel
//! saw), even one stamped in the same tick as an event already delivered.
//!
//! The ring reader reads the counter each time it has drained the ring, and reports new
//! losses after the events it forwarded, so the records come after every event queued before
//! them.

use std::time::{Duration, Instant};

use crate::daemon::Daemon;

/// At most one log line per this long: a sender on the segment can make the ring overflow.
const LOG_PERIOD: Duration = Duration::from_secs(10);

/// Follows the kernel's `event_lost` total.
#[derive(Debug, Default)]
pub struct LossWatch {
    seen: u64,
}

impl LossWatch {
    /// Events lost since the previous reading of `total`. A total below the last one (the
    /// counters were recreated) counts from zero.
    pub fn observe(&mut self, total: u64) -> u64 {
        let lost = if total >= self.seen { total - self.seen } else { total };
        self.seen = total;
        lost
    }
}

/// Losses not yet logged, and when the last line was written.
#[derive(Debug, Default)]
pub struct LossLog {
    unlogged: u64,
    last: Option<Instant>,
}

impl LossLog {
    /// Adds `lost`; returns the count to log now, if a line is due.
    pub fn add(&mut self, lost: u64, now: Instant) -> Option<u64> {
        self.unlogged += lost;
        if self.unlogged == 0 || self.last.is_some_and(|last| now < last + LOG_PERIOD) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

impl Daemon {
    /// `lost` events never reached the daemon: every instance takes its record again.
    pub(crate) fn resync_records(&mut self, lost: u64) {
        crate::recovery::count(crate::recovery::Event::RingResync);
        if let Some(count) = self.ring_loss_log.add(lost, Instant::now()) {
            log::warn!(
                "the XDP event ring overflowed: {count} events lost; every instance's record \
                 is read again"
            );
        }
        let ids: Vec<_> = self.io.iter().map(|(id, _)| *id).collect();
        for id in ids {
            self.deliver_record(id, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_are_counted_from_the_previous_reading() {
        let mut watch = LossWatch::default();
        assert_eq!(watch.observe(0), 0);
        assert_eq!(watch.observe(1000), 1000);
        assert_eq!(watch.observe(1000), 0);
        assert_eq!(watch.observe(1500), 500);
        // New counters (a reload does not make them, a restart does): from zero again.
        assert_eq!(watch.observe(20), 20);
    }

    #[test]
    fn loss_lines_are_at_most_one_per_period_and_carry_the_sum() {
        let mut log = LossLog::default();
        let start = Instant::now();
        assert_eq!(log.add(0, start), None);
        assert_eq!(log.add(5, start), Some(5));
        assert_eq!(log.add(7, start + Duration::from_secs(1)), None);
        assert_eq!(log.add(3, start + Duration::from_secs(9)), None);
        assert_eq!(log.add(0, start + LOG_PERIOD), Some(10));
        assert_eq!(log.add(0, start + LOG_PERIOD * 3), None);
    }
}
