//! The validated configuration the daemon runs: every default applied, every reference checked.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// The protocol crate's words for these, so the daemon never converts between two copies.
use std::time::Duration;
pub use vrrp_proto::{Family, InitialState, OldChecksumPolicy, Version};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub global: Global,
    pub instances: Vec<Instance>,
    pub scripts: Vec<Script>,
    pub sync_groups: Vec<SyncGroup>,
    /// `static_ipaddress`: installed at start, whatever the instances' states, and removed at
    /// stop (keepalived vrrp_daemon.c start_vrrp() / vrrp_terminate_phase2()). Each names its
    /// `dev`.
    pub static_addresses: Vec<VirtualAddress>,
    /// `static_routes`, held like the static addresses.
    pub static_routes: Vec<Route>,
    /// `static_rules`, held like the static addresses.
    pub static_rules: Vec<Rule>,
    pub track_files: Vec<TrackFile>,
    pub track_processes: Vec<TrackProcess>,
    /// `garp_group`s: announcement spacing per interface, instead of the global one.
    pub garp_groups: Vec<GarpGroup>,
    /// `track_group`s: instances that track the interfaces of the static entries tagged with
    /// the group (see [`Instance::track_group_interfaces`]).
    pub track_groups: Vec<TrackGroup>,
}

/// `track_group NAME { group { INSTANCE ... } }` (keepalived vrrp_static_track.c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackGroup {
    pub name: String,
    pub members: Vec<String>,
}

impl Config {
    /// How far apart an instance on `interface` spaces its announcement rounds: its
    /// interface's `garp_group` (where an interval it does not set is zero), else the global
    /// `vrrp_garp_interval` / `vrrp_gna_interval` (keepalived vrrp_if.c
    /// set_default_garp_delay() gives the global one only to interfaces without a group).
    pub fn announcement_spacing(&self, interface: &str, family: Family) -> Duration {
        let group = self.garp_groups.iter().find(|g| g.interfaces.iter().any(|i| i == interface));
        match (group, family) {
            (Some(group), Family::Ipv4) => group.garp_interval.unwrap_or_default(),
            (Some(group), Family::Ipv6) => group.gna_interval.unwrap_or_default(),
            (None, Family::Ipv4) => self.global.garp_interval,
            (None, Family::Ipv6) => self.global.gna_interval,
        }
    }

    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|instance| instance.name == name)
    }

    pub fn script(&self, name: &str) -> Option<&Script> {
        self.scripts.iter().find(|script| script.name == name)
    }

    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|file| file.name == name)
    }

    /// The `track_file`s some instance (or its sync group) tracks: the ones to watch, as
    /// keepalived watches no other (track_file.c init_track_files()).
    pub fn tracked_files(&self) -> Vec<&TrackFile> {
        let tracked = |name: &str| {
            self.instances.iter().any(|i| i.track_files.iter().any(|t| t.name == name))
        };
        self.track_files.iter().filter(|file| tracked(&file.name)).collect()
    }

    pub fn track_process(&self, name: &str) -> Option<&TrackProcess> {
        self.track_processes.iter().find(|process| process.name == name)
    }

    /// The `vrrp_track_process`es some instance (or its sync group) tracks. keepalived watches
    /// every one configured (vrrp.c vrrp_complete_init()); one nothing tracks moves nothing,
    /// so it is not watched.
    pub fn tracked_processes(&self) -> Vec<&TrackProcess> {
        let tracked = |name: &str| {
            self.instances.iter().any(|i| i.track_processes.iter().any(|t| t.name == name))
        };
        self.track_processes.iter().filter(|process| tracked(&process.name)).collect()
    }

    /// The sync group an instance belongs to (an instance is in at most one).
    pub fn sync_group_of(&self, instance: &str) -> Option<&SyncGroup> {
        self.sync_groups.iter().find(|group| group.members.iter().any(|m| m == instance))
    }
}

