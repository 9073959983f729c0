//! `Node::poll_timeout_deferring`: a shell that watches some backups' master-down timers by
//! other means (the kernel's timer) sleeps through exactly those deadlines, never another's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use vrrp_config::Config;
use vrrp_node::{InstanceId, Node};
use vrrp_proto::{Advertisement, Centiseconds, State, Version};

const SECOND: Duration = Duration::from_secs(1);
/// Master_Down_Interval of priority 100 at 1 s (VRRPv3): 3 s + 156/256 s.
const MDI_100: Duration = Duration::from_nanos(3_609_375_000);

fn config(instances: &[(&str, u8, u8)]) -> Config {
    let mut text = String::from("global_defs {\n vrrp_version 3\n}\n");
    for (name, vrid, priority) in instances {
        text.push_str(&format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n \
             priority {priority}\n unicast_src_ip 192.0.2.1\n virtual_ipaddress {{\n \
             192.0.2.{vrid}\n }}\n}}\n"
        ));
    }
    vrrp_config::parse_str(&text, Path::new("deferred.conf")).expect("valid").config
}

fn id(node: &Node, name: &str) -> InstanceId {
    node.instances().find(|(_, view)| view.name() == name).expect("running").0
}

#[test]
fn only_the_deadlines_the_shell_defers_move_and_only_master_down_timers() {
    let t0 = Instant::now();
    let mut node = Node::new();
    node.handle_link(t0, "eth0", true);
    node.handle_reload(t0, config(&[("A", 1, 100), ("B", 2, 100)]), &HashMap::new()).unwrap();
    while node.poll_output().is_some() {}
    let (a, b) = (id(&node, "A"), id(&node, "B"));
    // A hears its master a second later than B: its deadline is the later one.
    let peer: IpAddr = "192.0.2.9".parse().unwrap();
    for (instance, vrid, at) in [(b, 2, t0), (a, 1, t0 + SECOND)] {
        let vip: IpAddr = format!("192.0.2.{vrid}").parse().unwrap();
        let advert = Advertisement::new(Version::V3, vrid, 200, Centiseconds::new(100), vec![vip]);
        node.handle_advertisement(at, instance, peer, &advert.unwrap());
    }
    let far = t0 + SECOND * 60;
    assert_eq!(node.poll_timeout(), Some(t0 + MDI_100), "B's timer first");
    assert_eq!(node.poll_timeout_deferring(|_, _| None), node.poll_timeout(), "nothing deferred");
    let defer_b = |id: InstanceId, _: Instant| (id == b).then_some(far);
    assert_eq!(node.poll_timeout_deferring(defer_b), Some(t0 + SECOND + MDI_100), "A's timer");
    let defer_all = |_: InstanceId, _: Instant| Some(far);
    assert_eq!(node.poll_timeout_deferring(defer_all), Some(far), "both deferred");
    // An earlier "deferral" never brings a deadline forward.
    let earlier = |_: InstanceId, at: Instant| Some(at - SECOND);
    assert_eq!(node.poll_timeout_deferring(earlier), node.poll_timeout());
    // A master's timers (Adver_Timer) are never the shell's to defer.
    node.handle_timeout(t0 + MDI_100);
    while node.poll_output().is_some() {}
    assert_eq!(node.instance(b).unwrap().router().state(), State::Master);
    assert_eq!(node.poll_timeout_deferring(defer_all), node.poll_timeout(), "B's Adver_Timer");
}
