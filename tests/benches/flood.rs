//! Forged VRRP advertisements flooded at a backup: what they cost `vrrpd` and keepalived.
//!
//! The reference lab (server 1 master with vrrpd, server 2 backup) plus an attacker host on the
//! same bridge. The attacker sends forged VRRPv3 frames at server 2 from an AF_PACKET socket:
//! priority 255 from a non-peer address, bad checksum, TTL 64, bad version, truncated; as a
//! round-robin mix at 10k pps, 100k pps and as fast as one thread can, then each kind alone at
//! 100k pps. The same runs go at server 2's backup three times: `vrrpd` on XDP (`--hook xdp`),
//! `vrrpd` at tc ingress (`--hook tcx`), then keepalived.
//!
//! Measured on server 2 per run: the daemon's CPU (utime + stime ticks of its process tree, and
//! schedstat run time), the bytes its log grew, its state transitions, whether it took the VIP;
//! for vrrpd also the kernel's per-reason counters, checked against what was sent. Nothing is
//! asserted on timings: this prints what it measured.
//!
//! ```sh
//! CARGO_TARGET_DIR=/work/target-flood cargo build --release -p vrrp-user
//! CARGO_TARGET_DIR=/work/target-flood cargo bench -p vrrp-tests --bench flood
//! ```
//! Environment: `FLOOD_RUNS` = `quick` (mix at 10k pps), `rates` (mix at the three rates) or
//! `all` (default: rates, then each kind at 100k pps); `FLOOD_SECONDS` (default 5, at most 10)
//! bounds each run; `VRRPD` points at the daemon binary if it is not next to the bench.

use std::{
    net::Ipv4Addr,
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use vrrp_common::Counter;
use vrrp_tests::{
    flood::{
        file_len, frame, process_tree, raw_vrrp_socket_drops, read_counters, start_flood,
        tail_from, ticks_per_second, watch_address, Cpu, Kind, Link, Pace, Sent, Target,
    },
    lab::{reference_config, ReferenceLab, SERVER2, VIP},
};
use vrrp_user::hook::{self, Hook};

const ATTACKER: &str = "192.0.2.66";
const VRID: u8 = 123;
const STARTUP: Duration = Duration::from_secs(15);
/// After the flood stops, how long the daemon may still be catching up (its socket buffer)
/// inside the measured window.
const SETTLE: Duration = Duration::from_millis(500);
/// How often the backup's addresses are read during a run.
const WATCH_PERIOD: Duration = Duration::from_millis(20);
/// Frames at most in a run at full speed (the time bound usually comes first).
const MAX_FRAMES_UNPACED: u64 = 20_000_000;

#[derive(Clone, Debug)]
struct Run {
    label: String,
    kinds: Vec<Kind>,
    rate: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    /// vrrpd with its kernel program at this hook.
    Vrrpd(Hook),
    Keepalived,
}

impl Which {
    /// The backups under attack, in the order they run (the columns of the summary).
    const ALL: [Which; 3] = [Which::Vrrpd(Hook::Xdp), Which::Vrrpd(Hook::Tcx), Which::Keepalived];

    fn name(self) -> &'static str {
        match self {
            Which::Vrrpd(Hook::Xdp) => "vrrpd XDP",
            Which::Vrrpd(Hook::Tcx) => "vrrpd tcx",
            Which::Keepalived => "keepalived",
        }
    }
}

/// What one run cost the daemon under attack.
#[derive(Clone, Debug)]
struct Measured {
    sent: Sent,
    window: Duration,
    cpu: Cpu,
    log_bytes: u64,
    transitions: usize,
    transition_lines: Vec<String>,
    /// The most frequent log messages of the run (digits blanked), with their counts.
    log_messages: Vec<(usize, String)>,
    vip_on_backup: bool,
    vip_on_master: bool,
    /// Polls of server 2's addresses during the run, and how many found the VIP there.
    vip_polls: usize,
    vip_seen: usize,
    /// Frames the raw VRRP sockets of server 2 dropped (buffer full), and how many sockets.
    socket_drops: (u64, usize),
    alive: bool,
    /// vrrpd: counter deltas by `Counter as usize`.
    counters: Option<Vec<u64>>,
    /// Attacker eth0, bridge ports pa and p2, server 2 ens3.
    links: [Link; 4],
}

