//! The daemon's library: everything `vrrpd` does, callable from the integration tests.

pub mod advert_socket;
pub mod announce;
pub mod netlink;
pub mod systemd;
pub mod xdp;