/// `global_defs`, VRRP part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    pub router_id: Option<String>,
    /// `vrrp_version`: the default for instances (2 unless set).
    pub version: Version,
    /// `vrrp_garp_*`: the defaults for instances.
    pub garp: Garp,
    /// `vrrp_garp_interval`: delay between gratuitous ARPs sent on one interface.
    pub garp_interval: Duration,
    /// `vrrp_gna_interval`: delay between unsolicited neighbour adverts on one interface.
    pub gna_interval: Duration,
    /// `vrrp_garp_extra_if`: the instances' default for `garp_extra_if`, as written.
    pub garp_extra_if: Option<ExtraInterfaces>,
    /// `script_user USER [GROUP]`: who runs scripts that name no user.
    pub script_user: Option<RunAs>,
    pub enable_script_security: bool,
    /// `vrrp_strict`: strict RFC compliance (changes the accept-mode default).
    pub strict: bool,
    /// `vrrp_check_unicast_src`: the default for instances.
    pub check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `v3_checksum_as_v2`: the instances' default.
    pub v3_checksum_as_v2: bool,
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6` (default ff02::12).
    pub mcast_group6: Ipv6Addr,
    /// `notify_fifo`, then `vrrp_notify_fifo`: each state change is written to both.
    pub notify_fifos: Vec<NotifyFifo>,
    /// `vrrp_notify_priority_changes`: the instances' default.
    pub notify_priority_changes: bool,
    /// `fifo_write_vrrp_states_on_reload`: after a reload, every group and instance whose
    /// state did not change writes its line again.
    pub fifo_write_states_on_reload: bool,
    /// `vrrp_startup_delay`: after the daemon starts, every instance waits this long before it
    /// runs (keepalived vrrp_daemon.c start_vrrp()). The daemon, which knows the host's
    /// uptime, folds `delay_after_boot` into it ([`Global::startup_delay_after`]).
    pub startup_delay: Duration,
    /// `vrrp_delay_after_boot`: the same wait, counted from the host's boot; what is left of
    /// it when the daemon starts counts if longer ([`Global::startup_delay_after`]).
    pub delay_after_boot: Duration,
    /// `vrrp_lower_prio_no_advert`: the instances' default.
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`: the instances' default. On unless set off, where
    /// keepalived's is off: a master yielding to a better one tells it, so after a healed
    /// partition the new master announces its addresses again and hosts stop using the old
    /// master's MAC. `vrrp_strict` turns it off, as in keepalived.
    pub higher_prio_send_advert: bool,
    /// `vmac_prefix`: how the macvlan of a `use_vmac` without a name is named (`PREFIX.VRID`;
    /// unset, keepalived's `vrrp`).
    pub vmac_prefix: Option<String>,
    /// `vmac_addr_prefix`: the same for the macvlans of addresses (unset, `vmac_prefix`'s).
    pub vmac_addr_prefix: Option<String>,
    /// `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_priority`, `vrrp_no_swap`.
    pub scheduling: Scheduling,
}

/// How the daemon's protocol loop is scheduled and whether its memory may be paged out: what
/// keepalived's lib/process.c set_process_priorities() does with `vrrp_rt_priority`,
/// `vrrp_rlimit_rttime`, `vrrp_priority` and `vrrp_no_swap`, so that a busy host cannot starve
/// a master past its peers' Master_Down_Interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduling {
    /// `vrrp_rt_priority`: SCHED_RR at this priority (1 to 99).
    pub realtime_priority: Option<u8>,
    /// `vrrp_rlimit_rttime` (or its old name `vrrp_rlimit_rtime`), in microseconds: with a
    /// realtime priority, the CPU time the loop may use without blocking. SIGXCPU comes at
    /// half of it, SIGKILL at all of it (RLIMIT_RTTIME), so a loop that spins cannot take a
    /// core for ever.
    pub rlimit_rttime_us: u32,
    /// `vrrp_priority`: the nice value (-20 to 19), used when there is no realtime priority.
    pub nice: Option<i8>,
    /// `vrrp_no_swap`: memory locked in (mlockall).
    pub no_swap: bool,
}

