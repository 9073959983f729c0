//! keepalived's policy as the node applies it, driven through its public contract on a virtual
//! clock: reload in place, put-back, primary-address change, announcements, sync groups,
//! notify, statistics.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use vrrp_config::Config;
use vrrp_node::{InstanceId, Node, Output};
use vrrp_proto::{Advertisement, Centiseconds, Reason, State, Version};

const PRIMARY: &str = "192.0.2.1";
const PEER: &str = "192.0.2.2";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn parse(text: &str) -> Config {
    vrrp_config::parse_str(text, Path::new("node.conf")).expect("valid").config
}

/// The reference instance: unicast, priority `priority`, the VIPs listed, extra lines inside.
fn config(priority: u8, vips: &[&str], extra: &str) -> Config {
    parse(&text(priority, vips, extra))
}

fn text(priority: u8, vips: &[&str], extra: &str) -> String {
    let vips: String = vips.iter().map(|vip| format!("        {vip}\n")).collect();
    format!(
        "global_defs {{\n    vrrp_version 3\n    vrrp_garp_interval 0.1\n}}\n\
         vrrp_instance VI01 {{\n    interface eth0\n    virtual_router_id 123\n    \
         priority {priority}\n    advert_int 1\n    unicast_src_ip {PRIMARY}\n    \
         unicast_peer {{\n        {PEER}\n    }}\n{extra}    virtual_ipaddress {{\n{vips}    }}\n}}\n"
    )
}

struct Harness {
    node: Node,
    now: Instant,
    outputs: Vec<Output>,
}

impl Harness {
    fn new(config: Config) -> Self {
        let now = Instant::now();
        let mut node = Node::new();
        node.handle_link(now, "eth0", true);
        node.handle_reload(now, config, &HashMap::new()).expect("runs");
        let mut harness = Self { node, now, outputs: Vec::new() };
        harness.drain();
        harness
    }

    fn drain(&mut self) -> Vec<Output> {
        let mut fresh = Vec::new();
        while let Some(output) = self.node.poll_output() {
            fresh.push(output);
        }
        self.outputs.extend(fresh.iter().cloned());
        fresh
    }

    /// Runs every timer up to `now + span`, deadline by deadline.
    fn advance(&mut self, span: Duration) -> Vec<Output> {
        let end = self.now + span;
        let mut fresh = Vec::new();
        while let Some(at) = self.node.poll_timeout().filter(|at| *at <= end) {
            self.now = self.now.max(at);
            self.node.handle_timeout(self.now);
            fresh.extend(self.drain());
        }
        self.now = end;
        fresh
    }

    fn only_id(&self) -> InstanceId {
        let ids: Vec<InstanceId> = self.node.instances().map(|(id, _)| id).collect();
        assert_eq!(ids.len(), 1);
        ids[0]
    }

    fn state(&self) -> State {
        self.node.instance(self.only_id()).unwrap().router().state()
    }

    fn become_master(&mut self) {
        self.advance(Duration::from_secs(4));
        assert_eq!(self.state(), State::Master);
    }

    fn reload(&mut self, config: Config) -> Vec<Output> {
        self.node.handle_reload(self.now, config, &HashMap::new()).expect("reload");
        self.drain()
    }

    fn advertise_from_peer(&mut self, priority: u8) -> Vec<Output> {
        let advert = Advertisement::new(
            Version::V3,
            123,
            priority,
            Centiseconds::ONE_SECOND,
            vec![ip("192.0.2.100")],
        )
        .unwrap();
        let id = self.only_id();
        self.node.handle_advertisement(self.now, id, ip(PEER), &advert);
        self.drain()
    }
}

fn state_changes(outputs: &[Output]) -> Vec<(State, State)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::StateChanged { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

fn advertised_priorities(outputs: &[Output]) -> Vec<u8> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::SendAdvertisement { advertisement, .. } => Some(advertisement.priority()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_priority_on_a_master_keeps_it_master_and_is_advertised_at_once() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let id = lab.only_id();
    let outputs = lab.reload(config(120, &["192.0.2.100"], ""));
    assert_eq!(state_changes(&outputs), vec![], "no state change: {outputs:?}");
    assert_eq!(advertised_priorities(&outputs), vec![120]);
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, Output::AddAddresses { .. } | Output::RemoveAddresses { .. })),
        "the addresses stay: {outputs:?}"
    );
    assert_eq!(lab.only_id(), id, "the same instance");
    assert_eq!(lab.node.instance(id).unwrap().router().priority(), 120);
}

