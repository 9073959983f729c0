//! The protocol loop's scheduling and memory: `vrrp_rt_priority`, `vrrp_rlimit_rttime`,
//! `vrrp_priority` and `vrrp_no_swap`, as keepalived sets them for its VRRP process
//! (lib/process.c set_process_priorities(), reset_process_priorities()), so that a busy host
//! cannot starve a master past its peers' Master_Down_Interval.
//!
//! The settings belong to the loop's thread, the one the daemon runs on: the policy and the
//! nice value are per thread on Linux, and SCHED_RESET_ON_FORK gives every later thread and
//! every script the normal policy and a nice value of at least 0, so a reload's parse, a
//! blocking task or a script never runs realtime. keepalived sets the same flag with SCHED_RR;
//! with a negative `vrrp_priority` alone its scripts inherit the nice value, here they start at
//! 0. The memory lock and RLIMIT_RTTIME are the process's. keepalived also touches 4 KiB of
//! stack after mlockall (lib/process.c set_process_dont_swap()); the loop's stack is in use
//! long before, and MCL_ONFAULT locks the rest as it is used.
//!
//! keepalived logs a failure and runs on (a container without CAP_SYS_NICE, say); so does
//! vrrpd, with a hint, since the systemd unit forbids realtime until a drop-in allows it.

use std::time::{Duration, Instant};

use vrrp_config::Scheduling;

use crate::privileges::{ProcCaps, CAP_IPC_LOCK};

/// What the systemd unit needs for these settings.
const UNIT_HINT: &str = "under systemd, vrrpd.service needs the drop-in its comments give for \
                         vrrp_rt_priority";
/// SIGXCPU is logged at most this often (the kernel sends it every second past the soft limit).
const XCPU_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What has been applied to the loop's thread and the process.
#[derive(Debug)]
pub struct Applied {
    /// The nice value the daemon was started with, which unset `vrrp_priority` means.
    started_nice: i32,
    nice: i32,
    /// The SCHED_RR priority in force, if any.
    realtime: Option<u8>,
    /// RLIMIT_RTTIME's hard limit as set, if set.
    rttime_us: Option<u32>,
    locked: bool,
    /// SIGXCPU is handled (by a task that lives as long as the runtime).
    xcpu_handled: bool,
}

impl Applied {
    /// The thread as it is now, before any setting.
    pub fn of_this_thread() -> Self {
        let nice = current_nice();
        Self {
            started_nice: nice,
            nice,
            realtime: None,
            rttime_us: None,
            locked: false,
            xcpu_handled: false,
        }
    }

    /// Brings the thread and the process to `wanted`; each setting that fails is logged and
    /// the daemon runs on without it, as keepalived does.
    pub fn apply(&mut self, wanted: &Scheduling) {
        match wanted.realtime_priority {
            Some(priority) => self.run_realtime(priority, wanted.rlimit_rttime_us),
            None => self.run_normal(log::Level::Info),
        }
        // keepalived sets the nice value only without a realtime priority, where it counts.
        let nice = match wanted.realtime_priority {
            Some(_) => self.started_nice,
            None => wanted.nice.map_or(self.started_nice, i32::from),
        };
        self.set_nice(nice);
        self.lock_memory(wanted.no_swap);
    }

    /// keepalived vrrp_daemon.c reload_vrrp_thread(): standard scheduling while reloading, so
    /// that the work of a large reload cannot reach RLIMIT_RTTIME; [`Applied::apply`] after it
    /// brings the running configuration's back.
    pub fn relax_for_reload(&mut self) {
        self.run_normal(log::Level::Debug);
    }

