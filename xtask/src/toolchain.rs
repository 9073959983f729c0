//! Finding a toolchain that can build for `bpfel-unknown-none`.
//!
//! The kernel side needs `-Z build-std=core`, so a Rust library source matching the compiler and
//! `bpf-linker` built against that compiler's LLVM. In order of preference:
//! 1. `VRRP_EBPF_CARGO` (and optionally `VRRP_EBPF_RUSTC`): an explicit override;
//! 2. a rustup `nightly` that has the `rust-src` component;
//! 3. Debian's `rustc-web`/`cargo-web` (`/usr/bin/cargo`, `/usr/bin/rustc`) with `rust-web-src`,
//!    built with `RUSTC_BOOTSTRAP=1` (see README, "Toolchain").

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context, Result};

/// How to invoke cargo for the eBPF crate.
#[derive(Debug, Clone)]
pub struct EbpfToolchain {
    pub description: String,
    pub cargo: PathBuf,
    /// Extra environment for the cargo invocation (RUSTC, RUSTUP_TOOLCHAIN, RUSTC_BOOTSTRAP).
    pub env: Vec<(String, String)>,
}

const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_LIBRARY: &str = "/usr/lib/rustlib/src/rust/library/core/Cargo.toml";

pub fn find() -> Result<EbpfToolchain> {
    let mut tried = Vec::new();
    if let Some(cargo) = env::var_os("VRRP_EBPF_CARGO") {
        let mut env = vec![("RUSTC_BOOTSTRAP".to_owned(), "1".to_owned())];
        if let Ok(rustc) = env::var("VRRP_EBPF_RUSTC") {
            env.push(("RUSTC".to_owned(), rustc));
        }
        let toolchain = EbpfToolchain {
            description: format!("VRRP_EBPF_CARGO={}", PathBuf::from(&cargo).display()),
            cargo: cargo.into(),
            env,
        };
        return with_linker(toolchain);
    }
    match nightly_with_rust_src() {
        Ok(toolchain) => return with_linker(toolchain),
        Err(why) => tried.push(format!("rustup nightly: {why:#}")),
    }
    match debian() {
        Ok(toolchain) => return with_linker(toolchain),
        Err(why) => tried.push(format!("Debian rustc-web: {why:#}")),
    }
    bail!(
        "no toolchain can build the eBPF program for bpfel-unknown-none:\n  - {}\n\
         Run `cargo xtask setup` (Debian/Ubuntu, as root), or install a nightly with \
         `rustup toolchain install nightly --component rust-src` and \
         `cargo install bpf-linker`, or set VRRP_EBPF_CARGO.",
        tried.join("\n  - ")
    )
}

fn nightly_with_rust_src() -> Result<EbpfToolchain> {
    let output = Command::new("rustc")
        .args(["+nightly", "--print", "sysroot"])
        .output()
        .context("cannot run `rustc +nightly`")?;
    if !output.status.success() {
        bail!("not installed");
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let core = sysroot.join("lib/rustlib/src/rust/library/core/Cargo.toml");
    if !core.exists() {
        bail!("installed, but without the rust-src component ({} missing)", core.display());
    }
    Ok(EbpfToolchain {
        description: format!("rustup nightly with rust-src ({})", sysroot.display()),
        cargo: "cargo".into(),
        env: vec![("RUSTUP_TOOLCHAIN".to_owned(), "nightly".to_owned())],
    })
}

fn debian() -> Result<EbpfToolchain> {
    for (path, package) in
        [(DEBIAN_CARGO, "cargo-web"), (DEBIAN_RUSTC, "rustc-web"), (DEBIAN_LIBRARY, "rust-web-src")]
    {
        if !Path::new(path).exists() {
            bail!("{path} missing (Debian package {package})");
        }
    }
    Ok(EbpfToolchain {
        description: format!("Debian {DEBIAN_CARGO} with {DEBIAN_RUSTC} and rust-web-src"),
        cargo: DEBIAN_CARGO.into(),
        env: vec![
            // Debian's cargo would otherwise pick rustup's rustc proxy first in PATH.
            ("RUSTC".to_owned(), DEBIAN_RUSTC.to_owned()),
            // Lets a stable compiler accept `-Z build-std`; used for this build only.
            ("RUSTC_BOOTSTRAP".to_owned(), "1".to_owned()),
        ],
    })
}

fn with_linker(toolchain: EbpfToolchain) -> Result<EbpfToolchain> {
    bpf_linker().with_context(|| format!("toolchain found ({})", toolchain.description))?;
    Ok(toolchain)
}

/// The `bpf-linker` on PATH (or in cargo's bin folder).
pub fn bpf_linker() -> Result<PathBuf> {
    let candidates = env::var_os("PATH")
        .map(|path| env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_home().map(|home| home.join("bin")));
    for dir in candidates {
        let linker = dir.join("bpf-linker");
        if linker.is_file() {
            return Ok(linker);
        }
    }
    bail!(
        "bpf-linker is not installed: `cargo install bpf-linker --no-default-features \
         --features llvm-22` with LLVM_PREFIX=/usr/lib/llvm-22 (or `cargo xtask setup`)"
    )
}

pub fn cargo_home() -> Option<PathBuf> {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
}