#[test]
fn a_lowered_priority_acts_through_the_protocol() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let outputs = lab.reload(config(90, &["192.0.2.100"], ""));
    assert_eq!(state_changes(&outputs), vec![]);
    assert_eq!(advertised_priorities(&outputs), vec![90]);
    let outputs = lab.advertise_from_peer(100);
    assert_eq!(state_changes(&outputs), vec![(State::Master, State::Backup)]);
}

#[test]
fn a_vip_added_on_a_master_adds_and_announces_only_that_one() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let outputs = lab.reload(config(110, &["192.0.2.100", "192.0.2.101"], ""));
    assert_eq!(state_changes(&outputs), vec![]);
    let id = lab.only_id();
    assert_eq!(
        outputs[0],
        Output::InstanceReconfigured { id },
        "the shell learns the new list first"
    );
    let added: Vec<&Output> =
        outputs.iter().filter(|o| matches!(o, Output::AddAddresses { .. })).collect();
    assert_eq!(added, vec![&Output::AddAddresses { id, addresses: vec![ip("192.0.2.101")] }]);
    assert!(outputs.contains(&Output::Announce { id, addresses: vec![ip("192.0.2.101")] }));
    assert!(!outputs.iter().any(|o| matches!(o, Output::RemoveAddresses { .. })));

    let outputs = lab.reload(config(110, &["192.0.2.101"], ""));
    assert!(outputs.contains(&Output::RemoveAddresses { id, addresses: vec![ip("192.0.2.100")] }));
    assert!(!outputs.iter().any(|o| matches!(o, Output::AddAddresses { .. })));
}

#[test]
fn a_peer_added_reconfigures_in_place() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let id = lab.only_id();
    let two_peers = config(110, &["192.0.2.100"], "").instances[0].clone();
    let mut with_peer = config(110, &["192.0.2.100"], "");
    let mut peer = two_peers.unicast_peers[0].clone();
    peer.address = ip("192.0.2.3");
    with_peer.instances[0].unicast_peers.push(peer);
    let outputs = lab.reload(with_peer);
    assert_eq!(state_changes(&outputs), vec![]);
    assert_eq!(outputs.first(), Some(&Output::InstanceReconfigured { id }));
    let transport = &lab.node.instance(id).unwrap().router().config().transport;
    assert_eq!(
        *transport,
        vrrp_proto::Transport::Unicast { peers: vec![ip(PEER), ip("192.0.2.3")] }
    );
}

#[test]
fn an_unchanged_reload_changes_nothing() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let outputs = lab.reload(config(110, &["192.0.2.100"], ""));
    assert_eq!(outputs, vec![]);
}

#[test]
fn a_change_of_identity_restarts_the_instance() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let old = lab.only_id();
    let mut other_vrid = config(110, &["192.0.2.100"], "");
    other_vrid.instances[0].vrid = 124;
    assert_eq!(lab.node.reload_plan(&other_vrid).starting, vec!["VI01".to_owned()]);
    let outputs = lab.reload(other_vrid);
    let new = lab.only_id();
    assert_ne!(old, new, "a new instance, a new id");
    assert_eq!(
        state_changes(&outputs),
        vec![(State::Master, State::Initialize), (State::Initialize, State::Backup)]
    );
    assert!(outputs.contains(&Output::InstanceStopped { id: old }));
    assert!(outputs.contains(&Output::InstanceStarted { id: new, name: "VI01".into() }));
    assert_eq!(advertised_priorities(&outputs), vec![0], "the old master resigned");
}

#[test]
fn a_bad_reload_changes_nothing() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let mut no_primary = config(110, &["192.0.2.100"], "");
    no_primary.instances[0].vrid = 9;
    no_primary.instances[0].source_ip = None;
    let error = lab.node.handle_reload(lab.now, no_primary, &HashMap::new()).unwrap_err();
    assert_eq!(error, vrrp_node::NodeError::NoPrimaryAddress { instance: "VI01".into() });
    assert_eq!(lab.drain(), vec![]);
    assert_eq!(lab.state(), State::Master);
}

#[test]
fn leaving_master_cancels_pending_announcement_rounds() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    let outputs = lab.advance(Duration::from_millis(3_700));
    let rounds = outputs.iter().filter(|o| matches!(o, Output::Announce { .. })).count();
    assert_eq!(lab.state(), State::Master);
    assert!((1..5).contains(&rounds), "a burst in progress, 0.1 s apart: {rounds} rounds");
    let outputs = lab.advertise_from_peer(200);
    assert_eq!(state_changes(&outputs), vec![(State::Master, State::Backup)]);
    let later = lab.advance(Duration::from_secs(1));
    assert!(
        !later.iter().any(|o| matches!(o, Output::Announce { .. })),
        "no round after leaving MASTER: {later:?}"
    );
    let stats = lab.node.snapshot().instances[0].statistics;
    assert_eq!(stats.announcements_sent, rounds as u64);
}

