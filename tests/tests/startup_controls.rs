//! keepalived's start-up and announcement controls in the namespace lab, observed on the wire
//! (tcpdump on the bridge ports) and in the daemons' logs, each scenario run under keepalived
//! 2.2.7 and then under vrrpd with the same expectations: `vrrp_startup_delay` holds an
//! instance back (keepalived vrrp_daemon.c start_vrrp()), `lower_prio_no_advert` leaves a
//! lower-priority master unanswered and `higher_prio_send_advert` answers a better one before
//! yielding (keepalived vrrp.c vrrp_state_master_rx()). Then two rules of tracking, vrrpd
//! only: `dont_track_primary` keeps a master whose link went down, `unicast_fault_no_peer`
//! keeps an instance without peers in FAULT (keepalived vrrp.c vrrp_complete_instance()).

use std::path::Path;
use std::time::Duration;

use vrrp_tests::{
    lab::{now_ms, reference_config, ReferenceLab, SERVER1, SERVER2, VIP},
    require_root,
    timeline::{self, Background},
    wait_until,
};

/// Long enough for any election here on a loaded machine: a backup at `advert_int 4` waits
/// Master_Down_Interval, under 15 s.
const ELECTION: Duration = Duration::from_secs(30);

/// Epoch milliseconds of every advertisement `source` sent, in a tcpdump `-n -tt` capture.
fn adverts_from(capture: &str, source: &str) -> Vec<f64> {
    let from = format!(" IP {source} > ");
    capture
        .lines()
        .filter(|line| line.contains(&from) && line.contains("VRRP"))
        .filter_map(|line| line.split_whitespace().next()?.parse::<f64>().ok())
        .map(|seconds| seconds * 1000.0)
        .collect()
}

/// Captures the VRRP traffic through bridge port `port` (to and from one router).
fn capture(lab: &ReferenceLab, port: &str, label: &str) -> Background {
    let output = lab.dir.join(format!("{label}.txt"));
    let args = ["-i", port, "-n", "-tt", "-l", "ip proto 112"];
    let capture = Background::start(&lab.switch, output, "tcpdump", &args).unwrap();
    // tcpdump says "listening on" once it captures.
    std::thread::sleep(Duration::from_millis(500));
    capture
}

/// Server `n`'s reference file with `lines` added to global_defs.
fn with_global(n: usize, lines: &str) -> String {
    reference_config(n).replace("    vrrp_version 3\n", &format!("    vrrp_version 3\n{lines}"))
}

/// A reference file with `lines` added to its instance.
fn with_instance(text: &str, lines: &str) -> String {
    text.replace("    state BACKUP\n", &format!("    state BACKUP\n{lines}"))
}

/// The daemon under test on router 1 (or 2); the other router runs vrrpd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Daemon {
    Keepalived,
    Vrrpd,
}

fn start(lab: &mut ReferenceLab, daemon: Daemon, n: usize, config: &Path) -> usize {
    match daemon {
        Daemon::Keepalived => lab.start_keepalived(n, config).unwrap(),
        Daemon::Vrrpd => lab.start_vrrpd(n, config, &[]).unwrap(),
    }
}

fn require_keepalived() {
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(found, "keepalived is not installed: run `cargo xtask setup` (package keepalived)");
}

/// Each scenario runs under keepalived 2.2.7, then under vrrpd: the same observations hold.
fn under_both(scenario: fn(Daemon)) {
    require_root();
    require_keepalived();
    for daemon in [Daemon::Keepalived, Daemon::Vrrpd] {
        println!("under {daemon:?}");
        scenario(daemon);
    }
}

#[test]
fn startup_delay_holds_the_instance_back() {
    under_both(startup_delay_under);
}

