//! `vrrpd`: the VRRP daemon. Run `vrrpd --help`.

use std::{io::Write, net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use vrrp_user::{
    control,
    daemon::{self, DatapathChoice, Options},
    hook::HookChoice,
    inspect,
    lock::DEFAULT_RUNTIME_DIR,
    systemd,
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
/// the virtual addresses, detaches XDP and exits 0.
#[derive(Parser, Debug)]
#[command(name = "vrrpd", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
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
    /// XDP attach mode: auto tries native (driver) mode and falls back to generic.
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
}

impl LoadArgs {
    fn options(self) -> vrrp_config::LoadOptions {
        match self.config_id {
            Some(config_id) => vrrp_config::LoadOptions { config_id: Some(config_id) },
            None => vrrp_config::LoadOptions::for_this_host(),
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a configuration file: warnings and errors with file:line:column; exit 1 on error.
    CheckConfig { file: PathBuf },
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
    let cli = Cli::parse();
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
        Some(Command::CheckConfig { file }) => check_config(&file, &cli.run.load.options()),
        Some(Command::Counters { pin_dir }) => inspect::print_counters(&pin_dir),
        Some(Command::Instances { pin_dir }) => inspect::print_instances(&pin_dir),
        Some(Command::Cleanup { config, pin_dir, runtime_dir }) => {
            cleanup(&config, &pin_dir, &runtime_dir, &cli.run.load.options())
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

fn check_config(file: &std::path::Path, load: &vrrp_config::LoadOptions) -> Result<()> {
    let config = daemon::load_config(file, load)?;
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
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(daemon::run(options))
}