#[test]
fn a_burst_is_sent_in_rounds_spaced_by_garp_interval() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    let rounds = |outputs: &[Output]| {
        outputs.iter().filter(|o| matches!(o, Output::Announce { .. })).count()
    };
    let mut first = 0;
    while lab.state() != State::Master {
        first += rounds(&lab.advance(Duration::from_millis(10)));
    }
    assert_eq!(first, 1, "the first round at once, the others spaced");
    let next = rounds(&lab.advance(Duration::from_millis(95)));
    assert!(next <= 1, "vrrp_garp_interval 0.1: {next} rounds within 95 ms");
    let rest = rounds(&lab.advance(Duration::from_secs(1)));
    assert_eq!(first + next + rest, 5, "garp_master_repeat 5");
}

#[test]
fn a_removed_vip_is_put_back_only_by_a_master_that_holds_it() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    let id = lab.only_id();
    assert!(
        !lab.node.handle_address_removed(lab.now, id, ip("192.0.2.100")),
        "a backup holds none"
    );
    lab.become_master();
    lab.drain();
    assert!(lab.node.handle_address_removed(lab.now, id, ip("192.0.2.100")));
    assert_eq!(lab.drain(), vec![Output::AddAddresses { id, addresses: vec![ip("192.0.2.100")] }]);
    assert!(!lab.node.handle_address_removed(lab.now, id, ip("192.0.2.77")), "not ours");
    assert_eq!(lab.drain(), vec![]);
}

#[test]
fn a_new_primary_address_restarts_an_instance_without_a_source_address() {
    let mut with_source = Harness::new(config(110, &["192.0.2.100"], ""));
    let id = with_source.only_id();
    let moved = [ip("192.0.2.9")];
    assert_eq!(with_source.node.handle_interface_addresses(with_source.now, id, &moved), Ok(None));

    let mut config = config(110, &["192.0.2.100"], "");
    config.instances[0].source_ip = None;
    let now = Instant::now();
    let mut node = Node::new();
    node.handle_link(now, "eth0", true);
    let primaries = HashMap::from([("VI01".to_owned(), ip(PRIMARY))]);
    node.handle_reload(now, config, &primaries).unwrap();
    let id = node.instances().next().unwrap().0;
    while node.poll_output().is_some() {}
    let same = [ip("192.0.2.100"), ip(PRIMARY), ip("192.0.2.9")];
    assert_eq!(node.handle_interface_addresses(now, id, &same), Ok(None), "the same one");
    let only_vip = [ip("192.0.2.100"), ip("2001:db8::1")];
    assert_eq!(node.handle_interface_addresses(now, id, &only_vip), Ok(None), "none: kept");
    assert_eq!(drain_all(&mut node), vec![]);
    let moved = [ip("192.0.2.100"), ip("192.0.2.9")];
    assert_eq!(node.handle_interface_addresses(now, id, &moved), Ok(Some(ip("192.0.2.9"))));
    let outputs = drain_all(&mut node);
    let changed = outputs
        .iter()
        .position(|o| *o == Output::PrimaryAddressChanged { id, address: ip("192.0.2.9") });
    let restarted = outputs.iter().position(|o| {
        matches!(o, Output::StateChanged { from: State::Initialize, to: State::Backup, .. })
    });
    assert!(changed.unwrap() < restarted.unwrap(), "{outputs:?}");
    assert_eq!(node.instance(id).unwrap().router().config().primary_address, ip("192.0.2.9"));
}

