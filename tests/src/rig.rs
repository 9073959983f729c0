//! The XDP program loaded with the corpus configuration, running one frame at a time through
//! BPF_PROG_TEST_RUN and reporting everything the run changed: verdict, counters, events.

use anyhow::Result;
use vrrp_common::{AdvertEvent, InstanceKey, InstanceRecord};
use vrrp_user::xdp::{Counters, XdpDatapath};

use crate::{corpus, test_run, xdp::changed};

pub struct Rig {
    pub datapath: XdpDatapath,
    /// Counters after the previous run, so each run reads them once.
    counters: Counters,
}

/// What one run of one frame did.
#[derive(Debug)]
pub struct Outcome {
    pub action: u32,
    /// Average nanoseconds per repetition, as the kernel measured it.
    pub duration_ns: u32,
    /// Counters that moved, by name, and by how much.
    pub counted: Vec<(&'static str, u64)>,
    /// Events queued by the run, drained.
    pub events: Vec<AdvertEvent>,
}

impl Rig {
    /// A fresh program and maps (nothing recorded yet), configured by [`corpus::configure`].
    pub fn load(extra_flags: u8) -> Result<Self> {
        let mut datapath = XdpDatapath::load(None)?;
        corpus::configure(&mut datapath, extra_flags)?;
        let counters = datapath.counters()?;
        Ok(Self { datapath, counters })
    }

    pub fn run(&mut self, frame: &[u8]) -> Result<Outcome> {
        self.run_repeated(frame, 1)
    }

    /// Runs `frame` `repeat` times in one test run.
    pub fn run_repeated(&mut self, frame: &[u8], repeat: u32) -> Result<Outcome> {
        let result = test_run::run(self.datapath.program()?.fd()?, frame, corpus::IFINDEX, repeat)?;
        let counters = self.datapath.counters()?;
        let counted = changed(&self.counters, &counters);
        self.counters = counters;
        let events = std::iter::from_fn(|| self.datapath.next_event()).collect();
        Ok(Outcome { action: result.action, duration_ns: result.duration_ns, counted, events })
    }

    pub fn record(&self, key: &InstanceKey) -> Result<Option<InstanceRecord>> {
        self.datapath.record(key)
    }
}

/// The resolution of CLOCK_MONOTONIC_COARSE, which is the kernel's tick (TICK_NSEC).
pub fn coarse_clock_resolution() -> std::time::Duration {
    let mut resolution = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_getres writes the timespec it is given.
    let status = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &raw mut resolution) };
    assert_eq!(status, 0, "clock_getres(CLOCK_MONOTONIC_COARSE)");
    std::time::Duration::new(resolution.tv_sec as u64, resolution.tv_nsec as u32)
}