impl Measured {
    fn cpu_percent(&self) -> f64 {
        let seconds = self.cpu.ticks as f64 / ticks_per_second() as f64;
        100.0 * seconds / self.window.as_secs_f64()
    }

    fn cpu_percent_precise(&self) -> f64 {
        100.0 * self.cpu.nanos as f64 / 1e9 / self.window.as_secs_f64()
    }

    fn dropped_in_kernel(&self) -> Option<u64> {
        self.counters.as_ref().map(|deltas| {
            Counter::ALL.iter().filter(|c| c.is_drop()).map(|c| deltas[*c as usize]).sum()
        })
    }

    fn accepted_in_kernel(&self) -> Option<u64> {
        self.counters.as_ref().map(|deltas| {
            Counter::ALL.iter().filter(|c| !c.is_drop()).map(|c| deltas[*c as usize]).sum()
        })
    }
}

struct Bench {
    lab: ReferenceLab,
    attacker: String,
    frames: Vec<(Kind, Vec<u8>)>,
    seconds: u64,
    /// Server 2's keepalived.conf, for every backup.
    config: std::path::PathBuf,
}

fn main() -> ExitCode {
    match bench() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("flood benchmark failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn runs(choice: &str) -> Result<Vec<Run>> {
    let mix = |rate: Option<u64>| Run {
        label: format!("mix of 5 @ {}", rate_label(rate)),
        kinds: Kind::ALL.to_vec(),
        rate,
    };
    let rates = vec![mix(Some(10_000)), mix(Some(100_000)), mix(None)];
    Ok(match choice {
        "quick" => vec![mix(Some(10_000))],
        "rates" => rates,
        "all" => rates
            .into_iter()
            .chain(Kind::ALL.iter().map(|kind| Run {
                label: format!("{} @ 100k", kind.name()),
                kinds: vec![*kind],
                rate: Some(100_000),
            }))
            .collect(),
        other => bail!("FLOOD_RUNS={other}: expected quick, rates or all"),
    })
}

fn rate_label(rate: Option<u64>) -> String {
    match rate {
        Some(rate) if rate % 1000 == 0 => format!("{}k", rate / 1000),
        Some(rate) => format!("{rate}"),
        None => "max".to_owned(),
    }
}

fn bench() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("needs root (namespaces, XDP, BPF maps, AF_PACKET)");
    }
    if std::process::Command::new("keepalived").arg("--version").output().is_err() {
        bail!("keepalived is not installed (Debian package keepalived)");
    }
    let runs = runs(&std::env::var("FLOOD_RUNS").unwrap_or_else(|_| "all".to_owned()))?;
    let seconds: u64 = std::env::var("FLOOD_SECONDS")
        .ok()
        .map(|s| s.parse().context("FLOOD_SECONDS"))
        .transpose()?
        .unwrap_or(5)
        .clamp(1, 10);
    let vrrpd = vrrp_tests::lab::vrrpd_binary()?;
    println!("vrrpd: {}", vrrpd.display());

    let mut lab = ReferenceLab::new()?;
    let attacker = lab.add_host("at", "eth0", "pa", ATTACKER)?;
    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1))?;
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2))?;
    lab.start_vrrpd(1, &c1, &[])?;
    lab.wait_for_master(1, STARTUP)?;

    let target = Target {
        source_mac: lab.lab.mac(&attacker, "eth0")?,
        destination_mac: lab.lab.mac(lab.router(2), "ens3")?,
        source: ATTACKER.parse()?,
        destination: SERVER2.parse()?,
        vrid: VRID,
        vip: VIP.parse::<Ipv4Addr>()?,
    };
    let frames = Kind::ALL.iter().map(|kind| (*kind, frame(*kind, &target))).collect();
    let mut bench = Bench { lab, attacker, frames, seconds, config: c2 };

    let (host, kernel) = machine();
    println!("{host}; kernel {kernel}; {} s per run at most", bench.seconds);
    println!(
        "attacker {ATTACKER} ({}) -> server 2 {SERVER2} ({}), VRID {VRID}, VIP {VIP}",
        mac_text(target.source_mac),
        mac_text(target.destination_mac)
    );

    let mut results: Vec<Vec<Measured>> = vec![Vec::new(); runs.len()];
    for which in Which::ALL {
        let backup = bench.start_backup(which)?;
        for (run, measured) in runs.iter().zip(&mut results) {
            let m = bench.measure(which, backup, run)?;
            report(which, run, &m);
            measured.push(m);
        }
        bench.lab.daemon(backup).stop(Duration::from_secs(5));
    }

    table(&runs, &results, bench.seconds);
    Ok(())
}