fn drain_all(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

#[test]
fn tracking_moves_the_running_priority_and_weight_zero_faults() {
    let script = "vrrp_script chk {\n    script \"/bin/true\"\n    weight -20\n}\n\
                  vrrp_script must {\n    script \"/bin/true\"\n    weight 0\n}\n";
    let tracked = "    track_script {\n        chk\n        must\n    }\n";
    let mut lab = Harness::new(parse(&format!("{script}{}", text(110, &["192.0.2.100"], tracked))));
    lab.become_master();
    let id = lab.only_id();
    lab.node.handle_script(lab.now, "chk", false);
    assert_eq!(advertised_priorities(&lab.drain()), vec![90]);
    assert_eq!(lab.node.instance(id).unwrap().router().priority(), 90);
    lab.node.handle_script(lab.now, "must", false);
    assert_eq!(state_changes(&lab.drain()), vec![(State::Master, State::Fault)]);
    lab.node.handle_script(lab.now, "must", true);
    assert_eq!(state_changes(&lab.drain()), vec![(State::Fault, State::Backup)]);
}

#[test]
fn a_sync_group_members_fault_takes_the_group_and_clears_with_it() {
    let base = config(110, &["192.0.2.100"], "    track_interface {\n        uplink0\n    }\n");
    let mut second = base.instances[0].clone();
    second.name = "VI02".into();
    second.vrid = 124;
    second.track_interfaces.clear();
    let mut config = base.clone();
    config.instances.push(second);
    config.sync_groups = parse(
        "vrrp_sync_group G {\n group {\n VI01\n VI02\n }\n}\nvrrp_instance VI01 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 192.0.2.9\n }\n}\nvrrp_instance VI02 {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n 192.0.2.8\n }\n}\n",
    )
    .sync_groups;
    let now = Instant::now();
    let mut node = Node::new();
    node.handle_link(now, "eth0", true);
    node.handle_link(now, "uplink0", true);
    node.handle_reload(now, config, &HashMap::new()).unwrap();
    let states =
        |node: &Node| node.instances().map(|(_, i)| i.router().state()).collect::<Vec<_>>();
    assert_eq!(states(&node), vec![State::Backup, State::Backup]);
    node.handle_link(now, "uplink0", false);
    assert_eq!(states(&node), vec![State::Fault, State::Fault], "VI02 tracks nothing, yet faults");
    node.handle_link(now, "uplink0", true);
    assert_eq!(states(&node), vec![State::Backup, State::Backup]);
}

#[test]
fn notify_runs_after_the_state_change_with_keepaliveds_arguments() {
    let extra = "    notify_master \"/bin/m\"\n    notify \"/bin/n\"\n";
    let mut lab = Harness::new(config(110, &["192.0.2.100"], extra));
    let outputs = lab.advance(Duration::from_secs(4));
    let at = outputs
        .iter()
        .position(|o| matches!(o, Output::StateChanged { to: State::Master, .. }))
        .unwrap();
    let scripts: Vec<Vec<String>> = outputs[at..]
        .iter()
        .filter_map(|o| match o {
            Output::RunScript(run) => Some(run.argv.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        scripts,
        vec![
            vec!["/bin/m".to_owned()],
            ["/bin/n", "INSTANCE", "VI01", "MASTER", "110"].map(String::from).to_vec()
        ]
    );
    lab.node.handle_shutdown(lab.now);
    let stop: Vec<Vec<String>> = lab
        .drain()
        .into_iter()
        .filter_map(|o| match o {
            Output::RunScript(run) => Some(run.argv),
            _ => None,
        })
        .collect();
    assert_eq!(
        stop,
        vec![["/bin/n", "INSTANCE", "VI01", "STOP", "110"].map(String::from).to_vec()],
        "once"
    );
}

#[test]
fn statistics_count_what_was_sent_and_heard() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    lab.advertise_from_peer(0);
    lab.advertise_from_peer(200);
    let sent = lab.outputs.iter().filter(|o| matches!(o, Output::SendAdvertisement { .. })).count();
    let stats = lab.node.snapshot().instances[0].statistics;
    assert_eq!(stats.advertisements_sent, sent as u64);
    assert_eq!(stats.advertisements_received, 2);
    assert_eq!(stats.priority_zero_received, 1);
    assert_eq!(stats.priority_zero_sent, 0);
    assert_eq!((stats.became_master, stats.left_master), (1, 1));
    let last = stats.last_master_transition.unwrap();
    assert_eq!((last.from, last.to), (State::Master, State::Backup));
    assert!(matches!(last.reason, Reason::HigherPriority { priority: 200, .. }));
}

#[test]
fn becoming_the_address_owner_is_a_restart() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let old = lab.only_id();
    assert_eq!(lab.node.reload_plan(&config(255, &["192.0.2.100"], "")).stopping, vec![old]);
    lab.reload(config(255, &["192.0.2.100"], ""));
    assert_ne!(lab.only_id(), old);
    assert_eq!(lab.state(), State::Master, "the owner starts as master (RFC 9568 §6.4.1)");
}

#[test]
fn a_new_interval_on_a_master_is_advertised_at_once_in_place() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let faster = parse(&text(110, &["192.0.2.100"], "").replace("advert_int 1", "advert_int 0.5"));
    let outputs = lab.reload(faster);
    assert_eq!(state_changes(&outputs), vec![]);
    let intervals: Vec<Centiseconds> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::SendAdvertisement { advertisement, .. } => Some(advertisement.interval()),
            _ => None,
        })
        .collect();
    assert_eq!(intervals, vec![Centiseconds::new(50)]);
    let sent = advertised_priorities(&lab.advance(Duration::from_millis(1_010)));
    assert_eq!(sent.len(), 2, "every 0.5 s from now on");
}

