//! Chaos in the reference lab: a frozen master, a storm of reloads, a flapping link, a master
//! killed and restarted at once, a partition of 100 instances that heals. Each ends with
//! exactly one master, the right one, and nothing left behind.
//!
//! The reference pair advertises every second (priorities 110 and 100): Master_Down_Interval
//! for server 2 is 3.609 s.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{reference_config, vrrpd_binary, ReferenceLab},
    require_root,
    scale::{self, PRIORITIES},
    wait_until,
};

/// A deadline, not a figure: a debug build's start-up plus Master_Down_Interval took past
/// 12 s on a loaded 2-core machine.
const ELECTION: Duration = Duration::from_secs(30);
const ADVERT_INT: Duration = Duration::from_secs(1);
/// How long the reload storm lasts: 30 s at 10 a second, 300 reloads of each daemon.
const STORM: Duration = Duration::from_secs(30);

fn started_pair() -> (ReferenceLab, usize, usize) {
    started_pair_with("ch")
}

/// [`started_pair`] in namespaces named with `prefix`.
fn started_pair_with(prefix: &'static str) -> (ReferenceLab, usize, usize) {
    let mut lab = ReferenceLab::with_prefix(prefix).expect("building the lab");
    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    let d2 = lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("server 1 (priority 110) becomes master");
    (lab, d1, d2)
}

/// How many times the daemon's log says it became MASTER.
fn became_master(lab: &mut ReferenceLab, daemon: usize) -> usize {
    lab.daemon(daemon).log_text().matches("-> MASTER").count()
}

#[test]
fn a_master_frozen_for_five_seconds_leaves_two_masters_for_less_than_an_interval() {
    require_root();
    let (mut lab, d1, _d2) = started_pair();
    // keepalived flaps here (keepalived #2066): the frozen master wakes up believing it still
    // is master, while the backup took over.
    lab.daemon(d1).signal(libc::SIGSTOP);
    let frozen = Instant::now();
    // The frozen daemon's addresses stay where they are: server 2 adds the VIP beside them.
    wait_until("server 2 takes over from the frozen master", ELECTION, || lab.has_vip(2).unwrap())
        .unwrap();
    std::thread::sleep(Duration::from_secs(5).saturating_sub(frozen.elapsed()));
    lab.daemon(d1).signal(libc::SIGCONT);
    let resumed = Instant::now();
    // Both hold the VIP from the moment server 1 runs again until server 2 hears it.
    wait_until("exactly one holder of the VIP after the resume", ELECTION, || {
        !(lab.has_vip(1).unwrap() && lab.has_vip(2).unwrap())
    })
    .unwrap();
    let overlap = resumed.elapsed();
    println!("two masters for at most {overlap:?} after SIGCONT");
    assert!(overlap < ADVERT_INT, "two masters for {overlap:?}, more than one interval");
    lab.wait_for_master(1, ELECTION).expect("server 1 (110) is the one master again");
}