impl Bench {
    /// Starts server 2's backup and waits until it is one, on the hook asked for.
    fn start_backup(&mut self, which: Which) -> Result<usize> {
        let config = self.config.clone();
        match which {
            Which::Vrrpd(hook) => {
                let daemon = self.lab.start_vrrpd(
                    2,
                    &config,
                    &["--datapath", "xdp", "--hook", hook.name()],
                )?;
                let line = format!("data path: {}\n", hook::describe(&[("ens3".into(), hook)]));
                self.lab.daemon(daemon).wait_for_log(&line, STARTUP)?;
                self.lab.daemon(daemon).wait_for_log("INIT -> BACKUP", STARTUP)?;
                Ok(daemon)
            }
            Which::Keepalived => {
                let daemon = self.lab.start_keepalived(2, &config)?;
                self.lab.daemon(daemon).wait_for_log("Entering BACKUP STATE", STARTUP)?;
                std::thread::sleep(Duration::from_secs(1));
                Ok(daemon)
            }
        }
    }

    fn measure(&mut self, which: Which, daemon: usize, run: &Run) -> Result<Measured> {
        // One ping teaches the bridge where server 2's MAC is, so the flood is not flooded to
        // every port.
        let _ = self.lab.lab.exec(&self.attacker, "ping", &["-c", "1", "-W", "1", SERVER2]);
        let pin_dir = self.lab.bpffs.join("r2");
        let (pid, log) = {
            let d = self.lab.daemon(daemon);
            (d.pid(), d.log.clone())
        };
        let pids = process_tree(pid);
        let frames: Vec<Vec<u8>> = run
            .kinds
            .iter()
            .map(|kind| self.frames.iter().find(|(k, _)| k == kind).map(|(_, f)| f.clone()))
            .collect::<Option<_>>()
            .context("a frame per kind")?;
        let max_time = Duration::from_secs(self.seconds);
        let pace = Pace {
            rate: run.rate,
            max_frames: run.rate.map_or(MAX_FRAMES_UNPACED, |rate| rate * self.seconds),
            max_time,
        };

        let counters_before = match which {
            Which::Vrrpd(_) => Some(read_counters(&pin_dir)?),
            Which::Keepalived => None,
        };
        let links_before = self.links()?;
        let log_before = file_len(&log);
        let socket_drops_before = raw_vrrp_socket_drops(&self.lab.lab, self.lab.router(2))?;
        let cpu_before = Cpu::of(&pids);
        let start = Instant::now();
        let sender = start_flood(&self.attacker, "eth0", &frames, pace)?;
        // Watch for the VIP on the backup while it runs: a transition there and back would
        // leave no trace at the end of the run.
        let stop = Arc::new(AtomicBool::new(false));
        let watcher =
            watch_address(self.lab.router(2), VIP.parse()?, WATCH_PERIOD, Arc::clone(&stop));
        let sent = sender.join().map_err(|_| anyhow::anyhow!("flood thread panicked"))??;
        std::thread::sleep(SETTLE);
        stop.store(true, Ordering::Relaxed);
        let (vip_polls, vip_seen) =
            watcher.join().map_err(|_| anyhow::anyhow!("watcher thread panicked"))??;
        let cpu = Cpu::of(&pids).since(cpu_before);
        let window = start.elapsed();
        let log_after = file_len(&log);
        let counters = match counters_before {
            Some(before) => {
                let after = read_counters(&pin_dir)?;
                Some(after.iter().zip(&before).map(|(a, b)| a.saturating_sub(*b)).collect())
            }
            None => None,
        };
        let links_after = self.links()?;
        let socket_drops_after = raw_vrrp_socket_drops(&self.lab.lab, self.lab.router(2))?;
        let links: [Link; 4] = std::array::from_fn(|i| links_after[i].since(links_before[i]));

        let text = tail_from(&log, log_before);
        let marker = match which {
            Which::Vrrpd(_) => " -> ",
            Which::Keepalived => "Entering MASTER STATE",
        };
        let transition_lines: Vec<String> =
            text.lines().filter(|line| line.contains(marker)).map(str::to_owned).collect();
        let alive = matches!(self.lab.daemon(daemon).child.try_wait(), Ok(None));
        Ok(Measured {
            sent,
            window,
            cpu,
            log_bytes: log_after.saturating_sub(log_before),
            transitions: transition_lines.len(),
            transition_lines,
            log_messages: frequent_messages(&text, 4),
            vip_on_backup: self.lab.has_vip(2)?,
            vip_on_master: self.lab.has_vip(1)?,
            vip_polls,
            vip_seen,
            socket_drops: (
                socket_drops_after.0.saturating_sub(socket_drops_before.0),
                socket_drops_after.1,
            ),
            alive,
            counters,
            links,
        })
    }

