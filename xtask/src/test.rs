//! `cargo xtask test`: the whole suite, in the order that fails fastest.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use anyhow::{bail, Context, Result};
use xtask::ebpf;

use crate::{package, setup};

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
            "--locked",
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
            "--locked",
            "-p",
            "vrrp-user",
            "--bin",
            "vrrpd",
        ]),
    )?;
    println!("== tests (unit and integration)");
    let mut command = Command::new("cargo");
    // Every test binary runs, so one failure does not hide others.
    command
        .current_dir(&root)
        .args(["test", "--locked", "--no-fail-fast"])
        .args(workspace)
        .args(extra);
    let totals = run_counting(&mut command)?;
    // One closing line for the whole suite (cargo test's last line is a doc-test binary's).
    println!(
        "tests: {} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    // Last: its release build is the slowest step. It runs even after a failure above.
    println!("== the Debian package: built, installed into a fresh root, purged");
    let packaged = package::run(&["test".to_owned()]);
    if !totals.success || totals.failed > 0 {
        if let Err(error) = &packaged {
            eprintln!("package test: {error:#}");
        }
        bail!("tests failed");
    }
    packaged
}

#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
    success: bool,
}

/// Runs `cargo test`, echoing its output, and adds up its "test result:" lines.
fn run_counting(command: &mut Command) -> Result<Totals> {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {command:?}"))?;
    let mut totals = Totals::default();
    let stdout = child.stdout.take().context("no stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(summary) = line.strip_prefix("test result: ") {
            for part in summary.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(kind), Some(count)) = (words.next(), words.next()) else {
                    continue;
                };
                let count: u64 = count.parse().unwrap_or(0);
                match kind {
                    "passed" => totals.passed += count,
                    "failed" => totals.failed += count,
                    "ignored" => totals.ignored += count,
                    _ => {}
                }
            }
        }
    }
    totals.success = child.wait()?.success();
    Ok(totals)
}

fn step(name: &str, command: &mut Command) -> Result<()> {
    println!("== {name}");
    let status = command.status().with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}
