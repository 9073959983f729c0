//! A trunk: router 1 runs VRID 51 untagged on `ens3`, and a keepalived of higher priority runs
//! the same VRID on VLAN 100 of the same wire. The two are different LANs, so router 1 must
//! become master of its own; before the device-bound program, XDP could not see a tag the veth
//! carried in the skb's metadata and credited VLAN 100's advertisements to router 1's instance,
//! which then stayed backup to a router of another LAN.
//!
//! The same on every data path: XDP (`vrrp_xdp_vlan` on the veth), tcx, and raw sockets, which
//! never receive another VLAN's frames without its VLAN device.
//!
//! This kernel has no 802.1Q support, so no VLAN device: router 2's advertisements leave tagged
//! by a tc egress program (`vlan_push`), as a VLAN device on a veth sends them. Taking the tag
//! away is the control: the same keepalived, untagged, drives router 1 to backup at once.

use std::time::Duration;

use vrrp_tests::{
    lab::{ReferenceLab, VIP},
    require_root, vlan_push, wait_until,
};

/// A deadline, not a figure (a debug build's start-up and Master_Down_Interval on a loaded host).
const ELECTION: Duration = Duration::from_secs(30);
/// Advertisements router 1 receives and passes while it stays master (advert_int 1).
const STEADY: Duration = Duration::from_secs(3);

fn config(priority: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface ens3
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"
    )
}

/// Router 1's count of frames of a VRID no instance of theirs has (passed on).
fn unknown_vrid(lab: &ReferenceLab) -> u64 {
    let status = lab.vrrpd_status(1).unwrap().expect("router 1 answers its status");
    let reason = status.datapath_counters.iter().find(|count| count.reason == "unknown_vrid");
    reason.map_or(0, |count| count.frames)
}

/// The trunk with router 1's vrrpd started with `args`; `attached` is its log line saying the
/// data path is up.
fn each_master_of_its_own_lan(args: &[&str], attached: &str) {
    require_root();
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(found, "keepalived is not installed: run `cargo xtask setup`");
    let mut lab = ReferenceLab::with_prefix("vq").unwrap();
    let pinned = lab.bpffs.join("vlan_push_100");
    vlan_push::pin(&pinned, 100).unwrap();
    vlan_push::tag(&lab.lab, lab.router(2), "ens3", &pinned).unwrap();

    let path = lab.write_config(2, "keepalived.conf", &config(110)).unwrap();
    lab.start_keepalived(2, &path).unwrap();
    let path = lab.write_config(1, "keepalived.conf", &config(100)).unwrap();
    let vrrpd = lab.start_vrrpd(1, &path, args).unwrap();
    lab.daemon(vrrpd).wait_for_log(attached, ELECTION).unwrap();

    // Router 2 is master of VLAN 100; router 1 hears none of its LAN and takes its VIP.
    wait_until("router 2 master on VLAN 100", ELECTION, || lab.has_vip(2).unwrap()).unwrap();
    wait_until("router 1 master of the untagged LAN", ELECTION, || lab.has_vip(1).unwrap())
        .unwrap();
    let passed = unknown_vrid(&lab);
    let deadline = std::time::Instant::now() + STEADY;
    while std::time::Instant::now() < deadline {
        assert!(lab.has_vip(1).unwrap(), "router 1 must stay master of its own LAN");
        std::thread::sleep(Duration::from_millis(100));
    }
    if !args.contains(&"socket") {
        // The kernel passes them on; the socket path never receives them (no VLAN device).
        let later = unknown_vrid(&lab);
        assert!(
            later > passed,
            "VLAN 100's advertisements pass as another LAN's ({passed}, {later})"
        );
    }
    assert!(
        !lab.daemon(vrrpd).log_text().contains("MASTER -> BACKUP"),
        "router 1 never yielded to VLAN 100's master"
    );

    // The control: untagged, the same advertisements are router 1's LAN, and 110 wins.
    vlan_push::untag(&lab.lab, lab.router(2), "ens3").unwrap();
    lab.wait_for_master(2, ELECTION).expect("router 1 yields to the untagged 110");
}

#[test]
fn a_vlans_master_on_the_trunk_never_drives_the_untagged_router_at_xdp() {
    each_master_of_its_own_lan(&[], "vrrp_xdp_vlan attached");
}

#[test]
fn a_vlans_master_on_the_trunk_never_drives_the_untagged_router_at_tcx() {
    each_master_of_its_own_lan(&["--hook", "tcx"], "vrrp_tc attached with tcx");
}

#[test]
fn a_vlans_master_on_the_trunk_never_drives_the_untagged_router_on_sockets() {
    each_master_of_its_own_lan(&["--datapath", "socket"], "data path: raw sockets");
}
