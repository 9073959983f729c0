//! keepalived's start-up delay (`vrrp_startup_delay`, `vrrp_delay_after_boot`) as the node
//! applies it, on a virtual clock: keepalived vrrp_daemon.c start_vrrp(), vrrp_scheduler.c
//! vrrp_init_instance_sands() and vrrp_dispatcher_read().

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use vrrp_config::Config;
use vrrp_node::{InstanceId, Node, Output};
use vrrp_proto::{Advertisement, Centiseconds, DiscardReason, Disposition, State, Version};

const SECOND: Duration = Duration::from_secs(1);
/// Master_Down_Interval of priority 100 at 1 s (VRRPv3): 3 s + 156/256 s.
const MDI_100: Duration = Duration::from_nanos(3_609_375_000);

fn config(delay: &str, instances: &[(&str, u8, u8)]) -> Config {
    let mut text = format!("global_defs {{\n vrrp_version 3\n vrrp_startup_delay {delay}\n}}\n");
    for (name, vrid, priority) in instances {
        text.push_str(&format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n \
             priority {priority}\n unicast_src_ip 192.0.2.1\n virtual_ipaddress {{\n \
             192.0.2.{vrid}\n }}\n}}\n"
        ));
    }
    vrrp_config::parse_str(&text, Path::new("startup.conf")).expect("valid").config
}

fn drain(node: &mut Node) -> Vec<Output> {
    std::iter::from_fn(|| node.poll_output()).collect()
}

fn id(node: &Node, name: &str) -> InstanceId {
    node.instances().find(|(_, view)| view.name() == name).expect("running").0
}

fn state(node: &Node, name: &str) -> State {
    node.instance(id(node, name)).expect("running").router().state()
}

fn sent(outputs: &[Output]) -> usize {
    outputs.iter().filter(|o| matches!(o, Output::SendAdvertisement { .. })).count()
}

/// Runs every timer up to `end`, deadline by deadline.
fn run_until(node: &mut Node, end: Instant) -> Vec<Output> {
    let mut outputs = Vec::new();
    while let Some(at) = node.poll_timeout().filter(|at| *at <= end) {
        node.handle_timeout(at);
        outputs.extend(drain(node));
    }
    outputs
}

fn started(config: Config, t0: Instant) -> (Node, Vec<Output>) {
    let mut node = Node::new();
    node.handle_link(t0, "eth0", true);
    node.handle_reload(t0, config, &HashMap::new()).expect("runs");
    let outputs = drain(&mut node);
    (node, outputs)
}

#[test]
fn startup_delay_holds_every_instance_until_it_has_passed() {
    let t0 = Instant::now();
    let delay = Duration::from_secs(5);
    let (mut node, outputs) = started(config("5", &[("OWNER", 1, 255), ("VI", 2, 100)]), t0);
    assert!(outputs.contains(&Output::StartupDelayed { delay }), "{outputs:?}");
    assert_eq!(sent(&outputs), 0, "nothing is sent during the delay");
    assert_eq!(state(&node, "OWNER"), State::Initialize);
    assert_eq!(state(&node, "VI"), State::Initialize);
    assert_eq!(node.poll_timeout(), Some(t0 + delay));
    // keepalived vrrp_dispatcher_read(): advertisements are dropped until the delay is over.
    let vip: IpAddr = "192.0.2.2".parse().unwrap();
    let advert = Advertisement::new(Version::V3, 2, 50, Centiseconds::new(100), vec![vip]);
    let advert = advert.unwrap();
    let peer: IpAddr = "192.0.2.9".parse().unwrap();
    let vi = id(&node, "VI");
    assert_eq!(
        node.handle_advertisement(t0 + SECOND, vi, peer, &advert),
        Some(Disposition::Discarded(DiscardReason::NotRunning))
    );
    assert!(run_until(&mut node, t0 + delay - Duration::from_millis(1)).is_empty());
    let outputs = run_until(&mut node, t0 + delay);
    assert!(outputs.contains(&Output::StartupDelayOver), "{outputs:?}");
    // The owner takes over at the delay's end; the backup's timer counts from it.
    assert_eq!(state(&node, "OWNER"), State::Master);
    assert_eq!(sent(&outputs), 1, "the owner's first advertisement");
    assert_eq!(state(&node, "VI"), State::Backup);
    run_until(&mut node, t0 + delay + MDI_100 - Duration::from_millis(1));
    assert_eq!(state(&node, "VI"), State::Backup);
    run_until(&mut node, t0 + delay + MDI_100);
    assert_eq!(state(&node, "VI"), State::Master);
}

#[test]
fn no_startup_delay_starts_at_once() {
    let t0 = Instant::now();
    let (node, outputs) = started(config("0", &[("OWNER", 1, 255)]), t0);
    assert!(!outputs.iter().any(|o| matches!(o, Output::StartupDelayed { .. })));
    assert_eq!(state(&node, "OWNER"), State::Master);
}

#[test]
fn a_reload_during_the_delay_keeps_its_start_and_takes_the_new_length() {
    // keepalived vrrp_daemon.c start_vrrp() on reload: start - old delay + new delay.
    let t0 = Instant::now();
    let (mut node, _) = started(config("10", &[("VI", 2, 100)]), t0);
    let reloaded = t0 + Duration::from_secs(2);
    let instances = [("VI", 2, 100), ("ADDED", 3, 100)];
    node.handle_reload(reloaded, config("4", &instances), &HashMap::new()).unwrap();
    let outputs = drain(&mut node);
    assert!(outputs.contains(&Output::StartupDelayed { delay: 2 * SECOND }), "{outputs:?}");
    assert_eq!(state(&node, "VI"), State::Initialize);
    assert_eq!(state(&node, "ADDED"), State::Initialize, "a new instance waits too");
    assert_eq!(node.poll_timeout(), Some(t0 + 4 * SECOND));
    run_until(&mut node, t0 + 4 * SECOND);
    assert_eq!(state(&node, "VI"), State::Backup);
    assert_eq!(state(&node, "ADDED"), State::Backup);
}

#[test]
fn a_reload_that_shortens_the_delay_past_now_starts_everything() {
    // keepalived: "Reduced delayed start passed".
    let t0 = Instant::now();
    let (mut node, _) = started(config("10", &[("VI", 2, 100)]), t0);
    let reloaded = t0 + Duration::from_secs(3);
    node.handle_reload(reloaded, config("1", &[("VI", 2, 100)]), &HashMap::new()).unwrap();
    let outputs = drain(&mut node);
    assert!(outputs.contains(&Output::StartupDelayOver), "{outputs:?}");
    assert_eq!(state(&node, "VI"), State::Backup);
}

#[test]
fn a_reload_after_the_delay_does_not_delay_again() {
    // keepalived applies the delay on the daemon's start only.
    let t0 = Instant::now();
    let (mut node, _) = started(config("1", &[("VI", 2, 100)]), t0);
    run_until(&mut node, t0 + SECOND);
    assert_eq!(state(&node, "VI"), State::Backup);
    let later = t0 + Duration::from_secs(2);
    let instances = [("VI", 2, 100), ("ADDED", 3, 100)];
    node.handle_reload(later, config("5", &instances), &HashMap::new()).unwrap();
    let outputs = drain(&mut node);
    assert!(!outputs.iter().any(|o| matches!(o, Output::StartupDelayed { .. })));
    assert_eq!(state(&node, "ADDED"), State::Backup);
}