    fn run_realtime(&mut self, priority: u8, rttime_us: u32) {
        if !self.xcpu_handled {
            // Before the limit: SIGXCPU's default action ends the process.
            if let Err(error) = watch_xcpu() {
                log::warn!("vrrp_rt_priority not applied: cannot handle SIGXCPU: {error}");
                return;
            }
            self.xcpu_handled = true;
        }
        if self.rttime_us != Some(rttime_us) {
            // SIGXCPU at half, SIGKILL at the whole (keepalived lib/process.c
            // set_process_priorities()). The limit counts for realtime threads only, so it stays
            // when the policy goes back to normal: raising a hard limit again would need
            // CAP_SYS_RESOURCE.
            let limit = libc::rlimit {
                rlim_cur: libc::rlim_t::from(rttime_us / 2),
                rlim_max: libc::rlim_t::from(rttime_us),
            };
            // SAFETY: setrlimit reads the struct it is given.
            if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &limit) } == 0 {
                self.rttime_us = Some(rttime_us);
            } else {
                let error = std::io::Error::last_os_error();
                log::warn!("cannot set RLIMIT_RTTIME to {rttime_us} us: {error}");
            }
        }
        if self.realtime == Some(priority) {
            return;
        }
        match set_policy(libc::SCHED_RR, priority) {
            Ok(()) => {
                log::info!(
                    "protocol loop scheduled SCHED_RR at priority {priority} (RLIMIT_RTTIME {} us)",
                    self.rttime_us.map_or("unchanged".to_owned(), |us| us.to_string())
                );
                self.realtime = Some(priority);
            }
            Err(error) => log::warn!(
                "cannot raise priority: SCHED_RR {priority} refused ({error}), the loop runs at \
                 normal priority; {UNIT_HINT}"
            ),
        }
    }

    fn run_normal(&mut self, level: log::Level) {
        if self.realtime.is_none() {
            return;
        }
        match set_policy(libc::SCHED_OTHER, 0) {
            Ok(()) => {
                log::log!(level, "protocol loop scheduled SCHED_OTHER");
                self.realtime = None;
            }
            Err(error) => log::warn!("cannot return to SCHED_OTHER: {error}"),
        }
    }

    fn set_nice(&mut self, nice: i32) {
        if self.nice == nice {
            return;
        }
        if nice < 0 && self.realtime.is_none() {
            // So that threads and scripts started from the loop begin at nice 0 (under
            // SCHED_RR the flag is set already).
            if let Err(error) = set_policy(libc::SCHED_OTHER, 0) {
                log::warn!("cannot set vrrp_priority {nice}: {error}; {UNIT_HINT}");
                return;
            }
        }
        // who 0 is the calling thread on Linux: the loop's, not the blocking pool's.
        // SAFETY: setpriority with integer arguments.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } == 0 {
            log::info!("protocol loop at nice {nice}");
            self.nice = nice;
        } else {
            let error = std::io::Error::last_os_error();
            log::warn!("cannot set vrrp_priority {nice}: {error}; {UNIT_HINT}");
        }
    }

    fn lock_memory(&mut self, wanted: bool) {
        if wanted == self.locked {
            return;
        }
        if !wanted {
            // SAFETY: munlockall takes no argument.
            unsafe { libc::munlockall() };
            log::info!("memory no longer locked");
            self.locked = false;
            return;
        }
        // Locked future mappings count against RLIMIT_MEMLOCK unless CAP_IPC_LOCK is held: past
        // the limit, every later allocation would fail, which is worse than swapping.
        if !may_lock_without_limit() {
            log::warn!(
                "vrrp_no_swap not applied: it needs CAP_IPC_LOCK or an unlimited RLIMIT_MEMLOCK \
                 (the unit's LimitMEMLOCK=infinity)"
            );
            return;
        }
        // keepalived lib/process.c: MCL_ONFAULT locks pages as they are used, so reserved but
        // untouched memory (thread stacks) is not made resident.
        // SAFETY: mlockall with flags.
        if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) } == 0
        {
            log::info!("memory locked (vrrp_no_swap)");
            self.locked = true;
        } else {
            let error = std::io::Error::last_os_error();
            log::warn!("vrrp_no_swap not applied: mlockall failed: {error}");
        }
    }
}

fn current_nice() -> i32 {
    // SAFETY: getpriority with integer arguments; -1 is also a nice value, and errors cannot
    // happen for the calling thread.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

fn set_policy(policy: libc::c_int, priority: u8) -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: priority.into() };
    // SAFETY: pid 0 is the calling thread; the kernel reads the struct it is given.
    match unsafe { libc::sched_setscheduler(0, policy | libc::SCHED_RESET_ON_FORK, &param) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

fn may_lock_without_limit() -> bool {
    let held = ProcCaps::of_thread().is_ok_and(|caps| caps.effective.contains(CAP_IPC_LOCK));
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills the struct it is given.
    let unlimited = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } == 0
        && limit.rlim_cur == libc::RLIM_INFINITY;
    held || unlimited
}

/// keepalived lib/signals.c log_sigxcpu(): the soft limit was passed, the hard one ends the
/// process (and systemd starts another). Logged at most once per [`XCPU_LOG_INTERVAL`].
fn watch_xcpu() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut signals = signal(SignalKind::from_raw(libc::SIGXCPU))?;
    tokio::spawn(async move {
        let mut logged: Option<Instant> = None;
        let mut unlogged = 0u64;
        while signals.recv().await.is_some() {
            unlogged += 1;
            if logged.is_some_and(|at| at.elapsed() < XCPU_LOG_INTERVAL) {
                continue;
            }
            log::warn!(
                "the protocol loop used too much CPU time without blocking ({unlogged} SIGXCPU): \
                 vrrp_rlimit_rttime may need to be increased"
            );
            logged = Some(Instant::now());
            unlogged = 0;
        }
    });
    Ok(())
}
