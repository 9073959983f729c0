//! keepalived's dump files, rendered from the node's snapshot: `keepalived.data` (SIGUSR1),
//! `keepalived.stats` (SIGUSR2) and `keepalived.json` (SIGRTMIN+2), in keepalived 2.2's layouts
//! (keepalived: vrrp_data.c dump_vrrp(), vrrp_print.c vrrp_print_stats(), vrrp_json.c
//! vrrp_json_dump()). Pure: the clock and the local time zone come in as values.
//!
//! What consumers read is kept exactly: the data file's ` VRRP Instance = NAME` blocks with
//! `   State = MASTER` (the OpenShift probe greps `State = FAULT`), `   Virtual IP (N):` and
//! its `     ADDR dev IF scope S` lines, ` VRRP Script = NAME` with `   Status = GOOD|BAD`;
//! the stats file's sections and counters; the JSON's `data`/`stats` objects with keepalived's
//! names and encodings (state 0-3, booleans as keepalived writes each, whole numbers where the
//! exporters decode integers). Lines keepalived writes about things vrrpd does not have (file
//! descriptors, socket pools, its read timer) are left out rather than invented.
//!
//! vrrpd counts malformed and unauthorised advertisements per data path and reason (`vrrpd
//! status`, `vrrpd_datapath_frames_total`), not per instance: a frame the kernel drops for its
//! length never reaches an instance. keepalived's per-instance error counters are therefore 0.

use std::{
    collections::HashMap,
    fmt::Write as _,
    net::IpAddr,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
use vrrp_config::{Command, Config, Instance, Scope, VirtualAddress};
use vrrp_node::{InstanceId, InstanceSnapshot, Snapshot, Statistics};
use vrrp_proto::{Family, State, Version};

/// The moment a dump is taken, on both clocks, and the local time zone's offset from UTC then
/// (keepalived prints local times beside the epoch seconds).
#[derive(Clone, Copy, Debug)]
pub struct DumpClock {
    pub now: Instant,
    pub wall: SystemTime,
    pub utc_offset_seconds: i64,
}

impl DumpClock {
    /// `at` as seconds since the Unix epoch.
    fn epoch_seconds(&self, at: Instant) -> Duration {
        let wall = self.wall.checked_sub(self.now.saturating_duration_since(at));
        wall.and_then(|wall| wall.duration_since(UNIX_EPOCH).ok()).unwrap_or_default()
    }
}

/// keepalived's per-instance counters (vrrp.h `vrrp_stats`) that vrrpd keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
}

impl Counters {
    fn of(stats: &Statistics) -> Self {
        Self {
            advert_rcvd: stats.advertisements_received,
            advert_sent: stats.advertisements_sent,
            become_master: stats.became_master,
            release_master: stats.left_master,
            pri_zero_rcvd: stats.priority_zero_received,
            pri_zero_sent: stats.priority_zero_sent,
        }
    }

    fn since(self, base: Counters) -> Self {
        Self {
            advert_rcvd: self.advert_rcvd.saturating_sub(base.advert_rcvd),
            advert_sent: self.advert_sent.saturating_sub(base.advert_sent),
            become_master: self.become_master.saturating_sub(base.become_master),
            release_master: self.release_master.saturating_sub(base.release_master),
            pri_zero_rcvd: self.pri_zero_rcvd.saturating_sub(base.pri_zero_rcvd),
            pri_zero_sent: self.pri_zero_sent.saturating_sub(base.pri_zero_sent),
        }
    }
}

/// keepalived's STATS_CLEAR (SIGRTMAX-1) zeroes the counters the dumps show. vrrpd's own
/// counters stay monotonic (status and metrics readers rely on that), so the dumps show them
/// relative to the values at the latest clear instead.
#[derive(Clone, Debug, Default)]
pub struct StatsBaseline(HashMap<InstanceId, Counters>);

impl StatsBaseline {
    /// The dumps' counters of `instance`.
    pub fn counters(&self, instance: &InstanceSnapshot) -> Counters {
        let base = self.0.get(&instance.id).copied().unwrap_or_default();
        Counters::of(&instance.statistics).since(base)
    }

    /// From now on the dumps count from `snapshot`'s values (instances gone are forgotten).
    pub fn clear(&mut self, snapshot: &Snapshot) {
        self.0 = snapshot
            .instances
            .iter()
            .map(|instance| (instance.id, Counters::of(&instance.statistics)))
            .collect();
    }
}

/// keepalived's state numbers (vrrp.h VRRP_STATE_*), the exporters' 0-3 encoding.
fn state_number(state: State) -> u8 {
    match state {
        State::Initialize => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
    }
}

/// The instance's configuration, by name.
fn specs(snapshot: &Snapshot) -> HashMap<&str, &Instance> {
    let Some(config) = snapshot.config.as_deref() else { return HashMap::new() };
    config.instances.iter().map(|spec| (spec.name.as_str(), spec)).collect()
}

fn yes_no(value: bool, yes: &'static str, no: &'static str) -> &'static str {
    if value {
        yes
    } else {
        no
    }
}

fn scope_name(scope: Option<Scope>) -> &'static str {
    match scope.unwrap_or(Scope::Global) {
        Scope::Global => "global",
        Scope::Site => "site",
        Scope::Link => "link",
        Scope::Host => "host",
        Scope::Nowhere => "nowhere",
    }
}

/// keepalived: vrrp_ipaddress.c format_ipaddress(): `ADDR[/LEN] [brd B] dev IF scope S
/// [label L] [no_track] [preferred_lft forever] [set]` (the length only when it is not the whole
/// address; `set` while the address is installed).
fn address_line(vip: &VirtualAddress, interface: &str, set: bool) -> String {
    let full = match vip.address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let mut line = vip.address.to_string();
    if vip.prefix_len != full {
        let _ = write!(line, "/{}", vip.prefix_len);
    }
    if let Some(broadcast) = vip.broadcast {
        let _ = write!(line, " brd {broadcast}");
    }
    let device = vip.device.as_deref().unwrap_or(interface);
    let _ = write!(line, " dev {device} scope {}", scope_name(vip.scope));
    if let Some(label) = &vip.label {
        let _ = write!(line, " label {label}");
    }
    if vip.no_track {
        line.push_str(" no_track");
    }
    if vip.address.is_ipv6() {
        // vrrpd adds its addresses with infinite lifetimes.
        line.push_str(" preferred_lft forever");
    }
    if set {
        line.push_str(" set");
    }
    line
}

