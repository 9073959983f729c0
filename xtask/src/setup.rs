//! `cargo xtask setup`: install the build and test dependencies, and nothing else.

use std::{fs, path::Path, process::Command};

use anyhow::{bail, Context, Result};
use xtask::toolchain;

/// Debian packages, and why each is needed.
const PACKAGES: &[(&str, &str)] = &[
    ("rustc-web", "a rustc whose library source ships with it (kernel-side build)"),
    ("cargo-web", "the cargo matching rustc-web"),
    ("rust-web-src", "the library source for -Z build-std=core"),
    ("llvm-22-dev", "LLVM 22, which bpf-linker links against (rustc-web uses LLVM 22)"),
    ("zlib1g-dev", "needed to link bpf-linker"),
    ("libzstd-dev", "needed to link bpf-linker"),
    ("bpftool", "inspecting pinned programs and maps"),
    ("iproute2", "namespaces, veths and addresses in the tests"),
    ("keepalived", "the interoperability peer"),
    ("xdp-tools", "xdp-filter and xdp-loader: other XDP programs to share an interface with"),
    ("frr", "FRR's vrrpd and zebra, the second interoperability peer"),
    ("tshark", "independent decoding of the packets we write"),
    ("tcpdump", "captures in the labs"),
    ("iputils-ping", "client traffic through the virtual address"),
    ("ethtool", "VLAN offloads on the lab's veths (where the tag sits when XDP runs)"),
    (
        "prometheus",
        "promtool check metrics: the metrics endpoint's text is what Prometheus accepts",
    ),
    ("systemd", "systemd-analyze, which verifies the unit file"),
    ("gnuplot-nox", "the scale benchmark's plot"),
    ("dpkg-dev", "dpkg-shlibdeps, which computes the package's Depends from the binary"),
    ("debootstrap", "the fresh Debian root the package test installs into"),
    ("man-db", "the package test renders the man pages, warnings denied"),
];

/// bpf-linker built against the LLVM of Debian's rustc-web.
const BPF_LINKER_VERSION: &str = "0.13.0";
const BPF_LINKER_LLVM: &str = "22";

/// cargo-deb builds the Debian package; 3.8.0 declares rust-version 1.85.
const CARGO_DEB_VERSION: &str = "3.8.0";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Install what is missing.
    Install,
    /// Only report whether something is missing.
    Check,
}

/// `Check` fails when something is missing; `Install` installs it or says what to install.
pub fn run(mode: Mode) -> Result<()> {
    let missing_packages: Vec<&str> =
        PACKAGES.iter().map(|(name, _)| *name).filter(|name| !package_installed(name)).collect();
    let linker_ok = bpf_linker_matches();
    let cargo_deb_ok = cargo_deb_matches();
    let bpffs_ok = bpffs_mounted();
    if missing_packages.is_empty() && linker_ok && cargo_deb_ok && bpffs_ok {
        println!("setup: everything is in place");
        return Ok(());
    }
    if mode == Mode::Check {
        bail!("setup needed");
    }
    let debian_like = Path::new("/etc/debian_version").exists() && which("apt-get");
    let root = is_root();
    if !debian_like || !root {
        let mut text = String::from("cannot install here");
        text += if !debian_like { " (not a Debian-like system)" } else { " (not root)" };
        text += ". Install:\n";
        for (name, why) in PACKAGES.iter().filter(|(name, _)| missing_packages.contains(name)) {
            text += &format!("  - {name}: {why}\n");
        }
        if !linker_ok {
            text += &format!(
                "  - bpf-linker {BPF_LINKER_VERSION} against LLVM {BPF_LINKER_LLVM}: \
                 LLVM_PREFIX=/usr/lib/llvm-{BPF_LINKER_LLVM} cargo install bpf-linker \
                 --locked --version {BPF_LINKER_VERSION} --no-default-features \
                 --features llvm-{BPF_LINKER_LLVM}\n"
            );
        }
        if !cargo_deb_ok {
            text += &format!(
                "  - cargo-deb {CARGO_DEB_VERSION}: cargo install --locked cargo-deb --version \
                 {CARGO_DEB_VERSION}\n"
            );
        }
        if !bpffs_ok {
            text += "  - bpffs: mount -t bpf bpf /sys/fs/bpf\n";
        }
        bail!("{text}");
    }
    if !missing_packages.is_empty() {
        println!("setup: installing Debian packages: {}", missing_packages.join(" "));
        run_command(Command::new("apt-get").args(["update", "-q"]))?;
        run_command(
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-q"])
                .args(&missing_packages),
        )?;
    }
    if !linker_ok {
        println!("setup: building bpf-linker {BPF_LINKER_VERSION} against LLVM {BPF_LINKER_LLVM}");
        run_command(
            Command::new("cargo")
                .env("LLVM_PREFIX", format!("/usr/lib/llvm-{BPF_LINKER_LLVM}"))
                .args([
                    "install",
                    "bpf-linker",
                    "--locked",
                    "--force",
                    "--version",
                    BPF_LINKER_VERSION,
                ])
                .args(["--no-default-features", "--features"])
                .arg(format!("llvm-{BPF_LINKER_LLVM}")),
        )?;
    }
    if !cargo_deb_ok {
        println!("setup: installing cargo-deb {CARGO_DEB_VERSION}");
        run_command(
            Command::new("cargo")
                .args(["install", "--locked", "--force", "cargo-deb", "--version"])
                .arg(CARGO_DEB_VERSION),
        )?;
    }
    if !bpffs_ok {
        // Root's alone: a world-writable bpffs lets any user pre-create vrrpd's pin folder.
        println!("setup: mounting bpffs on /sys/fs/bpf (mode 0700)");
        run_command(Command::new("mount").args([
            "-t",
            "bpf",
            "-o",
            "mode=0700",
            "bpf",
            "/sys/fs/bpf",
        ]))?;
    }
    println!("setup: done");
    Ok(())
}

fn package_installed(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", name])
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.ends_with(b"install ok installed"))
}

/// bpf-linker exists and links the LLVM our rustc-web uses.
fn bpf_linker_matches() -> bool {
    let Ok(linker) = toolchain::bpf_linker() else {
        return false;
    };
    Command::new("ldd").arg(&linker).output().is_ok_and(|out| {
        String::from_utf8_lossy(&out.stdout).contains(&format!("libLLVM.so.{BPF_LINKER_LLVM}"))
    })
}

/// `cargo deb --version` prints "cargo-deb VERSION".
fn cargo_deb_matches() -> bool {
    Command::new("cargo").args(["deb", "--version"]).output().is_ok_and(|out| {
        out.status.success()
            && String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .any(|w| w == CARGO_DEB_VERSION)
    })
}

pub fn bpffs_mounted() -> bool {
    fs::read_to_string("/proc/mounts").is_ok_and(|mounts| {
        mounts.lines().any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&"/sys/fs/bpf") && fields.get(2) == Some(&"bpf")
        })
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn run_command(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
