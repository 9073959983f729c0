//! keepalived's router semantics, checked against keepalived 2.2.7 itself: each start-up rule of
//! `state MASTER` runs the same configuration under keepalived and under vrrpd in the reference
//! lab, and the two must go through the same states in the same order, equally fast. Then the
//! returning master's announcements after a healed partition at `advert_int 0.1`, counted at the
//! client against the bound its `garp_lower_prio_delay` gives.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{now_ms, reference_config, ReferenceLab, VIP},
    require_root, timeline,
};

/// The reference files' `advert_int` (keepalived's default, 1 s).
const ADVERT_INT: Duration = Duration::from_secs(1);

/// Long enough for any election of these configurations: a preempting backup at priority 1
/// waits Master_Down_Interval (under 4 advertisement intervals) twice, with slack for a loaded
/// machine.
fn election() -> Duration {
    ADVERT_INT * 12
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Daemon {
    Keepalived,
    Vrrpd,
}

/// How long a router took from starting its election to becoming master, as the rules tell it
/// apart: within one advertisement interval of entering BACKUP (or without entering it), or
/// later (it waited for a master). Read from the daemon's own log, so the time a daemon takes
/// to start does not count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Takeover {
    AtOnce,
    AfterWaiting,
    Never,
}

/// What one daemon did with a configuration.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    states: Vec<&'static str>,
    takeover: Takeover,
}

fn require_keepalived() {
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(
        found,
        "keepalived is not installed: run `cargo xtask setup` (Debian package keepalived)"
    );
}

/// The states a daemon's log says it entered, in order. keepalived: "(VI01) Entering MASTER
/// STATE"; vrrpd: "VI01: BACKUP -> MASTER (...)".
fn entered_states(daemon: Daemon, log: &str) -> Vec<&'static str> {
    let states = ["BACKUP", "MASTER", "FAULT"];
    log.lines()
        .filter_map(|line| {
            let rest = match daemon {
                Daemon::Keepalived => line.split("Entering ").nth(1)?,
                Daemon::Vrrpd => line.split(" -> ").nth(1)?,
            };
            states.into_iter().find(|state| rest.starts_with(state))
        })
        .collect()
}

/// Runs `subject` on router 1 under `daemon`, with router 2 running keepalived on `peer` (if
/// any) and already master; watches router 1 for [`election`].
fn observe(daemon: Daemon, subject: &str, peer: Option<&str>) -> Observed {
    let mut lab = ReferenceLab::with_prefix("sm").unwrap();
    if let Some(peer) = peer {
        let path = lab.write_config(2, "keepalived.conf", peer).unwrap();
        lab.start_keepalived(2, &path).unwrap();
        lab.wait_for_master(2, election()).expect("the peer becomes master alone");
    }
    let path = lab.write_config(1, "keepalived.conf", subject).unwrap();
    let index = match daemon {
        Daemon::Keepalived => lab.start_keepalived(1, &path).unwrap(),
        Daemon::Vrrpd => lab.start_vrrpd(1, &path, &[]).unwrap(),
    };
    let log_path = lab.daemon(index).log.clone();
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let logged_a_state = || !entered_states(daemon, &read_log()).is_empty();
    vrrp_tests::wait_until("a first state in the log", election(), logged_a_state).unwrap();
    let elected_from = Instant::now();
    let became_master = lab.wait_for_master(1, election());
    let log = read_log();
    let states = entered_states(daemon, &log);
    let takeover = match became_master {
        Err(_) => Takeover::Never,
        Ok(_) if states.first() == Some(&"MASTER") => Takeover::AtOnce,
        Ok(at) if at - elected_from < ADVERT_INT => Takeover::AtOnce,
        Ok(_) => Takeover::AfterWaiting,
    };
    Observed { states, takeover }
}

/// The same configuration under both daemons: the same states in the same order, as fast.
fn same_as_keepalived(rule: &str, subject: &str, peer: Option<&str>) -> Observed {
    require_root();
    require_keepalived();
    let keepalived = observe(Daemon::Keepalived, subject, peer);
    let vrrpd = observe(Daemon::Vrrpd, subject, peer);
    println!("{rule}: keepalived {keepalived:?}, vrrpd {vrrpd:?}");
    assert_eq!(vrrpd, keepalived, "{rule}: vrrpd differs from keepalived 2.2.7");
    keepalived
}

/// The reference file of server 1 with its `state BACKUP` and `priority 110` lines replaced.
fn server1_with(lines: &str) -> String {
    reference_config(1).replace("    state BACKUP\n", "").replace("    priority 110\n", lines)
}

#[test]
fn state_master_with_a_priority_waits_for_a_master() {
    let observed = same_as_keepalived(
        "state MASTER, priority 100, alone",
        &server1_with("    state MASTER\n    priority 100\n"),
        None,
    );
    assert_eq!(observed.states.first(), Some(&"BACKUP"), "{observed:?}");
}

#[test]
fn state_master_without_a_priority_is_the_address_owner() {
    same_as_keepalived(
        "state MASTER, no priority line, alone",
        &server1_with("    state MASTER\n"),
        None,
    );
}

