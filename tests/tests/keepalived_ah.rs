//! VRRPv2 with keepalived's `auth_type AH` (IPsec AH, HMAC-MD5-96) between vrrpd and keepalived
//! 2.2.7, multicast and unicast, in both roles, and between two vrrpd on the two data paths:
//! exactly one holder of the VIP after convergence, and the VIP moves when the master stops and
//! comes back. A wrong key is the control: neither side hears the other, so both hold the VIP.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{ReferenceLab, SERVER1, SERVER2, VIP},
    require_root,
};

/// A deadline, not a figure: a debug build's start-up plus Master_Down_Interval took past
/// 12 s on a loaded 2-core machine.
const ELECTION: Duration = Duration::from_secs(30);
/// Adverts the backup must hear while the master holds the VIP alone (advert_int 1).
const STEADY: Duration = Duration::from_secs(4);
/// Namespace prefix of these tests.
const PREFIX: &str = "ah";
/// What keepalived logs about AH it cannot accept (vrrp.c vrrp_in_chk_ipsecah(): signature,
/// SPI, replayed sequence number; vrrp_check_packet(): AH expected or not).
const KEEPALIVED_AH_COMPLAINTS: [&str; 5] = [
    "invalid IPSEC HMAC-MD5",
    "invalid IPSEC SPI",
    "already processed",
    "No AH header",
    "Received AH header",
];
/// What vrrpd logs for an AH instance, at start.
const VRRPD_AH_PATH: &str = "receiving on the AH socket of ens3";

fn require_keepalived() {
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(
        found,
        "keepalived is not installed: run `cargo xtask setup` (Debian package keepalived)"
    );
}

/// VRRPv2 with AH keyed by `key`; unicast from `unicast.0` to `unicast.1` when given.
fn ah_config(priority: u8, key: &str, unicast: Option<(&str, &str)>) -> String {
    let unicast = unicast.map_or(String::new(), |(source, peer)| {
        format!("    unicast_src_ip {source}\n    unicast_peer {{\n        {peer}\n    }}\n")
    });
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface ens3
    virtual_router_id 51
    priority {priority}
    advert_int 1
{unicast}    authentication {{
        auth_type AH
        auth_pass {key}
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"
    )
}

fn multicast_configs() -> [String; 2] {
    [ah_config(110, "s3cret", None), ah_config(100, "s3cret", None)]
}

fn unicast_configs() -> [String; 2] {
    [
        ah_config(110, "s3cret", Some((SERVER1, SERVER2))),
        ah_config(100, "s3cret", Some((SERVER2, SERVER1))),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Daemon {
    /// vrrpd with these extra arguments.
    Vrrpd(&'static [&'static str]),
    Keepalived,
}

const VRRPD: Daemon = Daemon::Vrrpd(&[]);

fn start(lab: &mut ReferenceLab, daemon: Daemon, n: usize, config: &str) -> usize {
    let path = lab.write_config(n, "keepalived.conf", config).unwrap();
    match daemon {
        Daemon::Vrrpd(extra) => lab.start_vrrpd(n, &path, extra).unwrap(),
        Daemon::Keepalived => lab.start_keepalived(n, &path).unwrap(),
    }
}

/// Router 1 (priority 110, `master`) and router 2 (100, `backup`): one holder, then the VIP
/// moves to router 2 when router 1 stops and back when it returns. Returns the indexes of the
/// daemons started, in order: router 1, router 2, router 1 again.
fn one_master_both_ways(
    lab: &mut ReferenceLab,
    master: Daemon,
    backup: Daemon,
    configs: [String; 2],
) -> [usize; 3] {
    let first = start(lab, master, 1, &configs[0]);
    let second = start(lab, backup, 2, &configs[1]);
    lab.wait_for_master(1, ELECTION).expect("router 1 (110) becomes the only master");
    // Steady state: the backup hears every advertisement, so the VIP stays on one side.
    let deadline = Instant::now() + STEADY;
    while Instant::now() < deadline {
        assert!(
            lab.has_vip(1).unwrap() && !lab.has_vip(2).unwrap(),
            "the VIP must stay on router 1 alone"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.daemon(first).stop(Duration::from_secs(5));
    lab.wait_for_master(2, ELECTION).expect("router 2 takes over when router 1 stops");
    let third = start(lab, master, 1, &configs[0]);
    lab.wait_for_master(1, ELECTION).expect("router 1 preempts when it returns");
    [first, second, third]
}

fn assert_no_complaint(lab: &mut ReferenceLab, index: usize) {
    let log = lab.daemon(index).log_text();
    for word in KEEPALIVED_AH_COMPLAINTS {
        assert!(!log.contains(word), "keepalived says {word:?}:\n{log}");
    }
}

/// vrrpd said which path its AH instance receives on, and (stopped) counted no bad AH packet.
fn assert_vrrpd_heard_ah(lab: &mut ReferenceLab, index: usize) {
    lab.daemon(index).stop(Duration::from_secs(5));
    let log = lab.daemon(index).log_text();
    assert!(log.contains(VRRPD_AH_PATH), "vrrpd does not say where AH is received:\n{log}");
    assert!(!log.contains("auth_mismatch"), "vrrpd refused AH packets:\n{log}");
}

#[test]
fn ah_keepalived_master_vrrpd_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let [_, vrrpd, keepalived] =
        one_master_both_ways(&mut lab, Daemon::Keepalived, VRRPD, multicast_configs());
    // The XDP data path runs beside the AH socket.
    assert!(lab.xdp_attached(2).unwrap(), "vrrpd runs without XDP");
    // The restarted keepalived heard vrrpd's adverts as master, then preempted it.
    assert_no_complaint(&mut lab, keepalived);
    assert_vrrpd_heard_ah(&mut lab, vrrpd);
}

#[test]
fn ah_vrrpd_master_keepalived_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let [_, keepalived, vrrpd] =
        one_master_both_ways(&mut lab, VRRPD, Daemon::Keepalived, multicast_configs());
    assert_no_complaint(&mut lab, keepalived);
    assert_vrrpd_heard_ah(&mut lab, vrrpd);
}

#[test]
fn ah_unicast_keepalived_master_vrrpd_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let [_, vrrpd, keepalived] =
        one_master_both_ways(&mut lab, Daemon::Keepalived, VRRPD, unicast_configs());
    assert_no_complaint(&mut lab, keepalived);
    assert_vrrpd_heard_ah(&mut lab, vrrpd);
}

#[test]
fn ah_unicast_vrrpd_master_keepalived_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let [_, keepalived, vrrpd] =
        one_master_both_ways(&mut lab, VRRPD, Daemon::Keepalived, unicast_configs());
    assert_no_complaint(&mut lab, keepalived);
    assert_vrrpd_heard_ah(&mut lab, vrrpd);
}