fn startup_delay_under(daemon: Daemon) {
    let mut lab = ReferenceLab::with_prefix("st").unwrap();
    let c1 = lab.write_config(1, "keepalived.conf", &with_global(1, "    vrrp_startup_delay 8\n"));
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2));
    let (c1, c2) = (c1.unwrap(), c2.unwrap());
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(2, ELECTION).unwrap();
    let wire = capture(&lab, "p1", "startup-delay");
    // The delay begins once the daemon has read its file, after this.
    let launched = now_ms();
    let d1 = start(&mut lab, daemon, 1, &c1);
    lab.daemon(d1).wait_for_log("Delaying startup for 8 seconds", ELECTION).unwrap();
    // Server 1 (priority 110) preempts server 2 once the delay is over. keepalived 2.2.7
    // takes longer: it re-arms the backup's timer on each advertisement heard during the
    // delay (changed after 2.2.7: "Don't adjust vrrp receive timeout during delayed start").
    lab.wait_for_master(1, ELECTION * 3).unwrap();
    let first_advert = || adverts_from(&wire.text(), SERVER1).first().copied();
    wait_until("server 1's first advertisement captured", ELECTION, || first_advert().is_some())
        .unwrap();
    let first = first_advert().unwrap();
    println!("first advertisement {:.0} ms after the daemon was started", first - launched);
    // Without the delay it would come Master_Down_Interval (under 4 s) after the start.
    assert!(first >= launched + 8000.0, "server 1 advertised during its delay:\n{}", wire.text());
    if daemon == Daemon::Vrrpd {
        // vrrpd says when the delay is over, and holds the instance in INIT until then
        // (keepalived already says BACKUP, its timer counting from the delay's end).
        let log = lab.daemon(d1).log_text();
        let delaying = timeline::log_ms(&log, "Delaying startup", 0.0).unwrap();
        let completed = timeline::log_ms(&log, "Delayed start completed", 0.0).unwrap();
        let backup = timeline::log_ms(&log, "INIT -> BACKUP", 0.0).expect("entered BACKUP");
        // Log lines carry milliseconds; the delay runs on another clock: 10 ms of slack.
        assert!(completed - delaying >= 7990.0, "the delay ran {:.0} ms", completed - delaying);
        assert!(backup >= completed - 10.0, "server 1 ran before its delay was over:\n{log}");
        assert!(first >= completed, "server 1 advertised during its delay");
    }
}

#[test]
fn lower_prio_no_advert_leaves_a_lower_priority_unanswered() {
    under_both(lower_prio_no_advert_under);
}

fn lower_prio_no_advert_under(daemon: Daemon) {
    let mut lab = ReferenceLab::with_prefix("st").unwrap();
    // Server 2 never hears server 1 (its advertisements leave with TTL 64, under server 2's
    // `min_ttl 255` for it), so both are master and server 1 hears server 2's lower priority
    // four times a second.
    let deaf_peer = with_instance(&reference_config(1), "    unicast_ttl 64\n");
    let server1 = with_instance(&deaf_peer, "    lower_prio_no_advert\n");
    let server2 = reference_config(2)
        .replace("    state BACKUP\n", "    advert_int 0.25\n")
        .replace(&format!("        {SERVER1}\n"), &format!("        {SERVER1} min_ttl 255\n"));
    let c1 = lab.write_config(1, "keepalived.conf", &server1).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &server2).unwrap();
    let wire = capture(&lab, "p1", "lower-prio");
    let d1 = start(&mut lab, daemon, 1, &c1);
    let d2 = lab.start_vrrpd(2, &c2, &[]).unwrap();
    let two_masters = || lab.has_vip(1).unwrap() && lab.has_vip(2).unwrap();
    if let Err(error) = wait_until("both servers master", ELECTION, two_masters) {
        let logs = [lab.daemon(d1).log_text(), lab.daemon(d2).log_text()];
        panic!("{error}:\n{}\n{}\n{}", logs[0], logs[1], wire.text());
    }
    let both = now_ms();
    let heard_lower = || adverts_from(&wire.text(), SERVER2).iter().filter(|t| **t > both).count();
    wait_until("16 lower-priority advertisements", ELECTION, || heard_lower() >= 16).unwrap();
    let gaps = |after: f64, before: f64| -> Vec<f64> {
        let sent: Vec<f64> = adverts_from(&wire.text(), SERVER1)
            .into_iter()
            .filter(|t| *t > after && *t < before)
            .collect();
        sent.windows(2).map(|pair| pair[1] - pair[0]).collect()
    };
    let quiet = gaps(both, now_ms());
    println!("server 1's advertisement gaps with lower_prio_no_advert (ms): {quiet:.0?}");
    assert!(quiet.len() >= 2, "server 1 kept advertising:\n{}", wire.text());
    // Its own Adver_Timer only: a second apart (less 100 ms of scheduling slack).
    assert!(quiet.iter().all(|gap| *gap >= 900.0), "answered a lower priority: {quiet:.0?}");
    // Without it (keepalived's default), each one is answered at once: gaps of a quarter
    // second, server 2's interval. Server 1 starts again without it.
    lab.daemon(d1).stop(Duration::from_secs(10));
    lab.write_config(1, "keepalived.conf", &deaf_peer).unwrap();
    let restarted = now_ms();
    start(&mut lab, daemon, 1, &c1);
    let answered = || gaps(restarted, f64::MAX).iter().any(|gap| *gap < 500.0);
    wait_until("an answered lower priority after the restart", ELECTION, answered)
        .unwrap_or_else(|error| panic!("{error}:\n{}", wire.text()));
}

