//! Reload on the master of the reference pair, as keepalived does it: the priority edited, a
//! VIP added, a peer added, each followed by SIGHUP. The running instance takes each change in
//! place, so the VIP never moves: the backup never becomes master. The same edits on a
//! keepalived 2.2.7 pair show the behaviour followed.
//!
//! The VIP is added on the backup too, just before the master: a keepalived backup ignores
//! an advertisement whose address list differs from its own (keepalived vrrp.c
//! vrrp_check_packet() with check_addr), so an operator edits both.
//!
//! The watch after each reload lasts Master_Down_Interval(100) = 3.609 s (RFC 9568 §6.1) plus
//! slack: a master that resigned or stopped advertising would have lost the VIP by then.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{reference_config, ReferenceLab},
    require_root,
};

/// A deadline, not a figure: a debug build's start-up plus Master_Down_Interval took past
/// 12 s on a loaded 2-core machine.
const ELECTION: Duration = Duration::from_secs(30);
const WATCH: Duration = Duration::from_millis(3609 + 1000);
const SECOND_VIP: &str = "192.0.2.101";
const NEW_PEER: &str = "192.0.2.3";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Daemon {
    Vrrpd,
    Keepalived,
}

fn holds(lab: &ReferenceLab, n: usize, address: &str) -> bool {
    let out = lab.lab.exec(lab.router(n), "ip", &["-o", "addr", "show", "dev", "ens3"]).unwrap();
    String::from_utf8_lossy(&out.stdout).contains(&format!("inet {address}/"))
}

/// Fails as soon as the VIP is anywhere but on server 1, for the whole watch.
fn vip_stays_on_server1(lab: &ReferenceLab, after: &str) {
    let end = Instant::now() + WATCH;
    while Instant::now() < end {
        assert!(
            lab.has_vip(1).unwrap() && !lab.has_vip(2).unwrap(),
            "after {after}: the VIP moved (r1: {}, r2: {})",
            lab.has_vip(1).unwrap(),
            lab.has_vip(2).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn edits_on_the_master_leave_the_vip_in_place(daemon: Daemon) {
    let mut lab = ReferenceLab::with_prefix("nd").expect("building the lab");
    let original = reference_config(1);
    let c1 = lab.write_config(1, "keepalived.conf", &original).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    let start = |lab: &mut ReferenceLab, n, config| match daemon {
        Daemon::Vrrpd => lab.start_vrrpd(n, config, &[]).unwrap(),
        Daemon::Keepalived => lab.start_keepalived(n, config).unwrap(),
    };
    let d1 = start(&mut lab, 1, &c1);
    let d2 = start(&mut lab, 2, &c2);
    let d2_started = Instant::now();
    lab.wait_for_master(1, ELECTION).expect("server 1 (priority 110) becomes master");
    // Both start as BACKUP and server 2's Master_Down_Interval (3.609 s) is only 40 ms longer
    // than server 1's: at start-up it may be master for a moment. Only what follows its first
    // master-down deadline is judged.
    let mut elected_log_len = 0;
    if daemon == Daemon::Vrrpd {
        lab.daemon(d2).wait_for_log("INIT -> BACKUP", ELECTION).unwrap();
        let first_deadline = d2_started + Duration::from_millis(3609 + 500);
        std::thread::sleep(first_deadline.saturating_duration_since(Instant::now()));
        lab.wait_for_master(1, ELECTION).expect("server 1 is the one master after the election");
        elected_log_len = lab.daemon(d2).log_text().len();
    }

    let reload = |lab: &mut ReferenceLab, text: String, reloads: usize| {
        std::fs::write(&c1, text).unwrap();
        lab.daemon(d1).signal(libc::SIGHUP);
        if daemon == Daemon::Vrrpd {
            let deadline = Instant::now() + Duration::from_secs(3);
            while lab.daemon(d1).log_text().matches("reloaded").count() < reloads {
                let log = lab.daemon(d1).log_text();
                assert!(!log.contains("reload refused"), "the reload was refused:\n{log}");
                assert!(Instant::now() < deadline, "no reload within 3 s:\n{log}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };

    let priority = original.replace("priority 110", "priority 120");
    reload(&mut lab, priority.clone(), 1);
    vip_stays_on_server1(&lab, "priority 110 -> 120");

    let vip_line = "        192.0.2.100\n";
    let add_vip = |text: &str| text.replace(vip_line, &format!("{vip_line}        {SECOND_VIP}\n"));
    let two_vips = add_vip(&priority);
    assert_ne!(two_vips, priority, "the VIP line is where the reference file has it");
    std::fs::write(&c2, add_vip(&reference_config(2))).unwrap();
    lab.daemon(d2).signal(libc::SIGHUP);
    reload(&mut lab, two_vips.clone(), 2);
    let deadline = Instant::now() + Duration::from_secs(3);
    while !holds(&lab, 1, SECOND_VIP) {
        assert!(Instant::now() < deadline, "the added VIP is not on server 1 within 3 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    vip_stays_on_server1(&lab, "a VIP added");
    assert!(holds(&lab, 1, SECOND_VIP) && !holds(&lab, 2, SECOND_VIP));

    let peer_line = "        192.0.2.2\n";
    let two_peers = two_vips.replace(peer_line, &format!("{peer_line}        {NEW_PEER}\n"));
    assert_ne!(two_peers, two_vips, "the peer line is where the reference file has it");
    reload(&mut lab, two_peers, 3);
    vip_stays_on_server1(&lab, "a peer added");

    if daemon == Daemon::Vrrpd {
        let log = lab.daemon(d1).log_text();
        let after = &log[log.find("reloading").unwrap()..];
        assert!(!after.contains("MASTER ->"), "server 1 changed state on reload:\n{after}");
        assert!(
            after.contains(&format!("added {SECOND_VIP}/32")),
            "the new VIP was added:\n{after}"
        );
        assert!(!after.contains("added 192.0.2.100/"), "the running VIP was added again:\n{after}");
        let backup = lab.daemon(d2).log_text();
        let since_election = &backup[elected_log_len..];
        assert!(!since_election.contains("-> MASTER"), "server 2 became master:\n{backup}");
    }
}

#[test]
fn vrrpd_reloads_the_master_in_place() {
    require_root();
    edits_on_the_master_leave_the_vip_in_place(Daemon::Vrrpd);
}

#[test]
fn keepalived_reloads_the_master_in_place() {
    require_root();
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(
        found,
        "keepalived is not installed: run `cargo xtask setup` (Debian package keepalived)"
    );
    edits_on_the_master_leave_the_vip_in_place(Daemon::Keepalived);
}
