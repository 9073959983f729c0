//! keepalived peers that vrrpd used to split from: VRRPv2 with `auth_type PASS`, and a unicast
//! pair one router apart (TTL 254 on arrival). Each case, in both roles: exactly one holder of
//! the VIP after convergence, and the VIP moves when the master stops and comes back.

use std::time::Duration;

use vrrp_tests::{
    lab::{ReferenceLab, ROUTED_SERVER2, SERVER1, VIP},
    require_root,
};

/// A deadline, not a figure: a debug build's start-up plus Master_Down_Interval took past
/// 12 s on a loaded 2-core machine.
const ELECTION: Duration = Duration::from_secs(30);
/// Adverts the backup must hear while the master holds the VIP alone (advert_int 1).
const STEADY: Duration = Duration::from_secs(4);
/// Namespace prefix of these tests.
const PREFIX: &str = "kx";

fn require_keepalived() {
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(
        found,
        "keepalived is not installed: run `cargo xtask setup` (Debian package keepalived)"
    );
}

/// VRRPv2 (keepalived's default), multicast, with a password.
fn auth_pass_config(priority: u8, password: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface ens3
    virtual_router_id 51
    priority {priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass {password}
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"
    )
}

/// VRRPv3 unicast from `source` to `peer`.
fn unicast_config(priority: u8, source: &str, peer: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface ens3
    virtual_router_id 52
    version 3
    priority {priority}
    advert_int 1
    unicast_src_ip {source}
    unicast_peer {{
        {peer}
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Daemon {
    Vrrpd,
    Keepalived,
}

fn start(lab: &mut ReferenceLab, daemon: Daemon, n: usize, config: &str) -> usize {
    let path = lab.write_config(n, "keepalived.conf", config).unwrap();
    match daemon {
        Daemon::Vrrpd => lab.start_vrrpd(n, &path, &[]).unwrap(),
        Daemon::Keepalived => lab.start_keepalived(n, &path).unwrap(),
    }
}

/// Router 1 (priority 110, `master`) and router 2 (100, `backup`): one holder, then the VIP
/// moves to router 2 when router 1 stops and back when it returns.
fn one_master_both_ways(
    lab: &mut ReferenceLab,
    master: Daemon,
    backup: Daemon,
    configs: [String; 2],
) {
    let first = start(lab, master, 1, &configs[0]);
    start(lab, backup, 2, &configs[1]);
    lab.wait_for_master(1, ELECTION).expect("router 1 (110) becomes the only master");
    // Steady state: the backup hears every advertisement, so the VIP stays on one side.
    let deadline = std::time::Instant::now() + STEADY;
    while std::time::Instant::now() < deadline {
        assert!(
            lab.has_vip(1).unwrap() && !lab.has_vip(2).unwrap(),
            "the VIP must stay on router 1 alone"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.daemon(first).stop(Duration::from_secs(5));
    lab.wait_for_master(2, ELECTION).expect("router 2 takes over when router 1 stops");
    start(lab, master, 1, &configs[0]);
    lab.wait_for_master(1, ELECTION).expect("router 1 preempts when it returns");
}

fn assert_no_complaint(lab: &mut ReferenceLab, index: usize, words: &[&str]) {
    let log = lab.daemon(index).log_text();
    for word in words {
        assert!(!log.contains(word), "the log says {word:?}:\n{log}");
    }
}

#[test]
fn auth_pass_keepalived_master_vrrpd_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let configs = [auth_pass_config(110, "s3cret"), auth_pass_config(100, "s3cret")];
    one_master_both_ways(&mut lab, Daemon::Keepalived, Daemon::Vrrpd, configs);
    // The restarted keepalived (the third daemon) heard vrrpd's adverts as master.
    assert_no_complaint(&mut lab, 2, &["auth, expecting", "invalid passwd"]);
}

#[test]
fn auth_pass_vrrpd_master_keepalived_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let configs = [auth_pass_config(110, "s3cret"), auth_pass_config(100, "s3cret")];
    one_master_both_ways(&mut lab, Daemon::Vrrpd, Daemon::Keepalived, configs);
    assert_no_complaint(&mut lab, 1, &["auth, expecting", "invalid passwd"]);
}

#[test]
fn auth_pass_mismatch_is_not_heard() {
    // The control: with another password neither side may hear the other, so both hold the
    // VIP. keepalived says why, and vrrpd's kernel does not credit the adverts.
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::with_prefix(PREFIX).unwrap();
    let keepalived = start(&mut lab, Daemon::Keepalived, 1, &auth_pass_config(110, "s3cret"));
    start(&mut lab, Daemon::Vrrpd, 2, &auth_pass_config(100, "other"));
    let deadline = std::time::Instant::now() + ELECTION;
    while !(lab.has_vip(1).unwrap() && lab.has_vip(2).unwrap()) {
        assert!(std::time::Instant::now() < deadline, "vrrpd did not ignore the adverts");
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.daemon(keepalived).wait_for_log("invalid passwd", ELECTION).unwrap();
}

#[test]
fn routed_unicast_keepalived_master_vrrpd_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::routed(PREFIX).unwrap();
    let configs = [
        unicast_config(110, SERVER1, ROUTED_SERVER2),
        unicast_config(100, ROUTED_SERVER2, SERVER1),
    ];
    one_master_both_ways(&mut lab, Daemon::Keepalived, Daemon::Vrrpd, configs);
    assert_no_complaint(&mut lab, 2, &["invalid TTL", "not in range"]);
}

#[test]
fn routed_unicast_vrrpd_master_keepalived_backup() {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::routed(PREFIX).unwrap();
    let configs = [
        unicast_config(110, SERVER1, ROUTED_SERVER2),
        unicast_config(100, ROUTED_SERVER2, SERVER1),
    ];
    one_master_both_ways(&mut lab, Daemon::Vrrpd, Daemon::Keepalived, configs);
    assert_no_complaint(&mut lab, 1, &["invalid TTL", "not in range"]);
}

#[test]
fn the_routed_lab_decrements_the_ttl() {
    // What makes the routed cases routed: router 2 is one hop from router 1.
    require_root();
    let lab = ReferenceLab::routed(PREFIX).unwrap();
    let out = lab.lab.exec(lab.router(2), "ping", &["-c", "1", "-W", "2", SERVER1]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ttl=63"), "one hop (a reply from TTL 64 arrives with 63):\n{text}");
}