impl Scheduling {
    /// keepalived lib/process.h RT_RLIMIT_DEFAULT: 10 ms.
    pub const DEFAULT_RLIMIT_RTTIME_US: u32 = 10_000;

    /// Whether applying it needs CAP_SYS_NICE: a realtime policy, or a nice value below 0.
    pub fn raises_priority(&self) -> bool {
        self.realtime_priority.is_some() || self.nice.is_some_and(|nice| nice < 0)
    }
}

impl Default for Scheduling {
    fn default() -> Self {
        Self {
            realtime_priority: None,
            rlimit_rttime_us: Self::DEFAULT_RLIMIT_RTTIME_US,
            nice: None,
            no_swap: false,
        }
    }
}

impl Global {
    /// How long instances wait after a start at `uptime` since the host booted: the longer of
    /// `vrrp_startup_delay` and what is left of `vrrp_delay_after_boot` (keepalived
    /// global_parser.c vrrp_delay_after_boot_handler() takes the longer of the two).
    pub fn startup_delay_after(&self, uptime: Duration) -> Duration {
        self.startup_delay.max(self.delay_after_boot.saturating_sub(uptime))
    }
}

/// `notify_fifo PATH [USER [GROUP]]` with its `notify_fifo_script COMMAND [USER [GROUP]]`
/// (keepalived core/notify.c fifo_open()): the FIFO is created if missing (owned by USER),
/// the script started once with the FIFO's path appended, then every notification is written
/// to it as a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyFifo {
    pub path: std::path::PathBuf,
    /// The FIFO's owner, when the daemon creates it (default: `script_user`, else root).
    pub owner: Option<RunAs>,
    pub script: Option<Command>,
}

/// `garp_group { garp_interval; gna_interval; interface; interfaces { } }` (keepalived
/// vrrp_parser.c garp_group_*_handler()): each interface is in at most one group, and a group
/// sets at least one interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GarpGroup {
    pub garp_interval: Option<Duration>,
    pub gna_interval: Option<Duration>,
    pub interfaces: Vec<String>,
}

/// `garp_extra_if [all] SECONDS` as written (keepalived vrrp_parser.c
/// vrrp_garp_extra_if_handler()).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraInterfaces {
    pub interval: Duration,
    /// `all`: every interface of the addresses, not only VMAC interfaces.
    pub all: bool,
}

/// Gratuitous ARP / unsolicited NA behaviour around the MASTER state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Garp {
    /// Delay before the second burst after becoming MASTER; zero sends no second burst
    /// (default 5 s).
    pub master_delay: Duration,
    /// Messages per burst after becoming MASTER (default 5).
    pub master_repeat: u32,
    /// Period of refresh bursts while MASTER; `None` (keepalived's 0) means no refresh.
    pub master_refresh: Option<Duration>,
    /// Messages per refresh burst (default 1).
    pub master_refresh_repeat: u32,
    /// Delay before the second burst after a lower-priority advert (default: `master_delay`).
    pub lower_prio_delay: Duration,
    /// Messages per burst after a lower-priority advert (default: `master_repeat`).
    pub lower_prio_repeat: u32,
}

