//! `vrrpd`: the VRRP daemon. Run `vrrpd --help`.

use std::{io::Write, net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use vrrp_user::{
    control,
    daemon::{self, DatapathChoice, Options},
    dumps,
    hook::HookChoice,
    inspect,
    lock::DEFAULT_RUNTIME_DIR,
    manual, systemd,
    xdp::{AttachMode, DEFAULT_PIN_DIR},
};

/// An eBPF-accelerated VRRP daemon (RFC 9568, VRRPv2 and v3) that runs keepalived.conf files.
///
/// Advertisements are validated by an XDP program in the kernel (or by the same rules at tc
/// ingress, where another program holds XDP): invalid and unauthorised ones are dropped and
/// counted there, and the daemon wakes only when something changed. Where no kernel hook
/// attaches, a raw-socket data path does the same checks in user space.
///
/// Examples:
///   vrrpd -f /etc/keepalived/keepalived.conf      run (in the foreground; systemd Type=notify)
///   vrrpd check-config /etc/keepalived/keepalived.conf
///   vrrpd status                                    who is master, since when, why
///   vrrpd status --check                            exit 1 unless every instance is BACKUP or MASTER
///   vrrpd counters                                  what the kernel dropped, and why
///   vrrpd instances                                 what the kernel holds per instance
///   bpftool map dump pinned /sys/fs/bpf/vrrpd/VRRP_COUNTERS
///
/// Signals: SIGHUP reloads the file (unchanged instances keep their state and addresses; a bad
/// file is refused and the running configuration stays); SIGTERM resigns (priority 0), removes
/// the virtual addresses, detaches XDP and exits 0. As keepalived, SIGUSR1 writes
/// keepalived.data, SIGUSR2 keepalived.stats (SIGRTMAX-1 too, then counts the file's counters
/// from 0 again) and SIGRTMIN+2 keepalived.json, into --dump-dir; `vrrpd --signum=JSON`
/// prints a signal's number.
#[derive(Parser, Debug)]
#[command(name = "vrrpd", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Print the number of the signal for STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON, as
    /// `keepalived --signum` does, and exit.
    #[arg(long, value_name = "SIGFUNC")]
    signum: Option<String>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Configuration file: keepalived.conf syntax, or the native TOML format (`.toml`).
    #[arg(short = 'f', long = "config", default_value = "/etc/keepalived/keepalived.conf")]
    config: PathBuf,
    /// Where advertisements are received and validated.
    #[arg(long, value_enum, default_value_t = DatapathChoice::Auto)]
    datapath: DatapathChoice,
    /// XDP attach mode: auto tries native (driver) mode and falls back to generic. In native
    /// mode, a driver that reports the VLAN tags it strips (veth, mlx5, ice; Linux >= 6.8) gets
    /// a program bound to the device (vrrp_xdp_vlan) that reads them, so a frame of another
    /// VLAN is never taken for the interface's own; generic mode cannot see such tags.
    #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
    xdp_mode: AttachMode,
    /// Kernel hook per interface: auto takes XDP where it attaches and tc ingress (tcx, Linux
    /// >= 6.6) where another program holds XDP or the driver refuses it.
    #[arg(long, value_enum, default_value_t = HookChoice::Auto)]
    hook: HookChoice,
    /// bpffs folder for the pinned program and maps (readable with bpftool). Where it is on
    /// no bpffs, XDP runs unpinned; an existing folder must be root's, mode 0700.
    #[arg(long, default_value = DEFAULT_PIN_DIR)]
    pin_dir: PathBuf,
    /// Folder of the single-instance lock, writable by root only (systemd's
    /// `RuntimeDirectory=vrrpd` sets RUNTIME_DIRECTORY). A second vrrpd with the same folder
    /// refuses to start.
    #[arg(long, env = "RUNTIME_DIRECTORY", default_value = DEFAULT_RUNTIME_DIR)]
    runtime_dir: PathBuf,
    /// Pass valid advertisements up the stack after accounting (visible to tcpdump on the
    /// host and to other VRRP daemons) instead of consuming them in XDP.
    #[arg(long)]
    pass_valid: bool,
    /// Folder of keepalived's dump files (keepalived.data, .stats, .json), written on its
    /// signals. Default as keepalived: $TMPDIR when absolute, else /tmp.
    #[arg(long, value_name = "DIR")]
    dump_dir: Option<PathBuf>,
    /// Write the daemon's process id to FILE, as keepalived's -p/--pid does, for what signals
    /// keepalived by its pid file (the exporters' ka.pid-path). Removed at exit.
    #[arg(short = 'p', long = "pid-file", alias = "pid", value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// The network namespace (a file such as /proc/PID/ns/net or /run/netns/NAME) in which
    /// the socket for vrrp_track_process's process events is opened: the kernel sends them
    /// only to the first namespace. Default: PID 1's, when vrrpd runs in another.
    #[arg(long, value_name = "FILE")]
    process_events_netns: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (off by default).
    #[arg(long, value_name = "ADDR:PORT")]
    metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    load: LoadArgs,
    /// Log level: error, warn, info, debug or trace (RUST_LOG overrides it).
    #[arg(long, default_value = "info")]
    log_level: String,
}