/// keepalived: notify.c cmd_str(): every argument in single quotes.
fn command_line(argv: &[String]) -> String {
    argv.iter().map(|arg| format!("'{arg}'")).collect::<Vec<_>>().join(" ")
}

/// Whole seconds of a keepalived setting kept in seconds.
fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs()
}

/// Local civil time as asctime() with microseconds (keepalived: utils.c ctime_us_r()):
/// `Wed Dec  2 02:29:03.836698 2026`.
fn local_time(epoch: Duration, utc_offset_seconds: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let seconds =
        i64::try_from(epoch.as_secs()).unwrap_or(i64::MAX).saturating_add(utc_offset_seconds);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    format!(
        "{weekday} {} {day:2} {:02}:{:02}:{:02}.{:06} {year}",
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        epoch.subsec_micros()
    )
}

/// The proleptic Gregorian date of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn epoch_text(epoch: Duration) -> String {
    format!("{}.{:06}", epoch.as_secs(), epoch.subsec_micros())
}

/// `/tmp/keepalived.data`: keepalived's global definitions and VRRP topology, then its sync
/// groups and scripts (keepalived: vrrp_data.c dump_data_vrrp()).
pub fn data(snapshot: &Snapshot, clock: &DumpClock) -> String {
    let mut out = String::new();
    if let Some(config) = snapshot.config.as_deref() {
        global(&mut out, config);
    }
    let specs = specs(snapshot);
    if !snapshot.instances.is_empty() {
        out.push_str("------< VRRP Topology >------\n");
    }
    for instance in &snapshot.instances {
        let config = snapshot.config.as_deref();
        topology(&mut out, instance, specs.get(instance.name.as_str()).copied(), config, clock);
    }
    if let Some(config) = snapshot.config.as_deref() {
        sync_groups(&mut out, config, snapshot);
        scripts(&mut out, config, snapshot);
    }
    out
}

/// keepalived: global_data.c dump_global_data(), the lines that concern VRRP.
fn global(out: &mut String, config: &Config) {
    let global = &config.global;
    let garp = &global.garp;
    out.push_str("------< Global definitions >------\n");
    if let Some(router_id) = &global.router_id {
        let _ = writeln!(out, " Router ID = {router_id}");
    }
    let _ = writeln!(out, " VRRP IPv4 mcast group = {}", global.mcast_group4);
    let _ = writeln!(out, " VRRP IPv6 mcast group = {}", global.mcast_group6);
    let _ = writeln!(out, " Gratuitous ARP delay = {}", whole_seconds(garp.master_delay));
    let _ = writeln!(out, " Gratuitous ARP repeat = {}", garp.master_repeat);
    let refresh = garp.master_refresh.map_or(0, whole_seconds);
    let _ = writeln!(out, " Gratuitous ARP refresh timer = {refresh}");
    let _ = writeln!(out, " Gratuitous ARP refresh repeat = {}", garp.master_refresh_repeat);
    let lower_delay = whole_seconds(garp.lower_prio_delay);
    let _ = writeln!(out, " Gratuitous ARP lower priority delay = {lower_delay}");
    let _ = writeln!(out, " Gratuitous ARP lower priority repeat = {}", garp.lower_prio_repeat);
    // keepalived prints the global garp_extra_if whenever set, and it starts at 0 ("VMAC = 0s").
    let (kind, seconds) = global
        .garp_extra_if
        .map_or(("VMAC", 0), |extra| (extra_kind(extra.all), whole_seconds(extra.interval)));
    let _ = writeln!(out, " Gratuitous ARP for each secondary {kind} = {seconds}s");
    let _ = writeln!(out, " Gratuitous ARP interval = {:.6}", global.garp_interval.as_secs_f64());
    let _ = writeln!(out, " Gratuitous NA interval = {:.6}", global.gna_interval.as_secs_f64());
    let _ = writeln!(out, " VRRP default protocol version = {}", global.version.number());
    let check = yes_no(global.check_unicast_src, "true", "false");
    let _ = writeln!(out, " VRRP check unicast_src = {check}");
    let skip = yes_no(global.skip_check_adv_addr, "true", "false");
    let _ = writeln!(out, " VRRP skip check advert addresses = {skip}");
    let _ = writeln!(out, " VRRP strict mode = {}", yes_no(global.strict, "true", "false"));
    // keepalived global_data.c dump_global_data(): each only when set.
    if let Some(prefix) = &global.vmac_prefix {
        let _ = writeln!(out, " VMAC prefix = {prefix}");
    }
    if let Some(prefix) = &global.vmac_addr_prefix {
        let _ = writeln!(out, " VMAC address prefix = {prefix}");
    }
}

/// keepalived's word for what `garp_extra_if` covers: every interface (`all`), or VMACs only.
fn extra_kind(all: bool) -> &'static str {
    if all {
        "i/f"
    } else {
        "VMAC"
    }
}

