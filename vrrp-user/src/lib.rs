//! The daemon's library: everything `vrrpd` does, callable from the integration tests.

pub mod advert_socket;
pub mod announce;
pub mod arrivals;
pub mod counters;
pub mod daemon;
pub mod instance;
pub mod netlink;
pub mod plan;
pub mod scripts;
pub mod systemd;
pub mod xdp;