#[test]
fn a_tracked_script_added_by_reload_moves_the_running_priority() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let script = "vrrp_script chk {\n    script \"/bin/true\"\n    weight -20\n    init_fail\n}\n";
    let tracked = "    track_script {\n        chk\n    }\n";
    let outputs = lab.reload(parse(&format!("{script}{}", text(110, &["192.0.2.100"], tracked))));
    assert_eq!(state_changes(&outputs), vec![]);
    assert_eq!(advertised_priorities(&outputs), vec![90], "init_fail: failed until it passes");
    assert_eq!(lab.node.script_results().get("chk"), Some(&false));
}

#[test]
fn only_tracked_scripts_run() {
    let scripts = "vrrp_script used {\n    script \"/bin/true\"\n}\n\
                   vrrp_script unused {\n    script \"/bin/true\"\n}\n";
    let tracked = "    track_script {\n        used\n    }\n";
    let lab = Harness::new(parse(&format!("{scripts}{}", text(110, &["192.0.2.100"], tracked))));
    let names: Vec<&str> = lab.node.tracking_scripts().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["used"]);
}

/// `text` without its priority line, with `state` and other lines inside.
fn text_without_priority(extra: &str) -> String {
    text(100, &["192.0.2.100"], "@EXTRA@")
        .replace("    priority 100\n", "")
        .replace("@EXTRA@", extra)
}

#[test]
fn state_master_waits_for_a_master_unless_it_owns_the_addresses() {
    // keepalived vrrp_scheduler.c vrrp_init_state(): only the owner (no priority with state
    // MASTER makes one: vrrp.c vrrp_complete_instance()) takes over at once; state MASTER
    // with a priority waits Master_Down_Interval like state BACKUP.
    let owner = Harness::new(parse(&text_without_priority("    state MASTER\n")));
    assert_eq!(owner.state(), State::Master);
    assert_eq!(state_changes(&owner.outputs), vec![(State::Initialize, State::Master)]);

    let mut waiting =
        Harness::new(parse(&text_without_priority("    state MASTER\n    priority 100\n")));
    assert_eq!(waiting.state(), State::Backup);
    let id = waiting.only_id();
    let mdi = waiting.node.instance(id).unwrap().router().master_down_interval();
    waiting.advance(mdi - Duration::from_millis(10));
    assert_eq!(waiting.state(), State::Backup);
    waiting.advance(Duration::from_millis(10));
    assert_eq!(waiting.state(), State::Master);
}

#[test]
fn tracking_in_backup_retimes_the_master_down_timer() {
    // keepalived vrrp_track.c vrrp_set_effective_priority(): the backup's running timer moves.
    let script = "vrrp_script chk {\n    script \"/bin/true\"\n    weight -90\n}\n";
    let tracked = "    track_script {\n        chk\n    }\n";
    let mut lab = Harness::new(parse(&format!("{script}{}", text(110, &["192.0.2.100"], tracked))));
    lab.advertise_from_peer(254);
    let id = lab.only_id();
    let heard = lab.now;
    let timeout = |lab: &Harness| lab.node.instance(id).unwrap().router().poll_timeout();
    let before = lab.node.instance(id).unwrap().router().master_down_interval();
    assert_eq!(timeout(&lab), Some(heard + before));
    lab.now += Duration::from_millis(500);
    lab.node.handle_script(lab.now, "chk", false);
    lab.drain();
    let after = lab.node.instance(id).unwrap().router().master_down_interval();
    assert!(after > before, "priority 20 waits longer than 110");
    assert_eq!(timeout(&lab), Some(heard + after));
}

