//! The reference scenario, end to end, in network namespaces: two servers sharing a VIP with
//! the reference keepalived.conf files, a client pinging it, a hard failure of the master,
//! and its return. Prints the timeline in milliseconds. Run it with `cargo xtask demo`.

use std::{process::ExitCode, time::Duration};

use anyhow::{Context, Result};
use vrrp_tests::{
    lab::{now_ms, reference_config, ReferenceLab, CLIENT, SERVER1, SERVER2, VIP},
    require_root,
    timeline::{self, Observation},
};

const ELECTION: Duration = Duration::from_secs(15);

fn main() -> ExitCode {
    require_root();
    match demo() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn row(ms: Option<f64>, zero: f64, what: &str) {
    match ms {
        Some(ms) => println!("  {:>8.1} ms  {what}", ms - zero),
        None => println!("  {:>8}     {what} (not observed)", "-"),
    }
}

fn demo() -> Result<()> {
    let mut lab = ReferenceLab::new().context("building the lab")?;
    println!("== Lab (network namespaces {}*)", &lab.switch[..lab.switch.len() - 2]);
    println!(
        "   server 1 {SERVER1} (ens3), server 2 {SERVER2} (ens3), client {CLIENT}, one bridge"
    );
    println!(
        "   virtual IP {VIP}; configuration: examples/reference/keepalived-server{{1,2}}.conf"
    );
    println!("   with only <server1-ip>, <server2-ip> and <virtual-ip> filled in\n");
    let configs = [1, 2].map(|n| lab.write_config(n, "keepalived.conf", &reference_config(n)));
    let [c1, c2] = configs;
    let (c1, c2) = (c1?, c2?);
    let macs = [timeline::mac_text(&lab, 1)?, timeline::mac_text(&lab, 2)?];

    println!("== Starting vrrpd on both servers (state BACKUP, priorities 110 and 100)");
    let start = now_ms();
    let d1 = lab.start_vrrpd(1, &c1, &[])?;
    lab.start_vrrpd(2, &c2, &[])?;
    lab.wait_for_master(1, ELECTION)?;
    println!(
        "   server 1 is MASTER after {:.0} ms (Master_Down_Interval 3.57 s for priority 110)",
        now_ms() - start
    );
    println!(
        "   XDP attached: server 1 {}, server 2 {}",
        lab.xdp_attached(1)?,
        lab.xdp_attached(2)?
    );
    println!(
        "   client ping through the VIP: {}\n",
        if lab.client_ping() { "ok" } else { "FAILED" }
    );

    println!("== Server 1 fails hard (its link goes down, then SIGKILL)");
    let observed = Observation::start(&lab, 1, "failover")?;
    std::thread::sleep(Duration::from_millis(700));
    let kill = now_ms();
    lab.set_link(1, false)?;
    lab.daemon(d1).kill();
    lab.wait_for_master(2, ELECTION).ok();
    std::thread::sleep(Duration::from_millis(500));
    let log2 = lab.daemon(1).log_text();
    let client = observed.client.text();
    row(
        timeline::last_advertisement_ms(&observed.advertisements.text(), kill),
        kill,
        "last advertisement from server 1 on the wire",
    );
    row(Some(kill), kill, "server 1 link down, vrrpd killed");
    row(timeline::log_ms(&log2, "BACKUP -> MASTER", kill), kill, "server 2 takes over (MASTER)");
    row(
        timeline::first_garp_ms(&client, &macs[1], kill),
        kill,
        "gratuitous ARP from server 2 at the client",
    );
    row(
        timeline::first_reply_ms(&client, &macs[1], kill),
        kill,
        "first client reply through the VIP from server 2",
    );
    drop(observed);
    println!("   server 2 holds the VIP: {}\n", lab.has_vip(2)?);

    println!("== Server 1 returns (link up, vrrpd started): it preempts");
    lab.set_link(1, true)?;
    let observed = Observation::start(&lab, 2, "preempt")?;
    let restart = now_ms();
    let d1 = lab.start_vrrpd(1, &c1, &[])?;
    lab.wait_for_master(1, ELECTION)?;
    std::thread::sleep(Duration::from_millis(500));
    let log1 = lab.daemon(d1).log_text();
    let log2 = lab.daemon(1).log_text();
    let client = observed.client.text();
    row(Some(restart), restart, "vrrpd started on server 1");
    row(
        timeline::log_ms(&log1, "BACKUP -> MASTER", restart),
        restart,
        "server 1 preempts (MASTER)",
    );
    row(
        timeline::log_ms(&log2, "MASTER -> BACKUP", restart),
        restart,
        "server 2 steps back (BACKUP)",
    );
    row(
        timeline::first_garp_ms(&client, &macs[0], restart),
        restart,
        "gratuitous ARP from server 1 at the client",
    );
    row(
        timeline::first_reply_ms(&client, &macs[0], restart),
        restart,
        "first client reply through the VIP from server 1",
    );
    drop(observed);

    println!("\n== Kernel counters on server 2 (vrrpd counters)");
    for line in vrrpd_view(&lab, "counters")?.lines().filter(|l| !l.contains(" 0  ")) {
        println!("   {line}");
    }
    println!("\n== What the kernel holds for server 2's instance (vrrpd instances)");
    for line in vrrpd_view(&lab, "instances")?.lines() {
        println!("   {line}");
    }
    println!("\n== Cleaning up: SIGTERM to both daemons, namespaces and pins removed");
    Ok(())
}

/// The output of a read-only `vrrpd` command (`counters`, `instances`) about server 2.
fn vrrpd_view(lab: &ReferenceLab, command: &str) -> Result<String> {
    let out = lab.lab.exec(
        lab.router(2),
        &vrrp_tests::lab::vrrpd_binary()?.to_string_lossy(),
        &[command, "--pin-dir", &lab.bpffs.join("r2").to_string_lossy()],
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
