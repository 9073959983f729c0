//! `track_group`: the reference pair, each router with a second link `ens4` holding a static
//! address and a static route, both tagged with a track group whose member is the instance.
//! keepalived (vrrp_static_track.c static_track_group_init()) makes the members track that
//! interface with weight 0, and puts the static entries back when it comes up (vrrp_if.c
//! interface_up()). So: the master's `ens4` goes down, its instance goes to FAULT and the VIP
//! moves; the kernel drops the static route with the link; `ens4` comes back, the route is put
//! back and the master preempts. The same files on a keepalived 2.2.7 pair give the same
//! holdings after each step.
//!
//! ```text
//!   r1 ens3 (192.0.2.1) ──┬── br0 ── client      VI01, VRID 123, VIP 192.0.2.100
//!   r2 ens3 (192.0.2.2) ──┘
//!   rN ens4 (198.51.100.N/24, a veth whose peer stays in rN): static route 203.0.113.0/24
//! ```

use std::path::Path;
use std::time::Duration;

use vrrp_tests::{
    lab::{ReferenceLab, SERVER1, SERVER2, VIP},
    require_root, wait_until,
};

/// Deadlines, not figures (a debug build's start-up on a loaded machine).
const ELECTION: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_secs(15);

const STATIC_ROUTE: &str = "203.0.113.0/24 via 198.51.100.254 dev ens4";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Daemon {
    Vrrpd,
    Keepalived,
}

fn config_text(n: usize) -> String {
    let (priority, source, peer) =
        if n == 1 { (110, SERVER1, SERVER2) } else { (100, SERVER2, SERVER1) };
    format!(
        "global_defs {{\n    vrrp_version 3\n}}\n\
         track_group TG {{\n    group {{\n        VI01\n    }}\n}}\n\
         static_ipaddress {{\n    198.51.100.{n}/24 dev ens4 track_group TG\n}}\n\
         static_routes {{\n    {STATIC_ROUTE} track_group TG\n}}\n\
         vrrp_instance VI01 {{\n    interface ens3\n    virtual_router_id 123\n    state BACKUP\n    \
         priority {priority}\n    advert_int 1\n    unicast_src_ip {source}\n    \
         unicast_peer {{\n        {peer}\n    }}\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

fn output(lab: &ReferenceLab, n: usize, args: &[&str]) -> String {
    let out = lab.lab.exec(lab.router(n), "ip", args).expect("ip runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Router `n`'s static entries on ens4: (the address, the route).
fn statics(lab: &ReferenceLab, n: usize) -> (bool, bool) {
    let address = output(lab, n, &["-o", "addr", "show", "dev", "ens4"])
        .contains(&format!("inet 198.51.100.{n}/24"));
    let route = output(lab, n, &["route", "show"]).contains(STATIC_ROUTE);
    (address, route)
}

fn set_ens4(lab: &ReferenceLab, up: bool) {
    let state = if up { "up" } else { "down" };
    lab.lab.exec(lab.router(1), "ip", &["link", "set", "ens4", state]).unwrap();
}

fn start(lab: &mut ReferenceLab, daemon: Daemon, n: usize, config: &Path) -> usize {
    match daemon {
        Daemon::Vrrpd => lab.start_vrrpd(n, config, &[]).unwrap(),
        Daemon::Keepalived => lab.start_keepalived(n, config).unwrap(),
    }
}

fn scenario(daemon: Daemon, prefix: &'static str) {
    require_root();
    let mut lab = ReferenceLab::with_prefix(prefix).expect("building the lab");
    for n in [1, 2] {
        let router = lab.router(n).to_owned();
        let link = ["link", "add", "ens4", "type", "veth", "peer", "name", "ens4p"];
        lab.lab.exec(&router, "ip", &link).unwrap();
        for ifname in ["ens4", "ens4p"] {
            lab.lab.exec(&router, "ip", &["link", "set", ifname, "up"]).unwrap();
        }
    }
    let c1 = lab.write_config(1, "keepalived.conf", &config_text(1)).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &config_text(2)).unwrap();
    let d1 = start(&mut lab, daemon, 1, &c1);
    start(&mut lab, daemon, 2, &c2);
    let held = |lab: &ReferenceLab, n| statics(lab, n) == (true, true);
    let elected = lab.wait_for_master(1, ELECTION);
    assert!(elected.is_ok(), "{elected:?}\n{}", lab_log(&mut lab, d1));
    wait_until("both routers' static entries", SETTLE, || held(&lab, 1) && held(&lab, 2)).unwrap();

    // The master's ens4 goes down: a FAULT, so the VIP moves; the kernel drops the route.
    set_ens4(&lab, false);
    let moved = lab.wait_for_master(2, ELECTION);
    assert!(moved.is_ok(), "{moved:?}\n{}", lab_log(&mut lab, d1));
    let dropped =
        wait_until("the kernel dropping the route", SETTLE, || statics(&lab, 1) == (true, false));
    assert!(dropped.is_ok(), "{dropped:?}: r1 holds {:?}", statics(&lab, 1));

    // It comes back: the route is put back and router 1 preempts.
    set_ens4(&lab, true);
    let back = wait_until("router 1's static route put back", SETTLE, || held(&lab, 1));
    assert!(back.is_ok(), "{back:?}: {:?}\n{}", statics(&lab, 1), lab_log(&mut lab, d1));
    let preempted = lab.wait_for_master(1, ELECTION);
    assert!(preempted.is_ok(), "{preempted:?}\n{}", lab_log(&mut lab, d1));
    assert!(held(&lab, 2), "router 2's entries are untouched: {:?}", statics(&lab, 2));
}

fn lab_log(lab: &mut ReferenceLab, daemon: usize) -> String {
    lab.daemon(daemon).log_text()
}

#[test]
fn vrrpd_faults_with_a_tracked_static_entry_s_interface() {
    scenario(Daemon::Vrrpd, "tg");
}

#[test]
fn keepalived_faults_with_a_tracked_static_entry_s_interface() {
    scenario(Daemon::Keepalived, "tk");
}
