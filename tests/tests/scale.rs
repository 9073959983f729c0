//! The scale lab, small: 100 instances at advert_int 0.1 between two daemons, on each data
//! path. No MASTER transition in a steady-state window after convergence, and on a hard
//! failure of the master every VIP on the backup within the protocol's limit plus a margin,
//! both derived from the configuration.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::ReferenceLab,
    require_root,
    scale::{self, PRIORITIES},
};

const COUNT: usize = 100;
const INTERVAL: Duration = Duration::from_millis(100);

fn holds_steady_and_fails_over_in_time(datapath: &str) {
    require_root();
    let mut lab = ReferenceLab::with_prefix("sc").unwrap();
    let interfaces = scale::interfaces(&lab, COUNT).unwrap();
    let mut daemons = Vec::new();
    for n in [1, 2] {
        let text = scale::config(n, COUNT, INTERVAL, &interfaces[n - 1]);
        let path = lab.write_config(n, "keepalived.conf", &text).unwrap();
        daemons.push(lab.start_vrrpd(n, &path, &["--datapath", datapath]).unwrap());
    }
    let backup_down = scale::master_down_interval(INTERVAL, PRIORITIES[1]);
    // Both start as backup: router 1 is master once its own master-down interval passed.
    let master_down = scale::master_down_interval(INTERVAL, PRIORITIES[0]);
    let converge_by = Instant::now() + Duration::from_secs(10) + master_down;
    loop {
        let held = [1, 2].map(|n| scale::vips_held(&lab, n).unwrap());
        if held == [COUNT, 0] {
            break;
        }
        assert!(
            Instant::now() < converge_by,
            "no convergence: r1 holds {}, r2 {}",
            held[0],
            held[1]
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Steady state over many master-down intervals: a late advertisement anywhere would show
    // as the backup taking a VIP.
    let window = backup_down * 10;
    let before = [0, 1].map(|d| scale::master_transitions(&lab.daemon(daemons[d]).log_text()));
    let end = Instant::now() + window;
    while Instant::now() < end {
        let held = [1, 2].map(|n| scale::vips_held(&lab, n).unwrap());
        assert_eq!(held, [COUNT, 0], "VIPs held by r1, r2 in steady state");
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = [0, 1].map(|d| scale::master_transitions(&lab.daemon(daemons[d]).log_text()));
    assert_eq!(after, before, "MASTER transitions of r1, r2 during {window:?} of steady state");

    // The master fails hard: its cable, then the process. Its last advertisement left no
    // later than this, so the backup's limit counts from here at the latest.
    scale::unplug(&lab, 1, &interfaces[0]).unwrap();
    let failed = Instant::now();
    // Not waited for: a dying daemon's exit (its sockets, its XDP link) is not the backup's.
    lab.daemon(daemons[0]).signal(libc::SIGKILL);
    // The margin: one more master-down interval, for a loaded machine and the polling here.
    let limit = backup_down * 2;
    loop {
        let held = scale::vips_held(&lab, 2).unwrap();
        assert!(
            failed.elapsed() <= limit,
            "r2 holds {held} of {COUNT} VIPs {:?} after the master failed (limit {limit:?}: \
             Master_Down_Interval {backup_down:?} and as much again)",
            failed.elapsed()
        );
        if held == COUNT {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    println!("{datapath}: every VIP on the backup {:?} after the failure", failed.elapsed());
}

#[test]
fn a_hundred_instances_on_xdp_hold_steady_and_fail_over_in_time() {
    holds_steady_and_fails_over_in_time("xdp");
}

#[test]
fn a_hundred_instances_on_the_socket_path_hold_steady_and_fail_over_in_time() {
    holds_steady_and_fails_over_in_time("socket");
}

/// The socket path's receive queue at 250 instances and advert_int 0.01 (25,000 advertisements
/// a second): while the backup's loop is away (here: stopped, SIGSTOP, for a few
/// Master_Down_Intervals), what arrives waits in the queue; the kernel drops none of it.
#[test]
fn a_busy_socket_backup_loses_no_advertisement_at_250_instances_and_10_ms() {
    require_root();
    const COUNT: usize = 250;
    const INTERVAL: Duration = Duration::from_millis(10);
    let mut lab = ReferenceLab::with_prefix("ip").unwrap();
    let interfaces = scale::interfaces(&lab, COUNT).unwrap();
    let mut daemons = Vec::new();
    for n in [1, 2] {
        let text = scale::config(n, COUNT, INTERVAL, &interfaces[n - 1]);
        let path = lab.write_config(n, "keepalived.conf", &text).unwrap();
        daemons.push(lab.start_vrrpd(n, &path, &["--datapath", "socket"]).unwrap());
    }
    let converged = || [1, 2].map(|n| scale::vips_held(&lab, n).unwrap()) == [COUNT, 0];
    vrrp_tests::wait_until("r1 holds every VIP, r2 none", Duration::from_secs(30), converged)
        .unwrap();
    let before = scale::raw_socket_drops(&lab, 2).unwrap();
    let away = scale::master_down_interval(INTERVAL, PRIORITIES[1]) * 8;
    lab.daemon(daemons[1]).signal(libc::SIGSTOP);
    // The stimulus, not a wait for an effect: the backup is away this long.
    std::thread::sleep(away);
    lab.daemon(daemons[1]).signal(libc::SIGCONT);
    // Answering its control socket again: the loop runs, and has read its queue.
    let answers = || lab.vrrpd_status(2).unwrap().is_some();
    vrrp_tests::wait_until("the backup answering again", Duration::from_secs(20), answers).unwrap();
    let dropped = scale::raw_socket_drops(&lab, 2).unwrap() - before;
    println!(
        "socket: {dropped} datagrams dropped at the backup's queue while it was away {away:?}"
    );
    assert_eq!(dropped, 0, "datagrams the kernel dropped at the backup's full receive queue");
}
