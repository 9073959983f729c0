//! Least privilege after start-up: once the program is loaded and attached, the pins made and
//! the sockets open, the daemon keeps only the capabilities that later steps use, in its
//! bounding, permitted and effective sets, and none in its inheritable and ambient sets.
//!
//! What later steps do, and what each needs:
//! - addresses added and removed, XDP attached to a reload's new interface and a stale
//!   attachment replaced (netlink, BPF_LINK_CREATE on the loaded program): CAP_NET_ADMIN;
//! - a reload's new instance opens raw VRRP/AH sockets and a packet socket for gratuitous ARP
//!   and unsolicited neighbour advertisements: CAP_NET_RAW;
//! - scripts that run as another user (their own `user`, `script_user`, or keepalived's
//!   default `keepalived_script`): CAP_SETUID and CAP_SETGID to change to it, CAP_KILL to end
//!   its process group on a timeout;
//! - `vrrp_rt_priority` or a negative `vrrp_priority`, applied again after each reload (which
//!   runs at normal priority, as keepalived's does): CAP_SYS_NICE; `vrrp_no_swap`'s locked
//!   memory growing past RLIMIT_MEMLOCK: CAP_IPC_LOCK. Both are kept when held, not required:
//!   keepalived runs on without these settings when they are refused.
//!
//! Reload never loads a program or creates or pins a map (it writes the instance map through
//! the descriptor already held, and the kernel clock runs the loaded `vrrp_clock`), so CAP_BPF,
//! CAP_PERFMON and CAP_SYS_ADMIN go, as does everything else of root's. So an interface a
//! reload adds runs the loaded `vrrp_xdp`, never a `vrrp_xdp_vlan` of its own (see
//! `device_bound`): the log says so, and a restart loads it. The process events
//! socket of `vrrp_track_process` is opened at start too, while the daemon may still join the
//! first network namespace for it (CAP_SYS_ADMIN); subscribing needs CAP_NET_ADMIN, kept.
//!
//! Capabilities belong to threads: the drop is made on the one thread the daemon has left (see
//! [`drop_to`]), and every later thread inherits its sets.
//!
//! A script run as root (by default or by name) gets the daemon's remaining capabilities
//! through the ambient set and nothing more: root gains nothing by exec (securebit
//! SECBIT_NOROOT, see [`script_pre_exec`]). keepalived runs root's scripts with all of root's
//! capabilities; the usual notify script (`ip`, `iptables`, `arping`, `systemctl`) needs no
//! more than these two, and one that does would be refused the same under keepalived's
//! hardened units.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use vrrp_config::RunAs;

/// Capability numbers (linux/capability.h).
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_IPC_LOCK: u32 = 14;
pub const CAP_SYS_NICE: u32 = 23;

/// Names for the log and the tests, in the kernel's numbering.
const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// A set of capabilities, bit `n` for capability `n` (the form of /proc/PID/status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    pub fn of(capabilities: &[u32]) -> Self {
        Self(capabilities.iter().fold(0, |set, cap| set | 1 << cap))
    }

    pub fn contains(self, cap: u32) -> bool {
        cap < 64 && self.0 & (1 << cap) != 0
    }

    /// The capability names, in number order.
    pub fn names(self) -> Vec<String> {
        (0..64)
            .filter(|&cap| self.contains(cap))
            .map(|cap| NAMES.get(cap as usize).map_or(format!("cap_{cap}"), |n| (*n).to_owned()))
            .collect()
    }
}

impl std::fmt::Display for CapSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.names() {
            names if names.is_empty() => f.write_str("none"),
            names => f.write_str(&names.join(", ")),
        }
    }
}

/// What the running configuration will ask of the daemon after start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Needs {
    /// Some script runs as a user named in the configuration (or the default script user).
    pub scripts_change_user: bool,
    /// `vrrp_rt_priority` or a negative `vrrp_priority`.
    pub raises_priority: bool,
    /// `vrrp_no_swap`.
    pub locks_memory: bool,
}

impl Needs {
    pub fn of(config: &vrrp_config::Config) -> Self {
        let global = config.global.script_user.as_ref();
        let changes = |own: Option<&RunAs>| own.or(global).is_some_and(|run_as| !is_root(run_as));
        let notify_users = config.instances.iter().any(|instance| {
            let notify = &instance.notify;
            [&notify.master, &notify.backup, &notify.fault, &notify.stop, &notify.any]
                .into_iter()
                .flatten()
                .any(|command| changes(command.run_as.as_ref()))
        });
        let tracker_users = config.scripts.iter().any(|script| changes(script.run_as.as_ref()));
        let scheduling = &config.global.scheduling;
        Self {
            scripts_change_user: notify_users || tracker_users,
            raises_priority: scheduling.raises_priority(),
            locks_memory: scheduling.no_swap,
        }
    }
}