/// How the configuration is read, as keepalived's options of the same names.
#[derive(clap::Args, Debug)]
struct LoadArgs {
    /// Configuration id that selects the `@ID` lines (default: the host name up to its first
    /// dot, as keepalived).
    #[arg(short = 'i', long = "config-id", global = true)]
    config_id: Option<String>,
    /// Run a file that uses keywords vrrpd does not act on even where that can change which
    /// node holds the virtual addresses (docs/keepalived-compatibility.md); they are then
    /// warnings, not errors.
    #[arg(long, global = true)]
    allow_unsupported: bool,
}

impl LoadArgs {
    fn options(self) -> vrrp_config::LoadOptions {
        let mut options = vrrp_config::LoadOptions::for_this_host();
        if self.config_id.is_some() {
            options.config_id = self.config_id;
        }
        options.allow_unsupported = self.allow_unsupported;
        options
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a configuration file: warnings and errors with file:line:column; exit 1 on error.
    /// On the host it will run on, also what only the host can say (interfaces that do not
    /// exist, source addresses not configured), as the daemon checks at start.
    CheckConfig {
        file: PathBuf,
        /// Check the file only, not this host's interfaces and addresses (for a file checked
        /// away from the host that will run it).
        #[arg(long)]
        no_host_checks: bool,
    },
    /// Print the data path's per-reason counters from the pinned map of a running daemon.
    Counters {
        #[arg(long, default_value = DEFAULT_PIN_DIR)]
        pin_dir: PathBuf,
    },
    /// Print the instances the kernel holds for a running daemon: VRID, interface, peers and
    /// the last valid advertisement it recorded (absorbed ones included).
    Instances {
        #[arg(long, default_value = DEFAULT_PIN_DIR)]
        pin_dir: PathBuf,
    },
    /// Remove what a vrrpd that could not stop (SIGKILL, OOM, crash) left behind: the
    /// configuration's virtual addresses, vrrpd's pins, a stale vrrp_xdp. Refused while a vrrpd
    /// holds the runtime folder's lock. The unit runs it after every stop (ExecStopPost=).
    Cleanup {
        #[arg(short = 'f', long = "config", default_value = "/etc/keepalived/keepalived.conf")]
        config: PathBuf,
        #[arg(long, default_value = DEFAULT_PIN_DIR)]
        pin_dir: PathBuf,
        #[arg(long, env = "RUNTIME_DIRECTORY", default_value = DEFAULT_RUNTIME_DIR)]
        runtime_dir: PathBuf,
    },
    /// Ask a running daemon, over its control socket, what each instance holds: state, since
    /// when and why, priorities and what moved them, the master as last heard, addresses,
    /// counters, and what the data path dropped.
    Status {
        /// The daemon's runtime folder (its `--runtime-dir`).
        #[arg(long, env = "RUNTIME_DIRECTORY", default_value = DEFAULT_RUNTIME_DIR)]
        runtime_dir: PathBuf,
        /// Print the status as JSON (schema version 1, docs/status-json.md).
        #[arg(long)]
        json: bool,
        /// Exit 1 unless every instance is BACKUP or MASTER (for liveness probes).
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    if let Some(result) = generate() {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("vrrpd: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let cli = Cli::parse();
    if let Some(name) = &cli.signum {
        return signum(name);
    }
    let mut logger = env_logger::Builder::new();
    logger.parse_filters(&cli.run.log_level).parse_env("RUST_LOG");
    if systemd::logs_to_journal() {
        // The journal stamps each line itself and reads the level from the sd-daemon(3)
        // prefix.
        logger.format(|out, record| {
            writeln!(out, "<{}>{}", systemd::syslog_priority(record.level()), record.args())
        });
    } else {
        logger.format_timestamp_millis();
    }
    logger.init();
    let result = match cli.command {
        Some(Command::CheckConfig { file, no_host_checks }) => {
            check_config(&file, &cli.run.load.options(), !no_host_checks)
        }
        Some(Command::Counters { pin_dir }) => inspect::print_counters(&pin_dir),
        Some(Command::Instances { pin_dir }) => inspect::print_instances(&pin_dir),
        Some(Command::Cleanup { config, pin_dir, runtime_dir }) => {
            // What a daemon left behind goes whatever keywords its file uses that vrrpd does
            // not act on (the unit's ExecStopPost= passes no --allow-unsupported).
            let load =
                vrrp_config::LoadOptions { allow_unsupported: true, ..cli.run.load.options() };
            cleanup(&config, &pin_dir, &runtime_dir, &load)
        }
        Some(Command::Status { runtime_dir, json, check }) => {
            return status(&runtime_dir, json, check);
        }
        None => run(cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            log::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--signum`: keepalived's output and exit codes (keepalived: main.c, `--signum`).
fn signum(name: &str) -> ExitCode {
    match dumps::signal_number(name) {
        Some(number) => {
            println!("{number}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("Unknown sigfunc {name}");
            ExitCode::FAILURE
        }
    }
}

/// `vrrpd status`: exit 0, or 1 when the daemon cannot be asked or (with `check`) an
/// instance is in neither BACKUP nor MASTER.
fn status(runtime_dir: &std::path::Path, json: bool, check: bool) -> ExitCode {
    let status = match control::request_status(runtime_dir) {
        Ok(status) => status,
        Err(error) => {
            eprintln!("vrrpd status: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&status) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("vrrpd status: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", status.table());
    }
    let problems = status.problems();
    if check && !problems.is_empty() {
        eprintln!("vrrpd status --check: {}", problems.join(", "));
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `vrrpd generate-man DIR DATE` and `vrrpd generate-completions DIR`, which the package's
/// build runs (xtask/src/package.rs): the man pages and completions of this very definition.
/// Read before clap, so that what they write does not list them. Prints each file written.
fn generate() -> Option<Result<()>> {
    let args: Vec<String> =
        std::env::args_os().skip(1).map(|arg| arg.into_string().ok()).collect::<Option<_>>()?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let written = match args.as_slice() {
        ["generate-man", dir, date] => manual::write_man_pages(Cli::command(), dir.as_ref(), date),
        ["generate-completions", dir] => manual::write_completions(Cli::command(), dir.as_ref()),
        ["generate-man" | "generate-completions", ..] => {
            Err(anyhow::anyhow!("usage: generate-man DIR DATE | generate-completions DIR"))
        }
        _ => return None,
    };
    Some(written.map(|paths| paths.iter().for_each(|path| println!("{}", path.display()))))
}

fn check_config(
    file: &std::path::Path,
    load: &vrrp_config::LoadOptions,
    host_checks: bool,
) -> Result<()> {
    let config = if host_checks {
        daemon::load_config_on_host(file, load)?
    } else {
        let config = daemon::load_config(file, load)?;
        log::warn!(
            "{}: host checks skipped (--no-host-checks): interfaces and source addresses are \
             not checked",
            file.display()
        );
        config
    };
    println!(
        "{}: valid ({} instance{}, {} script{})",
        file.display(),
        config.instances.len(),
        if config.instances.len() == 1 { "" } else { "s" },
        config.scripts.len(),
        if config.scripts.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

fn cleanup(
    config: &std::path::Path,
    pin_dir: &std::path::Path,
    runtime_dir: &std::path::Path,
    load: &vrrp_config::LoadOptions,
) -> Result<()> {
    daemon::check_privileges()?;
    let config = daemon::load_config(config, load)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(vrrp_user::cleanup::run(&config, pin_dir, runtime_dir))
}

fn run(args: RunArgs) -> Result<()> {
    daemon::check_privileges()?;
    let options = Options {
        config: args.config,
        datapath: args.datapath,
        attach_mode: args.xdp_mode,
        hook: args.hook,
        pin_dir: args.pin_dir,
        runtime_dir: args.runtime_dir,
        load: args.load.options(),
        pass_valid: args.pass_valid,
        metrics_listen: args.metrics_listen,
        dump_dir: args.dump_dir.unwrap_or_else(dumps::default_dir),
        pid_file: args.pid_file,
        process_events_netns: args
            .process_events_netns
            .unwrap_or_else(|| PathBuf::from("/proc/1/ns/net")),
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Idle blocking threads end soon, so that capabilities can be given up on the one
        // thread left after start-up (vrrp_user::privileges).
        .thread_keep_alive(std::time::Duration::from_millis(200))
        .build()
        .context("starting the runtime")?
        .block_on(daemon::run(options))
}
