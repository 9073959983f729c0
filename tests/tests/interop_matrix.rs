//! The interoperability matrix with keepalived (Debian's 2.2.7), VRRPv3: every combination of
//! address family (IPv4, IPv6), advertisement cast (unicast, multicast), vrrpd data path (XDP,
//! socket; tcx for two of the four family and cast pairs) and roles (keepalived or vrrpd has
//! the higher priority), each cell through election, failover and preemption with one master at
//! every step ([`vrrp_tests::interop`]). VRRPv2 (IPv4 multicast, keepalived's defaults), with no
//! authentication and with `auth_type PASS`, on both data paths and in both roles, and with
//! `auth_type AH` on the socket path (`keepalived_ah.rs` runs AH on XDP).
//! `docs/interop.md` has the table of what is tested where.

use vrrp_tests::{
    interop::{Cast, Cell, Datapath, Family, Peer, Version, PEER, VRRPD},
    require_root,
};

/// One test per cell, so that each reports on its own and they run side by side.
macro_rules! matrix {
    ($($name:ident: $version:ident $family:ident $cast:ident $datapath:ident $master:ident;)*) => {$(
        #[test]
        fn $name() {
            require_root();
            require_keepalived();
            Cell {
                peer: Peer::Keepalived,
                family: Family::$family,
                cast: Cast::$cast,
                datapath: Datapath::$datapath,
                master: $master,
                vmac: false,
                version: Version::$version,
            }
            .run();
        }
    )*};
}

matrix! {
    ipv4_unicast_xdp_keepalived_master: V3 Ipv4 Unicast Xdp PEER;
    ipv4_unicast_xdp_vrrpd_master: V3 Ipv4 Unicast Xdp VRRPD;
    ipv4_unicast_socket_keepalived_master: V3 Ipv4 Unicast Socket PEER;
    ipv4_unicast_socket_vrrpd_master: V3 Ipv4 Unicast Socket VRRPD;
    ipv4_multicast_xdp_keepalived_master: V3 Ipv4 Multicast Xdp PEER;
    ipv4_multicast_xdp_vrrpd_master: V3 Ipv4 Multicast Xdp VRRPD;
    ipv4_multicast_socket_keepalived_master: V3 Ipv4 Multicast Socket PEER;
    ipv4_multicast_socket_vrrpd_master: V3 Ipv4 Multicast Socket VRRPD;
    ipv6_unicast_xdp_keepalived_master: V3 Ipv6 Unicast Xdp PEER;
    ipv6_unicast_xdp_vrrpd_master: V3 Ipv6 Unicast Xdp VRRPD;
    ipv6_unicast_socket_keepalived_master: V3 Ipv6 Unicast Socket PEER;
    ipv6_unicast_socket_vrrpd_master: V3 Ipv6 Unicast Socket VRRPD;
    ipv6_multicast_xdp_keepalived_master: V3 Ipv6 Multicast Xdp PEER;
    ipv6_multicast_xdp_vrrpd_master: V3 Ipv6 Multicast Xdp VRRPD;
    ipv6_multicast_socket_keepalived_master: V3 Ipv6 Multicast Socket PEER;
    ipv6_multicast_socket_vrrpd_master: V3 Ipv6 Multicast Socket VRRPD;
    ipv4_unicast_tcx_keepalived_master: V3 Ipv4 Unicast Tcx PEER;
    ipv4_unicast_tcx_vrrpd_master: V3 Ipv4 Unicast Tcx VRRPD;
    ipv6_multicast_tcx_keepalived_master: V3 Ipv6 Multicast Tcx PEER;
    ipv6_multicast_tcx_vrrpd_master: V3 Ipv6 Multicast Tcx VRRPD;
    v2_xdp_keepalived_master: V2 Ipv4 Multicast Xdp PEER;
    v2_xdp_vrrpd_master: V2 Ipv4 Multicast Xdp VRRPD;
    v2_socket_keepalived_master: V2 Ipv4 Multicast Socket PEER;
    v2_socket_vrrpd_master: V2 Ipv4 Multicast Socket VRRPD;
    v2_pass_xdp_keepalived_master: V2Pass Ipv4 Multicast Xdp PEER;
    v2_pass_xdp_vrrpd_master: V2Pass Ipv4 Multicast Xdp VRRPD;
    v2_pass_socket_keepalived_master: V2Pass Ipv4 Multicast Socket PEER;
    v2_pass_socket_vrrpd_master: V2Pass Ipv4 Multicast Socket VRRPD;
    v2_ah_socket_keepalived_master: V2Ah Ipv4 Multicast Socket PEER;
    v2_ah_socket_vrrpd_master: V2Ah Ipv4 Multicast Socket VRRPD;
}

fn require_keepalived() {
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(
        found,
        "keepalived is not installed: run `cargo xtask setup` (Debian package keepalived)"
    );
}

/// keepalived and vrrpd both with `use_vmac` (the same file), multicast: each one's
/// address on its macvlan `vrrp.51`, one master at every step, in both roles.
fn vmac_cell(family: Family, datapath: Datapath, master: usize) {
    require_root();
    require_keepalived();
    let (cast, vmac) = (Cast::Multicast, true);
    Cell { peer: Peer::Keepalived, family, cast, datapath, master, vmac, version: Version::V3 }
        .run();
}

#[test]
fn ipv4_multicast_xdp_vmac_keepalived_master() {
    vmac_cell(Family::Ipv4, Datapath::Xdp, PEER);
}

#[test]
fn ipv4_multicast_xdp_vmac_vrrpd_master() {
    vmac_cell(Family::Ipv4, Datapath::Xdp, VRRPD);
}

#[test]
fn ipv4_multicast_socket_vmac_vrrpd_master() {
    vmac_cell(Family::Ipv4, Datapath::Socket, VRRPD);
}

#[test]
fn ipv6_multicast_xdp_vmac_keepalived_master() {
    vmac_cell(Family::Ipv6, Datapath::Xdp, PEER);
}

#[test]
fn ipv6_multicast_xdp_vmac_vrrpd_master() {
    vmac_cell(Family::Ipv6, Datapath::Xdp, VRRPD);
}