/// `vrrp_instance NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub name: String,
    /// `state` (default BACKUP).
    pub state: InitialState,
    pub interface: String,
    /// `virtual_router_id`, 1..=255.
    pub vrid: u8,
    /// `priority`, 1..=255 (default 100; 255 is the address owner).
    pub priority: u8,
    /// `advert_int` (default 1 s): whole seconds for version 2, centiseconds for version 3.
    pub advert_interval: Duration,
    /// `version`, else the global `vrrp_version`; IPv6 instances always run version 3.
    pub version: Version,
    /// The family of the advertised virtual addresses (and of the VRRP packets).
    pub family: Family,
    /// `preempt` (default) / `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay` (default 0).
    pub preempt_delay: Duration,
    /// `strict_mode`, else `vrrp_strict`: keepalived's strict RFC rules, applied here at
    /// validation; the host check refuses unicast peers with it on a multicast interface.
    pub strict: bool,
    /// `accept` / `no_accept`; defaults to accept unless `vrrp_strict`, where only the address
    /// owner (priority 255) accepts.
    pub accept: bool,
    /// `unicast_src_ip` / `mcast_src_ip`: source of adverts (default: the interface's primary).
    pub source_ip: Option<IpAddr>,
    /// The multicast group advertisements go to and are heard on: `mcast_dst_ip`, else the
    /// global `vrrp_mcast_group4` / `vrrp_mcast_group6`. `None` for a unicast instance.
    pub mcast_group: Option<IpAddr>,
    /// `unicast_peer { ... }`: adverts go to these instead of the multicast group when not empty.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_ttl`: TTL / hop limit of unicast advertisements (default: 255 over IPv4, the
    /// kernel's default hop limit over IPv6, as keepalived). `None` without unicast peers.
    pub unicast_ttl: Option<u8>,
    /// `check_unicast_src`, also implied by the global setting and by any peer TTL limit.
    pub check_unicast_src: bool,
    /// `virtual_ipaddress`: the addresses advertised (all of `family`).
    pub virtual_addresses: Vec<VirtualAddress>,
    /// `virtual_ipaddress_excluded`: addresses managed but not advertised (any family).
    pub excluded_addresses: Vec<VirtualAddress>,
    /// `virtual_routes`: installed after the addresses on becoming MASTER, removed on leaving.
    pub virtual_routes: Vec<Route>,
    /// `virtual_rules`: installed after the routes on becoming MASTER, removed first on leaving.
    pub virtual_rules: Vec<Rule>,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<TrackedScript>,
    pub track_files: Vec<TrackedFile>,
    pub track_processes: Vec<TrackedProcess>,
    pub notify: Notify,
    /// `notify_priority_changes` (else its sync group's, else the global
    /// `vrrp_notify_priority_changes`): a FIFO line for every change of effective priority.
    pub notify_priority_changes: bool,
    /// `garp_*` settings, each falling back to the global `vrrp_garp_*`.
    pub garp: Garp,
    /// `garp_extra_if all SECONDS` (else the global `vrrp_garp_extra_if`): while MASTER, every
    /// this often, one gratuitous ARP / NA on each other interface its addresses are on, so
    /// switches keep that interface's MAC. `None` when it has no effect.
    pub garp_extra_if: Option<Duration>,
    /// `dont_track_primary`: its own interface going down does not put it in FAULT
    /// (keepalived vrrp.c add_vrrp_to_interface() with VRRP_NOT_TRACK_IF).
    pub dont_track_primary: bool,
    /// `v3_checksum_as_v2` (else the global one): VRRPv3 over IPv4 is sent with the checksum
    /// over the message alone, without the IPv4 pseudo-header (keepalived vrrp.c
    /// vrrp_build_vrrp_v3() with VRRP_FLAG_V3_CHECKSUM_AS_V2).
    pub v3_checksum_as_v2: bool,
    /// `old_unicast_checksum` (`Send`), `old_unicast_checksum never` (`Never`), else `Detect`:
    /// keepalived's pre-1.3.6 unicast VRRPv3 checksum (vrrp_parser.c
    /// vrrp_unicast_chksum_handler(); see [`vrrp_proto::old_checksum`]).
    pub old_unicast_checksum: OldChecksumPolicy,
    /// `track_src_ip` (with `unicast_src_ip` / `mcast_src_ip`): the instance is in FAULT while
    /// its interface does not hold that address (keepalived keepalived_netlink.c
    /// netlink_if_address_filter() with VRRP_FLAG_TRACK_SADDR).
    pub track_src_ip: bool,
    /// `lower_prio_no_advert` (else the global `vrrp_lower_prio_no_advert`; always on with
    /// `vrrp_strict`): as master, a lower priority heard is not answered with an advertisement.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert` (else the global `vrrp_higher_prio_send_advert`, on by
    /// default; always off with `vrrp_strict`): as master, a better master heard is answered
    /// with one advertisement before yielding.
    pub higher_prio_send_advert: bool,
    /// `unicast_fault_no_peer` with an empty `unicast_peer` block: the instance stays in FAULT
    /// instead of falling back to multicast (keepalived vrrp.c vrrp_complete_instance()).
    pub unicast_fault_no_peer: bool,
    /// `authentication { auth_type PASS auth_pass ... }`: the VRRPv2 password, padded with
    /// zeros to 8 bytes, sent in every advertisement and required in every one received.
    /// `None`: no authentication (auth type 0).
    pub auth_pass: Option<[u8; 8]>,
    /// `auth_type AH`: `auth_pass` is then the HMAC-MD5 key of keepalived's IPsec AH header
    /// around each advertisement (VRRPv2 over IPv4 only), not a password in the message.
    pub auth_ah: bool,
    /// `use_vmac`: the virtual addresses go on a macvlan with the virtual MAC.
    pub vmac: Option<Vmac>,
    /// `use_vmac_addr`: an address on another `dev`, or of the other family, goes on a macvlan
    /// of its interface with its family's virtual MAC.
    pub use_vmac_addr: bool,
    /// The interfaces of the static entries tagged with a `track_group` this instance is in
    /// (an address's `dev`, a route's `dev`, a rule's `iif`), each once: tracked with weight
    /// 0, so one down is a FAULT (keepalived vrrp_static_track.c static_track_group_init()).
    pub track_group_interfaces: Vec<String>,
    /// The prefix of the names of the addresses' macvlans (`vmac_addr_prefix`, else
    /// `vmac_prefix`, else `vrrp`; keepalived vrrp.c vrrp_complete_instance()).
    pub address_vmac_prefix: String,
}

