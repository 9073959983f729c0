//! The scale lab (`vrrp_tests::scale`) for N instances and three advertisement intervals, with
//! vrrpd on its XDP path, vrrpd on its socket path and keepalived on the same files in the same
//! run. For each configuration: wait for router 1 to hold every VIP and router 2 none, let one
//! master-down interval pass, then over a fixed window measure the CPU of both daemons (user
//! plus system time of the process tree, /proc/PID/stat), the XDP program's run time on each
//! router (`kernel.bpf_stats_enabled`, bpftool's `run_time_ns`), MASTER transitions on either
//! node, and RSS; then fail the master hard (link down, SIGKILL) and measure from its last
//! advertisement as the backup received it to the backup's first gratuitous ARP for each VIP
//! (both captured at the backup), the p100 being the last VIP's. A configuration that does not
//! converge within 60 s (keepalived at 250 x 0.01 s: its backup keeps taking over) is measured
//! over the window all the same, "master" meaning router 1 (priority 110), and has no failover:
//! its row says `unsettled`. Prints a table, writes it with a gnuplot plot into `docs/`.
//! Measures only; asserts nothing about time.
//!
//! `SCALE_COUNTS`, `SCALE_INTERVALS_MS` and `SCALE_DAEMONS` (`xdp,socket,keepalived`), comma
//! separated, narrow the matrix; `VRRPD` names another vrrpd binary (an older build, to compare).

use std::{
    collections::HashMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use vrrp_tests::{
    lab::{now_ms, ReferenceLab},
    require_root,
    scale::{self, PRIORITIES},
    timeline::Background,
};

const COUNTS: [usize; 4] = [1, 50, 250, 1000];
const INTERVALS_MS: [u64; 3] = [1000, 100, 10];
/// Left out: 100,000 advertisements a second from the master, more than this 2-core machine
/// can carry for both daemons and the captures.
const SKIPPED: [(usize, u64); 1] = [(1000, 10)];
const WINDOW: Duration = Duration::from_secs(8);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Daemon {
    Xdp,
    Socket,
    Keepalived,
}

impl Daemon {
    fn name(self) -> &'static str {
        match self {
            Daemon::Xdp => "vrrpd-xdp",
            Daemon::Socket => "vrrpd-socket",
            Daemon::Keepalived => "keepalived",
        }
    }
}

#[derive(Default, Clone)]
struct Figures {
    /// % of a core, user space.
    cpu: [f64; 2],
    /// % of a core, the XDP program (softirq), where it runs.
    xdp: [Option<f64>; 2],
    /// MASTER transitions on either router during the window.
    transitions: usize,
    rss_kib: [u64; 2],
    /// From the master's last advertisement to the backup's announcement of its last VIP.
    failover_ms: Option<f64>,
    moved: usize,
    /// Router 1 held every VIP and router 2 none before the window.
    converged: bool,
}

/// Restores `kernel.bpf_stats_enabled` on drop.
struct BpfStats(String);

impl BpfStats {
    const PATH: &'static str = "/proc/sys/kernel/bpf_stats_enabled";

    fn enable() -> Result<Self> {
        let before = std::fs::read_to_string(Self::PATH)?.trim().to_owned();
        std::fs::write(Self::PATH, "1").context("enabling kernel.bpf_stats_enabled")?;
        Ok(Self(before))
    }
}

impl Drop for BpfStats {
    fn drop(&mut self) {
        let _ = std::fs::write(Self::PATH, &self.0);
    }
}

