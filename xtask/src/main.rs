//! `cargo xtask`: what cargo cannot do alone. Run `cargo xtask help`.

mod bench;
mod demo;
mod package;
mod setup;
mod test;

use std::{env, process::ExitCode};

use anyhow::Result;
use xtask::ebpf;

const HELP: &str = "\
cargo xtask <COMMAND>

Commands:
  setup        Install what building and testing need, and only that (Debian/Ubuntu, as root):
               Debian packages, bpf-linker against LLVM 22, cargo-deb, bpffs mounted.
               Idempotent. Elsewhere, prints what to install and exits non-zero.
  build-ebpf   Build the XDP program (release, BTF) with the same code the daemon's build uses.
               Prints the object's path.
  test         The whole suite: setup if something is missing, format check, clippy (warnings
               denied), the eBPF build, unit tests, the integration tests in tests/ (root),
               and `package test`.
  demo         The reference scenario in network namespaces (root): two servers running vrrpd
               with the reference keepalived.conf files, a client pinging the VIP, the master
               killed and brought back; prints the failover timeline in milliseconds.
  bench        Every benchmark: the protocol core (criterion), the XDP program
               (BPF_PROG_TEST_RUN), failover and a flood of forged advertisements beside
               keepalived (namespace labs, root), and the scale lab. Prints figures; asserts
               nothing.
  bench scale  The scale lab only: 1-1000 instances at advert_int 1, 0.1 and 0.01 s, vrrpd
               (XDP and socket paths) beside keepalived; CPU, transitions, failover p100, RSS;
               writes docs/scale.{dat,png} (SCALE_COUNTS, SCALE_INTERVALS_MS, SCALE_DAEMONS
               narrow it).
  package      The Debian package (cargo-deb): vrrpd (release, with its XDP program), the
               systemd unit, man pages and shell completions generated from the command line,
               examples. Prints the .deb's path.
  package test The package, then installed into a fresh Debian 12 root (debootstrap, cached in
               the target folder; root): dpkg refuses it beside keepalived, apt switches to it
               and back, check-config, systemd-analyze verify and the man pages are checked
               there, and after the purge nothing may be left.
               VRRPD_DEBIAN_MIRROR chooses the mirror (default deb.debian.org).
  help         This text.
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run(setup::Mode::Install),
        Some("build-ebpf") => build_ebpf(),
        Some("test") => test::run(&args[1..]),
        Some("demo") => demo::run(),
        Some("package") => package::run(&args[1..]),
        Some("bench") => bench::run(args.get(1).map(String::as_str)),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => {
            eprint!("unknown command {other:?}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn build_ebpf() -> Result<()> {
    let object = ebpf::build(&ebpf::workspace_root())?;
    println!("{}", object.display());
    Ok(())
}