/// `root` (and its group, or none): the daemon's own identity, no change of user.
pub fn is_root(run_as: &RunAs) -> bool {
    run_as.user == "root" && run_as.group.as_deref().is_none_or(|group| group == "root")
}

/// The capabilities the daemon keeps after start-up for `needs`.
pub fn kept(needs: Needs) -> CapSet {
    let mut kept = required(needs).0;
    if needs.raises_priority {
        kept |= CapSet::of(&[CAP_SYS_NICE]).0;
    }
    if needs.locks_memory {
        kept |= CapSet::of(&[CAP_IPC_LOCK]).0;
    }
    CapSet(kept)
}

/// The part of [`kept`] without which the daemon does not start.
fn required(needs: Needs) -> CapSet {
    let mut required = vec![CAP_NET_ADMIN, CAP_NET_RAW];
    if needs.scripts_change_user {
        required.extend([CAP_SETUID, CAP_SETGID, CAP_KILL]);
    }
    CapSet::of(&required)
}

/// Refuses to start when the configuration's scripts need a capability this process lacks
/// (the systemd unit gives CAP_SETUID, CAP_SETGID and CAP_KILL only through a drop-in).
pub fn check_available(needs: Needs) -> Result<()> {
    let missing = CapSet(required(needs).0 & !ProcCaps::of_thread()?.effective.0);
    if missing.0 != 0 {
        bail!(
            "vrrpd lacks {missing}, which {}: give them to the service (see the comment on \
             CapabilityBoundingSet= in vrrpd.service)",
            if needs.scripts_change_user {
                "running scripts as another user needs"
            } else {
                "addresses and raw sockets need"
            }
        );
    }
    Ok(())
}

/// Refuses a reload whose scripts need a capability the start-up dropped: a restart gives it.
pub fn check_reload(dropped_with: Option<Needs>, config: &vrrp_config::Config) -> Result<()> {
    let Some(before) = dropped_with else {
        return Ok(());
    };
    let after = Needs::of(config);
    if after.scripts_change_user && !before.scripts_change_user {
        bail!(
            "scripts now run as other users, which needs CAP_SETUID and CAP_SETGID: this vrrpd \
             gave them up at start-up (no script changed user then); restart it to apply"
        );
    }
    // Not a refusal: keepalived runs on when these settings are refused.
    if after.raises_priority && !before.raises_priority {
        log::warn!(
            "vrrp_rt_priority and a negative vrrp_priority need CAP_SYS_NICE, which this vrrpd \
             gave up at start-up: restart it to apply them"
        );
    }
    if after.locks_memory && !before.locks_memory {
        log::warn!(
            "vrrp_no_swap past RLIMIT_MEMLOCK needs CAP_IPC_LOCK, which this vrrpd gave up at \
             start-up: restart it if the memory is not locked"
        );
    }
    Ok(())
}

/// The capability sets of a thread or process, as /proc/.../status shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ProcCaps {
    pub inheritable: CapSet,
    pub permitted: CapSet,
    pub effective: CapSet,
    pub bounding: CapSet,
    pub ambient: CapSet,
}

impl ProcCaps {
    /// Reads them from the text of a /proc/PID/status file.
    pub fn parse(status: &str) -> Self {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                .map_or(CapSet::default(), CapSet)
        };
        Self {
            inheritable: field("CapInh:"),
            permitted: field("CapPrm:"),
            effective: field("CapEff:"),
            bounding: field("CapBnd:"),
            ambient: field("CapAmb:"),
        }
    }

    pub(crate) fn of_thread() -> Result<Self> {
        let text = std::fs::read_to_string("/proc/thread-self/status")
            .context("reading /proc/thread-self/status")?;
        Ok(Self::parse(&text))
    }
}

/// `cap_user_header_t` and `cap_user_data_t` of capset(2), version 3 (two 32-bit words).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// capset(2) on the calling thread. Async-signal-safe (one system call, nothing allocated).
fn capset(effective: u64, permitted: u64, inheritable: u64) -> std::io::Result<()> {
    let header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let split = |set: u64| [set as u32, (set >> 32) as u32];
    let (e, p, i) = (split(effective), split(permitted), split(inheritable));
    let data = [
        CapData { effective: e[0], permitted: p[0], inheritable: i[0] },
        CapData { effective: e[1], permitted: p[1], inheritable: i[1] },
    ];
    // SAFETY: the header and two data words are what version 3 of capset reads.
    let result = unsafe { libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// securebits: root gains no capability by executing a file, locked so it stays that way
/// (linux/securebits.h).
const SECBIT_NOROOT: libc::c_ulong = 1 << 0;
const SECBIT_NOROOT_LOCKED: libc::c_ulong = 1 << 1;

/// How long the threads a start-up left (the blocking pool's, idle) are waited for.
const THREADS_GRACE: Duration = Duration::from_secs(15);

/// The number of threads of this process.
fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |tasks| tasks.count())
}

