//! Interoperability with FRR's vrrpd (Debian's frr 8.4), VRRPv3 multicast (FRR has no unicast
//! mode), IPv4 and IPv6, on both vrrpd data paths, in both roles: FRR master, failover to vrrpd,
//! FRR preempts back; and vrrpd master, failover to FRR, vrrpd preempts back
//! ([`vrrp_tests::interop`]). FRR runs as its user guide shows: zebra beside vrrpd, a macvlan
//! with the virtual MAC carrying the virtual address; vrrpd runs without a virtual MAC, and in
//! the `vmac` cells with `use_vmac`.
//! FRR's IPv6 advertisement carries its global address alone (no link-local first): vrrpd
//! accepts it, with a note (see `receive_notes.rs`).

use vrrp_tests::{
    interop::{Cast, Cell, Datapath, Family, Peer, Version, PEER, VRRPD},
    require_root,
};

/// One test per cell, so that each reports on its own and they run side by side.
macro_rules! matrix {
    ($($name:ident: $family:ident $datapath:ident $master:ident;)*) => {$(
        #[test]
        fn $name() {
            require_root();
            require_frr();
            Cell {
                peer: Peer::Frr,
                family: Family::$family,
                cast: Cast::Multicast,
                datapath: Datapath::$datapath,
                master: $master,
                vmac: false,
                version: Version::V3,
            }
            .run();
        }
    )*};
}

matrix! {
    ipv4_xdp_frr_master: Ipv4 Xdp PEER;
    ipv4_xdp_vrrpd_master: Ipv4 Xdp VRRPD;
    ipv4_socket_frr_master: Ipv4 Socket PEER;
    ipv4_socket_vrrpd_master: Ipv4 Socket VRRPD;
    ipv6_xdp_frr_master: Ipv6 Xdp PEER;
    ipv6_xdp_vrrpd_master: Ipv6 Xdp VRRPD;
    ipv6_socket_frr_master: Ipv6 Socket PEER;
    ipv6_socket_vrrpd_master: Ipv6 Socket VRRPD;
}

fn require_frr() {
    for daemon in ["zebra", "vrrpd"] {
        let path = format!("/usr/lib/frr/{daemon}");
        assert!(
            std::path::Path::new(&path).exists(),
            "FRR is not installed ({path} is missing): run `cargo xtask setup` (Debian package frr)"
        );
    }
}

/// vrrpd with `use_vmac` too: both sides answer for the address with the virtual MAC, as FRR
/// requires of itself, in both roles.
fn vmac_cell(family: Family, datapath: Datapath, master: usize) {
    require_root();
    require_frr();
    let (cast, vmac) = (Cast::Multicast, true);
    Cell { peer: Peer::Frr, family, cast, datapath, master, vmac, version: Version::V3 }.run();
}

#[test]
fn ipv4_xdp_vmac_frr_master() {
    vmac_cell(Family::Ipv4, Datapath::Xdp, PEER);
}

#[test]
fn ipv4_xdp_vmac_vrrpd_master() {
    vmac_cell(Family::Ipv4, Datapath::Xdp, VRRPD);
}

#[test]
fn ipv4_socket_vmac_vrrpd_master() {
    vmac_cell(Family::Ipv4, Datapath::Socket, VRRPD);
}

#[test]
fn ipv6_xdp_vmac_frr_master() {
    vmac_cell(Family::Ipv6, Datapath::Xdp, PEER);
}

#[test]
fn ipv6_xdp_vmac_vrrpd_master() {
    vmac_cell(Family::Ipv6, Datapath::Xdp, VRRPD);
}