impl Instance {
    /// Whether `vip` goes on a macvlan of its own interface (its `dev`, else the instance's)
    /// with the virtual MAC of its family, rather than on that interface or on the instance's
    /// macvlan (keepalived vrrp.c vrrp_complete_instance(): `use_vmac` on the line, or
    /// `use_vmac_addr` for an address on another interface or of the other family).
    pub fn address_macvlan(&self, vip: &VirtualAddress) -> bool {
        let same_family = vip.address.is_ipv4() == (self.family == Family::Ipv4);
        let own_interface = vip.device.as_deref().is_none_or(|dev| dev == self.interface);
        if own_interface && same_family {
            // On the instance's macvlan when it has one, else on its interface unless the
            // line asks for one (a macvlan of the instance's interface).
            self.vmac.is_none() && vip.use_vmac
        } else {
            vip.use_vmac || self.use_vmac_addr
        }
    }
}

/// `use_vmac [NAME]` with `vmac_xmit_base` (keepalived vrrp_parser.c vrrp_vmac_handler(),
/// vrrp_vmac_xmit_base_handler()).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vmac {
    /// The macvlan's name: as configured, else keepalived's `vrrp.VRID`.
    pub name: String,
    /// `vmac_xmit_base`: advertisements leave from the base interface, with its MAC.
    pub xmit_base: bool,
}

impl Vmac {
    /// keepalived's prefix of macvlan names when neither `vmac_prefix` nor `vmac_addr_prefix`
    /// is given.
    pub const DEFAULT_PREFIX: &'static str = "vrrp";