/// keepalived: vrrp_data.c dump_vrrp(), one instance.
fn topology(
    out: &mut String,
    instance: &InstanceSnapshot,
    spec: Option<&Instance>,
    config: Option<&Config>,
    clock: &DumpClock,
) {
    let _ = writeln!(out, " VRRP Instance = {}", instance.name);
    let _ = writeln!(out, "   VRRP Version = {}", instance.version.number());
    if let Some(group) = config.and_then(|config| config.sync_group_of(&instance.name)) {
        let _ = writeln!(out, "   Sync group = {}", group.name);
    }
    if instance.family == Family::Ipv6 {
        out.push_str("   Using Native IPv6\n");
    }
    let _ = writeln!(out, "   State = {}", instance.state);
    if instance.state == State::Backup {
        if let Some(heard) = instance.statistics.last_heard {
            let _ = writeln!(out, "   Master router = {}", heard.source);
            let _ = writeln!(out, "   Master priority = {}", heard.priority);
            if instance.version == Version::V3 {
                let seconds = instance.master_adver_interval.as_duration().as_secs_f64();
                let _ = writeln!(out, "   Master advert int = {seconds:.2} sec");
            }
        }
    }
    let unicast = spec.is_some_and(|spec| !spec.unicast_peers.is_empty());
    if unicast {
        out.push_str("   Flags:\n     Using unicast\n");
    } else {
        out.push_str("   Flags: none\n");
    }
    // vrrpd has no pending state: the state it wants is the state it is in.
    let _ = writeln!(out, "   Wantstate = {}", instance.state);
    if let Some(transition) = instance.statistics.last_transition {
        let epoch = clock.epoch_seconds(transition.at);
        let local = local_time(epoch, clock.utc_offset_seconds);
        let _ = writeln!(out, "   Last transition = {} ({local})", epoch_text(epoch));
    }
    // keepalived vrrp_data.c dump_vrrp(): with a VMAC, its line, and the interface is the
    // macvlan on the configured one.
    match spec.and_then(|spec| spec.vmac.as_ref()) {
        Some(vmac) => {
            let xmit_base = if vmac.xmit_base { "true" } else { "false" };
            let _ = writeln!(
                out,
                "   Use VMAC, i/f name {}, is_up = true, xmit_base = {xmit_base}",
                vmac.name
            );
            let base = if vmac.xmit_base { ", xmit base i/f" } else { "" };
            let _ =
                writeln!(out, "   Interface = {}, vmac on {}{base}", vmac.name, instance.interface);
        }
        None => {
            let _ = writeln!(out, "   Interface = {}", instance.interface);
        }
    }
    if let Some(spec) = spec {
        if spec.dont_track_primary {
            out.push_str("   VRRP interface tracking disabled\n");
        }
    }
    if config.is_some_and(|config| config.global.strict) {
        out.push_str("   Enforcing strict VRRP compliance\n");
    }
    let configured = spec.is_some_and(|spec| spec.source_ip.is_some());
    let from_config = yes_no(configured, " (from configuration)", "");
    let _ = writeln!(out, "   Using src_ip = {}{from_config}", instance.primary_address);
    if let (false, Some(config)) = (unicast, config) {
        // The instance's own group (`mcast_dst_ip`), else the global one.
        let group = spec.and_then(|spec| spec.mcast_group).unwrap_or(match instance.family {
            Family::Ipv4 => IpAddr::from(config.global.mcast_group4),
            Family::Ipv6 => IpAddr::from(config.global.mcast_group6),
        });
        let _ = writeln!(out, "   Multicast address {group}");
    }
    if let Some(spec) = spec {
        let garp = &spec.garp;
        let _ = writeln!(out, "   Gratuitous ARP delay = {}", whole_seconds(garp.master_delay));
        let _ = writeln!(out, "   Gratuitous ARP repeat = {}", garp.master_repeat);
        let refresh = garp.master_refresh.map_or(0, whole_seconds);
        let _ = writeln!(out, "   Gratuitous ARP refresh = {refresh}");
        let _ = writeln!(out, "   Gratuitous ARP refresh repeat = {}", garp.master_refresh_repeat);
        let lower_delay = whole_seconds(garp.lower_prio_delay);
        let _ = writeln!(out, "   Gratuitous ARP lower priority delay = {lower_delay}");
        let _ =
            writeln!(out, "   Gratuitous ARP lower priority repeat = {}", garp.lower_prio_repeat);
        // keepalived only when it has an effect (vrrp.c vrrp_complete_instance() zeroes it
        // otherwise), which here means `all`: vrrpd's spec keeps only that case. keepalived
        // follows it with the next such ARP's time, which the dump does not know.
        if let Some(interval) = spec.garp_extra_if {
            let seconds = whole_seconds(interval);
            let kind = extra_kind(true);
            let _ = writeln!(out, "   Gratuitous ARP for each secondary {kind} = {seconds}");
        }
    }
    // keepalived vrrp_data.c dump_vrrp(): the two answers, keepalived's defaults without a spec.
    let lower_no_advert = spec.is_some_and(|spec| spec.lower_prio_no_advert);
    let higher_advert = spec.is_some_and(|spec| spec.higher_prio_send_advert);
    let _ =
        writeln!(out, "   Send advert after receive lower priority advert = {}", !lower_no_advert);
    let _ = writeln!(out, "   Send advert after receive higher priority advert = {higher_advert}");
    let _ = writeln!(out, "   Virtual Router ID = {}", instance.vrid);
    let _ = writeln!(out, "   Priority = {}", instance.base_priority);
    let _ = writeln!(out, "   Effective priority = {}", instance.effective_priority);
    let interval = instance.advert_interval.as_duration();
    match instance.version {
        Version::V2 => {
            let _ = writeln!(out, "   Advert interval = {} sec", interval.as_secs());
        }
        Version::V3 => {
            let _ = writeln!(out, "   Advert interval = {} milli-sec", interval.as_millis());
            if instance.state == State::Backup {
                let master = instance.master_adver_interval.as_duration().as_millis();
                let _ = writeln!(out, "   Master advert interval = {master} milli-sec");
            }
        }
    }
    if let Some(spec) = spec {
        let _ = writeln!(out, "   Accept = {}", yes_no(spec.accept, "enabled", "disabled"));
    }
    let _ = writeln!(out, "   Preempt = {}", yes_no(instance.preempt, "enabled", "disabled"));
    let Some(spec) = spec else { return };
    if !spec.preempt_delay.is_zero() {
        let _ = writeln!(out, "   Preempt delay = {} secs", spec.preempt_delay.as_secs_f64());
    }
    out.push_str("   Promote_secondaries = disabled\n");
    match (spec.auth_pass, spec.auth_ah) {
        (Some(_), true) => out.push_str("   Authentication type = IPSEC_AH\n"),
        // keepalived 2.2 prints the password here; the file needs no secret to be useful.
        (Some(_), false) => {
            out.push_str("   Authentication type = SIMPLE_PASSWORD\n   Password = ********\n")
        }
        (None, _) if instance.version == Version::V2 => {
            out.push_str("   Authentication type = none\n")
        }
        (None, _) => {}
    }
    if !spec.virtual_addresses.is_empty() {
        let _ = writeln!(out, "   Virtual IP ({}):", spec.virtual_addresses.len());
        for vip in &spec.virtual_addresses {
            let line = address_line(vip, &spec.interface, instance.holds_addresses);
            let _ = writeln!(out, "     {line}");
        }
    }
    if !spec.excluded_addresses.is_empty() {
        out.push_str("   Virtual IP Excluded :\n");
        for vip in &spec.excluded_addresses {
            let line = address_line(vip, &spec.interface, instance.holds_addresses);
            let _ = writeln!(out, "     {line}");
        }
    }
    if unicast {
        // What the advertisements carry: 255 over IPv4 unless set; over IPv6, unless set, the
        // kernel's default hop limit, which the dump does not read.
        let ttl = match instance.family {
            Family::Ipv4 => Some(spec.unicast_ttl.unwrap_or(u8::MAX)),
            Family::Ipv6 => spec.unicast_ttl,
        };
        if let Some(ttl) = ttl {
            let _ = writeln!(out, "   Unicast TTL = {ttl}");
        }
        let check = yes_no(spec.check_unicast_src, "yes", "no");
        let _ = writeln!(out, "   Check unicast src : {check}");
        out.push_str("   Unicast Peer :\n");
        for peer in &spec.unicast_peers {
            let (min, max) = (peer.min_ttl.unwrap_or(0), peer.max_ttl.unwrap_or(255));
            let _ = writeln!(out, "     {} min_ttl {min} max_ttl {max}", peer.address);
        }
    }
    if !spec.track_interfaces.is_empty() {
        out.push_str("   Tracked interfaces :\n");
        for tracked in &spec.track_interfaces {
            let reverse = yes_no(tracked.reverse, " reverse", "");
            let _ = writeln!(out, "     {} weight {}{reverse}", tracked.name, tracked.weight);
        }
    }
    if !spec.track_scripts.is_empty() {
        out.push_str("   Tracked scripts :\n");
        for tracked in &spec.track_scripts {
            let reverse = yes_no(tracked.reverse, " reverse", "");
            let _ = writeln!(out, "     {} weight {}{reverse}", tracked.name, tracked.weight);
        }
    }
    out.push_str("   Using smtp notification = no\n");
    out.push_str("   Notify deleted = Fault\n");
    let notify = &spec.notify;
    for (kind, command) in [
        ("Backup", &notify.backup),
        ("Master", &notify.master),
        ("Fault", &notify.fault),
        ("Stop", &notify.stop),
        ("Generic", &notify.any),
    ] {
        if let Some(command) = command {
            let _ = writeln!(out, "   {kind} state transition script = {}", notify_text(command));
        }
    }
    out.push_str("   Notify priority changes = false\n");
}