#[test]
fn ah_keepalived_master_vrrpd_socket_datapath_backup() {
    // The AH socket is the same on either data path.
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let socket_path = Daemon::Vrrpd(&["--datapath", "socket"]);
    let [_, vrrpd, keepalived] =
        one_master_both_ways(&mut lab, Daemon::Keepalived, socket_path, multicast_configs());
    assert!(!lab.xdp_attached(2).unwrap(), "--datapath socket runs XDP");
    assert_no_complaint(&mut lab, keepalived);
    assert_vrrpd_heard_ah(&mut lab, vrrpd);
}

#[test]
fn ah_between_two_vrrpd_on_both_data_paths() {
    // vrrpd's AH against itself: XDP (with the AH socket) as master, the socket path as backup.
    require_root();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let socket_path = Daemon::Vrrpd(&["--datapath", "socket"]);
    let [_, backup, master] =
        one_master_both_ways(&mut lab, VRRPD, socket_path, multicast_configs());
    assert_vrrpd_heard_ah(&mut lab, master);
    assert_vrrpd_heard_ah(&mut lab, backup);
}

#[test]
fn ah_with_another_key_is_not_heard() {
    // The control: with another key neither side may hear the other, so both hold the VIP.
    // keepalived says why; vrrpd counts the packets as auth_mismatch.
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let keepalived = start(&mut lab, Daemon::Keepalived, 1, &ah_config(110, "s3cret", None));
    let vrrpd = start(&mut lab, VRRPD, 2, &ah_config(100, "other", None));
    let deadline = Instant::now() + ELECTION;
    while !(lab.has_vip(1).unwrap() && lab.has_vip(2).unwrap()) {
        assert!(Instant::now() < deadline, "vrrpd did not ignore the adverts");
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.daemon(keepalived).wait_for_log("invalid IPSEC HMAC-MD5", ELECTION).unwrap();
    lab.daemon(vrrpd).stop(Duration::from_secs(5));
    let log = lab.daemon(vrrpd).log_text();
    assert!(log.contains("auth_mismatch"), "vrrpd did not count the bad signatures:\n{log}");
}
