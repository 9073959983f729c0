//! Interoperability with keepalived (Debian's), both ways, in the reference scenario: VRRPv3,
//! unicast, priorities 110 / 100. Each side takes over when the other stops, and the
//! higher-priority side takes the VIP back when it returns.

use std::time::Duration;

use vrrp_tests::{
    lab::{reference_config, ReferenceLab},
    require_root,
};

/// A deadline, not a figure: a debug build's start-up plus Master_Down_Interval took past
/// 12 s on a loaded 2-core machine.
const ELECTION: Duration = Duration::from_secs(30);

fn require_keepalived() {
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(
        found,
        "keepalived is not installed: run `cargo xtask setup` (Debian package keepalived)"
    );
}

#[test]
fn keepalived_master_with_vrrpd_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::new().unwrap();
    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    let keepalived = lab.start_keepalived(1, &c1).unwrap();
    let vrrpd = lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("keepalived (110) becomes master");
    lab.daemon(vrrpd).wait_for_log("INIT -> BACKUP", ELECTION).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(!lab.has_vip(2).unwrap(), "vrrpd stays backup while keepalived advertises");

    lab.daemon(keepalived).stop(Duration::from_secs(5));
    lab.wait_for_master(2, ELECTION).expect("vrrpd takes over when keepalived stops");
    assert!(lab.client_ping(), "the client reaches the VIP through vrrpd");

    lab.start_keepalived(1, &c1).unwrap();
    lab.wait_for_master(1, ELECTION).expect("keepalived preempts when it returns");
    lab.daemon(vrrpd).wait_for_log("MASTER -> BACKUP", Duration::from_secs(1)).unwrap();
}

#[test]
fn vrrpd_master_with_keepalived_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::new().unwrap();
    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    let vrrpd = lab.start_vrrpd(1, &c1, &[]).unwrap();
    let keepalived = lab.start_keepalived(2, &c2).unwrap();
    lab.wait_for_master(1, ELECTION).expect("vrrpd (110) becomes master");
    std::thread::sleep(Duration::from_secs(4));
    assert!(!lab.has_vip(2).unwrap(), "keepalived stays backup while vrrpd advertises");
    let log = lab.daemon(keepalived).log_text();
    assert!(!log.to_lowercase().contains("checksum"), "keepalived complained:\n{log}");

    lab.daemon(vrrpd).kill();
    lab.wait_for_master(2, ELECTION).err();
    assert!(lab.has_vip(2).unwrap(), "keepalived takes over when vrrpd dies");

    let vrrpd = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("vrrpd preempts when it returns");
    lab.daemon(vrrpd).wait_for_log("BACKUP -> MASTER", Duration::from_secs(1)).unwrap();
}
