//! Chaos in the reference lab: a frozen master, a storm of reloads, a flapping link. Each ends
//! with exactly one master, the right one, and nothing left behind.
//!
//! The reference pair advertises every second (priorities 110 and 100): Master_Down_Interval
//! for server 2 is 3.609 s.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{reference_config, ReferenceLab},
    require_root, wait_until,
};

const ELECTION: Duration = Duration::from_secs(12);
const ADVERT_INT: Duration = Duration::from_secs(1);

fn started_pair() -> (ReferenceLab, usize, usize) {
    let mut lab = ReferenceLab::with_prefix("ch").expect("building the lab");
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
    while storm.elapsed() < Duration::from_secs(10) {
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