/// keepalived: vrrp_data.c dump_notify_script() prints the command and the uid:gid it runs
/// as; vrrpd resolves the user when it runs the script, so it names the user instead.
fn notify_text(command: &Command) -> String {
    let mut text = command_line(&command.argv);
    if let Some(run_as) = &command.run_as {
        let _ = write!(text, ", user {}", run_as.user);
        if let Some(group) = &run_as.group {
            let _ = write!(text, ":{group}");
        }
    }
    text
}

/// keepalived: vrrp_data.c dump_sync_group().
fn sync_groups(out: &mut String, config: &Config, snapshot: &Snapshot) {
    if config.sync_groups.is_empty() {
        return;
    }
    out.push_str("------< VRRP Sync groups >------\n");
    for group in &config.sync_groups {
        let states: Vec<State> = snapshot
            .instances
            .iter()
            .filter(|instance| group.members.contains(&instance.name))
            .map(|instance| instance.state)
            .collect();
        // vrrpd keeps no state of a group (its members move alone, bar faults): shown as
        // FAULT while any member is (the fault is the group's), else its members' highest.
        let state = if states.contains(&State::Fault) {
            State::Fault
        } else if states.contains(&State::Master) {
            State::Master
        } else if states.contains(&State::Backup) {
            State::Backup
        } else {
            State::Initialize
        };
        let _ = writeln!(out, " VRRP Sync Group = {}, {state}", group.name);
        out.push_str("   VRRP member instances :\n");
        for member in &group.members {
            let _ = writeln!(out, "     {member}");
        }
    }
}

/// keepalived: vrrp_data.c dump_vscript(); the exporters read `Status` and `State`.
fn scripts(out: &mut String, config: &Config, snapshot: &Snapshot) {
    if config.scripts.is_empty() {
        return;
    }
    out.push_str("------< VRRP Scripts >------\n");
    for script in &config.scripts {
        let passed = snapshot.scripts.get(&script.name).copied().unwrap_or(!script.init_fail);
        let _ = writeln!(out, " VRRP Script = {}", script.name);
        let _ = writeln!(out, "   Command = {}", command_line(&script.argv));
        let _ = writeln!(out, "   Interval = {} sec", script.interval.as_secs());
        let _ = writeln!(out, "   Timeout = {} sec", script.timeout.as_secs());
        let reverse = yes_no(script.reverse, " reverse", "");
        let _ = writeln!(out, "   Weight = {}{reverse}", script.weight);
        let _ = writeln!(out, "   Rise = {}", script.rise);
        let _ = writeln!(out, "   Fall = {}", script.fall);
        let _ = writeln!(out, "   Status = {}", yes_no(passed, "GOOD", "BAD"));
        let tracking: Vec<&Instance> = config
            .instances
            .iter()
            .filter(|spec| spec.track_scripts.iter().any(|tracked| tracked.name == script.name))
            .collect();
        out.push_str("   VRRP instances :\n");
        for spec in tracking {
            for tracked in spec.track_scripts.iter().filter(|t| t.name == script.name) {
                let reverse = yes_no(tracked.reverse, " reverse", "");
                let _ = writeln!(out, "     {}, weight {}{reverse}", spec.name, tracked.weight);
            }
        }
        // Scripts run in tasks of their own and are never waited for: idle between runs as
        // far as a reader of the dump can tell.
        out.push_str("   State = idle\n");
    }
}

/// `/tmp/keepalived.stats` (keepalived: vrrp_print.c vrrp_print_stats()).
pub fn stats(snapshot: &Snapshot, baseline: &StatsBaseline) -> String {
    let mut out = String::new();
    for instance in &snapshot.instances {
        let counters = baseline.counters(instance);
        let _ = writeln!(out, "VRRP Instance: {}", instance.name);
        out.push_str("  Advertisements:\n");
        let _ = writeln!(out, "    Received: {}", counters.advert_rcvd);
        let _ = writeln!(out, "    Sent: {}", counters.advert_sent);
        let _ = writeln!(out, "  Became master: {}", counters.become_master);
        let _ = writeln!(out, "  Released master: {}", counters.release_master);
        out.push_str(concat!(
            "  Packet Errors:\n",
            "    Length: 0\n",
            "    TTL: 0\n",
            "    Invalid Type: 0\n",
            "    Advertisement Interval: 0\n",
            "    Address List: 0\n",
            "  Authentication Errors:\n",
            "    Invalid Type: 0\n",
            "    Type Mismatch: 0\n",
            "    Failure: 0\n",
            "  Priority Zero:\n",
        ));
        let _ = writeln!(out, "    Received: {}", counters.pri_zero_rcvd);
        let _ = writeln!(out, "    Sent: {}", counters.pri_zero_sent);
    }
    out
}

