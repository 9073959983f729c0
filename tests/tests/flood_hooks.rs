//! A short flood of forged advertisements at a vrrpd backup, on each kernel hook: the reference
//! lab (server 1 master, server 2 backup, both vrrpd on the hook under test) and an attacker on
//! the bridge sending the five forged kinds of `benches/flood.rs` round-robin at server 2,
//! bounded in frames and time. Every frame is dropped in the kernel and counted under its own
//! reason, the election holds (server 2 never takes the VIP, logs no transition), and the
//! master's advertisements are still accepted. The bench measures what the same flood costs at
//! higher rates; this is its check, run with the suite.

use std::{
    net::Ipv4Addr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use vrrp_common::Counter;
use vrrp_tests::{
    at_each_hook,
    flood::{frame, start_flood, watch_address, Kind, Pace, Target},
    lab::{reference_config, ReferenceLab, SERVER2, VIP},
    require_root, wait_until,
    xdp::changed,
};
use vrrp_user::{
    hook::{self, Hook},
    xdp::{pinned_counters, Counters},
};

const ELECTION: Duration = Duration::from_secs(30);
const ATTACKER: &str = "192.0.2.66";
const VRID: u8 = 123;
/// 5,000 frames a second for two seconds: a flood well above any advertisement rate, small
/// enough that no queue on the path overflows on a loaded machine.
const PACE: Pace = Pace { rate: Some(5_000), max_frames: 10_000, max_time: Duration::from_secs(4) };

at_each_hook!(a_forged_flood_is_dropped_and_counted_and_the_election_holds);

fn a_forged_flood_is_dropped_and_counted_and_the_election_holds(hook: Hook) {
    require_root();
    let mut lab = ReferenceLab::with_prefix("fl").expect("building the lab");
    let attacker = lab.add_host("at", "eth0", "pa", ATTACKER).unwrap();
    let args = ["--datapath", "xdp", "--hook", hook.name()];
    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &args).unwrap();
    let d2 = lab.start_vrrpd(2, &c2, &args).unwrap();
    let line = format!("data path: {}\n", hook::describe(&[("ens3".into(), hook)]));
    for d in [d1, d2] {
        lab.daemon(d).wait_for_log(&line, ELECTION).unwrap();
    }
    lab.wait_for_master(1, ELECTION).expect("server 1 (priority 110) becomes master");
    lab.daemon(d2).wait_for_log("INIT -> BACKUP", ELECTION).unwrap();

    let target = Target {
        source_mac: lab.lab.mac(&attacker, "eth0").unwrap(),
        destination_mac: lab.lab.mac(lab.router(2), "ens3").unwrap(),
        source: ATTACKER.parse().unwrap(),
        destination: SERVER2.parse().unwrap(),
        vrid: VRID,
        vip: VIP.parse::<Ipv4Addr>().unwrap(),
    };
    let frames: Vec<Vec<u8>> = Kind::ALL.iter().map(|kind| frame(*kind, &target)).collect();
    // One ping teaches the bridge server 2's port, so the flood goes there alone.
    let _ = lab.lab.exec(&attacker, "ping", &["-c", "1", "-W", "1", SERVER2]);

    let pin_dir = lab.bpffs.join("r2");
    let before = pinned_counters(&pin_dir).expect("server 2's pinned counters");
    let log_before = lab.daemon(d2).log_text().len();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_address(
        lab.router(2),
        VIP.parse().unwrap(),
        Duration::from_millis(20),
        Arc::clone(&stop),
    );
    let sent = start_flood(&attacker, "eth0", &frames, PACE).unwrap().join().unwrap().unwrap();
    assert_eq!(sent.frames, PACE.max_frames, "the whole flood left the attacker: {sent:?}");

    // The counters move as the frames arrive: wait until every kind is counted, then compare.
    let counted = |counters: &Counters, kind: Kind| {
        counters[kind.counter() as usize] - before[kind.counter() as usize]
    };
    let expected = |kind: Kind| -> u64 {
        Kind::ALL
            .iter()
            .zip(&sent.per_frame)
            .filter(|(k, _)| k.counter() == kind.counter())
            .map(|(_, n)| n)
            .sum()
    };
    let settled = wait_until("every forged frame is counted", ELECTION, || {
        let now = pinned_counters(&pin_dir).unwrap();
        Kind::ALL.iter().all(|kind| counted(&now, *kind) >= expected(*kind))
    });
    stop.store(true, Ordering::Relaxed);
    let (polls, seen) = watcher.join().unwrap().unwrap();
    let after = pinned_counters(&pin_dir).unwrap();
    let changed = changed(&before, &after);
    settled.unwrap_or_else(|error| panic!("{error:#}: counters moved {changed:?}, sent {sent:?}"));
    for kind in Kind::ALL {
        assert_eq!(
            counted(&after, kind),
            expected(kind),
            "{kind:?} under {}: counters moved {changed:?}",
            kind.counter().name()
        );
    }
    let moved = |drop: bool| -> u64 {
        let counters = Counter::ALL.iter().filter(|c| c.is_drop() == drop);
        counters.map(|c| after[*c as usize] - before[*c as usize]).sum()
    };
    assert_eq!(moved(true), sent.frames, "nothing but the flood was dropped: {changed:?}");
    assert!(moved(false) > 0, "the master's advertisements still counted: {changed:?}");

    // The election held.
    assert!(polls > 0, "the watcher ran");
    assert_eq!(seen, 0, "server 2 held the VIP in {seen} of {polls} polls during the flood");
    let log = lab.daemon(d2).log_text();
    let during = &log[log_before..];
    assert!(!during.contains(" -> "), "server 2 changed state during the flood:\n{during}");
    assert!(lab.has_vip(1).unwrap() && !lab.has_vip(2).unwrap(), "server 1 is still master");
    let status = lab.vrrpd_status(2).unwrap().expect("server 2 answers");
    assert_eq!(status.instances[0].state, "BACKUP", "{status:?}");
}
