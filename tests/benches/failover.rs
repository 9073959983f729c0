//! Failover in the reference lab, vrrpd beside keepalived in the same run.
//!
//! For each daemon and each kind of failure (link down then SIGKILL; SIGTERM), ROUNDS times:
//! start both servers with the reference configuration, wait for server 1 to be master, fail
//! it, and measure from the failure to the backup's first gratuitous ARP and to the client's
//! first echo reply through the VIP from the backup (the client pings every 10 ms). Prints the
//! medians and keepalived / vrrpd ratios. Measures only; asserts nothing about time.

use std::time::Duration;

use vrrp_tests::{
    lab::{now_ms, reference_config, ReferenceLab},
    require_root,
    timeline::{self, Observation},
};

const ROUNDS: usize = 3;
const ELECTION: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, PartialEq)]
enum Daemon {
    Vrrpd,
    Keepalived,
}

#[derive(Clone, Copy, PartialEq)]
enum Failure {
    Kill,
    Stop,
}

/// (ms to the backup's first GARP, ms to the first reply from the backup)
fn round(daemon: Daemon, failure: Failure) -> anyhow::Result<(Option<f64>, Option<f64>)> {
    let mut lab = ReferenceLab::new()?;
    let configs = [1, 2].map(|n| lab.write_config(n, "keepalived.conf", &reference_config(n)));
    let [c1, c2] = configs;
    let (c1, c2) = (c1?, c2?);
    let start = |lab: &mut ReferenceLab, n, config: &std::path::Path| match daemon {
        Daemon::Vrrpd => lab.start_vrrpd(n, config, &[]),
        Daemon::Keepalived => lab.start_keepalived(n, config),
    };
    let master = start(&mut lab, 1, &c1)?;
    start(&mut lab, 2, &c2)?;
    lab.wait_for_master(1, ELECTION)?;
    let backup_mac = timeline::mac_text(&lab, 2)?;
    let observed = Observation::start(&lab, 1, "bench")?;
    // Fail at a random point of the advertisement cycle, as real failures do.
    std::thread::sleep(Duration::from_millis(500 + u64::from(std::process::id() % 7) * 70));
    let failed_at = now_ms();
    match failure {
        Failure::Kill => {
            // The cable first: nothing the dying process might send gets out (keepalived's
            // VRRP child resigns with priority 0 when its parent is killed).
            lab.set_link(1, false)?;
            lab.daemon(master).kill();
        }
        Failure::Stop => lab.daemon(master).signal(libc::SIGTERM),
    }
    let deadline = std::time::Instant::now() + ELECTION;
    while !lab.has_vip(2)? && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let client = observed.client.text();
    let garp = timeline::first_garp_ms(&client, &backup_mac, failed_at).map(|ms| ms - failed_at);
    let reply = timeline::first_reply_ms(&client, &backup_mac, failed_at).map(|ms| ms - failed_at);
    Ok((garp, reply))
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

fn show(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.0} ms"))
}

fn main() {
    require_root();
    println!("failover in the reference lab: {ROUNDS} rounds each, medians from the failure");
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12}",
        "", "vrrpd GARP", "vrrpd reply", "k.a. GARP", "k.a. reply"
    );
    for (failure, name) in
        [(Failure::Kill, "link down + SIGKILL"), (Failure::Stop, "SIGTERM (priority 0)")]
    {
        let mut results = Vec::new();
        for daemon in [Daemon::Vrrpd, Daemon::Keepalived] {
            let (mut garps, mut replies) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                match round(daemon, failure) {
                    Ok((garp, reply)) => {
                        garps.extend(garp);
                        replies.extend(reply);
                    }
                    Err(error) => eprintln!("round failed: {error:#}"),
                }
            }
            results.push((median(&mut garps), median(&mut replies)));
        }
        let [(vg, vr), (kg, kr)] = [results[0], results[1]];
        println!("{name:<28} {:>12} {:>12} {:>12} {:>12}", show(vg), show(vr), show(kg), show(kr));
        if let (Some(vr), Some(kr)) = (vr, kr) {
            println!("{:<28} keepalived / vrrpd, first reply: {:.2}", "", kr / vr);
        }
    }
}
