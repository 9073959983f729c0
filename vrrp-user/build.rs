//! Embeds the XDP program: builds it with the same code as `cargo xtask build-ebpf`.
//!
//! Where no kernel-side toolchain is installed, `cargo check` and clippy still work (they need
//! the types, never the object): the build embeds an empty stub and sets `vrrp_ebpf_stub`, and
//! anything that links (`cargo build`, `cargo test`) then fails on a missing symbol that says
//! what to do (see `xdp::OBJECT`). A toolchain that is present but fails to build the program is
//! an error at once.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let workspace = Path::new(&manifest).parent().expect("vrrp-user lives in the workspace");
    for watched in ["vrrp-ebpf/src", "vrrp-ebpf/Cargo.toml", "vrrp-common/src"] {
        println!("cargo::rerun-if-changed={}", workspace.join(watched).display());
    }
    for variable in ["PATH", "VRRP_EBPF_CARGO", "VRRP_EBPF_RUSTC"] {
        println!("cargo::rerun-if-env-changed={variable}");
    }
    println!("cargo::rustc-check-cfg=cfg(vrrp_ebpf_stub)");
    if let Err(missing) = xtask::toolchain::find() {
        let stub = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
            .join("vrrp-ebpf-stub");
        std::fs::write(&stub, []).expect("writing the stub object into OUT_DIR");
        for line in format!("{missing:#}").lines() {
            println!("cargo::warning={line}");
        }
        println!(
            "cargo::warning=vrrpd is checked without its XDP program; linking it will fail \
             until the toolchain above is installed (cargo xtask setup)"
        );
        println!("cargo::rustc-cfg=vrrp_ebpf_stub");
        println!("cargo::rustc-env=VRRP_EBPF_OBJECT={}", stub.display());
        return;
    }
    match xtask::ebpf::build(workspace) {
        Ok(object) => println!("cargo::rustc-env=VRRP_EBPF_OBJECT={}", object.display()),
        Err(error) => {
            // The daemon is useless without its kernel program: say why and how to fix it.
            eprintln!("error: cannot build the XDP program: {error:#}");
            std::process::exit(1);
        }
    }
}