#[test]
fn higher_prio_send_advert_answers_before_yielding() {
    under_both(higher_prio_send_advert_under);
}

/// Server 2's advertisement interval in the higher_prio_send_advert check, in ms.
const SLOW_INTERVAL_MS: f64 = 4000.0;
/// How far from server 2's periodic advertisements the owner's first one must come for an
/// answer to be told apart from them: jitter before, the answer window (1 s) and jitter after.
const JITTER_MS: f64 = 300.0;
const ANSWER_WINDOW_MS: f64 = 1000.0;

fn higher_prio_send_advert_under(daemon: Daemon) {
    let mut lab = ReferenceLab::with_prefix("st").unwrap();
    // Server 2 advertises every 4 s; server 1, the address owner, starts so that its first
    // advertisement falls between two of server 2's and takes over at once, so any
    // advertisement of server 2's within a second of it is its answer.
    let owner = reference_config(1).replace("priority 110", "priority 255");
    let server2 = |send: bool| {
        let lines = format!("    advert_int 4\n    higher_prio_send_advert {send}\n");
        with_instance(&reference_config(2), &lines)
    };
    let c1 = lab.write_config(1, "keepalived.conf", &owner).unwrap();
    let wire = capture(&lab, "p2", "higher-prio");
    // Server 1's start-up time (launch to first advertisement), learned from each attempt: a
    // debug build on a loaded machine takes seconds, so the launch is timed from it.
    let mut startup_ms = 0.0;
    for send in [false, true] {
        let c2 = lab.write_config(2, "keepalived.conf", &server2(send)).unwrap();
        let d2 = start(&mut lab, daemon, 2, &c2);
        let mut placed = None;
        for _attempt in 0..6 {
            lab.wait_for_master(2, ELECTION).unwrap();
            let since = now_ms();
            let periodic = || adverts_from(&wire.text(), SERVER2).into_iter().find(|t| *t > since);
            wait_until("a periodic advertisement of server 2", ELECTION, || periodic().is_some())
                .unwrap();
            let periodic = periodic().unwrap();
            // Aim server 1's first advertisement at the middle of the clear part of one of
            // server 2's intervals.
            let aim = (JITTER_MS + SLOW_INTERVAL_MS - ANSWER_WINDOW_MS - JITTER_MS) / 2.0;
            let mut launch = periodic + aim - startup_ms;
            while launch < now_ms() {
                launch += SLOW_INTERVAL_MS;
            }
            wait_until("the moment to launch server 1", ELECTION, || now_ms() >= launch).unwrap();
            let launched = now_ms();
            let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
            lab.wait_for_master(1, ELECTION).unwrap();
            let owner_first =
                || adverts_from(&wire.text(), SERVER1).into_iter().find(|t| *t > launched);
            wait_until("server 1's first advertisement", ELECTION, || owner_first().is_some())
                .unwrap();
            let owner_first = owner_first().unwrap();
            startup_ms = owner_first - launched;
            let phase = (owner_first - periodic).rem_euclid(SLOW_INTERVAL_MS);
            if (JITTER_MS..SLOW_INTERVAL_MS - ANSWER_WINDOW_MS - JITTER_MS).contains(&phase) {
                let next_periodic = owner_first - phase + SLOW_INTERVAL_MS;
                placed = Some((d1, owner_first, next_periodic));
                break;
            }
            println!("server 1 started {phase:.0} ms into server 2's interval: again");
            lab.daemon(d1).stop(Duration::from_secs(10));
        }
        let Some((d1, owner_first, next_periodic)) = placed else {
            panic!("server 1's start-up ({startup_ms:.0} ms) varied too much to place it");
        };
        // Wait until server 2's next periodic advertisement would have been due.
        wait_until("server 2's next interval", ELECTION, || now_ms() > next_periodic + 500.0)
            .unwrap();
        let answers: Vec<f64> = adverts_from(&wire.text(), SERVER2)
            .into_iter()
            .filter(|t| *t > owner_first && *t < owner_first + ANSWER_WINDOW_MS)
            .map(|t| t - owner_first)
            .collect();
        println!("higher_prio_send_advert {send}: server 2 answered after {answers:.0?} ms");
        let expected = usize::from(send);
        assert_eq!(answers.len(), expected, "higher_prio_send_advert {send}:\n{}", wire.text());
        let later = adverts_from(&wire.text(), SERVER2).into_iter().filter(|t| *t > owner_first);
        assert_eq!(later.count(), expected, "server 2 kept advertising as backup");
        // Both stop (server 1 resigns first) for the next round.
        lab.daemon(d1).stop(Duration::from_secs(10));
        lab.daemon(d2).stop(Duration::from_secs(10));
    }
}