    /// The names keepalived vrrp.c create_vmac_name() tries for a macvlan of `vrid`, in its
    /// order: `PREFIX.VRID`, then for IPv6 `PREFIX6.VRID`, then `PREFIX1.VRID`,
    /// `PREFIX2.VRID`, ... (up to 99). Where one would not fit IFNAMSIZ, the prefix is cut, as
    /// keepalived cuts it. `prefix` is ASCII (the parser sees to it).
    pub fn names(prefix: &str, family: Family, vrid: u8) -> impl Iterator<Item = String> + '_ {
        let numbers: Vec<Option<u8>> = match family {
            Family::Ipv4 => [None].into_iter().chain((1..100).map(Some)).collect(),
            Family::Ipv6 => {
                [None, Some(6)].into_iter().chain((1..100).filter(|&n| n != 6).map(Some)).collect()
            }
        };
        numbers.into_iter().map(move |number| {
            let tail = match number {
                None => format!(".{vrid}"),
                Some(number) => format!("{number}.{vrid}"),
            };
            // IFNAMSIZ is 16 with the NUL.
            let room = 15usize.saturating_sub(tail.len());
            format!("{}{tail}", &prefix[..prefix.len().min(room)])
        })
    }

    /// RFC 9568 §7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6
    /// (keepalived vrrp_vmac.c netlink_link_add_vmac()).
    pub fn mac(family: Family, vrid: u8) -> MacAddr {
        let kind = match family {
            Family::Ipv4 => 0x01,
            Family::Ipv6 => 0x02,
        };
        MacAddr([0x00, 0x00, 0x5e, 0x00, kind, vrid])
    }
}

/// Unicast peers an instance may list: the kernel keeps them inline in the instance's slot.
/// VRRP elects among the routers of one link; keepalived sets no limit.
pub const MAX_UNICAST_PEERS: usize = 16;

/// One `unicast_peer` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnicastPeer {
    pub address: IpAddr,
    /// vrrpd extension (`ADDR mac XX:XX:XX:XX:XX:XX`): pin the peer's MAC address instead of
    /// resolving it. keepalived rejects this option.
    pub mac: Option<MacAddr>,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// One `virtual_ipaddress` line: `ADDR[/PREFIX] [dev IF] [label L] [scope S] [brd ADDR] [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualAddress {
    pub address: IpAddr,
    /// Defaults to 32 for IPv4 and 128 for IPv6, as keepalived.
    pub prefix_len: u8,
    /// `dev`: the interface to add it to (default: the instance's).
    pub device: Option<String>,
    pub label: Option<String>,
    pub scope: Option<Scope>,
    /// `brd`: IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// `no_track`: its removal does not take the instance out of MASTER.
    pub no_track: bool,
    /// `use_vmac` on the line, as settled (see [`Instance::address_macvlan`]).
    pub use_vmac: bool,
}

/// Address scope, as `ip address add ... scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedInterface {
    pub name: String,
    /// 0: a down interface puts the instance in FAULT; otherwise the priority adjustment.
    pub weight: i32,
    pub reverse: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedScript {
    pub name: String,
    /// The instance's `weight` for it, else the script's own.
    pub weight: i32,
    pub reverse: bool,
}

/// Commands run on state transitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    pub master: Option<Command>,
    pub backup: Option<Command>,
    pub fault: Option<Command>,
    pub stop: Option<Command>,
    /// `notify`: run on every transition with "GROUP"|"INSTANCE", name, state and priority
    /// appended.
    pub any: Option<Command>,
}

/// A command, already split into arguments the way keepalived splits it (on whitespace, with
/// single/double quotes and backslash escapes); it is executed directly, never by a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<String>,
    /// The user (and group) given after the command; `None` runs as the global `script_user`.
    pub run_as: Option<RunAs>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub user: String,
    /// Defaults to the user's group.
    pub group: Option<String>,
}

/// `vrrp_script NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub name: String,
    /// `script`, split into arguments.
    pub argv: Vec<String>,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: the interval).
    pub timeout: Duration,
    /// `weight` (default 0: failure means FAULT).
    pub weight: i32,
    pub reverse: bool,
    /// `rise` / `fall` (default 1).
    pub rise: u32,
    pub fall: u32,
    /// `user USER [GROUP]`, else the global `script_user`.
    pub run_as: Option<RunAs>,
    /// `init_fail`: the script starts in the failed state.
    pub init_fail: bool,
}

