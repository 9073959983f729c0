//! keepalived's tracking: what tracked interfaces, scripts and files make of an instance's
//! priority, and when they put it (and its sync group) in FAULT.

use std::{collections::HashMap, net::IpAddr};

use vrrp_config::{Instance, SyncGroup};

/// What the node knows of the world the instances track.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observations {
    /// Whether each interface is usable (up, with carrier); unknown ones are not.
    pub links: HashMap<String, bool>,
    /// The latest result of each tracking script; one not yet reported counts as passing
    /// unless its `init_fail` says otherwise (the caller seeds it).
    pub scripts: HashMap<String, bool>,
    /// The latest value read from each `track_file`; a file not read (or missing) holds 0,
    /// as keepalived reads a missing file.
    pub files: HashMap<String, i64>,
    /// Whether each `vrrp_track_process` has its quorum; one not reported has not.
    pub processes: HashMap<String, bool>,
    /// Whether each interface holds an address that an instance with `track_src_ip` speaks
    /// from, as last seen; one not seen yet is held (the start-up checks found it).
    pub sources: HashMap<(String, IpAddr), bool>,
}

impl Observations {
    fn link_usable(&self, name: &str) -> bool {
        self.links.get(name).copied().unwrap_or(false)
    }

    fn script_passed(&self, name: &str) -> bool {
        self.scripts.get(name).copied().unwrap_or(true)
    }

    fn source_held(&self, interface: &str, address: IpAddr) -> bool {
        self.sources.get(&(interface.to_owned(), address)).copied().unwrap_or(true)
    }

    fn file_value(&self, name: &str) -> i64 {
        self.files.get(name).copied().unwrap_or(0)
    }

    fn process_quorum(&self, name: &str) -> bool {
        self.processes.get(name).copied().unwrap_or(false)
    }
}

/// The most of a tracked file that is read (keepalived track_file.c process_track_file()
/// reads 127 bytes).
pub const TRACK_FILE_READ_LIMIT: usize = 127;

/// What keepalived makes of a tracked file's bytes (track_file.c process_track_file(): C's
/// `strtol(buf, NULL, 0)`): leading white space, an optional sign, then decimal, `0x` hex or
/// `0` octal digits up to the first other byte; no digits at all is 0. `None`: a number out
/// of range, which keepalived logs and ignores (the previous value stays).
pub fn track_file_value(bytes: &[u8]) -> Option<i64> {
    let bytes = &bytes[..bytes.len().min(TRACK_FILE_READ_LIMIT)];
    let mut rest = bytes.trim_ascii_start();
    let negative = match rest.first() {
        Some(b'-') => true,
        Some(b'+') => false,
        _ => {
            return digits(rest).and_then(|value| in_range(value, false));
        }
    };
    rest = &rest[1..];
    digits(rest).and_then(|value| in_range(value, negative))
}

/// The magnitude of the digits at the start of `bytes`, base from the prefix as strtol's 0.
fn digits(bytes: &[u8]) -> Option<u64> {
    let (radix, body) = match bytes {
        [b'0', b'x' | b'X', next, ..] if next.is_ascii_hexdigit() => (16, &bytes[2..]),
        [b'0', ..] => (8, bytes),
        _ => (10, bytes),
    };
    let mut value: u64 = 0;
    for byte in body {
        let Some(digit) = char::from(*byte).to_digit(radix) else { break };
        value = value.checked_mul(u64::from(radix))?.checked_add(u64::from(digit))?;
    }
    Some(value)
}

/// keepalived accepts INT32_MIN..=INT32_MAX + 1.
fn in_range(magnitude: u64, negative: bool) -> Option<i64> {
    let value = i64::try_from(magnitude).ok()?;
    let value = if negative { -value } else { value };
    (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1).contains(&value).then_some(value)
}

/// keepalived track_file.c update_track_file_status(), process_update_vrrp_track_file_status():
/// with weight 0 a non-zero value is a FAULT (a zero one, with `reverse`); otherwise the value
/// times the weight (negated with `reverse`), held within -254..253, is added to the priority,
/// and -254 is a FAULT.
fn file_effect(weight: i32, reverse: bool, value: i64) -> Option<Effect> {
    if weight == 0 {
        return ((value != 0) != reverse).then_some(Effect::Fault);
    }
    let sign = if reverse { -1 } else { 1 };
    let scaled = value.saturating_mul(i64::from(weight)).saturating_mul(sign);
    match scaled.clamp(-254, 253) {
        -254 => Some(Effect::Fault),
        0 => None,
        status => Some(Effect::Weight(status as i32)),
    }
}