#[test]
fn nopreempt_with_state_master_still_preempts() {
    let peer = reference_config(2);
    same_as_keepalived(
        "state MASTER, priority 110, nopreempt, peer 100 master",
        &server1_with("    state MASTER\n    priority 110\n    nopreempt\n"),
        Some(&peer),
    );
}

/// tcpdump's `-tt` time of a line, in epoch milliseconds.
fn capture_ms(line: &str) -> Option<f64> {
    line.split_whitespace().next()?.parse::<f64>().ok().map(|seconds| seconds * 1000.0)
}

/// ARPs from `mac` about the VIP captured from `from_ms` for `window`.
fn garps(capture: &str, mac: &str, from_ms: f64, window: Duration) -> usize {
    let until_ms = from_ms + window.as_secs_f64() * 1000.0;
    capture
        .lines()
        .filter(|line| line.contains(&format!(" {mac} >")) && line.contains("ARP"))
        .filter(|line| line.contains(VIP))
        .filter_map(capture_ms)
        .filter(|ms| (from_ms..=until_ms).contains(ms))
        .count()
}

#[test]
fn a_returning_master_announces_once_per_garp_lower_prio_delay() {
    require_root();
    // garp_master_delay 0: no delayed second burst, so only answers to lower priorities count.
    let lower_prio_delay = Duration::from_secs(1);
    let lower_prio_repeat = 2;
    let window = Duration::from_secs(3);
    let garp = format!(
        "    advert_int 0.1\n    garp_master_delay 0\n    garp_lower_prio_delay {}\n    \
         garp_lower_prio_repeat {lower_prio_repeat}\n",
        lower_prio_delay.as_secs()
    );
    let config = |n: usize| {
        reference_config(n)
            .replace("    vrrp_garp_master_refresh 10\n", "")
            .replace("    virtual_ipaddress {", &format!("{garp}    virtual_ipaddress {{"))
    };
    let mut lab = ReferenceLab::with_prefix("sm").unwrap();
    let c1 = lab.write_config(1, "keepalived.conf", &config(1)).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &config(2)).unwrap();
    // Neighbours go stale in a second instead of half a minute, so the partition below soon
    // leaves each router resolving the other.
    for n in [1, 2] {
        for (key, value) in [("base_reachable_time_ms", "500"), ("delay_first_probe_time", "1")] {
            let setting = format!("net.ipv4.neigh.ens3.{key}={value}");
            lab.lab.exec(lab.router(n), "sysctl", &["-qw", &setting]).unwrap();
        }
    }
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(2, election()).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.wait_for_master(1, election()).unwrap();

    // Cut server 1 off the bridge until server 2 is master too and each side's unicast
    // advertisements queue behind ARP resolution of the other.
    lab.lab.exec(&lab.switch, "ip", &["link", "set", "p1", "nomaster"]).unwrap();
    let deadline = Instant::now() + election();
    while !lab.has_vip(2).unwrap() {
        assert!(Instant::now() < deadline, "server 2 did not take over during the partition");
        std::thread::sleep(Duration::from_millis(10));
    }
    let neighbour_failed = || {
        let out = lab.lab.exec(lab.router(2), "ip", &["neigh", "show", "192.0.2.1"]).unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("FAILED") || text.contains("INCOMPLETE")
    };
    vrrp_tests::wait_until("server 2 stops resolving server 1", election(), neighbour_failed)
        .unwrap();
    let observed = timeline::Observation::start(&lab, 2, "storm").unwrap();
    let healed = now_ms();
    lab.lab.exec(&lab.switch, "ip", &["link", "set", "p1", "master", "br0"]).unwrap();
    lab.wait_for_master(1, Duration::from_secs(3)).expect("one master after healing");
    // The client pings every 10 ms: once its capture holds a packet past the window, the window
    // is complete.
    let window_end = healed + window.as_secs_f64() * 1000.0;
    let window_captured =
        || observed.client.text().lines().filter_map(capture_ms).any(|ms| ms > window_end);
    vrrp_tests::wait_until("the client's capture covers the window", window * 3, window_captured)
        .unwrap();
    let mac1 = timeline::mac_text(&lab, 1).unwrap();
    let count = garps(&observed.client.text(), &mac1, healed, window);
    // Server 1 stays master throughout (110 against 100): no takeover burst. One round of
    // garp_lower_prio_repeat may answer at the heal, then one per garp_lower_prio_delay.
    let rounds = (window.as_secs_f64() / lower_prio_delay.as_secs_f64()).floor() as usize + 1;
    let bound = rounds * lower_prio_repeat;
    println!("server 1 sent {count} gratuitous ARPs in {window:?} after the heal (bound {bound})");
    assert!(count <= bound, "{count} gratuitous ARPs, above {bound}:\n{}", observed.client.text());
    assert!(
        count >= 1,
        "server 1 answered server 2's advertisements with no announcement:\n{}\n{}",
        lab.daemon(d1).log_text(),
        observed.client.text()
    );
}
