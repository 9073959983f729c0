//! SplitMix64: a tiny seedable generator for the randomised tests (packet mutations, LAN
//! schedules). One copy, included by path by vrrp-proto's tests and by the XDP differential
//! test, so a seed means the same sequence everywhere.

// Each test binary that includes this file uses only some of the methods.
#![allow(dead_code)]

use std::time::Duration;

pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (bound > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    pub fn one_in(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn percent(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Uniform in `0..=max`, to the nanosecond.
    pub fn duration(&mut self, max: Duration) -> Duration {
        Duration::from_nanos(self.next() % (max.as_nanos() as u64 + 1))
    }
}
