//! Workflows shared by `cargo xtask` and build scripts.
//!
//! The eBPF build lives here so that `cargo xtask build-ebpf` and `vrrp-user`'s build script run
//! the very same code: one build path, never two.

pub mod ebpf;
pub mod toolchain;
