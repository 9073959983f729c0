//! The daemon's library: everything `vrrpd` does, callable from the integration tests.

pub mod advert_socket;
pub mod announce;
pub mod arrivals;
pub mod cleanup;
pub mod control;
pub mod daemon;
mod effects;
pub mod hook;
mod inputs;
pub mod inspect;
pub mod instance;
mod instance_table;
pub mod kernel_clock;
mod lifecycle;
pub mod lock;
pub mod metrics;
pub mod netlink;
pub mod once_per_peer;
pub mod pin_dir;
pub mod scripts;
pub mod slots;
pub mod socket_receiver;
pub mod status;
pub mod systemd;
pub mod tcx;
pub mod test_run;
pub mod xdp;
