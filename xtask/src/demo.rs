//! `cargo xtask demo`: the reference scenario in network namespaces, with a timeline.

use std::process::Command;

use anyhow::{bail, Context, Result};
use xtask::ebpf;

use crate::setup;

pub fn run() -> Result<()> {
    if setup::run(setup::Mode::Check).is_err() {
        setup::run(setup::Mode::Install)?;
    }
    let root = ebpf::workspace_root();
    println!("== Building vrrpd and the demo (release)");
    let status = Command::new("cargo")
        .current_dir(&root)
        .args(["build", "--locked", "--release", "--quiet", "-p", "vrrp-user", "-p", "vrrp-tests"])
        .args(["--bin", "vrrpd", "--bin", "vrrp-demo"])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("the build failed ({status})");
    }
    let release = root.join("target").join("release");
    let status = Command::new(release.join("vrrp-demo"))
        .env("VRRPD", release.join("vrrpd"))
        .status()
        .context("running the demo (it needs root: namespaces, XDP)")?;
    if !status.success() {
        bail!("the demo failed ({status})");
    }
    Ok(())
}
