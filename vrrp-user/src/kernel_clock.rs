//! The kernel's tick clock (jiffies), in which the XDP program stamps records and events.
//!
//! Reading jiffies in the program is one inlined load, where any clock helper is a call; the
//! price is paid here, where it is rare: the daemon learns the current tick by running
//! `vrrp_clock` (BPF_PROG_TEST_RUN, about a microsecond) when it needs the age of a stamp, at
//! a master-down check or when an event arrives.
//!
//! The tick's length (1 / CONFIG_HZ) is not published to user space. `times(2)` returns the
//! same jiffies counter, scaled to USER_HZ (100 per second) by `jiffies_64_to_clock_t`:
//! `jiffies * TICK_NSEC / 10 ms`. Both count from the same origin, 2^32 / HZ - 300 s before
//! boot, so one reading of each gives the tick length to a part in 10^9 at any uptime.

use std::{
    os::fd::{AsFd, OwnedFd},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::test_run;

/// What `times(2)` counts in: USER_HZ ticks of 10 ms.
const USER_TICK_NS: f64 = 10_000_000.0;
/// A frame long enough for a test run (an Ethernet header) and for the eight bytes written.
const FRAME_LEN: usize = 64;

/// The kernel's tick clock, through a loaded `vrrp_clock` program.
#[derive(Debug)]
pub struct KernelClock {
    program: OwnedFd,
    tick: Duration,
}

impl KernelClock {
    /// Takes a descriptor of the loaded `vrrp_clock` program and measures the tick's length.
    pub fn new(program: OwnedFd) -> Result<Self> {
        let jiffies = read_jiffies(&program)?;
        let mut usage = libc::tms { tms_utime: 0, tms_stime: 0, tms_cutime: 0, tms_cstime: 0 };
        // SAFETY: times writes into the struct it is given.
        let user_ticks = unsafe { libc::times(&raw mut usage) };
        if user_ticks == -1 as libc::clock_t {
            bail!("times(2): {}", std::io::Error::last_os_error());
        }
        let tick = tick_of(jiffies, user_ticks as u64).with_context(|| {
            format!("the kernel's tick length from jiffies {jiffies} and times() {user_ticks}")
        })?;
        Ok(Self { program, tick })
    }

    /// The length of a tick (1 / CONFIG_HZ).
    pub fn tick(&self) -> Duration {
        self.tick
    }

    /// The current jiffies.
    pub fn jiffies(&self) -> Result<u64> {
        read_jiffies(&self.program)
    }

    /// When tick `jiffies` was current, within a tick.
    pub fn instant_of(&self, jiffies: u64) -> Result<Instant> {
        let now = self.jiffies()?;
        Ok(instant_of(jiffies, now, Instant::now(), self.tick))
    }
}

fn read_jiffies(program: impl AsFd) -> Result<u64> {
    let run = test_run::run(program, &[0; FRAME_LEN], 0, 1).context("running vrrp_clock")?;
    let Some(bytes) = run.frame_out.first_chunk::<8>() else {
        bail!("vrrp_clock returned a frame of {} bytes", run.frame_out.len());
    };
    Ok(u64::from_ne_bytes(*bytes))
}

/// The tick length from one reading of jiffies and one of `times(2)`: `user_ticks` is
/// `jiffies * tick / 10 ms` rounded down, both counted from before boot, so their ratio gives
/// the tick to well under a nanosecond. `None` unless the tick is between 0.1 ms and 0.1 s
/// (CONFIG_HZ from 10 to 10000).
fn tick_of(jiffies: u64, user_ticks: u64) -> Option<Duration> {
    if jiffies == 0 {
        return None;
    }
    let tick_ns = (USER_TICK_NS * user_ticks as f64 / jiffies as f64).round() as u64;
    (100_000..=100_000_000).contains(&tick_ns).then(|| Duration::from_nanos(tick_ns))
}

/// The instant at which tick `then` was current, knowing that tick `now` is current at `at`.
/// A stamp from after `now` (a race with the reading) counts as current.
fn instant_of(then: u64, now: u64, at: Instant, tick: Duration) -> Instant {
    let ticks = now.saturating_sub(then);
    let ago = tick.saturating_mul(u32::try_from(ticks).unwrap_or(u32::MAX));
    at.checked_sub(ago).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `times(2)` returns for `jiffies` on a kernel with `hz` ticks per second
    /// (`jiffies_64_to_clock_t`), and the jiffies at `uptime` seconds (`INITIAL_JIFFIES` on 64-bit).
    fn kernel(hz: u64, uptime_s: u64) -> (u64, u64) {
        let tick_ns = (1_000_000_000 + hz / 2) / hz;
        let initial_jiffies = u64::from((-300i64 * hz as i64) as u32);
        let jiffies = initial_jiffies + uptime_s * hz;
        let user_ticks = if tick_ns.is_multiple_of(10_000_000) {
            jiffies * (tick_ns / 10_000_000)
        } else if 10_000_000u64.is_multiple_of(tick_ns) {
            jiffies / (10_000_000 / tick_ns)
        } else {
            jiffies * tick_ns / 10_000_000
        };
        (jiffies, user_ticks)
    }

    #[test]
    fn the_tick_comes_out_exact_for_every_usual_hz_at_any_uptime() {
        for hz in [24, 48, 100, 250, 300, 1000, 1024] {
            let tick_ns = (1_000_000_000 + hz / 2) / hz;
            for uptime_s in [0, 1, 299, 300, 301, 86_400, 400 * 86_400] {
                let (jiffies, user_ticks) = kernel(hz, uptime_s);
                assert_eq!(
                    tick_of(jiffies, user_ticks),
                    Some(Duration::from_nanos(tick_ns)),
                    "HZ {hz}, uptime {uptime_s} s"
                );
            }
        }
    }

    #[test]
    fn readings_that_cannot_be_a_tick_are_refused() {
        assert_eq!(tick_of(0, 100), None);
        assert_eq!(tick_of(1_000_000, 1), None, "a 10 ns tick");
        assert_eq!(tick_of(1, 1_000_000), None, "a tick of hours");
    }

    #[test]
    fn a_stamp_is_dated_back_by_whole_ticks() {
        let at = Instant::now() + Duration::from_secs(100);
        let tick = Duration::from_millis(4);
        assert_eq!(instant_of(1_000, 1_000, at, tick), at, "the current tick");
        assert_eq!(instant_of(750, 1_000, at, tick), at - Duration::from_secs(1));
        assert_eq!(instant_of(1_001, 1_000, at, tick), at, "a stamp after the reading");
    }
}
