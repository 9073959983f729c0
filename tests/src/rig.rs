//! The kernel programs loaded with the corpus configuration, running one frame at a time at one
//! hook through BPF_PROG_TEST_RUN and reporting everything the run changed: verdict, counters,
//! events.

use anyhow::{bail, Result};
use vrrp_common::{AdvertEvent, InstanceKey, InstanceRecord};
use vrrp_user::{
    hook::Hook,
    xdp::{Counters, XdpDatapath},
};

use crate::{corpus, test_run, xdp::changed};

pub struct Rig {
    pub datapath: XdpDatapath,
    /// The program that runs: `vrrp_xdp` or `vrrp_tc` (same rules, same maps).
    pub hook: Hook,
    /// Counters after the previous run, so each run reads them once.
    counters: Counters,
}

/// What one run of one frame did.
#[derive(Debug)]
pub struct Outcome {
    /// The verdict in XDP's terms whichever hook ran (`XDP_PASS`, `XDP_DROP`), so one
    /// expectation serves both programs; `returned` is what the program really returned.
    pub action: u32,
    pub returned: u32,
    /// Average nanoseconds per repetition, as the kernel measured it.
    pub duration_ns: u32,
    /// Counters that moved, by name, and by how much.
    pub counted: Vec<(&'static str, u64)>,
    /// Events queued by the run, drained.
    pub events: Vec<AdvertEvent>,
}

impl Rig {
    /// A fresh program and maps (nothing recorded yet), configured by [`corpus::configure`].
    pub fn load(hook: Hook, extra_flags: u8) -> Result<Self> {
        let mut datapath = XdpDatapath::load(None)?;
        corpus::configure(&mut datapath, extra_flags)?;
        let counters = datapath.counters()?;
        Ok(Self { datapath, hook, counters })
    }

    pub fn run(&mut self, frame: &[u8]) -> Result<Outcome> {
        self.run_repeated(frame, 1)
    }

    /// Runs `frame` `repeat` times in one test run.
    pub fn run_repeated(&mut self, frame: &[u8], repeat: u32) -> Result<Outcome> {
        let result = self.test_run(frame, repeat)?;
        let action = match (self.hook, result.action) {
            (Hook::Xdp, action) => action,
            (Hook::Tcx, test_run::TC_ACT_UNSPEC) => test_run::XDP_PASS,
            (Hook::Tcx, test_run::TC_ACT_SHOT) => test_run::XDP_DROP,
            (Hook::Tcx, other) => bail!("vrrp_tc returned {other}, neither UNSPEC nor SHOT"),
        };
        let counters = self.datapath.counters()?;
        let counted = changed(&self.counters, &counters);
        self.counters = counters;
        let events = std::iter::from_fn(|| self.datapath.next_event()).collect();
        Ok(Outcome {
            action,
            returned: result.action,
            duration_ns: result.duration_ns,
            counted,
            events,
        })
    }

    /// One test run of the hook's program, nothing read back.
    pub fn test_run(&mut self, frame: &[u8], repeat: u32) -> Result<test_run::RunResult> {
        match self.hook {
            Hook::Xdp => {
                test_run::run(self.datapath.program()?.fd()?, frame, corpus::IFINDEX, repeat)
            }
            Hook::Tcx => {
                test_run::run_skb(self.datapath.tc_program()?.fd()?, frame, corpus::IFINDEX, repeat)
            }
        }
    }

    pub fn record(&self, key: &InstanceKey) -> Result<Option<InstanceRecord>> {
        self.datapath.record(key)
    }
}

/// Whether the kernel refuses to build an skb around `frame` for a tc test run (EINVAL): it
/// wants the whole network header that the frame's EtherType announces (IPv4, IPv6). XDP's test
/// run takes such frames; a real receive hands them to tc too, where the rules pass them
/// unclassified as they do at XDP.
pub fn skb_test_run_refuses(frame: &[u8]) -> bool {
    const ETH_HLEN: usize = 14;
    let Some(ethertype) = frame.get(12..ETH_HLEN) else { return true };
    let network_header = match u16::from_be_bytes([ethertype[0], ethertype[1]]) {
        0x0800 => 20,
        0x86dd => 40,
        _ => 0,
    };
    frame.len() < ETH_HLEN + network_header
}

/// The resolution of CLOCK_MONOTONIC_COARSE, which is the kernel's tick (TICK_NSEC).
pub fn coarse_clock_resolution() -> std::time::Duration {
    let mut resolution = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_getres writes the timespec it is given.
    let status = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &raw mut resolution) };
    assert_eq!(status, 0, "clock_getres(CLOCK_MONOTONIC_COARSE)");
    std::time::Duration::new(resolution.tv_sec as u64, resolution.tv_nsec as u32)
}