/// Drops every capability outside `kept` from the bounding, permitted and effective sets,
/// empties the inheritable and ambient sets, and stops root's scripts from regaining any.
///
/// Capabilities are per thread: first the blocking pool's threads that start-up used go idle
/// and end (the runtime is built with a short keep-alive), so that the drop covers the whole
/// process; a thread still there after [`THREADS_GRACE`] fails the start. Returns what is
/// left: `kept` as far as it was held.
pub async fn drop_to(kept: CapSet) -> Result<CapSet> {
    let deadline = Instant::now() + THREADS_GRACE;
    while thread_count() > 1 {
        if Instant::now() > deadline {
            bail!(
                "cannot give up capabilities: {} threads still run after start-up, and a \
                 capability is dropped per thread",
                thread_count()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = ProcCaps::of_thread()?;
    let can_set_pcap = before.effective.contains(CAP_SETPCAP);
    let last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .unwrap_or(40)
        .min(63);
    for cap in (0..=last_cap).filter(|&cap| before.bounding.contains(cap) && !kept.contains(cap)) {
        if !can_set_pcap {
            // Without CAP_SETPCAP the bounding set is the one given (systemd's
            // CapabilityBoundingSet=); permitted and effective below are what count then.
            break;
        }
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("dropping {} from the bounding set", CapSet::of(&[cap])));
        }
    }
    // SAFETY: prctl with integer arguments.
    unsafe {
        let bits = libc::prctl(libc::PR_GET_SECUREBITS, 0, 0, 0, 0);
        if bits < 0 {
            return Err(std::io::Error::last_os_error()).context("reading the securebits");
        }
        let wanted = bits as libc::c_ulong | SECBIT_NOROOT | SECBIT_NOROOT_LOCKED;
        // Without CAP_SETPCAP they are as given (systemd's SecureBits=).
        if can_set_pcap
            && wanted != bits as libc::c_ulong
            && libc::prctl(libc::PR_SET_SECUREBITS, wanted, 0, 0, 0) != 0
        {
            return Err(std::io::Error::last_os_error()).context("setting SECBIT_NOROOT");
        }
        if libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error()).context("clearing the ambient set");
        }
    }
    let left = before.permitted.0 & kept.0;
    capset(left, left, 0).context("capset")?;
    let after = ProcCaps::of_thread()?;
    if after.effective.0 & !kept.0 != 0 || after.permitted.0 & !kept.0 != 0 {
        bail!("capabilities were not given up: {after:?}");
    }
    Ok(after.effective)
}

/// What a script run as root may hold: the daemon's capabilities after
/// start-up ([`limit_scripts_to`]), also for a script that runs before the drop.
static SCRIPT_CAPS: AtomicU64 = AtomicU64::new(0);

/// Sets what a script run as root gets, before any script runs.
pub fn limit_scripts_to(kept: CapSet) {
    SCRIPT_CAPS.store(kept.0, Ordering::Relaxed);
}