#[test]
fn dont_track_primary_keeps_the_addresses_when_the_link_goes_down() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("st").unwrap();
    let server1 = with_instance(&reference_config(1), "    dont_track_primary\n");
    let c1 = lab.write_config(1, "keepalived.conf", &server1).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();
    lab.set_link(1, false).unwrap();
    // Server 2 stops hearing server 1 and takes over; server 1 is not put in FAULT and keeps
    // its address (on its link, which is down).
    let both = || lab.has_vip(1).unwrap() && lab.has_vip(2).unwrap();
    wait_until("server 2 master beside server 1", ELECTION, both).unwrap();
    let log = lab.daemon(d1).log_text();
    assert!(!log.contains("FAULT"), "server 1 went to FAULT:\n{log}");
    // Back on the link, the higher priority wins: server 2 yields.
    lab.set_link(1, true).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();
    assert!(!lab.daemon(d1).log_text().contains("FAULT"));
}

#[test]
fn unicast_fault_no_peer_without_peers_stays_in_fault() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("st").unwrap();
    let no_peer = reference_config(1).replace(&format!("        {SERVER2}\n"), "");
    let server1 = with_instance(&no_peer, "    unicast_fault_no_peer\n");
    assert!(!server1.contains(SERVER2), "{server1}");
    let c1 = lab.write_config(1, "keepalived.conf", &server1).unwrap();
    let wire = capture(&lab, "p1", "no-peer");
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.daemon(d1).wait_for_log("INIT -> FAULT", ELECTION).unwrap();
    // Alone on the link, it would be master after Master_Down_Interval (under 4 s): wait
    // twice that, then nothing was sent and the address was never added.
    let started = now_ms();
    wait_until("two master-down intervals", ELECTION, || now_ms() > started + 8000.0).unwrap();
    assert!(!lab.has_vip(1).unwrap(), "{VIP} added by an instance in FAULT");
    assert_eq!(adverts_from(&wire.text(), SERVER1), Vec::<f64>::new(), "{}", wire.text());
    assert!(!lab.daemon(d1).log_text().contains("-> MASTER"));
}
