//! keepalived's pre-1.3.6 unicast VRRPv3 checksum as the node decides it (keepalived vrrp.c
//! vrrp_in_chk(), vrrp_data.c alloc_vrrp()): which form is judged how, what goes out, and what
//! a reload forgets.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Instant;

use vrrp_config::Config;
use vrrp_node::{InstanceId, Node};
use vrrp_proto::{ChecksumForm, ChecksumMode, OldChecksumVerdict};

const OLD: ChecksumForm = ChecksumForm::V3Ipv4OldUnicast;

/// One VRRPv3 instance, unicast when `peer`, with `line` in it and `global` in global_defs.
fn config(global: &str, line: &str, peer: bool) -> Config {
    let peers = if peer { " unicast_peer {\n 192.0.2.2\n }\n" } else { "" };
    let text = format!(
        "global_defs {{\n vrrp_version 3\n{global}}}\nvrrp_instance A {{\n interface eth0\n \
         virtual_router_id 1\n priority 100\n unicast_src_ip 192.0.2.1\n{peers}{line} \
         virtual_ipaddress {{\n 192.0.2.100\n }}\n}}\n"
    );
    vrrp_config::parse_str(&text, Path::new("old.conf")).expect("valid").config
}

fn started(config: Config) -> (Node, InstanceId) {
    let mut node = Node::new();
    let now = Instant::now();
    node.handle_link(now, "eth0", true);
    node.handle_reload(now, config, &HashMap::new()).expect("runs");
    while node.poll_output().is_some() {}
    let id = node.instances().next().expect("running").0;
    (node, id)
}

fn send_mode(node: &Node, id: InstanceId) -> ChecksumMode {
    node.instance(id).expect("running").send_mode()
}

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

#[test]
fn a_default_instance_switches_once_on_the_first_old_form_and_a_reload_forgets_it() {
    let (mut node, id) = started(config("", "", true));
    assert_eq!(send_mode(&node, id), ChecksumMode::Ipv4PseudoHeader);
    let rfc = ChecksumForm::V3Ipv4PseudoHeader;
    assert_eq!(node.handle_checksum_form(id, rfc), Some(OldChecksumVerdict::Accept));
    assert_eq!(send_mode(&node, id), ChecksumMode::Ipv4PseudoHeader);
    assert_eq!(node.handle_checksum_form(id, OLD), Some(OldChecksumVerdict::AcceptAndSwitch));
    assert_eq!(node.handle_checksum_form(id, OLD), Some(OldChecksumVerdict::Accept));
    assert_eq!(send_mode(&node, id), ChecksumMode::Ipv4OldUnicast { group: GROUP });
    // The RFC form stays accepted once switched.
    assert_eq!(node.handle_checksum_form(id, rfc), Some(OldChecksumVerdict::Accept));

    node.handle_reload(Instant::now(), config("", "", true), &HashMap::new()).expect("runs");
    let id = node.instances().next().expect("running").0;
    assert_eq!(send_mode(&node, id), ChecksumMode::Ipv4PseudoHeader, "a reload forgets it");
    assert_eq!(node.handle_checksum_form(id, OLD), Some(OldChecksumVerdict::AcceptAndSwitch));
}

#[test]
fn old_unicast_checksum_sends_it_from_the_start_on_the_global_group() {
    let group = Ipv4Addr::new(224, 0, 0, 99);
    let (mut node, id) =
        started(config(&format!(" vrrp_mcast_group4 {group}\n"), " old_unicast_checksum\n", true));
    assert_eq!(send_mode(&node, id), ChecksumMode::Ipv4OldUnicast { group });
    assert_eq!(node.handle_checksum_form(id, OLD), Some(OldChecksumVerdict::Accept));
}

#[test]
fn never_and_multicast_instances_take_the_old_form_for_a_bad_checksum() {
    let (mut node, id) = started(config("", " old_unicast_checksum never\n", true));
    assert_eq!(node.handle_checksum_form(id, OLD), Some(OldChecksumVerdict::BadChecksum));
    assert_eq!(send_mode(&node, id), ChecksumMode::Ipv4PseudoHeader);
    let (mut node, id) = started(config("", " old_unicast_checksum\n", false));
    assert_eq!(node.handle_checksum_form(id, OLD), Some(OldChecksumVerdict::BadChecksum));
    assert_eq!(send_mode(&node, id), ChecksumMode::Ipv4PseudoHeader);
}