/// In a script's child process, between fork, the change of user and exec: the script
/// inherits no ambient capability; run as root, it gains none by executing (SECBIT_NOROOT,
/// inherited from the daemon after start-up, set here before it), except those of
/// [`limit_scripts_to`] when it runs as root, which pass through the ambient set. Async-signal-safe: system calls only, nothing allocated.
pub fn script_pre_exec(as_root: bool) -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments; capget fills the two data words of version 3.
    unsafe {
        if libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::getuid() != 0 && libc::geteuid() != 0 {
            // The change of user emptied the other sets; nothing is gained by exec.
            return Ok(());
        }
        let bits = libc::prctl(libc::PR_GET_SECUREBITS, 0, 0, 0, 0);
        if bits < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let bits = bits as libc::c_ulong;
        if bits & SECBIT_NOROOT == 0
            && libc::prctl(libc::PR_SET_SECUREBITS, bits | SECBIT_NOROOT, 0, 0, 0) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        if !as_root {
            return Ok(());
        }
        let mut data = [CapData::default(); 2];
        let header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
        if libc::syscall(libc::SYS_capget, &raw const header, data.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let permitted = u64::from(data[0].permitted) | u64::from(data[1].permitted) << 32;
        let effective = u64::from(data[0].effective) | u64::from(data[1].effective) << 32;
        let given = permitted & SCRIPT_CAPS.load(Ordering::Relaxed);
        capset(effective, permitted, given)?;
        for cap in (0..64u32).filter(|cap| given & (1 << cap) != 0) {
            let raised = libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE,
                cap as libc::c_ulong,
                0,
                0,
            );
            if raised != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_sets_follow_what_later_steps_need() {
        assert_eq!(kept(Needs::default()), CapSet::of(&[CAP_NET_ADMIN, CAP_NET_RAW]));
        assert_eq!(kept(Needs::default()).to_string(), "CAP_NET_ADMIN, CAP_NET_RAW");
        assert_eq!(
            kept(Needs { scripts_change_user: true, ..Needs::default() }).to_string(),
            "CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_NET_ADMIN, CAP_NET_RAW"
        );
        let scheduled = Needs { raises_priority: true, locks_memory: true, ..Needs::default() };
        assert_eq!(
            kept(scheduled).to_string(),
            "CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK, CAP_SYS_NICE"
        );
        // Kept when held, never required.
        assert_eq!(required(scheduled), kept(Needs::default()));
    }

    #[test]
    fn scheduling_settings_ask_for_their_capabilities() {
        let plain = config(&BASE.replace("NOTIFY", ""));
        assert_eq!(Needs::of(&plain), Needs::default());
        let with = |lines: &str| {
            Needs::of(&config(&format!(
                "global_defs {{\n{lines}\n}}\n{}",
                BASE.replace("NOTIFY", "")
            )))
        };
        let realtime = with("vrrp_rt_priority 10");
        assert!(realtime.raises_priority && !realtime.locks_memory);
        assert!(with("vrrp_priority -1").raises_priority);
        assert!(!with("vrrp_priority 3").raises_priority);
        let locked = with("vrrp_no_swap");
        assert!(locked.locks_memory && !locked.raises_priority);
        // A reload that asks for more runs on, without it.
        assert!(check_reload(
            Some(Needs::of(&plain)),
            &config(&format!(
                "global_defs {{\nvrrp_rt_priority 10\n}}\n{}",
                BASE.replace("NOTIFY", "")
            ))
        )
        .is_ok());
    }

    #[test]
    fn status_fields_are_read_as_hex_sets() {
        let status = "Name:\tvrrpd\nCapInh:\t0000000000000000\nCapPrm:\t0000000000003000\n\
                      CapEff:\t0000000000003000\nCapBnd:\t00000000000030e0\nCapAmb:\t0000000000000000\n";
        let caps = ProcCaps::parse(status);
        assert_eq!(caps.effective, CapSet::of(&[CAP_NET_ADMIN, CAP_NET_RAW]));
        assert_eq!(
            caps.bounding,
            CapSet::of(&[CAP_NET_ADMIN, CAP_NET_RAW, CAP_SETUID, CAP_SETGID, CAP_KILL])
        );
        assert_eq!(caps.ambient, CapSet(0));
    }

    fn config(text: &str) -> vrrp_config::Config {
        vrrp_config::parse_str(text, std::path::Path::new("test.conf")).unwrap().config
    }

    const BASE: &str = "vrrp_instance A {
        interface eth0
        virtual_router_id 1
        priority 100
        virtual_ipaddress {
            192.0.2.100/24
        }
        NOTIFY
    }
    ";

    #[test]
    fn users_named_anywhere_keep_the_identity_capabilities() {
        let none = config(&BASE.replace("NOTIFY", "notify_master /bin/true"));
        assert_eq!(Needs::of(&none), Needs::default());
        let own = config(&BASE.replace("NOTIFY", "notify_master \"/bin/true\" nobody"));
        assert_eq!(Needs::of(&own), Needs { scripts_change_user: true, ..Needs::default() });
        let global = config(&format!(
            "global_defs {{\n script_user nobody\n}}\n{}",
            BASE.replace("NOTIFY", "notify_master /bin/true")
        ));
        assert_eq!(Needs::of(&global), Needs { scripts_change_user: true, ..Needs::default() });
        let root = config(&BASE.replace("NOTIFY", "notify_master \"/bin/true\" root"));
        assert_eq!(Needs::of(&root), Needs::default());
        assert!(check_reload(Some(Needs::of(&none)), &own).is_err());
        assert!(check_reload(Some(Needs::of(&own)), &none).is_ok());
        assert!(check_reload(None, &own).is_ok());
    }
}
