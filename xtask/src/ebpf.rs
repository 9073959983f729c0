//! Building the XDP program (`vrrp-ebpf`) into a BPF object with BTF.

use std::{
    env,
    ffi::OsString,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context, Result};

use crate::toolchain::{self, cargo_home};

pub const TARGET: &str = "bpfel-unknown-none";
pub const CRATE: &str = "vrrp-ebpf";

/// Where the object lands, relative to the workspace root.
pub fn object_path(workspace: &Path) -> PathBuf {
    target_dir(workspace).join(TARGET).join("release").join(CRATE)
}

fn target_dir(workspace: &Path) -> PathBuf {
    // Its own target folder: the build may run inside another cargo's build script, which holds
    // the lock of the main target folder.
    workspace.join("target").join("ebpf")
}

/// Builds the eBPF object (release, BTF, warnings denied) and returns its path.
pub fn build(workspace: &Path) -> Result<PathBuf> {
    let toolchain = toolchain::find()?;
    let linker = toolchain::bpf_linker()?;
    let mut command = Command::new(&toolchain.cargo);
    command
        .current_dir(workspace)
        .args(["build", "--locked", "--release", "--package", CRATE, "--target", TARGET])
        .args(["-Z", "build-std=core"])
        .arg("--target-dir")
        .arg(target_dir(workspace));
    // A cargo running this from a build script leaks its own settings through the environment
    // (RUSTC, RUSTFLAGS, CARGO_CFG_*, ...): they describe the host build, not this one.
    for (name, _) in env::vars_os() {
        if is_outer_cargo_variable(&name) {
            command.env_remove(&name);
        }
    }
    // BTF makes maps and programs readable in bpftool and is required for BTF map definitions.
    let flags = ["-Cdebuginfo=2", "-Clink-arg=--btf", "-Dwarnings"].join("\x1f");
    command.env("CARGO_ENCODED_RUSTFLAGS", flags);
    for (name, value) in &toolchain.env {
        command.env(name, value);
    }
    // bpf-linker must be found by rustc even when cargo's bin folder is not on PATH.
    if let Some(dir) = linker.parent() {
        let mut paths = vec![dir.to_path_buf()];
        paths.extend(env::var_os("PATH").iter().flat_map(env::split_paths));
        command.env("PATH", env::join_paths(paths)?);
    }
    if let Some(home) = cargo_home() {
        command.env("CARGO_HOME", home);
    }
    eprintln!("building {CRATE} with {}", toolchain.description);
    let status =
        command.status().with_context(|| format!("cannot run {}", toolchain.cargo.display()))?;
    if !status.success() {
        bail!("building {CRATE} failed ({status})");
    }
    let object = object_path(workspace);
    if !object.is_file() {
        bail!("the build succeeded but {} is missing", object.display());
    }
    Ok(object)
}

fn is_outer_cargo_variable(name: &OsString) -> bool {
    let name = name.to_string_lossy();
    let kept = ["CARGO_HOME", "CARGO_MAKEFLAGS", "CARGO_NET_OFFLINE", "CARGO_REGISTRIES_"];
    if kept.iter().any(|keep| name.starts_with(keep)) {
        return false;
    }
    name.starts_with("CARGO_")
        || name.starts_with("RUSTC")
        || name == "RUSTFLAGS"
        || name == "RUSTDOCFLAGS"
        || name == "RUSTUP_TOOLCHAIN"
        || name == "TARGET"
        || name == "HOST"
        || name == "OUT_DIR"
        || name == "PROFILE"
        || name == "OPT_LEVEL"
        || name == "DEBUG"
        || name == "NUM_JOBS"
}

/// The workspace root, from this crate's manifest folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