#[test]
fn a_burst_of_lower_priorities_announces_once_per_garp_lower_prio_delay() {
    // keepalived's garp_lower_prio_delay / garp_lower_prio_repeat, read from the file.
    let (delay, repeat, step) = (Duration::from_secs(2), 3, Duration::from_millis(100));
    let extra = format!(
        "    garp_lower_prio_delay {}\n    garp_lower_prio_repeat {repeat}\n",
        delay.as_secs()
    );
    let mut lab = Harness::new(config(200, &["192.0.2.100"], &extra));
    lab.become_master();
    lab.advance(Duration::from_secs(10));
    let announces = |outputs: &[Output]| {
        outputs.iter().filter(|output| matches!(output, Output::Announce { .. })).count()
    };
    // counts[i]: announcements from the i-th advertisement until the next, `step` later.
    let mut counts = Vec::new();
    for _ in 0..30 {
        let heard = lab.advertise_from_peer(100);
        counts.push(announces(&heard) + announces(&lab.advance(step)));
    }
    // One round at once, the one owed to the others when the delay has passed (its rounds
    // garp_interval apart), nothing in between and nothing more within the 3 s.
    let owed = (delay.as_millis() / step.as_millis()) as usize - 1;
    assert!(counts[0] > 0, "{counts:?}");
    assert_eq!(counts[..owed].iter().sum::<usize>(), repeat, "{counts:?}");
    assert!(counts[owed] > 0, "the owed round starts when the delay has passed: {counts:?}");
    assert_eq!(counts[owed..].iter().sum::<usize>(), repeat, "{counts:?}");
}

#[test]
fn the_snapshot_says_who_is_master_since_when_why_and_what_moved_the_priority() {
    let script = "vrrp_script chk {\n    script \"/bin/true\"\n    weight -20\n}\n";
    let tracked = "    track_script {\n        chk\n    }\n";
    let mut lab = Harness::new(parse(&format!("{script}{}", text(110, &["192.0.2.100"], tracked))));
    lab.become_master();
    let snapshot = lab.node.snapshot();
    let vi = &snapshot.instances[0];
    assert_eq!((vi.name.as_str(), vi.interface.as_str(), vi.vrid), ("VI01", "eth0", 123));
    assert_eq!((vi.state, vi.base_priority, vi.effective_priority), (State::Master, 110, 110));
    assert_eq!((vi.primary_address, vi.holds_addresses), (ip(PRIMARY), true));
    assert_eq!(vi.virtual_addresses, vec![ip("192.0.2.100")]);
    assert!(vi.adjustments.is_empty(), "{:?}", vi.adjustments);
    let became = vi.statistics.last_transition.unwrap();
    assert_eq!((became.to, became.reason), (State::Master, Reason::MasterDown));

    lab.node.handle_script(lab.now, "chk", false);
    lab.drain();
    lab.advertise_from_peer(200);
    let snapshot = lab.node.snapshot();
    let vi = &snapshot.instances[0];
    assert_eq!((vi.state, vi.base_priority, vi.effective_priority), (State::Backup, 110, 90));
    assert_eq!(
        vi.adjustments,
        vec![vrrp_node::tracking::Adjustment {
            item: vrrp_node::tracking::TrackedItem::Script("chk".into()),
            effect: vrrp_node::tracking::Effect::Weight(-20),
        }]
    );
    let heard = vi.statistics.last_heard.unwrap();
    assert_eq!((heard.source, heard.priority, heard.at), (ip(PEER), 200, lab.now));
    let left = vi.statistics.last_transition.unwrap();
    assert_eq!((left.from, left.to, left.at), (State::Master, State::Backup, lab.now));
    assert!(!vi.holds_addresses);
}

#[test]
fn a_tracked_files_value_moves_the_running_priority_and_can_fault() {
    let file = "track_file level {\n    file /run/level\n    weight -10\n}\n\
                track_file down {\n    file /run/down\n    weight 0\n}\n";
    let tracked = "    track_file {\n        level\n        down\n    }\n";
    let config = parse(&format!("{file}{}", text(110, &["192.0.2.100"], tracked)));
    let mut lab = Harness::new(config);
    lab.become_master();
    let id = lab.only_id();
    lab.node.handle_track_file(lab.now, "level", 2);
    assert_eq!(advertised_priorities(&lab.drain()), vec![90], "110 - 2 x 10");
    assert_eq!(lab.node.instance(id).unwrap().router().priority(), 90);
    lab.node.handle_track_file(lab.now, "down", 1);
    assert_eq!(state_changes(&lab.drain()), vec![(State::Master, State::Fault)]);
    lab.node.handle_track_file(lab.now, "down", 0);
    assert_eq!(state_changes(&lab.drain()), vec![(State::Fault, State::Backup)]);
    let config = lab.node.config().unwrap();
    let files: Vec<&str> = config.tracked_files().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(files, ["level", "down"]);
}

