//! `cargo xtask test`: the whole suite, in the order that fails fastest.

use std::process::Command;

use anyhow::{bail, Context, Result};
use xtask::ebpf;

use crate::setup;

pub fn run(extra: &[String]) -> Result<()> {
    if setup::run(setup::Mode::Check).is_err() {
        setup::run(setup::Mode::Install)?;
    }
    let root = ebpf::workspace_root();
    step("format", Command::new("cargo").current_dir(&root).args(["fmt", "--all", "--check"]))?;
    println!("== eBPF build");
    let object = ebpf::build(&root)?;
    println!("   {}", object.display());
    // vrrp-ebpf is excluded: it builds for the BPF target only (warnings are denied there).
    let workspace = ["--workspace", "--exclude", "vrrp-ebpf"];
    step(
        "clippy",
        Command::new("cargo").current_dir(&root).arg("clippy").args(workspace).args([
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // The lab tests run the daemon as a separate process, found next to the test binaries.
    step(
        "vrrpd for the lab tests",
        Command::new("cargo").current_dir(&root).args([
            "build",
            "-p",
            "vrrp-user",
            "--bin",
            "vrrpd",
        ]),
    )?;
    step(
        "tests (unit and integration)",
        Command::new("cargo").current_dir(&root).arg("test").args(workspace).args(extra),
    )?;
    Ok(())
}

fn step(name: &str, command: &mut Command) -> Result<()> {
    println!("== {name}");
    let status = command.status().with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}