/// `vrrp_sync_group NAME { group { ... } ... }`.
///
/// The group's `track_interface` / `track_script` are applied to each member's own lists when
/// the configuration is validated, with keepalived's weight rule (see `sync_group_tracking_weight`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    pub members: Vec<String>,
    pub notify: Notify,
    /// `sync_group_tracking_weight`: the members' own tracked items keep their weights.
    pub tracking_weight: bool,
}

/// `track_file NAME { file PATH  weight W [reverse]  init_file [VALUE] [overwrite] }`: a file
/// holding a number that moves the priority of the instances tracking it (keepalived
/// track_file.c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFile {
    pub name: String,
    pub path: std::path::PathBuf,
    /// `weight` (default 1, -254..254): the file's value is multiplied by it.
    pub weight: i32,
    pub reverse: bool,
    /// `init_file`: written at start-up if the file is missing (or always, with `overwrite`).
    pub init: Option<FileInit>,
}

/// `init_file [VALUE] [overwrite]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInit {
    /// Default 0.
    pub value: i32,
    pub overwrite: bool,
}

/// One `track_file` entry of an instance (or of its sync group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFile {
    pub name: String,
    /// The instance's `weight` for it, else the file's own. 0: a non-zero value is a FAULT.
    pub weight: i32,
    pub reverse: bool,
}

/// `vrrp_track_process NAME { process NAME [ARG ...]  param_match exact|initial|partial
/// quorum N  quorum_max N  delay S  terminate_delay S  fork_delay S  weight W [reverse]
/// full_command }`: how many running processes match, against a quorum (keepalived
/// core/track_process.c, vrrp_parser.c vrrp_tprocess_*_handler()).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackProcess {
    pub name: String,
    /// The process name (its `comm`, at most 15 bytes) or, with `full_command`, the first
    /// word of its command line.
    pub process: String,
    /// The arguments after the name, each ended by a NUL byte as in `/proc/PID/cmdline`;
    /// empty for none.
    pub params: Vec<u8>,
    pub param_match: ParamMatch,
    /// Match the command line (`/proc/PID/cmdline`) rather than the process name.
    pub full_command: bool,
    /// Quorum is `quorum..=quorum_max` matching processes (default 1 and unbounded).
    pub quorum: u32,
    pub quorum_max: u32,
    /// Losing quorum counts only once it has lasted this long (`terminate_delay`, or `delay`).
    pub terminate_delay: Option<Duration>,
    /// Gaining quorum by a fork counts only once it has lasted this long (`fork_delay`, or
    /// `delay`).
    pub fork_delay: Option<Duration>,
    /// `weight` (default 0, -254..254): 0 puts the instances in FAULT without quorum.
    pub weight: i32,
    pub reverse: bool,
}

/// How a `vrrp_track_process`'s arguments are compared with a process's (keepalived
/// track_process.c check_params()).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamMatch {
    /// No arguments compared.
    None,
    /// The same arguments, no more.
    Exact,
    /// The configured arguments begin the process's; the last may be a prefix of its word.
    Initial,
    /// The configured arguments begin the process's, whole words.
    Partial,
}

/// One `track_process` entry of an instance (or of its sync group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedProcess {
    pub name: String,
    /// The instance's `weight` for it, else the tracker's own. 0: no quorum is a FAULT.
    pub weight: i32,
    pub reverse: bool,
}

/// keepalived's `RTPROT_KEEPALIVED`: the protocol of every tracked route, by which its
/// deletion is recognised (keepalived vrrp_iproute.c alloc_route(), vrrp_netlink.c
/// netlink_route_filter()).
pub const PROTOCOL_KEEPALIVED: u8 = 18;