/// One element of keepalived.json's array (keepalived: vrrp_json.c, JSON version 1).
#[derive(Serialize)]
struct JsonInstance {
    data: JsonData,
    stats: JsonStats,
}

/// keepalived's field names, in its order; flags are 0/1 or true/false as keepalived writes
/// each, and durations are seconds, whole numbers where whole (the exporters decode
/// `garp_delay` into an integer).
#[derive(Serialize)]
struct JsonData {
    iname: String,
    dont_track_primary: u8,
    skip_check_adv_addr: u8,
    strict_mode: u8,
    vmac_ifname: String,
    ifp_ifname: String,
    master_priority: u8,
    last_transition: f64,
    garp_delay: serde_json::Number,
    garp_refresh: u64,
    garp_rep: u32,
    garp_refresh_rep: u32,
    garp_lower_prio_delay: u64,
    garp_lower_prio_rep: u32,
    lower_prio_no_advert: u8,
    higher_prio_send_advert: u8,
    vrid: u8,
    base_priority: u8,
    effective_priority: u8,
    vipset: bool,
    promote_secondaries: bool,
    adver_int: serde_json::Number,
    master_adver_int: serde_json::Number,
    accept: u8,
    nopreempt: bool,
    preempt_delay: u64,
    state: u8,
    wantstate: u8,
    version: u8,
    smtp_alert: bool,
    notify_deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_backup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_master: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_fault: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_stop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_ifp: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_script: Vec<String>,
    auth_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_data: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonStats {
    advert_rcvd: u64,
    advert_sent: u64,
    become_master: u64,
    release_master: u64,
    packet_len_err: u64,
    advert_interval_err: u64,
    ip_ttl_err: u64,
    invalid_type_rcvd: u64,
    addr_list_err: u64,
    invalid_authtype: u64,
    authtype_mismatch: u64,
    auth_failure: u64,
    pri_zero_rcvd: u64,
    pri_zero_sent: u64,
}

/// Seconds as keepalived's `%g` writes them: a whole number when whole.
fn seconds_number(duration: Duration) -> serde_json::Number {
    if duration.subsec_nanos() == 0 {
        serde_json::Number::from(duration.as_secs())
    } else {
        serde_json::Number::from_f64(duration.as_secs_f64()).unwrap_or_else(|| 0.into())
    }
}

/// `/tmp/keepalived.json` (keepalived: vrrp_json.c vrrp_json_dump(), version 1: an array).
pub fn json(snapshot: &Snapshot, clock: &DumpClock, baseline: &StatsBaseline) -> String {
    let specs = specs(snapshot);
    let config = snapshot.config.as_deref();
    let instances: Vec<JsonInstance> = snapshot
        .instances
        .iter()
        .map(|instance| {
            let spec = specs.get(instance.name.as_str()).copied();
            JsonInstance {
                data: json_data(instance, spec, config, clock),
                stats: json_stats(baseline.counters(instance)),
            }
        })
        .collect();
    serde_json::to_string(&instances).unwrap_or_else(|_| "[]".to_owned())
}

fn json_data(
    instance: &InstanceSnapshot,
    spec: Option<&Instance>,
    config: Option<&Config>,
    clock: &DumpClock,
) -> JsonData {
    let global = config.map(|config| &config.global);
    let script_argv = |name: &str| {
        config
            .and_then(|config| config.script(name))
            .map_or_else(|| name.to_owned(), |script| command_line(&script.argv))
    };
    let notify = |pick: fn(&vrrp_config::Notify) -> &Option<Command>| {
        spec.and_then(|spec| pick(&spec.notify).as_ref()).map(|command| command_line(&command.argv))
    };
    let addresses = |pick: fn(&Instance) -> &Vec<VirtualAddress>| -> Vec<String> {
        let line =
            |spec: &Instance, vip| address_line(vip, &spec.interface, instance.holds_addresses);
        spec.map(|spec| pick(spec).iter().map(|vip| line(spec, vip)).collect()).unwrap_or_default()
    };
    let master_priority = match (instance.state, instance.statistics.last_heard) {
        (State::Backup, Some(heard)) => heard.priority,
        _ => 0,
    };
    let last_transition = instance
        .statistics
        .last_transition
        // keepalived writes `%f`: microseconds.
        .map_or(0.0, |transition| clock.epoch_seconds(transition.at).as_micros() as f64 / 1e6);
    let state = state_number(instance.state);
    let vmac = spec.and_then(|spec| spec.vmac.as_ref()).map(|vmac| vmac.name.clone());
    JsonData {
        iname: instance.name.clone(),
        dont_track_primary: spec.is_some_and(|spec| spec.dont_track_primary).into(),
        skip_check_adv_addr: global.is_some_and(|global| global.skip_check_adv_addr).into(),
        strict_mode: global.is_some_and(|global| global.strict).into(),
        // keepalived vrrp_json.c: `ifp` is the macvlan when there is one.
        vmac_ifname: vmac.clone().unwrap_or_default(),
        ifp_ifname: vmac.unwrap_or_else(|| instance.interface.clone()),
        master_priority,
        last_transition,
        garp_delay: seconds_number(spec.map(|spec| spec.garp.master_delay).unwrap_or_default()),
        garp_refresh: spec.and_then(|spec| spec.garp.master_refresh).map_or(0, whole_seconds),
        garp_rep: spec.map_or(0, |spec| spec.garp.master_repeat),
        garp_refresh_rep: spec.map_or(0, |spec| spec.garp.master_refresh_repeat),
        garp_lower_prio_delay: spec.map_or(0, |spec| whole_seconds(spec.garp.lower_prio_delay)),
        garp_lower_prio_rep: spec.map_or(0, |spec| spec.garp.lower_prio_repeat),
        lower_prio_no_advert: spec.is_some_and(|spec| spec.lower_prio_no_advert).into(),
        higher_prio_send_advert: spec.is_some_and(|spec| spec.higher_prio_send_advert).into(),
        vrid: instance.vrid,
        base_priority: instance.base_priority,
        effective_priority: instance.effective_priority,
        vipset: instance.holds_addresses,
        promote_secondaries: false,
        adver_int: seconds_number(instance.advert_interval.as_duration()),
        master_adver_int: seconds_number(instance.master_adver_interval.as_duration()),
        accept: spec.is_some_and(|spec| spec.accept).into(),
        nopreempt: !instance.preempt,
        preempt_delay: spec.map_or(0, |spec| spec.preempt_delay.as_secs()),
        state,
        wantstate: state,
        version: instance.version.number(),
        smtp_alert: false,
        notify_deleted: false,
        script_backup: notify(|notify| &notify.backup),
        script_master: notify(|notify| &notify.master),
        script_fault: notify(|notify| &notify.fault),
        script_stop: notify(|notify| &notify.stop),
        script: notify(|notify| &notify.any),
        vips: addresses(|spec| &spec.virtual_addresses),
        evips: addresses(|spec| &spec.excluded_addresses),
        track_ifp: spec
            .map(|spec| spec.track_interfaces.iter().map(|t| t.name.clone()).collect())
            .unwrap_or_default(),
        track_script: spec
            .map(|spec| spec.track_scripts.iter().map(|t| script_argv(&t.name)).collect())
            .unwrap_or_default(),
        auth_type: match spec.map(|spec| (spec.auth_pass.is_some(), spec.auth_ah)) {
            Some((true, true)) => 2,
            Some((true, false)) => 1,
            _ => 0,
        },
        // keepalived 2.2 writes the password; later versions mask it, as here.
        auth_data: spec.and_then(|spec| spec.auth_pass).map(|_| "********"),
    }
}

fn json_stats(counters: Counters) -> JsonStats {
    JsonStats {
        advert_rcvd: counters.advert_rcvd,
        advert_sent: counters.advert_sent,
        become_master: counters.become_master,
        release_master: counters.release_master,
        packet_len_err: 0,
        advert_interval_err: 0,
        ip_ttl_err: 0,
        invalid_type_rcvd: 0,
        addr_list_err: 0,
        invalid_authtype: 0,
        authtype_mismatch: 0,
        auth_failure: 0,
        pri_zero_rcvd: counters.pri_zero_rcvd,
        pri_zero_sent: counters.pri_zero_sent,
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, net::Ipv4Addr, path::Path};

    use vrrp_node::Node;
    use vrrp_proto::{Advertisement, Centiseconds};

    use super::*;

    const CONFIG: &str = "global_defs {\n router_id r1\n}\n\
        vrrp_script chk {\n script \"/usr/bin/check it\"\n weight -20\n}\n\
        vrrp_instance VI_1 {\n interface ens3\n virtual_router_id 51\n priority 150\n \
        advert_int 1\n track_interface {\n trk\n }\n track_script {\n chk\n }\n \
        notify_master \"/etc/vrrp/master.sh VI_1\"\n \
        virtual_ipaddress {\n 192.0.2.100/24\n }\n \
        virtual_ipaddress_excluded {\n 192.0.2.102 dev lan\n }\n}\n\
        vrrp_instance VI_3 {\n version 3\n interface ens3\n virtual_router_id 52\n \
        priority 100\n advert_int 0.5\n nopreempt\n unicast_src_ip 192.0.2.2\n \
        unicast_peer {\n 192.0.2.1\n }\n virtual_ipaddress {\n 192.0.2.101\n }\n}\n";

    /// VI_1 became MASTER, then FAULT (its tracked interface went down); VI_3 is BACKUP to a
    /// master at 192.0.2.1 priority 150. Returns the node and the time of the last input.
    fn node() -> (Node, Instant) {
        let config = vrrp_config::parse_str(CONFIG, Path::new("t.conf")).unwrap().config;
        let start = Instant::now();
        let mut node = Node::new();
        node.handle_link(start, "ens3", true);
        node.handle_link(start, "trk", true);
        let primaries = HashMap::from([("VI_1".to_owned(), Ipv4Addr::new(192, 0, 2, 9).into())]);
        node.handle_reload(start, config, &primaries).unwrap();
        let (vi3, _) = node.instances().find(|(_, view)| view.name() == "VI_3").unwrap();
        let master = IpAddr::from(Ipv4Addr::new(192, 0, 2, 1));
        let vip = IpAddr::from(Ipv4Addr::new(192, 0, 2, 101));
        let advert =
            Advertisement::new(Version::V3, 52, 150, Centiseconds::new(50), vec![vip]).unwrap();
        let mut now = start;
        while let Some(at) = node.poll_timeout().filter(|at| *at <= start + Duration::from_secs(5))
        {
            now = at;
            node.handle_advertisement(now, vi3, master, &advert);
            node.handle_timeout(now);
        }
        node.handle_link(now, "trk", false);
        while node.poll_output().is_some() {}
        (node, now)
    }

    fn clock(now: Instant) -> DumpClock {
        // 2026-12-02 02:29:03.5 UTC, one hour east of UTC.
        DumpClock {
            now,
            wall: UNIX_EPOCH + Duration::from_millis(1_796_178_543_500),
            utc_offset_seconds: 3600,
        }
    }

    #[test]
    fn a_sync_group_is_faulty_with_its_member() {
        let text = format!("{CONFIG}vrrp_sync_group G1 {{\n group {{\n VI_1\n VI_3\n }}\n}}\n");
        let config = vrrp_config::parse_str(&text, Path::new("t.conf")).unwrap().config;
        let (node, now) = node();
        let snapshot = Snapshot { config: Some(config.into()), ..node.snapshot() };
        let text = data(&snapshot, &clock(now));
        let group = "------< VRRP Sync groups >------\n VRRP Sync Group = G1, FAULT\n   \
                     VRRP member instances :\n     VI_1\n     VI_3\n------< VRRP Scripts >";
        assert!(text.contains(group), "{text}");
        assert!(text.contains(" VRRP Instance = VI_3\n   VRRP Version = 3\n   Sync group = G1\n"));
    }

    #[test]
    fn a_vmac_is_written_as_keepalived_writes_it() {
        let text = CONFIG.replace(
            " interface ens3\n virtual_router_id 51",
            " interface ens3\n use_vmac\n virtual_router_id 51",
        );
        let config = vrrp_config::parse_str(&text, Path::new("t.conf")).unwrap().config;
        let (node, now) = node();
        let snapshot = Snapshot { config: Some(config.into()), ..node.snapshot() };
        let text = data(&snapshot, &clock(now));
        let lines = "   Use VMAC, i/f name vrrp.51, is_up = true, xmit_base = false\n   \
                     Interface = vrrp.51, vmac on ens3\n";
        assert!(text.contains(lines), "{text}");
        let parsed: serde_json::Value =
            serde_json::from_str(&json(&snapshot, &clock(now), &StatsBaseline::default())).unwrap();
        let vi1 = &parsed[0]["data"];
        assert_eq!(
            (&vi1["vmac_ifname"], &vi1["ifp_ifname"]),
            (&"vrrp.51".into(), &"vrrp.51".into())
        );
        assert_eq!(
            (&parsed[1]["data"]["vmac_ifname"], &parsed[1]["data"]["ifp_ifname"]),
            (&"".into(), &"ens3".into())
        );
    }

    #[test]
    fn garp_extra_if_is_written_where_keepalived_writes_it() {
        let text =
            CONFIG.replace(" router_id r1\n", " router_id r1\n vrrp_garp_extra_if 7\n").replace(
                " advert_int 1\n track_interface",
                " advert_int 1\n garp_extra_if all 3\n track_interface",
            );
        let config = vrrp_config::parse_str(&text, Path::new("t.conf")).unwrap().config;
        let (node, now) = node();
        let snapshot = Snapshot { config: Some(config.into()), ..node.snapshot() };
        let text = data(&snapshot, &clock(now));
        let global = " Gratuitous ARP lower priority repeat = 5\n \
                      Gratuitous ARP for each secondary VMAC = 7s\n";
        assert!(text.contains(global), "{text}");
        let vi1 = "   Gratuitous ARP lower priority repeat = 5\n   \
                   Gratuitous ARP for each secondary i/f = 3\n   Send advert";
        assert!(text.contains(vi1), "{text}");
        // VI_3 inherits the global one, which without `all` has no effect: no line.
        assert_eq!(text.matches("Gratuitous ARP for each secondary").count(), 2, "{text}");
    }

    #[test]
    fn addresses_are_written_as_keepalived_formats_them() {
        let vip = |text: &str| VirtualAddress {
            address: text.parse().unwrap(),
            prefix_len: if text.contains(':') { 128 } else { 32 },
            device: None,
            label: None,
            scope: None,
            broadcast: None,
            no_track: false,
            use_vmac: false,
        };
        let plain = vip("192.0.2.1");
        assert_eq!(address_line(&plain, "eth0", false), "192.0.2.1 dev eth0 scope global");
        assert_eq!(address_line(&plain, "eth0", true), "192.0.2.1 dev eth0 scope global set");
        let v6 = VirtualAddress { prefix_len: 64, scope: Some(Scope::Link), ..vip("2001:db8::1") };
        assert_eq!(
            address_line(&v6, "eth0", false),
            "2001:db8::1/64 dev eth0 scope link preferred_lft forever"
        );
        let labelled = VirtualAddress {
            prefix_len: 24,
            device: Some("eth1".into()),
            label: Some("eth1:vip".into()),
            broadcast: Some(Ipv4Addr::new(192, 0, 2, 255)),
            no_track: true,
            ..vip("192.0.2.1")
        };
        assert_eq!(
            address_line(&labelled, "eth0", true),
            "192.0.2.1/24 brd 192.0.2.255 dev eth1 scope global label eth1:vip no_track set"
        );
        assert_eq!(command_line(&["/bin/echo".into(), "a b".into()]), "'/bin/echo' 'a b'");
    }

    #[test]
    fn local_time_is_asctime_with_microseconds() {
        let epoch = Duration::from_micros(1_796_178_543_836_698);
        assert_eq!(local_time(epoch, 0), "Wed Dec  2 02:29:03.836698 2026");
        assert_eq!(local_time(epoch, -3 * 3600), "Tue Dec  1 23:29:03.836698 2026");
        assert_eq!(local_time(Duration::ZERO, 0), "Thu Jan  1 00:00:00.000000 1970");
        assert_eq!(local_time(Duration::from_secs(951_782_400), 0).get(..10), Some("Tue Feb 29"));
    }

    #[test]
    fn the_data_file_has_keepalived_layout() {
        let (node, now) = node();
        let text = data(&node.snapshot(), &clock(now));
        let expected = "\
------< Global definitions >------
 Router ID = r1
 VRRP IPv4 mcast group = 224.0.0.18
 VRRP IPv6 mcast group = ff02::12
 Gratuitous ARP delay = 5
 Gratuitous ARP repeat = 5
 Gratuitous ARP refresh timer = 0
 Gratuitous ARP refresh repeat = 1
 Gratuitous ARP lower priority delay = 5
 Gratuitous ARP lower priority repeat = 5
 Gratuitous ARP for each secondary VMAC = 0s
 Gratuitous ARP interval = 0.000000
 Gratuitous NA interval = 0.000000
 VRRP default protocol version = 2
 VRRP check unicast_src = false
 VRRP skip check advert addresses = false
 VRRP strict mode = false
------< VRRP Topology >------
 VRRP Instance = VI_1
   VRRP Version = 2
   State = FAULT
   Flags: none
   Wantstate = FAULT
   Last transition = 1796178543.500000 (Wed Dec  2 03:29:03.500000 2026)
   Interface = ens3
   Using src_ip = 192.0.2.9
   Multicast address 224.0.0.18
   Gratuitous ARP delay = 5
   Gratuitous ARP repeat = 5
   Gratuitous ARP refresh = 0
   Gratuitous ARP refresh repeat = 1
   Gratuitous ARP lower priority delay = 5
   Gratuitous ARP lower priority repeat = 5
   Send advert after receive lower priority advert = true
   Send advert after receive higher priority advert = true
   Virtual Router ID = 51
   Priority = 150
   Effective priority = 150
   Advert interval = 1 sec
   Accept = enabled
   Preempt = enabled
   Promote_secondaries = disabled
   Authentication type = none
   Virtual IP (1):
     192.0.2.100/24 dev ens3 scope global
   Virtual IP Excluded :
     192.0.2.102 dev lan scope global
   Tracked interfaces :
     trk weight 0
   Tracked scripts :
     chk weight -20
   Using smtp notification = no
   Notify deleted = Fault
   Master state transition script = '/etc/vrrp/master.sh' 'VI_1'
   Notify priority changes = false
 VRRP Instance = VI_3
   VRRP Version = 3
   State = BACKUP
   Master router = 192.0.2.1
   Master priority = 150
   Master advert int = 0.50 sec
   Flags:
     Using unicast
   Wantstate = BACKUP
   Last transition = 1796178539.085937 (Wed Dec  2 03:28:59.085937 2026)
   Interface = ens3
   Using src_ip = 192.0.2.2 (from configuration)
   Gratuitous ARP delay = 5
   Gratuitous ARP repeat = 5
   Gratuitous ARP refresh = 0
   Gratuitous ARP refresh repeat = 1
   Gratuitous ARP lower priority delay = 5
   Gratuitous ARP lower priority repeat = 5
   Send advert after receive lower priority advert = true
   Send advert after receive higher priority advert = true
   Virtual Router ID = 52
   Priority = 100
   Effective priority = 100
   Advert interval = 500 milli-sec
   Master advert interval = 500 milli-sec
   Accept = enabled
   Preempt = disabled
   Promote_secondaries = disabled
   Virtual IP (1):
     192.0.2.101 dev ens3 scope global
   Unicast TTL = 255
   Check unicast src : no
   Unicast Peer :
     192.0.2.1 min_ttl 0 max_ttl 255
   Using smtp notification = no
   Notify deleted = Fault
   Notify priority changes = false
------< VRRP Scripts >------
 VRRP Script = chk
   Command = '/usr/bin/check' 'it'
   Interval = 1 sec
   Timeout = 1 sec
   Weight = -20
   Rise = 1
   Fall = 1
   Status = GOOD
   VRRP instances :
     VI_1, weight -20
   State = idle
";
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn the_stats_file_has_keepalived_layout_and_clearing_starts_it_again() {
        let (node, _) = node();
        let snapshot = node.snapshot();
        let vi1 = &snapshot.instances[0];
        let sent = vi1.statistics.advertisements_sent;
        assert!(sent > 0 && vi1.statistics.became_master == 1, "{vi1:?}");
        let mut baseline = StatsBaseline::default();
        let text = stats(&snapshot, &baseline);
        let block = format!(
            "VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: {sent}\n  \
             Became master: 1\n  Released master: 1\n  Packet Errors:\n    Length: 0\n    \
             TTL: 0\n    Invalid Type: 0\n    Advertisement Interval: 0\n    Address List: 0\n  \
             Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: 0\n  \
             Priority Zero:\n    Received: 0\n    Sent: 1\nVRRP Instance: VI_3\n"
        );
        assert!(text.starts_with(&block), "got:\n{text}");
        let received = snapshot.instances[1].statistics.advertisements_received;
        assert!(text.contains(&format!(
            "VRRP Instance: VI_3\n  Advertisements:\n    Received: {received}\n"
        )));
        baseline.clear(&snapshot);
        let cleared = stats(&snapshot, &baseline);
        let values = cleared.lines().filter(|line| line.starts_with("  ") && !line.ends_with(':'));
        let values: Vec<&str> = values.map(|line| line.rsplit(": ").next().unwrap()).collect();
        assert!(values.iter().all(|value| *value == "0"), "{cleared}");
        assert_eq!(cleared.lines().count(), text.lines().count());
    }

    #[test]
    fn the_json_has_keepalived_names_order_and_encodings() {
        let (node, now) = node();
        let text = json(&node.snapshot(), &clock(now), &StatsBaseline::default());
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (vi1, vi3) = (&parsed[0], &parsed[1]);
        assert_eq!(
            (vi1["data"]["iname"].as_str(), vi1["data"]["state"].as_u64()),
            (Some("VI_1"), Some(3))
        );
        assert_eq!(
            (vi3["data"]["iname"].as_str(), vi3["data"]["state"].as_u64()),
            (Some("VI_3"), Some(1))
        );
        assert_eq!(vi3["data"]["wantstate"], 1);
        assert_eq!(
            (vi1["data"]["master_priority"].as_u64(), vi3["data"]["master_priority"].as_u64()),
            (Some(0), Some(150))
        );
        // Decoded as integers by the exporters: whole numbers, written without a fraction.
        for field in ["garp_delay", "vrid", "state", "wantstate", "version", "base_priority"] {
            assert!(vi1["data"][field].is_u64(), "{field}: {}", vi1["data"][field]);
        }
        assert!(vi1["data"]["adver_int"].is_u64());
        assert_eq!(vi3["data"]["adver_int"].as_f64(), Some(0.5));
        assert_eq!(vi1["data"]["last_transition"].as_f64(), Some(1_796_178_543.5));
        assert_eq!(vi1["data"]["vips"][0], "192.0.2.100/24 dev ens3 scope global");
        assert_eq!(vi1["data"]["evips"][0], "192.0.2.102 dev lan scope global");
        assert_eq!(vi1["data"]["track_ifp"][0], "trk");
        assert_eq!(vi1["data"]["track_script"][0], "'/usr/bin/check' 'it'");
        assert_eq!(vi1["data"]["script_master"], "'/etc/vrrp/master.sh' 'VI_1'");
        assert_eq!(
            (vi1["data"]["nopreempt"].as_bool(), vi3["data"]["nopreempt"].as_bool()),
            (Some(false), Some(true))
        );
        assert_eq!(vi1["data"]["vipset"], false);
        assert_eq!(vi1["stats"]["become_master"], 1);
        assert_eq!(vi1["stats"]["pri_zero_sent"], 1);
        assert_eq!(
            vi3["stats"]["advert_rcvd"].as_u64(),
            Some(node.snapshot().instances[1].statistics.advertisements_received)
        );
        // keepalived 2.2.7's own file, in its order (the fields it writes for an instance
        // like VI_1; vrrpd adds the ones its configuration has after them in the same order).
        let keepalived = [
            "iname",
            "dont_track_primary",
            "skip_check_adv_addr",
            "strict_mode",
            "vmac_ifname",
            "ifp_ifname",
            "master_priority",
            "last_transition",
            "garp_delay",
            "garp_refresh",
            "garp_rep",
            "garp_refresh_rep",
            "garp_lower_prio_delay",
            "garp_lower_prio_rep",
            "lower_prio_no_advert",
            "higher_prio_send_advert",
            "vrid",
            "base_priority",
            "effective_priority",
            "vipset",
            "promote_secondaries",
            "adver_int",
            "master_adver_int",
            "accept",
            "nopreempt",
            "preempt_delay",
            "state",
            "wantstate",
            "version",
            "smtp_alert",
            "notify_deleted",
            "vips",
            "track_ifp",
            "auth_type",
            "advert_rcvd",
            "advert_sent",
            "become_master",
            "release_master",
            "packet_len_err",
            "advert_interval_err",
            "ip_ttl_err",
            "invalid_type_rcvd",
            "addr_list_err",
            "invalid_authtype",
            "authtype_mismatch",
            "auth_failure",
            "pri_zero_rcvd",
            "pri_zero_sent",
        ];
        let first = &text[..text.find("\"iname\":\"VI_3\"").unwrap()];
        let positions: Vec<usize> = keepalived
            .iter()
            .map(|key| {
                first.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} missing"))
            })
            .collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{first}");
    }
}
