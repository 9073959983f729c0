//! The kernel program, for real: attached to a veth in a namespace, and on crafted frames.

use std::{
    net::Ipv4Addr,
    process::Command,
    time::{Duration, Instant},
};

use vrrp_common::{
    checksum_form, event_cause, Counter, InstanceConfig, InstanceKey, Peer, FAMILY_IPV4,
};
use vrrp_tests::{frames, netns, require_root, test_run, xdp::changed};
use vrrp_user::xdp::AttachMode;
use vrrp_user::xdp::XdpDatapath;

const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const VRID: u8 = 123;
const LOOPBACK_IFINDEX: u32 = 1;

fn unicast_instance(datapath: &mut XdpDatapath, ifindex: u32) -> InstanceKey {
    let key = InstanceKey::new(ifindex, VRID, FAMILY_IPV4);
    let config = InstanceConfig { version: 3, ..InstanceConfig::default() };
    let mut peer = Peer::default();
    peer.addr[..4].copy_from_slice(&PEER.octets());
    datapath.set_instance(key, config, &[peer]).expect("configuring the instance");
    key
}

/// The program id bpftool lists under the name `vrrp_xdp`, if any.
fn bpftool_lists(program_id: u32) -> bool {
    let output =
        Command::new("bpftool").args(["prog", "show", "id", &program_id.to_string()]).output();
    let output = output.expect("bpftool must be installed (cargo xtask setup)");
    let text = String::from_utf8_lossy(&output.stdout);
    println!("bpftool prog show id {program_id}: {}", text.lines().next().unwrap_or(""));
    text.contains("xdp") && text.contains("name vrrp_xdp")
}

#[test]
fn attached_to_a_veth_it_reports_a_real_advertisement() {
    require_root();
    let mut lab = netns::Lab::new();
    let router = lab.namespace("r").expect("router namespace");
    let peer = lab.namespace("p").expect("peer namespace");
    let (router_if, peer_if) = lab.veth(&router, &peer, "0").expect("veth pair");
    lab.exec(&router, "ip", &["addr", "add", "192.0.2.1/24", "dev", &router_if]).unwrap();
    lab.exec(&peer, "ip", &["addr", "add", "192.0.2.2/24", "dev", &peer_if]).unwrap();
    let ifindex = lab.ifindex(&router, &router_if).expect("ifindex");

    let inside = netns::enter(&router).expect("entering the router namespace");
    let mut datapath = XdpDatapath::load(None).expect("loading the XDP program");
    datapath.attach(&router_if, AttachMode::Auto).expect("attaching to the veth");
    let program_id = datapath.program().unwrap().info().unwrap().id();
    println!("attached vrrp_xdp (id {program_id}) to {router_if} in {router}");
    assert!(bpftool_lists(program_id), "bpftool does not name the program vrrp_xdp");
    let key = unicast_instance(&mut datapath, ifindex);

    let mut frame = frames::vrrp_v3_ipv4(PEER, ROUTER, VRID, 100, 100, &[VIP]);
    frame[6..12].copy_from_slice(&lab.mac(&peer, &peer_if).unwrap());
    netns::send_frame(&peer, &peer_if, &frame).expect("sending from the peer namespace");

    let deadline = Instant::now() + Duration::from_secs(5);
    let event = loop {
        if let Some(event) = datapath.next_event() {
            break event;
        }
        assert!(Instant::now() < deadline, "no ring-buffer event within 5 s");
        std::thread::sleep(Duration::from_millis(5));
    };
    println!("ring-buffer event received: {event:?}");
    assert_eq!(event.key, key);
    assert_eq!(event.causes, event_cause::FIRST);
    assert_eq!((event.priority, event.interval_cs, event.version), (100, 100, 3));
    assert_eq!(&event.sender[..4], &PEER.octets());
    assert_eq!(event.checksum_form, checksum_form::V3_IPV4_PSEUDO);
    let record = datapath.record(&key).unwrap().expect("a record after a valid advertisement");
    assert_eq!(record.count, 1);

    datapath.detach(&router_if).expect("detaching");
    drop(datapath);
    drop(inside);
    let link = lab.exec(&router, "ip", &["-d", "link", "show", &router_if]).unwrap();
    let link = String::from_utf8_lossy(&link.stdout);
    assert!(!link.contains("prog/xdp"), "XDP still attached after detach: {link}");
    println!("detached; the lab is deleted when the test ends");
}

/// A frame, the verdict it must get, and the counters that must move (name, by how much).
type Case<'a> = (&'a str, &'a [u8], u32, &'a [(&'a str, u64)]);

#[test]
fn on_crafted_frames_it_passes_valid_and_other_traffic_and_a_routed_peer() {
    require_root();
    let mut datapath = XdpDatapath::load(None).expect("loading the XDP program");
    let key = unicast_instance(&mut datapath, LOOPBACK_IFINDEX);

    let valid = frames::vrrp_v3_ipv4(PEER, ROUTER, VRID, 110, 100, &[VIP]);
    // keepalived's rule: a unicast peer may be routed, so its TTL is not checked.
    let mut routed = valid.clone();
    routed[14 + 8] = 64;
    // The IPv4 header checksum is not the program's business; leave it stale on purpose.
    let other = frames::udp_ipv4(PEER, ROUTER);

    let cases: [Case; 3] = [
        ("valid advertisement", &valid, test_run::XDP_PASS, &[(Counter::Reported.name(), 1)]),
        ("TTL 64 from the peer", &routed, test_run::XDP_PASS, &[(Counter::Absorbed.name(), 1)]),
        ("UDP datagram", &other, test_run::XDP_PASS, &[]),
    ];
    for (name, frame, action, counted) in cases {
        let before = datapath.counters().unwrap();
        let result =
            test_run::run(datapath.program().unwrap().fd().unwrap(), frame, LOOPBACK_IFINDEX, 1)
                .expect("BPF_PROG_TEST_RUN");
        let after = datapath.counters().unwrap();
        println!("{name}: action {} counters {:?}", result.action, changed(&before, &after));
        assert_eq!(result.action, action, "{name}: verdict");
        assert_eq!(changed(&before, &after), counted.to_vec(), "{name}: counters");
    }
    let event = datapath.next_event().expect("the valid advertisement raised an event");
    assert_eq!((event.key, event.priority), (key, 110));
    assert_eq!(datapath.next_event(), None, "only the valid advertisement raises an event");
}
