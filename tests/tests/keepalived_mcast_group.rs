//! keepalived 2.2.7 and vrrpd on another multicast group than 224.0.0.18 / ff02::12: both name
//! `vrrp_mcast_group4 224.0.0.99` and `vrrp_mcast_group6 ff02::99` in global_defs. keepalived
//! binds its receive socket to its group (vrrp.c open_vrrp_read_socket()) and vrrpd hears its
//! group only, so one master at every step of the cell ([`vrrp_tests::interop`]: election,
//! failover, preemption) shows that each sends to and hears the configured group, on both vrrpd
//! data paths.

use vrrp_tests::{
    interop::{Cast, Cell, Datapath, Family, Peer, Version, PEER, VRRPD},
    require_root,
};

fn cell(family: Family, datapath: Datapath, master: usize) -> Cell {
    require_root();
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(
        found,
        "keepalived is not installed: run `cargo xtask setup` (Debian package keepalived)"
    );
    let cast = Cast::CustomGroup;
    Cell {
        peer: Peer::Keepalived,
        family,
        cast,
        datapath,
        master,
        vmac: false,
        version: Version::V3,
    }
}

#[test]
fn ipv4_custom_group_xdp_keepalived_master() {
    cell(Family::Ipv4, Datapath::Xdp, PEER).run();
}

#[test]
fn ipv4_custom_group_xdp_vrrpd_master() {
    cell(Family::Ipv4, Datapath::Xdp, VRRPD).run();
}

#[test]
fn ipv4_custom_group_socket_keepalived_master() {
    cell(Family::Ipv4, Datapath::Socket, PEER).run();
}

#[test]
fn ipv4_custom_group_socket_vrrpd_master() {
    cell(Family::Ipv4, Datapath::Socket, VRRPD).run();
}

#[test]
fn ipv6_custom_group_xdp_vrrpd_master() {
    cell(Family::Ipv6, Datapath::Xdp, VRRPD).run();
}

#[test]
fn ipv6_custom_group_socket_keepalived_master() {
    cell(Family::Ipv6, Datapath::Socket, PEER).run();
}
