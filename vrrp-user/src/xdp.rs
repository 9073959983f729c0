//! The XDP data path: the embedded kernel program and its loader.

/// The BPF object built by `cargo xtask build-ebpf` (the build script runs the same code).
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(env!("VRRP_EBPF_OBJECT"));