/// The ids of the XDP programs attached to router `n`'s interfaces.
fn xdp_programs(lab: &ReferenceLab, n: usize) -> Vec<u32> {
    let Ok(out) = lab.lab.exec(lab.router(n), "ip", &["-d", "-o", "link", "show"]) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut ids: Vec<u32> = text
        .split("prog/xdp id ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The kernel's total run time of programs `ids`, in nanoseconds.
fn run_time_ns(ids: &[u32]) -> u64 {
    ids.iter()
        .filter_map(|id| {
            let out =
                Command::new("bpftool").args(["prog", "show", "id", &id.to_string()]).output();
            let text = String::from_utf8_lossy(&out.ok()?.stdout).into_owned();
            let mut words = text.split_whitespace();
            words.find(|word| *word == "run_time_ns")?;
            words.next()?.parse::<u64>().ok()
        })
        .sum()
}

fn start(lab: &mut ReferenceLab, daemon: Daemon, n: usize, config: &Path) -> Result<usize> {
    match daemon {
        Daemon::Xdp => lab.start_vrrpd(n, config, &["--datapath", "xdp"]),
        Daemon::Socket => lab.start_vrrpd(n, config, &["--datapath", "socket"]),
        Daemon::Keepalived => lab.start_keepalived(n, config),
    }
}

fn wait(what: &str, timeout: Duration, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !done()? {
        if Instant::now() > deadline {
            bail!("{what}: not within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Epoch ms of a tcpdump `-tt` line.
fn line_ms(line: &str) -> Option<f64> {
    line.split_whitespace().next()?.parse::<f64>().ok().map(|seconds| seconds * 1000.0)
}

/// The first gratuitous ARP from router 2 for each (link, VIP) after `after_ms`, from a
/// `tcpdump -i any` capture on the switch (`<time> p2[x<k>] B   ARP, Request who-has <VIP>
/// [(<MAC>)] tell <VIP>, ...`; `Out` lines are the same frame leaving by another port).
fn first_announcements(capture: &str, after_ms: f64) -> HashMap<String, f64> {
    let mut first = HashMap::new();
    let from_router_2 = |line: &&str| {
        line.split_whitespace().nth(1).is_some_and(|port| port.starts_with("p2"))
            && !line.contains(" Out ")
            && line.contains("ARP")
    };
    for line in capture.lines().filter(from_router_2) {
        let Some(ms) = line_ms(line).filter(|ms| *ms >= after_ms) else { continue };
        let Some(interface) = line.split_whitespace().nth(1) else { continue };
        let Some(rest) = line.split("Request who-has ").nth(1) else { continue };
        let mut words = rest.split_whitespace().filter(|word| !word.starts_with('('));
        let (Some(target), Some("tell"), Some(sender)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        if target != sender.trim_end_matches(',') || !target.starts_with("198.51.100.") {
            continue;
        }
        first.entry(format!("{interface}/{target}")).or_insert(ms);
    }
    first
}

fn measure(daemon: Daemon, count: usize, interval: Duration) -> Result<Figures> {
    let mut lab = ReferenceLab::with_prefix("sc")?;
    let interfaces = scale::interfaces(&lab, count)?;
    let mut daemons = Vec::new();
    for n in [1, 2] {
        let text = scale::config(n, count, interval, &interfaces[n - 1]);
        let path = lab.write_config(n, "keepalived.conf", &text)?;
        daemons.push(start(&mut lab, daemon, n, &path)?);
    }
    let backup_down = scale::master_down_interval(interval, PRIORITIES[1]);
    let converged = wait("convergence", Duration::from_secs(60), || {
        Ok(scale::vips_held(&lab, 1)? == count && scale::vips_held(&lab, 2)? == 0)
    })
    .is_ok();
    std::thread::sleep(backup_down);

    let pids = [0, 1].map(|d| scale::process_tree(lab.daemon(daemons[d]).pid()));
    let programs = [1, 2].map(|n| xdp_programs(&lab, n));
    let logs = |lab: &mut ReferenceLab| {
        [0, 1].map(|d| scale::master_transitions(&lab.daemon(daemons[d]).log_text())).iter().sum()
    };
    let transitions_before: usize = logs(&mut lab);
    let cpu_before = [scale::cpu_seconds(&pids[0])?, scale::cpu_seconds(&pids[1])?];
    let xdp_before = [run_time_ns(&programs[0]), run_time_ns(&programs[1])];
    let started = Instant::now();
    std::thread::sleep(WINDOW);
    let cpu_after = [scale::cpu_seconds(&pids[0])?, scale::cpu_seconds(&pids[1])?];
    let xdp_after = [run_time_ns(&programs[0]), run_time_ns(&programs[1])];
    let window = started.elapsed();
    let transitions_after: usize = logs(&mut lab);
    let mut figures = Figures {
        transitions: transitions_after - transitions_before,
        rss_kib: [scale::rss_kib(&pids[0]), scale::rss_kib(&pids[1])],
        converged,
        ..Figures::default()
    };
    for n in 0..2 {
        figures.cpu[n] = (cpu_after[n] - cpu_before[n]) / window.as_secs_f64() * 100.0;
        if !programs[n].is_empty() {
            let ns = xdp_after[n].saturating_sub(xdp_before[n]) as f64;
            figures.xdp[n] = Some(ns / window.as_nanos() as f64 * 100.0);
        }
    }

    if !converged {
        // No master to fail: the roles never settled.
        return Ok(figures);
    }
    // Failover, captured on the switch (what is on the wire, before any XDP program at the
    // backup consumes it); after the window, so the capture costs it nothing.
    let capture = Background::start(
        &lab.switch,
        lab.dir.join("failover.txt"),
        "tcpdump",
        &["-i", "any", "-n", "-tt", "-l", "-B", "16384", "ip proto 112 or arp"],
    )?;
    wait("the capture", Duration::from_secs(10), || Ok(capture.text().contains("listening on")))?;
    // Router 1's frames enter the switch on its ports (p1, p1x<k>), router 2's on p2...; a
    // frame leaving by another port is the same frame again.
    let from = |line: &&str, n: usize| {
        line.split_whitespace().nth(1).is_some_and(|port| port.starts_with(&format!("p{n}")))
            && !line.contains(" Out ")
    };
    wait("an advertisement captured", interval * 3 + Duration::from_secs(2), || {
        Ok(capture.text().lines().any(|line| line.contains("VRRP") && from(&line, 1)))
    })?;
    scale::unplug(&lab, 1, &interfaces[0])?;
    let failed_ms = now_ms();
    for pid in &pids[0] {
        // SAFETY: signalling processes this benchmark started (the daemon and its children).
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    let _ = wait("failover", backup_down * 3 + Duration::from_secs(2), || {
        Ok(scale::vips_held(&lab, 2)? == count)
    });
    let _ = wait("the announcements captured", Duration::from_secs(2), || {
        Ok(first_announcements(&capture.text(), failed_ms).len() >= count)
    });
    let last_advert = capture
        .text()
        .lines()
        .filter(|line| line.contains("VRRP") && from(line, 1))
        .filter_map(line_ms)
        .rfind(|ms| *ms <= failed_ms);
    let firsts = first_announcements(&capture.text(), failed_ms);
    if last_advert.is_none() || firsts.len() < count {
        let lines = |text: String| text.lines().count();
        eprintln!(
            "  captures: {} lines of advertisements, {} of announcements; last advertisement \
             {last_advert:?}, failure at {failed_ms}",
            capture.text().lines().filter(|line| line.contains("VRRP")).count(),
            lines(capture.text())
        );
    }
    figures.moved = firsts.len();
    figures.failover_ms = last_advert.and_then(|last| {
        let latest = firsts
            .values()
            .copied()
            .fold(None, |acc: Option<f64>, ms| Some(acc.map_or(ms, |acc| acc.max(ms))))?;
        Some(latest - last)
    });
    Ok(figures)
}

/// The items of environment variable `variable`, or `all` without it.
fn list<T: std::str::FromStr + Clone>(variable: &str, all: &[T]) -> Vec<T> {
    match std::env::var(variable) {
        Ok(text) => text.split(',').filter_map(|item| item.trim().parse().ok()).collect(),
        Err(_) => all.to_vec(),
    }
}

fn show(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// A value for gnuplot: `NaN` where nothing was measured.
fn data_value(value: Option<f64>) -> String {
    value.map_or_else(|| "NaN".to_owned(), |v| format!("{v:.3}"))
}

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

/// A 2 x 2 plot of the results: CPU against N (master, backup), CPU against the advert
/// interval at the largest N run for every interval, failover p100 beyond the
/// Master_Down_Interval against N.
fn plot(dir: &Path, data: &str, png: &str) -> Result<()> {
    let mut script = String::new();
    let series = |column: usize, interval: u64| {
        ["vrrpd-xdp", "vrrpd-socket", "keepalived"]
            .map(|d| {
                format!(
                    "'{data}' using (strcol(1) eq '{d}' && $3 == {interval} ? $2 : 1/0):{column} \
                     with linespoints title '{d} {}s'",
                    interval as f64 / 1000.0
                )
            })
            .join(", ")
    };
    writeln!(script, "set terminal png size 1400,1000")?;
    writeln!(script, "set output '{png}'")?;
    writeln!(script, "set multiplot layout 2,2")?;
    writeln!(
        script,
        "set logscale x; set xrange [0.7:1500]; set xlabel 'instances'; set key top left"
    )?;
    for (title, column) in [("master CPU, % of a core (user space)", 4), ("backup CPU", 5)] {
        writeln!(script, "set title '{title}'; set ylabel '%'")?;
        writeln!(script, "plot {}, {}", series(column, 100), series(column, 10))?;
    }
    writeln!(script, "set title 'master CPU against the advert interval, 250 instances'")?;
    writeln!(script, "set xrange [0.007:1.5]; set xlabel 'advert_int (s)'; set ylabel '%'")?;
    let by_interval = ["vrrpd-xdp", "vrrpd-socket", "keepalived"]
        .map(|d| {
            format!(
                "'{data}' using (strcol(1) eq '{d}' && $2 == 250 ? $3/1000.0 : 1/0):4 with \
                 linespoints title '{d}'"
            )
        })
        .join(", ");
    writeln!(script, "plot {by_interval}")?;
    writeln!(script, "set title 'failover p100 minus Master\\_Down\\_Interval (ms)'")?;
    writeln!(script, "set xrange [0.7:1500]; set xlabel 'instances'; set ylabel 'ms'")?;
    writeln!(script, "plot {}, {}", series(10, 100), series(10, 10))?;
    writeln!(script, "unset multiplot")?;
    std::fs::write(dir.join("scale.gnuplot"), &script)?;
    let status = Command::new("gnuplot")
        .current_dir(dir)
        .arg("scale.gnuplot")
        .status()
        .context("running gnuplot (Debian package gnuplot-nox)")?;
    if !status.success() {
        bail!("gnuplot failed ({status})");
    }
    Ok(())
}

fn main() -> Result<()> {
    require_root();
    let _stats = BpfStats::enable()?;
    let counts = list("SCALE_COUNTS", &COUNTS);
    let intervals = list("SCALE_INTERVALS_MS", &INTERVALS_MS);
    let daemons: Vec<Daemon> =
        list("SCALE_DAEMONS", &["xdp", "socket", "keepalived"].map(String::from))
            .iter()
            .filter_map(|name| match name.as_str() {
                "xdp" => Some(Daemon::Xdp),
                "socket" => Some(Daemon::Socket),
                "keepalived" => Some(Daemon::Keepalived),
                _ => None,
            })
            .collect();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("scale lab: window {WINDOW:?}, load average at start: {}", load.trim());
    println!(
        "{:<13} {:>5} {:>7} {:>9} {:>9} {:>9} {:>9} {:>6} {:>9} {:>9} {:>7} {:>8} {:>8}",
        "daemon",
        "N",
        "advert",
        "mstr cpu",
        "bkp cpu",
        "mstr xdp",
        "bkp xdp",
        "trans",
        "p100 ms",
        "MDI ms",
        "moved",
        "RSS m MB",
        "RSS b MB"
    );
    let mut data = String::from(
        "# daemon N interval_ms master_cpu backup_cpu master_xdp backup_xdp transitions \
         p100_ms p100_minus_mdi_ms moved rss_master_kib rss_backup_kib\n",
    );
    for &interval_ms in &intervals {
        for &count in &counts {
            if SKIPPED.contains(&(count, interval_ms)) {
                println!("{count} instances at {interval_ms} ms: left out (see SKIPPED)");
                continue;
            }
            for &daemon in &daemons {
                let interval = Duration::from_millis(interval_ms);
                let mdi = scale::master_down_interval(interval, PRIORITIES[1]).as_secs_f64() * 1e3;
                let figures = match measure(daemon, count, interval) {
                    Ok(figures) => figures,
                    Err(error) => {
                        println!(
                            "{:<13} {count:>5} {interval_ms:>5}ms failed: {error:#}",
                            daemon.name()
                        );
                        continue;
                    }
                };
                let p100 = figures.failover_ms;
                println!(
                    "{:<13} {count:>5} {:>6}s {:>9.2} {:>9.2} {:>9} {:>9} {:>6} {:>9} {:>9.1} {:>7} {:>8.1} {:>8.1}",
                    daemon.name(),
                    interval.as_secs_f64(),
                    figures.cpu[0],
                    figures.cpu[1],
                    show(figures.xdp[0], 2),
                    show(figures.xdp[1], 2),
                    figures.transitions,
                    show(p100, 1),
                    mdi,
                    if figures.converged {
                        format!("{}/{count}", figures.moved)
                    } else {
                        "unsettled".to_owned()
                    },
                    figures.rss_kib[0] as f64 / 1024.0,
                    figures.rss_kib[1] as f64 / 1024.0,
                );
                writeln!(
                    data,
                    "{} {count} {interval_ms} {:.3} {:.3} {} {} {} {} {} {} {} {}",
                    daemon.name(),
                    figures.cpu[0],
                    figures.cpu[1],
                    data_value(figures.xdp[0]),
                    data_value(figures.xdp[1]),
                    figures.transitions,
                    data_value(p100),
                    data_value(p100.map(|ms| ms - mdi)),
                    figures.moved,
                    figures.rss_kib[0],
                    figures.rss_kib[1],
                )?;
            }
        }
    }
    let dir = docs_dir();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("scale.dat"), &data)?;
    match plot(&dir, "scale.dat", "scale.png") {
        Ok(()) => println!("wrote scale.dat, scale.gnuplot and scale.png in {}", dir.display()),
        Err(error) => println!("wrote {}; no plot: {error:#}", dir.join("scale.dat").display()),
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end: {}", load.trim());
    Ok(())
}