#[test]
fn a_file_read_before_start_up_decides_where_it_goes() {
    let file = "track_file down {\n    file /run/down\n    weight 0\n}\n";
    let tracked = "    track_file {\n        down\n    }\n";
    let now = Instant::now();
    let mut node = Node::new();
    node.handle_link(now, "eth0", true);
    node.handle_track_file(now, "down", 1);
    let config = parse(&format!("{file}{}", text(110, &["192.0.2.100"], tracked)));
    node.handle_reload(now, config, &HashMap::new()).unwrap();
    assert_eq!(state_changes(&drain_all(&mut node)), vec![(State::Initialize, State::Fault)]);
}

#[test]
fn a_process_quorum_moves_the_running_priority_and_can_fault() {
    let processes = "vrrp_track_process workers {\n    process nginx\n    weight -10\n}\n\
                     vrrp_track_process master {\n    process nginx-master\n}\n";
    let tracked = "    track_process {\n        workers\n        master\n    }\n";
    let config = parse(&format!("{processes}{}", text(110, &["192.0.2.100"], tracked)));
    let now = Instant::now();
    let mut node = Node::new();
    node.handle_link(now, "eth0", true);
    // Given before start-up: without the master process (weight 0) it starts in FAULT.
    node.handle_track_process(now, "workers", true);
    node.handle_track_process(now, "master", false);
    node.handle_reload(now, config, &HashMap::new()).unwrap();
    assert_eq!(state_changes(&drain_all(&mut node)), vec![(State::Initialize, State::Fault)]);
    node.handle_track_process(now, "master", true);
    assert_eq!(state_changes(&drain_all(&mut node)), vec![(State::Fault, State::Backup)]);
    let (id, _) = node.instances().next().unwrap();
    assert_eq!(node.instance(id).unwrap().router().priority(), 110);
    node.handle_track_process(now, "workers", false);
    assert_eq!(node.instance(id).unwrap().router().priority(), 100, "110 - 10");
}

/// The scripts and FIFO lines in `outputs`, in order.
fn notifications(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::RunScript(run) => Some(format!("run {}", run.argv.join(" "))),
            Output::NotifyFifo { line } => Some(format!("fifo {}", line.trim_end())),
            _ => None,
        })
        .collect()
}

#[test]
fn fifo_lines_follow_each_changes_scripts_in_order() {
    let global = "global_defs {\n    vrrp_notify_fifo /run/vrrp.fifo\n}\n";
    let script = "vrrp_script chk {\n    script /bin/true\n    weight -20\n}\n";
    let extra =
        "    notify /bin/n\n    notify_priority_changes\n    track_script {\n        chk\n    }\n";
    let mut lab =
        Harness::new(parse(&format!("{global}{script}{}", text(110, &["192.0.2.100"], extra))));
    lab.become_master();
    lab.node.handle_script(lab.now, "chk", false);
    lab.drain();
    lab.node.handle_shutdown(lab.now);
    lab.drain();
    assert_eq!(
        notifications(&lab.outputs),
        [
            "run /bin/n INSTANCE VI01 BACKUP 110",
            "fifo INSTANCE \"VI01\" BACKUP 110",
            "run /bin/n INSTANCE VI01 MASTER 110",
            "fifo INSTANCE \"VI01\" MASTER 110",
            "fifo INSTANCE \"VI01\" MASTER_PRIORITY 90",
            "run /bin/n INSTANCE VI01 STOP 90",
            "fifo INSTANCE \"VI01\" STOP 90",
        ]
    );
}

#[test]
fn without_a_fifo_no_line_is_written() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], "    notify_priority_changes\n"));
    lab.become_master();
    assert!(!lab.outputs.iter().any(|o| matches!(o, Output::NotifyFifo { .. })));
}

#[test]
fn fifo_write_vrrp_states_on_reload_writes_the_unchanged_states_again() {
    let global = "global_defs {\n    vrrp_notify_fifo /run/vrrp.fifo\n    \
                  fifo_write_vrrp_states_on_reload\n}\n";
    let text = format!("{global}{}", text(110, &["192.0.2.100"], ""));
    let mut lab = Harness::new(parse(&text));
    lab.become_master();
    let reloaded = lab.reload(parse(&text));
    assert_eq!(notifications(&reloaded), ["fifo INSTANCE \"VI01\" MASTER 110"]);
    let plain = text.replace("    fifo_write_vrrp_states_on_reload\n", "");
    let reloaded = lab.reload(parse(&plain));
    assert_eq!(notifications(&reloaded), Vec::<String>::new(), "without it, nothing");
}

