//! Embeds the XDP program: builds it with the same code as `cargo xtask build-ebpf`.

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let workspace = Path::new(&manifest).parent().expect("vrrp-user lives in the workspace");
    for watched in ["vrrp-ebpf/src", "vrrp-ebpf/Cargo.toml", "vrrp-common/src"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }
    match xtask::ebpf::build(workspace) {
        Ok(object) => println!("cargo:rustc-env=VRRP_EBPF_OBJECT={}", object.display()),
        Err(error) => {
            // The daemon is useless without its kernel program: say why and how to fix it.
            eprintln!("error: cannot build the XDP program: {error:#}");
            std::process::exit(1);
        }
    }
}
