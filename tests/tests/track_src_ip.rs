//! `track_src_ip`: an instance whose interface loses its `unicast_src_ip` goes to FAULT, and
//! back when the address returns (keepalived keepalived_netlink.c netlink_if_address_filter()
//! with VRRP_FLAG_TRACK_SADDR). In the reference lab server 1 (priority 110) tracks its source:
//! its address is removed, server 2 takes the VIP; it is added back, server 1 preempts.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{reference_config, ReferenceLab, SERVER1},
    require_root,
};

const ELECTION: Duration = Duration::from_secs(30);

/// Waits until router `n`'s only instance is in `state`.
fn wait_for_state(lab: &ReferenceLab, n: usize, state: &str) {
    let deadline = Instant::now() + ELECTION;
    loop {
        let status = lab.vrrpd_status(n).unwrap();
        let seen = status.as_ref().and_then(|s| s.instances.first()).map(|i| i.state.clone());
        if seen.as_deref() == Some(state) {
            return;
        }
        assert!(Instant::now() < deadline, "router {n} not {state} within {ELECTION:?}: {seen:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn losing_the_unicast_src_ip_is_a_fault_and_the_vip_moves() {
    require_root();
    let mut lab = ReferenceLab::new().expect("building the lab");
    let source = format!("    unicast_src_ip {SERVER1}\n");
    let tracking = reference_config(1).replace(&source, &format!("{source}    track_src_ip\n"));
    assert!(tracking.contains("track_src_ip"));
    let c1 = lab.write_config(1, "keepalived.conf", &tracking).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("server 1 (priority 110) becomes master");

    let address = format!("{SERVER1}/24");
    let r1 = lab.router(1).to_owned();
    lab.lab.exec(&r1, "ip", &["addr", "del", &address, "dev", "ens3"]).unwrap();
    wait_for_state(&lab, 1, "FAULT");
    lab.wait_for_master(2, ELECTION).expect("server 2 takes the VIP");

    lab.lab.exec(&r1, "ip", &["addr", "add", &address, "dev", "ens3"]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("server 1 leaves FAULT and preempts");
    wait_for_state(&lab, 1, "MASTER");
    wait_for_state(&lab, 2, "BACKUP");
}
