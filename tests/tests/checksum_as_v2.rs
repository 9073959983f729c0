//! `v3_checksum_as_v2`: a master sends VRRPv3 over IPv4 with the checksum over the message
//! alone, without the IPv4 pseudo-header (keepalived vrrp.c vrrp_build_vrrp_v3() with
//! VRRP_FLAG_V3_CHECKSUM_AS_V2; the keyword is newer than keepalived 2.2.7, which the lab runs,
//! so the peer here is vrrpd). The backup's kernel program tells the two forms apart and records
//! which one it accepted: `vrrpd instances` on the backup reads it back.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{reference_config, vrrpd_binary, ReferenceLab, SERVER1},
    require_root,
};

const ELECTION: Duration = Duration::from_secs(30);

/// What the backup's kernel recorded of its master's last advertisement.
fn instances_listing(lab: &ReferenceLab) -> String {
    let vrrpd = vrrpd_binary().unwrap();
    let pins = lab.bpffs.join("r2");
    let output = lab
        .lab
        .exec(
            lab.router(2),
            &vrrpd.to_string_lossy(),
            &["instances", "--pin-dir", &pins.to_string_lossy()],
        )
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_backup_hears_the_masters_checksum_without_pseudo_header() {
    require_root();
    let mut lab = ReferenceLab::new().expect("building the lab");
    let as_v2 = reference_config(1)
        .replace("    vrrp_version 3\n", "    vrrp_version 3\n    v3_checksum_as_v2\n");
    assert!(as_v2.contains("v3_checksum_as_v2"));
    let c1 = lab.write_config(1, "keepalived.conf", &as_v2).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("server 1 (priority 110) becomes master");

    let expected = format!("from {SERVER1}");
    let deadline = Instant::now() + ELECTION;
    let mut listing = instances_listing(&lab);
    while !(listing.contains(&expected) && listing.contains("checksum without pseudo-header")) {
        assert!(Instant::now() < deadline, "the backup never recorded the plain form:\n{listing}");
        std::thread::sleep(Duration::from_millis(100));
        listing = instances_listing(&lab);
    }
    // The backup accepted them: it stays backup, the master keeps the address.
    let status = lab.vrrpd_status(2).unwrap().expect("server 2 answers");
    let [instance] = status.instances.as_slice() else { panic!("one instance: {status:?}") };
    assert_eq!((instance.state.as_str(), instance.holds_addresses), ("BACKUP", false));
    assert!(lab.has_vip(1).unwrap(), "server 1 holds the VIP");
}
