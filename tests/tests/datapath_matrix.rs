//! vrrpd on its XDP path (router 1) beside vrrpd on its socket path (router 2): the protocol
//! versions (VRRPv2 with no authentication, PASS and AH), families and casts that
//! `socket_datapath.rs` (VRRPv3 IPv4 unicast) does not already run between the two paths, in
//! both roles, each through election, failover and preemption with one master at every step
//! ([`vrrp_tests::interop`]). Both nodes must also have dropped none of the other's
//! advertisements.

use vrrp_tests::{
    interop::{Cast, Cell, Datapath, Family, Peer, Version, PEER, VRRPD},
    require_root,
};

/// One test per cell, so that each reports on its own and they run side by side.
macro_rules! matrix {
    ($($name:ident: $version:ident $family:ident $cast:ident $master:ident;)*) => {$(
        #[test]
        fn $name() {
            require_root();
            Cell {
                peer: Peer::Vrrpd(Datapath::Xdp),
                family: Family::$family,
                cast: Cast::$cast,
                datapath: Datapath::Socket,
                master: $master,
                vmac: false,
                version: Version::$version,
            }
            .run();
        }
    )*};
}

matrix! {
    v2_xdp_master: V2 Ipv4 Multicast PEER;
    v2_socket_master: V2 Ipv4 Multicast VRRPD;
    v2_pass_xdp_master: V2Pass Ipv4 Multicast PEER;
    v2_pass_socket_master: V2Pass Ipv4 Multicast VRRPD;
    v2_ah_xdp_master: V2Ah Ipv4 Multicast PEER;
    v2_ah_socket_master: V2Ah Ipv4 Multicast VRRPD;
    ipv4_multicast_xdp_master: V3 Ipv4 Multicast PEER;
    ipv4_multicast_socket_master: V3 Ipv4 Multicast VRRPD;
    ipv6_unicast_xdp_master: V3 Ipv6 Unicast PEER;
    ipv6_unicast_socket_master: V3 Ipv6 Unicast VRRPD;
    ipv6_multicast_xdp_master: V3 Ipv6 Multicast PEER;
    ipv6_multicast_socket_master: V3 Ipv6 Multicast VRRPD;
}