#[test]
fn ten_reloads_a_second_change_no_state() {
    require_root();
    let (mut lab, d1, d2) = started_pair();
    let before = (became_master(&mut lab, d1), became_master(&mut lab, d2));
    let storm = Instant::now();
    let mut reloads = 0;
    while storm.elapsed() < STORM {
        lab.daemon(d1).signal(libc::SIGHUP);
        lab.daemon(d2).signal(libc::SIGHUP);
        reloads += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    for daemon in [d1, d2] {
        let done = format!("reloaded {}", lab.dir.display());
        wait_until("the reloads are done", ELECTION, || {
            lab.daemon(daemon).log_text().matches(&done).count() >= 1
        })
        .unwrap();
    }
    // One more advertisement round after the storm: any flap would show by now.
    std::thread::sleep(ADVERT_INT);
    let after = (became_master(&mut lab, d1), became_master(&mut lab, d2));
    assert_eq!(before, after, "{reloads} reloads each changed a state");
    assert!(lab.has_vip(1).unwrap() && !lab.has_vip(2).unwrap(), "server 1 is still the master");
}

#[test]
fn a_link_flapping_every_200_ms_ends_with_one_master() {
    require_root();
    let (lab, _d1, _d2) = started_pair();
    let flapping = Instant::now();
    let mut up = true;
    while flapping.elapsed() < Duration::from_secs(10) {
        up = !up;
        lab.set_link(1, up).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    lab.set_link(1, true).unwrap();
    lab.wait_for_master(1, ELECTION).expect("server 1 preempts once its link stays up");
    // And it stays the one master for another Master_Down_Interval.
    let settled = Instant::now();
    while settled.elapsed() < Duration::from_secs(4) {
        assert!(!lab.has_vip(2).unwrap(), "server 2 holds the VIP beside server 1");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(lab.has_vip(1).unwrap(), "server 1 holds the VIP");
}

/// While `until` does not hold, how long both routers held the VIP at once (polled).
fn overlap_until(lab: &ReferenceLab, timeout: Duration, until: impl Fn() -> bool) -> Duration {
    let deadline = Instant::now() + timeout;
    let (mut both_since, mut overlap) = (None, Duration::ZERO);
    while !until() {
        assert!(Instant::now() < deadline, "not settled within {timeout:?}");
        let both = lab.has_vip(1).unwrap() && lab.has_vip(2).unwrap();
        match (both, both_since) {
            (true, None) => both_since = Some(Instant::now()),
            (false, Some(since)) => {
                overlap += since.elapsed();
                both_since = None;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    overlap + both_since.map_or(Duration::ZERO, |since| since.elapsed())
}

#[test]
fn a_master_killed_and_restarted_at_once_leaves_no_stale_vip_and_preempts_cleanly() {
    require_root();
    let (mut lab, d1, _d2) = started_pair_with("hd");
    let c1 = lab.dir.join("r1-keepalived.conf");
    let (pin_dir, runtime_dir) = (lab.bpffs.join("r1"), lab.dir.join("run-r1"));
    // SIGKILL: nothing of the daemon's own stop runs, so its VIP stays behind.
    lab.daemon(d1).kill();
    assert!(lab.has_vip(1).unwrap(), "a killed master leaves its VIP");
    // As systemd restarts it: ExecStopPost= (vrrpd cleanup), then ExecStart=, at once.
    let binary = vrrpd_binary().unwrap();
    let cleanup = lab
        .lab
        .exec(
            lab.router(1),
            &binary.to_string_lossy(),
            &[
                "cleanup",
                "-f",
                &c1.to_string_lossy(),
                "--pin-dir",
                &pin_dir.to_string_lossy(),
                "--runtime-dir",
                &runtime_dir.to_string_lossy(),
            ],
        )
        .expect("vrrpd cleanup");
    assert!(cleanup.status.success(), "{}", String::from_utf8_lossy(&cleanup.stderr));
    assert!(!lab.has_vip(1).unwrap(), "vrrpd cleanup removed the stale VIP");
    assert!(!lab.xdp_attached(1).unwrap(), "no XDP program left on ens3");
    assert!(!pin_dir.join(vrrp_common::names::PROGRAM).exists(), "no pin left");
    let restarted = lab.start_vrrpd(1, &c1, &[]).unwrap();
    // Server 2 may take over for a moment (its master-down interval ran from server 1's last
    // advertisement); server 1 (110) preempts it with its first one.
    let overlap =
        overlap_until(&lab, ELECTION, || lab.has_vip(1).unwrap() && !lab.has_vip(2).unwrap());
    println!("after the restart two masters for {overlap:?}");
    assert!(overlap < ADVERT_INT, "two masters for {overlap:?}, more than one interval");
    lab.daemon(restarted).wait_for_log("-> MASTER", ELECTION).unwrap();
    // And it stays the one master for another Master_Down_Interval.
    let settled = Instant::now();
    while settled.elapsed() < Duration::from_secs(4) {
        assert!(lab.has_vip(1).unwrap() && !lab.has_vip(2).unwrap(), "one master, server 1");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = lab.daemon(restarted).log_text();
    assert_eq!(log.matches("-> MASTER").count(), 1, "the restarted server 1 flapped:\n{log}");
}

#[test]
fn a_partition_of_100_instances_heals_to_one_master_each_within_an_interval() {
    require_root();
    const COUNT: usize = 100;
    let mut lab = ReferenceLab::with_prefix("hd").expect("building the lab");
    let interfaces = scale::interfaces(&lab, COUNT).unwrap();
    for n in [1, 2] {
        let text = scale::config(n, COUNT, ADVERT_INT, &interfaces[n - 1]);
        let path = lab.write_config(n, "keepalived.conf", &text).unwrap();
        lab.start_vrrpd(n, &path, &[]).unwrap();
    }
    let held = |lab: &ReferenceLab| [1, 2].map(|n| scale::vips_held(lab, n).unwrap());
    let converge = ELECTION + scale::master_down_interval(ADVERT_INT, PRIORITIES[0]);
    wait_until("router 1 master of all 100", converge, || held(&lab) == [COUNT, 0]).unwrap();

    // Cut router 1 off the bridge: router 2 becomes master of every instance too.
    lab.lab.exec(&lab.switch, "ip", &["link", "set", "p1", "nomaster"]).unwrap();
    let backup_down = scale::master_down_interval(ADVERT_INT, PRIORITIES[1]);
    wait_until("both masters of all 100 while partitioned", ELECTION + backup_down, || {
        held(&lab) == [COUNT, COUNT]
    })
    .unwrap();

    lab.lab.exec(&lab.switch, "ip", &["link", "set", "p1", "master", "br0"]).unwrap();
    let healed = Instant::now();
    wait_until("one master per instance after the heal", ELECTION, || held(&lab) == [COUNT, 0])
        .unwrap();
    let took = healed.elapsed();
    println!("{COUNT} instances: one master each {took:?} after the heal");
    // Router 1's next advertisement reaches router 2 at most one interval after the heal;
    // the margin covers removing 100 addresses and this polling (one `ip addr` per round).
    let limit = ADVERT_INT + Duration::from_millis(500);
    assert!(took <= limit, "one master per instance {took:?} after the heal (limit {limit:?})");
    // And so it stays for a Master_Down_Interval.
    let settled = Instant::now();
    while settled.elapsed() < backup_down {
        assert_eq!(held(&lab), [COUNT, 0], "VIPs held by r1, r2 after the heal");
        std::thread::sleep(Duration::from_millis(100));
    }
}
