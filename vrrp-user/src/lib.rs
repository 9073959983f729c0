//! The daemon's library: everything `vrrpd` does, callable from the integration tests.

pub mod xdp;