/// The main routing table (`RT_TABLE_MAIN`), the default of routes and rules.
pub const TABLE_MAIN: u32 = 254;

/// One `virtual_routes` / `static_routes` line, the subset of `ip route` keepalived's
/// configurations use: `[TYPE] DEST [src ADDR] [via|gw ADDR] [dev IF] [scope S] [table T]
/// [metric N] [protocol P] [onlink] [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: IpAddr,
    pub prefix_len: u8,
    pub kind: RouteKind,
    /// `src`: the preferred source address.
    pub source: Option<IpAddr>,
    /// `via` (or keepalived's older `gw`).
    pub gateway: Option<IpAddr>,
    /// `dev` / `oif`.
    pub device: Option<String>,
    pub scope: Option<Scope>,
    /// `table` (default main).
    pub table: u32,
    /// `metric` / `priority` / `preference`.
    pub metric: Option<u32>,
    /// `protocol`: [`PROTOCOL_KEEPALIVED`] unless `no_track` with another one given.
    pub protocol: u8,
    pub onlink: bool,
    /// `no_track`: a deletion by another agent is left alone.
    pub no_track: bool,
}

impl Route {
    pub fn family(&self) -> Family {
        if self.destination.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        }
    }
}

impl fmt::Display for Route {
    /// As `ip route` would take it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RouteKind::Unicast => {}
            RouteKind::Blackhole => f.write_str("blackhole ")?,
            RouteKind::Unreachable => f.write_str("unreachable ")?,
            RouteKind::Prohibit => f.write_str("prohibit ")?,
        }
        write!(f, "{}/{}", self.destination, self.prefix_len)?;
        if let Some(gateway) = self.gateway {
            write!(f, " via {gateway}")?;
        }
        if let Some(device) = &self.device {
            write!(f, " dev {device}")?;
        }
        if let Some(source) = self.source {
            write!(f, " src {source}")?;
        }
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

/// The route types keepalived takes before the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One `virtual_rules` / `static_rules` line, the subset of `ip rule` keepalived's
/// configurations use: `[not] [from P] [to P] [iif IF] [oif IF] [fwmark M[/MASK]]
/// [priority N] table T | blackhole | unreachable | prohibit [no_track]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub family: Family,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    /// `iif` / `dev`.
    pub input_interface: Option<String>,
    pub output_interface: Option<String>,
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `priority` / `preference` / `order`; without it the kernel chooses.
    pub priority: Option<u32>,
    pub action: RuleAction,
    /// `not`: the selector is inverted.
    pub invert: bool,
    /// `no_track`: a deletion by another agent is left alone.
    pub no_track: bool,
}

impl fmt::Display for Rule {
    /// As `ip rule` would take it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.invert {
            f.write_str("not ")?;
        }
        if let Some((address, len)) = self.from {
            write!(f, "from {address}/{len} ")?;
        }
        if let Some((address, len)) = self.to {
            write!(f, "to {address}/{len} ")?;
        }
        if let Some(name) = &self.input_interface {
            write!(f, "iif {name} ")?;
        }
        if let Some(name) = &self.output_interface {
            write!(f, "oif {name} ")?;
        }
        if let Some((mark, mask)) = self.fwmark {
            write!(f, "fwmark {mark:#x}")?;
            if let Some(mask) = mask {
                write!(f, "/{mask:#x}")?;
            }
            f.write_str(" ")?;
        }
        if let Some(priority) = self.priority {
            write!(f, "priority {priority} ")?;
        }
        match self.action {
            RuleAction::Table(table) => write!(f, "table {table}"),
            RuleAction::Blackhole => f.write_str("blackhole"),
            RuleAction::Unreachable => f.write_str("unreachable"),
            RuleAction::Prohibit => f.write_str("prohibit"),
        }
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// Look the packet up in this table.
    Table(u32),
    Blackhole,
    Unreachable,
    Prohibit,
}