    fn links(&self) -> Result<[Link; 4]> {
        let lab = &self.lab.lab;
        Ok([
            Link::read(lab, &self.attacker, "eth0")?,
            Link::read(lab, &self.lab.switch, "pa")?,
            Link::read(lab, &self.lab.switch, "p2")?,
            Link::read(lab, self.lab.router(2), "ens3")?,
        ])
    }
}

fn report(which: Which, run: &Run, m: &Measured) {
    println!();
    println!(
        "[{}] {}: sent {} frames in {:.2} s = {:.0} pps{}; window {:.2} s",
        which.name(),
        run.label,
        m.sent.frames,
        m.sent.elapsed.as_secs_f64(),
        m.sent.rate(),
        if m.sent.failures > 0 {
            format!(
                " ({} failed sends, last: {})",
                m.sent.failures,
                m.sent.last_error.as_deref().unwrap_or("?")
            )
        } else {
            String::new()
        },
        m.window.as_secs_f64()
    );
    println!(
        "  CPU {} ticks = {:.2} % of a core (schedstat {:.3} %); log +{} bytes; \
         transitions {}; VIP on server 2: {}, on server 1: {}; running: {}",
        m.cpu.ticks,
        m.cpu_percent(),
        m.cpu_percent_precise(),
        m.log_bytes,
        m.transitions,
        m.vip_on_backup,
        m.vip_on_master,
        m.alive
    );
    println!(
        "  VIP on server 2 in {} of {} polls during the run; raw VRRP sockets on server 2: {}, \
         receive-buffer drops +{}",
        m.vip_seen, m.vip_polls, m.socket_drops.1, m.socket_drops.0
    );
    for line in m.transition_lines.iter().take(5) {
        println!("  transition: {line}");
    }
    for (count, message) in &m.log_messages {
        println!("  log x{count}: {message}");
    }
    let [at, pa, p2, ens3] = m.links;
    println!(
        "  path: attacker eth0 tx {} (dropped {}), bridge pa rx {} (dropped {}), \
         p2 tx {} (dropped {}), server 2 ens3 rx {} (dropped {})",
        at.tx_packets,
        at.tx_dropped,
        pa.rx_packets,
        pa.rx_dropped,
        p2.tx_packets,
        p2.tx_dropped,
        ens3.rx_packets,
        ens3.rx_dropped
    );
    if let Some(deltas) = &m.counters {
        let nonzero: Vec<String> = Counter::ALL
            .iter()
            .filter(|c| deltas[**c as usize] > 0)
            .map(|c| format!("{} +{}", c.name(), deltas[*c as usize]))
            .collect();
        println!("  kernel counters: {}", nonzero.join(", "));
        // Per counter, not per kind: two kinds (forged-255, ttl-64) share `not_a_peer`.
        let mut exact = true;
        for counter in Counter::ALL {
            let sent = run.kinds.iter().zip(&m.sent.per_frame);
            let expected: u64 =
                sent.filter(|(kind, _)| kind.counter() == counter).map(|(_, n)| n).sum();
            let got = deltas[counter as usize];
            if counter.is_drop() && got != expected {
                exact = false;
                println!(
                    "  {}: sent {expected} of its kinds, counted {got} ({:+})",
                    counter.name(),
                    got as i64 - expected as i64
                );
            }
        }
        let dropped = m.dropped_in_kernel().unwrap_or(0);
        println!(
            "  accounting: sent {} forged, dropped in the kernel {} (sum of drop reasons), \
             accepted {} (the master's own advertisements); {}",
            m.sent.frames,
            dropped,
            m.accepted_in_kernel().unwrap_or(0),
            if exact && dropped == m.sent.frames {
                "every frame counted under its reason".to_owned()
            } else {
                format!("difference {:+}", dropped as i64 - m.sent.frames as i64)
            }
        );
    }
}

