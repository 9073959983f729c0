//! `cargo xtask bench`: every benchmark, printing what it measured (nothing is asserted).

use std::process::Command;

use anyhow::{bail, Context, Result};
use xtask::ebpf;

use crate::setup;

/// The benchmarks, in the order they run, with what each needs.
const BENCHES: &[(&str, &[&str])] = &[
    ("protocol core (criterion)", &["bench", "-p", "vrrp-proto"]),
    (
        "XDP program (BPF_PROG_TEST_RUN, root)",
        &["bench", "-p", "vrrp-tests", "--bench", "xdp_test_run"],
    ),
    (
        "failover beside keepalived (lab, root)",
        &["bench", "-p", "vrrp-tests", "--bench", "failover"],
    ),
    ("flood beside keepalived (lab, root)", &["bench", "-p", "vrrp-tests", "--bench", "flood"]),
    (SCALE, &["bench", "-p", "vrrp-tests", "--bench", "scale"]),
];

const SCALE: &str = "scale beside keepalived (lab, root)";

/// Every benchmark, or with `scale` the scale lab alone.
pub fn run(only: Option<&str>) -> Result<()> {
    let chosen: Vec<_> = match only {
        None => BENCHES.iter().collect(),
        Some("scale") => BENCHES.iter().filter(|(name, _)| *name == SCALE).collect(),
        Some(other) => bail!("unknown benchmark {other:?} (known: scale)"),
    };
    if setup::run(setup::Mode::Check).is_err() {
        setup::run(setup::Mode::Install)?;
    }
    let root = ebpf::workspace_root();
    // The lab benchmarks run the release daemon, found next to the benchmark binaries.
    cargo(&root, "vrrpd (release)", &["build", "--release", "-p", "vrrp-user", "--bin", "vrrpd"])?;
    for (name, args) in chosen {
        cargo(&root, name, args)?;
    }
    Ok(())
}

fn cargo(root: &std::path::Path, name: &str, args: &[&str]) -> Result<()> {
    println!("== {name}");
    let status = Command::new("cargo")
        .current_dir(root)
        .args(&args[..1])
        .arg("--locked")
        .args(&args[1..])
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}