/// keepalived vrrp_track.c initialise_process_tracking_priorities(),
/// process_update_track_process_status(): with weight 0, no quorum is a FAULT (quorum, with
/// `reverse`); a positive weight counts while there is quorum and a negative one while there
/// is none, `reverse` turning its sign.
fn process_effect(weight: i32, reverse: bool, quorum: bool) -> Option<Effect> {
    let sign = if reverse { -1 } else { 1 };
    match weight {
        0 => (quorum == reverse).then_some(Effect::Fault),
        w if (w > 0) == quorum => Some(Effect::Weight(w * sign)),
        _ => None,
    }
}

/// An instance's fault flag and effective priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracked {
    pub fault: bool,
    pub priority: u8,
}

/// A tracked item that acts on an instance now: what status readers show as the cause of its
/// effective priority or of its FAULT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjustment {
    pub item: TrackedItem,
    pub effect: Effect,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackedItem {
    /// The instance's own interface, or a `track_interface` one.
    Interface(String),
    /// A `track_script`.
    Script(String),
    /// A `track_file`.
    File(String),
    /// A `vrrp_track_process`.
    Process(String),
    /// `unicast_fault_no_peer` with no `unicast_peer`: a fault of the configuration itself.
    NoUnicastPeer,
    /// `track_src_ip`: the `unicast_src_ip` its interface no longer holds.
    SourceAddress(IpAddr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Fault,
    /// Added to the configured priority (negative: subtracted) before it is held within 1-254.
    Weight(i32),
}

/// The tracked items acting on `instance` now, in configuration order: `unicast_fault_no_peer`
/// without a peer is a fault; its own interface down is a fault (unless `dont_track_primary`); a tracked item of weight 0 that is down (or up, with `reverse`) is a fault;
/// otherwise a positive weight adds while the item is good and a negative one subtracts while
/// it is bad (keepalived vrrp_track.c).
pub fn adjustments(instance: &Instance, seen: &Observations) -> Vec<Adjustment> {
    let mut acting = Vec::new();
    // keepalived vrrp.c vrrp_complete_instance(): unicast_fault_no_peer without a peer is a
    // configuration fault, which nothing clears.
    if instance.unicast_fault_no_peer {
        acting.push(Adjustment { item: TrackedItem::NoUnicastPeer, effect: Effect::Fault });
    }
    // keepalived vrrp.c add_vrrp_to_interface(): with dont_track_primary the instance is
    // attached to its interface as VRRP_NOT_TRACK_IF, so the interface going down is no fault.
    if !instance.dont_track_primary && !seen.link_usable(&instance.interface) {
        let item = TrackedItem::Interface(instance.interface.clone());
        acting.push(Adjustment { item, effect: Effect::Fault });
    }
    // keepalived keepalived_netlink.c netlink_if_address_filter(): with track_src_ip, the
    // configured source address leaving the interface downs the instance (FAULT), and its
    // return brings it up.
    if let Some(source) = instance.source_ip.filter(|_| instance.track_src_ip) {
        if !seen.source_held(&instance.interface, source) {
            let item = TrackedItem::SourceAddress(source);
            acting.push(Adjustment { item, effect: Effect::Fault });
        }
    }
    let interfaces = instance.track_interfaces.iter().map(|tracked| {
        let item = TrackedItem::Interface(tracked.name.clone());
        (item, tracked.weight, tracked.reverse, seen.link_usable(&tracked.name))
    });
    // The interfaces of tracked routes and rules (`routes.rs`), then those of the static
    // entries of the instance's track groups (keepalived vrrp_static_track.c
    // static_track_group_init()), each unless tracked already: weight 0.
    let mut weightless: Vec<&str> = Vec::new();
    let group_interfaces = instance.track_group_interfaces.iter().map(String::as_str);
    for name in crate::routes::tracked_interfaces(instance).into_iter().chain(group_interfaces) {
        let tracked = instance.track_interfaces.iter().any(|t| t.name == name);
        if name != instance.interface && !tracked && !weightless.contains(&name) {
            weightless.push(name);
        }
    }
    let routing = weightless
        .into_iter()
        .map(|name| (TrackedItem::Interface(name.to_owned()), 0, false, seen.link_usable(name)));
    let interfaces = interfaces.chain(routing);
    let scripts = instance.track_scripts.iter().map(|tracked| {
        let item = TrackedItem::Script(tracked.name.clone());
        (item, tracked.weight, tracked.reverse, seen.script_passed(&tracked.name))
    });
    for (item, weight, reverse, up) in interfaces.chain(scripts) {
        let good = up != reverse;
        let effect = match weight {
            0 if !good => Effect::Fault,
            w if (w > 0 && good) || (w < 0 && !good) => Effect::Weight(w),
            _ => continue,
        };
        acting.push(Adjustment { item, effect });
    }
    for tracked in &instance.track_files {
        let value = seen.file_value(&tracked.name);
        if let Some(effect) = file_effect(tracked.weight, tracked.reverse, value) {
            acting.push(Adjustment { item: TrackedItem::File(tracked.name.clone()), effect });
        }
    }
    for tracked in &instance.track_processes {
        let quorum = seen.process_quorum(&tracked.name);
        if let Some(effect) = process_effect(tracked.weight, tracked.reverse, quorum) {
            let item = TrackedItem::Process(tracked.name.clone());
            acting.push(Adjustment { item, effect });
        }
    }
    acting
}

/// keepalived's tracking: the fault flag and effective priority that [`adjustments`] make.
/// keepalived vrrp_track.c vrrp_set_effective_priority(): the address owner's priority never
/// moves, anyone else's sum is held within 1-254.
pub fn track(instance: &Instance, seen: &Observations) -> Tracked {
    let mut fault = false;
    let mut priority = i32::from(instance.priority);
    for adjustment in adjustments(instance, seen) {
        match adjustment.effect {
            Effect::Fault => fault = true,
            Effect::Weight(weight) => priority = priority.saturating_add(weight),
        }
    }
    let priority =
        if instance.priority == u8::MAX { u8::MAX } else { priority.clamp(1, 254) as u8 };
    Tracked { fault, priority }
}

/// keepalived's vrrp_sync_group: a member's fault is the whole group's, so a router that lost
/// one side (say, its uplink) gives up the other side's addresses too. `tracked` is indexed
/// like `names`.
pub fn propagate_group_faults(groups: &[SyncGroup], names: &[&str], tracked: &mut [Tracked]) {
    for group in groups {
        let members: Vec<usize> = (0..names.len())
            .filter(|&index| group.members.iter().any(|member| member == names[index]))
            .collect();
        if members.iter().any(|&index| tracked[index].fault) {
            for index in members {
                tracked[index].fault = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_config::{TrackedInterface, TrackedScript};

    fn instance(priority: u8) -> Instance {
        let text = format!(
            "vrrp_instance VI {{\n interface eth0\n virtual_router_id 1\n priority {priority}\n \
             virtual_ipaddress {{\n 192.0.2.100\n }}\n}}\n"
        );
        let loaded = vrrp_config::parse_str(&text, std::path::Path::new("t.conf")).unwrap();
        loaded.config.instances[0].clone()
    }

    fn seen(links: &[(&str, bool)], scripts: &[(&str, bool)]) -> Observations {
        Observations {
            links: links.iter().map(|(n, u)| (n.to_string(), *u)).collect(),
            scripts: scripts.iter().map(|(n, u)| (n.to_string(), *u)).collect(),
            files: HashMap::new(),
            processes: HashMap::new(),
            sources: HashMap::new(),
        }
    }

    #[test]
    fn a_tracked_source_address_missing_from_its_interface_is_a_fault() {
        let mut tracked = instance(100);
        let source: IpAddr = "192.0.2.10".parse().unwrap();
        tracked.source_ip = Some(source);
        tracked.track_src_ip = true;
        let mut observed = seen(&[("eth0", true)], &[]);
        // Not seen yet: held, as the start-up checks found it.
        assert_eq!(track(&tracked, &observed), Tracked { fault: false, priority: 100 });
        observed.sources.insert(("eth0".into(), source), false);
        assert_eq!(track(&tracked, &observed), Tracked { fault: true, priority: 100 });
        let acting = adjustments(&tracked, &observed);
        assert_eq!(acting[0].item, TrackedItem::SourceAddress(source));
        // Without track_src_ip the same observation is no fault.
        tracked.track_src_ip = false;
        assert!(!track(&tracked, &observed).fault);
        tracked.track_src_ip = true;
        observed.sources.insert(("eth0".into(), source), true);
        assert!(!track(&tracked, &observed).fault);
    }

    #[test]
    fn a_files_value_is_read_as_strtol_reads_it() {
        for (text, value) in [
            ("12\n", Some(12)),
            ("  -7 apples", Some(-7)),
            ("+3", Some(3)),
            ("0x1f", Some(31)),
            ("010", Some(8)),
            ("09", Some(0)),
            ("", Some(0)),
            ("abc", Some(0)),
            ("0x", Some(0)),
            ("2147483648", Some(2_147_483_648)),
            ("2147483649", None),
            ("-2147483648", Some(-2_147_483_648)),
            ("-2147483649", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(track_file_value(text.as_bytes()), value, "{text:?}");
        }
        let long = format!("{}5", " ".repeat(TRACK_FILE_READ_LIMIT));
        assert_eq!(track_file_value(long.as_bytes()), Some(0), "only the first bytes are read");
    }

    #[test]
    fn a_files_value_times_its_weight_moves_the_priority_and_minus_254_faults() {
        let mut vi = instance(100);
        let file = |weight, reverse| vrrp_config::TrackedFile { name: "f".into(), weight, reverse };
        let with = |value: i64| {
            let mut seen = seen(&[("eth0", true)], &[]);
            seen.files.insert("f".into(), value);
            seen
        };
        vi.track_files = vec![file(10, false)];
        assert_eq!(track(&vi, &with(0)), Tracked { fault: false, priority: 100 });
        assert_eq!(track(&vi, &with(3)), Tracked { fault: false, priority: 130 });
        assert_eq!(track(&vi, &with(-2)), Tracked { fault: false, priority: 80 });
        assert_eq!(track(&vi, &with(-25)).priority, 1, "-250: held at 1");
        assert!(track(&vi, &with(-26)).fault, "-260 is held at -254: FAULT");
        assert!(!track(&vi, &with(i64::from(i32::MAX))).fault, "held at 253");
        vi.track_files = vec![file(10, true)];
        assert_eq!(track(&vi, &with(3)).priority, 70, "reverse negates");
        vi.track_files = vec![file(0, false)];
        assert!(!track(&vi, &with(0)).fault);
        assert!(track(&vi, &with(5)).fault, "weight 0: non-zero is a FAULT");
        vi.track_files = vec![file(0, true)];
        assert!(track(&vi, &with(0)).fault, "reversed: zero is a FAULT");
        assert!(track(&vi, &seen(&[("eth0", true)], &[])).fault, "unread is 0: reversed, FAULT");
    }

    fn script(name: &str, weight: i32, reverse: bool) -> TrackedScript {
        TrackedScript { name: name.into(), weight, reverse }
    }

    #[test]
    fn own_interface_down_is_a_fault_at_the_configured_priority() {
        let vi = instance(110);
        assert_eq!(
            track(&vi, &seen(&[("eth0", true)], &[])),
            Tracked { fault: false, priority: 110 }
        );
        assert_eq!(
            track(&vi, &seen(&[("eth0", false)], &[])),
            Tracked { fault: true, priority: 110 }
        );
        assert!(track(&vi, &seen(&[], &[])).fault, "an interface never seen is not usable");
    }

    fn parsed(extra: &str) -> Instance {
        let text = format!(
            "vrrp_instance VI {{\n interface eth0\n virtual_router_id 1\n {extra}\n \
             virtual_ipaddress {{\n 192.0.2.100\n }}\n}}\n"
        );
        let loaded = vrrp_config::parse_str(&text, std::path::Path::new("t.conf")).unwrap();
        loaded.config.instances[0].clone()
    }

    #[test]
    fn dont_track_primary_ignores_the_own_interface_going_down() {
        // keepalived vrrp.c add_vrrp_to_interface(): VRRP_NOT_TRACK_IF for the primary one.
        let vi = parsed("dont_track_primary");
        assert_eq!(
            track(&vi, &seen(&[("eth0", false)], &[])),
            Tracked { fault: false, priority: 100 }
        );
        assert!(adjustments(&vi, &seen(&[("eth0", false)], &[])).is_empty());
        // A track_interface entry naming it still counts.
        let vi = parsed("dont_track_primary\n track_interface {\n eth0\n }");
        assert!(track(&vi, &seen(&[("eth0", false)], &[])).fault);
    }

    #[test]
    fn unicast_fault_no_peer_without_a_peer_is_a_lasting_fault() {
        // keepalived vrrp.c vrrp_complete_instance(): "Cannot use unicast without any peers -
        // going to fault state".
        let vi = parsed("unicast_fault_no_peer");
        let acting = adjustments(&vi, &seen(&[("eth0", true)], &[]));
        assert_eq!(
            acting,
            vec![Adjustment { item: TrackedItem::NoUnicastPeer, effect: Effect::Fault }]
        );
        assert!(track(&vi, &seen(&[("eth0", true)], &[])).fault);
        let vi = parsed("unicast_fault_no_peer\n unicast_peer {\n 192.0.2.2\n }");
        assert!(!track(&vi, &seen(&[("eth0", true)], &[])).fault, "with a peer: unicast");
    }

    #[test]
    fn weights_add_while_good_and_subtract_while_bad() {
        let mut vi = instance(100);
        vi.track_scripts = vec![script("up", 20, false), script("down", -30, false)];
        let both_pass = seen(&[("eth0", true)], &[("up", true), ("down", true)]);
        assert_eq!(track(&vi, &both_pass).priority, 120);
        let both_fail = seen(&[("eth0", true)], &[("up", false), ("down", false)]);
        assert_eq!(track(&vi, &both_fail).priority, 70);
    }

    #[test]
    fn reverse_inverts_what_good_means() {
        let mut vi = instance(100);
        vi.track_interfaces =
            vec![TrackedInterface { name: "wan".into(), weight: -10, reverse: true }];
        assert_eq!(track(&vi, &seen(&[("eth0", true), ("wan", true)], &[])).priority, 90);
        assert_eq!(track(&vi, &seen(&[("eth0", true), ("wan", false)], &[])).priority, 100);
    }

    #[test]
    fn weight_zero_is_a_fault_when_bad() {
        let mut vi = instance(100);
        vi.track_scripts = vec![script("chk", 0, false)];
        assert!(track(&vi, &seen(&[("eth0", true)], &[("chk", false)])).fault);
        assert!(!track(&vi, &seen(&[("eth0", true)], &[("chk", true)])).fault);
        assert!(!track(&vi, &seen(&[("eth0", true)], &[])).fault, "no result yet: passing");
    }

    #[test]
    fn the_sum_is_held_within_one_and_two_hundred_fifty_four() {
        let mut vi = instance(10);
        vi.track_scripts = vec![script("a", -250, false)];
        assert_eq!(track(&vi, &seen(&[("eth0", true)], &[("a", false)])).priority, 1);
        vi.track_scripts = vec![script("a", -9, false)];
        assert_eq!(track(&vi, &seen(&[("eth0", true)], &[("a", false)])).priority, 1);
        let passing = seen(&[("eth0", true)], &[("a", true), ("b", true)]);
        let mut vi = instance(250);
        vi.track_scripts = vec![script("a", 250, false), script("b", i32::MAX, false)];
        assert_eq!(track(&vi, &passing).priority, 254, "saturates, never wraps");
        let mut exact = instance(253);
        exact.track_scripts = vec![script("a", 1, false)];
        assert_eq!(track(&exact, &passing).priority, 254);
    }

    #[test]
    fn the_owners_priority_never_moves() {
        let mut owner = instance(255);
        owner.track_scripts = vec![script("a", -50, false)];
        assert_eq!(track(&owner, &seen(&[("eth0", true)], &[("a", false)])).priority, 255);
    }

    #[test]
    fn a_members_fault_is_its_groups() {
        let group = SyncGroup {
            name: "G".into(),
            members: vec!["A".into(), "B".into()],
            notify: Default::default(),
            tracking_weight: false,
        };
        let good = Tracked { fault: false, priority: 100 };
        let bad = Tracked { fault: true, priority: 100 };
        let mut tracked = [good, bad, good];
        propagate_group_faults(std::slice::from_ref(&group), &["A", "B", "C"], &mut tracked);
        assert_eq!(tracked, [bad, bad, good], "C is in no group");
        let mut tracked = [good, good, good];
        propagate_group_faults(&[group], &["A", "B", "C"], &mut tracked);
        assert_eq!(tracked, [good, good, good]);
    }

    #[test]
    fn a_process_quorum_moves_priority_as_keepalived_weights_it() {
        for (weight, reverse, quorum, effect) in [
            (0, false, true, None),
            (0, false, false, Some(Effect::Fault)),
            (0, true, true, Some(Effect::Fault)),
            (0, true, false, None),
            (10, false, true, Some(Effect::Weight(10))),
            (10, false, false, None),
            (10, true, true, Some(Effect::Weight(-10))),
            (-10, false, false, Some(Effect::Weight(-10))),
            (-10, false, true, None),
            (-10, true, false, Some(Effect::Weight(10))),
        ] {
            assert_eq!(
                process_effect(weight, reverse, quorum),
                effect,
                "{weight} {reverse} {quorum}"
            );
        }
        let mut vi = instance(100);
        vi.track_processes =
            vec![vrrp_config::TrackedProcess { name: "p".into(), weight: -20, reverse: false }];
        let mut seen = seen(&[("eth0", true)], &[]);
        assert_eq!(track(&vi, &seen), Tracked { fault: false, priority: 80 }, "not reported");
        seen.processes.insert("p".into(), true);
        assert_eq!(track(&vi, &seen), Tracked { fault: false, priority: 100 });
    }
}