/// The `top` most frequent lines of `text`, digits and the leading timestamp blanked.
fn frequent_messages(text: &str, top: usize) -> Vec<(usize, String)> {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in text.lines() {
        let shape: String =
            line.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect();
        *counts.entry(shape).or_default() += 1;
    }
    let mut sorted: Vec<(usize, String)> = counts.into_iter().map(|(l, c)| (c, l)).collect();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    sorted.truncate(top);
    sorted
}

fn ratio(keepalived: f64, vrrpd: f64) -> String {
    if vrrpd > 0.0 {
        format!("{:.0}x", keepalived / vrrpd)
    } else if keepalived > 0.0 {
        "inf (vrrpd 0)".to_owned()
    } else {
        "-".to_owned()
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.3}", bytes as f64 / 1e6)
}

fn table(runs: &[Run], results: &[Vec<Measured>], seconds: u64) {
    println!();
    println!("## Flood summary ({seconds} s per run at most; CPU = utime+stime of the daemon's process tree over the run + {} ms)", SETTLE.as_millis());
    println!();
    let names: Vec<&str> = Which::ALL.iter().map(|w| w.name()).collect();
    let each = names.join(" / ");
    println!(
        "| run | sent pps ({each}) | CPU % {} | CPU ratio keepalived / vrrpd XDP, tcx | \
         log MB ({each}) | keepalived MB/s | log ratio keepalived / vrrpd XDP, tcx | \
         transitions | polls with the VIP on the backup | keepalived socket drops | \
         vrrpd XDP, tcx: sent / dropped+counted |",
        names.join(" | CPU % ")
    );
    println!("|---|---|{}---|---|---|---|---|---|---|---|", "---|".repeat(names.len()));
    for (run, measured) in runs.iter().zip(results) {
        let [x, t, k] = measured.as_slice() else { continue };
        let all = |f: &dyn Fn(&Measured) -> String| {
            [x, t, k].iter().map(|m| f(m)).collect::<Vec<_>>().join(" / ")
        };
        // Ticks are 10 ms: below that, schedstat says more.
        let cpu: Vec<String> = [x, t, k]
            .iter()
            .map(|m| format!("{:.2} ({:.3})", m.cpu_percent(), m.cpu_percent_precise()))
            .collect();
        let vip = |m: &Measured| {
            let end = if m.vip_on_backup { " (held at the end)" } else { "" };
            format!("{}/{}{end}", m.vip_seen, m.vip_polls)
        };
        let accounting =
            |m: &Measured| format!("{} / {}", m.sent.frames, m.dropped_in_kernel().unwrap_or(0));
        println!(
            "| {} | {} | {} | {}, {} | {} | {:.2} | {}, {} | {} | {} | {} | {}; {} |",
            run.label,
            all(&|m| format!("{:.0}", m.sent.rate())),
            cpu.join(" | "),
            ratio(k.cpu_percent_precise(), x.cpu_percent_precise()),
            ratio(k.cpu_percent_precise(), t.cpu_percent_precise()),
            all(&|m| mb(m.log_bytes)),
            k.log_bytes as f64 / 1e6 / k.window.as_secs_f64(),
            ratio(k.log_bytes as f64, x.log_bytes as f64),
            ratio(k.log_bytes as f64, t.log_bytes as f64),
            all(&|m| m.transitions.to_string()),
            all(&vip),
            k.socket_drops.0,
            accounting(x),
            accounting(t),
        );
    }
    println!();
    println!(
        "CPU columns: ticks-based % (schedstat-based % in parentheses); ratios use schedstat."
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end: {}", load.trim());
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn machine() -> (String, String) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_default();
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default().trim().to_owned();
    let load = read("/proc/loadavg");
    (format!("{cores} cores, {model}, load average {load}"), read("/proc/sys/kernel/osrelease"))
}