/// The Accept_Mode outputs among `outputs`, and the address changes beside them, in order.
fn accept_mode_steps(outputs: &[Output]) -> Vec<&'static str> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::RefuseTraffic { .. } => Some("refuse"),
            Output::AcceptTraffic { .. } => Some("accept"),
            Output::AddAddresses { .. } => Some("add"),
            Output::RemoveAddresses { .. } => Some("remove"),
            _ => None,
        })
        .collect()
}

#[test]
fn a_non_owner_master_without_accept_mode_refuses_traffic_while_it_holds_the_addresses() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], "    no_accept\n"));
    let outputs = lab.advance(Duration::from_secs(4));
    assert_eq!(lab.state(), State::Master);
    let id = lab.only_id();
    assert_eq!(accept_mode_steps(&outputs), vec!["refuse", "add"], "refused before it is held");
    assert!(outputs.contains(&Output::RefuseTraffic { id, addresses: vec![ip("192.0.2.100")] }));

    let outputs = lab.advertise_from_peer(200);
    assert_eq!(lab.state(), State::Backup);
    assert_eq!(accept_mode_steps(&outputs), vec!["remove", "accept"], "accepted once it is gone");
    assert!(outputs.contains(&Output::AcceptTraffic { id, addresses: vec![ip("192.0.2.100")] }));
}

#[test]
fn accept_mode_the_owner_and_vrrp_strict_decide_what_is_refused() {
    let refuses = |config: Config| {
        let mut lab = Harness::new(config);
        let outputs = lab.advance(Duration::from_secs(4));
        assert_eq!(lab.state(), State::Master);
        outputs.iter().any(|o| matches!(o, Output::RefuseTraffic { .. }))
    };
    assert!(!refuses(config(110, &["192.0.2.100"], "")), "keepalived's default is accept");
    assert!(!refuses(config(110, &["192.0.2.100"], "    accept\n")));
    assert!(!refuses(config(255, &["192.0.2.100"], "    no_accept\n")), "the owner accepts");
    // keepalived vrrp.c vrrp_complete_instance(): vrrp_strict makes no_accept the default.
    let strict = text(110, &["192.0.2.100"], "")
        .replace("vrrp_version 3\n", "vrrp_version 3\n    vrrp_strict\n");
    assert!(refuses(parse(&strict)));
}

#[test]
fn a_reload_that_turns_accept_mode_off_refuses_the_held_addresses() {
    let mut lab = Harness::new(config(110, &["192.0.2.100"], ""));
    lab.become_master();
    let id = lab.only_id();
    let outputs = lab.reload(config(110, &["192.0.2.100"], "    no_accept\n"));
    assert!(outputs.contains(&Output::RefuseTraffic { id, addresses: vec![ip("192.0.2.100")] }));
    let outputs = lab.reload(config(110, &["192.0.2.100"], ""));
    assert!(outputs.contains(&Output::AcceptTraffic { id, addresses: vec![ip("192.0.2.100")] }));
}

#[test]
fn a_master_announces_on_its_other_interfaces_every_garp_extra_if() {
    // Two addresses on eth1 and one on eth2 besides the instance's own on eth0.
    let vips =
        ["192.0.2.100", "198.51.100.1 dev eth1", "198.51.100.2 dev eth1", "203.0.113.1 dev eth2"];
    let mut lab = Harness::new(config(110, &vips, "    garp_extra_if all 10\n"));
    let extra = vec![ip("198.51.100.1"), ip("203.0.113.1")];
    let extra_rounds = |outputs: &[Output]| {
        let rounds = outputs
            .iter()
            .filter(|o| matches!(o, Output::Announce { addresses, .. } if *addresses == extra));
        rounds.count()
    };
    // Master between 3 s and 4 s; besides the bursts of every address, the other interfaces
    // are announced once every 10 s from then, their first address each.
    lab.become_master();
    assert_eq!(extra_rounds(&lab.outputs), 0, "none before a period as master");
    assert_eq!(extra_rounds(&lab.advance(Duration::from_secs(8))), 0, "one period after");
    assert_eq!(extra_rounds(&lab.advance(Duration::from_secs(4))), 1);
    assert_eq!(extra_rounds(&lab.advance(Duration::from_secs(20))), 2);
    // A better master, heard every second: this one leaves MASTER and stops.
    let mut after = 0;
    for _ in 0..25 {
        lab.advertise_from_peer(200);
        assert_eq!(lab.state(), State::Backup);
        after += extra_rounds(&lab.advance(Duration::from_secs(1)));
    }
    assert_eq!(after, 0, "none after master");
}
