//! Netlink events lost to a full receive buffer (ENOBUFS) are not lost to the daemon: it reads
//! links and addresses again and reconciles. The lab shrinks the event socket's buffer
//! (VRRPD_NETLINK_RCVBUF, a test-only variable), freezes the master, makes 250 address events
//! on another interface and then removes the master's VIP behind its back: that removal's
//! event is among the dropped ones, so only a resynchronisation can put the VIP back.

use std::{fs, time::Duration};

use vrrp_tests::{
    lab::{reference_config, ReferenceLab, VIP},
    require_root, wait_until,
};

const ELECTION: Duration = Duration::from_secs(30);
const BURST: usize = 250;

#[test]
fn lost_netlink_events_are_resynchronised_and_a_removed_vip_comes_back() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("hd").expect("building the lab");
    let config = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let daemon =
        lab.start_vrrpd_with_env(1, &config, &[], &[("VRRPD_NETLINK_RCVBUF", "4096")]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("router 1 alone becomes master");
    let r1 = lab.router(1).to_owned();
    lab.lab
        .exec(&r1, "ip", &["link", "add", "burst0", "type", "veth", "peer", "name", "burst1"])
        .unwrap();
    lab.lab.exec(&r1, "ip", &["link", "set", "burst0", "up"]).unwrap();
    let batch = lab.dir.join("burst.batch");
    let lines: String =
        (1..=BURST).map(|n| format!("addr add 203.0.113.{n}/32 dev burst0\n")).collect();
    fs::write(&batch, lines).unwrap();

    lab.daemon(daemon).signal(libc::SIGSTOP);
    lab.lab.exec(&r1, "ip", &["-batch", &batch.to_string_lossy()]).unwrap();
    lab.lab.exec(&r1, "ip", &["addr", "del", &format!("{VIP}/32"), "dev", "ens3"]).unwrap();
    assert!(!lab.has_vip(1).unwrap());
    lab.daemon(daemon).signal(libc::SIGCONT);

    lab.daemon(daemon).wait_for_log("netlink events were lost", ELECTION).unwrap();
    wait_until("the VIP back on router 1", ELECTION, || lab.has_vip(1).unwrap()).unwrap();
    let log = lab.daemon(daemon).log_text();
    assert!(log.contains("missing after lost netlink events"), "{log}");
    assert!(log.contains("netlink resynchronised"), "{log}");
    let status = vrrp_user::control::request_status(&lab.dir.join("run-r1")).unwrap();
    assert!(status.daemon.recovery.netlink_resyncs >= 1, "{:?}", status.daemon.recovery);
    assert!(status.table().contains("netlink"), "{}", status.table());
    let status = lab.daemon(daemon).stop(Duration::from_secs(10));
    assert!(status.is_some_and(|status| status.success()), "exit: {status:?}\n{log}");
    assert!(!lab.has_vip(1).unwrap(), "the VIP outlived the daemon");
}
